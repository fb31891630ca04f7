//! `actprm score`: per-step ensemble scores and the selection verdict, as JSON lines.

use std::io::Write;

use actprm_core::Trajectory;
use actprm_core::scores::StepScores;
use actprm_core::scoring::SCORE_BATCH_SIZE;
use actprm_core::selection::{SelectionConfig, Verdict};
use actprm_core::tasks::synthetic::generate;
use actprm_core::whole_dir::write_whole_file;
use anyhow::{Context, Result};
use serde::Serialize;

use crate::backend::Backend;
use crate::checkpoint_dir::load_checkpoint;
use crate::cli::{ScoreArgs, ThresholdOverrides};
use crate::data_files::read_trajectories;
use crate::progress;

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
    let checkpoint = load_checkpoint(&args.checkpoint, backend)?;
    let rule = apply_overrides(checkpoint.config.selection.clone(), &args.thresholds);
    let limit = args.limit.unwrap_or(usize::MAX);
    let mut trajectories = match &args.data {
        Some(path) => read_trajectories(path, args.format)?,
        // Problems past the limit are never generated.
        None => generate(&args.synthetic.config(), args.seed, args.count.min(limit)),
    };
    trajectories.truncate(limit);
    let bar = progress::bar(trajectories.len(), "scoring");
    let scores = checkpoint.score_with_progress(&trajectories, SCORE_BATCH_SIZE, |done| {
        bar.set_position(done as u64);
    })?;
    bar.finish_and_clear();

    let mut selected = 0;
    let mut write = |out: &mut dyn Write| -> std::io::Result<()> {
        for (index, (trajectory, scores)) in trajectories.iter().zip(&scores).enumerate() {
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
