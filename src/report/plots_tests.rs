//! Tests of `plots`: what the SVG contains, scales, ticks, markers and bad input.

use super::*;
use crate::report::palette::{BLUE, ORANGE, VERMILLION};

/// Healthy std around 0.2 that collapses to ~1e-6 at step 1800.
fn collapsing(n: i64) -> (Vec<i64>, Vec<f64>) {
    let steps: Vec<i64> = (0..n).collect();
    let std = steps.iter().map(|&s| if s < 1800 { 0.2 + 0.01 * (s % 7) as f64 } else { 1e-6 }).collect();
    (steps, std)
}

fn chart<'a>(steps: &'a [i64], values: &'a [f64], scale: Scale, size: (u32, u32)) -> Chart<'a> {
    let mut c = Chart::new("pred std", scale, size);
    c.lines.push(Line { label: "pred std".into(), steps, values, colour: BLUE, dashed: false });
    c
}

fn collapse_at(step: i64) -> Marker {
    Marker { step, label: format!("collapse @ {step}"), colour: VERMILLION }
}

/// Number of `x,y` pairs in all `points="…"` attributes (polylines and polygons).
fn count_points(svg: &str) -> usize {
    svg.split("points=\"").skip(1).map(|rest| rest.split('"').next().unwrap_or("").split_whitespace().count()).sum()
}

#[test]
fn returns_inline_svg_with_size_axes_and_line() {
    let (s, v) = collapsing(3000);
    let svg = render(&chart(&s, &v, Scale::Log, (900, 420))).unwrap();
    assert!(svg.starts_with("<svg") && !svg.contains("<?xml") && svg.trim_end().ends_with("</svg>"));
    assert!(svg.contains("width=\"900\"") && svg.contains("height=\"420\""));
    // plotters writes each text on its own line between the tags
    for text in ["\nstep\n", "\npred std (log)\n", "#0072B2", "\n1e-6\n"] {
        assert!(svg.contains(text), "missing {text:?}");
    }
}

#[test]
fn markers_are_labelled_with_their_exact_step_and_only_inside_the_window() {
    let (s, v) = collapsing(3000);
    let mut c = chart(&s, &v, Scale::Log, (360, 220));
    c.markers = vec![collapse_at(1801), Marker { step: 2500, label: "late".into(), colour: ORANGE }];
    let svg = render(&c).unwrap();
    assert!(svg.contains("collapse @ 1801") && svg.contains("late") && svg.contains("#D55E00"));
    c.window = Some((1600, 2000));
    let zoomed = render(&c).unwrap();
    assert!(zoomed.contains("collapse @ 1801") && !zoomed.contains("\nlate\n"));
}

#[test]
fn a_marker_past_the_data_widens_the_window() {
    let (s, v) = collapsing(100);
    let mut c = chart(&s, &v, Scale::Log, (400, 220));
    c.markers.push(collapse_at(150));
    assert_eq!(prepare(&c).window, (0, 150));
}

#[test]
fn long_series_are_downsampled_for_drawing() {
    let (s, v) = collapsing(20_000);
    let mut c = chart(&s, &v, Scale::Log, (900, 420));
    c.markers.push(collapse_at(1800));
    let svg = render(&c).unwrap();
    // (900 - 84) / 2 = 408 buckets, at most two points each; every row would be 20,000.
    let drawn = count_points(&svg);
    assert!(drawn <= 816, "{drawn} points drawn");
    assert!(svg.len() < 60_000, "{} bytes", svg.len());
}

#[test]
fn zoom_window_draws_only_its_rows() {
    let (s, v) = collapsing(20_000);
    let mut c = chart(&s, &v, Scale::Log, (900, 300));
    c.window = Some((1600, 2000));
    let svg = render(&c).unwrap();
    let line = svg.lines().filter(|l| l.contains("#0072B2"));
    assert_eq!(line.map(count_points).sum::<usize>(), 401, "every row of 1600..=2000");
}

#[test]
fn auto_scale_picks_log_for_decades_and_linear_otherwise() {
    let steps: Vec<i64> = (0..4).collect();
    let cases: [(&[f64], Axis); 5] = [
        (&[1e-5, 1e-3, 0.1, 1.0], Axis::Log),
        (&[0.5, 1.0, 2.0, 3.0], Axis::Linear),
        (&[-1.0, 1e-3, 0.1, 100.0], Axis::Linear),
        (&[0.0, 1e-3, 0.1, 100.0], Axis::Linear),
        (&[f64::NAN, 1e-3, 0.1, 1.0], Axis::Log),
    ];
    for (values, want) in cases {
        let c = chart(&steps, values, Scale::Auto, (400, 200));
        assert_eq!(prepare(&c).axis, want, "{values:?}");
    }
}

#[test]
fn fixed_range_is_kept_and_widened() {
    let steps: Vec<i64> = (0..3).collect();
    let mut c = chart(&steps, &[0.2, 0.3, 0.4], Scale::Linear, (400, 200));
    c.y_fixed = Some((0.0, 1.0));
    let (lo, hi) = prepare(&c).y_range.unwrap();
    assert!((lo + 0.05).abs() < 1e-12 && (hi - 1.05).abs() < 1e-12, "{lo} {hi}");
    let values = [0.2, 1.5, 0.4];
    let mut c = chart(&steps, &values, Scale::Linear, (400, 200));
    c.y_fixed = Some((0.0, 1.0));
    assert!(prepare(&c).y_range.unwrap().1 > 1.5);
}

#[test]
fn undrawable_values_do_not_panic_and_nothing_drawable_says_no_data() {
    let (s, mut v) = collapsing(500);
    for (i, x) in [(3, f64::NAN), (4, 0.0), (5, -1.0), (6, f64::INFINITY), (7, f64::NEG_INFINITY)] {
        v[i] = x;
    }
    for scale in [Scale::Log, Scale::Linear, Scale::Auto] {
        let svg = render(&chart(&s, &v, scale, (360, 220))).unwrap();
        assert!(svg.starts_with("<svg") && !svg.contains("NaN") && !svg.contains("inf"));
    }
    let nan = [f64::NAN; 2];
    let svg = render(&chart(&[0, 1], &nan, Scale::Log, (360, 220))).unwrap();
    assert!(svg.contains("\nno data\n"));
    let svg = render(&Chart::new("x", Scale::Linear, (360, 220))).unwrap();
    assert!(svg.contains("\nno data\n") && svg.contains("width=\"360\""));
}

#[test]
fn text_from_data_is_escaped() {
    let evil = "<script>alert(1)</script>";
    let (s, v) = collapsing(50);
    let mut c = chart(&s, &v, Scale::Log, (360, 220));
    c.y_desc = evil.into();
    c.markers.push(Marker { step: 10, label: evil.into(), colour: VERMILLION });
    let svg = render(&c).unwrap();
    assert!(!svg.contains("<script") && svg.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
}

#[test]
fn bad_input_is_an_error() {
    let (s, v) = collapsing(10);
    let err = render(&chart(&s[..9], &v, Scale::Log, (360, 220))).unwrap_err();
    assert!(err.to_string().contains("9 steps but 10 values"), "{err}");
    let err = render(&chart(&s, &v, Scale::Log, (20, 10))).unwrap_err();
    assert!(err.to_string().contains("at least 120x80"), "{err}");
}
