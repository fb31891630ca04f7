//! Scoring a labelled evaluation set: the ProcessBench first-error F1 and step accuracy.

use serde::{Deserialize, Serialize};

use crate::batch::Inputs;
use crate::encoding::{EncodedTrajectory, EncodingConfig, EncodingError, encode_trajectory};
use crate::features::{StepFeatures, compute_features};
use crate::metrics::{FirstErrorF1, step_accuracy, step_roc_auc};
use crate::model::EnsemblePrm;
use crate::scores::StepScores;
use crate::threshold::PAPER_TAU;
use crate::tokenizer::StepTokenizer;
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

/// Scores already-encoded trajectories with each of `models`, which share one backbone
/// ([`EnsemblePrm::shares_backbone_with`]): the backbone reads every trajectory once, in
/// mini-batches of `batch_size`, and each model's heads score the step features. `progress`
/// hears how many trajectories the backbone has read. Returns the scores model by model.
///
/// # Panics
/// When `models` is empty.
pub fn score_with_shared_backbone(
    models: &[&EnsemblePrm],
    encoded: &[EncodedTrajectory],
    pad_id: u32,
    batch_size: usize,
    progress: impl FnMut(usize),
) -> Vec<Vec<StepScores>> {
    let reader = models.first().expect("at least one model");
    let features = compute_features(reader, encoded, pad_id, batch_size, progress);
    score_features(models, &features, batch_size)
}

/// Scores step features already computed by the backbone `models` share with each model's
/// heads, in mini-batches of `batch_size`. Returns the scores model by model.
pub fn score_features(
    models: &[&EnsemblePrm],
    features: &[StepFeatures],
    batch_size: usize,
) -> Vec<Vec<StepScores>> {
    models
        .iter()
        .map(|model| score_inputs(model, Inputs::Features(features), batch_size, |_| {}))
        .collect()
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Models that share a backbone score the same from one feature computation as each does
    /// alone.
    #[test]
    fn a_shared_backbone_is_read_once_for_every_model() {
        use burn::tensor::Device;

        use crate::model::test_support::tiny_prm_config;
        use crate::synthetic::{SyntheticConfig, generate};

        let device = Device::flex();
        let synthetic = SyntheticConfig::new();
        let tokenizer = StepTokenizer::for_synthetic(&synthetic);
        let trajectories = generate(&synthetic, 5, 9);
        let encoded = encode_all(&tokenizer, &trajectories, &EncodingConfig::new()).unwrap();
        device.seed(2);
        let config = tiny_prm_config(tokenizer.vocab_size(), 3, 8);
        let backbone = config.backbone.init(&device);
        let first = config.init_around(backbone.clone(), &device);
        let second = config
            .clone()
            .with_heads(config.heads.clone().with_seed(77))
            .init_around(backbone, &device);
        let pad = tokenizer.pad_id();
        let mut read = 0;
        let shared =
            score_with_shared_backbone(&[&first, &second], &encoded, pad, 4, |done| read = done);
        assert_eq!(read, 9);
        for (model, shared) in [&first, &second].into_iter().zip(&shared) {
            let alone = score_encoded(model, &encoded, pad, 4, |_| {});
            for (a, b) in alone.iter().zip(shared) {
                for (x, y) in a.mean.iter().zip(&b.mean) {
                    assert!((x - y).abs() < 1e-5, "{x} vs {y}");
                }
            }
        }
        assert_ne!(shared[0], shared[1], "the heads differ");
    }
}
