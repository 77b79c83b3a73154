//! `StepRecord`: the plain-data row that training emits once per optimizer step.
//! Column meanings are DESIGN.md's; "loss tokens" are label ≠ −100 and domain ≠ −1.

/// Names of the variable-width parts of a record, fixed for a run.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RecordLayout {
    /// Parameter groups, for `grad_norm_<group>` (`encoder`, `head_0`, …).
    pub groups: Vec<String>,
    /// Tapped ReLU outputs, for `dead_frac_<layer>` and `token_std_<layer>`.
    pub layers: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct StepRecord {
    /// 0-based optimizer step.
    pub step: i64,
    pub epoch: i64,
    /// Learning rate used for this step.
    pub lr: f64,
    /// Total loss, the MSE term (Σ, or mean for `mse_mean`) and the φ·std term (0 if none).
    pub loss: f64,
    pub mse: f64,
    pub std_bonus: f64,
    /// Over loss tokens; `pred_std` is the population std.
    pub pred_mean: f64,
    pub pred_std: f64,
    pub pred_min: f64,
    pub pred_max: f64,
    pub label_mean: f64,
    /// Pearson correlation of predictions and labels over loss tokens (NaN when either is
    /// constant): how much of the labels' pattern the predictions carry.
    pub pred_label_corr: f64,
    /// Mean squared error per loss token, whatever the loss's reduction.
    pub mean_sq_err: f64,
    pub n_tokens: i64,
    /// Population std of the pre-sigmoid values; share of loss tokens with |logit| > 10.
    pub logit_std: f64,
    pub saturated_frac: f64,
    /// `sigmoid(b)` of the output layer's bias: the prediction of a head whose units all died.
    pub bias_output: f64,
    /// Global gradient L2 norm before the update, and per group (layout order).
    pub grad_norm: f64,
    pub grad_norm_groups: Vec<f64>,
    /// ‖Δθ‖ / ‖θ‖ of this step.
    pub update_ratio: f64,
    /// Per tapped layer (layout order): share of units that are 0 for every loss token, and the
    /// mean over units of the population std across loss tokens.
    pub dead_frac: Vec<f64>,
    pub token_std: Vec<f64>,
    /// Trainable tensors whose gradient is missing or all zero this step.
    pub frozen_params: i64,
    /// Wall time of the step, milliseconds.
    pub step_ms: f64,
    /// On the held-out sequences of a data file, dropout off, before this step's update:
    /// the configured loss over all their loss tokens, and the population std of the
    /// predictions. NaN on steps without validation (every `data.val_every` steps and the last).
    pub val_loss: f64,
    pub val_pred_std: f64,
}

/// Population mean and std (divides by n), in f64.
pub fn mean_std(xs: &[f32]) -> (f64, f64) {
    if xs.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    let n = xs.len() as f64;
    let mean = xs.iter().map(|&x| x as f64).sum::<f64>() / n;
    let var = xs.iter().map(|&x| (x as f64 - mean).powi(2)).sum::<f64>() / n;
    (mean, var.sqrt())
}

/// `(dead_frac, token_std)` of a `(tokens, units)` row-major activation matrix: the share of
/// units that are ≤ 0 for every token (for ReLU: exactly 0, i.e. dead; for leaky ReLU, GELU and
/// ELU: never in the positive regime), and the mean over units of the std across tokens.
pub fn layer_stats(acts: &[f32], tokens: usize, units: usize) -> (f64, f64) {
    if tokens == 0 || units == 0 {
        return (f64::NAN, f64::NAN);
    }
    let mut sum = vec![0.0f64; units];
    let mut sum_sq = vec![0.0f64; units];
    let mut alive = vec![false; units];
    for row in acts.chunks_exact(units) {
        for (u, &a) in row.iter().enumerate() {
            let a64 = a as f64;
            sum[u] += a64;
            sum_sq[u] += a64 * a64;
            alive[u] |= a > 0.0;
        }
    }
    let n = tokens as f64;
    let std_sum: f64 = sum
        .iter()
        .zip(&sum_sq)
        .map(|(s, q)| {
            let mean = s / n;
            (q / n - mean * mean).max(0.0).sqrt()
        })
        .sum();
    let dead = alive.iter().filter(|a| !**a).count();
    (dead as f64 / units as f64, std_sum / units as f64)
}

/// Pearson correlation of two equally long series; NaN when either has no spread.
pub fn correlation(xs: &[f32], ys: &[f32]) -> f64 {
    let (mx, sx) = mean_std(xs);
    let (my, sy) = mean_std(ys);
    if !(sx > 0.0 && sy > 0.0) {
        return f64::NAN;
    }
    let cov = xs.iter().zip(ys).map(|(&x, &y)| (x as f64 - mx) * (y as f64 - my)).sum::<f64>() / xs.len() as f64;
    cov / (sx * sy)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn correlation_of_linear_and_constant_series() {
        assert!((correlation(&[1.0, 2.0, 3.0], &[2.0, 4.0, 6.0]) - 1.0).abs() < 1e-12);
        assert!((correlation(&[1.0, 2.0, 3.0], &[3.0, 2.0, 1.0]) + 1.0).abs() < 1e-12);
        assert!(correlation(&[1.0, 1.0], &[0.0, 1.0]).is_nan());
    }

    #[test]
    fn population_mean_std() {
        let (m, s) = mean_std(&[1.0, 3.0]);
        assert_eq!((m, s), (2.0, 1.0));
    }

    #[test]
    fn dead_units_and_token_spread() {
        // 3 tokens × 3 units; unit 1 is dead, unit 2 is constant (alive, no spread).
        let acts = [1.0, 0.0, 2.0, 3.0, 0.0, 2.0, 5.0, 0.0, 2.0];
        let (dead, spread) = layer_stats(&acts, 3, 3);
        assert!((dead - 1.0 / 3.0).abs() < 1e-12);
        // std of unit 0 over [1, 3, 5] = sqrt(8/3); others 0 → mean sqrt(8/3)/3
        assert!((spread - (8.0f64 / 3.0).sqrt() / 3.0).abs() < 1e-12);
    }
}
