//! `actprm merge`: the outputs of `score`, `filter` or `label` run on every shard of a pool
//! joined into what the unsharded command writes (docs/scale.md).
//!
//! Every shard records which shard it is and what it was made from. The merge refuses a
//! missing or repeated shard, shards of different counts, settings, checkpoints or pools, and
//! a shard that did not finish, naming which. Score lines and kept rows carry their index in
//! the whole pool and are put back in pool order; a label merge joins the ledgers (an answer is
//! counted once) and rebuilds labels.jsonl and label.json from them and the labelled file, as
//! a rerun of `label` does. The joined output is built in memory and written whole.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use actprm_core::Trajectory;
use actprm_core::filter::FilterTally;
use actprm_core::whole_dir::{write_whole_dir, write_whole_file};
use anyhow::{Context, Result, bail};
use clap::ValueEnum;
use serde::Deserialize;
use serde_json::{Value, json};

use super::filter::{FilterState, KEPT_ROWS, STATE_FILE, read_state};
use super::label::{LABEL_ROWS, LABEL_SUMMARY, LabelSummary, label_rows};
use super::score::{ScoreShard, remove_stale, shard_manifest_path};
use crate::cli::{DataFormat, MergeArgs};
use crate::data_files::read_trajectories;
use crate::identity::{differences, file_digest};
use crate::judge::Tally;
use crate::judge::buyer::Outcome;
use crate::judge::client::Sampling;
use crate::judge::ledger::{AnswerRecord, LEDGER_FILE, answer_key, read_records};
use crate::shard::Shard;
use crate::stdout::outln;

/// `actprm merge`.
pub fn merge(args: &MergeArgs) -> Result<()> {
    for shard in &args.shards {
        if same_path(shard, &args.out) {
            bail!(
                "--out {} is one of the shards: write the merge elsewhere",
                args.out.display()
            );
        }
    }
    match Kind::of(&args.shards[0])? {
        Kind::Score => merge_scores(args),
        Kind::Filter => merge_filtering(args),
        Kind::Label => merge_labels(args),
    }
}

/// What made a shard's output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Score,
    Filter,
    Label,
}

impl Kind {
    /// The command whose shard output `path` is.
    fn of(path: &Path) -> Result<Self> {
        if path.join(STATE_FILE).is_file() {
            Ok(Kind::Filter)
        } else if path.join(LABEL_SUMMARY).is_file() {
            Ok(Kind::Label)
        } else if path.is_file() {
            Ok(Kind::Score)
        } else {
            bail!(
                "{}: neither a `score --out` file nor a `filter` or `label` output directory",
                path.display()
            )
        }
    }

    fn command(self) -> &'static str {
        match self {
            Kind::Score => "score",
            Kind::Filter => "filter",
            Kind::Label => "label",
        }
    }
}

/// One shard's output: where it is, which shard, and the settings every shard must share.
struct Part<T> {
    path: PathBuf,
    shard: Shard,
    settings: Value,
    output: T,
}

/// `parts` in shard order, once checked to be every shard of one count, each once, all made
/// with the same settings.
fn in_shard_order<T>(mut parts: Vec<Part<T>>) -> Result<Vec<Part<T>>> {
    let first = &parts[0];
    for part in &parts[1..] {
        if part.shard.count != first.shard.count {
            bail!(
                "{} is {} but {} is {}: merge the shards of one split",
                first.path.display(),
                first.shard,
                part.path.display(),
                part.shard
            );
        }
        if part.settings != first.settings {
            bail!(
                "{} and {} were made from different inputs or settings:\n{}",
                first.path.display(),
                part.path.display(),
                differences(&first.settings, &part.settings)
            );
        }
    }
    parts.sort_by_key(|part| part.shard.index);
    for pair in parts.windows(2) {
        if pair[0].shard.index == pair[1].shard.index {
            bail!(
                "{} and {} are both {}",
                pair[0].path.display(),
                pair[1].path.display(),
                pair[0].shard
            );
        }
    }
    let count = parts[0].shard.count;
    let present: Vec<usize> = parts.iter().map(|part| part.shard.index).collect();
    let missing: Vec<String> = (0..count)
        .filter(|index| present.binary_search(index).is_err())
        .map(|index| index.to_string())
        .collect();
    if !missing.is_empty() {
        bail!(
            "shard{} {} of {count} {} missing: run {} and name {} too",
            if missing.len() == 1 { "" } else { "s" },
            missing.join(", "),
            if missing.len() == 1 { "is" } else { "are" },
            if missing.len() == 1 { "it" } else { "them" },
            if missing.len() == 1 {
                "its output"
            } else {
                "their outputs"
            },
        );
    }
    Ok(parts)
}

/// The shard a command's recorded settings name, and those settings without it.
fn split_off_shard(path: &Path, mut settings: Value, kind: Kind) -> Result<(Shard, Value)> {
    let shard = settings
        .as_object_mut()
        .and_then(|settings| settings.remove("shard"))
        .with_context(|| {
            format!(
                "{} was made without --shard: it is a whole pool's `{}` output already",
                path.display(),
                kind.command()
            )
        })?;
    let shard = serde_json::from_value(shard)
        .with_context(|| format!("{}: its recorded shard does not read", path.display()))?;
    Ok((shard, settings))
}

/// The JSON lines of every file (its path and bytes), each line carrying its pool `index`,
/// joined in pool order; an index found twice is refused.
fn join_in_pool_order<'a>(files: impl IntoIterator<Item = (PathBuf, &'a [u8])>) -> Result<Vec<u8>> {
    #[derive(Deserialize)]
    struct Indexed {
        index: usize,
    }
    let mut lines: Vec<(usize, &[u8], usize)> = Vec::new();
    let mut paths = Vec::new();
    for (file, (path, bytes)) in files.into_iter().enumerate() {
        for (number, line) in bytes.split_inclusive(|&byte| byte == b'\n').enumerate() {
            let Indexed { index } = serde_json::from_slice(line).with_context(|| {
                format!(
                    "{}:{}: not a line with its pool index",
                    path.display(),
                    number + 1
                )
            })?;
            lines.push((index, line, file));
        }
        paths.push(path);
    }
    lines.sort_by_key(|&(index, ..)| index);
    if let Some(pair) = lines.windows(2).find(|pair| pair[0].0 == pair[1].0) {
        bail!(
            "pool trajectory {} is in both {} and {}: the shards overlap",
            pair[0].0,
            paths[pair[0].2].display(),
            paths[pair[1].2].display()
        );
    }
    Ok(lines
        .into_iter()
        .flat_map(|(_, line, _)| line)
        .copied()
        .collect())
}

fn merge_scores(args: &MergeArgs) -> Result<()> {
    let mut parts = Vec::new();
    for path in &args.shards {
        let manifest_path = shard_manifest_path(path);
        let text = std::fs::read_to_string(&manifest_path).with_context(|| {
            format!(
                "{} has no {} beside it: it is not the output of `score --shard`, or that \
                 shard did not finish",
                path.display(),
                manifest_path.display()
            )
        })?;
        let manifest: ScoreShard = serde_json::from_str(&text)
            .with_context(|| format!("reading {}", manifest_path.display()))?;
        let lines = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        let found = lines.iter().filter(|&&byte| byte == b'\n').count();
        if found != manifest.lines || lines.last().is_some_and(|&byte| byte != b'\n') {
            bail!(
                "{} holds {found} lines but {} records {}: it was changed since",
                path.display(),
                manifest_path.display(),
                manifest.lines
            );
        }
        parts.push(Part {
            path: path.clone(),
            shard: manifest.shard,
            settings: manifest.settings,
            output: lines,
        });
    }
    let parts = in_shard_order(parts)?;
    let joined = join_in_pool_order(
        parts
            .iter()
            .map(|part| (part.path.clone(), part.output.as_slice())),
    )?;
    write_whole_file(&args.out, &joined)?;
    remove_stale(&shard_manifest_path(&args.out))?;
    outln!(
        "merged {} shards' score lines into {}",
        parts.len(),
        args.out.display()
    )?;
    Ok(())
}

fn merge_filtering(args: &MergeArgs) -> Result<()> {
    let mut parts = Vec::new();
    for dir in &args.shards {
        let state_path = dir.join(STATE_FILE);
        let Some(state) = read_state(&state_path)? else {
            bail!(
                "{}: no {STATE_FILE}: not a `filter` output directory",
                dir.display()
            );
        };
        if !state.complete {
            bail!(
                "{} is unfinished ({} trajectories scored): rerun that shard's `filter` to \
                 finish it",
                dir.display(),
                state.tally.scored
            );
        }
        let (shard, settings) = split_off_shard(dir, state.settings.clone(), Kind::Filter)?;
        let kept_path = dir.join(KEPT_ROWS);
        let mut kept = std::fs::read(&kept_path)
            .with_context(|| format!("reading {}", kept_path.display()))?;
        let recorded = usize::try_from(state.kept_bytes).unwrap_or(usize::MAX);
        if kept.len() < recorded {
            bail!(
                "{} holds {} bytes but {STATE_FILE} accounts for {recorded}: it was changed since",
                kept_path.display(),
                kept.len()
            );
        }
        kept.truncate(recorded);
        parts.push(Part {
            path: dir.clone(),
            shard,
            settings,
            output: (state, kept),
        });
    }
    let parts = in_shard_order(parts)?;
    let joined = join_in_pool_order(
        parts
            .iter()
            .map(|part| (part.path.join(KEPT_ROWS), part.output.1.as_slice())),
    )?;
    let mut tally = FilterTally::default();
    let mut judge_tokens = 0;
    for part in &parts {
        tally.add(&part.output.0.tally);
        judge_tokens += part.output.0.judge_tokens;
    }
    let state = FilterState {
        settings: parts[0].settings.clone(),
        inputs: parts[0].output.0.inputs.clone(),
        retained_fraction: tally.retained_fraction(),
        tally,
        kept_bytes: joined.len() as u64,
        complete: true,
        judge_tokens,
    };
    let state_json = serde_json::to_string_pretty(&state)?;
    write_whole_dir(
        &args.out,
        &[(KEPT_ROWS, &joined), (STATE_FILE, state_json.as_bytes())],
    )?;
    outln!(
        "merged {} shards: kept {} of {} trajectories in {}",
        parts.len(),
        state.tally.kept,
        state.tally.scored,
        args.out.join(KEPT_ROWS).display()
    )?;
    Ok(())
}

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

fn merge_labels(args: &MergeArgs) -> Result<()> {
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
    let mut seen = std::collections::HashSet::new();
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

/// Whether `a` and `b` name the same file or directory.
fn same_path(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}
