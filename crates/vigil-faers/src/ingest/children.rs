//! The child tables (DRUG, REAC, OUTC, RPSR, THER, INDI) of one quarter: rows of kept reports
//! only, duplicate DRUG and REAC rows removed, drug names normalised, streamed into batch files.
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use arrow::array::{ArrayRef, RecordBatch, StringBuilder, UInt32Builder, UInt64Builder};
use vigil_store::ingest_report::{FileRead, TableCounts};
use vigil_store::layout::ChildTable;
use vigil_store::write::ParquetSink;

use super::warnings::{issue, Warnings};
use super::{file_read, progress_tick, rules, IngestOptions, DATE_COLUMNS, FLUSH_ROWS, PACK_SEP};
use crate::discover::{InputFile, Quarter};
use crate::drugname::{DrugNormaliser, NameSource};
use crate::parse::{self, PartialDate};
use crate::record::{DollarReader, Record};
use crate::table::{column_indexes, Era, Table};
use crate::FaersError;

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
    /// The batch of the rows appended so far; the builder is left empty, with room for as many
    /// rows and text bytes as this batch had (why: arrow's `finish` gives the buffers away, and
    /// growing them again from nothing for every batch cost reallocations and page faults, about
    /// a tenth of an ingest's CPU in a perf profile of one synthetic quarter).
    pub(crate) fn finish(&mut self) -> Result<RecordBatch, FaersError> {
        let rows = self.len;
        let mut cols: Vec<ArrayRef> = vec![
            Arc::new(std::mem::replace(&mut self.pid, UInt64Builder::with_capacity(rows)).finish()),
            Arc::new(
                std::mem::replace(&mut self.caseid, UInt64Builder::with_capacity(rows)).finish(),
            ),
            Arc::new(
                std::mem::replace(&mut self.batch, UInt32Builder::with_capacity(rows)).finish(),
            ),
        ];
        cols.extend(self.text.iter_mut().map(|b| {
            let bytes = b.values_slice().len();
            let mut full = std::mem::replace(b, StringBuilder::with_capacity(rows, bytes));
            Arc::new(full.finish()) as ArrayRef
        }));
        self.len = 0;
        RecordBatch::try_new(self.table.schema(), cols).map_err(|e| FaersError::Store(e.into()))
    }
    pub(crate) fn len(&self) -> usize {
        self.len
    }
}

/// Per-table result of streaming the child files of one quarter.
pub(super) struct ChildParse {
    pub(super) table: Table,
    pub(super) counts: TableCounts,
    pub(super) warnings: Warnings,
    pub(super) files: Vec<FileRead>,
    pub(super) name_sources: HashMap<&'static str, u64>,
    pub(super) unmapped: HashMap<String, u64>,
}

/// 64-bit FNV-1a of the upper-cased bytes: the de-duplication key of a drug_seq or a PT
/// (a collision between two different values of one report has probability ~2^-64 per pair).
pub(super) fn fnv1a_upper(b: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &c in b {
        h ^= c.to_ascii_uppercase() as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

pub(super) struct ChildContext<'a> {
    pub(super) batch: u32,
    pub(super) quarter: Option<Quarter>,
    /// Primaryids of this batch's kept reports.
    pub(super) winners: &'a SortedIds,
    /// Primaryids of every report read in this batch's DEMO (kept or not).
    pub(super) group_pids: &'a SortedIds,
    pub(super) deleted: &'a HashSet<u64>,
    pub(super) normaliser: &'a DrugNormaliser,
    pub(super) opts: &'a IngestOptions,
}

/// Primaryids, sorted. FAERS files list their rows in primaryid order, so a look-up continues
/// from the previous one with a short forward gallop; any other order falls back to a binary
/// search from the start, so the answer never depends on the order. Why not a hash set: a
/// quarter's ~1.25 M kept ids make each random probe a cache miss (14 % of ingest time, perf).
#[derive(Debug, Default)]
pub(super) struct SortedIds(Vec<u64>);

impl SortedIds {
    pub(super) fn from_unsorted(mut ids: Vec<u64>) -> Self {
        ids.sort_unstable();
        ids.dedup();
        Self(ids)
    }

    /// True when `id` is in the set (a binary search, for look-ups in no particular order).
    pub(super) fn contains(&self, id: u64) -> bool {
        self.0.binary_search(&id).is_ok()
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

/// Streams the files of one child table of one quarter into `sink`.
pub(super) fn read_child_table(
    table: Table,
    files: &[&InputFile],
    ctx: &ChildContext,
    sink: &mut ParquetSink,
) -> Result<ChildParse, FaersError> {
    let mut reader = ChildReader::new(table, ctx);
    for file in files {
        let fr = reader.read_file(file, sink)?;
        reader.out.files.push(fr);
    }
    reader.finish(sink)
}

/// Where the columns are in one child file's header.
struct ChildColumns {
    primaryid: usize,
    caseid: Option<usize>,
    /// One per text column of the child table.
    text: Vec<Option<usize>>,
    /// drugname and prod_ai (DRUG only).
    names: Vec<Option<usize>>,
}

/// One child table of one quarter being read: its counts, Arrow builder and the state of the
/// duplicate-row rule, carried across the table's files.
struct ChildReader<'c, 'a> {
    table: Table,
    ctx: &'c ChildContext<'a>,
    /// The child table's text columns and whether each is a date.
    cols: &'static [&'static str],
    is_date: Vec<bool>,
    /// The text column de-duplicated on (drug_seq for DRUG, pt for REAC).
    dedup_col: Option<usize>,
    /// The text column filled with the normalised drug name (DRUG only).
    ingredient_col: Option<usize>,
    out: ChildParse,
    /// Rows removed under [`rules::REPORT_NOT_KEPT`] and as duplicate rows, added to `out` at the
    /// end (why not one `TableCounts::dedup` call per row: each allocates its rule's name).
    not_kept: u64,
    duplicates: u64,
    builder: ChildBuilder,
    seen: SeenKeys,
    /// (drugname, prod_ai) → (ingredient, source, rows): one normalisation per distinct pair.
    names: ahash::AHashMap<String, (Arc<str>, NameSource, u64)>,
    key_buf: String,
}

impl<'c, 'a> ChildReader<'c, 'a> {
    fn new(table: Table, ctx: &'c ChildContext<'a>) -> Self {
        let child = table.child().expect("child table");
        let cols = child.text_columns();
        Self {
            table,
            ctx,
            cols,
            is_date: cols.iter().map(|c| DATE_COLUMNS.contains(c)).collect(),
            dedup_col: match table {
                Table::Drug => cols.iter().position(|c| *c == "drug_seq"),
                Table::Reac => cols.iter().position(|c| *c == "pt"),
                _ => None,
            },
            ingredient_col: cols.iter().position(|c| *c == "ingredient"),
            out: ChildParse {
                table,
                counts: TableCounts::default(),
                warnings: Warnings::default(),
                files: Vec::new(),
                name_sources: HashMap::new(),
                unmapped: HashMap::new(),
            },
            not_kept: 0,
            duplicates: 0,
            builder: ChildBuilder::new(child),
            seen: SeenKeys::default(),
            names: ahash::AHashMap::new(),
            key_buf: String::new(),
        }
    }

    /// Reads one file of the table, writing full batches to `sink`.
    fn read_file(
        &mut self,
        file: &InputFile,
        sink: &mut ParquetSink,
    ) -> Result<FileRead, FaersError> {
        let (table, ctx) = (self.table, self.ctx);
        file.with_reader(|r| -> Result<FileRead, FaersError> {
            let Some(mut rd) =
                DollarReader::new(r).map_err(|e| FaersError::io(&file.display, e))?
            else {
                return Ok(file_read(file, table.key(), ctx.quarter, "empty", 0, 0));
            };
            let era = Era::detect(table, rd.header(), ctx.quarter.map(Quarter::key));
            let keys = column_indexes(table, rd.header(), &["primaryid", "caseid"]);
            let Some(primaryid) = keys[0] else {
                return Err(FaersError::Input(format!(
                    "{}: header has no primaryid/isr column: {:?}",
                    file.display,
                    rd.header()
                )));
            };
            let columns = ChildColumns {
                primaryid,
                caseid: keys[1],
                text: column_indexes(table, rd.header(), self.cols),
                names: column_indexes(table, rd.header(), &["drugname", "prod_ai"]),
            };
            let mut rec = Record::default();
            // Files are grouped by primaryid, so the kept-or-not decision is cached for a run of
            // rows, and the look-up continues from the previous one.
            let mut last_pid: Option<(u64, bool)> = None;
            let mut cursor = 0usize;
            let mut read_here = 0u64;
            let mut last_bytes = 0;
            while let Some(res) = rd
                .next_record(&mut rec)
                .map_err(|e| FaersError::io(&file.display, e))?
            {
                self.out.counts.read += 1;
                read_here += 1;
                if read_here.is_multiple_of(65_536) {
                    progress_tick(ctx.opts, rd.bytes_read(), &mut last_bytes);
                }
                if let Err(bad) = res {
                    self.out
                        .counts
                        .reject(issue(file, bad.line, None, bad.reason, &bad.raw), bad.kind);
                    continue;
                }
                let pid_raw = rec.text(columns.primaryid);
                let Some(pid) = parse::parse_id(&pid_raw) else {
                    self.out.counts.reject(
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
                let caseid = columns.caseid.and_then(|i| parse::parse_id(&rec.text(i)));
                let live = match last_pid {
                    Some((p, l)) if p == pid => l,
                    _ => {
                        let l = ctx.winners.contains_from(pid, &mut cursor);
                        last_pid = Some((pid, l));
                        l
                    }
                };
                if !live {
                    self.count_not_kept(file, &rec, pid, caseid, &pid_raw);
                    continue;
                }
                if self.is_duplicate(&rec, &columns, pid) {
                    continue;
                }
                self.append(file, &rec, &columns, pid, caseid);
                if self.builder.len() >= FLUSH_ROWS {
                    sink.write(&self.builder.finish()?)?;
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
        })?
    }

    /// Counts a row whose report was not kept: de-duplicated when its report was read (and lost)
    /// or its case deleted, else rejected as an orphan.
    fn count_not_kept(
        &mut self,
        file: &InputFile,
        rec: &Record,
        pid: u64,
        caseid: Option<u64>,
        pid_raw: &str,
    ) {
        if self.ctx.group_pids.contains(pid)
            || caseid.is_some_and(|c| self.ctx.deleted.contains(&c))
        {
            self.not_kept += 1;
        } else {
            self.out.counts.reject(
                issue(
                    file,
                    rec.line,
                    Some("primaryid"),
                    "primaryid not in DEMO of this quarter (orphan row)".into(),
                    pid_raw,
                ),
                "orphan (primaryid not in DEMO)",
            );
        }
    }

    /// True (and counted) when the row repeats a kept row of the same report on
    /// (primaryid, drug_seq) for DRUG or (primaryid, upper(pt)) for REAC.
    fn is_duplicate(&mut self, rec: &Record, columns: &ChildColumns, pid: u64) -> bool {
        let Some(dc) = self.dedup_col else {
            return false;
        };
        let v = columns.text[dc].map(|i| rec.bytes(i)).unwrap_or(&[]);
        let h = fnv1a_upper(crate::record::trim_bytes(v));
        if self.seen.insert(pid, h) {
            return false;
        }
        self.duplicates += 1;
        true
    }

    /// The normalised active ingredient of a DRUG row (from drugname and prod_ai).
    fn ingredient(&mut self, rec: &Record, columns: &ChildColumns) -> Arc<str> {
        let dn = columns.names[0].map(|i| rec.text(i)).unwrap_or_default();
        let pa = columns.names[1].map(|i| rec.text(i)).unwrap_or_default();
        self.key_buf.clear();
        self.key_buf.push_str(&dn);
        self.key_buf.push(PACK_SEP);
        self.key_buf.push_str(&pa);
        let entry = match self.names.get_mut(self.key_buf.as_str()) {
            Some(e) => e,
            None => {
                let (ing, src) = self.ctx.normaliser.normalise(&dn, &pa);
                self.names
                    .entry(self.key_buf.clone())
                    .or_insert((Arc::from(ing), src, 0))
            }
        };
        entry.2 += 1;
        entry.0.clone()
    }

    /// Appends a kept row; a date that cannot be read is stored as null and warned.
    fn append(
        &mut self,
        file: &InputFile,
        rec: &Record,
        columns: &ChildColumns,
        pid: u64,
        caseid: Option<u64>,
    ) {
        let ingredient = self.ingredient_col.map(|_| self.ingredient(rec, columns));
        let b = &mut self.builder;
        b.pid.append_value(pid);
        b.caseid.append_option(caseid);
        b.batch.append_value(self.ctx.batch);
        for (j, i) in columns.text.iter().enumerate() {
            let t = &mut b.text[j];
            if Some(j) == self.ingredient_col {
                match ingredient.as_deref() {
                    Some(x) if !x.is_empty() => t.append_value(x),
                    _ => t.append_null(),
                }
                continue;
            }
            match i.and_then(|i| rec.opt_text(i)) {
                None => t.append_null(),
                Some(v) if self.is_date[j] => match PartialDate::normalised(&v) {
                    Ok(Some(d)) => t.append_value(d),
                    Ok(None) => t.append_null(),
                    Err(e) => {
                        self.out.warnings.add(
                            &file.display,
                            rec.line,
                            self.table.key(),
                            self.cols[j],
                            e,
                            &v,
                        );
                        t.append_null();
                    }
                },
                Some(v) => t.append_value(&*v),
            }
        }
        b.len += 1;
        self.out.counts.kept += 1;
    }

    /// Writes the last batch and adds the drug-name statistics.
    fn finish(mut self, sink: &mut ParquetSink) -> Result<ChildParse, FaersError> {
        self.out.counts.dedup(rules::REPORT_NOT_KEPT, self.not_kept);
        let duplicate_rule = if self.table == Table::Reac {
            rules::DUP_REAC
        } else {
            rules::DUP_DRUG
        };
        self.out.counts.dedup(duplicate_rule, self.duplicates);
        for (ing, src, n) in self.names.into_values() {
            *self.out.name_sources.entry(src.key()).or_default() += n;
            if src == NameSource::Cleaned {
                *self.out.unmapped.entry(ing.to_string()).or_default() += n;
            }
        }
        if self.builder.len() > 0 {
            sink.write(&self.builder.finish()?)?;
        }
        Ok(self.out)
    }
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
