//! `actprm export-heads`: a checkpoint on a frozen pretrained encoder saved as its heads alone.

use actprm_core::checkpoint::{BackboneReference, CheckpointFiles};
use anyhow::{Context, Result};

use crate::backend::Backend;
use crate::checkpoint_dir::{load_checkpoint, pretrained_encoder, pretrained_encoder_dir};
use crate::cli::ExportHeadsArgs;
use crate::identity::file_digest;

/// The encoder's weight file, in its directory.
const ENCODER_WEIGHTS: &str = "model.safetensors";

/// `actprm export-heads`.
pub fn export_heads(args: &ExportHeadsArgs, backend: &Backend) -> Result<()> {
    let checkpoint = load_checkpoint(&args.checkpoint, backend)?;
    let dir = args
        .backbone_dir
        .clone()
        .unwrap_or_else(pretrained_encoder_dir);
    let encoder = pretrained_encoder(&checkpoint.config, &dir, backend)?;
    let weights = dir.join(ENCODER_WEIGHTS);
    let reference = BackboneReference::new(ENCODER_WEIGHTS.to_string(), file_digest(&weights)?);
    let files =
        CheckpointFiles::heads_only(&checkpoint, &encoder, reference).with_context(|| {
            format!(
                "saving {} as heads alone, with the encoder in {}",
                args.checkpoint.display(),
                dir.display()
            )
        })?;
    files
        .write_dir(&args.out)
        .with_context(|| format!("writing {}", args.out.display()))?;
    println!(
        "the heads of {} in {}: {:.1} MB of weights, read with {}",
        args.checkpoint.display(),
        args.out.display(),
        files.weights.len() as f64 / 1e6,
        weights.display()
    );
    Ok(())
}
