//! The ProcessBench metric (docs/method.md §5): accuracy of the predicted first error on erroneous
//! and on correct trajectories, and their harmonic mean.

use serde::{Deserialize, Serialize};

/// First-error accuracies and F1 over one evaluation set.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct FirstErrorF1 {
    /// Items whose label has an error.
    pub num_erroneous: usize,
    /// Items labelled fully correct.
    pub num_correct: usize,
    /// Fraction of erroneous items whose first error was predicted at exactly the right step.
    pub erroneous_accuracy: f64,
    /// Fraction of correct items predicted to have no error.
    pub correct_accuracy: f64,
    /// Harmonic mean of the two accuracies (0 when both are 0).
    pub f1: f64,
}

impl FirstErrorF1 {
    /// Scores `(predicted, labelled)` first-error pairs (`None` = no error).
    pub fn from_pairs(pairs: impl IntoIterator<Item = (Option<usize>, Option<usize>)>) -> Self {
        let (mut erroneous, mut erroneous_hits, mut correct, mut correct_hits) =
            (0usize, 0usize, 0usize, 0usize);
        for (predicted, label) in pairs {
            match label {
                Some(_) => {
                    erroneous += 1;
                    erroneous_hits += usize::from(predicted == label);
                }
                None => {
                    correct += 1;
                    correct_hits += usize::from(predicted.is_none());
                }
            }
        }
        let ratio = |hits: usize, total: usize| {
            if total == 0 {
                0.0
            } else {
                hits as f64 / total as f64
            }
        };
        Self::from_accuracies(
            erroneous,
            correct,
            ratio(erroneous_hits, erroneous),
            ratio(correct_hits, correct),
        )
    }

    /// The metric of given accuracies on `num_erroneous` and `num_correct` items.
    pub fn from_accuracies(
        num_erroneous: usize,
        num_correct: usize,
        erroneous_accuracy: f64,
        correct_accuracy: f64,
    ) -> Self {
        Self {
            num_erroneous,
            num_correct,
            erroneous_accuracy,
            correct_accuracy,
            f1: harmonic_mean(erroneous_accuracy, correct_accuracy),
        }
    }
}

fn harmonic_mean(a: f64, b: f64) -> f64 {
    if a + b == 0.0 {
        0.0
    } else {
        2.0 * a * b / (a + b)
    }
}

/// Fraction of labelled steps whose predicted correctness (μ ≥ τ) matches the label.
pub fn step_accuracy(pairs: impl IntoIterator<Item = (bool, bool)>) -> f64 {
    let (mut total, mut hits) = (0usize, 0usize);
    for (predicted_correct, labelled_correct) in pairs {
        total += 1;
        hits += usize::from(predicted_correct == labelled_correct);
    }
    if total == 0 {
        0.0
    } else {
        hits as f64 / total as f64
    }
}

/// Step-level ROC-AUC of correct against erroneous steps: the probability that a randomly
/// drawn correct step scores higher than a randomly drawn erroneous one, ties counting half.
/// It needs no threshold, so it shows ranking signal that a badly placed τ hides; 0.5 is chance.
/// `None` when either class has no step.
pub fn step_roc_auc(pairs: impl IntoIterator<Item = (f32, bool)>) -> Option<f64> {
    let mut pairs: Vec<(f32, bool)> = pairs.into_iter().collect();
    pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
    let correct = pairs.iter().filter(|(_, correct)| *correct).count();
    let erroneous = pairs.len() - correct;
    if correct == 0 || erroneous == 0 {
        return None;
    }
    // Mann-Whitney: the rank sum of the correct steps, tied scores sharing their mean rank.
    let mut rank_sum = 0.0;
    let mut start = 0;
    while start < pairs.len() {
        let end = start + pairs[start..].partition_point(|p| p.0 == pairs[start].0);
        let mean_rank = (start + end + 1) as f64 / 2.0;
        let tied_correct = pairs[start..end].iter().filter(|(_, c)| *c).count();
        rank_sum += mean_rank * tied_correct as f64;
        start = end;
    }
    let correct = correct as f64;
    Some((rank_sum - correct * (correct + 1.0) / 2.0) / (correct * erroneous as f64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roc_auc_of_hand_ranked_steps() {
        // Correct 0.9, 0.6, 0.4 against erroneous 0.5, 0.1: of 6 pairs, 5 are ordered right.
        let pairs = [
            (0.9, true),
            (0.5, false),
            (0.6, true),
            (0.1, false),
            (0.4, true),
        ];
        assert!((step_roc_auc(pairs).unwrap() - 5.0 / 6.0).abs() < 1e-12);
        let flipped = pairs.map(|(score, correct)| (score, !correct));
        assert!((step_roc_auc(flipped).unwrap() - 1.0 / 6.0).abs() < 1e-12);
    }

    #[test]
    fn roc_auc_counts_ties_as_half() {
        assert_eq!(step_roc_auc([(0.7, true), (0.7, false)]), Some(0.5));
        assert_eq!(
            step_roc_auc([(0.7, true), (0.7, false), (0.2, false)]),
            Some(0.75)
        );
    }

    #[test]
    fn roc_auc_needs_both_classes() {
        assert_eq!(step_roc_auc([(0.3, true), (0.9, true)]), None);
        assert_eq!(step_roc_auc([]), None);
    }

    #[test]
    fn hand_computed_f1() {
        // Erroneous: 2 of 3 right (the exact step must match); correct: 1 of 2 right.
        let metric = FirstErrorF1::from_pairs([
            (Some(2), Some(2)),
            (Some(0), Some(0)),
            (Some(1), Some(3)),
            (None, None),
            (Some(4), None),
        ]);
        assert_eq!((metric.num_erroneous, metric.num_correct), (3, 2));
        assert!((metric.erroneous_accuracy - 2.0 / 3.0).abs() < 1e-12);
        assert!((metric.correct_accuracy - 0.5).abs() < 1e-12);
        // F1 = 2 · (2/3) · (1/2) / (2/3 + 1/2) = 4/7.
        assert!((metric.f1 - 4.0 / 7.0).abs() < 1e-12);
    }

    #[test]
    fn predicting_no_error_anywhere_scores_zero() {
        let metric = FirstErrorF1::from_pairs([(None, Some(1)), (None, None)]);
        assert_eq!(metric.correct_accuracy, 1.0);
        assert_eq!(metric.f1, 0.0);
    }

    #[test]
    fn a_missed_error_on_an_erroneous_item_is_wrong() {
        let metric = FirstErrorF1::from_pairs([(None, Some(0))]);
        assert_eq!(metric.erroneous_accuracy, 0.0);
        assert_eq!(metric.correct_accuracy, 0.0);
    }

    #[test]
    fn step_accuracy_counts_matches() {
        assert_eq!(
            step_accuracy([(true, true), (false, true), (false, false), (true, true)]),
            0.75
        );
        assert_eq!(step_accuracy([]), 0.0);
    }
}
