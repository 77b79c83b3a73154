//! Per-step logs written by any tool (CSV or Parquet), for `harness detect`: loads the file,
//! checks the step and std columns (with the line of the first bad cell), and sorts rows by
//! step keeping the last row of a repeated step. A log without a step column is indexed by row.

use std::path::Path;

use anyhow::Result;
use polars::prelude::{Column, CsvReadOptions, DataFrame, DataType, IdxCa, NamedFrom, ParquetReader, SerReader};

use super::reader::MetricsTable;
use crate::detect::collapse::step_order;
use crate::error::bad_input;

/// A validated log: rows sorted by strictly increasing `steps`.
pub struct Log {
    pub steps: Vec<i64>,
    pub pred_std: Vec<f64>,
    /// All columns, rows in the same order as `steps`.
    pub table: MetricsTable,
}

/// Reads `path`. `step_col` missing from the file means "use the row index" unless
/// `step_required` (the user named it); `std_col` must exist and be numeric.
pub fn read_log(path: &Path, step_col: &str, step_required: bool, std_col: &str) -> Result<Log> {
    let file = path.display().to_string();
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
    let df = match ext.as_str() {
        "csv" => CsvReadOptions::default()
            .with_has_header(true)
            .with_infer_schema_length(None)
            .try_into_reader_with_file_path(Some(path.to_path_buf()))
            .and_then(|r| r.finish()),
        "parquet" | "pq" => match std::fs::File::open(path) {
            Ok(f) => ParquetReader::new(f).finish(),
            Err(e) => return Err(bad_input(format!("{file}: cannot open: {e}"))),
        },
        _ => return Err(bad_input(format!("{file}: expected a .csv or .parquet file"))),
    }
    .map_err(|e| bad_input(format!("{file}: cannot read as {ext}: {}", first_line(&e.to_string()))))?;
    if df.height() == 0 {
        return Err(bad_input(format!("{file}: the log has no rows")));
    }
    let is_csv = ext == "csv";
    let std = numeric(&df, std_col, &file, is_csv)?
        .ok_or_else(|| bad_input(format!("{file}: no column {std_col:?} (columns: {})", names(&df))))?;
    let steps: Vec<i64> = match numeric(&df, step_col, &file, is_csv)? {
        Some(v) => v
            .iter()
            .enumerate()
            .map(|(i, &x)| {
                if x.is_finite() && x.fract() == 0.0 {
                    Ok(x as i64)
                } else {
                    Err(bad_input(format!(
                        "{file}: {}: column {step_col:?}: {x} is not a whole step",
                        row_name(i, is_csv)
                    )))
                }
            })
            .collect::<Result<_>>()?,
        None if step_required => {
            return Err(bad_input(format!("{file}: no column {step_col:?} (columns: {})", names(&df))))
        }
        None => (0..df.height() as i64).collect(),
    };
    let keep = step_order(&steps);
    // Logs are usually in step order already: then there is nothing to reorder or drop.
    let mut sorted = if keep.iter().enumerate().all(|(i, &k)| i == k) && keep.len() == df.height() {
        df
    } else {
        df.take(&IdxCa::new("idx".into(), keep.iter().map(|&i| i as u32).collect::<Vec<_>>()))?
    };
    let step_column = Column::new(step_col.into(), keep.iter().map(|&i| steps[i]).collect::<Vec<i64>>());
    sorted.with_column(step_column)?;
    if step_col != "step" && sorted.column("step").is_err() {
        sorted.rename(step_col, "step".into())?;
    }
    Ok(Log {
        steps: keep.iter().map(|&i| steps[i]).collect(),
        pred_std: keep.iter().map(|&i| std[i]).collect(),
        table: MetricsTable { df: sorted },
    })
}

/// A column as f64, `None` when absent; a cell that is not a number is an error naming its line.
fn numeric(df: &DataFrame, name: &str, file: &str, is_csv: bool) -> Result<Option<Vec<f64>>> {
    let Ok(col) = df.column(name) else { return Ok(None) };
    if col.dtype() == &DataType::String {
        let ca = col.str()?;
        for (i, cell) in ca.iter().enumerate() {
            let ok = cell.is_some_and(|c| c.trim().parse::<f64>().is_ok());
            if !ok {
                let shown = cell.unwrap_or("");
                return Err(bad_input(format!(
                    "{file}: {}: column {name:?}: {shown:?} is not a number",
                    row_name(i, is_csv)
                )));
            }
        }
        return Ok(Some(ca.iter().map(|c| c.unwrap_or("").trim().parse::<f64>().unwrap_or(f64::NAN)).collect()));
    }
    let cast = col
        .cast(&DataType::Float64)
        .map_err(|_| bad_input(format!("{file}: column {name:?} has type {} , expected numbers", col.dtype())))?;
    let values = cast.f64()?;
    if let Some(i) = values.iter().position(|v| v.is_none()) {
        return Err(bad_input(format!(
            "{file}: {}: column {name:?}: empty cell, expected a number",
            row_name(i, is_csv)
        )));
    }
    Ok(Some(values.iter().map(|v| v.unwrap_or(f64::NAN)).collect()))
}

/// "line N" for CSV (header is line 1), "row N" (0-based) for Parquet.
fn row_name(i: usize, is_csv: bool) -> String {
    if is_csv {
        format!("line {}", i + 2)
    } else {
        format!("row {i}")
    }
}

fn names(df: &DataFrame) -> String {
    df.get_column_names().iter().map(|n| n.as_str()).collect::<Vec<_>>().join(", ")
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or("")
}
