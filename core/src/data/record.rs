//! Typed access to the fields of one JSON record, shared by every reader.
//!
//! Each accessor takes its field out of the record and reports a [`RecordError`] naming the field
//! (or the list element, `steps[2]`) and what it should have held; the reader adds the position.

use serde_json::{Map, Value};

use super::error::{DataError, Position, Problem};

/// The longest step, in characters, a reader accepts: real steps run to a few thousand (the
/// longest in ProcessBench has 1,470), while tokenising a runaway one of megabytes would take
/// gigabytes of memory.
pub const MAX_STEP_CHARS: usize = 20_000;

/// What went wrong inside one record, before the reader says where the record is.
#[derive(Debug)]
pub(crate) struct RecordError {
    field: Option<String>,
    problem: Problem,
}

impl RecordError {
    /// A problem with the named field.
    pub(crate) fn in_field(field: impl Into<String>, problem: Problem) -> Self {
        Self {
            field: Some(field.into()),
            problem,
        }
    }

    /// A problem with the record as a whole.
    pub(crate) fn whole(problem: Problem) -> Self {
        Self {
            field: None,
            problem,
        }
    }

    /// The full error, once the reader knows the source and the record's position.
    pub(crate) fn at(self, source_name: &str, position: Position) -> DataError {
        DataError {
            source_name: source_name.to_owned(),
            position,
            field: self.field,
            problem: self.problem,
        }
    }
}

/// One JSON object whose fields are taken out as they are read.
pub(crate) struct Record(Map<String, Value>);

impl Record {
    /// The record, if `value` is a JSON object.
    pub(crate) fn new(value: Value) -> Result<Self, RecordError> {
        match value {
            Value::Object(fields) => Ok(Self(fields)),
            other => Err(RecordError::whole(wrong_type("a JSON object", &other))),
        }
    }

    /// A required string field.
    pub(crate) fn string(&mut self, name: &str) -> Result<String, RecordError> {
        self.take(name, "a string", as_string)
    }

    /// A required `true`/`false` field.
    pub(crate) fn boolean(&mut self, name: &str) -> Result<bool, RecordError> {
        self.take(name, "true or false", |value| value.as_bool().ok_or(value))
    }

    /// A required integer field.
    pub(crate) fn integer(&mut self, name: &str) -> Result<i64, RecordError> {
        self.take(name, "an integer", |value| value.as_i64().ok_or(value))
    }

    /// A required field holding an integer or `null`.
    pub(crate) fn optional_integer(&mut self, name: &str) -> Result<Option<i64>, RecordError> {
        self.take(name, "an integer or null", |value| match value {
            Value::Null => Ok(None),
            other => other.as_i64().map(Some).ok_or(other),
        })
    }

    /// A required list field, its elements left for the caller to check.
    pub(crate) fn list(&mut self, name: &str) -> Result<Vec<Value>, RecordError> {
        self.take(name, "a list", |value| match value {
            Value::Array(elements) => Ok(elements),
            other => Err(other),
        })
    }

    /// A required list of strings.
    pub(crate) fn strings(&mut self, name: &str) -> Result<Vec<String>, RecordError> {
        self.list(name)?
            .into_iter()
            .enumerate()
            .map(|(index, element)| {
                as_string(element).map_err(|element| {
                    RecordError::in_field(
                        format!("{name}[{index}]"),
                        wrong_type("a string", &element),
                    )
                })
            })
            .collect()
    }

    /// A required, non-empty list of solution steps.
    pub(crate) fn steps(&mut self, name: &str) -> Result<Vec<String>, RecordError> {
        let steps = self.strings(name)?;
        if steps.is_empty() {
            return Err(RecordError::in_field(name, Problem::NoSteps));
        }
        if let Some((index, step)) = steps
            .iter()
            .enumerate()
            .find(|(_, step)| step.len() > MAX_STEP_CHARS && step.chars().count() > MAX_STEP_CHARS)
        {
            return Err(RecordError::in_field(
                format!("{name}[{index}]"),
                Problem::StepTooLong {
                    chars: step.chars().count(),
                    limit: MAX_STEP_CHARS,
                },
            ));
        }
        Ok(steps)
    }

    /// Removes field `name` and converts it; `convert` hands the value back when it has the
    /// wrong type.
    fn take<T>(
        &mut self,
        name: &str,
        expected: &'static str,
        convert: impl FnOnce(Value) -> Result<T, Value>,
    ) -> Result<T, RecordError> {
        let value = self
            .0
            .remove(name)
            .ok_or_else(|| RecordError::in_field(name, Problem::Missing { expected }))?;
        convert(value).map_err(|value| RecordError::in_field(name, wrong_type(expected, &value)))
    }
}

/// The string inside `value`, or `value` itself when it is not one.
fn as_string(value: Value) -> Result<String, Value> {
    match value {
        Value::String(text) => Ok(text),
        other => Err(other),
    }
}

/// The problem of finding `found` where `expected` should be.
pub(crate) fn wrong_type(expected: &'static str, found: &Value) -> Problem {
    Problem::WrongType {
        expected,
        found: describe(found),
    }
}

/// A short description of a JSON value: scalars verbatim, strings and containers by kind.
fn describe(value: &Value) -> String {
    match value {
        Value::Null => "null".to_owned(),
        Value::Bool(flag) => flag.to_string(),
        Value::Number(number) => format!("the number {number}"),
        Value::String(_) => "a string".to_owned(),
        Value::Array(_) => "a list".to_owned(),
        Value::Object(_) => "an object".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn record(value: Value) -> Record {
        Record::new(value).expect("the test value is an object")
    }

    fn message(error: RecordError) -> String {
        error.at("t.json", Position::Whole).to_string()
    }

    #[test]
    fn fields_are_read_with_their_types() {
        let mut record = record(json!({"s": "x", "b": true, "i": -1, "n": null, "l": ["a", "b"]}));
        assert_eq!(record.string("s").expect("a string"), "x");
        assert!(record.boolean("b").expect("a boolean"));
        assert_eq!(record.integer("i").expect("an integer"), -1);
        assert_eq!(record.optional_integer("n").expect("null"), None);
        assert_eq!(record.steps("l").expect("steps"), ["a", "b"]);
    }

    #[test]
    fn errors_name_the_field_and_what_it_should_hold() {
        let mut record = record(json!({"s": 3, "l": ["a", 1.5], "e": [], "f": 1.0}));
        assert_eq!(
            message(record.string("s").expect_err("a number")),
            r#"t.json: field "s": expected a string, found the number 3"#
        );
        assert_eq!(
            message(record.strings("l").expect_err("a number inside")),
            r#"t.json: field "l[1]": expected a string, found the number 1.5"#
        );
        assert_eq!(
            message(record.steps("e").expect_err("no steps")),
            r#"t.json: field "e": the list is empty; a trajectory needs at least one step"#
        );
        assert_eq!(
            message(record.integer("f").expect_err("not an integer")),
            r#"t.json: field "f": expected an integer, found the number 1.0"#
        );
        assert_eq!(
            message(record.boolean("absent").expect_err("missing")),
            r#"t.json: field "absent": missing (expected true or false)"#
        );
    }

    #[test]
    fn a_non_object_is_not_a_record() {
        let error = Record::new(json!(["a"]))
            .err()
            .expect("a list is not a record");
        assert_eq!(
            message(error),
            "t.json: expected a JSON object, found a list"
        );
    }
}
