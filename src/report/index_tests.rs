//! Tests of `index`: header, table, cards, filter hooks and escaping.

use super::*;
use crate::detect::diagnose::Diagnosis;

const EVIL: &str = "<script>alert(1)</script>";

fn run(run_id: &str, status: Status, collapse_step: Option<i64>, recovered: bool) -> RunSummary {
    RunSummary {
        run_id: run_id.to_string(),
        swept: vec![("optim.lr".into(), "0.01".into()), ("schedule.kind".into(), "cosine".into())],
        status,
        collapse_step,
        recovered,
        diagnosis: Diagnosis { text: "head_0 died first".into(), ..Diagnosis::default() },
        peak_pred_std: 0.23,
        final_pred_std: 6.1e-7,
        steps_done: 3000,
        wall_s: 12.5,
        fit_corr: f64::NAN,
        fit_mse: f64::NAN,
    }
}

fn keys() -> Vec<String> {
    vec!["optim.lr".into(), "schedule.kind".into()]
}

#[test]
fn header_counts_each_status() {
    let runs: Vec<(RunSummary, String)> = [
        run("a", Status::Ok, None, false),
        run("b", Status::Ok, None, false),
        run("c", Status::Collapsed, Some(1800), false),
        run("d", Status::Collapsed, Some(200), true),
        run("e", Status::Collapsed, Some(0), true),
        run("f", Status::Diverged, None, false),
        run("g", Status::Failed, None, false),
        run("h", Status::Stopped, None, false),
        run("i", Status::Stopped, None, false),
    ]
    .into_iter()
    .map(|r| (r, "<svg></svg>".to_string()))
    .collect();
    let page = sweep_index("lr sweep", &keys(), &runs);
    assert!(page.contains("9 runs: 2 ok, 3 collapsed (2 recovered), 1 diverged, 1 failed, 2 stopped"));
    assert!(page.contains("<b>optim.lr</b> (1 value: 0.01) × <b>schedule.kind</b> (1 value: cosine)"));
    assert_eq!(page.matches("<tr class=\"st-").count(), 9);
    assert_eq!(page.matches("<div class=\"card st-").count(), 9);
    assert_eq!(page.matches("class=\"st-transient\"").count(), 2);
    let page = sweep_index("empty", &keys(), &[]);
    assert!(page.contains("0 runs: 0 ok, 0 collapsed (0 recovered), 0 diverged, 0 failed, 0 stopped"));
}

#[test]
fn index_has_map_table_filter_links_and_plots() {
    let runs = vec![
        (run("r1a2", Status::Collapsed, Some(1800), false), "<svg id=\"p1\"></svg>".into()),
        (run("r3b4", Status::Ok, None, false), "<svg id=\"p2\"></svg>".into()),
    ];
    let page = sweep_index("lr sweep", &keys(), &runs);
    assert!(page.starts_with("<!DOCTYPE html>") && page.trim_end().ends_with("</html>"));
    assert!(page.contains("<title>lr sweep</title>") && page.contains("<h1>lr sweep</h1>"));
    assert!(page.contains("<h2>Collapse map</h2>") && page.contains("<caption>optim.lr × schedule.kind</caption>"));
    assert!(page.contains("<input type=\"search\" id=\"filter\""));
    assert!(page.contains(
        "data-run=\"r1a2\" data-filter=\"optim.lr=0.01 schedule.kind=cosine status=collapsed cause=healthy\""
    ));
    assert!(page.contains("<a href=\"runs/r1a2/index.html\">r1a2</a>") && page.contains("id=\"card-r1a2\""));
    assert!(page.contains("<td class=\"num\" data-sort=\"\">—</td>"), "no collapse renders —");
    assert!(page.contains(">1800</td>") && page.contains(">6.1e-7</td>") && page.contains(">0.23</td>"));
    let header_order = ["run_id", "optim.lr", "schedule.kind", "status", "collapse_step", "cause", "peak_pred_std"];
    let positions: Vec<usize> = header_order.iter().map(|h| page.find(&format!(">{h}</th>")).unwrap()).collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{positions:?}");
    assert!(page.contains("<th data-type=\"num\">optim.lr</th><th data-type=\"text\">schedule.kind</th>"));
    assert!(page.contains("<svg id=\"p1\"></svg>") && page.contains("<svg id=\"p2\"></svg>"));
    assert!(!page.contains("http://") && !page.contains("https://") && !page.contains(" src="));
}

#[test]
fn a_failed_run_without_a_cause_shows_a_dash() {
    let failed = run("f", Status::Failed, None, false);
    assert_eq!(cause_text(&failed), "—");
    let mut diverged = run("d", Status::Failed, None, false);
    diverged.diagnosis.cause = Cause::Diverged;
    assert_eq!(cause_text(&diverged), "diverged");
    assert_eq!(cause_text(&run("o", Status::Ok, None, false)), "healthy");
}

#[test]
fn index_escapes_every_data_string() {
    let mut evil = run(EVIL, Status::Failed, None, false);
    evil.swept = vec![(EVIL.into(), EVIL.into())];
    evil.diagnosis.text = EVIL.into();
    let page = sweep_index(EVIL, &[EVIL.to_string()], &[(evil, "<svg></svg>".into())]);
    assert!(!page.contains(EVIL));
    assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(page.contains("href=\"runs/%3Cscript%3Ealert%281%29%3C%2Fscript%3E/index.html\""));
}
