//! The synthetic model in the worker: it fetches the checkpoint `actprm run` trained for the
//! page, scores the pool of each seed the page asks for, and the visitor's own trajectories.

use std::rc::Rc;

use actprm_core::checkpoint::Checkpoint;
use actprm_core::tasks::synthetic::{SyntheticConfig, generate};
use gloo::worker::{HandlerId, WorkerScope};

use super::device::SharedDevice;
use super::loading::fetch_checkpoint;
use super::model_slot::{Finished, ModelSlot, ModelTask, Running};
use super::one_at_a_time::Supersedes;
use super::scoring::{score_one, score_trajectories};
use super::{ComputeWorker, Done};
use crate::compute::Compute;
use crate::pool::{POOL_SIZE, ScoredPool};
use crate::protocol::Answer;
use crate::protocol::synthetic::{ScoreTask, SyntheticAnswer, SyntheticRequest};

impl Supersedes for ScoreTask {
    /// The page shows only the latest pool, and the latest of the visitor's trajectories.
    fn supersedes(&self, earlier: &Self) -> bool {
        matches!(
            (self, earlier),
            (ScoreTask::Pool { .. }, ScoreTask::Pool { .. })
                | (ScoreTask::Own { .. }, ScoreTask::Own { .. })
        )
    }
}

impl ModelTask for ScoreTask {
    fn done(finished: Finished) -> Done {
        Done::Synthetic(finished)
    }

    fn without_model(self) -> Answer {
        let error = "the model is not loaded".to_string();
        Answer::Synthetic(match self {
            ScoreTask::Pool { .. } => SyntheticAnswer::Pool(Err(error)),
            ScoreTask::Own { request, .. } => SyntheticAnswer::Own {
                request,
                scores: Err(error),
            },
        })
    }

    fn run(
        self,
        model: Rc<Checkpoint>,
        scope: WorkerScope<ComputeWorker>,
        who: HandlerId,
    ) -> Running {
        Box::pin(async move {
            Answer::Synthetic(match self {
                ScoreTask::Pool { seed } => {
                    let trajectories = generate(&SyntheticConfig::new(), seed, POOL_SIZE);
                    let scored = score_trajectories(&model, &trajectories, |done| {
                        let answer = SyntheticAnswer::Scoring { seed, done };
                        scope.respond(who, Answer::Synthetic(answer));
                    });
                    SyntheticAnswer::Pool(scored.await.map(|scores| ScoredPool {
                        seed,
                        trajectories,
                        scores,
                    }))
                }
                ScoreTask::Own {
                    request,
                    trajectory,
                } => SyntheticAnswer::Own {
                    request,
                    scores: score_one(&model, &trajectory).await,
                },
            })
        })
    }

    fn loaded(loaded: Result<(&Checkpoint, Compute), String>) -> Answer {
        Answer::Synthetic(match loaded {
            Ok((model, compute)) => SyntheticAnswer::Loaded {
                compute,
                trained_with: model.config.selection.clone(),
            },
            Err(error) => SyntheticAnswer::Failed(error),
        })
    }
}

/// The synthetic model and its scoring tasks.
pub type SyntheticState = ModelSlot<ScoreTask>;

/// Starts loading, or starts (or queues) a scoring task.
pub fn received(
    state: &mut SyntheticState,
    scope: &WorkerScope<ComputeWorker>,
    device: &SharedDevice,
    request: SyntheticRequest,
    who: HandlerId,
) {
    match request {
        SyntheticRequest::Load { base } => {
            let (progress_scope, device) = (scope.clone(), device.clone());
            state.load(scope, who, async move {
                let (device, compute) = device.get().await;
                let progress = |download| {
                    let answer = SyntheticAnswer::Progress(download);
                    progress_scope.respond(who, Answer::Synthetic(answer));
                };
                let files = fetch_checkpoint(&base, progress).await?;
                files
                    .load(&device)
                    .map(|model| (Rc::new(model), compute))
                    .map_err(|error| format!("the model did not load: {error}"))
            });
        }
        SyntheticRequest::Score(task) => state.arrive(scope, task, who),
    }
}
