//! The sweep index page (`reports/NAME/index.html`): what was swept and how the runs ended,
//! the collapse maps, a sortable and filterable table of runs, and small multiples of every
//! run's pred_std coloured by status.

use std::fmt::Write;

use super::effects::analysis_section;
use super::html::{legend_html, number_cell, page_end, page_head, step_cell};
use super::map::{axis_values, maps_section};
use super::palette::{BLUISH_GREEN, ORANGE, REDDISH_PURPLE, SKY_BLUE, VERMILLION};
use super::text::{escape, run_href, swept_text};
use super::{LegendEntry, Mark};
use crate::detect::diagnose::Cause;
use crate::summary::{status_counts, RunSummary, Status};

/// Values of a swept key listed in the header before "…".
const MAX_LISTED_VALUES: usize = 8;

/// The index page. `swept_keys` are the dotted swept keys in grid order; each run comes with
/// its thumbnail SVG.
pub fn sweep_index(name: &str, swept_keys: &[String], runs: &[(RunSummary, String)]) -> String {
    let summaries: Vec<&RunSummary> = runs.iter().map(|(s, _)| s).collect();
    let mut page = page_head(name);
    let _ = writeln!(page, "<h1>{}</h1>", escape(name));
    let _ = writeln!(page, "<p class=\"lead\">{}</p>", swept_line(swept_keys, &summaries));
    let _ = writeln!(page, "<p class=\"lead\"><b>{}</b></p>", status_counts(&summaries));
    page.push_str(&maps_section(swept_keys, &summaries));
    page.push_str(&analysis_section(swept_keys, &summaries));
    page.push_str(
        "<h2>Runs</h2>\n<p><input type=\"search\" id=\"filter\" placeholder=\"filter, e.g. collapsed \
         loss.phi=100 dead_relu\" aria-label=\"filter runs\"> <span id=\"filter-count\" class=\"key\"></span></p>\n\
         <p class=\"key\">Click a column header to sort.</p>\n",
    );
    page.push_str(&run_table(swept_keys, &summaries));
    page.push_str("<h2>Prediction std per run</h2>\n<p class=\"key\">pred std over steps (log axis), coloured by status; dashed vermillion: detected collapse.</p>\n");
    page.push_str(&legend_html(&status_key()));
    page.push_str("<div class=\"grid\">\n");
    for (summary, svg) in runs {
        let _ = write!(
            page,
            "<div class=\"card {}\" id=\"card-{}\">\n<p><a href=\"{}\"><b>{}</b></a> &middot; {}{}</p>\n<p>{}</p>\n{svg}\n</div>\n",
            status_class(summary),
            escape(&summary.run_id),
            escape(&run_href(&summary.run_id)),
            escape(&summary.run_id),
            status_text(summary),
            summary.collapse_step.map(|s| format!(" @ {s}")).unwrap_or_default(),
            escape(&swept_text(&summary.swept)),
        );
    }
    page.push_str("</div>\n");
    page.push_str(&page_end());
    page
}

/// "Swept: loss.phi (3 values: 0, 30, 100) × seed (3 values: 0, 1, 2)", escaped.
fn swept_line(swept_keys: &[String], runs: &[&RunSummary]) -> String {
    if swept_keys.is_empty() {
        return "Nothing swept: one configuration.".to_string();
    }
    let parts: Vec<String> = swept_keys
        .iter()
        .map(|key| {
            let values = axis_values(runs, key);
            let mut listed: Vec<String> = values.iter().take(MAX_LISTED_VALUES).map(|v| escape(v)).collect();
            if values.len() > MAX_LISTED_VALUES {
                listed.push("…".into());
            }
            let counted = if values.len() == 1 { "1 value".to_string() } else { format!("{} values", values.len()) };
            format!("<b>{}</b> ({counted}: {})", escape(key), listed.join(", "))
        })
        .collect();
    format!("Swept: {}", parts.join(" × "))
}

/// CSS class of a run's row and card: its status, or `st-transient` for a recovered collapse.
pub fn status_class(run: &RunSummary) -> String {
    if run.status == Status::Collapsed && run.recovered {
        "st-transient".to_string()
    } else {
        format!("st-{}", run.status.as_str())
    }
}

/// The diagnosed cause, or "—" for a failed run that has none (the failure is the story; its
/// reason is the diagnosis text).
pub fn cause_text(run: &RunSummary) -> &'static str {
    match (run.status, run.diagnosis.cause) {
        (Status::Failed, Cause::Healthy) => "—",
        (_, cause) => cause.as_str(),
    }
}

/// "collapsed", or "collapsed (recovered)" for a transient collapse.
pub fn status_text(run: &RunSummary) -> String {
    if run.status == Status::Collapsed && run.recovered {
        "collapsed (recovered)".to_string()
    } else {
        run.status.as_str().to_string()
    }
}

fn status_key() -> Vec<LegendEntry> {
    [
        ("ok", BLUISH_GREEN),
        ("collapsed", VERMILLION),
        ("collapsed, recovered", ORANGE),
        ("diverged", REDDISH_PURPLE),
        ("stopped", SKY_BLUE),
    ]
    .iter()
    .map(|&(label, colour)| LegendEntry { label: label.into(), colour, mark: Mark::Line })
    .collect()
}

/// The table columns after the swept keys, with how the script sorts them.
const RESULT_COLUMNS: [(&str, &str); 8] = [
    ("status", "text"),
    ("collapse_step", "num"),
    ("cause", "text"),
    ("peak_pred_std", "num"),
    ("final_pred_std", "num"),
    ("steps_done", "num"),
    ("wall_s", "num"),
    ("diagnosis", "text"),
];

/// Run id, swept values, then `RESULT_COLUMNS`; one row per run, tinted by status.
fn run_table(swept_keys: &[String], runs: &[&RunSummary]) -> String {
    let mut table =
        String::from("<div class=\"scroll\">\n<table class=\"sortable filterable runs\">\n<thead><tr><th data-type=\"text\">run_id</th>");
    for key in swept_keys {
        let numeric = runs.iter().all(|r| value(r, key).is_none_or(|v| v.parse::<f64>().is_ok()));
        let _ = write!(table, "<th data-type=\"{}\">{}</th>", if numeric { "num" } else { "text" }, escape(key));
    }
    for (column, sort_type) in RESULT_COLUMNS {
        let _ = write!(table, "<th data-type=\"{sort_type}\">{column}</th>");
    }
    table.push_str("</tr></thead>\n<tbody>\n");
    for run in runs {
        table.push_str(&run_row(swept_keys, run));
    }
    table.push_str("</tbody>\n</table>\n</div>\n");
    table
}

fn run_row(swept_keys: &[String], run: &RunSummary) -> String {
    let filter =
        format!("{} status={} cause={}", swept_text(&run.swept), run.status.as_str(), run.diagnosis.cause.as_str());
    let mut row = format!(
        "<tr class=\"{}\" data-run=\"{}\" data-filter=\"{}\"><td><a href=\"{}\">{}</a></td>",
        status_class(run),
        escape(&run.run_id),
        escape(&filter),
        escape(&run_href(&run.run_id)),
        escape(&run.run_id)
    );
    for key in swept_keys {
        let _ = write!(row, "<td>{}</td>", escape(value(run, key).unwrap_or("")));
    }
    let _ = writeln!(
        row,
        "<td>{}</td>{}<td>{}</td>{}{}<td class=\"num\">{}</td>{}<td class=\"wrap\">{}</td></tr>",
        status_text(run),
        step_cell(run.collapse_step),
        cause_text(run),
        number_cell(run.peak_pred_std),
        number_cell(run.final_pred_std),
        run.steps_done,
        number_cell(run.wall_s),
        escape(&run.diagnosis.text),
    );
    row
}

fn value<'a>(run: &'a RunSummary, key: &str) -> Option<&'a str> {
    run.swept.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

#[cfg(test)]
#[path = "index_tests.rs"]
mod tests;
