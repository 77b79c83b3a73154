//! Reads per-step metrics back from Parquet as plain columns for detection and rendering.

use std::fs::File;
use std::path::Path;

use anyhow::{Context, Result};
use polars::prelude::{DataFrame, DataType, ParquetReader, SerReader};

/// A metrics file in memory.
pub struct MetricsTable {
    pub df: DataFrame,
}

impl MetricsTable {
    pub fn read(path: &Path) -> Result<MetricsTable> {
        let file = File::open(path).with_context(|| format!("opening {}", path.display()))?;
        let df = ParquetReader::new(file).finish().with_context(|| format!("reading {}", path.display()))?;
        Ok(MetricsTable { df })
    }

    pub fn rows(&self) -> usize {
        self.df.height()
    }

    pub fn has(&self, name: &str) -> bool {
        self.df.column(name).is_ok()
    }

    /// A numeric column as f64 (nulls become NaN).
    pub fn f64s(&self, name: &str) -> Result<Vec<f64>> {
        let col = self.df.column(name).with_context(|| format!("no column {name:?}"))?;
        let col = col.cast(&DataType::Float64).with_context(|| format!("column {name:?} is not numeric"))?;
        Ok(col.f64()?.iter().map(|v| v.unwrap_or(f64::NAN)).collect())
    }

    /// An integer column (e.g. `step`).
    pub fn i64s(&self, name: &str) -> Result<Vec<i64>> {
        let col = self.df.column(name).with_context(|| format!("no column {name:?}"))?;
        let col = col.cast(&DataType::Int64).with_context(|| format!("column {name:?} is not an integer"))?;
        col.i64()?.iter().map(|v| v.with_context(|| format!("null in column {name:?}"))).collect()
    }

    /// Names of columns that start with `prefix`, with the prefix removed (e.g. layer names).
    pub fn suffixes(&self, prefix: &str) -> Vec<String> {
        self.df.get_column_names().iter().filter_map(|n| n.strip_prefix(prefix).map(str::to_string)).collect()
    }
}
