//! Scoring in the worker: a checkpoint scores trajectories in small batches, yielding between
//! them so that the worker takes in the page's messages (a newer request) as it goes.

use actprm_core::Trajectory;
use actprm_core::checkpoint::Checkpoint;
use actprm_core::scores::StepScores;

/// Trajectories scored per forward pass.
pub const BATCH_SIZE: usize = 8;

/// Scores `trajectories` with `checkpoint` in batches, yielding after each; `progress` hears
/// how many are scored.
pub async fn score_trajectories(
    checkpoint: &Checkpoint,
    trajectories: &[Trajectory],
    mut progress: impl FnMut(usize),
) -> Result<Vec<StepScores>, String> {
    checkpoint
        .score_async(trajectories, BATCH_SIZE, |done| {
            progress(done);
            yield_now()
        })
        .await
        .map_err(|error| error.to_string())
}

/// Scores one trajectory.
pub async fn score_one(
    checkpoint: &Checkpoint,
    trajectory: &Trajectory,
) -> Result<StepScores, String> {
    score_trajectories(checkpoint, std::slice::from_ref(trajectory), |_| {})
        .await?
        .pop()
        .ok_or_else(|| "no scores".to_string())
}

/// Lets the worker's event loop run (messages from the page) before the next batch.
pub async fn yield_now() {
    #[cfg(target_family = "wasm")]
    gloo::timers::future::TimeoutFuture::new(0).await;
}
