//! The ProcessBench metric (ACTPRM.md §5): accuracy of the predicted first error on erroneous
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
        let erroneous_accuracy = ratio(erroneous_hits, erroneous);
        let correct_accuracy = ratio(correct_hits, correct);
        Self {
            num_erroneous: erroneous,
            num_correct: correct,
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

#[cfg(test)]
mod tests {
    use super::*;

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
