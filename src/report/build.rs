//! Rebuilds every page of a sweep folder from its files alone (manifest, results, Parquet):
//! summary rows, `summary.{parquet,csv}`, `index.html` and one `runs/RUN_ID/index.html` each.
//! Owns the file reading for the report and the conversion of metrics into plain
//! [`StepColumns`]; runs are rendered in parallel on a pool of their own.

use anyhow::{Context, Result};
use rayon::prelude::*;

use super::index::sweep_index;
use super::runpage::run_page;
use super::runplots::{run_figures, thumbnail, ThumbnailScale};
use super::StepColumns;
use crate::config::resolved::DetectConfig;
use crate::detect::diagnose::Diagnosis;
use crate::metrics::reader::MetricsTable;
use crate::summary::{summarize, write_summary, RunSummary, Status};
use crate::sweep::files::{write_atomic, ManifestRun, SweepDir};

/// Builds the report of `dir` and returns its summary rows. Runs without a result yet
/// (still running, or never started) are left out; a run whose files cannot be read is
/// listed as failed, with the reason as its diagnosis, and the others are still rendered.
pub fn build(dir: &SweepDir) -> Result<Vec<RunSummary>> {
    let manifest = dir.read_manifest()?;
    let done: Vec<&ManifestRun> = manifest.runs.iter().filter(|r| dir.result(&r.id).exists()).collect();
    let rendered: Vec<(RunSummary, StepColumns)> =
        in_pool(|| done.par_iter().map(|run| render_run(dir, &manifest.name, run)).collect::<Result<_>>())??;
    // Small multiples share their axes, so runs can be compared at a glance.
    let scale = shared_scale(rendered.iter().map(|(_, c)| c));
    let thumbnails: Vec<String> =
        in_pool(|| rendered.par_iter().map(|(summary, cols)| thumbnail(cols, summary, scale)).collect::<Result<_>>())??;
    let rows: Vec<RunSummary> = rendered.into_iter().map(|(s, _)| s).collect();
    write_summary(dir, &manifest.swept_keys, &rows)?;
    let runs: Vec<(RunSummary, String)> = rows.iter().cloned().zip(thumbnails).collect();
    let index = sweep_index(&manifest.name, &manifest.swept_keys, &runs);
    write_atomic(&dir.root.join("index.html"), index.as_bytes())?;
    Ok(rows)
}

/// The steps and the pred_std range (finite values) over every run, for shared thumbnail axes.
fn shared_scale<'a>(runs: impl Iterator<Item = &'a StepColumns>) -> Option<ThumbnailScale> {
    let mut scale: Option<ThumbnailScale> = None;
    for cols in runs {
        let (Some(&first), Some(&last), Some(values)) = (cols.step.first(), cols.step.last(), cols.get("pred_std"))
        else {
            continue;
        };
        let finite = values.iter().copied().filter(|v| v.is_finite());
        let (lo, hi) = finite.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| (lo.min(v), hi.max(v)));
        if lo > hi {
            continue;
        }
        let s = scale.get_or_insert(ThumbnailScale { steps: (first, last), pred_std: (lo, hi) });
        s.steps = (s.steps.0.min(first), s.steps.1.max(last));
        s.pred_std = (s.pred_std.0.min(lo), s.pred_std.1.max(hi));
    }
    scale
}

/// Runs `work` on a pool with one thread per core: the binary limits rayon's global pool to
/// one thread for training (`RAYON_NUM_THREADS=1`), which would serialise rendering.
pub fn in_pool<T: Send>(work: impl FnOnce() -> T + Send) -> Result<T> {
    let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().context("starting the report pool")?;
    Ok(pool.install(work))
}

/// Writes one run's page and returns its summary and the columns its thumbnail needs.
fn render_run(dir: &SweepDir, sweep_name: &str, run: &ManifestRun) -> Result<(RunSummary, StepColumns)> {
    let (summary, metrics) = summarize_or_fail(dir, run);
    let columns = metrics.as_ref().map(|m| step_columns(m, None)).transpose()?.unwrap_or_default();
    let config = std::fs::read_to_string(dir.config(&run.id)).unwrap_or_default();
    let figures = run_figures(&columns, &summary, zoom_half_width(&config))
        .with_context(|| format!("plotting run {}", run.id))?;
    let page = run_page(&summary, &config, &figures, sweep_name);
    write_atomic(&dir.run_dir(&run.id).join("index.html"), page.as_bytes())?;
    let thumbnail_columns = StepColumns {
        columns: columns.columns.into_iter().filter(|(name, _)| name == "pred_std").collect(),
        step: columns.step,
    };
    Ok((summary, thumbnail_columns))
}

/// The run's summary and metrics; a run whose files cannot be read or made sense of (a
/// corrupt Parquet file, a config this version rejects) is summarised as failed, with the
/// reason as its diagnosis.
pub fn summarize_or_fail(dir: &SweepDir, run: &ManifestRun) -> (RunSummary, Option<MetricsTable>) {
    match summarize(dir, run) {
        Ok(found) => found,
        // The metrics may still be fine (e.g. a config from another version): plot them.
        Err(err) => (unreadable(dir, run, &err), MetricsTable::read(&dir.metrics(&run.id)).ok()),
    }
}

fn unreadable(dir: &SweepDir, run: &ManifestRun, err: &anyhow::Error) -> RunSummary {
    let result = dir.read_result(&run.id).ok();
    RunSummary {
        run_id: run.id.clone(),
        swept: run.swept.clone(),
        status: Status::Failed,
        collapse_step: None,
        recovered: false,
        diagnosis: Diagnosis { text: format!("report could not read this run: {err:#}"), ..Diagnosis::default() },
        peak_pred_std: f64::NAN,
        final_pred_std: f64::NAN,
        steps_done: result.as_ref().map_or(0, |r| r.steps_done),
        wall_s: result.as_ref().map_or(f64::NAN, |r| r.wall_s),
        fit_corr: f64::NAN,
        fit_mse: f64::NAN,
    }
}

/// Steps shown on each side of the collapse in the zoom plot: twice the run's `detect.patience`.
fn zoom_half_width(config_toml: &str) -> i64 {
    let patience = toml::from_str::<toml::Table>(config_toml)
        .ok()
        .and_then(|t| t.get("detect")?.get("patience")?.as_integer())
        .unwrap_or(DetectConfig::default().patience as i64);
    2 * patience.max(1)
}

/// The metrics as plain columns sorted by step: every column (`only` = None) or the named ones
/// that exist, as f64.
pub fn step_columns(m: &MetricsTable, only: Option<&[&str]>) -> Result<StepColumns> {
    let step = m.i64s("step")?;
    let sorted = step.windows(2).all(|w| w[0] <= w[1]);
    let mut order: Vec<usize> = Vec::new();
    if !sorted {
        order = (0..step.len()).collect();
        order.sort_by_key(|&i| step[i]);
    }
    let arrange = |v: Vec<f64>| if sorted { v } else { order.iter().map(|&i| v[i]).collect() };
    // Columns that are not numeric (none in our own logs) are simply not plotted.
    let numeric: Vec<String> =
        m.df.columns().iter().filter(|c| c.dtype().is_primitive_numeric()).map(|c| c.name().to_string()).collect();
    let wanted = |n: &String| n != "step" && only.is_none_or(|o| o.contains(&n.as_str()));
    let mut columns = Vec::new();
    for name in numeric.iter().filter(|n| wanted(n)) {
        columns.push((name.clone(), arrange(m.f64s(name)?)));
    }
    let step = if sorted { step } else { order.iter().map(|&i| step[i]).collect() };
    Ok(StepColumns { step, columns })
}

#[cfg(test)]
mod tests {
    use super::*;
    use polars::prelude::{Column, DataFrame};

    #[test]
    fn step_columns_sorts_by_step_and_keeps_numeric_columns() {
        let df = DataFrame::new(
            3,
            vec![
                Column::new("step".into(), vec![2i64, 0, 1]),
                Column::new("pred_std".into(), vec![0.2f64, 0.0, 0.1]),
                Column::new("n_tokens".into(), vec![20i64, 0, 10]),
                Column::new("note".into(), vec!["c", "a", "b"]),
            ],
        )
        .unwrap();
        let cols = step_columns(&MetricsTable { df }, None).unwrap();
        assert_eq!(cols.step, vec![0, 1, 2]);
        assert_eq!(cols.get("pred_std"), Some(&[0.0, 0.1, 0.2][..]));
        assert_eq!(cols.get("n_tokens"), Some(&[0.0, 10.0, 20.0][..]));
        assert!(cols.get("note").is_none() && cols.get("step").is_none());
    }

    #[test]
    fn zoom_is_twice_the_patience() {
        assert_eq!(zoom_half_width("[detect]\npatience = 20\n"), 40);
        assert_eq!(zoom_half_width("not toml ["), 200);
        assert_eq!(zoom_half_width(""), 200);
    }
}
