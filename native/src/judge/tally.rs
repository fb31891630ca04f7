//! What became of the trajectories sent to the judge: answers bought and reused, unusable
//! answers and failures by reason, requests, tokens and latency, for progress bars and
//! summaries, and whether the judge answered at all.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{Result, bail};
use serde::{Deserialize, Serialize};

use super::buyer::{Failure, Outcome, Unanswered};
use super::ledger::Verdict;

/// The most failure reasons a warning names.
const REASONS_NAMED: usize = 3;

/// What happened to the trajectories sent so far (saved with a run's state to resume from).
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct Tally {
    sent: usize,
    bought: usize,
    from_ledger: usize,
    labelled: usize,
    unusable: BTreeMap<String, usize>,
    failed: usize,
    /// Failed trajectories by the kind of their last failure.
    #[serde(default)]
    failed_by_reason: BTreeMap<String, usize>,
    /// The latest failure, for messages.
    #[serde(default)]
    last_failure: Option<Failure>,
    /// Trajectories not sent because a cap would have been exceeded.
    pub over_budget: usize,
    stopped: usize,
    /// Requests sent, retries included, answered or not.
    attempts: u64,
    prompt_tokens: u64,
    generated_tokens: u64,
    latencies_ms: Vec<u64>,
}

/// [`Tally`] as label.json writes it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Totals {
    /// Trajectories sent.
    pub trajectories: usize,
    /// Trajectories that got a label.
    pub labelled: usize,
    /// Answers bought now.
    pub bought: usize,
    /// Answers reused from the ledger (or from an identical trajectory sent alongside).
    pub from_ledger: usize,
    /// Answers that gave no label, by reason.
    pub unusable: BTreeMap<String, usize>,
    /// Trajectories every try failed for.
    pub failed: usize,
    /// Those trajectories by the kind of their last failure.
    pub failed_by_reason: BTreeMap<String, usize>,
    /// Trajectories not sent because a cap would have been exceeded.
    pub over_budget: usize,
    /// Trajectories not sent after a refused request stopped buying.
    pub stopped: usize,
    /// Requests sent, retries included, answered or not.
    pub requests: u64,
    /// Usable answers among all answers, bought or reused.
    pub parse_rate: f64,
    /// Prompt tokens of the bought answers, as the server counted them.
    pub prompt_tokens: u64,
    /// Generated tokens of the bought answers.
    pub generated_tokens: u64,
    /// Generated tokens per bought answer.
    pub generated_tokens_per_answer: f64,
    /// Median latency of the answering requests.
    pub latency_ms_median: Option<u64>,
    /// 90th percentile of that latency.
    pub latency_ms_p90: Option<u64>,
}

impl Tally {
    /// Counts one outcome.
    pub fn add(&mut self, outcome: &Outcome) {
        self.sent += 1;
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
            Outcome::Unanswered(Unanswered::Failed(failure)) => {
                self.failed += 1;
                self.attempts += u64::from(failure.requests);
                *self
                    .failed_by_reason
                    .entry(failure.kind.name())
                    .or_default() += 1;
                self.last_failure = Some(failure.clone());
            }
            Outcome::Unanswered(Unanswered::OverBudget) => self.over_budget += 1,
            Outcome::Unanswered(Unanswered::Stopped) => self.stopped += 1,
        }
    }

    /// Answers that gave no label.
    pub fn unusable_count(&self) -> usize {
        self.unusable.values().sum()
    }

    /// True when nothing was bought and some trajectory's every request failed: the judge
    /// answered no request at all.
    fn answered_nothing(&self) -> bool {
        self.bought == 0 && self.failed > 0
    }

    /// An error when the judge answered nothing (see [`Self::answered_nothing`]), naming the
    /// last failure and the requests sent.
    pub fn ensure_answered(&self) -> Result<()> {
        if self.answered_nothing() {
            let advice = self
                .last_failure
                .as_ref()
                .and_then(|failure| failure.kind.advice())
                .map_or(String::new(), |advice| format!(" {advice}"));
            bail!(
                "nothing was bought from the judge: {} requests (retries included) left {} \
                 trajectories without an answer; {}.{advice} Run the command again once the \
                 judge answers",
                self.attempts,
                self.failed,
                self.last_failure_words()
            );
        }
        Ok(())
    }

    /// A warning when the judge answered some requests but some trajectories got no answer:
    /// how many, the most frequent reasons, and the last failure.
    pub fn failure_warning(&self) -> Option<String> {
        if self.failed == 0 || self.answered_nothing() {
            return None;
        }
        let mut reasons: Vec<(&String, &usize)> = self.failed_by_reason.iter().collect();
        reasons.sort_by_key(|&(_, count)| std::cmp::Reverse(*count));
        let mut most_frequent: Vec<String> = reasons
            .iter()
            .take(REASONS_NAMED)
            .map(|(reason, count)| format!("{reason} {count}"))
            .collect();
        if reasons.len() > REASONS_NAMED {
            most_frequent.push("…".to_string());
        }
        Some(format!(
            "{} of {} trajectories got no answer from the judge ({}); {}. They are not in the \
             ledger: a rerun asks for them again",
            self.failed,
            self.sent,
            most_frequent.join(", "),
            self.last_failure_words()
        ))
    }

    /// The last failure, in words.
    fn last_failure_words(&self) -> String {
        match &self.last_failure {
            Some(failure) => format!("the last failure: {}", failure.message),
            None => "the last failure is not known".to_string(),
        }
    }

    /// One line for a progress bar.
    pub fn progress_message(&self) -> String {
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

    /// The totals so far.
    pub fn totals(&self) -> Totals {
        let answered = self.bought + self.from_ledger;
        let mut latencies = self.latencies_ms.clone();
        latencies.sort_unstable();
        let quantile = |q: f64| {
            (!latencies.is_empty())
                .then(|| latencies[((latencies.len() - 1) as f64 * q).round() as usize])
        };
        Totals {
            trajectories: self.sent,
            labelled: self.labelled,
            bought: self.bought,
            from_ledger: self.from_ledger,
            unusable: self.unusable.clone(),
            failed: self.failed,
            failed_by_reason: self.failed_by_reason.clone(),
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
            generated_tokens_per_answer: if self.bought == 0 {
                0.0
            } else {
                self.generated_tokens as f64 / self.bought as f64
            },
            latency_ms_median: quantile(0.5),
            latency_ms_p90: quantile(0.9),
        }
    }
}

impl Totals {
    /// The totals in words.
    pub fn report(&self) -> String {
        let totals = self;
        let latency = |ms: Option<u64>| {
            ms.map_or("–".to_string(), |ms| {
                humantime::format_duration(Duration::from_millis(ms)).to_string()
            })
        };
        format!(
            "trajectories {}: labelled {} (parse rate {:.3}); bought {}, {} from the ledger; {} \
             requests (retries included); unusable {}; failed {}; over budget {}; not sent after \
             a stop {}\ntokens bought: {} prompt, {} generated ({:.0} per answer); latency \
             median {}, p90 {}",
            totals.trajectories,
            totals.labelled,
            totals.parse_rate,
            totals.bought,
            totals.from_ledger,
            totals.requests,
            counted_by_reason(totals.unusable.values().sum(), &totals.unusable),
            counted_by_reason(totals.failed, &totals.failed_by_reason),
            totals.over_budget,
            totals.stopped,
            totals.prompt_tokens,
            totals.generated_tokens,
            totals.generated_tokens_per_answer,
            latency(totals.latency_ms_median),
            latency(totals.latency_ms_p90),
        )
    }
}

/// A count and its split by reason, in words: `0`, or `3 (no_conclusion 1, truncated 2)`.
fn counted_by_reason(count: usize, by_reason: &BTreeMap<String, usize>) -> String {
    if by_reason.is_empty() {
        return count.to_string();
    }
    let reasons: Vec<String> = by_reason
        .iter()
        .map(|(reason, count)| format!("{reason} {count}"))
        .collect();
    format!("{count} ({})", reasons.join(", "))
}
