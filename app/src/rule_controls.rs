//! The rule's controls: sliders for δ_pred, δ_std and τ, and which tests may select. Changing
//! one re-draws every verdict from the scores already computed; the model does not run again.

use actprm_core::NamedChoice;
use actprm_core::selection::Tests;
use leptos::prelude::*;

use crate::explain::Rule;
use crate::threshold_ranges::{DELTA_PRED, DELTA_STD, TAU, ThresholdRange};

/// One labelled slider over `range`.
#[component]
fn Slider(
    label: &'static str,
    hint: &'static str,
    range: ThresholdRange,
    #[prop(into)] value: Signal<f32>,
    on_change: impl Fn(f32) + 'static,
) -> impl IntoView {
    view! {
        <label class="slider" title=hint>
            <span class="slider-name">{label}</span>
            <input type="range" min=range.min max=range.max step=range.step prop:value=move || value.get()
                on:input=move |event| {
                    if let Ok(value) = event_target_value(&event).parse::<f32>() {
                        on_change(value);
                    }
                } />
            <span class="slider-value">{move || format!("{:.4}", value.get())}</span>
        </label>
    }
}

/// The three threshold sliders and the choice of tests, editing `rule`.
#[component]
pub fn RuleControls(rule: RwSignal<Rule>) -> impl IntoView {
    let threshold = move |read: fn(&Rule) -> f32| Signal::derive(move || rule.with(read));
    view! {
        <fieldset class="thresholds">
            <legend>"Selection thresholds"</legend>
            <Slider label="δ_pred" range=DELTA_PRED
                hint="a step is confident when its mean is ≥ δ_pred or ≤ 1 − δ_pred"
                value=threshold(|r| r.thresholds.delta_pred)
                on_change=move |v| rule.update(|r| r.thresholds.delta_pred = v) />
            <Slider label="δ_std" range=DELTA_STD
                hint="the heads agree on a step when their standard deviation is ≤ δ_std"
                value=threshold(|r| r.thresholds.delta_std)
                on_change=move |v| rule.update(|r| r.thresholds.delta_std = v) />
            <Slider label="τ" range=TAU
                hint="a step is predicted erroneous when its mean is below τ"
                value=threshold(|r| r.thresholds.tau)
                on_change=move |v| rule.update(|r| r.thresholds.tau = v) />
        </fieldset>
        <fieldset class="tests">
            <legend>"Which tests select"</legend>
            <TestChoice rule tests=Tests::Both label="both (ActPRM)"
                hint="an unsure mean or disagreeing heads" />
            <TestChoice rule tests=Tests::AleatoricOnly label="unsure mean only"
                hint="what a single head can see: its spread is always 0" />
            <TestChoice rule tests=Tests::EpistemicOnly label="disagreeing heads only"
                hint="the ensemble's own contribution" />
        </fieldset>
    }
}

/// One radio button of the choice of tests.
#[component]
fn TestChoice(
    rule: RwSignal<Rule>,
    tests: Tests,
    label: &'static str,
    hint: &'static str,
) -> impl IntoView {
    view! {
        <label class="test-choice" title=hint>
            <input type="radio" name="tests" value=tests.name()
                prop:checked=move || rule.with(|r| r.tests == tests)
                on:change=move |_| rule.update(|r| r.tests = tests) />
            {label}
        </label>
    }
}

#[cfg(all(test, target_family = "wasm"))]
mod browser_tests {
    use wasm_bindgen::JsCast;
    use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};
    use web_sys::{Event, HtmlInputElement};

    use super::*;
    use crate::browser_test_support::{Mounted, settle};

    wasm_bindgen_test_configure!(run_in_browser);

    #[wasm_bindgen_test]
    async fn the_controls_edit_the_rule() {
        let rule = RwSignal::new(Rule::default());
        let page = Mounted::new(move || view! { <RuleControls rule /> });
        let input = |selector: &str| page.find(selector).unchecked_into::<HtmlInputElement>();
        assert!(input(r#"input[value="both"]"#).checked());

        input(r#"input[value="aleatoric-only"]"#).click();
        settle().await;
        assert_eq!(rule.get_untracked().tests, Tests::AleatoricOnly);

        let delta_std = input(r#"label.slider:nth-of-type(2) input"#);
        delta_std.set_value("0.02");
        delta_std
            .dispatch_event(&Event::new("input").expect("an input event"))
            .expect("the event is dispatched");
        settle().await;
        assert_eq!(rule.get_untracked().thresholds.delta_std, 0.02);
        assert_eq!(
            page.text("label.slider:nth-of-type(2) .slider-value"),
            "0.0200"
        );
    }
}
