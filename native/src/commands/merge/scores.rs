//! Score lines of `score --shard` joined in pool order.

use actprm_core::whole_dir::write_whole_file;
use anyhow::{Context, Result, bail};

use super::parts::{Part, in_shard_order, join_in_pool_order};
use crate::cli::MergeArgs;
use crate::commands::score::{ScoreShard, remove_stale, shard_manifest_path};
use crate::stdout::outln;

/// `actprm merge` of `score --out` files.
pub(super) fn merge(args: &MergeArgs) -> Result<()> {
    let mut parts = Vec::new();
    for path in &args.shards {
        let manifest_path = shard_manifest_path(path);
        let text = std::fs::read_to_string(&manifest_path).with_context(|| {
            format!(
                "{} has no {} beside it: it is not the output of `score --shard`, or that \
                 shard did not finish",
                path.display(),
                manifest_path.display()
            )
        })?;
        let manifest: ScoreShard = serde_json::from_str(&text)
            .with_context(|| format!("reading {}", manifest_path.display()))?;
        let lines = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        let found = lines.iter().filter(|&&byte| byte == b'\n').count();
        if found != manifest.lines || lines.last().is_some_and(|&byte| byte != b'\n') {
            bail!(
                "{} holds {found} lines but {} records {}: it was changed since",
                path.display(),
                manifest_path.display(),
                manifest.lines
            );
        }
        parts.push(Part {
            path: path.clone(),
            shard: manifest.shard,
            settings: manifest.settings,
            output: lines,
        });
    }
    let parts = in_shard_order(parts)?;
    let joined = join_in_pool_order(
        parts
            .iter()
            .map(|part| (part.path.clone(), part.output.as_slice())),
    )?;
    write_whole_file(&args.out, &joined)?;
    remove_stale(&shard_manifest_path(&args.out))?;
    outln!(
        "merged {} shards' score lines into {}",
        parts.len(),
        args.out.display()
    )?;
    Ok(())
}
