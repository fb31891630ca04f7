//! Kept rows of `filter --shard` joined in pool order, with their tallies added.

use actprm_core::filter::FilterTally;
use actprm_core::whole_dir::write_whole_dir;
use anyhow::{Context, Result, bail};

use super::Kind;
use super::parts::{Part, in_shard_order, join_in_pool_order, split_off_shard};
use crate::cli::MergeArgs;
use crate::commands::filter::{FilterState, KEPT_ROWS, STATE_FILE, read_state};
use crate::stdout::outln;

/// `actprm merge` of `filter` output directories.
pub(super) fn merge(args: &MergeArgs) -> Result<()> {
    let mut parts = Vec::new();
    for dir in &args.shards {
        let state_path = dir.join(STATE_FILE);
        let Some(state) = read_state(&state_path)? else {
            bail!(
                "{}: no {STATE_FILE}: not a `filter` output directory",
                dir.display()
            );
        };
        if !state.complete {
            bail!(
                "{} is unfinished ({} trajectories scored): rerun that shard's `filter` to \
                 finish it",
                dir.display(),
                state.tally.scored
            );
        }
        let (shard, settings) = split_off_shard(dir, state.settings.clone(), Kind::Filter)?;
        let kept_path = dir.join(KEPT_ROWS);
        let mut kept = std::fs::read(&kept_path)
            .with_context(|| format!("reading {}", kept_path.display()))?;
        let recorded = usize::try_from(state.kept_bytes).unwrap_or(usize::MAX);
        if kept.len() < recorded {
            bail!(
                "{} holds {} bytes but {STATE_FILE} accounts for {recorded}: it was changed since",
                kept_path.display(),
                kept.len()
            );
        }
        kept.truncate(recorded);
        parts.push(Part {
            path: dir.clone(),
            shard,
            settings,
            output: (state, kept),
        });
    }
    let parts = in_shard_order(parts)?;
    let joined = join_in_pool_order(
        parts
            .iter()
            .map(|part| (part.path.join(KEPT_ROWS), part.output.1.as_slice())),
    )?;
    let mut tally = FilterTally::default();
    let mut judge_tokens = 0;
    for part in &parts {
        tally.add(&part.output.0.tally);
        judge_tokens += part.output.0.judge_tokens;
    }
    let state = FilterState {
        settings: parts[0].settings.clone(),
        inputs: parts[0].output.0.inputs.clone(),
        retained_fraction: tally.retained_fraction(),
        tally,
        kept_bytes: joined.len() as u64,
        complete: true,
        judge_tokens,
    };
    let state_json = serde_json::to_string_pretty(&state)?;
    write_whole_dir(
        &args.out,
        &[(KEPT_ROWS, &joined), (STATE_FILE, state_json.as_bytes())],
    )?;
    outln!(
        "merged {} shards: kept {} of {} trajectories in {}",
        parts.len(),
        state.tally.kept,
        state.tally.scored,
        args.out.join(KEPT_ROWS).display()
    )?;
    Ok(())
}
