//! The synthetic model in the worker: it fetches the checkpoint `actprm run` trained for the
//! page, scores the pool of each seed the page asks for, and the visitor's own trajectories.

use std::rc::Rc;

use actprm_core::checkpoint::Checkpoint;
use actprm_core::tasks::synthetic::{SyntheticConfig, generate};
use gloo::worker::{HandlerId, WorkerScope};

use super::device::SharedDevice;
use super::loading::fetch_checkpoint;
use super::one_at_a_time::{OneAtATime, Supersedes};
use super::scoring::{score_one, score_trajectories};
use super::{ComputeWorker, Done};
use crate::compute::Compute;
use crate::pool::{POOL_SIZE, ScoredPool};
use crate::protocol::Answer;
use crate::protocol::synthetic::{ScoreTask, SyntheticAnswer, SyntheticRequest};

impl Supersedes for ScoreTask {
    fn supersedes(&self, earlier: &Self) -> bool {
        matches!(
            (self, earlier),
            (ScoreTask::Pool { .. }, ScoreTask::Pool { .. })
                | (ScoreTask::Own { .. }, ScoreTask::Own { .. })
        )
    }
}

/// A finished task, handed back to the worker.
pub enum Finished {
    /// The model was loaded (with where it runs), or why not.
    Loaded {
        /// The page that asked.
        who: HandlerId,
        /// The model and its device, or why it could not be loaded.
        loaded: Result<(Rc<Checkpoint>, Compute), String>,
    },
    /// A scoring task finished with this answer.
    Scored {
        /// The page that asked.
        who: HandlerId,
        /// The answer.
        answer: SyntheticAnswer,
    },
}

/// The loaded model and the scoring tasks.
#[derive(Default)]
pub struct SyntheticState {
    model: Option<Rc<Checkpoint>>,
    tasks: OneAtATime<ScoreTask>,
}

impl SyntheticState {
    /// Starts loading, or starts (or queues) a scoring task.
    pub fn received(
        &mut self,
        scope: &WorkerScope<ComputeWorker>,
        device: &SharedDevice,
        request: SyntheticRequest,
        who: HandlerId,
    ) {
        match request {
            SyntheticRequest::Load { base } => {
                let (progress_scope, device) = (scope.clone(), device.clone());
                scope.send_future(async move {
                    let (device, compute) = device.get().await;
                    let progress = |download| {
                        let answer = SyntheticAnswer::Progress(download);
                        progress_scope.respond(who, Answer::Synthetic(answer));
                    };
                    let loaded = match fetch_checkpoint(&base, progress).await {
                        Ok(files) => files
                            .load(&device)
                            .map(|model| (Rc::new(model), compute))
                            .map_err(|error| format!("the model did not load: {error}")),
                        Err(error) => Err(error),
                    };
                    Done::Synthetic(Finished::Loaded { who, loaded })
                });
            }
            SyntheticRequest::Score(task) => {
                if let Some((task, who)) = self.tasks.arrive(task, who) {
                    self.score(scope, task, who);
                }
            }
        }
    }

    /// Runs a scoring task of its own.
    fn score(&mut self, scope: &WorkerScope<ComputeWorker>, task: ScoreTask, who: HandlerId) {
        let Some(model) = self.model.clone() else {
            let error = "the model is not loaded".to_string();
            let answer = match task {
                ScoreTask::Pool { .. } => SyntheticAnswer::Pool(Err(error)),
                ScoreTask::Own { request, .. } => SyntheticAnswer::Own {
                    request,
                    scores: Err(error),
                },
            };
            scope.respond(who, Answer::Synthetic(answer));
            self.take_up_next(scope);
            return;
        };
        let progress_scope = scope.clone();
        scope.send_future(async move {
            let answer = match task {
                ScoreTask::Pool { seed } => {
                    let trajectories = generate(&SyntheticConfig::new(), seed, POOL_SIZE);
                    let scored = score_trajectories(&model, &trajectories, |done| {
                        let answer = SyntheticAnswer::Scoring { seed, done };
                        progress_scope.respond(who, Answer::Synthetic(answer));
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
            };
            Done::Synthetic(Finished::Scored { who, answer })
        });
    }

    /// Starts the task that waits, if any.
    fn take_up_next(&mut self, scope: &WorkerScope<ComputeWorker>) {
        if let Some((task, who)) = self.tasks.finish() {
            self.score(scope, task, who);
        }
    }

    /// Answers a finished task and takes up the next.
    pub fn finished(&mut self, scope: &WorkerScope<ComputeWorker>, finished: Finished) {
        match finished {
            Finished::Loaded { who, loaded } => {
                let answer = match loaded {
                    Ok((model, compute)) => {
                        let trained_with = model.config.selection.clone();
                        self.model = Some(model);
                        SyntheticAnswer::Loaded {
                            compute,
                            trained_with,
                        }
                    }
                    Err(error) => SyntheticAnswer::Failed(error),
                };
                scope.respond(who, Answer::Synthetic(answer));
            }
            Finished::Scored { who, answer } => {
                scope.respond(who, Answer::Synthetic(answer));
                self.take_up_next(scope);
            }
        }
    }
}
