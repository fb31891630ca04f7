//! Trivial first-error predictors that read no step, so that a reader sees what "above chance"
//! means on a set: flagging nothing, flagging the last step, flagging a uniformly random
//! outcome, and flagging each step at random at the rate best for the set. Under
//! ProcessBench's F1, the harmonic mean of the accuracies on erroneous and on correct items, the
//! first two score 0 by construction; the third is the chance level, and the fourth the most a
//! flagger that reads no step but knows the set's error rate and lengths can expect.

use serde::{Deserialize, Serialize};

use crate::eval::metrics::FirstErrorF1;
use crate::trajectory::Trajectory;

/// The trivial predictors' scores on one labelled set.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TrivialBaselines {
    /// Predicts "no error" everywhere: right on every correct item, wrong on every erroneous one.
    pub flag_nothing: FirstErrorF1,
    /// Predicts the last step as the first error: right where the error is the last step.
    pub flag_last_step: FirstErrorF1,
    /// Picks one of a trajectory's `n` steps or "no error", each with probability `1 / (n + 1)`:
    /// the expected accuracies, and their harmonic mean.
    pub random_step: FirstErrorF1,
    /// Flags each step wrong independently at the rate with the highest expected F1 on the set
    /// (chosen on the set itself).
    pub random_rate: RandomRate,
}

/// Labelled items as `(steps, first error)`, `None` for an item without an error.
type Items = [(usize, Option<usize>)];

/// The expected scores of a predictor that reads no step and is right on an item of `(steps,
/// first error)` with probability `hit`.
fn expected(items: &Items, hit: impl Fn(usize, Option<usize>) -> f64) -> FirstErrorF1 {
    let mean = |erroneous: bool| {
        let (sum, count) = items
            .iter()
            .filter(|(_, first_error)| first_error.is_some() == erroneous)
            .fold((0.0, 0usize), |(sum, count), &(steps, first_error)| {
                (sum + hit(steps, first_error), count + 1)
            });
        if count == 0 { 0.0 } else { sum / count as f64 }
    };
    let erroneous = items
        .iter()
        .filter(|(_, first_error)| first_error.is_some())
        .count();
    FirstErrorF1::from_accuracies(erroneous, items.len() - erroneous, mean(true), mean(false))
}

/// A flagger that marks each step wrong with probability `rate`, and its expected scores.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RandomRate {
    /// The probability that a step is flagged.
    pub rate: f64,
    /// Expected accuracies at that rate, and their harmonic mean.
    pub scores: FirstErrorF1,
}

/// Rates tried by [`RandomRate::best`]: 0.001, 0.002, ..., 0.999.
const RATE_GRID: usize = 1_000;

impl RandomRate {
    /// The expected scores of flagging at `rate` items of `(steps, first error)`: an erroneous
    /// item is right when its first `k` steps pass and step `k` is flagged, `(1 - rate)^k rate`;
    /// a correct one when no step is flagged, `(1 - rate)^steps`.
    pub fn at(rate: f64, items: &Items) -> Self {
        let pass = 1.0 - rate;
        let scores = expected(items, |steps, first_error| match first_error {
            Some(k) => pass.powi(k as i32) * rate,
            None => pass.powi(steps as i32),
        });
        Self { rate, scores }
    }

    /// The rate on a grid of step [`RATE_GRID`]⁻¹ with the highest expected F1 on `items`.
    pub fn best(items: &Items) -> Self {
        (1..RATE_GRID)
            .map(|i| Self::at(i as f64 / RATE_GRID as f64, items))
            .max_by(|a, b| a.scores.f1.total_cmp(&b.scores.f1))
            .expect("the grid is not empty")
    }
}

impl TrivialBaselines {
    /// The baselines on the labelled trajectories among `trajectories`.
    pub fn of(trajectories: &[Trajectory]) -> Self {
        let labelled: Vec<(usize, Option<usize>)> = trajectories
            .iter()
            .filter_map(|t| t.label.map(|label| (t.num_steps(), label.first_error())))
            .collect();
        let flag_nothing =
            FirstErrorF1::from_pairs(labelled.iter().map(|&(_, label)| (None, label)));
        let flag_last_step = FirstErrorF1::from_pairs(
            labelled
                .iter()
                .map(|&(steps, label)| (steps.checked_sub(1), label)),
        );
        Self {
            flag_nothing,
            flag_last_step,
            random_step: expected(&labelled, |steps, _| 1.0 / (steps + 1) as f64),
            random_rate: RandomRate::best(&labelled),
        }
    }

    /// The highest F1 among them.
    pub fn best_f1(&self) -> f64 {
        [
            self.flag_nothing,
            self.flag_last_step,
            self.random_step,
            self.random_rate.scores,
        ]
        .into_iter()
        .map(|baseline| baseline.f1)
        .fold(0.0, f64::max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trajectory::ProcessLabel;

    fn labelled(steps: usize, label: ProcessLabel) -> Trajectory {
        Trajectory {
            question: String::new(),
            steps: vec![String::new(); steps],
            label: Some(label),
        }
    }

    #[test]
    fn hand_computed_baselines() {
        let set = [
            labelled(3, ProcessLabel::FirstErrorAt(2)),
            labelled(1, ProcessLabel::FirstErrorAt(0)),
            labelled(4, ProcessLabel::FirstErrorAt(1)),
            labelled(3, ProcessLabel::AllCorrect),
        ];
        let baselines = TrivialBaselines::of(&set);
        assert_eq!(baselines.flag_nothing.correct_accuracy, 1.0);
        assert_eq!(baselines.flag_nothing.f1, 0.0);
        assert!((baselines.flag_last_step.erroneous_accuracy - 2.0 / 3.0).abs() < 1e-12);
        assert_eq!(baselines.flag_last_step.f1, 0.0);
        // Erroneous items have 3, 1 and 4 steps: (1/4 + 1/2 + 1/5) / 3; the correct one 1/4.
        let erroneous = (0.25 + 0.5 + 0.2) / 3.0;
        let random = baselines.random_step;
        assert!((random.erroneous_accuracy - erroneous).abs() < 1e-12);
        assert!((random.correct_accuracy - 0.25).abs() < 1e-12);
        let f1 = 2.0 * erroneous * 0.25 / (erroneous + 0.25);
        assert!((random.f1 - f1).abs() < 1e-12);
        // The best random flagger (rate 0.285, found by a grid search in Python) expects less.
        let flagger = baselines.random_rate;
        assert!((flagger.rate - 0.285).abs() < 1e-9, "{flagger:?}");
        assert!(
            (flagger.scores.f1 - 0.267_948_9).abs() < 1e-6,
            "{flagger:?}"
        );
        assert_eq!(baselines.best_f1(), random.f1);
    }

    #[test]
    fn the_random_flagger_is_scored_by_hand_and_its_best_rate_found() {
        // Errors at steps 0 and 2, and one correct item of 2 steps.
        let items = [(3, Some(0)), (4, Some(2)), (2, None)];
        let half = RandomRate::at(0.5, &items);
        assert!((half.scores.erroneous_accuracy - (0.5 + 0.125) / 2.0).abs() < 1e-12);
        assert!((half.scores.correct_accuracy - 0.25).abs() < 1e-12);
        let best = RandomRate::best(&items);
        for rate in [0.05, 0.2, 0.35, 0.5, 0.8] {
            assert!(best.scores.f1 >= RandomRate::at(rate, &items).scores.f1);
        }
        assert!(best.rate > 0.05 && best.rate < 0.8, "{best:?}");
        // With every item correct, flagging less is always better, and F1 stays 0.
        assert_eq!(RandomRate::best(&[(3, None)]).scores.f1, 0.0);
    }

    #[test]
    fn unlabelled_items_are_skipped() {
        let mut unlabelled = labelled(2, ProcessLabel::AllCorrect);
        unlabelled.label = None;
        let baselines = TrivialBaselines::of(&[unlabelled]);
        assert_eq!(baselines.flag_nothing.num_correct, 0);
        assert_eq!(baselines.best_f1(), 0.0);
    }
}
