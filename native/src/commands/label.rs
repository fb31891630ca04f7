//! `actprm label`: every trajectory of a file labelled by a language-model judge, bought once.
//!
//! The output directory holds the ledger of answers (appended and synced before use), the
//! training rows built from the usable ones, and label.json with the settings and totals. The
//! rows and label.json are rewritten whole at the end; an interrupted run leaves the ledger,
//! and rerunning the command rebuilds both from it without buying anything twice.

use std::collections::BTreeMap;
use std::time::Duration;

use actprm_core::Trajectory;
use actprm_core::data::training_row_json;
use actprm_core::judge::PROMPT_VERSION;
use anyhow::{Result, bail};
use serde::Serialize;

use crate::cli::{DataFormat, JudgeArgs, LabelArgs};
use crate::data_files::{read_trajectories, resolve_format};
use crate::dir_lock::DirLock;
use crate::identity::file_digest;
use crate::judge::ledger::Verdict;
use crate::judge::retry::Backoff;
use crate::judge::{Buyer, BuyingPolicy, ChatClient, Ledger, Outcome, Unanswered};
use crate::progress;
use crate::run_dir::{write_atomically, write_json_atomically};

/// `actprm label`.
pub fn label(args: &LabelArgs) -> Result<()> {
    let _lock = DirLock::acquire(&args.out)?;
    // Labels the file may carry are what is being bought: a file of training rows is read as
    // unlabelled rows, so that the steps after a stored first error are judged too.
    let format = match resolve_format(&args.data, args.format)? {
        DataFormat::Jsonl => DataFormat::Unlabelled,
        other => other,
    };
    let trajectories = read_trajectories(&args.data, format)?;
    if trajectories.is_empty() {
        bail!("{} holds no trajectories", args.data.display());
    }
    let client = ChatClient::new(&args.judge)?;
    let policy = buying_policy(&args.judge)?;
    let ledger = Ledger::open(&args.out.join("ledger.jsonl"))?;
    eprintln!(
        "labelling {} trajectories of {} with {} at {} ({} at once); the ledger holds {} answers",
        trajectories.len(),
        args.data.display(),
        args.judge.judge_model,
        client.endpoint(),
        policy.concurrency,
        ledger.len()
    );
    let buyer = Buyer::new(&client, ledger, policy);
    let bar = progress::bar(trajectories.len(), "label");
    let mut tally = Tally::default();
    let sent: Vec<&Trajectory> = trajectories.iter().collect();
    let outcomes = buyer.buy(&sent, |outcome| {
        tally.add(outcome);
        bar.inc(1);
        bar.set_message(tally.progress_message());
    });
    bar.finish();

    let mut rows = String::new();
    for (trajectory, outcome) in trajectories.iter().zip(&outcomes) {
        if let Some(label) = outcome.label() {
            let labelled = Trajectory {
                label: Some(label),
                ..trajectory.clone()
            };
            if let Some(row) = training_row_json(&labelled) {
                rows.push_str(&row);
                rows.push('\n');
            }
        }
    }
    write_atomically(&args.out.join("labels.jsonl"), rows.as_bytes())?;
    let spent = buyer.spent();
    let summary = LabelSummary {
        data: args.data.display().to_string(),
        data_sha256: file_digest(&args.data)?,
        endpoint: client.endpoint().to_string(),
        prompt_version: PROMPT_VERSION,
        sampling: client.sampling(),
        concurrency: policy.concurrency,
        tries: policy.tries,
        max_labels: policy.max_answers,
        max_judge_tokens: policy.max_tokens,
        totals: tally.totals(trajectories.len()),
        ledger_answers: spent.answers,
        ledger_generated_tokens: spent.tokens,
    };
    write_json_atomically(&args.out.join("label.json"), &summary)?;
    println!("{}", tally.report(trajectories.len()));
    println!(
        "labels.jsonl: {} training rows; the ledger holds {} answers, {} generated tokens",
        summary.totals.labelled, spent.answers, spent.tokens
    );
    if let Some(reason) = buyer.stop_reason() {
        bail!("labelling stopped: {reason}. Every answer bought so far is in the ledger");
    }
    Ok(())
}

/// The caps and retry settings of `args`, refused when no request could ever fit the caps.
pub fn buying_policy(args: &JudgeArgs) -> Result<BuyingPolicy> {
    if let Some(cap) = args.max_judge_tokens
        && cap < args.judge_max_tokens
    {
        bail!(
            "--max-judge-tokens {cap} is below --judge-max-tokens {}: each request holds the \
             most tokens its answer may take, so none could be sent",
            args.judge_max_tokens
        );
    }
    Ok(BuyingPolicy {
        concurrency: args.judge_concurrency,
        tries: u32::try_from(args.judge_tries).unwrap_or(u32::MAX),
        backoff: Backoff {
            first: args.judge_backoff,
            ..Backoff::default()
        },
        max_answers: args.max_labels.map(|cap| cap as u64),
        max_tokens: args.max_judge_tokens.map(|cap| cap as u64),
    })
}

/// label.json.
#[derive(Serialize)]
struct LabelSummary<'a> {
    data: String,
    data_sha256: String,
    endpoint: String,
    prompt_version: &'static str,
    sampling: &'a crate::judge::client::Sampling,
    concurrency: usize,
    tries: u32,
    max_labels: Option<u64>,
    max_judge_tokens: Option<u64>,
    totals: Totals,
    ledger_answers: u64,
    ledger_generated_tokens: u64,
}

/// What happened to the trajectories of one run.
#[derive(Debug, Default)]
struct Tally {
    bought: usize,
    from_ledger: usize,
    labelled: usize,
    unusable: BTreeMap<String, usize>,
    failed: usize,
    over_budget: usize,
    stopped: usize,
    attempts: u64,
    prompt_tokens: u64,
    generated_tokens: u64,
    latencies_ms: Vec<u64>,
}

/// [`Tally`] as label.json writes it.
#[derive(Debug, Serialize)]
struct Totals {
    trajectories: usize,
    labelled: usize,
    bought: usize,
    from_ledger: usize,
    unusable: BTreeMap<String, usize>,
    failed: usize,
    over_budget: usize,
    stopped: usize,
    /// Requests sent for the bought answers, retries included.
    requests: u64,
    /// Usable answers among all answers, bought or from the ledger.
    parse_rate: f64,
    prompt_tokens: u64,
    generated_tokens: u64,
    generated_tokens_per_label: f64,
    latency_ms_median: Option<u64>,
    latency_ms_p90: Option<u64>,
}

impl Tally {
    fn add(&mut self, outcome: &Outcome) {
        match outcome {
            Outcome::Answered { record, bought } => {
                if *bought {
                    self.bought += 1;
                    self.attempts += u64::from(record.attempts);
                    self.prompt_tokens += record.prompt_tokens.unwrap_or(0);
                    self.generated_tokens += record.charged_tokens();
                    self.latencies_ms.push(record.latency_ms);
                } else {
                    self.from_ledger += 1;
                }
                match &record.verdict {
                    Verdict::Labelled { .. } => self.labelled += 1,
                    Verdict::Unusable(reason) => {
                        let name =
                            serde_json::to_value(reason).expect("a reason serialises")["reason"]
                                .as_str()
                                .unwrap_or("unknown")
                                .to_string();
                        *self.unusable.entry(name).or_default() += 1;
                    }
                }
            }
            Outcome::Unanswered(Unanswered::Failed(_)) => self.failed += 1,
            Outcome::Unanswered(Unanswered::OverBudget) => self.over_budget += 1,
            Outcome::Unanswered(Unanswered::Stopped) => self.stopped += 1,
        }
    }

    fn unusable_count(&self) -> usize {
        self.unusable.values().sum()
    }

    fn progress_message(&self) -> String {
        let per_label = if self.bought == 0 {
            String::new()
        } else {
            format!(
                " · {:.0} tokens/answer",
                self.generated_tokens as f64 / self.bought as f64
            )
        };
        format!(
            "bought {} · from ledger {} · {} tokens{per_label} · unusable {} · errors {}",
            self.bought,
            self.from_ledger,
            self.generated_tokens,
            self.unusable_count(),
            self.failed
        )
    }

    fn totals(&self, trajectories: usize) -> Totals {
        let answered = self.bought + self.from_ledger;
        let mut latencies = self.latencies_ms.clone();
        latencies.sort_unstable();
        let quantile = |q: f64| {
            (!latencies.is_empty())
                .then(|| latencies[((latencies.len() - 1) as f64 * q).round() as usize])
        };
        Totals {
            trajectories,
            labelled: self.labelled,
            bought: self.bought,
            from_ledger: self.from_ledger,
            unusable: self.unusable.clone(),
            failed: self.failed,
            over_budget: self.over_budget,
            stopped: self.stopped,
            requests: self.attempts,
            parse_rate: if answered == 0 {
                0.0
            } else {
                self.labelled as f64 / answered as f64
            },
            prompt_tokens: self.prompt_tokens,
            generated_tokens: self.generated_tokens,
            generated_tokens_per_label: if self.bought == 0 {
                0.0
            } else {
                self.generated_tokens as f64 / self.bought as f64
            },
            latency_ms_median: quantile(0.5),
            latency_ms_p90: quantile(0.9),
        }
    }

    fn report(&self, trajectories: usize) -> String {
        let totals = self.totals(trajectories);
        let latency = |ms: Option<u64>| {
            ms.map_or("–".to_string(), |ms| {
                humantime::format_duration(Duration::from_millis(ms)).to_string()
            })
        };
        let unusable = if totals.unusable.is_empty() {
            "0".to_string()
        } else {
            let reasons: Vec<String> = totals
                .unusable
                .iter()
                .map(|(reason, count)| format!("{reason} {count}"))
                .collect();
            format!("{} ({})", self.unusable_count(), reasons.join(", "))
        };
        format!(
            "trajectories {}: labelled {} (parse rate {:.3}); bought {} in {} requests, {} from \
             the ledger; unusable {unusable}; failed {}; over budget {}; not sent after a stop \
             {}\ntokens bought: {} prompt, {} generated ({:.0} per answer); latency median {}, \
             p90 {}",
            totals.trajectories,
            totals.labelled,
            totals.parse_rate,
            totals.bought,
            totals.requests,
            totals.from_ledger,
            totals.failed,
            totals.over_budget,
            totals.stopped,
            totals.prompt_tokens,
            totals.generated_tokens,
            totals.generated_tokens_per_label,
            latency(totals.latency_ms_median),
            latency(totals.latency_ms_p90),
        )
    }
}
