//! The page's compute off its thread: the dedicated web worker script (`actprm-worker`, built
//! by index.html's worker link) that scores the synthetic pool ([`synthetic`]), trains the live
//! run ([`live`]) and reads real solutions ([`real_text`]), answering the messages of
//! [`crate::protocol`]. Each section of the page spawns an instance of its own when first used
//! and asks it for one thing at a time, so that the page stays responsive while it computes.

mod device;
mod live;
mod live_run;
mod loading;
mod model_slot;
mod one_at_a_time;
mod real_text;
mod scoring;
mod synthetic;

use self::device::SharedDevice;

use gloo::worker::{HandlerId, Worker, WorkerScope};

use crate::protocol::{Answer, Request};

/// A finished task, handed back to the worker.
pub enum Done {
    /// Loading or scoring with the synthetic model.
    Synthetic(model_slot::Finished),
    /// A mini-batch of the live run (boxed: the run is large).
    Live(Box<live::Stepped>),
    /// Loading or reading with the real-text model.
    RealText(model_slot::Finished),
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
            Request::Synthetic(request) => {
                synthetic::received(&mut self.synthetic, scope, device, request, who);
            }
            Request::Live(advance) => self.live.advance(scope, device, advance, who),
            Request::RealText(request) => {
                real_text::received(&mut self.real_text, scope, device, request, who);
            }
        }
    }
}
