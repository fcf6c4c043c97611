//! Report-level de-duplication (faers-format.md §5, rules 1–3): deleted cases, republished
//! primaryids, older case versions, cross-era copies and less complete re-sends.
use std::collections::{BTreeMap, HashMap, HashSet};

use arrow::array::{Array, AsArray};
use arrow::datatypes::{UInt32Type, UInt64Type};
use vigil_store::ingest_report::TableCounts;
use vigil_store::layout::ChildTable;
use vigil_store::read::read_parquet;
use vigil_store::write::StoreTxn;

use super::children::{fnv1a_upper, SortedIds};
use super::demo::DemoRow;
use super::{rules, MAX_WARNING_EXAMPLES};
use crate::discover::{InputFile, InputKind, Quarter};
use crate::parse;
use crate::record::{DollarReader, Record};
use crate::table::{column_indexes, Table};
use crate::FaersError;

/// Outcome of report-level de-duplication.
pub(crate) struct Dedup {
    /// Final reports (stored survivors and new winners).
    pub kept: Vec<DemoRow>,
}

/// What de-duplication needs of a report, as integers: a FAERS ingest holds one of these per
/// DEMO row of every quarter (32 bytes) instead of the whole row, and reads DEMO again to write
/// the winners ([`super::demo::stream_demo`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ReportKey {
    pub primaryid: u64,
    pub caseid: u64,
    /// The caseversion; 0 when absent (legacy AERS, or blank), as in the version order below.
    pub version: u32,
    /// [`crate::parse::PartialDate::sort_key`] of fda_dt, 0 when absent.
    pub fda_key: u32,
    /// [`Quarter::key`] of the report's quarter, 0 when unknown.
    pub quarter_key: u32,
    /// From legacy AERS (the cross-era rule).
    pub aers: bool,
}

impl ReportKey {
    pub(crate) fn of(r: &DemoRow) -> Self {
        Self {
            primaryid: r.primaryid,
            caseid: r.caseid,
            version: r.caseversion.unwrap_or(0),
            fda_key: r.fda_key,
            quarter_key: r.quarter_key,
            aers: r.source == "aers",
        }
    }

    /// The order of case versions: the greatest wins (faers-format.md §5 rule 1).
    fn order_key(&self) -> (u32, u32, u32, u64) {
        (self.version, self.fda_key, self.quarter_key, self.primaryid)
    }
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
    let keys: Vec<ReportKey> = stored
        .iter()
        .chain(&candidates)
        .map(ReportKey::of)
        .collect();
    let alive = dedup_keys(
        &keys,
        stored.len(),
        deleted,
        &HashSet::new(),
        demo_counts,
        stored_removed,
    );
    let kept = stored
        .into_iter()
        .chain(candidates)
        .zip(alive)
        .filter_map(|(r, a)| a.then_some(r))
        .collect();
    Dedup { kept }
}

/// The report-level rules on `keys`, the first `n_stored` of them already in the store and the
/// rest read now in quarter order, so that on a complete tie the later one wins. A stored report
/// whose primaryid is in `keep_stored` wins over a candidate with the same primaryid (the
/// candidate is a less complete copy of it). Returns, for each key, whether its report is kept;
/// removed candidates are counted in `demo_counts` by rule (kept ones as kept), removed stored
/// reports in `stored_removed`.
pub(crate) fn dedup_keys(
    keys: &[ReportKey],
    n_stored: usize,
    deleted: &HashSet<u64>,
    keep_stored: &HashSet<u64>,
    demo_counts: &mut TableCounts,
    stored_removed: &mut BTreeMap<String, u64>,
) -> Vec<bool> {
    // caseid → index of the best report so far.
    let mut best: ahash::AHashMap<u64, usize> = ahash::AHashMap::with_capacity(keys.len());
    let mut alive = vec![false; keys.len()];
    // Removed candidates by rule, added to `demo_counts` at the end (a `TableCounts::dedup` call
    // per report allocates the rule's name).
    let mut removed: BTreeMap<&'static str, u64> = BTreeMap::new();
    for (i, ki) in keys.iter().enumerate() {
        let i_new = i >= n_stored;
        if deleted.contains(&ki.caseid) {
            if i_new {
                *removed.entry(rules::DELETED).or_default() += 1;
            } else {
                *stored_removed.entry(rules::DELETED.to_owned()).or_default() += 1;
            }
            continue;
        }
        alive[i] = true;
        let Some(&j) = best.get(&ki.caseid) else {
            best.insert(ki.caseid, i);
            continue;
        };
        let kj = &keys[j];
        let j_new = j >= n_stored;
        // A same-primaryid copy re-sent with fewer drug or reaction rows never replaces the
        // stored one (docs/ingest.md, "Re-ingest").
        let less_complete =
            ki.primaryid == kj.primaryid && i_new && !j_new && keep_stored.contains(&ki.primaryid);
        let i_wins = !less_complete && ki.order_key() >= kj.order_key();
        let (winner, loser) = if i_wins { (i, j) } else { (j, i) };
        alive[loser] = false;
        best.insert(ki.caseid, winner);
        let (lkey, lnew) = (&keys[loser], loser >= n_stored);
        let (wkey, wnew) = (&keys[winner], winner >= n_stored);
        if less_complete {
            *removed.entry(rules::LESS_COMPLETE).or_default() += 1;
        } else if lkey.aers != wkey.aers {
            // The same case number in legacy AERS and in FAERS (faers-format.md §5 rule 3).
            if lnew {
                *removed.entry(rules::CROSS_ERA).or_default() += 1;
            } else {
                *stored_removed
                    .entry(rules::CROSS_ERA.to_owned())
                    .or_default() += 1;
            }
        } else if !lnew {
            *stored_removed
                .entry("replaced by a newer version".to_owned())
                .or_default() += 1;
        } else if lkey.primaryid == wkey.primaryid {
            *removed.entry(rules::REPUBLISHED).or_default() += 1;
        } else if !wnew {
            *removed.entry(rules::OLDER_THAN_STORED).or_default() += 1;
        } else {
            *removed.entry(rules::OLDER_VERSION).or_default() += 1;
        }
    }
    for (rule, n) in removed {
        demo_counts.dedup(rule, n);
    }
    demo_counts.kept += alive[n_stored..].iter().filter(|&&a| a).count() as u64;
    alive
}

/// Distinct drug rows (drug_seq) and reaction rows (upper(pt)) per report: the completeness of
/// a copy of a case version.
type RowCounts = HashMap<u64, (u32, u32)>;

/// Stored case versions that this ingest re-sends (same primaryid) with fewer distinct drug rows
/// or fewer distinct reaction rows than the stored copy: their stored copies are kept. Returns
/// those primaryids and, for each, a line for the ingest report. Only runs when a stored
/// primaryid comes again, so an ingest of new quarters costs one set look-up per stored report.
pub(super) fn less_complete_resends(
    txn: &StoreTxn,
    stored: &[DemoRow],
    group_pids: &HashMap<u32, SortedIds>,
    groups: &BTreeMap<Option<Quarter>, Vec<&InputFile>>,
    group_batches: &[(Option<Quarter>, u32)],
) -> Result<(HashSet<u64>, Vec<String>), FaersError> {
    // primaryid → (stored batch, new batch)
    let mut resent: HashMap<u64, (u32, u32)> = HashMap::new();
    for r in stored {
        for (b, set) in group_pids {
            if set.contains(r.primaryid) {
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The memory figure in the module docs of `ingest`: one key per DEMO row, 32 bytes (u64
    /// primaryid and caseid, three u32 and a bool, padded to 8).
    #[test]
    fn a_report_key_is_32_bytes() {
        assert_eq!(std::mem::size_of::<ReportKey>(), 32);
    }
}
