//! Reading and loading a checkpoint directory, with errors that name it. A checkpoint that
//! holds its heads alone is loaded with the pretrained backbone it was trained on: a decoder
//! from the path it records (a run on a frozen decoder saves so), an encoder (`actprm
//! export-heads`) from $ACTPRM_BACKBONE or scripts/fetch-backbone.sh's directory.

use std::path::{Path, PathBuf};

use actprm_core::checkpoint::{
    BackboneReference, Checkpoint, CheckpointConfig, CheckpointFiles, backbone_digest,
};
use actprm_core::model::{PrmBackbone, PrmBackboneConfig};
use actprm_core::pretrained::{
    DEFAULT_SEPARATOR_INIT, DecoderOptions, PretrainedBackbone, default_backbone_dir,
};
use anyhow::{Context, Result, bail};

use crate::backend::Backend;
use crate::identity::file_digest;

/// The environment variable naming the pretrained encoder's directory for heads-only
/// checkpoints.
pub const BACKBONE_DIR_VAR: &str = "ACTPRM_BACKBONE";
/// The pretrained encoder's weight file, in its directory.
pub const ENCODER_WEIGHTS: &str = "model.safetensors";

/// Reads and loads a checkpoint directory onto the backend's device.
pub fn load_checkpoint(dir: &Path, backend: &Backend) -> Result<Checkpoint> {
    load_checkpoint_files(&read_checkpoint_files(dir)?, dir, backend)
}

/// Reads a checkpoint directory's files.
pub fn read_checkpoint_files(dir: &Path) -> Result<CheckpointFiles> {
    CheckpointFiles::read_dir(dir).with_context(|| {
        format!(
            "reading the checkpoint {} (train one with `actprm run`)",
            dir.display()
        )
    })
}

/// Loads the files read from checkpoint directory `dir` onto the backend's device; heads alone
/// are loaded around their backbone (see [`load_heads_alone`]).
pub fn load_checkpoint_files(
    files: &CheckpointFiles,
    dir: &Path,
    backend: &Backend,
) -> Result<Checkpoint> {
    let context = || format!("loading the checkpoint {}", dir.display());
    if files
        .read_config()
        .is_ok_and(|config| config.tokenizer_sha256.is_none())
    {
        eprintln!(
            "warning: {} records no tokenizer_sha256, so its tokenizer.json is checked only \
             for fitting the embedding table: a tokenizer from another run would change the \
             scores without a word. Checkpoints written now record it",
            dir.join("config.json").display()
        );
    }
    let Some(reference) = files.pretrained_backbone().with_context(context)? else {
        return files.load(&backend.device).with_context(context);
    };
    load_heads_alone(files, &reference, backend).with_context(context)
}

/// Loads heads alone around the backbone they were trained on: the decoder at the path the
/// checkpoint records, or the encoder of [`pretrained_encoder_dir`].
fn load_heads_alone(
    files: &CheckpointFiles,
    reference: &BackboneReference,
    backend: &Backend,
) -> Result<Checkpoint> {
    let config = files.read_config()?;
    if let PrmBackboneConfig::Decoder(decoder) = &config.model.backbone {
        let path = Path::new(&reference.file);
        let options = DecoderOptions {
            feature_layer: decoder.feature_layer,
            step_feature: decoder.step_feature,
            ..DecoderOptions::default()
        };
        let backbone = PretrainedBackbone::decoder(path, &options, &backend.device)
            .with_context(|| {
                format!(
                    "the checkpoint holds the heads alone; they read the decoder {}",
                    path.display()
                )
            })?
            .backbone;
        let digest = backbone_digest(&backbone)?;
        return Ok(files.load_with_backbone(backbone, &digest, &backend.device)?);
    }
    let encoder_dir = pretrained_encoder_dir();
    let encoder = pretrained_encoder(&config, &encoder_dir, backend)?;
    let weights = encoder_dir.join(&reference.file);
    let digest = file_digest(&weights).with_context(|| {
        format!("the checkpoint holds the heads alone; set {BACKBONE_DIR_VAR} to the directory of the encoder they were trained on")
    })?;
    Ok(files.load_with_backbone(encoder, &digest, &backend.device)?)
}

/// Where heads-only checkpoints find their encoder: $ACTPRM_BACKBONE, else
/// `~/.cache/actprm/all-minilm-l6-v2`.
pub fn pretrained_encoder_dir() -> PathBuf {
    std::env::var_os(BACKBONE_DIR_VAR).map_or_else(default_backbone_dir, PathBuf::from)
}

/// The pretrained encoder in `dir`, made ready as `config`'s model was: with its special
/// tokens (the step separator added to the vocabulary).
pub fn pretrained_encoder(
    config: &CheckpointConfig,
    dir: &Path,
    backend: &Backend,
) -> Result<PrmBackbone> {
    if !matches!(config.model.backbone, PrmBackboneConfig::Bert(_)) {
        bail!(
            "only a model on a pretrained encoder (`--backbone minilm`) can be kept as heads alone"
        );
    }
    let pretrained = PretrainedBackbone::bert(
        dir,
        &config.special_tokens,
        DEFAULT_SEPARATOR_INIT,
        &backend.device,
    )?;
    Ok(pretrained.backbone)
}
