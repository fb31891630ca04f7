//! The trajectory inspector: every step with its chart and numbers, coloured by how the
//! selection rule sees it, the predicted and the true first error, and the verdict.

use actprm_core::scores::StepScores;
use actprm_core::{ProcessLabel, Trajectory};
use leptos::prelude::*;

use crate::explain::{Rule, verdict_sentence};
use crate::step_chart::StepChart;

/// One trajectory under the current rule.
#[component]
pub fn Inspector(
    /// The heading.
    title: String,
    /// The trajectory's place in the pool, when it is a pool item.
    #[prop(optional)]
    pool_index: Option<usize>,
    trajectory: Trajectory,
    scores: StepScores,
    #[prop(into)] rule: Signal<Rule>,
) -> impl IntoView {
    let true_first_error = trajectory.label.and_then(ProcessLabel::first_error);
    let scores = StoredValue::new(scores);
    let states = Memo::new(move |_| rule.with(|r| scores.with_value(|s| r.step_states(s))));
    let tau = move || rule.with(|r| r.thresholds.tau);
    let predicted = Memo::new(move |_| scores.with_value(|s| s.predicted_first_error(tau())));
    let verdict = move || rule.with(|r| scores.with_value(|s| r.decide(s)));
    let thresholds = Signal::derive(move || rule.with(|r| r.thresholds.clone()));
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
            let heads_data = heads
                .iter()
                .map(f32::to_string)
                .collect::<Vec<_>>()
                .join(",");
            view! {
                <li class=class data-mean=mean.to_string() data-std=std.to_string()
                    data-heads=heads_data>
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

#[cfg(all(test, target_family = "wasm"))]
mod browser_tests {
    use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

    use super::*;
    use crate::browser_test_support::{Mounted, settle};

    wasm_bindgen_test_configure!(run_in_browser);

    #[wasm_bindgen_test]
    async fn a_looser_threshold_recolours_the_steps_and_the_verdict() {
        let rule = RwSignal::new(Rule::default());
        let trajectory = Trajectory {
            question: "Q ?".to_string(),
            steps: vec!["first".to_string(), "second".to_string()],
            label: None,
        };
        // Three agreeing heads; the second step's mean of 0.9 is not confident at δ_pred 0.95.
        let scores = StepScores::from_heads(vec![vec![0.99, 0.9]; 3]);
        let page = Mounted::new(move || {
            view! { <Inspector title="T".to_string() trajectory scores rule /> }
        });
        assert_eq!(
            page.child_classes(".steps"),
            ["step confident", "step unsure"]
        );
        let verdict = page.text(".verdict");
        assert!(verdict.starts_with("selected: step 2"), "{verdict}");

        rule.update(|r| r.thresholds.delta_pred = 0.85);
        settle().await;
        assert_eq!(
            page.child_classes(".steps"),
            ["step confident", "step confident"]
        );
        let verdict = page.text(".verdict");
        assert!(verdict.starts_with("trusted"), "{verdict}");
    }
}
