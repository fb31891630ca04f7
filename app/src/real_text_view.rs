//! Real solutions: the real-text PRM, loaded on request (its encoder is about 90 MB) into a web
//! worker, reads a chosen ProcessBench solution step by step in the inspector, beside the
//! labelled first error.

use std::rc::Rc;

use actprm_core::data::PROCESSBENCH_SPLITS;
use actprm_core::scores::StepScores;
use actprm_core::{ProcessLabel, Trajectory};
use gloo::timers::callback::Timeout;
use gloo::worker::WorkerBridge;
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::assets::{Download, page_directory};
use crate::compute::Compute;
use crate::explain::Rule;
use crate::inspector::Inspector;
use crate::model_cache;
use crate::processbench_slice::{SliceItem, fetch_slice};
use crate::protocol::real_text::{ReadTiming, RealTextAnswer, RealTextRequest};
use crate::protocol::{Answer, RemoteWorker, Request, spawn};

/// What the section is doing.
#[derive(Debug, Clone, PartialEq)]
enum Stage {
    /// Waiting for the visitor to ask for the model.
    Idle,
    /// Fetching the model.
    Loading(Download),
    /// Ready to read solutions.
    Ready,
    /// Reading the chosen solution.
    Scoring,
    /// Something failed; the section says what.
    Failed(String),
}

impl Stage {
    fn message(&self) -> String {
        match self {
            Stage::Idle => String::new(),
            Stage::Loading(download) => {
                format!("Loading the real-text model: {}", download.describe())
            }
            Stage::Ready => String::new(),
            Stage::Scoring => "Reading every step with its prefix…".to_string(),
            Stage::Failed(error) => format!("Error: {error}"),
        }
    }
}

/// How long typing must pause before a pasted solution is read.
const TYPING_PAUSE_MS: u32 = 600;

/// The reading the inspector waits for: the request's number, and what it shows with the
/// scores.
#[derive(Debug, Clone, PartialEq)]
struct Awaited {
    request: u64,
    title: String,
    item: Option<usize>,
    trajectory: Trajectory,
}

/// What the inspector shows: a slice item or the visitor's own solution, with its scores.
#[derive(Debug, Clone, PartialEq)]
struct Reading {
    title: String,
    /// The slice item's index, when it is one.
    item: Option<usize>,
    trajectory: Trajectory,
    scores: StepScores,
    timing: ReadTiming,
}

/// Where a reading's time went, in words.
fn describe_timing(timing: ReadTiming) -> String {
    format!(
        "Read in {:.2} s: tokenising {:.0} ms, the encoder {:.2} s, the heads {:.0} ms.",
        (timing.tokenise_ms + timing.encoder_ms + timing.heads_ms) / 1e3,
        timing.tokenise_ms,
        timing.encoder_ms / 1e3,
        timing.heads_ms
    )
}

/// Reads a pasted solution: the first paragraph is the question, each further paragraph (they
/// are separated by blank lines) a step, as ProcessBench's solutions are written.
pub fn parse_solution(text: &str) -> Result<Trajectory, String> {
    let mut paragraphs = text
        .split("\n\n")
        .map(str::trim)
        .filter(|paragraph| !paragraph.is_empty());
    let question = paragraphs
        .next()
        .ok_or("write the question first")?
        .to_string();
    let steps: Vec<String> = paragraphs.map(str::to_string).collect();
    if steps.is_empty() {
        return Err("write the steps below the question, each after a blank line".to_string());
    }
    Ok(Trajectory {
        question,
        steps,
        label: None,
    })
}

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
/// solutions; `rule` draws the verdicts. `solution` is the visitor's pasted solution as the URL
/// hash keeps it: written once read, and a shared one loads the model and is read as soon as
/// it is there.
#[component]
pub fn RealText(
    #[prop(into)] rule: Signal<Rule>,
    solution: RwSignal<Option<String>>,
) -> impl IntoView {
    let stage = RwSignal::new(Stage::Idle);
    // Once the model is loaded: the τ it chose on validation, and where it runs.
    let loaded = RwSignal::new(None::<(f32, Compute)>);
    let slice = RwSignal::new(Vec::<SliceItem>::new());
    let shown = RwSignal::new(None::<Reading>);
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
    // Each reading is numbered, one past the last; the inspector waits for the latest only.
    let awaited = StoredValue::new(None::<Awaited>);

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
                let Some(awaited) = awaited
                    .get_value()
                    .filter(|awaited| awaited.request == request)
                else {
                    return;
                };
                match scores {
                    Ok((scores, timing)) => {
                        shown.set(Some(Reading {
                            title: awaited.title,
                            item: awaited.item,
                            trajectory: awaited.trajectory,
                            scores,
                            timing,
                        }));
                        stage.set(Stage::Ready);
                    }
                    Err(error) => stage.set(Stage::Failed(error)),
                }
            }
        }
    };
    let send = move |request: RealTextRequest| {
        bridge.with_value(|bridge| {
            if let Some(bridge) = bridge {
                bridge.send(Request::RealText(request));
            }
        });
    };

    let load = move || {
        stage.set(Stage::Loading(Download {
            received: 0,
            expected: None,
        }));
        spawn_local(async move {
            match fetch_slice().await {
                Ok(items) => {
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

    let show = move |title: String, item: Option<usize>, trajectory: Trajectory| {
        if loaded.with_untracked(Option::is_none) {
            return;
        }
        let request = awaited.with_value(|last| last.as_ref().map_or(1, |last| last.request + 1));
        awaited.set_value(Some(Awaited {
            request,
            title,
            item,
            trajectory: trajectory.clone(),
        }));
        stage.set(Stage::Scoring);
        send(RealTextRequest::Read {
            request,
            trajectory,
        });
    };
    let read = move |index: usize| {
        let entry = slice.with_untracked(|s| s[index].clone());
        let title = format!("ProcessBench {}: {}", entry.split, entry.item.id);
        show(title, Some(index), entry.item.trajectory);
    };

    // The visitor's own solution, read once typing pauses; a shared one is read on loading.
    let shared = solution.get_untracked();
    let own_text = RwSignal::new(shared.clone().unwrap_or_default());
    let own_error = RwSignal::new(None::<String>);
    let pending = StoredValue::new_local(None::<Timeout>);
    let read_own = move || {
        let text = own_text.get_untracked();
        match parse_solution(&text) {
            Ok(trajectory) => {
                own_error.set(None);
                solution.set(Some(text));
                show("Your solution".to_string(), None, trajectory);
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

    let split = RwSignal::new(PROCESSBENCH_SPLITS[0]);
    let splits = PROCESSBENCH_SPLITS
        .map(|name| view! { <option value=name>{name}</option> })
        .collect_view();
    let list = move || {
        let chosen = split.get();
        slice.with(|items| {
            items
                .iter()
                .enumerate()
                .filter(|(_, entry)| entry.split == chosen)
                .map(|(index, entry)| {
                    // Listed before the model is there, readable once it is.
                    let busy = move || {
                        stage.get() == Stage::Scoring || loaded.with(Option::is_none)
                    };
                    view! {
                        <li class="slice-row" class:shown=move || shown.with(|s| s.as_ref().and_then(|r| r.item) == Some(index))>
                            <button type="button" disabled=busy on:click=move |_| read(index)>
                                {describe(entry)}
                            </button>
                        </li>
                    }
                })
                .collect_view()
        })
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

    view! {
        <section class="real-text">
            <h2>"Real solutions"</h2>
            <p>
                "Heads trained on frozen all-MiniLM-L6-v2 over PRM800K's human labels read "
                "solutions from ProcessBench, every step with the steps before it. The model is "
                "weak (see the manifest beside it): it finds errors above chance, far from the "
                "paper's. Loading fetches about 100 MB the first time; the browser then keeps "
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
            <p class="real-text-tau">
                {move || loaded.get().map(|(tau, compute)| format!(
                    "Read on {} at τ {tau:.3}, chosen on PRM800K validation rows (the τ slider \
                     is the synthetic model's); δ_pred and δ_std follow the sliders.",
                    compute.label()
                ))}
            </p>
            <p class="real-text-stage" class:failed=move || matches!(stage.get(), Stage::Failed(_))
                role="status">
                {move || stage.get().message()}
            </p>
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
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reading_says_where_its_time_went() {
        let timing = ReadTiming {
            tokenise_ms: 3.4,
            encoder_ms: 1396.0,
            heads_ms: 20.4,
        };
        assert_eq!(
            describe_timing(timing),
            "Read in 1.42 s: tokenising 3 ms, the encoder 1.40 s, the heads 20 ms."
        );
    }

    #[test]
    fn a_pasted_solution_is_split_at_blank_lines() {
        let text =
            "Q: what is 2 + 3?\n\n2 + 3 = 5,\nsince 2 + 2 = 4.\n\n\n\n  The answer is 5.  \n";
        let trajectory = parse_solution(text).unwrap();
        assert_eq!(trajectory.question, "Q: what is 2 + 3?");
        assert_eq!(
            trajectory.steps,
            ["2 + 3 = 5,\nsince 2 + 2 = 4.", "The answer is 5."]
        );
        assert!(parse_solution("  \n\n ").unwrap_err().contains("question"));
        assert!(
            parse_solution("Q?\nstill the question")
                .unwrap_err()
                .contains("blank line")
        );
    }
}
