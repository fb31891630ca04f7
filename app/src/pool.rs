//! A pool of generated synthetic problems scored by the loaded model, in small batches that
//! yield to the browser between them so the page keeps responding.

use actprm_core::Trajectory;
use actprm_core::checkpoint::Checkpoint;
use actprm_core::scores::StepScores;
use actprm_core::tasks::synthetic::{SyntheticConfig, generate};

/// Trajectories in a pool.
pub const POOL_SIZE: usize = 48;
/// Trajectories scored per forward pass.
pub const BATCH_SIZE: usize = 8;

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
    mut progress: impl FnMut(usize),
) -> Result<Vec<StepScores>, String> {
    checkpoint
        .score_async(trajectories, BATCH_SIZE, |done| {
            progress(done);
            yield_to_browser()
        })
        .await
        .map_err(|error| error.to_string())
}

/// Lets the browser handle events and paint before the next batch.
pub async fn yield_to_browser() {
    #[cfg(target_family = "wasm")]
    gloo::timers::future::TimeoutFuture::new(0).await;
}
