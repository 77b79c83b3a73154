//! HTML pages of a sweep: the index (counts, sortable run table, small multiples) and one page
//! per run. Owns escaping and number formatting for display. Pages are self-contained (inline
//! CSS, inline SVG, a small optional script; no external assets, no network). Every string that
//! comes from data is escaped here; SVG passed in is trusted (made by `plots::pred_std_svg`).

use std::fmt::Write;

use crate::summary::{RunSummary, Status};

/// Shared page style. Row tints are light versions of Okabe–Ito colours (colour-blind safe);
/// the status is always written out too, so colour is never the only signal.
const CSS: &str = r#"
body { font-family: system-ui, sans-serif; margin: 1.5rem; color: #111; }
h1 { margin: 0 0 .3rem; font-size: 1.5rem; }
.counts { margin: 0 0 1rem; color: #333; }
table { border-collapse: collapse; font-size: .85rem; }
th, td { border: 1px solid #ccc; padding: .25rem .5rem; text-align: left; vertical-align: top; }
th { background: #f4f4f4; cursor: pointer; white-space: nowrap; }
th[aria-sort=ascending]::after { content: " \25B2"; }
th[aria-sort=descending]::after { content: " \25BC"; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.st-ok { background: #e5f3ee; }
.st-collapsed { background: #f9e2d2; }
.st-diverged { background: #f5e4ee; }
.st-failed { background: #e6e6e6; }
.st-stopped { background: #fcefd2; }
.key { font-size: .85rem; color: #333; }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(370px, 1fr)); gap: .75rem; }
.card { border: 1px solid #ccc; border-radius: 4px; padding: .4rem; }
.card p { margin: 0 0 .3rem; font-size: .85rem; }
svg { max-width: 100%; height: auto; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1rem; }
dt { font-weight: bold; }
dd { margin: 0; }
pre { background: #f6f6f6; padding: .75rem; overflow-x: auto; }
"#;

/// Sorts a table by the clicked header: numeric for `data-type="num"` columns (blank and
/// non-numeric cells last), text otherwise; clicking again reverses. The page works without it.
const SORT_SCRIPT: &str = r#"
document.querySelectorAll("table.sortable th").forEach(function (th) {
  th.addEventListener("click", function () {
    var col = th.cellIndex;
    var body = th.closest("table").tBodies[0];
    var numeric = th.dataset.type === "num";
    var dir = th.getAttribute("aria-sort") === "ascending" ? -1 : 1;
    th.parentNode.querySelectorAll("th").forEach(function (h) { h.removeAttribute("aria-sort"); });
    th.setAttribute("aria-sort", dir === 1 ? "ascending" : "descending");
    var key = function (row) {
      var cell = row.cells[col];
      var text = cell.hasAttribute("data-sort") ? cell.getAttribute("data-sort") : cell.textContent;
      return numeric ? parseFloat(text) : text.trim().toLowerCase();
    };
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = key(a), y = key(b);
      if (numeric) {
        if (isNaN(x) || isNaN(y)) { return isNaN(x) - isNaN(y); }
        return dir * (x - y);
      }
      return dir * x.localeCompare(y, undefined, { numeric: true });
    });
    rows.forEach(function (r) { body.appendChild(r); });
  });
});
"#;

/// Escape &, <, >, ", ' for HTML text and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            other => out.push(other),
        }
    }
    out
}

/// A number with 3 significant digits, trailing zeros dropped: `0.0123`, `1.5`, `12300`;
/// scientific when |x| < 1e-3 or ≥ 1e5 (`6.1e-7`, `1.23e5`); `0`, `NaN`, `inf`, `-inf` as such.
pub fn fmt_sig(x: f64) -> String {
    if x.is_nan() {
        return "NaN".to_string();
    }
    if x.is_infinite() {
        return if x > 0.0 { "inf" } else { "-inf" }.to_string();
    }
    if x == 0.0 {
        return "0".to_string();
    }
    let magnitude = x.abs().log10().floor() as i32;
    let rounded = if magnitude >= 2 {
        let unit = 10f64.powi(magnitude - 2);
        (x / unit).round() * unit
    } else {
        x
    };
    if rounded.abs() < 1e-3 || rounded.abs() >= 1e5 {
        let text = format!("{x:.2e}");
        let (mantissa, exponent) = text.split_once('e').unwrap_or((&text, "0"));
        return format!("{}e{exponent}", trim_zeros(mantissa));
    }
    let decimals = (2 - magnitude).max(0) as usize;
    trim_zeros(&format!("{rounded:.decimals$}")).to_string()
}

/// `1.50` → `1.5`, `2.00` → `2`; integers are left alone.
fn trim_zeros(number: &str) -> &str {
    if number.contains('.') {
        number.trim_end_matches('0').trim_end_matches('.')
    } else {
        number
    }
}

/// A sweep index page (inline CSS, inline SVG, no external assets, no network): the counts
/// line, a sortable table with one row per run, then one small-multiple card per run.
/// `swept_keys` are the dotted swept keys in grid order; each run comes with its plot's SVG.
pub fn sweep_index(name: &str, swept_keys: &[String], runs: &[(RunSummary, String)]) -> String {
    let summaries: Vec<&RunSummary> = runs.iter().map(|(s, _)| s).collect();
    let mut page = page_head(name);
    let _ = write!(page, "<h1>{}</h1>\n<p class=\"counts\">{}</p>\n", escape(name), status_counts(&summaries));
    page.push_str(&run_table(swept_keys, &summaries));
    page.push_str(
        "<h2>Prediction spread per run</h2>\n<p class=\"key\">Blue line: pred std (log axis); \
         blue shade: its min..max within each drawn bucket of steps; orange: pred max &minus; min; \
         dashed vermillion: detected collapse.</p>\n<div class=\"grid\">\n",
    );
    for (summary, svg) in runs {
        let href = escape(&run_href(&summary.run_id));
        let status = summary.status.as_str();
        let _ = write!(
            page,
            "<div class=\"card st-{status}\">\n<p><a href=\"{href}\"><b>{}</b></a> &middot; \
             {status}{}</p>\n<p>{}</p>\n{svg}\n</div>\n",
            escape(&summary.run_id),
            summary.collapse_step.map(|s| format!(" @ {s}")).unwrap_or_default(),
            escape(&swept_text(summary)),
        );
    }
    let _ = write!(page, "</div>\n<script>{SORT_SCRIPT}</script>\n</body>\n</html>\n");
    page
}

/// A run page: h1 with the run id, the status/collapse/diagnosis block, the plot and the
/// resolved config in a `<pre>`. `back_href` links back to the sweep index ("../../index.html").
pub fn run_page(summary: &RunSummary, config_toml: &str, svg: &str, back_href: &str) -> String {
    let mut page = page_head(&summary.run_id);
    let _ = write!(
        page,
        "<p><a href=\"{}\">&larr; sweep index</a></p>\n<h1>{}</h1>\n<dl class=\"st-{}\">\n",
        escape(back_href),
        escape(&summary.run_id),
        summary.status.as_str()
    );
    let facts: [(&str, String); 10] = [
        ("status", summary.status.as_str().to_string()),
        ("swept", swept_text(summary)),
        ("collapse_step", collapse_text(summary.collapse_step)),
        ("recovered", summary.recovered.to_string()),
        ("cause", summary.diagnosis.cause.as_str().to_string()),
        ("diagnosis", summary.diagnosis.text.clone()),
        ("peak_pred_std", fmt_sig(summary.peak_pred_std)),
        ("final_pred_std", fmt_sig(summary.final_pred_std)),
        ("steps_done", summary.steps_done.to_string()),
        ("wall_s", fmt_sig(summary.wall_s)),
    ];
    for (label, value) in facts {
        let _ = writeln!(page, "<dt>{label}</dt><dd>{}</dd>", escape(&value));
    }
    let _ = write!(
        page,
        "</dl>\n<div class=\"plot\">\n{svg}\n</div>\n\
         <h2>Resolved config</h2>\n<pre>{}</pre>\n</body>\n</html>\n",
        escape(config_toml)
    );
    page
}

fn page_head(title: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<style>{CSS}</style>\n</head>\n<body>\n",
        escape(title)
    )
}

/// "N runs: a ok, b collapsed (c recovered), d diverged, e failed, f stopped".
fn status_counts(runs: &[&RunSummary]) -> String {
    let count = |status: Status| runs.iter().filter(|r| r.status == status).count();
    let recovered = runs.iter().filter(|r| r.status == Status::Collapsed && r.recovered).count();
    format!(
        "{} runs: {} ok, {} collapsed ({recovered} recovered), {} diverged, {} failed, {} stopped",
        runs.len(),
        count(Status::Ok),
        count(Status::Collapsed),
        count(Status::Diverged),
        count(Status::Failed),
        count(Status::Stopped),
    )
}

/// The table columns after the swept keys, with how the script sorts them.
const RESULT_COLUMNS: [(&str, &str); 8] = [
    ("status", "text"),
    ("collapse_step", "num"),
    ("recovered", "text"),
    ("peak_pred_std", "num"),
    ("final_pred_std", "num"),
    ("steps_done", "num"),
    ("wall_s", "num"),
    ("diagnosis", "text"),
];

/// Run id, swept values, then `RESULT_COLUMNS`; one row per run, tinted by status.
fn run_table(swept_keys: &[String], runs: &[&RunSummary]) -> String {
    let mut table = String::from("<table class=\"sortable\">\n<thead><tr><th data-type=\"text\">run_id</th>");
    for key in swept_keys {
        let numeric = runs.iter().all(|r| swept_value(r, key).is_none_or(|v| v.parse::<f64>().is_ok()));
        let _ = write!(table, "<th data-type=\"{}\">{}</th>", if numeric { "num" } else { "text" }, escape(key));
    }
    for (column, sort_type) in RESULT_COLUMNS {
        let _ = write!(table, "<th data-type=\"{sort_type}\">{column}</th>");
    }
    table.push_str("</tr></thead>\n<tbody>\n");
    for run in runs {
        let _ = write!(
            table,
            "<tr class=\"st-{}\"><td><a href=\"{}\">{}</a></td>",
            run.status.as_str(),
            escape(&run_href(&run.run_id)),
            escape(&run.run_id)
        );
        for key in swept_keys {
            let _ = write!(table, "<td>{}</td>", escape(swept_value(run, key).unwrap_or("")));
        }
        let collapse_sort = run.collapse_step.map(|s| s.to_string()).unwrap_or_default();
        let _ = writeln!(
            table,
            "<td>{}</td><td class=\"num\" data-sort=\"{collapse_sort}\">{}</td><td>{}</td>\
             {}{}<td class=\"num\">{}</td>{}<td>{}</td></tr>",
            run.status.as_str(),
            collapse_text(run.collapse_step),
            run.recovered,
            number_cell(run.peak_pred_std),
            number_cell(run.final_pred_std),
            run.steps_done,
            number_cell(run.wall_s),
            escape(&run.diagnosis.text),
        );
    }
    table.push_str("</tbody>\n</table>\n");
    table
}

/// A right-aligned cell showing `fmt_sig(x)` that sorts by the full value (NaN sorts last).
fn number_cell(x: f64) -> String {
    let sort_key = if x.is_nan() { String::new() } else { x.to_string() };
    format!("<td class=\"num\" data-sort=\"{sort_key}\">{}</td>", fmt_sig(x))
}

fn collapse_text(collapse_step: Option<i64>) -> String {
    collapse_step.map_or_else(|| "—".to_string(), |s| s.to_string())
}

fn swept_value<'a>(run: &'a RunSummary, key: &str) -> Option<&'a str> {
    run.swept.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

/// "optim.lr=0.1 seed=2" (unescaped).
fn swept_text(run: &RunSummary) -> String {
    run.swept.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(" ")
}

/// `runs/RUN_ID/index.html` with the id percent-encoded as one path segment (unescaped).
fn run_href(run_id: &str) -> String {
    let mut segment = String::new();
    for byte in run_id.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~=,+".contains(&byte) {
            segment.push(byte as char);
        } else {
            let _ = write!(segment, "%{byte:02X}");
        }
    }
    format!("runs/{segment}/index.html")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::diagnose::Diagnosis;

    const EVIL: &str = "<script>alert(1)</script>";

    fn run(run_id: &str, status: Status, collapse_step: Option<i64>, recovered: bool) -> RunSummary {
        RunSummary {
            run_id: run_id.to_string(),
            swept: vec![("optim.lr".into(), "0.01".into()), ("schedule.kind".into(), "cosine".into())],
            status,
            collapse_step,
            recovered,
            diagnosis: Diagnosis { text: "head_0 died first".into(), ..Diagnosis::default() },
            peak_pred_std: 0.23,
            final_pred_std: 6.1e-7,
            steps_done: 3000,
            wall_s: 12.5,
        }
    }

    fn keys() -> Vec<String> {
        vec!["optim.lr".into(), "schedule.kind".into()]
    }

    #[test]
    fn escape_replaces_all_five_characters() {
        assert_eq!(escape(r#"a&b<c>d"e'f"#), "a&amp;b&lt;c&gt;d&quot;e&#39;f");
        assert_eq!(escape("&amp;"), "&amp;amp;", "escaping is not idempotent by design");
        assert_eq!(escape("plain — text"), "plain — text");
    }

    #[test]
    fn fmt_sig_table() {
        let cases = [
            (6.1e-7, "6.1e-7"),
            (6.0e-7, "6e-7"),
            (1.23456e-4, "1.23e-4"),
            (0.0012345, "0.00123"),
            (0.0123, "0.0123"),
            (0.23, "0.23"),
            (1.5, "1.5"),
            (2.0, "2"),
            (12.5, "12.5"),
            (999.7, "1000"),
            (12345.0, "12300"),
            (123456.0, "1.23e5"),
            (-0.5, "-0.5"),
            (-4.2e-9, "-4.2e-9"),
            (0.0, "0"),
            (f64::NAN, "NaN"),
            (f64::INFINITY, "inf"),
            (f64::NEG_INFINITY, "-inf"),
        ];
        for (x, want) in cases {
            assert_eq!(fmt_sig(x), want, "fmt_sig({x:e})");
        }
    }

    #[test]
    fn header_counts_each_status() {
        let runs: Vec<(RunSummary, String)> = [
            run("a", Status::Ok, None, false),
            run("b", Status::Ok, None, false),
            run("c", Status::Collapsed, Some(1800), false),
            run("d", Status::Collapsed, Some(200), true),
            run("e", Status::Collapsed, Some(0), true),
            run("f", Status::Diverged, None, false),
            run("g", Status::Failed, None, false),
            run("h", Status::Stopped, None, false),
            run("i", Status::Stopped, None, false),
        ]
        .into_iter()
        .map(|r| (r, "<svg></svg>".to_string()))
        .collect();
        let page = sweep_index("lr sweep", &keys(), &runs);
        assert!(page.contains("9 runs: 2 ok, 3 collapsed (2 recovered), 1 diverged, 1 failed, 2 stopped"));
        assert_eq!(page.matches("<tr class=\"st-").count(), 9);
        assert_eq!(page.matches("<div class=\"card st-").count(), 9);
        let page = sweep_index("empty", &keys(), &[]);
        assert!(page.contains("0 runs: 0 ok, 0 collapsed (0 recovered), 0 diverged, 0 failed, 0 stopped"));
    }

    #[test]
    fn index_has_title_columns_links_and_plots() {
        let runs = vec![
            (run("r1a2", Status::Collapsed, Some(1800), false), "<svg id=\"p1\"></svg>".into()),
            (run("r3b4", Status::Ok, None, false), "<svg id=\"p2\"></svg>".into()),
        ];
        let page = sweep_index("lr sweep", &keys(), &runs);
        assert!(page.starts_with("<!DOCTYPE html>") && page.trim_end().ends_with("</html>"));
        assert!(page.contains("<title>lr sweep</title>") && page.contains("<h1>lr sweep</h1>"));
        assert!(page.contains("<a href=\"runs/r1a2/index.html\">r1a2</a>"));
        assert!(page.contains("<a href=\"runs/r3b4/index.html\">"));
        assert!(page.contains("<td class=\"num\" data-sort=\"\">—</td>"), "no collapse renders —");
        assert!(page.contains(">1800</td>") && page.contains(">6.1e-7</td>") && page.contains(">0.23</td>"));
        let header_order = ["run_id", "optim.lr", "schedule.kind", "status", "collapse_step", "recovered"];
        let positions: Vec<usize> = header_order.iter().map(|h| page.find(&format!(">{h}</th>")).unwrap()).collect();
        assert!(positions.windows(2).all(|w| w[0] < w[1]), "{positions:?}");
        assert!(page.contains("<th data-type=\"num\">optim.lr</th><th data-type=\"text\">schedule.kind</th>"));
        assert!(page.contains("<svg id=\"p1\"></svg>") && page.contains("<svg id=\"p2\"></svg>"));
        assert!(!page.contains("http://") && !page.contains("https://") && !page.contains(" src="));
    }

    #[test]
    fn index_escapes_every_data_string() {
        let mut evil = run(EVIL, Status::Failed, None, false);
        evil.swept = vec![(EVIL.into(), EVIL.into())];
        evil.diagnosis.text = EVIL.into();
        let page = sweep_index(EVIL, &[EVIL.to_string()], &[(evil, "<svg></svg>".into())]);
        assert!(!page.contains(EVIL));
        assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(page.contains("href=\"runs/%3Cscript%3Ealert%281%29%3C%2Fscript%3E/index.html\""));
    }

    #[test]
    fn run_page_shows_facts_escaped_config_and_plot() {
        let mut summary = run("r1a2", Status::Collapsed, Some(1800), true);
        summary.diagnosis.text = EVIL.into();
        let config = "[optim]\nlr = 0.01\nname = \"<b>&'x'\"\n";
        let page = run_page(&summary, config, "<svg id=\"big\"></svg>", "../../index.html");
        assert!(page.contains("<h1>r1a2</h1>") && page.contains("<a href=\"../../index.html\">"));
        assert!(page.contains("<pre>[optim]\nlr = 0.01\nname = &quot;&lt;b&gt;&amp;&#39;x&#39;&quot;\n</pre>"));
        assert!(page.contains("<dd>collapsed</dd>") && page.contains("<dd>1800</dd>"));
        assert!(page.contains("<dd>true</dd>") && page.contains("<dd>6.1e-7</dd>"));
        assert!(page.contains("<svg id=\"big\"></svg>") && !page.contains(EVIL));
        let ok = run_page(&run("r3", Status::Ok, None, false), "", "<svg></svg>", "../../index.html");
        assert!(ok.contains("<dt>collapse_step</dt><dd>—</dd>"));
    }
}
