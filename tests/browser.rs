//! The report in a real browser: `scripts/browser_check.mjs` opens a sweep index, a run page
//! and a compare page (and the same three for a sweep whose config holds a `<script>`) in
//! headless Chromium over the DevTools protocol, and fails on console errors, script dialogs,
//! network requests, zero-size SVGs or a table that does not sort when its header is clicked.
//! Screenshots go to `target/tmp/browser/shots/`.
//!
//! Needs Node.js and Debian's `chromium` (`.ci/run` installs them). Without them the test is
//! skipped on a developer's machine and fails in CI (`CI` set), so CI cannot pass silently.

mod common;
mod report_support;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{harness, root, stderr, stdout};
use report_support::{evil_sweep, grid, write_sweep, Shape};

/// The browser to drive: `$CHROMIUM`, or Debian's.
fn chromium() -> Option<PathBuf> {
    let candidates = [std::env::var_os("CHROMIUM").map(PathBuf::from), Some("/usr/bin/chromium".into())];
    candidates.into_iter().flatten().find(|p| p.exists())
}

fn node_runs() -> bool {
    Command::new("node").arg("--version").output().is_ok_and(|o| o.status.success())
}

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

fn ok(o: std::process::Output, what: &str) {
    assert!(o.status.success(), "{what}: {}{}", stdout(&o), stderr(&o));
}

fn path(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

#[test]
fn report_pages_work_in_headless_chromium() {
    let (Some(chromium), true) = (chromium(), node_runs()) else {
        let message = "browser test needs Node.js and Chromium: apt-get install -y nodejs chromium";
        assert!(!in_ci(), "{message}");
        eprintln!("skipped: {message}");
        return;
    };
    let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("browser");
    let _ = std::fs::remove_dir_all(&out);
    let runs = grid(&[0.0, 30.0, 100.0], &[0.002, 0.01, 0.02], &[0, 1], 3000);
    let demo = write_sweep(&out.join("demo"), "demo", &["loss.phi", "optim.lr", "seed"], &runs);
    ok(harness(&["report", path(&demo.root)]), "report");
    let collapsed = runs.iter().find(|r| matches!(r.shape, Shape::Collapse(_))).expect("a collapsed run");
    let compared: Vec<PathBuf> = ["r22s1", "r11s0", "r01s0"].iter().map(|id| demo.run_dir(id)).collect();
    let compare = out.join("compare.html");
    let args = ["compare", path(&compared[0]), path(&compared[1]), path(&compared[2]), "--out", path(&compare)];
    ok(harness(&args), "compare");
    let evil = evil_sweep(&out.join("evil"));
    ok(harness(&["report", path(&evil.root)]), "report of the evil sweep");
    let evil_compare = out.join("evil_compare.html");
    ok(harness(&["compare", path(&evil.root), "--out", path(&evil_compare)]), "compare of the evil sweep");

    let pages = [
        ("index", demo.root.join("index.html")),
        ("run", demo.run_dir(&collapsed.id).join("index.html")),
        ("compare", compare),
        ("evil_index", evil.root.join("index.html")),
        ("evil_run", evil.run_dir("evil").join("index.html")),
        ("evil_compare", evil_compare),
    ];
    let shots = out.join("shots");
    let mut check = Command::new("node");
    check.arg(root().join("scripts/browser_check.mjs")).arg("--shots").arg(&shots).env("CHROMIUM", &chromium);
    for (name, page) in &pages {
        check.arg(format!("{name}={}", path(page)));
    }
    let o = check.output().expect("node runs");
    println!("{}", stdout(&o));
    assert!(o.status.success(), "browser check failed:\n{}{}", stdout(&o), stderr(&o));
    for (name, _) in &pages {
        let png = std::fs::read(shots.join(format!("{name}.png"))).expect("a screenshot");
        assert!(png.len() > 10_000 && png.starts_with(b"\x89PNG"), "{name}.png is not a real screenshot");
    }
}
