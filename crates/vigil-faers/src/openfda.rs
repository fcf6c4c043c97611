//! openFDA drug-event JSON into the same report model as the FDA ASCII files.
//!
//! Accepted shapes: the bulk/API envelope `{"meta": …, "results": [report, …]}`, a bare array of
//! reports, or one report object (as in openFDA's test fixtures); files plain or inside zips.
//!
//! Mapping (field names from openFDA's drugevent schema, faers-format.md §7):
//! * caseid = the digits of `safetyreportid` before any `-` (legacy ids such as `4562564-7` carry
//!   a check digit); caseversion = `safetyreportversion`; primaryid = caseid × 1000 + version
//!   (see [`primaryid_of`]: the caseid followed by the version as three digits, 0 without one);
//! * fda_dt = `receiptdate`, init_fda_dt = `receivedate`, mfr_num = `companynumb`, auth_num =
//!   `authoritynumb`, occr_country = `occurcountry`, reporter_country =
//!   `primarysource.reportercountry`, lit_ref = `primarysource.literaturereference`, occp_cod from
//!   `qualification` (1 MD, 2 PH, 3 HP, 4 LW, 5 CN);
//! * sex from `patientsex` (1 M, 2 F, 0 and 9 unknown); age from `patientonsetage` with unit 800–805
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
//! De-duplication is the same as for ASCII files (one version per caseid). Drug names are learned
//! from the drugs that pair `medicinalproduct` with an active substance, by the rule and into the
//! evidence files of a FAERS ingest, and the stored rows a change concerns are remapped
//! (`ingest/learn.rs`, `ingest/remap.rs`).
//!
//! Nothing is dropped uncounted: a report that cannot be read whole (not an object, no usable id,
//! a `patient`, `drug` or `reaction` of the wrong JSON type) is a rejected `demo` row; a drug or
//! reaction entry that cannot be used is a rejected `drug`/`reac` row; a value that is stored as
//! null (wrong JSON type, malformed date, unusable age or weight, unknown code) is a field warning,
//! as for the FAERS files. Issues carry the file, the report's position in it (as `line`) and the
//! value's JSON path (as `field`).
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde_json::Value;
use vigil_store::ingest_report::{FileRead, IngestReport, RowIssue, TableCounts};
use vigil_store::layout::{ChildTable, REPORT_TEXT_COLUMNS};
use vigil_store::write::StoreTxn;

use crate::discover::{find_openfda_inputs, quarter_in_name, InputFile, Quarter};
use crate::drugname::{DrugNormaliser, NameSource};
use crate::ingest::{
    dedup_reports, finish_name_stats, stored_reports, write_reports, ChildBuilder, DemoRow,
    IngestOptions, IngestOutcome, Warnings,
};
use crate::parse::{self, PartialDate};
use crate::table::Table;
use crate::FaersError;

/// The largest `safetyreportversion` accepted: the primaryid keeps three decimal digits for the
/// version (see [`primaryid_of`]). openFDA's versions are small (1 for most reports).
pub const MAX_VERSION: u32 = 999;

/// The primaryid of an openFDA report: `caseid × 1000 + version` (version 0 when the report has
/// none), i.e. the caseid followed by the version as exactly three digits. A fixed width keeps
/// the encoding unambiguous: writing the version after the caseid as it comes would give case 12
/// version 34 and case 123 version 4 the same id 1234 (and merge them). `None` when the version
/// is above [`MAX_VERSION`] or the id does not fit in 64 bits.
pub fn primaryid_of(caseid: u64, version: Option<u32>) -> Option<u64> {
    let v = version.unwrap_or(0);
    if v > MAX_VERSION {
        return None;
    }
    caseid.checked_mul(1000)?.checked_add(u64::from(v))
}

/// An absent object, to read fields from when the real one is missing or of the wrong type.
static NO_OBJECT: Value = Value::Null;

/// The JSON type of a value, for messages.
fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// A JSON value shortened for an issue's `raw` field.
fn raw_json(v: &Value) -> String {
    let t = v.to_string();
    if t.chars().count() > 300 {
        t.chars().take(300).collect::<String>() + "…"
    } else {
        t
    }
}

pub(crate) struct ChildRow {
    pub(crate) table: Table,
    pub(crate) primaryid: u64,
    pub(crate) caseid: u64,
    pub(crate) values: Vec<Option<String>>,
}

/// DRUG columns copied as text from an openFDA `drug` object: (FAERS column, openFDA key).
const DRUG_TEXT_FIELDS: [(&str, &str); 7] = [
    ("route", "drugadministrationroute"),
    ("dose_vbm", "drugdosagetext"),
    ("lot_num", "drugbatchnumb"),
    ("nda_num", "drugauthorizationnumb"),
    ("dose_amt", "drugstructuredosagenumb"),
    ("dose_unit", "drugstructuredosageunit"),
    ("dose_form", "drugdosageform"),
];

fn child_values(table: ChildTable, pairs: &[(&str, Option<String>)]) -> Vec<Option<String>> {
    table
        .text_columns()
        .iter()
        .map(|c| {
            pairs
                .iter()
                .find(|(k, _)| k == c)
                .and_then(|(_, v)| v.clone())
        })
        .collect()
}

/// One openFDA file read: its reports and their rows, with the account of every value that was
/// rejected or stored as null.
pub struct OpenFdaDocument {
    pub(crate) reports: Vec<DemoRow>,
    pub(crate) children: Vec<ChildRow>,
    /// Counts per table (`demo` = reports, `drug`, `reac`, `indi`, `ther`, `outc`): rows read and
    /// rows rejected (with file, report number and JSON path); rows kept are counted later, after
    /// de-duplication.
    pub tables: BTreeMap<String, TableCounts>,
    pub(crate) warnings: Warnings,
}

impl OpenFdaDocument {
    /// The (caseid, primaryid) of every accepted report, in file order.
    pub fn report_ids(&self) -> Vec<(u64, u64)> {
        self.reports
            .iter()
            .map(|r| (r.caseid, r.primaryid))
            .collect()
    }

    /// Accepted rows of a child table (`drug`, `reac`, …).
    pub fn child_rows(&self, table: &str) -> usize {
        self.children
            .iter()
            .filter(|c| c.table.key() == table)
            .count()
    }

    /// Values stored as null, counted by `table.column` (`demo.age`, `drug.role_cod`, …).
    pub fn field_warnings(&self) -> &BTreeMap<String, u64> {
        &self.warnings.counts
    }

    /// The listed field warnings (all are counted in [`Self::field_warnings`]).
    pub fn field_warning_examples(&self) -> &[RowIssue] {
        &self.warnings.examples
    }
}

/// Reads the values of one report, recording every value it cannot use: `line` is the report's
/// position in the file (1 = first) and issues name the value by its JSON path.
struct ReportReader<'a> {
    file: &'a str,
    line: u64,
    warnings: &'a mut Warnings,
}

impl ReportReader<'_> {
    fn warn(&mut self, table: &str, column: &str, path: &str, reason: String, raw: &str) {
        self.warnings
            .add_at(self.file, self.line, table, column, path, reason, raw);
    }

    /// `obj[key]` as text: a string (trimmed; empty is absent) or a number (its decimal text:
    /// openFDA's codes are digit strings, and 1 means what "1" means). A value of any other type
    /// is stored as null and counted under `table.column`.
    fn text(
        &mut self,
        obj: &Value,
        path: &str,
        key: &str,
        table: &str,
        column: &str,
    ) -> Option<String> {
        match obj.get(key)? {
            Value::Null => None,
            Value::String(t) => Some(t.trim()).filter(|t| !t.is_empty()).map(str::to_owned),
            Value::Number(n) => Some(n.to_string()),
            other => {
                let reason = format!(
                    "a JSON {}, expected a string: stored as null",
                    json_type(other)
                );
                self.warn(
                    table,
                    column,
                    &format!("{path}.{key}"),
                    reason,
                    &raw_json(other),
                );
                None
            }
        }
    }

    /// `obj[key]` as a name (drug, substance, indication): a string only; a number is not a name
    /// (it might be a code vigil does not map) and is stored as null, counted.
    fn name(
        &mut self,
        obj: &Value,
        path: &str,
        key: &str,
        table: &str,
        column: &str,
    ) -> Option<String> {
        match obj.get(key)? {
            Value::Null => None,
            Value::String(t) => Some(t.trim()).filter(|t| !t.is_empty()).map(str::to_owned),
            other => {
                let reason = format!(
                    "a JSON {}, expected a name (string): stored as null",
                    json_type(other)
                );
                self.warn(
                    table,
                    column,
                    &format!("{path}.{key}"),
                    reason,
                    &raw_json(other),
                );
                None
            }
        }
    }

    /// A date (`YYYY`, `YYYYMM` or `YYYYMMDD`) as its digits; a malformed one is stored as null
    /// and counted, as in the FAERS files.
    fn date(
        &mut self,
        obj: &Value,
        path: &str,
        key: &str,
        table: &str,
        column: &str,
    ) -> Option<String> {
        let raw = self.text(obj, path, key, table, column)?;
        match PartialDate::parse(&raw) {
            Ok(d) => d.map(|d| d.digits()),
            Err(e) => {
                self.warn(table, column, &format!("{path}.{key}"), e, &raw);
                None
            }
        }
    }

    /// A code looked up in `map`; a code outside it is stored as null and counted.
    fn code(
        &mut self,
        obj: &Value,
        path: &str,
        key: &str,
        table: &str,
        column: &str,
        map: &[(&str, &'static str)],
    ) -> Option<&'static str> {
        let raw = self.text(obj, path, key, table, column)?;
        match map.iter().find(|(k, _)| *k == raw) {
            Some((_, v)) => Some(*v),
            None => {
                let known = map.iter().map(|(k, _)| *k).collect::<Vec<_>>().join(", ");
                self.warn(
                    table,
                    column,
                    &format!("{path}.{key}"),
                    format!("unknown code {raw:?} (known: {known}): stored as null"),
                    &raw,
                );
                None
            }
        }
    }

    /// `obj[key]` when it is an object (or absent/null: `Null`); any other type is counted and
    /// read as absent.
    fn object<'v>(&mut self, obj: &'v Value, path: &str, key: &str, table: &str) -> &'v Value {
        match obj.get(key) {
            Some(v @ Value::Object(_)) => v,
            None | Some(Value::Null) => &NO_OBJECT,
            Some(other) => {
                let reason = format!(
                    "a JSON {}, expected an object: its fields are not read",
                    json_type(other)
                );
                self.warn(
                    table,
                    key,
                    &format!("{path}.{key}"),
                    reason,
                    &raw_json(other),
                );
                &NO_OBJECT
            }
        }
    }
}

/// Codes of openFDA's drugevent schema (faers-format.md §7; E2B(R2) B.1.2.2b, B.1.1, A.2.1.4).
const AGE_UNITS: &[(&str, &str)] = &[
    ("800", "DEC"),
    ("801", "YR"),
    ("802", "MON"),
    ("803", "WK"),
    ("804", "DY"),
    ("805", "HR"),
];
const AGE_GROUPS: &[(&str, &str)] = &[
    ("1", "N"),
    ("2", "I"),
    ("3", "C"),
    ("4", "T"),
    ("5", "A"),
    ("6", "E"),
];
const QUALIFICATIONS: &[(&str, &str)] = &[
    ("1", "MD"),
    ("2", "PH"),
    ("3", "HP"),
    ("4", "LW"),
    ("5", "CN"),
];
/// E2B sex: 0 unknown, 1 male, 2 female (9 unknown in some exports).
const SEXES: &[(&str, &str)] = &[("0", "UNK"), ("1", "M"), ("2", "F"), ("9", "UNK")];
/// E2B drug characterisation: 1 suspect, 2 concomitant, 3 interacting (B.4.k.1).
const CHARACTERISATIONS: &[(&str, &str)] = &[("1", "S"), ("2", "C"), ("3", "I")];
/// E2B seriousness flags: 1 yes, 2 no.
const YES_NO: &[(&str, &str)] = &[("1", "1"), ("2", "2")];

/// Why a whole report is rejected.
struct Rejected {
    field: String,
    reason: String,
    key: &'static str,
    raw: String,
}

/// `patient[key]` as an array (absent or null: empty); any other type rejects the report.
fn array_field<'v>(patient: &'v Value, ppath: &str, key: &str) -> Result<&'v [Value], Rejected> {
    match patient.get(key) {
        None | Some(Value::Null) => Ok(&[]),
        Some(Value::Array(a)) => Ok(a.as_slice()),
        Some(other) => Err(Rejected {
            field: format!("{ppath}.{key}"),
            reason: format!("a JSON {}, expected an array", json_type(other)),
            key: "drug/reaction not an array",
            raw: raw_json(other),
        }),
    }
}

/// Converts one openFDA report (at JSON path `path`); `Err` rejects the whole report. Child rows
/// go to `out`, rejected child rows into `tables`, nulled values into the reader's warnings.
#[allow(clippy::too_many_arguments)]
fn convert(
    report: &Value,
    path: &str,
    rd: &mut ReportReader,
    batch: u32,
    qk: u32,
    normaliser: &DrugNormaliser,
    out: &mut Vec<ChildRow>,
    tables: &mut BTreeMap<String, TableCounts>,
) -> Result<DemoRow, Rejected> {
    let reject = |field: String, reason: String, key: &'static str, raw: String| Rejected {
        field,
        reason,
        key,
        raw,
    };
    let (caseid, version, primaryid) = report_ids(report, path, rd)?;
    // The arrays are the report's content: one of another type would leave a report without its
    // drugs or reactions, so the report is rejected rather than stored incomplete.
    let patient = match report.get("patient") {
        None | Some(Value::Null) => &NO_OBJECT,
        Some(p @ Value::Object(_)) => p,
        Some(other) => {
            return Err(reject(
                format!("{path}.patient"),
                format!("a JSON {}, expected an object", json_type(other)),
                "patient not an object",
                raw_json(other),
            ))
        }
    };
    let ppath = format!("{path}.patient");
    let drugs = array_field(patient, &ppath, "drug")?;
    let reactions = array_field(patient, &ppath, "reaction")?;

    let DemoFields {
        values,
        fda_dt,
        age_years,
        weight_kg,
    } = demo_fields(report, path, patient, &ppath, rd);

    let mut children = Vec::new();
    let mut first_suspect = true;
    for (i, d) in drugs.iter().enumerate() {
        let ids = (primaryid, caseid);
        convert_drug(
            d,
            i,
            &ppath,
            ids,
            rd,
            normaliser,
            &mut first_suspect,
            tables,
            &mut children,
        );
    }
    let event_dt = convert_reactions(
        reactions,
        &ppath,
        (primaryid, caseid),
        rd,
        tables,
        &mut children,
    );
    for (flag, code) in [
        ("seriousnessdeath", "DE"),
        ("seriousnesslifethreatening", "LT"),
        ("seriousnesshospitalization", "HO"),
        ("seriousnessdisabling", "DS"),
        ("seriousnesscongenitalanomali", "CA"),
        ("seriousnessother", "OT"),
    ] {
        if rd.code(report, path, flag, "outc", "outc_cod", YES_NO) == Some("1") {
            children.push(ChildRow {
                table: Table::Outc,
                primaryid,
                caseid,
                values: child_values(ChildTable::Outcomes, &[("outc_cod", Some(code.to_owned()))]),
            });
        }
    }
    let mut values = values;
    values.insert("event_dt", event_dt);
    let text = DemoRow::pack(
        REPORT_TEXT_COLUMNS
            .iter()
            .map(|c| values.get(c).and_then(|v| v.as_deref())),
    );
    // Drug and reaction rows were counted as read where they were met (rejected ones too).
    for c in children
        .iter()
        .filter(|c| !matches!(c.table, Table::Drug | Table::Reac))
    {
        tables.entry(c.table.key().to_owned()).or_default().read += 1;
    }
    out.extend(children);
    Ok(DemoRow {
        primaryid,
        caseid,
        caseversion: version,
        fda_key: fda_dt
            .as_deref()
            .and_then(|d| PartialDate::parse(d).ok().flatten())
            .map_or(0, |d| d.sort_key()),
        quarter_key: qk,
        batch,
        source: "openfda",
        text,
        age_years,
        weight_kg,
    })
}

/// Converts drug `i` of a report (JSON path `ppath.drug[i]`) into its DRUG row and, when given,
/// its INDI and THER rows; a drug that is not an object is a rejected DRUG row. The first suspect
/// drug is the primary suspect (`first_suspect` carries that across the report's drugs).
#[allow(clippy::too_many_arguments)] // the report's context, passed down from `convert`
fn convert_drug(
    d: &Value,
    i: usize,
    ppath: &str,
    (primaryid, caseid): (u64, u64),
    rd: &mut ReportReader,
    normaliser: &DrugNormaliser,
    first_suspect: &mut bool,
    tables: &mut BTreeMap<String, TableCounts>,
    children: &mut Vec<ChildRow>,
) {
    let dpath = format!("{ppath}.drug[{i}]");
    let counts = tables.entry("drug".into()).or_default();
    counts.read += 1;
    if !d.is_object() {
        let reason = format!("a JSON {}, expected a drug object", json_type(d));
        counts.reject(
            RowIssue {
                file: rd.file.to_owned(),
                line: rd.line,
                field: Some(dpath),
                reason,
                raw: raw_json(d),
            },
            "drug not an object",
        );
        return;
    }
    let seq = (i + 1).to_string();
    let role = match rd.code(
        d,
        &dpath,
        "drugcharacterization",
        "drug",
        "role_cod",
        CHARACTERISATIONS,
    ) {
        Some("S") if *first_suspect => {
            *first_suspect = false;
            Some("PS")
        }
        Some("S") => Some("SS"),
        other => other,
    };
    let name = rd
        .name(d, &dpath, "medicinalproduct", "drug", "drugname")
        .unwrap_or_default();
    let substance = rd.object(d, &dpath, "activesubstance", "drug");
    let prod_ai = prod_ai(d, &dpath, substance, rd);
    let (ingredient, _) = normaliser.normalise(&name, &prod_ai);
    children.push(ChildRow {
        table: Table::Drug,
        primaryid,
        caseid,
        values: child_values(
            ChildTable::Drugs,
            &[
                ("drug_seq", Some(seq.clone())),
                ("role_cod", role.map(str::to_owned)),
                ("drugname", Some(name).filter(|n| !n.is_empty())),
                ("prod_ai", Some(prod_ai).filter(|p| !p.is_empty())),
                ("ingredient", Some(ingredient).filter(|p| !p.is_empty())),
            ]
            .into_iter()
            .chain(
                DRUG_TEXT_FIELDS
                    .iter()
                    .map(|&(column, key)| (column, rd.text(d, &dpath, key, "drug", column))),
            )
            .collect::<Vec<_>>(),
        ),
    });
    if let Some(ind) = rd.name(d, &dpath, "drugindication", "indi", "indi_pt") {
        children.push(ChildRow {
            table: Table::Indi,
            primaryid,
            caseid,
            values: child_values(
                ChildTable::Indications,
                &[("indi_drug_seq", Some(seq.clone())), ("indi_pt", Some(ind))],
            ),
        });
    }
    let (start, end) = (
        rd.date(d, &dpath, "drugstartdate", "ther", "start_dt"),
        rd.date(d, &dpath, "drugenddate", "ther", "end_dt"),
    );
    if start.is_some() || end.is_some() {
        children.push(ChildRow {
            table: Table::Ther,
            primaryid,
            caseid,
            values: child_values(
                ChildTable::Therapies,
                &[
                    ("dsg_drug_seq", Some(seq.clone())),
                    ("start_dt", start),
                    ("end_dt", end),
                    (
                        "dur",
                        rd.text(d, &dpath, "drugtreatmentduration", "ther", "dur"),
                    ),
                    (
                        "dur_cod",
                        rd.text(d, &dpath, "drugtreatmentdurationunit", "ther", "dur_cod"),
                    ),
                ],
            ),
        });
    }
}

/// Converts the reactions of a report (JSON path `ppath.reaction[i]`) into REAC rows; one without
/// a usable PT text is a rejected REAC row. Returns E2B's reaction start date (B.2.i.4 / E.i.4) of
/// the first reaction that has one, the report's event date (openFDA's own records do not carry
/// it; `vigil ingest e2b` writes it).
fn convert_reactions(
    reactions: &[Value],
    ppath: &str,
    (primaryid, caseid): (u64, u64),
    rd: &mut ReportReader,
    tables: &mut BTreeMap<String, TableCounts>,
    children: &mut Vec<ChildRow>,
) -> Option<String> {
    let mut event_dt = None;
    for (i, r) in reactions.iter().enumerate() {
        let rpath = format!("{ppath}.reaction[{i}]");
        tables.entry("reac".into()).or_default().read += 1;
        let problem = if r.is_object() {
            match r.get("reactionmeddrapt") {
                None | Some(Value::Null) => Some(("no reactionmeddrapt".to_owned(), String::new())),
                Some(Value::String(t)) if t.trim().is_empty() => {
                    Some(("empty reactionmeddrapt".to_owned(), String::new()))
                }
                Some(Value::String(_)) => None,
                // A number here would be a MedDRA code, which vigil does not map to a PT.
                Some(other) => Some((
                    format!(
                        "reactionmeddrapt is a JSON {}, expected the PT text",
                        json_type(other)
                    ),
                    raw_json(other),
                )),
            }
        } else {
            Some((
                format!("a JSON {}, expected a reaction object", json_type(r)),
                raw_json(r),
            ))
        };
        if let Some((reason, raw)) = problem {
            let issue = RowIssue {
                file: rd.file.to_owned(),
                line: rd.line,
                field: Some(format!("{rpath}.reactionmeddrapt")),
                reason,
                raw,
            };
            tables
                .entry("reac".into())
                .or_default()
                .reject(issue, "no usable reactionmeddrapt");
            continue;
        }
        let pt = r["reactionmeddrapt"]
            .as_str()
            .unwrap_or_default()
            .trim()
            .to_owned();
        let start = rd.date(r, &rpath, "reactionstartdate", "demo", "event_dt");
        if event_dt.is_none() {
            event_dt = start;
        }
        children.push(ChildRow {
            table: Table::Reac,
            primaryid,
            caseid,
            values: child_values(ChildTable::Reactions, &[("pt", Some(pt))]),
        });
    }
    event_dt
}

/// The caseid, version and primaryid of an openFDA report: from `safetyreportid` (the caseid is
/// its numeric part before any `-`) and `safetyreportversion` (a version that is not a whole
/// number is stored as null, with a warning). `Err` rejects the report.
fn report_ids(
    report: &Value,
    path: &str,
    rd: &mut ReportReader,
) -> Result<(u64, Option<u32>, u64), Rejected> {
    let reject = |field: String, reason: String, key: &'static str, raw: String| Rejected {
        field,
        reason,
        key,
        raw,
    };
    if !report.is_object() {
        return Err(reject(
            path.to_owned(),
            format!("a JSON {}, expected a report object", json_type(report)),
            "not a report object",
            raw_json(report),
        ));
    }
    let id_path = format!("{path}.safetyreportid");
    let id = match report.get("safetyreportid") {
        None | Some(Value::Null) => {
            return Err(reject(
                id_path,
                "no safetyreportid".into(),
                "bad report id",
                String::new(),
            ))
        }
        Some(Value::String(t)) => t.trim().to_owned(),
        Some(Value::Number(n)) => n.to_string(),
        Some(other) => {
            return Err(reject(
                id_path,
                format!(
                    "safetyreportid is a JSON {}, expected a string",
                    json_type(other)
                ),
                "bad report id",
                raw_json(other),
            ))
        }
    };
    let case_str = id.split('-').next().unwrap_or("");
    let caseid = parse::parse_id(case_str).ok_or_else(|| {
        reject(
            id_path.clone(),
            format!("safetyreportid {id:?} is not numeric"),
            "bad report id",
            id.clone(),
        )
    })?;
    let version = match rd.text(report, path, "safetyreportversion", "demo", "caseversion") {
        None => None,
        Some(v) => match v.parse::<u32>() {
            Ok(n) => Some(n),
            Err(_) => {
                rd.warn(
                    "demo",
                    "caseversion",
                    &format!("{path}.safetyreportversion"),
                    "not a whole number: stored as null".into(),
                    &v,
                );
                None
            }
        },
    };
    let primaryid = primaryid_of(caseid, version).ok_or_else(|| {
        reject(
            format!("{path}.safetyreportversion"),
            format!("safetyreportid {id:?} version {}: versions above {MAX_VERSION} (or ids this long) do not fit the report id", version.unwrap_or(0)),
            "bad report id",
            id.clone(),
        )
    })?;
    Ok((caseid, version, primaryid))
}

/// The active-substance names of a drug: `activesubstance.activesubstancename`, else openFDA's
/// `openfda.generic_name` names joined by `\\` (values that are not strings are warned and left
/// out); empty when neither is given.
fn prod_ai(d: &Value, dpath: &str, substance: &Value, rd: &mut ReportReader) -> String {
    match rd.name(
        substance,
        &format!("{dpath}.activesubstance"),
        "activesubstancename",
        "drug",
        "prod_ai",
    ) {
        Some(p) => p,
        None => {
            let openfda = rd.object(d, dpath, "openfda", "drug");
            match openfda.get("generic_name") {
                None | Some(Value::Null) => String::new(),
                Some(Value::Array(g)) => {
                    let mut names = Vec::new();
                    for (k, x) in g.iter().enumerate() {
                        match x.as_str() {
                            Some(t) => names.push(t),
                            None => rd.warn(
                                "drug",
                                "prod_ai",
                                &format!("{dpath}.openfda.generic_name[{k}]"),
                                format!(
                                    "a JSON {}, expected a name (string): left out",
                                    json_type(x)
                                ),
                                &raw_json(x),
                            ),
                        }
                    }
                    names.join("\\")
                }
                Some(other) => {
                    let reason = format!(
                        "a JSON {}, expected an array of names: not read",
                        json_type(other)
                    );
                    rd.warn(
                        "drug",
                        "prod_ai",
                        &format!("{dpath}.openfda.generic_name"),
                        reason,
                        &raw_json(other),
                    );
                    String::new()
                }
            }
        }
    }
}

/// The report-level (DEMO) values of an openFDA report, read in the order their warnings are
/// listed.
struct DemoFields {
    /// Values by reports-table column (event_dt is added from the reactions).
    values: HashMap<&'static str, Option<String>>,
    fda_dt: Option<String>,
    age_years: Option<f64>,
    weight_kg: Option<f64>,
}

/// Reads the DEMO values of `report` (JSON path `path`) and its `patient` (at `ppath`); a value
/// that cannot be used is stored as null and warned.
fn demo_fields(
    report: &Value,
    path: &str,
    patient: &Value,
    ppath: &str,
    rd: &mut ReportReader,
) -> DemoFields {
    let ps = rd.object(report, path, "primarysource", "demo");
    let pspath = format!("{path}.primarysource");
    let age = rd.text(patient, ppath, "patientonsetage", "demo", "age");
    let age_cod = rd.code(
        patient,
        ppath,
        "patientonsetageunit",
        "demo",
        "age_cod",
        AGE_UNITS,
    );
    let age_unit_given = patient
        .get("patientonsetageunit")
        .is_some_and(|u| !u.is_null());
    let sex = rd.code(patient, ppath, "patientsex", "demo", "sex_raw", SEXES);
    let age_grp = rd.code(
        patient,
        ppath,
        "patientagegroup",
        "demo",
        "age_grp",
        AGE_GROUPS,
    );
    let wt = rd.text(patient, ppath, "patientweight", "demo", "wt");
    let occp = rd.code(
        ps,
        &pspath,
        "qualification",
        "demo",
        "occp_cod",
        QUALIFICATIONS,
    );
    let death = rd.object(patient, ppath, "patientdeath", "demo");
    let death_dt = rd.date(
        death,
        &format!("{ppath}.patientdeath"),
        "patientdeathdate",
        "demo",
        "death_dt",
    );
    let fda_dt = rd.date(report, path, "receiptdate", "demo", "fda_dt");
    let init_fda_dt = rd.date(report, path, "receivedate", "demo", "init_fda_dt");
    let values: HashMap<&str, Option<String>> = HashMap::from([
        ("fda_dt", fda_dt.clone()),
        ("init_fda_dt", init_fda_dt),
        (
            "rept_cod",
            rd.text(report, path, "reporttype", "demo", "rept_cod"),
        ),
        (
            "auth_num",
            rd.text(report, path, "authoritynumb", "demo", "auth_num"),
        ),
        (
            "mfr_num",
            rd.text(report, path, "companynumb", "demo", "mfr_num"),
        ),
        (
            "lit_ref",
            rd.text(ps, &pspath, "literaturereference", "demo", "lit_ref"),
        ),
        ("age", age.clone()),
        ("age_cod", age_cod.map(str::to_owned)),
        ("age_grp", age_grp.map(str::to_owned)),
        ("sex_raw", sex.map(str::to_owned)),
        ("wt", wt.clone()),
        ("wt_cod", wt.as_ref().map(|_| "KG".to_owned())),
        ("occp_cod", occp.map(str::to_owned)),
        (
            "reporter_country",
            rd.text(ps, &pspath, "reportercountry", "demo", "reporter_country"),
        ),
        (
            "occr_country",
            rd.text(report, path, "occurcountry", "demo", "occr_country"),
        ),
        ("death_dt", death_dt),
    ]);
    // An age whose unit is unknown cannot be converted (reading it as years would be a guess).
    let age_years = match (&age, age_unit_given, age_cod) {
        (Some(_), true, None) => None,
        (Some(a), _, cod) => {
            let years = parse::age_years(a, cod.unwrap_or(""));
            if years.is_none() {
                let reason = format!(
                    "age {a:?} {:?} not usable (not a number, or outside 0–122 years)",
                    cod.unwrap_or("")
                );
                rd.warn(
                    "demo",
                    "age",
                    &format!("{ppath}.patientonsetage"),
                    reason,
                    a,
                );
            }
            years
        }
        (None, ..) => None,
    };
    let weight_kg = wt.as_deref().and_then(|w| {
        let kg = parse::weight_kg(w, "KG");
        if kg.is_none() {
            rd.warn(
                "demo",
                "wt",
                &format!("{ppath}.patientweight"),
                format!("weight {w:?} kg is not a positive number: stored as null"),
                w,
            );
        }
        kg
    });
    DemoFields {
        values,
        fda_dt,
        age_years,
        weight_kg,
    }
}

/// Parses one openFDA drug-event file: the bulk/API envelope `{"meta": …, "results": [report, …]}`,
/// a bare array of reports, or one report object. Anything else (`null`, a number, `[]`, an
/// object with neither `results` nor `safetyreportid`, a file without reports) is an error
/// naming the file. `file` names the file in every issue; `batch` and `quarter_key` are stamped
/// on the reports.
pub fn parse_document(
    bytes: &[u8],
    file: &str,
    batch: u32,
    quarter_key: u32,
    normaliser: &DrugNormaliser,
) -> Result<OpenFdaDocument, FaersError> {
    // A UTF-8 byte-order mark is not JSON but some tools write one.
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let doc: Value = serde_json::from_slice(bytes).map_err(|e| FaersError::Located {
        file: file.to_owned(),
        line: e.line() as u64,
        field: None,
        reason: format!("column {}: not valid JSON: {e}", e.column()),
    })?;
    let not_openfda = |what: String| {
        FaersError::Located {
        file: file.to_owned(),
        line: 1,
        field: None,
        reason: format!(
            "not an openFDA drug-event document: {what}; expected {{\"results\": [report, …]}}, an array of reports or one report object"
        ),
    }
    };
    let (reports, prefix): (Vec<&Value>, &str) = match &doc {
        Value::Object(o) if o.contains_key("results") => match &o["results"] {
            Value::Array(a) => (a.iter().collect(), "results"),
            other => {
                return Err(not_openfda(format!(
                    "\"results\" is a JSON {}, not an array",
                    json_type(other)
                )))
            }
        },
        Value::Object(o) if o.contains_key("safetyreportid") => (vec![&doc], ""),
        Value::Object(_) => {
            return Err(not_openfda(
                "an object with neither \"results\" nor \"safetyreportid\"".into(),
            ))
        }
        Value::Array(a) => (a.iter().collect(), ""),
        other => {
            return Err(not_openfda(format!(
                "the top level is a JSON {}",
                json_type(other)
            )))
        }
    };
    if reports.is_empty() {
        return Err(not_openfda("no reports in it".into()));
    }
    let single = matches!(doc, Value::Object(ref o) if !o.contains_key("results"));
    let mut parsed = OpenFdaDocument {
        reports: Vec::new(),
        children: Vec::new(),
        tables: BTreeMap::new(),
        warnings: Warnings::default(),
    };
    for (i, r) in reports.iter().enumerate() {
        let path = if single {
            "$".to_owned()
        } else if prefix.is_empty() {
            format!("$[{i}]")
        } else {
            format!("$.{prefix}[{i}]")
        };
        let line = i as u64 + 1;
        parsed.tables.entry("demo".into()).or_default().read += 1;
        let mut rd = ReportReader {
            file,
            line,
            warnings: &mut parsed.warnings,
        };
        match convert(
            r,
            &path,
            &mut rd,
            batch,
            quarter_key,
            normaliser,
            &mut parsed.children,
            &mut parsed.tables,
        ) {
            Ok(row) => parsed.reports.push(row),
            Err(rej) => {
                let issue = RowIssue {
                    file: file.to_owned(),
                    line,
                    field: Some(rej.field),
                    reason: format!("report #{line}: {}", rej.reason),
                    raw: rej.raw,
                };
                parsed
                    .tables
                    .entry("demo".into())
                    .or_default()
                    .reject(issue, rej.key);
            }
        }
    }
    Ok(parsed)
}

/// Learns drug names from the drugs read (every report's, kept or not, as a FAERS ingest does):
/// `medicinalproduct` paired with the active substance(s) (`activesubstance.activesubstancename`,
/// else `openfda.generic_name`), with the evidence of earlier ingests, under the same rule and
/// into the same files as a FAERS ingest ([`crate::ingest::learn`]); adds them to `normaliser`.
fn learn_openfda_names(
    txn: &StoreTxn,
    children: &[(u32, ChildRow)],
    opts: &IngestOptions,
    normaliser: &mut DrugNormaliser,
    report: &mut IngestReport,
) -> Result<crate::ingest::learn::NamesBefore, FaersError> {
    use crate::ingest::learn;
    let mut learner = learn::stored_learned_names(txn)?;
    for (_, row) in children.iter().filter(|(_, r)| r.table == Table::Drug) {
        if let (Some(name), Some(pa)) = (&row.values[2], &row.values[3]) {
            learner.observe(name, pa, 1);
        }
    }
    let evidence = learner.evidence();
    let learned = learner.finish(opts.learning_rule.unwrap_or_default());
    learn::record_learned(txn, &learned, &evidence, normaliser, report)
}

/// Ingests openFDA drug-event JSON files (plain or zipped) into the store at `store`.
pub fn ingest_openfda(
    paths: &[PathBuf],
    store: &Path,
    opts: &IngestOptions,
) -> Result<IngestOutcome, FaersError> {
    let started = Instant::now();
    let inputs = find_openfda_inputs(paths)?;
    if inputs.is_empty() {
        return Err(FaersError::Input(format!(
            "no openFDA JSON files (*.json) found under {}",
            paths
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
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
    let read = read_by_quarter(
        &inputs,
        &mut txn,
        &mut quarters,
        &normaliser,
        opts,
        &mut report,
    )?;
    let FilesRead {
        candidates,
        children,
        files_read,
        batches,
        warnings,
    } = read;
    let names_before = learn_openfda_names(&txn, &children, opts, &mut normaliser, &mut report)?;
    let read_pids: HashSet<u64> = candidates.iter().map(|r| r.primaryid).collect();
    let mut demo_counts = report.tables.remove("demo").unwrap_or_default();
    // The deleted-case lists a FAERS ingest left in the store apply to these reports too.
    let deleted: HashSet<u64> = crate::ingest::stored_deleted(&txn)?
        .into_iter()
        .map(|r| r.0)
        .collect();
    let dedup = dedup_reports(
        stored,
        candidates,
        &deleted,
        &mut demo_counts,
        &mut report.stored_reports_removed,
    );
    report.tables.insert("demo".into(), demo_counts);
    let kept_children = KeptChildren {
        children: &children,
        winners: dedup.kept.iter().map(|r| (r.primaryid, r.batch)).collect(),
        read_pids,
        normaliser: &normaliser,
    };
    let mut names = NameCounts::default();
    for &batch in &batches {
        for table in &Table::ALL[1..] {
            let child = table.child().expect("child");
            let mut builder = kept_children.rows(table, child, batch, &mut report, &mut names);
            // Drugs and reactions are written for every batch, even empty: the reader takes a
            // batch with reports but no such file for a damaged store.
            if builder.len() > 0 || matches!(table, Table::Drug | Table::Reac) {
                let mut sink = txn.child_sink(child, batch)?;
                sink.write(&builder.finish()?)?;
                sink.finish()?;
            }
        }
    }
    finish_name_stats(&mut report, names.sources, names.unmapped);
    crate::ingest::remap::remap_and_report(&txn, &names_before, &normaliser, &mut report)?;
    let kept_refs: Vec<&DemoRow> = dedup.kept.iter().collect();
    write_reports(&txn, &kept_refs, &quarters)?;
    let reports_in_store = dedup.kept.len() as u64;
    crate::ingest::commit_ingest(txn, report, files_read, reports_in_store, warnings, started)
}

/// What the files of an openFDA ingest gave, before de-duplication.
#[derive(Default)]
struct FilesRead {
    /// Every report read (the de-duplication candidates).
    candidates: Vec<DemoRow>,
    /// Their drug, reaction and other child rows, with the batch of their file.
    children: Vec<(u32, ChildRow)>,
    /// Each file with its batch, for the ingest report and the sources table.
    files_read: Vec<(u32, FileRead)>,
    /// One batch per quarter, in quarter order.
    batches: Vec<u32>,
    /// Field warnings of every file.
    warnings: Warnings,
}

/// Reads and parses the input files one quarter (one store batch) at a time; adds each batch's
/// quarter label to `quarters` and the rows counted per table to `report`.
fn read_by_quarter(
    inputs: &[InputFile],
    txn: &mut StoreTxn,
    quarters: &mut HashMap<u32, String>,
    normaliser: &DrugNormaliser,
    opts: &IngestOptions,
    report: &mut IngestReport,
) -> Result<FilesRead, FaersError> {
    let mut by_quarter: BTreeMap<Option<Quarter>, Vec<&InputFile>> = BTreeMap::new();
    for f in inputs {
        by_quarter
            .entry(f.quarter.or_else(|| quarter_in_name(&f.display)))
            .or_default()
            .push(f);
    }
    let mut read = FilesRead::default();
    for (q, files) in &by_quarter {
        let label = q.map_or_else(|| "unknown".to_owned(), Quarter::label);
        let batch = txn.new_batch(&label);
        quarters.insert(batch, label.clone());
        read.batches.push(batch);
        for f in files {
            let bytes = f.with_reader(|r| {
                let mut buf = Vec::new();
                r.read_to_end(&mut buf).map(|_| buf)
            })?;
            let bytes = bytes.map_err(|e| FaersError::io(&f.display, e))?;
            if let Some(p) = &opts.progress {
                p(bytes.len() as u64);
            }
            let parsed = parse_document(
                &bytes,
                &f.display,
                batch,
                q.map_or(0, Quarter::key),
                normaliser,
            )?;
            let rows = parsed.tables.get("demo").map_or(0, |c| c.read);
            for (table, counts) in parsed.tables {
                report.table_mut(&table).merge(counts);
            }
            read.warnings.merge(parsed.warnings);
            read.candidates.extend(parsed.reports);
            read.children
                .extend(parsed.children.into_iter().map(|k| (batch, k)));
            read.files_read.push((
                batch,
                FileRead {
                    path: f.display.clone(),
                    table: "openfda".into(),
                    quarter: label.clone(),
                    era: "openfda".into(),
                    bytes: bytes.len() as u64,
                    rows,
                },
            ));
        }
    }
    Ok(read)
}

/// How the drug names written were resolved ([`finish_name_stats`]).
#[derive(Default)]
struct NameCounts {
    /// Drug rows per name source.
    sources: HashMap<&'static str, u64>,
    /// Drug rows per ingredient left as the cleaned name (no dictionary entry).
    unmapped: HashMap<String, u64>,
}

/// Which child rows are written: those of the reports de-duplication kept, from the batch that
/// holds the kept version, without a repeated drug or reaction of a report.
struct KeptChildren<'a> {
    /// Every child row read, with its batch.
    children: &'a [(u32, ChildRow)],
    /// The batch of each report kept.
    winners: HashMap<u64, u32>,
    /// The primaryids of every report read (a child row always belongs to one).
    read_pids: HashSet<u64>,
    /// Drug names, with the names learned from every drug read.
    normaliser: &'a DrugNormaliser,
}

impl KeptChildren<'_> {
    /// The rows of `table` in `batch` to write; counts each row kept or de-duplicated in
    /// `report`, and each drug's name source in `names`.
    fn rows(
        &self,
        table: &Table,
        child: ChildTable,
        batch: u32,
        report: &mut IngestReport,
        names: &mut NameCounts,
    ) -> ChildBuilder {
        let mut builder = ChildBuilder::new(child);
        let mut seen: HashSet<(u64, String)> = HashSet::new();
        for (b, row) in self
            .children
            .iter()
            .filter(|(b, r)| *b == batch && r.table == *table)
        {
            let counts = report.tables.entry(table.key().to_owned()).or_default();
            if self.winners.get(&row.primaryid) != Some(b) {
                debug_assert!(self.read_pids.contains(&row.primaryid));
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
                    counts.dedup(
                        if *table == Table::Reac {
                            crate::ingest::rules::DUP_REAC
                        } else {
                            crate::ingest::rules::DUP_DRUG
                        },
                        1,
                    );
                    continue;
                }
            }
            // A drug's ingredient again, now with the names learned from every drug read.
            let mut ingredient = String::new();
            if *table == Table::Drug {
                let name = row.values[2].as_deref().unwrap_or_default();
                let pa = row.values[3].as_deref().unwrap_or_default();
                let src;
                (ingredient, src) = self.normaliser.normalise(name, pa);
                *names.sources.entry(src.key()).or_default() += 1;
                if src == NameSource::Cleaned {
                    *names.unmapped.entry(ingredient.clone()).or_default() += 1;
                }
            }
            let mut values: Vec<Option<&str>> = row.values.iter().map(|v| v.as_deref()).collect();
            if *table == Table::Drug {
                values[4] = (!ingredient.is_empty()).then_some(ingredient.as_str());
            }
            builder.push(row.primaryid, Some(row.caseid), *b, values.into_iter());
            counts.kept += 1;
        }
        builder
    }
}
