//! One row per run: what happened (status, collapse step, diagnosis) and the swept values.
//! Written as `summary.parquet` and `summary.csv`; read back by `harness report`.

use std::fmt;
use std::str::FromStr;

use anyhow::{Context, Result};
use polars::prelude::{Column, CsvWriter, DataFrame, NamedFrom, ParquetWriter, SerWriter, Series};

use crate::config::resolve_table;
use crate::detect::collapse::{detect, normalize};
use crate::detect::diagnose::{diagnose, Diagnosis};
use crate::metrics::reader::MetricsTable;
use crate::sweep::files::{write_atomic, ManifestRun, SweepDir};

/// How a run ended, as the `status` column spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Trained to the end with no sustained collapse.
    Ok,
    /// A sustained collapse was detected (see `recovered` for transient ones).
    Collapsed,
    /// Loss, predictions or gradients became NaN/Inf.
    Diverged,
    /// The run panicked or errored; the reason is in the diagnosis.
    Failed,
    /// Stopped early (wall-time limit or interrupt) before its last step.
    Stopped,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Collapsed => "collapsed",
            Status::Diverged => "diverged",
            Status::Failed => "failed",
            Status::Stopped => "stopped",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Status {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s {
            "ok" => Status::Ok,
            "collapsed" => Status::Collapsed,
            "diverged" => Status::Diverged,
            "failed" => Status::Failed,
            "stopped" => Status::Stopped,
            other => return Err(format!("unknown status {other:?}")),
        })
    }
}

/// The summary row of one run (columns of DESIGN.md, in that order).
#[derive(Debug, Clone, PartialEq)]
pub struct RunSummary {
    pub run_id: String,
    /// `(dotted key, value as text)` for every swept key, in grid order.
    pub swept: Vec<(String, String)>,
    pub status: Status,
    pub collapse_step: Option<i64>,
    pub recovered: bool,
    /// The mechanism, its evidence and a one-line text.
    pub diagnosis: Diagnosis,
    pub peak_pred_std: f64,
    pub final_pred_std: f64,
    pub steps_done: i64,
    pub wall_s: f64,
    /// What the run learned, over its last tenth of steps: mean correlation of predictions
    /// with labels, and mean squared error per token (NaN without metrics).
    pub fit_corr: f64,
    pub fit_mse: f64,
}

/// "N runs: a ok, b collapsed (c recovered), d diverged, e failed, f stopped".
pub fn status_counts(runs: &[&RunSummary]) -> String {
    let count = |status: Status| runs.iter().filter(|r| r.status == status).count();
    let recovered = runs.iter().filter(|r| r.status == Status::Collapsed && r.recovered).count();
    format!(
        "{} runs: {} ok, {} collapsed ({recovered} recovered), {} diverged, {} failed, {} stopped",
        runs.len(),
        count(Status::Ok),
        count(Status::Collapsed),
        count(Status::Diverged),
        count(Status::Failed),
        count(Status::Stopped),
    )
}

/// Builds the summary row of one run from its files: `result.json`, `config.toml` (for the
/// `[detect]` thresholds) and `metrics.parquet`, through collapse detection and diagnosis.
/// Also returns the metrics, for rendering.
pub fn summarize(dir: &SweepDir, run: &ManifestRun) -> Result<(RunSummary, Option<MetricsTable>)> {
    let result = dir.read_result(&run.id)?;
    let config_path = dir.config(&run.id);
    let text = std::fs::read_to_string(&config_path).with_context(|| format!("reading {}", config_path.display()))?;
    let table: toml::Table = toml::from_str(&text).with_context(|| format!("parsing {}", config_path.display()))?;
    let config =
        resolve_table(&table).map_err(|e| anyhow::anyhow!("{}: {}: {}", config_path.display(), e.key, e.msg))?;
    let metrics_path = dir.metrics(&run.id);
    let metrics = if metrics_path.exists() { Some(MetricsTable::read(&metrics_path)?) } else { None };
    let mut s = RunSummary {
        run_id: run.id.clone(),
        swept: run.swept.clone(),
        status: Status::Failed,
        collapse_step: None,
        recovered: false,
        diagnosis: Diagnosis { text: result.reason.clone(), ..Diagnosis::default() },
        peak_pred_std: f64::NAN,
        final_pred_std: f64::NAN,
        steps_done: result.steps_done,
        wall_s: result.wall_s,
        fit_corr: f64::NAN,
        fit_mse: f64::NAN,
    };
    if let Some(m) = &metrics {
        if m.rows() > 0 {
            let (steps, std) = normalize(&m.i64s("step")?, &m.f64s("pred_std")?);
            let f = detect(&steps, &std, &config.detect);
            s.diagnosis = diagnose(m, &steps, &f, &config.detect)?;
            if result.ending != "finished" {
                s.diagnosis.text = format!("{}; {}", result.reason, s.diagnosis.text);
            }
            s.collapse_step = f.collapse_step;
            s.recovered = f.recovered;
            s.peak_pred_std = f.peak_std;
            s.final_pred_std = f.final_std;
            s.fit_corr = tail_mean(m, "pred_label_corr")?;
            s.fit_mse = tail_mean(m, "mean_sq_err")?;
        }
    }
    s.status = match (result.ending.as_str(), s.collapse_step) {
        ("failed", _) => Status::Failed,
        ("diverged", _) => Status::Diverged,
        (_, Some(_)) => Status::Collapsed,
        ("stopped" | "interrupted", None) => Status::Stopped,
        _ => Status::Ok,
    };
    Ok((s, metrics))
}

/// Mean of the finite values of `name` over the last tenth of the rows (NaN when none, or when
/// the column is absent, as in files written before it existed).
fn tail_mean(m: &MetricsTable, name: &str) -> Result<f64> {
    if !m.has(name) {
        return Ok(f64::NAN);
    }
    let v = m.f64s(name)?;
    let tail: Vec<f64> = v[v.len() - v.len().div_ceil(10)..].iter().copied().filter(|x| x.is_finite()).collect();
    Ok(if tail.is_empty() { f64::NAN } else { tail.iter().sum::<f64>() / tail.len() as f64 })
}

/// Writes `summary.parquet` and `summary.csv` (each atomically) with one row per run.
pub fn write_summary(dir: &SweepDir, swept_keys: &[String], rows: &[RunSummary]) -> Result<()> {
    let mut df = summary_frame(swept_keys, rows)?;
    let mut parquet = Vec::new();
    ParquetWriter::new(&mut parquet).finish(&mut df).context("encoding summary.parquet")?;
    write_atomic(&dir.root.join("summary.parquet"), &parquet)?;
    let mut csv = Vec::new();
    CsvWriter::new(&mut csv).include_header(true).finish(&mut df).context("encoding summary.csv")?;
    write_atomic(&dir.root.join("summary.csv"), &csv)?;
    crate::analysis::write_tables(dir, swept_keys, rows)
}

fn summary_frame(swept_keys: &[String], rows: &[RunSummary]) -> Result<DataFrame> {
    let mut cols = vec![column("run_id", rows, |r| r.run_id.clone())];
    for key in swept_keys {
        let values: Vec<Option<String>> =
            rows.iter().map(|r| r.swept.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone())).collect();
        cols.push(typed_column(key, &values));
    }
    cols.extend([
        column("status", rows, |r| r.status.as_str()),
        column("collapse_step", rows, |r| r.collapse_step),
        column("recovered", rows, |r| r.recovered),
        column("diagnosis", rows, |r| r.diagnosis.text.clone()),
        column("peak_pred_std", rows, |r| r.peak_pred_std),
        column("final_pred_std", rows, |r| r.final_pred_std),
        column("steps_done", rows, |r| r.steps_done),
        column("wall_s", rows, |r| r.wall_s),
        column("fit_corr", rows, |r| r.fit_corr),
        column("fit_mse", rows, |r| r.fit_mse),
        column("cause", rows, |r| r.diagnosis.cause.as_str()),
        column("first_dead_layer", rows, |r| r.diagnosis.first_dead_layer.clone()),
        column("dead_step", rows, |r| r.diagnosis.dead_step),
        column("pred_constant", rows, |r| r.diagnosis.pred_constant),
        column("bias_output", rows, |r| r.diagnosis.bias_output),
        column("label_mean", rows, |r| r.diagnosis.label_mean),
        column("spike_step", rows, |r| r.diagnosis.spike_step),
        column("spike_ratio", rows, |r| r.diagnosis.spike_ratio),
        column("saturated_frac", rows, |r| r.diagnosis.saturated_frac),
        column("diverged_step", rows, |r| r.diagnosis.diverged_step),
        column("warning_step", rows, |r| r.diagnosis.warning_step),
    ]);
    Ok(DataFrame::new(rows.len(), cols)?)
}

/// One summary column from a field of every row.
fn column<T, F>(name: &str, rows: &[RunSummary], get: F) -> Column
where
    F: Fn(&RunSummary) -> T,
    Series: NamedFrom<Vec<T>, [T]>,
{
    Column::new(name.into(), rows.iter().map(get).collect::<Vec<T>>())
}

/// A swept column as integers, floats or booleans when every value parses so, else text.
fn typed_column(key: &str, values: &[Option<String>]) -> Column {
    let present = || values.iter().flatten();
    if present().all(|v| v.parse::<i64>().is_ok()) {
        Column::new(
            key.into(),
            values.iter().map(|v| v.as_ref().map(|v| v.parse::<i64>().unwrap())).collect::<Vec<_>>(),
        )
    } else if present().all(|v| v.parse::<f64>().is_ok()) {
        Column::new(
            key.into(),
            values.iter().map(|v| v.as_ref().map(|v| v.parse::<f64>().unwrap())).collect::<Vec<_>>(),
        )
    } else if present().all(|v| v == "true" || v == "false") {
        Column::new(key.into(), values.iter().map(|v| v.as_ref().map(|v| v == "true")).collect::<Vec<_>>())
    } else {
        Column::new(key.into(), values.to_vec())
    }
}
