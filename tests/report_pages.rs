//! End to end over fake sweep folders written with the real writers: `harness report` and
//! `harness compare` pages, escaping of strings from configs, exact collapse markers, and
//! compare's handling of its inputs.

mod common;
mod report_support;

use std::path::Path;
use std::process::{Command, Output};

use common::{harness, stderr, stdout};
use report_support::{evil_sweep, grid, write_sweep, Shape, EVIL, EVIL_ESCAPED};

fn run(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_harness")).args(args).current_dir(cwd).output().expect("harness runs")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn a_script_in_a_config_value_is_escaped_in_every_page() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("evil");
    evil_sweep(&root);
    let report = harness(&["report", root.to_str().unwrap()]);
    assert!(report.status.success(), "{}", stderr(&report));
    let compare_out = tmp.path().join("compare.html");
    let compare = run(&["compare", "evil/runs/evil", "evil/runs/plain", "--out", "compare.html"], tmp.path());
    assert!(compare.status.success(), "{}", stderr(&compare));
    let pages =
        [root.join("index.html"), root.join("runs/evil/index.html"), root.join("runs/plain/index.html"), compare_out];
    for page in &pages {
        let html = read(page);
        assert!(!html.contains(EVIL) && !html.contains("<script>alert"), "{} has the raw string", page.display());
        assert!(html.contains(EVIL_ESCAPED), "{} does not show the escaped string", page.display());
        assert_eq!(html.matches("<script>").count(), 1, "{}: only our own script", page.display());
    }
    let evil_page = read(&root.join("runs/evil/index.html"));
    assert!(evil_page.contains(&format!("kind = &quot;{EVIL_ESCAPED}&quot;")), "the config is shown, escaped");
    let compare = read(&tmp.path().join("compare.html"));
    assert!(compare.contains(&format!("<td>{EVIL_ESCAPED}</td>")), "the differing config value, escaped");
}

#[test]
fn every_run_plot_marks_the_exact_collapse_step() {
    let tmp = tempfile::tempdir().unwrap();
    let runs = grid(&[0.0, 30.0, 100.0], &[0.002, 0.01], &[0, 1], 1500);
    let dir = write_sweep(tmp.path(), "g", &["loss.phi", "optim.lr", "seed"], &runs);
    let report = harness(&["report", dir.root.to_str().unwrap()]);
    assert!(report.status.success(), "{}", stderr(&report));
    assert!(stdout(&report).starts_with("12 runs"), "{}", stdout(&report));
    let index = read(&dir.root.join("index.html"));
    assert!(index.contains("<caption>loss.phi × optim.lr</caption>"), "one map for the one pair of axes");
    for run in &runs {
        let page = read(&dir.run_dir(&run.id).join("index.html"));
        let figures: Vec<&str> = page.split("<figure").skip(1).collect();
        assert!(figures.len() >= 10, "{}: {} figures", run.id, figures.len());
        match run.shape {
            Shape::Collapse(step) => {
                for figure in &figures {
                    assert!(figure.contains(&format!("collapse @ {step}\n")), "{}: a figure lacks the marker", run.id);
                }
                assert!(page.contains(&format!("Around step {step}: steps {}..{}", step - 200, step + 200)));
            }
            Shape::Transient(step, _) => assert!(page.contains(&format!("transient collapse @ {step}\n"))),
            Shape::Diverge(step) => assert!(page.contains(&format!("diverged @ {step}\n")), "{}", run.id),
            Shape::Healthy => assert!(!page.contains("collapse @"), "{}", run.id),
        }
    }
}

#[test]
fn compare_takes_runs_and_sweeps_and_writes_compare_html_by_default() {
    let tmp = tempfile::tempdir().unwrap();
    let runs = grid(&[0.0, 100.0], &[0.01], &[0, 1], 400);
    write_sweep(&tmp.path().join("s"), "s", &["loss.phi", "optim.lr", "seed"], &runs);
    let o = run(&["compare", "s", "s/runs/r10s1"], tmp.path());
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("compared 4 runs: compare.html"), "a run named twice counts once: {}", stdout(&o));
    let page = read(&tmp.path().join("compare.html"));
    assert!(page.contains("<th data-type=\"num\">loss.phi</th>") && page.contains("<th data-type=\"num\">seed</th>"));
    assert!(!page.contains(">optim.lr</th>"), "a key equal in every run is not shown");
    assert_eq!(page.matches("<svg").count(), 2);
}

#[test]
fn compare_rejects_missing_and_foreign_folders_with_exit_2() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir(tmp.path().join("plain")).unwrap();
    let cases = [("missing", "missing: no such folder"), ("plain", "plain: neither a run folder")];
    for (arg, message) in cases {
        let o = run(&["compare", arg], tmp.path());
        assert_eq!(o.status.code(), Some(2), "{arg}: {}", stderr(&o));
        assert_eq!(stderr(&o).lines().count(), 1, "one line: {}", stderr(&o));
        assert!(stderr(&o).contains(message), "{}", stderr(&o));
    }
    assert!(!tmp.path().join("compare.html").exists());
}
