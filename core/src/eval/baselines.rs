//! Trivial first-error predictors that read no step, so that a reader sees what "above chance"
//! means on a set: flagging nothing, flagging the last step, and flagging a uniformly random
//! outcome. Under ProcessBench's F1, the harmonic mean of the accuracies on erroneous and on
//! correct items, the first two score 0 by construction; the third is the chance level.

use serde::{Deserialize, Serialize};

use crate::eval::metrics::FirstErrorF1;
use crate::trajectory::Trajectory;

/// The three trivial predictors' scores on one labelled set.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TrivialBaselines {
    /// Predicts "no error" everywhere: right on every correct item, wrong on every erroneous one.
    pub flag_nothing: FirstErrorF1,
    /// Predicts the last step as the first error: right where the error is the last step.
    pub flag_last_step: FirstErrorF1,
    /// Picks one of a trajectory's `n` steps or "no error", each with probability `1 / (n + 1)`:
    /// the expected accuracies, and their harmonic mean.
    pub random_step: FirstErrorF1,
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
        let chance = |erroneous: bool| {
            let (sum, count) = labelled
                .iter()
                .filter(|(_, label)| label.is_some() == erroneous)
                .fold((0.0, 0usize), |(sum, count), &(steps, _)| {
                    (sum + 1.0 / (steps + 1) as f64, count + 1)
                });
            if count == 0 { 0.0 } else { sum / count as f64 }
        };
        let random_step = FirstErrorF1::from_accuracies(
            flag_nothing.num_erroneous,
            flag_nothing.num_correct,
            chance(true),
            chance(false),
        );
        Self {
            flag_nothing,
            flag_last_step,
            random_step,
        }
    }

    /// The highest F1 among the three.
    pub fn best_f1(&self) -> f64 {
        [self.flag_nothing, self.flag_last_step, self.random_step]
            .iter()
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
        assert_eq!(baselines.best_f1(), random.f1);
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
