//! `harness` finds out when and why a regression model's predictions collapse to one constant.
//!
//! Data flows one way:
//! experiment TOML → [`config::Experiment`] → [`sweep::grid::RunSpec`]s → [`train::trainer`] emits
//! [`metrics::record::StepRecord`]s → `metrics.parquet` → [`detect`] (collapse step, diagnosis)
//! → [`summary::RunSummary`] → [`report`] (HTML + SVG).
//!
//! ```no_run
//! use std::sync::atomic::AtomicBool;
//! use harness::sweep::{sweep, SweepOptions};
//! let opts = SweepOptions {
//!     experiment: "experiments/smoke.toml".into(),
//!     out: "reports".into(),
//!     jobs: 2,
//!     overrides: vec!["train.steps=50".into()],
//!     force: false,
//!     shuffle: false,
//!     dry_run: false,
//!     shard: None,
//!     device: Default::default(),
//! };
//! let outcome = sweep(&opts, &AtomicBool::new(false)).unwrap().unwrap();
//! println!("{} runs", outcome.summaries.len());
//! ```

pub mod analysis;
pub mod bench;
pub mod cli;
pub mod config;
pub mod data;
pub mod detect;
pub mod device;
pub mod error;
pub mod metrics;
pub mod model;
pub mod report;
pub mod slurm;
pub mod summary;
pub mod sweep;
pub mod train;
