//! Buying answers from the judge for many trajectories at once: the ledger is asked first, the
//! rest go out over a fixed number of concurrent requests, each retried on transient failures,
//! and every answer is in the ledger before it is handed back. The caps on answers and on
//! generated tokens hold under any concurrency: a request holds its share of both before it is
//! sent (for tokens, the most it may generate) and gives back what its answer did not use.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Condvar, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use actprm_core::Trajectory;
use actprm_core::judge::{PROMPT_VERSION, Unusable, critique_prompt, parse_verdict};
use actprm_core::rng::SeededRng;
use anyhow::Result;
use serde::{Deserialize, Serialize};

use super::client::{Answer, ChatClient, FailureKind, RequestError, Sampling};
use super::ledger::{AnswerRecord, Ledger, Spent, Verdict, answer_key};
use super::retry::Backoff;

/// Limits on buying.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BuyingPolicy {
    /// Requests in flight at once.
    pub concurrency: usize,
    /// Requests per answer at most, the first included.
    pub tries: u32,
    /// Waits between tries.
    pub backoff: Backoff,
    /// Most answers in the ledger, usable or not.
    pub max_answers: Option<u64>,
    /// Most generated tokens charged in the ledger.
    pub max_tokens: Option<u64>,
}

/// A served judge's settings as run.json and label.json record them.
#[derive(Debug, Serialize)]
pub struct JudgeSettings<'a> {
    /// Where requests go.
    pub endpoint: &'a str,
    /// The critique prompt's version.
    pub prompt_version: &'static str,
    /// The judge model and its sampling.
    pub sampling: &'a Sampling,
    /// Requests in flight at once.
    pub concurrency: usize,
    /// Requests per answer at most.
    pub tries: u32,
    /// Most answers in the ledger.
    pub max_answers: Option<u64>,
    /// Most generated tokens charged in the ledger.
    pub max_generated_tokens: Option<u64>,
}

/// What became of one trajectory.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The judge answered; `bought` is false when the answer was already in the ledger.
    Answered {
        /// The answer as recorded.
        record: AnswerRecord,
        /// Whether it was bought now.
        bought: bool,
    },
    /// No answer came, or none was asked for.
    Unanswered(Unanswered),
}

/// Why a trajectory has no answer.
#[derive(Debug, Clone, PartialEq)]
pub enum Unanswered {
    /// Every try made failed (all of them, or those made before buying stopped); nothing was
    /// recorded, so a rerun asks again.
    Failed(Failure),
    /// Not sent: a cap would have been exceeded.
    OverBudget,
    /// Not sent: an earlier request failed in a way every request would (a wrong key, model
    /// or URL), or its answer could not be recorded.
    Stopped,
}

/// How the requests for a trajectory that got no answer failed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Failure {
    /// The kind of the last failure.
    pub kind: FailureKind,
    /// What the last failure said.
    pub message: String,
    /// Requests sent for the trajectory, retries included.
    pub requests: u32,
}

impl Failure {
    /// The failure `error` ended, after `requests` requests.
    fn after(requests: u32, error: RequestError) -> Self {
        Self {
            kind: error.kind,
            message: error.message,
            requests,
        }
    }
}

impl Outcome {
    /// The label the trajectory got, if any.
    pub fn label(&self) -> Option<actprm_core::ProcessLabel> {
        match self {
            Outcome::Answered { record, .. } => record.label(),
            Outcome::Unanswered(_) => None,
        }
    }

    /// The outcome of an identical trajectory sent alongside this one: the same answer, not
    /// bought, or the same failure, with no request of its own.
    fn for_copy(self) -> Outcome {
        match self {
            Outcome::Answered { record, .. } => Outcome::Answered {
                record,
                bought: false,
            },
            Outcome::Unanswered(Unanswered::Failed(failure)) => {
                Outcome::Unanswered(Unanswered::Failed(Failure {
                    requests: 0,
                    ..failure
                }))
            }
            other => other,
        }
    }
}

/// Buys answers from one judge into one ledger.
pub struct Buyer {
    client: ChatClient,
    policy: BuyingPolicy,
    ledger: Mutex<Ledger>,
    held: Mutex<Held>,
    released: Condvar,
    stopped: Mutex<Option<String>>,
    stopping: AtomicBool,
}

/// Budget held by requests in flight, beside what the ledger has spent.
#[derive(Debug, Default)]
struct Held {
    spent: Spent,
    answers: u64,
    tokens: u64,
}

impl Buyer {
    /// A buyer from `client` into `ledger` under `policy`.
    pub fn new(client: ChatClient, ledger: Ledger, policy: BuyingPolicy) -> Self {
        let held = Held {
            spent: ledger.spent(),
            ..Held::default()
        };
        Self {
            client,
            policy,
            ledger: Mutex::new(ledger),
            held: Mutex::new(held),
            released: Condvar::new(),
            stopped: Mutex::new(None),
            stopping: AtomicBool::new(false),
        }
    }

    /// The judge answers are bought from.
    pub fn client(&self) -> &ChatClient {
        &self.client
    }

    /// The caps and retry settings.
    pub fn policy(&self) -> &BuyingPolicy {
        &self.policy
    }

    /// What decides the answers and how they are bought, for run records (never the key).
    pub fn settings(&self) -> JudgeSettings<'_> {
        JudgeSettings {
            endpoint: self.client.endpoint(),
            prompt_version: PROMPT_VERSION,
            sampling: self.client.sampling(),
            concurrency: self.policy.concurrency,
            tries: self.policy.tries,
            max_answers: self.policy.max_answers,
            max_generated_tokens: self.policy.max_tokens,
        }
    }

    /// What the ledger has spent so far.
    pub fn spent(&self) -> Spent {
        self.held.lock().expect("budget lock").spent
    }

    /// Why buying stopped for good, if it did.
    pub fn stop_reason(&self) -> Option<String> {
        self.stopped.lock().expect("stop lock").clone()
    }

    /// An outcome for every trajectory, in order. Trajectories already in the ledger are not
    /// sent, and identical ones are sent once (see [`Outcome::for_copy`]). `on_outcome` sees
    /// each outcome as it arrives.
    pub fn buy(
        &self,
        trajectories: &[&Trajectory],
        mut on_outcome: impl FnMut(&Outcome),
    ) -> Vec<Outcome> {
        let sampling = self.client.sampling();
        let keys: Vec<String> = trajectories
            .iter()
            .map(|trajectory| answer_key(trajectory, sampling))
            .collect();
        let mut outcomes: Vec<Option<Outcome>> = vec![None; trajectories.len()];
        let mut to_buy: Vec<usize> = Vec::new();
        let mut first_with_key: HashMap<&str, usize> = HashMap::new();
        {
            let ledger = self.ledger.lock().expect("ledger lock");
            for (index, key) in keys.iter().enumerate() {
                if let Some(record) = ledger.get(key) {
                    let outcome = Outcome::Answered {
                        record: record.clone(),
                        bought: false,
                    };
                    on_outcome(&outcome);
                    outcomes[index] = Some(outcome);
                } else if !first_with_key.contains_key(key.as_str()) {
                    first_with_key.insert(key, index);
                    to_buy.push(index);
                }
            }
        }
        let next = AtomicUsize::new(0);
        let (sender, receiver) = mpsc::channel();
        std::thread::scope(|scope| {
            for worker in 0..self.policy.concurrency.min(to_buy.len()) {
                let sender = sender.clone();
                let (next, to_buy, keys) = (&next, &to_buy, &keys);
                scope.spawn(move || {
                    let mut rng = SeededRng::derive(clock_seed(), worker as u64);
                    loop {
                        let slot = next.fetch_add(1, Ordering::Relaxed);
                        let Some(&index) = to_buy.get(slot) else {
                            break;
                        };
                        let outcome = self.buy_one(trajectories[index], &keys[index], &mut rng);
                        if sender.send((index, outcome)).is_err() {
                            break;
                        }
                    }
                });
            }
            drop(sender);
            for (index, outcome) in receiver {
                on_outcome(&outcome);
                outcomes[index] = Some(outcome);
            }
        });
        for (index, key) in keys.iter().enumerate() {
            if outcomes[index].is_none() {
                let first = first_with_key[key.as_str()];
                let outcome = outcomes[first]
                    .clone()
                    .expect("the first of each key was sent")
                    .for_copy();
                on_outcome(&outcome);
                outcomes[index] = Some(outcome);
            }
        }
        outcomes
            .into_iter()
            .map(|outcome| outcome.expect("every trajectory has an outcome"))
            .collect()
    }

    /// Holds budget for one request, sends it (with retries) and records the answer.
    fn buy_one(&self, trajectory: &Trajectory, key: &str, rng: &mut SeededRng) -> Outcome {
        if let Err(unanswered) = self.hold() {
            return Outcome::Unanswered(unanswered);
        }
        let prompt = critique_prompt(&trajectory.question, &trajectory.steps);
        let (answer, attempts) = match self.ask_with_retries(&prompt, rng) {
            Ok(answered) => answered,
            Err(unanswered) => {
                self.release(None);
                return Outcome::Unanswered(unanswered);
            }
        };
        let parsed = if answer.truncated {
            Err(Unusable::Truncated)
        } else {
            parse_verdict(&answer.content, trajectory.num_steps())
        };
        let record = AnswerRecord {
            key: key.to_string(),
            prompt_version: PROMPT_VERSION.to_string(),
            sampling: self.client.sampling().clone(),
            verdict: Verdict::from_parse(parsed),
            answer: answer.content,
            prompt_tokens: answer.prompt_tokens,
            completion_tokens: answer.completion_tokens,
            latency_ms: u64::try_from(answer.latency.as_millis()).unwrap_or(u64::MAX),
            attempts,
        };
        let appended = self
            .ledger
            .lock()
            .expect("ledger lock")
            .append(record.clone());
        self.release(Some(record.charged_tokens()));
        match appended {
            Ok(()) => Outcome::Answered {
                record,
                bought: true,
            },
            Err(error) => {
                let message = format!("{error:#}");
                self.stop(message.clone());
                Outcome::Unanswered(Unanswered::Failed(Failure {
                    kind: FailureKind::NotRecorded,
                    message,
                    requests: attempts,
                }))
            }
        }
    }

    /// Sends `prompt` until an answer comes, a permanent error stops buying, or the tries run
    /// out. When a stop cuts the tries short, the trajectory has failed if a try was made, and
    /// was not sent otherwise.
    fn ask_with_retries(
        &self,
        prompt: &str,
        rng: &mut SeededRng,
    ) -> Result<(Answer, u32), Unanswered> {
        let mut last_failure = None;
        for attempt in 1..=self.policy.tries {
            if self.stopping.load(Ordering::Relaxed) {
                break;
            }
            match self.client.ask(prompt) {
                Ok(answer) => return Ok((answer, attempt)),
                Err(error) if !error.kind.is_transient() => {
                    self.stop(format!("the judge refused a request: {error}"));
                    return Err(Unanswered::Failed(Failure::after(attempt, error)));
                }
                Err(error) => {
                    if attempt < self.policy.tries {
                        let wait = self.policy.backoff.delay(attempt, error.retry_after, rng);
                        std::thread::sleep(wait);
                    }
                    last_failure = Some(Failure::after(attempt, error));
                }
            }
        }
        Err(last_failure.map_or(Unanswered::Stopped, Unanswered::Failed))
    }

    /// Holds one answer and the most tokens one answer may generate, waiting while requests in
    /// flight hold what the caps leave; fails when the caps leave nothing even without them.
    fn hold(&self) -> Result<(), Unanswered> {
        let per_answer = self.client.sampling().max_tokens as u64;
        let mut held = self.held.lock().expect("budget lock");
        loop {
            if self.stopping.load(Ordering::Relaxed) {
                return Err(Unanswered::Stopped);
            }
            let answers_fit = self
                .policy
                .max_answers
                .is_none_or(|cap| held.spent.answers + held.answers < cap);
            let tokens_fit = self
                .policy
                .max_tokens
                .is_none_or(|cap| held.spent.tokens + held.tokens + per_answer <= cap);
            if answers_fit && tokens_fit {
                held.answers += 1;
                held.tokens += per_answer;
                return Ok(());
            }
            if held.answers == 0 {
                return Err(Unanswered::OverBudget);
            }
            held = self.released.wait(held).expect("budget lock");
        }
    }

    /// Gives back what [`Self::hold`] held, charging `tokens` when an answer came.
    fn release(&self, charged_tokens: Option<u64>) {
        let mut held = self.held.lock().expect("budget lock");
        held.answers -= 1;
        held.tokens -= self.client.sampling().max_tokens as u64;
        if let Some(tokens) = charged_tokens {
            held.spent.answers += 1;
            held.spent.tokens += tokens;
        }
        self.released.notify_all();
    }

    fn stop(&self, reason: String) {
        self.stopped
            .lock()
            .expect("stop lock")
            .get_or_insert(reason);
        self.stopping.store(true, Ordering::Relaxed);
        let _held = self.held.lock().expect("budget lock");
        self.released.notify_all();
    }
}

/// A seed for the retry jitter that differs between runs.
fn clock_seed() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_nanos() as u64)
}
