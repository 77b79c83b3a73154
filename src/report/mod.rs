//! Rendering: turns summary rows and per-step series (plain data read from Parquet) into
//! self-contained HTML with inline SVG. Never sees a tensor, never re-runs training.
//!
//! - [`build`] reads a sweep folder and writes its pages; [`compare`] reads runs for
//!   `harness compare`. These two do all file reading and writing, and turn metrics into plain
//!   [`StepColumns`]: nothing else here sees a DataFrame.
//! - [`index`], [`runpage`], [`comparepage`] lay out pages; [`map`] aggregates and draws the
//!   collapse map; [`runplots`] chooses a run's plots; [`plots`] draws charts from
//!   [`downsample`]d series with [`ticks`]; [`html`], [`text`] and [`palette`] are shared by all pages.

pub mod build;
pub mod compare;
pub mod comparepage;
pub mod downsample;
pub mod effects;
pub mod html;
pub mod index;
pub mod map;
pub mod palette;
pub mod plots;
pub mod runpage;
pub mod runplots;
pub mod text;
pub mod ticks;

use palette::Colour;

/// One run's per-step metrics as plain columns, sorted by step.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StepColumns {
    pub step: Vec<i64>,
    /// `(column name, one value per step)` for every metric column but `step`, in file order.
    pub columns: Vec<(String, Vec<f64>)>,
}

impl StepColumns {
    pub fn get(&self, name: &str) -> Option<&[f64]> {
        self.columns.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_slice())
    }

    /// `(suffix, values)` of the columns named `prefix` + suffix, in file order.
    pub fn with_prefix(&self, prefix: &str) -> Vec<(&str, &[f64])> {
        self.columns.iter().filter_map(|(n, v)| n.strip_prefix(prefix).map(|s| (s, v.as_slice()))).collect()
    }
}

/// One plot of a page: its title, its key (drawn in HTML under the title) and its SVG.
#[derive(Debug, Clone, PartialEq)]
pub struct Figure {
    pub title: String,
    pub legend: Vec<LegendEntry>,
    pub svg: String,
    /// Spans the page's width instead of one grid column.
    pub wide: bool,
}

/// One entry of a figure's key.
#[derive(Debug, Clone, PartialEq)]
pub struct LegendEntry {
    pub label: String,
    pub colour: Colour,
    /// `Dashed` for a dashed line, `Line` for a solid one, `Area` for a shaded band.
    pub mark: Mark,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mark {
    Line,
    Dashed,
    Area,
}
