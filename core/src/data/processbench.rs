//! ProcessBench: a JSON array of `{id, generator, problem, steps, final_answer_correct, label}`
//! records, one per split file.
//!
//! `label` is the 0-based index of the first erroneous step, or -1 when every step is correct.

use serde_json::Value;

use super::error::{DataError, Position, Problem};
use super::record::{Record, RecordError, wrong_type};
use super::without_byte_order_mark;
use crate::trajectory::{ProcessLabel, Trajectory};

/// The four ProcessBench splits; split `name` lives in `name.json`.
pub const PROCESSBENCH_SPLITS: [&str; 4] = ["gsm8k", "math", "olympiadbench", "omnimath"];

/// One ProcessBench item: a labelled solution with where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct ProcessBenchItem {
    /// The item's identifier, e.g. `gsm8k-17`.
    pub id: String,
    /// The model that wrote the solution.
    pub generator: String,
    /// Whether the solution's final answer is right (it can be right despite an erroneous step).
    pub final_answer_correct: bool,
    /// The problem, every solution step, and the first-error label.
    pub trajectory: Trajectory,
}

/// What a ProcessBench split file holds, for the "no records" error.
const EXPECTED: &str = "a JSON array of ProcessBench records";

/// Reads a ProcessBench JSON array from raw bytes; bytes that are not UTF-8 are reported at
/// their offset and line, and in their record when the rest of the file parses.
pub fn read_processbench_bytes(
    source: &str,
    bytes: &[u8],
) -> Result<Vec<ProcessBenchItem>, DataError> {
    match std::str::from_utf8(bytes) {
        Ok(text) => read_processbench(source, text),
        Err(error) => Err(not_utf8(source, bytes, error.valid_up_to())),
    }
}

/// The error for bytes that stop being UTF-8 at `byte`: placed in the first record that holds
/// a replaced character once the file is read leniently, else at its line.
fn not_utf8(source: &str, bytes: &[u8], byte: usize) -> DataError {
    let line = bytes[..byte].iter().filter(|&&b| b == b'\n').count() + 1;
    let lenient = String::from_utf8_lossy(bytes);
    let position = match serde_json::from_str::<Value>(&lenient) {
        Ok(Value::Array(records)) => records
            .iter()
            .position(|record| record.to_string().contains(char::REPLACEMENT_CHARACTER))
            .map(|index| Position::Record {
                index,
                id: records[index]
                    .get("id")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
            }),
        _ => None,
    }
    .unwrap_or(Position::Line(line));
    RecordError::whole(Problem::NotUtf8 { byte, line }).at(source, position)
}

/// Reads one ProcessBench split from its JSON text; `source` names it in errors.
///
/// A record's error names its index and, when it has one, its `id`; a split without records is
/// an error.
pub fn read_processbench(source: &str, text: &str) -> Result<Vec<ProcessBenchItem>, DataError> {
    let text = without_byte_order_mark(text);
    let no_records = || DataError::whole(source, Problem::NoRecords { expected: EXPECTED });
    if text.trim().is_empty() {
        return Err(no_records());
    }
    let records = match serde_json::from_str(text) {
        Ok(Value::Array(records)) => records,
        Ok(other) => return Err(DataError::whole(source, wrong_type(EXPECTED, &other))),
        Err(error) => {
            return Err(RecordError::whole(Problem::malformed_json(&error))
                .at(source, Position::Line(error.line())));
        }
    };
    if records.is_empty() {
        return Err(no_records());
    }
    records
        .into_iter()
        .enumerate()
        .map(|(index, value)| {
            let id = value.get("id").and_then(Value::as_str).map(str::to_owned);
            item(value).map_err(|error| error.at(source, Position::Record { index, id }))
        })
        .collect()
}

/// The item of one record.
fn item(value: Value) -> Result<ProcessBenchItem, RecordError> {
    let mut record = Record::new(value)?;
    let id = record.string("id")?;
    let generator = record.string("generator")?;
    let question = record.string("problem")?;
    let steps = record.steps("steps")?;
    let final_answer_correct = record.boolean("final_answer_correct")?;
    let label = first_error_label(record.integer("label")?, steps.len())?;
    Ok(ProcessBenchItem {
        id,
        generator,
        final_answer_correct,
        trajectory: Trajectory {
            question,
            steps,
            label: Some(label),
        },
    })
}

/// The process label of ProcessBench's `label`: -1, or the index of one of `num_steps` steps.
fn first_error_label(label: i64, num_steps: usize) -> Result<ProcessLabel, RecordError> {
    match usize::try_from(label) {
        Ok(index) if index < num_steps => Ok(ProcessLabel::FirstErrorAt(index)),
        _ if label == -1 => Ok(ProcessLabel::AllCorrect),
        _ => Err(RecordError::in_field(
            "label",
            Problem::NotAStepIndex {
                label,
                steps: num_steps,
            },
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::MAX_STEP_CHARS;

    const SOURCE: &str = "processbench/gsm8k.json";

    fn record(id: &str, steps: &str, label: &str) -> String {
        format!(
            r#"{{"id": "{id}", "generator": "G", "problem": "P", "steps": {steps}, "final_answer_correct": false, "label": {label}}}"#
        )
    }

    fn error(text: &str) -> String {
        read_processbench(SOURCE, text)
            .expect_err("the input is invalid")
            .to_string()
    }

    #[test]
    fn a_byte_order_mark_is_not_part_of_the_json() {
        let text = format!("\u{feff}[{}]", record("gsm8k-0", r#"["a"]"#, "-1"));
        assert_eq!(read_processbench(SOURCE, &text).unwrap().len(), 1);
    }

    #[test]
    fn items_carry_the_first_error_label() {
        let text = format!(
            "[{}, {}]",
            record("gsm8k-0", r#"["a", "b", "c"]"#, "1"),
            record("gsm8k-1", r#"["a"]"#, "-1")
        );
        let items = read_processbench(SOURCE, &text).expect("valid records");
        assert_eq!(items.len(), 2);
        assert_eq!(items[0].id, "gsm8k-0");
        assert_eq!(items[0].generator, "G");
        assert!(!items[0].final_answer_correct);
        assert_eq!(
            items[0].trajectory,
            Trajectory {
                question: "P".to_owned(),
                steps: vec!["a".to_owned(), "b".to_owned(), "c".to_owned()],
                label: Some(ProcessLabel::FirstErrorAt(1)),
            }
        );
        assert_eq!(items[1].trajectory.label, Some(ProcessLabel::AllCorrect));
    }

    #[test]
    fn bad_labels_name_the_record_and_its_id() {
        let steps = r#"["a", "b", "c", "d", "e"]"#;
        let text = format!(
            "[{}, {}]",
            record("gsm8k-16", steps, "0"),
            record("gsm8k-17", steps, "9")
        );
        assert_eq!(
            error(&text),
            r#"processbench/gsm8k.json: record 1 (id "gsm8k-17"): field "label": 9 is not a step index (the item has 5 steps) or -1"#
        );
        assert_eq!(
            error(&format!("[{}]", record("x", steps, "-2"))),
            r#"processbench/gsm8k.json: record 0 (id "x"): field "label": -2 is not a step index (the item has 5 steps) or -1"#
        );
    }

    #[test]
    fn bad_records_name_the_record_and_field() {
        assert_eq!(
            error(&format!("[{}]", record("x", "[]", "-1"))),
            r#"processbench/gsm8k.json: record 0 (id "x"): field "steps": the list is empty; a trajectory needs at least one step"#
        );
        assert_eq!(
            error(r#"[{"id": 3, "steps": ["a"]}]"#),
            r#"processbench/gsm8k.json: record 0: field "id": expected a string, found the number 3"#
        );
        assert_eq!(
            error(r#"[{"id": "x", "generator": "G", "problem": "P", "steps": ["a"], "label": 0}]"#),
            r#"processbench/gsm8k.json: record 0 (id "x"): field "final_answer_correct": missing (expected true or false)"#
        );
        assert_eq!(
            error(&format!("[{}, 7]", record("x", r#"["a"]"#, "0"))),
            "processbench/gsm8k.json: record 1: expected a JSON object, found the number 7"
        );
    }

    #[test]
    fn bad_documents_name_the_line_and_column() {
        assert_eq!(
            error("[\n  {\"id\": \"x\",\n  \"steps\" [\"a\"]}\n]"),
            "processbench/gsm8k.json: line 3: malformed JSON at column 11: expected `:`"
        );
        assert_eq!(
            error(r#"{"id": "x"}"#),
            "processbench/gsm8k.json: expected a JSON array of ProcessBench records, found an object"
        );
    }

    #[test]
    fn bytes_that_are_not_utf8_are_placed_at_their_offset_and_record() {
        let text = format!(
            "[\n{},\n{}\n]",
            record("a", r#"["x"]"#, "-1"),
            record("b", r#"["y"]"#, "0")
        );
        let mut bytes = text.into_bytes();
        let at = bytes.iter().rposition(|&b| b == b'y').unwrap();
        bytes[at] = 0xff;
        let error = read_processbench_bytes(SOURCE, &bytes).unwrap_err();
        assert_eq!(
            error.to_string(),
            format!(r#"{SOURCE}: record 1 (id "b"): byte {at} (line 3) is not UTF-8 text"#)
        );
        // A file that does not parse even leniently is placed at the line.
        let error = read_processbench_bytes(SOURCE, b"[{\"id\": \"\xff").unwrap_err();
        assert_eq!(
            error.to_string(),
            format!("{SOURCE}: line 1: byte 9 (line 1) is not UTF-8 text")
        );
    }

    #[test]
    fn a_runaway_step_is_refused_before_tokenising() {
        let long = "x".repeat(MAX_STEP_CHARS + 1);
        let text = format!("[{}]", record("a", &format!(r#"["ok", "{long}"]"#), "-1"));
        assert_eq!(
            error(&text),
            format!(
                r#"{SOURCE}: record 0 (id "a"): field "steps[1]": {} characters long; a step may be at most {MAX_STEP_CHARS}"#,
                MAX_STEP_CHARS + 1
            )
        );
    }

    #[test]
    fn an_empty_split_is_an_error() {
        let expected = "processbench/gsm8k.json: the file is empty (no records); expected a JSON array of ProcessBench records";
        assert_eq!(error(" \n"), expected);
        assert_eq!(error("[]"), expected);
    }
}
