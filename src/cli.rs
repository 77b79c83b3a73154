//! Command-line flags, parsed in one place (clap derive), and the dispatch to each mode.

use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};

use crate::bench::{bench, BenchOptions};
use crate::config::resolved::DetectConfig;
use crate::detect::collapse::{detect, Finding};
use crate::detect::diagnose::{diagnose, Diagnosis};
use crate::device::DeviceKind;
use crate::error::{bad_input, Interrupted};
use crate::metrics::log::{read_log, Log};
use crate::report::build::build;
use crate::report::compare::compare;
use crate::slurm::{scripts, submit, SlurmOptions};
use crate::summary::status_counts;
use crate::sweep::files::SweepDir;
use crate::sweep::shard::Shard;
use crate::sweep::{sweep, SweepOptions};

#[derive(Debug, Parser)]
#[command(
    name = "harness",
    version,
    about = "Finds when and why a regression model's predictions collapse to one constant."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Train every run of an experiment's grid and build its report in OUT/NAME/.
    Sweep {
        /// Experiment file (TOML).
        experiment: PathBuf,
        /// Folder that receives OUT/NAME/ (NAME = the file's stem).
        #[arg(long, default_value = "reports")]
        out: PathBuf,
        /// Runs trained at once, one thread each (default: the number of cores).
        #[arg(long)]
        jobs: Option<usize>,
        /// Skip runs whose files are complete (also the default; kept for scripts).
        #[arg(long, conflicts_with = "force")]
        resume: bool,
        /// Re-run every run, complete or not.
        #[arg(long)]
        force: bool,
        /// Print the expanded runs and which are already done, then exit.
        #[arg(long)]
        dry_run: bool,
        /// Run the grid in random order (e.g. to see every region of a long sweep early).
        #[arg(long)]
        shuffle: bool,
        /// Train only shard I of N (1-based; a run's shard is its id mod N, plus 1) into the
        /// same folder, writing shards/I-of-N.json and no report: `harness report` merges them.
        #[arg(long, value_name = "I/N")]
        shard: Option<String>,
        /// Where runs train; cuda needs a build with `--features cuda`.
        #[arg(long, value_enum, default_value_t = DeviceKind::Cpu)]
        device: DeviceKind,
        /// Overrides, e.g. train.steps=200 or sweep.grid.optim.lr=[0.01,0.02].
        #[arg(value_name = "KEY=VALUE")]
        overrides: Vec<String>,
    },
    /// Write (and with --submit, submit) a Slurm job array that runs the sweep in shards, one
    /// per task, plus a job that builds the merged report when they are done.
    Slurm {
        /// Experiment file (TOML).
        experiment: PathBuf,
        /// Folder that receives OUT/NAME/ (on a filesystem every node sees).
        #[arg(long, default_value = "reports")]
        out: PathBuf,
        /// Array tasks, i.e. shards (default: one per run).
        #[arg(long, value_name = "N")]
        array: Option<u64>,
        /// Slurm partition.
        #[arg(long)]
        partition: Option<String>,
        /// GPUs per array task.
        #[arg(long)]
        gpus_per_task: Option<u32>,
        /// Time limit per task, e.g. 2:00:00.
        #[arg(long)]
        time: Option<String>,
        /// CPUs per array task, which also trains that many runs at once.
        #[arg(long, default_value_t = 1)]
        cpus_per_task: u32,
        /// Device of every shard (`harness sweep --device`).
        #[arg(long, value_enum, default_value_t = DeviceKind::Cpu)]
        device: DeviceKind,
        /// Print the scripts and write nothing.
        #[arg(long, conflicts_with = "submit")]
        dry_run: bool,
        /// Submit with sbatch and print the job ids.
        #[arg(long)]
        submit: bool,
        /// Overrides, passed on to every shard.
        #[arg(value_name = "KEY=VALUE")]
        overrides: Vec<String>,
    },
    /// Run the collapse detector (and, where the columns allow, the diagnosis) on any per-step
    /// log, e.g. one a PyTorch script wrote every 100 steps.
    Detect {
        /// A .csv (with a header) or .parquet file.
        file: PathBuf,
        /// Column with the optimizer step; without it, the row index is the step.
        #[arg(long)]
        step_col: Option<String>,
        /// Column with the standard deviation of the predictions.
        #[arg(long, default_value = "pred_std")]
        std_col: String,
        /// Print one JSON object instead of a sentence.
        #[arg(long)]
        json: bool,
        /// pred_std at or below this counts as collapsed…
        #[arg(long, default_value_t = DetectConfig::default().abs_floor)]
        abs_floor: f64,
        /// …or at or below this share of its running peak.
        #[arg(long, default_value_t = DetectConfig::default().rel_floor)]
        rel_floor: f64,
        /// Steps below the floor before it counts as a collapse (counted in steps, not rows).
        #[arg(long, default_value_t = DetectConfig::default().patience)]
        patience: u64,
    },
    /// Time training steps of an experiment's base config: the harness with statistics on and
    /// off, the PyTorch reference on the same batches (alternating), and several runs at once.
    Bench {
        /// Experiment file (TOML); its grid is ignored, overrides apply.
        experiment: PathBuf,
        /// Steps per timed run, warm-up included.
        #[arg(long, default_value_t = 300)]
        steps: usize,
        /// First steps of each run that are not timed.
        #[arg(long, default_value_t = 50)]
        warmup: usize,
        /// Timed runs of each kind, alternating; figures are medians over them.
        #[arg(long, default_value_t = 5)]
        repeats: usize,
        /// Runs trained at once for the throughput figure (default: the number of cores).
        #[arg(long)]
        jobs: Option<usize>,
        /// Python interpreter with torch and transformers, for scripts/torch_reference.py.
        #[arg(long, default_value = "python3")]
        python: String,
        /// Where both train; cuda needs a build with `--features cuda`.
        #[arg(long, value_enum, default_value_t = DeviceKind::Cpu)]
        device: DeviceKind,
        /// Overrides, e.g. model.hidden_size=256.
        #[arg(value_name = "KEY=VALUE")]
        overrides: Vec<String>,
    },
    /// Rebuild every page and the summary of a sweep folder from its files.
    Report {
        /// A sweep folder, e.g. reports/phi_grid.
        sweep_dir: PathBuf,
    },
    /// Overlay the curves of runs (or of every run of sweeps) and show what differs in their
    /// configs, in one self-contained HTML file.
    Compare {
        /// Run folders (SWEEP/runs/RUN_ID) or sweep folders, in any mix.
        #[arg(required = true, value_name = "RUN_OR_SWEEP_DIR")]
        inputs: Vec<PathBuf>,
        /// The HTML file to write.
        #[arg(long, default_value = "compare.html")]
        out: PathBuf,
    },
}

/// Runs the parsed command.
/// `println!` that returns the error instead of panicking (a closed pipe ends us quietly).
macro_rules! say {
    ($($arg:tt)*) => {
        writeln!(std::io::stdout().lock(), $($arg)*)
    };
}

pub fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Sweep { experiment, out, jobs, resume, force, dry_run, shuffle, shard, device, overrides } => {
            let shard = shard.as_deref().map(Shard::parse).transpose()?;
            let jobs = match jobs {
                Some(0) => return Err(crate::error::bad_input("--jobs: must be at least 1 but got 0")),
                Some(n) => n,
                None => std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
            };
            if resume && !out.join(experiment.file_stem().unwrap_or_default()).join("sweep.json").exists() {
                eprintln!("--resume: no earlier sweep in {}; starting one", out.display());
            }
            let opts = SweepOptions { experiment, out, jobs, overrides, force, shuffle, dry_run, shard, device };
            if !dry_run {
                catch_ctrl_c();
            }
            if let Some(outcome) = sweep(&opts, &STOP)? {
                print_counts(&outcome.summaries)?;
                match shard {
                    Some(shard) => say!(
                        "shard {shard} done; build the merged report with: harness report {}",
                        outcome.dir.root.display()
                    )?,
                    None => say!("report: {}", outcome.dir.root.join("index.html").display())?,
                }
                if STOP.load(Ordering::SeqCst) {
                    return Err(anyhow::Error::new(Interrupted(
                        "interrupted: finished runs and the report are saved; run the same command again to resume"
                            .into(),
                    )));
                }
            }
            Ok(())
        }
        Command::Detect { file, step_col, std_col, json, abs_floor, rel_floor, patience } => {
            let params = detect_params(abs_floor, rel_floor, patience)?;
            let required = step_col.is_some();
            let log = read_log(&file, step_col.as_deref().unwrap_or("step"), required, &std_col)?;
            let finding = detect(&log.steps, &log.pred_std, &params);
            let diagnosis = diagnose(&log.table, &log.steps, &finding, &params)?;
            if json {
                say!("{}", detect_json(&log, &finding, &diagnosis))?;
            } else {
                say!("{}: {}", file.display(), verdict(&log, &finding, &diagnosis))?;
            }
            Ok(())
        }
        Command::Bench { experiment, steps, warmup, repeats, jobs, python, device, overrides } => {
            let jobs = jobs.unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1));
            let opts = BenchOptions { experiment, overrides, steps, warmup, repeats, jobs, python, device };
            let result = bench(&opts)?;
            say!("{}", result.text().trim_end())?;
            Ok(())
        }
        Command::Report { sweep_dir } => {
            let dir = SweepDir::new(&sweep_dir);
            if !dir.has_manifest() {
                return Err(crate::error::bad_input(format!(
                    "{}: not a sweep folder (no sweep.json)",
                    sweep_dir.display()
                )));
            }
            let rows = build(&dir)?;
            print_counts(&rows)?;
            say!("report: {}", dir.root.join("index.html").display())?;
            Ok(())
        }
        Command::Slurm {
            experiment,
            out,
            array,
            partition,
            gpus_per_task,
            time,
            cpus_per_task,
            device,
            dry_run,
            submit: and_submit,
            overrides,
        } => {
            let opts = SlurmOptions {
                experiment,
                out,
                array,
                partition,
                gpus_per_task,
                time,
                cpus_per_task,
                device,
                overrides,
            };
            slurm(&opts, dry_run, and_submit)
        }
        Command::Compare { inputs, out } => {
            let n = compare(&inputs, &out)?;
            say!("compared {n} runs: {}", out.display())?;
            Ok(())
        }
    }
}

/// `harness slurm`: print, write, or write and submit the job scripts.
fn slurm(opts: &SlurmOptions, dry_run: bool, and_submit: bool) -> Result<()> {
    let exe = std::env::current_exe().context("finding the harness binary")?;
    let cwd = std::env::current_dir().context("reading the current folder")?;
    let s = scripts(opts, &exe, &cwd)?;
    if dry_run {
        say!("# {}\n{}\n# {}\n{}", s.sweep_path().display(), s.sweep, s.report_path().display(), s.report)?;
        return Ok(());
    }
    s.write()?;
    say!("{} runs in {} array tasks: {}, {}", s.runs, s.tasks, s.sweep_path().display(), s.report_path().display())?;
    if and_submit {
        let ids = submit(&s)?;
        say!("submitted array job {} and report job {} (afterany)", ids.array_job, ids.report_job)?;
        say!("watch: squeue -j {},{}   logs: {}", ids.array_job, ids.report_job, s.folder.join("logs").display())?;
    } else {
        say!(
            "submit: id=$(sbatch --parsable {}) && sbatch --dependency=afterany:$id {}",
            s.sweep_path().display(),
            s.report_path().display()
        )?;
    }
    Ok(())
}

/// Set by Ctrl-C: no new run starts and running ones stop after their current step.
static STOP: AtomicBool = AtomicBool::new(false);

/// First Ctrl-C: stop gracefully (flush, summary, report, exit 130). Second: quit at once.
fn catch_ctrl_c() {
    let installed = ctrlc::set_handler(|| {
        if STOP.swap(true, Ordering::SeqCst) {
            std::process::exit(130);
        }
        eprintln!("\ninterrupt: letting running steps finish and writing the report (Ctrl-C again to quit now)");
    });
    if let Err(e) = installed {
        eprintln!("warning: Ctrl-C will not stop gracefully: {e}");
    }
}

fn print_counts(rows: &[crate::summary::RunSummary]) -> std::io::Result<()> {
    say!("{}", status_counts(&rows.iter().collect::<Vec<_>>()))
}

fn detect_params(abs_floor: f64, rel_floor: f64, patience: u64) -> Result<DetectConfig> {
    if !(abs_floor.is_finite() && abs_floor >= 0.0) {
        return Err(bad_input(format!("--abs-floor: must be >= 0 but got {abs_floor}")));
    }
    if !(0.0..=1.0).contains(&rel_floor) {
        return Err(bad_input(format!("--rel-floor: must be in [0, 1] but got {rel_floor}")));
    }
    if patience == 0 {
        return Err(bad_input("--patience: must be at least 1 but got 0"));
    }
    Ok(DetectConfig { abs_floor, rel_floor, patience, stop_after: None })
}

/// JSON numbers cannot be NaN/Inf: those become null.
fn num(x: f64) -> serde_json::Value {
    serde_json::Number::from_f64(x).map_or(serde_json::Value::Null, serde_json::Value::Number)
}

fn detect_json(log: &Log, f: &Finding, d: &Diagnosis) -> serde_json::Value {
    serde_json::json!({
        "collapsed": f.collapsed(),
        "collapse_step": f.collapse_step,
        "recovered": f.recovered,
        "recovery_step": f.recovery_step,
        "n_collapses": f.n_collapses,
        "dips": f.dips.len(),
        "peak_std": num(f.peak_std),
        "final_std": num(f.final_std),
        "floor": num(f.floor),
        "rows": log.steps.len(),
        "first_step": log.steps.first(),
        "last_step": log.steps.last(),
        "cause": d.cause.as_str(),
        "first_dead_layer": d.first_dead_layer,
        "dead_step": d.dead_step,
        "warning_step": d.warning_step,
        "diagnosis": d.text,
    })
}

fn verdict(log: &Log, f: &Finding, d: &Diagnosis) -> String {
    let span = format!(
        "{} rows, steps {}..{}",
        log.steps.len(),
        log.steps.first().copied().unwrap_or_default(),
        log.steps.last().copied().unwrap_or_default()
    );
    match f.collapse_step {
        Some(s) => format!(
            "COLLAPSED at step {s} (peak std {:.3e}, floor {:.3e}, final {:.3e}){}; {} [{span}]",
            f.peak_std,
            f.floor,
            f.final_std,
            if f.recovered { ", recovered" } else { ", never recovered" },
            d.text
        ),
        None => format!("no collapse (peak std {:.3e}, final {:.3e}); {} [{span}]", f.peak_std, f.final_std, d.text),
    }
}
