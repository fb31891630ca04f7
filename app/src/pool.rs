//! A pool of generated synthetic problems scored by the loaded model, in small batches that
//! yield to the browser between them so the page keeps responding.

use actprm_core::Trajectory;
use actprm_core::batch::PrmInput;
use actprm_core::checkpoint::Checkpoint;
use actprm_core::encoding::EncodedTrajectory;
use actprm_core::evaluation::encode_all;
use actprm_core::model::EnsemblePrm;
use actprm_core::scores::StepScores;
use actprm_core::synthetic::{SyntheticConfig, generate};

/// Trajectories in a pool.
pub const POOL_SIZE: usize = 48;
/// Trajectories scored per forward pass.
const BATCH_SIZE: usize = 8;

/// Scored trajectories.
#[derive(Debug, Clone)]
pub struct ScoredPool {
    /// The seed the pool was generated from.
    pub seed: u64,
    /// The problems, with their true labels.
    pub trajectories: Vec<Trajectory>,
    /// The ensemble's scores of each.
    pub scores: Vec<StepScores>,
}

/// Generates the pool of `seed` and scores it with `checkpoint`; `progress` hears how many
/// trajectories are scored.
pub async fn score_pool(
    checkpoint: &Checkpoint,
    seed: u64,
    progress: impl FnMut(usize),
) -> Result<ScoredPool, String> {
    let trajectories = generate(&SyntheticConfig::new(), seed, POOL_SIZE);
    let scores = score_trajectories(checkpoint, &trajectories, progress).await?;
    Ok(ScoredPool {
        seed,
        trajectories,
        scores,
    })
}

/// Scores `trajectories` with `checkpoint` in batches, yielding to the browser after each;
/// `progress` hears how many are scored.
pub async fn score_trajectories(
    checkpoint: &Checkpoint,
    trajectories: &[Trajectory],
    progress: impl FnMut(usize),
) -> Result<Vec<StepScores>, String> {
    let encoded = encode_all(
        &checkpoint.tokenizer,
        trajectories,
        &checkpoint.config.encoding,
    )
    .map_err(|(index, error)| format!("trajectory {}: {error}", index + 1))?;
    Ok(score_encoded(
        &checkpoint.model,
        &encoded,
        checkpoint.tokenizer.pad_id(),
        progress,
    )
    .await)
}

/// Scores encoded trajectories with `model` in batches, yielding to the browser after each;
/// `progress` hears how many are scored.
pub async fn score_encoded(
    model: &EnsemblePrm,
    encoded: &[EncodedTrajectory],
    pad_id: u32,
    mut progress: impl FnMut(usize),
) -> Vec<StepScores> {
    let device = model.device();
    let mut scores = Vec::with_capacity(encoded.len());
    for chunk in encoded.chunks(BATCH_SIZE) {
        let input = PrmInput::new(chunk, pad_id, &device);
        scores.extend(model.score_async(&input).await);
        progress(scores.len());
        yield_to_browser().await;
    }
    scores
}

/// Lets the browser handle events and paint before the next batch.
pub async fn yield_to_browser() {
    #[cfg(target_family = "wasm")]
    gloo::timers::future::TimeoutFuture::new(0).await;
}
