//! How a run saves its model. A run whose heads read a frozen pretrained decoder saves the heads
//! alone, with the decoder's path and weights digest: the decoder's own weights are hundreds of
//! megabytes (429 MB for SmolLM2-135M), and a run saves them at every checkpoint and resume
//! point. Every other run saves the whole model.

use std::path::Path;

use actprm_core::checkpoint::{
    BackboneReference, Checkpoint, CheckpointConfig, CheckpointFiles, backbone_digest,
};
use actprm_core::model::{EnsemblePrm, PrmBackbone};
use actprm_core::pretrained::PretrainedBackbone;
use actprm_core::tokenizer::StepTokenizer;
use anyhow::{Context, Result};

use crate::cli::{BackboneArg, ModelArgs};

/// Whole models, or heads alone around a frozen decoder.
pub enum RunCheckpoints {
    /// The whole model.
    Whole,
    /// The heads alone, loaded later around the decoder `reference` names.
    HeadsAlone {
        /// The decoder, to check each save against.
        backbone: Box<PrmBackbone>,
        /// Where it is read from, and its digest.
        reference: BackboneReference,
    },
}

impl RunCheckpoints {
    /// How a run with `model` and `pretrained` (when it has a pretrained backbone) saves.
    pub fn for_run(model: &ModelArgs, pretrained: Option<&PretrainedBackbone>) -> Result<Self> {
        let (BackboneArg::Decoder(path), true, Some(pretrained)) =
            (&model.backbone, model.freeze_backbone, pretrained)
        else {
            return Ok(Self::Whole);
        };
        let reference = BackboneReference {
            file: absolute(path)?,
            sha256: backbone_digest(&pretrained.backbone)?,
            f16_sha256: None,
        };
        Ok(Self::HeadsAlone {
            backbone: Box::new(pretrained.backbone.clone()),
            reference,
        })
    }

    /// The files of `model` with `config` and `tokenizer`.
    pub fn files(
        &self,
        model: &EnsemblePrm,
        config: &CheckpointConfig,
        tokenizer: &StepTokenizer,
    ) -> Result<CheckpointFiles> {
        Ok(match self {
            Self::Whole => CheckpointFiles::from_model(model, config, tokenizer)?,
            Self::HeadsAlone {
                backbone,
                reference,
            } => {
                let checkpoint = Checkpoint {
                    model: model.clone(),
                    config: config.clone(),
                    tokenizer: tokenizer.clone(),
                };
                CheckpointFiles::heads_only(&checkpoint, backbone, reference.clone())?
            }
        })
    }
}

/// `path` made absolute, so that a checkpoint finds its decoder from any directory.
fn absolute(path: &Path) -> Result<String> {
    let absolute = std::fs::canonicalize(path)
        .with_context(|| format!("resolving the decoder's path {}", path.display()))?;
    Ok(absolute.display().to_string())
}
