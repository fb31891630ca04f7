//! `actprm filter`: one-shot filtering of a pool with a trained checkpoint, chunk by chunk.
//!
//! After every chunk the kept rows are appended to kept.jsonl and synced, then filter.json
//! records the totals and how many bytes of kept.jsonl they cover. A rerun with the same
//! settings cuts kept.jsonl back to that length and goes on after the last recorded chunk, so
//! an interruption loses at most one chunk of work.
//!
//! With `--shard I/N` only that shard's trajectories are scored (kept rows keep their index in
//! the whole pool), and filter.json's settings name the shard, for `actprm merge`.
//!
//! kept.jsonl's rows are training-shaped by default, or stepwise-supervision rows (TRL's and
//! axolotl's `{prompt, completions, labels}`) with `--out-format stepwise`; either way each row
//! also names its pool index and why it was kept.

mod kept;
mod pool;

use std::fs;
use std::path::Path;
use std::time::Instant;

use actprm_core::batch::Inputs;
use actprm_core::checkpoint::Checkpoint;
use actprm_core::encoding::encode_trajectory;
use actprm_core::filter::{FilterTally, filter_chunk};
use actprm_core::judge::JudgeCost;
use actprm_core::strategy::Strategy;
use actprm_core::tasks::synthetic::SyntheticConfig;
use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::backend::Backend;
use crate::checkpoint_dir::{load_checkpoint_files, read_checkpoint_files};
use crate::cli::{DataFormat, FilterArgs, OutFormat, StrategyArg};
use crate::commands::score::apply_overrides;
use crate::data_files::resolve_format;
use crate::dir_lock::DirLock;
use crate::identity::{checkpoint_digest, differences, pool_identity};
use crate::report_text::human;
use crate::run_dir::write_json_atomically;
use crate::shard::Shard;
use kept::{append_kept, open_kept};
use pool::Pool;

/// The kept rows, in a filter output directory.
pub const KEPT_ROWS: &str = "kept.jsonl";
/// The settings and totals, in a filter output directory.
pub const STATE_FILE: &str = "filter.json";

/// filter.json: what the run was made with and how far it got.
#[derive(Debug, Serialize, Deserialize)]
pub struct FilterState {
    /// What decides which trajectories are kept, the checkpoint and the pool by the SHA-256
    /// of their content; a resumed run must match it.
    pub settings: Value,
    /// The paths the inputs were read from, for the reader (not compared on resume).
    #[serde(default)]
    pub inputs: Value,
    /// Totals over the trajectories scored so far.
    pub tally: FilterTally,
    /// Length of kept.jsonl that the totals account for.
    pub kept_bytes: u64,
    /// Whether the whole pool was scored.
    pub complete: bool,
    /// Fraction of the scored trajectories kept.
    pub retained_fraction: f64,
    /// Tokens the judge is estimated to generate to label the kept trajectories.
    pub judge_tokens: u64,
}

/// `actprm filter`.
pub fn filter(args: &FilterArgs, backend: &Backend) -> Result<()> {
    if args.strategy == StrategyArg::ActprmRanked {
        bail!(
            "actprm-ranked ranks the trajectories of each training mini-batch, and filtering \
             keeps each trajectory on its own: use actprm with the thresholds that keep the \
             share you want"
        );
    }
    let shard = args.shard.resolve()?;
    let _lock = DirLock::acquire(&args.out)?;
    if args.out_format == OutFormat::Stepwise
        && let Some(path) = &args.data
        && resolve_format(path, args.format)? == DataFormat::Unlabelled
    {
        bail!(
            "{} holds unlabelled rows, and stepwise-supervision rows need labels: keep the \
             default --out-format training and label kept.jsonl with `actprm label`",
            path.display()
        );
    }
    let checkpoint_files = read_checkpoint_files(&args.checkpoint)?;
    let Checkpoint {
        model,
        config,
        tokenizer,
    } = load_checkpoint_files(&checkpoint_files, &args.checkpoint, backend)?;
    let rule = apply_overrides(config.selection.clone(), &args.thresholds);
    let strategy = args
        .strategy
        .score_based(rule, args.threshold, 0)
        .context("`actprm filter` takes a score-based strategy")?;
    let cost = JudgeCost::new().with_tokens_per_trajectory(args.judge_tokens);
    let synthetic = args.synthetic.config();
    let settings = settings(
        args,
        &checkpoint_digest(&checkpoint_files),
        &synthetic,
        &strategy,
        shard,
    )?;
    drop(checkpoint_files);

    let state_path = args.out.join(STATE_FILE);
    let kept_path = args.out.join(KEPT_ROWS);
    let mut state = match (args.restart, read_state(&state_path)?) {
        (false, Some(state)) => {
            if state.settings != settings {
                bail!(
                    "{} records a filtering run made from other inputs or settings; what changed:\n{}\nChoose another --out, or pass --restart to start again",
                    state_path.display(),
                    differences(&state.settings, &settings)
                );
            }
            state
        }
        _ => FilterState {
            settings,
            inputs: json!({
                "checkpoint": args.checkpoint.display().to_string(),
                "data": args.data.as_ref().map(|path| path.display().to_string()),
            }),
            tally: FilterTally::default(),
            kept_bytes: 0,
            complete: false,
            retained_fraction: 0.0,
            judge_tokens: 0,
        },
    };
    if state.complete {
        eprintln!(
            "{} is complete (pass --restart to filter again)",
            state_path.display()
        );
        report(&state, &kept_path);
        return Ok(());
    }
    if state.tally.scored > 0 {
        eprintln!(
            "resuming after {} scored trajectories ({} kept)",
            state.tally.scored, state.tally.kept
        );
    }

    let mut pool = Pool::open(args, &synthetic, shard)?;
    pool.skip(state.tally.scored)?;
    let mut kept_file = open_kept(&kept_path, state.kept_bytes)?;
    let bar = pool.progress_bar();
    let started = Instant::now();
    loop {
        let (indices, chunk) = pool.next_chunk(args.chunk_size)?;
        if chunk.is_empty() {
            break;
        }
        let encoded = chunk
            .iter()
            .zip(&indices)
            .map(|(trajectory, index)| {
                encode_trajectory(&tokenizer, trajectory, &config.encoding)
                    .with_context(|| format!("pool trajectory {index}"))
            })
            .collect::<Result<Vec<_>>>()?;
        let kept = filter_chunk(
            &model,
            &strategy,
            &indices,
            &chunk,
            Inputs::Tokens {
                encoded: &encoded,
                pad_id: tokenizer.pad_id(),
            },
            &mut state.tally,
        )?;
        state.kept_bytes = append_kept(&mut kept_file, &kept, args.out_format, &kept_path)?;
        state.retained_fraction = state.tally.retained_fraction();
        state.judge_tokens = state.tally.kept as u64 * cost.tokens_per_trajectory;
        write_json_atomically(&state_path, &state)?;
        bar.set_position(pool.position());
        bar.set_message(format!(
            "kept {} of {} ({:.1}%)",
            state.tally.kept,
            state.tally.scored,
            100.0 * state.retained_fraction
        ));
    }
    bar.finish_and_clear();
    state.complete = true;
    write_json_atomically(&state_path, &state)?;
    eprintln!("filtered in {}", human(started.elapsed()));
    report(&state, &kept_path);
    Ok(())
}

/// What decides the outcome, as recorded in filter.json: the checkpoint and a pool file by
/// their content's digest.
fn settings(
    args: &FilterArgs,
    checkpoint_sha256: &str,
    synthetic: &SyntheticConfig,
    strategy: &Strategy,
    shard: Option<Shard>,
) -> Result<Value> {
    let pool = pool_identity(
        args.data.as_deref(),
        args.format,
        synthetic,
        args.seed,
        args.count,
    )?;
    let mut settings = json!({
        "checkpoint_sha256": checkpoint_sha256,
        "pool": pool,
        "strategy": strategy,
    });
    // Named only when not the default, so that runs recorded before the flag existed resume.
    if args.out_format == OutFormat::Stepwise {
        settings["out_format"] = json!("stepwise");
    }
    if let Some(shard) = shard {
        settings["shard"] = json!(shard);
    }
    Ok(settings)
}

/// filter.json, when a run has written one.
pub fn read_state(path: &Path) -> Result<Option<FilterState>> {
    match fs::read_to_string(path) {
        Ok(text) => serde_json::from_str(&text)
            .map(Some)
            .with_context(|| format!("reading {} (pass --restart to start again)", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

/// The totals, on standard error.
fn report(state: &FilterState, kept_path: &Path) {
    let tally = &state.tally;
    eprintln!(
        "kept {} of {} trajectories ({:.1}%) in {}: {} with an aleatoric reason, {} with an \
         epistemic one; labelling them costs about {:.1}M judge tokens",
        tally.kept,
        tally.scored,
        100.0 * tally.retained_fraction(),
        kept_path.display(),
        tally.aleatoric,
        tally.epistemic,
        state.judge_tokens as f64 / 1e6
    );
    if let (Some(pool), Some(kept)) = (tally.pool_error_rate(), tally.kept_error_rate()) {
        eprintln!(
            "stored labels (never used to choose): {:.1}% of the pool and {:.1}% of the kept \
             trajectories hold an error",
            100.0 * pool,
            100.0 * kept
        );
    }
}
