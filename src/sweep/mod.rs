//! Sweeps: expanding an experiment into runs, running them, and laying out their files.

pub mod files;
pub mod grid;
pub mod runner;

use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;

use anyhow::{Context, Result};

use crate::config::Experiment;
use crate::report::build::build;
use crate::summary::RunSummary;
use files::{write_json, Manifest, ManifestRun, SweepDir};
use grid::{expand, RunSpec};

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
}

/// What a sweep produced.
pub struct SweepOutcome {
    pub dir: SweepDir,
    pub summaries: Vec<RunSummary>,
}

/// Loads and expands the experiment (nothing is written if that fails), then trains every
/// run that is not complete and builds the report. With `dry_run`, prints the runs and stops.
pub fn sweep(opts: &SweepOptions, stop: &AtomicBool) -> Result<Option<SweepOutcome>> {
    let exp = Experiment::load(&opts.experiment, &opts.overrides)?;
    let specs = expand(&exp)?;
    let dir = SweepDir::new(opts.out.join(&exp.name));
    if opts.dry_run {
        print_plan(&dir, &specs)?;
        return Ok(None);
    }
    std::fs::create_dir_all(dir.root.join("runs")).with_context(|| format!("creating {}", dir.root.display()))?;
    write_json(&dir.manifest(), &merged_manifest(&dir, &exp, &specs))?;
    runner::run_all(&dir, &specs, opts.jobs.max(1), opts.force, opts.shuffle, stop)?;
    let summaries = build(&dir)?;
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

/// This grid's runs, then runs of earlier grids in the same folder that are not in it.
fn merged_manifest(dir: &SweepDir, exp: &Experiment, specs: &[RunSpec]) -> Manifest {
    let mut m = Manifest {
        name: exp.name.clone(),
        swept_keys: exp.grid.iter().map(|a| a.key.clone()).collect(),
        runs: specs.iter().map(|s| ManifestRun { id: s.id.clone(), swept: s.swept.clone() }).collect(),
    };
    if let Ok(old) = dir.read_manifest() {
        for k in old.swept_keys {
            if !m.swept_keys.contains(&k) {
                m.swept_keys.push(k);
            }
        }
        for r in old.runs {
            if !m.runs.iter().any(|x| x.id == r.id) {
                m.runs.push(r);
            }
        }
    }
    m
}
