//! The store loader behind [`crate::read::load_reports_from`]: the reports table and the drug and
//! reaction files of every batch into a [`ReportSet`].
//!
//! It reads only the columns it needs, keeps text columns dictionary-encoded as Parquet stores
//! them (a name is upper-cased and interned once per dictionary entry, not once per row), reads
//! the files on both cores, and builds the per-report lists with a counting sort instead of
//! sorting every (report, name) pair. The result is the same `ReportSet` (same ids, same order)
//! as the row-by-row reader it replaced; `tests/load_equivalence.rs` checks this against a plain
//! reference built from the same tables.
use std::fs::File;
use std::path::Path;
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

/// Reads `columns` of a Parquet file (in the order asked), with the text columns named in
/// `dictionary` as `Dictionary(Int32, Utf8)` arrays; the row groups are read on all cores when
/// `parallel`, and the batches come back in file order.
pub(crate) fn read_parquet_columns(
    path: &Path,
    columns: &[&str],
    dictionary: &[&str],
    parallel: bool,
) -> StoreResult<Vec<RecordBatch>> {
    let damaged = |e: &dyn std::fmt::Display| {
        StoreError::Format(format!(
            "{}: damaged store file (not readable as Parquet): {e}",
            path.display()
        ))
    };
    let open = || File::open(path).map_err(|e| StoreError::io(path, e));
    let plain = ArrowReaderMetadata::load(&open()?, Default::default()).map_err(|e| damaged(&e))?;
    let file_schema = plain.schema().clone();
    let mut idx = Vec::with_capacity(columns.len());
    for c in columns {
        idx.push(
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
    let meta =
        ArrowReaderMetadata::try_new(plain.metadata().clone(), options).map_err(|e| damaged(&e))?;
    let groups = meta.metadata().num_row_groups();
    let threads = if parallel {
        rayon::current_num_threads().max(1)
    } else {
        1
    };
    let per_task = groups.div_ceil(threads).max(1);
    let tasks: Vec<Vec<usize>> = (0..groups)
        .collect::<Vec<_>>()
        .chunks(per_task)
        .map(|c| c.to_vec())
        .collect();
    let read_groups = |row_groups: &Vec<usize>| -> StoreResult<Vec<RecordBatch>> {
        let builder = ParquetRecordBatchReaderBuilder::new_with_metadata(open()?, meta.clone());
        let mask = ProjectionMask::roots(builder.parquet_schema(), idx.iter().copied());
        let reader = builder
            .with_projection(mask)
            .with_row_groups(row_groups.clone())
            .with_batch_size(64 * 1024)
            .build()
            .map_err(|e| damaged(&e))?;
        let mut out = Vec::new();
        for rb in reader {
            out.push(in_order(rb.map_err(|e| damaged(&e))?, columns)?);
        }
        Ok(out)
    };
    let parts: Vec<StoreResult<Vec<RecordBatch>>> = if parallel {
        tasks.par_iter().map(read_groups).collect()
    } else {
        tasks.iter().map(read_groups).collect()
    };
    let mut out = Vec::new();
    for p in parts {
        out.extend(p?);
    }
    Ok(out)
}

/// A projection returns columns in file order; this puts them in the order asked for.
fn in_order(rb: RecordBatch, columns: &[&str]) -> StoreResult<RecordBatch> {
    let schema = rb.schema();
    let mut arrays = Vec::with_capacity(columns.len());
    let mut fields = Vec::with_capacity(columns.len());
    for c in columns {
        let i = schema.index_of(c)?;
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

/// Stratum ids of code tuples, in order of first appearance.
struct Strata {
    small: ahash::AHashMap<u128, u32>,
    large: ahash::AHashMap<Vec<u32>, u32>,
    values: Vec<Vec<String>>,
}

impl Strata {
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

/// The kept reports of each store batch: primaryid → report index.
#[derive(Default)]
pub(crate) struct BatchIndex {
    batches: ahash::AHashMap<u32, ahash::AHashMap<u64, u32>>,
}

impl BatchIndex {
    pub(crate) fn batch(&self, batch: u32) -> Option<&ahash::AHashMap<u64, u32>> {
        self.batches.get(&batch)
    }

    pub(crate) fn batch_ids(&self) -> impl Iterator<Item = u32> + '_ {
        self.batches.keys().copied()
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

/// Reads the reports table: the primaryid, batch, stratification columns and (only when a date
/// bound is set) the date column.
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
    let batches = read_parquet_columns(&path, &cols, &strat_cols, true).map_err(|e| match e {
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

    let total_rows: usize = batches.iter().map(|rb| rb.num_rows()).sum();
    let mut report_ids: Vec<u64> = Vec::with_capacity(total_rows);
    let mut stratum_of: Vec<u32> = Vec::with_capacity(total_rows);
    let mut columns: Vec<StratumColumn> = query
        .stratify
        .iter()
        .map(|_| StratumColumn::new())
        .collect();
    let mut strata = Strata {
        small: ahash::AHashMap::new(),
        large: ahash::AHashMap::new(),
        values: Vec::new(),
    };
    // (batch, [(primaryid, report index)]) in order of first appearance of the batch.
    let mut per_batch: Vec<(u32, Vec<(u64, u32)>)> = Vec::new();
    let mut batch_slot: ahash::AHashMap<u32, usize> = ahash::AHashMap::new();
    let mut codes: Vec<Vec<u32>> = vec![Vec::new(); query.stratify.len()];
    let mut key: Vec<u32> = Vec::with_capacity(query.stratify.len());
    for rb in &batches {
        let pid = rb.column(0).as_primitive::<UInt64Type>();
        let bat = rb.column(1).as_primitive::<UInt32Type>();
        let dates = bounded.then(|| rb.column(2).as_string::<i32>());
        for (c, &p) in strat_pos.iter().enumerate() {
            columns[c].codes_of(rb.column(p), &mut codes[c])?;
        }
        let mut last_batch: Option<(u32, usize)> = None;
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
            let sid = strata.id(&key, &columns);
            let b = bat.value(i);
            let slot = match last_batch {
                Some((lb, s)) if lb == b => s,
                _ => {
                    let s = *batch_slot.entry(b).or_insert_with(|| {
                        per_batch.push((b, Vec::new()));
                        per_batch.len() - 1
                    });
                    last_batch = Some((b, s));
                    s
                }
            };
            let idx = report_ids.len() as u32;
            per_batch[slot].1.push((pid.value(i), idx));
            report_ids.push(pid.value(i));
            stratum_of.push(sid);
        }
    }
    drop(batches);
    // Later rows of a repeated primaryid replace earlier ones, as inserting in order does.
    let maps: Vec<(u32, ahash::AHashMap<u64, u32>)> = per_batch
        .into_par_iter()
        .map(|(b, rows)| {
            let mut m = ahash::AHashMap::with_capacity(rows.len());
            for (p, i) in rows {
                m.insert(p, i);
            }
            (b, m)
        })
        .collect();
    Ok(ReportsScan {
        report_ids,
        stratum_of,
        strata_values: strata.values,
        index: BatchIndex {
            batches: maps.into_iter().collect(),
        },
    })
}

/// The names (upper case, in order of first appearance) and the (report index, name id) rows of
/// one child file.
struct FileNames {
    names: Vec<String>,
    rows: Vec<(u32, u32)>,
}

/// Reads one drugs or reactions file: the rows whose primaryid is a kept report of this batch
/// (and, for drugs, whose role `role` admits), with their names trimmed and upper-cased. Blank
/// names are skipped.
fn read_names_file(
    path: &Path,
    table: ChildTable,
    batch: &ahash::AHashMap<u64, u32>,
    query: &ReportQuery,
) -> StoreResult<FileNames> {
    let (columns, dictionary): (&[&str], &[&str]) = match table {
        ChildTable::Drugs => (
            &["primaryid", "role_cod", "ingredient"],
            &["role_cod", "ingredient"],
        ),
        _ => (&["primaryid", "pt"], &["pt"]),
    };
    let name_col = columns.len() - 1;
    let with_role = table == ChildTable::Drugs;
    let mut names: Vec<String> = Vec::new();
    let mut lookup: ahash::AHashMap<String, u32> = ahash::AHashMap::new();
    let mut rows: Vec<(u32, u32)> = Vec::new();
    // Per dictionary entry: the name id (None for a blank name), and whether the role counts.
    let mut name_cache: EntryCache<Option<u32>> = EntryCache::new();
    let mut role_cache: EntryCache<bool> = EntryCache::new();
    for rb in read_parquet_columns(path, columns, dictionary, false)? {
        let pid = rb.column(0).as_primitive::<UInt64Type>();
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
        // A report's rows are next to each other in the files: the last look-up is reused for
        // the rows that follow it.
        let mut last: Option<(u64, Option<u32>)> = None;
        for i in 0..rb.num_rows() {
            let p = pid.value(i);
            let found = match last {
                Some((q, found)) if q == p => found,
                _ => {
                    let found = batch.get(&p).copied();
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
                        let id = names.len() as u32;
                        names.push(upper.clone());
                        lookup.insert(upper, id);
                        id
                    }
                })
            });
            if let Some(id) = id {
                rows.push((idx, id));
            }
        }
    }
    Ok(FileNames { names, rows })
}

/// The names of one child table over all files, and each report's name ids (sorted) as
/// compressed sparse rows over the `n` kept reports.
pub(crate) struct ChildLists {
    pub(crate) names: Vec<String>,
    pub(crate) offsets: Vec<usize>,
    pub(crate) ids: Vec<u32>,
}

impl ChildLists {
    pub(crate) fn of(&self, r: usize) -> &[u32] {
        &self.ids[self.offsets[r]..self.offsets[r + 1]]
    }
}

/// Reads the drugs and the reactions of every batch holding kept reports, both tables' files in
/// parallel. Name ids are numbered in order of first appearance over the files in batch order,
/// and each report's ids are sorted, as one sequential pass followed by a sort would give.
pub(crate) fn read_children(
    store: &Store,
    index: &BatchIndex,
    n: usize,
    query: &ReportQuery,
) -> StoreResult<(ChildLists, ChildLists)> {
    let mut tasks: Vec<(ChildTable, std::path::PathBuf, &ahash::AHashMap<u64, u32>)> = Vec::new();
    for table in [ChildTable::Drugs, ChildTable::Reactions] {
        for (bid, path) in store.child_files(table) {
            if let Some(batch) = index.batch(bid) {
                tasks.push((table, path, batch));
            }
        }
    }
    let read: Vec<StoreResult<FileNames>> = tasks
        .par_iter()
        .map(|(table, path, batch)| read_names_file(path, *table, batch, query))
        .collect();
    let mut drugs = Vec::new();
    let mut reactions = Vec::new();
    for ((table, _, _), r) in tasks.iter().zip(read) {
        match table {
            ChildTable::Drugs => drugs.push(r?),
            _ => reactions.push(r?),
        }
    }
    let (d, e) = rayon::join(|| merge_files(drugs, n), || merge_files(reactions, n));
    Ok((d, e))
}

/// Merges the files of one table: local name ids become global ones (numbered in file order),
/// and the rows are placed per report by a counting sort on the report index.
fn merge_files(files: Vec<FileNames>, n: usize) -> ChildLists {
    let mut names: Vec<String> = Vec::new();
    let mut lookup: ahash::AHashMap<String, u32> = ahash::AHashMap::new();
    let mut remaps: Vec<Vec<u32>> = Vec::with_capacity(files.len());
    for f in &files {
        remaps.push(
            f.names
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
    let mut offsets = vec![0usize; n + 1];
    for f in &files {
        for &(r, _) in &f.rows {
            offsets[r as usize + 1] += 1;
        }
    }
    for r in 0..n {
        offsets[r + 1] += offsets[r];
    }
    let mut cursor: Vec<usize> = offsets[..n].to_vec();
    let mut ids = vec![0u32; offsets[n]];
    for (f, remap) in files.iter().zip(&remaps) {
        for &(r, id) in &f.rows {
            let c = &mut cursor[r as usize];
            ids[*c] = remap[id as usize];
            *c += 1;
        }
    }
    drop(cursor);
    drop(files);
    // Each report's ids in ascending order (the order of a sort on (report, id)), in ranges of
    // reports on all cores.
    const REPORTS_PER_TASK: usize = 64 * 1024;
    let mut rest: &mut [u32] = &mut ids;
    let mut ranges: Vec<(usize, &mut [u32])> = Vec::new();
    let mut r0 = 0;
    while r0 < n {
        let r1 = (r0 + REPORTS_PER_TASK).min(n);
        let (head, tail) = rest.split_at_mut(offsets[r1] - offsets[r0]);
        ranges.push((r0, head));
        rest = tail;
        r0 = r1;
    }
    ranges.par_iter_mut().for_each(|(r0, slice)| {
        let base = offsets[*r0];
        let mut r = *r0;
        while r < n && offsets[r] - base < slice.len() {
            slice[offsets[r] - base..offsets[r + 1] - base].sort_unstable();
            r += 1;
        }
    });
    drop(ranges);
    ChildLists {
        names,
        offsets,
        ids,
    }
}

/// Assembles the [`LoadedReports`]: reports with at least one admitted drug and one reaction
/// and not excluded, their names interned in order of first appearance over the reports.
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
    let mut set = ReportSet::default();
    set.drug_offsets.push(0);
    set.event_offsets.push(0);
    let mut drug_map = vec![u32::MAX; drugs.names.len()];
    let mut event_map = vec![u32::MAX; events.names.len()];
    let mut stratum_map = vec![u32::MAX; scan.strata_values.len()];
    let mut kept_strata_values = Vec::new();
    let mut kept_ids: Vec<u64> = Vec::with_capacity(n);
    let mut scratch: Vec<u32> = Vec::new();
    for (r, &is_excluded) in excluded.iter().enumerate() {
        let (ds, es) = (drugs.of(r), events.of(r));
        if is_excluded || ds.is_empty() || es.is_empty() {
            continue;
        }
        scratch.clear();
        for &d in ds {
            if drug_map[d as usize] == u32::MAX {
                drug_map[d as usize] = set.drugs.intern(&drugs.names[d as usize]);
            }
            scratch.push(drug_map[d as usize]);
        }
        scratch.sort_unstable();
        scratch.dedup();
        set.drug_ids.extend_from_slice(&scratch);
        set.drug_offsets.push(set.drug_ids.len());
        scratch.clear();
        for &e in es {
            if event_map[e as usize] == u32::MAX {
                event_map[e as usize] = set.events.intern(&events.names[e as usize]);
            }
            scratch.push(event_map[e as usize]);
        }
        scratch.sort_unstable();
        scratch.dedup();
        set.event_ids.extend_from_slice(&scratch);
        set.event_offsets.push(set.event_ids.len());
        let s = scan.stratum_of[r] as usize;
        if stratum_map[s] == u32::MAX {
            stratum_map[s] = set.strata.intern(&scan.strata_values[s].join("|"));
            kept_strata_values.push(scan.strata_values[s].clone());
        }
        set.report_stratum.push(stratum_map[s]);
        kept_ids.push(scan.report_ids[r]);
    }
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
