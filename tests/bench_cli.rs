//! `harness bench`: the protocol with the reference script (spec in, one JSON line out), the
//! ratios it prints, and its bad input. The reference is a stand-in here (CI has no torch); the
//! real one is `scripts/torch_reference.py`, run by `scripts/bench.sh`.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use common::{harness, stderr, stdout};

/// An executable "python" that gets `SCRIPT SPEC` and runs `body` (Python) with `spec` loaded.
fn fake_python(dir: &Path, body: &str) -> PathBuf {
    let p = dir.join("python");
    let text = format!(
        "#!/usr/bin/env python3\nimport json, sys\nassert sys.argv[1].endswith('scripts/torch_reference.py')\n\
         spec = json.load(open(sys.argv[2]))\n{body}\n"
    );
    std::fs::write(&p, text).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    p
}

/// The median column of the row named `name` in bench's table.
fn median(out: &str, name: &str) -> f64 {
    let line = out.lines().find(|l| l.starts_with(name)).unwrap_or_else(|| panic!("no row {name:?} in\n{out}"));
    line[name.len()..].split_whitespace().next().unwrap().parse().unwrap()
}

#[test]
fn bench_times_harness_and_reference_on_the_same_batches() {
    let tmp = tempfile::tempdir().unwrap();
    // The stand-in checks the spec it gets, then reports 4 ms/step and the harness's own count.
    let py = fake_python(
        tmp.path(),
        "b = spec['batches']\n\
         assert len(b) == 40 and spec['warmup'] == 10 and spec['threads'] == 1 and spec['device'] == 'cpu'\n\
         assert spec['config']['model']['hidden_size'] == 16 and spec['config']['train']['batch_size'] == 2\n\
         assert all(len(x['input_ids']) == x['batch'] * x['seq_len'] == len(x['attention_mask']) for x in b)\n\
         assert all(len(x['keep']) == len(x['labels']) > 0 for x in b)\n\
         print('some chatter first')\n\
         print(json.dumps({'ms_per_step': 4.0, 'params': spec['params'], 'info': 'stand-in'}))",
    );
    let args = ["bench", "experiments/smoke.toml", "--steps", "40", "--warmup", "10", "--repeats", "3", "--jobs", "2"];
    let o = harness(&[&args[..], &["--python", py.to_str().unwrap()]].concat());
    let out = stdout(&o);
    assert!(o.status.success(), "{}\n{out}", stderr(&o));
    assert_eq!(median(&out, "pytorch reference"), 4.0);
    let on = median(&out, "harness, statistics on");
    let off = median(&out, "harness, statistics off");
    let par = median(&out, "harness, 2 runs at once");
    assert!(on > 0.0 && off > 0.0 && par > 0.0, "{out}");
    let ratio: f64 = out.split("harness / pytorch = ").nth(1).unwrap().split(';').next().unwrap().parse().unwrap();
    assert!((ratio - on / 4.0).abs() < 1e-3 + 1e-3 * ratio, "{ratio} vs {on}/4 in\n{out}");
    assert!(out.contains("reference: stand-in"), "{out}");
    assert!(out.contains("trainable parameters"), "{out}");
}

#[test]
fn a_reference_that_trains_another_model_is_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    let py = fake_python(tmp.path(), "print(json.dumps({'ms_per_step': 1.0, 'params': spec['params'] + 1}))");
    let o = harness(&[
        "bench",
        "experiments/smoke.toml",
        "--steps",
        "20",
        "--warmup",
        "5",
        "--repeats",
        "1",
        "--python",
        py.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("not the same model"), "{}", stderr(&o));
}

#[test]
fn bench_bad_input_is_exit_2_with_the_reason() {
    let tmp = tempfile::tempdir().unwrap();
    let failing =
        fake_python(tmp.path(), "sys.stderr.write('ModuleNotFoundError: No module named torch\\n'); sys.exit(1)");
    let failing = failing.to_str().unwrap();
    let mut cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["--warmup", "15"], "fewer than 10 timed steps"),
        (vec!["--repeats", "0"], "--repeats: must be at least 1"),
        (vec!["--jobs", "0"], "--jobs: must be at least 1"),
        (vec!["--python", "/nonexistent/python"], "--python /nonexistent/python: cannot run it"),
        (vec!["--python", failing], "No module named torch"),
        (vec!["model.hidden_size=-3"], "model.hidden_size"),
    ];
    if !cfg!(feature = "cuda") {
        cases.push((vec!["--device", "cuda"], "built without CUDA support"));
    }
    for (extra, want) in cases {
        let mut args = vec!["bench", "experiments/smoke.toml"];
        for (flag, value) in [("--steps", "20"), ("--warmup", "5"), ("--repeats", "1")] {
            if !extra.contains(&flag) {
                args.extend([flag, value]);
            }
        }
        args.extend(&extra);
        let o = harness(&args);
        assert_eq!(o.status.code(), Some(2), "{extra:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(want), "{extra:?}: expected {want:?} in {}", stderr(&o));
    }
}
