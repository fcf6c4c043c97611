//! openFDA drug-event JSON into the same report model as the FDA ASCII files.
//!
//! Accepted shapes: the bulk/API envelope `{"meta": …, "results": [report, …]}`, a bare array of
//! reports, or one report object (as in openFDA's test fixtures); files plain or inside zips.
//!
//! Mapping (field names from openFDA's drugevent schema, faers-format.md §7):
//! * caseid = the digits of `safetyreportid` before any `-` (legacy ids such as `4562564-7` carry
//!   a check digit); caseversion = `safetyreportversion`; primaryid = caseid followed by the
//!   version (FAERS' own identity, [S1]) or caseid alone when there is no version;
//! * fda_dt = `receiptdate`, init_fda_dt = `receivedate`, mfr_num = `companynumb`, auth_num =
//!   `authoritynumb`, occr_country = `occurcountry`, reporter_country =
//!   `primarysource.reportercountry`, lit_ref = `primarysource.literaturereference`, occp_cod from
//!   `qualification` (1 MD, 2 PH, 3 HP, 4 LW, 5 CN);
//! * sex from `patientsex` (1 M, 2 F, else unknown); age from `patientonsetage` with unit 800–805
//!   → DEC, YR, MON, WK, DY, HR; age_grp from `patientagegroup` 1–6 → N, I, C, T, A, E; weight in kg;
//! * drugs: `drugcharacterization` 1 (suspect) → PS for the first suspect drug and SS for the
//!   others (E2B has no primary/secondary distinction; FAERS' PS is the first suspect), 2 → C,
//!   3 → I; prod_ai = `activesubstance.activesubstancename`, else `openfda.generic_name` joined
//!   with `\`; INDI from `drugindication`, THER from the start/end dates;
//! * OUTC from the seriousness flags: death DE, life-threatening LT, hospitalisation HO,
//!   disabling DS, congenital anomaly CA, other OT;
//! * event_dt = the first `patient.reaction[].reactionstartdate`, when present (not in openFDA's own
//!   records; written by `vigil ingest e2b` from E2B(R3) E.i.4).
//!
//! De-duplication is the same as for ASCII files (one version per caseid).
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde_json::Value;
use vigil_store::ingest_report::{FileRead, IngestReport, RowIssue};
use vigil_store::layout::{ChildTable, REPORT_TEXT_COLUMNS};
use vigil_store::write::StoreTxn;

use crate::discover::{find_openfda_inputs, quarter_in_name, InputFile, Quarter};
use crate::drugname::{DrugNormaliser, NameSource};
use crate::ingest::{dedup_reports, finish_name_stats, stored_reports, write_reports, write_sources, ChildBuilder, DemoRow, IngestOptions, IngestOutcome};
use crate::parse::{self, PartialDate};
use crate::table::Table;
use crate::FaersError;

fn s<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(|x| x.as_str()).map(str::trim).filter(|x| !x.is_empty())
}

fn date(v: &Value, key: &str) -> Option<String> {
    s(v, key).and_then(|d| PartialDate::parse(d).ok().flatten()).map(|d| d.digits())
}

struct ChildRow {
    table: Table,
    primaryid: u64,
    caseid: u64,
    values: Vec<Option<String>>,
}

fn child_values(table: ChildTable, pairs: &[(&str, Option<String>)]) -> Vec<Option<String>> {
    table
        .text_columns()
        .iter()
        .map(|c| pairs.iter().find(|(k, _)| k == c).and_then(|(_, v)| v.clone()))
        .collect()
}

/// Converts one openFDA report; `Err` names the problem.
fn convert(report: &Value, batch: u32, qk: u32, normaliser: &DrugNormaliser, out_children: &mut Vec<ChildRow>) -> Result<DemoRow, String> {
    let id = s(report, "safetyreportid").ok_or("no safetyreportid")?;
    let case_str = id.split('-').next().unwrap_or("");
    let caseid = parse::parse_id(case_str).ok_or_else(|| format!("safetyreportid {id:?} is not numeric"))?;
    let version = s(report, "safetyreportversion").and_then(|v| v.parse::<u32>().ok());
    let primaryid = match version {
        Some(v) => parse::parse_id(&format!("{case_str}{v}")).ok_or_else(|| format!("primaryid from {id:?} overflows"))?,
        None => caseid,
    };
    let patient = report.get("patient").cloned().unwrap_or(Value::Null);
    let ps = report.get("primarysource").cloned().unwrap_or(Value::Null);
    let age = s(&patient, "patientonsetage").map(str::to_owned);
    let age_cod = s(&patient, "patientonsetageunit").and_then(|u| match u {
        "800" => Some("DEC"),
        "801" => Some("YR"),
        "802" => Some("MON"),
        "803" => Some("WK"),
        "804" => Some("DY"),
        "805" => Some("HR"),
        _ => None,
    });
    let sex = s(&patient, "patientsex").map(|x| match x {
        "1" => "M",
        "2" => "F",
        _ => "UNK",
    });
    let age_grp = s(&patient, "patientagegroup").and_then(|g| match g {
        "1" => Some("N"),
        "2" => Some("I"),
        "3" => Some("C"),
        "4" => Some("T"),
        "5" => Some("A"),
        "6" => Some("E"),
        _ => None,
    });
    let wt = s(&patient, "patientweight").map(str::to_owned);
    let occp = s(&ps, "qualification").and_then(|q| match q {
        "1" => Some("MD"),
        "2" => Some("PH"),
        "3" => Some("HP"),
        "4" => Some("LW"),
        "5" => Some("CN"),
        _ => None,
    });
    let death_dt = patient.get("patientdeath").and_then(|d| date(d, "patientdeathdate"));
    // E2B's reaction start date (B.2.i.4 / E.i.4) when the JSON carries it (openFDA's own records do
    // not; `vigil ingest e2b` writes it): the first reaction's date is the report's event date.
    let event_dt = patient
        .get("reaction")
        .and_then(|r| r.as_array())
        .and_then(|reactions| reactions.iter().find_map(|r| date(r, "reactionstartdate")));
    let fda_dt = date(report, "receiptdate");
    let values: HashMap<&str, Option<String>> = HashMap::from([
        ("fda_dt", fda_dt.clone()),
        ("init_fda_dt", date(report, "receivedate")),
        ("rept_cod", s(report, "reporttype").map(str::to_owned)),
        ("auth_num", s(report, "authoritynumb").map(str::to_owned)),
        ("mfr_num", s(report, "companynumb").map(str::to_owned)),
        ("lit_ref", s(&ps, "literaturereference").map(str::to_owned)),
        ("age", age.clone()),
        ("age_cod", age_cod.map(str::to_owned)),
        ("age_grp", age_grp.map(str::to_owned)),
        ("sex_raw", sex.map(str::to_owned)),
        ("wt", wt.clone()),
        ("wt_cod", wt.as_ref().map(|_| "KG".to_owned())),
        ("occp_cod", occp.map(str::to_owned)),
        ("reporter_country", s(&ps, "reportercountry").map(str::to_owned)),
        ("occr_country", s(report, "occurcountry").map(str::to_owned)),
        ("death_dt", death_dt),
        ("event_dt", event_dt),
    ]);
    let text = DemoRow::pack(REPORT_TEXT_COLUMNS.iter().map(|c| values.get(c).and_then(|v| v.as_deref())));
    let age_years = age.as_deref().and_then(|a| parse::age_years(a, age_cod.unwrap_or("")));
    let weight_kg = wt.as_deref().and_then(|w| parse::weight_kg(w, "KG"));

    let mut first_suspect = true;
    if let Some(drugs) = patient.get("drug").and_then(|d| d.as_array()) {
        for (i, d) in drugs.iter().enumerate() {
            let seq = (i + 1).to_string();
            let role = match s(d, "drugcharacterization") {
                Some("1") if first_suspect => {
                    first_suspect = false;
                    "PS"
                }
                Some("1") => "SS",
                Some("2") => "C",
                Some("3") => "I",
                _ => "",
            };
            let name = s(d, "medicinalproduct").unwrap_or("").to_owned();
            let prod_ai = d
                .get("activesubstance")
                .and_then(|a| s(a, "activesubstancename"))
                .map(str::to_owned)
                .or_else(|| {
                    d.get("openfda").and_then(|o| o.get("generic_name")).and_then(|g| g.as_array()).map(|g| {
                        g.iter().filter_map(|x| x.as_str()).collect::<Vec<_>>().join("\\")
                    })
                })
                .unwrap_or_default();
            let (ingredient, _) = normaliser.normalise(&name, &prod_ai);
            out_children.push(ChildRow {
                table: Table::Drug,
                primaryid,
                caseid,
                values: child_values(
                    ChildTable::Drugs,
                    &[
                        ("drug_seq", Some(seq.clone())),
                        ("role_cod", Some(role.to_owned()).filter(|r| !r.is_empty())),
                        ("drugname", Some(name).filter(|n| !n.is_empty())),
                        ("prod_ai", Some(prod_ai).filter(|p| !p.is_empty())),
                        ("ingredient", Some(ingredient).filter(|p| !p.is_empty())),
                        ("route", s(d, "drugadministrationroute").map(str::to_owned)),
                        ("dose_vbm", s(d, "drugdosagetext").map(str::to_owned)),
                        ("lot_num", s(d, "drugbatchnumb").map(str::to_owned)),
                        ("nda_num", s(d, "drugauthorizationnumb").map(str::to_owned)),
                        ("dose_amt", s(d, "drugstructuredosagenumb").map(str::to_owned)),
                        ("dose_unit", s(d, "drugstructuredosageunit").map(str::to_owned)),
                        ("dose_form", s(d, "drugdosageform").map(str::to_owned)),
                    ],
                ),
            });
            if let Some(ind) = s(d, "drugindication") {
                out_children.push(ChildRow {
                    table: Table::Indi,
                    primaryid,
                    caseid,
                    values: child_values(ChildTable::Indications, &[("indi_drug_seq", Some(seq.clone())), ("indi_pt", Some(ind.to_owned()))]),
                });
            }
            let (start, end) = (date(d, "drugstartdate"), date(d, "drugenddate"));
            if start.is_some() || end.is_some() {
                out_children.push(ChildRow {
                    table: Table::Ther,
                    primaryid,
                    caseid,
                    values: child_values(
                        ChildTable::Therapies,
                        &[
                            ("dsg_drug_seq", Some(seq.clone())),
                            ("start_dt", start),
                            ("end_dt", end),
                            ("dur", s(d, "drugtreatmentduration").map(str::to_owned)),
                            ("dur_cod", s(d, "drugtreatmentdurationunit").map(str::to_owned)),
                        ],
                    ),
                });
            }
        }
    }
    if let Some(reacs) = patient.get("reaction").and_then(|d| d.as_array()) {
        for r in reacs {
            if let Some(pt) = s(r, "reactionmeddrapt") {
                out_children.push(ChildRow {
                    table: Table::Reac,
                    primaryid,
                    caseid,
                    values: child_values(ChildTable::Reactions, &[("pt", Some(pt.to_owned()))]),
                });
            }
        }
    }
    for (flag, code) in [
        ("seriousnessdeath", "DE"),
        ("seriousnesslifethreatening", "LT"),
        ("seriousnesshospitalization", "HO"),
        ("seriousnessdisabling", "DS"),
        ("seriousnesscongenitalanomali", "CA"),
        ("seriousnessother", "OT"),
    ] {
        if s(report, flag) == Some("1") {
            out_children.push(ChildRow {
                table: Table::Outc,
                primaryid,
                caseid,
                values: child_values(ChildTable::Outcomes, &[("outc_cod", Some(code.to_owned()))]),
            });
        }
    }
    Ok(DemoRow {
        primaryid,
        caseid,
        caseversion: version,
        fda_key: fda_dt.as_deref().and_then(|d| PartialDate::parse(d).ok().flatten()).map_or(0, |d| d.sort_key()),
        quarter_key: qk,
        batch,
        source: "openfda",
        text,
        age_years,
        weight_kg,
    })
}

/// Ingests openFDA drug-event JSON files (plain or zipped) into the store at `store`.
pub fn ingest_openfda(paths: &[PathBuf], store: &Path, opts: &IngestOptions) -> Result<IngestOutcome, FaersError> {
    let started = Instant::now();
    let inputs = find_openfda_inputs(paths)?;
    if inputs.is_empty() {
        return Err(FaersError::Input(format!(
            "no openFDA JSON files (*.json) found under {}",
            paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
        )));
    }
    let mut normaliser = DrugNormaliser::builtin();
    for d in &opts.dictionary_files {
        normaliser.add_csv_file(d)?;
    }
    let mut report = IngestReport::default();
    let mut txn = StoreTxn::begin(store)?;
    report.version = txn.version();
    let (stored, mut quarters) = stored_reports(&txn)?;
    let mut by_quarter: BTreeMap<Option<Quarter>, Vec<&InputFile>> = BTreeMap::new();
    for f in &inputs {
        by_quarter.entry(f.quarter.or_else(|| quarter_in_name(&f.display))).or_default().push(f);
    }
    let mut candidates = Vec::new();
    let mut children: Vec<(u32, ChildRow)> = Vec::new();
    let mut files_read = Vec::new();
    let mut batches = Vec::new();
    for (q, files) in &by_quarter {
        let label = q.map_or_else(|| "unknown".to_owned(), Quarter::label);
        let batch = txn.new_batch(&label);
        quarters.insert(batch, label.clone());
        batches.push(batch);
        for f in files {
            let bytes = f.with_reader(|r| {
                let mut buf = Vec::new();
                r.read_to_end(&mut buf).map(|_| buf)
            })?;
            let bytes = bytes.map_err(|e| FaersError::io(&f.display, e))?;
            if let Some(p) = &opts.progress {
                p(bytes.len() as u64);
            }
            let doc: Value = serde_json::from_slice(&bytes)
                .map_err(|e| FaersError::Input(format!("{}: not valid JSON: {e}", f.display)))?;
            let reports: Vec<&Value> = match &doc {
                Value::Object(o) if o.contains_key("results") => {
                    o["results"].as_array().map(|a| a.iter().collect()).unwrap_or_default()
                }
                Value::Array(a) => a.iter().collect(),
                Value::Object(_) => vec![&doc],
                _ => Vec::new(),
            };
            let mut rows = 0;
            for (i, r) in reports.iter().enumerate() {
                rows += 1;
                let demo = report.table_mut("demo");
                demo.read += 1;
                let mut kids = Vec::new();
                match convert(r, batch, q.map_or(0, Quarter::key), &normaliser, &mut kids) {
                    Ok(row) => {
                        candidates.push(row);
                        for k in kids {
                            report.table_mut(k.table.key()).read += 1;
                            children.push((batch, k));
                        }
                    }
                    Err(reason) => demo.reject(
                        RowIssue { file: f.display.clone(), line: i as u64 + 1, field: Some("safetyreportid".into()), reason: format!("report #{}: {reason}", i + 1), raw: String::new() },
                        "bad report id",
                    ),
                }
            }
            files_read.push((batch, FileRead { path: f.display.clone(), table: "openfda".into(), quarter: label.clone(), era: "openfda".into(), bytes: bytes.len() as u64, rows }));
        }
    }
    let group_pids: HashSet<u64> = candidates.iter().map(|r| r.primaryid).collect();
    let mut demo_counts = report.tables.remove("demo").unwrap_or_default();
    // The deleted-case lists a FAERS ingest left in the store apply to these reports too.
    let deleted: HashSet<u64> = crate::ingest::stored_deleted(&txn)?.into_iter().map(|r| r.0).collect();
    let dedup = dedup_reports(stored, candidates, &deleted, &mut demo_counts, &mut report.stored_reports_removed);
    report.tables.insert("demo".into(), demo_counts);
    let winners: HashMap<u64, u32> = dedup.kept.iter().map(|r| (r.primaryid, r.batch)).collect();
    let mut name_sources: HashMap<&'static str, u64> = HashMap::new();
    let mut unmapped: HashMap<String, u64> = HashMap::new();
    for &batch in &batches {
        for table in &Table::ALL[1..] {
            let child = table.child().expect("child");
            let mut builder = ChildBuilder::new(child);
            let mut seen: HashSet<(u64, String)> = HashSet::new();
            for (b, row) in children.iter().filter(|(b, r)| *b == batch && r.table == *table) {
                let counts = report.tables.entry(table.key().to_owned()).or_default();
                if winners.get(&row.primaryid) != Some(b) {
                    debug_assert!(group_pids.contains(&row.primaryid));
                    counts.dedup(crate::ingest::rules::REPORT_NOT_KEPT, 1);
                    continue;
                }
                let key = match table {
                    Table::Drug => Some(row.values[0].clone().unwrap_or_default()),
                    Table::Reac => Some(row.values[0].clone().unwrap_or_default().to_uppercase()),
                    _ => None,
                };
                if let Some(k) = key {
                    if !seen.insert((row.primaryid, k)) {
                        counts.dedup(if *table == Table::Reac { crate::ingest::rules::DUP_REAC } else { crate::ingest::rules::DUP_DRUG }, 1);
                        continue;
                    }
                }
                if *table == Table::Drug {
                    let ing = row.values[4].clone().unwrap_or_default();
                    let name = row.values[2].clone().unwrap_or_default();
                    let pa = row.values[3].clone().unwrap_or_default();
                    let (_, src) = normaliser.normalise(&name, &pa);
                    *name_sources.entry(src.key()).or_default() += 1;
                    if src == NameSource::Cleaned {
                        *unmapped.entry(ing).or_default() += 1;
                    }
                }
                builder.push(row.primaryid, Some(row.caseid), *b, row.values.iter().map(|v| v.as_deref()));
                counts.kept += 1;
            }
            if builder.len() > 0 {
                let mut sink = txn.child_sink(child, batch)?;
                sink.write(&builder.finish()?)?;
                sink.finish()?;
            }
        }
    }
    finish_name_stats(&mut report, name_sources, unmapped);
    let kept_refs: Vec<&DemoRow> = dedup.kept.iter().collect();
    write_reports(&txn, &kept_refs, &quarters)?;
    write_sources(&txn, &files_read)?;
    report.reports_in_store = dedup.kept.len() as u64;
    let bytes: u64 = files_read.iter().map(|(_, f)| f.bytes).sum();
    report.files = files_read.into_iter().map(|(_, f)| f).collect();
    report.seconds = started.elapsed().as_secs_f64();
    let version_dir = txn.commit(&report)?;
    Ok(IngestOutcome { report, version_dir, bytes })
}
