//! The forest plot: one row per study (square sized by weight, confidence interval), the pooled
//! diamond, the prediction interval, the heterogeneity line, and a log axis for ratio measures.

use super::{esc, ticks, trim_number};
use std::fmt::Write;

/// One study row.
#[derive(Debug, Clone)]
pub struct ForestRow {
    /// Study label.
    pub label: String,
    /// Extra text, e.g. "12/110 vs 25/315".
    pub detail: Option<String>,
    /// Estimate on the analysis scale (log scale for ratios); None = not estimable.
    pub estimate: Option<f64>,
    /// Lower confidence bound (analysis scale).
    pub ci_lb: Option<f64>,
    /// Upper confidence bound (analysis scale).
    pub ci_ub: Option<f64>,
    /// Weight in the pooled estimate, percent.
    pub weight_pct: Option<f64>,
}

/// The pooled estimate.
#[derive(Debug, Clone)]
pub struct PooledSummary {
    /// Label, e.g. "Random effects (REML)".
    pub label: String,
    /// Estimate (analysis scale).
    pub estimate: f64,
    /// Lower confidence bound.
    pub ci_lb: f64,
    /// Upper confidence bound.
    pub ci_ub: f64,
    /// Prediction interval, if any.
    pub prediction: Option<(f64, f64)>,
}

/// Everything a forest plot shows.
#[derive(Debug, Clone)]
pub struct ForestPlot {
    /// Title.
    pub title: String,
    /// Measure name for the axis ("RR", "OR", "RD", ...).
    pub measure_label: String,
    /// Whether estimates are logs (axis labelled with exp values, null at 1).
    pub log_scale: bool,
    /// Confidence level in percent.
    pub level: f64,
    /// Study rows.
    pub rows: Vec<ForestRow>,
    /// Pooled estimate.
    pub pooled: PooledSummary,
    /// Heterogeneity line.
    pub heterogeneity: String,
    /// A line under the plot naming the studies of the file that are not in it (omitted for a
    /// missing value), so the rows shown are not mistaken for the whole file.
    pub omitted_note: Option<String>,
}

const ROW_H: f64 = 24.0;
const TOP: f64 = 70.0;
const PLOT_X0: f64 = 430.0;
const PLOT_X1: f64 = 730.0;
const WIDTH: f64 = 960.0;

/// Where things go: the axis range (analysis scale) and the rows' heights.
struct Layout {
    /// Axis range, analysis scale.
    lo: f64,
    hi: f64,
    log_scale: bool,
    y_pooled: f64,
    y_prediction: f64,
    y_axis: f64,
    height: f64,
}

impl Layout {
    fn new(p: &ForestPlot) -> Self {
        let (lo, hi) = axis_range(p);
        let n = p.rows.len() as f64;
        let y_pooled = TOP + (n + 0.8) * ROW_H;
        let y_prediction = y_pooled + ROW_H;
        let y_axis = y_prediction + ROW_H * 0.9;
        let height = y_axis
            + if p.omitted_note.is_some() {
                113.0
            } else {
                95.0
            };
        Self {
            lo,
            hi,
            log_scale: p.log_scale,
            y_pooled,
            y_prediction,
            y_axis,
            height,
        }
    }

    /// Horizontal position of `x` (analysis scale), clamped to the axis.
    fn x(&self, x: f64) -> f64 {
        PLOT_X0 + (x.clamp(self.lo, self.hi) - self.lo) / (self.hi - self.lo) * (PLOT_X1 - PLOT_X0)
    }

    /// `x` as printed: back on the ratio scale for logs, 2 decimals (none from 100 up).
    fn number(&self, x: f64) -> String {
        let v = if self.log_scale { x.exp() } else { x };
        if v.abs() >= 100.0 {
            format!("{v:.0}")
        } else {
            format!("{v:.2}")
        }
    }
}

/// The axis range: the null, the pooled CI and PI and the study CIs, clamped to two decades either
/// side of the pooled estimate on a log axis (so one wild study does not squash the rest), plus 5 %.
fn axis_range(p: &ForestPlot) -> (f64, f64) {
    let null = 0.0;
    let mut lo = p.pooled.ci_lb.min(null);
    let mut hi = p.pooled.ci_ub.max(null);
    if let Some((a, b)) = p.pooled.prediction {
        lo = lo.min(a);
        hi = hi.max(b);
    }
    for r in &p.rows {
        if let (Some(a), Some(b)) = (r.ci_lb, r.ci_ub) {
            lo = lo.min(a);
            hi = hi.max(b);
        }
    }
    let max_span = if p.log_scale {
        10f64.ln() * 2.0
    } else {
        f64::INFINITY
    };
    lo = lo.max(p.pooled.estimate - max_span);
    hi = hi.min(p.pooled.estimate + max_span);
    let pad = (hi - lo).max(1e-9) * 0.05;
    (lo - pad, hi + pad)
}

/// Renders the forest plot as an SVG document. Each study row is a `<g class="study-row">`.
pub fn forest_svg(p: &ForestPlot) -> String {
    let at = Layout::new(p);
    let mut s = String::new();
    write_header(&mut s, p, &at);
    let max_weight = p
        .rows
        .iter()
        .filter_map(|r| r.weight_pct)
        .fold(0.0, f64::max)
        .max(1e-9);
    for (i, r) in p.rows.iter().enumerate() {
        write_study_row(&mut s, &at, r, TOP + (i as f64 + 0.5) * ROW_H, max_weight);
    }
    write_pooled(&mut s, &at, &p.pooled);
    write_axis(&mut s, &at, p);
    write_footer(&mut s, &at, p);
    s
}

/// The document head, the title and the column headings.
fn write_header(s: &mut String, p: &ForestPlot, at: &Layout) {
    let height = at.height;
    let _ = writeln!(s, r##"<?xml version="1.0" encoding="UTF-8"?>"##);
    let _ = writeln!(
        s,
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height:.0}" viewBox="0 0 {WIDTH} {height:.0}" font-family="Helvetica, Arial, sans-serif" font-size="12">"#
    );
    let _ = writeln!(s, r##"<rect width="100%" height="100%" fill="white"/>"##
    );
    let _ = writeln!(
        s,
        r##"<text x="10" y="22" font-size="15" font-weight="bold">{}</text>"##,
        esc(&p.title)
    );
    let hy = TOP - 14.0;
    let _ = writeln!(
        s,
        r##"<g class="header" font-weight="bold"><text x="10" y="{hy}">Study</text><text x="220" y="{hy}">Events (treated vs control)</text><text x="{}" y="{hy}" text-anchor="middle">{} [{}% CI]</text><text x="{}" y="{hy}" text-anchor="end">{} [{}% CI]</text><text x="{}" y="{hy}" text-anchor="end">Weight</text></g>"##,
        (PLOT_X0 + PLOT_X1) / 2.0,
        esc(&p.measure_label),
        trim_number(p.level),
        WIDTH - 95.0,
        esc(&p.measure_label),
        trim_number(p.level),
        WIDTH - 10.0
    );
    let _ = writeln!(
        s,
        r##"<line x1="10" y1="{0}" x2="{1}" y2="{0}" stroke="black" stroke-width="0.8"/>"##,
        TOP - 8.0,
        WIDTH - 10.0
    );
}

/// One study at height `y`: label, events, CI line (arrow heads where it runs off the axis), a
/// square whose area follows the weight, the estimate as text and the weight.
fn write_study_row(s: &mut String, at: &Layout, r: &ForestRow, y: f64, max_weight: f64) {
    let _ = write!(
        s,
        r##"<g class="study-row"><text x="10" y="{:.1}">{}</text>"##,
        y + 4.0,
        esc(&r.label)
    );
    if let Some(d) = &r.detail {
        let _ = write!(s, r##"<text x="220" y="{:.1}">{}</text>"##, y + 4.0, esc(d));
    }
    match (r.estimate, r.ci_lb, r.ci_ub) {
        (Some(e), Some(a), Some(b)) => {
            let _ = write!(
                s,
                r##"<line x1="{:.1}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="black"/>"##,
                at.x(a),
                at.x(b)
            );
            if a < at.lo {
                let _ = write!(
                    s,
                    r##"<path d="M{0:.1},{y:.1} l6,-4 l0,8 z"/>"##,
                    at.x(at.lo)
                );
            }
            if b > at.hi {
                let _ = write!(
                    s,
                    r##"<path d="M{0:.1},{y:.1} l-6,-4 l0,8 z"/>"##,
                    at.x(at.hi)
                );
            }
            let side = 4.0 + 10.0 * (r.weight_pct.unwrap_or(0.0) / max_weight).sqrt();
            let _ = write!(
                s,
                r##"<rect x="{:.1}" y="{:.1}" width="{side:.1}" height="{side:.1}" fill="#1f4e79"/>"##,
                at.x(e) - side / 2.0,
                y - side / 2.0
            );
            let _ = write!(
                s,
                r##"<text x="{:.1}" y="{:.1}" text-anchor="end">{} [{}, {}]</text>"##,
                WIDTH - 95.0,
                y + 4.0,
                at.number(e),
                at.number(a),
                at.number(b)
            );
        }
        _ => {
            let _ = write!(
                s,
                r##"<text x="{:.1}" y="{:.1}" text-anchor="end">not estimable</text>"##,
                WIDTH - 95.0,
                y + 4.0
            );
        }
    }
    let w = r.weight_pct.map_or("-".to_string(), |w| format!("{w:.1}%"));
    let _ = writeln!(
        s,
        r##"<text x="{:.1}" y="{:.1}" text-anchor="end">{w}</text></g>"##,
        WIDTH - 10.0,
        y + 4.0
    );
}

/// The pooled diamond and, if any, the prediction interval under it.
fn write_pooled(s: &mut String, at: &Layout, pl: &PooledSummary) {
    let y = at.y_pooled;
    let _ = writeln!(
        s,
        r##"<g class="pooled"><text x="10" y="{:.1}" font-weight="bold">{}</text><polygon points="{:.1},{y:.1} {:.1},{:.1} {:.1},{y:.1} {:.1},{:.1}" fill="#c0392b"/><text x="{:.1}" y="{:.1}" text-anchor="end" font-weight="bold">{} [{}, {}]</text><text x="{:.1}" y="{:.1}" text-anchor="end" font-weight="bold">100%</text></g>"##,
        y + 4.0,
        esc(&pl.label),
        at.x(pl.ci_lb),
        at.x(pl.estimate),
        y - 7.0,
        at.x(pl.ci_ub),
        at.x(pl.estimate),
        y + 7.0,
        WIDTH - 95.0,
        y + 4.0,
        at.number(pl.estimate),
        at.number(pl.ci_lb),
        at.number(pl.ci_ub),
        WIDTH - 10.0,
        y + 4.0,
    );
    if let Some((a, b)) = pl.prediction {
        let y_pi = at.y_prediction;
        let _ = writeln!(
            s,
            r##"<g class="prediction"><text x="10" y="{:.1}">Prediction interval</text><rect x="{:.1}" y="{:.1}" width="{:.1}" height="6" fill="none" stroke="#c0392b"/><text x="{:.1}" y="{:.1}" text-anchor="end">[{}, {}]</text></g>"##,
            y_pi + 4.0,
            at.x(a),
            y_pi - 3.0,
            (at.x(b) - at.x(a)).max(1.0),
            WIDTH - 95.0,
            y_pi + 4.0,
            at.number(a),
            at.number(b)
        );
    }
}

/// The null line, the dashed line of the pooled estimate, and the axis with its ticks and name.
fn write_axis(s: &mut String, at: &Layout, p: &ForestPlot) {
    let (null, y_axis) = (0.0, at.y_axis);
    let _ = writeln!(
        s,
        r##"<line x1="{0:.1}" y1="{1:.1}" x2="{0:.1}" y2="{2:.1}" stroke="black" stroke-width="0.8"/>"##,
        at.x(null),
        TOP - 4.0,
        y_axis
    );
    let _ = writeln!(
        s,
        r##"<line x1="{0:.1}" y1="{1:.1}" x2="{0:.1}" y2="{2:.1}" stroke="#c0392b" stroke-dasharray="3,3" stroke-width="0.8"/>"##,
        at.x(p.pooled.estimate),
        TOP - 4.0,
        at.y_pooled
    );
    let _ = writeln!(
        s,
        r##"<g class="axis"><line x1="{PLOT_X0}" y1="{y_axis:.1}" x2="{PLOT_X1}" y2="{y_axis:.1}" stroke="black"/>"##
    );
    for (v, label) in ticks(at.lo, at.hi, p.log_scale) {
        let x = at.x(v);
        let _ = write!(
            s,
            r##"<line x1="{x:.1}" y1="{y_axis:.1}" x2="{x:.1}" y2="{:.1}" stroke="black"/><text x="{x:.1}" y="{:.1}" text-anchor="middle">{label}</text>"##,
            y_axis + 5.0,
            y_axis + 18.0
        );
    }
    let axis_name = if p.log_scale {
        format!("{} (log scale)", p.measure_label)
    } else {
        p.measure_label.clone()
    };
    let _ = writeln!(
        s,
        r##"<text x="{:.1}" y="{:.1}" text-anchor="middle">{}</text></g>"##,
        (PLOT_X0 + PLOT_X1) / 2.0,
        y_axis + 34.0,
        esc(&axis_name)
    );
}

/// The "favours" labels either side of the null, the heterogeneity line and the omitted-studies
/// note.
fn write_footer(s: &mut String, at: &Layout, p: &ForestPlot) {
    let (null, y_axis) = (0.0, at.y_axis);
    let (left, right) = ("Favours treatment", "Favours control");
    let _ = writeln!(
        s,
        r##"<text x="{:.1}" y="{:.1}" text-anchor="end" font-size="11" fill="#555">← {left}</text><text x="{:.1}" y="{:.1}" font-size="11" fill="#555">{right} →</text>"##,
        at.x(null) - 6.0,
        y_axis + 50.0,
        at.x(null) + 6.0,
        y_axis + 50.0
    );
    let _ = writeln!(
        s,
        r##"<text class="heterogeneity" x="10" y="{:.1}">{}</text>"##,
        y_axis + 72.0,
        esc(&p.heterogeneity)
    );
    if let Some(note) = &p.omitted_note {
        let _ = writeln!(
            s,
            r##"<text class="omitted" x="10" y="{:.1}">{}</text>"##,
            y_axis + 90.0,
            esc(note)
        );
    }
    s.push_str("</svg>\n");
}
