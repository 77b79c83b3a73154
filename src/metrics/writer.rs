//! Streams [`StepRecord`]s into `metrics.parquet`: records are buffered into chunks, each chunk
//! becomes a polars `DataFrame` and one Parquet row group, so memory stays flat in step count.
//! The file is written under a temporary name and renamed only when complete.

use std::fs::File;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use polars::prelude::{Column, DataFrame, ParquetWriter};

use super::record::{RecordLayout, StepRecord};

/// Rows per row group.
const CHUNK_ROWS: usize = 4096;

pub struct MetricsWriter {
    path: PathBuf,
    tmp: PathBuf,
    layout: RecordLayout,
    buf: Vec<StepRecord>,
    writer: Option<polars::io::parquet::write::BatchedWriter<File>>,
    rows: usize,
}

/// Column names of a metrics file with this layout, in file order.
pub fn column_names(layout: &RecordLayout) -> Vec<String> {
    let df = frame(&[], layout).expect("an empty frame always builds");
    df.get_column_names().iter().map(|n| n.to_string()).collect()
}

impl MetricsWriter {
    /// Prepares `path` (written as `path.tmp` until [`finish`](Self::finish)).
    pub fn create(path: &Path, layout: &RecordLayout) -> Result<MetricsWriter> {
        let mut tmp = path.as_os_str().to_owned();
        tmp.push(".tmp");
        Ok(MetricsWriter {
            path: path.to_path_buf(),
            tmp: PathBuf::from(tmp),
            layout: layout.clone(),
            buf: Vec::with_capacity(CHUNK_ROWS),
            writer: None,
            rows: 0,
        })
    }

    pub fn push(&mut self, rec: StepRecord) -> Result<()> {
        self.buf.push(rec);
        if self.buf.len() >= CHUNK_ROWS {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let df = frame(&self.buf, &self.layout)?;
        if self.writer.is_none() {
            let file = File::create(&self.tmp).with_context(|| format!("creating {}", self.tmp.display()))?;
            let w = ParquetWriter::new(file).set_parallel(false).batched(df.schema())?;
            self.writer = Some(w);
        }
        let w = self.writer.as_mut().expect("writer was just created");
        w.write_batch(&df).with_context(|| format!("writing {}", self.tmp.display()))?;
        self.rows += self.buf.len();
        self.buf.clear();
        Ok(())
    }

    /// Writes what is buffered, closes the file, syncs it and renames it into place.
    /// Returns the number of rows.
    pub fn finish(mut self) -> Result<usize> {
        if self.writer.is_none() && self.buf.is_empty() {
            // A run that ended before its first step still gets a (empty) metrics file.
            let df = frame(&[], &self.layout)?;
            let file = File::create(&self.tmp).with_context(|| format!("creating {}", self.tmp.display()))?;
            self.writer = Some(ParquetWriter::new(file).set_parallel(false).batched(df.schema())?);
        }
        self.flush()?;
        let w = self.writer.take().expect("writer exists after flush");
        w.finish().with_context(|| format!("closing {}", self.tmp.display()))?;
        File::open(&self.tmp)?.sync_all()?;
        std::fs::rename(&self.tmp, &self.path).with_context(|| format!("renaming into {}", self.path.display()))?;
        crate::sweep::files::sync_dir(&self.path)?;
        Ok(self.rows)
    }
}

/// One chunk of records as a DataFrame, columns in file order.
fn frame(recs: &[StepRecord], layout: &RecordLayout) -> Result<DataFrame> {
    let f = |name: &str, get: &dyn Fn(&StepRecord) -> f64| -> Column {
        Column::new(name.into(), recs.iter().map(get).collect::<Vec<f64>>())
    };
    let i = |name: &str, get: &dyn Fn(&StepRecord) -> i64| -> Column {
        Column::new(name.into(), recs.iter().map(get).collect::<Vec<i64>>())
    };
    let mut cols = vec![
        i("step", &|r| r.step),
        i("epoch", &|r| r.epoch),
        f("lr", &|r| r.lr),
        f("loss", &|r| r.loss),
        f("mse", &|r| r.mse),
        f("std_bonus", &|r| r.std_bonus),
        f("pred_mean", &|r| r.pred_mean),
        f("pred_std", &|r| r.pred_std),
        f("pred_min", &|r| r.pred_min),
        f("pred_max", &|r| r.pred_max),
        f("label_mean", &|r| r.label_mean),
        f("pred_label_corr", &|r| r.pred_label_corr),
        f("mean_sq_err", &|r| r.mean_sq_err),
        i("n_tokens", &|r| r.n_tokens),
        f("logit_std", &|r| r.logit_std),
        f("saturated_frac", &|r| r.saturated_frac),
        f("bias_output", &|r| r.bias_output),
        f("grad_norm", &|r| r.grad_norm),
        f("update_ratio", &|r| r.update_ratio),
        i("frozen_params", &|r| r.frozen_params),
        f("step_ms", &|r| r.step_ms),
        f("val_loss", &|r| r.val_loss),
        f("val_pred_std", &|r| r.val_pred_std),
    ];
    for (k, g) in layout.groups.iter().enumerate() {
        cols.push(f(&format!("grad_norm_{g}"), &|r| r.grad_norm_groups[k]));
    }
    for (k, l) in layout.layers.iter().enumerate() {
        cols.push(f(&format!("dead_frac_{l}"), &|r| r.dead_frac[k]));
    }
    for (k, l) in layout.layers.iter().enumerate() {
        cols.push(f(&format!("token_std_{l}"), &|r| r.token_std[k]));
    }
    Ok(DataFrame::new(recs.len(), cols)?)
}
