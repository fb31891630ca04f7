//! Checkpoints reload to the same scores and anchor, survive an interrupted swap, and refuse
//! what they cannot read, naming it.

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
