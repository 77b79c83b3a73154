//! The page of `harness compare`: pred_std and loss of every run overlaid on one step axis
//! (one colour per run, its collapse marked in that colour), and one table with a row per run
//! holding the config keys whose values differ between the runs and how each run ended.

use std::fmt::Write;

use anyhow::Result;

use super::compare::CompareRun;
use super::html::{figure_html, number_cell, page_end, page_head, step_cell, swatch};
use super::index::{cause_text, status_class, status_text};
use super::palette::run_style;
use super::plots::{render, Chart, Line, Marker, Scale};
use super::text::escape;
use super::{Figure, LegendEntry, Mark};

/// Size of an overlay plot.
const OVERLAY: (u32, u32) = (1100, 360);
/// Overlays with more runs than this get no key above the plot (the table is the key).
const MAX_KEYED_RUNS: usize = 16;
/// Above this many runs the page says that overlays get dense.
const DENSE_RUNS: usize = 8;
/// Collapse markers are numbered when there are at most this many runs.
const MAX_LABELLED_MARKERS: usize = 4;

/// The comparison page; `inputs` are the folders as given on the command line.
pub fn compare_page(runs: &[CompareRun], inputs: &[String]) -> Result<String> {
    let mut page = page_head(&format!("compare {} runs", runs.len()));
    let _ = writeln!(page, "<h1>Comparing {} runs</h1>", runs.len());
    let listed: Vec<String> = inputs.iter().map(|i| format!("<code>{}</code>", escape(i))).collect();
    let _ = writeln!(page, "<p class=\"lead\">From {}.</p>", listed.join(", "));
    let keys = differing_keys(runs);
    let all_keys = runs.iter().flat_map(|r| r.config.iter().map(|(k, _)| k)).collect::<std::collections::HashSet<_>>();
    let _ = writeln!(
        page,
        "<h2>Runs and what differs</h2>\n<p class=\"key\">{} of {} config keys differ between these runs; \
         the others are the same in every run. Click a column header to sort.</p>",
        keys.len(),
        all_keys.len()
    );
    page.push_str(&table(runs, &keys));
    page.push_str("<h2>Overlaid by step</h2>\n");
    if runs.len() > DENSE_RUNS {
        page.push_str(
            "<p class=\"key\">Many runs make dense overlays: name a few run folders to compare them \
             closely; the sweep index shows each run on its own.</p>\n",
        );
    }
    page.push_str("<div class=\"figs\">\n");
    page.push_str(&figure_html(&overlay(runs, "pred_std", "prediction std", Scale::Log)?));
    page.push_str(&figure_html(&overlay(runs, "loss", "loss", Scale::Auto)?));
    page.push_str("</div>\n");
    page.push_str(&page_end());
    Ok(page)
}

/// Config keys (in order of first appearance) whose value is not the same in every run; a key
/// missing from some runs differs.
pub fn differing_keys(runs: &[CompareRun]) -> Vec<String> {
    let mut keys: Vec<&String> = Vec::new();
    for (key, _) in runs.iter().flat_map(|r| &r.config) {
        if !keys.contains(&key) {
            keys.push(key);
        }
    }
    keys.into_iter()
        .filter(|key| {
            let mut values = runs.iter().map(|r| config_value(r, key));
            let first = values.next().flatten();
            values.any(|v| v != first)
        })
        .cloned()
        .collect()
}

fn config_value<'a>(run: &'a CompareRun, key: &str) -> Option<&'a str> {
    run.config.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

fn table(runs: &[CompareRun], keys: &[String]) -> String {
    let mut html = String::from(
        "<div class=\"scroll\">\n<table class=\"sortable\">\n<thead><tr><th data-type=\"num\">#</th>\
         <th data-type=\"text\">run</th>",
    );
    for key in keys {
        let numeric = runs.iter().all(|r| config_value(r, key).is_none_or(|v| v.parse::<f64>().is_ok()));
        let _ = write!(html, "<th data-type=\"{}\">{}</th>", if numeric { "num" } else { "text" }, escape(key));
    }
    html.push_str(
        "<th data-type=\"text\">status</th><th data-type=\"num\">collapse_step</th><th data-type=\"text\">cause</th>\
         <th data-type=\"num\">peak_pred_std</th><th data-type=\"num\">final_pred_std</th>\
         <th data-type=\"text\">diagnosis</th></tr></thead>\n<tbody>\n",
    );
    for (n, run) in runs.iter().enumerate() {
        let (colour, dashed) = run_style(n);
        let mark = if dashed { Mark::Dashed } else { Mark::Line };
        let s = &run.summary;
        let _ = write!(
            html,
            "<tr class=\"{}\"><td class=\"nowrap\" data-sort=\"{}\">{}{}</td><td>{}</td>",
            status_class(s),
            n + 1,
            swatch(colour, mark),
            n + 1,
            escape(&run.label)
        );
        for key in keys {
            let _ = write!(html, "<td>{}</td>", escape(config_value(run, key).unwrap_or("—")));
        }
        let _ = writeln!(
            html,
            "<td>{}</td>{}<td>{}</td>{}{}<td class=\"wrap\">{}</td></tr>",
            status_text(s),
            step_cell(s.collapse_step),
            cause_text(s),
            number_cell(s.peak_pred_std),
            number_cell(s.final_pred_std),
            escape(&s.diagnosis.text)
        );
    }
    html.push_str("</tbody>\n</table>\n</div>\n");
    html
}

/// One column of every run on one plot, each run in its own colour, its collapse marked.
fn overlay(runs: &[CompareRun], column: &str, y_desc: &str, scale: Scale) -> Result<Figure> {
    let mut chart = Chart::new(y_desc, scale, OVERLAY);
    let mut legend = Vec::new();
    for (n, run) in runs.iter().enumerate() {
        let (colour, dashed) = run_style(n);
        if let Some(values) = run.columns.get(column) {
            let label = format!("{} {}", n + 1, run.label);
            chart.lines.push(Line { label: label.clone(), steps: &run.columns.step, values, colour, dashed });
            legend.push(LegendEntry { label, colour, mark: if dashed { Mark::Dashed } else { Mark::Line } });
        }
        if let Some(step) = run.summary.collapse_step {
            let label = if runs.len() <= MAX_LABELLED_MARKERS { format!("{} @ {step}", n + 1) } else { String::new() };
            chart.markers.push(Marker { step, label, colour });
        }
    }
    if legend.len() > MAX_KEYED_RUNS {
        legend.clear();
    }
    let title = format!("{column} of every run (dashed verticals: each run's collapse, in its colour)");
    Ok(Figure { title, legend, svg: render(&chart)?, wide: true })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::diagnose::Diagnosis;
    use crate::report::StepColumns;
    use crate::summary::{RunSummary, Status};

    const EVIL: &str = "<script>alert(1)</script>";

    fn run(label: &str, config: &[(&str, &str)], collapse_step: Option<i64>) -> CompareRun {
        let steps: Vec<i64> = (0..300).collect();
        let std = steps.iter().map(|&s| if collapse_step.is_some_and(|c| s >= c) { 1e-7 } else { 0.2 }).collect();
        let loss = steps.iter().map(|&s| 10.0 - s as f64 * 0.01).collect();
        CompareRun {
            label: label.into(),
            summary: RunSummary {
                run_id: label.into(),
                swept: vec![],
                status: if collapse_step.is_some() { Status::Collapsed } else { Status::Ok },
                collapse_step,
                recovered: false,
                diagnosis: Diagnosis { text: EVIL.into(), ..Diagnosis::default() },
                peak_pred_std: 0.2,
                final_pred_std: 1e-7,
                steps_done: 300,
                wall_s: 1.0,
                fit_corr: f64::NAN,
                fit_mse: f64::NAN,
            },
            config: config.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            columns: StepColumns { step: steps, columns: vec![("pred_std".into(), std), ("loss".into(), loss)] },
        }
    }

    #[test]
    fn differing_keys_table() {
        let a = run("a", &[("seed", "0"), ("optim.lr", "0.01"), ("loss.phi", "0")], None);
        let b = run("b", &[("seed", "0"), ("optim.lr", "0.02"), ("loss.phi", "0")], None);
        let c = run("c", &[("seed", "0"), ("optim.lr", "0.01")], None);
        assert_eq!(differing_keys(&[a.clone(), b.clone()]), vec!["optim.lr"]);
        assert_eq!(differing_keys(&[a.clone(), c]), vec!["loss.phi"], "missing in one run differs");
        assert!(differing_keys(&[a.clone(), a.clone()]).is_empty());
        assert!(differing_keys(&[a]).is_empty());
    }

    #[test]
    fn page_shows_only_differing_keys_collapses_and_escapes() {
        let runs = [
            run("s/a", &[("seed", "0"), ("schedule.kind", EVIL)], Some(150)),
            run("s/b", &[("seed", "0"), ("schedule.kind", "cosine")], None),
        ];
        let page = compare_page(&runs, &[EVIL.to_string()]).unwrap();
        assert!(page.contains("<h1>Comparing 2 runs</h1>") && page.contains("1 of 2 config keys differ"));
        assert!(page.contains(">schedule.kind</th>") && !page.contains(">seed</th>"));
        assert!(page.contains("1 @ 150") && page.contains("data-sort=\"150\">150</td>"));
        assert_eq!(page.matches("<svg").count(), 2);
        assert!(!page.contains(EVIL) && page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(!page.contains("href=\"http") && !page.contains(" src="), "no external assets");
    }

    #[test]
    fn many_runs_get_a_density_note_and_unlabelled_markers() {
        let runs: Vec<CompareRun> = (0..9).map(|n| run(&format!("s/{n}"), &[("seed", "0")], Some(100 + n))).collect();
        let page = compare_page(&runs, &["s".to_string()]).unwrap();
        assert!(page.contains("Many runs make dense overlays") && !page.contains("1 @ 100"));
        let few = compare_page(&runs[..2], &["s".to_string()]).unwrap();
        assert!(!few.contains("Many runs") && few.contains("1 @ 100") && few.contains("2 @ 101"));
    }
}
