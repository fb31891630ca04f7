//! A model the worker loads once and then runs tasks with, one at a time: the shape the
//! synthetic model ([`super::synthetic`]) and the real-text model ([`super::real_text`]) share.
//! Loading and each task run as futures of their own; their results come back to the worker
//! as [`Finished`], so that it takes in the page's messages meanwhile.

use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;

use actprm_core::checkpoint::Checkpoint;
use gloo::worker::{HandlerId, WorkerScope};

use super::one_at_a_time::{OneAtATime, Supersedes};
use super::{ComputeWorker, Done};
use crate::compute::Compute;
use crate::protocol::Answer;

/// A task's work, once started: it resolves to the answer for the page.
pub type Running = Pin<Box<dyn Future<Output = Answer>>>;

/// What a slot's tasks are: how one runs with the model, and what the worker's answers look
/// like for this model.
pub trait ModelTask: Supersedes + Sized + 'static {
    /// The worker's message carrying a finished load or task of this slot.
    fn done(finished: Finished) -> Done;

    /// The answer to a task that came before the model was there.
    fn without_model(self) -> Answer;

    /// Runs the task with `model`; `scope` answers `who` on the way (progress).
    fn run(
        self,
        model: Rc<Checkpoint>,
        scope: WorkerScope<ComputeWorker>,
        who: HandlerId,
    ) -> Running;

    /// The answer once the model is loaded: on `compute`, or why not.
    fn loaded(loaded: Result<(&Checkpoint, Compute), String>) -> Answer;
}

/// A finished load or task, handed back to the worker.
pub enum Finished {
    /// The model was loaded (with where it runs), or why not.
    Loaded {
        /// The page that asked.
        who: HandlerId,
        /// The model and where it runs, or why it could not be loaded.
        loaded: Result<(Rc<Checkpoint>, Compute), String>,
    },
    /// A task finished with this answer.
    Ran {
        /// The page that asked.
        who: HandlerId,
        /// The answer.
        answer: Answer,
    },
}

/// The loaded model, and its tasks.
pub struct ModelSlot<T> {
    model: Option<Rc<Checkpoint>>,
    tasks: OneAtATime<T>,
}

impl<T> Default for ModelSlot<T> {
    fn default() -> Self {
        Self {
            model: None,
            tasks: OneAtATime::default(),
        }
    }
}

impl<T: ModelTask> ModelSlot<T> {
    /// Loads the model with `loading`, for `who`.
    pub fn load(
        &self,
        scope: &WorkerScope<ComputeWorker>,
        who: HandlerId,
        loading: impl Future<Output = Result<(Rc<Checkpoint>, Compute), String>> + 'static,
    ) {
        scope.send_future(async move {
            T::done(Finished::Loaded {
                who,
                loaded: loading.await,
            })
        });
    }

    /// Starts `task`, or queues it behind the one that runs.
    pub fn arrive(&mut self, scope: &WorkerScope<ComputeWorker>, task: T, who: HandlerId) {
        if let Some((task, who)) = self.tasks.arrive(task, who) {
            self.start(scope, task, who);
        }
    }

    fn start(&mut self, scope: &WorkerScope<ComputeWorker>, task: T, who: HandlerId) {
        let Some(model) = self.model.clone() else {
            scope.respond(who, task.without_model());
            self.take_up_next(scope);
            return;
        };
        let running = task.run(model, scope.clone(), who);
        scope.send_future(async move {
            T::done(Finished::Ran {
                who,
                answer: running.await,
            })
        });
    }

    /// Starts the task that waits, if any.
    fn take_up_next(&mut self, scope: &WorkerScope<ComputeWorker>) {
        if let Some((task, who)) = self.tasks.finish() {
            self.start(scope, task, who);
        }
    }

    /// Answers a finished load or task, and takes up the task that waits.
    pub fn finished(&mut self, scope: &WorkerScope<ComputeWorker>, finished: Finished) {
        match finished {
            Finished::Loaded { who, loaded } => {
                let answer = T::loaded(
                    loaded
                        .as_ref()
                        .map(|(model, compute)| (model.as_ref(), compute.clone()))
                        .map_err(Clone::clone),
                );
                if let Ok((model, _)) = loaded {
                    self.model = Some(model);
                }
                scope.respond(who, answer);
            }
            Finished::Ran { who, answer } => {
                scope.respond(who, answer);
                self.take_up_next(scope);
            }
        }
    }
}
