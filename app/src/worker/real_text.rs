//! The real-text model in the worker: it fetches the heads and the encoder, then reads one
//! solution at a time (a second or two on the CPU), so that typing and scrolling stay smooth.

use std::rc::Rc;

use actprm_core::Trajectory;
use actprm_core::checkpoint::Checkpoint;
use actprm_core::scores::StepScores;
use gloo::worker::{HandlerId, WorkerScope};

use super::device::SharedDevice;
use super::loading::load_real_text_model;
use super::one_at_a_time::{OneAtATime, Supersedes};
use super::scoring::score_one_timed;
use super::{ComputeWorker, Done};
use crate::compute::Compute;
use crate::protocol::Answer;
use crate::protocol::real_text::{ReadTiming, RealTextAnswer, RealTextRequest};

/// A finished task, handed back to the worker.
pub enum Finished {
    /// The model was loaded, or why not.
    Loaded {
        /// The page that asked.
        who: HandlerId,
        /// The model and where it runs, or why it could not be loaded.
        loaded: Result<(Rc<Checkpoint>, Compute), String>,
    },
    /// A solution was read.
    Read {
        /// The page that asked.
        who: HandlerId,
        /// The request's number.
        request: u64,
        /// The solution's scores and where the time went, or why it could not be read.
        scores: Result<(StepScores, ReadTiming), String>,
    },
}

/// A reading that waits its turn.
pub struct Reading {
    request: u64,
    trajectory: Trajectory,
}

impl Supersedes for Reading {
    /// The page shows only the latest reading.
    fn supersedes(&self, _earlier: &Self) -> bool {
        true
    }
}

/// The loaded model, and the readings.
#[derive(Default)]
pub struct RealTextState {
    model: Option<Rc<Checkpoint>>,
    readings: OneAtATime<Reading>,
}

impl RealTextState {
    /// Starts loading, or reads (or queues) a solution.
    pub fn received(
        &mut self,
        scope: &WorkerScope<ComputeWorker>,
        device: &SharedDevice,
        request: RealTextRequest,
        who: HandlerId,
    ) {
        match request {
            RealTextRequest::Load { base } => {
                let (progress_scope, device) = (scope.clone(), device.clone());
                scope.send_future(async move {
                    let (device, compute) = device.get().await;
                    let loaded = load_real_text_model(&base, &device, |download| {
                        progress_scope
                            .respond(who, Answer::RealText(RealTextAnswer::Progress(download)));
                    })
                    .await
                    .map(|model| (Rc::new(model), compute));
                    Done::RealText(Finished::Loaded { who, loaded })
                });
            }
            RealTextRequest::Read {
                request,
                trajectory,
            } => {
                let reading = Reading {
                    request,
                    trajectory,
                };
                if let Some((reading, who)) = self.readings.arrive(reading, who) {
                    self.read(scope, reading, who);
                }
            }
        }
    }

    /// Reads a solution in a task of its own.
    fn read(&mut self, scope: &WorkerScope<ComputeWorker>, reading: Reading, who: HandlerId) {
        let Reading {
            request,
            trajectory,
        } = reading;
        let Some(model) = self.model.clone() else {
            let scores = Err("the real-text model is not loaded".to_string());
            scope.respond(
                who,
                Answer::RealText(RealTextAnswer::Read { request, scores }),
            );
            self.take_up_next(scope);
            return;
        };
        scope.send_future(async move {
            let scores = score_one_timed(&model, &trajectory).await;
            Done::RealText(Finished::Read {
                who,
                request,
                scores,
            })
        });
    }

    /// Starts the reading that waits, if any.
    fn take_up_next(&mut self, scope: &WorkerScope<ComputeWorker>) {
        if let Some((reading, who)) = self.readings.finish() {
            self.read(scope, reading, who);
        }
    }

    /// Answers a finished task and takes up the reading that waits.
    pub fn finished(&mut self, scope: &WorkerScope<ComputeWorker>, finished: Finished) {
        match finished {
            Finished::Loaded { who, loaded } => {
                let answer = match loaded {
                    Ok((checkpoint, compute)) => {
                        let tau = checkpoint.config.decision_tau();
                        self.model = Some(checkpoint);
                        RealTextAnswer::Loaded { tau, compute }
                    }
                    Err(error) => RealTextAnswer::Failed(error),
                };
                scope.respond(who, Answer::RealText(answer));
            }
            Finished::Read {
                who,
                request,
                scores,
            } => {
                scope.respond(
                    who,
                    Answer::RealText(RealTextAnswer::Read { request, scores }),
                );
                self.take_up_next(scope);
            }
        }
    }
}
