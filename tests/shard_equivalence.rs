//! `harness sweep --shard I/N`: shards run at the same time into one folder give the same
//! report as one unsharded sweep; shards write no shared file; `harness report` merges
//! whatever is complete and a later unsharded run fills the gaps; bad `--shard` is exit 2.

mod common;
use common::{harness, spawn, stderr, stdout};

use std::collections::BTreeSet;
use std::path::Path;

use polars::prelude::{DataFrame, ParquetReader, SerReader};

/// 6 runs of the smoke model, a fraction of a second each.
const GRID: [&str; 4] =
    ["train.steps=60", "detect.patience=10", "sweep.grid.seed=[0, 1, 2]", "sweep.grid.loss.phi=[0.0, 100.0]"];

fn sweep_args<'a>(out: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut a = vec!["sweep", "experiments/smoke.toml", "--out", out, "--jobs", "1"];
    a.extend_from_slice(&GRID);
    a.extend_from_slice(extra);
    a
}

/// summary.csv without its `wall_s` column (timing differs), as rows of cells.
fn summary_without_wall(dir: &Path) -> Vec<Vec<String>> {
    let text = std::fs::read_to_string(dir.join("summary.csv")).unwrap();
    let mut lines = text.lines().map(|l| l.split(',').map(str::to_string).collect::<Vec<_>>());
    let header = lines.next().unwrap();
    let wall = header.iter().position(|c| c == "wall_s").expect("a wall_s column");
    std::iter::once(header)
        .chain(lines)
        .map(|mut row| {
            row.remove(wall);
            row
        })
        .collect()
}

fn metrics_without_step_ms(path: &Path) -> DataFrame {
    let df = ParquetReader::new(std::fs::File::open(path).unwrap()).finish().unwrap();
    df.drop("step_ms").unwrap()
}

fn run_ids(dir: &Path) -> BTreeSet<String> {
    std::fs::read_dir(dir.join("runs"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

#[test]
fn two_concurrent_shards_equal_one_unsharded_sweep() {
    let tmp = tempfile::tempdir().unwrap();
    let (whole, sharded) = (tmp.path().join("whole"), tmp.path().join("sharded"));
    let (whole_s, sharded_s) = (whole.to_str().unwrap(), sharded.to_str().unwrap());

    let one = harness(&sweep_args(whole_s, &[]));
    assert!(one.status.success(), "{}", stderr(&one));
    let children =
        [spawn(&sweep_args(sharded_s, &["--shard", "1/2"])), spawn(&sweep_args(sharded_s, &["--shard", "2/2"]))];
    for c in children {
        let o = c.wait_with_output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        assert!(String::from_utf8_lossy(&o.stdout).contains("harness report"));
        // These 6 ids split 3/3, so both shards really train at the same time.
        let trained = String::from_utf8_lossy(&o.stderr).lines().filter(|l| l.starts_with("run ")).count();
        assert_eq!(trained, 3, "{}", String::from_utf8_lossy(&o.stderr));
    }
    let (whole, sharded) = (whole.join("smoke"), sharded.join("smoke"));
    // Shards write their own manifests and no report.
    assert!(!sharded.join("sweep.json").exists() && !sharded.join("summary.csv").exists());
    assert!(!sharded.join("index.html").exists());
    assert!(sharded.join("shards/1-of-2.json").exists() && sharded.join("shards/2-of-2.json").exists());

    let report = harness(&["report", sharded.to_str().unwrap()]);
    assert!(report.status.success(), "{}", stderr(&report));
    assert!(stdout(&report).starts_with("6 runs"), "{}", stdout(&report));

    assert_eq!(run_ids(&whole), run_ids(&sharded));
    assert_eq!(run_ids(&whole).len(), 6);
    assert_eq!(summary_without_wall(&whole), summary_without_wall(&sharded), "same rows, same grid order");
    for id in run_ids(&whole) {
        let metrics = |d: &Path| metrics_without_step_ms(&d.join("runs").join(&id).join("metrics.parquet"));
        assert!(metrics(&whole).equals_missing(&metrics(&sharded)), "run {id}: metrics differ");
    }
}

#[test]
fn report_merges_what_is_complete_and_an_unsharded_run_fills_the_gaps() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().to_str().unwrap();
    let dir = tmp.path().join("smoke");
    let one = harness(&sweep_args(out, &["--shard", "1/3"]));
    assert!(one.status.success(), "{}", stderr(&one));
    let mine = run_ids(&dir).len();
    let report = harness(&["report", dir.to_str().unwrap()]);
    assert!(report.status.success(), "{}", stderr(&report));
    assert!(stdout(&report).starts_with(&format!("{mine} runs")), "{}", stdout(&report));

    let rest = harness(&sweep_args(out, &["--resume"]));
    assert!(rest.status.success(), "{}", stderr(&rest));
    assert!(stderr(&rest).contains(&format!("{mine} of 6 runs already complete")), "{}", stderr(&rest));
    assert!(stdout(&rest).starts_with("6 runs"), "{}", stdout(&rest));
}

#[test]
fn bad_shards_are_bad_input() {
    for bad in ["0/2", "3/2", "1/0", "2", "x/2"] {
        let o = harness(&sweep_args("/nonexistent-out", &["--shard", bad, "--dry-run"]));
        assert_eq!(o.status.code(), Some(2), "--shard {bad}: {}", stderr(&o));
        assert!(stderr(&o).contains("--shard"), "{}", stderr(&o));
    }
}
