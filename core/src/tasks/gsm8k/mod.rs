//! A process-labelled pool derived from GSM8K: each reference solution is split into steps, and
//! about half get one arithmetic error injected through their calculator annotations, so every
//! label is exact (docs/method.md §4's pool experiment on real text).

mod corruption;
mod number;
mod solution;

use burn::config::Config;

pub use corruption::{Corruption, correct_trajectory, corrupted_trajectory, draw_corruption};
pub use number::{evaluate, format_value, numbers_in, same_value};
pub use solution::{Calculation, Solution, SolutionError, SolutionStep};

use crate::data::Gsm8kProblem;
use crate::rng::SeededRng;
use crate::trajectory::Trajectory;

/// How trajectories are derived from GSM8K problems.
#[derive(Config, Debug, PartialEq)]
pub struct Gsm8kPoolConfig {
    /// Probability that a trajectory carries an injected error (ProcessBench's gsm8k split is
    /// about half erroneous). A solution without a checkable calculation stays correct.
    #[config(default = 0.5)]
    pub error_rate: f64,
}

/// `count` labelled trajectories from `problems`: trajectory `k` is derived from problem
/// `k mod problems.len()` with stream `k` of `seed`, so a count above the number of problems
/// gives each problem several variants, and the same arguments always give the same pool.
///
/// # Panics
/// When `problems` is empty and `count` is not.
pub fn derive_trajectories(
    problems: &[Gsm8kProblem],
    config: &Gsm8kPoolConfig,
    seed: u64,
    count: usize,
) -> Vec<Trajectory> {
    assert!(
        count == 0 || !problems.is_empty(),
        "no GSM8K problems to derive from"
    );
    (0..count)
        .map(|k| {
            let problem = &problems[k % problems.len()];
            let mut rng = SeededRng::derive(seed, k as u64);
            let corruption = rng
                .chance(config.error_rate)
                .then(|| draw_corruption(&problem.solution, &mut rng))
                .flatten();
            match corruption {
                Some(corruption) => {
                    corrupted_trajectory(&problem.question, &problem.solution, corruption)
                }
                None => correct_trajectory(&problem.question, &problem.solution),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trajectory::ProcessLabel;

    fn problems() -> Vec<Gsm8kProblem> {
        let answers = [
            "She has 3*4 = <<3*4=12>>12 eggs.\nShe sells 12-5 = <<12-5=7>>7.\n#### 7",
            "He runs 2+3 = <<2+3=5>>5 miles.\n#### 5",
            "There is nothing to compute.\n#### 1",
        ];
        answers
            .iter()
            .map(|answer| Gsm8kProblem {
                question: "Q".into(),
                solution: Solution::parse(answer).unwrap(),
            })
            .collect()
    }

    #[test]
    fn pools_are_reproducible_cycle_through_problems_and_follow_the_error_rate() {
        let problems = problems();
        let config = Gsm8kPoolConfig::new();
        let pool = derive_trajectories(&problems, &config, 3, 600);
        assert_eq!(pool, derive_trajectories(&problems, &config, 3, 600));
        assert_ne!(pool, derive_trajectories(&problems, &config, 4, 600));
        assert_eq!(pool[5].steps.last().unwrap(), "The answer is 1.");
        // Problems 0 and 1 are corrupted about half the time; problem 2 never is.
        let errors = (0..600)
            .filter(|k| k % 3 != 2)
            .filter(|&k| pool[k].label != Some(ProcessLabel::AllCorrect))
            .count();
        assert!((160..=240).contains(&errors), "{errors} of 400");
        assert!(
            (0..600)
                .filter(|k| k % 3 == 2)
                .all(|k| pool[k].label == Some(ProcessLabel::AllCorrect))
        );
        let none = Gsm8kPoolConfig::new().with_error_rate(0.0);
        assert!(
            derive_trajectories(&problems, &none, 3, 30)
                .iter()
                .all(|t| t.label == Some(ProcessLabel::AllCorrect))
        );
    }
}
