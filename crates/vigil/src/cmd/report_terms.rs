//! The evidence report's terminology views: the drug's signals with reactions grouped at a MedDRA
//! level (HLT, HLGT, SOC or SMQ, counted as `vigil signals --event-level` counts them) when the
//! store holds a MedDRA release, and the drug's ATC class(es) beside its name (`--atc FILE`).
//!
//! The grouping is `signals::compute_grouped` (which regroups through `vigil_store::group`); the
//! ATC look-up is `meddra::atc_classes` on `vigil_terms::atc`. This module only arranges them.

use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use serde_json::{json, Value};
use vigil_store::read::Store;
use vigil_terms::atc::{AtcIndex, DrugLevel};

use super::meddra::{atc_classes, require_meddra, TermArgs};
use super::report::{score_json, score_table, signals_request, Args as ReportArgs, Q_NOTE};
use super::signals::{compute_grouped, Source};
use crate::args::{value_name, EventLevelArg, RoleArg, SmqScopeArg};
use crate::plot::esc;

/// The report's options for these views.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct Options {
    /// Also show the drug's signals with reactions grouped at this MedDRA level (`hlt`, `hlgt`,
    /// `soc`, `smq`, or `pt` for reported terms mapped to the release's PTs), as `vigil signals
    /// --event-level` counts them. Needs a release imported with `vigil meddra import`.
    #[arg(
        long,
        value_enum,
        ignore_case = true,
        value_name = "hlt|hlgt|soc|smq|pt"
    )]
    pub event_level: Option<EventLevelArg>,
    /// With --event-level smq: `narrow` (the default) or `broad` scope.
    #[arg(long, value_enum, ignore_case = true, value_name = "narrow|broad")]
    pub smq_scope: Option<SmqScopeArg>,
    /// With --event-level hlt|hlgt|soc: only each PT's primary SOC path.
    #[arg(long)]
    pub primary_soc: bool,
    /// Substance → ATC table in DiAna's ATC_binder layout (docs/terminologies.md): the drug's ATC
    /// code(s) and classes are shown beside its name.
    #[arg(long, value_name = "FILE")]
    pub atc: Option<PathBuf>,
}

/// The views, computed before the rest of the report (a level asked for without a release fails
/// at once).
pub struct Section {
    event_groups: Value,
    atc: Value,
}

/// Computes the views `args` asks for (`null` for those it does not).
pub fn section(store: &Store, args: &ReportArgs) -> Result<Section> {
    let o = &args.terms;
    let drug = args.drug.to_uppercase();
    let event_groups = match o.event_level {
        None => {
            if o.smq_scope.is_some() || o.primary_soc {
                bail!("--smq-scope and --primary-soc apply with --event-level");
            }
            Value::Null
        }
        Some(level) => {
            let release = require_meddra(store.root())?;
            let terms = TermArgs {
                event_level: Some(level),
                smq_scope: o.smq_scope,
                primary_soc: o.primary_soc,
                ..TermArgs::default()
            };
            let (_, selection) =
                compute_grouped(Source::Store(store), &signals_request(args, |_| ()), &terms)?;
            let table = selection.score_all();
            let mut order: Vec<usize> = (0..table.scores.len()).collect();
            order.sort_by(|&i, &j| table.scores[j].eb05.total_cmp(&table.scores[i].eb05));
            let rows: Vec<Value> = order
                .iter()
                .map(|&i| score_json(&table.event[i], &table.scores[i], &table.fdr[i]))
                .collect();
            let mut flags = format!(" --event-level {}", value_name(&level));
            if let Some(scope) = o.smq_scope {
                let _ = write!(flags, " --smq-scope {}", value_name(&scope));
            }
            if o.primary_soc {
                flags += " --primary-soc";
            }
            if args.role != RoleArg::Suspect {
                let _ = write!(flags, " --role {}", value_name(&args.role));
            }
            json!({
                "level": value_name(&level),
                "smq_scope": o.smq_scope.map(|s| value_name(&s)),
                "primary_soc": o.primary_soc,
                "meddra_version": release.version,
                "command": format!("vigil signals --store {} --drug {drug}{flags} --format csv", args.store.display()),
                "rows": rows,
            })
        }
    };
    let atc = match &o.atc {
        None => Value::Null,
        Some(path) => {
            let index = AtcIndex::read_csv(path)
                .with_context(|| format!("--atc {}: reading the ATC table", path.display()))?;
            let primary = atc_classes(&index, &drug, DrugLevel::Atc5, false);
            let codes: Vec<Value> = atc_classes(&index, &drug, DrugLevel::Atc5, true)
                .into_iter()
                .map(|code| {
                    // WHO ATC structure: levels 1–4 are the code's first 1, 3, 4 and 5 characters.
                    let classes: Vec<Value> = [1, 3, 4, 5]
                        .iter()
                        .filter_map(|&len| code.get(..len))
                        .map(|c| json!({ "code": c, "name": index.class_name(c) }))
                        .collect();
                    json!({ "code": code, "primary": primary.contains(&code), "classes": classes })
                })
                .collect();
            let (rows_without_code, veterinary_rows) = index.rows_not_used();
            json!({
                "file": path.display().to_string(), "codes": codes,
                "rows_without_code": rows_without_code, "veterinary_rows": veterinary_rows,
            })
        }
    };
    Ok(Section { event_groups, atc })
}

/// The report with its `event_groups` and `atc` objects added.
pub fn with_section(mut report: Value, section: Section) -> Value {
    report["event_groups"] = section.event_groups;
    report["atc"] = section.atc;
    report
}

/// The views as HTML: the ATC line under the title, the grouped signals after the report's
/// signals.
pub fn insert_html(mut page: String, report: &Value) -> String {
    let atc = &report["atc"];
    if !atc.is_null() {
        let drug = report["drug"].as_str().unwrap_or("");
        let codes = atc["codes"].as_array().map(Vec::as_slice).unwrap_or(&[]);
        let mut line = if codes.is_empty() {
            format!(
                "ATC class: {} has no ATC code in {}.",
                esc(drug),
                esc(atc["file"].as_str().unwrap_or(""))
            )
        } else {
            format!("ATC class of {}: ", esc(drug))
        };
        let described: Vec<String> = codes
            .iter()
            .map(|c| {
                let path: Vec<String> = c["classes"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|k| {
                        format!(
                            "{} {}",
                            esc(k["code"].as_str().unwrap_or("")),
                            esc(k["name"].as_str().unwrap_or(""))
                        )
                    })
                    .collect();
                format!(
                    "<b class=\"atc-code\">{}</b>{} ({})",
                    esc(c["code"].as_str().unwrap_or("")),
                    if c["primary"] == true {
                        " (primary)"
                    } else {
                        ""
                    },
                    path.join(" › ")
                )
            })
            .collect();
        line += &described.join("; ");
        let _ = write!(
            line,
            " <span class=\"src\">[WHO ATC, from {}; rows of the table not used: {} without a code, {} ATCvet]</span>",
            esc(atc["file"].as_str().unwrap_or("")),
            atc["rows_without_code"],
            atc["veterinary_rows"]
        );
        let at = page.find("</h1>").map_or(0, |i| i + "</h1>".len());
        page.insert_str(at, &format!("<p class=\"atc\">{line}</p>"));
    }
    let g = &report["event_groups"];
    if g.is_null() {
        return page;
    }
    let level = g["level"].as_str().unwrap_or("").to_uppercase();
    let rows = g["rows"].as_array().map(Vec::as_slice).unwrap_or(&[]);
    let mut h = format!(
        "<h2>Signals by MedDRA {}</h2><p>The drug's {} groups with at least one report, strongest (EB05) first: each report counts once per group, multi-axial PTs {}{} (MedDRA {}; docs/terminologies.md). Command: <code>{}</code></p>",
        esc(&level),
        rows.len(),
        if g["primary_soc"] == true { "on their primary SOC path only" } else { "on every SOC path" },
        match g["smq_scope"].as_str() {
            Some(s) => format!(", SMQ scope {}", esc(s)),
            None if level == "SMQ" => ", SMQ scope narrow".to_owned(),
            None => String::new(),
        },
        esc(g["meddra_version"].as_str().unwrap_or("")),
        esc(g["command"].as_str().unwrap_or(""))
    );
    h += &score_table(rows, "event-groups");
    let _ = write!(h, "<p class=\"note\">{}</p>", esc(Q_NOTE));
    super::report::insert_after_signals(page, &h)
}
