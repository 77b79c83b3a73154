//! `harness bench`: what a training step costs, measured against references in one invocation.
//! For an experiment's base config it times, repeat after repeat: the harness with every
//! statistic on (records streamed to Parquet, as in a sweep), the same steps with statistics
//! off, the PyTorch reference (`scripts/torch_reference.py`) on exactly the same batches, and
//! `jobs` runs at once on a pool like the sweep's. Warm-up steps are not timed; each figure is
//! the median over repeats of a run's mean ms/step.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::AtomicBool;
use std::sync::Barrier;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use candle_core::Device;
use rayon::prelude::*;
use serde::Deserialize;

use crate::analysis::median;
use crate::config::{resolve_table, Experiment, RunConfig};
use crate::device::DeviceKind;
use crate::error::bad_input;
use crate::metrics::writer::MetricsWriter;
use crate::train::trainer::{Ending, Trainer};

/// What `harness bench` was asked to measure.
#[derive(Debug, Clone)]
pub struct BenchOptions {
    pub experiment: PathBuf,
    pub overrides: Vec<String>,
    /// Steps per timed run, warm-up included.
    pub steps: usize,
    /// First steps of each run left out of the timing.
    pub warmup: usize,
    pub repeats: usize,
    /// Runs trained at once for the throughput figure.
    pub jobs: usize,
    /// Interpreter with torch and transformers for the reference.
    pub python: String,
    pub device: DeviceKind,
}

/// Per-repeat mean ms/step of each contender.
#[derive(Debug, Clone, PartialEq)]
pub struct BenchResult {
    pub shape: String,
    pub params: usize,
    pub stats_on: Vec<f64>,
    pub stats_off: Vec<f64>,
    pub torch: Vec<f64>,
    /// Versions and settings the reference reported.
    pub torch_info: String,
    /// Mean ms/step of the runs while `jobs` of them trained at once.
    pub parallel: Vec<f64>,
    pub jobs: usize,
}

/// What the reference script prints on its last line.
#[derive(Debug, Deserialize)]
struct Reference {
    ms_per_step: f64,
    params: usize,
    #[serde(default)]
    info: String,
}

/// The reference script next to the sources this binary was built from.
fn reference_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/torch_reference.py")
}

pub fn bench(opts: &BenchOptions) -> Result<BenchResult> {
    if opts.warmup + 10 > opts.steps {
        return Err(bad_input(format!(
            "--steps {} leaves fewer than 10 timed steps after --warmup {}",
            opts.steps, opts.warmup
        )));
    }
    for (flag, v) in [("--repeats", opts.repeats), ("--jobs", opts.jobs)] {
        if v == 0 {
            return Err(bad_input(format!("{flag}: must be at least 1 but got 0")));
        }
    }
    let exp = Experiment::load(&opts.experiment, &opts.overrides)?;
    let mut cfg =
        resolve_table(&exp.base).map_err(|e| bad_input(format!("{}: {}: {}", exp.path.display(), e.key, e.msg)))?;
    cfg.train.steps = opts.steps as u64;
    cfg.detect.stop_after = None;
    let dev = opts.device.open()?;

    let scratch = std::env::temp_dir().join(format!("harness-bench-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).with_context(|| format!("creating {}", scratch.display()))?;
    let result = measure(opts, &cfg, &dev, &scratch);
    let _ = std::fs::remove_dir_all(&scratch);
    result
}

fn measure(opts: &BenchOptions, cfg: &RunConfig, dev: &Device, scratch: &Path) -> Result<BenchResult> {
    let trainer = Trainer::on(cfg, dev)?;
    let params: usize = trainer.model().params.params.iter().filter(|p| p.trainable).map(|p| p.var.elem_count()).sum();
    let spec = scratch.join("spec.json");
    write_spec(&spec, cfg, &trainer, opts, params)?;
    drop(trainer);
    let pool = rayon::ThreadPoolBuilder::new().num_threads(opts.jobs).build().context("starting the run pool")?;
    let mut r = BenchResult {
        shape: shape_text(cfg),
        params,
        stats_on: vec![],
        stats_off: vec![],
        torch: vec![],
        torch_info: String::new(),
        parallel: vec![],
        jobs: opts.jobs,
    };
    for i in 0..opts.repeats {
        eprintln!("repeat {}/{}", i + 1, opts.repeats);
        // On and off take turns going first, so that neither gains from the order.
        for stats in if i % 2 == 0 { [true, false] } else { [false, true] } {
            let ms = time_run(cfg, dev, stats, opts.warmup, &scratch.join("metrics.parquet"), None)?;
            if stats { &mut r.stats_on } else { &mut r.stats_off }.push(ms);
        }
        let reference = run_reference(&opts.python, &spec)?;
        if reference.params != params {
            bail!(
                "the reference trains {} parameters, the harness {params}: it is not the same model ({})",
                reference.params,
                reference_script().display()
            );
        }
        r.torch.push(reference.ms_per_step);
        r.torch_info = reference.info;
        let barrier = Barrier::new(opts.jobs);
        let each: Vec<f64> = pool.install(|| {
            (0..opts.jobs)
                .into_par_iter()
                .map(|j| {
                    let file = scratch.join(format!("par{j}.parquet"));
                    time_run(cfg, dev, true, opts.warmup, &file, Some(&barrier))
                })
                .collect::<Result<_>>()
        })?;
        r.parallel.push(each.iter().sum::<f64>() / each.len() as f64);
    }
    Ok(r)
}

/// Trains `cfg` once and returns the mean ms/step after `warmup` steps, per-step work included
/// (with statistics: the records written to `metrics` as a sweep writes them).
fn time_run(
    cfg: &RunConfig,
    dev: &Device,
    stats: bool,
    warmup: usize,
    metrics: &Path,
    start_together: Option<&Barrier>,
) -> Result<f64> {
    let mut trainer = Trainer::on(cfg, dev)?;
    trainer.set_stats(stats);
    let mut writer = if stats { Some(MetricsWriter::create(metrics, trainer.layout())?) } else { None };
    if let Some(b) = start_together {
        b.wait();
    }
    let mut marks = Vec::with_capacity(cfg.train.steps as usize + 1);
    marks.push(Instant::now());
    let (ending, _) = trainer.run(&AtomicBool::new(false), &mut |rec| {
        if let Some(w) = writer.as_mut() {
            w.push(rec)?;
        }
        dev.synchronize()?;
        marks.push(Instant::now());
        Ok(None)
    })?;
    if let Some(w) = writer {
        w.finish()?;
    }
    if ending != Ending::Finished {
        bail!("the timed run ended early ({ending:?}); pick settings that train to the end");
    }
    let n = marks.len() - 1 - warmup;
    Ok(marks[marks.len() - 1].duration_since(marks[warmup]).as_secs_f64() * 1e3 / n as f64)
}

/// The run's config, batches and timing settings, for the reference script.
fn write_spec(path: &Path, cfg: &RunConfig, trainer: &Trainer, opts: &BenchOptions, params: usize) -> Result<()> {
    let batches: Vec<serde_json::Value> = trainer
        .batches(opts.steps)
        .iter()
        .map(|b| {
            serde_json::json!({
                "batch": b.batch,
                "seq_len": b.seq_len,
                "input_ids": b.input_ids,
                "attention_mask": b.attention_mask,
                "keep": b.keep,
                "labels": b.kept_labels(),
            })
        })
        .collect();
    let spec = serde_json::json!({
        "config": cfg,
        "params": params,
        "warmup": opts.warmup,
        "device": opts.device.as_str(),
        "threads": 1,
        "batches": batches,
    });
    std::fs::write(path, serde_json::to_vec(&spec)?).with_context(|| format!("writing {}", path.display()))
}

fn run_reference(python: &str, spec: &Path) -> Result<Reference> {
    let script = reference_script();
    let out = Command::new(python)
        .arg(&script)
        .arg(spec)
        .env("OMP_NUM_THREADS", "1")
        .env("MKL_NUM_THREADS", "1")
        .output()
        .map_err(|e| bad_input(format!("--python {python}: cannot run it: {e}")))?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        let tail: Vec<&str> = stderr.lines().rev().take(6).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        return Err(bad_input(format!(
            "--python {python}: {} failed ({}); it needs torch and transformers \
             (scripts/install_torch.sh makes a virtualenv with both):\n{}",
            script.display(),
            out.status,
            tail.join("\n")
        )));
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    let last = stdout.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or_default();
    serde_json::from_str(last).with_context(|| {
        format!("{}: expected a JSON line with ms_per_step and params, got {last:?}", script.display())
    })
}

fn shape_text(cfg: &RunConfig) -> String {
    let m = &cfg.model;
    let data = match &cfg.data {
        crate::config::resolved::DataConfig::Synthetic { min_len, max_len, .. } => format!("seq {min_len}–{max_len}"),
        _ => "data file".to_string(),
    };
    format!(
        "hidden {}, {} layers, {} heads, intermediate {}, head {:?}, {data}, batch {}",
        m.hidden_size, m.num_layers, m.num_heads, m.intermediate_size, m.head_sizes, cfg.train.batch_size
    )
}

impl BenchResult {
    /// harness (statistics on) / PyTorch, per step.
    pub fn torch_ratio(&self) -> f64 {
        median(&self.stats_on) / median(&self.torch)
    }

    /// Extra time of the statistics, as a share of a step without them.
    pub fn stats_overhead(&self) -> f64 {
        median(&self.stats_on) / median(&self.stats_off) - 1.0
    }

    /// Throughput of `jobs` runs at once over one run's.
    pub fn parallel_speedup(&self) -> f64 {
        self.jobs as f64 * median(&self.stats_on) / median(&self.parallel)
    }

    pub fn text(&self) -> String {
        let row = |name: &str, v: &[f64]| {
            let runs: Vec<String> = v.iter().map(|x| format!("{x:.3}")).collect();
            format!("{name:<28} {:>9.3}   {}\n", median(v), runs.join(" "))
        };
        let mut s = format!("model: {} ({} trainable parameters)\n", self.shape, self.params);
        s += &format!("{:<28} {:>9}   per repeat\n", "ms/step", "median");
        s += &row("harness, statistics on", &self.stats_on);
        s += &row("harness, statistics off", &self.stats_off);
        s += &row("pytorch reference", &self.torch);
        s += &row(&format!("harness, {} runs at once", self.jobs), &self.parallel);
        s += &format!("reference: {}\n", self.torch_info);
        s += &format!(
            "harness / pytorch = {:.3}; statistics overhead = {:+.1} %; {} runs at once = {:.2}x the throughput of one\n",
            self.torch_ratio(),
            100.0 * self.stats_overhead(),
            self.jobs,
            self.parallel_speedup()
        );
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_and_ratios() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        assert!(median(&[]).is_nan());
        let r = BenchResult {
            shape: String::new(),
            params: 1,
            stats_on: vec![1.1, 1.0, 5.0],
            stats_off: vec![1.0, 1.0, 0.9],
            torch: vec![2.0, 2.0, 9.0],
            torch_info: String::new(),
            parallel: vec![1.2, 1.25, 1.2],
            jobs: 2,
        };
        assert!((r.torch_ratio() - 1.1 / 2.0).abs() < 1e-12);
        assert!((r.stats_overhead() - 0.1).abs() < 1e-12);
        assert!((r.parallel_speedup() - 2.0 * 1.1 / 1.2).abs() < 1e-12);
    }
}
