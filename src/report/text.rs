//! Text for display: HTML escaping and number formatting. Every string that comes from data
//! (configs, file names, run ids, diagnoses) goes through [`escape`] before it enters a page.

use std::fmt::Write;

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

/// A run's page, `runs/RUN_ID/index.html`, with the id percent-encoded as one path segment
/// (not yet HTML-escaped).
pub fn run_href(run_id: &str) -> String {
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

/// `"optim.lr=0.1 seed=2"` (not yet escaped).
pub fn swept_text(swept: &[(String, String)]) -> String {
    swept.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(" ")
}

/// A step, or `—` for none.
pub fn step_text(step: Option<i64>) -> String {
    step.map_or_else(|| "—".to_string(), |s| s.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn run_href_encodes_one_segment() {
        assert_eq!(run_href("r1a2"), "runs/r1a2/index.html");
        assert_eq!(run_href("<a>/b"), "runs/%3Ca%3E%2Fb/index.html");
    }

    #[test]
    fn swept_and_step_text() {
        let swept = vec![("optim.lr".to_string(), "0.1".to_string()), ("seed".to_string(), "2".to_string())];
        assert_eq!(swept_text(&swept), "optim.lr=0.1 seed=2");
        assert_eq!((step_text(Some(5)), step_text(None)), ("5".to_string(), "—".to_string()));
    }
}
