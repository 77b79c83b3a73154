//! Benchmark of `harness report` (issue 4: ≤ 10 s for 100 runs × 20,000 steps on 2 cores).
//! Ignored by default; it writes a 100-run sweep (~250 MB of Parquet) with the real metrics
//! writer once, then times the report build and prints the figure (no timing assert):
//!
//! ```sh
//! cargo test --test report_bench -- --ignored --nocapture
//! ./target/debug/harness report target/tmp/report_bench/bench   # the same, through the CLI
//! ```
//!
//! `HARNESS_BENCH_DIR` puts the sweep elsewhere. Results are in BENCHMARKS.md.

mod report_support;

use std::path::PathBuf;
use std::time::Instant;

use harness::report::build::build;
use harness::sweep::files::SweepDir;
use report_support::{grid, write_sweep};

const STEPS: i64 = 20_000;

#[test]
#[ignore = "benchmark: writes 100 runs × 20,000 steps once, then times the report build"]
fn report_of_100_runs_of_20000_steps() {
    let root = std::env::var_os("HARNESS_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("report_bench/bench"));
    let runs = grid(&[0.0, 10.0, 30.0, 100.0, 300.0], &[5e-4, 2e-3, 5e-3, 1e-2, 2e-2], &[0, 1, 2, 3], STEPS);
    assert_eq!(runs.len(), 100);
    let dir = SweepDir::new(&root);
    if runs.iter().all(|r| dir.is_complete(&r.id)) {
        println!("reusing {}", root.display());
    } else {
        let started = Instant::now();
        write_sweep(&root, "bench", &["loss.phi", "optim.lr", "seed"], &runs);
        println!("wrote {} in {:.1} s", root.display(), started.elapsed().as_secs_f64());
    }
    let started = Instant::now();
    let rows = build(&dir).unwrap();
    let elapsed = started.elapsed().as_secs_f64();
    assert_eq!(rows.len(), 100);
    println!("report of {} runs × {STEPS} steps: {elapsed:.2} s", rows.len());
}
