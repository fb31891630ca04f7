//! kept.jsonl: the rows `actprm filter` keeps, appended chunk by chunk and synced, in the
//! training shape or as stepwise-supervision rows.

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Seek, SeekFrom, Write};
use std::path::Path;

use actprm_core::data::StepwiseRow;
use actprm_core::filter::Kept;
use actprm_core::strategy::Choice;
use anyhow::{Context, Result, bail};
use serde::Serialize;

use crate::cli::OutFormat;

/// One line of kept.jsonl: readable back as unlabelled rows, and as training rows when the
/// pool carried labels.
#[derive(Serialize)]
struct KeptRow<'a> {
    index: usize,
    question: &'a str,
    steps: &'a [String],
    /// The stored label up to its first error, when the pool carries labels.
    #[serde(skip_serializing_if = "Option::is_none")]
    hard_labels: Option<Vec<u8>>,
    /// Why it was kept, in words.
    reason: String,
    aleatoric: bool,
    epistemic: bool,
}

/// One line of kept.jsonl with `--out-format stepwise`: a stepwise-supervision row, cut after
/// the trajectory's first error, with the same provenance as [`KeptRow`] (TRL and axolotl ignore
/// the extra fields).
#[derive(Serialize)]
struct KeptStepwiseRow<'a> {
    #[serde(flatten)]
    row: StepwiseRow<'a>,
    index: usize,
    /// Why it was kept, in words.
    reason: String,
    aleatoric: bool,
    epistemic: bool,
}

/// kept.jsonl, cut back to the `length` bytes filter.json accounts for, open for appending.
pub(super) fn open_kept(path: &Path, length: u64) -> Result<BufWriter<File>> {
    let mut file = OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(false)
        .open(path)
        .with_context(|| format!("opening {}", path.display()))?;
    let on_disk = file.metadata()?.len();
    if on_disk < length {
        bail!(
            "{} holds {on_disk} bytes but filter.json accounts for {length}; it was changed \
             since (pass --restart to start again)",
            path.display()
        );
    }
    file.set_len(length)
        .and_then(|()| file.seek(SeekFrom::Start(length)).map(drop))
        .with_context(|| format!("cutting {} back to {length} bytes", path.display()))?;
    Ok(BufWriter::new(file))
}

/// Appends the kept rows in `format`, syncs them to disk, and returns the file's new length.
pub(super) fn append_kept(
    file: &mut BufWriter<File>,
    kept: &[Kept<'_>],
    format: OutFormat,
    path: &Path,
) -> Result<u64> {
    let mut lines = Vec::new();
    for kept in kept {
        let line = match format {
            OutFormat::Training => serde_json::to_vec(&kept_row(kept)),
            OutFormat::Stepwise => serde_json::to_vec(&kept_stepwise_row(kept)?),
        };
        lines.push(line.context("serializing a kept row")?);
    }
    let mut write = || -> std::io::Result<()> {
        for line in &lines {
            file.write_all(line)?;
            file.write_all(b"\n")?;
        }
        file.flush()?;
        file.get_ref().sync_data()
    };
    write().with_context(|| format!("writing {}", path.display()))?;
    Ok(file.stream_position()?)
}

/// Why `kept` was kept: the reason in words, and whether it was aleatoric and epistemic.
fn why_kept(kept: &Kept<'_>) -> (String, bool, bool) {
    match kept.choice {
        Choice::Selected(selection) => (
            selection.reason.to_string(),
            selection.aleatoric,
            selection.epistemic,
        ),
        Choice::Unconditional | Choice::Skip => ("kept whatever the scores".into(), false, false),
    }
}

fn kept_row<'a>(kept: &Kept<'a>) -> KeptRow<'a> {
    let trajectory = kept.trajectory;
    let (reason, aleatoric, epistemic) = why_kept(kept);
    KeptRow {
        index: kept.index,
        question: &trajectory.question,
        steps: &trajectory.steps,
        hard_labels: trajectory
            .label
            .map(|label| label.hard_labels(trajectory.num_steps())),
        reason,
        aleatoric,
        epistemic,
    }
}

/// The stepwise row of `kept`; an error when its trajectory carries no usable label, which the
/// format cannot do without.
fn kept_stepwise_row<'a>(kept: &Kept<'a>) -> Result<KeptStepwiseRow<'a>> {
    let Some(row) = StepwiseRow::of(kept.trajectory) else {
        bail!(
            "pool trajectory {} has no label, and stepwise-supervision rows need one: keep the \
             default --out-format training and label kept.jsonl with `actprm label`",
            kept.index
        );
    };
    let (reason, aleatoric, epistemic) = why_kept(kept);
    Ok(KeptStepwiseRow {
        row,
        index: kept.index,
        reason,
        aleatoric,
        epistemic,
    })
}
