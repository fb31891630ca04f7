//! `actprm label`: every trajectory of a file labelled by a language-model judge, bought once.
//!
//! The output directory holds the ledger of answers (appended and synced before use), the
//! rows built from the usable ones (training rows, or stepwise-supervision rows with
//! `--out-format stepwise`), and label.json with the settings and totals. The
//! rows and label.json are rewritten whole at the end; an interrupted run leaves the ledger,
//! and rerunning the command rebuilds both from it without buying anything twice.
//!
//! With `--shard I/N` only that shard's trajectories are labelled and label.json names the
//! shard; `actprm merge` joins the shards' ledgers and rebuilds the rows from them.

use actprm_core::Trajectory;
use actprm_core::data::{stepwise_row_json, training_row_json};
use anyhow::{Result, bail};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::cli::{DataFormat, LabelArgs, OutFormat};
use crate::data_files::{read_trajectories, resolve_format};
use crate::dir_lock::DirLock;
use crate::identity::file_digest;
use crate::judge::buyer::Outcome;
use crate::judge::tally::Totals;
use crate::judge::{Tally, open_buyer};
use crate::progress;
use crate::run_dir::{write_atomically, write_json_atomically};
use crate::shard::{self, Shard};
use crate::stdout::outln;

/// `actprm label`.
pub fn label(args: &LabelArgs) -> Result<()> {
    let shard = args.shard.resolve()?;
    let _lock = DirLock::acquire(&args.out)?;
    // Labels the file may carry are what is being bought: a file of training rows is read as
    // unlabelled rows, so that the steps after a stored first error are judged too (the
    // stepwise-supervision reader keeps those steps itself).
    let format = match resolve_format(&args.data, args.format)? {
        DataFormat::Jsonl => DataFormat::Unlabelled,
        other => other,
    };
    let (_, trajectories) = shard::owned(read_trajectories(&args.data, format)?, shard);
    match shard {
        None if trajectories.is_empty() => {
            bail!("{} holds no trajectories", args.data.display())
        }
        None => {}
        Some(shard) => eprintln!(
            "{shard}: {} trajectories of {} are this shard's",
            trajectories.len(),
            args.data.display()
        ),
    }
    let buyer = open_buyer(&args.judge, &args.out, args.max_labels)?;
    let client = buyer.client();
    let policy = *buyer.policy();
    eprintln!(
        "labelling {} trajectories of {} with {} at {} ({} at once); the ledger holds {} answers",
        trajectories.len(),
        args.data.display(),
        client.sampling().model,
        client.endpoint(),
        policy.concurrency,
        buyer.spent().answers
    );
    let bar = progress::bar(trajectories.len(), "label");
    let mut tally = Tally::default();
    let sent: Vec<&Trajectory> = trajectories.iter().collect();
    let outcomes = buyer.buy(&sent, |outcome| {
        tally.add(outcome);
        bar.inc(1);
        bar.set_message(tally.progress_message());
    });
    bar.finish();

    let spent = buyer.spent();
    let summary = LabelSummary {
        data: args.data.display().to_string(),
        data_sha256: file_digest(&args.data)?,
        format: format.name().to_string(),
        out_format: args.out_format,
        shard,
        judge: serde_json::to_value(buyer.settings())?,
        totals: tally.totals(),
        ledger_answers: spent.answers,
        ledger_generated_tokens: spent.tokens,
    };
    let rows = label_rows(&trajectories, &outcomes, args.out_format);
    write_atomically(&args.out.join(LABEL_ROWS), rows.as_bytes())?;
    write_json_atomically(&args.out.join(LABEL_SUMMARY), &summary)?;
    outln!("{}", summary.totals.report())?;
    outln!(
        "labels.jsonl: {} {} rows; the ledger holds {} answers, {} generated tokens",
        summary.totals.labelled,
        summary.out_format.rows_named(),
        spent.answers,
        spent.tokens
    )?;
    tally.ensure_answered()?;
    if let Some(reason) = buyer.stop_reason() {
        bail!("labelling stopped: {reason}. Every answer bought so far is in the ledger");
    }
    if let Some(warning) = tally.failure_warning() {
        eprintln!("warning: {warning}");
    }
    Ok(())
}

/// labels.jsonl: a row in `format` for each trajectory whose outcome gives a label, in order.
pub fn label_rows(trajectories: &[Trajectory], outcomes: &[Outcome], format: OutFormat) -> String {
    let row_json = match format {
        OutFormat::Training => training_row_json,
        OutFormat::Stepwise => stepwise_row_json,
    };
    let mut rows = String::new();
    for (trajectory, outcome) in trajectories.iter().zip(outcomes) {
        if let Some(label) = outcome.label() {
            let labelled = Trajectory {
                label: Some(label),
                ..trajectory.clone()
            };
            if let Some(row) = row_json(&labelled) {
                rows.push_str(&row);
                rows.push('\n');
            }
        }
    }
    rows
}

/// The rows of the usable answers, in a label output directory.
pub const LABEL_ROWS: &str = "labels.jsonl";
/// The settings and totals, in a label output directory.
pub const LABEL_SUMMARY: &str = "label.json";

/// label.json.
#[derive(Debug, Serialize, Deserialize)]
pub struct LabelSummary {
    /// The labelled file, as named.
    pub data: String,
    /// Its SHA-256.
    pub data_sha256: String,
    /// The format it was read in, as `--format` names it.
    pub format: String,
    /// labels.jsonl's format.
    pub out_format: OutFormat,
    /// The shard labelled, when the file was split.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<Shard>,
    /// The judge and how it was asked.
    pub judge: Value,
    /// What became of the trajectories.
    pub totals: Totals,
    /// Answers the ledger holds.
    pub ledger_answers: u64,
    /// Generated tokens the ledger's answers were charged.
    pub ledger_generated_tokens: u64,
}
