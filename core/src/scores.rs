//! Per-step ensemble scores of one trajectory: every head's probability, their mean μ and
//! their unbiased standard deviation s (docs/method.md §3).

use serde::{Deserialize, Serialize};

/// The ensemble's scores for the steps of one trajectory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepScores {
    /// μ_j: mean over heads of the probability that step j is correct.
    pub mean: Vec<f32>,
    /// s_j: standard deviation over heads (N − 1 denominator; 0 when E = 1).
    pub std: Vec<f32>,
    /// Every head's probability, `heads[e][j]`.
    pub heads: Vec<Vec<f32>>,
}

impl StepScores {
    /// Whether every head's probability is a finite number (and so the mean and spread).
    pub fn is_finite(&self) -> bool {
        self.heads.iter().flatten().all(|p| p.is_finite())
    }

    /// Scores from per-head probabilities `heads[e][j]` (at least one head).
    pub fn from_heads(heads: Vec<Vec<f32>>) -> Self {
        let count = heads.len();
        assert!(count > 0, "an ensemble has at least one head");
        let steps = heads[0].len();
        let column = |j: usize| heads.iter().map(move |head| f64::from(head[j]));
        let mean: Vec<f64> = (0..steps)
            .map(|j| column(j).sum::<f64>() / count as f64)
            .collect();
        let std = (0..steps)
            .map(|j| {
                if count < 2 {
                    return 0.0;
                }
                let sq: f64 = column(j).map(|p| (p - mean[j]).powi(2)).sum();
                (sq / (count - 1) as f64).sqrt() as f32
            })
            .collect();
        Self {
            mean: mean.into_iter().map(|m| m as f32).collect(),
            std,
            heads,
        }
    }

    /// Splits a flat `[E, batch, max_steps]` probability buffer into per-trajectory scores,
    /// keeping `step_counts[b]` steps of trajectory `b`.
    pub fn from_batch(probabilities: &[f32], num_heads: usize, step_counts: &[usize]) -> Vec<Self> {
        let batch = step_counts.len();
        let max_steps = probabilities.len() / (num_heads * batch).max(1);
        step_counts
            .iter()
            .enumerate()
            .map(|(b, &count)| {
                let heads = (0..num_heads)
                    .map(|e| {
                        let start = (e * batch + b) * max_steps;
                        probabilities[start..start + count].to_vec()
                    })
                    .collect();
                Self::from_heads(heads)
            })
            .collect()
    }

    /// Number of steps.
    pub fn num_steps(&self) -> usize {
        self.mean.len()
    }

    /// The predicted first error: the first step with μ_j < τ, or `None`.
    pub fn predicted_first_error(&self, tau: f32) -> Option<usize> {
        self.mean.iter().position(|&m| m < tau)
    }

    /// The last step selection looks at: the predicted first error, else the last step.
    pub fn last_counted_step(&self, tau: f32) -> usize {
        self.predicted_first_error(tau)
            .unwrap_or(self.num_steps().saturating_sub(1))
    }

    /// Predictive entropy of step `step` in bits: H(μ_j), the ensemble's total uncertainty
    /// (1 bit at μ = 0.5, 0 at μ ∈ {0, 1}).
    pub fn entropy(&self, step: usize) -> f32 {
        binary_entropy(f64::from(self.mean[step])) as f32
    }

    /// Mutual information between step `step`'s label and the choice of head, in bits (BALD):
    /// H(μ_j) minus the heads' mean entropy. It is the part of the uncertainty that comes from
    /// the heads disagreeing, and 0 when E = 1.
    pub fn mutual_information(&self, step: usize) -> f32 {
        let expected = self
            .heads
            .iter()
            .map(|head| binary_entropy(f64::from(head[step])))
            .sum::<f64>()
            / self.heads.len() as f64;
        (binary_entropy(f64::from(self.mean[step])) - expected).max(0.0) as f32
    }
}

/// Entropy in bits of a Bernoulli variable with success probability `p` (0 at the ends).
fn binary_entropy(p: f64) -> f64 {
    let term = |q: f64| if q <= 0.0 { 0.0 } else { -q * q.log2() };
    term(p.clamp(0.0, 1.0)) + term(1.0 - p.clamp(0.0, 1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_nan_or_infinite_head_makes_the_scores_non_finite() {
        assert!(StepScores::from_heads(vec![vec![0.2, 0.9], vec![0.3, 0.8]]).is_finite());
        for bad in [f32::NAN, f32::INFINITY] {
            assert!(!StepScores::from_heads(vec![vec![0.2, 0.9], vec![0.3, bad]]).is_finite());
        }
    }

    #[test]
    fn mean_and_unbiased_std_by_hand() {
        let scores = StepScores::from_heads(vec![vec![0.9, 0.2], vec![0.7, 0.4]]);
        assert!((scores.mean[0] - 0.8).abs() < 1e-6);
        assert!((scores.mean[1] - 0.3).abs() < 1e-6);
        // Two heads 0.2 apart: s = sqrt(2 · 0.1² / 1) = 0.141421…
        assert!((scores.std[0] - 0.141_421_36).abs() < 1e-6);
        assert_eq!(scores.predicted_first_error(0.5), Some(1));
    }

    #[test]
    fn a_single_head_has_zero_spread() {
        let scores = StepScores::from_heads(vec![vec![0.3, 0.8]]);
        assert_eq!(scores.std, vec![0.0, 0.0]);
    }

    #[test]
    fn entropy_in_bits_by_hand() {
        let scores = StepScores::from_heads(vec![vec![0.5, 1.0, 0.95]]);
        assert!((scores.entropy(0) - 1.0).abs() < 1e-6);
        assert_eq!(scores.entropy(1), 0.0);
        // H(0.95) = −0.95·log2 0.95 − 0.05·log2 0.05 = 0.286397…
        assert!((scores.entropy(2) - 0.286_397).abs() < 1e-5);
    }

    #[test]
    fn mutual_information_is_the_disagreement_part() {
        // Two confident heads that contradict each other: H(μ) = 1 bit, each head 0 bits.
        let split = StepScores::from_heads(vec![vec![1.0], vec![0.0]]);
        assert!((split.mutual_information(0) - 1.0).abs() < 1e-6);
        // Two heads that agree on 0.5: all of the entropy is shared, none is disagreement.
        let agreed = StepScores::from_heads(vec![vec![0.5], vec![0.5]]);
        assert!((agreed.entropy(0) - 1.0).abs() < 1e-6);
        assert_eq!(agreed.mutual_information(0), 0.0);
        // Heads 0.9 and 0.7: H(0.8) − (H(0.9) + H(0.7)) / 2 = 0.721928 − 0.675143 = 0.046785.
        let mild = StepScores::from_heads(vec![vec![0.9], vec![0.7]]);
        assert!((mild.mutual_information(0) - 0.046_785).abs() < 1e-5);
        // One head never disagrees with itself.
        let single = StepScores::from_heads(vec![vec![0.6]]);
        assert_eq!(single.mutual_information(0), 0.0);
    }

    #[test]
    fn batch_buffer_is_split_per_trajectory() {
        // E = 2, batch = 2, max_steps = 3, laid out [e][b][s].
        let flat = [
            0.1, 0.2, 0.3, 0.4, 0.5, 0.6, // head 0
            0.7, 0.8, 0.9, 1.0, 0.0, 0.5, // head 1
        ];
        let scores = StepScores::from_batch(&flat, 2, &[3, 1]);
        assert_eq!(
            scores[0].heads,
            vec![vec![0.1, 0.2, 0.3], vec![0.7, 0.8, 0.9]]
        );
        assert_eq!(scores[1].heads, vec![vec![0.4], vec![1.0]]);
    }
}
