//! `actprm eval`: first-error F1 on ProcessBench (per split and averaged) and on the synthetic
//! task's held-out set, and PRMScore on PRMBench (per class, per category and overall).

use std::path::{Path, PathBuf};

use actprm_core::Trajectory;
use actprm_core::checkpoint::Checkpoint;
use actprm_core::data::{PROCESSBENCH_SPLITS, PrmBenchItem, read_prmbench};
use actprm_core::evaluation::{Evaluation, encode_all, score_encoded};
use actprm_core::prmbench::GroupScore;
use actprm_core::scores::StepScores;
use actprm_core::synthetic::generate;
use anyhow::{Context, Result, anyhow, bail};
use serde::Serialize;

use super::score::load_checkpoint;
use crate::backend::Backend;
use crate::checkpoint_set::{CheckpointSet, ensure_finite};
use crate::cli::{PrmBenchArgs, ProcessBenchArgs, SyntheticEvalArgs};
use crate::data_files::{evenly_spaced, open_reader, read_processbench_split};
use crate::progress;

/// One split's result.
#[derive(Debug, Serialize)]
struct SplitResult {
    split: String,
    items: usize,
    #[serde(flatten)]
    evaluation: Evaluation,
}

/// One checkpoint's ProcessBench results.
#[derive(Debug, Serialize)]
struct ProcessBenchReport {
    checkpoint: PathBuf,
    splits: Vec<SplitResult>,
    average_f1: f64,
}

/// `actprm eval processbench`.
pub fn processbench(args: &ProcessBenchArgs, backend: &Backend) -> Result<()> {
    let set = CheckpointSet::load(&args.checkpoints, backend)?;
    let splits: Vec<String> = if args.splits.is_empty() {
        PROCESSBENCH_SPLITS.iter().map(|s| s.to_string()).collect()
    } else {
        args.splits.clone()
    };
    if splits.is_empty() {
        bail!("no split to evaluate");
    }
    let mut results: Vec<Vec<SplitResult>> = (0..set.len()).map(|_| Vec::new()).collect();
    for split in &splits {
        let mut items = read_processbench_split(&args.data, split)?;
        if let Some(limit) = args.limit {
            items = evenly_spaced(items, limit);
        }
        let scores = set.score(&items, args.batch_size, split)?;
        for ((index, checkpoint), scores) in set.checkpoints.iter().enumerate().zip(scores) {
            let tau = checkpoint.1.config.selection.tau;
            results[index].push(SplitResult {
                split: split.clone(),
                items: items.len(),
                evaluation: Evaluation::from_scores(&items, &scores, tau),
            });
        }
    }
    let reports: Vec<ProcessBenchReport> = results
        .into_iter()
        .enumerate()
        .map(|(index, splits)| ProcessBenchReport {
            checkpoint: set.dir(index).to_path_buf(),
            average_f1: splits
                .iter()
                .map(|r| r.evaluation.first_error.f1)
                .sum::<f64>()
                / splits.len() as f64,
            splits,
        })
        .collect();
    for report in &reports {
        print_processbench(report, reports.len() > 1);
    }
    write_reports(args.out.as_deref(), &reports)
}

/// Prints one checkpoint's table, under its directory when several are compared.
fn print_processbench(report: &ProcessBenchReport, named: bool) {
    if named {
        println!("{}", report.checkpoint.display());
    }
    println!(
        "{:<14} {:>6} {:>10} {:>10} {:>8}",
        "split", "items", "acc_err", "acc_cor", "F1"
    );
    for r in &report.splits {
        let f = &r.evaluation.first_error;
        println!(
            "{:<14} {:>6} {:>10.3} {:>10.3} {:>8.3}",
            r.split, r.items, f.erroneous_accuracy, f.correct_accuracy, f.f1
        );
    }
    println!(
        "{:<14} {:>6} {:>10} {:>10} {:>8.3}",
        "average", "", "", "", report.average_f1
    );
    if named {
        println!();
    }
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
    std::fs::write(out, json).with_context(|| format!("writing {}", out.display()))
}

/// `actprm eval synthetic`.
pub fn synthetic(args: &SyntheticEvalArgs, backend: &Backend) -> Result<()> {
    let checkpoint = load_checkpoint(&args.checkpoint, backend)?;
    let items = generate(&args.synthetic.config(), args.seed, args.count);
    let evaluation = evaluate(&checkpoint, &items, args.batch_size, "synthetic")?;
    let f = &evaluation.first_error;
    println!(
        "synthetic ({} items): F1 {:.3} (erroneous {:.3} of {}, correct {:.3} of {}); step accuracy {:.3}",
        items.len(),
        f.f1,
        f.erroneous_accuracy,
        f.num_erroneous,
        f.correct_accuracy,
        f.num_correct,
        evaluation.step_accuracy
    );
    Ok(())
}

fn evaluate(
    checkpoint: &Checkpoint,
    items: &[Trajectory],
    batch_size: usize,
    label: &str,
) -> Result<Evaluation> {
    let scores = score_all(checkpoint, items, batch_size, label)?;
    Ok(Evaluation::from_scores(
        items,
        &scores,
        checkpoint.config.selection.tau,
    ))
}

/// One checkpoint's PRMBench results.
#[derive(Debug, Serialize)]
struct PrmBenchReport {
    checkpoint: PathBuf,
    #[serde(flatten)]
    report: actprm_core::prmbench::PrmBenchReport,
}

/// `actprm eval prmbench`.
pub fn prmbench(args: &PrmBenchArgs, backend: &Backend) -> Result<()> {
    let set = CheckpointSet::load(&args.checkpoints, backend)?;
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
            report: actprm_core::prmbench::evaluate(&items, scores),
        })
        .collect();
    for report in &reports {
        if reports.len() > 1 {
            println!("{}", report.checkpoint.display());
        }
        print_prmbench(&report.report);
        if reports.len() > 1 {
            println!();
        }
    }
    // What the data holds, the same in every checkpoint's report.
    if let Some(PrmBenchReport { report, .. }) = reports.first() {
        warn_about_prmbench_data(report);
    }
    write_reports(args.out.as_deref(), &reports)
}

/// Prints the per-class and per-category table.
fn print_prmbench(report: &actprm_core::prmbench::PrmBenchReport) {
    println!(
        "{:<22} {:>6} {:>7} {:>8} {:>8} {:>9}",
        "class", "items", "steps", "F1", "negF1", "PRMScore"
    );
    let row = |group: &GroupScore| {
        let steps = group.steps;
        let total = steps.correct_valid
            + steps.correct_invalid
            + steps.erroneous_valid
            + steps.erroneous_invalid;
        println!(
            "{:<22} {:>6} {:>7} {:>8.3} {:>8.3} {:>9.3}",
            group.name, group.items, total, group.f1, group.negative_f1, group.score
        );
    };
    report.classes.iter().for_each(row);
    println!();
    report.categories.iter().for_each(row);
    row(&report.overall);
}

/// Warns about PRMBench items scored as PRMBench's own evaluation scores them, though their
/// data is questionable.
fn warn_about_prmbench_data(report: &actprm_core::prmbench::PrmBenchReport) {
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

/// The items of a PRMBench JSONL file, or of every `.jsonl` file of a directory (in name
/// order), as the benchmark ships them.
fn read_prmbench_data(path: &Path) -> Result<Vec<PrmBenchItem>> {
    let files = if path.is_dir() {
        let mut files: Vec<PathBuf> = std::fs::read_dir(path)
            .with_context(|| format!("reading the directory {}", path.display()))?
            .map(|entry| entry.map(|entry| entry.path()))
            .collect::<Result<_, _>>()?;
        files.retain(|file| file.extension().is_some_and(|e| e == "jsonl"));
        files.sort();
        if files.is_empty() {
            bail!("{} holds no .jsonl file", path.display());
        }
        files
    } else {
        vec![path.to_path_buf()]
    };
    let mut items = Vec::new();
    for file in files {
        items.extend(read_prmbench(
            &file.display().to_string(),
            open_reader(&file)?,
        )?);
    }
    Ok(items)
}

/// Every item's step scores, with a progress bar.
fn score_all(
    checkpoint: &Checkpoint,
    items: &[Trajectory],
    batch_size: usize,
    label: &str,
) -> Result<Vec<StepScores>> {
    let Checkpoint {
        model,
        config,
        tokenizer,
    } = checkpoint;
    let encoded = encode_all(tokenizer, items, &config.encoding)
        .map_err(|(index, e)| anyhow!("{label} item {index}: {e}"))?;
    let bar = progress::bar(encoded.len(), label);
    let scores = score_encoded(model, &encoded, tokenizer.pad_id(), batch_size, |done| {
        bar.set_position(done as u64)
    });
    bar.finish_and_clear();
    ensure_finite(&scores, label)?;
    Ok(scores)
}
