//! `actprm score`: per-step ensemble scores and the selection verdict, as JSON lines.
//!
//! With `--shard I/N` only that shard's trajectories are scored, each line keeping its index in
//! the whole pool, and `<out>.shard.json` records what the lines were made from, for `actprm
//! merge`.

use std::io::Write;
use std::path::{Path, PathBuf};

use actprm_core::Trajectory;
use actprm_core::scores::StepScores;
use actprm_core::scoring::SCORE_BATCH_SIZE;
use actprm_core::selection::{SelectionConfig, Verdict};
use actprm_core::tasks::synthetic::generate;
use actprm_core::whole_dir::write_whole_file;
use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::backend::Backend;
use crate::checkpoint_dir::{load_checkpoint_files, read_checkpoint_files};
use crate::cli::{ScoreArgs, ThresholdOverrides};
use crate::data_files::read_trajectories;
use crate::identity::{checkpoint_digest, pool_identity};
use crate::progress;
use crate::run_dir::write_json_atomically;
use crate::shard::{self, Shard};

/// `<out>.shard.json`: one shard's score lines and what they were made from.
#[derive(Debug, Serialize, Deserialize)]
pub struct ScoreShard {
    /// Which shard the lines are.
    pub shard: Shard,
    /// The checkpoint and the pool by content, the limit and the selection rule: the same for
    /// every shard of one pool.
    pub settings: Value,
    /// Lines written.
    pub lines: usize,
}

/// Where a sharded `score --out` records its shard.
pub fn shard_manifest_path(out: &Path) -> PathBuf {
    let mut name = out.file_name().unwrap_or_default().to_os_string();
    name.push(".shard.json");
    out.with_file_name(name)
}

/// One output line; README.md ("Commands") documents its keys.
#[derive(Debug, Serialize)]
struct ScoredTrajectory<'a> {
    index: usize,
    question: &'a str,
    num_steps: usize,
    /// The stored label's first error, when the data has labels.
    labelled_first_error: Option<Option<usize>>,
    predicted_first_error: Option<usize>,
    /// `verdict` ("trusted" or "selected"); when selected, `reason` (the first failing step,
    /// test, value and threshold), `aleatoric` and `epistemic`.
    #[serde(flatten)]
    verdict: Verdict,
    /// The verdict in words.
    explanation: String,
    scores: &'a StepScores,
}

/// `actprm score`.
pub fn score(args: &ScoreArgs, backend: &Backend) -> Result<()> {
    let shard = args.shard.resolve()?;
    if shard.is_some() && args.out.is_none() {
        bail!("a shard's scores need --out: `actprm merge` joins the shards' files");
    }
    let checkpoint_files = read_checkpoint_files(&args.checkpoint)?;
    let checkpoint = load_checkpoint_files(&checkpoint_files, &args.checkpoint, backend)?;
    let rule = apply_overrides(checkpoint.config.selection.clone(), &args.thresholds);
    let limit = args.limit.unwrap_or(usize::MAX);
    let synthetic = args.synthetic.config();
    let mut trajectories = match &args.data {
        Some(path) => read_trajectories(path, args.format)?,
        // Problems past the limit are never generated.
        None => generate(&synthetic, args.seed, args.count.min(limit)),
    };
    trajectories.truncate(limit);
    let (indices, trajectories) = shard::owned(trajectories, shard);
    if let Some(shard) = shard {
        eprintln!(
            "{shard}: {} trajectories of the pool are this shard's",
            trajectories.len()
        );
    }
    let bar = progress::bar(trajectories.len(), "scoring");
    let scores = checkpoint.score_with_progress(&trajectories, SCORE_BATCH_SIZE, |done| {
        bar.set_position(done as u64);
    })?;
    bar.finish_and_clear();

    let mut selected = 0;
    let mut write = |out: &mut dyn Write| -> std::io::Result<()> {
        for ((trajectory, scores), &index) in trajectories.iter().zip(&scores).zip(&indices) {
            let line = scored(index, trajectory, scores, &rule);
            selected += usize::from(line.verdict.is_selected());
            serde_json::to_writer(&mut *out, &line)?;
            out.write_all(b"\n")?;
        }
        out.flush()
    };
    match &args.out {
        // A file is written whole once every line is ready, so that a full disk or an
        // interruption never leaves it ending mid-line; standard output streams.
        Some(path) => {
            let mut lines = Vec::new();
            write(&mut lines).context("formatting the scores")?;
            write_whole_file(path, &lines)?;
            // The manifest goes last: a shard without one is unfinished.
            let manifest = shard_manifest_path(path);
            match shard {
                Some(shard) => {
                    let settings = json!({
                        "checkpoint_sha256": checkpoint_digest(&checkpoint_files),
                        "pool": pool_identity(
                            args.data.as_deref(),
                            args.format,
                            &synthetic,
                            args.seed,
                            args.count,
                        )?,
                        "limit": args.limit,
                        "rule": &rule,
                    });
                    let record = ScoreShard {
                        shard,
                        settings,
                        lines: trajectories.len(),
                    };
                    write_json_atomically(&manifest, &record)?;
                }
                None => remove_stale(&manifest)?,
            }
        }
        None => write(&mut std::io::stdout().lock()).context("writing standard output")?,
    }
    eprintln!(
        "scored {} trajectories; {} selected for labelling ({:.1}%) at δ_pred {} δ_std {} τ {}",
        trajectories.len(),
        selected,
        100.0 * selected as f64 / trajectories.len().max(1) as f64,
        rule.delta_pred,
        rule.delta_std,
        rule.tau
    );
    Ok(())
}

fn scored<'a>(
    index: usize,
    trajectory: &'a Trajectory,
    scores: &'a StepScores,
    rule: &SelectionConfig,
) -> ScoredTrajectory<'a> {
    let verdict = rule.decide(scores);
    let explanation = match &verdict {
        Verdict::Trusted => {
            "trusted: every step up to the predicted first error is confident".to_string()
        }
        Verdict::Selected(selection) => format!("selected: {}", selection.reason),
    };
    ScoredTrajectory {
        index,
        question: &trajectory.question,
        num_steps: trajectory.num_steps(),
        labelled_first_error: trajectory.label.map(actprm_core::ProcessLabel::first_error),
        predicted_first_error: scores.predicted_first_error(rule.tau),
        verdict,
        explanation,
        scores,
    }
}

/// Removes a shard manifest left beside an output that is now a whole pool's.
pub fn remove_stale(manifest: &Path) -> Result<()> {
    match std::fs::remove_file(manifest) {
        Err(error) if error.kind() != std::io::ErrorKind::NotFound => {
            Err(error).with_context(|| format!("removing {}", manifest.display()))
        }
        _ => Ok(()),
    }
}

/// The checkpoint's thresholds, with the ones given on the command line in their place.
pub fn apply_overrides(
    mut rule: SelectionConfig,
    overrides: &ThresholdOverrides,
) -> SelectionConfig {
    if let Some(delta_pred) = overrides.delta_pred {
        rule.delta_pred = delta_pred;
    }
    if let Some(delta_std) = overrides.delta_std {
        rule.delta_std = delta_std;
    }
    if let Some(tau) = overrides.tau {
        rule.tau = tau;
    }
    rule
}
