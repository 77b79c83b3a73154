//! Tick positions of a y axis: decades (and ×2, ×5 on short spans) for a log axis, round
//! 1-2-5 steps for a linear one.

/// Tick values for a log axis over `lo..=hi` (values, not logs): every decade, or every 2nd,
/// 3rd… when there are more than `max_ticks`; when the axis spans at most 3 decades also ×2
/// and ×5, so a short axis still has labels to read.
pub fn log_ticks(lo: f64, hi: f64, max_ticks: usize) -> Vec<f64> {
    let (exp_lo, exp_hi) = (lo.log10().floor() as i32, hi.log10().ceil() as i32);
    let decades = (exp_hi - exp_lo).max(1) as usize;
    let stride = decades.div_ceil(max_ticks.max(1)).max(1);
    let stride_i32 = stride as i32;
    let first_exp = -((-exp_lo).div_euclid(stride_i32) * stride_i32); // a multiple of the stride
    let mut ticks = Vec::new();
    for exp in (first_exp..=exp_hi).step_by(stride) {
        let decade = 10f64.powi(exp);
        ticks.push(decade);
        if decades <= 3 {
            ticks.extend([2.0 * decade, 5.0 * decade]);
        }
    }
    // A relative tolerance so float error in powi cannot drop a tick at an exact end.
    ticks.retain(|&t| t >= lo * (1.0 - 1e-9) && t <= hi * (1.0 + 1e-9));
    ticks
}

/// Round tick values (1, 2 or 5 × 10^k apart) over `lo..=hi`, at most `max_ticks` of them.
pub fn linear_ticks(lo: f64, hi: f64, max_ticks: usize) -> Vec<f64> {
    let span = hi - lo;
    if !(span > 0.0 && span.is_finite()) {
        return vec![lo];
    }
    let rough = span / max_ticks.max(1) as f64;
    let magnitude = 10f64.powf(rough.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0].iter().map(|m| m * magnitude).find(|&s| s >= rough).unwrap_or(10.0 * magnitude);
    let first = (lo / step).ceil() as i64;
    let last = (hi / step).floor() as i64;
    // Snap to the step grid so 0.30000000000000004 prints as 0.3.
    (first..=last).map(|k| (k as f64 * step * 1e12).round() / 1e12).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_ticks_table() {
        let cases: [(f64, f64, usize, &[f64]); 4] = [
            (0.1, 0.6, 8, &[0.1, 0.2, 0.5]),
            (5e-4, 20.0, 8, &[1e-3, 1e-2, 1e-1, 1.0, 1e1]),
            (5e-13, 2.0, 5, &[1e-12, 1e-9, 1e-6, 1e-3, 1.0]),
            (5e-7, 2e-6, 3, &[5e-7, 1e-6, 2e-6]),
        ];
        for (lo, hi, max_ticks, want) in cases {
            let got = log_ticks(lo, hi, max_ticks);
            assert_eq!(got.len(), want.len(), "{lo:e}..{hi:e}: {got:?}");
            for (g, w) in got.iter().zip(want) {
                assert!((g / w - 1.0).abs() < 1e-9, "{lo:e}..{hi:e}: {got:?}");
            }
        }
    }

    #[test]
    fn linear_ticks_table() {
        let cases: [(f64, f64, usize, &[f64]); 5] = [
            (0.0, 1.0, 5, &[0.0, 0.2, 0.4, 0.6, 0.8, 1.0]),
            (-0.05, 1.05, 5, &[0.0, 0.5, 1.0]),
            (13.0, 97.0, 8, &[20.0, 40.0, 60.0, 80.0]),
            (13.0, 97.0, 9, &[20.0, 30.0, 40.0, 50.0, 60.0, 70.0, 80.0, 90.0]),
            (2.0, 2.0, 5, &[2.0]),
        ];
        for (lo, hi, max_ticks, want) in cases {
            assert_eq!(linear_ticks(lo, hi, max_ticks), want, "{lo}..{hi}");
        }
    }
}
