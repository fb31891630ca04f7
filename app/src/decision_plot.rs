//! The decision plane: every step the selection rule counts, drawn at its heads' mean (x) and
//! spread (y, on a log axis), marked by its true label, over the region where the rule trusts
//! a step. The region follows the δ_pred and δ_std sliders; a trajectory is selected exactly
//! when one of its points lies outside it. Hovering a point names its step; clicking it opens
//! the trajectory in the inspector. The page draws one for the synthetic pool and one for the
//! real solutions read so far.

use std::sync::Arc;

use actprm_core::scores::StepScores;
use actprm_core::selection::StepCheck;
use actprm_core::{ProcessLabel, Trajectory};
use leptos::prelude::*;

use crate::explain::{Rule, StepState};

/// Width of the plot in SVG units.
const WIDTH: f64 = 480.0;
/// Height of the plot in SVG units.
const HEIGHT: f64 = 300.0;
/// Room left of the plot area for the spread axis' ticks and title.
const LEFT: f64 = 58.0;
/// Room right of the plot area.
const RIGHT: f64 = 14.0;
/// Room above the plot area.
const TOP: f64 = 12.0;
/// Room below the plot area for the mean axis' ticks and title.
const BOTTOM: f64 = 40.0;
/// How close to 0 or 1 the mean's logit axis reaches: means nearer than this are drawn on its
/// edge, and δ_pred beyond `1 − MEAN_MARGIN` draws no trusted region (see [`trusted_region`]).
pub const MEAN_MARGIN: f32 = 1e-4;
/// Means labelled on the axis.
const MEAN_TICKS: [(f32, &str); 7] = [
    (0.001, "0.001"),
    (0.01, "0.01"),
    (0.1, "0.1"),
    (0.5, "0.5"),
    (0.9, "0.9"),
    (0.99, "0.99"),
    (0.999, "0.999"),
];
/// The smallest spread the log axis shows; smaller ones (a single head's 0 among them) are
/// drawn on its bottom edge, and δ_std below it draws no trusted region (see
/// [`trusted_region`]).
pub const SPREAD_FLOOR: f32 = 1e-4;
/// The largest spread the log axis shows; larger ones are drawn on its top edge.
pub const SPREAD_CEILING: f32 = 0.5;
/// Spreads labelled on the axis.
const SPREAD_TICKS: [(f32, &str); 4] = [
    (1e-4, "0.0001"),
    (1e-3, "0.001"),
    (1e-2, "0.01"),
    (1e-1, "0.1"),
];

/// log(p / (1 − p)).
fn logit(p: f64) -> f64 {
    (p / (1.0 - p)).ln()
}

/// A mean as an x coordinate on the logit axis, which spreads out the confident means near 0
/// and 1 where the rule's thresholds lie; clamped to the axis' range.
fn mean_x(mean: f32) -> f64 {
    let margin = f64::from(MEAN_MARGIN);
    let clamped = if mean.is_nan() {
        0.5
    } else {
        f64::from(mean).clamp(margin, 1.0 - margin)
    };
    let edge = logit(1.0 - margin);
    LEFT + (WIDTH - LEFT - RIGHT) * (logit(clamped) + edge) / (2.0 * edge)
}

/// A spread as a y coordinate on the log axis, clamped to the axis' range.
fn spread_y(std: f32) -> f64 {
    let clamped = if std.is_nan() {
        SPREAD_CEILING
    } else {
        std.clamp(SPREAD_FLOOR, SPREAD_CEILING)
    };
    let low = f64::from(SPREAD_FLOOR).log10();
    let high = f64::from(SPREAD_CEILING).log10();
    let height = HEIGHT - TOP - BOTTOM;
    HEIGHT - BOTTOM - height * (f64::from(clamped).log10() - low) / (high - low)
}

/// A rectangle in SVG units.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rect {
    pub x: f64,
    pub y: f64,
    pub width: f64,
    pub height: f64,
}

impl Rect {
    /// The rectangle between two corners, in any order.
    fn between((x0, y0): (f64, f64), (x1, y1): (f64, f64)) -> Self {
        Self {
            x: x0.min(x1),
            y: y0.min(y1),
            width: (x1 - x0).abs(),
            height: (y1 - y0).abs(),
        }
    }
}

#[cfg(test)]
impl Rect {
    /// Whether `(x, y)` lies inside or on the edge.
    pub fn contains(&self, x: f64, y: f64) -> bool {
        (self.x..=self.x + self.width).contains(&x) && (self.y..=self.y + self.height).contains(&y)
    }
}

/// Where the rule trusts a counted step, as rectangles of the plot: a mean at most 1 − δ_pred
/// or at least δ_pred (when the aleatoric test may select), with a spread at most δ_std (when
/// the epistemic test may). A test that may not select bounds nothing. Empty when δ_pred is
/// beyond `1 − MEAN_MARGIN` or δ_std below [`SPREAD_FLOOR`].
pub fn trusted_region(rule: &Rule) -> Vec<Rect> {
    let t = &rule.thresholds;
    let means = if rule.tests.aleatoric() {
        vec![(0.0, 1.0 - t.delta_pred), (t.delta_pred, 1.0)]
    } else {
        vec![(0.0, 1.0)]
    };
    // Beyond the axes' reach only a mean of exactly 0 or 1, or a spread of exactly 0, is
    // trusted, and the axes cannot show those apart from the others pinned to their edges: the
    // region is drawn empty.
    let beyond_means = rule.tests.aleatoric() && t.delta_pred > 1.0 - MEAN_MARGIN;
    let beyond_spreads = rule.tests.epistemic() && t.delta_std < SPREAD_FLOOR;
    if beyond_means || beyond_spreads {
        return Vec::new();
    }
    let spread_top = if rule.tests.epistemic() {
        spread_y(t.delta_std)
    } else {
        spread_y(SPREAD_CEILING)
    };
    means
        .into_iter()
        .map(|(low, high)| {
            Rect::between((mean_x(low), HEIGHT - BOTTOM), (mean_x(high), spread_top))
        })
        .collect()
}

/// What a step's label says of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepTruth {
    /// Before the labelled first error, or in a trajectory labelled correct.
    Correct,
    /// The labelled first error.
    FirstError,
    /// After the labelled first error, which labels leave unjudged.
    AfterFirstError,
    /// The trajectory has no label.
    Unlabelled,
}

impl StepTruth {
    /// What `label` says of step `step`.
    pub fn of(label: Option<ProcessLabel>, step: usize) -> Self {
        match label {
            None => StepTruth::Unlabelled,
            Some(label) => match label.first_error() {
                Some(first) if step == first => StepTruth::FirstError,
                Some(first) if step > first => StepTruth::AfterFirstError,
                _ => StepTruth::Correct,
            },
        }
    }

    /// The CSS class the point is drawn with.
    pub fn class(self) -> &'static str {
        match self {
            StepTruth::Correct => "truth-correct",
            StepTruth::FirstError => "truth-first-error",
            StepTruth::AfterFirstError => "truth-after-error",
            StepTruth::Unlabelled => "truth-unlabelled",
        }
    }

    /// The label in words.
    pub fn label(self) -> &'static str {
        match self {
            StepTruth::Correct => "correct",
            StepTruth::FirstError => "the labelled first error",
            StepTruth::AfterFirstError => "after the labelled first error",
            StepTruth::Unlabelled => "unlabelled",
        }
    }
}

/// A scored trajectory the plot draws.
#[derive(Debug, Clone, PartialEq)]
pub struct Plotted {
    /// What clicking one of its points hands to the plot's `on_pick`: its place in the pool or
    /// the slice.
    pub key: usize,
    /// How its points name it: "Problem 3", "gsm8k-12".
    pub name: String,
    pub trajectory: Trajectory,
    pub scores: StepScores,
}

/// One counted step of a plotted trajectory.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PlotPoint {
    /// The trajectory's place among those plotted.
    pub trajectory: usize,
    /// The step's place in its trajectory.
    pub step: usize,
    pub mean: f32,
    pub std: f32,
    pub truth: StepTruth,
    /// How the rule sees the step.
    pub state: StepState,
}

impl PlotPoint {
    /// Where the point is drawn.
    pub fn position(&self) -> (f64, f64) {
        (mean_x(self.mean), spread_y(self.std))
    }
}

/// Every step of `plotted` that `rule` counts (up to each trajectory's predicted first error).
pub fn counted_points(plotted: &[Plotted], rule: &Rule) -> Vec<PlotPoint> {
    let mut points = Vec::new();
    for (trajectory, item) in plotted.iter().enumerate() {
        let scores = &item.scores;
        let checks: Vec<StepCheck> = rule.thresholds.check_steps(scores, rule.tests);
        for (step, check) in checks.into_iter().enumerate() {
            if !check.counted {
                continue;
            }
            points.push(PlotPoint {
                trajectory,
                step,
                mean: scores.mean[step],
                std: scores.std[step],
                truth: StepTruth::of(item.trajectory.label, step),
                state: StepState::from(check),
            });
        }
    }
    points
}

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

#[cfg(test)]
mod tests {
    use actprm_core::selection::{SelectionConfig, Tests};

    use super::*;
    use crate::pool::ScoredPool;

    #[test]
    fn the_spread_axis_is_logarithmic_and_clamped() {
        let decade = spread_y(1e-3) - spread_y(1e-2);
        assert!(
            (decade - (spread_y(1e-2) - spread_y(1e-1))).abs() < 1e-4,
            "{decade}"
        );
        assert_eq!(spread_y(0.0), HEIGHT - BOTTOM);
        assert_eq!(spread_y(SPREAD_FLOOR), HEIGHT - BOTTOM);
        assert_eq!(spread_y(1.0), TOP);
        assert_eq!(spread_y(f32::NAN), TOP);
        assert!((mean_x(0.0) - LEFT).abs() < 1e-9);
        assert!((mean_x(1.0) - (WIDTH - RIGHT)).abs() < 1e-9);
        assert!((mean_x(0.5) - (LEFT + WIDTH - RIGHT) / 2.0).abs() < 1e-9);
        // Symmetric about 0.5, and 0.9 → 0.99 as wide as 0.99 → 0.999.
        assert!((mean_x(0.01) - LEFT - (WIDTH - RIGHT - mean_x(0.99))).abs() < 1e-3);
        let step = mean_x(0.99) - mean_x(0.9);
        assert!(
            (step - (mean_x(0.999) - mean_x(0.99))).abs() / step < 0.05,
            "{step}"
        );
    }

    fn rule(delta_pred: f32, delta_std: f32, tests: Tests) -> Rule {
        Rule {
            thresholds: SelectionConfig::new()
                .with_delta_pred(delta_pred)
                .with_delta_std(delta_std),
            tests,
        }
    }

    /// A pool whose steps cover the plane: means from 0 to 1 against spreads from 0 to 0.3.
    fn pool() -> ScoredPool {
        let mut trajectories = Vec::new();
        let mut scores = Vec::new();
        for i in 0..40 {
            let mean = i as f32 / 39.0;
            let spread = [0.0, 0.0004, 0.003, 0.02, 0.3][i % 5];
            // Two heads at mean ± spread (clamped into [0, 1], so some spreads shrink).
            let heads = vec![
                vec![0.999, (mean - spread).clamp(0.0, 1.0)],
                vec![0.999, (mean + spread).clamp(0.0, 1.0)],
            ];
            trajectories.push(Trajectory {
                question: format!("problem {i}"),
                steps: vec!["first".to_string(), "second".to_string()],
                label: Some(if i % 2 == 0 {
                    ProcessLabel::AllCorrect
                } else {
                    ProcessLabel::FirstErrorAt(1)
                }),
            });
            scores.push(StepScores::from_heads(heads));
        }
        ScoredPool {
            seed: 0,
            trajectories,
            scores,
        }
    }

    #[test]
    fn a_point_lies_in_the_trusted_region_exactly_when_the_rule_trusts_its_step() {
        let pool = pool();
        for tests in [Tests::Both, Tests::AleatoricOnly, Tests::EpistemicOnly] {
            for (delta_pred, delta_std) in [
                (0.95, 0.005),
                (0.6, 0.05),
                (0.99, 0.0),
                (0.5, 0.001),
                (1.0, 0.01),
            ] {
                let rule = rule(delta_pred, delta_std, tests);
                let region = trusted_region(&rule);
                let points = counted_points(&pool.plotted(), &rule);
                assert!(!points.is_empty());
                for point in points {
                    let pinned_mean = point.mean < MEAN_MARGIN || point.mean > 1.0 - MEAN_MARGIN;
                    if (delta_std < SPREAD_FLOOR && point.std < SPREAD_FLOOR)
                        || (delta_pred > 1.0 - MEAN_MARGIN && pinned_mean)
                    {
                        // Pinned to an axis' edge, where the region is not drawn.
                        continue;
                    }
                    let (x, y) = point.position();
                    let inside = region.iter().any(|r| r.contains(x, y));
                    assert_eq!(
                        inside,
                        point.state == StepState::Confident,
                        "{tests:?} δ_pred {delta_pred} δ_std {delta_std}: {point:?} at ({x}, {y})"
                    );
                }
            }
        }
    }

    #[test]
    fn only_counted_steps_are_points_and_each_carries_its_label() {
        let pool = pool();
        let rule = rule(0.95, 0.005, Tests::Both);
        let points = counted_points(&pool.plotted(), &rule);
        let counted: usize = pool
            .scores
            .iter()
            .map(|s| s.last_counted_step(rule.thresholds.tau) + 1)
            .sum();
        assert_eq!(points.len(), counted);
        // The first step (mean 0.999) is never an error; a second step is counted only when the
        // first is not a predicted error, which it never is.
        assert_eq!(points.len(), 2 * pool.scores.len());
        let second_of_erroneous = points
            .iter()
            .find(|p| p.trajectory == 1 && p.step == 1)
            .expect("problem 2's second step is counted");
        assert_eq!(second_of_erroneous.truth, StepTruth::FirstError);
        assert_eq!(
            StepTruth::of(Some(ProcessLabel::FirstErrorAt(0)), 1),
            StepTruth::AfterFirstError
        );
        assert_eq!(StepTruth::of(None, 0), StepTruth::Unlabelled);
    }

    #[test]
    fn the_region_grows_as_the_thresholds_loosen() {
        let strict = trusted_region(&rule(0.99, 0.001, Tests::Both));
        let loose = trusted_region(&rule(0.9, 0.01, Tests::Both));
        let area = |region: &[Rect]| region.iter().map(|r| r.width * r.height).sum::<f64>();
        assert!(area(&loose) > area(&strict));
        // At δ_pred 0.5 the two bands meet: every mean is confident.
        let whole = trusted_region(&rule(0.5, 0.5, Tests::Both));
        assert!((whole.iter().map(|r| r.width).sum::<f64>() - (WIDTH - LEFT - RIGHT)).abs() < 1e-9);
    }
}

#[cfg(all(test, target_family = "wasm"))]
mod browser_tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};
    use web_sys::Event;

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
