//! `harness slurm` without a cluster: the scripts it writes (absolute paths, one shard per array
//! task, overrides passed on, the report job), `--dry-run` writing nothing, and bad flags.

mod common;
use common::{harness, root, stderr, stdout};

#[test]
fn dry_run_prints_an_array_of_shards_and_a_report_job_and_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().to_str().unwrap();
    let o = harness(&[
        "slurm",
        "experiments/smoke.toml",
        "--out",
        out,
        "--array",
        "3",
        "--partition",
        "gpu",
        "--gpus-per-task",
        "1",
        "--time",
        "0:30:00",
        "--dry-run",
        "train.steps=20",
        "sweep.grid.seed=[0, 1]",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    let exe = std::fs::canonicalize(env!("CARGO_BIN_EXE_harness")).unwrap();
    let experiment = root().join("experiments/smoke.toml");
    for want in [
        "#SBATCH --array=1-3".to_string(),
        "#SBATCH --partition=gpu".to_string(),
        "#SBATCH --gpus-per-task=1".to_string(),
        "#SBATCH --time=0:30:00".to_string(),
        format!("exec {} sweep {} --shard \"${{SLURM_ARRAY_TASK_ID}}/3\" --out {out} --jobs 1 train.steps=20 'sweep.grid.seed=[0, 1]'", exe.display(), experiment.display()),
        format!("exec {} report {out}/smoke", exe.display()),
        format!("#SBATCH --output={out}/smoke/slurm/logs/sweep-%A_%a.out"),
    ] {
        assert!(text.contains(&want), "missing {want:?} in:\n{text}");
    }
    assert!(!tmp.path().join("smoke").exists(), "--dry-run wrote files");
}

#[test]
fn without_submit_it_writes_both_scripts_and_says_how_to_submit() {
    let tmp = tempfile::tempdir().unwrap();
    let o = harness(&["slurm", "experiments/smoke.toml", "--out", tmp.path().to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let folder = tmp.path().join("smoke/slurm");
    let sweep = std::fs::read_to_string(folder.join("sweep.sbatch")).unwrap();
    assert!(sweep.contains("#SBATCH --array=1-4"), "one task per run by default:\n{sweep}");
    assert!(folder.join("report.sbatch").exists() && folder.join("logs").is_dir());
    assert!(stdout(&o).contains("--dependency=afterany:"), "{}", stdout(&o));
}

#[test]
fn bad_flags_and_configs_are_bad_input() {
    let mut cases: Vec<&[&str]> = vec![
        &["slurm", "experiments/smoke.toml", "--array", "0", "--dry-run"],
        &["slurm", "experiments/smoke.toml", "--cpus-per-task", "0", "--dry-run"],
        &["slurm", "experiments/smoke.toml", "--dry-run", "train.no_such_key=1"],
        &["slurm", "experiments/no_such_experiment.toml", "--dry-run"],
    ];
    if !cfg!(feature = "cuda") {
        // The shards could not use the GPU they would ask for.
        cases.push(&["slurm", "experiments/smoke.toml", "--device", "cuda", "--gpus-per-task", "1", "--dry-run"]);
    }
    for args in cases {
        let o = harness(args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
    }
}
