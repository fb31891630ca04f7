//! The page's compute off its thread: one dedicated web worker script (`actprm-worker`, built
//! by index.html's worker link) that scores the synthetic pool ([`synthetic`]), trains the live
//! run ([`live`]) and reads real solutions ([`real_text`]). Each section of the page spawns an
//! instance of its own when first used and asks it for one thing at a time, so that the page
//! stays responsive while it computes. The page's own binary links none of this compute.

mod device;
pub mod live;
mod one_at_a_time;
pub mod real_text;
pub(crate) mod scoring;
pub mod synthetic;

use self::device::SharedDevice;

use gloo::worker::{HandlerId, Spawnable, Worker, WorkerBridge, WorkerScope};
use serde::{Deserialize, Serialize};

/// The worker's script, as trunk names the output of index.html's worker link: a classic
/// script (wasm-bindgen's `no-modules` output, trunk's default for workers), not a module.
pub const WORKER_SCRIPT: &str = "actprm-worker.js";

/// What the page asks of a worker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Request {
    /// Loading the synthetic model, or scoring with it.
    Synthetic(synthetic::SyntheticRequest),
    /// One more mini-batch of the live run.
    Live(live::Advance),
    /// Loading the real-text model, or reading a solution with it.
    RealText(real_text::RealTextRequest),
}

/// What a worker answers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Answer {
    /// Progress, the loaded model or scores.
    Synthetic(synthetic::SyntheticAnswer),
    /// The live run after its mini-batch.
    Live(live::Advanced),
    /// Progress, the loaded model or a reading.
    RealText(real_text::RealTextAnswer),
}

/// A finished task, handed back to the worker.
pub enum Done {
    /// Loading or scoring with the synthetic model.
    Synthetic(synthetic::Finished),
    /// A mini-batch of the live run (boxed: the run is large).
    Live(Box<live::Stepped>),
    /// Loading or reading with the real-text model.
    RealText(real_text::Finished),
}

/// The worker: its device and the state of each kind of work it may be asked for.
#[derive(Default)]
pub struct ComputeWorker {
    device: SharedDevice,
    synthetic: synthetic::SyntheticState,
    live: live::LiveState,
    real_text: real_text::RealTextState,
}

impl Worker for ComputeWorker {
    type Message = Done;
    type Input = Request;
    type Output = Answer;

    fn create(_scope: &WorkerScope<Self>) -> Self {
        Self::default()
    }

    fn update(&mut self, scope: &WorkerScope<Self>, done: Done) {
        match done {
            Done::Synthetic(finished) => self.synthetic.finished(scope, finished),
            Done::Live(stepped) => self.live.stepped(scope, &self.device, stepped),
            Done::RealText(finished) => self.real_text.finished(scope, finished),
        }
    }

    fn received(&mut self, scope: &WorkerScope<Self>, request: Request, who: HandlerId) {
        let device = &self.device;
        match request {
            Request::Synthetic(request) => self.synthetic.received(scope, device, request, who),
            Request::Live(advance) => self.live.advance(scope, device, advance, who),
            Request::RealText(request) => self.real_text.received(scope, device, request, who),
        }
    }
}

/// Spawns a worker whose answers go to `answered`.
pub fn spawn(answered: impl Fn(Answer) + 'static) -> WorkerBridge<ComputeWorker> {
    ComputeWorker::spawner()
        .callback(answered)
        .as_module(false)
        .spawn(WORKER_SCRIPT)
}
