//! Scoring in the worker: a checkpoint scores trajectories in small batches, yielding between
//! them so that the worker takes in the page's messages (a newer request) as it goes.

use actprm_core::Trajectory;
use actprm_core::checkpoint::Checkpoint;
use actprm_core::scores::StepScores;

use crate::protocol::real_text::ReadTiming;

/// Trajectories, or windows where the backbone reads them one by one, per forward pass.
pub const BATCH_SIZE: usize = 8;
/// Windows per forward pass when one solution is read.
const WINDOWS_PER_READ: usize = 1;

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

/// Scores one trajectory as [`score_one`] does, timing its tokenising, the backbone and the
/// heads apart. The backbone reads one window at a time: a solution's windows (one per step,
/// each after its prefix) grow step by step, so a batch of them would be mostly padding.
pub async fn score_one_timed(
    checkpoint: &Checkpoint,
    trajectory: &Trajectory,
) -> Result<(StepScores, ReadTiming), String> {
    let started = now_ms();
    let encoded = checkpoint
        .encode(std::slice::from_ref(trajectory))
        .map_err(|error| error.to_string())?;
    let tokenised = now_ms();
    let features = checkpoint
        .features_async(&encoded, WINDOWS_PER_READ, |_| yield_now())
        .await;
    let encoded_at = now_ms();
    let mut scores = checkpoint
        .score_features_async(&features)
        .await
        .map_err(|error| error.to_string())?;
    let timing = ReadTiming {
        tokenise_ms: tokenised - started,
        encoder_ms: encoded_at - tokenised,
        heads_ms: now_ms() - encoded_at,
    };
    let scores = scores.pop().ok_or_else(|| "no scores".to_string())?;
    Ok((scores, timing))
}

/// The clock, in milliseconds.
fn now_ms() -> f64 {
    #[cfg(target_family = "wasm")]
    return js_sys::Date::now();
    #[cfg(not(target_family = "wasm"))]
    {
        use std::time::{SystemTime, UNIX_EPOCH};
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0.0, |elapsed| elapsed.as_secs_f64() * 1e3)
    }
}

/// Lets the worker's event loop run (messages from the page) before the next batch.
pub async fn yield_now() {
    #[cfg(target_family = "wasm")]
    gloo::timers::future::TimeoutFuture::new(0).await;
}
