//! What every merge does with its shards' outputs: puts them in shard order once they are
//! checked to be one split's, and joins their pool-indexed lines in pool order.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::Deserialize;
use serde_json::Value;

use super::Kind;
use crate::identity::differences;
use crate::shard::Shard;

/// One shard's output: where it is, which shard, and the settings every shard must share.
pub(super) struct Part<T> {
    pub path: PathBuf,
    pub shard: Shard,
    pub settings: Value,
    pub output: T,
}

/// `parts` in shard order, once checked to be every shard of one count, each once, all made
/// with the same settings.
pub(super) fn in_shard_order<T>(mut parts: Vec<Part<T>>) -> Result<Vec<Part<T>>> {
    let first = &parts[0];
    for part in &parts[1..] {
        if part.shard.count != first.shard.count {
            bail!(
                "{} is {} but {} is {}: merge the shards of one split",
                first.path.display(),
                first.shard,
                part.path.display(),
                part.shard
            );
        }
        if part.settings != first.settings {
            bail!(
                "{} and {} were made from different inputs or settings:\n{}",
                first.path.display(),
                part.path.display(),
                differences(&first.settings, &part.settings)
            );
        }
    }
    parts.sort_by_key(|part| part.shard.index);
    for pair in parts.windows(2) {
        if pair[0].shard.index == pair[1].shard.index {
            bail!(
                "{} and {} are both {}",
                pair[0].path.display(),
                pair[1].path.display(),
                pair[0].shard
            );
        }
    }
    let count = parts[0].shard.count;
    let present: Vec<usize> = parts.iter().map(|part| part.shard.index).collect();
    let missing: Vec<String> = (0..count)
        .filter(|index| present.binary_search(index).is_err())
        .map(|index| index.to_string())
        .collect();
    if !missing.is_empty() {
        bail!(
            "shard{} {} of {count} {} missing: run {} and name {} too",
            if missing.len() == 1 { "" } else { "s" },
            missing.join(", "),
            if missing.len() == 1 { "is" } else { "are" },
            if missing.len() == 1 { "it" } else { "them" },
            if missing.len() == 1 {
                "its output"
            } else {
                "their outputs"
            },
        );
    }
    Ok(parts)
}

/// The shard a command's recorded settings name, and those settings without it.
pub(super) fn split_off_shard(
    path: &Path,
    mut settings: Value,
    kind: Kind,
) -> Result<(Shard, Value)> {
    let shard = settings
        .as_object_mut()
        .and_then(|settings| settings.remove("shard"))
        .with_context(|| {
            format!(
                "{} was made without --shard: it is a whole pool's `{}` output already",
                path.display(),
                kind.command()
            )
        })?;
    let shard = serde_json::from_value(shard)
        .with_context(|| format!("{}: its recorded shard does not read", path.display()))?;
    Ok((shard, settings))
}

/// The JSON lines of every file (its path and bytes), each line carrying its pool `index`,
/// joined in pool order; an index found twice is refused.
pub(super) fn join_in_pool_order<'a>(
    files: impl IntoIterator<Item = (PathBuf, &'a [u8])>,
) -> Result<Vec<u8>> {
    #[derive(Deserialize)]
    struct Indexed {
        index: usize,
    }
    let mut lines: Vec<(usize, &[u8], usize)> = Vec::new();
    let mut paths = Vec::new();
    for (file, (path, bytes)) in files.into_iter().enumerate() {
        for (number, line) in bytes.split_inclusive(|&byte| byte == b'\n').enumerate() {
            let Indexed { index } = serde_json::from_slice(line).with_context(|| {
                format!(
                    "{}:{}: not a line with its pool index",
                    path.display(),
                    number + 1
                )
            })?;
            lines.push((index, line, file));
        }
        paths.push(path);
    }
    lines.sort_by_key(|&(index, ..)| index);
    if let Some(pair) = lines.windows(2).find(|pair| pair[0].0 == pair[1].0) {
        bail!(
            "pool trajectory {} is in both {} and {}: the shards overlap",
            pair[0].0,
            paths[pair[0].2].display(),
            paths[pair[1].2].display()
        );
    }
    Ok(lines
        .into_iter()
        .flat_map(|(_, line, _)| line)
        .copied()
        .collect())
}
