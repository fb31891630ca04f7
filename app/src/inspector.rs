//! The trajectory inspector: every step with its chart and numbers, coloured by how the
//! selection rule sees it, the predicted and the true first error, and the verdict.

use actprm_core::Trajectory;
use actprm_core::scores::StepScores;
use actprm_core::selection::SelectionConfig;
use leptos::prelude::*;

use crate::explain::{step_states, verdict_sentence};
use crate::step_chart::StepChart;

/// One trajectory under the current thresholds.
#[component]
pub fn Inspector(
    /// The heading.
    title: String,
    /// The trajectory's place in the pool, when it is a pool item.
    #[prop(optional)]
    pool_index: Option<usize>,
    trajectory: Trajectory,
    scores: StepScores,
    #[prop(into)] thresholds: Signal<SelectionConfig>,
) -> impl IntoView {
    let true_first_error = trajectory.label.and_then(|label| label.first_error());
    let scores = StoredValue::new(scores);
    let states = Memo::new(move |_| scores.with_value(|s| step_states(s, &thresholds.get())));
    let predicted =
        Memo::new(move |_| scores.with_value(|s| s.predicted_first_error(thresholds.get().tau)));
    let verdict = move || scores.with_value(|s| thresholds.get().decide(s));
    let rows = trajectory
        .steps
        .iter()
        .enumerate()
        .map(|(step, text)| {
            let (heads, mean, std) = scores.with_value(|s| {
                (
                    s.heads.iter().map(|head| head[step]).collect::<Vec<_>>(),
                    s.mean[step],
                    s.std[step],
                )
            });
            let class = move || format!("step {}", states.get()[step].class());
            let state = move || states.get()[step].label();
            let marks = move || {
                let mut marks = Vec::new();
                if predicted.get() == Some(step) {
                    marks.push("predicted first error");
                }
                if true_first_error == Some(step) {
                    marks.push("true first error");
                }
                marks.join(" · ")
            };
            view! {
                <li class=class data-mean=mean.to_string() data-std=std.to_string()>
                    <div class="step-text">
                        <span class="step-number">{step + 1}</span>
                        {text.clone()}
                        <span class="marks">{marks}</span>
                    </div>
                    <StepChart heads mean std thresholds />
                    <div class="step-numbers">
                        {format!("mean {mean:.3} · std {std:.4} · ")}
                        <span class="step-state">{state}</span>
                    </div>
                </li>
            }
        })
        .collect_view();
    view! {
        <section class="inspector" data-index=pool_index>
            <h2>{title}</h2>
            <p class="question">{trajectory.question.clone()}</p>
            <ol class="steps">{rows}</ol>
            <p class="verdict" class:selected=move || verdict().is_selected()>
                {move || verdict_sentence(&verdict())}
            </p>
        </section>
    }
}
