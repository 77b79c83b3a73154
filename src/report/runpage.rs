//! A run's page (`runs/RUN_ID/index.html`): how it ended, the diagnosis with its evidence,
//! every plot (each marking the collapse), and the resolved config.

use std::fmt::Write;

use super::html::{figure_html, page_end, page_head};
use super::index::status_text;
use super::text::{escape, fmt_sig, step_text, swept_text};
use super::Figure;
use crate::detect::diagnose::Diagnosis;
use crate::summary::RunSummary;

/// The page of one run of the sweep `sweep_name`, at `runs/RUN_ID/index.html` of its folder.
pub fn run_page(summary: &RunSummary, config_toml: &str, figures: &[Figure], sweep_name: &str) -> String {
    let mut page = page_head(&format!("run {}", summary.run_id));
    let _ = write!(
        page,
        "<p><a href=\"../../index.html\">&larr; sweep {}</a></p>\n<h1>run {}</h1>\n<p class=\"lead\">{}</p>\n",
        escape(sweep_name),
        escape(&summary.run_id),
        escape(&swept_text(&summary.swept)),
    );
    page.push_str(&facts(summary));
    page.push_str(&diagnosis_section(&summary.diagnosis));
    page.push_str("<h2>Over steps</h2>\n<div class=\"figs\">\n");
    for figure in figures {
        page.push_str(&figure_html(figure));
    }
    let _ = write!(page, "</div>\n<h2>Resolved config</h2>\n<pre>{}</pre>\n", escape(config_toml));
    page.push_str(&page_end());
    page
}

fn facts(s: &RunSummary) -> String {
    let facts: [(&str, String); 7] = [
        ("status", status_text(s)),
        ("collapse_step", step_text(s.collapse_step)),
        ("recovered", s.recovered.to_string()),
        ("peak_pred_std", fmt_sig(s.peak_pred_std)),
        ("final_pred_std", fmt_sig(s.final_pred_std)),
        ("steps_done", s.steps_done.to_string()),
        ("wall_s", fmt_sig(s.wall_s)),
    ];
    let mut html = format!("<dl class=\"facts {}\">\n", super::index::status_class(s));
    for (label, value) in facts {
        let _ = writeln!(html, "<dt>{label}</dt><dd>{}</dd>", escape(&value));
    }
    html.push_str("</dl>\n");
    html
}

/// The cause, the one-line text, and each piece of evidence the diagnosis found.
fn diagnosis_section(d: &Diagnosis) -> String {
    let mut html = format!("<h2>Diagnosis: {}</h2>\n<p>{}</p>\n", escape(d.cause.as_str()), escape(&d.text));
    let number = |x: Option<f64>| x.map(fmt_sig);
    let step = |x: Option<i64>| x.map(|s| s.to_string());
    let evidence: [(&str, Option<String>); 10] = [
        ("first layer to lose its diversity", d.first_dead_layer.clone()),
        ("… from step", step(d.dead_step)),
        ("prediction once collapsed (pred_mean)", number(d.pred_constant)),
        ("sigmoid(output bias)", number(d.bias_output)),
        ("label mean", number(d.label_mean)),
        ("largest update before the collapse, step", step(d.spike_step)),
        ("… its size / earlier median", number(d.spike_ratio)),
        ("saturated share of logits", number(d.saturated_frac)),
        ("parameters without gradient at step 0", d.frozen_params.map(|n| n.to_string())),
        ("first non-finite step", step(d.diverged_step)),
    ];
    let present: Vec<_> = evidence.iter().filter_map(|(label, v)| v.as_ref().map(|v| (label, v))).collect();
    if !present.is_empty() {
        html.push_str("<dl>\n");
        for (label, value) in present {
            let _ = writeln!(html, "<dt>{label}</dt><dd>{}</dd>", escape(value));
        }
        html.push_str("</dl>\n");
    }
    html
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::diagnose::Cause;
    use crate::report::{Figure, LegendEntry};
    use crate::summary::Status;

    const EVIL: &str = "<script>alert(1)</script>";

    fn summary() -> RunSummary {
        RunSummary {
            run_id: "r1a2".into(),
            swept: vec![("optim.lr".into(), EVIL.into())],
            status: Status::Collapsed,
            collapse_step: Some(1800),
            recovered: true,
            diagnosis: Diagnosis {
                cause: Cause::DeadRelu,
                first_dead_layer: Some("head_0".into()),
                dead_step: Some(1790),
                text: EVIL.into(),
                ..Diagnosis::default()
            },
            peak_pred_std: 0.23,
            final_pred_std: 6.1e-7,
            steps_done: 3000,
            wall_s: 12.5,
            fit_corr: f64::NAN,
            fit_mse: f64::NAN,
        }
    }

    #[test]
    fn shows_facts_evidence_figures_and_escaped_config() {
        let fig = Figure {
            title: "Loss".into(),
            legend: Vec::<LegendEntry>::new(),
            svg: "<svg id=\"l\"></svg>".into(),
            wide: false,
        };
        let config = "[optim]\nlr = 0.01\nname = \"<b>&'x'\"\n";
        let page = run_page(&summary(), config, &[fig], "lr & phi");
        assert!(page.contains("<h1>run r1a2</h1>"));
        assert!(page.contains("<a href=\"../../index.html\">&larr; sweep lr &amp; phi</a>"));
        assert!(page.contains("<pre>[optim]\nlr = 0.01\nname = &quot;&lt;b&gt;&amp;&#39;x&#39;&quot;\n</pre>"));
        assert!(page.contains("<dd>collapsed (recovered)</dd>") && page.contains("<dd>1800</dd>"));
        assert!(page.contains("<dd>6.1e-7</dd>") && page.contains("<h2>Diagnosis: dead_relu</h2>"));
        assert!(page.contains("<dd>head_0</dd>") && page.contains("<dd>1790</dd>"));
        assert!(!page.contains("sigmoid(output bias)</dt>"), "absent evidence is left out");
        assert!(page.contains("<figcaption>Loss</figcaption>") && page.contains("<svg id=\"l\"></svg>"));
        assert!(!page.contains(EVIL) && page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    }

    #[test]
    fn no_collapse_shows_a_dash() {
        let mut s = summary();
        (s.status, s.collapse_step, s.recovered) = (Status::Ok, None, false);
        let page = run_page(&s, "", &[], "sweep");
        assert!(page.contains("<dt>collapse_step</dt><dd>—</dd>") && page.contains("<dd>ok</dd>"));
    }
}
