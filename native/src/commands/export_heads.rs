//! `actprm export-heads`: a checkpoint on a frozen pretrained encoder saved as its heads alone.

use actprm_core::checkpoint::{BackboneReference, CheckpointFiles};
use actprm_core::pretrained::halve_f32_tensors;
use anyhow::{Context, Result};

use crate::backend::Backend;
use crate::checkpoint_dir::{
    ENCODER_WEIGHTS, load_checkpoint, pretrained_encoder, pretrained_encoder_dir,
};
use crate::cli::ExportHeadsArgs;
use crate::identity::bytes_digest;

/// `actprm export-heads`.
pub fn export_heads(args: &ExportHeadsArgs, backend: &Backend) -> Result<()> {
    let checkpoint = load_checkpoint(&args.checkpoint, backend)?;
    let dir = args
        .backbone_dir
        .clone()
        .unwrap_or_else(pretrained_encoder_dir);
    let encoder = pretrained_encoder(&checkpoint.config, &dir, backend)?;
    let weights = dir.join(ENCODER_WEIGHTS);
    let bytes =
        std::fs::read(&weights).with_context(|| format!("reading {}", weights.display()))?;
    let halved = halve_f32_tensors(&bytes, &weights.display().to_string())?;
    let reference = BackboneReference {
        file: ENCODER_WEIGHTS.to_string(),
        sha256: bytes_digest(&bytes),
        f16_sha256: Some(bytes_digest(&halved)),
    };
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
