//! Live training in the worker: it owns the [`LiveRun`] and advances it by one mini-batch per
//! request; the page asks again after each answer while it plays.

use burn::tensor::Device;
use gloo::worker::{HandlerId, WorkerScope};
use serde::{Deserialize, Serialize};

use super::{Answer, ComputeWorker, Done};
use crate::compute::init_device;
use crate::live_run::{LiveRun, LiveSnapshot};

/// A request for one more mini-batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Advance {
    /// Which run: a number the worker has not seen starts a new run from `seed`, dropping the
    /// previous one (the page's reset).
    pub run: u64,
    /// The seed of the pool a new run generates.
    pub seed: u64,
}

/// The answer to an [`Advance`]: the run's state after its mini-batch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Advanced {
    /// The run advanced.
    pub run: u64,
    /// What the page draws.
    pub snapshot: LiveSnapshot,
    /// Whether the pass is over.
    pub done: bool,
}

/// A finished mini-batch, handed back from its task.
pub struct Stepped {
    who: HandlerId,
    id: u64,
    device: Device,
    run: LiveRun,
}

/// The device (chosen on the first request) and the current run, which a task holds while it
/// advances.
#[derive(Default)]
pub struct LiveState {
    device: Option<Device>,
    run: Option<(u64, LiveRun)>,
    busy: bool,
    /// The request that came while busy. The page sends a new one only after an answer or a
    /// reset, so a request it replaces belonged to a run the page has dropped.
    queued: Option<(Advance, HandlerId)>,
}

impl LiveState {
    /// Advances the requested run (a new one when its number is new) in a task of its own, or
    /// queues the request while a task runs.
    pub fn advance(
        &mut self,
        scope: &WorkerScope<ComputeWorker>,
        advance: Advance,
        who: HandlerId,
    ) {
        if self.busy {
            self.queued = Some((advance, who));
            return;
        }
        self.busy = true;
        let run = self
            .run
            .take()
            .filter(|(id, _)| *id == advance.run)
            .map(|(_, run)| run);
        let device = self.device.clone();
        scope.send_future(async move {
            let device = match device {
                Some(device) => device,
                None => init_device().await.0,
            };
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
                device,
                run,
            }))
        });
    }

    /// Answers a finished mini-batch and takes up the queued request.
    pub fn stepped(&mut self, scope: &WorkerScope<ComputeWorker>, stepped: Box<Stepped>) {
        let Stepped {
            who,
            id,
            device,
            run,
        } = *stepped;
        scope.respond(
            who,
            Answer::Live(Advanced {
                run: id,
                snapshot: run.snapshot(),
                done: run.is_done(),
            }),
        );
        self.busy = false;
        self.device = Some(device);
        self.run = Some((id, run));
        if let Some((advance, who)) = self.queued.take() {
            self.advance(scope, advance, who);
        }
    }
}
