//! A solution the visitor pastes: the question, then its steps, each after a blank line.

use actprm_core::Trajectory;

/// Reads a pasted solution: the first paragraph is the question, each further paragraph (they
/// are separated by blank lines) a step, as ProcessBench's solutions are written.
pub fn parse_solution(text: &str) -> Result<Trajectory, String> {
    let mut paragraphs = text
        .split("\n\n")
        .map(str::trim)
        .filter(|paragraph| !paragraph.is_empty());
    let question = paragraphs
        .next()
        .ok_or("write the question first")?
        .to_string();
    let steps: Vec<String> = paragraphs.map(str::to_string).collect();
    if steps.is_empty() {
        return Err("write the steps below the question, each after a blank line".to_string());
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
    fn a_pasted_solution_is_split_at_blank_lines() {
        let text =
            "Q: what is 2 + 3?\n\n2 + 3 = 5,\nsince 2 + 2 = 4.\n\n\n\n  The answer is 5.  \n";
        let trajectory = parse_solution(text).unwrap();
        assert_eq!(trajectory.question, "Q: what is 2 + 3?");
        assert_eq!(
            trajectory.steps,
            ["2 + 3 = 5,\nsince 2 + 2 = 4.", "The answer is 5."]
        );
        assert!(parse_solution("  \n\n ").unwrap_err().contains("question"));
        assert!(
            parse_solution("Q?\nstill the question")
                .unwrap_err()
                .contains("blank line")
        );
    }
}
