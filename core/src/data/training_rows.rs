//! Training rows as JSONL, one `{question, steps, hard_labels}` object per line, and the writer
//! that produces them.
//!
//! `hard_labels` holds one 0/1 label per scored step; the first 0 is the first error. Steps
//! after it stay in the trajectory, unlabelled: `score` and `filter` read the whole solution,
//! while the loss and the metrics stop at the first error.

use std::io::BufRead;

use serde::Serialize;
use serde_json::Value;

use super::error::{DataError, Problem};
use super::jsonl::JsonlRows;
use super::record::{Record, RecordError, wrong_type};
use crate::trajectory::{ProcessLabel, Trajectory};

/// The training rows of a JSONL source, read lazily, one labelled [`Trajectory`] per row.
///
/// Extra fields are ignored and blank lines skipped; a source with no rows yields an error.
pub struct TrainingRows<R: BufRead> {
    rows: JsonlRows<R>,
}

impl<R: BufRead> TrainingRows<R> {
    /// Rows of `reader`; `source` names it in errors (usually the file path).
    pub fn new(source: &str, reader: R) -> Self {
        Self {
            rows: JsonlRows::new(
                source,
                reader,
                "training rows, one {question, steps, hard_labels} object per line",
            ),
        }
    }
}

impl<R: BufRead> Iterator for TrainingRows<R> {
    type Item = Result<Trajectory, DataError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.rows.next_row(|record| training_row(record).map(Some))
    }
}

/// Reads every training row of `reader`, stopping at the first error.
pub fn read_training_rows(
    source: &str,
    reader: impl BufRead,
) -> Result<Vec<Trajectory>, DataError> {
    TrainingRows::new(source, reader).collect()
}

/// The training row of a labelled trajectory as one JSONL line (without the newline).
///
/// `None` where [`Trajectory::labelled_steps`] is: the rows [`TrainingRows`] would reject.
/// Steps after the first error are left out, so reading the line back gives the trajectory cut
/// after its first error.
pub fn training_row_json(trajectory: &Trajectory) -> Option<String> {
    let steps = trajectory.labelled_steps()?;
    let row = TrainingRow {
        question: &trajectory.question,
        steps,
        hard_labels: trajectory.label?.hard_labels(steps.len()),
    };
    Some(serde_json::to_string(&row).expect("a row of strings and integers always serializes"))
}

/// The JSON shape of a training row, borrowed from a trajectory.
#[derive(Serialize)]
struct TrainingRow<'a> {
    question: &'a str,
    steps: &'a [String],
    hard_labels: Vec<u8>,
}

/// The trajectory of one training row, every step kept.
fn training_row(mut record: Record) -> Result<Trajectory, RecordError> {
    let question = record.string("question")?;
    let steps = record.steps("steps")?;
    let label = process_label(&record.list("hard_labels")?, steps.len())?;
    Ok(Trajectory {
        question,
        steps,
        label: Some(label),
    })
}

/// The process label that `hard_labels` gives a row of `num_steps` steps; labels after the
/// first 0 are not looked at.
fn process_label(hard_labels: &[Value], num_steps: usize) -> Result<ProcessLabel, RecordError> {
    let field = "hard_labels";
    if hard_labels.len() > num_steps {
        return Err(RecordError::in_field(
            field,
            Problem::TooManyLabels {
                labels: hard_labels.len(),
                steps: num_steps,
            },
        ));
    }
    for (index, label) in hard_labels.iter().enumerate() {
        match label.as_i64() {
            Some(1) => {}
            Some(0) => return Ok(ProcessLabel::FirstErrorAt(index)),
            Some(other) => {
                return Err(RecordError::in_field(
                    field,
                    Problem::LabelOutOfRange(other),
                ));
            }
            None => {
                return Err(RecordError::in_field(
                    format!("{field}[{index}]"),
                    wrong_type("0 or 1", label),
                ));
            }
        }
    }
    if hard_labels.len() < num_steps {
        return Err(RecordError::in_field(
            field,
            Problem::MissingLabels {
                labels: hard_labels.len(),
                steps: num_steps,
            },
        ));
    }
    Ok(ProcessLabel::AllCorrect)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::test_support::trajectory;

    fn read(text: &str) -> Result<Vec<Trajectory>, DataError> {
        read_training_rows("data/train.jsonl", text.as_bytes())
    }

    fn error(text: &str) -> String {
        read(text).expect_err("the input is invalid").to_string()
    }

    #[test]
    fn rows_keep_the_steps_after_the_first_error() {
        let text = concat!(
            r#"{"question": "Q", "steps": ["a", "b", "c"], "hard_labels": [1, 0, 1], "extra": 7}"#,
            "\n\n   \n",
            r#"{"question": "Q", "steps": ["a", "b"], "hard_labels": [1, 1]}"#,
            "\n",
            r#"{"question": "Q", "steps": ["a", "b"], "hard_labels": [0, "ignored"]}"#,
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
    fn a_byte_order_mark_is_not_part_of_the_first_row() {
        let text = "\u{feff}{\"question\": \"Q\", \"steps\": [\"a\"], \"hard_labels\": [1]}\n";
        assert_eq!(
            read(text).expect("a valid row"),
            [trajectory(&["a"], ProcessLabel::AllCorrect)]
        );
    }

    #[test]
    fn bad_labels_are_reported_with_line_and_field() {
        let out_of_range = "\n\n{\"question\": \"Q\", \"steps\": [\"a\"], \"hard_labels\": [2]}";
        assert_eq!(
            error(out_of_range),
            r#"data/train.jsonl: line 3: field "hard_labels": label 2 is out of range (expected 0 or 1)"#
        );
        assert_eq!(
            error(r#"{"question": "Q", "steps": ["a"], "hard_labels": [1, 0]}"#),
            r#"data/train.jsonl: line 1: field "hard_labels": 2 labels for 1 steps; there is at most one label per step"#
        );
        assert_eq!(
            error(r#"{"question": "Q", "steps": ["a", "b"], "hard_labels": [1]}"#),
            r#"data/train.jsonl: line 1: field "hard_labels": 1 labels for 2 steps; a row without a 0 (error) label needs one label per step"#
        );
        assert_eq!(
            error(r#"{"question": "Q", "steps": ["a", "b"], "hard_labels": [1, true]}"#),
            r#"data/train.jsonl: line 1: field "hard_labels[1]": expected 0 or 1, found true"#
        );
    }

    #[test]
    fn bad_rows_are_reported_with_line_and_field() {
        assert_eq!(
            error(r#"{"question": "Q", "hard_labels": [1]}"#),
            r#"data/train.jsonl: line 1: field "steps": missing (expected a list)"#
        );
        assert_eq!(
            error(r#"{"question": ["Q"], "steps": ["a"], "hard_labels": [1]}"#),
            r#"data/train.jsonl: line 1: field "question": expected a string, found a list"#
        );
        assert_eq!(
            error(r#"{"question": "Q", "steps": [], "hard_labels": []}"#),
            r#"data/train.jsonl: line 1: field "steps": the list is empty; a trajectory needs at least one step"#
        );
        assert_eq!(
            error("{\"question\": \"Q\",\n{\"steps\": []"),
            "data/train.jsonl: line 1: malformed JSON at column 17: EOF while parsing a value"
        );
        assert_eq!(
            error("\"a string\""),
            "data/train.jsonl: line 1: expected a JSON object, found a string"
        );
    }

    #[test]
    fn a_json_array_read_as_rows_says_so() {
        for text in [
            "[{\"question\": \"Q\",\n \"steps\": [\"a\"]}]\n",
            "[{\"question\": \"Q\", \"steps\": [\"a\"]}]\n",
        ] {
            let message = error(text);
            assert!(
                message.contains("line 1: the line opens a JSON array"),
                "{message}"
            );
            assert!(message.contains("ProcessBench"), "{message}");
        }
    }

    #[test]
    fn an_empty_source_is_an_error() {
        let expected = "data/train.jsonl: the file is empty (no records); expected training rows, one {question, steps, hard_labels} object per line";
        assert_eq!(error(""), expected);
        assert_eq!(error("\n  \n"), expected);
    }

    #[test]
    fn unreadable_bytes_stop_the_rows() {
        let bytes: &[u8] =
            b"{\"question\": \"Q\", \"steps\": [\"a\"], \"hard_labels\": [1]}\n\xff\xfe\n";
        let mut rows = TrainingRows::new("data/train.jsonl", bytes);
        assert!(rows.next().is_some_and(|row| row.is_ok()));
        let error = rows
            .next()
            .and_then(Result::err)
            .expect("line 2 is not UTF-8");
        assert_eq!(
            error.to_string(),
            "data/train.jsonl: line 2: could not be read: stream did not contain valid UTF-8"
        );
        assert!(rows.next().is_none());
    }

    #[test]
    fn the_iterator_goes_on_after_an_invalid_row() {
        let text = "not json\n{\"question\": \"Q\", \"steps\": [\"a\"], \"hard_labels\": [0]}\n";
        let rows: Vec<_> = TrainingRows::new("t.jsonl", text.as_bytes()).collect();
        assert_eq!(rows.len(), 2);
        assert!(rows[0].is_err());
        assert_eq!(
            rows[1].as_ref().ok(),
            Some(&trajectory(&["a"], ProcessLabel::FirstErrorAt(0)))
        );
    }

    #[test]
    fn written_rows_read_back_unchanged() {
        let trajectories = [
            trajectory(&["a", "b"], ProcessLabel::FirstErrorAt(1)),
            trajectory(&["a \"quoted\"\nstep", "b"], ProcessLabel::AllCorrect),
        ];
        let lines: Vec<String> = trajectories
            .iter()
            .map(|t| training_row_json(t).expect("a labelled trajectory"))
            .collect();
        assert_eq!(
            lines[0],
            r#"{"question":"Q","steps":["a","b"],"hard_labels":[1,0]}"#
        );
        assert_eq!(read(&lines.join("\n")).expect("written rows"), trajectories);
    }

    #[test]
    fn rows_the_reader_would_reject_are_not_written() {
        let labelled = trajectory(&["a"], ProcessLabel::AllCorrect);
        assert_eq!(training_row_json(&labelled.unlabelled()), None);
        assert_eq!(
            training_row_json(&trajectory(&[], ProcessLabel::AllCorrect)),
            None
        );
        assert_eq!(
            training_row_json(&trajectory(&["a"], ProcessLabel::FirstErrorAt(1))),
            None
        );
    }
}
