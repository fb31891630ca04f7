//! Arguments of the pool experiments: the task and its data, what `run` and `train` add to
//! the model (`model.rs`), and the grids `sweep` runs.

use std::path::PathBuf;

use actprm_core::active::Rehearsal;
use actprm_core::data::default_data_dir;
use actprm_core::selection::SelectionConfig;
use actprm_core::strategy::{
    DEFAULT_ENTROPY_THRESHOLD, DEFAULT_MUTUAL_INFORMATION_THRESHOLD, DEFAULT_PER_BATCH,
};
use actprm_core::tasks::synthetic::{ErrorKind, SyntheticConfig};
use clap::{Args, ValueEnum};

use super::judge::JudgeArgs;
use super::model::ModelArgs;
use super::ranges;
use super::strategy::StrategyArg;

/// Kinds of error the synthetic generator injects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ErrorKindArg {
    /// A computation's result is off: `12 + 5 = 18`. Checking it takes arithmetic.
    Result,
    /// A step starts from a value other than the previous result. Checking it takes comparing
    /// two numbers across steps.
    Carry,
    /// A step uses a quantity other than the question's. Checking it takes matching each step
    /// to its sentence of the question.
    Operand,
    /// A step names its event but applies another operation: `after finding 5 more she has
    /// 12 - 5 = 7`. A small model learns it within one default pass.
    Operation,
}

impl From<ErrorKindArg> for ErrorKind {
    fn from(kind: ErrorKindArg) -> Self {
        match kind {
            ErrorKindArg::Result => ErrorKind::WrongResult,
            ErrorKindArg::Carry => ErrorKind::WrongCarry,
            ErrorKindArg::Operand => ErrorKind::WrongOperand,
            ErrorKindArg::Operation => ErrorKind::WrongOperation,
        }
    }
}

/// The synthetic task's settings.
#[derive(Debug, Args)]
pub struct SyntheticArgs {
    /// Kinds of error injected into the synthetic problems (comma-separated), each equally
    /// likely. The arithmetic kinds (result, carry, operand) need far more updates than one
    /// default pass gives.
    #[arg(long, value_enum, value_delimiter = ',', default_value = "operation")]
    pub error_kinds: Vec<ErrorKindArg>,
    /// Fraction of the synthetic trajectories given an error. Below the default errors grow
    /// rarer, and the heads may learn to trust every step before they meet enough of them
    /// (docs/results.md §20).
    #[arg(long, default_value_t = SyntheticConfig::new().error_rate, value_parser = ranges::fraction)]
    pub error_rate: f64,
}

impl SyntheticArgs {
    /// The generator configuration these arguments describe.
    pub fn config(&self) -> SyntheticConfig {
        SyntheticConfig::new()
            .with_error_kinds(self.error_kinds.iter().map(|&kind| kind.into()).collect())
            .with_error_rate(self.error_rate)
    }
}

/// Where a pool experiment's pool, validation set and test set come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TaskArg {
    /// The embedded synthetic task: every set is generated from the seed.
    Synthetic,
    /// Real text: the pool is derived from GSM8K's training solutions, split into steps, with
    /// an arithmetic error injected into about half of them through their calculator
    /// annotations (so labels are exact); the validation set is derived the same way from
    /// GSM8K's test split; the test set is ProcessBench's gsm8k split. The vocabulary is learnt
    /// from the pool.
    Gsm8k,
    /// Real text with human labels: the pool is a seeded sample of PRM800K phase 1 stepwise
    /// training rows, the validation set one of its test rows, and the test set ProcessBench's
    /// math split. The vocabulary is learnt from the pool.
    Prm800k,
    /// Every labelled real text: all PRM800K phase 1 training rows and one GSM8K-derived
    /// trajectory per GSM8K training problem, pooled, a seeded sample of --pool-size of them as
    /// the pool; the validation set half PRM800K test rows, half derived from GSM8K's test
    /// split; the test set ProcessBench's gsm8k split. The vocabulary is learnt from the pool.
    Mixed,
    /// Your own files: a seeded sample of --pool-size trajectories of --pool (unlabelled rows
    /// need a judge: --judge-url), a sample of --eval-size of --validation for choosing τ, and
    /// the whole of --test for reporting. Each file may hold training rows, unlabelled rows,
    /// PRM800K stepwise rows or a ProcessBench JSON array; the validation and test sets must be
    /// labelled. The vocabulary is learnt from the pool.
    Files,
}

/// The pool experiment's data and judge, shared by `run`, `train` and `sweep`.
#[derive(Debug, Args)]
pub struct PoolArgs {
    /// The task.
    #[arg(long, value_enum, default_value_t = TaskArg::Synthetic)]
    pub task: TaskArg,
    #[command(flatten)]
    pub synthetic: SyntheticArgs,
    /// Directory of the real data sets, as scripts/fetch-data.sh lays them out:
    /// gsm8k/{train,test}.jsonl and processbench/gsm8k.json for `--task gsm8k`;
    /// prm800k_stepwise/phase1_{train_plus,test}.stepwise-critic.jsonl.gz and
    /// processbench/math.json for `--task prm800k`; all of these for `--task mixed`
    /// [default: ~/.cache/actprm/data].
    #[arg(long, env = "ACTPRM_DATA", hide_env_values = true)]
    data_dir: Option<PathBuf>,
    /// The pool's file, for `--task files`.
    #[arg(long, required_if_eq("task", "files"))]
    pub pool: Option<PathBuf>,
    /// The labelled validation set's file, for `--task files`.
    #[arg(long, required_if_eq("task", "files"))]
    pub validation: Option<PathBuf>,
    /// The labelled test set's file, for `--task files`.
    #[arg(long, required_if_eq("task", "files"))]
    pub test: Option<PathBuf>,
    /// Trajectories in the pool.
    #[arg(long, default_value_t = 12000, value_parser = ranges::count)]
    pub pool_size: usize,
    /// Trajectories in the validation set `sweep` evaluates on, and in the synthetic task's
    /// test set (the real tasks test on a whole ProcessBench split).
    #[arg(long, default_value_t = 1000, value_parser = ranges::count)]
    pub eval_size: usize,
    /// Tokens the judge generates per judged trajectory, for the ledger's cost estimate (the
    /// paper's reasoning judge averages about 1,920).
    #[arg(long, default_value_t = 1920, value_parser = ranges::answer_tokens::<u64>)]
    pub judge_tokens: u64,
}

impl PoolArgs {
    /// The directory of the real data sets: `--data-dir`, else `$ACTPRM_DATA`, else
    /// `~/.cache/actprm/data`, where scripts/fetch-data.sh puts them.
    pub fn data_dir(&self) -> PathBuf {
        self.data_dir.clone().unwrap_or_else(default_data_dir)
    }
}

/// One pool experiment: `run` and `train`.
#[derive(Debug, Args)]
pub struct ExperimentArgs {
    #[command(flatten)]
    pub pool: PoolArgs,
    #[command(flatten)]
    pub model: ModelArgs,
    /// Seed of the data, the model initialisation and the bootstrap masks.
    #[arg(long, default_value_t = 0, value_parser = ranges::seed, allow_negative_numbers = true)]
    pub seed: u64,
    /// Ensemble heads E (the paper uses 32).
    #[arg(long, default_value_t = 32, value_parser = ranges::small_count)]
    pub heads: usize,
    /// Save a checkpoint every this many mini-batches (and always at the end).
    #[arg(long, default_value_t = 50, value_parser = ranges::count)]
    pub checkpoint_every: usize,
    /// The label budget: the pass ends once this many trajectories have been sent to the
    /// judge, and the checkpoint is the model at that point. With --judge-url it also caps the
    /// answers in the judge's ledger. No limit by default.
    #[arg(long, value_parser = ranges::count)]
    pub max_labels: Option<usize>,
    #[command(flatten)]
    pub rehearsal: RehearsalArgs,
    /// A language-model judge labels the trajectories the strategy selects, instead of the
    /// labels stored with the pool (which may then be unlabelled).
    #[command(flatten)]
    pub judge: JudgeArgs,
    /// The run directory to write [default: runs/STRATEGY, the strategy's name]. When it holds
    /// this same run, interrupted, the run goes on from its last checkpoint.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Start over in the run directory when it already holds a run, finished or interrupted,
    /// whatever its settings.
    #[arg(long)]
    pub force: bool,
}

/// Labels bought earlier that each update of a pool pass trains on beside its mini-batch's own
/// (docs/method.md §4).
#[derive(Debug, Clone, Copy, Args)]
pub struct RehearsalArgs {
    /// Each update also trains on N labels bought earlier in the pass, drawn at random, so
    /// that a strategy labelling a few trajectories of each mini-batch still updates on
    /// about full ones; nothing more is bought. Only for strategies that label a part of each
    /// mini-batch: `run` and `train` refuse it for full data and --offline, `sweep` leaves
    /// those unrehearsed. 0, the paper's loop, rehearses nothing.
    #[arg(long, default_value_t = 0)]
    pub rehearse: usize,
    /// Draw the rehearsed labels from the W bought last before each mini-batch (at least
    /// --rehearse), instead of from every label bought. From all of them, a label bought
    /// early is trained far more often than one bought late; from a window filled at k labels
    /// a mini-batch, each label is trained about N / k times, wherever the pass bought it.
    /// Needs --rehearse; 0 draws from every label bought.
    #[arg(long, default_value_t = 0, value_name = "W")]
    pub rehearse_window: usize,
}

impl RehearsalArgs {
    /// The rehearsal of a pass whose draws follow `seed`.
    pub fn with_seed(&self, seed: u64) -> Rehearsal {
        Rehearsal {
            per_update: self.rehearse,
            window: self.rehearse_window,
            seed,
        }
    }

    /// Refuses a window without rehearsal, which would change nothing, and a window too
    /// small to draw --rehearse labels from.
    pub fn refuse_unusable(&self) -> anyhow::Result<()> {
        if self.rehearse_window > 0 && self.rehearse == 0 {
            anyhow::bail!(
                "--rehearse-window {} is where --rehearse draws its labels from: without \
                 --rehearse nothing is rehearsed (give --rehearse N, or drop the window)",
                self.rehearse_window
            );
        }
        if self.rehearse_window > 0 && self.rehearse_window < self.rehearse {
            anyhow::bail!(
                "--rehearse-window {} is a window of labels to draw --rehearse {} from: it \
                 must hold at least as many (or be 0, every label bought)",
                self.rehearse_window,
                self.rehearse
            );
        }
        Ok(())
    }
}

#[derive(Debug, Args)]
pub struct SelectionArgs {
    /// δ_pred: a step is confidently judged when its mean is ≥ δ_pred or ≤ 1 − δ_pred.
    #[arg(long, default_value_t = SelectionConfig::new().delta_pred, value_parser = ranges::delta_pred, allow_negative_numbers = true)]
    pub delta_pred: f32,
    /// δ_std: the heads agree on a step when their standard deviation is ≤ δ_std.
    #[arg(long, default_value_t = SelectionConfig::new().delta_std, value_parser = ranges::delta_std, allow_negative_numbers = true)]
    pub delta_std: f32,
    /// τ: a step is predicted erroneous when its mean is below τ.
    #[arg(long, default_value_t = SelectionConfig::new().tau, value_parser = ranges::tau, allow_negative_numbers = true)]
    pub tau: f32,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub experiment: ExperimentArgs,
    /// Which score-based strategy selects (random and full are `actprm train`'s).
    #[arg(long, value_enum, default_value_t = StrategyArg::Actprm)]
    pub strategy: StrategyArg,
    #[command(flatten)]
    pub selection: SelectionArgs,
    /// Threshold in bits for `entropy` (default 0.2864 = H(0.95)) and `bald` (default 0.001).
    #[arg(long, value_parser = ranges::bits, allow_negative_numbers = true)]
    pub threshold: Option<f32>,
    /// Trajectories `actprm-ranked` labels of each mini-batch: its budget is this over
    /// --batch-size.
    #[arg(long, default_value_t = DEFAULT_PER_BATCH, value_parser = ranges::count)]
    pub per_batch: usize,
    /// Label every trajectory until N updates are made, and only then let the strategy choose:
    /// a guard against the cold start trusting an untrained "all correct" (30 prevented every
    /// collapse over ten synthetic seeds; 0, the paper's loop, has no guard).
    #[arg(long, default_value_t = 0)]
    pub warmup_updates: usize,
}

/// `actprm sweep`: a grid of pool experiments.
#[derive(Debug, Args)]
pub struct SweepArgs {
    #[command(flatten)]
    pub pool: PoolArgs,
    #[command(flatten)]
    pub model: ModelArgs,
    #[command(flatten)]
    pub benchmarks: BenchmarkArgs,
    /// Strategies to run (comma-separated). `random` and `random-offline` are run at the
    /// budget each `actprm` run of the same seed and heads spent, unless --random-fractions is
    /// given.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "actprm,random,aleatoric-only,epistemic-only,full"
    )]
    pub strategies: Vec<StrategyArg>,
    /// Seeds (comma-separated): each seed draws its own pool, evaluation sets, initialisation
    /// and bootstrap masks.
    #[arg(long, value_delimiter = ',', default_value = "0,1,2", value_parser = ranges::seed, allow_negative_numbers = true)]
    pub seeds: Vec<u64>,
    /// Ensemble head counts E (comma-separated). With E = 1 the spread is 0, so `actprm`
    /// amounts to `aleatoric-only`.
    #[arg(long, value_delimiter = ',', default_value = "32", value_parser = ranges::small_count)]
    pub heads: Vec<usize>,
    /// δ_pred values for actprm, aleatoric-only and epistemic-only (comma-separated).
    #[arg(long, value_delimiter = ',', default_values_t = [SelectionConfig::new().delta_pred], value_parser = ranges::delta_pred, allow_negative_numbers = true)]
    pub delta_pred: Vec<f32>,
    /// δ_std values for actprm, aleatoric-only and epistemic-only (comma-separated).
    #[arg(long, value_delimiter = ',', default_values_t = [SelectionConfig::new().delta_std], value_parser = ranges::delta_std, allow_negative_numbers = true)]
    pub delta_std: Vec<f32>,
    /// τ: a step is predicted erroneous when its mean is below τ.
    #[arg(long, default_value_t = SelectionConfig::new().tau, value_parser = ranges::tau, allow_negative_numbers = true)]
    pub tau: f32,
    /// Label every trajectory until N updates are made before a score-based strategy may
    /// choose (as `run --warmup-updates`; random and full are unaffected, and random's matched
    /// budget includes the warm-up's labels). 0, the paper's loop, has no guard.
    #[arg(long, default_value_t = 0)]
    pub warmup_updates: usize,
    #[command(flatten)]
    pub rehearsal: RehearsalArgs,
    /// Thresholds in bits for `entropy` (comma-separated).
    #[arg(long, value_delimiter = ',', default_values_t = [DEFAULT_ENTROPY_THRESHOLD], value_parser = ranges::bits, allow_negative_numbers = true)]
    pub entropy_thresholds: Vec<f32>,
    /// Thresholds in bits for `bald` (comma-separated).
    #[arg(long, value_delimiter = ',', default_values_t = [DEFAULT_MUTUAL_INFORMATION_THRESHOLD], value_parser = ranges::bits, allow_negative_numbers = true)]
    pub bald_thresholds: Vec<f32>,
    /// Trajectories `actprm-ranked` labels of each mini-batch (comma-separated): its budget is
    /// each over --batch-size.
    #[arg(long, value_delimiter = ',', default_values_t = [DEFAULT_PER_BATCH], value_parser = ranges::count)]
    pub per_batch: Vec<usize>,
    /// Fractions of the pool `random` and `random-offline` label (comma-separated); without
    /// them, they match each `actprm` run's budget.
    #[arg(long, value_delimiter = ',', value_parser = ranges::fraction, allow_negative_numbers = true)]
    pub random_fractions: Vec<f64>,
    /// A decoder backbone's layers to read step features from (comma-separated), in place of
    /// --feature-layer: each is a setting of every strategy, so that the table's ✓ chooses the
    /// layer on validation as it chooses δ. Each layer is read in a pass of its own, through
    /// the layers up to it.
    #[arg(long, value_delimiter = ',', conflicts_with = "feature_layer", value_parser = ranges::small_count)]
    pub feature_layers: Vec<usize>,
    /// Experiments run at once (default: one per core). On the CPU backend each computes on
    /// its share of the cores: one each by default.
    #[arg(long, value_parser = ranges::small_count)]
    pub jobs: Option<usize>,
    /// The sweep directory: results.jsonl (one line per finished experiment; a rerun skips the
    /// experiments already there), chart.svg, chart.png and table.md.
    #[arg(long, default_value = "sweeps/synthetic")]
    pub out: PathBuf,
    /// Start the sweep afresh when --out holds results made with other settings, deleting
    /// them (without it such a directory is refused, and its results kept).
    #[arg(long)]
    pub force: bool,
    /// Title of the chart.
    #[arg(
        long,
        default_value = "Synthetic task: held-out F1 against labels bought"
    )]
    pub title: String,
}

/// Benchmarks a sweep scores every trained model on, beside the task's test set.
#[derive(Debug, Args)]
pub struct BenchmarkArgs {
    /// Also score every trained model on each ProcessBench split in this directory
    /// ({gsm8k,math,olympiadbench,omnimath}.json), at the τ its run chose on validation and at
    /// 0.5; table.md then has a table of them.
    #[arg(long, value_name = "DIR")]
    pub processbench: Option<PathBuf>,
    /// Also score every trained model on PRMBench: a JSONL file, or a directory of them, as
    /// the benchmark ships them (at τ 0.5, its protocol).
    #[arg(long, value_name = "PATH")]
    pub prmbench: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct TrainArgs {
    #[command(flatten)]
    pub experiment: ExperimentArgs,
    /// Label each pool trajectory with this probability instead of labelling all of them: the
    /// random baseline at an expected budget (e.g. the fraction an `actprm run` used). Below 1
    /// the run is named `random` and writes runs/random/.
    #[arg(long, default_value_t = 1.0, value_parser = ranges::fraction, allow_negative_numbers = true)]
    pub label_fraction: f64,
    /// With --label-fraction below 1, draw the trajectories to label before the pass and
    /// train on them alone in full mini-batches (the run is named `random-offline`), rather
    /// than label each with that probability as the pass meets it, which leaves about
    /// fraction × --batch-size labels per update. Both draw the same trajectories.
    #[arg(long)]
    pub offline: bool,
    /// Train fresh heads on exactly the trajectories the finished `actprm run` in RUN
    /// labelled, offline as --offline trains its draws (the run is named `actprm-offline`).
    /// Beside --offline at RUN's budget, the two differ only in which trajectories were chosen.
    /// The task, --pool-size, --eval-size and --seed must be RUN's.
    #[arg(long, value_name = "RUN", conflicts_with_all = ["label_fraction", "offline", "max_labels"])]
    pub labels_of: Option<PathBuf>,
    /// τ: a step is predicted erroneous when its mean is below τ.
    #[arg(long, default_value_t = SelectionConfig::new().tau, value_parser = ranges::tau, allow_negative_numbers = true)]
    pub tau: f32,
}
