//! Drawing-only downsampling: which points of a long per-step series a plot draws. Detection
//! never sees this; a marker (collapse, divergence) is always drawn at its exact step.
//!
//! A window of steps is split into buckets of equal step width (about two pixels each); each
//! bucket keeps its lowest and its highest row, at their own steps and in step order, so every
//! spike and dip stays visible and the drawn polyline has at most two points per bucket.

use std::ops::Range;

/// Smallest value drawn on a log axis; zero, negative values and `-inf` sit here.
pub const LOG_FLOOR: f64 = 1e-12;

/// How values map onto the drawn y axis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Axis {
    Linear,
    /// Drawn as log10(value).
    Log,
}

impl Axis {
    /// The value as drawn, or None when it has no place on this axis: NaN and ±inf on a linear
    /// axis; NaN and `+inf` on a log one (a diverged value drawn at the floor would look like a
    /// collapse), where everything else is clamped to at least [`LOG_FLOOR`].
    pub fn project(self, value: f64) -> Option<f64> {
        match self {
            Axis::Linear => value.is_finite().then_some(value),
            Axis::Log if value.is_nan() || value == f64::INFINITY => None,
            Axis::Log => Some(value.max(LOG_FLOOR).log10()),
        }
    }
}

/// The rows of `steps` (sorted ascending) with `lo <= step <= hi`.
pub fn rows_in(steps: &[i64], (lo, hi): (i64, i64)) -> Range<usize> {
    steps.partition_point(|&s| s < lo)..steps.partition_point(|&s| s <= hi)
}

/// The bucket of `step` when `lo..=hi` is split into `buckets` equal parts.
fn bucket_of(step: i64, (lo, hi): (i64, i64), buckets: usize) -> usize {
    let span = (hi as i128 - lo as i128 + 1).max(1);
    let b = (step as i128 - lo as i128) * buckets as i128 / span;
    b.clamp(0, buckets as i128 - 1) as usize
}

/// The points `(step, projected value)` that draw one line inside `window`: every drawable
/// row when there are at most `2 * buckets` rows, else the lowest and highest row of each
/// bucket. `steps` is sorted ascending and as long as `values`.
pub fn line_points(steps: &[i64], values: &[f64], window: (i64, i64), buckets: usize, axis: Axis) -> Vec<(i64, f64)> {
    let rows = rows_in(steps, window);
    let buckets = buckets.max(1);
    if rows.len() <= 2 * buckets {
        return rows.filter_map(|i| axis.project(values[i]).map(|y| (steps[i], y))).collect();
    }
    // Per bucket: (row of the lowest value, lowest, row of the highest, highest).
    let mut extremes: Vec<Option<(usize, f64, usize, f64)>> = vec![None; buckets];
    for i in rows {
        let Some(y) = axis.project(values[i]) else { continue };
        let slot = &mut extremes[bucket_of(steps[i], window, buckets)];
        match slot {
            None => *slot = Some((i, y, i, y)),
            Some((lo_row, lo, hi_row, hi)) => {
                if y < *lo {
                    (*lo_row, *lo) = (i, y);
                }
                if y > *hi {
                    (*hi_row, *hi) = (i, y);
                }
            }
        }
    }
    let mut points = Vec::with_capacity(2 * buckets);
    for (lo_row, lo, hi_row, hi) in extremes.into_iter().flatten() {
        let (first, second) =
            if lo_row <= hi_row { ((lo_row, lo), (hi_row, hi)) } else { ((hi_row, hi), (lo_row, lo)) };
        points.push((steps[first.0], first.1));
        if second.0 != first.0 {
            points.push((steps[second.0], second.1));
        }
    }
    points
}

/// The shaded band between `lower` and `upper` inside `window`, as `(step, low, high)`: per
/// row when short, else per bucket the lowest `lower` and the highest `upper`, at the bucket's
/// middle step. Rows where either bound is not drawable are skipped.
pub fn band_points(
    steps: &[i64],
    lower: &[f64],
    upper: &[f64],
    window: (i64, i64),
    buckets: usize,
    axis: Axis,
) -> Vec<(i64, f64, f64)> {
    let rows = rows_in(steps, window);
    let buckets = buckets.max(1);
    let bounds = |i: usize| Some((axis.project(lower[i])?, axis.project(upper[i])?));
    if rows.len() <= 2 * buckets {
        return rows.filter_map(|i| bounds(i).map(|(lo, hi)| (steps[i], lo.min(hi), lo.max(hi)))).collect();
    }
    // Per bucket: (first step, last step, lowest, highest).
    let mut spans: Vec<Option<(i64, i64, f64, f64)>> = vec![None; buckets];
    for i in rows {
        let Some((a, b)) = bounds(i) else { continue };
        let (lo, hi) = (a.min(b), a.max(b));
        let slot = &mut spans[bucket_of(steps[i], window, buckets)];
        match slot {
            None => *slot = Some((steps[i], steps[i], lo, hi)),
            Some((_, last, low, high)) => {
                *last = steps[i];
                *low = low.min(lo);
                *high = high.max(hi);
            }
        }
    }
    spans.into_iter().flatten().map(|(first, last, lo, hi)| (first + (last - first) / 2, lo, hi)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn steps(n: i64) -> Vec<i64> {
        (0..n).collect()
    }

    #[test]
    fn project_table() {
        let cases: [(Axis, f64, Option<f64>); 9] = [
            (Axis::Linear, 2.5, Some(2.5)),
            (Axis::Linear, -1.0, Some(-1.0)),
            (Axis::Linear, f64::NAN, None),
            (Axis::Linear, f64::NEG_INFINITY, None),
            (Axis::Log, 100.0, Some(2.0)),
            (Axis::Log, 0.0, Some(-12.0)),
            (Axis::Log, -3.0, Some(-12.0)),
            (Axis::Log, f64::NEG_INFINITY, Some(-12.0)),
            (Axis::Log, f64::INFINITY, None),
        ];
        for (axis, value, want) in cases {
            assert_eq!(axis.project(value), want, "{axis:?} {value}");
        }
    }

    #[test]
    fn short_series_keep_every_row_in_the_window() {
        let s = steps(100);
        let v: Vec<f64> = s.iter().map(|&x| x as f64).collect();
        let points = line_points(&s, &v, (10, 19), 50, Axis::Linear);
        assert_eq!(points, (10..20).map(|x| (x, x as f64)).collect::<Vec<_>>());
    }

    #[test]
    fn long_series_keep_each_buckets_extremes_at_their_steps() {
        let s = steps(20_000);
        let mut v = vec![0.2; 20_000];
        v[12_345] = 50.0;
        v[4_321] = 0.0;
        let points = line_points(&s, &v, (0, 19_999), 100, Axis::Log);
        assert!(points.len() <= 200, "{}", points.len());
        assert!(points.contains(&(12_345, 50f64.log10())), "the spike at its own step");
        assert!(points.contains(&(4_321, -12.0)), "the dip at its own step, clamped");
        assert!(points.windows(2).all(|w| w[0].0 < w[1].0), "in step order");
    }

    #[test]
    fn undrawable_rows_are_skipped() {
        let s = steps(6);
        let v = [1.0, f64::NAN, f64::INFINITY, 0.5, f64::NAN, 2.0];
        assert_eq!(line_points(&s, &v, (0, 5), 10, Axis::Linear), vec![(0, 1.0), (3, 0.5), (5, 2.0)]);
        assert!(line_points(&s, &[f64::NAN; 6], (0, 5), 1, Axis::Log).is_empty());
    }

    #[test]
    fn band_covers_the_lowest_and_highest_bound_per_bucket() {
        let s = steps(1000);
        let lower: Vec<f64> = s.iter().map(|&x| -(x as f64)).collect();
        let upper: Vec<f64> = s.iter().map(|&x| x as f64).collect();
        let band = band_points(&s, &lower, &upper, (0, 999), 10, Axis::Linear);
        assert_eq!(band.len(), 10);
        assert_eq!(band[0], (49, -99.0, 99.0), "rows 0..100: middle step 49");
        assert_eq!(band[9].2, 999.0);
        let short = band_points(&s[..3], &upper[..3], &lower[..3], (0, 2), 10, Axis::Linear);
        assert_eq!(short, vec![(0, 0.0, 0.0), (1, -1.0, 1.0), (2, -2.0, 2.0)], "bounds in either order");
    }

    #[test]
    fn rows_in_window() {
        let s = [0, 10, 20, 30];
        assert_eq!(rows_in(&s, (5, 25)), 1..3);
        assert_eq!(rows_in(&s, (40, 50)), 4..4);
        assert_eq!(rows_in(&s, (0, 30)), 0..4);
    }
}
