//! The collapse rule of DESIGN.md over one `pred_std` series. `peak(t)` is the running max,
//! `floor(t) = max(abs_floor, rel_floor · peak(t))`. A run collapses at step s when pred_std
//! stays ≤ floor from s on for at least `patience` steps (counted in steps, not rows, so sparse
//! logs work); after that, `patience` steps above the floor mean it recovered. Shorter
//! excursions below the floor are dips.

use crate::config::resolved::DetectConfig;

/// What the rule found in one series.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    /// Step where the first sustained collapse starts.
    pub collapse_step: Option<i64>,
    /// The run was above the floor for `patience` steps after its last collapse and did not
    /// collapse again.
    pub recovered: bool,
    /// Step where the (last) recovery starts.
    pub recovery_step: Option<i64>,
    /// Sustained collapses (a run can collapse, recover and collapse again).
    pub n_collapses: usize,
    /// `(first step, steps below)` of excursions below the floor shorter than `patience`.
    pub dips: Vec<(i64, i64)>,
    /// Largest finite pred_std.
    pub peak_std: f64,
    /// Last finite pred_std.
    pub final_std: f64,
    /// The floor at the collapse step, or at the last row when there is none.
    pub floor: f64,
}

impl Finding {
    pub fn collapsed(&self) -> bool {
        self.collapse_step.is_some()
    }
}

/// The same rule applied step by step while a run trains (dense steps), so that a run can be
/// stopped soon after its collapse is confirmed (`[detect] stop_after`).
#[derive(Debug, Clone)]
pub struct OnlineCollapse {
    p: DetectConfig,
    peak: f64,
    streak_start: Option<i64>,
    /// Step where the first confirmed collapse starts.
    pub collapse_step: Option<i64>,
    /// Step at which it was confirmed (`patience` steps below the floor).
    pub confirmed_at: Option<i64>,
}

impl OnlineCollapse {
    pub fn new(p: &DetectConfig) -> OnlineCollapse {
        OnlineCollapse { p: *p, peak: f64::NEG_INFINITY, streak_start: None, collapse_step: None, confirmed_at: None }
    }

    pub fn push(&mut self, step: i64, pred_std: f64) {
        if pred_std.is_finite() {
            self.peak = self.peak.max(pred_std);
        }
        let floor = self.p.floor(self.peak);
        let below = pred_std.is_finite() && pred_std <= floor;
        self.streak_start = if below { Some(self.streak_start.unwrap_or(step)) } else { None };
        if let (None, Some(start)) = (self.collapse_step, self.streak_start) {
            if step - start + 1 >= self.p.patience as i64 {
                self.collapse_step = Some(start);
                self.confirmed_at = Some(step);
            }
        }
    }
}

/// Sorts rows by step and keeps the last row of each repeated step.
pub fn normalize(steps: &[i64], values: &[f64]) -> (Vec<i64>, Vec<f64>) {
    let rows = step_order(steps);
    (rows.iter().map(|&i| steps[i]).collect(), rows.iter().map(|&i| values[i]).collect())
}

/// Row indices in increasing step order, keeping only the last row of each repeated step.
pub fn step_order(steps: &[i64]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..steps.len()).collect();
    order.sort_by_key(|&i| (steps[i], i)); // original order within a step
    let mut keep: Vec<usize> = Vec::with_capacity(order.len());
    for i in order {
        match keep.last_mut() {
            Some(last) if steps[*last] == steps[i] => *last = i,
            _ => keep.push(i),
        }
    }
    keep
}

/// Applies the rule to rows sorted by strictly increasing step (see [`normalize`]).
/// Non-finite values neither count as below the floor nor raise the peak.
pub fn detect(steps: &[i64], pred_std: &[f64], p: &DetectConfig) -> Finding {
    let n = steps.len().min(pred_std.len());
    let mut peak = f64::NEG_INFINITY;
    let mut floors = Vec::with_capacity(n);
    let mut below = Vec::with_capacity(n);
    for &v in &pred_std[..n] {
        if v.is_finite() {
            peak = peak.max(v);
        }
        let floor = p.floor(peak);
        floors.push(floor);
        below.push(v.is_finite() && v <= floor);
    }
    let mut f = Finding {
        collapse_step: None,
        recovered: false,
        recovery_step: None,
        n_collapses: 0,
        dips: Vec::new(),
        peak_std: if peak.is_finite() { peak } else { f64::NAN },
        final_std: pred_std[..n].iter().rev().copied().find(|v| v.is_finite()).unwrap_or(f64::NAN),
        floor: floors.last().copied().unwrap_or(p.abs_floor),
    };
    let patience = p.patience as i64;
    let mut collapsed = false;
    let mut a = 0;
    while a < n {
        let mut b = a;
        while b + 1 < n && below[b + 1] == below[a] {
            b += 1;
        }
        // Steps covered by rows a..=b: up to the next row, or through the last row.
        let len = if b + 1 < n { steps[b + 1] - steps[a] } else { steps[b] - steps[a] + 1 };
        match (below[a], collapsed, len >= patience) {
            (true, false, true) => {
                collapsed = true;
                f.n_collapses += 1;
                f.recovered = false;
                if f.collapse_step.is_none() {
                    f.collapse_step = Some(steps[a]);
                    f.floor = floors[a];
                }
            }
            (true, false, false) => f.dips.push((steps[a], len)),
            (false, true, true) => {
                collapsed = false;
                f.recovered = true;
                f.recovery_step = Some(steps[a]);
            }
            _ => {}
        }
        a = b + 1;
    }
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p() -> DetectConfig {
        DetectConfig::default() // abs 1e-4, rel 1e-3, patience 100
    }

    /// Dense series: `(steps, value)` segments concatenated from step 0.
    fn series(parts: &[(i64, f64)]) -> (Vec<i64>, Vec<f64>) {
        let mut v = Vec::new();
        for &(len, x) in parts {
            v.extend(std::iter::repeat_n(x, len as usize));
        }
        ((0..v.len() as i64).collect(), v)
    }

    /// (name, series, expected collapse step, recovered, number of dips)
    type Case = (&'static str, (Vec<i64>, Vec<f64>), Option<i64>, bool, usize);

    #[test]
    fn table_of_constructed_series() {
        let slow: Vec<(i64, f64)> = (0..60).map(|i| (20, 0.2 * 0.8f64.powi(i))).collect();
        let cases: Vec<Case> = vec![
            ("healthy", series(&[(2000, 0.2)]), None, false, 0),
            ("sudden collapse", series(&[(1750, 0.23), (500, 6e-7)]), Some(1750), false, 0),
            // 0.2·0.8^k ≤ 2e-4 (rel floor of peak 0.2) first at k = 31 → step 620
            ("slow decay", series(&slow), Some(620), false, 0),
            ("transient dip", series(&[(500, 0.2), (30, 1e-7), (500, 0.2)]), None, false, 1),
            ("collapse then recovery", series(&[(500, 0.2), (300, 1e-7), (400, 0.2)]), Some(500), true, 0),
            ("recovery too short", series(&[(500, 0.2), (300, 1e-7), (50, 0.2), (300, 1e-7)]), Some(500), false, 0),
            ("never diversified", series(&[(1000, 1e-6)]), Some(0), false, 0),
            ("collapse too close to the end", series(&[(500, 0.2), (60, 1e-7)]), None, false, 1),
            ("scale-free: tiny healthy std", series(&[(500, 3e-4), (500, 2e-4)]), None, false, 0),
        ];
        for (name, (s, v), want, recovered, dips) in cases {
            let f = detect(&s, &v, &p());
            assert_eq!(f.collapse_step, want, "{name}");
            assert_eq!(f.recovered, recovered, "{name}");
            assert_eq!(f.dips.len(), dips, "{name}: {:?}", f.dips);
        }
    }

    #[test]
    fn sparse_rows_every_100_steps() {
        // The seed's log: 0.23 at 1700, 6e-7 from 1800 to 18,700, one row every 100 steps.
        let steps: Vec<i64> = (0..=187).map(|i| i * 100).collect();
        let v: Vec<f64> = steps.iter().map(|&s| if s < 1800 { 0.23 } else { 6e-7 }).collect();
        let f = detect(&steps, &v, &p());
        assert_eq!(f.collapse_step, Some(1800));
        assert!(!f.recovered);
        assert_eq!(f.peak_std, 0.23);
        // A single sparse row below the floor spans 100 steps until the next row: that is a dip
        // only when it is shorter than patience.
        let mut v2: Vec<f64> = vec![0.2; 50];
        v2[20] = 1e-7;
        let steps2: Vec<i64> = (0..50).map(|i| i * 10).collect();
        let f2 = detect(&steps2, &v2, &p());
        assert_eq!((f2.collapse_step, f2.dips.len()), (None, 1));
    }

    #[test]
    fn nan_is_never_below_the_floor() {
        let (s, mut v) = series(&[(300, 0.2)]);
        v[100..].iter_mut().for_each(|x| *x = f64::NAN);
        let f = detect(&s, &v, &p());
        assert_eq!(f.collapse_step, None);
        assert_eq!(f.final_std, 0.2);
    }

    #[test]
    fn normalize_sorts_and_keeps_last_duplicate() {
        let (s, v) = normalize(&[200, 0, 100, 100], &[3.0, 1.0, 2.0, 2.5]);
        assert_eq!(s, vec![0, 100, 200]);
        assert_eq!(v, vec![1.0, 2.5, 3.0]);
    }
}
