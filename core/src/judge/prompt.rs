//! The critique prompt a language-model judge answers: the question, then the solution's steps
//! wrapped as 1-based `<paragraph_i>` blocks, then the instruction to analyse them in order in
//! `<analysis_i>` blocks, stop at the first error and end with a `<conclusion>`.
//!
//! The wording carries a version, [`PROMPT_VERSION`]: an answer bought with one wording is never
//! reused for another (the label ledger keys its records on it).

/// The version of [`critique_prompt`]'s wording. Change it whenever the wording changes.
pub const PROMPT_VERSION: &str = "critique-v1";

/// The prompt that asks the judge to critique `steps`, a solution of `question`.
pub fn critique_prompt(question: &str, steps: &[String]) -> String {
    let mut prompt = String::from(
        "The following is a math problem and a solution to it. The solution is split into \
         paragraphs, each enclosed in tags and numbered from 1.\n\n[Math Problem]\n\n",
    );
    prompt.push_str(question.trim());
    prompt.push_str("\n\n[Solution]\n\n");
    for (index, step) in steps.iter().enumerate() {
        let number = index + 1;
        prompt.push_str(&format!(
            "<paragraph_{number}>\n{}\n</paragraph_{number}>\n\n",
            step.trim()
        ));
    }
    prompt.push_str(
        "Review the solution paragraph by paragraph, in order. For each paragraph i, write your \
         analysis between <analysis_i> and </analysis_i> and decide whether the paragraph is \
         correct, given the problem and the paragraphs before it. As soon as a paragraph \
         contains an error, stop: do not analyse any later paragraph. Finish your answer with \
         <conclusion>Correct</conclusion> if every paragraph is correct, or \
         <conclusion>Incorrect</conclusion> if you found an error.\n\nAnswer in this form:\n\
         <analysis_1>…</analysis_1>\n<analysis_2>…</analysis_2>\n…\n\
         <conclusion>Correct or Incorrect</conclusion>",
    );
    prompt
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_are_wrapped_as_numbered_paragraphs_from_one() {
        let steps = vec![
            "2 + 3 = 5.".to_string(),
            " So the answer is 5. ".to_string(),
        ];
        let prompt = critique_prompt("What is 2 + 3?", &steps);
        assert!(prompt.contains("[Math Problem]\n\nWhat is 2 + 3?\n\n[Solution]"));
        assert!(prompt.contains("<paragraph_1>\n2 + 3 = 5.\n</paragraph_1>"));
        assert!(prompt.contains("<paragraph_2>\nSo the answer is 5.\n</paragraph_2>"));
        assert!(!prompt.contains("paragraph_0"));
        assert!(!prompt.contains("<paragraph_3>"));
        assert!(prompt.ends_with("<conclusion>Correct or Incorrect</conclusion>"));
    }
}
