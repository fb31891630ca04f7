//! Stepwise-supervision rows as JSONL, the format TRL's `PRMTrainer` and axolotl's
//! `stepwise_supervised` datasets read: one `{prompt, completions, labels}` object per line,
//! `completions` the solution steps and `labels` one boolean per step, `true` for a correct step.
//!
//! # Mapping to a [`ProcessLabel`]
//!
//! The first `false` is the first error. TRL's convention lets labels go on after it; their values
//! say nothing our labels can hold (a step after the first error is unlabelled), so they must be
//! booleans but are otherwise not looked at. Reading keeps every completion as a step, those after
//! the first error included: [`ProcessLabel::FirstErrorAt`] leaves them unlabelled, as it does the
//! later steps of a ProcessBench item, and the judge (`actprm label`) sees the whole solution.
//! A row whose labels are all `true` is [`ProcessLabel::AllCorrect`].
//!
//! Writing ([`stepwise_row_json`]) needs one label per completion, and our labels stop at the
//! first error, so a row holds the steps up to and including the first error, labelled all `true`
//! then one `false`, and the steps after it are dropped, as [`super::training_row_json`] drops
//! them. Reading a written row back gives the trajectory cut after its first error.
//!
//! Only JSONL is read and written: the Parquet files these datasets are often published as
//! (Hugging Face Hub) are out of scope, as the crate carries no Parquet dependency; convert them
//! first, for example with `datasets`' `to_json`.

use std::io::BufRead;

use serde::Serialize;
use serde_json::Value;

use super::error::{DataError, Problem};
use super::jsonl::JsonlRows;
use super::record::{Record, RecordError, wrong_type};
use crate::trajectory::{ProcessLabel, Trajectory};

/// The stepwise-supervision rows of a JSONL source, read lazily, one labelled [`Trajectory`]
/// per row: `prompt` is its question and `completions` its steps, all of them kept.
///
/// Extra fields are ignored and blank lines skipped; a source with no rows yields an error.
pub struct StepwiseRows<R: BufRead> {
    rows: JsonlRows<R>,
}

impl<R: BufRead> StepwiseRows<R> {
    /// Rows of `reader`; `source` names it in errors (usually the file path).
    pub fn new(source: &str, reader: R) -> Self {
        Self {
            rows: JsonlRows::new(
                source,
                reader,
                "stepwise-supervision rows, one {prompt, completions, labels} object per line",
            ),
        }
    }
}

impl<R: BufRead> Iterator for StepwiseRows<R> {
    type Item = Result<Trajectory, DataError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.rows.next_row(|record| stepwise_row(record).map(Some))
    }
}

/// Reads every stepwise-supervision row of `reader`, stopping at the first error.
pub fn read_stepwise_rows(
    source: &str,
    reader: impl BufRead,
) -> Result<Vec<Trajectory>, DataError> {
    StepwiseRows::new(source, reader).collect()
}

/// The JSON shape of a stepwise-supervision row, borrowed from a labelled trajectory; writers
/// that add fields of their own flatten it into their row.
#[derive(Debug, Serialize)]
pub struct StepwiseRow<'a> {
    /// The question.
    pub prompt: &'a str,
    /// The steps up to and including the first error (every step when all are correct).
    pub completions: &'a [String],
    /// One label per completion: `true` for a correct step, `false` for the first error.
    pub labels: Vec<bool>,
}

impl<'a> StepwiseRow<'a> {
    /// The row of a labelled trajectory, cut after its first error.
    ///
    /// `None` where [`Trajectory::labelled_steps`] is: the rows [`StepwiseRows`] would reject.
    pub fn of(trajectory: &'a Trajectory) -> Option<Self> {
        let completions = trajectory.labelled_steps()?;
        let labels = trajectory
            .label?
            .hard_labels(completions.len())
            .into_iter()
            .map(|label| label == 1)
            .collect();
        Some(Self {
            prompt: &trajectory.question,
            completions,
            labels,
        })
    }
}

/// The stepwise-supervision row of a labelled trajectory as one JSONL line (without the
/// newline).
///
/// `None` when [`StepwiseRow::of`] is: the format needs labels, so an unlabelled trajectory is
/// not written. Steps after the first error are left out, so reading the line back gives the
/// trajectory cut after its first error.
pub fn stepwise_row_json(trajectory: &Trajectory) -> Option<String> {
    let row = StepwiseRow::of(trajectory)?;
    Some(serde_json::to_string(&row).expect("a row of strings and booleans always serializes"))
}

/// The trajectory of one row, every completion kept.
fn stepwise_row(mut record: Record) -> Result<Trajectory, RecordError> {
    let question = record.string("prompt")?;
    let steps = record.steps("completions")?;
    let label = process_label(&record.list("labels")?, steps.len())?;
    Ok(Trajectory {
        question,
        steps,
        label: Some(label),
    })
}

/// The process label that `labels` gives a row of `num_completions` completions: one boolean
/// per completion, the first `false` the first error.
fn process_label(labels: &[Value], num_completions: usize) -> Result<ProcessLabel, RecordError> {
    let field = "labels";
    if labels.len() != num_completions {
        return Err(RecordError::in_field(
            field,
            Problem::NotOneLabelPerCompletion {
                labels: labels.len(),
                completions: num_completions,
            },
        ));
    }
    let mut first_error = None;
    for (index, label) in labels.iter().enumerate() {
        match label.as_bool() {
            Some(correct) => {
                if !correct && first_error.is_none() {
                    first_error = Some(index);
                }
            }
            None => {
                return Err(RecordError::in_field(
                    format!("{field}[{index}]"),
                    wrong_type("true or false", label),
                ));
            }
        }
    }
    Ok(ProcessLabel::from_first_error(first_error))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::test_support::trajectory;

    fn read(text: &str) -> Result<Vec<Trajectory>, DataError> {
        read_stepwise_rows("data/prm.jsonl", text.as_bytes())
    }

    fn error(text: &str) -> String {
        read(text).expect_err("the input is invalid").to_string()
    }

    #[test]
    fn rows_keep_every_completion_and_ignore_extra_fields() {
        let text = concat!(
            r#"{"prompt": "Q", "completions": ["a", "b", "c"], "labels": [true, false, true], "id": 7}"#,
            "\n\n   \n",
            r#"{"prompt": "Q", "completions": ["a", "b"], "labels": [true, true], "extra": {"x": 1}}"#,
            "\n",
            r#"{"prompt": "Q", "completions": ["a", "b"], "labels": [false, false]}"#,
            "\n",
        );
        assert_eq!(
            read(text).expect("valid rows"),
            [
                trajectory(&["a", "b", "c"], ProcessLabel::FirstErrorAt(1)),
                trajectory(&["a", "b"], ProcessLabel::AllCorrect),
                trajectory(&["a", "b"], ProcessLabel::FirstErrorAt(0)),
            ]
        );
    }

    #[test]
    fn a_fully_correct_trajectory_is_written_and_read_whole() {
        let correct = trajectory(&["a", "b", "c"], ProcessLabel::AllCorrect);
        let line = stepwise_row_json(&correct).expect("a labelled trajectory");
        assert_eq!(
            line,
            r#"{"prompt":"Q","completions":["a","b","c"],"labels":[true,true,true]}"#
        );
        assert_eq!(read(&line).expect("a written row"), [correct]);
    }

    #[test]
    fn written_rows_read_back_cut_after_the_first_error() {
        let erroneous = trajectory(
            &["a \"quoted\"\nstep", "b", "c", "d"],
            ProcessLabel::FirstErrorAt(1),
        );
        let at_the_start = trajectory(&["a", "b"], ProcessLabel::FirstErrorAt(0));
        let lines: Vec<String> = [&erroneous, &at_the_start]
            .iter()
            .map(|t| stepwise_row_json(t).expect("a labelled trajectory"))
            .collect();
        assert_eq!(
            lines[0],
            r#"{"prompt":"Q","completions":["a \"quoted\"\nstep","b"],"labels":[true,false]}"#
        );
        assert_eq!(
            lines[1],
            r#"{"prompt":"Q","completions":["a"],"labels":[false]}"#
        );
        assert_eq!(
            read(&lines.join("\n")).expect("written rows"),
            [
                trajectory(&["a \"quoted\"\nstep", "b"], ProcessLabel::FirstErrorAt(1)),
                trajectory(&["a"], ProcessLabel::FirstErrorAt(0)),
            ]
        );
    }

    #[test]
    fn rows_the_reader_would_reject_are_not_written() {
        let labelled = trajectory(&["a"], ProcessLabel::AllCorrect);
        assert_eq!(stepwise_row_json(&labelled.unlabelled()), None);
        assert_eq!(
            stepwise_row_json(&trajectory(&[], ProcessLabel::AllCorrect)),
            None
        );
        assert_eq!(
            stepwise_row_json(&trajectory(&["a"], ProcessLabel::FirstErrorAt(1))),
            None
        );
    }

    #[test]
    fn bad_labels_are_reported_with_line_and_field() {
        let too_few =
            "\n\n{\"prompt\": \"Q\", \"completions\": [\"a\", \"b\"], \"labels\": [false]}";
        assert_eq!(
            error(too_few),
            r#"data/prm.jsonl: line 3: field "labels": 1 labels for 2 completions; a stepwise row has one label per completion"#
        );
        assert_eq!(
            error(r#"{"prompt": "Q", "completions": ["a"], "labels": [true, false]}"#),
            r#"data/prm.jsonl: line 1: field "labels": 2 labels for 1 completions; a stepwise row has one label per completion"#
        );
        assert_eq!(
            error(r#"{"prompt": "Q", "completions": ["a", "b"], "labels": [true, 0]}"#),
            r#"data/prm.jsonl: line 1: field "labels[1]": expected true or false, found the number 0"#
        );
        assert_eq!(
            error(r#"{"prompt": "Q", "completions": ["a", "b"], "labels": [false, "no"]}"#),
            r#"data/prm.jsonl: line 1: field "labels[1]": expected true or false, found a string"#
        );
        assert_eq!(
            error(r#"{"prompt": "Q", "completions": ["a"]}"#),
            r#"data/prm.jsonl: line 1: field "labels": missing (expected a list)"#
        );
    }

    #[test]
    fn bad_rows_are_reported_with_line_and_field() {
        assert_eq!(
            error(
                "{\"prompt\": \"Q\", \"completions\": [\"a\"], \"labels\": [true]}\n{\"prompt\": \"Q\", \"labels\": [true]}"
            ),
            r#"data/prm.jsonl: line 2: field "completions": missing (expected a list)"#
        );
        assert_eq!(
            error(r#"{"completions": ["a"], "labels": [true]}"#),
            r#"data/prm.jsonl: line 1: field "prompt": missing (expected a string)"#
        );
        assert_eq!(
            error(r#"{"prompt": [{"role": "user"}], "completions": ["a"], "labels": [true]}"#),
            r#"data/prm.jsonl: line 1: field "prompt": expected a string, found a list"#
        );
        assert_eq!(
            error(r#"{"prompt": "Q", "completions": ["a", 2], "labels": [true, true]}"#),
            r#"data/prm.jsonl: line 1: field "completions[1]": expected a string, found the number 2"#
        );
        assert_eq!(
            error(r#"{"prompt": "Q", "completions": [], "labels": []}"#),
            r#"data/prm.jsonl: line 1: field "completions": the list is empty; a trajectory needs at least one step"#
        );
    }

    #[test]
    fn an_empty_source_is_an_error() {
        assert_eq!(
            error("\n  \n"),
            "data/prm.jsonl: the file is empty (no records); expected stepwise-supervision rows, one {prompt, completions, labels} object per line"
        );
    }

    #[test]
    fn the_iterator_goes_on_after_an_invalid_row() {
        let text = "not json\n{\"prompt\": \"Q\", \"completions\": [\"a\"], \"labels\": [false]}\n";
        let rows: Vec<_> = StepwiseRows::new("t.jsonl", text.as_bytes()).collect();
        assert_eq!(rows.len(), 2);
        assert!(rows[0].is_err());
        assert_eq!(
            rows[1].as_ref().ok(),
            Some(&trajectory(&["a"], ProcessLabel::FirstErrorAt(0)))
        );
    }
}
