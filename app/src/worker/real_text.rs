//! The real-text model in the worker: it fetches the heads and the encoder, then reads one
//! solution at a time (a second or two on the CPU), so that typing and scrolling stay smooth.

use std::rc::Rc;

use actprm_core::Trajectory;
use actprm_core::checkpoint::Checkpoint;
use gloo::worker::{HandlerId, WorkerScope};

use super::device::SharedDevice;
use super::loading::load_real_text_model;
use super::model_slot::{Finished, ModelSlot, ModelTask, Running};
use super::one_at_a_time::Supersedes;
use super::scoring::score_one_timed;
use super::{ComputeWorker, Done};
use crate::compute::Compute;
use crate::protocol::Answer;
use crate::protocol::real_text::{RealTextAnswer, RealTextRequest};

/// A solution to read, with the request's number.
pub struct Reading {
    request: u64,
    trajectory: Trajectory,
}

impl Supersedes for Reading {
    /// The page keeps every reading and sends the next only once one is answered
    /// (`read_queue.rs`): each is answered, none dropped.
    fn supersedes(&self, _earlier: &Self) -> bool {
        false
    }
}

impl ModelTask for Reading {
    fn done(finished: Finished) -> Done {
        Done::RealText(finished)
    }

    fn without_model(self) -> Answer {
        Answer::RealText(RealTextAnswer::Read {
            request: self.request,
            scores: Err("the real-text model is not loaded".to_string()),
        })
    }

    fn run(
        self,
        model: Rc<Checkpoint>,
        _scope: WorkerScope<ComputeWorker>,
        _who: HandlerId,
    ) -> Running {
        Box::pin(async move {
            let scores = score_one_timed(&model, &self.trajectory).await;
            Answer::RealText(RealTextAnswer::Read {
                request: self.request,
                scores,
            })
        })
    }

    fn loaded(loaded: Result<(&Checkpoint, Compute), String>) -> Answer {
        Answer::RealText(match loaded {
            Ok((model, compute)) => RealTextAnswer::Loaded {
                tau: model.config.decision_tau(),
                compute,
            },
            Err(error) => RealTextAnswer::Failed(error),
        })
    }
}

/// The real-text model and the solutions to read.
pub type RealTextState = ModelSlot<Reading>;

/// Starts loading, or reads (or queues) a solution.
pub fn received(
    state: &mut RealTextState,
    scope: &WorkerScope<ComputeWorker>,
    device: &SharedDevice,
    request: RealTextRequest,
    who: HandlerId,
) {
    match request {
        RealTextRequest::Load { base } => {
            let (progress_scope, device) = (scope.clone(), device.clone());
            state.load(scope, who, async move {
                let (device, compute) = device.get().await;
                let model = load_real_text_model(&base, &device, |download| {
                    let answer = RealTextAnswer::Progress(download);
                    progress_scope.respond(who, Answer::RealText(answer));
                })
                .await?;
                Ok((Rc::new(model), compute))
            });
        }
        RealTextRequest::Read {
            request,
            trajectory,
        } => state.arrive(
            scope,
            Reading {
                request,
                trajectory,
            },
            who,
        ),
    }
}
