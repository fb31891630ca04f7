//! GSM8K rows as JSONL: `{question, answer}`, where the answer is reasoning lines with
//! calculator annotations, then `#### <final answer>`.

use std::io::BufRead;

use super::error::{DataError, Problem};
use super::jsonl::JsonlRows;
use super::record::{Record, RecordError};
use crate::tasks::gsm8k::Solution;

/// A GSM8K problem with its reference solution read into steps.
#[derive(Debug, Clone, PartialEq)]
pub struct Gsm8kProblem {
    /// The word problem.
    pub question: String,
    /// The reference solution.
    pub solution: Solution,
}

/// The problems of a GSM8K JSONL source, read lazily.
pub struct Gsm8kRows<R: BufRead> {
    rows: JsonlRows<R>,
}

impl<R: BufRead> Gsm8kRows<R> {
    /// Rows of `reader`; `source` names it in errors (usually the file path).
    pub fn new(source: &str, reader: R) -> Self {
        Self {
            rows: JsonlRows::new(
                source,
                reader,
                "GSM8K rows, one {question, answer} object per line",
            ),
        }
    }
}

impl<R: BufRead> Iterator for Gsm8kRows<R> {
    type Item = Result<Gsm8kProblem, DataError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.rows.next_row(|record| gsm8k_row(record).map(Some))
    }
}

/// Reads every problem of `reader`, stopping at the first error.
pub fn read_gsm8k(source: &str, reader: impl BufRead) -> Result<Vec<Gsm8kProblem>, DataError> {
    Gsm8kRows::new(source, reader).collect()
}

fn gsm8k_row(mut record: Record) -> Result<Gsm8kProblem, RecordError> {
    let question = record.string("question")?;
    let answer = record.string("answer")?;
    let solution = Solution::parse(&answer)
        .map_err(|error| RecordError::in_field("answer", Problem::Solution(error)))?;
    Ok(Gsm8kProblem { question, solution })
}

#[cfg(test)]
mod tests {

    use super::*;

    #[test]
    fn a_bad_answer_is_reported_with_line_and_field() {
        let text = concat!(
            r#"{"question": "Q", "answer": "2+2 = <<2+2=4>>4.\n#### 4"}"#,
            "\n",
            r#"{"question": "Q", "answer": "no final answer"}"#,
        );
        let rows: Vec<_> = Gsm8kRows::new("train.jsonl", text.as_bytes()).collect();
        assert_eq!(rows[0].as_ref().unwrap().solution.final_answer, "4");
        assert_eq!(
            rows[1].as_ref().unwrap_err().to_string(),
            r#"train.jsonl: line 2: field "answer": the answer has no `#### <final answer>` line"#
        );
    }
}
