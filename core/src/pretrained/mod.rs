//! Pretrained backbones made ready for a PRM, with their tokenizers:
//!
//! - a BERT-family encoder from a directory holding the Hugging Face `config.json`,
//!   `model.safetensors` and `tokenizer.json` (as scripts/fetch-backbone.sh unpacks
//!   all-MiniLM-L6-v2); the step separator is added to the tokenizer as a new token, and its
//!   embedding row starts as a copy of an existing token's ([`PretrainedBackbone::bert`]);
//! - a Llama-family decoder from such a directory (weights in one safetensors file or in
//!   shards), or from a single GGUF file; the separator is text its vocabulary already reads
//!   as one token, `"\n\n"` by default ([`PretrainedBackbone::decoder`]).

mod bert;
mod decoder;
mod gguf_model;
mod gguf_tokenizer;
mod half_precision;
mod safetensors_files;

use std::path::{Path, PathBuf};

use crate::encoding::EncodingConfig;
use crate::gguf::GgufError;
use crate::model::{
    DecoderConfigError, InvalidModelConfig, PrmBackbone, PrmBackboneConfig, WeightsError,
};
use crate::tokenizer::{SpecialTokensConfig, StepTokenizer};

pub use bert::DEFAULT_SEPARATOR_INIT;
pub use decoder::{DEFAULT_DECODER_POSITIONS, DEFAULT_DECODER_SEPARATOR, DecoderOptions};
pub use half_precision::{halve_f32_tensors, widen_to_f32};
pub use safetensors_files::{SHARD_INDEX, SINGLE_FILE, SafetensorsFiles};

/// Where scripts/fetch-backbone.sh unpacks all-MiniLM-L6-v2: `~/.cache/actprm/all-minilm-l6-v2`.
pub fn default_backbone_dir() -> PathBuf {
    let home = std::env::var_os("HOME").unwrap_or_default();
    PathBuf::from(home).join(".cache/actprm/all-minilm-l6-v2")
}

/// Where scripts/fetch-decoder.sh puts SmolLM2-135M-Instruct:
/// `~/.cache/actprm/smollm2-135m-instruct-q4_1.gguf`.
pub fn default_decoder_file() -> PathBuf {
    let home = std::env::var_os("HOME").unwrap_or_default();
    PathBuf::from(home).join(".cache/actprm/smollm2-135m-instruct-q4_1.gguf")
}

/// The text of file `name` in `dir`, with its path; a file that cannot be read is an error
/// naming it, followed by `hint`.
fn read_text(
    dir: &Path,
    name: &str,
    hint: &'static str,
) -> Result<(String, PathBuf), PretrainedError> {
    let path = dir.join(name);
    match std::fs::read_to_string(&path) {
        Ok(text) => Ok((text, path)),
        Err(source) => Err(PretrainedError::Io { path, source, hint }),
    }
}

/// A loaded backbone with its tokenizer.
#[derive(Debug, Clone)]
pub struct PretrainedBackbone {
    /// Its configuration, a grown vocabulary included.
    pub config: PrmBackboneConfig,
    /// The backbone.
    pub backbone: PrmBackbone,
    /// Its tokenizer, with the step separator.
    pub tokenizer: StepTokenizer,
    /// The names of the tokenizer's special tokens, as a checkpoint records them.
    pub special_tokens: SpecialTokensConfig,
    /// How trajectories are cut into windows for it.
    pub encoding: EncodingConfig,
}

/// Why a pretrained backbone could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum PretrainedError {
    /// A file could not be read.
    #[error("{path}: {source}{hint}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
        /// How to get the file, when there is a script for it (after a space).
        hint: &'static str,
    },
    /// `config.json` is not a BERT configuration.
    #[error("{path}: {source}")]
    Config {
        /// The file.
        path: PathBuf,
        /// What serde said.
        source: serde_json::Error,
    },
    /// `config.json` is not a decoder this crate implements.
    #[error("{path}: {source}")]
    DecoderConfig {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        source: DecoderConfigError,
    },
    /// `config.json` (or a GGUF file's metadata) describes a model that cannot be built.
    #[error("{path}: {source}")]
    InvalidModel {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        source: InvalidModelConfig,
    },
    /// A GGUF file is unreadable, or lacks what a decoder needs.
    #[error("{path}: {source}")]
    Gguf {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        source: GgufError,
    },
    /// The tokenizer is unusable.
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
