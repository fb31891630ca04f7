//! One step drawn as a bar chart on [0, 1]: the zones the rule calls confident, τ, the heads'
//! spread around their mean, the mean, and every head as a dot.

use actprm_core::selection::SelectionConfig;
use leptos::prelude::*;

/// Width of the chart in SVG units.
const WIDTH: f32 = 320.0;
/// Height of the chart in SVG units.
const HEIGHT: f32 = 26.0;

/// `p` in [0, 1] as an x coordinate.
fn x(p: f32) -> f32 {
    p.clamp(0.0, 1.0) * WIDTH
}

/// The chart of one step: `heads` are the heads' probabilities, `mean` and `std` their mean and
/// spread; `thresholds` draws the confident zones and τ.
#[component]
pub fn StepChart(
    heads: Vec<f32>,
    mean: f32,
    std: f32,
    #[prop(into)] thresholds: Signal<SelectionConfig>,
) -> impl IntoView {
    let count = heads.len().max(1) as f32;
    let dots = heads
        .iter()
        .enumerate()
        .map(|(e, &p)| {
            let cy = 4.0 + (HEIGHT - 8.0) * (e as f32 + 0.5) / count;
            view! { <circle class="head" cx=x(p) cy=cy r="2.2" /> }
        })
        .collect_view();
    let low_zone = move || x(1.0 - thresholds.get().delta_pred);
    let high_zone = move || x(thresholds.get().delta_pred);
    let tau = move || x(thresholds.get().tau);
    view! {
        <svg class="step-chart" viewBox=format!("0 0 {WIDTH} {HEIGHT}") role="img"
            aria-label=format!("mean {mean:.3}, spread {std:.3}")>
            <rect class="track" x="0" y="0" width=WIDTH height=HEIGHT />
            <rect class="zone" x="0" y="0" width=low_zone height=HEIGHT />
            <rect class="zone" x=high_zone y="0" width=move || WIDTH - high_zone() height=HEIGHT />
            <rect class="spread" x=x(mean - std) y="2" width=(x(mean + std) - x(mean - std)).max(1.0)
                height=HEIGHT - 4.0 />
            <rect class="mean" x="0" y=HEIGHT / 2.0 - 2.0 width=x(mean) height="4" />
            {dots}
            <line class="tau" x1=tau x2=tau y1="0" y2=HEIGHT />
        </svg>
    }
}
