//! Scoring a labelled evaluation set: the ProcessBench first-error F1 and step accuracy.

use serde::{Deserialize, Serialize};

use crate::eval::metrics::{FirstErrorF1, step_accuracy, step_roc_auc};
use crate::eval::threshold::PAPER_TAU;
use crate::scores::StepScores;
use crate::trajectory::{StepLabel, Trajectory};

/// The metrics of one evaluation set.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    /// The threshold the predictions used: a step is predicted erroneous when μ < τ (0.5 in
    /// records written before the threshold was recorded, the default then).
    #[serde(default = "paper_tau")]
    pub tau: f32,
    /// Trajectory-level first-error accuracies and F1.
    pub first_error: FirstErrorF1,
    /// Fraction of labelled steps whose predicted correctness matches the label.
    pub step_accuracy: f64,
    /// ROC-AUC of μ between correct and erroneous labelled steps, which needs no threshold;
    /// `None` when the set lacks either kind of step (or in records written before it was).
    #[serde(default)]
    pub step_auc: Option<f64>,
}

/// The threshold of records that predate its recording.
fn paper_tau() -> f32 {
    PAPER_TAU
}

impl Evaluation {
    /// Compares each trajectory's scores with its label (unlabelled trajectories are skipped).
    pub fn from_scores(trajectories: &[Trajectory], scores: &[StepScores], tau: f32) -> Self {
        let labelled = || {
            trajectories
                .iter()
                .zip(scores)
                .filter_map(|(t, s)| t.label.map(|label| (label, s)))
        };
        let first_error = FirstErrorF1::from_pairs(
            labelled().map(|(label, s)| (s.predicted_first_error(tau), label.first_error())),
        );
        let labelled_steps = || {
            labelled().flat_map(|(label, s)| {
                label
                    .step_labels(s.num_steps())
                    .into_iter()
                    .zip(s.mean.clone())
                    .filter_map(|(step, mean)| step.map(|step| (mean, step == StepLabel::Correct)))
            })
        };
        Self {
            tau,
            first_error,
            step_accuracy: step_accuracy(
                labelled_steps().map(|(mean, correct)| (mean >= tau, correct)),
            ),
            step_auc: step_roc_auc(labelled_steps()),
        }
    }
}
