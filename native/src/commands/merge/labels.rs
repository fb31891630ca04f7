//! Ledgers of `label --shard` joined, each answer once, and labels.jsonl and label.json rebuilt
//! from them and the labelled file, as a rerun of `label` does.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use actprm_core::Trajectory;
use actprm_core::whole_dir::write_whole_dir;
use anyhow::{Context, Result, bail};
use clap::ValueEnum;
use serde_json::{Value, json};

use super::parts::{Part, in_shard_order};
use crate::cli::{DataFormat, MergeArgs};
use crate::commands::label::{LABEL_ROWS, LABEL_SUMMARY, LabelSummary, label_rows};
use crate::data_files::read_trajectories;
use crate::identity::file_digest;
use crate::judge::Tally;
use crate::judge::buyer::Outcome;
use crate::judge::client::Sampling;
use crate::judge::ledger::{AnswerRecord, LEDGER_FILE, answer_key, read_records};
use crate::stdout::outln;

/// What every shard of one labelling must share: the labelled file, how it was read and
/// written, and what decides the answers (not where the judge was served).
fn label_settings(summary: &LabelSummary) -> Value {
    json!({
        "data_sha256": summary.data_sha256,
        "format": summary.format,
        "out_format": summary.out_format,
        "prompt_version": summary.judge["prompt_version"],
        "sampling": summary.judge["sampling"],
    })
}

/// `actprm merge` of `label` output directories.
pub(super) fn merge(args: &MergeArgs) -> Result<()> {
    let mut parts = Vec::new();
    for dir in &args.shards {
        let summary_path = dir.join(LABEL_SUMMARY);
        let text = std::fs::read_to_string(&summary_path)
            .with_context(|| format!("reading {}", summary_path.display()))?;
        let summary: LabelSummary = serde_json::from_str(&text)
            .with_context(|| format!("reading {}", summary_path.display()))?;
        let Some(shard) = summary.shard else {
            bail!(
                "{} was made without --shard: it is a whole file's `label` output already",
                dir.display()
            );
        };
        let totals = &summary.totals;
        let unanswered = totals.failed + totals.over_budget + totals.stopped;
        if unanswered > 0 {
            bail!(
                "{} left {unanswered} of its {} trajectories without an answer: rerun that \
                 shard's `label` until every one is answered",
                dir.display(),
                totals.trajectories
            );
        }
        let ledger_path = dir.join(LEDGER_FILE);
        if !ledger_path.is_file() {
            bail!(
                "{}: no {LEDGER_FILE} (a shard labelled with --judge-ledger keeps it elsewhere: \
                 copy it here)",
                dir.display()
            );
        }
        parts.push(Part {
            path: dir.clone(),
            shard,
            settings: label_settings(&summary),
            output: (summary, read_records(&ledger_path)?),
        });
    }
    let parts = in_shard_order(parts)?;

    // The ledgers joined, each answer once.
    let mut ledger: HashMap<String, AnswerRecord> = HashMap::new();
    let mut ledger_lines = Vec::new();
    for part in &parts {
        for record in &part.output.1 {
            if !ledger.contains_key(&record.key) {
                serde_json::to_writer(&mut ledger_lines, record)?;
                ledger_lines.push(b'\n');
                ledger.insert(record.key.clone(), record.clone());
            }
        }
    }

    let first = &parts[0].output.0;
    let data = PathBuf::from(&first.data);
    let digest = file_digest(&data).with_context(|| {
        format!(
            "the shards labelled {}, which the merge reads to put the rows back in order",
            data.display()
        )
    })?;
    if digest != first.data_sha256 {
        bail!(
            "{} changed since it was labelled (SHA-256 {digest}, the shards recorded {})",
            data.display(),
            first.data_sha256
        );
    }
    let format = DataFormat::from_str(&first.format, true).map_err(anyhow::Error::msg)?;
    let sampling: Sampling = serde_json::from_value(first.judge["sampling"].clone())
        .context("reading the judge's sampling settings from label.json")?;
    let trajectories = read_trajectories(&data, format)?;
    let outcomes = answered(&trajectories, &ledger, &sampling, &data)?;
    let mut tally = Tally::default();
    for outcome in &outcomes {
        tally.add(outcome);
    }
    let rows = label_rows(&trajectories, &outcomes, first.out_format);
    let summary = LabelSummary {
        data: first.data.clone(),
        data_sha256: first.data_sha256.clone(),
        format: first.format.clone(),
        out_format: first.out_format,
        shard: None,
        judge: first.judge.clone(),
        totals: tally.totals(),
        ledger_answers: ledger.len() as u64,
        ledger_generated_tokens: ledger.values().map(AnswerRecord::charged_tokens).sum(),
    };
    let summary_json = serde_json::to_string_pretty(&summary)?;
    write_whole_dir(
        &args.out,
        &[
            (LEDGER_FILE, &ledger_lines),
            (LABEL_ROWS, rows.as_bytes()),
            (LABEL_SUMMARY, summary_json.as_bytes()),
        ],
    )?;
    outln!(
        "merged {} shards: {} labelled of {} trajectories; the ledger holds {} answers",
        parts.len(),
        summary.totals.labelled,
        summary.totals.trajectories,
        summary.ledger_answers
    )?;
    Ok(())
}

/// Each trajectory's answer from `ledger`, as one unsharded `label` would have had it: the
/// first of identical trajectories bought, the others reused.
fn answered(
    trajectories: &[Trajectory],
    ledger: &HashMap<String, AnswerRecord>,
    sampling: &Sampling,
    data: &Path,
) -> Result<Vec<Outcome>> {
    let mut seen = HashSet::new();
    trajectories
        .iter()
        .enumerate()
        .map(|(index, trajectory)| {
            let key = answer_key(trajectory, sampling);
            let Some(record) = ledger.get(&key) else {
                bail!(
                    "trajectory {index} of {} has no answer in any shard's ledger: a shard's \
                     ledger is missing or was replaced",
                    data.display()
                );
            };
            Ok(Outcome::Answered {
                record: record.clone(),
                bought: seen.insert(key),
            })
        })
        .collect()
}
