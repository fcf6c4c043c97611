//! Report-level de-duplication (faers-format.md §5, rules 1–3): deleted cases, republished
//! primaryids, older case versions, cross-era copies and less complete re-sends.
use std::collections::{BTreeMap, HashMap, HashSet};

use arrow::array::{Array, AsArray};
use arrow::datatypes::{UInt32Type, UInt64Type};
use vigil_store::ingest_report::TableCounts;
use vigil_store::layout::ChildTable;
use vigil_store::read::read_parquet;
use vigil_store::write::StoreTxn;

use super::children::fnv1a_upper;
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
pub(super) fn less_complete_resends(
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
