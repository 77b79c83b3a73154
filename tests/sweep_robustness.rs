//! Sweeps you can trust: SIGKILL at any moment loses nothing finished and leaves nothing that
//! looks complete but is not; resume finishes the rest; Ctrl-C stops gracefully; results do not
//! depend on `--jobs` or run order; early stop on collapse.

mod common;
use common::{harness, spawn, stderr, stdout};

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use harness::metrics::reader::MetricsTable;
use harness::sweep::files::SweepDir;
use polars::prelude::{DataFrame, DataType, ParquetReader, SerReader};

/// 8 runs of a small model, ~1 s each: long enough to be killed mid-way.
const GRID: [&str; 6] = [
    "model.hidden_size=32",
    "model.head_sizes=[16, 8, 4]",
    "train.steps=1500",
    "sweep.grid.seed=[0, 1, 2, 3]",
    "sweep.grid.loss.phi=[0.0, 100.0]",
    "detect.patience=50",
];

fn sweep_args<'a>(out: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut a = vec!["sweep", "experiments/smoke.toml", "--out", out];
    a.extend_from_slice(&GRID);
    a.extend_from_slice(extra);
    a
}

/// Every file that claims to be complete is: results parse, metrics read with one row per
/// step done, and no metrics file exists without being readable.
fn check_consistent(dir: &SweepDir) -> usize {
    let mut complete = 0;
    let Ok(entries) = std::fs::read_dir(dir.root.join("runs")) else { return 0 };
    for e in entries {
        let id = e.unwrap().file_name().to_string_lossy().into_owned();
        let metrics = dir.metrics(&id);
        let rows =
            metrics.exists().then(|| MetricsTable::read(&metrics).expect("a metrics.parquet is readable").rows());
        if dir.result(&id).exists() {
            let r = dir.read_result(&id).expect("a result.json parses");
            assert_eq!(rows, Some(r.steps_done as usize), "run {id}: rows = steps done");
            complete += usize::from(dir.is_complete(&id));
        }
    }
    complete
}

fn frame(path: &Path) -> DataFrame {
    ParquetReader::new(std::fs::File::open(path).unwrap()).finish().unwrap()
}

#[test]
fn sigkill_at_five_moments_then_resume_loses_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().to_str().unwrap();
    let dir = SweepDir::new(tmp.path().join("smoke"));
    let mut done_before = 0;
    for (i, ms) in [150u64, 600, 900, 1300, 1700, 2500].iter().enumerate() {
        let mut child = spawn(&sweep_args(out, &["--jobs", "2"]));
        std::thread::sleep(Duration::from_millis(*ms));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        let done = check_consistent(&dir);
        assert!(done >= done_before, "kill {i}: finished runs were lost ({done} < {done_before})");
        done_before = done;
    }
    let o = harness(&sweep_args(out, &["--resume", "--jobs", "2"]));
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(check_consistent(&dir), 8);
    let plan = stdout(&harness(&sweep_args(out, &["--dry-run"])));
    let want: BTreeSet<String> =
        plan.lines().skip(1).map(|l| l.split_whitespace().next().unwrap().to_string()).collect();
    let summary = frame(&dir.root.join("summary.parquet"));
    let got: Vec<String> =
        summary.column("run_id").unwrap().str().unwrap().iter().map(|s| s.unwrap().to_string()).collect();
    assert_eq!(got.len(), 8, "each run exactly once");
    assert_eq!(got.iter().cloned().collect::<BTreeSet<_>>(), want);
    for id in &got {
        assert_eq!(MetricsTable::read(&dir.metrics(id)).unwrap().rows(), 1500, "{id}");
    }
    let stray: Vec<_> = walk(&dir.root).into_iter().filter(|p| p.ends_with(".tmp")).collect();
    assert!(
        stray.iter().all(|p| p.contains("metrics.parquet.tmp")),
        "only killed runs' partial metrics may remain: {stray:?}"
    );
}

fn walk(p: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(p).unwrap() {
        let path = e.unwrap().path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path.to_string_lossy().into_owned());
        }
    }
    out
}

/// All metric columns except wall time, per run id.
fn metrics_by_run(dir: &Path) -> Vec<(String, DataFrame)> {
    let mut runs: Vec<_> = std::fs::read_dir(dir.join("runs")).unwrap().map(|e| e.unwrap().path()).collect();
    runs.sort();
    runs.iter()
        .map(|r| {
            (
                r.file_name().unwrap().to_string_lossy().into_owned(),
                frame(&r.join("metrics.parquet")).drop("step_ms").unwrap(),
            )
        })
        .collect()
}

#[test]
fn jobs_1_jobs_2_and_shuffled_order_give_identical_metrics() {
    let tmp = tempfile::tempdir().unwrap();
    let grid = ["train.steps=200", "sweep.grid.seed=[0, 1, 2]", "sweep.grid.loss.phi=[0.0, 100.0]"];
    let mut results = Vec::new();
    for (name, extra) in
        [("one", vec!["--jobs", "1"]), ("two", vec!["--jobs", "2"]), ("shuffled", vec!["--jobs", "2", "--shuffle"])]
    {
        let out = tmp.path().join(name);
        let mut args = vec!["sweep", "experiments/smoke.toml", "--out", out.to_str().unwrap()];
        args.extend_from_slice(&grid);
        args.extend_from_slice(&extra);
        let o = harness(&args);
        assert!(o.status.success(), "{}", stderr(&o));
        results.push(metrics_by_run(&out.join("smoke")));
    }
    assert_eq!(results[0].len(), 6);
    for other in &results[1..] {
        for ((id_a, a), (id_b, b)) in results[0].iter().zip(other) {
            assert_eq!(id_a, id_b);
            assert!(a.equals_missing(b), "run {id_a} differs between job counts / orders");
        }
    }
}

#[test]
fn early_stop_ends_a_collapsed_run_soon_after_confirmation() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().to_str().unwrap();
    // This setting collapses within the first steps (dead head_2 units); smoke's patience is 20.
    let base =
        ["train.steps=400", "loss.phi=300.0", "optim.lr=0.1", "sweep.grid.seed=[0]", "sweep.grid.loss.phi=[300.0]"];
    let mut args = vec!["sweep", "experiments/smoke.toml", "--out", out];
    args.extend_from_slice(&base);
    args.push("detect.stop_after=10");
    let o = harness(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    let summary = std::fs::read_to_string(tmp.path().join("smoke/summary.csv")).unwrap();
    let row = summary.lines().nth(1).unwrap();
    assert!(row.contains(",collapsed,"), "{summary}");
    let table = frame(&tmp.path().join("smoke/summary.parquet"));
    let int = |name: &str| table.column(name).unwrap().cast(&DataType::Int64).unwrap().i64().unwrap().get(0);
    let collapse = int("collapse_step").unwrap_or_else(|| panic!("a collapse step: {summary}"));
    assert!(collapse < 100, "collapses early: {summary}");
    // confirmed at collapse + 20 − 1, stopped 10 steps later: rows 0..=collapse + 29
    assert_eq!(int("steps_done"), Some(collapse + 30), "{summary}");
    assert!(row.contains("early stop"), "{summary}");
    let dir = SweepDir::new(tmp.path().join("smoke"));
    assert!(dir.is_complete(row.split(',').next().unwrap()), "an early-stopped run is complete");
}

#[test]
fn ctrl_c_stops_gracefully_with_130_and_resume_completes() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().to_str().unwrap();
    let dir = SweepDir::new(tmp.path().join("smoke"));
    let child = spawn(&sweep_args(out, &["--jobs", "2"]));
    let t0 = Instant::now();
    while !dir.root.join("runs").exists() && t0.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(1200));
    let st = Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    assert!(st.success());
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(130), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(dir.root.join("summary.parquet").exists() && dir.root.join("index.html").exists());
    let summary = frame(&dir.root.join("summary.parquet"));
    assert!(summary.height() >= 1 && summary.height() < 8, "some runs finished or were stopped, not all");
    check_consistent(&dir);
    let o = harness(&sweep_args(out, &["--jobs", "2"]));
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(check_consistent(&dir), 8);
    assert_eq!(frame(&dir.root.join("summary.parquet")).height(), 8);
}
