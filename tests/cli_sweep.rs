//! End to end: `harness sweep experiments/smoke.toml`, then read back what it wrote.

mod common;
use common::{harness, stderr, stdout};
use harness::metrics::reader::MetricsTable;
use harness::metrics::record::RecordLayout;
use harness::metrics::writer::column_names;
use polars::prelude::{ParquetReader, SerReader};

#[test]
fn smoke_sweep_writes_metrics_summary_and_report() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().to_str().unwrap();
    let o = harness(&["sweep", "experiments/smoke.toml", "--out", out, "--jobs", "2"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("4 runs"), "{}", stdout(&o));
    let root = tmp.path().join("smoke");

    let summary = ParquetReader::new(std::fs::File::open(root.join("summary.parquet")).unwrap()).finish().unwrap();
    assert_eq!(summary.height(), 4, "one summary row per run");
    for col in [
        "run_id",
        "loss.phi",
        "seed",
        "status",
        "collapse_step",
        "recovered",
        "diagnosis",
        "peak_pred_std",
        "final_pred_std",
        "steps_done",
        "wall_s",
    ] {
        assert!(summary.column(col).is_ok(), "summary lacks {col}");
    }
    let csv = std::fs::read_to_string(root.join("summary.csv")).unwrap();
    assert_eq!(csv.lines().count(), 5, "header + 4 rows");

    let layout = RecordLayout {
        groups: ["encoder", "head_0", "head_1", "head_2", "head_3"].map(String::from).to_vec(),
        layers: ["encoder_out", "head_0", "head_1", "head_2"].map(String::from).to_vec(),
    };
    let ids = summary.column("run_id").unwrap().str().unwrap().clone();
    for id in ids.iter().flatten() {
        let run = root.join("runs").join(id);
        let m = MetricsTable::read(&run.join("metrics.parquet")).unwrap();
        assert_eq!(m.rows(), 150, "one row per step");
        assert_eq!(m.i64s("step").unwrap(), (0..150).collect::<Vec<i64>>());
        let names: Vec<String> = m.df.get_column_names().iter().map(|s| s.to_string()).collect();
        assert_eq!(names, column_names(&layout));
        assert!(m.f64s("pred_std").unwrap().iter().all(|v| v.is_finite()));
        assert!(run.join("config.toml").exists() && run.join("index.html").exists());
        assert!(!run.join("metrics.parquet.tmp").exists());
    }
    let index = std::fs::read_to_string(root.join("index.html")).unwrap();
    assert!(index.contains("<svg") && index.contains("smoke"));

    // A second invocation finds every run complete and only rebuilds the report.
    let again = harness(&["sweep", "experiments/smoke.toml", "--out", out, "--dry-run"]);
    assert!(stdout(&again).contains("4 done, 0 to run"), "{}", stdout(&again));
    let report = harness(&["report", root.to_str().unwrap()]);
    assert!(report.status.success(), "{}", stderr(&report));
}

#[test]
fn overrides_change_the_grid_and_dry_run_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().to_str().unwrap();
    let o = harness(&[
        "sweep",
        "experiments/smoke.toml",
        "--out",
        out,
        "--dry-run",
        "sweep.grid.optim.lr=[0.01, 0.02, 0.03]",
        "train.steps=10",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(text.starts_with("12 runs"), "{text}");
    assert!(text.contains("optim.lr=0.03"), "{text}");
    assert!(!tmp.path().join("smoke").exists());
}

#[test]
fn a_diverging_and_a_panicking_run_are_recorded_and_the_sweep_goes_on() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().to_str().unwrap();
    let o = harness(&[
        "sweep",
        "experiments/smoke.toml",
        "--out",
        out,
        "train.steps=60",
        "sweep.grid.seed=[0]",
        "sweep.grid.loss.phi=[100.0]",
        r#"sweep.grid.train.fault=["nan@20", "panic@30", "nan@100"]"#,
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let csv = std::fs::read_to_string(tmp.path().join("smoke/summary.csv")).unwrap();
    let rows: Vec<&str> = csv.lines().skip(1).collect();
    assert_eq!(rows.len(), 3, "{csv}");
    let row = |fault: &str| *rows.iter().find(|r| r.contains(fault)).unwrap_or_else(|| panic!("{fault}: {csv}"));
    assert!(row("nan@20").contains(",diverged,"), "{csv}");
    assert!(row("nan@20").contains("non-finite at step 20"), "{csv}");
    assert!(row("panic@30").contains(",failed,"), "{csv}");
    assert!(row("panic@30").contains("injected panic at step 30"), "{csv}");
    // The fault lies past the last step: this run finishes normally.
    assert!(row("nan@100").contains(",ok,") || row("nan@100").contains(",collapsed,"), "{csv}");
    // The diverged run keeps its metrics up to and including the bad step.
    let id = row("nan@20").split(',').next().unwrap();
    let m = MetricsTable::read(&tmp.path().join("smoke/runs").join(id).join("metrics.parquet")).unwrap();
    assert_eq!(m.rows(), 21);
}

#[test]
fn an_unwritable_output_folder_is_a_clear_internal_error() {
    let tmp = tempfile::tempdir().unwrap();
    let blocker = tmp.path().join("not_a_folder");
    std::fs::write(&blocker, "x").unwrap();
    let out = blocker.join("reports");
    let o = harness(&["sweep", "experiments/smoke.toml", "--out", out.to_str().unwrap(), "train.steps=5"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("creating"), "{}", stderr(&o));
    assert!(stderr(&o).contains("not_a_folder"), "{}", stderr(&o));
}

#[test]
fn a_bad_data_file_is_bad_input_before_anything_is_written() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("tokens.jsonl");
    std::fs::write(
        &data,
        "{\"input_ids\": [3, 4, 5], \"labels\": [0.5, 0.1, 0.9]}\n{\"input_ids\": [1, 2], \"labels\": [0.1, 1.5]}\n",
    )
    .unwrap();
    let out = tmp.path().join("out");
    let exp = tmp.path().join("files.toml");
    std::fs::write(
        &exp,
        format!(
            "[model]\nhidden_size = 16\nnum_layers = 1\nnum_heads = 2\nmax_position = 32\nhead_sizes = [8, 4, 4]\n\
             [data]\nkind = \"jsonl\"\npath = \"{}\"\nval_frac = 0.0\n[train]\nsteps = 5\n",
            data.display()
        ),
    )
    .unwrap();
    let o = harness(&["sweep", exp.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("tokens.jsonl") && err.contains("line 2") && err.contains("labels[1]"), "{err}");
    assert!(!out.exists(), "nothing may be written");
}

#[test]
#[cfg(not(feature = "cuda"))]
fn device_cuda_on_a_cpu_build_is_bad_input_and_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let o = harness(&["sweep", "experiments/smoke.toml", "--device", "cuda", "--out", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("--device cuda") && err.contains("--features cuda"), "{err}");
    assert!(!out.exists(), "nothing may be written");
}
