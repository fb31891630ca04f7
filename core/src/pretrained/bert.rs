//! A BERT-family encoder from a Hugging Face directory, with `[STEP]` added to its vocabulary.

use std::path::{Path, PathBuf};

use burn::tensor::Device;

use super::{PretrainedBackbone, PretrainedError, read_text};
use crate::encoding::EncodingConfig;
use crate::model::{BertConfig, PrmBackbone};
use crate::tokenizer::{SpecialTokensConfig, StepTokenizer};

/// The token whose embedding a new step separator starts from, by default: BERT's own
/// segment separator.
pub const DEFAULT_SEPARATOR_INIT: &str = "[SEP]";

/// Where to get all-MiniLM-L6-v2 when its files are missing.
const FETCH_HINT: &str = " (run scripts/fetch-backbone.sh to get all-MiniLM-L6-v2)";

/// Where a BERT-family encoder's weights come from.
enum BertWeights<'a> {
    /// A safetensors file, read as it is loaded.
    File(&'a Path),
    /// A safetensors file's bytes, as a browser fetches them.
    Bytes(Vec<u8>),
}

/// A BERT-family encoder's three files: `config.json`'s and `tokenizer.json`'s text, each with
/// the path its errors name, and the weights.
struct BertFiles<'a> {
    config: (String, PathBuf),
    tokenizer: (String, PathBuf),
    weights: BertWeights<'a>,
}

impl PretrainedBackbone {
    /// Loads the BERT-family encoder in `dir` onto `device`; the separator named in `special`
    /// is added to the vocabulary (when absent) with the embedding of `separator_init`.
    pub fn bert(
        dir: &Path,
        special: &SpecialTokensConfig,
        separator_init: &str,
        device: &Device,
    ) -> Result<Self, PretrainedError> {
        let read = |name| read_text(dir, name, FETCH_HINT);
        let weights = dir.join("model.safetensors");
        let files = BertFiles {
            config: read("config.json")?,
            tokenizer: read("tokenizer.json")?,
            weights: BertWeights::File(&weights),
        };
        Self::bert_from(files, special, separator_init, device)
    }

    /// [`PretrainedBackbone::bert`] from the contents of the encoder's `config.json`,
    /// `tokenizer.json` and `model.safetensors`, as a browser fetches them.
    pub fn bert_from_bytes(
        config_json: String,
        tokenizer_json: String,
        weights: Vec<u8>,
        special: &SpecialTokensConfig,
        separator_init: &str,
        device: &Device,
    ) -> Result<Self, PretrainedError> {
        let files = BertFiles {
            config: (config_json, PathBuf::from("config.json")),
            tokenizer: (tokenizer_json, PathBuf::from("tokenizer.json")),
            weights: BertWeights::Bytes(weights),
        };
        Self::bert_from(files, special, separator_init, device)
    }

    fn bert_from(
        files: BertFiles<'_>,
        special: &SpecialTokensConfig,
        separator_init: &str,
        device: &Device,
    ) -> Result<Self, PretrainedError> {
        let (text, path) = files.config;
        let mut config =
            BertConfig::from_hf_json(&text).map_err(|source| PretrainedError::Config {
                path: path.clone(),
                source,
            })?;
        config
            .validate()
            .map_err(|source| PretrainedError::InvalidModel { path, source })?;
        let (text, path) = files.tokenizer;
        let tokenizer = StepTokenizer::from_json(&text, special).map_err(|error| {
            PretrainedError::Tokenizer {
                path,
                message: error.to_string(),
            }
        })?;
        let init_id = tokenizer
            .token_id(separator_init)
            .ok_or_else(|| PretrainedError::UnknownInitToken(separator_init.to_string()))?;
        let bert = config.init(device);
        let mut bert = match files.weights {
            BertWeights::File(path) => bert.load_hf_file(path)?,
            BertWeights::Bytes(bytes) => bert.load_hf_bytes(bytes)?,
        };
        if tokenizer.vocab_size() > config.vocab_size {
            bert = bert.with_vocab_size(tokenizer.vocab_size(), init_id as usize);
            config.vocab_size = tokenizer.vocab_size();
        }
        Ok(Self {
            encoding: EncodingConfig::for_encoder(config.max_position_embeddings),
            config: config.into(),
            backbone: PrmBackbone::Bert(bert),
            tokenizer,
            special_tokens: special.clone(),
        })
    }
}
