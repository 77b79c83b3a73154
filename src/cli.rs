//! Command-line flags, parsed in one place (clap derive), and the dispatch to each mode.

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;

use anyhow::Result;
use clap::{Parser, Subcommand};

use crate::report::build::build;
use crate::summary::Status;
use crate::sweep::files::SweepDir;
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
        /// Overrides, e.g. train.steps=200 or sweep.grid.optim.lr=[0.01,0.02].
        #[arg(value_name = "KEY=VALUE")]
        overrides: Vec<String>,
    },
    /// Rebuild every page and the summary of a sweep folder from its files.
    Report {
        /// A sweep folder, e.g. reports/phi_grid.
        sweep_dir: PathBuf,
    },
}

/// Runs the parsed command.
pub fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Sweep {
            experiment,
            out,
            jobs,
            resume: _,
            force,
            dry_run,
            overrides,
        } => {
            let jobs = match jobs {
                Some(0) => {
                    return Err(crate::error::bad_input(
                        "--jobs: must be at least 1 but got 0",
                    ))
                }
                Some(n) => n,
                None => std::thread::available_parallelism()
                    .map(|n| n.get())
                    .unwrap_or(1),
            };
            let opts = SweepOptions {
                experiment,
                out,
                jobs,
                overrides,
                force,
                dry_run,
            };
            let stop = AtomicBool::new(false);
            if let Some(outcome) = sweep(&opts, &stop)? {
                print_counts(&outcome.summaries);
                println!("report: {}", outcome.dir.root.join("index.html").display());
            }
            Ok(())
        }
        Command::Report { sweep_dir } => {
            let dir = SweepDir::new(&sweep_dir);
            if !dir.manifest().exists() {
                return Err(crate::error::bad_input(format!(
                    "{}: not a sweep folder (no sweep.json)",
                    sweep_dir.display()
                )));
            }
            let rows = build(&dir)?;
            print_counts(&rows);
            println!("report: {}", dir.root.join("index.html").display());
            Ok(())
        }
    }
}

fn print_counts(rows: &[crate::summary::RunSummary]) {
    let count = |s: Status| rows.iter().filter(|r| r.status == s).count();
    println!(
        "{} runs: {} ok, {} collapsed, {} diverged, {} failed, {} stopped",
        rows.len(),
        count(Status::Ok),
        count(Status::Collapsed),
        count(Status::Diverged),
        count(Status::Failed),
        count(Status::Stopped)
    );
}
