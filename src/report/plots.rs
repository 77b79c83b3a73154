//! Plots: draws per-step series as inline SVG strings (no XML declaration, so they can sit
//! inside HTML). Owns the chart description ([`Chart`]: lines, bands, markers, scale), axis
//! ranges and ticks, and the choice of log or linear axis. Reads plain slices of steps and
//! values; knows nothing about runs, files or HTML. Downsampling is `downsample`'s.

use anyhow::{bail, Context, Result};
use std::ops::Range;

use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint};
use plotters::coord::types::{RangedCoordf64, RangedCoordi64};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::downsample::{band_points, line_points, rows_in, Axis, LOG_FLOOR};
use super::palette::{Colour, GREY};
use super::text::fmt_sig;
use super::ticks::{linear_ticks, log_ticks};

/// Pixels of plot width per downsampling bucket (each bucket draws at most two points).
const PIXELS_PER_BUCKET: u32 = 2;
/// Width of the y label area, left of the plot, and height of the x label area below it.
const Y_LABEL_PX: u32 = 64;
const X_LABEL_PX: u32 = 36;
/// Plot sizes below this leave no room for the axes.
const MIN_WIDTH_PX: u32 = 120;
const MIN_HEIGHT_PX: u32 = 80;
/// `Scale::Auto` picks a log axis when positive values span at least this ratio (2 decades).
const AUTO_LOG_RATIO: f64 = 100.0;

/// The y axis of a chart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scale {
    Linear,
    Log,
    /// Log when every drawn value is positive and they span two decades or more, else linear.
    Auto,
}

/// One series over steps. `steps` is sorted ascending and as long as `values`.
#[derive(Debug, Clone)]
pub struct Line<'a> {
    pub label: String,
    pub steps: &'a [i64],
    pub values: &'a [f64],
    pub colour: Colour,
    pub dashed: bool,
}

/// A shaded area between two series over the same steps (e.g. `pred_min..pred_max`).
#[derive(Debug, Clone)]
pub struct Band<'a> {
    pub label: String,
    pub steps: &'a [i64],
    pub lower: &'a [f64],
    pub upper: &'a [f64],
    pub colour: Colour,
}

/// A dashed vertical line at an exact step (a collapse, a divergence), labelled at the top.
#[derive(Debug, Clone, PartialEq)]
pub struct Marker {
    pub step: i64,
    pub label: String,
    pub colour: Colour,
}

/// Everything one plot shows. Lines are drawn over bands, markers over both.
#[derive(Debug, Clone)]
pub struct Chart<'a> {
    /// The y axis description, with its unit.
    pub y_desc: String,
    pub scale: Scale,
    /// `(width, height)` in pixels.
    pub size: (u32, u32),
    /// Steps shown, inclusive; None: every logged step and every marker.
    pub window: Option<(i64, i64)>,
    /// A y range always shown (e.g. 0..1 for a share), widened when values fall outside it.
    pub y_fixed: Option<(f64, f64)>,
    pub lines: Vec<Line<'a>>,
    pub bands: Vec<Band<'a>>,
    pub markers: Vec<Marker>,
    /// Room above the data for at least this many marker labels, whether or not there are any
    /// (charts meant to share their y axis reserve the same room).
    pub min_label_rows: usize,
}

impl<'a> Chart<'a> {
    pub fn new(y_desc: &str, scale: Scale, size: (u32, u32)) -> Chart<'a> {
        Chart {
            y_desc: y_desc.to_string(),
            scale,
            size,
            window: None,
            y_fixed: None,
            lines: Vec::new(),
            bands: Vec::new(),
            markers: Vec::new(),
            min_label_rows: 0,
        }
    }
}

/// The drawn points of a chart, y already projected (log10 on a log axis).
struct Drawn {
    axis: Axis,
    window: (i64, i64),
    lines: Vec<Vec<(i64, f64)>>,
    bands: Vec<Vec<(i64, f64, f64)>>,
    /// `(lo, hi)` of the y axis, padded; None when nothing is drawable.
    y_range: Option<(f64, f64)>,
}

/// The SVG (a String starting with "<svg") of `chart`. Series longer than about half the
/// plot width in pixels are downsampled for drawing only (see `downsample`); markers sit at
/// their exact steps. A chart with nothing drawable says "no data".
pub fn render(chart: &Chart) -> Result<String> {
    check(chart)?;
    let drawn = prepare(chart);
    let mut svg = String::with_capacity(16 * 1024);
    {
        let root = SVGBackend::with_string(&mut svg, chart.size).into_drawing_area();
        root.fill(&WHITE).context("filling plot background")?;
        match drawn.y_range {
            None => draw_no_data(&root)?,
            Some(y_range) => draw_chart(&root, chart, &drawn, y_range)?,
        }
        root.present().context("finishing SVG")?;
    }
    Ok(svg)
}

fn check(chart: &Chart) -> Result<()> {
    let (width, height) = chart.size;
    if width < MIN_WIDTH_PX || height < MIN_HEIGHT_PX {
        bail!("plot size must be at least {MIN_WIDTH_PX}x{MIN_HEIGHT_PX} px but got {width}x{height}");
    }
    for line in &chart.lines {
        if line.steps.len() != line.values.len() {
            bail!("plot line {:?}: {} steps but {} values", line.label, line.steps.len(), line.values.len());
        }
    }
    for band in &chart.bands {
        let (n, lo, hi) = (band.steps.len(), band.lower.len(), band.upper.len());
        if lo != n || hi != n {
            bail!("plot band: {n} steps but {lo} lower and {hi} upper values");
        }
    }
    Ok(())
}

fn prepare(chart: &Chart) -> Drawn {
    let window = chart.window.unwrap_or_else(|| data_window(chart));
    let window = (window.0, window.1.max(window.0 + 1));
    let axis = resolve_scale(chart, window);
    let buckets = (chart.size.0.saturating_sub(Y_LABEL_PX + 20) / PIXELS_PER_BUCKET).max(1) as usize;
    let lines: Vec<_> = chart.lines.iter().map(|l| line_points(l.steps, l.values, window, buckets, axis)).collect();
    let bands: Vec<_> =
        chart.bands.iter().map(|b| band_points(b.steps, b.lower, b.upper, window, buckets, axis)).collect();
    let ys = lines.iter().flatten().map(|p| p.1).chain(bands.iter().flatten().flat_map(|b| [b.1, b.2]));
    let labels = chart.markers.iter().filter(|m| !m.label.is_empty() && in_window(m.step, window)).count();
    let labels = labels.max(chart.min_label_rows);
    let y_range = padded_range(ys, axis, chart.y_fixed).map(|r| with_headroom(r, labels, chart.size.1));
    Drawn { axis, window, lines, bands, y_range }
}

fn in_window(step: i64, (lo, hi): (i64, i64)) -> bool {
    lo <= step && step <= hi
}

/// Raises the top of the y range so that `labels` marker labels (16 px each) sit above the
/// data instead of over it.
fn with_headroom((lo, hi): (f64, f64), labels: usize, height_px: u32) -> (f64, f64) {
    if labels == 0 {
        return (lo, hi);
    }
    let plot_px = height_px.saturating_sub(X_LABEL_PX + 16).max(40) as f64;
    let share = ((4 + 16 * labels) as f64 / plot_px).min(0.5);
    (lo, hi + (hi - lo) * share / (1.0 - share))
}

/// First to last logged step over all series, widened to every marker.
fn data_window(chart: &Chart) -> (i64, i64) {
    let ends = |steps: &[i64]| steps.first().copied().into_iter().chain(steps.last().copied());
    let line_steps = chart.lines.iter().flat_map(|l| ends(l.steps));
    let band_steps = chart.bands.iter().flat_map(|b| ends(b.steps));
    let all = line_steps.chain(band_steps).chain(chart.markers.iter().map(|m| m.step));
    all.fold(None, |acc: Option<(i64, i64)>, s| Some(acc.map_or((s, s), |(lo, hi)| (lo.min(s), hi.max(s)))))
        .unwrap_or((0, 1))
}

fn resolve_scale(chart: &Chart, window: (i64, i64)) -> Axis {
    match chart.scale {
        Scale::Linear => Axis::Linear,
        Scale::Log => Axis::Log,
        Scale::Auto => {
            let values = chart.lines.iter().flat_map(|l| rows_in(l.steps, window).map(|i| l.values[i]));
            let (mut lo, mut hi, mut positive) = (f64::INFINITY, 0f64, true);
            for v in values.filter(|v| v.is_finite()) {
                positive &= v > 0.0;
                lo = lo.min(v);
                hi = hi.max(v);
            }
            if positive && lo.is_finite() && hi / lo >= AUTO_LOG_RATIO {
                Axis::Log
            } else {
                Axis::Linear
            }
        }
    }
}

/// The drawn y range (projected), padded: a factor of 2 each way on a log axis, 5% of the
/// span on a linear one, so a flat line never hides in the axis.
fn padded_range(ys: impl Iterator<Item = f64>, axis: Axis, fixed: Option<(f64, f64)>) -> Option<(f64, f64)> {
    let (lo, hi) = ys.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), y| (lo.min(y), hi.max(y)));
    if lo > hi {
        return None;
    }
    let fixed = fixed.and_then(|(a, b)| Some((axis.project(a)?, axis.project(b)?)));
    let (lo, hi) = fixed.map_or((lo, hi), |(a, b)| (lo.min(a), hi.max(b)));
    let span = hi - lo;
    let pad = match axis {
        Axis::Log => 0.3,
        Axis::Linear if span > 0.0 => 0.05 * span,
        Axis::Linear => (0.1 * lo.abs()).max(1e-9),
    };
    Some((lo - pad, hi + pad))
}

fn rgb(c: Colour) -> RGBColor {
    RGBColor(c.0, c.1, c.2)
}

/// A y axis (already projected) with our own tick positions, labelled by the chart's formatter.
struct TickedAxis {
    inner: RangedCoordf64,
    ticks: Vec<f64>,
}

impl Ranged for TickedAxis {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        self.inner.map(value, limit)
    }

    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            Vec::new()
        } else {
            self.ticks.clone()
        }
    }

    fn range(&self) -> Range<f64> {
        self.inner.range()
    }
}

type Plot<'a, 'b> = ChartContext<'a, SVGBackend<'b>, Cartesian2d<RangedCoordi64, TickedAxis>>;

fn draw_chart(root: &DrawingArea<SVGBackend, Shift>, chart: &Chart, drawn: &Drawn, y_range: (f64, f64)) -> Result<()> {
    let mut plot = draw_axes(root, chart, drawn, y_range)?;
    for (band, points) in chart.bands.iter().zip(&drawn.bands) {
        if points.len() < 2 {
            continue;
        }
        let mut outline: Vec<(i64, f64)> = points.iter().map(|&(s, _, hi)| (s, hi)).collect();
        outline.extend(points.iter().rev().map(|&(s, lo, _)| (s, lo)));
        let shade = Polygon::new(outline, rgb(band.colour).mix(0.22).filled());
        plot.draw_series([shade]).context("drawing plot band")?;
    }
    let width = if chart.lines.len() > 4 { 1 } else { 2 };
    for (line, points) in chart.lines.iter().zip(&drawn.lines) {
        let style = rgb(line.colour).stroke_width(width);
        if line.dashed {
            plot.draw_series(DashedLineSeries::new(points.iter().copied(), 6, 4, style))
        } else {
            plot.draw_series(LineSeries::new(points.iter().copied(), style))
        }
        .with_context(|| format!("drawing line {:?}", line.label))?;
    }
    let visible: Vec<&Marker> = chart.markers.iter().filter(|m| in_window(m.step, drawn.window)).collect();
    // The first marker is the most important: its line is drawn last (on top), its label first.
    for marker in visible.iter().rev() {
        let style = rgb(marker.colour).stroke_width(2);
        let line = DashedLineSeries::new([(marker.step, y_range.0), (marker.step, y_range.1)], 6, 4, style);
        plot.draw_series(line).context("drawing marker")?;
    }
    for (k, marker) in visible.iter().filter(|m| !m.label.is_empty()).enumerate() {
        draw_marker_label(&mut plot, marker, k, drawn.window, y_range.1)?;
    }
    Ok(())
}

fn draw_axes<'a, 'b>(
    root: &'a DrawingArea<SVGBackend<'b>, Shift>,
    chart: &Chart,
    drawn: &Drawn,
    (y_lo, y_hi): (f64, f64),
) -> Result<Plot<'a, 'b>> {
    let (width_px, height_px) = chart.size;
    let max_ticks = (height_px / 40).max(3) as usize;
    let ticks = match drawn.axis {
        Axis::Log => log_ticks(10f64.powf(y_lo), 10f64.powf(y_hi), max_ticks).iter().map(|t| t.log10()).collect(),
        Axis::Linear => linear_ticks(y_lo, y_hi, max_ticks),
    };
    let log = drawn.axis == Axis::Log;
    let y_axis = TickedAxis { inner: (y_lo..y_hi).into(), ticks };
    let mut plot = ChartBuilder::on(root)
        .margin(8)
        .x_label_area_size(X_LABEL_PX)
        .y_label_area_size(Y_LABEL_PX)
        .build_cartesian_2d(drawn.window.0..drawn.window.1, y_axis)
        .context("building plot axes")?;
    let y_desc = if log { format!("{} (log)", chart.y_desc) } else { chart.y_desc.clone() };
    plot.configure_mesh()
        .x_desc("step")
        .y_desc(y_desc)
        .x_labels(if width_px < 500 { 4 } else { 8 })
        .y_label_formatter(&|&y| y_label(y, log))
        .bold_line_style(RGBColor(0xE2, 0xE2, 0xE2))
        .light_line_style(RGBColor(0xF2, 0xF2, 0xF2))
        .x_max_light_lines(2)
        .label_style(("sans-serif", 12))
        .axis_desc_style(("sans-serif", 13))
        .draw()
        .context("drawing plot axes")?;
    Ok(plot)
}

/// A y tick label: the value (10^y on a log axis), with `≤` at the log floor, where zeros sit.
fn y_label(y: f64, log: bool) -> String {
    if !log {
        return fmt_sig(y);
    }
    let value = 10f64.powf(y);
    if value <= LOG_FLOOR * (1.0 + 1e-9) {
        format!("≤{}", fmt_sig(LOG_FLOOR))
    } else {
        fmt_sig(value)
    }
}

/// The label of the k-th labelled marker, 16 px below the previous one, on the side of its
/// line with more room, on a white box so that lines under it do not hide it.
fn draw_marker_label(plot: &mut Plot, marker: &Marker, k: usize, (lo, hi): (i64, i64), y_top: f64) -> Result<()> {
    const FONT_PX: i32 = 13;
    let right = marker.step - lo > (hi - lo) / 2;
    let (side, dx_px) = if right { (HPos::Right, -4) } else { (HPos::Left, 4) };
    let dy_px = 2 + 16 * k as i32;
    // No font metrics without a font backend: about 0.56 em per character for sans-serif.
    let width_px = (marker.label.chars().count() as f64 * 0.56 * FONT_PX as f64).ceil() as i32 + 4;
    let (x0, x1) = if right { (dx_px - width_px, dx_px + 2) } else { (dx_px - 2, dx_px + width_px) };
    let backing = Rectangle::new([(x0, dy_px - 1), (x1, dy_px + FONT_PX + 2)], WHITE.mix(0.85).filled());
    let font = ("sans-serif", FONT_PX).into_font().color(&rgb(marker.colour)).pos(Pos::new(side, VPos::Top));
    let text = Text::new(marker.label.clone(), (dx_px, dy_px), font);
    plot.draw_series([EmptyElement::at((marker.step, y_top)) + backing + text]).context("drawing marker label")?;
    Ok(())
}

fn draw_no_data(root: &DrawingArea<SVGBackend, Shift>) -> Result<()> {
    let (width_px, height_px) = root.dim_in_pixel();
    let style = ("sans-serif", 14).into_font().color(&rgb(GREY)).pos(Pos::new(HPos::Center, VPos::Center));
    root.draw(&Text::new("no data", (width_px as i32 / 2, height_px as i32 / 2), style))
        .context("drawing 'no data'")?;
    Ok(())
}

#[cfg(test)]
#[path = "plots_tests.rs"]
mod tests;
