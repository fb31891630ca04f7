//! Line-by-line reading of JSONL sources, shared by the training-row and PRM800K readers.
//!
//! [`JsonlRows`] numbers lines from 1, skips blank ones, parses each other line into a
//! [`Record`] and places any error at its line; the format-specific part is one function. A
//! byte-order mark before the first line is not part of it.

use std::io::BufRead;

use super::error::{DataError, Position, Problem};
use super::record::{Record, RecordError};
use super::without_byte_order_mark;

/// The rows of a JSONL source, read lazily.
///
/// A source without any record (empty, or only blank lines) yields one
/// [`Problem::NoRecords`] error. Reading stops after an I/O error and at a line that opens a
/// JSON array (a file of another format); a malformed or invalid row yields its error and
/// reading goes on with the next line.
pub(crate) struct JsonlRows<R> {
    source_name: String,
    reader: R,
    /// What the source should hold, for the "no records" error.
    expected: &'static str,
    line: String,
    line_number: usize,
    saw_record: bool,
    finished: bool,
}

impl<R: BufRead> JsonlRows<R> {
    /// Rows of `reader`, reported as `source_name` in errors.
    pub(crate) fn new(source_name: &str, reader: R, expected: &'static str) -> Self {
        Self {
            source_name: source_name.to_owned(),
            reader,
            expected,
            line: String::new(),
            line_number: 0,
            saw_record: false,
            finished: false,
        }
    }

    /// The next row that `parse` turns into a value, passing over blank lines and the rows
    /// `parse` skips (`Ok(None)`).
    pub(crate) fn next_row<T>(
        &mut self,
        parse: impl Fn(Record) -> Result<Option<T>, RecordError>,
    ) -> Option<Result<T, DataError>> {
        while !self.finished {
            self.line.clear();
            let read = self.reader.read_line(&mut self.line);
            self.line_number += 1;
            if self.line_number == 1 {
                let start = self.line.len() - without_byte_order_mark(&self.line).len();
                self.line.drain(..start);
            }
            match read {
                Ok(0) => {
                    self.finished = true;
                    return (!self.saw_record).then(|| {
                        Err(DataError::whole(
                            &self.source_name,
                            Problem::NoRecords {
                                expected: self.expected,
                            },
                        ))
                    });
                }
                Err(error) => {
                    self.finished = true;
                    return Some(Err(
                        self.error_here(RecordError::whole(Problem::Unreadable(error)))
                    ));
                }
                Ok(_) if self.line.trim().is_empty() => {}
                Ok(_) => {
                    self.saw_record = true;
                    if self.line.trim_start().starts_with('[') {
                        self.finished = true;
                        return Some(Err(
                            self.error_here(RecordError::whole(Problem::ArrayNotRows))
                        ));
                    }
                    let row = serde_json::from_str(self.line.trim_end())
                        .map_err(|error| RecordError::whole(Problem::malformed_json(&error)))
                        .and_then(Record::new)
                        .and_then(&parse);
                    match row {
                        Ok(Some(row)) => return Some(Ok(row)),
                        Ok(None) => {}
                        Err(error) => return Some(Err(self.error_here(error))),
                    }
                }
            }
        }
        None
    }

    /// `error` placed at the current line.
    fn error_here(&self, error: RecordError) -> DataError {
        error.at(&self.source_name, Position::Line(self.line_number))
    }
}
