//! Real solutions: the real-text PRM, loaded on request (its encoder, halved to f16, is 45 MB)
//! into a web worker, reads a chosen ProcessBench solution step by step in the inspector, beside
//! the labelled first error, or a whole split for the decision plot.

mod reading;
mod stage;

use std::rc::Rc;
use std::sync::Arc;

use actprm_core::ProcessLabel;
use actprm_core::data::PROCESSBENCH_SPLITS;
use actprm_core::scores::StepScores;
use gloo::timers::callback::Timeout;
use gloo::worker::WorkerBridge;
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::assets::{Download, page_directory};
use crate::compute::Compute;
use crate::decision_plot::{DecisionPlot, Plotted};
use crate::explain::Rule;
use crate::inspector::Inspector;
use crate::model_cache;
use crate::pasted_text;
use crate::processbench_slice::{SliceItem, fetch_slice};
use crate::protocol::real_text::{ReadTiming, RealTextAnswer, RealTextRequest};
use crate::protocol::{Answer, RemoteWorker, Request, spawn};
use crate::read_queue::{Job, ReadQueue};
use crate::split_reading::SplitReading;
use reading::{Reading, Wanted, describe_timing};
use stage::Stage;

/// How long typing must pause before a pasted solution is read.
const TYPING_PAUSE_MS: u32 = 600;

/// A slice item's line in the list.
fn describe(entry: &SliceItem) -> String {
    let label = match entry
        .item
        .trajectory
        .label
        .and_then(ProcessLabel::first_error)
    {
        Some(step) => format!("labelled first error at step {}", step + 1),
        None => "labelled correct".to_string(),
    };
    format!(
        "{} · {} steps · {label}",
        entry.item.id,
        entry.item.trajectory.num_steps()
    )
}

/// The section: a web worker of its own, spawned on loading, holds the model and reads the
/// solutions, one at a time, what the visitor asks to see first; `rule` draws the verdicts.
/// `solution` is the visitor's pasted solution as the URL hash keeps it: written once read, and
/// a shared one loads the model and is read as soon as it is there.
#[component]
pub fn RealText(
    #[prop(into)] rule: Signal<Rule>,
    solution: RwSignal<Option<String>>,
) -> impl IntoView {
    let stage = RwSignal::new(Stage::Idle);
    // Once the model is loaded: the τ it chose on validation, and where it runs.
    let loaded = RwSignal::new(None::<(f32, Compute)>);
    let slice = RwSignal::new(Vec::<SliceItem>::new());
    // Each slice item's reading, once read: the inspector and the plot draw from here.
    let readings = RwSignal::new(Vec::<Option<(StepScores, ReadTiming)>>::new());
    let wanted = StoredValue::new(None::<Wanted>);
    let shown = RwSignal::new(None::<Reading>);
    // Whether the inspector waits for the reading it was asked for.
    let waiting = RwSignal::new(false);
    let read_error = RwSignal::new(None::<String>);
    let queue = RwSignal::new(ReadQueue::default());
    // Whether the browser keeps the encoder's weights, and what forgetting them did.
    let kept = RwSignal::new(false);
    let forgotten = RwSignal::new(None::<String>);
    spawn_local(async move { kept.set(model_cache::holds_any().await) });
    let forget = move |_| {
        spawn_local(async move {
            let outcome = match model_cache::clear().await {
                Ok(_) => {
                    "The browser no longer keeps the encoder: loading fetches it again.".to_string()
                }
                Err(error) => format!("Error: {error}"),
            };
            kept.set(model_cache::holds_any().await);
            forgotten.set(Some(outcome));
        });
    };
    // Set when a shared solution waits for the model.
    let on_loaded = StoredValue::new_local(None::<Rc<dyn Fn()>>);
    let bridge = StoredValue::new_local(None::<WorkerBridge<RemoteWorker>>);

    let send = move |request: RealTextRequest| {
        bridge.with_value(|bridge| {
            if let Some(bridge) = bridge {
                bridge.send(Request::RealText(request));
            }
        });
    };
    // Sends the next waiting reading when the worker is free.
    let pump = move || {
        if let Some((request, job)) = queue.try_update(ReadQueue::next).flatten() {
            let trajectory = match job {
                Job::Item(index) => slice.with_untracked(|s| s[index].item.trajectory.clone()),
                Job::Own(trajectory) => trajectory,
            };
            send(RealTextRequest::Read {
                request,
                trajectory,
            });
        }
    };
    let ask = move |job: Job| {
        queue.update(|queue| queue.ask_first(job));
        waiting.set(true);
        pump();
    };
    let read_done = move |job: Job, read: (StepScores, ReadTiming)| {
        let reading = match job {
            Job::Item(index) => {
                readings.update(|r| r[index] = Some(read.clone()));
                (wanted.get_value() == Some(Wanted::Item(index)))
                    .then(|| slice.with_untracked(|s| Reading::of_item(index, &s[index], read)))
            }
            Job::Own(trajectory) => (wanted.get_value() == Some(Wanted::Own(trajectory.clone())))
                .then(|| Reading {
                    title: "Your solution".to_string(),
                    item: None,
                    trajectory,
                    scores: read.0,
                    timing: read.1,
                }),
        };
        if let Some(reading) = reading {
            shown.set(Some(reading));
            waiting.set(false);
        }
    };

    let answered = move |answer: Answer| {
        let Answer::RealText(answer) = answer else {
            return;
        };
        match answer {
            RealTextAnswer::Progress(download) => stage.set(Stage::Loading(download)),
            RealTextAnswer::Loaded { tau, compute } => {
                loaded.set(Some((tau, compute)));
                spawn_local(async move { kept.set(model_cache::holds_any().await) });
                stage.set(Stage::Ready);
                if let Some(read_waiting) = on_loaded.get_value() {
                    read_waiting();
                }
            }
            RealTextAnswer::Failed(error) => stage.set(Stage::Failed(error)),
            RealTextAnswer::Read { request, scores } => {
                if let Some(job) = queue.try_update(|queue| queue.answered(request)).flatten() {
                    match scores {
                        Ok(read) => {
                            read_error.set(None);
                            read_done(job, read);
                        }
                        Err(error) => {
                            read_error.set(Some(error));
                            waiting.set(false);
                        }
                    }
                }
                pump();
            }
        }
    };

    let load = move || {
        stage.set(Stage::Loading(Download {
            received: 0,
            expected: None,
        }));
        spawn_local(async move {
            match fetch_slice().await {
                Ok(items) => {
                    readings.set(vec![None; items.len()]);
                    slice.set(items);
                    if bridge.with_value(Option::is_none) {
                        bridge.set_value(Some(spawn(answered)));
                    }
                    send(RealTextRequest::Load {
                        base: page_directory(),
                    });
                }
                Err(error) => stage.set(Stage::Failed(error)),
            }
        });
    };

    // A slice item: shown at once when read, else read ahead of anything waiting.
    let read_item = move |index: usize| {
        if loaded.with_untracked(Option::is_none) {
            return;
        }
        wanted.set_value(Some(Wanted::Item(index)));
        match readings.with_untracked(|r| r[index].clone()) {
            Some(read) => {
                shown.set(Some(
                    slice.with_untracked(|s| Reading::of_item(index, &s[index], read)),
                ));
                waiting.set(false);
            }
            None => ask(Job::Item(index)),
        }
    };

    // The visitor's own solution, read once typing pauses; a shared one is read on loading.
    let shared = solution.get_untracked();
    let own_text = RwSignal::new(shared.clone().unwrap_or_default());
    let own_error = RwSignal::new(None::<String>);
    let pending = StoredValue::new_local(None::<Timeout>);
    let read_own = move || {
        let text = own_text.get_untracked();
        match pasted_text::by_paragraphs(&text) {
            Ok(trajectory) => {
                own_error.set(None);
                solution.set(Some(text));
                if loaded.with_untracked(Option::is_some) {
                    wanted.set_value(Some(Wanted::Own(trajectory.clone())));
                    ask(Job::Own(trajectory));
                }
            }
            Err(error) => {
                solution.set(None);
                own_error.set(Some(error));
            }
        }
    };
    if shared.is_some() {
        on_loaded.set_value(Some(Rc::new(read_own)));
        load();
    }
    let typed = move |text: String| {
        own_text.set(text);
        let timeout = Timeout::new(TYPING_PAUSE_MS, read_own);
        // Replacing the pending timeout cancels it.
        pending.set_value(Some(timeout));
    };

    // The page's δ_pred and δ_std, with the τ chosen on this model's validation rows: its
    // means sit far from the synthetic model's, and at τ 0.5 it would predict no error.
    let tau = move || loaded.with(|loaded| loaded.as_ref().map(|(tau, _)| *tau));
    let real_rule = Signal::derive(move || {
        let mut real = rule.get();
        if let Some(tau) = tau() {
            real.thresholds.tau = tau;
        }
        real
    });

    let split = RwSignal::new(PROCESSBENCH_SPLITS[0]);
    let splits = PROCESSBENCH_SPLITS
        .map(|name| view! { <option value=name>{name}</option> })
        .collect_view();
    // The chosen split's items, by their index in the slice.
    let in_split = Memo::new(move |_| {
        let chosen = split.get();
        slice.with(|items| {
            items
                .iter()
                .enumerate()
                .filter(|(_, entry)| entry.split == chosen)
                .map(|(index, _)| index)
                .collect::<Vec<_>>()
        })
    });
    let list = move || {
        in_split
            .get()
            .into_iter()
            .map(|index| {
                let line = slice.with_untracked(|s| describe(&s[index]));
                let verdict = move || {
                    readings.with(|r| {
                        let (scores, _) = r.get(index)?.as_ref()?;
                        let selected = real_rule.with(|rule| rule.decide(scores).is_selected());
                        Some(if selected { " · selected" } else { " · trusted" })
                    })
                };
                view! {
                    <li class="slice-row" class:shown=move || shown.with(|s| s.as_ref().and_then(|r| r.item) == Some(index))>
                        // Listed before the model is there, readable once it is.
                        <button type="button" disabled=move || loaded.with(Option::is_none)
                            on:click=move |_| read_item(index)>
                            {line}{verdict}
                        </button>
                    </li>
                }
            })
            .collect_view()
    };
    let read_split = move || {
        let unread: Vec<usize> = readings.with_untracked(|r| {
            in_split.with_untracked(|items| {
                items
                    .iter()
                    .copied()
                    .filter(|&index| r[index].is_none())
                    .collect()
            })
        });
        queue.update(|queue| queue.add_items(unread));
        pump();
    };
    let stop_split = move || {
        let keep = match wanted.get_value() {
            Some(Wanted::Item(index)) if waiting.get_untracked() => Some(index),
            _ => None,
        };
        queue.update(|queue| queue.drop_items(keep));
    };
    // The chosen split's read solutions, as the plane draws them.
    let plotted = Memo::new(move |_| {
        slice.with(|s| {
            readings.with(|r| {
                in_split.with(|items| {
                    items
                        .iter()
                        .filter_map(|&index| {
                            let (scores, _) = r[index].as_ref()?;
                            let entry = &s[index];
                            Some(Plotted {
                                key: index,
                                name: entry.item.id.clone(),
                                trajectory: entry.item.trajectory.clone(),
                                scores: scores.clone(),
                            })
                        })
                        .collect::<Arc<[Plotted]>>()
                })
            })
        })
    });
    let plane = move || {
        loaded.with(Option::is_some).then(|| {
            view! {
                <SplitReading split
                    read=Signal::derive(move || plotted.with(|p| p.len()))
                    total=Signal::derive(move || in_split.with(Vec::len))
                    pending=Signal::derive(move || queue.with(ReadQueue::items_pending))
                    on_read_all=read_split on_stop=stop_split />
                <DecisionPlot id="slice-plane" heading="The decision plane of real solutions"
                    plotted rule=real_rule on_pick=read_item />
            }
        })
    };
    let inspector = move || {
        shown.get().map(|reading| {
            let key = reading
                .item
                .map(|index| slice.with_untracked(|s| s[index].item.id.clone()));
            view! {
                <div class="real-inspector" data-item=key>
                    <Inspector title=reading.title trajectory=reading.trajectory
                        scores=reading.scores rule=real_rule />
                    <p class="read-timing" data-tokenise-ms=reading.timing.tokenise_ms
                        data-encoder-ms=reading.timing.encoder_ms
                        data-heads-ms=reading.timing.heads_ms>
                        {describe_timing(reading.timing)}
                    </p>
                </div>
            }
        })
    };
    let status = move || {
        if waiting.get() {
            return "Reading every step with its prefix…".to_string();
        }
        match (stage.get(), read_error.get()) {
            (Stage::Ready, Some(error)) => format!("Error: {error}"),
            (stage, _) => stage.message(),
        }
    };
    let failed = move || {
        matches!(stage.get(), Stage::Failed(_))
            || (read_error.with(Option::is_some) && !waiting.get())
    };

    view! {
        <section class="real-text">
            <h2>"Real solutions"</h2>
            <p>
                "Heads trained on frozen all-MiniLM-L6-v2 over PRM800K's human labels read "
                "solutions from ProcessBench, every step with the steps before it. The model is "
                "weak (see the manifest beside it): it finds errors above chance, far from the "
                "paper's. Loading fetches about 55 MB the first time; the browser then keeps "
                "the encoder."
            </p>
            <button type="button" class="load-real-text"
                disabled=move || !matches!(stage.get(), Stage::Idle | Stage::Failed(_))
                on:click=move |_| load()>
                "Load the real-text model"
            </button>
            {move || kept.get().then(|| view! {
                <button type="button" class="forget-model" on:click=forget>
                    "Forget the cached model"
                </button>
            })}
            <span class="forgotten" role="status">{move || forgotten.get()}</span>
            <p class="real-text-tau" data-tau=tau>
                {move || loaded.get().map(|(tau, compute)| format!(
                    "Read on {} at τ {tau:.3}, chosen on PRM800K validation rows (the τ slider \
                     is the synthetic model's); δ_pred and δ_std follow the sliders.",
                    compute.label()
                ))}
            </p>
            <p class="real-text-stage" class:failed=failed role="status">{status}</p>
            <div class="columns">
                <div>{inspector}</div>
                <div>
                    <label class="slice-split">
                        "ProcessBench split: "
                        <select on:change=move |event| {
                            let value = event_target_value(&event);
                            if let Some(name) = PROCESSBENCH_SPLITS.into_iter().find(|s| *s == value) {
                                split.set(name);
                            }
                        }>
                            {splits}
                        </select>
                    </label>
                    <ol class="slice-list">{list}</ol>
                    <label class="own-solution">
                        "Or paste a solution: the question, a blank line, then its steps, \
                         separated by blank lines. It is read as you type."
                        <textarea rows="8" prop:value=move || own_text.get()
                            disabled=move || loaded.with(Option::is_none)
                            on:input=move |event| typed(event_target_value(&event))></textarea>
                    </label>
                    <p class="custom-error" role="status">{move || own_error.get()}</p>
                </div>
            </div>
            {plane}
        </section>
    }
}
