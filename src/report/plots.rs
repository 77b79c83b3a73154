//! Plots: draws one run's prediction spread over steps as an inline SVG string (no XML
//! declaration, so it can sit inside HTML). Owns the log-axis clamping rules and the
//! drawing-only downsampling that keeps long series small without hiding spikes or the collapse.
//! Reads plain `PlotSeries` data; knows nothing about runs, files or HTML.

use anyhow::{bail, Context, Result};
use plotters::coord::combinators::WithKeyPoints;
use plotters::coord::types::RangedCoordi64;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::PlotSeries;

/// Okabe–Ito colours (colour-blind safe).
const BLUE: RGBColor = RGBColor(0x00, 0x72, 0xB2);
const VERMILLION: RGBColor = RGBColor(0xD5, 0x5E, 0x00);
const ORANGE: RGBColor = RGBColor(0xE6, 0x9F, 0x00);
const GREY: RGBColor = RGBColor(0x99, 0x99, 0x99);
const INK: RGBColor = RGBColor(0x00, 0x00, 0x00);

/// Smallest value drawn on the log axis; values at or below it (zero, negative, `-inf`) sit here.
const LOG_FLOOR: f64 = 1e-12;
/// Pixels of plot width per downsampling bucket: one bucket every two pixels is finer than
/// the eye can tell apart, and the min..max envelope keeps every spike visible.
const PIXELS_PER_BUCKET: u32 = 2;
/// Plot sizes below this leave no room for the axes.
const MIN_WIDTH_PX: u32 = 120;
const MIN_HEIGHT_PX: u32 = 80;
/// A legend is drawn only on plots at least this wide (small multiples get a page-level key).
const LEGEND_MIN_WIDTH_PX: u32 = 480;

/// SVG (as a String, starting with "<svg") of pred_std over steps on a log10 y axis.
///
/// Draws `pred_std` as a line (blue) and the spread `pred_max - pred_min` as a second, lighter
/// line (orange), plus a vertical dashed marker labelled "collapse @ STEP" at `collapse_step`.
/// Series longer than `width / 2` rows are downsampled for drawing only: each bucket of rows is
/// drawn as the min..max envelope of `pred_std` (shaded) with the bucket mean as the line.
/// Values at or below 1e-12 and `-inf` are clamped to 1e-12; NaN and `+inf` rows are skipped
/// (a diverged value has no place on the axis; drawing it at the floor would look like a
/// collapse). An empty series (or one with nothing drawable) gives a small SVG saying "no data".
pub fn pred_std_svg(
    series: &PlotSeries,
    collapse_step: Option<i64>,
    width: u32,
    height: u32,
    title: &str,
) -> Result<String> {
    check_series(series)?;
    if width < MIN_WIDTH_PX || height < MIN_HEIGHT_PX {
        bail!("plot size must be at least {MIN_WIDTH_PX}x{MIN_HEIGHT_PX} px but got {width}x{height}");
    }
    let buckets = downsample(series, bucket_count(width));
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (width, height)).into_drawing_area();
        root.fill(&WHITE).context("filling plot background")?;
        if buckets.is_empty() {
            draw_no_data(&root, title)?;
        } else {
            draw_chart(&root, series, &buckets, collapse_step, title)?;
        }
        root.present().context("finishing SVG")?;
    }
    Ok(svg)
}

/// One drawn point: a run of consecutive rows summarised for the plot.
#[derive(Debug, Clone, PartialEq)]
struct Bucket {
    /// Middle step of the rows in the bucket.
    step: i64,
    /// `(min, mean, max)` of the clamped `pred_std` of its rows; None when all were skipped.
    pred_std: Option<(f64, f64, f64)>,
    /// Mean clamped `pred_max - pred_min`; None when all were skipped.
    spread_mean: Option<f64>,
    /// Logged rows summarised (1 when the series is not downsampled).
    rows: usize,
}

fn check_series(series: &PlotSeries) -> Result<()> {
    let n = series.step.len();
    let (std_n, min_n, max_n) = (series.pred_std.len(), series.pred_min.len(), series.pred_max.len());
    if std_n != n || min_n != n || max_n != n {
        let lengths = format!("step {n}, pred_std {std_n}, pred_min {min_n}, pred_max {max_n}");
        bail!("plot series columns differ in length: {lengths}");
    }
    Ok(())
}

fn bucket_count(width_px: u32) -> usize {
    (width_px / PIXELS_PER_BUCKET).max(1) as usize
}

/// The value as drawn on the log axis: None for NaN and `+inf`, else at least `LOG_FLOOR`.
fn log_safe(value: f64) -> Option<f64> {
    if value.is_nan() || value == f64::INFINITY {
        None
    } else {
        Some(value.max(LOG_FLOOR))
    }
}

/// Splits the rows into at most `max_buckets` runs of consecutive rows (one row each when the
/// series is short enough). Buckets with nothing drawable are dropped.
fn downsample(series: &PlotSeries, max_buckets: usize) -> Vec<Bucket> {
    let n = series.step.len();
    let k = n.min(max_buckets.max(1));
    (0..k)
        .filter_map(|b| {
            let (start, end) = (b * n / k, (b + 1) * n / k);
            summarise_rows(series, start, end)
        })
        .collect()
}

fn summarise_rows(series: &PlotSeries, start: usize, end: usize) -> Option<Bucket> {
    let stds: Vec<f64> = series.pred_std[start..end].iter().filter_map(|&v| log_safe(v)).collect();
    let spreads: Vec<f64> = (start..end).filter_map(|i| log_safe(series.pred_max[i] - series.pred_min[i])).collect();
    let mean = |v: &[f64]| (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64);
    let pred_std = mean(&stds).map(|m| {
        let lo = stds.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = stds.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        (lo, m, hi)
    });
    let spread_mean = mean(&spreads);
    if pred_std.is_none() && spread_mean.is_none() {
        return None;
    }
    let (first, last) = (series.step[start], series.step[end - 1]);
    Some(Bucket { step: first + (last - first) / 2, pred_std, spread_mean, rows: end - start })
}

/// The drawn chart: steps on x, log-scaled values with our own tick positions on y.
type Chart<'a, 'b> = ChartContext<'a, SVGBackend<'b>, Cartesian2d<RangedCoordi64, WithKeyPoints<LogCoord<f64>>>>;

/// Step range (all logged steps plus the collapse marker) and value range (drawn values
/// padded by a factor of 2 each way, so a collapsed line never hides in the axis).
fn axis_ranges(steps: &[i64], buckets: &[Bucket], collapse_step: Option<i64>) -> ((i64, i64), (f64, f64)) {
    let all_steps = steps.iter().copied().chain(collapse_step);
    let (step_lo, step_hi) = all_steps.fold((i64::MAX, i64::MIN), |(lo, hi), s| (lo.min(s), hi.max(s)));
    let values = buckets.iter().flat_map(|b| {
        let std = b.pred_std.map(|(lo, _, hi)| [lo, hi]).into_iter().flatten();
        std.chain(b.spread_mean)
    });
    let (lo, hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| (lo.min(v), hi.max(v)));
    ((step_lo, step_hi.max(step_lo + 1)), (lo / 2.0, hi * 2.0))
}

/// Tick values for a log axis over `lo..=hi`: every decade, or every 2nd, 3rd… when there
/// are more than `max_ticks`; when the axis spans at most 3 decades also ×2 and ×5, so a
/// short axis still has labels to read.
fn log_ticks(lo: f64, hi: f64, max_ticks: usize) -> Vec<f64> {
    let (exp_lo, exp_hi) = (lo.log10().floor() as i32, hi.log10().ceil() as i32);
    let decades = (exp_hi - exp_lo).max(1) as usize;
    let stride = decades.div_ceil(max_ticks.max(1)).max(1);
    let mut ticks = Vec::new();
    let stride_i32 = stride as i32;
    let first_exp = -((-exp_lo).div_euclid(stride_i32) * stride_i32); // a multiple of the stride
    for exp in (first_exp..=exp_hi).step_by(stride) {
        let decade = 10f64.powi(exp);
        ticks.push(decade);
        if decades <= 3 {
            ticks.extend([2.0 * decade, 5.0 * decade]);
        }
    }
    // A relative tolerance so float error in powi cannot drop a tick at an exact end.
    ticks.retain(|&t| t >= lo * (1.0 - 1e-9) && t <= hi * (1.0 + 1e-9));
    ticks
}

fn draw_chart(
    root: &DrawingArea<SVGBackend, Shift>,
    series: &PlotSeries,
    buckets: &[Bucket],
    collapse_step: Option<i64>,
    title: &str,
) -> Result<()> {
    let (steps, values) = axis_ranges(&series.step, buckets, collapse_step);
    let mut chart = draw_axes(root, steps, values, title)?;
    draw_pred_std(&mut chart, buckets)?;
    if let Some(step) = collapse_step {
        draw_collapse_marker(&mut chart, step, steps, values)?;
    }
    if root.dim_in_pixel().0 >= LEGEND_MIN_WIDTH_PX {
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerLeft)
            .background_style(WHITE.mix(0.85))
            .border_style(GREY)
            .label_font(("sans-serif", 13))
            .draw()
            .context("drawing plot legend")?;
    }
    Ok(())
}

fn draw_axes<'a, 'b>(
    root: &'a DrawingArea<SVGBackend<'b>, Shift>,
    (step_lo, step_hi): (i64, i64),
    (y_lo, y_hi): (f64, f64),
    title: &str,
) -> Result<Chart<'a, 'b>> {
    let (width_px, height_px) = root.dim_in_pixel();
    let mut builder = ChartBuilder::on(root);
    builder.margin(10).x_label_area_size(38).y_label_area_size(64);
    if !title.is_empty() {
        builder.caption(title, ("sans-serif", if height_px < 300 { 16 } else { 20 }));
    }
    let y_ticks = log_ticks(y_lo, y_hi, (height_px / 40).max(3) as usize);
    let y_axis = (y_lo..y_hi).log_scale().with_key_points(y_ticks);
    let mut chart = builder.build_cartesian_2d(step_lo..step_hi, y_axis).context("building plot axes")?;
    chart
        .configure_mesh()
        .x_desc("step")
        .y_desc("pred std (log)")
        .x_labels(if width_px < 500 { 5 } else { 8 })
        .y_label_formatter(&|v| format!("{v:.0e}"))
        .light_line_style(RGBColor(0xEE, 0xEE, 0xEE))
        .label_style(("sans-serif", 13))
        .axis_desc_style(("sans-serif", 14))
        .draw()
        .context("drawing plot axes")?;
    Ok(chart)
}

/// The spread line (orange, thin), then the `pred_std` envelope (shaded, with a thin outline
/// so a one-bucket spike still shows) when any bucket holds several rows, then its mean line.
fn draw_pred_std(chart: &mut Chart, buckets: &[Bucket]) -> Result<()> {
    let spread = buckets.iter().filter_map(|b| b.spread_mean.map(|v| (b.step, v)));
    chart
        .draw_series(LineSeries::new(spread, ORANGE.mix(0.8).stroke_width(1)))
        .context("drawing pred spread line")?
        .label("pred max - min")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], ORANGE.stroke_width(2)));
    let std_points = || buckets.iter().filter_map(|b| b.pred_std.map(|(lo, mean, hi)| (b.step, lo, mean, hi)));
    if buckets.iter().any(|b| b.rows > 1) {
        let lower: Vec<(i64, f64)> = std_points().map(|(s, lo, _, _)| (s, lo)).collect();
        let mut outline: Vec<(i64, f64)> = std_points().map(|(s, _, _, hi)| (s, hi)).collect();
        outline.extend(lower.into_iter().rev());
        let shade = Polygon::new(outline.clone(), BLUE.mix(0.25).filled());
        let edge = PathElement::new(outline, BLUE.mix(0.5).stroke_width(1));
        chart.draw_series([edge]).context("drawing pred_std envelope edge")?;
        chart
            .draw_series([shade])
            .context("drawing pred_std envelope")?
            .label("pred std min..max per bucket")
            .legend(|(x, y)| Rectangle::new([(x, y - 5), (x + 16, y + 5)], BLUE.mix(0.25).filled()));
    }
    chart
        .draw_series(LineSeries::new(std_points().map(|(s, _, mean, _)| (s, mean)), BLUE.stroke_width(2)))
        .context("drawing pred_std line")?
        .label("pred std")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], BLUE.stroke_width(2)));
    Ok(())
}

/// A dashed vermillion line across the plot at `step`, labelled "collapse @ STEP" at the top.
fn draw_collapse_marker(
    chart: &mut Chart,
    step: i64,
    (step_lo, step_hi): (i64, i64),
    (y_lo, y_hi): (f64, f64),
) -> Result<()> {
    let marker = DashedLineSeries::new([(step, y_lo), (step, y_hi)], 6, 4, VERMILLION.stroke_width(2));
    chart.draw_series(marker).context("drawing collapse marker")?;
    // The label sits 4 px beside the line, on the side with more room.
    let (side, dx_px) = if step - step_lo > (step_hi - step_lo) / 2 { (HPos::Right, -4) } else { (HPos::Left, 4) };
    let style = ("sans-serif", 14).into_font().color(&VERMILLION).pos(Pos::new(side, VPos::Top));
    let text = Text::new(format!("collapse @ {step}"), (dx_px, 2), style);
    let label = EmptyElement::at((step, y_hi)) + text;
    chart.draw_series([label]).context("drawing collapse label")?;
    Ok(())
}

fn draw_no_data(root: &DrawingArea<SVGBackend, Shift>, title: &str) -> Result<()> {
    let (width_px, height_px) = root.dim_in_pixel();
    let centre = |y| Pos::new(HPos::Center, y);
    let middle = (width_px as i32 / 2, height_px as i32 / 2);
    if !title.is_empty() {
        let style = ("sans-serif", 13).into_font().color(&INK).pos(centre(VPos::Top));
        root.draw(&Text::new(title, (middle.0, 8), style)).context("drawing plot title")?;
    }
    let style = ("sans-serif", 14).into_font().color(&GREY).pos(centre(VPos::Center));
    root.draw(&Text::new("no data", middle, style)).context("drawing 'no data'")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Healthy std around 0.2 that collapses to ~1e-6 at step 1800 (pred_min/max around 0.5).
    fn collapsing(n: usize) -> PlotSeries {
        let step: Vec<i64> = (0..n as i64).collect();
        let pred_std: Vec<f64> =
            step.iter().map(|&s| if s < 1800 { 0.2 + 0.01 * (s % 7) as f64 } else { 1e-6 }).collect();
        let pred_min = pred_std.iter().map(|s| 0.5 - 2.0 * s).collect();
        let pred_max = pred_std.iter().map(|s| 0.5 + 2.0 * s).collect();
        PlotSeries { step, pred_std, pred_min, pred_max }
    }

    /// Number of `x,y` pairs in all `points="…"` attributes (polylines and polygons).
    fn count_points(svg: &str) -> usize {
        svg.split("points=\"").skip(1).map(|rest| rest.split('"').next().unwrap_or("").split_whitespace().count()).sum()
    }

    #[test]
    fn returns_inline_svg_with_size_lines_and_labels() {
        let svg = pred_std_svg(&collapsing(3000), None, 900, 420, "lr=0.1").unwrap();
        assert!(svg.starts_with("<svg"), "{}", &svg[..60]);
        assert!(!svg.contains("<?xml"));
        assert!(svg.contains("width=\"900\"") && svg.contains("height=\"420\""));
        assert!(svg.contains("<polyline") || svg.contains("<path"));
        assert!(svg.trim_end().ends_with("</svg>"));
        // plotters writes each text on its own line between the tags
        for text in ["\nstep\n", "\npred std (log)\n", "\nlr=0.1\n", "#0072B2"] {
            assert!(svg.contains(text), "missing {text}");
        }
    }

    #[test]
    fn collapse_marker_is_labelled_with_its_step() {
        let svg = pred_std_svg(&collapsing(3000), Some(1800), 360, 220, "").unwrap();
        assert!(svg.contains("collapse @ 1800"));
        assert!(svg.contains("#D55E00"), "marker in vermillion");
        let without = pred_std_svg(&collapsing(3000), None, 360, 220, "").unwrap();
        assert!(!without.contains("collapse @"));
    }

    #[test]
    fn long_series_are_downsampled_for_drawing() {
        let svg = pred_std_svg(&collapsing(20_000), Some(1800), 900, 420, "").unwrap();
        // 450 buckets: line + spread line (450 each) + envelope fill and edge (900 each) = 2700
        // points, plus two per axis tick; every row would be 40,000 for the two lines alone.
        let drawn = count_points(&svg);
        assert!((2700..3200).contains(&drawn), "{drawn} points drawn");
        assert!(svg.len() < 150_000, "{} bytes", svg.len());
        assert!(svg.contains("collapse @ 1800"));
    }

    #[test]
    fn short_series_are_drawn_row_by_row_without_envelope() {
        // 400 px wide: 200 buckets for 100 rows, and no legend (whose swatches are paths too).
        let svg = pred_std_svg(&collapsing(100), None, 400, 300, "").unwrap();
        let line_points = svg.lines().filter(|l| l.contains("#0072B2") || l.contains("#E69F00"));
        assert_eq!(line_points.map(count_points).sum::<usize>(), 200, "pred_std and spread, 100 rows each");
        assert!(!svg.contains("<polygon"));
    }

    #[test]
    fn downsampling_keeps_spikes_and_dips() {
        let mut s = collapsing(20_000);
        s.pred_std[12_345] = 50.0;
        s.pred_std[4_321] = 0.0;
        let buckets = downsample(&s, 100);
        assert_eq!(buckets.len(), 100);
        assert_eq!(buckets.iter().map(|b| b.rows).sum::<usize>(), 20_000);
        let max = buckets.iter().filter_map(|b| b.pred_std).map(|(_, _, hi)| hi).fold(0.0, f64::max);
        let min = buckets.iter().filter_map(|b| b.pred_std).map(|(lo, _, _)| lo).fold(1.0, f64::min);
        assert_eq!((max, min), (50.0, LOG_FLOOR));
        assert_eq!(buckets[0].step, 99, "middle step of rows 0..200");
    }

    #[test]
    fn log_ticks_table() {
        let cases: [(f64, f64, usize, &[f64]); 4] = [
            (0.1, 0.6, 8, &[0.1, 0.2, 0.5]),
            (5e-4, 20.0, 8, &[1e-3, 1e-2, 1e-1, 1.0, 1e1]),
            (5e-13, 2.0, 5, &[1e-12, 1e-9, 1e-6, 1e-3, 1.0]),
            (5e-7, 2e-6, 3, &[5e-7, 1e-6, 2e-6]),
        ];
        for (lo, hi, max_ticks, want) in cases {
            let got = log_ticks(lo, hi, max_ticks);
            assert_eq!(got.len(), want.len(), "{lo:e}..{hi:e}: {got:?}");
            for (g, w) in got.iter().zip(want) {
                assert!((g / w - 1.0).abs() < 1e-9, "{lo:e}..{hi:e}: {got:?}");
            }
        }
    }

    #[test]
    fn nan_zero_negative_and_infinite_values_do_not_panic() {
        let mut s = collapsing(500);
        for (i, v) in [(3, f64::NAN), (4, 0.0), (5, -1.0), (6, f64::INFINITY), (7, f64::NEG_INFINITY)] {
            s.pred_std[i] = v;
            s.pred_max[i + 10] = v;
        }
        let svg = pred_std_svg(&s, Some(2000), 360, 220, "t").unwrap();
        assert!(svg.starts_with("<svg") && !svg.contains("NaN") && !svg.contains("inf"));
        let all_nan = PlotSeries {
            step: vec![0, 1],
            pred_std: vec![f64::NAN; 2],
            pred_min: vec![f64::NAN; 2],
            pred_max: vec![f64::NAN; 2],
        };
        assert!(pred_std_svg(&all_nan, None, 360, 220, "").unwrap().contains("no data"));
        let all_zero = PlotSeries { step: vec![5], pred_std: vec![0.0], pred_min: vec![0.3], pred_max: vec![0.3] };
        assert!(pred_std_svg(&all_zero, Some(5), 360, 220, "").unwrap().contains("collapse @ 5"));
    }

    #[test]
    fn empty_series_says_no_data() {
        let svg = pred_std_svg(&PlotSeries::default(), None, 360, 220, "a<b").unwrap();
        assert!(svg.starts_with("<svg") && svg.contains("width=\"360\""));
        assert!(svg.contains("\nno data\n") && svg.contains("a&lt;b"));
    }

    #[test]
    fn title_text_is_escaped() {
        let evil = "<script>alert(1)</script>";
        for series in [collapsing(50), PlotSeries::default()] {
            let svg = pred_std_svg(&series, None, 360, 220, evil).unwrap();
            assert!(!svg.contains(evil) && !svg.contains("<script"));
            assert!(svg.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        }
    }

    #[test]
    fn bad_input_is_an_error() {
        let mut s = collapsing(10);
        s.pred_min.pop();
        let err = pred_std_svg(&s, None, 360, 220, "").unwrap_err();
        assert!(err.to_string().contains("pred_min 9"), "{err}");
        let err = pred_std_svg(&collapsing(10), None, 20, 10, "").unwrap_err();
        assert!(err.to_string().contains("at least 120x80"), "{err}");
    }
}
