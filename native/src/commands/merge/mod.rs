//! `actprm merge`: the outputs of `score`, `filter` or `label` run on every shard of a pool
//! joined into what the unsharded command writes (docs/scale.md).
//!
//! Every shard records which shard it is and what it was made from. The merge refuses a
//! missing or repeated shard, shards of different counts, settings, checkpoints or pools, and
//! a shard that did not finish, naming which. Score lines and kept rows carry their index in
//! the whole pool and are put back in pool order; a label merge joins the ledgers (an answer is
//! counted once) and rebuilds labels.jsonl and label.json from them and the labelled file, as
//! a rerun of `label` does. The joined output is built in memory and written whole.

use std::path::Path;

use anyhow::{Result, bail};

use super::filter::STATE_FILE;
use super::label::LABEL_SUMMARY;
use crate::cli::MergeArgs;

mod filtering;
mod labels;
mod parts;
mod scores;

/// `actprm merge`.
pub fn merge(args: &MergeArgs) -> Result<()> {
    for shard in &args.shards {
        if same_path(shard, &args.out) {
            bail!(
                "--out {} is one of the shards: write the merge elsewhere",
                args.out.display()
            );
        }
    }
    match Kind::of(&args.shards[0])? {
        Kind::Score => scores::merge(args),
        Kind::Filter => filtering::merge(args),
        Kind::Label => labels::merge(args),
    }
}

/// What made a shard's output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Score,
    Filter,
    Label,
}

impl Kind {
    /// The command whose shard output `path` is.
    fn of(path: &Path) -> Result<Self> {
        if path.join(STATE_FILE).is_file() {
            Ok(Kind::Filter)
        } else if path.join(LABEL_SUMMARY).is_file() {
            Ok(Kind::Label)
        } else if path.is_file() {
            Ok(Kind::Score)
        } else {
            bail!(
                "{}: neither a `score --out` file nor a `filter` or `label` output directory",
                path.display()
            )
        }
    }

    pub(super) fn command(self) -> &'static str {
        match self {
            Kind::Score => "score",
            Kind::Filter => "filter",
            Kind::Label => "label",
        }
    }
}

/// Whether `a` and `b` name the same file or directory.
fn same_path(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}
