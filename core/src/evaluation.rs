//! Scoring a labelled evaluation set: the ProcessBench first-error F1 and step accuracy.

use serde::{Deserialize, Serialize};

use crate::batch::Inputs;
use crate::encoding::{EncodedTrajectory, EncodingConfig, EncodingError, encode_trajectory};
use crate::metrics::{FirstErrorF1, step_accuracy};
use crate::model::EnsemblePrm;
use crate::scores::StepScores;
use crate::tokenizer::StepTokenizer;
use crate::trajectory::{StepLabel, Trajectory};

/// The metrics of one evaluation set.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    /// Trajectory-level first-error accuracies and F1.
    pub first_error: FirstErrorF1,
    /// Fraction of labelled steps whose predicted correctness matches the label.
    pub step_accuracy: f64,
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
        let steps = labelled().flat_map(|(label, s)| {
            label
                .step_labels(s.num_steps())
                .into_iter()
                .zip(&s.mean)
                .filter_map(|(step, &mean)| {
                    step.map(|step| (mean >= tau, step == StepLabel::Correct))
                })
                .collect::<Vec<_>>()
        });
        Self {
            first_error,
            step_accuracy: step_accuracy(steps),
        }
    }
}

/// Encodes every trajectory, naming the first one that does not fit.
pub fn encode_all(
    tokenizer: &StepTokenizer,
    trajectories: &[Trajectory],
    config: &EncodingConfig,
) -> Result<Vec<EncodedTrajectory>, (usize, EncodingError)> {
    trajectories
        .iter()
        .enumerate()
        .map(|(index, t)| encode_trajectory(tokenizer, t, config).map_err(|e| (index, e)))
        .collect()
}

/// Scores already-encoded trajectories in mini-batches of `batch_size`, calling `progress`
/// with the number scored so far.
pub fn score_encoded(
    model: &EnsemblePrm,
    encoded: &[EncodedTrajectory],
    pad_id: u32,
    batch_size: usize,
    progress: impl FnMut(usize),
) -> Vec<StepScores> {
    score_inputs(
        model,
        Inputs::Tokens { encoded, pad_id },
        batch_size,
        progress,
    )
}

/// Scores `inputs` in mini-batches of `batch_size`, calling `progress` with the number scored
/// so far.
pub fn score_inputs(
    model: &EnsemblePrm,
    inputs: Inputs,
    batch_size: usize,
    mut progress: impl FnMut(usize),
) -> Vec<StepScores> {
    let device = model.device();
    let batch_size = batch_size.max(1);
    let mut scores = Vec::with_capacity(inputs.len());
    while scores.len() < inputs.len() {
        let end = (scores.len() + batch_size).min(inputs.len());
        let batch = inputs.slice(scores.len()..end).batch(&device);
        scores.extend(model.score(&batch));
        progress(scores.len());
    }
    scores
}
