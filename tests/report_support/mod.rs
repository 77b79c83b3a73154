//! Fake sweep folders written with the real writers (`MetricsWriter`, `write_json`), for the
//! report tests, the browser test and the report benchmark: no training, any size, and run
//! shapes (healthy, collapse at a known step, transient collapse, divergence) chosen up front.
#![allow(dead_code)]

use std::path::Path;

use harness::metrics::record::{RecordLayout, StepRecord};
use harness::metrics::writer::MetricsWriter;
use harness::sweep::files::{write_atomic, write_json, Manifest, ManifestRun, RunResult, SweepDir};

pub const EVIL: &str = "<script>alert(1)</script>";
pub const EVIL_ESCAPED: &str = "&lt;script&gt;alert(1)&lt;/script&gt;";

/// What pred_std does over a run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Shape {
    Healthy,
    /// Collapses for good at this step (the detector finds exactly this step).
    Collapse(i64),
    /// Collapsed from the first step to the second, then healthy again.
    Transient(i64, i64),
    /// Losses and predictions become NaN at this step, and the run stops there.
    Diverge(i64),
}

#[derive(Debug, Clone)]
pub struct FakeRun {
    pub id: String,
    pub swept: Vec<(String, String)>,
    pub steps: i64,
    pub shape: Shape,
    pub config_toml: String,
}

pub fn layout() -> RecordLayout {
    RecordLayout {
        groups: ["encoder", "head_0", "head_1", "head_2", "head_3"].map(String::from).to_vec(),
        layers: ["encoder_out", "head_0", "head_1", "head_2"].map(String::from).to_vec(),
    }
}

/// A resolved config as a run writes it (`schedule_kind` is written as given, unchecked).
pub fn config_toml(steps: i64, phi: f64, lr: f64, seed: u64, schedule_kind: &str) -> String {
    let kind = toml::Value::String(schedule_kind.to_string());
    format!(
        "seed = {seed}\n\n[model]\nvocab_size = 30\nhidden_size = 64\nnum_layers = 2\nnum_heads = 4\n\
         intermediate_size = 256\nmax_position = 128\nhidden_dropout = 0.1\nattention_dropout = 0.1\n\
         layer_norm_eps = 0.000000000001\ninit_std = 0.02\nhead_sizes = [32, 8, 4]\nencoder_relu = true\n\n\
         [data]\nkind = \"synthetic\"\nseed = 0\nn_train = 1024\nmin_len = 16\nmax_len = 64\n\
         label_density = 0.3\nmasked_frac = 0.1\n\n[loss]\nkind = \"mse_sum_minus_std\"\nphi = {phi:?}\n\n\
         [optim]\nkind = \"sgd\"\nlr = {lr:?}\nmomentum = 0.0\nweight_decay = 0.0\n\n\
         [schedule]\nkind = {kind}\nper = \"epoch\"\ngamma = 0.9\n\n[train]\nsteps = {steps}\nbatch_size = 1\n\n\
         [detect]\nabs_floor = 0.0001\nrel_floor = 0.001\npatience = 100\n"
    )
}

/// A deterministic number in [0, 1) from a step and a seed (splitmix64).
fn noise(step: i64, seed: u64) -> f64 {
    let mut z = (step as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ seed.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
}

/// One step's record of a run of this shape.
pub fn record(step: i64, shape: Shape, seed: u64) -> StepRecord {
    let n = |k: u64| noise(step, seed * 31 + k);
    let collapsed = match shape {
        Shape::Healthy | Shape::Diverge(_) => false,
        Shape::Collapse(s) => step >= s,
        Shape::Transient(s, e) => step >= s && step < e,
    };
    let warm = (step as f64 / 300.0).min(1.0);
    let pred_std = if collapsed { 1e-8 * n(1) } else { (0.02 + 0.15 * warm) * (0.8 + 0.4 * n(1)) };
    let pred_mean = if collapsed { 0.12 } else { 0.3 + 0.1 * n(2) };
    let spike = matches!(shape, Shape::Collapse(s) | Shape::Transient(s, _) if step == s - 2);
    let grad_norm = if collapsed { 1e-9 * n(3) } else { (0.5 + n(3)) * if spike { 80.0 } else { 1.0 } };
    let dead = |layer: usize| if collapsed && layer == 2 { 1.0 } else { 0.1 * layer as f64 * n(4 + layer as u64) };
    let diverged = matches!(shape, Shape::Diverge(s) if step >= s);
    let mse = 5.0 + n(8);
    StepRecord {
        step,
        epoch: step / 1000,
        lr: 0.01 * 0.9f64.powi((step / 1000) as i32),
        loss: if diverged { f64::NAN } else { mse - 30.0 * pred_std },
        mse,
        std_bonus: 30.0 * pred_std,
        pred_mean,
        pred_std: if diverged { f64::NAN } else { pred_std },
        pred_min: pred_mean - 2.0 * pred_std,
        pred_max: pred_mean + 2.0 * pred_std,
        label_mean: 0.1 + 0.05 * n(9),
        pred_label_corr: if collapsed { f64::NAN } else { 0.5 + 0.2 * n(17) },
        mean_sq_err: mse / 40.0,
        n_tokens: 40,
        logit_std: 10.0 * pred_std + 0.01,
        saturated_frac: if collapsed { 0.0 } else { 0.05 * n(10) },
        bias_output: 0.12,
        grad_norm,
        val_loss: f64::NAN,
        val_pred_std: f64::NAN,
        grad_norm_groups: (0..5).map(|g| grad_norm * (0.2 + 0.1 * g as f64)).collect(),
        update_ratio: grad_norm * 1e-3,
        dead_frac: (0..4).map(dead).collect(),
        token_std: (0..4).map(|l| if collapsed && l >= 2 { 0.0 } else { 0.3 * (0.5 + n(12 + l as u64)) }).collect(),
        frozen_params: 0,
        step_ms: 2.0 + n(16),
    }
}

/// Writes one run's config.toml, metrics.parquet and result.json.
pub fn write_run(dir: &SweepDir, run: &FakeRun, seed: u64) {
    std::fs::create_dir_all(dir.run_dir(&run.id)).unwrap();
    write_atomic(&dir.config(&run.id), run.config_toml.as_bytes()).unwrap();
    let last = match run.shape {
        Shape::Diverge(s) => s.min(run.steps - 1),
        _ => run.steps - 1,
    };
    let mut writer = MetricsWriter::create(&dir.metrics(&run.id), &layout()).unwrap();
    for step in 0..=last {
        writer.push(record(step, run.shape, seed)).unwrap();
    }
    writer.finish().unwrap();
    let diverged = matches!(run.shape, Shape::Diverge(_));
    let result = RunResult {
        run_id: run.id.clone(),
        swept: run.swept.clone(),
        ending: if diverged { "diverged" } else { "finished" }.into(),
        reason: if diverged { format!("non-finite loss at step {last}") } else { String::new() },
        steps_done: last + 1,
        wall_s: 0.002 * (last + 1) as f64,
    };
    write_json(&dir.result(&run.id), &result).unwrap();
}

/// Writes a whole sweep folder: the manifest and every run (runs in parallel).
pub fn write_sweep(root: &Path, name: &str, swept_keys: &[&str], runs: &[FakeRun]) -> SweepDir {
    let dir = SweepDir::new(root);
    std::fs::create_dir_all(root).unwrap();
    let manifest = Manifest {
        name: name.into(),
        swept_keys: swept_keys.iter().map(|k| k.to_string()).collect(),
        runs: runs.iter().map(|r| ManifestRun { id: r.id.clone(), swept: r.swept.clone() }).collect(),
    };
    write_json(&dir.manifest(), &manifest).unwrap();
    std::thread::scope(|scope| {
        for chunk in runs.chunks(runs.len().div_ceil(2).max(1)) {
            let dir = &dir;
            scope.spawn(move || {
                for (k, run) in chunk.iter().enumerate() {
                    write_run(dir, run, k as u64 + run.id.len() as u64);
                }
            });
        }
    });
    dir
}

/// A `loss.phi` × `optim.lr` × `seed` grid whose shapes vary with the settings: larger φ and
/// lr collapse more often and earlier; one cell recovers, one diverges.
pub fn grid(phis: &[f64], lrs: &[f64], seeds: &[u64], steps: i64) -> Vec<FakeRun> {
    let mut runs = Vec::new();
    for (i, &phi) in phis.iter().enumerate() {
        for (j, &lr) in lrs.iter().enumerate() {
            for &seed in seeds {
                let risk = i + j + seed as usize;
                let at = steps * (2 + (seed as i64 % 3)) / (6 + i as i64 + j as i64);
                let shape = match (i, j) {
                    (0, 0) => Shape::Diverge(steps / 3 + seed as i64),
                    (0, 1) if seed == 0 => Shape::Transient(steps / 4, steps / 2),
                    _ if risk >= 3 && (i + j) % 2 == 0 => Shape::Collapse(at),
                    _ if i + j >= 4 && seed > 0 => Shape::Collapse(at),
                    _ => Shape::Healthy,
                };
                let swept = vec![
                    ("loss.phi".into(), format!("{phi:?}")),
                    ("optim.lr".into(), format!("{lr:?}")),
                    ("seed".into(), seed.to_string()),
                ];
                let config_toml = config_toml(steps, phi, lr, seed, "exponential");
                runs.push(FakeRun { id: format!("r{i}{j}s{seed}"), swept, steps, shape, config_toml });
            }
        }
    }
    runs
}

/// A two-run sweep named [`EVIL`] whose swept `schedule.kind` is [`EVIL`] in one run (also in
/// its config.toml) and a real kind in the other; both collapse at step 300 of 600.
pub fn evil_sweep(root: &Path) -> SweepDir {
    let steps = 600;
    let run = |id: &str, kind: &str| FakeRun {
        id: id.into(),
        swept: vec![("schedule.kind".into(), kind.into()), ("seed".into(), "0".into())],
        steps,
        shape: Shape::Collapse(300),
        config_toml: config_toml(steps, 30.0, 0.01, 0, kind),
    };
    write_sweep(root, EVIL, &["schedule.kind", "seed"], &[run("evil", EVIL), run("plain", "exponential")])
}
