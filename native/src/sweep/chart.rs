//! The sweep's chart in the style of the paper's Figure 2a: test F1 against the normalised
//! budget, one line per series through the seed means of its settings, every seed as a dot and
//! the seeds' range as a bar. Drawn as SVG with plotters, rasterised to PNG with resvg.

use anyhow::{Context, Result, anyhow};
use plotters::prelude::*;

use super::groups::{Group, SeedPoint};

/// Chart size in pixels.
const SIZE: (u32, u32) = (900, 560);

/// The budget axis: the whole pool, with room for full data's points.
const X_RANGE: std::ops::Range<f64> = 0.0..1.05;

/// Series colours, in the order series first appear.
const PALETTE: [RGBColor; 8] = [
    RGBColor(0x1f, 0x77, 0xb4),
    RGBColor(0x7f, 0x7f, 0x7f),
    RGBColor(0xd6, 0x27, 0x28),
    RGBColor(0x2c, 0xa0, 0x2c),
    RGBColor(0x00, 0x00, 0x00),
    RGBColor(0x94, 0x67, 0xbd),
    RGBColor(0xff, 0x7f, 0x0e),
    RGBColor(0x8c, 0x56, 0x4b),
];

/// Draws `groups` as an SVG document.
pub fn svg(groups: &[Group], title: &str) -> Result<String> {
    let mut document = String::new();
    draw(
        SVGBackend::with_string(&mut document, SIZE).into_drawing_area(),
        groups,
        title,
    )
    .map_err(|e| anyhow!("drawing the chart: {e}"))?;
    Ok(document)
}

fn draw<DB: DrawingBackend>(
    root: DrawingArea<DB, plotters::coord::Shift>,
    groups: &[Group],
    title: &str,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    root.fill(&WHITE)?;
    // F1 at the τ chosen on validation when every experiment chose one: on real text, τ = 0.5
    // can flag nothing at all, and the chosen τ is what the table's ✓ is decided by.
    let at_threshold = groups.iter().all(|g| g.test_f1_at_threshold.is_some());
    let f1 = |g: &Group| {
        g.test_f1_at_threshold
            .filter(|_| at_threshold)
            .unwrap_or(g.test_f1)
    };
    let seed_f1 = |p: &SeedPoint| {
        p.test_f1_at_threshold
            .filter(|_| at_threshold)
            .unwrap_or(p.test_f1)
    };
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 22))
        .margin(18)
        .x_label_area_size(48)
        .y_label_area_size(56)
        .build_cartesian_2d(X_RANGE, 0.0..1.0_f64)?;
    chart
        .configure_mesh()
        .x_desc("labels bought / pool size (normalised budget)")
        .y_desc(if at_threshold {
            "test first-error F1 at the τ chosen on validation"
        } else {
            "test first-error F1"
        })
        .x_label_formatter(&|x| format!("{:.0}%", 100.0 * x))
        .light_line_style(WHITE.mix(0.0))
        .draw()?;

    let mut plotted: Vec<(f64, f64)> = Vec::new();
    let mut series: Vec<(&str, Vec<&Group>)> = Vec::new();
    for group in groups {
        match series.iter_mut().find(|(name, _)| *name == group.series) {
            Some((_, members)) => members.push(group),
            None => series.push((&group.series, vec![group])),
        }
    }
    for (index, (name, members)) in series.iter().enumerate() {
        let color = PALETTE[index % PALETTE.len()];
        let mut means: Vec<(f64, f64)> = members
            .iter()
            .map(|g| (g.budget.mean, f1(g).mean))
            .collect();
        means.sort_by(|a, b| a.0.total_cmp(&b.0));
        plotted.extend(&means);
        plotted.extend(
            members
                .iter()
                .flat_map(|g| g.points.iter())
                .map(|p| (p.budget, seed_f1(p))),
        );
        chart
            .draw_series(LineSeries::new(means.clone(), color.stroke_width(2)))?
            .label(*name)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 22, y)], color.stroke_width(2))
            });
        chart.draw_series(
            means
                .iter()
                .map(|&point| Circle::new(point, 5, color.filled())),
        )?;
        chart.draw_series(members.iter().map(|g| {
            PathElement::new(
                vec![(g.budget.mean, f1(g).min), (g.budget.mean, f1(g).max)],
                color.stroke_width(1),
            )
        }))?;
        chart.draw_series(
            members
                .iter()
                .flat_map(|g| g.points.iter())
                .map(|p| Circle::new((p.budget, seed_f1(p)), 3, color.mix(0.45).filled())),
        )?;
    }
    chart
        .configure_series_labels()
        .position(legend_corner(&plotted, series.len()))
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .draw()?;
    root.present()
}

/// The corner of the plot where the legend of `series` lines hides the fewest of the `plotted`
/// (budget, F1) points, preferring the upper left, then the upper right, on a tie.
fn legend_corner(plotted: &[(f64, f64)], series: usize) -> SeriesLabelPosition {
    // The legend's extent as fractions of the axes: about 170 of the plot's 800 pixels wide,
    // and 20 pixels a line of its 440 high, with a margin.
    let width = 0.22 * X_RANGE.end;
    let height = (20.0 * series as f64 + 24.0) / 440.0;
    let corners = [
        (SeriesLabelPosition::UpperLeft, false, true),
        (SeriesLabelPosition::UpperRight, true, true),
        (SeriesLabelPosition::LowerRight, true, false),
        (SeriesLabelPosition::LowerLeft, false, false),
    ];
    let hidden = |right: bool, upper: bool| {
        plotted
            .iter()
            .filter(|&&(x, y)| {
                let within_x = if right {
                    x >= X_RANGE.end - width
                } else {
                    x <= width
                };
                let within_y = if upper {
                    y >= 1.0 - height
                } else {
                    y <= height
                };
                within_x && within_y
            })
            .count()
    };
    corners
        .into_iter()
        .min_by_key(|&(_, right, upper)| hidden(right, upper))
        .map(|(corner, _, _)| corner)
        .expect("four corners")
}

/// Rasterises an SVG document to PNG bytes, with the system's fonts for its text (a machine
/// without fonts gets a chart without text, and a warning).
pub fn png(svg: &str) -> Result<Vec<u8>> {
    let mut options = resvg::usvg::Options::default();
    let fonts = options.fontdb_mut();
    fonts.load_system_fonts();
    let families: Vec<String> = fonts
        .faces()
        .flat_map(|face| face.families.iter().map(|(name, _)| name.clone()))
        .collect();
    let sans = ["DejaVu Sans", "Liberation Sans", "Noto Sans", "Arial"]
        .iter()
        .map(std::string::ToString::to_string)
        .find(|name| families.contains(name))
        .or_else(|| families.iter().find(|f| f.contains("Sans")).cloned())
        .or_else(|| families.first().cloned());
    match sans {
        Some(family) => fonts.set_sans_serif_family(family),
        None => eprintln!(
            "warning: no system fonts found; chart.png has no text (chart.svg has it). On Debian: apt-get install fonts-dejavu-core"
        ),
    }
    let tree = resvg::usvg::Tree::from_str(svg, &options).context("reading the chart's SVG")?;
    let size = tree.size().to_int_size();
    let mut pixmap = resvg::tiny_skia::Pixmap::new(size.width(), size.height())
        .context("allocating the chart's pixels")?;
    resvg::render(
        &tree,
        resvg::tiny_skia::Transform::default(),
        &mut pixmap.as_mut(),
    );
    pixmap.encode_png().context("encoding chart.png")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::StrategyArg;
    use crate::sweep::groups::group;
    use crate::sweep::results::tests::result;

    #[test]
    fn the_chart_names_every_series_and_rasterises() {
        let groups = group(&[
            result(StrategyArg::Actprm, 0, 0.45, 0.8),
            result(StrategyArg::Actprm, 1, 0.55, 0.9),
            result(StrategyArg::Random, 0, 0.5, 0.1),
            result(StrategyArg::Full, 0, 1.0, 0.88),
        ]);
        let document = svg(&groups, "F1 against budget").unwrap();
        for name in ["actprm", "random", "full", "F1 against budget"] {
            assert!(document.contains(name), "{name} missing from the SVG");
        }
        let png = png(&document).unwrap();
        assert_eq!(&png[1..4], b"PNG");
        assert!(png.len() > 5_000, "{} bytes", png.len());
    }

    /// The legend leaves the corner the points crowd for an empty one.
    #[test]
    fn the_legend_takes_a_corner_without_points() {
        let is = |corner: SeriesLabelPosition, expected: SeriesLabelPosition| {
            format!("{corner:?}") == format!("{expected:?}")
        };
        assert!(is(legend_corner(&[], 4), SeriesLabelPosition::UpperLeft));
        let upper_left = [(0.04, 0.92), (0.05, 0.95), (1.0, 0.5)];
        assert!(is(
            legend_corner(&upper_left, 4),
            SeriesLabelPosition::UpperRight
        ));
        let both_upper = [(0.04, 0.92), (1.0, 0.95), (1.0, 0.9)];
        assert!(is(
            legend_corner(&both_upper, 4),
            SeriesLabelPosition::LowerRight
        ));
    }

    /// With a τ chosen in every experiment the chart plots F1 at that τ and says so.
    #[test]
    fn the_chart_plots_f1_at_the_chosen_tau_when_every_run_has_one() {
        let mut results = [
            result(StrategyArg::Actprm, 0, 0.45, 0.0),
            result(StrategyArg::Full, 0, 1.0, 0.0),
        ];
        let plain = svg(&group(&results), "t").unwrap();
        assert!(!plain.contains("chosen on validation"));
        for r in &mut results {
            let mut at_threshold = r.test;
            at_threshold.first_error.f1 = 0.25;
            r.test_at_threshold = Some(at_threshold);
        }
        let chosen = svg(&group(&results), "t").unwrap();
        assert!(chosen.contains("at the τ chosen on validation"));
        assert_ne!(plain, chosen, "the points moved");
    }
}
