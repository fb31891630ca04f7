//! The decision plane: every step the selection rule counts, drawn at its heads' mean (x) and
//! spread (y, on a log axis), marked by its true label, over the region where the rule trusts
//! a step. The region follows the δ_pred and δ_std sliders; a trajectory is selected exactly
//! when one of its points lies outside it. Hovering a point names its step; clicking it opens
//! the trajectory in the inspector. The page draws one for the synthetic pool and one for the
//! real solutions read so far.

mod axes;
mod points;

use std::sync::Arc;

use leptos::prelude::*;

use crate::explain::{Rule, StepState};
use axes::{
    BOTTOM, HEIGHT, LEFT, MEAN_TICKS, RIGHT, SPREAD_TICKS, TOP, WIDTH, mean_x, spread_y,
    trusted_region,
};
pub use points::Plotted;
use points::{PlotPoint, StepTruth, counted_points};

/// One line describing `point` of `plotted`.
fn describe(plotted: &[Plotted], point: &PlotPoint) -> String {
    let item = &plotted[point.trajectory];
    let text: String = item.trajectory.steps[point.step].chars().take(80).collect();
    format!(
        "{}, step {} ({}): “{text}”, mean {:.3}, std {:.4}, {}",
        item.name,
        point.step + 1,
        point.truth.label(),
        point.mean,
        point.std,
        point.state.label()
    )
}

/// The marker of a point: a circle for a correct or unlabelled step, a triangle for the
/// labelled first error and a diamond after it, so that shape tells what colour does.
fn marker(truth: StepTruth, x: f64, y: f64) -> String {
    match truth {
        StepTruth::Correct | StepTruth::Unlabelled => {
            format!(
                "M{:.1},{y:.1}a3.5,3.5 0 1,0 7,0a3.5,3.5 0 1,0 -7,0z",
                x - 3.5
            )
        }
        StepTruth::FirstError => format!(
            "M{x:.1},{:.1}L{:.1},{:.1}L{:.1},{:.1}z",
            y - 5.0,
            x + 5.0,
            y + 4.0,
            x - 5.0,
            y + 4.0
        ),
        StepTruth::AfterFirstError => format!(
            "M{x:.1},{:.1}L{:.1},{y:.1}L{x:.1},{:.1}L{:.1},{y:.1}z",
            y - 4.5,
            x + 4.5,
            y + 4.5,
            x - 4.5
        ),
    }
}

/// The decision plane of `plotted` under `rule`, in a section headed `heading` with the HTML
/// id `id`; clicking a point calls `on_pick` with its trajectory's key.
#[component]
pub fn DecisionPlot(
    id: &'static str,
    heading: &'static str,
    #[prop(into)] plotted: Signal<Arc<[Plotted]>>,
    #[prop(into)] rule: Signal<Rule>,
    on_pick: impl Fn(usize) + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let hovered = RwSignal::new(None::<String>);
    let points = Memo::new(move |_| plotted.with(|p| rule.with(|rule| counted_points(p, rule))));
    let markers = move || {
        let plotted = plotted.get();
        points
            .get()
            .into_iter()
            .map(|point| {
                let (x, y) = point.position();
                let description = describe(&plotted, &point);
                let shown = description.clone();
                let key = plotted[point.trajectory].key;
                view! {
                    <path class=format!("point {}", point.truth.class())
                        d=marker(point.truth, x, y)
                        data-trajectory=key data-step=point.step
                        data-state=point.state.class()
                        on:mouseenter=move |_| hovered.set(Some(shown.clone()))
                        on:mouseleave=move |_| hovered.set(None)
                        on:click=move |_| on_pick(key)>
                        <title>{description}</title>
                    </path>
                }
            })
            .collect_view()
    };
    let region = move || {
        rule.with(trusted_region)
            .into_iter()
            .map(|r| view! { <rect class="trusted-region" x=r.x y=r.y width=r.width height=r.height /> })
            .collect_view()
    };
    let tau = move || mean_x(rule.with(|r| r.thresholds.tau));
    let summary = move || {
        let points = points.get();
        let trusted = points
            .iter()
            .filter(|p| p.state == StepState::Confident)
            .count();
        format!(
            "{} counted steps: {trusted} inside the trusted region, {} outside it (each of \
             those selects its problem)",
            points.len(),
            points.len() - trusted
        )
    };
    let bottom = HEIGHT - BOTTOM;
    let right = WIDTH - RIGHT;
    let x_ticks = MEAN_TICKS
        .map(|(mean, label)| {
            let x = mean_x(mean);
            view! {
                <line class="tick" x1=x x2=x y1=bottom y2=bottom + 4.0 />
                <text x=x y=bottom + 16.0 text-anchor="middle">{label}</text>
            }
        })
        .collect_view();
    let y_ticks = SPREAD_TICKS
        .map(|(spread, label)| {
            let y = spread_y(spread);
            view! {
                <line class="tick" x1=LEFT - 4.0 x2=LEFT y1=y y2=y />
                <text x=LEFT - 6.0 y=y + 4.0 text-anchor="end">{label}</text>
            }
        })
        .collect_view();
    let heading_id = format!("{id}-heading");
    let labelled_by = heading_id.clone();
    view! {
        <section class="decision" id=id aria-labelledby=labelled_by>
            <h2 id=heading_id>{heading}</h2>
            <p class="decision-help">
                "Every step the rule counts, at its heads' mean and spread. The rule trusts a step "
                "in the shaded region; a problem goes to the judge when any of its counted steps "
                "lies outside. Move δ_pred and δ_std and the region moves. Click a point to "
                "inspect its problem."
            </p>
            <svg class="decision-plot" viewBox=format!("0 0 {WIDTH} {HEIGHT}") role="img"
                aria-label="counted steps by mean and spread, with the region the rule trusts">
                {region}
                <line class="axis" x1=LEFT y1=bottom x2=right y2=bottom />
                <line class="axis" x1=LEFT y1=TOP x2=LEFT y2=bottom />
                {x_ticks}
                {y_ticks}
                <text x=(LEFT + right) / 2.0 y=HEIGHT - 6.0 text-anchor="middle">"mean of the heads (logit scale)"</text>
                <text class="axis-title" x=14.0 y=(TOP + bottom) / 2.0 text-anchor="middle"
                    transform=format!("rotate(-90 14 {})", (TOP + bottom) / 2.0)>
                    "spread of the heads (std, log scale)"
                </text>
                <line class="tau" x1=tau x2=tau y1=TOP y2=bottom />
                {markers}
            </svg>
            <p class="plot-legend">
                <span class="key truth-correct">"● correct"</span>
                <span class="key truth-first-error">"▲ labelled first error"</span>
                <span class="key truth-after-error">"◆ after the first error"</span>
                <span class="key tau-key">"┆ τ"</span>
            </p>
            <p class="plot-summary">{summary}</p>
            <p class="plot-hover" aria-live="polite">
                {move || hovered.get().unwrap_or_else(|| "Hover over a point to read its step.".to_string())}
            </p>
        </section>
    }
}

#[cfg(all(test, target_family = "wasm"))]
mod browser_tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};
    use web_sys::Event;

    use actprm_core::scores::StepScores;
    use actprm_core::{ProcessLabel, Trajectory};

    use super::*;
    use crate::browser_test_support::{Mounted, settle};
    use crate::pool::ScoredPool;

    wasm_bindgen_test_configure!(run_in_browser);

    /// Two problems: three confident steps; a confident step, then a predicted error (the
    /// labelled one) and a step after it that the rule does not count.
    fn pool() -> ScoredPool {
        let trajectory = |question: &str, label| Trajectory {
            question: question.to_string(),
            steps: vec!["one".to_string(), "two".to_string(), "three".to_string()],
            label: Some(label),
        };
        ScoredPool {
            seed: 0,
            trajectories: vec![
                trajectory("fine", ProcessLabel::AllCorrect),
                trajectory("slip", ProcessLabel::FirstErrorAt(1)),
            ],
            scores: vec![
                StepScores::from_heads(vec![vec![0.99, 0.98, 0.97], vec![0.99, 0.98, 0.96]]),
                StepScores::from_heads(vec![vec![0.97, 0.2, 0.9], vec![0.96, 0.1, 0.9]]),
            ],
        }
    }

    /// How many elements of the page have `class`.
    fn count(page: &Mounted, class: &str) -> u32 {
        page.root.get_elements_by_class_name(class).length()
    }

    /// The x attribute of every rectangle of the trusted region.
    fn region_x(page: &Mounted) -> Vec<String> {
        let rects = page.root.get_elements_by_class_name("trusted-region");
        (0..rects.length())
            .filter_map(|i| rects.item(i))
            .map(|rect| rect.get_attribute("x").unwrap_or_default())
            .collect()
    }

    #[wasm_bindgen_test]
    async fn the_plot_draws_counted_steps_follows_the_rule_and_opens_a_problem() {
        static PICKED: AtomicUsize = AtomicUsize::new(usize::MAX);
        let rule = RwSignal::new(Rule::default());
        let pool = pool();
        let first = pool.plotted()[..1].to_vec();
        let plotted = RwSignal::new(Arc::<[Plotted]>::from(first));
        let page = Mounted::new(move || {
            let on_pick = |index| PICKED.store(index, Ordering::SeqCst);
            view! { <DecisionPlot id="plane" heading="The plane" plotted rule on_pick /> }
        });
        assert_eq!(count(&page, "point"), 3);
        // Trajectories read later join the plot.
        plotted.set(pool.plotted());
        settle().await;
        assert_eq!(count(&page, "point"), 5, "3 + 2 counted steps");
        assert_eq!(count(&page, "point truth-first-error"), 1);
        assert!(page.text(".plot-summary").starts_with("5 counted steps"));

        let before = region_x(&page);
        assert_eq!(before.len(), 2, "a band of low and one of high means");
        rule.update(|r| r.thresholds.delta_pred = 0.8);
        settle().await;
        let after = region_x(&page);
        assert_ne!(after, before, "the high band starts at δ_pred");

        let error = page.find(".point.truth-first-error");
        error
            .dispatch_event(&Event::new("mouseenter").expect("an event"))
            .expect("dispatched");
        settle().await;
        let hover = page.text(".plot-hover");
        assert!(
            hover.starts_with("Problem 2, step 2 (the labelled first error)"),
            "{hover}"
        );

        // SVG elements have no click(); the handler sits on the point itself.
        error
            .dispatch_event(&Event::new("click").expect("an event"))
            .expect("dispatched");
        assert_eq!(PICKED.load(Ordering::SeqCst), 1);
    }
}
