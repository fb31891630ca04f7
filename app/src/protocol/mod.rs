//! What the page and its compute worker say to each other. The worker's script
//! (`actprm-worker`, built by index.html's worker link) registers `worker::ComputeWorker`, which
//! scores the synthetic pool ([`synthetic`]), trains the live run ([`live`]) and reads real
//! solutions ([`real_text`]). The page knows only these messages, so that its own binary links
//! none of the compute (it is built without the crate's `compute` feature).

pub mod live;
pub mod real_text;
pub mod synthetic;

use std::convert::Infallible;

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

/// The compute worker as the page sees it: the messages it takes and gives, which is all a
/// bridge to it needs. The worker itself runs in the worker's script; no value of this type
/// exists.
pub enum RemoteWorker {}

impl Worker for RemoteWorker {
    type Message = Infallible;
    type Input = Request;
    type Output = Answer;

    fn create(_scope: &WorkerScope<Self>) -> Self {
        unreachable!("the compute worker runs in its own script, never in the page")
    }

    fn update(&mut self, _scope: &WorkerScope<Self>, message: Infallible) {
        match message {}
    }

    fn received(&mut self, _scope: &WorkerScope<Self>, _request: Request, _who: HandlerId) {
        match *self {}
    }
}

/// Spawns a worker whose answers go to `answered`.
pub fn spawn(answered: impl Fn(Answer) + 'static) -> WorkerBridge<RemoteWorker> {
    RemoteWorker::spawner()
        .callback(answered)
        .as_module(false)
        .spawn(WORKER_SCRIPT)
}
