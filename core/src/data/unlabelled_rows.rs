//! Unlabelled rows as JSONL, one `{question, steps}` object per line: the pool one-shot
//! filtering reads, and the shape it writes back.

use std::io::BufRead;

use super::error::DataError;
use super::jsonl::JsonlRows;
use super::record::{Record, RecordError};
use crate::trajectory::Trajectory;

/// The rows of an unlabelled JSONL source, read lazily, one [`Trajectory`] without a label per
/// row.
///
/// Other fields (a `hard_labels` among them) are ignored and blank lines skipped; a source with
/// no rows yields an error.
pub struct UnlabelledRows<R: BufRead> {
    rows: JsonlRows<R>,
}

impl<R: BufRead> UnlabelledRows<R> {
    /// Rows of `reader`; `source` names it in errors (usually the file path).
    pub fn new(source: &str, reader: R) -> Self {
        Self {
            rows: JsonlRows::new(
                source,
                reader,
                "unlabelled rows, one {question, steps} object per line",
            ),
        }
    }
}

impl<R: BufRead> Iterator for UnlabelledRows<R> {
    type Item = Result<Trajectory, DataError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.rows
            .next_row(|record| unlabelled_row(record).map(Some))
    }
}

fn unlabelled_row(mut record: Record) -> Result<Trajectory, RecordError> {
    Ok(Trajectory {
        question: record.string("question")?,
        steps: record.steps("steps")?,
        label: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Vec<Result<Trajectory, String>> {
        UnlabelledRows::new("pool.jsonl", text.as_bytes())
            .map(|row| row.map_err(|error| error.to_string()))
            .collect()
    }

    #[test]
    fn rows_carry_no_label_and_extra_fields_are_ignored() {
        let text = concat!(
            r#"{"question": "Q", "steps": ["a", "b"], "hard_labels": [1, 0], "index": 3}"#,
            "\n\n",
            r#"{"question": "R", "steps": ["c"]}"#,
        );
        let rows = read(text);
        assert_eq!(
            rows,
            [
                Ok(Trajectory {
                    question: "Q".into(),
                    steps: vec!["a".into(), "b".into()],
                    label: None,
                }),
                Ok(Trajectory {
                    question: "R".into(),
                    steps: vec!["c".into()],
                    label: None,
                }),
            ]
        );
    }

    #[test]
    fn bad_rows_are_reported_with_line_and_field() {
        let rows = read("{\"question\": \"Q\", \"steps\": [\"a\"]}\n{\"question\": \"Q\"}\n");
        assert!(rows[0].is_ok());
        assert_eq!(
            rows[1],
            Err(r#"pool.jsonl: line 2: field "steps": missing (expected a list)"#.to_string())
        );
        assert_eq!(
            read(""),
            [Err("pool.jsonl: the file is empty (no records); expected unlabelled rows, one {question, steps} object per line".to_string())]
        );
    }
}
