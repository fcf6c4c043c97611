//! The evidence report's sequential-monitoring section: for each reaction of interest, the
//! Poisson MaxSPRT of `vigil sequential` (Kulldorff et al., *Sequential Analysis* 2011;30:58–78)
//! — the log-likelihood ratio by quarter against the critical value, as SVG — with the quarter at
//! which the signal is raised and the command that reproduces it.
//!
//! The monitoring is `vigil sequential`'s own computation ([`super::sequential::compute_from`], with
//! its defaults: quarterly group-sequential looks, surveillance to the cumulative expected count
//! of the data, at least one event), so the chart and the command cannot disagree.

use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::{Context, Result};
use serde_json::{json, Value};
use vigil_store::quarterly::{quarterly_counts_from, YearQuarter};
use vigil_store::read::{ReportQuery, Store};

use super::report::Args as ReportArgs;
use super::sequential::{self, Format, Looks, Monitoring};
use crate::args::{value_name, RoleArg};
use crate::plot::esc;

/// The report's options for this section.
#[derive(clap::Args, Debug, Clone)]
pub struct Options {
    /// First quarter of the sequential monitoring of the reactions of interest (YYYYQN, of FDA
    /// receipt). Default: the first quarter with a report of the drug.
    #[arg(long, value_name = "YYYYQN")]
    pub sequential_start: Option<String>,
    /// Type I error of that monitoring (over the whole surveillance of each reaction).
    #[arg(long, default_value_t = 0.05, value_name = "ALPHA", value_parser = maxsprt_alpha)]
    pub sequential_alpha: f64,
}

/// An alpha MaxSPRT accepts, (0, 0.5] as `vigil sequential --alpha` requires: refused while the
/// arguments are read, not after the report's other sections have been computed.
fn maxsprt_alpha(text: &str) -> Result<f64, String> {
    let alpha: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("{text:?} is not a number"))?;
    if alpha > 0.0 && alpha <= 0.5 {
        Ok(alpha)
    } else {
        Err(format!("{alpha}: must be in (0, 0.5]"))
    }
}

impl Default for Options {
    fn default() -> Self {
        Options {
            sequential_start: None,
            sequential_alpha: 0.05,
        }
    }
}

/// Quarterly looks needed for a sequential test: with a single look the MaxSPRT is the one-shot
/// exact Poisson test, not monitoring.
pub const MIN_LOOKS: usize = 2;

/// The report with its `sequential` object added (JSON): the design shared by the reactions of
/// interest, and per reaction its monitoring, a note why there is none, or the error.
/// `store` is the report's one open handle on the store at `args.store`.
pub fn with_section(mut report: Value, store: &Store, args: &ReportArgs) -> Result<Value> {
    let events: Vec<String> = report["options"]["events"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e.as_str().map(str::to_owned))
        .collect();
    report["sequential"] = section(store, args, &events)?;
    Ok(report)
}

fn section(store: &Store, args: &ReportArgs, events: &[String]) -> Result<Value> {
    let alpha = args.sequential.sequential_alpha;
    let role = value_name(&args.role);
    let Some(first_event) = events.first() else {
        return Ok(json!({ "alpha": alpha, "note": "no reaction of interest", "events": [] }));
    };
    let start = match &args.sequential.sequential_start {
        Some(text) => YearQuarter::parse(text)
            .with_context(|| {
                format!("--sequential-start {text:?}: expected a quarter as YYYYQN, e.g. 2023Q1")
            })?
            .to_string(),
        None => {
            let query = ReportQuery {
                role: args.role.into(),
                ..ReportQuery::default()
            };
            let counts = quarterly_counts_from(store, &query, &args.drug, first_event)
                .with_context(|| format!("{}: reading the store", args.store.display()))?;
            match counts.first_drug_quarter() {
                Some(q) => q.to_string(),
                None => {
                    return Ok(json!({
                        "alpha": alpha,
                        "note": "no report of the drug has a receipt date (fda_dt) with a month: nothing to monitor by quarter",
                        "events": [],
                    }))
                }
            }
        }
    };
    // The commands repeat every option that changes the figures (the role only when not the
    // default of both commands).
    let role_flag = if args.role == RoleArg::Suspect {
        String::new()
    } else {
        format!(" --role {role}")
    };
    let mut rows = Vec::new();
    for event in events {
        let command = format!(
            "vigil sequential --store {} --drug {} --event '{event}' --start {start} --alpha {alpha}{role_flag}",
            args.store.display(),
            args.drug.to_uppercase()
        );
        let monitored = sequential::compute_from(
            store,
            &sequential::Args {
                store: PathBuf::from(&args.store),
                drug: args.drug.clone(),
                event: event.clone(),
                start: start.clone(),
                alpha,
                max_expected: None,
                min_events: 1,
                looks: Looks::Quarterly,
                role: role.clone(),
                stratify: Vec::new(),
                indication: None,
                exclude_drug: Vec::new(),
                format: Format::Table,
                out: None,
            },
        );
        rows.push(match monitored {
            Ok(m) if m.quarters.len() < MIN_LOOKS => json!({
                "event": event, "command": command,
                "too_few_quarters": format!(
                    "the store holds {} quarter(s) from {start}: the MaxSPRT needs at least {MIN_LOOKS} quarterly looks (with one it is a single exact Poisson test, not monitoring)",
                    m.quarters.len()
                ),
            }),
            Ok(m) => {
                let svg = chart(&m);
                json!({ "event": event, "command": command, "monitoring": serde_json::to_value(&m)?, "chart_svg": svg })
            }
            Err(e) => json!({ "event": event, "command": command, "error": format!("{e:#}") }),
        });
    }
    Ok(json!({
        "start": start, "alpha": alpha, "looks": "quarterly", "min_events": 1,
        "events": rows,
    }))
}

/// LLR by quarterly look against the critical value; the look at which the signal is raised is
/// marked (`class="alarm"`, its quarter in `data-quarter`).
pub fn chart(m: &Monitoring) -> String {
    let n = m.quarters.len();
    let (x0, x1, y0, y1, width, height) = (56.0, 620.0, 20.0, 190.0, 700.0, 250.0);
    let top = m
        .quarters
        .iter()
        .map(|q| q.llr)
        .fold(m.critical_value, f64::max)
        .max(1e-9)
        * 1.15;
    let x = |i: usize| x0 + (x1 - x0) * (i as f64 + 0.5) / n as f64;
    let y = |v: f64| y1 - (y1 - y0) * v.max(0.0) / top;
    let mut s = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="11" role="img" aria-label="{}">"#,
        esc(&format!(
            "MaxSPRT log-likelihood ratio by quarter, {} and {}",
            m.drug, m.event
        ))
    );
    // Axes, the zero line and the critical value.
    let _ = write!(
        s,
        r##"<line x1="{x0}" x2="{x0}" y1="{y0}" y2="{y1}" stroke="#888"/><line x1="{x0}" x2="{x1}" y1="{y1}" y2="{y1}" stroke="#888"/><text x="{:.1}" y="{:.1}" text-anchor="end">0</text><text x="{0:.1}" y="{y0:.1}" text-anchor="end">{top:.1}</text><text x="14" y="{:.1}" transform="rotate(-90 14 {:.1})" text-anchor="middle">LLR</text>"##,
        x0 - 4.0,
        y1 + 4.0,
        (y0 + y1) / 2.0,
        (y0 + y1) / 2.0
    );
    let cv = y(m.critical_value);
    let _ = write!(
        s,
        r##"<line class="critical-value" x1="{x0}" x2="{x1}" y1="{cv:.1}" y2="{cv:.1}" stroke="#c0392b" stroke-dasharray="5 3"/><text x="{:.1}" y="{:.1}" fill="#c0392b">CV {:.3}</text>"##,
        x1 + 4.0,
        cv + 4.0,
        m.critical_value
    );
    // Quarter labels, thinned to at most 12.
    let every = n.div_ceil(12).max(1);
    for (i, q) in m.quarters.iter().enumerate() {
        if i % every == 0 || i + 1 == n {
            let _ = write!(
                s,
                r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
                x(i),
                y1 + 16.0,
                esc(&q.quarter)
            );
        }
    }
    let points: Vec<String> = m
        .quarters
        .iter()
        .enumerate()
        .map(|(i, q)| format!("{:.1},{:.1}", x(i), y(q.llr)))
        .collect();
    let _ = write!(
        s,
        r##"<polyline points="{}" fill="none" stroke="#2c3e50" stroke-width="2"/>"##,
        points.join(" ")
    );
    for (i, q) in m.quarters.iter().enumerate() {
        let _ = write!(
            s,
            r##"<circle cx="{:.1}" cy="{:.1}" r="3" fill="#2c3e50"><title>{}: observed {} (cumulative {}), expected {:.3} (cumulative {:.3}), LLR {:.3}</title></circle>"##,
            x(i),
            y(q.llr),
            esc(&q.quarter),
            q.observed,
            q.cum_observed,
            q.expected,
            q.cum_expected,
            q.llr
        );
    }
    if let Some(at) = m.quarters.iter().position(|q| q.signal) {
        let q = &m.quarters[at];
        let _ = write!(
            s,
            r##"<g class="alarm" data-quarter="{0}"><line x1="{1:.1}" x2="{1:.1}" y1="{y0}" y2="{y1}" stroke="#c0392b" stroke-width="1"/><circle cx="{1:.1}" cy="{2:.1}" r="6" fill="none" stroke="#c0392b" stroke-width="2"/><text x="{1:.1}" y="{3:.1}" text-anchor="middle" fill="#c0392b">signal {0}</text></g>"##,
            esc(&q.quarter),
            x(at),
            y(q.llr),
            y0 - 6.0
        );
    }
    let _ = write!(
        s,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">quarter of FDA receipt (look)</text></svg>"#,
        (x0 + x1) / 2.0,
        y1 + 34.0
    );
    s
}

/// The section as HTML, inserted after the report's signals.
pub fn insert_html(page: String, report: &Value) -> String {
    let v = &report["sequential"];
    if v.is_null() {
        return page;
    }
    let mut h = String::from("<h2>Sequential monitoring of the reactions of interest</h2>");
    match v["start"].as_str() {
        Some(start) => {
            let _ = write!(
                h,
                "<p>Poisson MaxSPRT (Kulldorff et al., Sequential Analysis 2011;30:58–78), as <code>vigil sequential</code> computes it: one look per quarter of FDA receipt from <b>{}</b>, alpha <b>{}</b> over the whole surveillance, which ends at the cumulative expected count of the data; exact group-sequential critical value (CV); a signal at the first look where the log-likelihood ratio (LLR) reaches the CV. The expected count is the PRR comparator rate of the other reports of each quarter (docs/decision-rules.md).</p>",
                esc(start),
                v["alpha"]
            );
        }
        None => {
            let _ = write!(
                h,
                "<p>{}</p>",
                esc(v["note"].as_str().unwrap_or("not computed"))
            );
        }
    }
    for e in v["events"].as_array().into_iter().flatten() {
        let _ = write!(
            h,
            "<h3>{}</h3><p><code>{}</code></p>",
            esc(e["event"].as_str().unwrap_or("")),
            esc(e["command"].as_str().unwrap_or(""))
        );
        if let Some(note) = e["too_few_quarters"].as_str() {
            let _ = write!(h, "<p>Not monitored: {}.</p>", esc(note));
            continue;
        }
        if let Some(err) = e["error"].as_str() {
            let _ = write!(h, "<p>Not monitored: {}</p>", esc(err));
            continue;
        }
        let m = &e["monitoring"];
        let looks = m["quarters"].as_array().map_or(0, Vec::len);
        let cv = m["critical_value"].as_f64().unwrap_or(f64::NAN);
        let size = m["attained_alpha"]
            .as_f64()
            .map_or_else(String::new, |a| format!(" (exact size {a:.4})"));
        let outcome = match m["signal_quarter"].as_str() {
            Some(q) => {
                let look = m["quarters"]
                    .as_array()
                    .and_then(|qs| qs.iter().position(|r| r["quarter"] == q))
                    .map_or(0, |i| i + 1);
                format!(
                    "<b>Signal raised at {} (look {look} of {looks}).</b>",
                    esc(q)
                )
            }
            None => format!("No signal in {looks} quarterly looks."),
        };
        let _ = write!(
            h,
            "<p>{outcome} CV {cv:.4}{size}; surveillance to a cumulative expected count of {:.3}.</p>{}",
            m["max_expected"].as_f64().unwrap_or(f64::NAN),
            e["chart_svg"].as_str().unwrap_or("")
        );
    }
    super::report::insert_after_signals(page, &h)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_alpha_is_checked_while_the_arguments_are_read() {
        assert_eq!(super::maxsprt_alpha("0.05"), Ok(0.05));
        assert_eq!(super::maxsprt_alpha("0.5"), Ok(0.5));
        for bad in ["0", "2", "0.51", "-0.1", "NaN", "five"] {
            assert!(super::maxsprt_alpha(bad).is_err(), "{bad}");
        }
    }
}
