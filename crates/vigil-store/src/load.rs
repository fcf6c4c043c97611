//! The store loader behind [`crate::read::load_reports_from`]: the reports table and the drug and
//! reaction files of every batch into a [`ReportSet`].
//!
//! It reads only the columns it needs, keeps text columns dictionary-encoded as Parquet stores
//! them (a name is upper-cased and interned once per dictionary entry, not once per row), and
//! works on both cores: every row group of the reports table and of the child files is one task,
//! decoded and reduced to integer codes as it streams (no table is held as Arrow batches). A child
//! row finds its report by a merge against the batch's primaryids, sorted (one comparison per
//! report when the file lists its rows in primaryid order, as FAERS files and vigil's ingest do;
//! a binary search otherwise), not by a hash look-up. Each report's drugs and events are gathered
//! without a sort of the rows: as runs of rows when the files come in report order, by a counting
//! sort otherwise. The result is the same `ReportSet` (same ids, same order) as the row-by-row
//! reader it replaced: `tests/load_dictionary.rs` checks it against values worked out by hand,
//! with rows in and out of order.
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{Array, AsArray, DictionaryArray, RecordBatch};
use arrow::datatypes::{DataType, Field, Int32Type, Schema, UInt32Type, UInt64Type};
use parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReaderBuilder,
};
use parquet::arrow::ProjectionMask;
use rayon::prelude::*;

use crate::layout::{ChildTable, StoreError, StoreResult, REPORTS_FILE};
use crate::read::{LoadedReports, ReportQuery, Store};
use crate::reports::{normalise_name, ReportSet};

/// Rows per decoded Arrow batch: small enough to stay in cache while it is reduced to codes.
const BATCH_ROWS: usize = 16 * 1024;

/// One Parquet file opened for reading `columns` (text columns named in `dictionary` as
/// `Dictionary(Int32, Utf8)` arrays), row group by row group.
struct ParquetSource {
    path: PathBuf,
    meta: ArrowReaderMetadata,
    projection: Vec<usize>,
    columns: Vec<String>,
}

impl ParquetSource {
    fn damaged(path: &Path, e: &dyn std::fmt::Display) -> StoreError {
        StoreError::Format(format!(
            "{}: damaged store file (not readable as Parquet): {e}",
            path.display()
        ))
    }

    fn open(path: &Path, columns: &[&str], dictionary: &[&str]) -> StoreResult<ParquetSource> {
        let file = File::open(path).map_err(|e| StoreError::io(path, e))?;
        let plain = ArrowReaderMetadata::load(&file, Default::default())
            .map_err(|e| Self::damaged(path, &e))?;
        let file_schema = plain.schema().clone();
        let mut projection = Vec::with_capacity(columns.len());
        for c in columns {
            projection.push(
                file_schema
                    .index_of(c)
                    .map_err(|_| StoreError::MissingColumn {
                        path: path.display().to_string(),
                        column: (*c).to_owned(),
                    })?,
            );
        }
        let hinted: Vec<Field> = file_schema
            .fields()
            .iter()
            .map(|f| {
                if f.data_type() == &DataType::Utf8 && dictionary.contains(&f.name().as_str()) {
                    f.as_ref().clone().with_data_type(DataType::Dictionary(
                        Box::new(DataType::Int32),
                        Box::new(DataType::Utf8),
                    ))
                } else {
                    f.as_ref().clone()
                }
            })
            .collect();
        let options = ArrowReaderOptions::new().with_schema(Arc::new(Schema::new(hinted)));
        let meta = ArrowReaderMetadata::try_new(plain.metadata().clone(), options)
            .map_err(|e| Self::damaged(path, &e))?;
        Ok(ParquetSource {
            path: path.to_owned(),
            meta,
            projection,
            columns: columns.iter().map(|c| (*c).to_owned()).collect(),
        })
    }

    fn row_groups(&self) -> usize {
        self.meta.metadata().num_row_groups()
    }

    /// Calls `f` on every batch of row group `group`, its columns in the order asked for.
    fn read_group(
        &self,
        group: usize,
        mut f: impl FnMut(&RecordBatch) -> StoreResult<()>,
    ) -> StoreResult<()> {
        let file = File::open(&self.path).map_err(|e| StoreError::io(&self.path, e))?;
        let builder = ParquetRecordBatchReaderBuilder::new_with_metadata(file, self.meta.clone());
        let mask = ProjectionMask::roots(builder.parquet_schema(), self.projection.iter().copied());
        let reader = builder
            .with_projection(mask)
            .with_row_groups(vec![group])
            .with_batch_size(BATCH_ROWS)
            .build()
            .map_err(|e| Self::damaged(&self.path, &e))?;
        for rb in reader {
            let rb = rb.map_err(|e| Self::damaged(&self.path, &e))?;
            f(&in_order(rb, &self.columns)?)?;
        }
        Ok(())
    }

    /// Column `i` of `rb` as a primitive array of `T`, or an error naming the file and column.
    fn primitive<'a, T: arrow::datatypes::ArrowPrimitiveType>(
        &self,
        rb: &'a RecordBatch,
        i: usize,
    ) -> StoreResult<&'a arrow::array::PrimitiveArray<T>> {
        rb.column(i).as_primitive_opt::<T>().ok_or_else(|| {
            StoreError::Format(format!(
                "{}: column {:?} is {}, not {} (the store is damaged or not vigil's)",
                self.path.display(),
                self.columns[i],
                rb.column(i).data_type(),
                T::DATA_TYPE
            ))
        })
    }
}

/// A projection returns columns in file order; this puts them in the order asked for.
fn in_order<S: AsRef<str>>(rb: RecordBatch, columns: &[S]) -> StoreResult<RecordBatch> {
    let schema = rb.schema();
    let mut arrays = Vec::with_capacity(columns.len());
    let mut fields = Vec::with_capacity(columns.len());
    for c in columns {
        let i = schema.index_of(c.as_ref())?;
        arrays.push(rb.column(i).clone());
        fields.push(schema.field(i).clone());
    }
    Ok(RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays)?)
}

/// A text column as dictionary keys and values: the form the loader reads every text column in.
/// A column that arrives as plain UTF-8 (the reader falls back to it for some pages) is packed
/// into a dictionary first.
fn as_dictionary(col: &arrow::array::ArrayRef) -> StoreResult<DictionaryArray<Int32Type>> {
    let dict_type = DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8));
    let d = if col.data_type() == &dict_type {
        col.clone()
    } else {
        arrow::compute::cast(col, &dict_type)?
    };
    Ok(d.as_dictionary::<Int32Type>().clone())
}

/// A per-dictionary-entry cache that survives from one batch to the next while the reader hands
/// out the same dictionary (one per row group when the column chunk is dictionary-encoded). It
/// holds the dictionary it follows, so that another one cannot reuse its memory and pass for it.
struct EntryCache<T: Copy> {
    held: Option<arrow::array::ArrayRef>,
    entries: Vec<Option<T>>,
}

impl<T: Copy> EntryCache<T> {
    fn new() -> Self {
        Self {
            held: None,
            entries: Vec::new(),
        }
    }

    /// Makes the cache follow `values`, clearing it when they are a different dictionary.
    fn follow(&mut self, values: &arrow::array::ArrayRef) {
        let same = self
            .held
            .as_ref()
            .is_some_and(|h| Arc::ptr_eq(h, values) || h.to_data().ptr_eq(&values.to_data()));
        if !same {
            self.held = Some(values.clone());
            self.entries.clear();
            self.entries.resize(values.len(), None);
        }
    }

    /// The cached value of entry `k`, computing it with `make` on first use.
    #[inline]
    fn get(&mut self, k: usize, make: impl FnOnce() -> T) -> T {
        match self.entries[k] {
            Some(v) => v,
            None => {
                let v = make();
                self.entries[k] = Some(v);
                v
            }
        }
    }
}

/// Codes of one stratification column: each distinct label once, in order of first appearance.
struct StratumColumn {
    labels: Vec<String>,
    codes: ahash::AHashMap<String, u32>,
    ints: ahash::AHashMap<i64, u32>,
    cache: EntryCache<u32>,
}

/// A stratum label for null and empty values.
const UNKNOWN: &str = "unknown";

impl StratumColumn {
    fn new() -> Self {
        Self {
            labels: Vec::new(),
            codes: ahash::AHashMap::new(),
            ints: ahash::AHashMap::new(),
            cache: EntryCache::new(),
        }
    }

    fn code(&mut self, label: &str) -> u32 {
        if let Some(&c) = self.codes.get(label) {
            return c;
        }
        let c = self.labels.len() as u32;
        self.labels.push(label.to_owned());
        self.codes.insert(label.to_owned(), c);
        c
    }

    /// The code of every row of `col` (a null or empty value is [`UNKNOWN`]). Integer columns
    /// are labelled by their decimal digits, as a cast to text writes them; other types go
    /// through that cast.
    fn codes_of(&mut self, col: &arrow::array::ArrayRef, out: &mut Vec<u32>) -> StoreResult<()> {
        out.clear();
        let n = col.len();
        match col.data_type() {
            DataType::Int32 | DataType::Int64 | DataType::UInt32 | DataType::UInt16 => {
                let ints = arrow::compute::cast(col, &DataType::Int64)?;
                let ints = ints.as_primitive::<arrow::datatypes::Int64Type>();
                for i in 0..n {
                    let c = if ints.is_null(i) {
                        self.code(UNKNOWN)
                    } else {
                        let v = ints.value(i);
                        match self.ints.get(&v) {
                            Some(&c) => c,
                            None => {
                                let c = self.code(&v.to_string());
                                self.ints.insert(v, c);
                                c
                            }
                        }
                    };
                    out.push(c);
                }
            }
            _ => {
                let text = if matches!(col.data_type(), DataType::Dictionary(_, _)) {
                    col.clone()
                } else {
                    arrow::compute::cast(col, &DataType::Utf8)?
                };
                let dict = as_dictionary(&text)?;
                self.cache.follow(dict.values());
                let values = dict.values().as_string::<i32>();
                let keys = dict.keys();
                for i in 0..n {
                    if keys.is_null(i) {
                        out.push(self.code(UNKNOWN));
                        continue;
                    }
                    let k = keys.value(i) as usize;
                    let c = match self.cache.entries[k] {
                        Some(c) => c,
                        None => {
                            let v = values.value(k);
                            let c = self.code(if v.is_empty() { UNKNOWN } else { v });
                            self.cache.entries[k] = Some(c);
                            c
                        }
                    };
                    out.push(c);
                }
            }
        }
        Ok(())
    }
}

/// Stratum ids of code tuples (codes of one task's [`StratumColumn`]s), in order of first
/// appearance.
struct Strata {
    small: ahash::AHashMap<u128, u32>,
    large: ahash::AHashMap<Vec<u32>, u32>,
    values: Vec<Vec<String>>,
}

impl Strata {
    fn new() -> Self {
        Self {
            small: ahash::AHashMap::new(),
            large: ahash::AHashMap::new(),
            values: Vec::new(),
        }
    }

    fn id(&mut self, key: &[u32], columns: &[StratumColumn]) -> u32 {
        let next = self.values.len() as u32;
        let (id, new) = if key.len() <= 4 {
            let packed = key.iter().fold(0u128, |acc, &c| (acc << 32) | c as u128);
            match self.small.get(&packed) {
                Some(&s) => (s, false),
                None => {
                    self.small.insert(packed, next);
                    (next, true)
                }
            }
        } else {
            match self.large.get(key) {
                Some(&s) => (s, false),
                None => {
                    self.large.insert(key.to_vec(), next);
                    (next, true)
                }
            }
        };
        if new {
            self.values.push(
                key.iter()
                    .zip(columns)
                    .map(|(&code, col)| col.labels[code as usize].clone())
                    .collect(),
            );
        }
        id
    }
}

/// Where the kept reports of one store batch are among the scanned reports.
enum BatchSpan {
    /// Reports `start..end`, their primaryids strictly ascending (the layout ingest writes).
    Contiguous { start: usize, end: usize },
    /// Anything else: the batch's primaryids sorted, each with its report index (for a
    /// primaryid listed twice, the later row, as inserting the rows in order into a map gives).
    Sorted { pids: Vec<u64>, idx: Vec<u32> },
}

/// The kept reports of each store batch, for finding the report of a child row.
#[derive(Default)]
pub(crate) struct BatchIndex {
    batches: Vec<(u32, BatchSpan)>,
    slot: ahash::AHashMap<u32, usize>,
}

/// The kept reports of one batch: primaryids in ascending order and their report indices.
#[derive(Clone, Copy)]
pub(crate) struct BatchReports<'a> {
    pids: &'a [u64],
    /// The report index of `pids[j]`: `first + j`, or `idx[j]`.
    first: u32,
    idx: Option<&'a [u32]>,
}

impl BatchReports<'_> {
    #[inline]
    fn at(&self, j: usize) -> u32 {
        match self.idx {
            Some(idx) => idx[j],
            None => self.first + j as u32,
        }
    }

    /// The report index of `pid`, if it is a kept report of this batch.
    pub(crate) fn get(&self, pid: u64) -> Option<u32> {
        let j = self.pids.partition_point(|&p| p < pid);
        (self.pids.get(j) == Some(&pid)).then(|| self.at(j))
    }

    /// As [`BatchReports::get`], starting from `cursor` (left at the first primaryid ≥ `pid`):
    /// rows in ascending primaryid order cost a comparison or two each, rows out of order a
    /// binary search.
    #[inline]
    fn seek(&self, pid: u64, cursor: &mut usize) -> Option<u32> {
        let pids = self.pids;
        let mut j = *cursor;
        if j < pids.len() && pids[j] < pid {
            j += 1;
            if j < pids.len() && pids[j] < pid {
                j += pids[j..].partition_point(|&p| p < pid);
            }
        } else if j > 0 && pids[j - 1] >= pid {
            j = pids.partition_point(|&p| p < pid);
        }
        *cursor = j;
        (j < pids.len() && pids[j] == pid).then(|| self.at(j))
    }
}

impl BatchIndex {
    /// The kept reports of `batch`; `report_ids` are the scanned reports' primaryids.
    pub(crate) fn batch<'a>(
        &'a self,
        report_ids: &'a [u64],
        batch: u32,
    ) -> Option<BatchReports<'a>> {
        let (_, span) = &self.batches[*self.slot.get(&batch)?];
        Some(match span {
            BatchSpan::Contiguous { start, end } => BatchReports {
                pids: &report_ids[*start..*end],
                first: *start as u32,
                idx: None,
            },
            BatchSpan::Sorted { pids, idx } => BatchReports {
                pids,
                first: 0,
                idx: Some(idx),
            },
        })
    }

    /// The batches holding kept reports, in order of first appearance in the reports table.
    pub(crate) fn batch_ids(&self) -> impl Iterator<Item = u32> + '_ {
        self.batches.iter().map(|(b, _)| *b)
    }

    /// The index of reports `report_ids`, whose batches are `runs` (batch, number of reports)
    /// in order.
    fn build(report_ids: &[u64], runs: &[(u32, usize)]) -> Self {
        let mut spans: Vec<(u32, Vec<(usize, usize)>)> = Vec::new();
        let mut slot: ahash::AHashMap<u32, usize> = ahash::AHashMap::new();
        let mut start = 0;
        for &(b, len) in runs {
            let s = *slot.entry(b).or_insert_with(|| {
                spans.push((b, Vec::new()));
                spans.len() - 1
            });
            match spans[s].1.last_mut() {
                Some((_, end)) if *end == start => *end += len,
                _ => spans[s].1.push((start, start + len)),
            }
            start += len;
        }
        let batches = spans
            .into_par_iter()
            .map(|(b, ranges)| {
                if let [(start, end)] = ranges[..] {
                    if report_ids[start..end].windows(2).all(|w| w[0] < w[1]) {
                        return (b, BatchSpan::Contiguous { start, end });
                    }
                }
                let mut rows: Vec<(u64, u32)> = ranges
                    .iter()
                    .flat_map(|&(s, e)| (s..e).map(|r| (report_ids[r], r as u32)))
                    .collect();
                rows.sort_unstable();
                // Sorted by (primaryid, index): the last of equal primaryids is the later row.
                rows.dedup_by(|later, kept| {
                    let same = later.0 == kept.0;
                    if same {
                        kept.1 = later.1;
                    }
                    same
                });
                let (pids, idx) = rows.into_iter().unzip();
                (b, BatchSpan::Sorted { pids, idx })
            })
            .collect();
        BatchIndex { batches, slot }
    }
}

/// The reports table after the date filter: each kept report's primaryid and stratum, and the
/// index of the kept reports of each batch.
pub(crate) struct ReportsScan {
    pub(crate) report_ids: Vec<u64>,
    pub(crate) stratum_of: Vec<u32>,
    pub(crate) strata_values: Vec<Vec<String>>,
    pub(crate) index: BatchIndex,
}

/// One row group of the reports table, scanned: primaryids, stratum ids (numbered within the
/// row group) and the runs of equal batch ids.
#[derive(Default)]
struct ReportsPart {
    pids: Vec<u64>,
    strata: Vec<u32>,
    strata_values: Vec<Vec<String>>,
    batch_runs: Vec<(u32, usize)>,
}

/// Scans row group `group` of the reports table (columns: primaryid, batch, then the date column
/// when `bounded`, then the stratification columns at `strat_pos`).
fn scan_group(
    source: &ParquetSource,
    group: usize,
    query: &ReportQuery,
    bounded: bool,
    strat_pos: &[usize],
) -> StoreResult<ReportsPart> {
    let mut part = ReportsPart::default();
    let mut columns: Vec<StratumColumn> = strat_pos.iter().map(|_| StratumColumn::new()).collect();
    let mut strata = Strata::new();
    let mut codes: Vec<Vec<u32>> = vec![Vec::new(); strat_pos.len()];
    let mut key: Vec<u32> = Vec::with_capacity(strat_pos.len());
    source.read_group(group, |rb| {
        let pid = source.primitive::<UInt64Type>(rb, 0)?;
        let bat = source.primitive::<UInt32Type>(rb, 1)?;
        let dates = if bounded {
            Some(rb.column(2).as_string_opt::<i32>().ok_or_else(|| {
                StoreError::Format(format!(
                    "{}: the date column is {}, not text",
                    source.path.display(),
                    rb.column(2).data_type()
                ))
            })?)
        } else {
            None
        };
        for (c, &p) in strat_pos.iter().enumerate() {
            columns[c].codes_of(rb.column(p), &mut codes[c])?;
        }
        for i in 0..rb.num_rows() {
            if let Some(dates) = dates {
                if dates.is_null(i) || dates.value(i).is_empty() {
                    continue;
                }
                let d = dates.value(i);
                if query
                    .since
                    .as_deref()
                    .is_some_and(|s| !crate::read::date_at_or_after(d, s))
                    || query
                        .until
                        .as_deref()
                        .is_some_and(|u| !crate::read::date_at_or_before(d, u))
                {
                    continue;
                }
            }
            key.clear();
            key.extend(codes.iter().map(|c| c[i]));
            part.strata.push(strata.id(&key, &columns));
            part.pids.push(pid.value(i));
            let b = bat.value(i);
            match part.batch_runs.last_mut() {
                Some((last, len)) if *last == b => *len += 1,
                _ => part.batch_runs.push((b, 1)),
            }
        }
        Ok(())
    })?;
    part.strata_values = strata.values;
    Ok(part)
}

/// Reads the reports table: the primaryid, batch, stratification columns and (only when a date
/// bound is set) the date column, one row group per task. Strata are numbered in order of first
/// appearance over the rows.
pub(crate) fn scan_reports(store: &Store, query: &ReportQuery) -> StoreResult<ReportsScan> {
    let date_col = match query.date_field {
        crate::read::DateField::FdaReceipt => "fda_dt",
        crate::read::DateField::Event => "event_dt",
    };
    let bounded = query.since.is_some() || query.until.is_some();
    let mut cols: Vec<&str> = vec!["primaryid", "batch"];
    if bounded {
        cols.push(date_col);
    }
    let mut strat_cols: Vec<&str> = Vec::new();
    for s in &query.stratify {
        if !cols.contains(&s.as_str()) && !strat_cols.contains(&s.as_str()) {
            strat_cols.push(s.as_str());
        }
    }
    cols.extend(&strat_cols);
    let path = store.dir.join(REPORTS_FILE);
    let source = ParquetSource::open(&path, &cols, &strat_cols).map_err(|e| match e {
        StoreError::MissingColumn { path, column } if query.stratify.contains(&column) => {
            StoreError::UnknownStratum { path, column }
        }
        other => other,
    })?;
    // Where each stratification column (in query order, repeats allowed) is in `cols`.
    let strat_pos: Vec<usize> = query
        .stratify
        .iter()
        .map(|s| {
            cols.iter()
                .position(|c| c == s)
                .expect("stratification column listed")
        })
        .collect();
    let parts: Vec<StoreResult<ReportsPart>> = (0..source.row_groups())
        .into_par_iter()
        .map(|g| scan_group(&source, g, query, bounded, &strat_pos))
        .collect();
    let parts = parts.into_iter().collect::<StoreResult<Vec<_>>>()?;
    let total: usize = parts.iter().map(|p| p.pids.len()).sum();
    let mut report_ids: Vec<u64> = Vec::with_capacity(total);
    let mut stratum_of: Vec<u32> = Vec::with_capacity(total);
    let mut strata_values: Vec<Vec<String>> = Vec::new();
    let mut strata_ids: ahash::AHashMap<Vec<String>, u32> = ahash::AHashMap::new();
    let mut runs: Vec<(u32, usize)> = Vec::new();
    for part in parts {
        // The row group's strata, in their order of first appearance, continue the numbering.
        let remap: Vec<u32> = part
            .strata_values
            .into_iter()
            .map(|v| match strata_ids.get(&v) {
                Some(&s) => s,
                None => {
                    let s = strata_values.len() as u32;
                    strata_values.push(v.clone());
                    strata_ids.insert(v, s);
                    s
                }
            })
            .collect();
        report_ids.extend_from_slice(&part.pids);
        stratum_of.extend(part.strata.iter().map(|&s| remap[s as usize]));
        runs.extend(part.batch_runs);
    }
    let index = BatchIndex::build(&report_ids, &runs);
    Ok(ReportsScan {
        report_ids,
        stratum_of,
        strata_values,
        index,
    })
}

/// One row group of a drugs or reactions file: its names (upper case, in order of first
/// appearance), and its rows as runs of (report index, rows); the rows' name ids are the first
/// `len` values of the row group's slice of the table's buffer.
struct ChildPart {
    names: Vec<String>,
    runs: Vec<(u32, u32)>,
    len: usize,
}

/// Reads row group `group` of one drugs or reactions file: the rows whose primaryid is a kept
/// report of `batch` (and, for drugs, whose role `query.role` admits), with their names trimmed
/// and upper-cased. Blank names are skipped. The rows' name ids are written to the start of
/// `out`, which holds one value per row of the row group as its metadata counts them.
fn read_child_group(
    source: &ParquetSource,
    group: usize,
    table: ChildTable,
    batch: BatchReports<'_>,
    query: &ReportQuery,
    out: &mut [u32],
) -> StoreResult<ChildPart> {
    let with_role = table == ChildTable::Drugs;
    let name_col = if with_role { 2 } else { 1 };
    let mut part = ChildPart {
        names: Vec::new(),
        runs: Vec::new(),
        len: 0,
    };
    let mut lookup: ahash::AHashMap<String, u32> = ahash::AHashMap::new();
    // Per dictionary entry: the name id (None for a blank name), and whether the role counts.
    let mut name_cache: EntryCache<Option<u32>> = EntryCache::new();
    let mut role_cache: EntryCache<bool> = EntryCache::new();
    let mut cursor = 0usize;
    // A report's rows are next to each other in the files: the last look-up is reused for the
    // rows that follow it.
    let mut last: Option<(u64, Option<u32>)> = None;
    source.read_group(group, |rb| {
        let pids = source.primitive::<UInt64Type>(rb, 0)?.values();
        let name = as_dictionary(rb.column(name_col))?;
        name_cache.follow(name.values());
        let name_values = name.values().as_string::<i32>();
        let name_keys = name.keys();
        let role = if with_role {
            let r = as_dictionary(rb.column(1))?;
            role_cache.follow(r.values());
            Some(r)
        } else {
            None
        };
        for (i, &p) in pids.iter().enumerate() {
            let found = match last {
                Some((q, found)) if q == p => found,
                _ => {
                    let found = batch.seek(p, &mut cursor);
                    last = Some((p, found));
                    found
                }
            };
            let Some(idx) = found else { continue };
            if name_keys.is_null(i) {
                continue;
            }
            if let Some(role) = &role {
                let admitted = if role.keys().is_null(i) {
                    query.role.admits("")
                } else {
                    let k = role.keys().value(i) as usize;
                    let values = role.values().as_string::<i32>();
                    role_cache.get(k, || query.role.admits(values.value(k)))
                };
                if !admitted {
                    continue;
                }
            }
            let k = name_keys.value(i) as usize;
            let id = name_cache.get(k, || {
                let raw = name_values.value(k).trim();
                if raw.is_empty() {
                    return None;
                }
                let upper = normalise_name(raw).unwrap_or_default();
                Some(match lookup.get(&upper) {
                    Some(&id) => id,
                    None => {
                        let id = part.names.len() as u32;
                        part.names.push(upper.clone());
                        lookup.insert(upper, id);
                        id
                    }
                })
            });
            if let Some(id) = id {
                let Some(slot) = out.get_mut(part.len) else {
                    return Err(StoreError::Format(format!(
                        "{}: row group {group} holds more rows than its metadata's {}",
                        source.path.display(),
                        out.len()
                    )));
                };
                *slot = id;
                part.len += 1;
                match part.runs.last_mut() {
                    Some((r, len)) if *r == idx => *len += 1,
                    _ => part.runs.push((idx, 1)),
                }
            }
        }
        Ok(())
    })?;
    Ok(part)
}

/// The names of one child table over all files, and each report's name ids (in file row order,
/// repeats kept) as compressed sparse rows over the `n` scanned reports.
pub(crate) struct ChildLists {
    pub(crate) names: Vec<String>,
    offsets: Vec<u32>,
    ids: Vec<u32>,
}

impl ChildLists {
    pub(crate) fn of(&self, r: usize) -> &[u32] {
        &self.ids[self.offsets[r] as usize..self.offsets[r + 1] as usize]
    }
}

/// Reads the drugs and the reactions of every batch holding kept reports: every row group of
/// both tables' files is a task on all cores. Name ids are numbered in order of first appearance
/// over the files in batch order, as one sequential pass would number them.
pub(crate) fn read_children(
    store: &Store,
    scan: &ReportsScan,
    query: &ReportQuery,
) -> StoreResult<(ChildLists, ChildLists)> {
    let mut sources: Vec<(ChildTable, ParquetSource, BatchReports<'_>)> = Vec::new();
    for table in [ChildTable::Drugs, ChildTable::Reactions] {
        let (columns, dictionary): (&[&str], &[&str]) = match table {
            ChildTable::Drugs => (
                &["primaryid", "role_cod", "ingredient"],
                &["role_cod", "ingredient"],
            ),
            _ => (&["primaryid", "pt"], &["pt"]),
        };
        for (bid, path) in store.child_files(table) {
            if let Some(batch) = scan.index.batch(&scan.report_ids, bid) {
                sources.push((
                    table,
                    ParquetSource::open(&path, columns, dictionary)?,
                    batch,
                ));
            }
        }
    }
    let tasks: Vec<(usize, usize)> = sources
        .iter()
        .enumerate()
        .flat_map(|(s, (_, source, _))| (0..source.row_groups()).map(move |g| (s, g)))
        .collect();
    // One buffer per table with a slice for every row group, as long as its rows: each task
    // writes its rows' name ids straight into place, so the lists need no second copy.
    let rows_of = |&(s, g): &(usize, usize)| -> StoreResult<usize> {
        let source = &sources[s].1;
        let rows = source.meta.metadata().row_group(g).num_rows();
        usize::try_from(rows).map_err(|_| {
            StoreError::Format(format!(
                "{}: row group {g} claims {rows} rows",
                source.path.display()
            ))
        })
    };
    let mut capacity = [0usize; 2];
    let mut task_rows = Vec::with_capacity(tasks.len());
    for t in &tasks {
        let rows = rows_of(t)?;
        capacity[table_slot(sources[t.0].0)] += rows;
        task_rows.push(rows);
    }
    for c in capacity {
        if u32::try_from(c).is_err() {
            return Err(StoreError::Format(format!(
                "{c} drug or reaction rows: more than this loader's limit of 2^32 - 1"
            )));
        }
    }
    let mut buffers = [vec![0u32; capacity[0]], vec![0u32; capacity[1]]];
    let read: Vec<StoreResult<ChildPart>> = {
        let [drug_buf, event_buf] = &mut buffers;
        let mut rest: [&mut [u32]; 2] = [drug_buf, event_buf];
        let mut slices: Vec<&mut [u32]> = Vec::with_capacity(tasks.len());
        for (t, &rows) in tasks.iter().zip(&task_rows) {
            let slot = table_slot(sources[t.0].0);
            let (head, tail) = std::mem::take(&mut rest[slot]).split_at_mut(rows);
            slices.push(head);
            rest[slot] = tail;
        }
        tasks
            .par_iter()
            .zip(slices)
            .map(|(&(s, g), out)| {
                let (table, source, batch) = &sources[s];
                read_child_group(source, g, *table, *batch, query, out)
            })
            .collect()
    };
    let mut parts: [Vec<(ChildPart, usize)>; 2] = [Vec::new(), Vec::new()];
    for ((&(s, _), part), rows) in tasks.iter().zip(read).zip(task_rows) {
        parts[table_slot(sources[s].0)].push((part?, rows));
    }
    let n = scan.report_ids.len();
    let [drug_parts, event_parts] = parts;
    let [drug_buf, event_buf] = buffers;
    let (d, e) = rayon::join(
        || merge_parts(drug_parts, drug_buf, n),
        || merge_parts(event_parts, event_buf, n),
    );
    Ok((d?, e?))
}

/// The buffer of a child table in [`read_children`]: drugs 0, reactions 1.
fn table_slot(table: ChildTable) -> usize {
    match table {
        ChildTable::Drugs => 0,
        _ => 1,
    }
}

/// Merges the row groups of one table: local name ids become global ones (numbered in order of
/// the parts), and the rows are gathered per report. `buffer` holds the parts' rows, each part
/// at the start of its slice (`(part, slice length)` in order). When the parts list their
/// reports in ascending order (files in batch order, rows in report order) their rows are
/// already the lists: renumbered in place on all cores and moved together; otherwise a counting
/// sort on the report index places them.
fn merge_parts(
    parts: Vec<(ChildPart, usize)>,
    mut buffer: Vec<u32>,
    n: usize,
) -> StoreResult<ChildLists> {
    let mut names: Vec<String> = Vec::new();
    let mut lookup: ahash::AHashMap<String, u32> = ahash::AHashMap::new();
    let mut remaps: Vec<Vec<u32>> = Vec::with_capacity(parts.len());
    for (p, _) in &parts {
        remaps.push(
            p.names
                .iter()
                .map(|name| match lookup.get(name) {
                    Some(&id) => id,
                    None => {
                        let id = names.len() as u32;
                        names.push(name.clone());
                        lookup.insert(name.clone(), id);
                        id
                    }
                })
                .collect(),
        );
    }
    let total: usize = parts.iter().map(|(p, _)| p.len).sum();
    let mut offsets = vec![0u32; n + 1];
    let mut ascending = true;
    let mut previous = 0u32;
    for (p, _) in &parts {
        for &(r, len) in &p.runs {
            offsets[r as usize + 1] += len;
            ascending &= r >= previous;
            previous = r;
        }
    }
    for r in 0..n {
        offsets[r + 1] += offsets[r];
    }
    let ids = if ascending {
        let mut rest: &mut [u32] = &mut buffer;
        let mut slices: Vec<&mut [u32]> = Vec::with_capacity(parts.len());
        for (p, rows) in &parts {
            let (head, tail) = rest.split_at_mut(*rows);
            slices.push(&mut head[..p.len]);
            rest = tail;
        }
        slices
            .into_par_iter()
            .zip(&remaps)
            .for_each(|(rows, remap)| {
                for id in rows.iter_mut() {
                    *id = remap[*id as usize];
                }
            });
        // Each part's rows moved down against the previous part's (never past its own start).
        let (mut at, mut start) = (0usize, 0usize);
        for (p, rows) in &parts {
            if at != start {
                buffer.copy_within(start..start + p.len, at);
            }
            at += p.len;
            start += rows;
        }
        buffer.truncate(total);
        buffer
    } else {
        let mut ids = vec![0u32; total];
        let mut cursor: Vec<u32> = offsets[..n].to_vec();
        let mut start = 0usize;
        for ((p, rows), remap) in parts.iter().zip(&remaps) {
            let part_ids = &buffer[start..start + p.len];
            let mut k = 0;
            for &(r, len) in &p.runs {
                let c = &mut cursor[r as usize];
                for (o, &id) in ids[*c as usize..(*c + len) as usize]
                    .iter_mut()
                    .zip(&part_ids[k..k + len as usize])
                {
                    *o = remap[id as usize];
                }
                *c += len;
                k += len as usize;
            }
            start += rows;
        }
        ids
    };
    Ok(ChildLists {
        names,
        offsets,
        ids,
    })
}

/// Reports per task of the parallel passes over reports.
const REPORTS_PER_TASK: usize = 64 * 1024;

/// The first kept report holding each of `count` ids (`u32::MAX` for none), where `ids_of(r)`
/// are report `r`'s ids; on all cores.
fn first_kept<'a>(
    kept: &[bool],
    count: usize,
    ids_of: impl Fn(usize) -> &'a [u32] + Sync,
) -> Vec<u32> {
    let n = kept.len();
    (0..n.div_ceil(REPORTS_PER_TASK))
        .into_par_iter()
        .map(|t| {
            let mut first = vec![u32::MAX; count];
            let start = t * REPORTS_PER_TASK;
            let end = (start + REPORTS_PER_TASK).min(n);
            for (r, _) in kept[start..end].iter().enumerate().filter(|(_, &k)| k) {
                let r = start + r;
                for &id in ids_of(r) {
                    let f = &mut first[id as usize];
                    if *f == u32::MAX {
                        *f = r as u32;
                    }
                }
            }
            first
        })
        .reduce(
            || vec![u32::MAX; count],
            |a, b| a.into_iter().zip(b).map(|(x, y)| x.min(y)).collect(),
        )
}

/// The ids ordered as interning them report by report (each report's ids in ascending order)
/// would number them: by first kept report, then by id.
fn order_of_first_appearance(first: &[u32]) -> Vec<u32> {
    let mut order: Vec<u32> = (0..first.len() as u32)
        .filter(|&i| first[i as usize] != u32::MAX)
        .collect();
    order.sort_unstable_by_key(|&i| (first[i as usize], i));
    order
}

/// Sorts a report's few ids: insertion sort, which beats a general sort on the two or three
/// ids a report usually has.
#[inline]
fn sort_short(s: &mut [u32]) {
    if s.len() > 32 {
        s.sort_unstable();
        return;
    }
    for i in 1..s.len() {
        let v = s[i];
        let mut j = i;
        while j > 0 && s[j - 1] > v {
            s[j] = s[j - 1];
            j -= 1;
        }
        s[j] = v;
    }
}

/// The kept reports' lists of `lists`, each mapped by `map`, sorted and made distinct, as
/// offsets and ids. Ranges of reports are rewritten in place on all cores (a list only shrinks),
/// then moved together: the ids reuse the memory of `lists`.
fn final_lists(lists: ChildLists, map: &[u32], kept: &[bool]) -> (Vec<usize>, Vec<u32>) {
    let n = kept.len();
    let ChildLists {
        offsets, mut ids, ..
    } = lists;
    let tasks = n.div_ceil(REPORTS_PER_TASK);
    let bound = |t: usize| offsets[(t * REPORTS_PER_TASK).min(n)] as usize;
    let mut regions: Vec<&mut [u32]> = Vec::with_capacity(tasks);
    let mut rest: &mut [u32] = &mut ids[..bound(tasks)];
    for t in 0..tasks {
        let (head, tail) = rest.split_at_mut(bound(t + 1) - bound(t));
        regions.push(head);
        rest = tail;
    }
    // Per range: the length of each kept report's list, and the ids written at its start.
    let lens: Vec<(Vec<u32>, usize)> = regions
        .into_par_iter()
        .enumerate()
        .map(|(t, region)| {
            let base = bound(t);
            let first = t * REPORTS_PER_TASK;
            let end = (first + REPORTS_PER_TASK).min(n);
            let mut lens = Vec::new();
            let mut w = 0;
            for (r, _) in kept[first..end].iter().enumerate().filter(|(_, &k)| k) {
                let r = first + r;
                let (s, e) = (offsets[r] as usize - base, offsets[r + 1] as usize - base);
                // Mapped and moved down to `w` (≤ `s`): each id is read before anything is
                // written over it.
                for i in 0..e - s {
                    region[w + i] = map[region[s + i] as usize];
                }
                let list = &mut region[w..w + (e - s)];
                sort_short(list);
                let mut k = 1;
                for i in 1..list.len() {
                    if list[i] != list[k - 1] {
                        list[k] = list[i];
                        k += 1;
                    }
                }
                w += k;
                lens.push(k as u32);
            }
            (lens, w)
        })
        .collect();
    let kept_count: usize = lens.iter().map(|l| l.0.len()).sum();
    // Offsets on all cores: each range's from its lengths, starting where the ranges before it
    // end.
    let mut out_offsets = vec![0usize; kept_count + 1];
    {
        let mut rest: &mut [usize] = &mut out_offsets[1..];
        let mut ranges: Vec<(&mut [usize], usize, &[u32])> = Vec::with_capacity(lens.len());
        let mut base = 0usize;
        for (report_lens, written) in &lens {
            let (head, tail) = rest.split_at_mut(report_lens.len());
            ranges.push((head, base, report_lens));
            rest = tail;
            base += written;
        }
        ranges.into_par_iter().for_each(|(out, base, report_lens)| {
            let mut end = base;
            for (o, &l) in out.iter_mut().zip(report_lens) {
                end += l as usize;
                *o = end;
            }
        });
    }
    let mut at = 0usize;
    for (t, (_, written)) in lens.iter().enumerate() {
        // Never overlapping a later range: `at` ≤ the start of this range.
        if at != bound(t) {
            ids.copy_within(bound(t)..bound(t) + written, at);
        }
        at += written;
    }
    ids.truncate(at);
    (out_offsets, ids)
}

/// Assembles the [`LoadedReports`]: reports with at least one admitted drug and one reaction
/// and not excluded, their names and strata numbered in order of first appearance over the
/// reports (within a report, names in the order of their table-wide ids).
pub(crate) fn assemble(
    query: &ReportQuery,
    scan: ReportsScan,
    drugs: ChildLists,
    events: ChildLists,
    mut excluded: Vec<bool>,
) -> LoadedReports {
    let n = scan.report_ids.len();
    let exclude: Vec<String> = query
        .exclude_drugs
        .iter()
        .map(|d| d.trim().to_uppercase())
        .collect();
    if !exclude.is_empty() {
        let excluded_ids: Vec<bool> = drugs.names.iter().map(|d| exclude.contains(d)).collect();
        for (r, e) in excluded.iter_mut().enumerate() {
            if drugs.of(r).iter().any(|&d| excluded_ids[d as usize]) {
                *e = true;
            }
        }
    }
    let kept: Vec<bool> = (0..n)
        .into_par_iter()
        .map(|r| !excluded[r] && !drugs.of(r).is_empty() && !events.of(r).is_empty())
        .collect();
    let ((drug_first, event_first), stratum_first) = rayon::join(
        || {
            rayon::join(
                || first_kept(&kept, drugs.names.len(), |r| drugs.of(r)),
                || first_kept(&kept, events.names.len(), |r| events.of(r)),
            )
        },
        || {
            first_kept(&kept, scan.strata_values.len(), |r| {
                std::slice::from_ref(&scan.stratum_of[r])
            })
        },
    );
    let mut set = ReportSet::default();
    let mut drug_map = vec![u32::MAX; drugs.names.len()];
    for d in order_of_first_appearance(&drug_first) {
        drug_map[d as usize] = set.drugs.intern(&drugs.names[d as usize]);
    }
    let mut event_map = vec![u32::MAX; events.names.len()];
    for e in order_of_first_appearance(&event_first) {
        event_map[e as usize] = set.events.intern(&events.names[e as usize]);
    }
    let mut stratum_map = vec![u32::MAX; scan.strata_values.len()];
    let mut kept_strata_values = Vec::new();
    for s in order_of_first_appearance(&stratum_first) {
        let s = s as usize;
        stratum_map[s] = set.strata.intern(&scan.strata_values[s].join("|"));
        kept_strata_values.push(scan.strata_values[s].clone());
    }
    let ((drug_offsets, drug_ids), (event_offsets, event_ids)) = rayon::join(
        || final_lists(drugs, &drug_map, &kept),
        || final_lists(events, &event_map, &kept),
    );
    set.drug_offsets = drug_offsets;
    set.drug_ids = drug_ids;
    set.event_offsets = event_offsets;
    set.event_ids = event_ids;
    // Primaryids and strata of the kept reports, range by range on all cores, each range
    // writing where the kept reports of the ranges before it end.
    let kept_count = set.drug_offsets.len() - 1;
    let mut kept_ids = vec![0u64; kept_count];
    let mut report_stratum = vec![0u32; kept_count];
    {
        let ranges = n.div_ceil(REPORTS_PER_TASK);
        let range_of = |t: usize| t * REPORTS_PER_TASK..((t + 1) * REPORTS_PER_TASK).min(n);
        let counts: Vec<usize> = (0..ranges)
            .into_par_iter()
            .map(|t| kept[range_of(t)].iter().filter(|&&k| k).count())
            .collect();
        let mut id_rest: &mut [u64] = &mut kept_ids;
        let mut stratum_rest: &mut [u32] = &mut report_stratum;
        let mut outs: Vec<(usize, &mut [u64], &mut [u32])> = Vec::with_capacity(ranges);
        for (t, &c) in counts.iter().enumerate() {
            let (ids, id_tail) = id_rest.split_at_mut(c);
            let (strata, stratum_tail) = stratum_rest.split_at_mut(c);
            outs.push((t, ids, strata));
            id_rest = id_tail;
            stratum_rest = stratum_tail;
        }
        outs.into_par_iter().for_each(|(t, ids, strata)| {
            let range = range_of(t);
            let start = range.start;
            let kept_rows = kept[range].iter().enumerate().filter(|(_, &k)| k);
            for ((r, _), (id, stratum)) in kept_rows.zip(ids.iter_mut().zip(strata.iter_mut())) {
                *id = scan.report_ids[start + r];
                *stratum = stratum_map[scan.stratum_of[start + r] as usize];
            }
        });
    }
    set.report_stratum = report_stratum;
    set.report_ids = crate::reports::ReportIds::Numeric(kept_ids);
    if set.strata.is_empty() {
        set.strata.intern("");
    }
    if kept_strata_values.is_empty() {
        kept_strata_values.push(Vec::new());
    }
    LoadedReports {
        set,
        strata_columns: query.stratify.clone(),
        strata_values: kept_strata_values,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn part(names: &[&str], runs: &[(u32, u32)], len: usize) -> ChildPart {
        ChildPart {
            names: names.iter().map(|n| (*n).to_owned()).collect(),
            runs: runs.to_vec(),
            len,
        }
    }

    /// Two row groups with slices of 4 and 3 rows of which 2 and 2 were kept (the rest is
    /// left-over space, here 99): the kept rows come out next to each other, renumbered.
    /// Part 0 names A, B and rows B, A of report 0; part 1 names C, B and rows C (report 1),
    /// B (report 2). Global names A = 0, B = 1, C = 2: ids 1, 0 | 2, 1; offsets 0, 2, 3, 4.
    #[test]
    fn merged_in_place_when_reports_ascend() {
        let buffer = vec![1, 0, 99, 99, 0, 1, 99];
        let parts = vec![
            (part(&["A", "B"], &[(0, 2)], 2), 4),
            (part(&["C", "B"], &[(1, 1), (2, 1)], 2), 3),
        ];
        let lists = merge_parts(parts, buffer, 3).unwrap();
        assert_eq!(lists.names, ["A", "B", "C"]);
        assert_eq!(lists.offsets, [0, 2, 3, 4]);
        assert_eq!(lists.ids, [1, 0, 2, 1]);
        assert_eq!(lists.of(0), [1, 0]);
        assert_eq!(lists.of(2), [1]);
    }

    /// The same rows with part 0 holding report 2 and part 1 reports 1 and 0: the counting sort
    /// places them by report. Part 0 rows B, A (report 2); part 1 rows C (report 1), B
    /// (report 0). Report 0: B = 1; report 1: C = 2; report 2: B, A = 1, 0.
    #[test]
    fn placed_by_report_when_reports_do_not_ascend() {
        let buffer = vec![1, 0, 99, 99, 0, 1, 99];
        let parts = vec![
            (part(&["A", "B"], &[(2, 2)], 2), 4),
            (part(&["C", "B"], &[(1, 1), (0, 1)], 2), 3),
        ];
        let lists = merge_parts(parts, buffer, 3).unwrap();
        assert_eq!(lists.names, ["A", "B", "C"]);
        assert_eq!(lists.offsets, [0, 1, 2, 4]);
        assert_eq!(lists.ids, [1, 2, 1, 0]);
    }
}
