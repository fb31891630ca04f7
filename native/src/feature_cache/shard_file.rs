//! How cached features sit on disk: shards, each a safetensors file holding one `[steps, width]`
//! f32 tensor per trajectory, named by the trajectory's key (see [`super`]).

use std::collections::{HashMap, HashSet};
use std::fs;
use std::path::{Path, PathBuf};

use actprm_core::features::StepFeatures;
use actprm_core::whole_dir::write_whole_file;
use anyhow::{Context, Result, bail};
use safetensors::{Dtype, SafeTensors};
use sha2::{Digest, Sha256};

/// Extension of a shard.
const SHARD_EXTENSION: &str = "safetensors";

/// Adds to `found` the features of every key in `wanted` that some readable shard in `dir`
/// holds. A shard that does not read back is reported and removed.
pub(super) fn read_shards(
    dir: &Path,
    wanted: &HashSet<&str>,
    found: &mut HashMap<String, StepFeatures>,
) -> Result<()> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Ok(());
    };
    let mut shards: Vec<PathBuf> = entries
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| path.extension().is_some_and(|e| e == SHARD_EXTENSION))
        .collect();
    shards.sort();
    for shard in shards {
        let file =
            fs::File::open(&shard).with_context(|| format!("opening {}", shard.display()))?;
        // SAFETY: a shard is written under a staging name and renamed into place, and never
        // written again; the cache only ever removes one, which leaves the mapping valid.
        let bytes = unsafe { memmap2::Mmap::map(&file) }
            .with_context(|| format!("reading {}", shard.display()))?;
        if let Err(problem) = read_shard(&bytes, wanted, found) {
            eprintln!(
                "warning: feature cache shard {} does not read back ({problem}); \
                 removing it, its features will be computed again",
                shard.display()
            );
            fs::remove_file(&shard).with_context(|| format!("removing {}", shard.display()))?;
        }
    }
    Ok(())
}

/// Writes one shard into `dir` holding `features` under their keys, named by the keys' hash.
pub(super) fn write_shard(dir: &Path, features: &[(&str, &StepFeatures)]) -> Result<()> {
    fs::create_dir_all(dir)
        .with_context(|| format!("creating the feature cache {}", dir.display()))?;
    let bytes: Vec<(String, Vec<u8>, Vec<usize>)> = features
        .iter()
        .map(|(key, f)| {
            let data = f.values.iter().flat_map(|v| v.to_le_bytes()).collect();
            (key.to_string(), data, vec![f.num_steps(), f.width])
        })
        .collect();
    let views = bytes
        .iter()
        .map(|(key, data, shape)| {
            safetensors::tensor::TensorView::new(Dtype::F32, shape.clone(), data)
                .map(|view| (key.as_str(), view))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let serialised = safetensors::serialize(views, None)?;
    let mut name = Sha256::new();
    for (key, _) in features {
        name.update(key.as_bytes());
    }
    let path = dir.join(format!(
        "{}.{SHARD_EXTENSION}",
        &format!("{:x}", name.finalize())[..32]
    ));
    Ok(write_whole_file(&path, &serialised)?)
}

/// Copies into `found` the tensors of one shard that `wanted` names, or says why the shard is
/// unusable.
fn read_shard(
    bytes: &[u8],
    wanted: &HashSet<&str>,
    found: &mut HashMap<String, StepFeatures>,
) -> Result<()> {
    let shard = SafeTensors::deserialize(bytes)?;
    for (name, view) in shard.iter() {
        if !wanted.contains(name) || found.contains_key(name) {
            continue;
        }
        let &[steps, width] = view.shape() else {
            bail!(
                "tensor {name} has shape {:?}, not [steps, width]",
                view.shape()
            );
        };
        if view.dtype() != Dtype::F32 || view.data().len() != steps * width * 4 {
            bail!("tensor {name} is not {steps}×{width} f32 values");
        }
        let values = view
            .data()
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        found.insert(name.to_string(), StepFeatures { values, width });
    }
    Ok(())
}
