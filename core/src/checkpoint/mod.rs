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
mod tests {
    use super::*;
    use crate::batch::PrmInput;
    use crate::encoding::encode_trajectory;
    use crate::model::test_support::{Poison, tiny_prm_config};
    use crate::tasks::synthetic::{SyntheticConfig, generate};
    use crate::whole_dir::sibling;

    fn tiny() -> (EnsemblePrm, CheckpointConfig, StepTokenizer) {
        let tokenizer = StepTokenizer::for_synthetic(&SyntheticConfig::new());
        let encoding = EncodingConfig::new();
        let model = tiny_prm_config(tokenizer.vocab_size(), 3, 8);
        let config = CheckpointConfig::new(model, encoding);
        (config.model.init(&Device::flex()), config, tokenizer)
    }

    fn scores_of(
        checkpoint_model: &EnsemblePrm,
        tokenizer: &StepTokenizer,
        config: &CheckpointConfig,
    ) -> Vec<f32> {
        let trajectories = generate(&SyntheticConfig::new(), 3, 4);
        let encoded: Vec<_> = trajectories
            .iter()
            .map(|t| encode_trajectory(tokenizer, t, &config.encoding).unwrap())
            .collect();
        let input = PrmInput::new(&encoded, tokenizer.pad_id(), &Device::flex());
        checkpoint_model
            .score(&input)
            .into_iter()
            .flat_map(|s| s.heads.concat())
            .collect()
    }

    #[test]
    fn a_saved_checkpoint_reloads_to_the_same_scores() {
        let (model, config, tokenizer) = tiny();
        let dir = std::env::temp_dir().join(format!("actprm-ckpt-{}", std::process::id()));
        let files = CheckpointFiles::from_model(&model, &config, &tokenizer).unwrap();
        files.write_dir(&dir).unwrap();
        // A second save replaces the first in place and leaves no staging directory behind.
        files.write_dir(&dir).unwrap();
        assert!(!sibling(&dir, "partial").exists() && !sibling(&dir, "previous").exists());
        let loaded = CheckpointFiles::read_dir(&dir)
            .unwrap()
            .load(&Device::flex())
            .unwrap();
        assert_eq!(
            scores_of(&model, &tokenizer, &config),
            scores_of(&loaded.model, &loaded.tokenizer, &loaded.config)
        );
        fs::remove_dir_all(&dir).unwrap();
    }

    /// Another run's tokenizer with the same vocabulary size would give the same text other
    /// ids: the digest the configuration records refuses it, naming both digests.
    #[test]
    fn another_tokenizer_is_refused_by_its_digest() {
        let (model, config, tokenizer) = tiny();
        let files = CheckpointFiles::from_model(&model, &config, &tokenizer).unwrap();
        assert!(files.load(&Device::flex()).is_ok());
        let mut json: serde_json::Value = serde_json::from_str(&files.tokenizer).unwrap();
        let vocab = json["model"]["vocab"].as_object_mut().unwrap();
        let mut words = vocab.keys().cloned();
        let (first, second) = (words.next().unwrap(), words.next().unwrap());
        let swapped = vocab[&first].clone();
        vocab[&first] = vocab[&second].clone();
        vocab[&second] = swapped;
        let other = CheckpointFiles {
            tokenizer: json.to_string(),
            ..files.clone()
        };
        let recorded = other.read_config().unwrap().tokenizer_sha256.unwrap();
        match other.load(&Device::flex()) {
            Err(CheckpointError::OtherTokenizer { expected, found }) => {
                assert_eq!(expected, recorded);
                assert_eq!(found, sha256_hex(other.tokenizer.as_bytes()));
            }
            Err(error) => panic!("refused for another reason: {error}"),
            Ok(_) => panic!("another tokenizer was accepted"),
        }

        // Without a recorded digest the swapped tokenizer loads: the check is what refuses it.
        let mut unchecked: serde_json::Value = serde_json::from_str(&other.config).unwrap();
        unchecked["tokenizer_sha256"] = serde_json::Value::Null;
        let unchecked = CheckpointFiles {
            config: unchecked.to_string(),
            ..other
        };
        assert!(unchecked.load(&Device::flex()).is_ok());
    }

    #[test]
    fn a_recorded_tokenizer_digest_must_read_as_one() {
        let (_, config, _) = tiny();
        let config = CheckpointConfig {
            tokenizer_sha256: Some("ABC".to_string()),
            ..config
        };
        let error = config.validate().unwrap_err();
        assert_eq!(error.field, "tokenizer_sha256");
    }

    /// θ₀ is the heads' initialisation: training leaves it where it was while the heads move,
    /// a checkpoint stores it, and loading restores it exactly (not as a copy of the trained
    /// heads, which would zero the anchor penalty).
    #[test]
    fn the_anchor_stays_at_the_initialisation_and_survives_a_reload() {
        use crate::batch::Inputs;
        use crate::trainer::{PrmTrainer, TrainingConfig};

        let (model, config, tokenizer) = tiny();
        let initial = model.heads().trained_values();
        assert_eq!(model.heads().anchor_values(), initial);
        let pool = generate(&SyntheticConfig::new(), 5, 32);
        let encoded: Vec<_> = pool
            .iter()
            .map(|t| encode_trajectory(&tokenizer, t, &config.encoding).unwrap())
            .collect();
        let labels: Vec<_> = pool.iter().map(|t| t.label.unwrap()).collect();
        let chosen: Vec<usize> = (0..pool.len()).collect();
        let mut trainer = PrmTrainer::new(model, &TrainingConfig::tiny(), 4, &Device::flex());
        for _ in 0..4 {
            let inputs = Inputs::Tokens {
                encoded: &encoded,
                pad_id: tokenizer.pad_id(),
            };
            trainer.step(inputs, &chosen, &labels).unwrap();
        }
        let trained = trainer.into_model();
        assert_eq!(
            trained.heads().anchor_values(),
            initial,
            "θ₀ moved in training"
        );
        assert_ne!(
            trained.heads().trained_values(),
            initial,
            "the heads did not train"
        );
        let penalty = trained.anchor_penalty().into_scalar::<f32>();
        assert!(penalty > 0.0);

        let dir = std::env::temp_dir().join(format!("actprm-ckpt-anchor-{}", std::process::id()));
        CheckpointFiles::from_model(&trained, &config, &tokenizer)
            .unwrap()
            .write_dir(&dir)
            .unwrap();
        let loaded = CheckpointFiles::read_dir(&dir)
            .unwrap()
            .load(&Device::flex())
            .unwrap()
            .model;
        assert_eq!(loaded.heads().anchor_values(), initial);
        assert_eq!(
            loaded.heads().trained_values(),
            trained.heads().trained_values()
        );
        assert_eq!(loaded.anchor_penalty().into_scalar::<f32>(), penalty);
        fs::remove_dir_all(&dir).unwrap();
    }

    /// A save stopped between its two renames: the old checkpoint moved aside, the new one
    /// whole in its staging directory but not yet in place. Reading gives the old weights back.
    #[test]
    fn an_interrupted_swap_falls_back_to_the_previous_checkpoint() {
        let (old, config, tokenizer) = tiny();
        let mut newer_config = config.clone();
        newer_config.model.heads.seed += 1;
        let newer = newer_config.model.init(&Device::flex());
        assert_ne!(
            scores_of(&old, &tokenizer, &config),
            scores_of(&newer, &tokenizer, &config),
            "the two checkpoints must score apart for the test to tell them apart"
        );
        let dir = std::env::temp_dir().join(format!("actprm-ckpt-swap-{}", std::process::id()));
        CheckpointFiles::from_model(&old, &config, &tokenizer)
            .unwrap()
            .write_dir(&dir)
            .unwrap();
        fs::rename(&dir, sibling(&dir, "previous")).unwrap();
        CheckpointFiles::from_model(&newer, &newer_config, &tokenizer)
            .unwrap()
            .write_dir(&sibling(&dir, "partial"))
            .unwrap();
        let loaded = CheckpointFiles::read_dir(&dir)
            .unwrap()
            .load(&Device::flex())
            .unwrap();
        assert_eq!(
            scores_of(&loaded.model, &loaded.tokenizer, &loaded.config),
            scores_of(&old, &tokenizer, &config)
        );
        for leftover in ["previous", "partial"] {
            fs::remove_dir_all(sibling(&dir, leftover)).unwrap();
        }
    }

    /// A configuration edited by hand into one that cannot be built, or whose windows the
    /// backbone cannot take, is refused naming the setting instead of panicking.
    #[test]
    fn a_config_that_cannot_be_built_is_refused_naming_the_setting() {
        let (model, config, tokenizer) = tiny();
        let files = CheckpointFiles::from_model(&model, &config, &tokenizer).unwrap();
        let edited = |edit: fn(&mut serde_json::Value)| {
            let mut value: serde_json::Value = serde_json::from_str(&files.config).unwrap();
            edit(&mut value);
            let files = CheckpointFiles {
                config: value.to_string(),
                ..files.clone()
            };
            files.load(&Device::flex()).unwrap_err().to_string()
        };
        let error = edited(|c| c["model"]["heads"]["num_heads"] = 0.into());
        assert!(error.contains("`num_heads` must be at least 1"), "{error}");
        let error = edited(|c| c["model"]["backbone"]["Small"]["d_model"] = 65.into());
        assert!(
            error.contains("`d_model` must be a positive multiple of 8"),
            "{error}"
        );
        let error = edited(|c| c["encoding"]["max_positions"] = 257.into());
        assert!(
            error.contains("`encoding.max_positions` is 257, more than the 256 positions"),
            "{error}"
        );
        let error = edited(|c| c["selection"]["tau"] = 2.into());
        assert!(
            error.contains("`selection.tau` is 2; it must be in (0, 1)"),
            "{error}"
        );
        let error = edited(|c| c["selection"]["delta_std"] = (-1).into());
        assert!(error.contains("`selection.delta_std` is -1"), "{error}");
        let error = edited(|c| c["selection"]["delta_pred"] = 0.5.into());
        assert!(error.contains("`selection.delta_pred` is 0.5"), "{error}");
        let error = edited(|c| {
            c["threshold"] =
                serde_json::json!({"tau": 1.0, "validation_f1": 0.5, "validation_items": 3});
        });
        assert!(error.contains("`threshold.tau` is 1"), "{error}");
    }

    #[test]
    fn a_diverged_model_is_neither_saved_nor_loaded() {
        use burn::module::Module;

        let (model, config, tokenizer) = tiny();
        let diverged = model.clone().map(&mut Poison);
        let error = CheckpointFiles::from_model(&diverged, &config, &tokenizer).unwrap_err();
        assert!(
            matches!(error, CheckpointError::NonFiniteWeights(_)),
            "{error}"
        );
        assert!(error.to_string().contains("NaN"), "{error}");

        // A file whose last weight was overwritten with NaN on disk.
        let mut files = CheckpointFiles::from_model(&model, &config, &tokenizer).unwrap();
        let end = files.weights.len();
        files.weights[end - 4..].copy_from_slice(&f32::NAN.to_le_bytes());
        let error = files.load(&Device::flex()).unwrap_err();
        assert!(
            matches!(error, CheckpointError::NonFiniteWeights(_)),
            "{error}"
        );
    }

    #[test]
    fn a_tokenizer_with_ids_beyond_the_embedding_table_is_refused() {
        let (_, config, tokenizer) = tiny();
        let smaller = CheckpointConfig::new(
            tiny_prm_config(tokenizer.vocab_size() - 1, 3, 8),
            config.encoding.clone(),
        );
        let model = smaller.model.init(&Device::flex());
        let files = CheckpointFiles::from_model(&model, &smaller, &tokenizer).unwrap();
        let error = files.load(&Device::flex()).unwrap_err();
        assert!(matches!(error, CheckpointError::Tokenizer(_)), "{error}");
        assert!(error.to_string().contains("embedding table"), "{error}");
    }

    #[test]
    fn a_non_finite_setting_is_never_written() {
        let (model, mut config, tokenizer) = tiny();
        config.selection.delta_pred = f32::NAN;
        let error = CheckpointFiles::from_model(&model, &config, &tokenizer).unwrap_err();
        assert!(
            matches!(error, CheckpointError::NonFiniteConfig(_)),
            "{error}"
        );
    }

    #[test]
    fn weights_of_another_shape_are_rejected_naming_the_file() {
        let (model, config, tokenizer) = tiny();
        let mut files = CheckpointFiles::from_model(&model, &config, &tokenizer).unwrap();
        let mut wider = config.clone();
        wider.model.heads.hidden = 16;
        files.config = serde_json::to_string(&wider).unwrap();
        let error = files.load(&Device::flex()).unwrap_err().to_string();
        assert!(error.starts_with(WEIGHTS_FILE), "{error}");
    }
}
