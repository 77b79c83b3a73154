//! `harness slurm --submit` on a real single-node Slurm: runs scripts/slurm_e2e.sh, which starts
//! munged, slurmctld and slurmd, submits a 4-run sweep as a 2-task job array plus its report
//! job, and checks that the merged report has every run. The script needs root and installs
//! Debian's slurm-wlm and munge when missing.
//!
//! Under CI (`CI=true`) or with `HARNESS_SLURM_E2E=1` it always runs, and fails if it cannot.
//! Elsewhere it runs only when Slurm is installed and we are root, so a plain `cargo test` on a
//! workstation never installs packages or starts daemons.

mod common;
use common::root;

use std::process::Command;

fn wanted() -> bool {
    // Like tests/browser.rs: any CI value but empty, "false" or "0".
    let on = |k: &str| std::env::var(k).is_ok_and(|v| !v.is_empty() && v != "false" && v != "0");
    on("CI") || on("HARNESS_SLURM_E2E")
}

fn can_run_locally() -> bool {
    let is_root = Command::new("id").arg("-u").output().is_ok_and(|o| o.stdout.starts_with(b"0\n"));
    let has_slurm = Command::new("sh")
        .args(["-c", "command -v slurmctld && command -v slurmd && command -v munged"])
        .output()
        .is_ok_and(|o| o.status.success());
    is_root && has_slurm
}

#[test]
fn slurm_job_array_builds_a_merged_report_with_every_run() {
    if !wanted() && !can_run_locally() {
        eprintln!("skipped: needs root and Slurm installed (set CI=true or HARNESS_SLURM_E2E=1 to install and run)");
        return;
    }
    let out = Command::new("bash")
        .arg(root().join("scripts/slurm_e2e.sh"))
        .env("HARNESS", env!("CARGO_BIN_EXE_harness"))
        .current_dir(root())
        .output()
        .expect("bash runs scripts/slurm_e2e.sh");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    eprintln!("{text}");
    assert!(out.status.success(), "scripts/slurm_e2e.sh failed ({})", out.status);
    assert!(text.contains("[slurm_e2e] PASS"));
}
