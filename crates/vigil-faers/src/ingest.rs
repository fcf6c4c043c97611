//! The ingest pipeline: FDA files → a new, de-duplicated store version.
//!
//! 1. Find the inputs; read every deleted-case list.
//! 2. Read every DEMO file (all quarters) into report candidates, together with the reports
//!    already in the store.
//! 3. De-duplicate reports (faers-format.md §5, rules 1–3):
//!    * `deleted case`: caseid on a deleted-case list (any naming variant);
//!    * `same primaryid republished later`: one primaryid in several quarters keeps the latest;
//!    * `older case version`: one report per caseid, the greatest by (caseversion, fda_dt,
//!      quarter, primaryid); legacy AERS reports have no caseversion and count as version 0, so
//!      a case carried from AERS into FAERS keeps its FAERS version;
//!    * `older than the stored version`: a candidate that loses to the report already stored.
//! 4. Per quarter, stream the child tables in parallel, keeping rows whose primaryid is a kept
//!    report of that quarter, and removing duplicate rows on (primaryid, drug_seq) for DRUG and
//!    (primaryid, upper(pt)) for REAC.
//! 5. Write `reports`, `sources` and the child batch files into a new store version and switch
//!    to it atomically (see `vigil_store::write`).
//!
//! Every row read is counted once as kept, rejected or de-duplicated in the ingest report.
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use arrow::array::{
    Array, ArrayRef, AsArray, Float64Builder, Int32Builder, RecordBatch, StringBuilder,
    UInt32Builder, UInt64Builder,
};
use arrow::datatypes::{Float64Type, UInt32Type, UInt64Type};
use rayon::prelude::*;
use vigil_store::ingest_report::{
    FileRead, IngestReport, RowIssue, TableCounts, MAX_LISTED_UNMAPPED,
};
use vigil_store::layout::{
    deleted_schema, reports_schema, sources_schema, ChildTable, DELETED_FILE, REPORTS_FILE,
    REPORT_TEXT_COLUMNS, SOURCES_FILE,
};
use vigil_store::read::read_parquet;
use vigil_store::write::{ParquetSink, StoreTxn};

use crate::discover::{find_faers_inputs, InputFile, InputKind, Quarter};
use crate::drugname::{DrugNormaliser, NameSource};
use crate::parse::{self, PartialDate};
use crate::record::{DollarReader, Record};
use crate::table::{column_indexes, Era, Table};
use crate::FaersError;

/// Rows per Arrow batch written.
const FLUSH_ROWS: usize = 64 * 1024;
/// Field warnings listed (all are counted).
const MAX_WARNING_EXAMPLES: usize = 1_000;
/// Separator of the text fields packed into one string per report in memory.
const PACK_SEP: char = '\u{1f}';

/// Rule names used in the ingest report.
pub mod rules {
    /// Caseid on a deleted-case list.
    pub const DELETED: &str = "deleted case";
    /// The same primaryid in several quarters: the latest quarter is kept.
    pub const REPUBLISHED: &str = "same primaryid republished later";
    /// A newer version of the same caseid was kept.
    pub const OLDER_VERSION: &str = "older case version";
    /// The store already holds a newer (or equal) version of the case.
    pub const OLDER_THAN_STORED: &str = "older than the stored version";
    /// Child row of a report that was not kept (deleted or superseded).
    pub const REPORT_NOT_KEPT: &str = "report not kept (deleted or superseded)";
    /// A case version already stored, re-sent with fewer drug or reaction rows: the stored copy is kept.
    pub const LESS_COMPLETE: &str =
        "same case version re-sent with fewer drug or reaction rows (stored copy kept)";
    /// The same caseid in legacy AERS and in FAERS: one report is kept, the latest version
    /// (legacy AERS counts as version 0; faers-format.md §5 rule 3).
    pub const CROSS_ERA: &str = "same case in legacy AERS and FAERS (cross-era)";
    /// Duplicate DRUG row on (primaryid, drug_seq).
    pub const DUP_DRUG: &str = "duplicate (primaryid, drug_seq)";
    /// Duplicate REAC row on (primaryid, upper(pt)).
    pub const DUP_REAC: &str = "duplicate (primaryid, upper(pt))";
}

/// Options of an ingest.
#[derive(Clone, Default)]
pub struct IngestOptions {
    /// Extra brand → ingredient CSV files (`brand,ingredient[,source]`).
    pub dictionary_files: Vec<PathBuf>,
    /// Called with the number of input bytes just processed (for a progress bar).
    pub progress: Option<Arc<dyn Fn(u64) + Send + Sync>>,
}

/// What an ingest did.
#[derive(Debug, Clone)]
pub struct IngestOutcome {
    /// The ingest report (also written into the store version).
    pub report: IngestReport,
    /// The new live version directory.
    pub version_dir: PathBuf,
    /// Input bytes read (uncompressed).
    pub bytes: u64,
}

/// A report in memory during an ingest.
#[derive(Debug, Clone)]
pub(crate) struct DemoRow {
    pub primaryid: u64,
    pub caseid: u64,
    pub caseversion: Option<u32>,
    pub fda_key: u32,
    pub quarter_key: u32,
    pub batch: u32,
    pub source: &'static str,
    /// The [`REPORT_TEXT_COLUMNS`] values joined by [`PACK_SEP`] (empty = null).
    pub text: Box<str>,
    pub age_years: Option<f64>,
    pub weight_kg: Option<f64>,
}

impl DemoRow {
    fn order_key(&self) -> (u32, u32, u32, u64) {
        (
            self.caseversion.unwrap_or(0),
            self.fda_key,
            self.quarter_key,
            self.primaryid,
        )
    }

    /// Packs text values (one per [`REPORT_TEXT_COLUMNS`]).
    pub(crate) fn pack<'a>(values: impl Iterator<Item = Option<&'a str>>) -> Box<str> {
        let mut s = String::new();
        for (i, v) in values.enumerate() {
            if i > 0 {
                s.push(PACK_SEP);
            }
            if let Some(v) = v {
                if v.contains(PACK_SEP) {
                    s.push_str(&v.replace(PACK_SEP, " "));
                } else {
                    s.push_str(v);
                }
            }
        }
        s.into_boxed_str()
    }
}

/// Field-level warnings (a value that could not be parsed is stored as null, and counted).
#[derive(Debug, Default)]
pub(crate) struct Warnings {
    pub counts: BTreeMap<String, u64>,
    pub examples: Vec<RowIssue>,
}

impl Warnings {
    fn add(&mut self, file: &str, line: u64, table: &str, field: &str, reason: String, raw: &str) {
        self.add_at(file, line, table, field, field, reason, raw);
    }
    /// Counts a warning under `table.column` and lists it with `location` as its field (a column
    /// name, or a JSON path for openFDA).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn add_at(
        &mut self,
        file: &str,
        line: u64,
        table: &str,
        column: &str,
        location: &str,
        reason: String,
        raw: &str,
    ) {
        *self.counts.entry(format!("{table}.{column}")).or_default() += 1;
        if self.examples.len() < MAX_WARNING_EXAMPLES {
            self.examples.push(RowIssue {
                file: file.to_owned(),
                line,
                field: Some(location.to_owned()),
                reason,
                raw: raw.to_owned(),
            });
        }
    }
    pub(crate) fn merge(&mut self, o: Warnings) {
        for (k, v) in o.counts {
            *self.counts.entry(k).or_default() += v;
        }
        let room = MAX_WARNING_EXAMPLES.saturating_sub(self.examples.len());
        self.examples.extend(o.examples.into_iter().take(room));
    }
}

fn issue(file: &InputFile, line: u64, field: Option<&str>, reason: String, raw: &str) -> RowIssue {
    RowIssue {
        file: file.display.clone(),
        line,
        field: field.map(str::to_owned),
        reason,
        raw: raw.to_owned(),
    }
}

const DATE_COLUMNS: &[&str] = &[
    "event_dt",
    "mfr_dt",
    "init_fda_dt",
    "fda_dt",
    "rept_dt",
    "death_dt",
    "exp_dt",
    "start_dt",
    "end_dt",
];

fn progress_tick(opts: &IngestOptions, reader_bytes: u64, last: &mut u64) {
    if let Some(p) = &opts.progress {
        if reader_bytes > *last {
            p(reader_bytes - *last);
            *last = reader_bytes;
        }
    }
}

struct DemoParse {
    rows: Vec<DemoRow>,
    counts: TableCounts,
    warnings: Warnings,
    file: FileRead,
}

fn read_demo(
    file: &InputFile,
    batch: u32,
    quarter: Option<Quarter>,
    opts: &IngestOptions,
) -> Result<DemoParse, FaersError> {
    file.with_reader(|r| -> Result<DemoParse, FaersError> {
        let mut counts = TableCounts::default();
        let mut warnings = Warnings::default();
        let mut rows = Vec::new();
        let Some(mut rd) = DollarReader::new(r).map_err(|e| FaersError::io(&file.display, e))?
        else {
            return Ok(DemoParse {
                rows,
                counts,
                warnings,
                file: file_read(file, "demo", quarter, "empty", 0, 0),
            });
        };
        let qk = quarter.map_or(0, Quarter::key);
        let era = Era::detect(Table::Demo, rd.header(), quarter.map(Quarter::key));
        let source = if file.synthetic {
            "synthetic"
        } else if era == Era::Aers {
            "aers"
        } else {
            "faers"
        };
        let keys = column_indexes(
            Table::Demo,
            rd.header(),
            &["primaryid", "caseid", "caseversion"],
        );
        let text_idx = column_indexes(Table::Demo, rd.header(), REPORT_TEXT_COLUMNS);
        if keys[0].is_none() || keys[1].is_none() {
            return Err(FaersError::Input(format!(
                "{}: DEMO header has no primaryid/isr or caseid/case column: {:?}",
                file.display,
                rd.header()
            )));
        }
        let mut rec = Record::default();
        let mut last_bytes = 0;
        let mut packed = String::new();
        let is_date: Vec<bool> = REPORT_TEXT_COLUMNS
            .iter()
            .map(|c| DATE_COLUMNS.contains(c))
            .collect();
        while let Some(res) = rd
            .next_record(&mut rec)
            .map_err(|e| FaersError::io(&file.display, e))?
        {
            counts.read += 1;
            if counts.read % 65_536 == 0 {
                progress_tick(opts, rd.bytes_read(), &mut last_bytes);
            }
            if let Err(bad) = res {
                counts.reject(issue(file, bad.line, None, bad.reason, &bad.raw), bad.kind);
                continue;
            }
            let pid_raw = rec.text(keys[0].expect("checked"));
            let Some(primaryid) = parse::parse_id(&pid_raw) else {
                counts.reject(
                    issue(
                        file,
                        rec.line,
                        Some("primaryid"),
                        "not a numeric id".into(),
                        &pid_raw,
                    ),
                    "bad primaryid",
                );
                continue;
            };
            let case_raw = rec.text(keys[1].expect("checked"));
            let Some(caseid) = parse::parse_id(&case_raw) else {
                counts.reject(
                    issue(
                        file,
                        rec.line,
                        Some("caseid"),
                        "not a numeric id".into(),
                        &case_raw,
                    ),
                    "bad caseid",
                );
                continue;
            };
            let caseversion = match keys[2] {
                Some(i) => {
                    let raw = rec.text(i);
                    let t = raw.trim().trim_end_matches(".0");
                    if t.is_empty() {
                        None
                    } else {
                        match t.parse::<u32>() {
                            Ok(v) => Some(v),
                            Err(_) => {
                                warnings.add(
                                    &file.display,
                                    rec.line,
                                    "demo",
                                    "caseversion",
                                    "not a number".into(),
                                    &raw,
                                );
                                None
                            }
                        }
                    }
                }
                None => None,
            };
            packed.clear();
            for (j, (col, idx)) in REPORT_TEXT_COLUMNS.iter().zip(&text_idx).enumerate() {
                if j > 0 {
                    packed.push(PACK_SEP);
                }
                let Some(v) = idx.and_then(|i| rec.opt_text(i)) else {
                    continue;
                };
                if is_date[j] {
                    match PartialDate::normalised(&v) {
                        Ok(Some(d)) => packed.push_str(d),
                        Ok(None) => {}
                        Err(e) => warnings.add(&file.display, rec.line, "demo", col, e, &v),
                    }
                } else if v.contains(PACK_SEP) {
                    packed.push_str(&v.replace(PACK_SEP, " "));
                } else {
                    packed.push_str(&v);
                }
            }
            let get = |name: &str| -> std::borrow::Cow<'_, str> {
                let i = REPORT_TEXT_COLUMNS
                    .iter()
                    .position(|c| *c == name)
                    .expect("known");
                text_idx[i]
                    .and_then(|i| rec.opt_text(i))
                    .unwrap_or_default()
            };
            let age = get("age");
            let age_years = if age.is_empty() {
                None
            } else {
                parse::age_years(&age, &get("age_cod"))
            };
            if !age.is_empty() && age_years.is_none() {
                warnings.add(
                    &file.display,
                    rec.line,
                    "demo",
                    "age",
                    format!(
                        "age {age:?} {:?} not usable (unit unknown or outside 0–122 years)",
                        get("age_cod")
                    ),
                    &age,
                );
            }
            let wt = get("wt");
            let weight_kg = if wt.is_empty() {
                None
            } else {
                parse::weight_kg(&wt, &get("wt_cod"))
            };
            let fda_key = PartialDate::parse(&get("fda_dt"))
                .ok()
                .flatten()
                .map_or(0, |d| d.sort_key());
            rows.push(DemoRow {
                primaryid,
                caseid,
                caseversion,
                fda_key,
                quarter_key: qk,
                batch,
                source,
                text: packed.as_str().into(),
                age_years,
                weight_kg,
            });
        }
        progress_tick(opts, rd.bytes_read(), &mut last_bytes);
        let fr = file_read(
            file,
            "demo",
            quarter,
            era.name(),
            rd.bytes_read(),
            counts.read,
        );
        Ok(DemoParse {
            rows,
            counts,
            warnings,
            file: fr,
        })
    })?
}

fn file_read(
    file: &InputFile,
    table: &str,
    quarter: Option<Quarter>,
    era: &str,
    bytes: u64,
    rows: u64,
) -> FileRead {
    FileRead {
        path: file.display.clone(),
        table: table.to_owned(),
        quarter: quarter.map_or_else(|| "unknown".to_owned(), Quarter::label),
        era: era.to_owned(),
        bytes,
        rows,
    }
}

/// Arrow builders for one child table.
pub(crate) struct ChildBuilder {
    table: ChildTable,
    pub(crate) pid: UInt64Builder,
    pub(crate) caseid: UInt64Builder,
    pub(crate) batch: UInt32Builder,
    pub(crate) text: Vec<StringBuilder>,
    pub(crate) len: usize,
}

impl ChildBuilder {
    pub(crate) fn new(table: ChildTable) -> Self {
        Self {
            table,
            pid: UInt64Builder::new(),
            caseid: UInt64Builder::new(),
            batch: UInt32Builder::new(),
            text: table
                .text_columns()
                .iter()
                .map(|_| StringBuilder::new())
                .collect(),
            len: 0,
        }
    }
    pub(crate) fn push<'a>(
        &mut self,
        pid: u64,
        caseid: Option<u64>,
        batch: u32,
        values: impl Iterator<Item = Option<&'a str>>,
    ) {
        self.pid.append_value(pid);
        self.caseid.append_option(caseid);
        self.batch.append_value(batch);
        for (b, v) in self.text.iter_mut().zip(values) {
            b.append_option(v);
        }
        self.len += 1;
    }
    pub(crate) fn finish(&mut self) -> Result<RecordBatch, FaersError> {
        let mut cols: Vec<ArrayRef> = vec![
            Arc::new(self.pid.finish()),
            Arc::new(self.caseid.finish()),
            Arc::new(self.batch.finish()),
        ];
        cols.extend(
            self.text
                .iter_mut()
                .map(|b| Arc::new(b.finish()) as ArrayRef),
        );
        self.len = 0;
        RecordBatch::try_new(self.table.schema(), cols).map_err(|e| FaersError::Store(e.into()))
    }
    pub(crate) fn len(&self) -> usize {
        self.len
    }
}

/// Per-table result of streaming the child files of one quarter.
struct ChildParse {
    table: Table,
    counts: TableCounts,
    warnings: Warnings,
    files: Vec<FileRead>,
    name_sources: HashMap<&'static str, u64>,
    unmapped: HashMap<String, u64>,
}

/// 64-bit FNV-1a of the upper-cased bytes: the de-duplication key of a drug_seq or a PT
/// (a collision between two different values of one report has probability ~2^-64 per pair).
fn fnv1a_upper(b: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &c in b {
        h ^= c.to_ascii_uppercase() as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

struct ChildContext<'a> {
    batch: u32,
    quarter: Option<Quarter>,
    /// Primaryids of this batch's kept reports.
    winners: &'a SortedIds,
    group_pids: &'a ahash::AHashSet<u64>,
    deleted: &'a HashSet<u64>,
    normaliser: &'a DrugNormaliser,
    opts: &'a IngestOptions,
}

/// Primaryids, sorted. FAERS files list their rows in primaryid order, so a look-up continues
/// from the previous one with a short forward gallop; any other order falls back to a binary
/// search from the start, so the answer never depends on the order. Why not a hash set: a
/// quarter's ~1.25 M kept ids make each random probe a cache miss (14 % of ingest time, perf).
#[derive(Debug, Default)]
struct SortedIds(Vec<u64>);

impl SortedIds {
    fn from_unsorted(mut ids: Vec<u64>) -> Self {
        ids.sort_unstable();
        ids.dedup();
        Self(ids)
    }

    /// True when `id` is in the set; `cursor` carries the position of the previous look-up.
    fn contains_from(&self, id: u64, cursor: &mut usize) -> bool {
        let v = &self.0;
        let start = if *cursor < v.len() && v[*cursor] <= id {
            *cursor
        } else {
            0
        };
        // Gallop forward from `start` to an `end` with v[end] > id (or the end of the list).
        let mut step = 1;
        let mut end = start + 1;
        while end < v.len() && v[end] <= id {
            step *= 2;
            end = start + step;
        }
        let end = end.min(v.len());
        let pos = start + v[start..end].partition_point(|&x| x < id);
        *cursor = pos.min(v.len().saturating_sub(1));
        pos < v.len() && v[pos] == id
    }
}

/// The (primaryid, key) pairs already kept in one child table, for the duplicate-row rule. A
/// report's rows are adjacent in FAERS files, so a new key is compared with the few keys of the
/// current report only; when a primaryid comes back after a higher one (rows out of order), every
/// pair seen so far goes into a hash set and that is used from then on, so the rule is exact in
/// any order. Why: a hash-set insert per row was 12 % of ingest time (perf).
#[derive(Debug, Default)]
struct SeenKeys {
    current: Option<u64>,
    current_keys: Vec<u64>,
    highest: Option<u64>,
    history: Vec<(u64, u64)>,
    set: Option<ahash::AHashSet<(u64, u64)>>,
}

impl SeenKeys {
    /// Records (`pid`, `key`); false when it was recorded before.
    fn insert(&mut self, pid: u64, key: u64) -> bool {
        if let Some(set) = &mut self.set {
            return set.insert((pid, key));
        }
        if self.current != Some(pid) {
            if self.highest.is_some_and(|h| pid <= h) {
                // This primaryid may have had rows before: switch to the exact set.
                let mut set: ahash::AHashSet<(u64, u64)> = self.history.drain(..).collect();
                let fresh = set.insert((pid, key));
                self.set = Some(set);
                return fresh;
            }
            self.current = Some(pid);
            self.highest = Some(pid);
            self.current_keys.clear();
        }
        if self.current_keys.contains(&key) {
            return false;
        }
        self.current_keys.push(key);
        self.history.push((pid, key));
        true
    }
}

fn read_child_table(
    table: Table,
    files: &[&InputFile],
    ctx: &ChildContext,
    sink: &mut ParquetSink,
) -> Result<ChildParse, FaersError> {
    let child = table.child().expect("child table");
    let mut out = ChildParse {
        table,
        counts: TableCounts::default(),
        warnings: Warnings::default(),
        files: Vec::new(),
        name_sources: HashMap::new(),
        unmapped: HashMap::new(),
    };
    let mut builder = ChildBuilder::new(child);
    let mut seen = SeenKeys::default();
    // (drugname, prod_ai) → (ingredient, source, rows): one normalisation per distinct pair.
    let mut cache: ahash::AHashMap<String, (Arc<str>, NameSource, u64)> = ahash::AHashMap::new();
    let mut key_buf = String::new();
    let cols = child.text_columns();
    let is_date: Vec<bool> = cols.iter().map(|c| DATE_COLUMNS.contains(c)).collect();
    for file in files {
        let fr = file.with_reader(|r| -> Result<FileRead, FaersError> {
            let Some(mut rd) =
                DollarReader::new(r).map_err(|e| FaersError::io(&file.display, e))?
            else {
                return Ok(file_read(file, table.key(), ctx.quarter, "empty", 0, 0));
            };
            let era = Era::detect(table, rd.header(), ctx.quarter.map(Quarter::key));
            let keys = column_indexes(table, rd.header(), &["primaryid", "caseid"]);
            let Some(pid_idx) = keys[0] else {
                return Err(FaersError::Input(format!(
                    "{}: header has no primaryid/isr column: {:?}",
                    file.display,
                    rd.header()
                )));
            };
            let idx = column_indexes(table, rd.header(), cols);
            let drugname_i = column_indexes(table, rd.header(), &["drugname", "prod_ai"]);
            let seq_col = match table {
                Table::Drug => cols.iter().position(|c| *c == "drug_seq"),
                Table::Reac => cols.iter().position(|c| *c == "pt"),
                _ => None,
            };
            let ingredient_col = cols.iter().position(|c| *c == "ingredient");
            let mut rec = Record::default();
            let mut last_pid: Option<(u64, bool)> = None;
            let mut cursor = 0usize;
            let mut read_here = 0u64;
            let mut last_bytes = 0;
            while let Some(res) = rd
                .next_record(&mut rec)
                .map_err(|e| FaersError::io(&file.display, e))?
            {
                out.counts.read += 1;
                read_here += 1;
                if read_here % 65_536 == 0 {
                    progress_tick(ctx.opts, rd.bytes_read(), &mut last_bytes);
                }
                if let Err(bad) = res {
                    out.counts
                        .reject(issue(file, bad.line, None, bad.reason, &bad.raw), bad.kind);
                    continue;
                }
                let pid_raw = rec.text(pid_idx);
                let Some(pid) = parse::parse_id(&pid_raw) else {
                    out.counts.reject(
                        issue(
                            file,
                            rec.line,
                            Some("primaryid"),
                            "not a numeric id".into(),
                            &pid_raw,
                        ),
                        "bad primaryid",
                    );
                    continue;
                };
                let caseid = keys[1].and_then(|i| parse::parse_id(&rec.text(i)));
                // Files are grouped by primaryid, so the decision is cached for a run of rows.
                let live = match last_pid {
                    Some((p, l)) if p == pid => l,
                    _ => {
                        let l = ctx.winners.contains_from(pid, &mut cursor);
                        last_pid = Some((pid, l));
                        l
                    }
                };
                if !live {
                    if ctx.group_pids.contains(&pid)
                        || caseid.is_some_and(|c| ctx.deleted.contains(&c))
                    {
                        out.counts.dedup(rules::REPORT_NOT_KEPT, 1);
                    } else {
                        out.counts.reject(
                            issue(
                                file,
                                rec.line,
                                Some("primaryid"),
                                "primaryid not in DEMO of this quarter (orphan row)".into(),
                                &pid_raw,
                            ),
                            "orphan (primaryid not in DEMO)",
                        );
                    }
                    continue;
                }
                if let Some(sc) = seq_col {
                    let v = idx[sc].map(|i| rec.bytes(i)).unwrap_or(&[]);
                    let h = fnv1a_upper(crate::record::trim_bytes(v));
                    if !seen.insert(pid, h) {
                        out.counts.dedup(
                            if table == Table::Reac {
                                rules::DUP_REAC
                            } else {
                                rules::DUP_DRUG
                            },
                            1,
                        );
                        continue;
                    }
                }
                let ingredient: Option<Arc<str>> = match ingredient_col {
                    Some(_) => {
                        let dn = drugname_i[0].map(|i| rec.text(i)).unwrap_or_default();
                        let pa = drugname_i[1].map(|i| rec.text(i)).unwrap_or_default();
                        key_buf.clear();
                        key_buf.push_str(&dn);
                        key_buf.push(PACK_SEP);
                        key_buf.push_str(&pa);
                        let entry = match cache.get_mut(key_buf.as_str()) {
                            Some(e) => e,
                            None => {
                                let (ing, src) = ctx.normaliser.normalise(&dn, &pa);
                                cache
                                    .entry(key_buf.clone())
                                    .or_insert((Arc::from(ing), src, 0))
                            }
                        };
                        entry.2 += 1;
                        Some(entry.0.clone())
                    }
                    None => None,
                };
                builder.pid.append_value(pid);
                builder.caseid.append_option(caseid);
                builder.batch.append_value(ctx.batch);
                for (j, i) in idx.iter().enumerate() {
                    let b = &mut builder.text[j];
                    if Some(j) == ingredient_col {
                        match ingredient.as_deref() {
                            Some(x) if !x.is_empty() => b.append_value(x),
                            _ => b.append_null(),
                        }
                        continue;
                    }
                    match i.and_then(|i| rec.opt_text(i)) {
                        None => b.append_null(),
                        Some(v) if is_date[j] => match PartialDate::normalised(&v) {
                            Ok(Some(d)) => b.append_value(d),
                            Ok(None) => b.append_null(),
                            Err(e) => {
                                out.warnings.add(
                                    &file.display,
                                    rec.line,
                                    table.key(),
                                    cols[j],
                                    e,
                                    &v,
                                );
                                b.append_null();
                            }
                        },
                        Some(v) => b.append_value(&*v),
                    }
                }
                builder.len += 1;
                out.counts.kept += 1;
                if builder.len() >= FLUSH_ROWS {
                    sink.write(&builder.finish()?)?;
                }
            }
            progress_tick(ctx.opts, rd.bytes_read(), &mut last_bytes);
            Ok(file_read(
                file,
                table.key(),
                ctx.quarter,
                era.name(),
                rd.bytes_read(),
                read_here,
            ))
        })??;
        out.files.push(fr);
    }
    for (ing, src, n) in cache.into_values() {
        *out.name_sources.entry(src.key()).or_default() += n;
        if src == NameSource::Cleaned {
            *out.unmapped.entry(ing.to_string()).or_default() += n;
        }
    }
    if builder.len() > 0 {
        sink.write(&builder.finish()?)?;
    }
    Ok(out)
}

/// Columns (unified names) a table must have to be ingested, by era. Sources: faers-format.md
/// §2 (the column lists of each era) and §4.12 (the joins): every table is keyed by primaryid
/// (legacy ISR); FAERS DEMO needs caseid, caseversion and fda_dt for the one-version-per-case
/// rule (§5 rule 1; legacy has no caseversion, CASE becomes caseid); DRUG needs drug_seq (the
/// duplicate rule and the THER/INDI joins), role_cod (suspect or not) and the name columns
/// (drugname in every era, prod_ai from 2014Q3, FAERS version B); REAC needs pt (without it every
/// row of a report looks like a duplicate of the first).
pub fn required_columns(table: Table, legacy: bool, quarter: Option<Quarter>) -> Vec<&'static str> {
    let version_b = quarter.is_some_and(|q| q.key() >= 20143);
    let mut cols = vec!["primaryid"];
    match table {
        Table::Demo => {
            cols.push("caseid");
            if !legacy {
                cols.extend(["caseversion", "fda_dt"]);
            }
        }
        Table::Drug => {
            cols.extend(["drug_seq", "role_cod", "drugname"]);
            if !legacy && version_b {
                cols.push("prod_ai");
            }
        }
        Table::Reac => cols.push("pt"),
        Table::Outc => cols.push("outc_cod"),
        Table::Rpsr => cols.push("rpsr_cod"),
        Table::Ther => cols.push("dsg_drug_seq"),
        Table::Indi => cols.extend(["indi_drug_seq", "indi_pt"]),
    }
    cols
}

/// The input a quarter came from, for errors about a table it lacks: the zip of a zip member,
/// else the folder of the file.
fn quarter_input(f: &InputFile) -> String {
    match f.display.split_once('!') {
        Some((archive, _)) => archive.to_owned(),
        None => Path::new(&f.display)
            .parent()
            .map_or_else(|| f.display.clone(), |p| p.display().to_string()),
    }
}

/// Refuses, before anything is written, a quarter that would replace good reports with broken
/// ones: one without DEMO, DRUG or REAC (a report without drugs or reactions cannot enter any
/// signal), a table file that is empty (0 bytes or no header line), or a table without a column
/// it needs ([`required_columns`]).
pub fn check_quarters(
    groups: &BTreeMap<Option<Quarter>, Vec<&InputFile>>,
) -> Result<(), FaersError> {
    for (q, files) in groups {
        let label = q.map_or_else(|| "of unknown date".to_owned(), Quarter::label);
        for t in [Table::Demo, Table::Drug, Table::Reac] {
            if !files.iter().any(|f| f.kind == InputKind::Table(t)) {
                let input = files.first().map(|f| quarter_input(f)).unwrap_or_default();
                return Err(FaersError::Located {
                    file: input,
                    line: 1,
                    field: None,
                    reason: format!(
                        "quarter {label} has no {} file ({}*.txt): refused, nothing written (a quarter needs DEMO, DRUG and REAC; without {} its reports would replace stored ones without their {})",
                        t.prefix(),
                        t.prefix(),
                        t.prefix(),
                        if t == Table::Reac { "reactions" } else if t == Table::Drug { "drugs" } else { "case data" }
                    ),
                });
            }
        }
        for f in files {
            let InputKind::Table(t) = f.kind else {
                continue;
            };
            if f.bytes == 0 {
                return Err(FaersError::Located {
                    file: f.display.clone(),
                    line: 1,
                    field: None,
                    reason: format!(
                        "empty {} file (0 bytes): refused, nothing written",
                        t.prefix()
                    ),
                });
            }
            let header = f.with_reader(|r| {
                DollarReader::new(r).map(|rd| rd.map(|rd| rd.header().to_vec()))
            })?;
            let header = header.map_err(|e| FaersError::io(&f.display, e))?;
            let Some(header) = header else {
                return Err(FaersError::Located {
                    file: f.display.clone(),
                    line: 1,
                    field: None,
                    reason: format!(
                        "{} file has no header line (only blank lines): refused, nothing written",
                        t.prefix()
                    ),
                });
            };
            let legacy = Era::detect(t, &header, q.map(Quarter::key)) == Era::Aers;
            let wanted = required_columns(t, legacy, *q);
            let found = column_indexes(t, &header, &wanted);
            if let Some((missing, _)) = wanted.iter().zip(&found).find(|(_, i)| i.is_none()) {
                return Err(FaersError::Located {
                    file: f.display.clone(),
                    line: 1,
                    field: Some((*missing).to_owned()),
                    reason: format!(
                        "missing column in the {} header ({}): refused, nothing written",
                        t.prefix(),
                        header.join("$")
                    ),
                });
            }
        }
    }
    Ok(())
}

/// Reads the caseids of a deleted-case list: one per line; blank lines (the first line of
/// `DELETE25Q4.txt` is a single space) are skipped; anything else that is not a number is a
/// rejected row.
pub fn read_deleted_list(
    file: &InputFile,
    counts: &mut TableCounts,
    into: &mut HashSet<u64>,
) -> Result<FileRead, FaersError> {
    file.with_reader(|r| -> Result<FileRead, FaersError> {
        let mut line = Vec::new();
        let mut n = 0u64;
        let mut bytes = 0u64;
        let mut rows = 0u64;
        loop {
            line.clear();
            let k = r
                .read_until(b'\n', &mut line)
                .map_err(|e| FaersError::io(&file.display, e))?;
            if k == 0 {
                break;
            }
            bytes += k as u64;
            n += 1;
            let t = crate::record::trim_bytes(&line);
            let t = if n == 1 {
                t.strip_prefix(&[0xEF, 0xBB, 0xBF][..]).unwrap_or(t)
            } else {
                t
            };
            let t = crate::record::trim_bytes(t);
            if t.is_empty() {
                continue;
            }
            rows += 1;
            counts.read += 1;
            let s = crate::record::decode_field(t);
            match parse::parse_id(s.trim_end_matches('$')) {
                Some(id) => {
                    into.insert(id);
                    counts.kept += 1;
                }
                None => counts.reject(
                    issue(file, n, Some("caseid"), "not a numeric caseid".into(), &s),
                    "bad caseid",
                ),
            }
        }
        Ok(file_read(
            file,
            "deleted",
            file.quarter,
            "deleted-list",
            bytes,
            rows,
        ))
    })?
}

pub(crate) fn demo_rows_from_batches(
    batches: &[RecordBatch],
    quarters: &HashMap<u32, String>,
) -> Vec<DemoRow> {
    let mut out = Vec::new();
    for rb in batches {
        let s = rb.schema();
        let col = |n: &str| rb.column(s.index_of(n).expect("reports column"));
        let pid = col("primaryid").as_primitive::<UInt64Type>().clone();
        let cid = col("caseid").as_primitive::<UInt64Type>().clone();
        let ver = col("caseversion").as_primitive::<UInt32Type>().clone();
        let bat = col("batch").as_primitive::<UInt32Type>().clone();
        let src = col("source").as_string::<i32>().clone();
        let age = col("age_years").as_primitive::<Float64Type>().clone();
        let wt = col("weight_kg").as_primitive::<Float64Type>().clone();
        let texts: Vec<_> = REPORT_TEXT_COLUMNS
            .iter()
            .map(|c| col(c).as_string::<i32>().clone())
            .collect();
        let fda_i = REPORT_TEXT_COLUMNS
            .iter()
            .position(|c| *c == "fda_dt")
            .expect("fda_dt");
        for i in 0..rb.num_rows() {
            let b = bat.value(i);
            let qk = quarters
                .get(&b)
                .and_then(|q| crate::discover::quarter_in_name(q))
                .map_or(0, Quarter::key);
            let fda_key = if texts[fda_i].is_null(i) {
                0
            } else {
                PartialDate::parse(texts[fda_i].value(i))
                    .ok()
                    .flatten()
                    .map_or(0, |d| d.sort_key())
            };
            let source: &'static str = match src.value(i) {
                "aers" => "aers",
                "synthetic" => "synthetic",
                "openfda" => "openfda",
                _ => "faers",
            };
            out.push(DemoRow {
                primaryid: pid.value(i),
                caseid: cid.value(i),
                caseversion: (!ver.is_null(i)).then(|| ver.value(i)),
                fda_key,
                quarter_key: qk,
                batch: b,
                source,
                text: DemoRow::pack(texts.iter().map(|t| (!t.is_null(i)).then(|| t.value(i)))),
                age_years: (!age.is_null(i)).then(|| age.value(i)),
                weight_kg: (!wt.is_null(i)).then(|| wt.value(i)),
            });
        }
    }
    out
}

pub(crate) fn write_reports(
    txn: &StoreTxn,
    rows: &[&DemoRow],
    quarters: &HashMap<u32, String>,
) -> Result<(), FaersError> {
    let schema = reports_schema();
    let mut sink = txn.file_sink(REPORTS_FILE, schema.clone())?;
    for chunk in rows.chunks(FLUSH_ROWS * 4) {
        let mut pid = UInt64Builder::new();
        let mut cid = UInt64Builder::new();
        let mut ver = UInt32Builder::new();
        let mut bat = UInt32Builder::new();
        let mut quarter = StringBuilder::new();
        let mut source = StringBuilder::new();
        let mut texts: Vec<StringBuilder> = REPORT_TEXT_COLUMNS
            .iter()
            .map(|_| StringBuilder::new())
            .collect();
        let mut age = Float64Builder::new();
        let mut wt = Float64Builder::new();
        let mut sex = StringBuilder::new();
        let mut age_group = StringBuilder::new();
        let mut year = Int32Builder::new();
        let mut event_year = Int32Builder::new();
        let i_sex = REPORT_TEXT_COLUMNS
            .iter()
            .position(|c| *c == "sex_raw")
            .expect("sex_raw");
        let i_grp = REPORT_TEXT_COLUMNS
            .iter()
            .position(|c| *c == "age_grp")
            .expect("age_grp");
        let i_fda = REPORT_TEXT_COLUMNS
            .iter()
            .position(|c| *c == "fda_dt")
            .expect("fda_dt");
        let i_evt = REPORT_TEXT_COLUMNS
            .iter()
            .position(|c| *c == "event_dt")
            .expect("event_dt");
        let mut fields: Vec<&str> = Vec::with_capacity(REPORT_TEXT_COLUMNS.len());
        for r in chunk {
            pid.append_value(r.primaryid);
            cid.append_value(r.caseid);
            ver.append_option(r.caseversion);
            bat.append_value(r.batch);
            quarter.append_value(quarters.get(&r.batch).map_or("unknown", |s| s.as_str()));
            source.append_value(r.source);
            fields.clear();
            fields.extend(r.text.split(PACK_SEP));
            fields.resize(REPORT_TEXT_COLUMNS.len(), "");
            for (b, v) in texts.iter_mut().zip(&fields) {
                if v.is_empty() {
                    b.append_null();
                } else {
                    b.append_value(v);
                }
            }
            age.append_option(r.age_years);
            wt.append_option(r.weight_kg);
            sex.append_value(parse::sex(fields[i_sex]));
            age_group.append_value(parse::age_group(r.age_years, fields[i_grp]));
            let y = |s: &str| s.get(..4).and_then(|y| y.parse::<i32>().ok());
            year.append_option(y(fields[i_fda]));
            event_year.append_option(y(fields[i_evt]));
        }
        let mut cols: Vec<ArrayRef> = vec![
            Arc::new(pid.finish()),
            Arc::new(cid.finish()),
            Arc::new(ver.finish()),
            Arc::new(bat.finish()),
            Arc::new(quarter.finish()),
            Arc::new(source.finish()),
        ];
        cols.extend(texts.iter_mut().map(|b| Arc::new(b.finish()) as ArrayRef));
        cols.push(Arc::new(age.finish()) as ArrayRef);
        cols.push(Arc::new(wt.finish()) as ArrayRef);
        cols.push(Arc::new(sex.finish()));
        cols.push(Arc::new(age_group.finish()));
        cols.push(Arc::new(year.finish()));
        cols.push(Arc::new(event_year.finish()));
        let rb =
            RecordBatch::try_new(schema.clone(), cols).map_err(|e| FaersError::Store(e.into()))?;
        sink.write(&rb)?;
    }
    sink.finish()?;
    Ok(())
}

pub(crate) fn write_sources(txn: &StoreTxn, files: &[(u32, FileRead)]) -> Result<(), FaersError> {
    let schema = sources_schema();
    let mut sink = txn.file_sink(SOURCES_FILE, schema.clone())?;
    if let Some((prev, _)) = txn.previous() {
        let p = prev.join(SOURCES_FILE);
        if p.exists() {
            for rb in read_parquet(&p, None)? {
                sink.write(&rb)?;
            }
        }
    }
    let mut b = UInt32Builder::new();
    let mut q = StringBuilder::new();
    let mut path = StringBuilder::new();
    let mut t = StringBuilder::new();
    let mut era = StringBuilder::new();
    let mut bytes = UInt64Builder::new();
    let mut rows = UInt64Builder::new();
    for (batch, f) in files {
        b.append_value(*batch);
        q.append_value(&f.quarter);
        path.append_value(&f.path);
        t.append_value(&f.table);
        era.append_value(&f.era);
        bytes.append_value(f.bytes);
        rows.append_value(f.rows);
    }
    let cols: Vec<ArrayRef> = vec![
        Arc::new(b.finish()),
        Arc::new(q.finish()),
        Arc::new(path.finish()),
        Arc::new(t.finish()),
        Arc::new(era.finish()),
        Arc::new(bytes.finish()),
        Arc::new(rows.finish()),
    ];
    sink.write(&RecordBatch::try_new(schema, cols).map_err(|e| FaersError::Store(e.into()))?)?;
    sink.finish()?;
    Ok(())
}

/// Outcome of report-level de-duplication.
pub(crate) struct Dedup {
    /// Final reports (stored survivors and new winners).
    pub kept: Vec<DemoRow>,
}

/// De-duplicates `stored` (already in the store) and `candidates` (read now), counting removed
/// candidates in `demo_counts` and removed stored reports in `stored_removed`.
pub(crate) fn dedup_reports(
    stored: Vec<DemoRow>,
    candidates: Vec<DemoRow>,
    deleted: &HashSet<u64>,
    demo_counts: &mut TableCounts,
    stored_removed: &mut BTreeMap<String, u64>,
) -> Dedup {
    dedup_reports_keeping(
        stored,
        candidates,
        deleted,
        &HashSet::new(),
        demo_counts,
        stored_removed,
    )
}

/// True when one of the two reports comes from legacy AERS and the other from FAERS.
fn cross_era(a: &DemoRow, b: &DemoRow) -> bool {
    (a.source == "aers") != (b.source == "aers")
}

/// [`dedup_reports`], where a stored report whose primaryid is in `keep_stored` wins over a
/// candidate with the same primaryid (the candidate is a less complete copy of it).
pub(crate) fn dedup_reports_keeping(
    stored: Vec<DemoRow>,
    candidates: Vec<DemoRow>,
    deleted: &HashSet<u64>,
    keep_stored: &HashSet<u64>,
    demo_counts: &mut TableCounts,
    stored_removed: &mut BTreeMap<String, u64>,
) -> Dedup {
    // (row, is_new) in order: stored first, then candidates in read (quarter) order, so that on a
    // complete tie the later one wins.
    let mut best: HashMap<u64, usize> = HashMap::with_capacity(stored.len() + candidates.len());
    let mut all: Vec<(DemoRow, bool)> = Vec::with_capacity(stored.len() + candidates.len());
    for r in stored {
        if deleted.contains(&r.caseid) {
            *stored_removed.entry(rules::DELETED.to_owned()).or_default() += 1;
            continue;
        }
        all.push((r, false));
    }
    for r in candidates {
        if deleted.contains(&r.caseid) {
            demo_counts.dedup(rules::DELETED, 1);
            continue;
        }
        all.push((r, true));
    }
    let mut alive = vec![true; all.len()];
    for i in 0..all.len() {
        let caseid = all[i].0.caseid;
        match best.get(&caseid).copied() {
            None => {
                best.insert(caseid, i);
            }
            Some(j) => {
                let (ri, rj) = (&all[i].0, &all[j].0);
                // A same-primaryid copy re-sent with fewer drug or reaction rows never replaces
                // the stored one (docs/ingest.md, "Re-ingest").
                let less_complete = ri.primaryid == rj.primaryid
                    && all[i].1
                    && !all[j].1
                    && keep_stored.contains(&ri.primaryid);
                let i_wins = !less_complete && ri.order_key() >= rj.order_key();
                let (winner, loser) = if i_wins { (i, j) } else { (j, i) };
                alive[loser] = false;
                best.insert(caseid, winner);
                let (lrow, lnew) = (&all[loser].0, all[loser].1);
                let wnew = all[winner].1;
                if less_complete {
                    demo_counts.dedup(rules::LESS_COMPLETE, 1);
                } else if cross_era(lrow, &all[winner].0) {
                    // The same case number in legacy AERS and in FAERS (faers-format.md §5 rule 3).
                    if lnew {
                        demo_counts.dedup(rules::CROSS_ERA, 1);
                    } else {
                        *stored_removed
                            .entry(rules::CROSS_ERA.to_owned())
                            .or_default() += 1;
                    }
                } else if !lnew {
                    *stored_removed
                        .entry("replaced by a newer version".to_owned())
                        .or_default() += 1;
                } else if lrow.primaryid == all[winner].0.primaryid {
                    demo_counts.dedup(rules::REPUBLISHED, 1);
                } else if !wnew {
                    demo_counts.dedup(rules::OLDER_THAN_STORED, 1);
                } else {
                    demo_counts.dedup(rules::OLDER_VERSION, 1);
                }
            }
        }
    }
    let mut kept = Vec::with_capacity(best.len());
    for ((r, is_new), a) in all.into_iter().zip(alive) {
        if a {
            if is_new {
                demo_counts.kept += 1;
            }
            kept.push(r);
        }
    }
    Dedup { kept }
}

/// Distinct drug rows (drug_seq) and reaction rows (upper(pt)) per report: the completeness of
/// a copy of a case version.
type RowCounts = HashMap<u64, (u32, u32)>;

/// Stored case versions that this ingest re-sends (same primaryid) with fewer distinct drug rows
/// or fewer distinct reaction rows than the stored copy: their stored copies are kept. Returns
/// those primaryids and, for each, a line for the ingest report. Only runs when a stored
/// primaryid comes again, so an ingest of new quarters costs one set look-up per stored report.
fn less_complete_resends(
    txn: &StoreTxn,
    stored: &[DemoRow],
    group_pids: &HashMap<u32, ahash::AHashSet<u64>>,
    groups: &BTreeMap<Option<Quarter>, Vec<&InputFile>>,
    group_batches: &[(Option<Quarter>, u32)],
) -> Result<(HashSet<u64>, Vec<String>), FaersError> {
    // primaryid → (stored batch, new batch)
    let mut resent: HashMap<u64, (u32, u32)> = HashMap::new();
    for r in stored {
        for (b, set) in group_pids {
            if set.contains(&r.primaryid) {
                resent.insert(r.primaryid, (r.batch, *b));
            }
        }
    }
    let Some((dir, _)) = txn.previous() else {
        return Ok((HashSet::new(), Vec::new()));
    };
    if resent.is_empty() {
        return Ok((HashSet::new(), Vec::new()));
    }
    let mut stored_counts: RowCounts = HashMap::new();
    let stored_batches: std::collections::BTreeSet<u32> = resent.values().map(|v| v.0).collect();
    for (k, (table, col)) in [
        (ChildTable::Drugs, "drug_seq"),
        (ChildTable::Reactions, "pt"),
    ]
    .into_iter()
    .enumerate()
    {
        let mut seen: HashSet<(u64, u64)> = HashSet::new();
        for b in &stored_batches {
            let path = dir
                .join(table.dir_name())
                .join(vigil_store::layout::batch_file_name(*b));
            if !path.exists() {
                continue;
            }
            for rb in read_parquet(&path, Some(&["primaryid", "batch", col]))? {
                let pid = rb.column(0).as_primitive::<UInt64Type>();
                let bat = rb.column(1).as_primitive::<UInt32Type>();
                let val = rb.column(2).as_string::<i32>();
                for i in 0..rb.num_rows() {
                    let p = pid.value(i);
                    if resent.get(&p).map(|v| v.0) != Some(bat.value(i)) {
                        continue;
                    }
                    let key = if val.is_null(i) {
                        fnv1a_upper(b"")
                    } else {
                        fnv1a_upper(val.value(i).as_bytes())
                    };
                    if seen.insert((p, key)) {
                        let c = stored_counts.entry(p).or_default();
                        if k == 0 {
                            c.0 += 1
                        } else {
                            c.1 += 1
                        }
                    }
                }
            }
        }
    }
    let mut new_counts: RowCounts = HashMap::new();
    for (q, batch) in group_batches {
        for (k, (table, col)) in [(Table::Drug, "drug_seq"), (Table::Reac, "pt")]
            .into_iter()
            .enumerate()
        {
            let mut seen: HashSet<(u64, u64)> = HashSet::new();
            for f in groups[q]
                .iter()
                .filter(|f| f.kind == InputKind::Table(table))
            {
                f.with_reader(|r| -> Result<(), FaersError> {
                    let Some(mut rd) =
                        DollarReader::new(r).map_err(|e| FaersError::io(&f.display, e))?
                    else {
                        return Ok(());
                    };
                    let idx = column_indexes(table, rd.header(), &["primaryid", col]);
                    let (Some(pi), Some(ci)) = (idx[0], idx[1]) else {
                        return Ok(());
                    };
                    let mut rec = Record::default();
                    while let Some(res) = rd
                        .next_record(&mut rec)
                        .map_err(|e| FaersError::io(&f.display, e))?
                    {
                        if res.is_err() {
                            continue;
                        }
                        let Some(p) = parse::parse_id(&rec.text(pi)) else {
                            continue;
                        };
                        if resent.get(&p).map(|v| v.1) != Some(*batch) {
                            continue;
                        }
                        let key = fnv1a_upper(crate::record::trim_bytes(rec.bytes(ci)));
                        if seen.insert((p, key)) {
                            let c = new_counts.entry(p).or_default();
                            if k == 0 {
                                c.0 += 1
                            } else {
                                c.1 += 1
                            }
                        }
                    }
                    Ok(())
                })??;
            }
        }
    }
    let mut keep = HashSet::new();
    let mut lines = Vec::new();
    let mut pids: Vec<u64> = resent.keys().copied().collect();
    pids.sort_unstable();
    for p in pids {
        let old = stored_counts.get(&p).copied().unwrap_or_default();
        let new = new_counts.get(&p).copied().unwrap_or_default();
        if new.0 < old.0 || new.1 < old.1 {
            keep.insert(p);
            if lines.len() < MAX_WARNING_EXAMPLES {
                lines.push(format!(
                    "primaryid {p}: re-sent with {} drug and {} reaction rows, stored copy has {} and {}: stored copy kept",
                    new.0, new.1, old.0, old.1
                ));
            }
        }
    }
    Ok((keep, lines))
}

/// The deleted-case rows (caseid, quarter, list) of the live version a transaction builds on.
pub(crate) fn stored_deleted(txn: &StoreTxn) -> Result<Vec<(u64, String, Arc<str>)>, FaersError> {
    let Some((dir, _)) = txn.previous() else {
        return Ok(Vec::new());
    };
    let path = dir.join(DELETED_FILE);
    if !path.exists() {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for rb in read_parquet(&path, None)? {
        let caseid = rb.column(0).as_primitive::<UInt64Type>();
        let quarter = rb.column(1).as_string::<i32>();
        let list = rb.column(2).as_string::<i32>();
        for i in 0..rb.num_rows() {
            out.push((
                caseid.value(i),
                quarter.value(i).to_owned(),
                Arc::from(list.value(i)),
            ));
        }
    }
    Ok(out)
}

/// Writes the deleted-case rows, one per (caseid, quarter) (the same list read twice adds nothing).
fn write_deleted(txn: &StoreTxn, mut rows: Vec<(u64, String, Arc<str>)>) -> Result<(), FaersError> {
    rows.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
    rows.dedup_by(|a, b| a.0 == b.0 && a.1 == b.1);
    let schema = deleted_schema();
    let mut sink = txn.file_sink(DELETED_FILE, schema.clone())?;
    for chunk in rows.chunks(FLUSH_ROWS * 4) {
        let mut caseid = UInt64Builder::new();
        let mut quarter = StringBuilder::new();
        let mut list = StringBuilder::new();
        for (c, q, l) in chunk {
            caseid.append_value(*c);
            quarter.append_value(q);
            list.append_value(l);
        }
        let cols: Vec<ArrayRef> = vec![
            Arc::new(caseid.finish()),
            Arc::new(quarter.finish()),
            Arc::new(list.finish()),
        ];
        sink.write(
            &RecordBatch::try_new(schema.clone(), cols).map_err(|e| FaersError::Store(e.into()))?,
        )?;
    }
    sink.finish()?;
    Ok(())
}

/// Reads the reports of the live version a transaction builds on.
pub(crate) fn stored_reports(
    txn: &StoreTxn,
) -> Result<(Vec<DemoRow>, HashMap<u32, String>), FaersError> {
    let mut quarters = HashMap::new();
    let Some((dir, manifest)) = txn.previous() else {
        return Ok((Vec::new(), quarters));
    };
    for b in &manifest.batches {
        quarters.insert(b.id, b.quarter.clone());
    }
    let batches = read_parquet(&dir.join(REPORTS_FILE), None)?;
    Ok((demo_rows_from_batches(&batches, &quarters), quarters))
}

/// Merges per-table drug-name statistics into the report.
pub(crate) fn finish_name_stats(
    report: &mut IngestReport,
    sources: HashMap<&'static str, u64>,
    unmapped: HashMap<String, u64>,
) {
    for (k, v) in sources {
        *report.drug_name_sources.entry(k.to_owned()).or_default() += v;
    }
    let mut u: Vec<(String, u64)> = unmapped.into_iter().collect();
    u.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    u.truncate(MAX_LISTED_UNMAPPED);
    report.unmapped_drug_names = u;
}

/// Ingests FAERS/AERS quarterly files (zips, folders, files) into the store at `store`.
pub fn ingest_faers(
    paths: &[PathBuf],
    store: &Path,
    opts: &IngestOptions,
) -> Result<IngestOutcome, FaersError> {
    let started = Instant::now();
    let inputs = find_faers_inputs(paths)?;
    let tables: Vec<&InputFile> = inputs
        .iter()
        .filter(|f| matches!(f.kind, InputKind::Table(_)))
        .collect();
    if tables.is_empty() {
        return Err(FaersError::Input(format!(
            "no FAERS table files (DEMO*, DRUG*, REAC*, OUTC*, RPSR*, THER*, INDI*) found under {}",
            paths
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    if !tables
        .iter()
        .any(|f| f.kind == InputKind::Table(Table::Demo))
    {
        return Err(FaersError::Input(
            "no DEMO file found: reports cannot be identified without it".into(),
        ));
    }
    let mut groups: BTreeMap<Option<Quarter>, Vec<&InputFile>> = BTreeMap::new();
    for f in &tables {
        groups.entry(f.quarter).or_default().push(f);
    }
    check_quarters(&groups)?;
    let mut normaliser = DrugNormaliser::builtin();
    for d in &opts.dictionary_files {
        normaliser.add_csv_file(d)?;
    }
    let mut report = IngestReport::default();
    let mut txn = StoreTxn::begin(store)?;
    report.version = txn.version();
    let mut files_read: Vec<(u32, FileRead)> = Vec::new();

    // 1. Deleted-case lists: those read now and every one ingested before (kept in the store),
    //    so that a list deletes its cases whether their quarters come before or after it.
    let mut deleted_rows = stored_deleted(&txn)?;
    let stored_lists = deleted_rows.len();
    let mut listed_now = HashSet::new();
    for f in inputs.iter().filter(|f| f.kind == InputKind::Deleted) {
        let mut ids = HashSet::new();
        let fr = read_deleted_list(f, report.table_mut("deleted"), &mut ids)?;
        let quarter = f
            .quarter
            .map_or_else(|| "unknown".to_owned(), Quarter::label);
        let list: Arc<str> = Arc::from(f.display.as_str());
        deleted_rows.extend(ids.iter().map(|&id| (id, quarter.clone(), list.clone())));
        listed_now.extend(ids);
        files_read.push((0, fr));
    }
    report.deleted_caseids_listed = listed_now.len() as u64;
    let deleted: HashSet<u64> = deleted_rows.iter().map(|r| r.0).collect();
    report.deleted_caseids_in_store = deleted.len() as u64;
    if deleted_rows.len() > stored_lists {
        write_deleted(&txn, deleted_rows)?;
    }

    // 2. Quarters in order; one batch each.
    let (stored, mut quarters) = stored_reports(&txn)?;
    let mut group_batches: Vec<(Option<Quarter>, u32)> = Vec::new();
    let mut candidates = Vec::new();
    let mut warnings = Warnings::default();
    let mut group_pids: HashMap<u32, ahash::AHashSet<u64>> = HashMap::new();
    let mut demo_tasks: Vec<(&InputFile, u32, Option<Quarter>)> = Vec::new();
    for (q, files) in &groups {
        let label = q.map_or_else(|| "unknown".to_owned(), Quarter::label);
        let batch = txn.new_batch(&label);
        quarters.insert(batch, label);
        group_batches.push((*q, batch));
        for f in files
            .iter()
            .filter(|f| f.kind == InputKind::Table(Table::Demo))
        {
            demo_tasks.push((f, batch, *q));
        }
    }
    let parsed: Vec<Result<DemoParse, FaersError>> = demo_tasks
        .par_iter()
        .map(|(f, batch, q)| read_demo(f, *batch, *q, opts))
        .collect();
    for (p, (_, batch, _)) in parsed.into_iter().zip(&demo_tasks) {
        let p = p?;
        group_pids
            .entry(*batch)
            .or_default()
            .extend(p.rows.iter().map(|r| r.primaryid));
        candidates.extend(p.rows);
        report.table_mut("demo").merge(p.counts);
        warnings.merge(p.warnings);
        files_read.push((*batch, p.file));
    }

    // 3. Report-level de-duplication; a stored case version re-sent with fewer drug or reaction
    //    rows keeps its stored copy.
    let (keep_stored, less_complete) =
        less_complete_resends(&txn, &stored, &group_pids, &groups, &group_batches)?;
    report.less_complete_resends = less_complete;
    let mut demo_counts = report.tables.remove("demo").unwrap_or_default();
    let dedup = dedup_reports_keeping(
        stored,
        candidates,
        &deleted,
        &keep_stored,
        &mut demo_counts,
        &mut report.stored_reports_removed,
    );
    report.tables.insert("demo".into(), demo_counts);
    // Kept primaryids per batch: a small set per quarter stays in cache better than one big map.
    let mut winner_ids: HashMap<u32, Vec<u64>> = HashMap::new();
    for r in &dedup.kept {
        winner_ids.entry(r.batch).or_default().push(r.primaryid);
    }
    let winners: HashMap<u32, SortedIds> = winner_ids
        .into_iter()
        .map(|(b, ids)| (b, SortedIds::from_unsorted(ids)))
        .collect();
    let no_winners = SortedIds::default();

    // 4. Child tables, per quarter, tables in parallel.
    let mut all_sources: HashMap<&'static str, u64> = HashMap::new();
    let mut all_unmapped: HashMap<String, u64> = HashMap::new();
    let empty = ahash::AHashSet::new();
    // One task per (quarter, table): both cores stay busy even when one table dominates a quarter.
    let mut tasks: Vec<(Option<Quarter>, u32, Table, Vec<&InputFile>)> = Vec::new();
    for (q, batch) in &group_batches {
        for t in &Table::ALL[1..] {
            let fs: Vec<&InputFile> = groups[q]
                .iter()
                .copied()
                .filter(|f| f.kind == InputKind::Table(*t))
                .collect();
            if !fs.is_empty() {
                tasks.push((*q, *batch, *t, fs));
            }
        }
    }
    // Largest first, for a better balance.
    tasks.sort_by_key(|t| std::cmp::Reverse(t.3.iter().map(|f| f.bytes).sum::<u64>()));
    // The reports table depends only on the de-duplication: it is written while the child tables
    // are parsed (it ran alone on one core after them before, a sixth of the ingest).
    let kept_refs: Vec<&DemoRow> = dedup.kept.iter().collect();
    let (reports_written, results): (
        Result<(), FaersError>,
        Vec<Result<(u32, ChildParse), FaersError>>,
    ) = rayon::join(
        || write_reports(&txn, &kept_refs, &quarters),
        || {
            tasks
                .par_iter()
                .map(|(q, batch, t, fs)| {
                    let ctx = ChildContext {
                        batch: *batch,
                        quarter: *q,
                        winners: winners.get(batch).unwrap_or(&no_winners),
                        group_pids: group_pids.get(batch).unwrap_or(&empty),
                        deleted: &deleted,
                        normaliser: &normaliser,
                        opts,
                    };
                    let mut sink = txn.child_sink(t.child().expect("child"), *batch)?;
                    let r = read_child_table(*t, fs, &ctx, &mut sink)?;
                    sink.finish()?;
                    Ok((*batch, r))
                })
                .collect()
        },
    );
    reports_written?;
    for r in results {
        let (batch, r) = r?;
        report.table_mut(r.table.key()).merge(r.counts);
        warnings.merge(r.warnings);
        files_read.extend(r.files.into_iter().map(|f| (batch, f)));
        for (k, v) in r.name_sources {
            *all_sources.entry(k).or_default() += v;
        }
        for (k, v) in r.unmapped {
            *all_unmapped.entry(k).or_default() += v;
        }
    }
    finish_name_stats(&mut report, all_sources, all_unmapped);

    // 5. Sources, commit (the reports table was written in step 4).
    write_sources(&txn, &files_read)?;
    report.reports_in_store = dedup.kept.len() as u64;
    report.field_warnings = warnings.counts;
    report.field_warning_examples = warnings.examples;
    let bytes: u64 = files_read.iter().map(|(_, f)| f.bytes).sum();
    report.files = files_read.into_iter().map(|(_, f)| f).collect();
    report.seconds = started.elapsed().as_secs_f64();
    let version_dir = txn.commit(&report)?;
    Ok(IngestOutcome {
        report,
        version_dir,
        bytes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A deterministic scramble for test sequences (SplitMix64 finaliser).
    fn mix(i: u64) -> u64 {
        let mut z = i.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    #[test]
    fn sorted_ids_agree_with_a_hash_set_in_any_order() {
        let ids: Vec<u64> = (0..5_000).map(|i| 1_000 + 3 * i + (mix(i) % 2)).collect();
        let set: std::collections::HashSet<u64> = ids.iter().copied().collect();
        let sorted = SortedIds::from_unsorted(ids.iter().rev().copied().collect());
        // Ascending probes (the FAERS order), with misses between members, then scrambled probes.
        let ascending: Vec<u64> = (900..16_200).collect();
        let scrambled: Vec<u64> = (0..20_000).map(|i| 900 + mix(i) % 15_300).collect();
        for probes in [ascending, scrambled] {
            let mut cursor = 0;
            for p in probes {
                assert_eq!(
                    sorted.contains_from(p, &mut cursor),
                    set.contains(&p),
                    "id {p}"
                );
            }
        }
        assert!(!SortedIds::default().contains_from(5, &mut 0));
    }

    #[test]
    fn seen_keys_agree_with_a_hash_set_in_any_order() {
        // Runs of rows per primaryid with repeated keys; first in ascending primaryid order, then
        // with primaryids coming back later (out of order), which must still be caught.
        let mut rows: Vec<(u64, u64)> = Vec::new();
        for pid in 0..2_000u64 {
            for k in 0..(1 + mix(pid) % 4) {
                rows.push((pid * 10, mix(pid * 7 + k) % 3));
            }
        }
        let mut out_of_order = rows.clone();
        out_of_order.extend((0..500u64).map(|i| ((mix(i) % 2_000) * 10, mix(i + 99) % 3)));
        for seq in [rows, out_of_order] {
            let mut seen = SeenKeys::default();
            let mut reference: std::collections::HashSet<(u64, u64)> =
                std::collections::HashSet::new();
            for &(pid, key) in &seq {
                assert_eq!(
                    seen.insert(pid, key),
                    reference.insert((pid, key)),
                    "row {pid}, {key}"
                );
            }
        }
    }
}
