//! Early warning: a per-step `collapse_risk` in [0, 1] that rises before a collapse when the
//! log carries evidence for it. It is the largest of three signals:
//! - decline: how far a smoothed log10(pred_std) has fallen from its peak, as a share of the
//!   `1/rel_floor` decades that separate the peak from the collapse floor;
//! - dead units: the largest `dead_frac_*` beyond one half (1 when a layer is all dead);
//! - update spike: log10 of `update_ratio` over its smoothed past, 100× = 1.
//!
//! A warning is the first step where the risk reaches [`WARN`]. How early and how often
//! wrongly it fires is measured on the labelled set (`tests/detector_bench.rs`, BENCHMARKS.md).

use crate::config::resolved::DetectConfig;

/// Risk at which a warning is raised.
pub const WARN: f64 = 0.5;

/// Per-row collapse risk. `dead_frac` is the per-row max over layers, `update_ratio` the
/// per-row update size; either may be absent. `steps` ascending.
pub fn collapse_risk(
    steps: &[i64],
    pred_std: &[f64],
    dead_frac: Option<&[f64]>,
    update_ratio: Option<&[f64]>,
    p: &DetectConfig,
) -> Vec<f64> {
    let tau = (p.patience as f64 / 2.0).max(1.0); // smoothing time constant, steps
    let decades = (1.0 / p.rel_floor.max(1e-12)).log10().max(1.0);
    let mut ema: Option<f64> = None;
    let mut peak = f64::NEG_INFINITY;
    let mut ratio_base: Option<f64> = None;
    let mut out = Vec::with_capacity(steps.len());
    for i in 0..steps.len() {
        let dt = if i == 0 { 1.0 } else { (steps[i] - steps[i - 1]).max(1) as f64 };
        let alpha = 1.0 - (-dt / tau).exp();
        let mut risk: f64 = 0.0;
        if pred_std[i].is_finite() {
            let x = pred_std[i].max(1e-30).log10();
            let e = ema.map_or(x, |e| e + alpha * (x - e));
            ema = Some(e);
            peak = peak.max(e);
            risk = risk.max(((peak - e) / decades).clamp(0.0, 1.0));
        }
        if let Some(d) = dead_frac.map(|d| d[i]).filter(|d| d.is_finite()) {
            risk = risk.max(((d - 0.5) / 0.5).clamp(0.0, 1.0));
        }
        if let Some(r) = update_ratio.map(|r| r[i]).filter(|r| r.is_finite() && *r > 0.0) {
            let x = r.log10();
            if let Some(b) = ratio_base {
                risk = risk.max(((x - b) / 2.0).clamp(0.0, 1.0));
            }
            ratio_base = Some(ratio_base.map_or(x, |b| b + alpha * (x - b)));
        }
        out.push(risk);
    }
    out
}

/// The step from which the risk stayed at or above `threshold` without a break up to `step`
/// (inclusive): the warning that was still standing when the collapse came. `None` when the
/// risk at `step` is below the threshold.
pub fn standing_warning(steps: &[i64], risk: &[f64], threshold: f64, step: i64) -> Option<i64> {
    let last = steps.partition_point(|&s| s <= step).checked_sub(1)?;
    if risk[last] < threshold {
        return None;
    }
    let mut first = last;
    while first > 0 && risk[first - 1] >= threshold {
        first -= 1;
    }
    Some(steps[first])
}

/// The first step whose risk reaches `threshold` (normally [`WARN`]).
pub fn first_warning(steps: &[i64], risk: &[f64], threshold: f64) -> Option<i64> {
    risk.iter().position(|&r| r >= threshold).map(|i| steps[i])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p() -> DetectConfig {
        DetectConfig::default()
    }

    #[test]
    fn gradual_decline_warns_before_the_floor_is_reached() {
        // 0.2 until 500, then ×0.99 per step: reaches the floor (2e-4) at ~1187.
        let steps: Vec<i64> = (0..2000).collect();
        let std: Vec<f64> = steps.iter().map(|&s| 0.2 * 0.99f64.powi((s - 500).max(0) as i32)).collect();
        let risk = collapse_risk(&steps, &std, None, None, &p());
        let warn = first_warning(&steps, &risk, WARN).unwrap();
        assert!((600..1187).contains(&warn), "warned at {warn}");
    }

    #[test]
    fn steady_noise_and_single_step_drops_do_not_warn() {
        let steps: Vec<i64> = (0..3000).collect();
        let std: Vec<f64> = steps
            .iter()
            .map(|&s| if s % 500 == 250 { 1e-6 } else { 0.2 * (1.0 + 0.3 * ((s * 7919 % 13) as f64 / 13.0)) })
            .collect();
        let risk = collapse_risk(&steps, &std, None, None, &p());
        assert_eq!(first_warning(&steps, &risk, WARN), None, "max risk {:?}", risk.iter().cloned().fold(0.0, f64::max));
    }

    #[test]
    fn dying_units_and_update_spikes_raise_the_risk() {
        let steps: Vec<i64> = (0..400).collect();
        let std = vec![0.2; 400];
        let dead: Vec<f64> = steps.iter().map(|&s| if s < 300 { 0.3 } else { 0.9 }).collect();
        let risk = collapse_risk(&steps, &std, Some(&dead), None, &p());
        assert_eq!(first_warning(&steps, &risk, WARN), Some(300));
        let mut ratio = vec![1e-3; 400];
        ratio[350] = 0.5;
        let risk = collapse_risk(&steps, &std, None, Some(&ratio), &p());
        assert_eq!(first_warning(&steps, &risk, WARN), Some(350));
    }

    #[test]
    fn a_standing_warning_starts_where_the_risk_last_rose_for_good() {
        let steps: Vec<i64> = (0..10).collect();
        let risk = [0.6, 0.6, 0.1, 0.2, 0.5, 0.7, 0.9, 1.0, 1.0, 1.0];
        assert_eq!(first_warning(&steps, &risk, WARN), Some(0));
        assert_eq!(standing_warning(&steps, &risk, WARN, 7), Some(4));
        assert_eq!(standing_warning(&steps, &risk, WARN, 2), None);
    }
}
