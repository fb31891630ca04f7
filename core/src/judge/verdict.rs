//! Turning a judge's answer to the [critique prompt](super::critique_prompt) into a process
//! label. The verdict is read from the answer's last `<conclusion>`: "Correct" means no step is
//! wrong; "Incorrect" puts the first error at the paragraph of the last `<analysis_i>` block
//! (1-based, so step `i − 1`). Anything else is [`Unusable`]: recorded, never guessed.
//!
//! A reasoning model's thinking section (everything up to its last `</think>`) is left out, so
//! a draft verdict inside it is not read as the answer.

use serde::{Deserialize, Serialize};

use crate::trajectory::ProcessLabel;

/// Why an answer gives no label.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum Unusable {
    /// The judge stopped at its token limit before finishing the answer.
    #[error("the answer was cut off at the judge's token limit")]
    Truncated,
    /// A `<think>` section is opened and never closed.
    #[error("the answer's thinking section never ends")]
    UnfinishedThinking,
    /// No `<conclusion>…</conclusion>` after the thinking section.
    #[error("the answer has no <conclusion>…</conclusion>")]
    NoConclusion,
    /// The conclusion says neither "Correct" nor "Incorrect".
    #[error("the conclusion is {conclusion:?}, neither Correct nor Incorrect")]
    UnknownConclusion {
        /// The conclusion's text.
        conclusion: String,
    },
    /// "Incorrect", but no paragraph was analysed, so the error cannot be placed.
    #[error("the conclusion is Incorrect but no <analysis_i> block says where")]
    NoAnalysis,
    /// The last analysis names a paragraph the solution does not have.
    #[error("the last analysis is of paragraph {paragraph}, but the solution has {steps}")]
    AnalysisOutOfRange {
        /// The 1-based paragraph number the answer gives.
        paragraph: usize,
        /// The solution's number of paragraphs.
        steps: usize,
    },
}

/// The process label in `answer`, the judge's reply about a solution of `num_steps` steps.
pub fn parse_verdict(answer: &str, num_steps: usize) -> Result<ProcessLabel, Unusable> {
    let answer = after_thinking(answer)?;
    let conclusion = last_conclusion(answer).ok_or(Unusable::NoConclusion)?;
    let verdict = conclusion
        .trim()
        .trim_matches(|c: char| c == '*' || c == '.' || c.is_whitespace());
    if verdict.eq_ignore_ascii_case("correct") {
        return Ok(ProcessLabel::AllCorrect);
    }
    if !verdict.eq_ignore_ascii_case("incorrect") {
        return Err(Unusable::UnknownConclusion {
            conclusion: conclusion.trim().to_string(),
        });
    }
    let paragraph = last_analysis(answer).ok_or(Unusable::NoAnalysis)?;
    if paragraph == 0 || paragraph > num_steps {
        return Err(Unusable::AnalysisOutOfRange {
            paragraph,
            steps: num_steps,
        });
    }
    Ok(ProcessLabel::FirstErrorAt(paragraph - 1))
}

/// The answer after its thinking section, if it has one.
fn after_thinking(answer: &str) -> Result<&str, Unusable> {
    let lower = answer.to_ascii_lowercase();
    match lower.rfind("</think>") {
        Some(end) => Ok(&answer[end + "</think>".len()..]),
        None if lower.contains("<think>") => Err(Unusable::UnfinishedThinking),
        None => Ok(answer),
    }
}

/// The text of the last `<conclusion>…</conclusion>`.
fn last_conclusion(answer: &str) -> Option<&str> {
    let lower = answer.to_ascii_lowercase();
    let open = lower.rfind("<conclusion>")? + "<conclusion>".len();
    let close = open + lower[open..].find("</conclusion>")?;
    Some(&answer[open..close])
}

/// The paragraph number of the last `<analysis_i>` opening tag.
fn last_analysis(answer: &str) -> Option<usize> {
    let lower = answer.to_ascii_lowercase();
    let mut last = None;
    let mut rest = lower.as_str();
    while let Some(start) = rest.find("<analysis_") {
        rest = &rest[start + "<analysis_".len()..];
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits > 0 && rest[digits..].starts_with('>') {
            last = rest[..digits].parse().ok().or(Some(usize::MAX));
        }
    }
    last
}

#[cfg(test)]
mod tests {
    use super::*;

    fn analyses(count: usize) -> String {
        (1..=count)
            .map(|i| format!("<analysis_{i}>Paragraph {i} checked.</analysis_{i}>\n"))
            .collect()
    }

    #[test]
    fn correct_means_no_error() {
        let answer = format!("{}<conclusion>Correct</conclusion>", analyses(3));
        assert_eq!(parse_verdict(&answer, 3), Ok(ProcessLabel::AllCorrect));
        assert_eq!(
            parse_verdict("<conclusion> **correct.** </conclusion>", 3),
            Ok(ProcessLabel::AllCorrect)
        );
    }

    #[test]
    fn incorrect_places_the_error_at_the_last_analysed_paragraph() {
        let answer = format!("{}<conclusion>Incorrect</conclusion>", analyses(3));
        assert_eq!(parse_verdict(&answer, 5), Ok(ProcessLabel::FirstErrorAt(2)));
        let first = format!("{}<CONCLUSION>incorrect</CONCLUSION>", analyses(1));
        assert_eq!(parse_verdict(&first, 5), Ok(ProcessLabel::FirstErrorAt(0)));
    }

    #[test]
    fn the_thinking_section_is_not_the_answer() {
        let answer = format!(
            "<think>Maybe <analysis_4> ... <conclusion>Correct</conclusion>?</think>\n{}\
             <conclusion>Incorrect</conclusion>",
            analyses(2)
        );
        assert_eq!(parse_verdict(&answer, 4), Ok(ProcessLabel::FirstErrorAt(1)));
        // A chat template may open the section itself, so only its end shows.
        let answer = format!(
            "drafting…</think>{}<conclusion>Correct</conclusion>",
            analyses(2)
        );
        assert_eq!(parse_verdict(&answer, 2), Ok(ProcessLabel::AllCorrect));
        assert_eq!(
            parse_verdict("<think>still thinking <conclusion>Correct</conclusion>", 2),
            Err(Unusable::UnfinishedThinking)
        );
    }

    #[test]
    fn answers_without_a_readable_verdict_are_unusable() {
        assert_eq!(parse_verdict(&analyses(2), 2), Err(Unusable::NoConclusion));
        assert_eq!(
            parse_verdict("<conclusion>Correct", 2),
            Err(Unusable::NoConclusion)
        );
        assert_eq!(
            parse_verdict("<conclusion>Partly</conclusion>", 2),
            Err(Unusable::UnknownConclusion {
                conclusion: "Partly".into()
            })
        );
        assert_eq!(
            parse_verdict("<conclusion>Incorrect</conclusion>", 2),
            Err(Unusable::NoAnalysis)
        );
        let past_the_end = format!("{}<conclusion>Incorrect</conclusion>", analyses(3));
        assert_eq!(
            parse_verdict(&past_the_end, 2),
            Err(Unusable::AnalysisOutOfRange {
                paragraph: 3,
                steps: 2
            })
        );
        assert_eq!(
            parse_verdict(
                "<analysis_0>x</analysis_0><conclusion>Incorrect</conclusion>",
                2
            ),
            Err(Unusable::AnalysisOutOfRange {
                paragraph: 0,
                steps: 2
            })
        );
    }

    #[test]
    fn reasons_serialise_by_name() {
        let json = serde_json::to_string(&Unusable::AnalysisOutOfRange {
            paragraph: 7,
            steps: 2,
        })
        .unwrap();
        assert_eq!(
            json,
            r#"{"reason":"analysis_out_of_range","paragraph":7,"steps":2}"#
        );
        let back: Unusable = serde_json::from_str(r#"{"reason":"truncated"}"#).unwrap();
        assert_eq!(back, Unusable::Truncated);
    }
}
