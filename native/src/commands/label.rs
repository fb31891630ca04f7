//! `actprm label`: every trajectory of a file labelled by a language-model judge, bought once.
//!
//! The output directory holds the ledger of answers (appended and synced before use), the
//! rows built from the usable ones (training rows, or stepwise-supervision rows with
//! `--out-format stepwise`), and label.json with the settings and totals. The
//! rows and label.json are rewritten whole at the end; an interrupted run leaves the ledger,
//! and rerunning the command rebuilds both from it without buying anything twice.

use actprm_core::Trajectory;
use actprm_core::data::{stepwise_row_json, training_row_json};
use anyhow::{Result, bail};
use serde::Serialize;

use crate::cli::{DataFormat, LabelArgs, OutFormat};
use crate::data_files::{read_trajectories, resolve_format};
use crate::dir_lock::DirLock;
use crate::identity::file_digest;
use crate::judge::buyer::JudgeSettings;
use crate::judge::tally::Totals;
use crate::judge::{Tally, open_buyer};
use crate::progress;
use crate::run_dir::{write_atomically, write_json_atomically};
use crate::stdout::outln;

/// `actprm label`.
pub fn label(args: &LabelArgs) -> Result<()> {
    let _lock = DirLock::acquire(&args.out)?;
    // Labels the file may carry are what is being bought: a file of training rows is read as
    // unlabelled rows, so that the steps after a stored first error are judged too (the
    // stepwise-supervision reader keeps those steps itself).
    let format = match resolve_format(&args.data, args.format)? {
        DataFormat::Jsonl => DataFormat::Unlabelled,
        other => other,
    };
    let trajectories = read_trajectories(&args.data, format)?;
    if trajectories.is_empty() {
        bail!("{} holds no trajectories", args.data.display());
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

    let row_json = match args.out_format {
        OutFormat::Training => training_row_json,
        OutFormat::Stepwise => stepwise_row_json,
    };
    let mut rows = String::new();
    for (trajectory, outcome) in trajectories.iter().zip(&outcomes) {
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
    write_atomically(&args.out.join("labels.jsonl"), rows.as_bytes())?;
    let spent = buyer.spent();
    let summary = LabelSummary {
        data: args.data.display().to_string(),
        data_sha256: file_digest(&args.data)?,
        judge: buyer.settings(),
        totals: tally.totals(),
        ledger_answers: spent.answers,
        ledger_generated_tokens: spent.tokens,
    };
    write_json_atomically(&args.out.join("label.json"), &summary)?;
    outln!("{}", summary.totals.report())?;
    let kind = match args.out_format {
        OutFormat::Training => "training",
        OutFormat::Stepwise => "stepwise-supervision",
    };
    outln!(
        "labels.jsonl: {} {kind} rows; the ledger holds {} answers, {} generated tokens",
        summary.totals.labelled,
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

/// label.json.
#[derive(Serialize)]
struct LabelSummary<'a> {
    data: String,
    data_sha256: String,
    judge: JudgeSettings<'a>,
    totals: Totals,
    ledger_answers: u64,
    ledger_generated_tokens: u64,
}
