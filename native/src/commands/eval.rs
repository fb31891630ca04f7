//! `actprm eval`: first-error F1 on ProcessBench (per split and averaged) and on the synthetic
//! task's held-out set, and PRMScore on PRMBench (per class, per category and overall).

use std::path::{Path, PathBuf};

use actprm_core::Trajectory;
use actprm_core::checkpoint::Checkpoint;
use actprm_core::data::PROCESSBENCH_SPLITS;
use actprm_core::eval::Evaluation;
use actprm_core::eval::baselines::TrivialBaselines;
use actprm_core::eval::prmbench::GroupScore;
use actprm_core::eval::threshold::PAPER_TAU;
use actprm_core::scores::StepScores;
use actprm_core::tasks::synthetic::generate;
use actprm_core::whole_dir::write_whole_file;
use anyhow::{Result, anyhow, bail};
use serde::Serialize;

use crate::backend::Backend;
use crate::checkpoint_dir::load_checkpoint;
use crate::checkpoint_set::CheckpointSet;
use crate::cli::{PrmBenchArgs, ProcessBenchArgs, SyntheticEvalArgs, refuse_repeats};
use crate::data_files::{evenly_spaced, read_prmbench_data, read_processbench_split};
use crate::progress;
use crate::report_text::auc;
use crate::stdout::outln;

/// One split's result.
#[derive(Debug, Serialize)]
struct SplitResult {
    split: String,
    items: usize,
    /// At the checkpoint's τ (or `--tau`).
    #[serde(flatten)]
    evaluation: Evaluation,
    /// At τ = 0.5, the paper's protocol, when that is not the τ above.
    at_half: Option<Evaluation>,
    /// What predictors that read no step score on the split.
    baselines: TrivialBaselines,
}

/// One checkpoint's ProcessBench results.
#[derive(Debug, Serialize)]
struct ProcessBenchReport {
    checkpoint: PathBuf,
    /// Where τ came from.
    tau_source: TauSource,
    splits: Vec<SplitResult>,
    average_f1: f64,
    /// The average at τ = 0.5, when that is not the τ used.
    average_f1_at_half: Option<f64>,
}

/// Where an evaluation's τ came from.
#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "snake_case", tag = "from")]
enum TauSource {
    /// `--tau`.
    Argument { tau: f32 },
    /// Chosen on the training run's validation set.
    Validation {
        tau: f32,
        validation_f1: f64,
        validation_items: usize,
    },
    /// The checkpoint's selection τ, none having been chosen on validation.
    Selection { tau: f32 },
}

impl TauSource {
    fn of(checkpoint: &Checkpoint, argument: Option<f32>) -> Self {
        match (argument, checkpoint.config.threshold) {
            (Some(tau), _) => Self::Argument { tau },
            (None, Some(chosen)) => Self::Validation {
                tau: chosen.tau,
                validation_f1: chosen.validation_f1,
                validation_items: chosen.validation_items,
            },
            (None, None) => Self::Selection {
                tau: checkpoint.config.selection.tau,
            },
        }
    }

    fn tau(self) -> f32 {
        match self {
            Self::Argument { tau } | Self::Validation { tau, .. } | Self::Selection { tau } => tau,
        }
    }

    /// A sentence for reports.
    fn describe(self) -> String {
        match self {
            Self::Argument { tau } => format!("τ = {tau:.3} (--tau)"),
            Self::Validation {
                tau,
                validation_f1,
                validation_items,
            } => format!(
                "τ = {tau:.3}, chosen on the training run's validation set (F1 {validation_f1:.3} \
                 on {validation_items} items)"
            ),
            Self::Selection { tau } => {
                format!("τ = {tau:.3} (none was chosen on validation for this checkpoint)")
            }
        }
    }
}

/// `actprm eval processbench`.
pub fn processbench(args: &ProcessBenchArgs, backend: &Backend) -> Result<()> {
    let splits: Vec<String> = if args.splits.is_empty() {
        PROCESSBENCH_SPLITS
            .iter()
            .map(std::string::ToString::to_string)
            .collect()
    } else {
        args.splits.clone()
    };
    if splits.is_empty() {
        bail!("no split to evaluate");
    }
    refuse_repeats("--splits", &splits)?;
    let cache_root = args.feature_cache.root();
    let set = CheckpointSet::load(&args.checkpoints, backend, cache_root.as_deref())?;
    let sources: Vec<TauSource> = set
        .checkpoints
        .iter()
        .map(|(_, checkpoint)| TauSource::of(checkpoint, args.tau))
        .collect();
    let mut results: Vec<Vec<SplitResult>> = (0..set.len()).map(|_| Vec::new()).collect();
    for split in &splits {
        let mut items = read_processbench_split(&args.data, split)?;
        if let Some(limit) = args.limit {
            items = evenly_spaced(items, limit);
        }
        let scores = set.score(&items, args.batch_size, split)?;
        let baselines = TrivialBaselines::of(&items);
        for ((results, source), scores) in results.iter_mut().zip(&sources).zip(scores) {
            let tau = source.tau();
            results.push(SplitResult {
                split: split.clone(),
                items: items.len(),
                evaluation: Evaluation::from_scores(&items, &scores, tau),
                at_half: (tau != PAPER_TAU)
                    .then(|| Evaluation::from_scores(&items, &scores, PAPER_TAU)),
                baselines,
            });
        }
    }
    let reports: Vec<ProcessBenchReport> = results
        .into_iter()
        .zip(sources)
        .enumerate()
        .map(|(index, (splits, tau_source))| {
            let average = |f1: &dyn Fn(&SplitResult) -> Option<f64>| {
                let values: Option<Vec<f64>> = splits.iter().map(f1).collect();
                values.map(|values| values.iter().sum::<f64>() / values.len() as f64)
            };
            ProcessBenchReport {
                checkpoint: set.dir(index).to_path_buf(),
                tau_source,
                average_f1: average(&|r| Some(r.evaluation.first_error.f1)).unwrap_or(0.0),
                average_f1_at_half: average(&|r| r.at_half.map(|e| e.first_error.f1)),
                splits,
            }
        })
        .collect();
    for report in &reports {
        print_processbench(report, reports.len() > 1)?;
    }
    write_reports(args.out.as_deref(), &reports)
}

/// Prints one checkpoint's table, under its directory when several are compared.
fn print_processbench(report: &ProcessBenchReport, named: bool) -> Result<()> {
    if named {
        outln!("{}", report.checkpoint.display())?;
    }
    outln!("{}", report.tau_source.describe())?;
    let at_half = |f1: Option<f64>| f1.map_or_else(|| "=".to_string(), |f1| format!("{f1:.3}"));
    outln!(
        "{:<14} {:>6} {:>9} {:>8} {:>8} {:>7} {:>7} {:>7} {:>7}",
        "split",
        "items",
        "step AUC",
        "acc_err",
        "acc_cor",
        "F1",
        "F1@0.5",
        "chance",
        "flagger"
    )?;
    for r in &report.splits {
        let f = &r.evaluation.first_error;
        outln!(
            "{:<14} {:>6} {:>9} {:>8.3} {:>8.3} {:>7.3} {:>7} {:>7.3} {:>7.3}",
            r.split,
            r.items,
            auc(r.evaluation.step_auc),
            f.erroneous_accuracy,
            f.correct_accuracy,
            f.f1,
            at_half(r.at_half.map(|e| e.first_error.f1)),
            r.baselines.random_step.f1,
            r.baselines.random_rate.scores.f1
        )?;
    }
    outln!(
        "{:<14} {:>6} {:>9} {:>8} {:>8} {:>7.3} {:>7}",
        "average",
        "",
        "",
        "",
        "",
        report.average_f1,
        at_half(report.average_f1_at_half)
    )?;
    outln!(
        "(step AUC: correct against erroneous steps, 0.5 is chance; chance: the F1 of flagging one \
         of a trajectory's n steps or none, each with probability 1/(n+1); flagging nothing or \
         always the last step scores 0)"
    )?;
    if named {
        outln!()?;
    }
    Ok(())
}

/// Writes one report as a JSON object, or several as an array, to `out` when given.
fn write_reports<T: Serialize>(out: Option<&Path>, reports: &[T]) -> Result<()> {
    let Some(out) = out else {
        return Ok(());
    };
    let json = match reports {
        [one] => serde_json::to_string_pretty(one)?,
        several => serde_json::to_string_pretty(several)?,
    };
    Ok(write_whole_file(out, json.as_bytes())?)
}

/// `actprm eval synthetic`.
pub fn synthetic(args: &SyntheticEvalArgs, backend: &Backend) -> Result<()> {
    let checkpoint = load_checkpoint(&args.checkpoint, backend)?;
    let items = generate(&args.synthetic.config(), args.seed, args.count);
    let scores = score_all(&checkpoint, &items, args.batch_size, "synthetic")?;
    let source = TauSource::of(&checkpoint, args.tau);
    let evaluation = Evaluation::from_scores(&items, &scores, source.tau());
    let f = &evaluation.first_error;
    outln!("{}", source.describe())?;
    outln!(
        "synthetic ({} items): F1 {:.3} (erroneous {:.3} of {}, correct {:.3} of {}); step accuracy {:.3}; step AUC {}; chance F1 {:.3}",
        items.len(),
        f.f1,
        f.erroneous_accuracy,
        f.num_erroneous,
        f.correct_accuracy,
        f.num_correct,
        evaluation.step_accuracy,
        auc(evaluation.step_auc),
        TrivialBaselines::of(&items).random_step.f1
    )?;
    Ok(())
}

/// One checkpoint's PRMBench results.
#[derive(Debug, Serialize)]
struct PrmBenchReport {
    checkpoint: PathBuf,
    #[serde(flatten)]
    report: actprm_core::eval::prmbench::PrmBenchReport,
}

/// `actprm eval prmbench`.
pub fn prmbench(args: &PrmBenchArgs, backend: &Backend) -> Result<()> {
    let cache_root = args.feature_cache.root();
    let set = CheckpointSet::load(&args.checkpoints, backend, cache_root.as_deref())?;
    let mut items = read_prmbench_data(&args.data)?;
    if let Some(limit) = args.limit {
        items = evenly_spaced(items, limit);
    }
    let trajectories: Vec<Trajectory> = items.iter().map(|i| i.trajectory.clone()).collect();
    let scores = set.score(&trajectories, args.batch_size, "prmbench")?;
    let reports: Vec<PrmBenchReport> = scores
        .iter()
        .enumerate()
        .map(|(index, scores)| PrmBenchReport {
            checkpoint: set.dir(index).to_path_buf(),
            report: actprm_core::eval::prmbench::evaluate(&items, scores),
        })
        .collect();
    for report in &reports {
        if reports.len() > 1 {
            outln!("{}", report.checkpoint.display())?;
        }
        print_prmbench(&report.report)?;
        if reports.len() > 1 {
            outln!()?;
        }
    }
    // What the data holds, the same in every checkpoint's report.
    if let Some(PrmBenchReport { report, .. }) = reports.first() {
        warn_about_prmbench_data(report);
    }
    write_reports(args.out.as_deref(), &reports)
}

/// Prints the per-class and per-category table.
fn print_prmbench(report: &actprm_core::eval::prmbench::PrmBenchReport) -> Result<()> {
    outln!(
        "{:<22} {:>6} {:>7} {:>8} {:>8} {:>9}",
        "class",
        "items",
        "steps",
        "F1",
        "negF1",
        "PRMScore"
    )?;
    let row = |group: &GroupScore| -> Result<()> {
        let steps = group.steps;
        let total = steps.correct_valid
            + steps.correct_invalid
            + steps.erroneous_valid
            + steps.erroneous_invalid;
        outln!(
            "{:<22} {:>6} {:>7} {:>8.3} {:>8.3} {:>9.3}",
            group.name,
            group.items,
            total,
            group.f1,
            group.negative_f1,
            group.score
        )
    };
    report.classes.iter().try_for_each(row)?;
    outln!()?;
    report.categories.iter().try_for_each(row)?;
    row(&report.overall)
}

/// Warns about PRMBench items scored as PRMBench's own evaluation scores them, though their
/// data is questionable.
fn warn_about_prmbench_data(report: &actprm_core::eval::prmbench::PrmBenchReport) {
    if report.items_with_ignored_error_steps > 0 {
        eprintln!(
            "warning: {} items list error steps outside their solution; those numbers mark no \
             step, as in PRMBench's own evaluation",
            report.items_with_ignored_error_steps
        );
    }
    if !report.unknown_classes.is_empty() {
        eprintln!(
            "warning: classes outside PRMBench's categories: {}; scored and pooled in overall, \
             in no category",
            report.unknown_classes.join(", ")
        );
    }
}

/// Every item's step scores, with a progress bar.
fn score_all(
    checkpoint: &Checkpoint,
    items: &[Trajectory],
    batch_size: usize,
    label: &str,
) -> Result<Vec<StepScores>> {
    let bar = progress::bar(items.len(), label);
    let scores = checkpoint
        .score_with_progress(items, batch_size, |done| bar.set_position(done as u64))
        .map_err(|e| anyhow!("{label} {e}"))?;
    bar.finish_and_clear();
    Ok(scores)
}
