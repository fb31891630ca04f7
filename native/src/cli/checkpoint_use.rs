//! Arguments of the commands that read a trained checkpoint: `score`, `filter`, `eval` and
//! `export-heads`.

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use serde::{Deserialize, Serialize};

use super::experiment::SyntheticArgs;
use super::feature_cache::FeatureCacheArgs;
use super::ranges;
use super::shard::ShardArgs;
use super::strategy::StrategyArg;

/// Formats `score`, `filter`, `label` and `--task files` read.
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
    /// Stepwise-supervision rows JSONL (prompt, completions, labels), as TRL and axolotl read
    /// them.
    Stepwise,
}

impl DataFormat {
    /// Its name, as `--format` spells it and run records write it.
    pub fn name(self) -> &'static str {
        match self {
            DataFormat::Auto => "auto",
            DataFormat::Processbench => "processbench",
            DataFormat::Jsonl => "jsonl",
            DataFormat::Prm800k => "prm800k",
            DataFormat::Unlabelled => "unlabelled",
            DataFormat::Stepwise => "stepwise",
        }
    }
}

/// Formats `filter` and `label` write their rows in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OutFormat {
    /// Training rows (question, steps, hard_labels), as run, train and sweep read them.
    Training,
    /// Stepwise-supervision rows (prompt, completions, labels: one boolean per step), as TRL's
    /// PRMTrainer and axolotl read them; each trajectory is cut after its first error.
    Stepwise,
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
    #[arg(long, default_value_t = 8, value_parser = ranges::count)]
    pub count: usize,
    #[command(flatten)]
    pub synthetic: SyntheticArgs,
    /// Seed of the generated problems.
    #[arg(long, default_value_t = 12345, value_parser = ranges::seed, allow_negative_numbers = true)]
    pub seed: u64,
    /// Score at most this many trajectories.
    #[arg(long, value_parser = ranges::count)]
    pub limit: Option<usize>,
    /// Write the JSON lines here instead of standard output (needed with a shard).
    #[arg(long)]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub thresholds: ThresholdOverrides,
    #[command(flatten)]
    pub shard: ShardArgs,
}

impl OutFormat {
    /// What its rows are called, for messages.
    pub fn rows_named(self) -> &'static str {
        match self {
            OutFormat::Training => "training",
            OutFormat::Stepwise => "stepwise-supervision",
        }
    }
}

/// `actprm export-heads`: a checkpoint on a frozen pretrained encoder saved as its heads alone.
#[derive(Debug, Args)]
pub struct ExportHeadsArgs {
    /// Checkpoint directory written by `run` or `train` with `--backbone minilm
    /// --freeze-backbone`.
    #[arg(long, default_value = "runs/actprm/checkpoint")]
    pub checkpoint: PathBuf,
    /// Directory to write the heads-only checkpoint to (replaced whole if it exists).
    #[arg(long)]
    pub out: PathBuf,
    /// Directory of the pretrained encoder the checkpoint was trained on: config.json,
    /// model.safetensors and tokenizer.json [default: $ACTPRM_BACKBONE, else
    /// ~/.cache/actprm/all-minilm-l6-v2, where scripts/fetch-backbone.sh puts them]
    #[arg(long)]
    pub backbone_dir: Option<PathBuf>,
}

/// `actprm halve-backbone`: a pretrained encoder's directory with its weights halved to f16.
#[derive(Debug, Args)]
pub struct HalveBackboneArgs {
    /// Directory of the pretrained encoder: config.json, model.safetensors and tokenizer.json
    /// [default: $ACTPRM_BACKBONE, else ~/.cache/actprm/all-minilm-l6-v2, where
    /// scripts/fetch-backbone.sh puts them]
    #[arg(long)]
    pub backbone_dir: Option<PathBuf>,
    /// Directory to write the halved encoder to (replaced whole if it exists).
    #[arg(long)]
    pub out: PathBuf,
}

/// `actprm filter`: one-shot filtering of a pool.
#[derive(Debug, Args)]
pub struct FilterArgs {
    /// Checkpoint directory written by `run` or `train`.
    #[arg(long, default_value = "runs/actprm/checkpoint")]
    pub checkpoint: PathBuf,
    /// The pool: a JSONL file of unlabelled rows ({question, steps}), training rows,
    /// stepwise-supervision rows ({prompt, completions, labels}) or PRM800K stepwise rows,
    /// optionally gzipped, read line by line; or a ProcessBench JSON array (read whole). Stored
    /// labels are never used to choose, only counted. Without --data, --count synthetic problems
    /// are generated as they are needed.
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Format of --data.
    #[arg(long, value_enum, default_value_t = DataFormat::Auto)]
    pub format: DataFormat,
    /// Synthetic problems to generate when no --data is given.
    #[arg(long, default_value_t = 100_000, value_parser = ranges::count)]
    pub count: usize,
    #[command(flatten)]
    pub synthetic: SyntheticArgs,
    /// Seed of the generated problems (differs from `run`'s pools by default).
    #[arg(long, default_value_t = 424_242, value_parser = ranges::seed, allow_negative_numbers = true)]
    pub seed: u64,
    /// Which score-based strategy keeps trajectories.
    #[arg(long, value_enum, default_value_t = StrategyArg::Actprm)]
    pub strategy: StrategyArg,
    #[command(flatten)]
    pub thresholds: ThresholdOverrides,
    /// Threshold in bits for `entropy` (default 0.2864 = H(0.95)) and `bald` (default 0.001).
    #[arg(long, value_parser = ranges::bits, allow_negative_numbers = true)]
    pub threshold: Option<f32>,
    /// Trajectories read, scored and written at a time: memory holds one chunk.
    #[arg(long, default_value_t = 256, value_parser = ranges::count)]
    pub chunk_size: usize,
    /// Tokens the judge generates per kept trajectory, for the cost estimate.
    #[arg(long, default_value_t = 1920, value_parser = ranges::answer_tokens::<u64>)]
    pub judge_tokens: u64,
    /// The output directory: kept.jsonl and filter.json.
    #[arg(long, default_value = "runs/filter")]
    pub out: PathBuf,
    /// Format of kept.jsonl's rows, each with its pool index and why it was kept: `training`
    /// holds question and steps, and hard_labels when the pool carries labels (`label` and
    /// `--task files` read it); `stepwise` holds prompt, completions and labels for TRL's
    /// PRMTrainer and axolotl, needs a labelled pool (not unlabelled rows) and cuts each
    /// trajectory after its first error.
    #[arg(long, value_enum, default_value_t = OutFormat::Training)]
    pub out_format: OutFormat,
    /// Start again even when --out holds an interrupted or finished run of the same settings.
    #[arg(long)]
    pub restart: bool,
    #[command(flatten)]
    pub shard: ShardArgs,
}

/// Thresholds that override the ones stored in the checkpoint.
#[derive(Debug, Args)]
pub struct ThresholdOverrides {
    /// Override δ_pred.
    #[arg(long, value_parser = ranges::delta_pred, allow_negative_numbers = true)]
    pub delta_pred: Option<f32>,
    /// Override δ_std.
    #[arg(long, value_parser = ranges::delta_std, allow_negative_numbers = true)]
    pub delta_std: Option<f32>,
    /// Override τ.
    #[arg(long, value_parser = ranges::tau, allow_negative_numbers = true)]
    pub tau: Option<f32>,
}

#[derive(Debug, Args)]
pub struct ProcessBenchArgs {
    /// Directory holding gsm8k.json, math.json, olympiadbench.json and omnimath.json.
    #[arg(long)]
    pub data: PathBuf,
    /// Checkpoint directory; repeat the flag to compare several. Checkpoints whose heads were
    /// trained on one frozen backbone share its reading of every item, which is then computed
    /// once.
    #[arg(long = "checkpoint", default_value = "runs/actprm/checkpoint")]
    pub checkpoints: Vec<PathBuf>,
    /// Evaluate only these splits (comma-separated).
    #[arg(long, value_delimiter = ',')]
    pub splits: Vec<String>,
    /// Decision threshold τ: a step is predicted erroneous when μ < τ. Default: the τ the
    /// checkpoint's training chose on its validation set, else its selection τ (0.5).
    #[arg(long, value_parser = ranges::tau)]
    pub tau: Option<f32>,
    /// Evaluate at most this many items per split, spread evenly over it (ProcessBench files
    /// list their erroneous items first, so the head of a file would not do).
    #[arg(long, value_parser = ranges::count)]
    pub limit: Option<usize>,
    /// Trajectories scored per forward pass.
    #[arg(long, default_value_t = 16, value_parser = ranges::count)]
    pub batch_size: usize,
    #[command(flatten)]
    pub feature_cache: FeatureCacheArgs,
    /// Also write the results as JSON here: one object for one checkpoint, an array of them
    /// (in the order given) for several.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct PrmBenchArgs {
    /// A PRMBench JSONL file, or a directory of them.
    #[arg(long)]
    pub data: PathBuf,
    /// Checkpoint directory; repeat the flag to compare several. Checkpoints whose heads were
    /// trained on one frozen backbone share its reading of every item, which is then computed
    /// once.
    #[arg(long = "checkpoint", default_value = "runs/actprm/checkpoint")]
    pub checkpoints: Vec<PathBuf>,
    /// Evaluate at most this many items, spread evenly over them (the files are grouped by
    /// error class).
    #[arg(long, value_parser = ranges::count)]
    pub limit: Option<usize>,
    /// Trajectories scored per forward pass.
    #[arg(long, default_value_t = 16, value_parser = ranges::count)]
    pub batch_size: usize,
    #[command(flatten)]
    pub feature_cache: FeatureCacheArgs,
    /// Also write the results as JSON here: one object for one checkpoint, an array of them
    /// (in the order given) for several.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct SyntheticEvalArgs {
    /// Checkpoint directory.
    #[arg(long, default_value = "runs/actprm/checkpoint")]
    pub checkpoint: PathBuf,
    /// Decision threshold τ: a step is predicted erroneous when μ < τ. Default: the τ the
    /// checkpoint's training chose on its validation set, else its selection τ (0.5).
    #[arg(long, value_parser = ranges::tau)]
    pub tau: Option<f32>,
    /// Problems to generate.
    #[arg(long, default_value_t = 1000, value_parser = ranges::count)]
    pub count: usize,
    #[command(flatten)]
    pub synthetic: SyntheticArgs,
    /// Seed of the generated problems (differs from the training pool's by default).
    #[arg(long, default_value_t = 987_654_321, value_parser = ranges::seed, allow_negative_numbers = true)]
    pub seed: u64,
    /// Trajectories scored per forward pass.
    #[arg(long, default_value_t = 64, value_parser = ranges::count)]
    pub batch_size: usize,
}
