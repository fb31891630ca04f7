//! The ActPRM web explainer. For now it shows a problem of the embedded synthetic task with its
//! labelled first error; the uncertainty views build on this page.

use actprm_core::synthetic::{SyntheticConfig, generate};
use leptos::prelude::*;

/// Seed of the problem shown on the page.
const EXAMPLE_SEED: u64 = 7;

/// The page.
#[component]
pub fn App() -> impl IntoView {
    let example = generate(&SyntheticConfig::new(), EXAMPLE_SEED, 1).remove(0);
    let first_error = example.label.and_then(|label| label.first_error());
    let steps = example
        .steps
        .iter()
        .enumerate()
        .map(|(index, step)| {
            let class = if Some(index) == first_error {
                "step first-error"
            } else {
                "step"
            };
            view! { <li class=class>{step.clone()}</li> }
        })
        .collect_view();
    view! {
        <main>
            <h1>"ActPRM"</h1>
            <p>
                "A process reward model scores every step of a solution. ActPRM trains an "
                "ensemble of scoring heads and pays for labels only where the heads are unsure."
            </p>
            <h2>"A problem from the synthetic task"</h2>
            <p class="question">{example.question.clone()}</p>
            <ol class="steps">{steps}</ol>
        </main>
    }
}
