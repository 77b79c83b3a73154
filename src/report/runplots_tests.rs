//! Tests of `runplots`: which panels a run gets, the markers on each, and the zoom window.

use super::*;
use crate::detect::diagnose::Diagnosis;
use crate::summary::Status;

/// Every column of a metrics file, pred_std collapsing at `collapse` (if any), 3000 steps.
fn columns(collapse: Option<i64>) -> StepColumns {
    let step: Vec<i64> = (0..3000).collect();
    let std: Vec<f64> = step.iter().map(|&s| if collapse.is_some_and(|c| s >= c) { 1e-9 } else { 0.2 }).collect();
    let mut names: Vec<String> = [
        "lr",
        "loss",
        "mse",
        "std_bonus",
        "pred_mean",
        "pred_min",
        "pred_max",
        "label_mean",
        "logit_std",
        "saturated_frac",
        "bias_output",
        "grad_norm",
        "update_ratio",
        "grad_norm_encoder",
        "grad_norm_head_0",
    ]
    .map(String::from)
    .to_vec();
    names.extend(["encoder_out", "head_0"].iter().flat_map(|l| [format!("dead_frac_{l}"), format!("token_std_{l}")]));
    let mut cols: Vec<(String, Vec<f64>)> = names.into_iter().map(|n| (n, vec![0.5; 3000])).collect();
    cols.push(("pred_std".into(), std));
    StepColumns { step, columns: cols }
}

fn summary(collapse_step: Option<i64>) -> RunSummary {
    RunSummary {
        run_id: "r".into(),
        swept: vec![],
        status: if collapse_step.is_some() { Status::Collapsed } else { Status::Ok },
        collapse_step,
        recovered: false,
        diagnosis: Diagnosis {
            first_dead_layer: collapse_step.map(|_| "head_0".to_string()),
            dead_step: collapse_step.map(|s| s - 3),
            spike_step: collapse_step.map(|s| s - 5),
            ..Diagnosis::default()
        },
        peak_pred_std: 0.2,
        final_pred_std: 1e-9,
        steps_done: 3000,
        wall_s: 1.0,
        fit_corr: f64::NAN,
        fit_mse: f64::NAN,
    }
}

#[test]
fn a_collapsed_run_gets_every_panel_each_marked_and_a_zoom() {
    let figures = run_figures(&columns(Some(1801)), &summary(Some(1801)), 200).unwrap();
    let titles: Vec<&str> = figures.iter().map(|f| f.title.as_str()).collect();
    assert_eq!(titles.len(), 11, "{titles:?}");
    assert_eq!(titles[1], "Around step 1801: steps 1601..2001");
    for figure in &figures {
        assert!(figure.svg.contains("collapse @ 1801\n"), "{} lacks the marker", figure.title);
    }
    assert!(figures[1].svg.contains("head_0 dead @ 1798") && figures[1].svg.contains("update spike @ 1796"));
    assert!(figures[1].wide && figures[0].wide && !figures[2].wide);
    let grads = figures.iter().find(|f| f.title.starts_with("Gradient norm")).unwrap();
    let labels: Vec<&str> = grads.legend.iter().map(|l| l.label.as_str()).collect();
    assert_eq!(labels, ["global", "encoder", "head_0"]);
}

#[test]
fn a_healthy_run_has_no_zoom_and_no_marker() {
    let figures = run_figures(&columns(None), &summary(None), 200).unwrap();
    assert_eq!(figures.len(), 10);
    assert!(figures.iter().all(|f| !f.svg.contains("collapse @")));
}

#[test]
fn panels_whose_columns_are_missing_are_left_out() {
    let cols = StepColumns { step: vec![0, 1, 2], columns: vec![("pred_std".into(), vec![0.1, 0.2, 0.3])] };
    let figures = run_figures(&cols, &summary(None), 200).unwrap();
    assert_eq!(figures.len(), 1, "the prediction spread only");
    let none = run_figures(&StepColumns::default(), &summary(None), 200).unwrap();
    assert!(none[0].svg.contains("no data"));
}

#[test]
fn markers_for_collapse_transient_and_divergence() {
    let mut s = summary(Some(40));
    assert_eq!(markers(&s)[0].label, "collapse @ 40");
    s.recovered = true;
    assert_eq!(markers(&s)[0].label, "transient collapse @ 40");
    s.collapse_step = None;
    s.diagnosis.diverged_step = Some(77);
    assert_eq!(markers(&s).iter().map(|m| m.label.as_str()).collect::<Vec<_>>(), ["diverged @ 77"]);
}

#[test]
fn thumbnails_share_the_given_axes() {
    let scale = ThumbnailScale { steps: (0, 6000), pred_std: (1e-9, 10.0) };
    let svg = thumbnail(&columns(Some(1500)), &summary(Some(1500)), Some(scale)).unwrap();
    assert!(svg.contains("collapse @ 1500") && svg.contains("#D55E00"), "collapsed: vermillion");
    let texts: Vec<&str> = svg.lines().filter(|l| !l.contains('<')).map(str::trim).collect();
    assert!(texts.contains(&"6000"), "the shared step axis: {texts:?}");
    assert!(texts.contains(&"1e-8") && texts.contains(&"1"), "the shared value axis: {texts:?}");
}
