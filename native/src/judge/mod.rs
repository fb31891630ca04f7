//! A language-model judge served behind an OpenAI-compatible chat-completions API: the client,
//! its retries, the ledger of answers bought, the buyer that sends many requests at once under
//! caps on answers and tokens, and the judge in the loop of a pool pass.

pub mod buyer;
pub mod client;
pub mod ledger;
pub mod retry;
pub mod served;
pub mod tally;

use std::path::Path;

use anyhow::{Result, bail};

pub use buyer::{Buyer, BuyingPolicy};
pub use client::ChatClient;
pub use ledger::Ledger;
pub use served::ServedJudge;
pub use tally::Tally;

use crate::cli::JudgeArgs;
use retry::Backoff;

/// The buyer `args` describe, recording into their ledger (by default ledger.jsonl in
/// `out_dir`), with at most `max_answers` answers in it.
pub fn open_buyer(args: &JudgeArgs, out_dir: &Path, max_answers: Option<usize>) -> Result<Buyer> {
    if let Some(cap) = args.max_judge_tokens
        && cap < args.judge_max_tokens
    {
        bail!(
            "--max-judge-tokens {cap} is below --judge-max-tokens {}: each request holds the \
             most tokens its answer may take, so none could be sent",
            args.judge_max_tokens
        );
    }
    let policy = BuyingPolicy {
        concurrency: args.judge_concurrency,
        tries: u32::try_from(args.judge_tries).unwrap_or(u32::MAX),
        backoff: Backoff {
            first: args.judge_backoff,
            ..Backoff::default()
        },
        max_answers: max_answers.map(|cap| cap as u64),
        max_tokens: args.max_judge_tokens.map(|cap| cap as u64),
    };
    let client = ChatClient::new(args)?;
    let ledger_path = args
        .judge_ledger
        .clone()
        .unwrap_or_else(|| out_dir.join(ledger::LEDGER_FILE));
    let ledger = Ledger::open(&ledger_path)?;
    Ok(Buyer::new(client, ledger, policy))
}
