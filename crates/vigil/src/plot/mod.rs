//! Plots as hand-written SVG strings: the forest plot and the funnel plot of a meta-analysis.
//!
//! Both take plain data structs (filled from any model) and return a complete SVG document, so the
//! `report` command can embed them as they are.

mod forest;
mod funnel;

pub use forest::{forest_svg, ForestPlot, ForestRow, PooledSummary};
pub use funnel::{funnel_svg, FunnelPlot};

/// Escapes text for HTML and SVG, in element content or a double-quoted attribute: `&`, `<`, `>`
/// and `"` (the report uses it too).
pub(crate) use html_escape::encode_double_quoted_attribute as esc;

/// Axis ticks for `[lo, hi]` on the analysis scale: "nice" values on the log scale (shown as ratios)
/// or on the linear scale.
pub(crate) fn ticks(lo: f64, hi: f64, log_scale: bool) -> Vec<(f64, String)> {
    if log_scale {
        let candidates: [f64; 19] = [
            0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0,
            100.0, 200.0, 500.0, 1000.0,
        ];
        let mut t: Vec<(f64, String)> = candidates
            .iter()
            .filter(|c| c.ln() >= lo - 1e-12 && c.ln() <= hi + 1e-12)
            .map(|c| (c.ln(), trim_number(*c)))
            .collect();
        // Thin out crowded ticks, always keeping 1.
        while t.len() > 7 {
            t = t
                .iter()
                .enumerate()
                .filter(|(i, (v, _))| i % 2 == 0 || v.abs() < 1e-12)
                .map(|(_, x)| x.clone())
                .collect();
        }
        t
    } else {
        let span = (hi - lo).max(1e-12);
        let raw = span / 5.0;
        let mag = 10f64.powf(raw.log10().floor());
        let step = [1.0, 2.0, 2.5, 5.0, 10.0]
            .iter()
            .map(|m| m * mag)
            .find(|s| *s >= raw)
            .unwrap_or(10.0 * mag);
        let start = (lo / step).ceil() as i64;
        let end = (hi / step).floor() as i64;
        (start..=end)
            .map(|i| i as f64 * step)
            .map(|v| (v, trim_number(if v.abs() < 1e-12 { 0.0 } else { v })))
            .collect()
    }
}

/// A number without trailing zeros (up to 4 decimals).
pub(crate) fn trim_number(x: f64) -> String {
    let s = format!("{x:.4}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "0".into()
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    /// The report and the plots escape exactly the four characters they escaped before sharing
    /// one escaper: `&`, `<`, `>` and `"` (the apostrophe stays, so clinical text is unchanged).
    #[test]
    fn esc_escapes_the_four_html_characters() {
        assert_eq!(
            super::esc(r#"Fleming & Drucker's <b>"RR"</b>"#),
            "Fleming &amp; Drucker's &lt;b&gt;&quot;RR&quot;&lt;/b&gt;"
        );
        assert_eq!(super::esc("DUPILUMAB → ECZEMA"), "DUPILUMAB → ECZEMA");
    }
}
