//! `harness slurm`: runs a sweep as a Slurm job array on a shared filesystem. Writes two batch
//! scripts into `OUT/NAME/slurm/`: `sweep.sbatch`, whose array task `k` (1..=N) runs
//! `harness sweep EXPERIMENT --shard k/N`, and `report.sbatch`, which builds the merged report;
//! with `submit`, hands them to `sbatch`, the report job depending on the whole array
//! (`--dependency=afterany:ARRAY_JOB`, so it runs even when some tasks failed). Slurm schedules;
//! we only write its scripts.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

use crate::config::Experiment;
use crate::device::DeviceKind;
use crate::error::bad_input;
use crate::sweep::files::write_atomic;
use crate::sweep::grid::expand;

/// What `harness slurm` was asked to do.
#[derive(Debug, Clone)]
pub struct SlurmOptions {
    pub experiment: PathBuf,
    pub out: PathBuf,
    /// Array tasks (shards); `None`: one per run of the grid.
    pub array: Option<u64>,
    pub partition: Option<String>,
    pub gpus_per_task: Option<u32>,
    /// Time limit per task, in any form `sbatch --time` takes (e.g. `1:00:00`).
    pub time: Option<String>,
    /// CPUs per array task; also the runs each task trains at once (`--jobs`).
    pub cpus_per_task: u32,
    /// Passed on to every shard (`--device`).
    pub device: DeviceKind,
    pub overrides: Vec<String>,
}

/// The two batch scripts and where they go.
#[derive(Debug, Clone, PartialEq)]
pub struct Scripts {
    pub folder: PathBuf,
    pub sweep: String,
    pub report: String,
    pub tasks: u64,
    pub runs: usize,
}

impl Scripts {
    pub fn sweep_path(&self) -> PathBuf {
        self.folder.join("sweep.sbatch")
    }
    pub fn report_path(&self) -> PathBuf {
        self.folder.join("report.sbatch")
    }

    /// Writes both scripts (and the folder for the tasks' logs).
    pub fn write(&self) -> Result<()> {
        let logs = self.folder.join("logs");
        std::fs::create_dir_all(&logs).with_context(|| format!("creating {}", logs.display()))?;
        write_atomic(&self.sweep_path(), self.sweep.as_bytes())?;
        write_atomic(&self.report_path(), self.report.as_bytes())
    }
}

/// Validates the experiment (with its overrides) and writes the scripts' text; nothing is written.
/// `harness` is the binary the tasks run and `cwd` the folder they run in; relative paths
/// are made absolute against `cwd`, as the tasks may start anywhere.
pub fn scripts(opts: &SlurmOptions, harness: &Path, cwd: &Path) -> Result<Scripts> {
    if opts.array == Some(0) {
        return Err(bad_input("--array: must be at least 1 but got 0"));
    }
    if opts.cpus_per_task == 0 {
        return Err(bad_input("--cpus-per-task: must be at least 1 but got 0"));
    }
    opts.device.check_built()?;
    let exp = Experiment::load(&opts.experiment, &opts.overrides)?;
    let runs = expand(&exp)?.len();
    let tasks = opts.array.unwrap_or(runs as u64);
    let absolute = |p: &Path| if p.is_absolute() { p.to_path_buf() } else { cwd.join(p) };
    let (experiment, out) = (absolute(&opts.experiment), absolute(&opts.out));
    let sweep_dir = out.join(&exp.name);
    let folder = sweep_dir.join("slurm");
    let logs = folder.join("logs");

    let mut head = String::new();
    if let Some(p) = &opts.partition {
        writeln!(head, "#SBATCH --partition={p}")?;
    }
    if let Some(t) = &opts.time {
        writeln!(head, "#SBATCH --time={t}")?;
    }
    let mut sweep = format!("#!/bin/bash\n#SBATCH --job-name=harness-{}\n", exp.name);
    writeln!(sweep, "#SBATCH --array=1-{tasks}")?;
    writeln!(sweep, "#SBATCH --cpus-per-task={}", opts.cpus_per_task)?;
    if let Some(g) = opts.gpus_per_task {
        writeln!(sweep, "#SBATCH --gpus-per-task={g}")?;
    }
    writeln!(sweep, "#SBATCH --output={}", logs.join("sweep-%A_%a.out").display())?;
    sweep.push_str(&head);
    let mut args: Vec<String> = vec![
        quote(&harness.display().to_string()),
        "sweep".into(),
        quote(&experiment.display().to_string()),
        "--shard".into(),
        format!("\"${{SLURM_ARRAY_TASK_ID}}/{tasks}\""),
        "--out".into(),
        quote(&out.display().to_string()),
        "--jobs".into(),
        opts.cpus_per_task.to_string(),
    ];
    if opts.device != DeviceKind::Cpu {
        args.extend(["--device".into(), opts.device.as_str().into()]);
    }
    args.extend(opts.overrides.iter().map(|o| quote(o)));
    writeln!(sweep, "# {runs} runs in {tasks} shards; a run's shard is its id (hex) mod {tasks}, plus 1.")?;
    writeln!(sweep, "set -euo pipefail\ncd {}\nexec {}", quote(&cwd.display().to_string()), args.join(" "))?;

    let mut report = format!("#!/bin/bash\n#SBATCH --job-name=harness-{}-report\n", exp.name);
    writeln!(report, "#SBATCH --cpus-per-task={}", opts.cpus_per_task)?;
    writeln!(report, "#SBATCH --output={}", logs.join("report-%j.out").display())?;
    report.push_str(&head);
    writeln!(
        report,
        "set -euo pipefail\ncd {}\nexec {} report {}",
        quote(&cwd.display().to_string()),
        quote(&harness.display().to_string()),
        quote(&sweep_dir.display().to_string())
    )?;
    Ok(Scripts { folder, sweep, report, tasks, runs })
}

/// Job ids of a submitted sweep.
#[derive(Debug, Clone, PartialEq)]
pub struct Submitted {
    pub array_job: String,
    pub report_job: String,
}

/// Submits the array, then the report job depending on all of its tasks.
pub fn submit(s: &Scripts) -> Result<Submitted> {
    let array_job = sbatch(&[], &s.sweep_path())?;
    let report_job = sbatch(&[format!("--dependency=afterany:{array_job}")], &s.report_path())?;
    Ok(Submitted { array_job, report_job })
}

/// `sbatch --parsable [extra] SCRIPT` and the job id it prints (`ID` or `ID;CLUSTER`).
fn sbatch(extra: &[String], script: &Path) -> Result<String> {
    let out = Command::new("sbatch")
        .arg("--parsable")
        .args(extra)
        .arg(script)
        .output()
        .context("running sbatch (is Slurm installed and on PATH?)")?;
    if !out.status.success() {
        bail!("sbatch {} failed: {}", script.display(), String::from_utf8_lossy(&out.stderr).trim());
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let id = text.trim().split(';').next().unwrap_or_default().to_string();
    if id.is_empty() || !id.chars().all(|c| c.is_ascii_digit()) {
        bail!("sbatch {} printed no job id: {text:?}", script.display());
    }
    Ok(id)
}

/// `text` as one shell word.
fn quote(text: &str) -> String {
    let plain = !text.is_empty() && text.chars().all(|c| c.is_ascii_alphanumeric() || "/._-=,:+@%".contains(c));
    if plain {
        text.to_string()
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_only_what_needs_it() {
        let table = [
            ("train.steps=20", "train.steps=20"),
            ("sweep.grid.seed=[0, 1]", "'sweep.grid.seed=[0, 1]'"),
            ("it's", r"'it'\''s'"),
            ("", "''"),
        ];
        for (text, want) in table {
            assert_eq!(quote(text), want, "{text:?}");
        }
    }
}
