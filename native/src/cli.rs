//! Command-line interface: subcommands and their arguments, with the help text users read.

use std::path::PathBuf;

use actprm_core::selection::{SelectionConfig, Tests};
use actprm_core::strategy::{
    DEFAULT_ENTROPY_THRESHOLD, DEFAULT_MUTUAL_INFORMATION_THRESHOLD, Strategy,
};
use actprm_core::synthetic::{ErrorKind, SyntheticConfig};
use anyhow::{Result, bail};
use clap::{Args, Parser, Subcommand, ValueEnum};
use serde::{Deserialize, Serialize};

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
    /// with --label-fraction, a random subset: the random baseline).
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
}

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
}

impl SyntheticArgs {
    /// The generator configuration these arguments describe.
    pub fn config(&self) -> SyntheticConfig {
        SyntheticConfig::new()
            .with_error_kinds(self.error_kinds.iter().map(|&kind| kind.into()).collect())
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
}

/// The pool experiment's data and judge, shared by `run`, `train` and `sweep`.
#[derive(Debug, Args)]
pub struct PoolArgs {
    /// The task.
    #[arg(long, value_enum, default_value_t = TaskArg::Synthetic)]
    pub task: TaskArg,
    #[command(flatten)]
    pub synthetic: SyntheticArgs,
    /// Directory of the real data sets: gsm8k/{train,test}.jsonl and processbench/gsm8k.json
    /// for `--task gsm8k`; prm800k_stepwise/phase1_{train_plus,test}.stepwise-critic.jsonl.gz
    /// and processbench/math.json for `--task prm800k`.
    #[arg(long, default_value = "../shared/data")]
    pub data_dir: PathBuf,
    /// Trajectories in the pool.
    #[arg(long, default_value_t = 12000)]
    pub pool_size: usize,
    /// Trajectories in the validation set `sweep` evaluates on, and in the synthetic task's
    /// test set (the real tasks test on a whole ProcessBench split).
    #[arg(long, default_value_t = 1000)]
    pub eval_size: usize,
    /// Tokens the judge generates per judged trajectory, for the ledger's cost estimate (the
    /// paper's reasoning judge averages about 1,920).
    #[arg(long, default_value_t = 1920)]
    pub judge_tokens: u64,
}

/// Which backbone reads the trajectories.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BackboneArg {
    /// A small causal transformer trained from scratch (--d-model, --layers), with a
    /// vocabulary from the task.
    Small,
    /// all-MiniLM-L6-v2, a pretrained 6-layer BERT encoder (d = 384) with its own tokenizer,
    /// fine-tuned whole; get it with scripts/fetch-backbone.sh.
    Minilm,
}

impl BackboneArg {
    /// The command-line name.
    pub fn name(self) -> String {
        self.to_possible_value()
            .map(|value| value.get_name().to_string())
            .expect("every backbone has a command-line name")
    }
}

/// The backbone and optimisation, shared by `run`, `train` and `sweep`.
#[derive(Debug, Args)]
pub struct ModelArgs {
    /// The backbone.
    #[arg(long, value_enum, default_value_t = BackboneArg::Small)]
    pub backbone: BackboneArg,
    /// Directory of the pretrained backbone: config.json, model.safetensors and tokenizer.json
    /// [default: ~/.cache/actprm/all-minilm-l6-v2, where scripts/fetch-backbone.sh puts them].
    #[arg(long)]
    pub backbone_dir: Option<PathBuf>,
    /// Keep the pretrained backbone fixed and train the heads alone, on step features the
    /// backbone computes once per trajectory: far faster on a CPU than fine-tuning it whole.
    #[arg(long)]
    pub freeze_backbone: bool,
    /// Width of the small backbone.
    #[arg(long, default_value_t = 64)]
    pub d_model: usize,
    /// Layers of the small backbone.
    #[arg(long, default_value_t = 2)]
    pub layers: usize,
    /// Trajectories per pool mini-batch.
    #[arg(long, default_value_t = 16)]
    pub batch_size: usize,
    /// Peak learning rate (AdamW, linear warm-up then linear decay) [default: 3e-3 for the
    /// small backbone, 2e-5 to fine-tune minilm, 1e-3 for heads on a frozen minilm].
    #[arg(long)]
    pub learning_rate: Option<f64>,
    /// λ, the weight of the anchored-ensemble regulariser.
    #[arg(long, default_value_t = 0.5)]
    pub anchor_weight: f64,
}

impl ModelArgs {
    /// The peak learning rate: the one given, or the backbone's default.
    pub fn learning_rate(&self) -> f64 {
        self.learning_rate
            .unwrap_or(match (self.backbone, self.freeze_backbone) {
                (BackboneArg::Small, _) => 3e-3,
                (BackboneArg::Minilm, true) => 1e-3,
                (BackboneArg::Minilm, false) => 2e-5,
            })
    }

    /// Where the pretrained backbone is.
    pub fn backbone_dir(&self) -> PathBuf {
        self.backbone_dir.clone().unwrap_or_else(|| {
            let home = std::env::var_os("HOME").unwrap_or_default();
            PathBuf::from(home).join(".cache/actprm/all-minilm-l6-v2")
        })
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
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Ensemble heads E (the paper uses 32).
    #[arg(long, default_value_t = 32)]
    pub heads: usize,
    /// Save a checkpoint every this many mini-batches (and always at the end).
    #[arg(long, default_value_t = 50)]
    pub checkpoint_every: usize,
    /// The run directory to write.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct SelectionArgs {
    /// δ_pred: a step is confidently judged when its mean is ≥ δ_pred or ≤ 1 − δ_pred.
    #[arg(long, default_value_t = 0.95)]
    pub delta_pred: f32,
    /// δ_std: the heads agree on a step when their standard deviation is ≤ δ_std.
    #[arg(long, default_value_t = 0.005)]
    pub delta_std: f32,
    /// τ: a step is predicted erroneous when its mean is below τ.
    #[arg(long, default_value_t = 0.5)]
    pub tau: f32,
}

/// A selection strategy, by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StrategyArg {
    /// The paper's rule: an unsure mean or disagreeing heads on a counted step.
    Actprm,
    /// Only the test on the mean (δ_pred).
    AleatoricOnly,
    /// Only the test on the heads' spread (δ_std).
    EpistemicOnly,
    /// Predictive entropy summed over the counted steps, above a threshold in bits.
    Entropy,
    /// Mutual information between label and head (BALD) summed over the counted steps, above a
    /// threshold in bits.
    Bald,
    /// Each trajectory with a fixed probability, whatever the model says.
    Random,
    /// Every trajectory: the full-data baseline.
    Full,
}

impl StrategyArg {
    /// The command-line name.
    pub fn name(self) -> String {
        self.to_possible_value()
            .map(|value| value.get_name().to_string())
            .expect("every strategy has a command-line name")
    }

    /// The strategy this name stands for. `rule` holds the thresholds of the rule strategies
    /// and τ of every score-based one; `threshold` is entropy's or bald's, in bits; `fraction`
    /// and `seed` are random's.
    pub fn strategy(
        self,
        rule: SelectionConfig,
        threshold: f32,
        fraction: f64,
        seed: u64,
    ) -> Strategy {
        let tau = rule.tau;
        let with_tests = |tests| Strategy::Rule {
            config: rule.clone(),
            tests,
        };
        match self {
            StrategyArg::Actprm => with_tests(Tests::Both),
            StrategyArg::AleatoricOnly => with_tests(Tests::AleatoricOnly),
            StrategyArg::EpistemicOnly => with_tests(Tests::EpistemicOnly),
            StrategyArg::Entropy => Strategy::entropy(threshold, tau),
            StrategyArg::Bald => Strategy::bald(threshold, tau),
            StrategyArg::Random => Strategy::Random { fraction, seed },
            StrategyArg::Full => Strategy::Full,
        }
    }

    /// The score-based strategy this name stands for, with `threshold` (entropy's or bald's,
    /// in bits) defaulting to the strategy's own. Random and full read no scores and are
    /// refused.
    pub fn score_based(self, rule: SelectionConfig, threshold: Option<f32>) -> Result<Strategy> {
        let threshold = match self {
            StrategyArg::Random | StrategyArg::Full => {
                bail!("{} does not read the ensemble's scores", self.name())
            }
            StrategyArg::Entropy => threshold.unwrap_or(DEFAULT_ENTROPY_THRESHOLD),
            StrategyArg::Bald => threshold.unwrap_or(DEFAULT_MUTUAL_INFORMATION_THRESHOLD),
            // The rule strategies have no information threshold.
            StrategyArg::Actprm | StrategyArg::AleatoricOnly | StrategyArg::EpistemicOnly => 0.0,
        };
        Ok(self.strategy(rule, threshold, 1.0, 0))
    }
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
    #[arg(long)]
    pub threshold: Option<f32>,
}

/// `actprm sweep`: a grid of pool experiments.
#[derive(Debug, Args)]
pub struct SweepArgs {
    #[command(flatten)]
    pub pool: PoolArgs,
    #[command(flatten)]
    pub model: ModelArgs,
    /// Strategies to run (comma-separated). `random` is run at the budget each `actprm` run of
    /// the same seed and heads spent, unless --random-fractions is given.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "actprm,random,aleatoric-only,epistemic-only,full"
    )]
    pub strategies: Vec<StrategyArg>,
    /// Seeds (comma-separated): each seed draws its own pool, evaluation sets, initialisation
    /// and bootstrap masks.
    #[arg(long, value_delimiter = ',', default_value = "0,1,2")]
    pub seeds: Vec<u64>,
    /// Ensemble head counts E (comma-separated). With E = 1 the spread is 0, so `actprm`
    /// amounts to `aleatoric-only`.
    #[arg(long, value_delimiter = ',', default_value = "32")]
    pub heads: Vec<usize>,
    /// δ_pred values for actprm, aleatoric-only and epistemic-only (comma-separated).
    #[arg(long, value_delimiter = ',', default_value = "0.95")]
    pub delta_pred: Vec<f32>,
    /// δ_std values for actprm, aleatoric-only and epistemic-only (comma-separated).
    #[arg(long, value_delimiter = ',', default_value = "0.005")]
    pub delta_std: Vec<f32>,
    /// τ: a step is predicted erroneous when its mean is below τ.
    #[arg(long, default_value_t = 0.5)]
    pub tau: f32,
    /// Thresholds in bits for `entropy` (comma-separated).
    #[arg(long, value_delimiter = ',', default_value = "0.2864")]
    pub entropy_thresholds: Vec<f32>,
    /// Thresholds in bits for `bald` (comma-separated).
    #[arg(long, value_delimiter = ',', default_value = "0.001")]
    pub bald_thresholds: Vec<f32>,
    /// Fractions of the pool `random` labels (comma-separated); without them, `random` matches
    /// each `actprm` run's budget.
    #[arg(long, value_delimiter = ',')]
    pub random_fractions: Vec<f64>,
    /// Experiments run at once (default: one per core; each experiment uses one core on the
    /// CPU backend).
    #[arg(long)]
    pub jobs: Option<usize>,
    /// The sweep directory: results.jsonl (one line per finished experiment; a rerun skips the
    /// experiments already there), chart.svg, chart.png and table.md.
    #[arg(long, default_value = "sweeps/synthetic")]
    pub out: PathBuf,
    /// Title of the chart.
    #[arg(
        long,
        default_value = "Synthetic task: held-out F1 against labels bought"
    )]
    pub title: String,
}

#[derive(Debug, Args)]
pub struct TrainArgs {
    #[command(flatten)]
    pub experiment: ExperimentArgs,
    /// Label each pool trajectory with this probability instead of labelling all of them: the
    /// random baseline at an expected budget (e.g. the fraction an `actprm run` used). Below 1
    /// the run is named `random` and writes runs/random/.
    #[arg(long, default_value_t = 1.0)]
    pub label_fraction: f64,
    /// τ: a step is predicted erroneous when its mean is below τ.
    #[arg(long, default_value_t = 0.5)]
    pub tau: f32,
}

/// Formats `score` and `eval` read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DataFormat {
    /// Decide from the file's contents.
    Auto,
    /// ProcessBench JSON array.
    Processbench,
    /// Training rows JSONL (question, steps, hard_labels).
    Jsonl,
    /// PRM800K stepwise rows JSONL, optionally gzipped.
    Prm800k,
    /// Unlabelled rows JSONL (question, steps).
    Unlabelled,
}

#[derive(Debug, Args)]
pub struct ScoreArgs {
    /// Checkpoint directory written by `run` or `train`.
    #[arg(long, default_value = "runs/actprm/checkpoint")]
    pub checkpoint: PathBuf,
    /// Data file to score; without it, freshly generated synthetic problems are scored.
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Format of --data.
    #[arg(long, value_enum, default_value_t = DataFormat::Auto)]
    pub format: DataFormat,
    /// Synthetic problems to generate when no --data is given.
    #[arg(long, default_value_t = 8)]
    pub count: usize,
    #[command(flatten)]
    pub synthetic: SyntheticArgs,
    /// Seed of the generated problems.
    #[arg(long, default_value_t = 12345)]
    pub seed: u64,
    /// Score at most this many trajectories.
    #[arg(long)]
    pub limit: Option<usize>,
    /// Write the JSON lines here instead of standard output.
    #[arg(long)]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub thresholds: ThresholdOverrides,
}

/// `actprm filter`: one-shot filtering of a pool.
#[derive(Debug, Args)]
pub struct FilterArgs {
    /// Checkpoint directory written by `run` or `train`.
    #[arg(long, default_value = "runs/actprm/checkpoint")]
    pub checkpoint: PathBuf,
    /// The pool: a JSONL file of unlabelled rows ({question, steps}), training rows or PRM800K
    /// stepwise rows, optionally gzipped, read line by line; or a ProcessBench JSON array
    /// (read whole). Stored labels are never used to choose, only counted. Without --data,
    /// --count synthetic problems are generated as they are needed.
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Format of --data.
    #[arg(long, value_enum, default_value_t = DataFormat::Auto)]
    pub format: DataFormat,
    /// Synthetic problems to generate when no --data is given.
    #[arg(long, default_value_t = 100_000)]
    pub count: usize,
    #[command(flatten)]
    pub synthetic: SyntheticArgs,
    /// Seed of the generated problems (differs from `run`'s pools by default).
    #[arg(long, default_value_t = 424_242)]
    pub seed: u64,
    /// Which score-based strategy keeps trajectories.
    #[arg(long, value_enum, default_value_t = StrategyArg::Actprm)]
    pub strategy: StrategyArg,
    #[command(flatten)]
    pub thresholds: ThresholdOverrides,
    /// Threshold in bits for `entropy` (default 0.2864 = H(0.95)) and `bald` (default 0.001).
    #[arg(long)]
    pub threshold: Option<f32>,
    /// Trajectories read, scored and written at a time: memory holds one chunk.
    #[arg(long, default_value_t = 256)]
    pub chunk_size: usize,
    /// Tokens the judge generates per kept trajectory, for the cost estimate.
    #[arg(long, default_value_t = 1920)]
    pub judge_tokens: u64,
    /// The output directory: kept.jsonl and filter.json.
    #[arg(long, default_value = "runs/filter")]
    pub out: PathBuf,
    /// Start again even when --out holds an interrupted or finished run of the same settings.
    #[arg(long)]
    pub restart: bool,
}

/// Thresholds that override the ones stored in the checkpoint.
#[derive(Debug, Args)]
pub struct ThresholdOverrides {
    /// Override δ_pred.
    #[arg(long)]
    pub delta_pred: Option<f32>,
    /// Override δ_std.
    #[arg(long)]
    pub delta_std: Option<f32>,
    /// Override τ.
    #[arg(long)]
    pub tau: Option<f32>,
}

#[derive(Debug, Subcommand)]
pub enum EvalCommand {
    /// ProcessBench: first-error F1 per split (gsm8k, math, olympiadbench, omnimath) and their
    /// average. Download the four JSON files from the Hugging Face dataset Qwen/ProcessBench.
    Processbench(ProcessBenchArgs),
    /// The synthetic task's held-out set.
    Synthetic(SyntheticEvalArgs),
    /// PRMBench: every step judged valid when its score exceeds 0.5; F1 of correct steps, F1
    /// of erroneous steps (negF1) and PRMScore (their mean) per error class, per category
    /// (simplicity, soundness, sensitivity) and overall. The full benchmark is the
    /// `mr_eval/tasks/prmtest_classified/data` directory of the ssmisya/PRMBench repository.
    Prmbench(PrmBenchArgs),
}

#[derive(Debug, Args)]
pub struct ProcessBenchArgs {
    /// Directory holding gsm8k.json, math.json, olympiadbench.json and omnimath.json.
    #[arg(long)]
    pub data: PathBuf,
    /// Checkpoint directory.
    #[arg(long, default_value = "runs/actprm/checkpoint")]
    pub checkpoint: PathBuf,
    /// Evaluate only these splits (comma-separated).
    #[arg(long, value_delimiter = ',')]
    pub splits: Vec<String>,
    /// Evaluate at most this many items per split.
    #[arg(long)]
    pub limit: Option<usize>,
    /// Trajectories scored per forward pass.
    #[arg(long, default_value_t = 16)]
    pub batch_size: usize,
    /// Also write the results as JSON here.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct PrmBenchArgs {
    /// A PRMBench JSONL file, or a directory of them.
    #[arg(long)]
    pub data: PathBuf,
    /// Checkpoint directory.
    #[arg(long, default_value = "runs/actprm/checkpoint")]
    pub checkpoint: PathBuf,
    /// Evaluate at most this many items.
    #[arg(long)]
    pub limit: Option<usize>,
    /// Trajectories scored per forward pass.
    #[arg(long, default_value_t = 16)]
    pub batch_size: usize,
    /// Also write the results as JSON here.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct SyntheticEvalArgs {
    /// Checkpoint directory.
    #[arg(long, default_value = "runs/actprm/checkpoint")]
    pub checkpoint: PathBuf,
    /// Problems to generate.
    #[arg(long, default_value_t = 1000)]
    pub count: usize,
    #[command(flatten)]
    pub synthetic: SyntheticArgs,
    /// Seed of the generated problems (differs from the training pool's by default).
    #[arg(long, default_value_t = 987_654_321)]
    pub seed: u64,
    /// Trajectories scored per forward pass.
    #[arg(long, default_value_t = 64)]
    pub batch_size: usize,
}
