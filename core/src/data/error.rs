//! The error every data reader returns: which source, where in it, which field, what was wrong.
//!
//! Its `Display` is one sentence a user can act on, e.g.
//! `data/train.jsonl: line 12: field "hard_labels": label 2 is out of range (expected 0 or 1)`.

use thiserror::Error;

/// A source that could not be read, located as precisely as its format allows.
#[derive(Debug, Error)]
#[error("{}: {problem}", self.location())]
pub struct DataError {
    /// The source's name as the caller gave it (usually the file path).
    pub source_name: String,
    /// Where in the source the problem lies.
    pub position: Position,
    /// The field at fault (`steps[2]` for an element of a list), when there is one.
    pub field: Option<String>,
    /// What was wrong.
    pub problem: Problem,
}

impl DataError {
    /// An error about the source as a whole (no line, record or field).
    pub(crate) fn whole(source_name: &str, problem: Problem) -> Self {
        Self {
            source_name: source_name.to_owned(),
            position: Position::Whole,
            field: None,
            problem,
        }
    }

    /// `source: position: field "name"`, leaving out the parts that do not apply.
    fn location(&self) -> String {
        let mut location = self.source_name.clone();
        match &self.position {
            Position::Whole => {}
            Position::Line(line) => location.push_str(&format!(": line {line}")),
            Position::Record { index, id: None } => location.push_str(&format!(": record {index}")),
            Position::Record {
                index,
                id: Some(id),
            } => location.push_str(&format!(": record {index} (id \"{id}\")")),
        }
        if let Some(field) = &self.field {
            location.push_str(&format!(": field \"{field}\""));
        }
        location
    }
}

/// Where in a source a problem lies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Position {
    /// The source as a whole (for example, it holds no records).
    Whole,
    /// A 1-based line: the row of a JSONL source, or where a JSON document stopped parsing.
    Line(usize),
    /// A 0-based record of a JSON array, with its `id` when it has a string one.
    Record {
        /// Index of the record in the array.
        index: usize,
        /// The record's `id` field, when present.
        id: Option<String>,
    },
}

/// What was wrong with a source, a record or a field.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum Problem {
    /// The bytes could not be read (an I/O error, or text that is not UTF-8).
    #[error("could not be read: {0}")]
    Unreadable(std::io::Error),
    /// The bytes are not UTF-8 text.
    #[error("byte {byte} (line {line}) is not UTF-8 text")]
    NotUtf8 {
        /// 0-based offset of the first byte that is not UTF-8.
        byte: usize,
        /// 1-based line it is on.
        line: usize,
    },
    /// A JSON array where one JSON object per line was expected.
    #[error(
        "the line opens a JSON array, but this format is JSON lines (one object per line); \
         a JSON array of trajectories is ProcessBench's format"
    )]
    ArrayNotRows,
    /// A step longer than any real one, refused before it is tokenised.
    #[error("{chars} characters long; a step may be at most {limit}")]
    StepTooLong {
        /// The step's length in characters.
        chars: usize,
        /// The longest step read.
        limit: usize,
    },
    /// The text is not valid JSON.
    #[error("malformed JSON at column {column}: {message}")]
    MalformedJson {
        /// 1-based column where parsing stopped.
        column: usize,
        /// serde_json's description, without its position.
        message: String,
    },
    /// The source holds no records where at least one is required.
    #[error("the file is empty (no records); expected {expected}")]
    NoRecords {
        /// What the source should hold.
        expected: &'static str,
    },
    /// A required field is absent.
    #[error("missing (expected {expected})")]
    Missing {
        /// What the field should hold.
        expected: &'static str,
    },
    /// A value has the wrong JSON type.
    #[error("expected {expected}, found {found}")]
    WrongType {
        /// What the value should be.
        expected: &'static str,
        /// What it is.
        found: String,
    },
    /// A trajectory has no steps.
    #[error("the list is empty; a trajectory needs at least one step")]
    NoSteps,
    /// A step label is neither 0 nor 1.
    #[error("label {0} is out of range (expected 0 or 1)")]
    LabelOutOfRange(i64),
    /// A first-error label is neither a step index nor -1.
    #[error("{label} is not a step index (the item has {steps} steps) or -1")]
    NotAStepIndex {
        /// The label as read.
        label: i64,
        /// Number of steps of the item.
        steps: usize,
    },
    /// A GSM8K answer is not reasoning lines followed by `#### <final answer>`.
    #[error("{0}")]
    Solution(#[from] crate::tasks::gsm8k::SolutionError),
    /// A PRM800K rating is not 1, 0, -1 or null.
    #[error("{0} is not a rating (expected 1, 0, -1 or null)")]
    RatingOutOfRange(i64),
    /// More step labels than steps.
    #[error("{labels} labels for {steps} steps; there is at most one label per step")]
    TooManyLabels {
        /// Number of labels.
        labels: usize,
        /// Number of steps.
        steps: usize,
    },
    /// A stepwise-supervision row whose labels and completions differ in number.
    #[error(
        "{labels} labels for {completions} completions; a stepwise row has one label per completion"
    )]
    NotOneLabelPerCompletion {
        /// Number of labels.
        labels: usize,
        /// Number of completions (steps).
        completions: usize,
    },
    /// An all-correct row that leaves some steps unlabelled.
    #[error(
        "{labels} labels for {steps} steps; a row without a 0 (error) label needs one label per step"
    )]
    MissingLabels {
        /// Number of labels.
        labels: usize,
        /// Number of steps.
        steps: usize,
    },
}

impl Problem {
    /// The problem of text serde_json could not parse, keeping its column; the caller places
    /// the line.
    pub(crate) fn malformed_json(error: &serde_json::Error) -> Self {
        let text = error.to_string();
        let position = format!(" at line {} column {}", error.line(), error.column());
        let message = text.strip_suffix(&position).unwrap_or(&text).to_owned();
        Problem::MalformedJson {
            column: error.column(),
            message,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(position: Position, field: Option<&str>, problem: Problem) -> DataError {
        DataError {
            source_name: "data/train.jsonl".to_owned(),
            position,
            field: field.map(str::to_owned),
            problem,
        }
    }

    #[test]
    fn a_line_error_names_file_line_and_field() {
        let error = error(
            Position::Line(12),
            Some("hard_labels"),
            Problem::LabelOutOfRange(2),
        );
        assert_eq!(
            error.to_string(),
            r#"data/train.jsonl: line 12: field "hard_labels": label 2 is out of range (expected 0 or 1)"#
        );
    }

    #[test]
    fn a_record_error_names_index_and_id() {
        let with_id = error(
            Position::Record {
                index: 17,
                id: Some("gsm8k-17".to_owned()),
            },
            Some("label"),
            Problem::NotAStepIndex { label: 9, steps: 5 },
        );
        assert_eq!(
            with_id.to_string(),
            r#"data/train.jsonl: record 17 (id "gsm8k-17"): field "label": 9 is not a step index (the item has 5 steps) or -1"#
        );
        let without_id = error(
            Position::Record { index: 3, id: None },
            None,
            Problem::WrongType {
                expected: "a JSON object",
                found: "a list".to_owned(),
            },
        );
        assert_eq!(
            without_id.to_string(),
            "data/train.jsonl: record 3: expected a JSON object, found a list"
        );
    }

    #[test]
    fn a_whole_source_error_has_no_position() {
        let error = DataError::whole(
            "data/train.jsonl",
            Problem::NoRecords {
                expected: "training rows",
            },
        );
        assert_eq!(
            error.to_string(),
            "data/train.jsonl: the file is empty (no records); expected training rows"
        );
    }

    #[test]
    fn malformed_json_keeps_the_column_but_drops_serdes_position() {
        let parse_error = serde_json::from_str::<serde_json::Value>(r#"{"a": tru}"#)
            .expect_err("the text is not JSON");
        let problem = Problem::malformed_json(&parse_error);
        assert_eq!(
            problem.to_string(),
            format!(
                "malformed JSON at column {}: expected ident",
                parse_error.column()
            )
        );
    }
}
