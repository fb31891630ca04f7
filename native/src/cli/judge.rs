//! The language-model judge's arguments (`label`, and `run` with a judge in the loop): where it
//! is served, how it samples, how hard to retry, and the caps on what may be bought.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use super::ranges;
use super::shard::ShardArgs;
use super::{DataFormat, OutFormat};

/// Labels every trajectory of a file with a language-model judge.
#[derive(Debug, Args)]
pub struct LabelArgs {
    /// Trajectories to label: JSONL rows with `question` and `steps` (labels, if any, are
    /// ignored), stepwise-supervision rows (`prompt`, `completions`; every completion is
    /// judged, whatever its stored label), PRM800K stepwise rows or a ProcessBench JSON array;
    /// `.gz` is read compressed. filter's kept.jsonl is such a file.
    #[arg(long)]
    pub data: PathBuf,
    /// Format of --data.
    #[arg(long, value_enum, default_value_t = DataFormat::Auto)]
    pub format: DataFormat,
    /// Output directory: ledger.jsonl (every answer bought, appended and synced before it is
    /// used), labels.jsonl (rows of the usable answers, in --out-format) and label.json
    /// (settings and totals). Rerunning the same command resumes: every answer already in the
    /// ledger is reused, never bought again.
    #[arg(long)]
    pub out: PathBuf,
    /// Format of labels.jsonl's rows: `training` (question, steps, hard_labels) for run, train
    /// and sweep, or `stepwise` (prompt, completions, labels: one boolean per step) for TRL's
    /// PRMTrainer and axolotl. Either way a row ends at its first error.
    #[arg(long, value_enum, default_value_t = OutFormat::Training)]
    pub out_format: OutFormat,
    #[command(flatten)]
    pub judge: JudgeArgs,
    /// Most answers to buy, usable or not, counting those already in the ledger (with a
    /// shard, this shard's ledger).
    #[arg(long, value_parser = ranges::count)]
    pub max_labels: Option<usize>,
    #[command(flatten)]
    pub shard: ShardArgs,
}

/// Where the judge is served and how it is asked. Without --judge-url there is no served
/// judge, and the other settings go unused.
#[derive(Debug, Args)]
pub struct JudgeArgs {
    /// Base URL of an OpenAI-compatible chat-completions server (vLLM, SGLang, llama.cpp's
    /// server, Ollama, TGI or a hosted API), such as http://localhost:8000/v1; requests go to
    /// its /chat/completions.
    #[arg(long, requires = "judge_model")]
    pub judge_url: Option<String>,
    /// The model name the server knows the judge by.
    #[arg(long, requires = "judge_url")]
    pub judge_model: Option<String>,
    /// Environment variable holding the API key, sent as a bearer token when set and never
    /// printed or written anywhere.
    #[arg(long, default_value = "OPENAI_API_KEY")]
    pub judge_api_key_env: String,
    /// Sampling temperature (the paper's 0.5).
    #[arg(long, default_value_t = 0.5, value_parser = ranges::temperature)]
    pub judge_temperature: f64,
    /// Nucleus sampling's top_p (the paper's 0.95).
    #[arg(long, default_value_t = 0.95, value_parser = ranges::top_p)]
    pub judge_top_p: f64,
    /// Most tokens the judge may generate per answer; an answer cut off there is recorded as
    /// truncated, never read as a label.
    #[arg(long, default_value_t = 4096, value_parser = ranges::answer_tokens::<usize>)]
    pub judge_max_tokens: usize,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 4, value_parser = ranges::small_count)]
    pub judge_concurrency: usize,
    /// Time limit of one request, such as 90s or 10m.
    #[arg(long, default_value = "10m", value_parser = ranges::duration)]
    pub judge_timeout: Duration,
    /// Tries per trajectory: timeouts, connection errors, 429 and 5xx answers are retried
    /// with exponential backoff and jitter (waiting at least a 429's Retry-After) up to this
    /// many tries in all.
    #[arg(long, default_value_t = 5, value_parser = ranges::small_count)]
    pub judge_tries: usize,
    /// The longest wait before the first retry; it doubles with each retry, up to a minute.
    #[arg(long, default_value = "1s", value_parser = ranges::duration)]
    pub judge_backoff: Duration,
    /// The ledger of answers bought [default: ledger.jsonl in --out]. Runs that share one
    /// never buy the same answer twice.
    #[arg(long)]
    pub judge_ledger: Option<PathBuf>,
    /// Most tokens the judge may generate in all, counting those already in the ledger. Each
    /// request in flight holds --judge-max-tokens of it until its answer's real count is known,
    /// so the cap holds under any concurrency.
    #[arg(long, value_parser = ranges::token_budget::<usize>)]
    pub max_judge_tokens: Option<usize>,
}

impl JudgeArgs {
    /// The judge's URL and model, when one is served.
    pub fn served(&self) -> Option<(&str, &str)> {
        self.judge_url.as_deref().zip(self.judge_model.as_deref())
    }
}
