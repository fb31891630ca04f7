//! Live training in the worker: it owns the [`LiveRun`] and advances it by one mini-batch per
//! request; the page asks again after each answer while it plays.

use gloo::worker::{HandlerId, WorkerScope};

use super::device::SharedDevice;
use super::live_run::LiveRun;
use super::one_at_a_time::{OneAtATime, Supersedes};
use super::{ComputeWorker, Done};
use crate::protocol::Answer;
use crate::protocol::live::{Advance, Advanced};

impl Supersedes for Advance {
    /// The page asks again only after an answer or a reset, so a request it replaces belonged
    /// to a run the page has dropped.
    fn supersedes(&self, _earlier: &Self) -> bool {
        true
    }
}

/// A finished mini-batch, handed back from its task.
pub struct Stepped {
    who: HandlerId,
    id: u64,
    run: LiveRun,
}

/// The current run, which a task holds while it advances, and the requests.
#[derive(Default)]
pub struct LiveState {
    run: Option<(u64, LiveRun)>,
    requests: OneAtATime<Advance>,
}

impl LiveState {
    /// Advances the requested run (a new one when its number is new) in a task of its own, or
    /// queues the request while a task runs.
    pub fn advance(
        &mut self,
        scope: &WorkerScope<ComputeWorker>,
        device: &SharedDevice,
        advance: Advance,
        who: HandlerId,
    ) {
        if let Some((advance, who)) = self.requests.arrive(advance, who) {
            self.start(scope, device, advance, who);
        }
    }

    /// Advances the requested run in a task of its own.
    fn start(
        &mut self,
        scope: &WorkerScope<ComputeWorker>,
        device: &SharedDevice,
        advance: Advance,
        who: HandlerId,
    ) {
        let run = self
            .run
            .take()
            .filter(|(id, _)| *id == advance.run)
            .map(|(_, run)| run);
        let device = device.clone();
        scope.send_future(async move {
            let (device, _) = device.get().await;
            let mut run = match run {
                Some(run) => run,
                None => {
                    let mut run = LiveRun::new(advance.seed, &device);
                    run.start().await;
                    run
                }
            };
            run.step().await;
            Done::Live(Box::new(Stepped {
                who,
                id: advance.run,
                run,
            }))
        });
    }

    /// Answers a finished mini-batch and takes up the request that waits.
    pub fn stepped(
        &mut self,
        scope: &WorkerScope<ComputeWorker>,
        device: &SharedDevice,
        stepped: Box<Stepped>,
    ) {
        let Stepped { who, id, run } = *stepped;
        scope.respond(
            who,
            Answer::Live(Advanced {
                run: id,
                snapshot: run.snapshot(),
                done: run.is_done(),
            }),
        );
        self.run = Some((id, run));
        if let Some((advance, who)) = self.requests.finish() {
            self.start(scope, device, advance, who);
        }
    }
}
