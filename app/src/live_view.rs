//! Live active learning: play, pause, step and reset the paper's loop, trained in a web worker
//! (`worker::live`), and watch the budget curves of ActPRM and random selection grow.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use gloo::worker::WorkerBridge;
use leptos::prelude::*;

use crate::budget_chart::BudgetChart;
use crate::protocol::live::{
    Advance, Advanced, LEARNERS, LiveSnapshot, POOL_SIZE, RANDOM_FRACTION,
};
use crate::protocol::{Answer, RemoteWorker, Request, spawn};

/// The page's side of the worker that trains the run.
struct Runner {
    /// Spawned on the first play or step, so that loading the page does not fetch the worker.
    bridge: RefCell<Option<WorkerBridge<RemoteWorker>>>,
    /// The current run's number; a reset moves to the next, and answers for older runs are
    /// dropped.
    run: Cell<u64>,
    /// Whether a request for the current run awaits its answer.
    waiting: Cell<bool>,
    /// The seed a new run's pool is generated from.
    seed: Signal<u64>,
    playing: RwSignal<bool>,
    snapshot: RwSignal<Option<LiveSnapshot>>,
}

impl Runner {
    /// Asks the worker for one more mini-batch of the current run, unless one is on its way.
    fn request(self: &Rc<Self>) {
        if self.waiting.replace(true) {
            return;
        }
        let advance = Advance {
            run: self.run.get(),
            seed: self.seed.get_untracked(),
        };
        let mut bridge = self.bridge.borrow_mut();
        let bridge = bridge.get_or_insert_with(|| {
            let runner = Rc::downgrade(self);
            spawn(move |answer| {
                if let (Answer::Live(advanced), Some(runner)) = (answer, runner.upgrade()) {
                    runner.answered(advanced);
                }
            })
        });
        bridge.send(Request::Live(advance));
    }

    /// Shows an answer and, while playing, asks for the next mini-batch.
    fn answered(self: &Rc<Self>, advanced: Advanced) {
        if advanced.run != self.run.get() {
            return;
        }
        self.waiting.set(false);
        self.snapshot.set(Some(advanced.snapshot));
        if advanced.done {
            self.playing.set(false);
        } else if self.playing.get_untracked() {
            self.request();
        }
    }

    /// Drops the current run: the next request starts a new one.
    fn reset(&self) {
        self.playing.set(false);
        self.run.set(self.run.get() + 1);
        self.waiting.set(false);
        self.snapshot.set(None);
    }
}

/// The controls, the progress and the chart.
#[component]
pub fn LiveLearning(#[prop(into)] seed: Signal<u64>) -> impl IntoView {
    let playing = RwSignal::new(false);
    let snapshot = RwSignal::new(None::<LiveSnapshot>);
    let runner = Rc::new(Runner {
        bridge: RefCell::new(None),
        run: Cell::new(0),
        waiting: Cell::new(false),
        seed,
        playing,
        snapshot,
    });
    let start = {
        let runner = runner.clone();
        move || runner.request()
    };
    let play = {
        let start = start.clone();
        move |_| {
            if playing.get_untracked() {
                playing.set(false);
            } else {
                playing.set(true);
                start();
            }
        }
    };
    let step = move |_| {
        playing.set(false);
        start();
    };
    let reset = move |_| runner.reset();
    let status = move || match snapshot.get() {
        None => format!(
            "A pool of {POOL_SIZE} new problems and a tiny untrained ensemble. Press play: \
             ActPRM labels what its heads are unsure of, random labels {:.0}% of the pool.",
            100.0 * RANDOM_FRACTION
        ),
        Some(snapshot) => {
            let bought = LEARNERS
                .iter()
                .zip(snapshot.labels)
                .map(|(name, labels)| format!("{name} {labels} labels"))
                .collect::<Vec<_>>()
                .join(", ");
            format!(
                "mini-batch {} of {} ({} of {} problems seen): {bought}",
                snapshot.batch,
                snapshot.num_batches,
                (snapshot.batch * snapshot.pool_size / snapshot.num_batches.max(1))
                    .min(snapshot.pool_size),
                snapshot.pool_size
            )
        }
    };
    let chart = move || {
        snapshot.get().map(|snapshot| {
            view! { <BudgetChart curves=snapshot.curves pool_size=snapshot.pool_size /> }
        })
    };
    view! {
        <section class="live">
            <h2>"Live active learning"</h2>
            <p>
                "The paper's loop in your browser: each mini-batch of the pool is scored, the "
                "chosen problems are labelled by the stored answers (the judge) and the model "
                "trains on them alone. The chart shows held-out F1 against labels bought."
            </p>
            <div class="live-controls">
                <button type="button" class="play" on:click=play aria-pressed=move || playing.get().to_string()>
                    {move || if playing.get() { "Pause" } else { "Play" }}
                </button>
                <button type="button" class="step-once" on:click=step>"Step"</button>
                <button type="button" class="reset" on:click=reset>"Reset"</button>
                <span class="legend">
                    <span class="key actprm">"── actprm"</span>
                    <span class="key random">"- - random"</span>
                </span>
            </div>
            <p class="live-status" aria-live="polite">{status}</p>
            {chart}
        </section>
    }
}
