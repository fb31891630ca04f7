//! Scoring trajectories with a trained model: the entry point [`Checkpoint::score`] (and its
//! asynchronous twin for browsers), and the pieces under it for callers that encode once and
//! score many times.
//!
//! ```
//! use actprm_core::prelude::*;
//!
//! # fn main() -> Result<(), ScoreError> {
//! // A trained checkpoint comes from `CheckpointFiles::read_dir(dir)?.load(&device)?`; an
//! // untrained one for the synthetic task's vocabulary does for the example.
//! let device = Device::flex();
//! let tokenizer = StepTokenizer::for_synthetic(&SyntheticConfig::new());
//! let config = PrmConfig::tiny(tokenizer.vocab_size());
//! let checkpoint = Checkpoint::untrained(config, tokenizer, &device);
//! let trajectory = Trajectory::new("What is 2 + 3 * 4?", ["3 * 4 = 12", "2 + 12 = 14"]);
//! let scores = checkpoint.score(&[trajectory])?;
//! assert_eq!(scores[0].mean.len(), 2);
//! let verdict = checkpoint.config.selection.decide(&scores[0]);
//! println!("per-step mean {:?}, std {:?}: {verdict:?}", scores[0].mean, scores[0].std);
//! # Ok(())
//! # }
//! ```

use std::future::Future;

use thiserror::Error;

use crate::batch::Inputs;
use crate::checkpoint::Checkpoint;
use crate::encoding::{EncodedTrajectory, EncodingConfig, EncodingError, encode_trajectory};
use crate::features::{StepFeatures, compute_features, compute_features_async};
use crate::model::EnsemblePrm;
use crate::scores::StepScores;
use crate::tokenizer::StepTokenizer;
use crate::trajectory::Trajectory;

/// Trajectories scored per forward pass by [`Checkpoint::score`]: large enough to keep the
/// device busy, small enough to bound the memory of long trajectories.
pub const SCORE_BATCH_SIZE: usize = 32;

/// A trajectory that does not fit the encoding.
#[derive(Debug, Error)]
#[error("trajectory {}: {source}", .index + 1)]
pub struct TrajectoryEncodingError {
    /// 0-based index of the trajectory among those encoded.
    pub index: usize,
    /// Why it does not fit.
    pub source: EncodingError,
}

/// Why trajectories could not be scored.
#[derive(Debug, Error)]
pub enum ScoreError {
    /// A trajectory does not fit the checkpoint's encoding.
    #[error(transparent)]
    Encoding(#[from] TrajectoryEncodingError),
    /// The model's scores of a trajectory are NaN or infinite (a diverged model), so none
    /// are reported.
    #[error("trajectory {}: the model's scores are NaN or infinite, so none are reported", .index + 1)]
    NonFinite {
        /// 0-based index of the first such trajectory.
        index: usize,
    },
}

impl Checkpoint {
    /// The ensemble's scores of every step of every trajectory, in their order: per-head
    /// probabilities that a step is correct, their mean μ and spread σ.
    pub fn score(&self, trajectories: &[Trajectory]) -> Result<Vec<StepScores>, ScoreError> {
        self.score_with_progress(trajectories, SCORE_BATCH_SIZE, |_| {})
    }

    /// [`Checkpoint::score`] in mini-batches of `batch_size`; `progress` hears how many
    /// trajectories are scored.
    pub fn score_with_progress(
        &self,
        trajectories: &[Trajectory],
        batch_size: usize,
        progress: impl FnMut(usize),
    ) -> Result<Vec<StepScores>, ScoreError> {
        let encoded = encode_all(&self.tokenizer, trajectories, &self.config.encoding)?;
        let pad_id = self.tokenizer.pad_id();
        finite(score_encoded(
            &self.model,
            &encoded,
            pad_id,
            batch_size,
            progress,
        ))
    }

    /// [`Checkpoint::score`] reading back asynchronously, as a browser's WebGPU device
    /// requires: the backbone reads every distinct window once, shortest first, in mini-batches
    /// of at most `batch_size` windows ([`Checkpoint::features_async`]), then the heads score the
    /// features ([`Checkpoint::score_features_async`]). `after_batch` hears how many
    /// trajectories' worth of tokens the backbone has read and is awaited before its next
    /// mini-batch (a page yields to the browser there).
    pub async fn score_async<F: Future<Output = ()>>(
        &self,
        trajectories: &[Trajectory],
        batch_size: usize,
        after_batch: impl FnMut(usize) -> F,
    ) -> Result<Vec<StepScores>, ScoreError> {
        let encoded = self.encode(trajectories)?;
        let features = self.features_async(&encoded, batch_size, after_batch).await;
        self.score_features_async(&features).await
    }

    /// The trajectories as the model reads them (the checkpoint's tokenizer and encoding),
    /// naming the first one that does not fit: the first step of [`Checkpoint::score_async`],
    /// for a caller that times the steps apart.
    pub fn encode(
        &self,
        trajectories: &[Trajectory],
    ) -> Result<Vec<EncodedTrajectory>, TrajectoryEncodingError> {
        encode_all(&self.tokenizer, trajectories, &self.config.encoding)
    }

    /// The backbone's step features of trajectories that [`Checkpoint::encode`] encoded, read
    /// back asynchronously in mini-batches of at most `batch_size` windows
    /// ([`compute_features_async`]); `after_batch` hears how many trajectories' worth of tokens
    /// are read.
    pub async fn features_async<F: Future<Output = ()>>(
        &self,
        encoded: &[EncodedTrajectory],
        batch_size: usize,
        after_batch: impl FnMut(usize) -> F,
    ) -> Vec<StepFeatures> {
        let pad_id = self.tokenizer.pad_id();
        compute_features_async(&self.model, encoded, pad_id, batch_size, after_batch).await
    }

    /// The heads' scores of step features, in one batch (features are small), read back
    /// asynchronously.
    pub async fn score_features_async(
        &self,
        features: &[StepFeatures],
    ) -> Result<Vec<StepScores>, ScoreError> {
        let inputs = Inputs::Features(features);
        let batch_size = features.len();
        finite(score_inputs_async(&self.model, inputs, batch_size, |_| async {}).await)
    }
}

/// An error naming the first of `scores` that holds a NaN or an infinity: such a score is never
/// reported as a verdict or counted in a metric.
pub fn check_finite(scores: &[StepScores]) -> Result<(), ScoreError> {
    match scores.iter().position(|scores| !scores.is_finite()) {
        Some(index) => Err(ScoreError::NonFinite { index }),
        None => Ok(()),
    }
}

/// `scores`, unless one is not finite.
fn finite(scores: Vec<StepScores>) -> Result<Vec<StepScores>, ScoreError> {
    check_finite(&scores).map(|()| scores)
}

/// Encodes every trajectory, naming the first one that does not fit.
pub fn encode_all(
    tokenizer: &StepTokenizer,
    trajectories: &[Trajectory],
    config: &EncodingConfig,
) -> Result<Vec<EncodedTrajectory>, TrajectoryEncodingError> {
    trajectories
        .iter()
        .enumerate()
        .map(|(index, trajectory)| {
            encode_trajectory(tokenizer, trajectory, config)
                .map_err(|source| TrajectoryEncodingError { index, source })
        })
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
/// hears how many trajectories' worth of tokens the backbone has read. Returns the scores
/// model by model.
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
    let mut scores = Vec::with_capacity(inputs.len());
    for chunk in inputs.chunks(batch_size) {
        scores.extend(model.score(&chunk.batch(&device)));
        progress(scores.len());
    }
    scores
}

/// [`score_inputs`] reading back asynchronously, as a browser's WebGPU device requires;
/// `after_batch` hears how many are scored and is awaited before the next mini-batch.
pub async fn score_inputs_async<F: Future<Output = ()>>(
    model: &EnsemblePrm,
    inputs: Inputs<'_>,
    batch_size: usize,
    mut after_batch: impl FnMut(usize) -> F,
) -> Vec<StepScores> {
    let device = model.device();
    let mut scores = Vec::with_capacity(inputs.len());
    for chunk in inputs.chunks(batch_size) {
        scores.extend(model.score_async(&chunk.batch(&device)).await);
        after_batch(scores.len()).await;
    }
    scores
}

#[cfg(test)]
mod tests {
    use burn::tensor::Device;

    use super::*;
    use crate::model::PrmConfig;
    use crate::model::test_support::tiny_prm_config;
    use crate::tasks::synthetic::{SyntheticConfig, generate};
    use futures_executor::block_on;

    /// Models that share a backbone score the same from one feature computation as each does
    /// alone.
    #[test]
    fn a_shared_backbone_is_read_once_for_every_model() {
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

    /// A checkpoint scores the same synchronously and asynchronously, names a trajectory that
    /// does not fit, and refuses to report scores that are not finite.
    #[test]
    fn a_checkpoint_scores_alike_both_ways_and_refuses_what_it_cannot() {
        let device = Device::flex();
        let synthetic = SyntheticConfig::new();
        let tokenizer = StepTokenizer::for_synthetic(&synthetic);
        let config = PrmConfig::tiny(tokenizer.vocab_size());
        let checkpoint = Checkpoint::untrained(config, tokenizer, &device);
        let trajectories = generate(&synthetic, 4, 5);
        let scores = checkpoint.score(&trajectories).unwrap();
        let mut heard = Vec::new();
        let read_later = block_on(checkpoint.score_async(&trajectories, 2, |done| {
            heard.push(done);
            std::future::ready(())
        }));
        assert_eq!(read_later.unwrap(), scores);
        // After each batch of two, in trajectories' worth of tokens (`features/read_progress.rs`).
        assert_eq!(heard.len(), 3, "{heard:?}");
        assert!(heard.is_sorted(), "{heard:?}");
        assert_eq!(heard.last(), Some(&5), "{heard:?}");

        let mut unfit = trajectories.clone();
        unfit[3].question = "word ".repeat(10_000);
        let mut narrow = checkpoint.clone();
        narrow.config.encoding.max_positions = 1;
        let error = narrow.score(&unfit).unwrap_err();
        assert!(error.to_string().starts_with("trajectory 1: "), "{error}");

        assert!(finite(scores.clone()).is_ok());
        let mut broken = scores;
        broken[2].heads[0][0] = f32::NAN;
        let error = finite(broken).unwrap_err();
        assert_eq!(
            error.to_string(),
            "trajectory 3: the model's scores are NaN or infinite, so none are reported"
        );
    }
}
