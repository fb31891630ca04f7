//! The budget curve: held-out F1 against labels bought, one line per strategy, with the same
//! numbers as a table for screen readers and for reading off exact values.

use leptos::prelude::*;

use crate::protocol::live::{CurvePoint, LEARNERS};

const WIDTH: f64 = 480.0;
const HEIGHT: f64 = 240.0;
const MARGIN: f64 = 36.0;

/// Where a point lies in the chart, for a pool of `pool_size` trajectories.
fn position(point: &CurvePoint, pool_size: usize) -> (f64, f64) {
    let x = MARGIN + (WIDTH - 2.0 * MARGIN) * point.labels as f64 / pool_size.max(1) as f64;
    let y = HEIGHT - MARGIN - (HEIGHT - 2.0 * MARGIN) * point.f1.clamp(0.0, 1.0);
    (x, y)
}

/// The SVG `points` of a curve.
fn polyline(curve: &[CurvePoint], pool_size: usize) -> String {
    curve
        .iter()
        .map(|point| {
            let (x, y) = position(point, pool_size);
            format!("{x:.1},{y:.1}")
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The chart of both curves over a pool of `pool_size` trajectories.
#[component]
pub fn BudgetChart(curves: [Vec<CurvePoint>; 2], pool_size: usize) -> impl IntoView {
    let lines = LEARNERS
        .iter()
        .zip(&curves)
        .map(|(name, curve)| {
            let markers = curve
                .iter()
                .map(|point| {
                    let (x, y) = position(point, pool_size);
                    view! { <circle class=format!("marker {name}") cx=x cy=y r="3" /> }
                })
                .collect_view();
            view! {
                <polyline class=format!("curve {name}") points=polyline(curve, pool_size) />
                {markers}
            }
        })
        .collect_view();
    let rows = LEARNERS
        .iter()
        .zip(&curves)
        .flat_map(|(name, curve)| {
            curve.iter().map(move |point| {
                view! {
                    <tr><td>{*name}</td><td>{point.labels}</td><td>{format!("{:.3}", point.f1)}</td></tr>
                }
            })
        })
        .collect_view();
    let bottom = HEIGHT - MARGIN;
    let right = WIDTH - MARGIN;
    view! {
        <svg class="budget-chart" viewBox=format!("0 0 {WIDTH} {HEIGHT}") role="img"
            aria-label="held-out first-error F1 against labels bought, for ActPRM and random">
            <line class="axis" x1=MARGIN y1=bottom x2=right y2=bottom />
            <line class="axis" x1=MARGIN y1=MARGIN x2=MARGIN y2=bottom />
            <text x=MARGIN y=bottom + 16.0 text-anchor="middle">"0"</text>
            <text x=right y=bottom + 16.0 text-anchor="middle">{pool_size.to_string()}</text>
            <text x=WIDTH / 2.0 y=HEIGHT - 4.0 text-anchor="middle">"labels bought"</text>
            <text x=MARGIN - 6.0 y=bottom text-anchor="end">"0"</text>
            <text x=MARGIN - 6.0 y=MARGIN + 4.0 text-anchor="end">"1"</text>
            <text x=MARGIN - 6.0 y=HEIGHT / 2.0 text-anchor="end">"F1"</text>
            {lines}
        </svg>
        <details class="curve-numbers">
            <summary>"The curves as numbers"</summary>
            <table>
                <thead><tr><th>"strategy"</th><th>"labels"</th><th>"held-out F1"</th></tr></thead>
                <tbody>{rows}</tbody>
            </table>
        </details>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_map_onto_the_plot_area() {
        let origin = position(&CurvePoint { labels: 0, f1: 0.0 }, 100);
        let corner = position(
            &CurvePoint {
                labels: 100,
                f1: 1.0,
            },
            100,
        );
        assert_eq!(origin, (MARGIN, HEIGHT - MARGIN));
        assert_eq!(corner, (WIDTH - MARGIN, MARGIN));
    }

    #[test]
    fn a_curve_is_drawn_through_every_point() {
        let curve = [
            CurvePoint { labels: 0, f1: 0.0 },
            CurvePoint {
                labels: 50,
                f1: 0.5,
            },
        ];
        assert_eq!(polyline(&curve, 100), "36.0,204.0 240.0,120.0");
    }
}
