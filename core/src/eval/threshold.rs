//! Choosing the decision threshold τ on a validation set: the τ at which the predicted first
//! errors (the first step with μ < τ) score the highest first-error F1. The paper fixes τ = 0.5;
//! a model whose scores are shifted, as heads trained on mostly-correct steps are, can rank
//! erroneous steps below correct ones and still place them all above 0.5. Chosen on validation,
//! never on the set that is reported.

use serde::{Deserialize, Serialize};

use crate::eval::metrics::FirstErrorF1;
use crate::scores::StepScores;
use crate::trajectory::Trajectory;

/// The paper's decision threshold: a step is erroneous when μ < 0.5.
pub const PAPER_TAU: f32 = 0.5;

/// Most thresholds tried: with more distinct scores than this, candidates are spread over
/// their quantiles.
pub const MAX_CANDIDATES: usize = 2_048;

/// A threshold chosen on a validation set, with what it scored there.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ChosenThreshold {
    /// τ: a step is predicted erroneous when μ < τ.
    pub tau: f32,
    /// First-error F1 at `tau` on the validation set.
    pub validation_f1: f64,
    /// Labelled trajectories it was chosen on.
    pub validation_items: usize,
}

/// The τ in (0, 1) that maximises first-error F1 of `scores` against the labels of
/// `trajectories` (unlabelled ones are skipped); among equally good thresholds, the one
/// nearest 0.5. `None` when no trajectory is labelled.
///
/// Every τ between two neighbouring distinct scores predicts the same first errors, so the
/// candidates are the midpoints between distinct scores (at most [`MAX_CANDIDATES`] of them),
/// 0.5 itself, and one below every score.
pub fn choose_threshold(
    trajectories: &[Trajectory],
    scores: &[StepScores],
) -> Option<ChosenThreshold> {
    let labelled: Vec<(&StepScores, Option<usize>)> = trajectories
        .iter()
        .zip(scores)
        .filter_map(|(t, s)| t.label.map(|label| (s, label.first_error())))
        .collect();
    if labelled.is_empty() {
        return None;
    }
    let f1_at = |tau: f32| {
        FirstErrorF1::from_pairs(
            labelled
                .iter()
                .map(|(s, label)| (s.predicted_first_error(tau), *label)),
        )
        .f1
    };
    let mut best = ChosenThreshold {
        tau: PAPER_TAU,
        validation_f1: f1_at(PAPER_TAU),
        validation_items: labelled.len(),
    };
    for tau in candidates(labelled.iter().flat_map(|(s, _)| s.mean.iter().copied())) {
        let f1 = f1_at(tau);
        let nearer = (tau - PAPER_TAU).abs() < (best.tau - PAPER_TAU).abs();
        if f1 > best.validation_f1 || (f1 == best.validation_f1 && nearer) {
            best.tau = tau;
            best.validation_f1 = f1;
        }
    }
    Some(best)
}

/// Thresholds in (0, 1) between which the predictions of `values` differ.
fn candidates(values: impl Iterator<Item = f32>) -> Vec<f32> {
    let mut distinct: Vec<f32> = values.filter(|v| v.is_finite()).collect();
    distinct.sort_by(f32::total_cmp);
    distinct.dedup();
    if distinct.len() > MAX_CANDIDATES {
        let last = distinct.len() - 1;
        distinct = (0..MAX_CANDIDATES)
            .map(|i| distinct[i * last / (MAX_CANDIDATES - 1)])
            .collect();
        distinct.dedup();
    }
    let below_all = distinct.first().map(|&lowest| lowest / 2.0);
    distinct
        .windows(2)
        .map(|pair| pair[0] + (pair[1] - pair[0]) / 2.0)
        .chain(below_all)
        .filter(|&tau| tau > 0.0 && tau < 1.0)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trajectory::ProcessLabel;

    fn item(mean: &[f32], label: ProcessLabel) -> (Trajectory, StepScores) {
        let trajectory = Trajectory {
            question: String::new(),
            steps: vec![String::new(); mean.len()],
            label: Some(label),
        };
        (trajectory, StepScores::from_heads(vec![mean.to_vec()]))
    }

    fn choose(items: &[(Trajectory, StepScores)]) -> ChosenThreshold {
        let (trajectories, scores): (Vec<_>, Vec<_>) = items.iter().cloned().unzip();
        choose_threshold(&trajectories, &scores).expect("labelled items")
    }

    /// Scores that rank every error below every correct step, all above 0.5: τ = 0.5 flags
    /// nothing (F1 0), the chosen τ separates them perfectly.
    #[test]
    fn finds_the_gap_that_half_misses() {
        let items = [
            item(&[0.95, 0.70, 0.90], ProcessLabel::FirstErrorAt(1)),
            item(&[0.72, 0.93], ProcessLabel::FirstErrorAt(0)),
            item(&[0.91, 0.94, 0.96], ProcessLabel::AllCorrect),
            item(&[0.88], ProcessLabel::AllCorrect),
        ];
        let chosen = choose(&items);
        assert!(chosen.tau > 0.72 && chosen.tau < 0.88, "τ = {}", chosen.tau);
        assert_eq!(chosen.validation_f1, 1.0);
        assert_eq!(chosen.validation_items, 4);
    }

    /// Where 0.5 is already as good as any threshold, it is kept.
    #[test]
    fn keeps_half_when_nothing_beats_it() {
        let items = [
            item(&[0.9, 0.2], ProcessLabel::FirstErrorAt(1)),
            item(&[0.8, 0.7], ProcessLabel::AllCorrect),
        ];
        let chosen = choose(&items);
        assert_eq!(chosen.tau, 0.5);
        assert_eq!(chosen.validation_f1, 1.0);
    }

    #[test]
    fn unlabelled_sets_have_no_threshold() {
        let (mut trajectory, scores) = item(&[0.4], ProcessLabel::AllCorrect);
        trajectory.label = None;
        assert_eq!(choose_threshold(&[trajectory], &[scores]), None);
    }

    #[test]
    fn candidates_stay_inside_the_unit_interval_and_are_bounded() {
        let many = (0..10_000).map(|i| i as f32 / 10_000.0);
        let taus = candidates(many.chain([1.0]));
        assert!(taus.len() <= MAX_CANDIDATES);
        assert!(taus.iter().all(|&t| t > 0.0 && t < 1.0));
    }
}
