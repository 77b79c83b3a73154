//! The collapse map of a sweep: for each pair of swept axes (seeds left out and aggregated,
//! like every other axis not in the pair), a table whose cells count the runs with those two
//! values that collapsed for good, recovered (transient), diverged or failed, with the median
//! collapse step, tinted by the share that collapsed. One swept axis gives a one-row strip;
//! none gives a single cell.

use std::fmt::Write;

use super::palette::{share_colour, BLACK, ORANGE, REDDISH_PURPLE, WHITE};
use super::text::escape;
use crate::summary::{RunSummary, Status};

/// What happened to the runs of one cell.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Cell {
    pub runs: usize,
    /// Sustained collapses (status `collapsed`, not recovered).
    pub collapsed: usize,
    /// Collapses that recovered.
    pub transient: usize,
    pub diverged: usize,
    pub failed: usize,
    pub stopped: usize,
    /// Median step of the sustained collapses.
    pub median_step: Option<i64>,
}

impl Cell {
    fn of(runs: &[&RunSummary]) -> Cell {
        let count = |f: &dyn Fn(&RunSummary) -> bool| runs.iter().filter(|r| f(r)).count();
        let mut steps: Vec<i64> = runs
            .iter()
            .filter(|r| r.status == Status::Collapsed && !r.recovered)
            .filter_map(|r| r.collapse_step)
            .collect();
        steps.sort_unstable();
        let median_step = match steps.len() {
            0 => None,
            n if n % 2 == 1 => Some(steps[n / 2]),
            n => Some((steps[n / 2 - 1] + steps[n / 2]) / 2),
        };
        Cell {
            runs: runs.len(),
            collapsed: count(&|r| r.status == Status::Collapsed && !r.recovered),
            transient: count(&|r| r.status == Status::Collapsed && r.recovered),
            diverged: count(&|r| r.status == Status::Diverged),
            failed: count(&|r| r.status == Status::Failed),
            stopped: count(&|r| r.status == Status::Stopped),
            median_step,
        }
    }

    /// Share of the cell's runs that collapsed for good (0 for an empty cell).
    pub fn share(&self) -> f64 {
        if self.runs == 0 {
            0.0
        } else {
            self.collapsed as f64 / self.runs as f64
        }
    }
}

/// One map: `rows` is None for a one-row strip.
#[derive(Debug, Clone, PartialEq)]
pub struct CollapseMap {
    pub rows: Option<(String, Vec<String>)>,
    pub cols: (String, Vec<String>),
    /// `cells[row][col]`.
    pub cells: Vec<Vec<Cell>>,
}

/// A seed axis (`seed`, `data.seed`): aggregated over, never drawn as an axis.
pub fn is_seed(key: &str) -> bool {
    key == "seed" || key.ends_with(".seed")
}

/// The values a key takes over `runs`, numerically sorted when all are numbers, else in order
/// of first appearance.
pub fn axis_values(runs: &[&RunSummary], key: &str) -> Vec<String> {
    let mut values: Vec<String> = Vec::new();
    for v in runs.iter().filter_map(|r| value(r, key)) {
        if !values.iter().any(|x| x == v) {
            values.push(v.to_string());
        }
    }
    if values.iter().all(|v| v.parse::<f64>().is_ok()) {
        values.sort_by(|a, b| a.parse::<f64>().unwrap_or(0.0).total_cmp(&b.parse::<f64>().unwrap_or(0.0)));
    }
    values
}

fn value<'a>(run: &'a RunSummary, key: &str) -> Option<&'a str> {
    run.swept.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

/// Every map of the sweep: one per pair of non-seed axes (in swept order), a strip for a single
/// axis, a single "all runs" cell for none.
pub fn collapse_maps(swept_keys: &[String], runs: &[&RunSummary]) -> Vec<CollapseMap> {
    let axes: Vec<&String> = swept_keys.iter().filter(|k| !is_seed(k)).collect();
    match axes.len() {
        0 => vec![CollapseMap {
            rows: None,
            cols: ("all runs".into(), vec!["all".into()]),
            cells: vec![vec![Cell::of(runs)]],
        }],
        1 => {
            let values = axis_values(runs, axes[0]);
            let cells = vec![values.iter().map(|v| Cell::of(&with(runs, axes[0], v))).collect()];
            vec![CollapseMap { rows: None, cols: (axes[0].clone(), values), cells }]
        }
        _ => {
            let mut maps = Vec::new();
            for (i, row_key) in axes.iter().enumerate() {
                for col_key in &axes[i + 1..] {
                    maps.push(pair_map(runs, row_key, col_key));
                }
            }
            maps
        }
    }
}

fn with<'a>(runs: &[&'a RunSummary], key: &str, v: &str) -> Vec<&'a RunSummary> {
    runs.iter().copied().filter(|r| value(r, key) == Some(v)).collect()
}

fn pair_map(runs: &[&RunSummary], row_key: &str, col_key: &str) -> CollapseMap {
    let (row_values, col_values) = (axis_values(runs, row_key), axis_values(runs, col_key));
    let cells = row_values
        .iter()
        .map(|rv| {
            let row_runs = with(runs, row_key, rv);
            col_values.iter().map(|cv| Cell::of(&with(&row_runs, col_key, cv))).collect()
        })
        .collect();
    CollapseMap { rows: Some((row_key.to_string(), row_values)), cols: (col_key.to_string(), col_values), cells }
}

/// The map as an HTML table: row values down the left, column values across the top.
pub fn map_html(map: &CollapseMap) -> String {
    let (col_key, col_values) = &map.cols;
    let caption = match &map.rows {
        Some((row_key, _)) => format!("{} × {}", escape(row_key), escape(col_key)),
        None => escape(col_key),
    };
    let mut html = format!("<table class=\"map\">\n<caption>{caption}</caption>\n<thead><tr>");
    let corner = match &map.rows {
        Some((row_key, _)) => format!("{} ↓ &nbsp; {} →", escape(row_key), escape(col_key)),
        None => format!("{} →", escape(col_key)),
    };
    let _ = write!(html, "<th class=\"corner\">{corner}</th>");
    for v in col_values {
        let _ = write!(html, "<th>{}</th>", escape(v));
    }
    html.push_str("</tr></thead>\n<tbody>\n");
    for (r, row) in map.cells.iter().enumerate() {
        let label = map.rows.as_ref().map_or("runs".to_string(), |(_, values)| escape(&values[r]));
        let _ = write!(html, "<tr><th>{label}</th>");
        for cell in row {
            html.push_str(&cell_html(cell));
        }
        html.push_str("</tr>\n");
    }
    html.push_str("</tbody>\n</table>\n");
    html
}

/// `n/N` collapsed in bold, the median collapse step, then any transient, diverged, failed or
/// stopped runs; tinted by the collapsed share, with text dark or light to stay readable.
fn cell_html(cell: &Cell) -> String {
    if cell.runs == 0 {
        return "<td class=\"cell empty\">no runs</td>".to_string();
    }
    let fill = share_colour(cell.share());
    let ink = if fill.luminance() < 0.3 { WHITE } else { BLACK };
    let others = cell.transient + cell.diverged + cell.failed + cell.stopped;
    let median = match cell.median_step {
        Some(step) => format!("<span>median @ {step}</span>"),
        None if others == 0 => "<span>healthy</span>".to_string(),
        None => String::new(),
    };
    let extras: Vec<String> = [
        (cell.transient, "transient"),
        (cell.diverged, "diverged"),
        (cell.failed, "failed"),
        (cell.stopped, "stopped"),
    ]
    .iter()
    .filter(|(n, _)| *n > 0)
    .map(|(n, what)| format!("{n} {what}"))
    .collect();
    let extra = if extras.is_empty() { String::new() } else { format!("<span>{}</span>", extras.join(" · ")) };
    // Stripes inside the left and right edges flag diverged and transient runs at a glance.
    let mut stripes = Vec::new();
    if cell.diverged > 0 {
        stripes.push(format!("inset 7px 0 0 {}", REDDISH_PURPLE.hex()));
    }
    if cell.transient > 0 {
        stripes.push(format!("inset -7px 0 0 {}", ORANGE.hex()));
    }
    let shadow = if stripes.is_empty() { String::new() } else { format!(";box-shadow:{}", stripes.join(",")) };
    format!(
        "<td class=\"cell\" style=\"background:{};color:{}{shadow}\" title=\"{} of {} runs collapsed for good\">\
         <b>{}/{}</b>{median}{extra}</td>",
        fill.hex(),
        ink.hex(),
        cell.collapsed,
        cell.runs,
        cell.collapsed,
        cell.runs
    )
}

/// The collapse map section of the index: heading, how to read it, and every map.
pub fn maps_section(swept_keys: &[String], runs: &[&RunSummary]) -> String {
    let mut html = String::from(
        "<h2>Collapse map</h2>\n<p class=\"key\">Each cell: runs that collapsed for good / runs with \
         those settings (aggregated over seeds and the other axes), the median collapse step, and \
         runs that recovered (transient), diverged, failed or stopped. Colour: share collapsed, \
         <span class=\"ramp\"></span> 0 → 100%. A stripe on a cell's left edge \
         <span class=\"sw area\" style=\"background:#CC79A7;opacity:1;width:.4rem\"></span>: some runs \
         diverged; on its right edge <span class=\"sw area\" style=\"background:#E69F00;opacity:1;width:.4rem\"></span>: \
         some recovered.</p>\n",
    );
    for map in collapse_maps(swept_keys, runs) {
        html.push_str(&map_html(&map));
    }
    html
}

#[cfg(test)]
#[path = "map_tests.rs"]
mod tests;
