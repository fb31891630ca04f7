//! Checkpoints: `config.json` beside the weights (`model.safetensors`, anchor θ₀ included) and
//! the `tokenizer.json` they were trained with. A checkpoint directory is written under a
//! staging name and renamed into place, so an interrupted save never leaves a corrupt one. A
//! model on a frozen pretrained backbone can also be saved as its heads alone, read back with
//! the backbone's own file ([`heads_only`]).

mod heads_only;

use std::fs;
use std::path::Path;

use burn::config::Config;
use burn::store::{ModuleSnapshot, SafetensorsStore};
use burn::tensor::Device;
use sha2::{Digest, Sha256};

use crate::encoding::EncodingConfig;
use crate::eval::threshold::ChosenThreshold;
use crate::finite::{first_non_finite_tensor, to_json_that_reads_back};
use crate::model::{EnsemblePrm, InvalidModelConfig, PrmConfig};
use crate::selection::{SelectionConfig, check_threshold, is_valid_tau};
use crate::tokenizer::{SpecialTokensConfig, StepTokenizer};
use crate::whole_dir::{FileError, settled_dir, write_whole_dir};

pub use heads_only::{BackboneReference, backbone_digest};

/// File name of the configuration inside a checkpoint directory.
pub const CONFIG_FILE: &str = "config.json";
/// File name of the weights inside a checkpoint directory.
pub const WEIGHTS_FILE: &str = "model.safetensors";
/// File name of the tokenizer inside a checkpoint directory.
pub const TOKENIZER_FILE: &str = "tokenizer.json";

/// Everything needed to rebuild and use a trained model, saved as `config.json`.
#[derive(Config, Debug)]
pub struct CheckpointConfig {
    /// The model's architecture.
    pub model: PrmConfig,
    /// How trajectories were turned into tokens (must match at evaluation time).
    pub encoding: EncodingConfig,
    /// The selection thresholds the model was trained with.
    #[config(default = "SelectionConfig::new()")]
    pub selection: SelectionConfig,
    /// Names of the tokenizer's special tokens, the step separator among them.
    #[config(default = "SpecialTokensConfig::new()")]
    pub special_tokens: SpecialTokensConfig,
    /// The decision threshold chosen on the training run's validation set, which evaluation
    /// uses unless told otherwise; `None` when none was chosen (then `selection.tau`).
    #[config(default = "None")]
    pub threshold: Option<ChosenThreshold>,
    /// The pretrained backbone the weights leave out, when they hold the heads alone (see
    /// [`CheckpointFiles::heads_only`]); `None` when they hold the whole model.
    #[config(default = "None")]
    pub pretrained_backbone: Option<BackboneReference>,
    /// The SHA-256 (lower-case hex) of the `tokenizer.json` the model was trained with, which
    /// loading checks: another tokenizer would give the same text other ids. `None` leaves it
    /// unchecked beyond its ids fitting the embedding table.
    #[config(default = "None")]
    pub tokenizer_sha256: Option<String>,
}

impl CheckpointConfig {
    /// An error naming the first setting a model cannot be built or read with: the model's
    /// (see [`PrmConfig::validate`]), windows longer than the backbone's positions, or a
    /// selection threshold or chosen τ outside its range.
    pub fn validate(&self) -> Result<(), InvalidModelConfig> {
        self.model.validate()?;
        self.selection.validate()?;
        if let Some(chosen) = &self.threshold {
            check_threshold("threshold.tau", chosen.tau, is_valid_tau, "(0, 1)")?;
        }
        if let Some(digest) = &self.tokenizer_sha256
            && !is_sha256_hex(digest)
        {
            return Err(InvalidModelConfig {
                field: "tokenizer_sha256",
                problem: format!("is {digest:?}, not 64 lower-case hex digits"),
            });
        }
        let positions = self.model.backbone.max_positions();
        if self.encoding.max_positions > positions {
            return Err(InvalidModelConfig {
                field: "encoding.max_positions",
                problem: format!(
                    "is {}, more than the {positions} positions the backbone takes",
                    self.encoding.max_positions
                ),
            });
        }
        Ok(())
    }

    /// The τ evaluation uses by default: the one chosen on validation, else the selection's.
    pub fn decision_tau(&self) -> f32 {
        self.threshold
            .map_or(self.selection.tau, |chosen| chosen.tau)
    }
}

/// Why a checkpoint could not be saved or loaded.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    /// A file could not be read or written.
    #[error(transparent)]
    Io(#[from] FileError),
    /// `config.json` is not a valid checkpoint configuration.
    #[error("{CONFIG_FILE}: {0}")]
    Config(serde_json::Error),
    /// `config.json` describes a model that cannot be built, or read windows it cannot take.
    #[error("{CONFIG_FILE}: {0}")]
    InvalidModel(InvalidModelConfig),
    /// The weights do not fit the configured model.
    #[error("{WEIGHTS_FILE}: {0}")]
    Weights(String),
    /// A weight is NaN or infinite: a diverged model, never saved or loaded.
    #[error("{WEIGHTS_FILE}: tensor `{0}` holds a NaN or an infinity (training diverged)")]
    NonFiniteWeights(String),
    /// A setting is NaN or infinite, so `config.json` would not read back.
    #[error("{CONFIG_FILE}: {0}")]
    NonFiniteConfig(String),
    /// The tokenizer file is unusable.
    #[error("{TOKENIZER_FILE}: {0}")]
    Tokenizer(String),
    /// The tokenizer file is not the one the model was trained with.
    #[error(
        "{TOKENIZER_FILE} is not the tokenizer the model was trained with: its SHA-256 is \
         {found}, {CONFIG_FILE} records {expected}"
    )]
    OtherTokenizer {
        /// The SHA-256 the configuration records.
        expected: String,
        /// The SHA-256 of the file given.
        found: String,
    },
    /// The checkpoint holds the heads alone, and was loaded without their backbone.
    #[error("{CONFIG_FILE}: the checkpoint holds the heads alone; load it with its backbone, {0}")]
    NeedsBackbone(String),
    /// The checkpoint holds its backbone, and was loaded as heads alone.
    #[error("{CONFIG_FILE}: the checkpoint holds its backbone; load it whole")]
    HoldsBackbone,
    /// The backbone given for heads alone is not the one they were trained on.
    #[error(
        "the heads were trained on a backbone whose {file} has SHA-256 {expected}, not {found}"
    )]
    OtherBackbone {
        /// The backbone's weight file.
        file: String,
        /// The SHA-256 the heads were trained with.
        expected: String,
        /// The SHA-256 of the file given.
        found: String,
    },
    /// The model's backbone is not the pretrained one: saved as heads alone, it would be lost.
    #[error(
        "the model's backbone changed in training (it differs from {0}'s): it cannot be saved \
         as heads alone"
    )]
    TrainedBackbone(String),
}

/// A checkpoint's three files, in memory.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckpointFiles {
    /// `config.json`.
    pub config: String,
    /// `model.safetensors`.
    pub weights: Vec<u8>,
    /// `tokenizer.json`.
    pub tokenizer: String,
}

/// A loaded checkpoint.
#[derive(Debug, Clone)]
pub struct Checkpoint {
    /// The trained model.
    pub model: EnsemblePrm,
    /// Its configuration.
    pub config: CheckpointConfig,
    /// Its tokenizer.
    pub tokenizer: StepTokenizer,
}

impl Checkpoint {
    /// A checkpoint of `config` with freshly initialised weights on `device`, reading
    /// trajectories with `tokenizer` in windows as long as the backbone takes; every other
    /// setting at its default.
    pub fn untrained(config: PrmConfig, tokenizer: StepTokenizer, device: &Device) -> Self {
        let encoding = EncodingConfig::new().with_max_positions(config.backbone.max_positions());
        Self {
            model: config.init(device),
            config: CheckpointConfig::new(config, encoding),
            tokenizer,
        }
    }
}

impl CheckpointFiles {
    /// Serialises a model with its configuration and tokenizer, refusing a model or a
    /// configuration that holds a NaN or an infinity.
    pub fn from_model(
        model: &EnsemblePrm,
        config: &CheckpointConfig,
        tokenizer: &StepTokenizer,
    ) -> Result<Self, CheckpointError> {
        let mut store = SafetensorsStore::from_bytes(None);
        model
            .save_into(&mut store)
            .map_err(|e| CheckpointError::Weights(e.to_string()))?;
        let tokenizer = tokenizer.to_json();
        let config = CheckpointConfig {
            tokenizer_sha256: Some(sha256_hex(tokenizer.as_bytes())),
            ..config.clone()
        };
        let files = Self {
            config: to_json_that_reads_back(&config).map_err(CheckpointError::NonFiniteConfig)?,
            weights: store
                .get_bytes()
                .map_err(|e| CheckpointError::Weights(e.to_string()))?,
            tokenizer,
        };
        files.ensure_finite_weights()?;
        Ok(files)
    }

    /// An error naming the first tensor of the weights that holds a NaN or an infinity.
    fn ensure_finite_weights(&self) -> Result<(), CheckpointError> {
        match first_non_finite_tensor(&self.weights).map_err(CheckpointError::Weights)? {
            Some(name) => Err(CheckpointError::NonFiniteWeights(name)),
            None => Ok(()),
        }
    }

    /// Rebuilds the model on `device` and loads the weights into it, refusing weights that
    /// hold a NaN or an infinity.
    pub fn load(&self, device: &Device) -> Result<Checkpoint, CheckpointError> {
        let config = self.read_config()?;
        if let Some(reference) = &config.pretrained_backbone {
            return Err(CheckpointError::NeedsBackbone(reference.file.clone()));
        }
        self.ensure_finite_weights()?;
        let tokenizer = self.read_tokenizer(&config)?;
        let mut model = config.model.init(device);
        let mut store = SafetensorsStore::from_bytes(Some(self.weights.clone()));
        model
            .load_from(&mut store)
            .map_err(|e| CheckpointError::Weights(e.to_string()))?;
        Ok(Checkpoint {
            model,
            config,
            tokenizer,
        })
    }

    /// The configuration, checked.
    pub fn read_config(&self) -> Result<CheckpointConfig, CheckpointError> {
        let config: CheckpointConfig =
            serde_json::from_str(&self.config).map_err(CheckpointError::Config)?;
        config.validate().map_err(CheckpointError::InvalidModel)?;
        Ok(config)
    }

    /// The tokenizer, refused when it is not the one `config` records or gives ids beyond its
    /// embedding table.
    fn read_tokenizer(&self, config: &CheckpointConfig) -> Result<StepTokenizer, CheckpointError> {
        if let Some(expected) = &config.tokenizer_sha256 {
            let found = sha256_hex(self.tokenizer.as_bytes());
            if &found != expected {
                return Err(CheckpointError::OtherTokenizer {
                    expected: expected.clone(),
                    found,
                });
            }
        }
        let tokenizer = StepTokenizer::from_json(&self.tokenizer, &config.special_tokens)
            .map_err(|e| CheckpointError::Tokenizer(e.to_string()))?;
        let table = config.model.backbone.vocab_size();
        if tokenizer.vocab_size() > table {
            return Err(CheckpointError::Tokenizer(format!(
                "it gives token ids up to {}, beyond the model's embedding table of {table} rows \
                 ({CONFIG_FILE})",
                tokenizer.vocab_size() - 1
            )));
        }
        Ok(tokenizer)
    }

    /// Writes the files into `dir`, replacing any checkpoint there only once all are written
    /// (see [`write_whole_dir`]).
    pub fn write_dir(&self, dir: &Path) -> Result<(), CheckpointError> {
        Ok(write_whole_dir(dir, &self.named_files())?)
    }

    /// The files with their names in a checkpoint directory.
    pub fn named_files(&self) -> [(&'static str, &[u8]); 3] {
        [
            (CONFIG_FILE, self.config.as_bytes()),
            (WEIGHTS_FILE, self.weights.as_slice()),
            (TOKENIZER_FILE, self.tokenizer.as_bytes()),
        ]
    }

    /// Reads a checkpoint directory. If a save was interrupted between its two renames, the
    /// previous checkpoint kept beside it is read instead.
    pub fn read_dir(dir: &Path) -> Result<Self, CheckpointError> {
        let dir = settled_dir(dir);
        let text = |name: &str| {
            let path = dir.join(name);
            fs::read_to_string(&path).map_err(|source| FileError { path, source })
        };
        let weights = dir.join(WEIGHTS_FILE);
        let weights = fs::read(&weights).map_err(|source| FileError {
            path: weights,
            source,
        })?;
        Ok(Self {
            config: text(CONFIG_FILE)?,
            weights,
            tokenizer: text(TOKENIZER_FILE)?,
        })
    }
}

/// The SHA-256 of `bytes` in lower-case hex.
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    format!("{:x}", Sha256::digest(bytes))
}

/// Whether `text` reads as a SHA-256 in lower-case hex.
fn is_sha256_hex(text: &str) -> bool {
    text.len() == 64
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

#[cfg(test)]
mod tests;
