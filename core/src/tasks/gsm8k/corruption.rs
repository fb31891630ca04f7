//! Injecting one arithmetic error into a GSM8K solution, so that its label is exact.
//!
//! One calculation's written result is changed (`48/2 = 24` becomes `48/2 = 25`): that step is
//! the first error, and every step before it is untouched and correct. The wrong value then
//! flows on as a real slip would: later calculations that use it are recomputed, and the
//! numbers written after it that equal a changed value are rewritten.

use super::number::{evaluate, format_value, numbers_in, same_value};
use super::solution::{Calculation, Solution, SolutionStep};
use crate::rng::SeededRng;
use crate::trajectory::{ProcessLabel, Trajectory};

/// Which written result to change, and to what.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Corruption {
    /// 0-based step holding the calculation: the first error.
    pub step: usize,
    /// Index of the calculation within the step.
    pub calculation: usize,
    /// The wrong value written in place of its result.
    pub wrong: f64,
}

/// The trajectory a solution gives: its reasoning lines, then `The answer is <final>.`, every
/// step correct.
pub fn correct_trajectory(question: &str, solution: &Solution) -> Trajectory {
    let mut steps: Vec<String> = solution.steps.iter().map(|s| s.text.clone()).collect();
    steps.push(final_step(&solution.final_answer));
    Trajectory {
        question: question.to_string(),
        steps,
        label: Some(ProcessLabel::AllCorrect),
    }
}

/// A random corruption of `solution`: a step among those with a checkable calculation, one of
/// its checkable calculations, and a plausible wrong value. `None` when no calculation is
/// checkable.
pub fn draw_corruption(solution: &Solution, rng: &mut SeededRng) -> Option<Corruption> {
    let checkable = |step: &SolutionStep| -> Vec<usize> {
        (0..step.calculations.len())
            .filter(|&c| step.calculations[c].is_checkable())
            .collect()
    };
    let steps: Vec<usize> = (0..solution.steps.len())
        .filter(|&s| !checkable(&solution.steps[s]).is_empty())
        .collect();
    if steps.is_empty() {
        return None;
    }
    let step = *rng.choose(&steps);
    let calculation = *rng.choose(&checkable(&solution.steps[step]));
    let result = solution.steps[step].calculations[calculation].result;
    Some(Corruption {
        step,
        calculation,
        wrong: wrong_value(result, rng),
    })
}

/// A value a careless solver might write instead of `result`: off by a little, off by ten, or
/// a factor of ten out; never negative when `result` is not.
fn wrong_value(result: f64, rng: &mut SeededRng) -> f64 {
    let candidates: Vec<f64> = [
        result + 1.0,
        result - 1.0,
        result + 2.0,
        result - 2.0,
        result + 10.0,
        result - 10.0,
        result * 10.0,
        result / 10.0,
    ]
    .into_iter()
    .filter(|&value| !same_value(value, result) && (result < 0.0 || value >= 0.0))
    .filter(|&value| result.fract() != 0.0 || value.fract() == 0.0)
    .collect();
    *rng.choose(&candidates)
}

/// The trajectory of `solution` with `corruption` applied, labelled with its first error.
pub fn corrupted_trajectory(
    question: &str,
    solution: &Solution,
    corruption: Corruption,
) -> Trajectory {
    let target = &solution.steps[corruption.step].calculations[corruption.calculation];
    let mut changes = Changes(vec![(target.result, corruption.wrong)]);
    let mut steps = Vec::with_capacity(solution.steps.len() + 1);
    for (index, step) in solution.steps.iter().enumerate() {
        let text = if index < corruption.step {
            step.text.clone()
        } else if index == corruption.step {
            let span = target
                .written_result
                .clone()
                .expect("a corruption targets a written result");
            let later = &step.calculations[corruption.calculation + 1..];
            changes.recompute(later);
            format!(
                "{}{}{}",
                &step.text[..span.start],
                format_value(corruption.wrong),
                changes.rewrite(&step.text[span.end..])
            )
        } else {
            changes.recompute(&step.calculations);
            changes.rewrite(&step.text)
        };
        steps.push(text);
    }
    steps.push(changes.rewrite(&final_step(&solution.final_answer)));
    Trajectory {
        question: question.to_string(),
        steps,
        label: Some(ProcessLabel::FirstErrorAt(corruption.step)),
    }
}

fn final_step(final_answer: &str) -> String {
    format!("The answer is {final_answer}.")
}

/// The values changed so far: each correct value with the wrong one that replaces it.
struct Changes(Vec<(f64, f64)>);

impl Changes {
    /// The replacement of `value`, if it was changed.
    fn of(&self, value: f64) -> Option<f64> {
        self.0
            .iter()
            .find(|(old, _)| same_value(*old, value))
            .map(|&(_, new)| new)
    }

    /// Recomputes `calculations` with the changed values as operands, recording each result
    /// that changes as a result.
    fn recompute(&mut self, calculations: &[Calculation]) {
        for calculation in calculations {
            let rewritten = self.rewrite(&calculation.expression);
            if rewritten == calculation.expression {
                continue;
            }
            if let Some(new) = evaluate(&rewritten)
                && !same_value(new, calculation.result)
                && self.of(calculation.result).is_none()
            {
                self.0.push((calculation.result, new));
            }
        }
    }

    /// `text` with every number whose value was changed written as its replacement.
    fn rewrite(&self, text: &str) -> String {
        let mut rewritten = String::with_capacity(text.len());
        let mut copied = 0;
        for number in numbers_in(text) {
            if let Some(new) = self.of(number.value) {
                rewritten.push_str(&text[copied..number.range.start]);
                rewritten.push_str(&format_value(new));
                copied = number.range.end;
            }
        }
        rewritten.push_str(&text[copied..]);
        rewritten
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn solution() -> Solution {
        Solution::parse(
            "Natalia sold 48/2 = <<48/2=24>>24 clips in May.\n\
             Natalia sold 48+24 = <<48+24=72>>72 clips altogether in April and May.\n\
             #### 72",
        )
        .unwrap()
    }

    #[test]
    fn the_correct_trajectory_ends_with_the_final_answer() {
        let trajectory = correct_trajectory("Q", &solution());
        assert_eq!(
            trajectory.steps,
            [
                "Natalia sold 48/2 = 24 clips in May.",
                "Natalia sold 48+24 = 72 clips altogether in April and May.",
                "The answer is 72.",
            ]
        );
        assert_eq!(trajectory.label, Some(ProcessLabel::AllCorrect));
    }

    #[test]
    fn the_wrong_result_flows_into_later_steps_and_the_answer() {
        let corruption = Corruption {
            step: 0,
            calculation: 0,
            wrong: 25.0,
        };
        let trajectory = corrupted_trajectory("Q", &solution(), corruption);
        assert_eq!(
            trajectory.steps,
            [
                "Natalia sold 48/2 = 25 clips in May.",
                "Natalia sold 48+25 = 73 clips altogether in April and May.",
                "The answer is 73.",
            ]
        );
        assert_eq!(trajectory.label, Some(ProcessLabel::FirstErrorAt(0)));
    }

    #[test]
    fn steps_before_the_error_are_untouched() {
        let corruption = Corruption {
            step: 1,
            calculation: 0,
            wrong: 62.0,
        };
        let trajectory = corrupted_trajectory("Q", &solution(), corruption);
        assert_eq!(trajectory.steps[0], "Natalia sold 48/2 = 24 clips in May.");
        assert_eq!(
            trajectory.steps[1],
            "Natalia sold 48+24 = 62 clips altogether in April and May."
        );
        assert_eq!(trajectory.steps[2], "The answer is 62.");
        assert_eq!(trajectory.label, Some(ProcessLabel::FirstErrorAt(1)));
    }

    #[test]
    fn drawn_corruptions_change_a_checkable_result_to_a_plausible_value() {
        let solution = solution();
        for seed in 0..50 {
            let mut rng = SeededRng::new(seed);
            let corruption = draw_corruption(&solution, &mut rng).unwrap();
            let result =
                solution.steps[corruption.step].calculations[corruption.calculation].result;
            assert!(!same_value(corruption.wrong, result));
            assert!(corruption.wrong >= 0.0 && corruption.wrong.fract() == 0.0);
            let trajectory = corrupted_trajectory("Q", &solution, corruption);
            assert_ne!(trajectory.steps, correct_trajectory("Q", &solution).steps);
        }
        let plain = Solution::parse("Nothing to compute.\n#### 3").unwrap();
        assert_eq!(draw_corruption(&plain, &mut SeededRng::new(0)), None);
    }
}
