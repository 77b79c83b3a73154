//! Rebuilds every page of a sweep folder from its files alone (manifest, results, Parquet):
//! summary rows, `summary.{parquet,csv}`, `index.html` and one `runs/RUN_ID/index.html` each.

use anyhow::{Context, Result};
use rayon::prelude::*;

use super::html::{run_page, sweep_index};
use super::plots::pred_std_svg;
use super::PlotSeries;
use crate::metrics::reader::MetricsTable;
use crate::summary::{summarize, write_summary, RunSummary};
use crate::sweep::files::{write_atomic, SweepDir};

/// Builds the report of `dir` and returns its summary rows. Runs without a result yet
/// (still running, or never started) are left out.
pub fn build(dir: &SweepDir) -> Result<Vec<RunSummary>> {
    let manifest = dir.read_manifest()?;
    let done: Vec<_> = manifest.runs.iter().filter(|r| dir.result(&r.id).exists()).collect();
    let rendered: Vec<(RunSummary, String)> = done
        .par_iter()
        .map(|run| -> Result<(RunSummary, String)> {
            let (summary, metrics) = summarize(dir, run).with_context(|| format!("run {}", run.id))?;
            let series = metrics.as_ref().map(plot_series).transpose()?.unwrap_or_default();
            let title = run.swept.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(" ");
            let small = pred_std_svg(&series, summary.collapse_step, 360, 220, &title)?;
            let large = pred_std_svg(&series, summary.collapse_step, 900, 420, &title)?;
            let config = std::fs::read_to_string(dir.config(&run.id)).unwrap_or_default();
            let page = run_page(&summary, &config, &large, "../../index.html");
            write_atomic(&dir.run_dir(&run.id).join("index.html"), page.as_bytes())?;
            Ok((summary, small))
        })
        .collect::<Result<_>>()?;
    let rows: Vec<RunSummary> = rendered.iter().map(|(s, _)| s.clone()).collect();
    write_summary(dir, &manifest.swept_keys, &rows)?;
    let index = sweep_index(&manifest.name, &manifest.swept_keys, &rendered);
    write_atomic(&dir.root.join("index.html"), index.as_bytes())?;
    Ok(rows)
}

/// The columns the plots draw, sorted by step.
pub fn plot_series(m: &MetricsTable) -> Result<PlotSeries> {
    let step = m.i64s("step")?;
    let mut order: Vec<usize> = (0..step.len()).collect();
    order.sort_by_key(|&i| step[i]);
    let pick = |v: Vec<f64>| order.iter().map(|&i| v[i]).collect::<Vec<f64>>();
    Ok(PlotSeries {
        step: order.iter().map(|&i| step[i]).collect(),
        pred_std: pick(m.f64s("pred_std")?),
        pred_min: pick(m.f64s("pred_min")?),
        pred_max: pick(m.f64s("pred_max")?),
    })
}
