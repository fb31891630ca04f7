//! A GSM8K reference solution split into steps, with its calculator annotations.
//!
//! An answer is lines of reasoning, then `#### <final answer>`. Each line is one step; a
//! calculation in it is annotated as `<<48/2=24>>` just before the result is written out:
//! `sold 48/2 = <<48/2=24>>24 clips`. The steps keep the text a reader sees (annotations
//! removed) and remember, for each calculation, where its written result is.

use std::ops::Range;

use super::number::{evaluate, numbers_in, same_value};

/// One calculator annotation of a step.
#[derive(Debug, Clone, PartialEq)]
pub struct Calculation {
    /// The expression, as annotated (`48/2`).
    pub expression: String,
    /// The annotated result.
    pub result: f64,
    /// Byte range, in the step's visible text, of the written result that follows the
    /// annotation; `None` when the text does not write it out there.
    pub written_result: Option<Range<usize>>,
}

impl Calculation {
    /// Whether the annotation is usable: its expression evaluates to its result, and the
    /// result is written out in the text.
    pub fn is_checkable(&self) -> bool {
        self.written_result.is_some()
            && evaluate(&self.expression).is_some_and(|value| same_value(value, self.result))
    }
}

/// One line of a solution.
#[derive(Debug, Clone, PartialEq)]
pub struct SolutionStep {
    /// The text with the annotations removed.
    pub text: String,
    /// Its calculations in order.
    pub calculations: Vec<Calculation>,
}

/// A GSM8K solution.
#[derive(Debug, Clone, PartialEq)]
pub struct Solution {
    /// The reasoning lines, blank ones left out.
    pub steps: Vec<SolutionStep>,
    /// The text after `####`.
    pub final_answer: String,
}

/// Why an answer could not be read as a solution.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SolutionError {
    /// No `####` line.
    #[error("the answer has no `#### <final answer>` line")]
    NoFinalAnswer,
    /// Nothing before the `####` line.
    #[error("the answer has no reasoning before its `####` line")]
    NoSteps,
    /// An annotation is not closed, or has no `=`.
    #[error("malformed calculator annotation in {0:?}")]
    MalformedAnnotation(String),
}

impl Solution {
    /// Reads a GSM8K `answer` field.
    pub fn parse(answer: &str) -> Result<Self, SolutionError> {
        let (reasoning, final_answer) = answer
            .rsplit_once("####")
            .ok_or(SolutionError::NoFinalAnswer)?;
        let steps = reasoning
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty())
            .map(parse_step)
            .collect::<Result<Vec<_>, _>>()?;
        if steps.is_empty() {
            return Err(SolutionError::NoSteps);
        }
        Ok(Self {
            steps,
            final_answer: final_answer.trim().to_string(),
        })
    }
}

/// Removes the annotations of one line, recording each with the written result after it.
fn parse_step(line: &str) -> Result<SolutionStep, SolutionError> {
    let malformed = || SolutionError::MalformedAnnotation(line.to_string());
    let mut text = String::with_capacity(line.len());
    let mut annotations = Vec::new();
    let mut rest = line;
    while let Some(open) = rest.find("<<") {
        text.push_str(&rest[..open]);
        let after = &rest[open + 2..];
        let close = after.find(">>").ok_or_else(malformed)?;
        let (expression, result) = after[..close].rsplit_once('=').ok_or_else(malformed)?;
        annotations.push((text.len(), expression.trim().to_string(), result.trim()));
        rest = &after[close + 2..];
    }
    text.push_str(rest);
    let calculations = annotations
        .into_iter()
        .filter_map(|(at, expression, result)| {
            let result = numbers_in(result).first()?.value;
            let written_result = numbers_in(&text[at..])
                .into_iter()
                .next()
                .filter(|number| number.range.start == 0 && same_value(number.value, result))
                .map(|number| at + number.range.start..at + number.range.end);
            Some(Calculation {
                expression,
                result,
                written_result,
            })
        })
        .collect();
    Ok(SolutionStep { text, calculations })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn annotations_are_removed_and_their_written_results_found() {
        let solution = Solution::parse(
            "Natalia sold 48/2 = <<48/2=24>>24 clips in May.\n\
             Weng earns 12/60 = $<<12/60=0.2>>0.2 per minute.\n\
             \n\
             No calculation here.\n\
             #### 72",
        )
        .unwrap();
        assert_eq!(solution.final_answer, "72");
        assert_eq!(solution.steps.len(), 3);
        let first = &solution.steps[0];
        assert_eq!(first.text, "Natalia sold 48/2 = 24 clips in May.");
        assert_eq!(first.calculations.len(), 1);
        let calculation = &first.calculations[0];
        assert_eq!(calculation.expression, "48/2");
        assert_eq!(calculation.result, 24.0);
        assert_eq!(
            &first.text[calculation.written_result.clone().unwrap()],
            "24"
        );
        assert!(calculation.is_checkable());
        let second = &solution.steps[1];
        assert_eq!(second.text, "Weng earns 12/60 = $0.2 per minute.");
        assert_eq!(
            &second.text[second.calculations[0].written_result.clone().unwrap()],
            "0.2"
        );
        assert!(solution.steps[2].calculations.is_empty());
    }

    #[test]
    fn a_result_not_written_after_its_annotation_is_not_checkable() {
        let solution =
            Solution::parse("She has <<3*4=12>> twelve, 3*5=<<3*5=16>>16.\n#### 12").unwrap();
        let calculations = &solution.steps[0].calculations;
        assert_eq!(calculations[0].written_result, None);
        assert!(!calculations[0].is_checkable());
        // Written out, but the annotation itself is wrong.
        assert!(calculations[1].written_result.is_some());
        assert!(!calculations[1].is_checkable());
    }

    #[test]
    fn malformed_answers_are_errors() {
        assert_eq!(
            Solution::parse("no marker"),
            Err(SolutionError::NoFinalAnswer)
        );
        assert_eq!(Solution::parse("\n#### 4"), Err(SolutionError::NoSteps));
        assert!(matches!(
            Solution::parse("a <<2+2=4 b\n#### 4"),
            Err(SolutionError::MalformedAnnotation(_))
        ));
    }
}
