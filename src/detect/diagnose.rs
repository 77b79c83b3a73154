//! Explains a run from its metrics alone: which layer lost its diversity first, whether the
//! output has become `sigmoid(last bias)` at about the label mean, what the update sizes did
//! just before the collapse, saturation, divergence and parameters that never learn.

use anyhow::Result;

use super::collapse::Finding;
use crate::metrics::reader::MetricsTable;

/// A unit counts as dead when `dead_frac` reaches this…
const DEAD: f64 = 0.999;
/// …or a layer counts as without diversity when `token_std` falls below this share of its peak.
const FLAT: f64 = 1e-3;
/// Steps before the collapse in which update sizes are compared with their earlier median.
const WINDOW: i64 = 100;

/// The short diagnosis text of a run.
pub fn diagnose(m: &MetricsTable, f: &Finding, diverged: Option<&str>) -> Result<String> {
    let steps = m.i64s("step")?;
    let mut parts = Vec::new();
    if let Some(what) = diverged {
        parts.push(format!("diverged: {what}"));
    }
    if m.has("frozen_params") {
        let frozen = m.f64s("frozen_params")?;
        if let Some(&first) = frozen.first() {
            if first > 0.0 {
                parts.push(format!(
                    "{first} parameter tensors got no gradient at step 0"
                ));
            }
        }
    }
    let Some(s) = f.collapse_step else {
        if parts.is_empty() {
            parts.push(match f.dips.len() {
                0 => "healthy".to_string(),
                n => format!("healthy ({n} short dips below the floor)"),
            });
        }
        return Ok(parts.join("; "));
    };
    let at = steps.partition_point(|&x| x < s);
    if s == steps.first().copied().unwrap_or(0) {
        parts.push("never diversified".to_string());
    } else {
        parts.push(format!("collapsed at step {s}"));
    }
    // The row where the collapse has settled: one window after it (or the last row).
    let settle = steps
        .partition_point(|&x| x < s + WINDOW)
        .min(steps.len() - 1);
    if let Some(layer) = first_dead_layer(m, &steps, settle)? {
        parts.push(layer);
    }
    // The constant the run settled on, compared with sigmoid(last bias) and the label mean.
    let pred = m.f64s("pred_mean")?[settle];
    let bias = m.f64s("bias_output")?[settle];
    let label = m.f64s("label_mean")?[settle];
    let bias_note = if (pred - bias).abs() < 1e-3 {
        "= sigmoid(last bias)"
    } else {
        "vs sigmoid(last bias)"
    };
    parts.push(format!(
        "output {pred:.4} {bias_note} {bias:.4}, label mean {label:.4}"
    ));
    if let Some(spike) = update_spike(m, &steps, at)? {
        parts.push(spike);
    }
    let sat = m.f64s("saturated_frac")?[at.min(steps.len() - 1)];
    if sat > 0.5 {
        parts.push(format!(
            "{:.0}% of logits saturated (|logit| > 10)",
            sat * 100.0
        ));
    }
    if f.recovered {
        parts.push(format!(
            "recovered at step {}",
            f.recovery_step.unwrap_or(s)
        ));
    }
    Ok(parts.join("; "))
}

/// Among the tapped layers that are dead or flat at row `settle`, the one whose dead/flat
/// stretch (ending at `settle`) started first, and that start step.
fn first_dead_layer(m: &MetricsTable, steps: &[i64], settle: usize) -> Result<Option<String>> {
    let mut first: Option<(i64, String)> = None;
    for layer in m.suffixes("dead_frac_") {
        let dead = m.f64s(&format!("dead_frac_{layer}"))?;
        let spread = m.f64s(&format!("token_std_{layer}"))?;
        let peak = spread[..=settle]
            .iter()
            .copied()
            .filter(|v| v.is_finite())
            .fold(0.0, f64::max);
        let gone = |i: usize| dead[i] >= DEAD || spread[i] <= FLAT * peak;
        if !gone(settle) {
            continue;
        }
        let mut start = settle;
        while start > 0 && gone(start - 1) {
            start -= 1;
        }
        let what = if dead[settle] >= DEAD {
            format!("all {layer} units dead")
        } else {
            format!(
                "{layer} lost its diversity (token_std {:.1e})",
                spread[settle]
            )
        };
        if first.as_ref().is_none_or(|(s, _)| steps[start] < *s) {
            first = Some((steps[start], what));
        }
    }
    Ok(first.map(|(step, what)| format!("{what} from step {step}")))
}

/// A `update_ratio` in the window before row `at` far above its earlier median.
fn update_spike(m: &MetricsTable, steps: &[i64], at: usize) -> Result<Option<String>> {
    let ratio = m.f64s("update_ratio")?;
    let start = steps.partition_point(|&x| x < steps[at.min(steps.len() - 1)] - WINDOW);
    let mut before: Vec<f64> = ratio[..start]
        .iter()
        .copied()
        .filter(|v| v.is_finite())
        .collect();
    if before.len() < 10 {
        return Ok(None);
    }
    before.sort_by(f64::total_cmp);
    let median = before[before.len() / 2];
    let (i, max) = ratio[start..=at.min(ratio.len() - 1)]
        .iter()
        .enumerate()
        .filter(|(_, v)| v.is_finite())
        .fold(
            (0, 0.0),
            |acc, (i, &v)| if v > acc.1 { (i, v) } else { acc },
        );
    if median > 0.0 && max > 5.0 * median {
        let step = steps[start + i];
        return Ok(Some(format!(
            "update_ratio spiked to {:.0}× its median at step {step}",
            max / median
        )));
    }
    Ok(None)
}
