//! The funnel plot: effect against standard error (0 at the top), with the pooled estimate and its
//! pseudo 95% confidence region; studies filled by trim-and-fill drawn as open circles.

use super::{esc, ticks};
use std::fmt::Write;

/// Everything a funnel plot shows.
#[derive(Debug, Clone)]
pub struct FunnelPlot {
    /// Measure name for the axis.
    pub measure_label: String,
    /// Whether effects are logs (axis labelled with exp values).
    pub log_scale: bool,
    /// Observed studies: (effect, standard error).
    pub points: Vec<(f64, f64)>,
    /// Studies added by trim-and-fill: (effect, standard error).
    pub filled: Vec<(f64, f64)>,
    /// Pooled estimate (vertical line).
    pub center: f64,
}

/// Renders the funnel plot as an SVG document. Each study is a `<circle class="study">`.
pub fn funnel_svg(p: &FunnelPlot) -> String {
    let (w, h) = (640.0, 480.0);
    let (x0, x1, y0, y1) = (70.0, 610.0, 40.0, 420.0);
    let z = 1.959963984540054; // qnorm(0.975): pseudo 95% region.
    let all: Vec<&(f64, f64)> = p.points.iter().chain(&p.filled).collect();
    let se_max = all.iter().map(|q| q.1).fold(0.0, f64::max).max(1e-9) * 1.05;
    let mut lo = p.center - z * se_max;
    let mut hi = p.center + z * se_max;
    for q in &all {
        lo = lo.min(q.0);
        hi = hi.max(q.0);
    }
    let pad = (hi - lo) * 0.05;
    lo -= pad;
    hi += pad;
    let sx = |x: f64| x0 + (x - lo) / (hi - lo) * (x1 - x0);
    let sy = |se: f64| y0 + se / se_max * (y1 - y0);
    let mut s = String::new();
    let _ = writeln!(s, r##"<?xml version="1.0" encoding="UTF-8"?>"##);
    let _ = writeln!(
        s,
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" font-family="Helvetica, Arial, sans-serif" font-size="12">"##
    );
    let _ = writeln!(s, r##"<rect width="100%" height="100%" fill="white"/>"##);
    let _ = writeln!(
        s,
        r##"<polygon points="{:.1},{:.1} {:.1},{:.1} {:.1},{:.1}" fill="#eef2f7" stroke="#888" stroke-dasharray="4,3"/>"##,
        sx(p.center),
        sy(0.0),
        sx(p.center - z * se_max),
        sy(se_max),
        sx(p.center + z * se_max),
        sy(se_max)
    );
    let _ = writeln!(
        s,
        r##"<line x1="{0:.1}" y1="{1:.1}" x2="{0:.1}" y2="{2:.1}" stroke="#c0392b"/>"##,
        sx(p.center),
        y0,
        y1
    );
    for (e, se) in &p.points {
        let _ = writeln!(
            s,
            r##"<circle class="study" cx="{:.1}" cy="{:.1}" r="4" fill="#1f4e79"/>"##,
            sx(*e),
            sy(*se)
        );
    }
    for (e, se) in &p.filled {
        let _ = writeln!(
            s,
            r##"<circle class="filled" cx="{:.1}" cy="{:.1}" r="4" fill="white" stroke="#1f4e79"/>"##,
            sx(*e),
            sy(*se)
        );
    }
    // Axes.
    let _ = writeln!(
        s,
        r##"<line x1="{x0}" y1="{y1}" x2="{x1}" y2="{y1}" stroke="black"/><line x1="{x0}" y1="{y0}" x2="{x0}" y2="{y1}" stroke="black"/>"##
    );
    for (v, label) in ticks(lo, hi, p.log_scale) {
        let x = sx(v);
        let _ = writeln!(
            s,
            r##"<line x1="{x:.1}" y1="{y1}" x2="{x:.1}" y2="{:.1}" stroke="black"/><text x="{x:.1}" y="{:.1}" text-anchor="middle">{label}</text>"##,
            y1 + 5.0,
            y1 + 18.0
        );
    }
    for (v, label) in ticks(0.0, se_max, false) {
        let y = sy(v);
        let _ = writeln!(
            s,
            r##"<line x1="{:.1}" y1="{y:.1}" x2="{x0}" y2="{y:.1}" stroke="black"/><text x="{:.1}" y="{:.1}" text-anchor="end">{label}</text>"##,
            x0 - 5.0,
            x0 - 8.0,
            y + 4.0
        );
    }
    let axis = if p.log_scale {
        format!("{} (log scale)", p.measure_label)
    } else {
        p.measure_label.clone()
    };
    let _ = writeln!(
        s,
        r##"<text x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"##,
        (x0 + x1) / 2.0,
        y1 + 40.0,
        esc(&axis)
    );
    let _ = writeln!(
        s,
        r##"<text x="18" y="{:.1}" text-anchor="middle" transform="rotate(-90 18 {:.1})">Standard error</text>"##,
        (y0 + y1) / 2.0,
        (y0 + y1) / 2.0
    );
    s.push_str("</svg>\n");
    s
}
