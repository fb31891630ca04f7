//! Live active learning: play, pause, step and reset the paper's loop in the page, and watch
//! the budget curves of ActPRM and random selection grow.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use burn::tensor::Device;
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::budget_chart::BudgetChart;
use crate::live_run::{LEARNERS, LiveRun, LiveSnapshot, POOL_SIZE, RANDOM_FRACTION};
use crate::pool::yield_to_browser;

/// The run, and whether a task is advancing it.
#[derive(Default)]
struct Runner {
    run: RefCell<Option<LiveRun>>,
    busy: Cell<bool>,
    /// Bumped by a reset, so that a step in flight is dropped.
    generation: Cell<u64>,
}

/// Advances the run by one mini-batch, or while `playing` holds when `keep_going`.
async fn advance(
    runner: Rc<Runner>,
    device: Device,
    seed: u64,
    keep_going: bool,
    playing: RwSignal<bool>,
    snapshot: RwSignal<Option<LiveSnapshot>>,
) {
    if runner.busy.replace(true) {
        return;
    }
    let generation = runner.generation.get();
    let existing = runner.run.borrow_mut().take();
    let mut run = match existing {
        Some(run) => run,
        None => {
            let mut run = LiveRun::new(seed, &device);
            run.start().await;
            run
        }
    };
    loop {
        run.step().await;
        if runner.generation.get() != generation {
            break;
        }
        snapshot.set(Some(run.snapshot()));
        yield_to_browser().await;
        if !keep_going || !playing.get_untracked() || run.is_done() {
            break;
        }
    }
    if run.is_done() {
        playing.set(false);
    }
    if runner.generation.get() == generation {
        *runner.run.borrow_mut() = Some(run);
    }
    runner.busy.set(false);
}

/// The controls, the progress and the chart.
#[component]
pub fn LiveLearning(device: Device, #[prop(into)] seed: Signal<u64>) -> impl IntoView {
    let runner = Rc::new(Runner::default());
    let playing = RwSignal::new(false);
    let snapshot = RwSignal::new(None::<LiveSnapshot>);
    let start = {
        let runner = runner.clone();
        move |keep_going: bool| {
            spawn_local(advance(
                runner.clone(),
                device.clone(),
                seed.get_untracked(),
                keep_going,
                playing,
                snapshot,
            ));
        }
    };
    let play = {
        let start = start.clone();
        move |_| {
            if playing.get_untracked() {
                playing.set(false);
            } else {
                playing.set(true);
                start(true);
            }
        }
    };
    let step = move |_| {
        playing.set(false);
        start(false);
    };
    let reset = move |_| {
        playing.set(false);
        runner.generation.set(runner.generation.get() + 1);
        runner.run.borrow_mut().take();
        snapshot.set(None);
    };
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
