//! The page: the synthetic pool with its inspector, the rule's controls and the decision plot,
//! then the real-text and live-learning sections, with the scene kept in the URL hash.

use std::sync::Arc;

use actprm_core::Trajectory;
use actprm_core::scores::StepScores;
use gloo::worker::WorkerBridge;
use leptos::prelude::*;

use crate::assets::{Download, page_directory};
use crate::compute::Compute;
use crate::custom::CustomTrajectory;
use crate::decision_plot::DecisionPlot;
use crate::explain::Rule;
use crate::inspector::Inspector;
use crate::live_view::LiveLearning;
use crate::pasted_text;
use crate::pool::{POOL_SIZE, ScoredPool};
use crate::pool_view::{PoolView, by_uncertainty};
use crate::protocol::synthetic::{ScoreTask, SyntheticAnswer, SyntheticRequest};
use crate::protocol::{Answer, RemoteWorker, Request, spawn};
use crate::real_text_view::RealText;
use crate::rule_controls::RuleControls;
use crate::scene::Scene;

/// What the page is doing.
#[derive(Debug, Clone, PartialEq)]
enum Phase {
    /// Starting the worker and its backend.
    Starting,
    /// Fetching the model.
    Loading(Download),
    /// Scoring the pool; trajectories done.
    Scoring(usize),
    /// Everything is shown.
    Ready,
    /// Something failed; the page says what.
    Failed(String),
}

impl Phase {
    fn message(&self) -> String {
        match self {
            Phase::Starting => "Starting the compute backend…".to_string(),
            Phase::Loading(download) => format!("Loading the model: {}", download.describe()),
            Phase::Scoring(done) => format!("Scoring the pool: {done} of {POOL_SIZE}"),
            Phase::Ready => String::new(),
            Phase::Failed(error) => format!("Error: {error}"),
        }
    }
}

/// The page.
#[component]
pub fn App() -> impl IntoView {
    let initial_hash = current_hash();
    let initial = Scene::from_hash(&initial_hash);
    let seed = RwSignal::new(initial.seed);
    let example = RwSignal::new(initial.example);
    let initial_rule = initial.rule.clone();
    let rule = RwSignal::new(initial.rule);
    // The visitor's own trajectory as typed, once scored (or while a shared one waits for the
    // model).
    let custom_text = RwSignal::new(initial.custom.clone());
    // A real solution pasted for the real-text model, once read.
    let solution = RwSignal::new(initial.solution.clone());
    Effect::new(move |_| {
        let scene = Scene {
            seed: seed.get(),
            example: example.get(),
            rule: rule.get(),
            custom: custom_text.get(),
            solution: solution.get(),
        };
        replace_hash(&scene.to_hash());
    });

    let compute = RwSignal::new(None::<Compute>);
    let phase = RwSignal::new(Phase::Starting);
    let loaded = RwSignal::new(false);
    let pool = RwSignal::new(None::<Arc<ScoredPool>>);
    // A trajectory of the visitor's own, when one is scored; it replaces the pool item.
    let custom = RwSignal::new(None::<(Trajectory, StepScores)>);
    let custom_error = RwSignal::new(None::<String>);
    // The visitor's trajectory awaiting its scores, with its request's number: only the latest
    // is shown.
    let awaited = StoredValue::new(None::<(u64, Trajectory)>);

    let answered = move |answer: Answer| {
        let Answer::Synthetic(answer) = answer else {
            return;
        };
        match answer {
            SyntheticAnswer::Progress(download) => phase.set(Phase::Loading(download)),
            SyntheticAnswer::Loaded {
                compute: kind,
                trained_with,
            } => {
                compute.set(Some(kind));
                // The thresholds a link leaves unset are those the model was trained under,
                // unless the visitor has moved a control meanwhile.
                if rule.get_untracked() == initial_rule {
                    let trained = Scene {
                        rule: Rule::trained_with(trained_with),
                        ..Scene::default()
                    };
                    rule.set(Scene::from_hash_over(&initial_hash, trained).rule);
                }
                loaded.set(true);
            }
            SyntheticAnswer::Failed(error) => phase.set(Phase::Failed(error)),
            SyntheticAnswer::Scoring { seed: scored, done } => {
                if scored == seed.get_untracked() {
                    phase.set(Phase::Scoring(done));
                }
            }
            SyntheticAnswer::Pool(Ok(scored)) => {
                if scored.seed == seed.get_untracked() {
                    pool.set(Some(Arc::new(scored)));
                    phase.set(Phase::Ready);
                }
            }
            SyntheticAnswer::Pool(Err(error)) => phase.set(Phase::Failed(error)),
            SyntheticAnswer::Own { request, scores } => {
                let Some((_, trajectory)) = awaited
                    .get_value()
                    .filter(|(awaiting, _)| *awaiting == request)
                else {
                    return;
                };
                match scores {
                    Ok(scores) => {
                        custom_error.set(None);
                        custom.set(Some((trajectory, scores)));
                    }
                    Err(error) => custom_error.set(Some(error)),
                }
            }
        }
    };
    let worker = StoredValue::new_local(None::<WorkerBridge<RemoteWorker>>);
    let send = move |request: SyntheticRequest| {
        worker.with_value(|worker| {
            if let Some(worker) = worker {
                worker.send(Request::Synthetic(request));
            }
        });
    };
    if cfg!(target_family = "wasm") {
        worker.set_value(Some(spawn(answered)));
        send(SyntheticRequest::Load {
            base: page_directory(),
        });
    }

    // Score the pool whenever the seed changes, once the model is there.
    Effect::new(move |_| {
        let seed = seed.get();
        if loaded.get() {
            phase.set(Phase::Scoring(0));
            send(SyntheticRequest::Score(ScoreTask::Pool { seed }));
        }
    });

    // The trajectory in the inspector: the chosen one, else the pool's most uncertain.
    let shown = Memo::new(move |_| {
        pool.with(|pool| {
            let pool = pool.as_ref()?;
            let chosen = example.get().filter(|&i| i < pool.scores.len());
            chosen.or_else(|| {
                let tau = rule.with_untracked(|r| r.thresholds.tau);
                by_uncertainty(pool, tau).first().copied()
            })
        })
        .unwrap_or(0)
    });

    let score_custom = move |text: String, trajectory: Trajectory| {
        if !loaded.get_untracked() {
            custom_error.set(Some("the model is still loading".to_string()));
            return;
        }
        custom_text.set(Some(text));
        let request = awaited.with_value(|last| last.as_ref().map_or(1, |(last, _)| last + 1));
        awaited.set_value(Some((request, trajectory.clone())));
        send(SyntheticRequest::Score(ScoreTask::Own {
            request,
            trajectory,
        }));
    };

    // A shared link's own trajectory is scored as soon as the model is there.
    if let Some(text) = initial.custom {
        Effect::new(move |scored: Option<bool>| {
            if scored == Some(true) || !loaded.get() {
                return scored.unwrap_or(false);
            }
            match pasted_text::by_lines(&text) {
                Ok(trajectory) => score_custom(text.clone(), trajectory),
                Err(error) => custom_error.set(Some(error)),
            }
            true
        });
    }

    let inspector = move || {
        if let Some((trajectory, scores)) = custom.get() {
            let title = "Your trajectory".to_string();
            return Some(view! { <Inspector title trajectory scores rule /> }.into_any());
        }
        pool.get().map(|pool| {
            let index = shown.get();
            view! {
                <Inspector title=format!("Problem {}", index + 1) pool_index=index
                    trajectory=pool.trajectories[index].clone()
                    scores=pool.scores[index].clone() rule />
            }
            .into_any()
        })
    };
    // Picking a pool item (from the list or the plot) shows it in place of the visitor's own.
    let pick = move |index: usize| {
        custom.set(None);
        custom_text.set(None);
        example.set(Some(index));
    };
    let pool_view = move || {
        pool.get()
            .map(|pool| view! { <PoolView pool rule shown on_pick=pick /> })
    };
    let decision_plot = move || {
        pool.get().map(|pool| {
            view! {
                <DecisionPlot id="pool-plane" heading="The decision plane" plotted=pool.plotted()
                    rule on_pick=pick />
            }
        })
    };

    view! {
        <header>
            <h1>"ActPRM"</h1>
            <span class="badge" data-compute=move || compute.get().map(|c| c.label())
                title=move || compute.get().map(|c| c.detail())>
                {move || compute.get().map_or("starting…", |c| c.label())}
            </span>
        </header>
        <p class="intro">
            "A process reward model scores every step of a solution. ActPRM gives it an "
            "ensemble of heads and pays a judge only for trajectories where, up to the first "
            "predicted error, some step's mean is not confidently near 0 or 1, or the heads "
            "disagree. Move the thresholds: the verdicts change, the model does not run again."
        </p>
        <p class="phase" class:failed=move || matches!(phase.get(), Phase::Failed(_))>
            {move || phase.get().message()}
        </p>
        <div class="controls">
            <RuleControls rule />
            <button on:click=move |_| {
                example.set(None);
                seed.update(|s| *s = s.wrapping_add(1));
            }>"New pool"</button>
            <span class="seed">{move || format!("seed {}", seed.get())}</span>
        </div>
        <div class="columns">
            <div>
                {inspector}
                <CustomTrajectory initial=custom_text.get_untracked() on_score=score_custom error=custom_error />
            </div>
            {pool_view}
        </div>
        {decision_plot}
        <RealText rule solution />
        <LiveLearning seed />
    }
}

/// The page's URL hash.
fn current_hash() -> String {
    #[cfg(target_family = "wasm")]
    {
        return gloo::utils::window().location().hash().unwrap_or_default();
    }
    #[allow(unreachable_code, reason = "the wasm build returns above")]
    String::new()
}

/// Replaces the URL hash without adding a history entry.
fn replace_hash(hash: &str) {
    #[cfg(target_family = "wasm")]
    {
        let history = gloo::utils::window().history();
        if let Ok(history) = history {
            let _ = history.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(hash));
        }
    }
    #[cfg(not(target_family = "wasm"))]
    let _ = hash;
}
