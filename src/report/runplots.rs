//! Which plots a run gets and what each shows: the run page's panels (prediction spread,
//! predictions, loss terms, lr, gradients, update sizes, dead units, token diversity, logits,
//! saturation, and a zoom around the collapse) and the index's thumbnail. Every panel marks
//! the collapse (and a divergence) at its exact step. Panels whose columns a log lacks are left
//! out. Works on [`StepColumns`] and [`RunSummary`]; drawing is `plots`'.

use anyhow::Result;

use super::palette::{
    status_colour, Colour, BLACK, BLUE, BLUISH_GREEN, GREY, ORANGE, REDDISH_PURPLE, SERIES, SKY_BLUE, VERMILLION,
};
use super::plots::{render, Band, Chart, Line, Marker, Scale};
use super::{Figure, LegendEntry, Mark, StepColumns};
use crate::summary::RunSummary;

/// Size of a panel in the page's two-column grid, and of a full-width one.
const PANEL: (u32, u32) = (540, 250);
const WIDE: (u32, u32) = (1100, 320);
/// Size of an index thumbnail.
const THUMBNAIL: (u32, u32) = (340, 190);

/// One line of a panel: label, column name, colour, dashed.
type Spec = (String, String, Colour, bool);

/// A panel over whole run: title, y axis description (with unit), scale and lines.
struct PanelDef {
    title: &'static str,
    y_desc: &'static str,
    scale: Scale,
    lines: Vec<Spec>,
}

/// The run page's figures, in page order. `zoom_half_width` is the number of steps the zoom
/// shows on each side of the collapse.
pub fn run_figures(cols: &StepColumns, run: &RunSummary, zoom_half_width: i64) -> Result<Vec<Figure>> {
    let markers = markers(run);
    let mut figures = vec![spread_figure(cols, &markers)?];
    figures.extend(zoom_figure(cols, run, zoom_half_width)?);
    figures.extend(predictions_figure(cols, &markers)?);
    for def in panel_defs(cols) {
        figures.extend(panel(cols, &def, &markers)?);
    }
    Ok(figures)
}

fn panel_defs(cols: &StepColumns) -> Vec<PanelDef> {
    let one = |label: &str, column: &str| vec![(label.to_string(), column.to_string(), BLUE, false)];
    let loss = [("loss", "loss", BLACK), ("mse", "mse", BLUE), ("std bonus (φ·std)", "std_bonus", ORANGE)];
    let def = |title, y_desc, scale, lines| PanelDef { title, y_desc, scale, lines };
    vec![
        def(
            "Loss and its terms",
            "loss",
            Scale::Auto,
            loss.iter().map(|&(l, c, k)| (l.to_string(), c.to_string(), k, false)).collect(),
        ),
        def("Learning rate", "learning rate", Scale::Auto, one("lr", "lr")),
        def(
            "Gradient norm, global and per group",
            "L2 norm",
            Scale::Log,
            grouped(cols, Some("grad_norm"), "grad_norm_"),
        ),
        def("Update size", "‖Δθ‖ / ‖θ‖", Scale::Log, one("update ratio", "update_ratio")),
        def("Dead units per layer", "share of units", Scale::Linear, grouped(cols, None, "dead_frac_")),
        def("Token diversity per layer", "mean std across tokens", Scale::Log, grouped(cols, None, "token_std_")),
        def("Logit spread", "std of logits", Scale::Auto, one("logit std", "logit_std")),
        def(
            "Saturated logits",
            "share of tokens, |logit| > 10",
            Scale::Linear,
            one("saturated share", "saturated_frac"),
        ),
    ]
}

/// The `total` column (labelled "global") when present, then every `prefix*` column labelled
/// by its suffix, in palette colours.
fn grouped(cols: &StepColumns, total: Option<&str>, prefix: &str) -> Vec<Spec> {
    let total = total.filter(|t| cols.get(t).is_some()).map(|t| ("global".to_string(), t.to_string()));
    let parts =
        cols.with_prefix(prefix).into_iter().map(|(suffix, _)| (suffix.to_string(), format!("{prefix}{suffix}")));
    let first: &[Colour] = if total.is_some() { &[BLACK] } else { &[] };
    let colours = first.iter().chain(SERIES.iter().cycle());
    total
        .into_iter()
        .chain(parts)
        .zip(colours)
        .map(|((label, column), &colour)| (label, column, colour, false))
        .collect()
}

/// Axes shared by every thumbnail of an index: steps, and the range of pred_std values.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ThumbnailScale {
    pub steps: (i64, i64),
    pub pred_std: (f64, f64),
}

/// The index thumbnail: pred_std (log) in the run's status colour, with the collapse marker,
/// on the shared axes when given.
pub fn thumbnail(cols: &StepColumns, run: &RunSummary, scale: Option<ThumbnailScale>) -> Result<String> {
    let mut chart = Chart::new("pred std", Scale::Log, THUMBNAIL);
    if let Some(scale) = scale {
        chart.window = Some(scale.steps);
        chart.y_fixed = Some(scale.pred_std);
        chart.min_label_rows = 1;
    }
    if let Some(values) = cols.get("pred_std") {
        let colour = status_colour(run);
        chart.lines.push(Line { label: "pred std".into(), steps: &cols.step, values, colour, dashed: false });
    }
    chart.markers = markers(run);
    render(&chart)
}

/// The collapse (vermillion) and the first non-finite step (reddish purple), at exact steps.
pub fn markers(run: &RunSummary) -> Vec<Marker> {
    let mut markers = Vec::new();
    if let Some(step) = run.collapse_step {
        let label = if run.recovered { format!("transient collapse @ {step}") } else { format!("collapse @ {step}") };
        markers.push(Marker { step, label, colour: VERMILLION });
    }
    if let Some(step) = run.diagnosis.diverged_step {
        markers.push(Marker { step, label: format!("diverged @ {step}"), colour: REDDISH_PURPLE });
    }
    markers
}

/// The panel of `def`'s columns that the log has, or None when it has none of them.
fn panel(cols: &StepColumns, def: &PanelDef, markers: &[Marker]) -> Result<Option<Figure>> {
    let mut chart = Chart::new(def.y_desc, def.scale, PANEL);
    for (label, column, colour, dashed) in &def.lines {
        if let Some(values) = cols.get(column) {
            let (colour, dashed) = (*colour, *dashed);
            chart.lines.push(Line { label: label.clone(), steps: &cols.step, values, colour, dashed });
        }
    }
    if chart.lines.is_empty() {
        return Ok(None);
    }
    if def.y_desc.starts_with("share") {
        chart.y_fixed = Some((0.0, 1.0));
    }
    chart.markers = markers.to_vec();
    figure(def.title, &chart, false).map(Some)
}

/// pred_std (log) and the spread pred_max − pred_min, full width.
fn spread_figure(cols: &StepColumns, markers: &[Marker]) -> Result<Figure> {
    let spread: Option<Vec<f64>> = match (cols.get("pred_max"), cols.get("pred_min")) {
        (Some(hi), Some(lo)) => Some(hi.iter().zip(lo).map(|(h, l)| h - l).collect()),
        _ => None,
    };
    let mut chart = Chart::new("prediction std", Scale::Log, WIDE);
    // The spread first, so pred std (the detector's input) is drawn over it.
    if let Some(values) = &spread {
        let label = "pred max − min".to_string();
        chart.lines.push(Line { label, steps: &cols.step, values, colour: ORANGE, dashed: false });
    }
    if let Some(values) = cols.get("pred_std") {
        chart.lines.push(Line { label: "pred std".into(), steps: &cols.step, values, colour: BLUE, dashed: false });
    }
    chart.markers = markers.to_vec();
    figure("Prediction spread (collapse: pred std → 0)", &chart, true)
}

/// pred_mean inside its min..max band, with label_mean and sigmoid(output bias).
fn predictions_figure(cols: &StepColumns, markers: &[Marker]) -> Result<Option<Figure>> {
    let mut chart = Chart::new("prediction", Scale::Linear, PANEL);
    if let (Some(lower), Some(upper)) = (cols.get("pred_min"), cols.get("pred_max")) {
        let label = "pred min..max".to_string();
        chart.bands.push(Band { label, steps: &cols.step, lower, upper, colour: BLUE });
    }
    let specs = [
        ("pred mean", "pred_mean", BLUE, false),
        ("label mean", "label_mean", GREY, false),
        ("sigmoid(output bias)", "bias_output", REDDISH_PURPLE, false),
    ];
    for (label, column, colour, dashed) in specs {
        if let Some(values) = cols.get(column) {
            chart.lines.push(Line { label: label.into(), steps: &cols.step, values, colour, dashed });
        }
    }
    if chart.lines.is_empty() && chart.bands.is_empty() {
        return Ok(None);
    }
    chart.markers = markers.to_vec();
    figure("Predictions against the label mean and the output bias", &chart, false).map(Some)
}

/// pred_std, grad_norm and update_ratio (log) in `±half_width` steps around the collapse (or
/// the divergence), every row drawn, with the diagnosis' evidence steps marked.
fn zoom_figure(cols: &StepColumns, run: &RunSummary, half_width: i64) -> Result<Option<Figure>> {
    let Some(centre) = run.collapse_step.or(run.diagnosis.diverged_step) else {
        return Ok(None);
    };
    let mut chart = Chart::new("value", Scale::Log, WIDE);
    chart.window = Some((centre - half_width, centre + half_width));
    // pred std last, so it is drawn on top where the lines meet at the log floor.
    let specs = [
        ("grad norm", "grad_norm", ORANGE, false),
        ("update ratio", "update_ratio", BLUISH_GREEN, false),
        ("pred std", "pred_std", BLUE, false),
    ];
    for (label, column, colour, dashed) in specs {
        if let Some(values) = cols.get(column) {
            chart.lines.push(Line { label: label.into(), steps: &cols.step, values, colour, dashed });
        }
    }
    chart.markers = markers(run);
    let d = &run.diagnosis;
    if let (Some(layer), Some(step)) = (&d.first_dead_layer, d.dead_step) {
        chart.markers.push(Marker { step, label: format!("{layer} dead @ {step}"), colour: BLACK });
    }
    if let Some(step) = d.spike_step {
        chart.markers.push(Marker { step, label: format!("update spike @ {step}"), colour: SKY_BLUE });
    }
    let title = format!("Around step {centre}: steps {}..{}", centre - half_width, centre + half_width);
    figure(&title, &chart, true).map(Some)
}

fn figure(title: &str, chart: &Chart, wide: bool) -> Result<Figure> {
    let svg = render(chart)?;
    let mut legend: Vec<LegendEntry> = chart
        .bands
        .iter()
        .map(|b| LegendEntry { label: b.label.clone(), colour: b.colour, mark: Mark::Area })
        .collect();
    legend.extend(chart.lines.iter().map(|l| LegendEntry {
        label: l.label.clone(),
        colour: l.colour,
        mark: if l.dashed { Mark::Dashed } else { Mark::Line },
    }));
    if legend.len() == 1 && chart.bands.is_empty() {
        legend.clear(); // one line needs no key: the title and axis name it
    }
    Ok(Figure { title: title.to_string(), legend, svg, wide })
}

#[cfg(test)]
#[path = "runplots_tests.rs"]
mod tests;
