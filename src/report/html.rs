//! The shell shared by every page: head with inline CSS, the sort and filter scripts, figures
//! with their keys, colour swatches and number cells. Pages are self-contained (inline CSS,
//! inline SVG, a small optional script; no external assets, no network). SVG passed in is
//! trusted (made by `plots`); every other string is escaped here or by the caller.

use std::fmt::Write;

use super::palette::Colour;
use super::text::{escape, fmt_sig};
use super::{Figure, LegendEntry, Mark};

/// Shared page style. Row tints are light versions of Okabe–Ito colours (colour-blind safe);
/// the status is always written out too, so colour is never the only signal.
const CSS: &str = r#"
body { font-family: system-ui, sans-serif; margin: 1.5rem; color: #111; max-width: 1400px; }
h1 { margin: 0 0 .3rem; font-size: 1.5rem; word-break: break-all; }
h2 { margin: 1.6rem 0 .4rem; font-size: 1.2rem; }
p.lead { margin: .2rem 0; color: #333; }
.key { font-size: .85rem; color: #444; max-width: 70rem; }
[hidden] { display: none !important; }
table { border-collapse: collapse; font-size: .85rem; }
tr.baseline td { font-weight: 600; background: #f0f0f0; }
th, td { border: 1px solid #ccc; padding: .2rem .4rem; text-align: left; vertical-align: top; }
td.nowrap { white-space: nowrap; }
table.sortable th { background: #f4f4f4; cursor: pointer; white-space: nowrap; }
th[aria-sort=ascending]::after { content: " \25B2"; }
th[aria-sort=descending]::after { content: " \25BC"; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
td.wrap { min-width: 13rem; max-width: 36rem; }
.scroll { overflow-x: auto; max-width: 100%; }
.st-ok { background: #e5f3ee; }
.st-collapsed { background: #f9e2d2; }
.st-transient { background: #fcefd2; }
.st-diverged { background: #f5e4ee; }
.st-failed { background: #e6e6e6; }
.st-stopped { background: #e3f1fa; }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(330px, 1fr)); gap: .6rem; }
.card { border: 1px solid #ccc; border-radius: 4px; padding: .4rem; }
.card p { margin: 0 0 .3rem; font-size: .8rem; word-break: break-all; }
.figs { display: grid; grid-template-columns: repeat(auto-fill, minmax(520px, 1fr)); gap: .8rem; }
.figs figure { margin: 0; border: 1px solid #ddd; border-radius: 4px; padding: .4rem; }
.figs figure.wide { grid-column: 1 / -1; }
figcaption { font-weight: 600; font-size: .95rem; margin-bottom: .2rem; }
.legend { font-size: .8rem; color: #333; margin: 0 0 .2rem; }
.legend span.item { margin-right: 1rem; white-space: nowrap; }
.sw { display: inline-block; width: 1.4rem; height: 0; vertical-align: middle; margin-right: .3rem; }
.sw.area { height: .7rem; border-top: 0 !important; opacity: .5; }
svg { max-width: 100%; height: auto; display: block; }
.figs svg, .card svg { width: 100%; }
dl.facts { display: inline-grid; padding: .4rem .8rem; border-radius: 4px; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1rem; margin: .4rem 0; }
dt { font-weight: 600; }
dd { margin: 0; }
pre { background: #f6f6f6; padding: .75rem; overflow-x: auto; font-size: .85rem; }
table.map { margin: .4rem 0 1rem; }
table.map caption { text-align: left; font-weight: 600; padding-bottom: .3rem; }
table.map th { background: #f4f4f4; text-align: center; vertical-align: middle; }
table.map th.corner { font-weight: normal; font-size: .75rem; color: #444; text-align: left; }
table.map td.cell { text-align: center; min-width: 7.5em; line-height: 1.25; }
table.map td.cell b { font-size: 1rem; }
table.map td.cell span { display: block; font-size: .75rem; }
table.map td.empty { color: #777; background: #fff; }
.ramp { display: inline-block; width: 8rem; height: .7rem; vertical-align: middle; border: 1px solid #ccc;
  background: linear-gradient(to right, #F4F4F4, #D55E00); }
input[type=search] { font-size: .9rem; padding: .2rem .4rem; width: 22rem; max-width: 100%; }
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

/// Hides the rows of `table.filterable` (and the cards `#card-RUN`) that do not contain every
/// word typed into `#filter`; words match the row's text and its `data-filter` (`key=value`).
const FILTER_SCRIPT: &str = r#"
(function () {
  var input = document.getElementById("filter");
  if (!input) { return; }
  var count = document.getElementById("filter-count");
  input.addEventListener("input", function () {
    var words = input.value.toLowerCase().split(/\s+/).filter(Boolean);
    var rows = document.querySelectorAll("table.filterable tbody tr");
    var shown = 0;
    rows.forEach(function (row) {
      var text = (row.textContent + " " + (row.dataset.filter || "")).toLowerCase();
      var keep = words.every(function (w) { return text.indexOf(w) >= 0; });
      row.hidden = !keep;
      if (keep) { shown += 1; }
      var card = document.getElementById("card-" + row.dataset.run);
      if (card) { card.hidden = !keep; }
    });
    count.textContent = words.length ? shown + " of " + rows.length + " runs shown" : "";
  });
})();
"#;

/// `<!DOCTYPE html>` to `<body>`, with the page title escaped.
pub fn page_head(title: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<style>{CSS}</style>\n</head>\n<body>\n",
        escape(title)
    )
}

/// The scripts (sorting, filtering) and the closing tags.
pub fn page_end() -> String {
    format!("<script>{SORT_SCRIPT}{FILTER_SCRIPT}</script>\n</body>\n</html>\n")
}

/// A figure: its title, its key and its SVG; wide figures span the grid.
pub fn figure_html(figure: &Figure) -> String {
    let class = if figure.wide { " class=\"wide\"" } else { "" };
    let legend = if figure.legend.is_empty() { String::new() } else { legend_html(&figure.legend) };
    format!("<figure{class}>\n<figcaption>{}</figcaption>\n{legend}{}\n</figure>\n", escape(&figure.title), figure.svg)
}

/// A key: one swatch and label per entry.
pub fn legend_html(entries: &[LegendEntry]) -> String {
    let mut html = String::from("<p class=\"legend\">");
    for entry in entries {
        let _ =
            write!(html, "<span class=\"item\">{}{}</span>", swatch(entry.colour, entry.mark), escape(&entry.label));
    }
    html.push_str("</p>\n");
    html
}

/// A small inline sample of a line (solid or dashed) or a shaded area.
pub fn swatch(colour: Colour, mark: Mark) -> String {
    let hex = colour.hex();
    match mark {
        Mark::Line => format!("<span class=\"sw\" style=\"border-top:3px solid {hex}\"></span>"),
        Mark::Dashed => format!("<span class=\"sw\" style=\"border-top:3px dashed {hex}\"></span>"),
        Mark::Area => format!("<span class=\"sw area\" style=\"background:{hex}\"></span>"),
    }
}

/// A right-aligned cell showing `fmt_sig(x)` that sorts by the full value (NaN sorts last).
pub fn number_cell(x: f64) -> String {
    let sort_key = if x.is_nan() { String::new() } else { x.to_string() };
    format!("<td class=\"num\" data-sort=\"{sort_key}\">{}</td>", fmt_sig(x))
}

/// A right-aligned cell with an optional step (`—` sorts last).
pub fn step_cell(step: Option<i64>) -> String {
    let sort_key = step.map(|s| s.to_string()).unwrap_or_default();
    format!("<td class=\"num\" data-sort=\"{sort_key}\">{}</td>", super::text::step_text(step))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::palette::BLUE;

    #[test]
    fn head_escapes_title_and_end_closes_the_page() {
        let head = page_head("<b>");
        assert!(head.starts_with("<!DOCTYPE html>") && head.contains("<title>&lt;b&gt;</title>"));
        assert!(page_end().trim_end().ends_with("</html>"));
        assert!(!head.contains("http") && !page_end().contains("http"), "no external assets");
    }

    #[test]
    fn figure_has_escaped_title_key_and_svg() {
        let legend = vec![LegendEntry { label: "a<b".into(), colour: BLUE, mark: Mark::Dashed }];
        let fig = Figure { title: "t&t".into(), legend, svg: "<svg id=\"x\"></svg>".into(), wide: true };
        let html = figure_html(&fig);
        assert!(html.starts_with("<figure class=\"wide\">") && html.contains("<figcaption>t&amp;t</figcaption>"));
        assert!(html.contains("border-top:3px dashed #0072B2") && html.contains("a&lt;b"));
        assert!(html.contains("<svg id=\"x\"></svg>"));
    }

    #[test]
    fn number_and_step_cells_sort_by_value() {
        assert_eq!(number_cell(6.1e-7), "<td class=\"num\" data-sort=\"0.00000061\">6.1e-7</td>");
        assert_eq!(number_cell(f64::NAN), "<td class=\"num\" data-sort=\"\">NaN</td>");
        assert_eq!(step_cell(None), "<td class=\"num\" data-sort=\"\">—</td>");
        assert_eq!(step_cell(Some(1800)), "<td class=\"num\" data-sort=\"1800\">1800</td>");
    }
}
