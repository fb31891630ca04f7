//! Arguments of the commands that work on one shard of a pool (`score`, `filter`, `label`) and
//! of `merge`, which joins the shards' outputs.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;

use crate::shard::{MAX_SHARDS, Shard};

/// Which shard of the pool to work on; none (the whole pool) by default.
#[derive(Debug, Args)]
pub struct ShardArgs {
    /// Work only on shard I of N (I from 0 to N − 1) of the pool, for a pool split across
    /// machines; `actprm merge` joins the N outputs into what the unsharded command writes. A
    /// trajectory's shard follows from its question and steps (docs/scale.md).
    #[arg(long, value_name = "I/N", value_parser = Shard::parse, conflicts_with = "shards")]
    pub shard: Option<Shard>,
    /// Split the pool into N shards and work on the one this task of a job array is given:
    /// JOB_COMPLETION_INDEX (a Kubernetes Indexed Job), else SLURM_ARRAY_TASK_ID counted from
    /// SLURM_ARRAY_TASK_MIN (a Slurm job array, whose task count must be N).
    #[arg(long, value_name = "N", value_parser = shard_count)]
    pub shards: Option<usize>,
}

impl ShardArgs {
    /// The shard these arguments name, reading the job array's environment for `--shards`.
    pub fn resolve(&self) -> Result<Option<Shard>> {
        match (self.shard, self.shards) {
            (Some(shard), _) => Ok(Some(shard)),
            (None, Some(count)) => {
                Shard::from_job_array(count, |name| std::env::var(name).ok()).map(Some)
            }
            (None, None) => Ok(None),
        }
    }
}

/// `actprm merge`: the outputs of a sharded `score`, `filter` or `label` joined.
#[derive(Debug, Args)]
pub struct MergeArgs {
    /// The shards' outputs, one per shard in any order: `score --out` files, or `filter` or
    /// `label` output directories.
    #[arg(required = true, value_name = "SHARD")]
    pub shards: Vec<PathBuf>,
    /// Where to write the joined output: a file for `score`'s shards, a directory for
    /// `filter`'s and `label`'s (replaced whole if it exists).
    #[arg(long)]
    pub out: PathBuf,
}

/// A shard count, 1 to [`MAX_SHARDS`].
fn shard_count(text: &str) -> Result<usize, String> {
    match text.trim().parse::<usize>() {
        Ok(count) if (1..=MAX_SHARDS).contains(&count) => Ok(count),
        _ => Err(format!("must be a whole number from 1 to {MAX_SHARDS}")),
    }
}
