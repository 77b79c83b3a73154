//! Tests of `map`: aggregation over seeds and other axes, shapes of the maps, and the HTML.

use super::*;
use crate::detect::diagnose::Diagnosis;

fn run(swept: &[(&str, &str)], status: Status, collapse_step: Option<i64>, recovered: bool) -> RunSummary {
    RunSummary {
        run_id: "r".into(),
        swept: swept.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        status,
        collapse_step,
        recovered,
        diagnosis: Diagnosis::default(),
        peak_pred_std: 0.2,
        final_pred_std: 0.1,
        steps_done: 100,
        wall_s: 1.0,
        fit_corr: f64::NAN,
        fit_mse: f64::NAN,
    }
}

fn keys(k: &[&str]) -> Vec<String> {
    k.iter().map(|s| s.to_string()).collect()
}

/// A run's ending: status, collapse step, recovered.
type Ending = (Status, Option<i64>, bool);

#[test]
fn cells_count_each_ending_and_take_the_median_of_sustained_collapses() {
    // (statuses with collapse step and recovered, expected cell)
    let c = |s: i64| -> Ending { (Status::Collapsed, Some(s), false) };
    let cases: [(&[Ending], Cell); 4] = [
        (&[c(100), c(300), c(200)], Cell { runs: 3, collapsed: 3, median_step: Some(200), ..Cell::default() }),
        (&[c(100), c(300)], Cell { runs: 2, collapsed: 2, median_step: Some(200), ..Cell::default() }),
        (
            &[(Status::Collapsed, Some(50), true), (Status::Diverged, None, false), (Status::Ok, None, false)],
            Cell { runs: 3, transient: 1, diverged: 1, ..Cell::default() },
        ),
        (
            &[(Status::Failed, None, false), (Status::Stopped, None, false), c(7)],
            Cell { runs: 3, collapsed: 1, failed: 1, stopped: 1, median_step: Some(7), ..Cell::default() },
        ),
    ];
    for (runs, want) in cases {
        let runs: Vec<RunSummary> = runs.iter().map(|&(st, step, rec)| run(&[], st, step, rec)).collect();
        let refs: Vec<&RunSummary> = runs.iter().collect();
        assert_eq!(Cell::of(&refs), want);
    }
    assert_eq!(Cell::default().share(), 0.0);
}

#[test]
fn one_map_per_pair_of_non_seed_axes_aggregating_the_rest() {
    let mut runs = Vec::new();
    for phi in ["0", "100"] {
        for lr in ["0.02", "0.005", "0.01"] {
            for seed in ["0", "1"] {
                let collapsed = phi == "100" && (lr == "0.02" || seed == "1");
                let (status, step) = if collapsed { (Status::Collapsed, Some(1000)) } else { (Status::Ok, None) };
                runs.push(run(
                    &[("loss.phi", phi), ("optim.lr", lr), ("seed", seed), ("data.seed", "3")],
                    status,
                    step,
                    false,
                ));
            }
        }
    }
    let refs: Vec<&RunSummary> = runs.iter().collect();
    let maps = collapse_maps(&keys(&["loss.phi", "optim.lr", "seed", "data.seed"]), &refs);
    assert_eq!(maps.len(), 1, "seeds are not axes");
    let map = &maps[0];
    assert_eq!(map.rows, Some(("loss.phi".to_string(), keys(&["0", "100"]))));
    assert_eq!(map.cols, ("optim.lr".to_string(), keys(&["0.005", "0.01", "0.02"])), "sorted numerically");
    let collapsed: Vec<Vec<(usize, usize)>> =
        map.cells.iter().map(|row| row.iter().map(|c| (c.collapsed, c.runs)).collect()).collect();
    assert_eq!(collapsed, vec![vec![(0, 2), (0, 2), (0, 2)], vec![(1, 2), (1, 2), (2, 2)]]);
    let three = collapse_maps(&keys(&["a", "b", "c"]), &refs);
    let pairs: Vec<(String, String)> =
        three.iter().map(|m| (m.rows.as_ref().unwrap().0.clone(), m.cols.0.clone())).collect();
    let want = [("a", "b"), ("a", "c"), ("b", "c")].map(|(r, c)| (r.to_string(), c.to_string()));
    assert_eq!(pairs, want);
}

#[test]
fn one_axis_gives_a_strip_and_none_a_single_cell() {
    let runs = [
        run(&[("schedule.kind", "cosine"), ("seed", "0")], Status::Ok, None, false),
        run(&[("schedule.kind", "step"), ("seed", "0")], Status::Collapsed, Some(40), false),
        run(&[("schedule.kind", "cosine"), ("seed", "1")], Status::Collapsed, Some(60), false),
    ];
    let refs: Vec<&RunSummary> = runs.iter().collect();
    let strip = &collapse_maps(&keys(&["schedule.kind", "seed"]), &refs)[0];
    assert_eq!(strip.rows, None);
    assert_eq!(strip.cols.1, keys(&["cosine", "step"]), "text values in order of appearance");
    assert_eq!(strip.cells[0].iter().map(|c| (c.collapsed, c.runs)).collect::<Vec<_>>(), vec![(1, 2), (1, 1)]);
    let single = &collapse_maps(&keys(&["seed"]), &refs)[0];
    assert_eq!((single.cells.len(), single.cells[0][0].runs, single.cells[0][0].collapsed), (1, 3, 2));
}

#[test]
fn html_shows_counts_median_extras_and_escapes() {
    let evil = "<script>alert(1)</script>";
    let runs = [
        run(&[("a", evil), ("b", "1")], Status::Collapsed, Some(80), false),
        run(&[("a", evil), ("b", "1")], Status::Diverged, None, false),
        run(&[("a", "x"), ("b", "1")], Status::Ok, None, false),
    ];
    let refs: Vec<&RunSummary> = runs.iter().collect();
    let html = map_html(&collapse_maps(&keys(&["a", "b"]), &refs)[0]);
    assert!(html.contains("<caption>a × b</caption>") && !html.contains(evil));
    assert!(html.contains("<th>&lt;script&gt;alert(1)&lt;/script&gt;</th>"));
    assert!(html.contains("<b>1/2</b><span>median @ 80</span><span>1 diverged</span>"));
    assert!(html.contains("inset 7px 0 0 #CC79A7"), "diverged stripe");
    assert!(html.contains("<b>0/1</b><span>healthy</span>"));
    let empty = [
        run(&[("a", "p"), ("b", "1")], Status::Ok, None, false),
        run(&[("a", "q"), ("b", "2")], Status::Ok, None, false),
    ];
    let refs: Vec<&RunSummary> = empty.iter().collect();
    assert!(map_html(&collapse_maps(&keys(&["a", "b"]), &refs)[0]).contains("no runs"), "a missing combination");
}
