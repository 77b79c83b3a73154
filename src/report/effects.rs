//! The "what avoids collapse" part of the sweep index: the remedies table (one row per
//! `[[sweep.variant]]`, best first, the baseline marked) and the parameter-effect table (each
//! swept key's values side by side). The numbers come from [`crate::analysis`]; this only
//! renders them.

use std::fmt::Write;

use super::html::{number_cell, step_cell};
use super::text::escape;
use crate::analysis::{effects, remedies, LevelRow};
use crate::summary::RunSummary;

/// Both tables as HTML, or an empty string when there is nothing to compare.
pub fn analysis_section(swept_keys: &[String], runs: &[&RunSummary]) -> String {
    let owned: Vec<RunSummary> = runs.iter().map(|r| (*r).clone()).collect();
    let mut html = String::new();
    let rem = remedies(&owned);
    if rem.len() >= 2 {
        html.push_str(
            "<h2>What avoids the collapse</h2>\n<p class=\"key\">One row per variant, best first: share of runs that \
             collapsed for good or diverged (± binomial standard error over seeds), transient collapses, median \
             collapse step, and the fit of the runs that did not fail (correlation of predictions with labels and \
             squared error per token over the last tenth of training). The first variant listed in the experiment \
             is the baseline.</p>\n",
        );
        let baseline = owned.iter().find_map(|r| r.swept.iter().find(|(k, _)| k == "variant").map(|(_, v)| v.clone()));
        html.push_str(&table(&rem, "variant", baseline.as_deref()));
    }
    let eff = effects(swept_keys, &owned);
    if !eff.is_empty() {
        html.push_str(
            "<h2>Parameter effects</h2>\n<p class=\"key\">For each swept key, each value against the others, over \
             all seeds and other keys: a direct comparison, not a model.</p>\n",
        );
        html.push_str(&table(&eff, "key", None));
    }
    html
}

fn table(rows: &[LevelRow], first: &str, baseline: Option<&str>) -> String {
    let mut t = format!(
        "<div class=\"scroll\">\n<table class=\"sortable effects\">\n<thead><tr>{}<th data-type=\"text\">value</th>\
         <th data-type=\"num\">runs</th><th data-type=\"num\">failed</th><th data-type=\"num\">failed share</th>\
         <th data-type=\"num\">± s.e.</th><th data-type=\"num\">transient</th><th data-type=\"num\">median collapse \
         step</th><th data-type=\"num\">fit corr</th><th data-type=\"num\">fit mse/token</th></tr></thead>\n<tbody>\n",
        if first == "key" { "<th data-type=\"text\">key</th>" } else { "" }
    );
    for r in rows {
        let is_base = baseline == Some(r.value.as_str());
        let _ = write!(t, "<tr{}>", if is_base { " class=\"baseline\"" } else { "" });
        if first == "key" {
            let _ = write!(t, "<td>{}</td>", escape(&r.key));
        }
        let label = if is_base { format!("{} (baseline)", escape(&r.value)) } else { escape(&r.value) };
        let _ = writeln!(
            t,
            "<td>{label}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>{}{}<td class=\"num\">{}</td>{}{}{}</tr>",
            r.runs,
            r.failed,
            number_cell(r.failed_share),
            number_cell(r.failed_se),
            r.transient,
            step_cell(r.median_collapse_step),
            number_cell(r.fit_corr),
            number_cell(r.fit_mse),
        );
    }
    t.push_str("</tbody>\n</table>\n</div>\n");
    t
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::diagnose::Diagnosis;
    use crate::summary::Status;

    fn run(variant: &str, status: Status) -> RunSummary {
        RunSummary {
            run_id: format!("{variant}{status}"),
            swept: vec![("variant".into(), variant.into()), ("seed".into(), "0".into())],
            status,
            collapse_step: (status == Status::Collapsed).then_some(40),
            recovered: false,
            diagnosis: Diagnosis::default(),
            peak_pred_std: 0.3,
            final_pred_std: 0.2,
            steps_done: 100,
            wall_s: 1.0,
            fit_corr: 0.5,
            fit_mse: 0.02,
        }
    }

    #[test]
    fn remedies_table_lists_variants_best_first_and_marks_the_baseline_escaped() {
        let runs = [run("<b>base</b>", Status::Collapsed), run("clip", Status::Ok)];
        let refs: Vec<&RunSummary> = runs.iter().collect();
        let html = analysis_section(&["variant".into(), "seed".into()], &refs);
        assert!(html.contains("What avoids the collapse"));
        let clip = html.find("<td>clip</td>").unwrap();
        let base = html.find("&lt;b&gt;base&lt;/b&gt; (baseline)").unwrap();
        assert!(clip < base, "best first");
        assert!(!html.contains("<b>base</b>"));
    }

    #[test]
    fn nothing_to_compare_renders_nothing() {
        let runs = [run("a", Status::Ok)];
        let refs: Vec<&RunSummary> = runs.iter().collect();
        assert_eq!(analysis_section(&["seed".into()], &refs), "");
    }
}
