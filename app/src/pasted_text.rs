//! Trajectories from pasted text: the question first, then its steps, cut at line ends (the
//! synthetic model's word problems) or at blank lines (real solutions, as ProcessBench writes
//! them). A pasted trajectory is unlabelled.

use actprm_core::Trajectory;

/// One step per line: the first non-empty line is the question, each further non-empty line a
/// step.
pub fn by_lines(text: &str) -> Result<Trajectory, String> {
    from_parts(
        text.lines(),
        "write a question on the first line",
        "write at least one step, one per line, below the question",
    )
}

/// One step per paragraph: the first paragraph is the question, each further paragraph (they
/// are separated by blank lines) a step.
pub fn by_paragraphs(text: &str) -> Result<Trajectory, String> {
    from_parts(
        text.split("\n\n"),
        "write the question first",
        "write the steps below the question, each after a blank line",
    )
}

/// The trajectory of `parts`, trimmed and without the empty ones; `no_question` and `no_steps`
/// say what to write when the question or every step is missing.
fn from_parts<'a>(
    parts: impl Iterator<Item = &'a str>,
    no_question: &str,
    no_steps: &str,
) -> Result<Trajectory, String> {
    let mut parts = parts.map(str::trim).filter(|part| !part.is_empty());
    let question = parts.next().ok_or(no_question)?.to_string();
    let steps: Vec<String> = parts.map(str::to_string).collect();
    if steps.is_empty() {
        return Err(no_steps.to_string());
    }
    Ok(Trajectory {
        question,
        steps,
        label: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn by_lines_the_first_line_is_the_question_and_blank_lines_are_skipped() {
        let trajectory = by_lines("\n  Q ?  \nstep one\n\n step two \n").unwrap();
        assert_eq!(trajectory.question, "Q ?");
        assert_eq!(trajectory.steps, ["step one", "step two"]);
        assert!(trajectory.label.is_none());
        assert!(by_lines("").unwrap_err().contains("question"));
        assert!(by_lines("Q ?\n   \n").unwrap_err().contains("step"));
    }

    #[test]
    fn by_paragraphs_a_solution_is_split_at_blank_lines() {
        let text =
            "Q: what is 2 + 3?\n\n2 + 3 = 5,\nsince 2 + 2 = 4.\n\n\n\n  The answer is 5.  \n";
        let trajectory = by_paragraphs(text).unwrap();
        assert_eq!(trajectory.question, "Q: what is 2 + 3?");
        assert_eq!(
            trajectory.steps,
            ["2 + 3 = 5,\nsince 2 + 2 = 4.", "The answer is 5."]
        );
        assert!(by_paragraphs("  \n\n ").unwrap_err().contains("question"));
        assert!(
            by_paragraphs("Q?\nstill the question")
                .unwrap_err()
                .contains("blank line")
        );
    }
}
