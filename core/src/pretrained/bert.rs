//! A BERT-family encoder from a Hugging Face directory, with `[STEP]` added to its vocabulary.

use std::path::Path;

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
        let (text, path) = read("config.json")?;
        let mut config =
            BertConfig::from_hf_json(&text).map_err(|source| PretrainedError::Config {
                path: path.clone(),
                source,
            })?;
        config
            .validate()
            .map_err(|source| PretrainedError::InvalidModel { path, source })?;
        let (text, path) = read("tokenizer.json")?;
        let tokenizer = StepTokenizer::from_json(&text, special).map_err(|error| {
            PretrainedError::Tokenizer {
                path,
                message: error.to_string(),
            }
        })?;
        let init_id = tokenizer
            .token_id(separator_init)
            .ok_or_else(|| PretrainedError::UnknownInitToken(separator_init.to_string()))?;
        let mut bert = config
            .init(device)
            .load_hf_file(&dir.join("model.safetensors"))?;
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
