//! Sliders for δ_pred, δ_std and τ. Moving one re-draws every verdict from the scores already
//! computed; the model does not run again.

use actprm_core::selection::SelectionConfig;
use leptos::prelude::*;

/// One labelled slider over `[min, max]`.
#[component]
fn Slider(
    label: &'static str,
    hint: &'static str,
    min: f32,
    max: f32,
    step: f32,
    #[prop(into)] value: Signal<f32>,
    on_change: impl Fn(f32) + 'static,
) -> impl IntoView {
    view! {
        <label class="slider" title=hint>
            <span class="slider-name">{label}</span>
            <input type="range" min=min max=max step=step prop:value=move || value.get()
                on:input=move |event| {
                    if let Ok(value) = event_target_value(&event).parse::<f32>() {
                        on_change(value);
                    }
                } />
            <span class="slider-value">{move || format!("{:.4}", value.get())}</span>
        </label>
    }
}

/// The three threshold sliders, editing `thresholds`.
#[component]
pub fn Thresholds(thresholds: RwSignal<SelectionConfig>) -> impl IntoView {
    view! {
        <fieldset class="thresholds">
            <legend>"Selection thresholds"</legend>
            <Slider label="δ_pred" min=0.5 max=1.0 step=0.001
                hint="a step is confident when its mean is ≥ δ_pred or ≤ 1 − δ_pred"
                value=Signal::derive(move || thresholds.get().delta_pred)
                on_change=move |v| thresholds.update(|t| t.delta_pred = v) />
            <Slider label="δ_std" min=0.0 max=0.05 step=0.0005
                hint="the heads agree on a step when their standard deviation is ≤ δ_std"
                value=Signal::derive(move || thresholds.get().delta_std)
                on_change=move |v| thresholds.update(|t| t.delta_std = v) />
            <Slider label="τ" min=0.0 max=1.0 step=0.01
                hint="a step is predicted erroneous when its mean is below τ"
                value=Signal::derive(move || thresholds.get().tau)
                on_change=move |v| thresholds.update(|t| t.tau = v) />
        </fieldset>
    }
}
