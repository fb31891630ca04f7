//! The information strategies: a measure (predictive entropy, or the mutual information of
//! BALD) summed over a trajectory's counted steps, against a threshold in bits.

use serde::{Deserialize, Serialize};

use crate::scores::StepScores;
use crate::selection::{Selection, SelectionReason, UncertaintyTest, Verdict};

/// The per-step quantity an [`InformationRule`] sums.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Measure {
    /// Predictive entropy H(μ_j): total uncertainty, from the mean alone.
    Entropy,
    /// Mutual information between the label and the head (BALD): the heads' disagreement.
    MutualInformation,
}

/// Selects a trajectory when a measure summed over its counted steps exceeds a threshold.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct InformationRule {
    /// What is summed.
    pub measure: Measure,
    /// Threshold in bits (exclusive: a total equal to it is trusted).
    pub threshold: f32,
    /// τ: a step is predicted erroneous when its mean is below τ; later steps do not count.
    pub tau: f32,
}

impl InformationRule {
    /// The measure of one step.
    fn of_step(&self, scores: &StepScores, step: usize) -> f32 {
        match self.measure {
            Measure::Entropy => scores.entropy(step),
            Measure::MutualInformation => scores.mutual_information(step),
        }
    }

    /// Applies the rule to one trajectory's scores.
    pub fn decide(&self, scores: &StepScores) -> Verdict {
        if scores.num_steps() == 0 {
            return Verdict::Trusted;
        }
        let per_step: Vec<f32> = (0..=scores.last_counted_step(self.tau))
            .map(|j| self.of_step(scores, j))
            .collect();
        let total: f32 = per_step.iter().sum();
        if total <= self.threshold {
            return Verdict::Trusted;
        }
        let step = (0..per_step.len())
            .max_by(|&a, &b| per_step[a].total_cmp(&per_step[b]))
            .unwrap_or(0);
        let test = match self.measure {
            Measure::Entropy => UncertaintyTest::Entropy,
            Measure::MutualInformation => UncertaintyTest::MutualInformation,
        };
        Verdict::Selected(Selection {
            reason: SelectionReason {
                step,
                test,
                value: total,
                threshold: self.threshold,
            },
            aleatoric: self.measure == Measure::Entropy,
            epistemic: self.measure == Measure::MutualInformation,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn information_totals_stop_at_the_predicted_first_error() {
        // Step 0 is a confident error (μ = 0.01): the coin flip after it does not count.
        let scores = StepScores::from_heads(vec![vec![0.01, 0.5]]);
        let rule = InformationRule {
            measure: Measure::Entropy,
            threshold: 0.2,
            tau: 0.5,
        };
        assert_eq!(rule.decide(&scores), Verdict::Trusted);
        // With τ = 0 no step is predicted erroneous and the coin flip counts.
        let Verdict::Selected(selection) = InformationRule { tau: 0.0, ..rule }.decide(&scores)
        else {
            panic!("expected a selection")
        };
        assert_eq!(selection.reason.step, 1);
        assert_eq!(selection.reason.test, UncertaintyTest::Entropy);
        assert!(selection.aleatoric && !selection.epistemic);
        assert!((selection.reason.value - (1.0 + 0.080_793)).abs() < 1e-4);
    }
}
