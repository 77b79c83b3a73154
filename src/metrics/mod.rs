//! Per-step metrics: the record training emits, and its Parquet writer and reader.
//! This module owns polars for per-step data; training only produces plain records.

pub mod log;
pub mod reader;
pub mod record;
pub mod writer;
