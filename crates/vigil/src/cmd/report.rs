//! `vigil report`: one evidence report for a drug — post-marketing signals, competition-bias view,
//! trial meta-analysis, time to onset and sourced clinical knowledge, side by side, with the
//! provenance of every number.
//!
//! Sections that stand on their own are in sibling modules (`report_*.rs`), each adding its part
//! of the JSON and its HTML: sequential monitoring, MedDRA groups and ATC class, interactions.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::{Context, Result};
use serde_json::{json, Value};
use vigil_clinic::knowledge::dupilumab;
use vigil_stats::mgps::fit::PriorFit;
use vigil_stats::score::{PairScores, SIGNAL_METHODS};
use vigil_store::indication::most_frequent_indication;
use vigil_store::read::{ReportQuery, Store};
use vigil_store::request::SignalsRequest;

use super::signals::{ScoredTable, Source};
use super::{meta, onset, signals};
use crate::args::{value_name, RoleArg};
use crate::output::{json_number as num, write_atomically};
use crate::plot::esc;

/// Write the evidence report for one drug: can it cause these reactions, how often, how soon?
///
/// Examples:
///   vigil report --store faers-store --drug DUPILUMAB --trials examples/trials/dupilumab_infections.csv
///   vigil report --store faers-store --drug DUPILUMAB --events CONJUNCTIVITIS,ROSACEA --format json
#[derive(clap::Args, Debug, Clone)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// A store written by `vigil ingest`.
    #[arg(long, value_name = "DIR")]
    pub store: PathBuf,
    /// The drug (normalised active ingredient, case-insensitive).
    #[arg(long, value_name = "NAME")]
    pub drug: String,
    /// Reactions of interest (MedDRA PTs). Default for dupilumab: the reactions of the dupilumab
    /// articles (see `vigil demo`); otherwise the drug's ten strongest signals by EB05.
    #[arg(long, value_delimiter = ',', value_name = "PT,...")]
    pub events: Vec<String>,
    /// Trials CSV for the meta-analysis (`vigil meta` input: study,ai,n1i,ci,n2i).
    #[arg(long, value_name = "FILE.csv")]
    pub trials: Option<PathBuf>,
    /// Comparator restricted to reports with this indication (competition-bias view). Default:
    /// the drug's most frequent indication in the store.
    #[arg(long, value_name = "PT")]
    pub indication: Option<String>,
    /// Also show the figures with these drugs' reports left out (competition-bias view).
    #[arg(long, value_delimiter = ',', value_name = "NAME,...")]
    pub exclude_drug: Vec<String>,
    /// An individual case (JSON or E2B(R3) XML, as `vigil assess` reads) to assess in the report:
    /// severity scores, causality, reaction-vs-flare support.
    #[arg(long, value_name = "CASE.json|CASE.xml")]
    pub case: Option<PathBuf>,
    /// Drug roles counted: ps, suspect (PS + SS) or all.
    #[arg(long, value_enum, ignore_case = true, value_name = "ps|suspect|ps,ss,i|all",
          default_value_t = RoleArg::from(SignalsRequest::default().query.role))]
    pub role: RoleArg,
    /// Output folder: `report.html` (or `report.json`) is written there.
    #[arg(long, default_value = "vigil-report", value_name = "DIR")]
    pub out: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ReportFormat::Html, value_name = "html|json")]
    pub format: ReportFormat,
    /// Sequential monitoring of the reactions of interest (`vigil sequential`).
    #[command(flatten)]
    pub sequential: super::report_sequential::Options,
    /// MedDRA grouping of the drug's signals and the drug's ATC class.
    #[command(flatten)]
    pub terms: super::report_terms::Options,
}

/// `--format` of `vigil report`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ReportFormat {
    /// One self-contained HTML page.
    Html,
    /// The same content as JSON.
    Json,
}

/// Runs `vigil report`; prints the path of the file written.
pub fn run(args: Args) -> Result<()> {
    let path = write_report(&args)?;
    println!("{}", path.display());
    Ok(())
}

/// Builds the report and writes it; returns the file's path.
pub fn write_report(args: &Args) -> Result<PathBuf> {
    let store = Store::open(&args.store)
        .with_context(|| format!("{}: opening the store", args.store.display()))?;
    write_report_from(&store, args)
}

/// As [`write_report`], on a store already opened (`args.store` names it in the report).
pub fn write_report_from(store: &Store, args: &Args) -> Result<PathBuf> {
    // First, so that a level asked for without a MedDRA release fails before the long part.
    let terms = super::report_terms::section(store, args)?;
    let report = super::report_interactions::with_section(
        build(store, args)?,
        store,
        &args.store,
        &args.drug,
    )?;
    let report = super::report_sequential::with_section(report, store, args)?;
    let report = super::report_terms::with_section(report, terms);
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("{}: cannot create", args.out.display()))?;
    let (name, bytes) = match args.format {
        ReportFormat::Json => ("report.json", serde_json::to_string_pretty(&report)? + "\n"),
        ReportFormat::Html => {
            let page = render_html(&report);
            let page = super::report_interactions::insert_html(page, &report);
            // Each inserts before section 2: the MedDRA groups first, then the sequential charts.
            let page = super::report_terms::insert_html(page, &report);
            (
                "report.html",
                super::report_sequential::insert_html(page, &report),
            )
        }
    };
    let path = args.out.join(name);
    write_atomically(Some(&path), bytes.as_bytes())?;
    Ok(path)
}

/// The signals request of the report's views: the drug's pairs, counted with the report's roles;
/// `restrict` adds a view's comparator restriction.
pub(crate) fn signals_request(
    args: &Args,
    restrict: impl FnOnce(&mut ReportQuery),
) -> SignalsRequest {
    let mut query = ReportQuery {
        role: args.role.into(),
        ..ReportQuery::default()
    };
    restrict(&mut query);
    SignalsRequest {
        query,
        drug: Some(args.drug.clone()),
        ..SignalsRequest::default()
    }
}

/// A scored pair as the report's JSON: its scores and its decision columns (`fdr`, in the order
/// of `signals::COLUMNS` from `prr_p`), as `vigil signals` computes them.
pub(crate) fn score_json(event: &str, s: &PairScores, fdr: &[f64; 8]) -> Value {
    let mut row = json!({
        "event": event, "a": s.table.a, "expected": num(s.expected), "prr": num(s.prr), "prr_lower": num(s.prr_lower),
        "prr_upper": num(s.prr_upper), "chi2_yates": num(s.chi2_yates), "ror": num(s.ror), "ror_lower": num(s.ror_lower),
        "ror_upper": num(s.ror_upper), "ic": num(s.ic), "ic025": num(s.ic025), "ic975": num(s.ic975), "ebgm": num(s.ebgm),
        "eb05": num(s.eb05), "eb95": num(s.eb95), "signal_prr": s.signal_prr, "signal_ror": s.signal_ror,
        "signal_ic": s.signal_ic, "signal_ebgm": s.signal_ebgm,
    });
    for (name, value) in signals::COLUMNS[signals::FDR_START..].iter().zip(fdr) {
        row[*name] = num(*value);
    }
    row
}

/// What every section of the report's JSON is built from: the opened store, the request, and the
/// parts of the commands listed beside each figure.
struct ReportSubject<'a> {
    store: &'a Store,
    args: &'a Args,
    /// The drug, upper-cased.
    drug: String,
    /// The counted roles' name (`--role`).
    role: String,
    /// ` --role …`, empty for the default roles: the commands listed beside each figure repeat
    /// every option that changes it.
    role_flag: String,
}

impl<'a> ReportSubject<'a> {
    fn new(store: &'a Store, args: &'a Args) -> Self {
        let role = value_name(&args.role);
        let role_flag = if args.role == RoleArg::Suspect {
            String::new()
        } else {
            format!(" --role {role}")
        };
        Self {
            store,
            args,
            drug: args.drug.to_uppercase(),
            role,
            role_flag,
        }
    }

    /// `vigil signals` on the drug with the report's roles, then `rest`.
    fn signals_command(&self, rest: &str) -> String {
        format!(
            "vigil signals --store {} --drug {}{}{rest}",
            self.args.store.display(),
            self.drug,
            self.role_flag
        )
    }
}

/// The drug's signals on the whole store.
struct DrugSignals {
    /// The MGPS prior, fitted on every pair.
    fit: PriorFit,
    /// The reactions of interest, upper-cased.
    events: Vec<String>,
    /// Rows flagged by any method, strongest EB05 first.
    any_signal: Vec<Value>,
    /// One row per reaction of interest (`a` 0 when the drug has no report of it).
    of_interest: Vec<Value>,
}

fn build(store: &Store, args: &Args) -> Result<Value> {
    let subject = ReportSubject::new(store, args);
    let ingest = store.ingest_report().ok();
    // Set by the ingest of `vigil synth` output only (not by drug names or paths).
    let synthetic = store.manifest.synthetic_data;
    let signals = drug_signals(&subject)?;
    let indication = match &args.indication {
        Some(i) => Some(i.to_uppercase()),
        None => most_frequent_indication(store, &subject.drug)?,
    };
    let views = competition_bias_views(&subject, &signals, indication.as_deref());
    let trials = trials_section(args)?;
    let (onsets, knowledge) = onset_and_knowledge(&subject, &signals.events)?;
    let case = case_section(args)?;

    let ReportSubject {
        drug,
        role,
        role_flag,
        ..
    } = &subject;
    let DrugSignals {
        fit,
        events,
        any_signal,
        of_interest,
    } = signals;
    let interval_svg = interval_plot(&of_interest);
    Ok(json!({
        "title": format!("Can {drug} cause these reactions? Evidence report"),
        "drug": drug,
        "synthetic_data": synthetic,
        "vigil_version": env!("CARGO_PKG_VERSION"),
        "store": args.store.display().to_string(),
        "options": {
            "role": role, "events": events, "indication": indication, "exclude_drug": args.exclude_drug, "trials": args.trials, "case": args.case,
            "sequential_start": args.sequential.sequential_start, "sequential_alpha": args.sequential.sequential_alpha,
            "event_level": args.terms.event_level.as_ref().map(value_name), "smq_scope": args.terms.smq_scope.as_ref().map(value_name),
            "primary_soc": args.terms.primary_soc, "atc": args.terms.atc,
        },
        "prior": fit,
        "signals": { "command": subject.signals_command(" --format csv"), "any_signal": any_signal, "of_interest": of_interest, "interval_svg": interval_svg },
        "competition_bias": views,
        "trials": trials,
        "onset": onsets,
        "knowledge": knowledge,
        "knowledge_disclaimer": vigil_clinic::flare::DISCLAIMER,
        "case": case,
        "provenance": { "ingest_report": ingest, "prior_command": format!("vigil signals --store {}{role_flag} --fit-only", args.store.display()) },
    }))
}

/// Scores every pair of the drug on the whole store and picks the reactions of interest; fails
/// when the drug has no report with a reaction.
fn drug_signals(subject: &ReportSubject) -> Result<DrugSignals> {
    let (store, args, drug) = (subject.store, subject.args, &subject.drug);
    let (fit, selection) = signals::compute(Source::Store(store), &signals_request(args, |_| ()))?;
    let table = selection.score_all();
    if table.scores.is_empty() {
        anyhow::bail!(
            "{}: no report in the store has {drug} as a {} drug with a reaction; drug names are normalised active ingredients (e.g. DUPILUMAB, not DUPIXENT)",
            args.store.display(),
            subject.role
        );
    }
    let mut by_eb05: Vec<usize> = (0..table.scores.len()).collect();
    by_eb05.sort_by(|&i, &j| table.scores[j].eb05.total_cmp(&table.scores[i].eb05));
    let events = reactions_of_interest(args, drug, &table, &by_eb05);
    let any_signal = by_eb05
        .iter()
        .filter(|&&i| !table.scores[i].signals().is_empty())
        .map(|&i| score_json(&table.event[i], &table.scores[i], &table.fdr[i]))
        .collect();
    let of_interest = rows_for_events(&table, &events);
    Ok(DrugSignals {
        fit,
        events,
        any_signal,
        of_interest,
    })
}

/// `--events`; without it, the reactions of the dupilumab articles for dupilumab, and otherwise
/// the drug's ten strongest signals by EB05 (`by_eb05`: the table's rows, strongest first).
fn reactions_of_interest(
    args: &Args,
    drug: &str,
    table: &ScoredTable,
    by_eb05: &[usize],
) -> Vec<String> {
    if !args.events.is_empty() {
        args.events.iter().map(|e| e.to_uppercase()).collect()
    } else if drug == dupilumab::INGREDIENT {
        dupilumab::REACTIONS_OF_INTEREST
            .iter()
            .map(|s| s.to_string())
            .collect()
    } else {
        by_eb05
            .iter()
            .take(10)
            .map(|&i| table.event[i].to_uppercase())
            .collect()
    }
}

/// The rows of `table` for `events` (upper-cased), in that order; `a` 0 for an event it lacks.
fn rows_for_events(table: &ScoredTable, events: &[String]) -> Vec<Value> {
    let by_event: HashMap<String, usize> = table
        .event
        .iter()
        .enumerate()
        .map(|(i, e)| (e.to_uppercase(), i))
        .collect();
    events
        .iter()
        .map(|e| {
            by_event.get(e).map_or_else(
                || json!({ "event": e, "a": 0 }),
                |&i| score_json(e, &table.scores[i], &table.fdr[i]),
            )
        })
        .collect()
}

/// The competition-bias views: the reactions of interest on all reports, then with the
/// comparator restricted to `indication` and without the `--exclude-drug` reports.
fn competition_bias_views(
    subject: &ReportSubject,
    signals: &DrugSignals,
    indication: Option<&str>,
) -> Vec<Value> {
    let args = subject.args;
    let mut views = vec![
        json!({ "label": "all reports", "command": subject.signals_command(""), "rows": signals.of_interest.clone() }),
    ];
    if let Some(ind) = indication {
        views.push(restricted_view(
            subject,
            &signals.events,
            format!("only reports with indication {ind}"),
            subject.signals_command(&format!(" --indication '{ind}'")),
            signals_request(args, |q| q.indication = Some(ind.to_owned())),
        ));
    }
    if !args.exclude_drug.is_empty() {
        let list = args.exclude_drug.join(",");
        views.push(restricted_view(
            subject,
            &signals.events,
            format!("without reports of {list}"),
            subject.signals_command(&format!(" --exclude-drug {list}")),
            signals_request(args, |q| q.exclude_drugs = args.exclude_drug.clone()),
        ));
    }
    views
}

/// One restricted view: the reactions of interest scored under `req`; a failure to score is
/// shown in the view's rows rather than failing the report.
fn restricted_view(
    subject: &ReportSubject,
    events: &[String],
    label: String,
    command: String,
    req: SignalsRequest,
) -> Value {
    let rows = match signals::compute(Source::Store(subject.store), &req) {
        Ok((_, selection)) => rows_for_events(&selection.score_all(), events),
        Err(e) => vec![json!({ "error": format!("{e:#}") })],
    };
    json!({ "label": label, "command": command, "rows": rows })
}

/// The trial meta-analysis of `--trials` (null without it).
fn trials_section(args: &Args) -> Result<Value> {
    Ok(match &args.trials {
        Some(path) => {
            let p = path.to_string_lossy().into_owned();
            let (json, text, forest) = meta::evidence(path, &meta::evidence_spec())?;
            json!({ "file": p, "command": format!("vigil meta {p} --measure RR --model re --forest forest.svg"), "analysis": json, "table": text, "forest_svg": forest })
        }
        None => Value::Null,
    })
}

/// Time to onset per reaction of interest, and (for dupilumab) the curated clinical knowledge of
/// each.
fn onset_and_knowledge(
    subject: &ReportSubject,
    events: &[String],
) -> Result<(Vec<Value>, Vec<Value>)> {
    let (args, drug, role_flag) = (subject.args, &subject.drug, &subject.role_flag);
    let mut onsets = Vec::new();
    let mut knowledge = Vec::new();
    for e in events {
        let a = onset::onset_from_store(subject.store, drug, e, args.role, 36_500)?;
        let svg = if a.days.is_empty() {
            String::new()
        } else {
            vigil_clinic::onset::histogram_svg(&a.days, 7, &format!("{drug} → {e}"))
        };
        onsets.push(json!({
            "event": e, "command": format!("vigil onset --store {} --drug {drug}{role_flag} --event '{e}'", args.store.display()),
            "analysis": serde_json::to_value(&a)?, "histogram_svg": svg,
        }));
        if drug == dupilumab::INGREDIENT {
            // ERYTHEMA and RASH are not site-specific: they are shown as such, never with the
            // head-and-neck figures (vigil_clinic::flare::knowledge_for_term).
            if let Some(k) = vigil_clinic::flare::knowledge_for_term(e) {
                knowledge.push(json!({
                    "event": e, "entity": k.topic, "note": k.note, "incidence": k.incidence, "onset": k.onset, "management": k.management,
                    "red_flags": k.red_flags,
                }));
            }
        }
    }
    Ok((onsets, knowledge))
}

/// The individual case of `--case`, assessed exactly as `vigil assess` does (null without it).
fn case_section(args: &Args) -> Result<Value> {
    Ok(match &args.case {
        Some(path) => {
            let assessment = vigil_clinic::assess(&vigil_clinic::read_case_file(path)?)?;
            json!({
                "file": path.display().to_string(),
                "command": format!("vigil assess {}", path.display()),
                "assessment": serde_json::to_value(&assessment)?,
                "text": super::assess::render_text(&assessment),
            })
        }
        None => Value::Null,
    })
}

/// EB05–EB95 intervals with EBGM for the reactions of interest, log axis, reference lines at 1 and 2.
fn interval_plot(rows: &[Value]) -> String {
    let rows: Vec<(&str, f64, f64, f64)> = rows
        .iter()
        .filter_map(|r| {
            Some((
                r["event"].as_str()?,
                r["eb05"].as_f64()?,
                r["ebgm"].as_f64()?,
                r["eb95"].as_f64()?,
            ))
        })
        .collect();
    if rows.is_empty() {
        return String::new();
    }
    let lo = rows.iter().map(|r| r.1).fold(1.0_f64, f64::min).max(1e-3) / 1.5;
    let hi = rows.iter().map(|r| r.3).fold(2.0_f64, f64::max) * 1.5;
    // Room on the right for the "EBGM [EB05, EB95]" labels.
    let (x0, x1, width, row_h) = (190.0, 600.0, 780.0, 26.0);
    let x = |v: f64| x0 + (v.max(lo).ln() - lo.ln()) / (hi.ln() - lo.ln()) * (x1 - x0);
    let height = 40.0 + row_h * rows.len() as f64;
    let mut s = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="12" role="img" aria-label="EB05 to EB95 intervals">"#
    );
    for (v, style) in [
        (1.0, "stroke:#888"),
        (2.0, "stroke:#c0392b;stroke-dasharray:4 3"),
    ] {
        if v > lo && v < hi {
            let _ = write!(
                s,
                r#"<line x1="{0:.1}" x2="{0:.1}" y1="10" y2="{1:.1}" style="{style}"/><text x="{0:.1}" y="{2:.1}" text-anchor="middle">{v}</text>"#,
                x(v),
                height - 22.0,
                height - 8.0
            );
        }
    }
    for (k, (event, eb05, ebgm, eb95)) in rows.iter().enumerate() {
        let y = 24.0 + row_h * k as f64;
        let colour = if *eb05 >= 2.0 { "#c0392b" } else { "#2c3e50" };
        let _ = write!(
            s,
            r#"<g class="interval-row"><text x="{:.1}" y="{:.1}" text-anchor="end">{}</text><line x1="{:.1}" x2="{:.1}" y1="{y:.1}" y2="{y:.1}" stroke="{colour}" stroke-width="2"/><circle cx="{:.1}" cy="{y:.1}" r="4" fill="{colour}"/><text x="{:.1}" y="{:.1}">{:.2} [{:.2}, {:.2}]</text></g>"#,
            x0 - 8.0,
            y + 4.0,
            esc(event),
            x(*eb05),
            x(*eb95),
            x(*ebgm),
            x1 + 8.0,
            y + 4.0,
            ebgm,
            eb05,
            eb95
        );
    }
    s += "</svg>";
    s
}

/// `section` inserted into the rendered `page` after the signals (before section 2), so that the
/// views of the drug's signals stay together; at the end of the body if there is no section 2.
pub(crate) fn insert_after_signals(page: String, section: &str) -> String {
    match page.find("<h2>2. ").or_else(|| page.rfind("<script>")) {
        Some(at) => format!("{}{section}{}", &page[..at], &page[at..]),
        None => page + section,
    }
}

fn fmt(v: &Value, digits: usize) -> String {
    match v.as_f64() {
        Some(x) => format!("{x:.digits$}"),
        None => {
            if v.is_null() {
                "–".into()
            } else {
                esc(&v.to_string()).into_owned()
            }
        }
    }
}

/// The methods that flag a row of the report's JSON (its `signal_*` columns), as
/// [`PairScores::signals`] lists them.
fn flags(r: &Value) -> String {
    let on: Vec<&str> = SIGNAL_METHODS
        .iter()
        .filter(|(_, k)| r[*k].as_bool() == Some(true))
        .map(|(n, _)| *n)
        .collect();
    if on.is_empty() {
        "none".into()
    } else {
        on.join(", ")
    }
}

/// A q-value or false discovery rate: three decimals, or two significant digits below 0.001.
fn fmt_q(v: &Value) -> String {
    match v.as_f64() {
        Some(x) if x > 0.0 && x < 1e-3 => format!("{x:.1e}"),
        Some(x) => format!("{x:.3}"),
        None => "–".into(),
    }
}

/// What the q-value columns of the score tables are.
pub(crate) const Q_NOTE: &str = "PRR q and ROR q: Benjamini–Hochberg q-values of PhViD's one-sided tests; FDR IC and FDR EBGM: Bayesian false discovery rate of the list ranked down to that pair (the mean posterior probability of no excess, λ ≤ 1). All over every pair of the table, as vigil signals computes them (columns prr_q, ror_q, fdr_bayes_ic, fdr_bayes_ebgm; docs/decision-rules.md).";

/// The report's table of scored rows (JSON as [`score_json`] writes them), with the q-values
/// beside the flags.
pub(crate) fn score_table(rows: &[Value], id: &str) -> String {
    let mut s = format!(
        r#"<table class="sortable" id="{id}"><thead><tr><th>reaction</th><th>a</th><th>expected</th><th>PRR</th><th>ROR lower</th><th>IC025</th><th>EBGM</th><th>EB05</th><th>EB95</th><th>signal by</th><th>PRR q</th><th>ROR q</th><th>FDR IC</th><th>FDR EBGM</th></tr></thead><tbody>"#
    );
    for r in rows {
        if let Some(err) = r.get("error") {
            let _ = write!(
                s,
                r#"<tr><td colspan="14">{}</td></tr>"#,
                esc(&err.to_string())
            );
            continue;
        }
        let _ = write!(
            s,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(r["event"].as_str().unwrap_or("")),
            fmt(&r["a"], 0),
            fmt(&r["expected"], 2),
            fmt(&r["prr"], 2),
            fmt(&r["ror_lower"], 2),
            fmt(&r["ic025"], 2),
            fmt(&r["ebgm"], 2),
            fmt(&r["eb05"], 2),
            fmt(&r["eb95"], 2),
            if r.get("prr").is_some() { flags(r) } else { "no report".into() },
            fmt_q(&r["prr_q"]),
            fmt_q(&r["ror_q"]),
            fmt_q(&r["fdr_bayes_ic"]),
            fmt_q(&r["fdr_bayes_ebgm"]),
        );
    }
    s += "</tbody></table>";
    s
}

fn cited_list(items: &Value) -> String {
    let mut s = String::from("<ul>");
    for c in items.as_array().into_iter().flatten() {
        let _ = write!(
            s,
            "<li>{} <span class=\"src\">[{}]</span></li>",
            esc(c["text"].as_str().unwrap_or("")),
            esc(c["source"].as_str().unwrap_or(""))
        );
    }
    s + "</ul>"
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222;line-height:1.45}\
h1{font-size:1.6em}h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:2em}\
table{border-collapse:collapse;margin:.8em 0;font-size:.92em}th,td{border:1px solid #ddd;padding:.25em .55em;text-align:right}\
th{background:#f4f4f4;cursor:pointer}td:first-child,th:first-child{text-align:left}\
.banner{background:#fff3cd;border:1px solid #e0c36c;padding:.6em 1em;margin:1em 0}\
.note{color:#555;font-size:.9em}.src{color:#666;font-size:.85em}code,pre{background:#f6f6f6;padding:.1em .3em}pre{padding:.6em;overflow-x:auto}";

/// Click a column header to sort its table (numbers numerically, text alphabetically). Its last statement marks the body `data-ready="1"`, so a
/// headless browser test can tell that the script ran to its end.
const SORT_SCRIPT: &str = "document.querySelectorAll('table.sortable th').forEach(function(th,col){th.addEventListener('click',function(){\
var body=th.closest('table').tBodies[0];var rows=Array.prototype.slice.call(body.rows);var asc=th.dataset.asc!=='1';th.dataset.asc=asc?'1':'0';\
rows.sort(function(a,b){var x=a.cells[col].textContent,y=b.cells[col].textContent;var nx=parseFloat(x),ny=parseFloat(y);\
var c=(isNaN(nx)||isNaN(ny))?x.localeCompare(y):nx-ny;return asc?c:-c;});rows.forEach(function(r){body.appendChild(r);});});});\
document.body.dataset.ready='1';";

fn render_html(r: &Value) -> String {
    let mut h = String::new();
    page_head_html(&mut h, r);
    signals_html(&mut h, r);
    competition_bias_html(&mut h, r);
    trials_html(&mut h, r);
    onset_html(&mut h, r);
    knowledge_html(&mut h, r);
    case_html(&mut h, r);
    provenance_html(&mut h, r);
    let _ = write!(
        h,
        "<p>Options: <code>{}</code></p>",
        esc(&r["options"].to_string())
    );
    let _ = writeln!(h, "<script>{SORT_SCRIPT}</script></body></html>");
    h
}

/// The page's head, its title, the synthetic-data banner and the line naming version, store and roles.
fn page_head_html(h: &mut String, r: &Value) {
    let _ = write!(
        h,
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title><style>{STYLE}</style></head><body><h1>{}</h1>",
        esc(r["title"].as_str().unwrap_or("")),
        esc(r["title"].as_str().unwrap_or(""))
    );
    if r["synthetic_data"].as_bool() == Some(true) {
        *h += "<div class=\"banner\"><b>Synthetic data.</b> The post-marketing figures below come from generated FAERS-format reports (vigil synth) with planted associations, not from real reports. The trial and clinical sections cite published sources.</div>";
    }
    let _ = write!(h, "<p class=\"note\">vigil {} · store <code>{}</code> · drug roles: {} · every number below comes from the command shown beside it.</p>", esc(r["vigil_version"].as_str().unwrap_or("")), esc(r["store"].as_str().unwrap_or("")), esc(r["options"]["role"].as_str().unwrap_or("")));
}

/// Section 1: the reactions of interest, their EB05–EB95 intervals, and every flagged reaction.
fn signals_html(h: &mut String, r: &Value) {
    let drug = r["drug"].as_str().unwrap_or("");
    let sig = &r["signals"];
    let _ = write!(h, "<h2>1. Post-marketing signals</h2><p>Disproportionality of {} with each reaction of interest: PRR (Evans), ROR (Woolf CI), IC (WHO-UMC shrinkage), MGPS EBGM with EB05–EB95 (prior fitted exactly on all pairs: −log-likelihood {:.3}{}). Command: <code>{}</code></p>",
        esc(drug), r["prior"]["neg_log_lik"].as_f64().unwrap_or(f64::NAN),
        r["prior"]["at_bound"].as_array().filter(|a| !a.is_empty()).map(|a| format!(", on the bound of {} (see the boundary policy in docs/signals.md)", esc(&a.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(", ")))).unwrap_or_default(),
        esc(sig["command"].as_str().unwrap_or("")));
    *h += &score_table(
        sig["of_interest"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or(&[]),
        "interest",
    );
    let _ = write!(h, "<p class=\"note\">{}</p>", esc(Q_NOTE));
    *h +=
        "<p>EB05–EB95 with EBGM (dot); red: EB05 ≥ 2, the usual MGPS screen. Dashed line at 2.</p>";
    *h += sig["interval_svg"].as_str().unwrap_or("");
    let all = sig["any_signal"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    let _ = write!(
        h,
        "<h3>All {} reactions with a signal by any method</h3>",
        all.len()
    );
    *h += &score_table(all, "all-signals");
}

/// Section 2: the same reactions with a restricted comparator, one table per view.
fn competition_bias_html(h: &mut String, r: &Value) {
    *h += "<h2>2. Competition bias: the same reactions with a restricted comparator</h2><p>Masking: drugs indicated for a reaction dominate its reports and can hide another drug's signal. Restricting the comparator to the drug's own indication, or leaving the masking drugs out, shows whether the figures move.</p>";
    for v in r["competition_bias"].as_array().into_iter().flatten() {
        let _ = write!(
            h,
            "<h3>{}</h3><p><code>{}</code></p>",
            esc(v["label"].as_str().unwrap_or("")),
            esc(v["command"].as_str().unwrap_or(""))
        );
        *h += &score_table(
            v["rows"].as_array().map(Vec::as_slice).unwrap_or(&[]),
            "bias",
        );
    }
}

/// Section 3: the trial meta-analysis with its forest plot, beside the published reference.
fn trials_html(h: &mut String, r: &Value) {
    *h += "<h2>3. Randomised trials</h2>";
    if r["trials"].is_null() {
        *h += "<p>No trials file given (<code>--trials</code>).</p>";
    } else {
        let t = &r["trials"];
        let _ = write!(h, "<p>Random-effects meta-analysis (REML, metafor-exact). Command: <code>{}</code></p><pre>{}</pre>{}",
            esc(t["command"].as_str().unwrap_or("")), esc(t["table"].as_str().unwrap_or("")), t["forest_svg"].as_str().unwrap_or(""));
        *h += "<p class=\"note\">Reference: Fleming &amp; Drucker, J Am Acad Dermatol 2018 — 8 RCTs, 2,706 patients: skin infections RR 0.54 (95% CI 0.42–0.70). Their per-trial counts are not all public, so the example trials file is illustrative; every row carries its own source.</p>";
    }
}

/// Section 4: time to onset per reaction, its counts, quartiles, Weibull reading and histogram.
fn onset_html(h: &mut String, r: &Value) {
    *h += "<h2>4. Time to onset</h2>";
    for o in r["onset"].as_array().into_iter().flatten() {
        let a = &o["analysis"];
        let c = &a["counts"];
        let _ = write!(h, "<h3>{}</h3><p><code>{}</code><br>reports {}: used {} (exact dates only); rejected {} missing, {} partial, {} negative, {} implausible.",
            esc(o["event"].as_str().unwrap_or("")), esc(o["command"].as_str().unwrap_or("")),
            c["input"], c["used"], c["missing_date"], c["partial_date"], c["negative"], c["implausible"]);
        if let (Some(m), Some(q1), Some(q3)) =
            (a["median"].as_f64(), a["q1"].as_f64(), a["q3"].as_f64())
        {
            let _ = write!(h, " Median {m:.0} days (IQR {q1:.0}–{q3:.0}).");
        }
        if let Some(w) = a["weibull"].as_object() {
            let _ = write!(
                h,
                " Weibull shape {} ({}–{}): {}.",
                fmt(&w["shape"], 2),
                fmt(&w["shape_ci"][0], 2),
                fmt(&w["shape_ci"][1], 2),
                esc(&w["reading"].to_string())
            );
        }
        *h += "</p>";
        *h += o["histogram_svg"].as_str().unwrap_or("");
    }
    if let Some(first) = r["onset"].as_array().and_then(|a| a.first()) {
        let _ = write!(
            h,
            "<p class=\"note\">{}</p>",
            esc(first["analysis"]["caveat"].as_str().unwrap_or(""))
        );
    }
}

/// Section 5: what the clinical sources say about each reaction, every statement cited.
fn knowledge_html(h: &mut String, r: &Value) {
    *h += "<h2>5. What the clinical sources say</h2>";
    let _ = write!(
        h,
        "<p class=\"note\">{}</p>",
        esc(r["knowledge_disclaimer"].as_str().unwrap_or(""))
    );
    let entries = r["knowledge"].as_array().map(Vec::as_slice).unwrap_or(&[]);
    if entries.is_empty() {
        *h += "<p>No curated knowledge for these reactions and this drug.</p>";
    }
    for k in entries {
        let _ = write!(
            h,
            "<h3>{} — {}</h3>",
            esc(k["event"].as_str().unwrap_or("")),
            esc(k["entity"].as_str().unwrap_or(""))
        );
        if k["note"].is_object() {
            *h += &cited_list(&Value::Array(vec![k["note"].clone()]));
        }
        for (title, key) in [
            ("Incidence", "incidence"),
            ("Time to onset", "onset"),
            ("Management", "management"),
            ("What to rule out, urgent signs", "red_flags"),
        ] {
            if k[key].as_array().is_some_and(|a| !a.is_empty()) {
                let _ = write!(h, "<h4>{title}</h4>{}", cited_list(&k[key]));
            }
        }
    }
}

/// Section 6: the individual case's assessment, as `vigil assess` prints it.
fn case_html(h: &mut String, r: &Value) {
    *h += "<h2>6. The individual case</h2>";
    if r["case"].is_null() {
        *h += "<p>No case given (<code>--case CASE.json</code>).</p>";
    } else {
        let _ = write!(
            h,
            "<p>Is the drug causing the reaction in this patient? Command: <code>{}</code></p><pre>{}</pre>",
            esc(r["case"]["command"].as_str().unwrap_or("")),
            esc(r["case"]["text"].as_str().unwrap_or(""))
        );
    }
}

/// Section 7: the prior's command and the store's ingest report (quarters, files, every input
/// row accounted for).
fn provenance_html(h: &mut String, r: &Value) {
    *h += "<h2>7. Provenance</h2>";
    let _ = write!(
        h,
        "<p>Prior: <code>{}</code></p>",
        esc(r["provenance"]["prior_command"].as_str().unwrap_or(""))
    );
    let ing = &r["provenance"]["ingest_report"];
    let Some(files) = ing["files"].as_array() else {
        return;
    };
    // Quarters and their files, then every input row accounted for: read = kept + rejected + de-duplicated.
    let mut quarters: std::collections::BTreeMap<String, (usize, u64)> =
        std::collections::BTreeMap::new();
    for f in files {
        let q = quarters
            .entry(f["quarter"].as_str().unwrap_or("?").to_owned())
            .or_default();
        q.0 += 1;
        q.1 += f["bytes"].as_u64().unwrap_or(0);
    }
    let list: Vec<String> = quarters
        .iter()
        .map(|(q, (n, b))| format!("{} ({n} files, {:.1} MB)", esc(q), *b as f64 / 1e6))
        .collect();
    let _ = write!(
        h,
        "<p>Store version {} · {} files from {} quarter(s): {} · reports in store: {} · deleted case ids listed: {}.</p>",
        ing["version"], files.len(), quarters.len(), list.join(", "), ing["reports_in_store"], ing["deleted_caseids_listed"]
    );
    ingest_tables_html(h, ing);
    if let Some(sources) = ing["drug_name_sources"].as_object() {
        let parts: Vec<String> = sources
            .iter()
            .map(|(k, v)| format!("{} {}", esc(k), v))
            .collect();
        let _ = write!(h, "<p>Drug names resolved by: {}.</p>", parts.join(", "));
    }
    *h += "<details><summary>Input files</summary><table><thead><tr><th>file</th><th>table</th><th>quarter</th><th>era</th><th>rows</th></tr></thead><tbody>";
    for f in files {
        let _ = write!(
            h,
            "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(f["path"].as_str().unwrap_or("")),
            esc(f["table"].as_str().unwrap_or("")),
            esc(f["quarter"].as_str().unwrap_or("")),
            esc(f["era"].as_str().unwrap_or("")),
            f["rows"]
        );
    }
    *h += "</tbody></table></details>";
}

/// The ingest report's rows per table: read, kept, rejected, de-duplicated and the rules that
/// removed them.
fn ingest_tables_html(h: &mut String, ing: &Value) {
    *h += "<table><thead><tr><th>table</th><th>read</th><th>kept</th><th>rejected</th><th>de-duplicated</th><th>rules that removed rows</th></tr></thead><tbody>";
    if let Some(tables) = ing["tables"].as_object() {
        for (name, t) in tables {
            let dedup = t["deduplicated"].as_object();
            let total: u64 = dedup.map_or(0, |d| d.values().filter_map(Value::as_u64).sum());
            let rules: Vec<String> = dedup.map_or_else(Vec::new, |d| {
                d.iter()
                    .map(|(rule, n)| format!("{} {}", esc(rule), n))
                    .collect()
            });
            let _ = write!(
                h,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{total}</td><td>{}</td></tr>",
                esc(name),
                t["read"],
                t["kept"],
                t["rejected"],
                rules.join("; ")
            );
        }
    }
    *h += "</tbody></table>";
}
