//! PRM800K "stepwise" rows as JSONL: one human-rated step with the steps before it.
//!
//! A row `{instruction, responses, next_response, rating}` is the trajectory
//! `responses + [next_response]`, whose earlier steps are correct and whose last step is correct
//! when `rating` is 1 or 0 and erroneous when it is -1; rows rated `null` (human hints) are skipped.

use std::io::BufRead;

use super::error::{DataError, Problem};
use super::jsonl::JsonlRows;
use super::record::{Record, RecordError};
use crate::trajectory::{ProcessLabel, Trajectory};

/// The rated rows of a PRM800K stepwise JSONL source, read lazily, one labelled [`Trajectory`]
/// per row with a non-null rating.
///
/// Other fields are ignored and blank lines skipped; a source with no rows yields an error.
pub struct Prm800kRows<R: BufRead> {
    rows: JsonlRows<R>,
}

impl<R: BufRead> Prm800kRows<R> {
    /// Rows of `reader`; `source` names it in errors (usually the file path).
    pub fn new(source: &str, reader: R) -> Self {
        Self {
            rows: JsonlRows::new(
                source,
                reader,
                "PRM800K stepwise rows, one {instruction, responses, next_response, rating} \
                 object per line",
            ),
        }
    }
}

impl<R: BufRead> Iterator for Prm800kRows<R> {
    type Item = Result<Trajectory, DataError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.rows.next_row(stepwise_row)
    }
}

/// Reads every rated PRM800K stepwise row of `reader`, stopping at the first error.
pub fn read_prm800k_stepwise(
    source: &str,
    reader: impl BufRead,
) -> Result<Vec<Trajectory>, DataError> {
    Prm800kRows::new(source, reader).collect()
}

/// The trajectory of one stepwise row, or `None` for a row rated `null`.
fn stepwise_row(mut record: Record) -> Result<Option<Trajectory>, RecordError> {
    let last_step_correct = match record.optional_integer("rating")? {
        None => return Ok(None),
        Some(0 | 1) => true,
        Some(-1) => false,
        Some(other) => {
            return Err(RecordError::in_field(
                "rating",
                Problem::RatingOutOfRange(other),
            ));
        }
    };
    let question = record.string("instruction")?;
    let mut steps = record.strings("responses")?;
    steps.push(record.string("next_response")?);
    let label = if last_step_correct {
        ProcessLabel::AllCorrect
    } else {
        ProcessLabel::FirstErrorAt(steps.len() - 1)
    };
    Ok(Some(Trajectory {
        question,
        steps,
        label: Some(label),
    }))
}

#[cfg(test)]
mod tests {

    use super::*;

    fn read(text: &str) -> Result<Vec<Trajectory>, DataError> {
        read_prm800k_stepwise("prm800k/test.jsonl", text.as_bytes())
    }

    fn error(text: &str) -> String {
        read(text).expect_err("the input is invalid").to_string()
    }

    fn row(responses: &str, rating: &str) -> String {
        format!(
            r#"{{"instruction": "Q", "responses": {responses}, "next_response": "n", "rating": {rating}, "answer": null}}"#
        )
    }

    #[test]
    fn ratings_label_the_last_step() {
        let text = [
            row(r#"["a"]"#, "1"),
            row("[]", "0"),
            row(r#"["a", "b"]"#, "null"),
            row(r#"["a", "b"]"#, "-1"),
        ]
        .join("\n");
        let steps_and_labels: Vec<_> = read(&text)
            .expect("valid rows")
            .into_iter()
            .map(|t| (t.question, t.steps, t.label))
            .collect();
        assert_eq!(
            steps_and_labels,
            [
                (
                    "Q".into(),
                    vec!["a".into(), "n".into()],
                    Some(ProcessLabel::AllCorrect)
                ),
                ("Q".into(), vec!["n".into()], Some(ProcessLabel::AllCorrect)),
                (
                    "Q".into(),
                    vec!["a".into(), "b".into(), "n".into()],
                    Some(ProcessLabel::FirstErrorAt(2))
                ),
            ]
        );
    }

    #[test]
    fn a_source_of_hints_only_has_no_trajectories() {
        assert_eq!(read(&row("[]", "null")).expect("a hint row"), []);
    }

    #[test]
    fn bad_rows_are_reported_with_line_and_field() {
        assert_eq!(
            error(&format!("{}\n{}", row("[]", "1"), row("[]", "2"))),
            r#"prm800k/test.jsonl: line 2: field "rating": 2 is not a rating (expected 1, 0, -1 or null)"#
        );
        assert_eq!(
            error(&row("[]", r#""1""#)),
            r#"prm800k/test.jsonl: line 1: field "rating": expected an integer or null, found a string"#
        );
        assert_eq!(
            error(&row(r#"["a", 3]"#, "1")),
            r#"prm800k/test.jsonl: line 1: field "responses[1]": expected a string, found the number 3"#
        );
        assert_eq!(
            error(r#"{"instruction": "Q", "responses": [], "next_response": "n"}"#),
            r#"prm800k/test.jsonl: line 1: field "rating": missing (expected an integer or null)"#
        );
        assert_eq!(
            error(r#"{"instruction": "Q", "rating": 1"#),
            "prm800k/test.jsonl: line 1: malformed JSON at column 32: EOF while parsing an object"
        );
        assert_eq!(
            error(""),
            "prm800k/test.jsonl: the file is empty (no records); expected PRM800K stepwise rows, one {instruction, responses, next_response, rating} object per line"
        );
    }
}
