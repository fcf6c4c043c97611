//! The evidence report's section on drug–drug interactions: the drug's strongest Ω signals
//! (Norén et al. 2008; `vigil interactions`), with the command that reproduces them.
//!
//! Counting is `vigil_store::interactions`, the measure `vigil_stats::omega`, with the defaults of
//! `vigil interactions` (roles PS, SS and I, as the Uppsala Monitoring Centre screens
//! interactions; n111 ≥ 3; unstratified).

use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Context, Result};
use serde_json::{json, Value};
use vigil_stats::omega::{omega_stratified, OmegaError};
use vigil_store::interactions::{count_itemsets, InteractionOptions};
use vigil_store::read::{load_report_set_from, ReportQuery, Role, Store};

/// Rows listed in the report.
const TOP: usize = 10;
/// Reports of both drugs with the event needed for a row (the `vigil interactions` default).
const MIN_COUNT: u64 = 3;

/// Why Ω is a screen, shown with the section.
pub const NOTE: &str = "Ω screens reporting patterns, not pharmacology: it flags drug pairs reported together with an event more often than the two drugs' separate reporting rates predict (additive baseline). Co-prescription, shared indications and reporting habits produce such patterns too; a signal is a hypothesis for case review, not evidence of a pharmacological interaction.";

/// The `interactions` object of the report (JSON): the drug's itemsets with n111 ≥ 3, strongest
/// (by Ω025) first, at most ten, with their counts and the reproducing command.
pub fn section(opened: &Store, store: &Path, drug: &str) -> Result<Value> {
    let command = format!(
        "vigil interactions --store {} --drug {drug} --min-count {MIN_COUNT} --format csv",
        store.display()
    );
    let query = ReportQuery {
        role: Role::SuspectOrInteracting,
        ..ReportQuery::default()
    };
    let set = load_report_set_from(opened, &query)
        .with_context(|| format!("{}: reading the store", store.display()))?;
    let upper = drug.to_uppercase();
    let Some(id) = set.drugs.names().iter().position(|n| *n == upper) else {
        return Ok(json!({ "command": command, "note": NOTE, "rows": [], "itemsets": 0 }));
    };
    let options = InteractionOptions {
        min_count: MIN_COUNT,
        drug: Some(id as u32),
        ..InteractionOptions::default()
    };
    let (drugs, events) = (set.drugs.names(), set.events.names());
    let mut rows: Vec<(f64, Value)> = Vec::new();
    count_itemsets::<anyhow::Error>(&set, &options, |batch| {
        for i in 0..batch.len() {
            let (d1, d2) = (batch.drug1[i] as usize, batch.drug2[i] as usize);
            let other = if d1 == id { &drugs[d2] } else { &drugs[d1] };
            let event = &events[batch.event[i] as usize];
            let o = match omega_stratified(batch.strata_of(i)) {
                Ok(o) => o,
                // No baseline rate: left out, as `vigil interactions` leaves it out.
                Err(OmegaError::EmptyStratum { .. }) => continue,
                Err(e) => anyhow::bail!("itemset ({upper}, {other}, {event}): {e}"),
            };
            let c = batch.total[i];
            rows.push((
                o.omega025,
                json!({
                    "with": other, "event": event, "n111": c.n111, "n11.": c.n11x,
                    "expected": o.expected, "omega": o.omega, "omega025": o.omega025,
                    "omega975": o.omega975, "signal_omega": o.omega025 > 0.0,
                }),
            ));
        }
        Ok(())
    })?;
    let itemsets = rows.len();
    rows.sort_by(|a, b| b.0.total_cmp(&a.0));
    let rows: Vec<Value> = rows.into_iter().take(TOP).map(|r| r.1).collect();
    Ok(json!({ "command": command, "note": NOTE, "rows": rows, "itemsets": itemsets }))
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The section as HTML, inserted before the closing script of `page` (the rendered report).
pub fn insert_html(page: String, report: &Value) -> String {
    let v = &report["interactions"];
    let mut h = format!(
        "<h2>Drug–drug interaction signals</h2><p>{}</p><p>The drug's strongest itemsets by Ω025 (Norén et al. 2008; roles PS, SS and I; at least {MIN_COUNT} reports of both drugs with the event), {} of {}. Command: <code>{}</code></p>",
        esc(NOTE),
        v["rows"].as_array().map_or(0, Vec::len),
        v["itemsets"],
        esc(v["command"].as_str().unwrap_or(""))
    );
    h += "<table><thead><tr><th>with</th><th>event</th><th>n111</th><th>n11.</th><th>expected</th><th>Ω</th><th>Ω025</th><th>Ω975</th><th>signal</th></tr></thead><tbody>";
    let num = |x: &Value, digits: usize| {
        x.as_f64()
            .map_or_else(|| "–".to_owned(), |f| format!("{f:.digits$}"))
    };
    for r in v["rows"].as_array().into_iter().flatten() {
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(r["with"].as_str().unwrap_or("")),
            esc(r["event"].as_str().unwrap_or("")),
            num(&r["n111"], 0),
            num(&r["n11."], 0),
            num(&r["expected"], 3),
            num(&r["omega"], 2),
            num(&r["omega025"], 2),
            num(&r["omega975"], 2),
            if r["signal_omega"].as_bool() == Some(true) {
                "Ω025 &gt; 0"
            } else {
                ""
            }
        );
    }
    h += "</tbody></table>";
    match page.rfind("<script>") {
        Some(at) => format!("{}{h}{}", &page[..at], &page[at..]),
        None => page + &h,
    }
}

/// The report with its `interactions` section added.
/// `opened` is the report's one open handle on the store at `store`.
pub fn with_section(mut report: Value, opened: &Store, store: &Path, drug: &str) -> Result<Value> {
    report["interactions"] = section(opened, store, drug)?;
    Ok(report)
}
