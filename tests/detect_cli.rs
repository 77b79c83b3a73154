//! `harness detect` on logs written by other tools.

mod common;
use common::{harness, stderr, stdout};
use std::fmt::Write as _;

fn write(dir: &std::path::Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.to_str().unwrap().to_string()
}

fn json(args: &[&str]) -> serde_json::Value {
    let o = harness(args);
    assert!(o.status.success(), "{}", stderr(&o));
    serde_json::from_str(&stdout(&o)).unwrap()
}

/// The seed's printout: a row every 100 steps, 0.23 up to step 1700, 6e-7 from 1800 to 18,700.
fn seed_log() -> String {
    let mut s = String::from("step,loss,max,min,pred_std\n");
    for step in (0..=18_700).step_by(100) {
        let (loss, std) = if step <= 1700 { (-19.0, 0.23) } else { (1.7, 6e-7) };
        writeln!(s, "{step},{loss},0.7,0.02,{std}").unwrap();
    }
    s
}

#[test]
fn the_seeds_sparse_log_collapses_at_1800() {
    let tmp = tempfile::tempdir().unwrap();
    let f = write(tmp.path(), "seed.csv", &seed_log());
    let v = json(&["detect", &f, "--json"]);
    assert_eq!(v["collapsed"], true);
    assert_eq!(v["collapse_step"], 1800);
    assert_eq!(v["recovered"], false);
    assert_eq!(v["peak_std"], 0.23);
    assert!((v["floor"].as_f64().unwrap() - 2.3e-4).abs() < 1e-12);
    let human = stdout(&harness(&["detect", &f]));
    assert!(human.contains("COLLAPSED at step 1800"), "{human}");
}

#[test]
fn a_30_step_dip_that_recovers_is_not_a_collapse() {
    let tmp = tempfile::tempdir().unwrap();
    let mut s = String::from("step,pred_std\n");
    for step in 0..1000 {
        let std = if (400..430).contains(&step) { 1e-7 } else { 0.2 };
        writeln!(s, "{step},{std}").unwrap();
    }
    let v = json(&["detect", &write(tmp.path(), "dip.csv", &s), "--json"]);
    assert_eq!(v["collapsed"], false);
    assert_eq!(v["collapse_step"], serde_json::Value::Null);
    assert_eq!(v["dips"], 1);
}

#[test]
fn custom_columns_row_index_unsorted_and_duplicate_steps() {
    let tmp = tempfile::tempdir().unwrap();
    // No step column: the row index is the step.
    let mut s = String::from("spread\n");
    for i in 0..500 {
        writeln!(s, "{}", if i < 200 { 0.3 } else { 1e-8 }).unwrap();
    }
    let v = json(&["detect", &write(tmp.path(), "nostep.csv", &s), "--std-col", "spread", "--json"]);
    assert_eq!(v["collapse_step"], 200);
    // Rows out of order, and step 300 logged twice (the last row wins).
    let s = "it,sd\n300,0.2\n0,0.2\n100,0.2\n200,0.2\n300,1e-9\n400,1e-9\n500,1e-9\n";
    let f = write(tmp.path(), "shuffled.csv", s);
    let v = json(&["detect", &f, "--step-col", "it", "--std-col", "sd", "--json"]);
    assert_eq!(v["collapse_step"], 300);
    assert_eq!(v["rows"], 6);
}

#[test]
fn parquet_logs_and_our_own_metrics_files_work() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().to_str().unwrap();
    let o =
        harness(&["sweep", "experiments/smoke.toml", "--out", out, "sweep.grid.seed=[0]", "sweep.grid.loss.phi=[0.0]"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let runs = tmp.path().join("smoke/runs");
    let run = std::fs::read_dir(&runs).unwrap().next().unwrap().unwrap().path();
    let v = json(&["detect", run.join("metrics.parquet").to_str().unwrap(), "--json"]);
    assert_eq!(v["rows"], 150);
    assert!(v["cause"].is_string());
}

#[test]
fn bad_logs_exit_2_with_file_line_and_column() {
    let tmp = tempfile::tempdir().unwrap();
    let cases: &[(&str, &str, &[&str], &str)] = &[
        (
            "text.csv",
            "step,pred_std\n0,0.2\n100,0.1\n200,abc\n",
            &[],
            "line 4: column \"pred_std\": \"abc\" is not a number",
        ),
        ("nostd.csv", "step,loss\n0,1\n", &[], "no column \"pred_std\""),
        ("badstep.csv", "step,pred_std\n0,0.2\n1.5,0.2\n", &[], "line 3: column \"step\""),
        ("named.csv", "pred_std\n0.2\n", &["--step-col", "iter"], "no column \"iter\""),
        ("empty.csv", "step,pred_std\n", &[], "no rows"),
        ("log.txt", "step,pred_std\n0,0.2\n", &[], "expected a .csv or .parquet"),
        ("ok.csv", "step,pred_std\n0,0.2\n", &["--patience", "0"], "--patience"),
    ];
    for (name, text, extra, want) in cases {
        let f = write(tmp.path(), name, text);
        let mut args = vec!["detect", f.as_str()];
        args.extend_from_slice(extra);
        let o = harness(&args);
        assert_eq!(o.status.code(), Some(2), "{name}: {}", stderr(&o));
        assert!(stderr(&o).contains(want), "{name}: {}", stderr(&o));
    }
    let o = harness(&["detect", "/nonexistent.csv"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
}
