//! `actprm halve-backbone`: a pretrained encoder's directory with its weights halved to f16.

use actprm_core::pretrained::halve_f32_tensors;
use actprm_core::whole_dir::write_whole_dir;
use anyhow::{Context, Result};

use crate::checkpoint_dir::{ENCODER_WEIGHTS, pretrained_encoder_dir};
use crate::cli::HalveBackboneArgs;
use crate::identity::bytes_digest;
/// The encoder directory's files copied as they are.
const ENCODER_FILES_KEPT: [&str; 2] = ["config.json", "tokenizer.json"];

/// `actprm halve-backbone`.
pub fn halve_backbone(args: &HalveBackboneArgs) -> Result<()> {
    let dir = args
        .backbone_dir
        .clone()
        .unwrap_or_else(pretrained_encoder_dir);
    let read = |name: &str| {
        let path = dir.join(name);
        std::fs::read(&path).with_context(|| format!("reading {}", path.display()))
    };
    let kept = ENCODER_FILES_KEPT
        .map(|name| read(name).map(|bytes| (name, bytes)))
        .into_iter()
        .collect::<Result<Vec<_>>>()?;
    let weights_path = dir.join(ENCODER_WEIGHTS);
    let halved = halve_f32_tensors(&read(ENCODER_WEIGHTS)?, &weights_path.display().to_string())?;
    let mut files: Vec<(&str, &[u8])> = kept
        .iter()
        .map(|(name, bytes)| (*name, bytes.as_slice()))
        .collect();
    files.push((ENCODER_WEIGHTS, &halved));
    write_whole_dir(&args.out, &files)
        .with_context(|| format!("writing {}", args.out.display()))?;
    eprintln!(
        "{} halved into {}: {:.1} MB of weights",
        dir.display(),
        args.out.display(),
        halved.len() as f64 / 1e6
    );
    println!("{}", bytes_digest(&halved));
    Ok(())
}
