//! Which settings avoid the collapse, and at what cost: tables computed from summary rows only.
//!
//! - `remedies`: one row per `[[sweep.variant]]` (the baseline and one remedy at a time), over
//!   seeds and any other swept key, sorted best first.
//! - `effects`: for each swept key (seed excepted), one row per value: a direct comparison of
//!   collapse rates along that key, with a binomial standard error from the runs behind it.
//!
//! A run "fails" here when it collapsed for good or diverged; a collapse that recovered is
//! counted as transient. The cost of a setting is the fit of the runs that did not fail: the
//! correlation of predictions with labels and the squared error per token over the last tenth
//! of training.

use anyhow::Result;
use polars::prelude::{Column, CsvWriter, DataFrame, SerWriter};

use crate::summary::{RunSummary, Status};
use crate::sweep::files::{write_atomic, SweepDir};

/// One level of one key (or one variant), aggregated over the runs that have it.
#[derive(Debug, Clone, PartialEq)]
pub struct LevelRow {
    pub key: String,
    pub value: String,
    pub runs: usize,
    /// Collapsed for good or diverged.
    pub failed: usize,
    /// Collapsed, then recovered.
    pub transient: usize,
    /// `failed / runs` and its binomial standard error `sqrt(p(1 − p)/n)`.
    pub failed_share: f64,
    pub failed_se: f64,
    /// Median collapse step of the runs that collapsed (transient ones included).
    pub median_collapse_step: Option<i64>,
    /// Median `fit_corr` and `fit_mse` of the runs that did not fail (NaN when all failed).
    pub fit_corr: f64,
    pub fit_mse: f64,
}

fn failed(r: &RunSummary) -> bool {
    r.status == Status::Diverged || (r.status == Status::Collapsed && !r.recovered)
}

/// Median of the finite values of `v` (mean of the middle two for an even count; NaN if none).
pub fn median(v: &[f64]) -> f64 {
    let mut v: Vec<f64> = v.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn level(key: &str, value: &str, runs: &[&RunSummary]) -> LevelRow {
    let n = runs.len();
    let failed_n = runs.iter().filter(|r| failed(r)).count();
    let p = failed_n as f64 / n.max(1) as f64;
    let mut steps: Vec<i64> = runs.iter().filter_map(|r| r.collapse_step).collect();
    steps.sort();
    let ok: Vec<&&RunSummary> = runs.iter().filter(|r| !failed(r)).collect();
    LevelRow {
        key: key.to_string(),
        value: value.to_string(),
        runs: n,
        failed: failed_n,
        transient: runs.iter().filter(|r| r.status == Status::Collapsed && r.recovered).count(),
        failed_share: p,
        failed_se: (p * (1.0 - p) / n.max(1) as f64).sqrt(),
        median_collapse_step: (!steps.is_empty()).then(|| steps[(steps.len() - 1) / 2]),
        fit_corr: median(&ok.iter().map(|r| r.fit_corr).collect::<Vec<_>>()),
        fit_mse: median(&ok.iter().map(|r| r.fit_mse).collect::<Vec<_>>()),
    }
}

fn value_of<'a>(r: &'a RunSummary, key: &str) -> Option<&'a str> {
    r.swept.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

/// For each swept key except `seed` (and `variant`, see [`remedies`]) that takes at least two
/// values, one row per value in the order the values first appear.
pub fn effects(swept_keys: &[String], rows: &[RunSummary]) -> Vec<LevelRow> {
    let mut out = Vec::new();
    for key in swept_keys.iter().filter(|k| *k != "seed" && *k != "variant") {
        let mut values: Vec<&str> = Vec::new();
        for r in rows {
            if let Some(v) = value_of(r, key) {
                if !values.contains(&v) {
                    values.push(v);
                }
            }
        }
        if values.len() < 2 {
            continue;
        }
        for v in values {
            let runs: Vec<&RunSummary> = rows.iter().filter(|r| value_of(r, key) == Some(v)).collect();
            out.push(level(key, v, &runs));
        }
    }
    out
}

/// One row per variant, best first: fewest failures, then fewest transients, then best fit.
/// Empty when the sweep has no variants.
pub fn remedies(rows: &[RunSummary]) -> Vec<LevelRow> {
    let mut names: Vec<&str> = Vec::new();
    for r in rows {
        if let Some(v) = value_of(r, "variant") {
            if !names.contains(&v) {
                names.push(v);
            }
        }
    }
    let mut out: Vec<LevelRow> = names
        .iter()
        .map(|v| level("variant", v, &rows.iter().filter(|r| value_of(r, "variant") == Some(*v)).collect::<Vec<_>>()))
        .collect();
    out.sort_by(|a, b| {
        a.failed_share
            .total_cmp(&b.failed_share)
            .then(a.transient.cmp(&b.transient))
            .then(b.fit_corr.is_finite().cmp(&a.fit_corr.is_finite()))
            .then(b.fit_corr.total_cmp(&a.fit_corr))
    });
    out
}

/// Writes `effects.csv` and, when the sweep has variants, `remedies.csv`.
pub fn write_tables(dir: &SweepDir, swept_keys: &[String], rows: &[RunSummary]) -> Result<()> {
    write_csv(&dir.root.join("effects.csv"), &effects(swept_keys, rows))?;
    let rem = remedies(rows);
    if !rem.is_empty() {
        write_csv(&dir.root.join("remedies.csv"), &rem)?;
    }
    Ok(())
}

fn write_csv(path: &std::path::Path, rows: &[LevelRow]) -> Result<()> {
    let col = |name: &str, v: Vec<f64>| Column::new(name.into(), v);
    let mut df = DataFrame::new(
        rows.len(),
        vec![
            Column::new("key".into(), rows.iter().map(|r| r.key.clone()).collect::<Vec<_>>()),
            Column::new("value".into(), rows.iter().map(|r| r.value.clone()).collect::<Vec<_>>()),
            Column::new("runs".into(), rows.iter().map(|r| r.runs as i64).collect::<Vec<_>>()),
            Column::new("failed".into(), rows.iter().map(|r| r.failed as i64).collect::<Vec<_>>()),
            Column::new("transient".into(), rows.iter().map(|r| r.transient as i64).collect::<Vec<_>>()),
            col("failed_share", rows.iter().map(|r| r.failed_share).collect()),
            col("failed_se", rows.iter().map(|r| r.failed_se).collect()),
            Column::new("median_collapse_step".into(), rows.iter().map(|r| r.median_collapse_step).collect::<Vec<_>>()),
            col("fit_corr", rows.iter().map(|r| r.fit_corr).collect()),
            col("fit_mse", rows.iter().map(|r| r.fit_mse).collect()),
        ],
    )?;
    let mut buf = Vec::new();
    CsvWriter::new(&mut buf).include_header(true).finish(&mut df)?;
    write_atomic(path, &buf)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::diagnose::Diagnosis;

    fn run(variant: &str, lr: &str, status: Status, recovered: bool, step: Option<i64>, corr: f64) -> RunSummary {
        RunSummary {
            run_id: format!("{variant}{lr}{step:?}"),
            swept: vec![
                ("variant".into(), variant.into()),
                ("optim.lr".into(), lr.into()),
                ("seed".into(), "0".into()),
            ],
            status,
            collapse_step: step,
            recovered,
            diagnosis: Diagnosis::default(),
            peak_pred_std: 0.3,
            final_pred_std: 0.2,
            steps_done: 100,
            wall_s: 1.0,
            fit_corr: corr,
            fit_mse: 0.01,
        }
    }

    fn rows() -> Vec<RunSummary> {
        vec![
            run("baseline", "0.01", Status::Collapsed, false, Some(30), f64::NAN),
            run("baseline", "0.01", Status::Collapsed, false, Some(50), f64::NAN),
            run("baseline", "0.02", Status::Ok, false, None, 0.6),
            run("baseline", "0.02", Status::Collapsed, true, Some(90), 0.4),
            run("clip", "0.01", Status::Ok, false, None, 0.7),
            run("clip", "0.01", Status::Ok, false, None, 0.5),
            run("clip", "0.02", Status::Diverged, false, None, f64::NAN),
            run("clip", "0.02", Status::Ok, false, None, 0.9),
        ]
    }

    #[test]
    fn remedies_are_sorted_best_first_with_counts_and_fit() {
        let r = remedies(&rows());
        assert_eq!(r.iter().map(|x| x.value.as_str()).collect::<Vec<_>>(), ["clip", "baseline"]);
        let (clip, base) = (&r[0], &r[1]);
        assert_eq!((clip.runs, clip.failed, clip.transient), (4, 1, 0));
        assert_eq!((base.failed, base.transient), (2, 1));
        assert_eq!(base.failed_share, 0.5);
        assert!((base.failed_se - 0.25).abs() < 1e-12, "sqrt(0.5·0.5/4)");
        assert_eq!(base.median_collapse_step, Some(50));
        assert_eq!(clip.fit_corr, 0.7, "median of 0.5, 0.7, 0.9");
        assert_eq!(base.fit_corr, 0.5, "median over the runs that did not fail: 0.4, 0.6");
    }

    #[test]
    fn effects_compare_levels_of_each_swept_key_except_seed_and_variant() {
        let keys: Vec<String> = ["variant", "optim.lr", "seed"].map(String::from).to_vec();
        let e = effects(&keys, &rows());
        assert_eq!(e.len(), 2);
        assert_eq!((e[0].value.as_str(), e[0].failed, e[0].runs), ("0.01", 2, 4));
        assert_eq!((e[1].value.as_str(), e[1].failed, e[1].transient), ("0.02", 1, 1));
    }
}
