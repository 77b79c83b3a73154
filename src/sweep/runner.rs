//! Runs a sweep's [`RunSpec`]s on a rayon pool of `jobs` threads, one thread per run (candle's
//! matmul is kept single-threaded: on 2 cores, two threads for one model measured 5–10× slower
//! than one). Each run writes its config, metrics and result; a run that panics, errors or
//! diverges is recorded as such and the others go on.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use anyhow::{Context, Result};
use candle_core::Device;
use indicatif::{ProgressBar, ProgressStyle};
use rand::seq::SliceRandom;
use rayon::prelude::*;

use super::files::{write_atomic, write_json, RunResult, SweepDir};
use super::grid::RunSpec;
use crate::detect::collapse::OnlineCollapse;
use crate::metrics::writer::MetricsWriter;
use crate::train::trainer::{Ending, Trainer};

/// Keeps candle's CPU kernels on the calling thread. Call before any thread starts.
pub fn single_threaded_kernels() {
    std::env::set_var("RAYON_NUM_THREADS", "1");
}

/// Trains every run in `specs` that is not complete yet (all of them when `force`), `jobs` at a
/// time, in grid order or shuffled. Once `stop` is set no new run starts and running ones stop
/// after their current step. Returns the results of the runs trained now.
pub fn run_all(
    dir: &SweepDir,
    specs: &[RunSpec],
    jobs: usize,
    force: bool,
    shuffle: bool,
    stop: &AtomicBool,
    dev: &Device,
) -> Result<Vec<RunResult>> {
    let mut todo: Vec<&RunSpec> = specs.iter().filter(|s| force || !dir.is_complete(&s.id)).collect();
    if shuffle {
        todo.shuffle(&mut rand::rng());
    }
    let skipped = specs.len() - todo.len();
    if skipped > 0 {
        eprintln!("{skipped} of {} runs already complete, skipped", specs.len());
    }
    let pool = rayon::ThreadPoolBuilder::new().num_threads(jobs).build().context("starting the run pool")?;
    let bar = ProgressBar::new(todo.len() as u64);
    bar.set_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} runs  {elapsed} elapsed, ETA {eta}  {msg}")
            .expect("valid template"),
    );
    let results: Vec<Result<Option<RunResult>>> = pool.install(|| {
        todo.par_iter()
            .map(|spec| {
                if stop.load(Ordering::SeqCst) {
                    return Ok(None);
                }
                let r = run_one(dir, spec, stop, dev);
                if let Ok(r) = &r {
                    bar.suspend(|| {
                        eprintln!(
                            "run {} {}: {} after {} steps ({:.1} s) {}",
                            r.run_id,
                            swept_text(&r.swept),
                            r.ending,
                            r.steps_done,
                            r.wall_s,
                            r.reason
                        )
                    });
                }
                bar.inc(1);
                r.map(Some)
            })
            .collect()
    });
    bar.finish_and_clear();
    let results: Vec<Option<RunResult>> = results.into_iter().collect::<Result<_>>()?;
    Ok(results.into_iter().flatten().collect())
}

fn swept_text(swept: &[(String, String)]) -> String {
    swept.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(" ")
}

/// Trains one run into its folder. Only I/O errors on the result itself escape; training
/// errors and panics become a `failed` result.
pub fn run_one(dir: &SweepDir, spec: &RunSpec, stop: &AtomicBool, dev: &Device) -> Result<RunResult> {
    let run_dir = dir.run_dir(&spec.id);
    std::fs::create_dir_all(&run_dir).with_context(|| format!("creating {}", run_dir.display()))?;
    // Leftovers of an earlier attempt must not be taken for this one's.
    for stale in [dir.result(&spec.id), dir.metrics(&spec.id)] {
        if stale.exists() {
            std::fs::remove_file(&stale).with_context(|| format!("removing {}", stale.display()))?;
        }
    }
    write_atomic(&dir.config(&spec.id), spec.config_toml.as_bytes())?;
    let t0 = Instant::now();
    let outcome = catch_unwind(AssertUnwindSafe(|| train_to_file(spec, &dir.metrics(&spec.id), stop, dev)));
    let (ending, reason, steps_done) = match outcome {
        Ok(Ok((Ending::Finished, n))) => ("finished", String::new(), n),
        Ok(Ok((Ending::Diverged { step, what }, n))) => ("diverged", format!("non-finite at step {step}: {what}"), n),
        Ok(Ok((Ending::Stopped { reason }, n))) => ("stopped", reason, n),
        Ok(Ok((Ending::Interrupted, n))) => ("interrupted", "interrupted by the user".to_string(), n),
        Ok(Err((e, n))) => ("failed", format!("{e:#}"), n),
        Err(panic) => ("failed", format!("panicked: {}", panic_text(&panic)), 0),
    };
    let result = RunResult {
        run_id: spec.id.clone(),
        swept: spec.swept.clone(),
        ending: ending.to_string(),
        reason,
        steps_done,
        wall_s: t0.elapsed().as_secs_f64(),
    };
    write_json(&dir.result(&spec.id), &result)?;
    Ok(result)
}

/// Trains and streams the records to `metrics`. On a training error the rows so far are still
/// written, so partial metrics survive; the error comes back with the number of steps done.
fn train_to_file(
    spec: &RunSpec,
    metrics: &Path,
    stop: &AtomicBool,
    dev: &Device,
) -> Result<(Ending, i64), (anyhow::Error, i64)> {
    let mut trainer = Trainer::on(&spec.config, dev).map_err(|e| (e, 0))?;
    let mut writer = MetricsWriter::create(metrics, trainer.layout()).map_err(|e| (e, 0))?;
    let mut steps = 0i64;
    let detect = spec.config.detect;
    let mut online = OnlineCollapse::new(&detect);
    let trained = trainer.run(stop, &mut |rec| {
        steps += 1;
        online.push(rec.step, rec.pred_std);
        let step = rec.step;
        writer.push(rec)?;
        // Early stop: `stop_after` steps after the collapse was confirmed.
        Ok(match (detect.stop_after, online.collapse_step, online.confirmed_at) {
            (Some(n), Some(at), Some(confirmed)) if step >= confirmed + n as i64 => Some(format!(
                "early stop: collapse at step {at} confirmed at step {confirmed}, stopped {n} steps later (detect.stop_after)"
            )),
            _ => None,
        })
    });
    let written = writer.finish();
    match (trained, written) {
        (Ok(end), Ok(_)) => Ok(end),
        (Err(e), _) => Err((e.context("training"), steps)),
        (Ok(_), Err(e)) => Err((e.context("writing metrics"), steps)),
    }
}

fn panic_text(p: &Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic payload".to_string()
    }
}
