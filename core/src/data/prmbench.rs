//! PRMBench as JSONL: one modified solution per line, `{idx, classification, modified_question,
//! modified_process, error_steps (1-based), original_question, original_process, ...}`.
//!
//! Items are built as PRMBench's own loader builds them: one per (classification, idx) pair,
//! scored on its modified solution against its error steps, plus, for every idx of the
//! `redundency` class, one item of the original solution with no error step (classification
//! `correct`).

use std::collections::HashSet;
use std::io::BufRead;

use super::error::DataError;
use super::jsonl::JsonlRows;
use super::record::{Record, RecordError, wrong_type};
use crate::trajectory::Trajectory;

/// The classification whose idx also gives an item of the original, error-free solution.
const CORRECT_SAMPLE_SOURCE: &str = "redundency";

/// The classification of those error-free items.
pub const CORRECT_CLASSIFICATION: &str = "correct";

/// One PRMBench item.
#[derive(Debug, Clone, PartialEq)]
pub struct PrmBenchItem {
    /// `{classification}_{idx}`.
    pub id: String,
    /// The error class (`circular`, `confidence`, ... or `correct`).
    pub classification: String,
    /// The question and solution steps, without a process label: PRMBench labels every step
    /// (steps after an error can be valid), which a first-error label cannot say.
    pub trajectory: Trajectory,
    /// 0-based indices of the erroneous steps.
    pub error_steps: Vec<usize>,
    /// The `error_steps` numbers that name no step of the solution (0, negative, or past its
    /// last step): they mark no step, as in PRMBench's own evaluation, and are kept here to be
    /// counted and reported.
    pub ignored_error_steps: Vec<i64>,
}

/// The items of a PRMBench source, and the rows that gave none.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PrmBench {
    /// One per (classification, idx), from its first row.
    pub items: Vec<PrmBenchItem>,
    /// The id of every row that repeated an earlier row's (classification, idx), in file
    /// order: PRMBench's own loader keeps one item per id, so these rows are not scored.
    pub repeated: Vec<String>,
}

/// Reads a PRMBench JSONL source, stopping at the first invalid row.
pub fn read_prmbench(source: &str, reader: impl BufRead) -> Result<PrmBench, DataError> {
    let mut rows = JsonlRows::new(
        source,
        reader,
        "PRMBench rows, one {idx, classification, modified_question, modified_process, \
         error_steps, ...} object per line",
    );
    let mut seen = HashSet::new();
    let mut read = PrmBench::default();
    while let Some(row) = rows.next_row(|record| prmbench_row(record).map(Some)) {
        let row = row?;
        let own_id = row.last().map(|item| item.id.clone());
        let mut gave_its_item = false;
        for item in row {
            let is_own = Some(&item.id) == own_id.as_ref();
            if seen.insert(item.id.clone()) {
                gave_its_item |= is_own;
                read.items.push(item);
            }
        }
        if !gave_its_item && let Some(id) = own_id {
            read.repeated.push(id);
        }
    }
    Ok(read)
}

/// The item of one row, preceded by its original solution's item for the `redundency` class.
fn prmbench_row(mut record: Record) -> Result<Vec<PrmBenchItem>, RecordError> {
    let idx = record.string("idx")?;
    let classification = record.string("classification")?;
    let mut items = Vec::with_capacity(2);
    if classification == CORRECT_SAMPLE_SOURCE {
        items.push(PrmBenchItem {
            id: format!("{CORRECT_CLASSIFICATION}_{idx}"),
            classification: CORRECT_CLASSIFICATION.to_string(),
            trajectory: Trajectory {
                question: record.string("original_question")?,
                steps: record.steps("original_process")?,
                label: None,
            },
            error_steps: Vec::new(),
            ignored_error_steps: Vec::new(),
        });
    }
    let steps = record.steps("modified_process")?;
    let (error_steps, ignored_error_steps) =
        error_steps(&record.list("error_steps")?, steps.len())?;
    items.push(PrmBenchItem {
        id: format!("{classification}_{idx}"),
        classification,
        trajectory: Trajectory {
            question: record.string("modified_question")?,
            steps,
            label: None,
        },
        error_steps,
        ignored_error_steps,
    });
    Ok(items)
}

/// The 1-based `error_steps` as 0-based indices, and apart the numbers outside the solution
/// (the benchmark has about a hundred rows of them, left from before its solutions were
/// shortened), which mark no step, as in PRMBench's own evaluation.
fn error_steps(
    values: &[serde_json::Value],
    num_steps: usize,
) -> Result<(Vec<usize>, Vec<i64>), RecordError> {
    let mut steps = Vec::with_capacity(values.len());
    let mut ignored = Vec::new();
    for (index, value) in values.iter().enumerate() {
        let step = value.as_i64().ok_or_else(|| {
            RecordError::in_field(
                format!("error_steps[{index}]"),
                wrong_type("an integer", value),
            )
        })?;
        if (1..=num_steps as i64).contains(&step) {
            steps.push(step as usize - 1);
        } else {
            ignored.push(step);
        }
    }
    Ok((steps, ignored))
}

#[cfg(test)]
mod tests {

    use super::*;

    fn row(idx: &str, classification: &str, error_steps: &str) -> String {
        format!(
            r#"{{"idx": "{idx}", "classification": "{classification}", "modified_question": "Q'", "modified_process": ["a", "b", "c"], "error_steps": {error_steps}, "original_question": "Q", "original_process": ["a", "b"]}}"#
        )
    }

    #[test]
    fn items_follow_the_official_loader() {
        let text = [
            row("p1", "redundency", "[2]"),
            row("p1", "circular", "[1, 3]"),
            row("p1", "circular", "[1]"),
            row("p2", "redundency", "[3]"),
        ]
        .join("\n");
        let read = read_prmbench("prmbench.jsonl", text.as_bytes()).unwrap();
        let items = read.items;
        let ids: Vec<&str> = items.iter().map(|item| item.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "correct_p1",
                "redundency_p1",
                "circular_p1",
                "correct_p2",
                "redundency_p2"
            ],
            "one item per (classification, idx), the first row wins"
        );
        assert_eq!(
            read.repeated,
            ["circular_p1"],
            "the row that gave none is named"
        );
        assert_eq!(items[0].trajectory.steps, ["a", "b"]);
        assert!(items[0].error_steps.is_empty());
        assert_eq!(items[2].error_steps, [0, 2]);
        assert_eq!(items[2].trajectory.question, "Q'");
    }

    #[test]
    fn step_numbers_outside_the_solution_mark_no_step() {
        let items = read_prmbench(
            "prmbench.jsonl",
            row("p1", "circular", "[0, 2, 4, -5, 99]").as_bytes(),
        )
        .unwrap()
        .items;
        assert_eq!(items[0].error_steps, [1]);
        assert_eq!(items[0].ignored_error_steps, [0, 4, -5, 99]);
        let error = read_prmbench(
            "prmbench.jsonl",
            row("p1", "circular", "[\"2\"]").as_bytes(),
        )
        .unwrap_err()
        .to_string();
        assert_eq!(
            error,
            r#"prmbench.jsonl: line 1: field "error_steps[0]": expected an integer, found a string"#
        );
    }
}
