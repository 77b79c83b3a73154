//! Bad experiment files and arguments: exit code 2, a message naming the file and the key,
//! and no output folder.

mod common;
use common::{experiment, harness, stderr};

const BASE: &str = "[train]\nsteps = 5\n";

// (name, experiment text, extra args, text the error must contain)
const CASES: &[(&str, &str, &[&str], &str)] = &[
    ("unknown key", "[optim]\nlrr = 0.1\n", &[], "optim.lrr"),
    ("unknown section", "[optimiser]\nlr = 0.1\n", &[], "optimiser"),
    ("wrong type", "[optim]\nlr = \"fast\"\n", &[], "optim.lr"),
    ("lr zero", "[optim]\nlr = 0.0\n", &[], "optim.lr: must be > 0"),
    ("negative lr", "[optim]\nlr = -1e-3\n", &[], "optim.lr: must be > 0"),
    ("batch zero", "batch_size = 0\n", &[], "train.batch_size: must be at least 1"),
    ("empty grid list", "[sweep.grid]\n\"loss.phi\" = []\n", &[], "sweep.grid.loss.phi: expected a non-empty list"),
    ("grid not a list", "[sweep.grid]\n\"loss.phi\" = 3\n", &[], "sweep.grid.loss.phi: expected a list"),
    ("grid value invalid", "[sweep.grid]\n\"optim.lr\" = [0.1, -2.0]\n", &[], "optim.lr: must be > 0"),
    ("grid unknown key", "[sweep.grid]\n\"optim.lrr\" = [0.1]\n", &[], "optim.lrr"),
    ("unknown loss kind", "[loss]\nkind = \"huber\"\n", &[], "loss.kind"),
    ("phi with plain mse", "[loss]\nkind = \"mse_sum\"\nphi = 10.0\n", &[], "loss.phi: is not used"),
    ("momentum with adamw", "[optim]\nkind = \"adamw\"\nmomentum = 0.9\n", &[], "optim.momentum"),
    ("heads do not divide", "[model]\nhidden_size = 30\nnum_heads = 4\n", &[], "model.num_heads"),
    ("gamma above 1", "[schedule]\ngamma = 1.5\n", &[], "schedule.gamma"),
    ("max_len beyond positions", "[data]\nmax_len = 600\n", &[], "data.max_len"),
    ("bad TOML", "[optim\nlr = 5\n", &[], "invalid TOML: line 3"),
    ("override unknown key", "", &["train.stepz=5"], "train.stepz"),
    ("override wrong type", "", &["train.steps=many"], "train.steps"),
    ("override grid not a list", "", &["sweep.grid.optim.lr=0.1"], "sweep.grid.optim.lr"),
    ("unknown sweep key", "[sweep]\njobs = 2\n", &[], "sweep.jobs"),
];

#[test]
fn each_bad_config_exits_2_naming_file_and_key_and_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    for (i, (name, text, extra, want)) in CASES.iter().enumerate() {
        let stem = format!("bad{i}");
        let path = experiment(tmp.path(), &stem, &format!("{BASE}{text}"));
        let out_dir = tmp.path().join("out");
        let mut args = vec!["sweep", path.to_str().unwrap(), "--out", out_dir.to_str().unwrap()];
        args.extend_from_slice(extra);
        let o = harness(&args);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{name}: {err}");
        assert!(err.contains(want), "{name}: {err:?} should contain {want:?}");
        assert!(err.contains(&format!("{stem}.toml")), "{name}: {err:?} should name the file");
        assert_eq!(err.trim().lines().count(), 1, "{name}: one line: {err:?}");
        assert!(!out_dir.exists(), "{name}: nothing may be written");
    }
}

#[test]
fn missing_file_and_bad_jobs_exit_2() {
    let o = harness(&["sweep", "experiments/no_such.toml"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("no_such.toml"));
    let o = harness(&["sweep", "experiments/smoke.toml", "--jobs", "0", "--dry-run"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let o = harness(&["report", "/nonexistent/sweep"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
}

#[test]
fn bad_variants_exit_2_naming_the_variant() {
    let tmp = tempfile::tempdir().unwrap();
    let cases = [
        ("[[sweep.variant]]\n\"optim.lr\" = 0.1\n", "sweep.variant[0].name"),
        ("[[sweep.variant]]\nname = \"a\"\n[[sweep.variant]]\nname = \"a\"\n", "is used twice"),
        ("[[sweep.variant]]\nname = \"fast\"\n\"optim.lr\" = -1.0\n", "sweep.variant \"fast\": optim.lr: must be > 0"),
        ("[[sweep.variant]]\nname = \"typo\"\n\"model.head_activaton\" = \"gelu\"\n", "model.head_activaton"),
    ];
    for (i, (text, want)) in cases.iter().enumerate() {
        let path = experiment(tmp.path(), &format!("v{i}"), text);
        let o = harness(&["sweep", path.to_str().unwrap(), "--dry-run"]);
        assert_eq!(o.status.code(), Some(2), "{text}: {}", stderr(&o));
        assert!(stderr(&o).contains(want), "{text}: {}", stderr(&o));
    }
}
