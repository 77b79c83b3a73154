//! Explains a run from its metrics alone (no re-training): which layer lost its diversity
//! first, whether the output has become `sigmoid(last bias)` and how that compares with the
//! label mean, what the update sizes did just before the collapse, sigmoid saturation,
//! divergence, parameters that never learn, and runs that never diversified.
//!
//! Works on any per-step log: evidence whose columns are missing is simply not used.

use anyhow::Result;

use super::collapse::Finding;
use super::risk::{collapse_risk, standing_warning, WARN};
use crate::config::resolved::DetectConfig;
use crate::metrics::reader::MetricsTable;

/// A unit counts as dead when `dead_frac` reaches this…
const DEAD: f64 = 0.999;
/// …and a layer as without diversity when `token_std` falls below this share of its peak.
const FLAT: f64 = 1e-3;
/// Steps before the collapse in which update sizes are compared with their earlier median,
/// and steps after it at which the settled state is read.
const WINDOW: i64 = 100;
/// An update this many times its earlier median counts as a spike.
const SPIKE: f64 = 5.0;
/// Predictions within this of `sigmoid(last bias)` are "just the bias".
const BIAS_TOL: f64 = 1e-3;
/// Share of saturated logits (|logit| > 10) that makes saturation the cause.
const SATURATED: f64 = 0.5;

/// The mechanism behind a run's state, most specific first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Cause {
    #[default]
    Healthy,
    /// Loss, predictions or gradients became NaN/Inf.
    Diverged,
    /// Trainable tensors got no gradient from the first step: a bug in the model or loss.
    FrozenParams,
    /// pred_std was below the floor from the first step.
    NeverDiversified,
    /// Most logits are beyond ±10: the sigmoid is flat and passes no gradient.
    Saturation,
    /// Every unit of a tapped ReLU layer is 0 for every token.
    DeadRelu,
    /// No layer is fully dead, but the output equals `sigmoid(last bias)`: the weights into
    /// the last layer carry no token information any more.
    BiasOnly,
    /// A large update just before the collapse, with none of the states above after it.
    UpdateSpike,
    /// Collapsed, with no evidence for any mechanism in the logged columns.
    Unexplained,
}

impl Cause {
    pub fn as_str(self) -> &'static str {
        match self {
            Cause::Healthy => "healthy",
            Cause::Diverged => "diverged",
            Cause::FrozenParams => "frozen_params",
            Cause::NeverDiversified => "never_diversified",
            Cause::Saturation => "saturation",
            Cause::DeadRelu => "dead_relu",
            Cause::BiasOnly => "bias_only",
            Cause::UpdateSpike => "update_spike",
            Cause::Unexplained => "unexplained",
        }
    }
}

/// The diagnosis of one run: the cause, the evidence behind it, and a one-line text.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Diagnosis {
    pub cause: Cause,
    /// The tapped layer whose units died (or lost all spread) first, and from which step.
    pub first_dead_layer: Option<String>,
    pub dead_step: Option<i64>,
    /// `pred_mean`, `sigmoid(last bias)` and `label_mean` once the collapse has settled.
    pub pred_constant: Option<f64>,
    pub bias_output: Option<f64>,
    pub label_mean: Option<f64>,
    /// The largest `update_ratio` in the window before the collapse, its step, and its size
    /// relative to the median before the window.
    pub spike_step: Option<i64>,
    pub spike_ratio: Option<f64>,
    /// `saturated_frac` once settled.
    pub saturated_frac: Option<f64>,
    /// `frozen_params` at the first step.
    pub frozen_params: Option<i64>,
    /// First step with a non-finite loss, pred_std or grad_norm.
    pub diverged_step: Option<i64>,
    /// Collapsed runs: the step from which `collapse_risk` stayed at the warning level up to
    /// the collapse (see `detect::risk`); `None` for runs that did not collapse.
    pub warning_step: Option<i64>,
    pub text: String,
}

/// A column by name, if the log has it.
fn col(m: &MetricsTable, name: &str) -> Result<Option<Vec<f64>>> {
    if m.has(name) {
        Ok(Some(m.f64s(name)?))
    } else {
        Ok(None)
    }
}

/// Diagnoses a run from its metrics (`steps` sorted ascending, one per row) and its finding.
pub fn diagnose(m: &MetricsTable, steps: &[i64], f: &Finding, p: &DetectConfig) -> Result<Diagnosis> {
    let mut d = Diagnosis::default();
    if steps.is_empty() {
        d.text = "no rows".into();
        return Ok(d);
    }
    d.diverged_step = first_non_finite(m, steps)?;
    d.warning_step = warning(m, steps, f.collapse_step, p)?;
    d.frozen_params = col(m, "frozen_params")?.map(|v| v[0] as i64);
    let Some(s) = f.collapse_step else {
        d.cause = match (d.diverged_step, d.frozen_params) {
            (Some(_), _) => Cause::Diverged,
            (None, Some(n)) if n > 0 => Cause::FrozenParams,
            _ => Cause::Healthy,
        };
        d.text = text(&d, f);
        return Ok(d);
    };
    // The row where the collapse has settled: one window after it, or the last row.
    let settle = steps.partition_point(|&x| x < s + WINDOW).min(steps.len() - 1);
    let at = steps.partition_point(|&x| x < s).min(steps.len() - 1);
    if let Some((layer, start)) = first_dead_layer(m, steps, settle)? {
        d.first_dead_layer = Some(layer);
        d.dead_step = Some(start);
    }
    let at_settle = |v: Option<Vec<f64>>| v.map(|v| v[settle]).filter(|x| x.is_finite());
    d.pred_constant = at_settle(col(m, "pred_mean")?);
    d.bias_output = at_settle(col(m, "bias_output")?);
    d.label_mean = at_settle(col(m, "label_mean")?);
    d.saturated_frac = at_settle(col(m, "saturated_frac")?);
    if let Some(ratio) = col(m, "update_ratio")?.or(col(m, "grad_norm")?) {
        if let Some((i, r)) = spike(&ratio, steps, at) {
            d.spike_step = Some(steps[i]);
            d.spike_ratio = Some(r);
        }
    }
    let dead_at_settle = d
        .first_dead_layer
        .as_ref()
        .is_some_and(|l| col(m, &format!("dead_frac_{l}")).ok().flatten().is_some_and(|v| v[settle] >= DEAD));
    let bias_only = matches!((d.pred_constant, d.bias_output), (Some(p), Some(b)) if (p - b).abs() < BIAS_TOL);
    let frozen_bug = d.frozen_params.is_some_and(|n| n > 0) && d.dead_step != Some(steps[0]);
    d.cause = if d.diverged_step.is_some() {
        Cause::Diverged
    } else if frozen_bug {
        Cause::FrozenParams
    } else if s == steps[0] {
        Cause::NeverDiversified
    } else if d.saturated_frac.is_some_and(|x| x >= SATURATED) {
        Cause::Saturation
    } else if dead_at_settle {
        Cause::DeadRelu
    } else if bias_only {
        Cause::BiasOnly
    } else if d.spike_step.is_some() {
        Cause::UpdateSpike
    } else {
        Cause::Unexplained
    };
    d.text = text(&d, f);
    Ok(d)
}

/// The early-warning step from pred_std, the largest dead fraction and the update ratio.
fn warning(m: &MetricsTable, steps: &[i64], collapse: Option<i64>, p: &DetectConfig) -> Result<Option<i64>> {
    let (Some(std), Some(s)) = (col(m, "pred_std")?, collapse) else { return Ok(None) };
    let mut dead: Option<Vec<f64>> = None;
    for layer in m.suffixes("dead_frac_") {
        let v = m.f64s(&format!("dead_frac_{layer}"))?;
        dead = Some(match dead {
            Some(d) => d.iter().zip(&v).map(|(a, b)| a.max(*b)).collect(),
            None => v,
        });
    }
    let ratio = col(m, "update_ratio")?;
    let risk = collapse_risk(steps, &std, dead.as_deref(), ratio.as_deref(), p);
    Ok(standing_warning(steps, &risk, WARN, s))
}

fn first_non_finite(m: &MetricsTable, steps: &[i64]) -> Result<Option<i64>> {
    let mut first: Option<usize> = None;
    for name in ["loss", "pred_std", "grad_norm"] {
        if let Some(v) = col(m, name)? {
            if let Some(i) = v.iter().position(|x| !x.is_finite()) {
                first = Some(first.map_or(i, |j| j.min(i)));
            }
        }
    }
    Ok(first.map(|i| steps[i]))
}

/// Among the tapped layers that are dead or flat at row `settle`, the one whose dead/flat
/// stretch (ending at `settle`) started first, and that start step.
fn first_dead_layer(m: &MetricsTable, steps: &[i64], settle: usize) -> Result<Option<(String, i64)>> {
    let mut first: Option<(String, i64)> = None;
    let mut layers = m.suffixes("dead_frac_");
    layers.extend(m.suffixes("token_std_").into_iter().filter(|l| !m.has(&format!("dead_frac_{l}"))));
    for layer in layers {
        let dead = col(m, &format!("dead_frac_{layer}"))?;
        let spread = col(m, &format!("token_std_{layer}"))?;
        let peak =
            spread.as_ref().map_or(0.0, |v| v[..=settle].iter().copied().filter(|x| x.is_finite()).fold(0.0, f64::max));
        let gone = |i: usize| {
            dead.as_ref().is_some_and(|v| v[i] >= DEAD)
                || spread.as_ref().is_some_and(|v| peak > 0.0 && v[i] <= FLAT * peak)
        };
        if !gone(settle) {
            continue;
        }
        let mut start = settle;
        while start > 0 && gone(start - 1) {
            start -= 1;
        }
        if first.as_ref().is_none_or(|(_, s)| steps[start] < *s) {
            first = Some((layer, steps[start]));
        }
    }
    Ok(first)
}

/// The largest value in the `WINDOW` steps up to row `at`, if it is over `SPIKE` times the
/// median of the rows before the window: `(row, ratio to the median)`.
fn spike(v: &[f64], steps: &[i64], at: usize) -> Option<(usize, f64)> {
    let start = steps.partition_point(|&x| x < steps[at] - WINDOW);
    let mut before: Vec<f64> = v[..start].iter().copied().filter(|x| x.is_finite()).collect();
    if before.len() < 10 {
        return None;
    }
    before.sort_by(f64::total_cmp);
    let median = before[before.len() / 2];
    let (i, max) = (start..=at).filter(|&i| v[i].is_finite()).map(|i| (i, v[i])).max_by(|a, b| a.1.total_cmp(&b.1))?;
    (median > 0.0 && max > SPIKE * median).then_some((i, max / median))
}

fn text(d: &Diagnosis, f: &Finding) -> String {
    let mut parts = vec![d.cause.as_str().to_string()];
    if let Some(s) = d.diverged_step {
        parts.push(format!("non-finite values from step {s}"));
    }
    if let Some(n) = d.frozen_params.filter(|&n| n > 0) {
        parts.push(format!("{n} parameter tensors got no gradient at the first step"));
    }
    if let Some(s) = f.collapse_step {
        parts.push(format!("collapsed at step {s}"));
    } else if !f.dips.is_empty() {
        parts.push(format!("{} short dips below the floor", f.dips.len()));
    }
    if let (Some(l), Some(s)) = (&d.first_dead_layer, d.dead_step) {
        parts.push(format!("{l} lost all diversity from step {s}"));
    }
    match (d.pred_constant, d.bias_output) {
        (Some(p), Some(b)) => {
            let rel = if (p - b).abs() < BIAS_TOL { "=" } else { "vs" };
            let label = d.label_mean.map(|l| format!(", label mean {l:.4}")).unwrap_or_default();
            parts.push(format!("output {p:.4} {rel} sigmoid(last bias) {b:.4}{label}"));
        }
        (Some(p), None) => parts.push(format!("output {p:.4}")),
        _ => {}
    }
    if let (Some(w), Some(s)) = (d.warning_step, f.collapse_step) {
        if w < s {
            parts.push(format!("early warning at step {w}, {} steps before", s - w));
        }
    }
    if let (Some(s), Some(r)) = (d.spike_step, d.spike_ratio) {
        parts.push(format!("update {r:.0}× its median at step {s}"));
    }
    if let Some(x) = d.saturated_frac.filter(|&x| x > 0.0) {
        parts.push(format!("{:.0}% of logits saturated", x * 100.0));
    }
    if f.recovered {
        parts.push(format!("recovered at step {}", f.recovery_step.unwrap_or_default()));
    }
    parts.join("; ")
}

#[cfg(test)]
#[path = "diagnose_tests.rs"]
mod tests;
