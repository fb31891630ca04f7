//! The decision plane's axes: a step's heads' mean on a logit x axis and their spread on a log
//! y axis, in SVG units, and the region of the plane where the selection rule trusts a step.

use crate::explain::Rule;

/// Width of the plot in SVG units.
pub(super) const WIDTH: f64 = 480.0;
/// Height of the plot in SVG units.
pub(super) const HEIGHT: f64 = 300.0;
/// Room left of the plot area for the spread axis' ticks and title.
pub(super) const LEFT: f64 = 58.0;
/// Room right of the plot area.
pub(super) const RIGHT: f64 = 14.0;
/// Room above the plot area.
pub(super) const TOP: f64 = 12.0;
/// Room below the plot area for the mean axis' ticks and title.
pub(super) const BOTTOM: f64 = 40.0;
/// How close to 0 or 1 the mean's logit axis reaches: means nearer than this are drawn on its
/// edge, and δ_pred beyond `1 − MEAN_MARGIN` draws no trusted region (see [`trusted_region`]).
pub const MEAN_MARGIN: f32 = 1e-4;
/// Means labelled on the axis.
pub(super) const MEAN_TICKS: [(f32, &str); 7] = [
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
pub(super) const SPREAD_TICKS: [(f32, &str); 4] = [
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
pub(super) fn mean_x(mean: f32) -> f64 {
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
pub(super) fn spread_y(std: f32) -> f64 {
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

#[cfg(test)]
mod tests {
    use actprm_core::selection::SelectionConfig;

    use super::*;

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

    #[test]
    fn the_region_grows_as_the_thresholds_loosen() {
        let strict = trusted_region(&rule(0.99, 0.001));
        let loose = trusted_region(&rule(0.9, 0.01));
        let area = |region: &[Rect]| region.iter().map(|r| r.width * r.height).sum::<f64>();
        assert!(area(&loose) > area(&strict));
        // At δ_pred 0.5 the two bands meet: every mean is confident.
        let whole = trusted_region(&rule(0.5, 0.5));
        assert!((whole.iter().map(|r| r.width).sum::<f64>() - (WIDTH - LEFT - RIGHT)).abs() < 1e-9);
    }

    /// The paper's rule, both tests, at `delta_pred` and `delta_std`.
    fn rule(delta_pred: f32, delta_std: f32) -> Rule {
        Rule::trained_with(
            SelectionConfig::new()
                .with_delta_pred(delta_pred)
                .with_delta_std(delta_std),
        )
    }
}
