//! Sweeps: expanding an experiment into runs, running them, and laying out their files.

pub mod files;
pub mod grid;
pub mod runner;
pub mod shard;

use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;

use anyhow::{Context, Result};
use candle_core::Device;

use crate::config::resolved::DataConfig;
use crate::config::Experiment;
use crate::device::DeviceKind;
use crate::error::bad_input;
use crate::report::build::build;
use crate::report::build::summarize_or_fail;
use crate::summary::RunSummary;
use crate::train::trainer::Trainer;
use files::{write_json, Manifest, ManifestRun, SweepDir};
use grid::{expand, RunSpec};
use shard::Shard;

/// What `harness sweep` was asked to do.
#[derive(Debug, Clone)]
pub struct SweepOptions {
    pub experiment: PathBuf,
    pub out: PathBuf,
    pub jobs: usize,
    pub overrides: Vec<String>,
    /// Re-run runs that are already complete.
    pub force: bool,
    /// Run the grid in random order.
    pub shuffle: bool,
    pub dry_run: bool,
    /// Train only this shard's runs, write `shards/I-of-N.json` and build no report.
    pub shard: Option<Shard>,
    /// Where the runs train.
    pub device: DeviceKind,
}

/// What a sweep produced.
pub struct SweepOutcome {
    pub dir: SweepDir,
    /// Every run of the report; with a shard, only the shard's complete runs (no report built).
    pub summaries: Vec<RunSummary>,
}

/// Loads and expands the experiment (nothing is written if that fails), then trains every
/// run that is not complete and builds the report. With `dry_run`, prints the runs and stops.
/// With a shard, only its runs are planned and trained, and no shared file is written.
pub fn sweep(opts: &SweepOptions, stop: &AtomicBool) -> Result<Option<SweepOutcome>> {
    let exp = Experiment::load(&opts.experiment, &opts.overrides)?;
    let grid = expand(&exp)?;
    let specs: Vec<RunSpec> = match &opts.shard {
        Some(shard) => grid.iter().filter(|s| shard.owns(&s.id)).cloned().collect(),
        None => grid.clone(),
    };
    let dir = SweepDir::new(opts.out.join(&exp.name));
    if opts.dry_run {
        print_plan(&dir, &specs)?;
        return Ok(None);
    }
    let dev = opts.device.open()?;
    check_inputs(&exp, &specs, &dev)?;
    std::fs::create_dir_all(dir.root.join("runs")).with_context(|| format!("creating {}", dir.root.display()))?;
    let Some(shard) = &opts.shard else {
        write_json(&dir.manifest(), &merged_manifest(&dir, &exp, &specs))?;
        runner::run_all(&dir, &specs, opts.jobs.max(1), opts.force, opts.shuffle, stop, &dev)?;
        let summaries = build(&dir)?;
        return Ok(Some(SweepOutcome { dir, summaries }));
    };
    std::fs::create_dir_all(dir.shards()).with_context(|| format!("creating {}", dir.shards().display()))?;
    // The whole grid, so the merged manifest keeps grid order whichever shards have written.
    write_json(&shard.manifest(&dir), &grid_manifest(&exp, &grid))?;
    runner::run_all(&dir, &specs, opts.jobs.max(1), opts.force, opts.shuffle, stop, &dev)?;
    let summaries = specs
        .iter()
        .filter(|s| dir.is_complete(&s.id))
        .map(|s| summarize_or_fail(&dir, &ManifestRun { id: s.id.clone(), swept: s.swept.clone() }).0)
        .collect();
    Ok(Some(SweepOutcome { dir, summaries }))
}

fn print_plan(dir: &SweepDir, specs: &[RunSpec]) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    let done = specs.iter().filter(|s| dir.is_complete(&s.id)).count();
    writeln!(out, "{} runs ({} done, {} to run) into {}", specs.len(), done, specs.len() - done, dir.root.display())?;
    for s in specs {
        let swept: Vec<String> = s.swept.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let state = if dir.is_complete(&s.id) { "done" } else { "todo" };
        writeln!(out, "{}  {state}  {}", s.id, swept.join(" "))?;
    }
    Ok(())
}

/// The runs of `specs`, in grid order.
fn grid_manifest(exp: &Experiment, specs: &[RunSpec]) -> Manifest {
    Manifest {
        name: exp.name.clone(),
        swept_keys: exp.grid.iter().map(|a| a.key.clone()).collect(),
        runs: specs.iter().map(|s| ManifestRun { id: s.id.clone(), swept: s.swept.clone() }).collect(),
    }
}

/// This grid's runs, then runs of earlier grids (and shards) in the same folder that are not in it.
fn merged_manifest(dir: &SweepDir, exp: &Experiment, specs: &[RunSpec]) -> Manifest {
    let mut m = grid_manifest(exp, specs);
    if let Ok(old) = dir.read_manifest() {
        m.absorb(old);
    }
    m
}

/// Reads every data file and checkpoint the runs name (once per distinct data and model
/// settings) before anything is written, so that a bad file is bad input (exit 2) rather than
/// a sweep of failed runs. Synthetic data with a random encoder needs no check.
fn check_inputs(exp: &Experiment, specs: &[RunSpec], dev: &Device) -> Result<()> {
    let mut seen: Vec<String> = Vec::new();
    for spec in specs {
        if matches!(spec.config.data, DataConfig::Synthetic { .. }) && spec.config.model.pretrained.is_none() {
            continue;
        }
        let key = format!("{:?} {:?}", spec.config.data, spec.config.model);
        if seen.contains(&key) {
            continue;
        }
        Trainer::on(&spec.config, dev).map_err(|e| bad_input(format!("{}: {e:#}", exp.path.display())))?;
        seen.push(key);
    }
    Ok(())
}
