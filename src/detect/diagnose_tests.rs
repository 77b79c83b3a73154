//! One constructed run per cause: each series shows exactly that mechanism.

use polars::prelude::{Column, DataFrame};

use super::*;
use crate::config::resolved::DetectConfig;
use crate::detect::collapse::detect;

const N: usize = 1000;
const S: usize = 600; // collapse step of the collapsing runs

/// A healthy run: every column at a normal value; `edit` then shapes it.
fn run(edit: impl Fn(&mut Vec<(&'static str, Vec<f64>)>)) -> (MetricsTable, Vec<i64>, Finding) {
    let mut cols: Vec<(&'static str, Vec<f64>)> = vec![
        ("pred_std", vec![0.2; N]),
        ("pred_mean", vec![0.3; N]),
        ("bias_output", vec![0.6; N]),
        ("label_mean", vec![0.12; N]),
        ("loss", vec![1.0; N]),
        ("grad_norm", vec![1.0; N]),
        ("update_ratio", (0..N).map(|i| 1e-3 * (1.0 + 0.1 * ((i % 7) as f64))).collect()),
        ("saturated_frac", vec![0.0; N]),
        ("frozen_params", vec![0.0; N]),
        ("dead_frac_encoder_out", vec![0.1; N]),
        ("token_std_encoder_out", vec![0.5; N]),
        ("dead_frac_head_0", vec![0.2; N]),
        ("token_std_head_0", vec![0.4; N]),
        ("dead_frac_head_1", vec![0.3; N]),
        ("token_std_head_1", vec![0.3; N]),
    ];
    edit(&mut cols);
    let steps: Vec<i64> = (0..N as i64).collect();
    let mut columns = vec![Column::new("step".into(), steps.clone())];
    columns.extend(cols.iter().map(|(n, v)| Column::new((*n).into(), v.clone())));
    let m = MetricsTable { df: DataFrame::new(N, columns).unwrap() };
    let std = m.f64s("pred_std").unwrap();
    let f = detect(&steps, &std, &DetectConfig::default());
    (m, steps, f)
}

fn set(cols: &mut [(&'static str, Vec<f64>)], name: &str, from: usize, value: f64) {
    let c = cols.iter_mut().find(|(n, _)| *n == name).unwrap();
    c.1[from..].iter_mut().for_each(|x| *x = value);
}

fn collapse(cols: &mut [(&'static str, Vec<f64>)]) {
    set(cols, "pred_std", S, 3e-7);
}

fn diagnosis(edit: impl Fn(&mut Vec<(&'static str, Vec<f64>)>)) -> Diagnosis {
    let (m, steps, f) = run(edit);
    diagnose(&m, &steps, &f, &DetectConfig::default()).unwrap()
}

#[test]
fn healthy() {
    let d = diagnosis(|_| {});
    assert_eq!(d.cause, Cause::Healthy);
    assert_eq!(d.text, "healthy");
}

#[test]
fn dead_relu_names_the_layer_that_died_first_and_when() {
    let d = diagnosis(|c| {
        collapse(c);
        set(c, "dead_frac_head_1", S - 5, 1.0); // head_1 dies first…
        set(c, "token_std_head_1", S - 5, 0.0);
        set(c, "dead_frac_head_0", S + 3, 1.0); // …then head_0
        set(c, "pred_mean", S, 0.1244);
        set(c, "bias_output", S, 0.1244);
    });
    assert_eq!(d.cause, Cause::DeadRelu);
    assert_eq!(d.first_dead_layer.as_deref(), Some("head_1"));
    assert_eq!(d.dead_step, Some(S as i64 - 5));
    assert!(d.text.contains("output 0.1244 = sigmoid(last bias) 0.1244, label mean 0.1200"), "{}", d.text);
}

#[test]
fn bias_only_without_a_dead_layer() {
    let d = diagnosis(|c| {
        collapse(c);
        set(c, "pred_mean", S, 0.118);
        set(c, "bias_output", S, 0.1185);
    });
    assert_eq!(d.cause, Cause::BiasOnly);
    assert_eq!((d.pred_constant, d.bias_output, d.label_mean), (Some(0.118), Some(0.1185), Some(0.12)));
}

#[test]
fn update_spike_before_the_collapse() {
    let d = diagnosis(|c| {
        collapse(c);
        let r = &mut c.iter_mut().find(|(n, _)| *n == "update_ratio").unwrap().1;
        r[S - 3] = 0.5; // ~400× the median
    });
    assert_eq!(d.cause, Cause::UpdateSpike);
    assert_eq!(d.spike_step, Some(S as i64 - 3));
    assert!(d.spike_ratio.unwrap() > 100.0);
}

#[test]
fn saturation() {
    let d = diagnosis(|c| {
        collapse(c);
        set(c, "saturated_frac", S - 2, 1.0);
        set(c, "pred_mean", S, 0.0);
    });
    assert_eq!(d.cause, Cause::Saturation);
    assert_eq!(d.saturated_frac, Some(1.0));
}

#[test]
fn divergence() {
    let d = diagnosis(|c| {
        set(c, "loss", 700, f64::NAN);
        set(c, "pred_std", 700, f64::NAN);
    });
    assert_eq!(d.cause, Cause::Diverged);
    assert_eq!(d.diverged_step, Some(700));
}

#[test]
fn frozen_parameters_are_a_bug_worth_shouting_about() {
    let d = diagnosis(|c| set(c, "frozen_params", 0, 12.0));
    assert_eq!(d.cause, Cause::FrozenParams);
    assert!(d.text.contains("12 parameter tensors got no gradient"), "{}", d.text);
}

#[test]
fn never_diversified() {
    let d = diagnosis(|c| set(c, "pred_std", 0, 1e-6));
    assert_eq!(d.cause, Cause::NeverDiversified);
}

#[test]
fn unexplained_when_the_log_has_only_pred_std() {
    let steps: Vec<i64> = (0..N as i64).collect();
    let std: Vec<f64> = (0..N).map(|i| if i < S { 0.2 } else { 1e-7 }).collect();
    let df =
        DataFrame::new(N, vec![Column::new("step".into(), steps.clone()), Column::new("pred_std".into(), std.clone())])
            .unwrap();
    let f = detect(&steps, &std, &DetectConfig::default());
    let d = diagnose(&MetricsTable { df }, &steps, &f, &DetectConfig::default()).unwrap();
    assert_eq!(d.cause, Cause::Unexplained);
    assert_eq!(f.collapse_step, Some(S as i64));
}
