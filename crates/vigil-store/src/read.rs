//! Reading a store: whole tables, the ingest report, and [`load_report_set`], which turns the
//! store into the [`ReportSet`] the counting kernels read.
use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::{UInt32Type, UInt64Type};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ProjectionMask;

use crate::ingest_report::IngestReport;
use crate::layout::{
    batch_file_name, current_version_dir, ChildTable, Manifest, StoreError, StoreResult,
    INGEST_REPORT_FILE, REPORTS_FILE,
};
use crate::reports::ReportSet;
use crate::write::read_manifest;

/// An opened store: its live version directory and manifest, and (built on first use, then
/// kept) the index of its live reports. Open it once and pass it to every read of one run: the
/// live-report index costs a scan of the reports table, which the handle makes once.
#[derive(Debug, Clone)]
pub struct Store {
    /// The live version directory.
    pub dir: PathBuf,
    /// Its manifest.
    pub manifest: Manifest,
    /// The store folder as given to [`Store::open`] (for messages).
    root: PathBuf,
    /// primaryid → batch of every live report: the rows of the child tables to keep.
    live: OnceLock<HashMap<u64, u32>>,
}

impl Store {
    /// Opens the live version of `store`.
    pub fn open(store: &Path) -> StoreResult<Self> {
        let dir = current_version_dir(store)
            .map_err(|e| StoreError::io(store, e))?
            .ok_or_else(|| {
                StoreError::Format(format!(
                    "{}: not a vigil store (no CURRENT file); create one with `vigil ingest`",
                    store.display()
                ))
            })?;
        let manifest = read_manifest(&dir)?;
        Ok(Self {
            dir,
            manifest,
            root: store.to_owned(),
            live: OnceLock::new(),
        })
    }

    /// The store folder as given to [`Store::open`].
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The ingest report of the live version.
    pub fn ingest_report(&self) -> StoreResult<IngestReport> {
        let path = self.dir.join(INGEST_REPORT_FILE);
        let text = std::fs::read(&path).map_err(|e| StoreError::io(&path, e))?;
        serde_json::from_slice(&text)
            .map_err(|e| StoreError::Format(format!("{}: {e}", path.display())))
    }

    /// The batch files of a child table, with their batch ids.
    pub fn child_files(&self, table: ChildTable) -> Vec<(u32, PathBuf)> {
        self.manifest
            .batches
            .iter()
            .map(|b| {
                (
                    b.id,
                    self.dir.join(table.dir_name()).join(batch_file_name(b.id)),
                )
            })
            .filter(|(_, p)| p.exists())
            .collect()
    }

    /// Checks that every batch in `batches` (batches that hold live reports) has its file of each
    /// of `tables` that is drugs or reactions: every ingest writes both for each batch it adds, so
    /// a missing one means a damaged store, which must not read as "no reports" (the other child
    /// tables may legitimately be absent, and are not checked).
    pub fn check_required_children(
        &self,
        batches: impl IntoIterator<Item = u32>,
        tables: &[ChildTable],
    ) -> StoreResult<()> {
        for b in batches {
            for &table in tables
                .iter()
                .filter(|t| matches!(t, ChildTable::Drugs | ChildTable::Reactions))
            {
                let path = self.dir.join(table.dir_name()).join(batch_file_name(b));
                if !path.exists() {
                    return Err(StoreError::Format(format!(
                        "{}: missing: the store is damaged (batch {b} holds reports but this {} file is gone); restore the store or ingest its quarters again",
                        path.display(),
                        table.dir_name()
                    )));
                }
            }
        }
        Ok(())
    }

    /// Reads the reports table (all columns, or only `columns`).
    pub fn read_reports(&self, columns: Option<&[&str]>) -> StoreResult<Vec<RecordBatch>> {
        read_parquet(&self.dir.join(REPORTS_FILE), columns)
    }

    /// Reads every row of a child table whose report is live (same primaryid and batch as in
    /// the reports table), with the given columns (`primaryid` and `batch` are always included
    /// first). Rows of superseded case versions are skipped.
    pub fn read_live_children(
        &self,
        table: ChildTable,
        columns: &[&str],
    ) -> StoreResult<Vec<RecordBatch>> {
        let live = self.live_keys()?;
        let batches: std::collections::BTreeSet<u32> = live.values().copied().collect();
        self.check_required_children(batches, &[table])?;
        let mut want: Vec<&str> = vec!["primaryid", "batch"];
        want.extend(
            columns
                .iter()
                .copied()
                .filter(|c| *c != "primaryid" && *c != "batch"),
        );
        let mut out = Vec::new();
        for (_, path) in self.child_files(table) {
            for rb in read_parquet(&path, Some(&want))? {
                let pid = rb.column(0).as_primitive::<UInt64Type>();
                let bat = rb.column(1).as_primitive::<UInt32Type>();
                let mask: arrow::array::BooleanArray = (0..rb.num_rows())
                    .map(|i| Some(live.get(&pid.value(i)) == Some(&bat.value(i))))
                    .collect();
                out.push(arrow::compute::filter_record_batch(&rb, &mask)?);
            }
        }
        Ok(out)
    }

    /// The live-report index: primaryid → batch, read from the reports table on first use and
    /// kept for the handle's lifetime (a store version never changes once written).
    fn live_keys(&self) -> StoreResult<&HashMap<u64, u32>> {
        if let Some(live) = self.live.get() {
            return Ok(live);
        }
        let live = self.scan_live_keys()?;
        Ok(self.live.get_or_init(|| live))
    }

    fn scan_live_keys(&self) -> StoreResult<HashMap<u64, u32>> {
        let mut live = HashMap::new();
        for rb in self.read_reports(Some(&["primaryid", "batch"]))? {
            let pid = rb.column(0).as_primitive::<UInt64Type>();
            let bat = rb.column(1).as_primitive::<UInt32Type>();
            for i in 0..rb.num_rows() {
                live.insert(pid.value(i), bat.value(i));
            }
        }
        Ok(live)
    }
}

/// Reads a Parquet file, projecting to `columns` (in file order) when given.
pub fn read_parquet(path: &Path, columns: Option<&[&str]>) -> StoreResult<Vec<RecordBatch>> {
    let file = File::open(path).map_err(|e| StoreError::io(path, e))?;
    // A file that is not valid Parquet (truncated, overwritten) is named as damaged.
    let damaged = |e: &dyn std::fmt::Display| {
        StoreError::Format(format!(
            "{}: damaged store file (not readable as Parquet): {e}",
            path.display()
        ))
    };
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| damaged(&e))?;
    let builder = match columns {
        Some(cols) => {
            let schema = builder.schema().clone();
            let mut idx = Vec::with_capacity(cols.len());
            for c in cols {
                let i = schema.index_of(c).map_err(|_| StoreError::MissingColumn {
                    path: path.display().to_string(),
                    column: (*c).to_owned(),
                })?;
                idx.push(i);
            }
            let mask = ProjectionMask::roots(builder.parquet_schema(), idx);
            builder.with_projection(mask)
        }
        None => builder,
    };
    let reader = builder
        .with_batch_size(64 * 1024)
        .build()
        .map_err(|e| damaged(&e))?;
    let mut out = Vec::new();
    for rb in reader {
        out.push(rb.map_err(|e| damaged(&e))?);
    }
    // A projection returns columns in file order; put them in the order asked for.
    if let Some(cols) = columns {
        let mut reordered = Vec::with_capacity(out.len());
        for rb in out {
            let schema = rb.schema();
            let mut arrays = Vec::with_capacity(cols.len());
            let mut fields = Vec::with_capacity(cols.len());
            for c in cols {
                let i = schema.index_of(c)?;
                arrays.push(rb.column(i).clone());
                fields.push(schema.field(i).clone());
            }
            let s = std::sync::Arc::new(arrow::datatypes::Schema::new(fields));
            reordered.push(RecordBatch::try_new(s, arrays)?);
        }
        return Ok(reordered);
    }
    Ok(out)
}

/// Which drug roles count as exposure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Role {
    /// Primary suspect only (`PS`).
    Ps,
    /// Primary or secondary suspect (`PS`, `SS`): the usual definition.
    #[default]
    Suspect,
    /// Suspect or interacting (`PS`, `SS`, `I`): the drugs the Uppsala Monitoring Centre screens
    /// for interactions (Hult et al., Drug Saf 2020;43:775–85; the default role filter of UMC's
    /// pvOmega package).
    SuspectOrInteracting,
    /// Every role (`PS`, `SS`, `C` concomitant, `I` interacting, `DN` not administered).
    All,
}

impl Role {
    /// True when a drug row with `role_cod` counts.
    pub fn admits(self, role_cod: &str) -> bool {
        let r = role_cod.trim();
        match self {
            Role::Ps => r.eq_ignore_ascii_case("PS"),
            Role::Suspect => r.eq_ignore_ascii_case("PS") || r.eq_ignore_ascii_case("SS"),
            Role::SuspectOrInteracting => {
                r.eq_ignore_ascii_case("PS")
                    || r.eq_ignore_ascii_case("SS")
                    || r.eq_ignore_ascii_case("I")
            }
            Role::All => true,
        }
    }
}

impl std::str::FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "ps" => Ok(Role::Ps),
            "suspect" => Ok(Role::Suspect),
            "ps,ss,i" | "suspect,i" => Ok(Role::SuspectOrInteracting),
            "all" => Ok(Role::All),
            other => Err(format!(
                "unknown role {other:?}: expected ps, suspect (ps,ss), ps,ss,i or all"
            )),
        }
    }
}

/// Which date `since` / `until` compare against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DateField {
    /// `fda_dt`, the date FDA received this version of the case (always present in FAERS).
    #[default]
    FdaReceipt,
    /// `event_dt`, the date of the adverse event (often blank or partial).
    Event,
}

/// What to load from a store.
///
/// * `role`: drug rows admitted as exposure (default PS+SS).
/// * `stratify`: reports-table columns whose values, joined with `|`, form the stratum label
///   (`age_group`, `sex`, `year` or any other column; a null becomes `unknown`).
/// * `since` / `until`: inclusive bounds as `YYYY`, `YYYYMM` or `YYYYMMDD` on `date_field`. A
///   partial date is compared on the digits it has (a report dated `2020` passes `since 202006`
///   and `until 202006`: it may lie in that month). Reports with no date are dropped when a bound
///   is set.
/// * `indication`: keep only reports with an INDI row whose PT equals this (case-insensitive).
/// * `exclude_drugs`: competition-bias control. A report is removed entirely (from every drug's
///   cases and from every comparator) when any of its drug rows admitted by `role` has an
///   ingredient equal (case-insensitive) to one of these names.
///
/// Reports left with no admitted drug or no reaction are not loaded (they cannot contribute a
/// drug–event row, so the loaded set equals its own row-wise export).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReportQuery {
    /// Drug roles counted as exposure.
    pub role: Role,
    /// Reports-table columns to stratify by.
    pub stratify: Vec<String>,
    /// Inclusive lower bound.
    pub since: Option<String>,
    /// Inclusive upper bound.
    pub until: Option<String>,
    /// Date the bounds apply to.
    pub date_field: DateField,
    /// Indication PT filter.
    pub indication: Option<String>,
    /// Ingredients whose reports are removed.
    pub exclude_drugs: Vec<String>,
}

fn check_date_bound(s: &str) -> StoreResult<()> {
    if matches!(s.len(), 4 | 6 | 8) && s.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(StoreError::Format(format!(
            "date bound {s:?}: expected YYYY, YYYYMM or YYYYMMDD"
        )))
    }
}

/// True when the partial date `d` may fall at or after `since` (digits compared on the shorter).
pub(crate) fn date_at_or_after(d: &str, since: &str) -> bool {
    let n = d.len().min(since.len());
    d[..n] >= since[..n]
}

pub(crate) fn date_at_or_before(d: &str, until: &str) -> bool {
    let n = d.len().min(until.len());
    d[..n] <= until[..n]
}

/// A loaded report set plus the per-stratum column values.
#[derive(Debug, Clone)]
pub struct LoadedReports {
    /// The reports.
    pub set: ReportSet,
    /// The stratification columns, in query order.
    pub strata_columns: Vec<String>,
    /// For each stratum id, the values of the stratification columns.
    pub strata_values: Vec<Vec<String>>,
}

/// Loads the reports of a store as a [`ReportSet`] (see [`ReportQuery`] for the filters).
///
/// Drug names are the normalised `ingredient` column in upper case; event names are the PT in
/// upper case (PTs compare case-insensitively: legacy AERS is upper case, FAERS mixed).
pub fn load_report_set(store_dir: &Path, query: &ReportQuery) -> StoreResult<ReportSet> {
    Ok(load_reports(store_dir, query)?.set)
}

/// As [`load_report_set`], on an opened store.
pub fn load_report_set_from(store: &Store, query: &ReportQuery) -> StoreResult<ReportSet> {
    Ok(load_reports_from(store, query)?.set)
}

/// As [`load_report_set`], also returning the stratum column values.
pub fn load_reports(store_dir: &Path, query: &ReportQuery) -> StoreResult<LoadedReports> {
    load_reports_from(&Store::open(store_dir)?, query)
}

/// As [`load_reports`], on an opened store.
pub fn load_reports_from(store: &Store, query: &ReportQuery) -> StoreResult<LoadedReports> {
    if let Some(s) = &query.since {
        check_date_bound(s)?;
    }
    if let Some(s) = &query.until {
        check_date_bound(s)?;
    }
    let scan = crate::load::scan_reports(store, query)?;
    store.check_required_children(
        scan.index.batch_ids(),
        &[ChildTable::Drugs, ChildTable::Reactions],
    )?;
    let index = &scan.index;
    let n = scan.report_ids.len();
    let mut excluded = vec![false; n];

    if let Some(ind) = &query.indication {
        let want = ind.trim().to_uppercase();
        let mut has = vec![false; n];
        for (bid, path) in store.child_files(ChildTable::Indications) {
            let Some(batch) = index.batch(&scan.report_ids, bid) else {
                continue;
            };
            for rb in read_parquet(&path, Some(&["primaryid", "indi_pt"]))? {
                let pid = rb.column(0).as_primitive::<UInt64Type>();
                let pt = rb.column(1).as_string::<i32>();
                for i in 0..rb.num_rows() {
                    if let Some(idx) = batch.get(pid.value(i)) {
                        if !pt.is_null(i) && pt.value(i).trim().eq_ignore_ascii_case(&want) {
                            has[idx as usize] = true;
                        }
                    }
                }
            }
        }
        for (e, h) in excluded.iter_mut().zip(&has) {
            *e |= !h;
        }
    }
    let (drugs, events) = crate::load::read_children(store, &scan, query)?;
    Ok(crate::load::assemble(query, scan, drugs, events, excluded))
}

/// Writes the reports of a store row-wise as CSV `id,drug,event[,strata…]`: one row per report
/// and distinct (drug, event) pair, after the same filters as [`load_report_set`]. Returns the
/// number of data rows written.
pub fn export_rows_csv<W: std::io::Write>(
    store_dir: &Path,
    query: &ReportQuery,
    out: W,
) -> StoreResult<u64> {
    let loaded = load_reports(store_dir, query)?;
    let mut w = csv::Writer::from_writer(out);
    let mut header = vec!["id".to_owned(), "drug".to_owned(), "event".to_owned()];
    header.extend(loaded.strata_columns.iter().cloned());
    let csv_err = |e: csv::Error| StoreError::Format(format!("writing CSV: {e}"));
    w.write_record(&header).map_err(csv_err)?;
    let set = &loaded.set;
    let mut rows = 0u64;
    for r in 0..set.len() {
        let strata = &loaded.strata_values[set.report_stratum[r] as usize];
        let id = set.report_ids.get(r);
        let mut rec: Vec<&str> = Vec::with_capacity(3 + strata.len());
        for &d in set.report_drugs(r) {
            for &e in set.report_events(r) {
                rec.clear();
                rec.push(&id);
                rec.push(set.drugs.name(d));
                rec.push(set.events.name(e));
                rec.extend(strata.iter().map(|s| s.as_str()));
                w.write_record(&rec).map_err(csv_err)?;
                rows += 1;
            }
        }
    }
    w.flush()
        .map_err(|e| StoreError::Format(format!("writing CSV: {e}")))?;
    Ok(rows)
}
