//! Rendering: turns summary rows and per-step series (plain data read from Parquet) into
//! self-contained HTML with inline SVG. Never sees a tensor, never re-runs training.

pub mod build;
pub mod html;
pub mod plots;

/// The per-step columns a plot needs, one entry per logged step (sorted by step).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PlotSeries {
    pub step: Vec<i64>,
    pub pred_std: Vec<f64>,
    pub pred_min: Vec<f64>,
    pub pred_max: Vec<f64>,
}
