//! A pretrained BERT-family backbone read from a directory holding the Hugging Face
//! `config.json`, `model.safetensors` and `tokenizer.json` (as scripts/fetch-backbone.sh
//! unpacks all-MiniLM-L6-v2), made ready for a PRM: the step separator is added to the
//! tokenizer as a new token, and its embedding row starts as a copy of an existing token's.

use std::path::{Path, PathBuf};

use burn::tensor::Device;

use crate::model::{Bert, BertConfig, InvalidModelConfig, WeightsError};
use crate::tokenizer::{SpecialTokensConfig, StepTokenizer};

/// Where scripts/fetch-backbone.sh unpacks all-MiniLM-L6-v2: `~/.cache/actprm/all-minilm-l6-v2`.
pub fn default_backbone_dir() -> PathBuf {
    let home = std::env::var_os("HOME").unwrap_or_default();
    PathBuf::from(home).join(".cache/actprm/all-minilm-l6-v2")
}

/// The token whose embedding a new step separator starts from, by default: BERT's own
/// segment separator.
pub const DEFAULT_SEPARATOR_INIT: &str = "[SEP]";

/// A loaded backbone with its tokenizer.
#[derive(Debug, Clone)]
pub struct PretrainedBackbone {
    /// Its configuration, the grown vocabulary included.
    pub config: BertConfig,
    /// The encoder.
    pub bert: Bert,
    /// Its tokenizer, with the step separator.
    pub tokenizer: StepTokenizer,
}

/// Why a pretrained backbone could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum PretrainedError {
    /// A file could not be read.
    #[error("{path}: {source} (run scripts/fetch-backbone.sh to get all-MiniLM-L6-v2)")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// `config.json` is not a BERT configuration.
    #[error("{path}: {source}")]
    Config {
        /// The file.
        path: PathBuf,
        /// What serde said.
        source: serde_json::Error,
    },
    /// `config.json` describes an encoder that cannot be built.
    #[error("{path}: {source}")]
    InvalidModel {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        source: InvalidModelConfig,
    },
    /// `tokenizer.json` is unusable.
    #[error("{path}: {message}")]
    Tokenizer {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// The token the separator's embedding should copy is not in the vocabulary.
    #[error("the tokenizer has no token {0:?} to initialise the step separator from")]
    UnknownInitToken(String),
    /// The weights do not fit the configuration.
    #[error(transparent)]
    Weights(#[from] WeightsError),
}

impl PretrainedBackbone {
    /// Loads the backbone in `dir` onto `device`; the separator named in `special` is added to
    /// the vocabulary (when absent) with the embedding of `separator_init`.
    pub fn load(
        dir: &Path,
        special: &SpecialTokensConfig,
        separator_init: &str,
        device: &Device,
    ) -> Result<Self, PretrainedError> {
        let read = |name: &str| {
            let path = dir.join(name);
            std::fs::read_to_string(&path)
                .map(|text| (text, path.clone()))
                .map_err(|source| PretrainedError::Io { path, source })
        };
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
            config,
            bert,
            tokenizer,
        })
    }
}
