//! Command-line interface: subcommands and their arguments, with the help text users read.
//!
//! The arguments live beside their subject: `experiment` (the pool experiments `run`, `train`
//! and `sweep` share), `model` (the backbone, heads and optimisation they train), `strategy`
//! (selection strategies by name) and `checkpoint_use` (the commands that read a trained
//! checkpoint).

mod bench;
mod checkpoint_use;
#[cfg(test)]
mod documented_commands;
mod experiment;
mod feature_cache;
mod judge;
mod lists;
mod model;
mod ranges;
#[cfg(test)]
mod reference;
mod shard;
mod strategy;

use clap::{Parser, Subcommand};

pub use bench::*;
pub use checkpoint_use::*;
pub use experiment::*;
pub use judge::*;
pub use lists::refuse_repeats;
pub use model::*;
pub use shard::*;
pub use strategy::*;

use crate::backend::DeviceChoice;

/// Train, score and evaluate ensemble process reward models (PRMs) with ActPRM, the
/// active-learning method that labels only the trajectories the ensemble is unsure about.
///
/// Every command works with no data files: the default data set is an embedded, seeded
/// synthetic task of arithmetic word problems with injected errors at known steps.
#[derive(Debug, Parser)]
#[command(name = "actprm", version, propagate_version = true)]
pub struct Cli {
    /// Where to compute: `auto` takes a hardware GPU through wgpu when one exists, else the CPU.
    #[arg(long, value_enum, default_value_t = DeviceChoice::Auto, global = true)]
    pub device: DeviceChoice,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Active learning (the main job): one pass over the pool; the ensemble picks which
    /// trajectories to label, then the model is evaluated on held-out data.
    ///
    /// Writes a run directory with run.json (the configuration), metrics.jsonl (one line per
    /// mini-batch, flushed as it goes), checkpoint/ and summary.json.
    Run(RunArgs),
    /// Full-data training, the baseline: the same pass, but every trajectory is labelled (or,
    /// with --label-fraction, a random subset: the random baseline; with --labels-of, what an
    /// earlier run labelled).
    Train(TrainArgs),
    /// Score every step of every trajectory of a data file with a trained checkpoint and print
    /// JSON lines: per-step mean, std and head probabilities, and the selection verdict.
    Score(ScoreArgs),
    /// One-shot filtering: score a large unlabelled pool once with a trained checkpoint and
    /// keep only the trajectories the strategy selects, for the judge to label.
    ///
    /// The pool is read and scored chunk by chunk, so memory does not grow with its size.
    /// Writes kept.jsonl (each kept trajectory with its pool index and the reason it was kept)
    /// and filter.json (settings and running totals, rewritten after every chunk); rerunning
    /// the same command resumes an interrupted run where it stopped.
    Filter(FilterArgs),
    /// Label trajectories with a language-model judge served behind an OpenAI-compatible
    /// chat-completions API, critiquing each solution paragraph by paragraph.
    ///
    /// Every answer is appended to the output directory's ledger and synced before it is used,
    /// keyed by the trajectory, the prompt's version, the judge model and its sampling settings;
    /// a rerun or resume looks each trajectory up there first, so no answer is bought twice.
    /// Answers without a readable verdict are recorded with their text and never become labels.
    #[command(mut_arg("judge_url", |arg| arg.required(true)))]
    Label(LabelArgs),
    /// Save a checkpoint trained on a frozen pretrained encoder (`--backbone minilm
    /// --freeze-backbone`) as its heads alone: the trained heads' weights (8.4 MB for 32 heads
    /// on all-MiniLM-L6-v2, in place of 107 MB), config.json naming the encoder's weight file
    /// with its SHA-256 and that of its copy halved to f16 (`halve-backbone`), and
    /// tokenizer.json.
    ///
    /// Every command that reads a checkpoint reads such a one with the encoder from
    /// $ACTPRM_BACKBONE, else ~/.cache/actprm/all-minilm-l6-v2, and refuses an encoder
    /// whose weight file is neither of those two. A checkpoint whose encoder changed in
    /// training (fine-tuned) is refused: its heads alone would lose it.
    ExportHeads(ExportHeadsArgs),
    /// Copy a pretrained encoder's directory with every F32 weight rounded to the nearest F16:
    /// half the download (45 MB in place of 91 MB for all-MiniLM-L6-v2), for scores that move
    /// by at most about 4e-4. The web app serves its encoder so (scripts/app-assets.sh).
    ///
    /// Heads saved by `export-heads` record the halved file's SHA-256 beside the original's
    /// and read either; prints that SHA-256.
    HalveBackbone(HalveBackboneArgs),
    /// Join the outputs of `score`, `filter` or `label` run on every shard of a pool (`--shard
    /// I/N`) into what the unsharded command writes: score lines and kept rows in pool order,
    /// totals added, ledgers joined and labels.jsonl rebuilt from them.
    ///
    /// Refuses a missing or repeated shard, a shard still unfinished, and shards made from
    /// different checkpoints, pools, settings or shard counts, naming which (docs/scale.md).
    Merge(MergeArgs),
    /// Evaluate a checkpoint on a benchmark.
    #[command(subcommand)]
    Eval(EvalCommand),
    /// Run a grid of experiments (strategies × seeds × head counts × thresholds) on the same
    /// pools and evaluation sets, then chart test F1 against the normalised budget.
    ///
    /// Each experiment trains on the pool, then evaluates on a validation set (for choosing
    /// thresholds) and a separate test set (for reporting). Results are appended to
    /// results.jsonl as each experiment finishes, so an interrupted sweep resumes where it
    /// stopped; chart.svg, chart.png and table.md are redrawn from all of results.jsonl.
    Sweep(SweepArgs),
    /// Measure throughput: the encoder's forward pass, ensemble scoring with 1, 8 and 32
    /// heads, the heads alone on cached features, a full fine-tuning step and an evaluation,
    /// each after warm-up runs, as the median and the best of several timed runs.
    ///
    /// Prints a table and appends one JSON line per case (with the backend, the CPU or GPU,
    /// the threads, the commit and the date) to --out. scripts/bench.sh runs it beside
    /// PyTorch and writes docs/performance.md.
    Bench(BenchArgs),
}

#[derive(Debug, Subcommand)]
pub enum EvalCommand {
    /// ProcessBench: first-error F1 per split (gsm8k, math, olympiadbench, omnimath) and their
    /// average. scripts/fetch-data.sh puts the four JSON files in ~/.cache/actprm/data/processbench.
    Processbench(ProcessBenchArgs),
    /// The synthetic task's held-out set.
    Synthetic(SyntheticEvalArgs),
    /// PRMBench: every step judged valid when its score exceeds 0.5; F1 of correct steps, F1
    /// of erroneous steps (negF1) and PRMScore (their mean) per error class, per category
    /// (simplicity, soundness, sensitivity) and overall. scripts/fetch-data.sh puts the
    /// benchmark's 25 files and its 394-record subset in ~/.cache/actprm/data/prmbench.
    Prmbench(PrmBenchArgs),
}

#[cfg(test)]
mod tests {
    use clap::Parser;
    use clap::error::ErrorKind;

    use super::{Cli, Command};

    /// Every argument that once ran to a wrong result or a panic is refused at parse time, and
    /// the message names the flag.
    #[test]
    fn out_of_range_arguments_are_refused_naming_the_flag() {
        let cases: &[&[&str]] = &[
            &["run", "--delta-pred", "nan"],
            &["run", "--delta-pred", "inf"],
            &["run", "--delta-pred", "2"],
            &["run", "--delta-pred", "-1"],
            &["run", "--delta-pred", "0"],
            &["run", "--delta-std", "nan"],
            &["run", "--delta-std", "-0.1"],
            &["run", "--tau", "nan"],
            &["run", "--threshold", "-1"],
            &["run", "--learning-rate", "nan"],
            &["run", "--batch-size", "0"],
            &["run", "--pool-size", "0"],
            &["run", "--heads", "0"],
            &["run", "--d-model", "0"],
            &["run", "--d-model", "65"],
            &["train", "--label-fraction", "0"],
            &["sweep", "--delta-pred", "0.95,1.5"],
            &["sweep", "--heads", "8,0"],
            &["score", "--tau", "1"],
            &["filter", "--chunk-size", "0"],
            &["eval", "processbench", "--data", "x", "--limit", "0"],
            &["eval", "prmbench", "--data", "x", "--batch-size", "0"],
            &["bench", "--repeats", "0"],
        ];
        for args in cases {
            let flag = args.iter().rev().nth(1).unwrap();
            let error = Cli::try_parse_from(std::iter::once("actprm").chain(args.iter().copied()))
                .expect_err(&format!("{args:?} parsed"));
            assert_eq!(
                error.kind(),
                ErrorKind::ValueValidation,
                "{args:?}: {error}"
            );
            let message = error.to_string();
            assert!(message.contains(flag), "{args:?}: {message}");
        }
    }

    /// A data format's recorded name is the one `--format` takes (and the one filter.json
    /// recorded before the names had a method of their own).
    #[test]
    fn data_format_names_are_the_command_lines() {
        use clap::ValueEnum;

        for format in super::DataFormat::value_variants() {
            let flag = format.to_possible_value().unwrap();
            assert_eq!(format.name(), flag.get_name());
            assert_eq!(format.name(), format!("{format:?}").to_lowercase());
        }
    }

    /// The defaults themselves pass the parsers.
    #[test]
    fn defaults_are_in_range() {
        for command in ["run", "train", "sweep", "score", "filter", "bench"] {
            Cli::try_parse_from(["actprm", command]).unwrap_or_else(|e| panic!("{command}: {e}"));
        }
    }

    /// The flags' defaults are core's, read from its configs rather than repeated.
    #[test]
    fn defaults_are_cores() {
        use actprm_core::loss::LossConfig;
        use actprm_core::selection::SelectionConfig;
        use actprm_core::strategy::{
            DEFAULT_ENTROPY_THRESHOLD, DEFAULT_MUTUAL_INFORMATION_THRESHOLD,
        };

        let selection = SelectionConfig::new();
        let Command::Run(run) = Cli::parse_from(["actprm", "run"]).command else {
            unreachable!()
        };
        assert_eq!(
            (
                run.selection.delta_pred,
                run.selection.delta_std,
                run.selection.tau
            ),
            (selection.delta_pred, selection.delta_std, selection.tau)
        );
        assert_eq!(
            run.experiment.model.anchor_weight,
            LossConfig::new().anchor_weight
        );
        let Command::Sweep(sweep) = Cli::parse_from(["actprm", "sweep"]).command else {
            unreachable!()
        };
        assert_eq!(sweep.delta_pred, [selection.delta_pred]);
        assert_eq!(sweep.delta_std, [selection.delta_std]);
        assert_eq!(sweep.tau, selection.tau);
        assert_eq!(sweep.entropy_thresholds, [DEFAULT_ENTROPY_THRESHOLD]);
        assert_eq!(
            sweep.bald_thresholds,
            [DEFAULT_MUTUAL_INFORMATION_THRESHOLD]
        );
    }
}
