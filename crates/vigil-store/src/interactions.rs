//! Counting drug–drug–event itemsets for the Ω interaction screen, in bounded memory.
//!
//! For every (drug 1, drug 2, event) with drug 1 < drug 2 (by id) reported together at least
//! `min_count` times, the eight counts of the 2×2×2 table ([`OmegaCounts`]) are gathered per
//! stratum; `vigil-stats::omega` turns them into Ω.
//!
//! # Memory
//! Itemsets grow with the square of the drugs per report, so they are never all held at once.
//! Drug-1 ids are cut into contiguous ranges whose itemset occurrences (known exactly from one
//! pass: a report with k sorted drugs and m events gives its i-th drug (k − 1 − i)·m occurrences)
//! stay under [`InteractionOptions::partition_keys`]. Each range is one partition: the reports
//! are scanned again, the occurrences of its drug-1 ids are packed into `u64` keys, sorted and
//! run-length counted, `min_count` is applied, and the surviving itemsets are handed to the caller
//! before the next partition starts. Peak memory is the report set, the per-(drug, event, stratum)
//! counts and one partition's keys (8 bytes each), whatever the number of itemsets. A drug whose
//! own occurrences exceed the budget makes a partition of its own (the one case above budget).
//! Rescanning the in-memory report set per partition replaces spilling keys to disk: it costs a
//! pass over the drug lists per partition, much less than writing and reading the keys.

use std::ops::Range;

use rayon::slice::ParallelSliceMut;
use vigil_stats::omega::OmegaCounts;

use crate::layout::StoreError;
use crate::reports::ReportSet;

/// Options of [`count_itemsets`].
#[derive(Debug, Clone)]
pub struct InteractionOptions {
    /// Only itemsets with at least this many reports of both drugs and the event (over all strata).
    pub min_count: u64,
    /// Only itemsets containing this drug id (as drug 1 or drug 2).
    pub drug: Option<u32>,
    /// Only itemsets of this event id.
    pub event: Option<u32>,
    /// Itemset occurrences per partition (8 bytes each); the memory bound of the kernel.
    pub partition_keys: usize,
}

impl Default for InteractionOptions {
    fn default() -> Self {
        // 2^25 keys = 256 MiB per partition (plus its drug-pair keys, fewer).
        Self {
            min_count: 1,
            drug: None,
            event: None,
            partition_keys: 1 << 25,
        }
    }
}

/// Itemsets of one partition, in columns, sorted by (drug 1, drug 2, event).
#[derive(Debug, Clone, Default)]
pub struct ItemsetBatch {
    /// Drug 1 id (< drug 2).
    pub drug1: Vec<u32>,
    /// Drug 2 id.
    pub drug2: Vec<u32>,
    /// Event id.
    pub event: Vec<u32>,
    /// Counts over all strata.
    pub total: Vec<OmegaCounts>,
    /// Per-stratum counts of itemset `i`: `strata[strata_offsets[i]..strata_offsets[i + 1]]`,
    /// only strata with a report of both drugs (the others add nothing to E111).
    pub strata_offsets: Vec<usize>,
    /// Per-stratum counts, concatenated.
    pub strata: Vec<OmegaCounts>,
}

impl ItemsetBatch {
    /// Number of itemsets.
    pub fn len(&self) -> usize {
        self.drug1.len()
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.drug1.is_empty()
    }

    /// The per-stratum counts of itemset `i`.
    pub fn strata_of(&self, i: usize) -> &[OmegaCounts] {
        &self.strata[self.strata_offsets[i]..self.strata_offsets[i + 1]]
    }
}

/// What [`count_itemsets`] did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ItemsetSummary {
    /// Partitions processed.
    pub partitions: usize,
    /// Distinct itemsets counted (before `min_count` and the filters).
    pub distinct_itemsets: u64,
    /// Itemsets handed to the caller.
    pub kept_itemsets: u64,
    /// Itemset occurrences (report × drug pair × event) counted.
    pub occurrences: u64,
    /// Largest partition, in keys.
    pub largest_partition_keys: usize,
}

/// Bits needed for ids `0..n`.
fn bits_for(n: usize) -> u32 {
    usize::BITS - n.saturating_sub(1).leading_zeros()
}

/// Packs fields of the given widths into one u64, most significant first.
#[derive(Debug, Clone, Copy)]
struct Packing {
    drug: u32,
    event: u32,
    stratum: u32,
}

impl Packing {
    /// The field widths of `set`'s ids; fails when an itemset key would need more than 64 bits.
    fn for_set(set: &ReportSet) -> Result<Self, StoreError> {
        let strata = set.strata.len().max(1);
        let pack = Packing {
            drug: bits_for(set.drugs.len()),
            event: bits_for(set.events.len()),
            stratum: bits_for(strata),
        };
        if 2 * pack.drug + pack.event + pack.stratum > 64 {
            return Err(StoreError::Format(format!(
                "{} drugs, {} events and {} strata do not fit a 64-bit itemset key ({} bits)",
                set.drugs.len(),
                set.events.len(),
                strata,
                2 * pack.drug + pack.event + pack.stratum
            )));
        }
        Ok(pack)
    }
    fn triple(&self, d1: u32, d2: u32, e: u32, s: u32) -> u64 {
        ((((d1 as u64) << self.drug | d2 as u64) << self.event | e as u64) << self.stratum)
            | s as u64
    }
    fn unpack_triple(&self, k: u64) -> (u32, u32, u32, u32) {
        let s = k & ((1u64 << self.stratum) - 1);
        let k = k >> self.stratum;
        let e = k & ((1u64 << self.event) - 1);
        let k = k >> self.event;
        let d2 = k & ((1u64 << self.drug) - 1);
        ((k >> self.drug) as u32, d2 as u32, e as u32, s as u32)
    }
    fn pair(&self, a: u32, b: u32, b_bits: u32, s: u32) -> u64 {
        (((a as u64) << b_bits | b as u64) << self.stratum) | s as u64
    }
}

/// Sorted keys to (key, run length) pairs.
fn run_lengths(keys: &[u64]) -> Vec<(u64, u32)> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < keys.len() {
        let mut j = i + 1;
        while j < keys.len() && keys[j] == keys[i] {
            j += 1;
        }
        out.push((keys[i], (j - i) as u32));
        i = j;
    }
    out
}

fn lookup(runs: &[(u64, u32)], key: u64) -> u32 {
    runs.binary_search_by_key(&key, |r| r.0)
        .map_or(0, |i| runs[i].1)
}

/// Counts every (drug 1, drug 2, event) itemset of `set`, one drug-1 partition at a time, and
/// calls `sink` with each partition's itemsets that pass the options (see the module doc).
///
/// Reports count once per itemset (a report's drug and event lists are distinct). n··· is the
/// number of reports with at least one drug and one event, per stratum, as in
/// [`crate::count::count_pairs`].
///
/// # Errors
/// When drug, event and stratum ids do not fit in 64 bits of key (2·drug bits + event bits +
/// stratum bits > 64), or when `sink` fails.
pub fn count_itemsets<E>(
    set: &ReportSet,
    options: &InteractionOptions,
    mut sink: impl FnMut(ItemsetBatch) -> Result<(), E>,
) -> Result<ItemsetSummary, E>
where
    E: From<StoreError>,
{
    let pack = Packing::for_set(set).map_err(E::from)?;
    let (margins, weights) = OneWayMargins::count(set);
    let margins = Margins {
        drug_event: count_drug_events(set, pack, &weights.drug_events, options.partition_keys),
        one_way: margins,
    };
    let mut summary = ItemsetSummary::default();
    for range in cut_ranges(&weights.itemsets, options.partition_keys) {
        let (mut keys, mut pair_keys) = partition_keys(set, pack, range, options);
        summary.partitions += 1;
        summary.occurrences += keys.len() as u64;
        summary.largest_partition_keys = summary.largest_partition_keys.max(keys.len());
        keys.par_sort_unstable();
        pair_keys.par_sort_unstable();
        let pairs = run_lengths(&pair_keys);
        drop(pair_keys);
        let triples = run_lengths(&keys);
        drop(keys);
        let batch = partition_itemsets(&triples, &pairs, pack, &margins, options, &mut summary);
        summary.kept_itemsets += batch.len() as u64;
        if !batch.is_empty() {
            sink(batch)?;
        }
    }
    Ok(summary)
}

/// Reports with at least one drug and one event: the only ones counted.
fn active_reports(set: &ReportSet) -> impl Iterator<Item = usize> + '_ {
    (0..set.len()).filter(|&r| !set.report_drugs(r).is_empty() && !set.report_events(r).is_empty())
}

/// Reports per (drug, stratum), (event, stratum) and stratum, over the active reports.
struct OneWayMargins {
    /// Strata (at least 1).
    strata: usize,
    /// `drug[d · strata + s]`: reports of drug `d` in stratum `s`.
    drug: Vec<u32>,
    /// `event[e · strata + s]`: reports of event `e` in stratum `s`.
    event: Vec<u32>,
    /// Reports per stratum.
    total: Vec<u32>,
    /// Reports over all strata.
    all: u32,
}

/// Key occurrences per drug id, the weights the partitions are cut by.
struct PartitionWeights {
    /// Itemset occurrences with the drug as drug 1: (k − 1 − i)·m per report (module doc).
    itemsets: Vec<usize>,
    /// (drug, event, stratum) occurrences of the drug: m per report.
    drug_events: Vec<usize>,
}

impl OneWayMargins {
    /// One pass over the active reports: the margins and the partition weights.
    fn count(set: &ReportSet) -> (Self, PartitionWeights) {
        let strata = set.strata.len().max(1);
        let mut m = Self {
            strata,
            drug: vec![0u32; set.drugs.len() * strata],
            event: vec![0u32; set.events.len() * strata],
            total: vec![0u32; strata],
            all: 0,
        };
        let mut w = PartitionWeights {
            itemsets: vec![0usize; set.drugs.len()],
            drug_events: vec![0usize; set.drugs.len()],
        };
        for r in active_reports(set) {
            let s = set.report_stratum[r] as usize;
            let (drugs, events) = (set.report_drugs(r), set.report_events(r));
            for (i, &d) in drugs.iter().enumerate() {
                m.drug[d as usize * strata + s] += 1;
                w.itemsets[d as usize] += (drugs.len() - 1 - i) * events.len();
                w.drug_events[d as usize] += events.len();
            }
            for &e in events {
                m.event[e as usize * strata + s] += 1;
            }
            m.total[s] += 1;
        }
        m.all = m.total.iter().sum();
        (m, w)
    }

    /// The sum over strata of the margin of `id` in `v` (`drug` or `event`).
    fn over_strata(&self, v: &[u32], id: u32) -> u32 {
        v[id as usize * self.strata..(id as usize + 1) * self.strata]
            .iter()
            .sum()
    }
}

/// Every margin of an itemset's 2×2×2 table: the one-way margins and the (drug, event, stratum)
/// counts (n1x1 and nx11).
struct Margins {
    one_way: OneWayMargins,
    /// Sorted (drug, event, stratum) keys with their report counts.
    drug_event: Vec<(u64, u32)>,
}

impl Margins {
    /// Reports of `drug` and `event` in stratum `s`.
    fn drug_event(&self, pack: Packing, drug: u32, event: u32, s: u32) -> u32 {
        lookup(&self.drug_event, pack.pair(drug, event, pack.event, s))
    }
}

/// (drug, event, stratum) counts, built by drug ranges too so that their keys stay bounded.
fn count_drug_events(
    set: &ReportSet,
    pack: Packing,
    weights: &[usize],
    partition_keys: usize,
) -> Vec<(u64, u32)> {
    let mut drug_event: Vec<(u64, u32)> = Vec::new();
    for range in cut_ranges(weights, partition_keys) {
        let mut keys = Vec::new();
        for r in active_reports(set) {
            let s = set.report_stratum[r];
            let drugs = set.report_drugs(r);
            let lo = drugs.partition_point(|&d| d < range.start);
            let hi = drugs.partition_point(|&d| d < range.end);
            for &d in &drugs[lo..hi] {
                keys.extend(
                    set.report_events(r)
                        .iter()
                        .map(|&e| pack.pair(d, e, pack.event, s)),
                );
            }
        }
        keys.par_sort_unstable();
        drug_event.extend(run_lengths(&keys));
    }
    drug_event
}

/// The itemset keys (drug 1, drug 2, event, stratum) of one partition's drug-1 ids, and its
/// drug-pair keys (drug 1, drug 2, stratum), unsorted, after the drug and event filters.
fn partition_keys(
    set: &ReportSet,
    pack: Packing,
    range: Range<u32>,
    options: &InteractionOptions,
) -> (Vec<u64>, Vec<u64>) {
    let mut keys: Vec<u64> = Vec::new();
    let mut pair_keys: Vec<u64> = Vec::new();
    for r in active_reports(set) {
        let s = set.report_stratum[r];
        let (drugs, events) = (set.report_drugs(r), set.report_events(r));
        let lo = drugs.partition_point(|&d| d < range.start);
        let hi = drugs.partition_point(|&d| d < range.end);
        for i in lo..hi {
            let d1 = drugs[i];
            for &d2 in &drugs[i + 1..] {
                if options.drug.is_some_and(|d| d != d1 && d != d2) {
                    continue;
                }
                pair_keys.push(pack.pair(d1, d2, pack.drug, s));
                for &e in events {
                    if options.event.is_none_or(|x| x == e) {
                        keys.push(pack.triple(d1, d2, e, s));
                    }
                }
            }
        }
    }
    (keys, pair_keys)
}

/// One partition's itemsets with at least `min_count` reports, from its run-length counted
/// itemset keys (`triples`) and drug-pair keys (`pairs`); counts the distinct itemsets into
/// `summary`.
fn partition_itemsets(
    triples: &[(u64, u32)],
    pairs: &[(u64, u32)],
    pack: Packing,
    margins: &Margins,
    options: &InteractionOptions,
    summary: &mut ItemsetSummary,
) -> ItemsetBatch {
    let mut batch = ItemsetBatch {
        strata_offsets: vec![0],
        ..ItemsetBatch::default()
    };
    let mut i = 0;
    while i < triples.len() {
        let (d1, d2, e, _) = pack.unpack_triple(triples[i].0);
        let mut j = i;
        let mut n111 = 0u64;
        while j < triples.len() {
            let (a, b, c, _) = pack.unpack_triple(triples[j].0);
            if (a, b, c) != (d1, d2, e) {
                break;
            }
            n111 += triples[j].1 as u64;
            j += 1;
        }
        summary.distinct_itemsets += 1;
        if n111 >= options.min_count {
            push_itemset(
                &mut batch,
                (d1, d2, e),
                &triples[i..j],
                pairs,
                pack,
                margins,
            );
        }
        i = j;
    }
    batch
}

/// Appends itemset (d1, d2, e) to `batch`: its counts in each stratum with a report of both
/// drugs, and over all strata. `runs` are its (stratum-ascending) itemset key counts.
fn push_itemset(
    batch: &mut ItemsetBatch,
    (d1, d2, e): (u32, u32, u32),
    runs: &[(u64, u32)],
    pairs: &[(u64, u32)],
    pack: Packing,
    margins: &Margins,
) {
    let m = &margins.one_way;
    let strata = m.strata;
    // Strata with both drugs: the (d1, d2, ·) run of the pair counts, stratum ascending.
    let first = pairs.partition_point(|p| p.0 < pack.pair(d1, d2, pack.drug, 0));
    let mut k = 0;
    let mut sum = OmegaCounts::default();
    for &(pk, n11x) in pairs[first..]
        .iter()
        .take_while(|p| p.0 >> pack.stratum == pack.pair(d1, d2, pack.drug, 0) >> pack.stratum)
    {
        let s = (pk & ((1u64 << pack.stratum) - 1)) as u32;
        let mut n111_s = 0;
        while k < runs.len() && pack.unpack_triple(runs[k].0).3 < s {
            k += 1;
        }
        if k < runs.len() && pack.unpack_triple(runs[k].0).3 == s {
            n111_s = runs[k].1;
        }
        let c = OmegaCounts {
            n111: n111_s as f64,
            n11x: n11x as f64,
            n1x1: margins.drug_event(pack, d1, e, s) as f64,
            nx11: margins.drug_event(pack, d2, e, s) as f64,
            n1xx: m.drug[d1 as usize * strata + s as usize] as f64,
            nx1x: m.drug[d2 as usize * strata + s as usize] as f64,
            nxx1: m.event[e as usize * strata + s as usize] as f64,
            nxxx: m.total[s as usize] as f64,
        };
        sum.n111 += c.n111;
        sum.n11x += c.n11x;
        sum.n1x1 += c.n1x1;
        sum.nx11 += c.nx11;
        batch.strata.push(c);
    }
    // Over all strata, margins include strata without both drugs.
    sum.n1x1 = (0..strata)
        .map(|s| margins.drug_event(pack, d1, e, s as u32) as f64)
        .sum();
    sum.nx11 = (0..strata)
        .map(|s| margins.drug_event(pack, d2, e, s as u32) as f64)
        .sum();
    sum.n1xx = m.over_strata(&m.drug, d1) as f64;
    sum.nx1x = m.over_strata(&m.drug, d2) as f64;
    sum.nxx1 = m.over_strata(&m.event, e) as f64;
    sum.nxxx = m.all as f64;
    batch.drug1.push(d1);
    batch.drug2.push(d2);
    batch.event.push(e);
    batch.total.push(sum);
    batch.strata_offsets.push(batch.strata.len());
}

/// Contiguous id ranges whose weights sum to at most `budget` (a single heavier id gets its own).
fn cut_ranges(weights: &[usize], budget: usize) -> Vec<Range<u32>> {
    let mut out = Vec::new();
    let mut start = 0usize;
    let mut sum = 0usize;
    for (id, &w) in weights.iter().enumerate() {
        if sum > 0 && sum + w > budget {
            out.push(start as u32..id as u32);
            start = id;
            sum = 0;
        }
        sum += w;
    }
    if start < weights.len() {
        out.push(start as u32..weights.len() as u32);
    }
    out
}

/// The straightforward reference: every itemset's unstratified counts from sets of report
/// indices. Slow; for tests.
pub fn naive_itemsets(set: &ReportSet) -> Vec<(u32, u32, u32, OmegaCounts)> {
    use std::collections::{BTreeMap, BTreeSet};
    let active: Vec<usize> = (0..set.len())
        .filter(|&r| !set.report_drugs(r).is_empty() && !set.report_events(r).is_empty())
        .collect();
    let with_drug = |d: u32| -> BTreeSet<usize> {
        active
            .iter()
            .copied()
            .filter(|&r| set.report_drugs(r).contains(&d))
            .collect()
    };
    let with_event = |e: u32| -> BTreeSet<usize> {
        active
            .iter()
            .copied()
            .filter(|&r| set.report_events(r).contains(&e))
            .collect()
    };
    let mut triples: BTreeMap<(u32, u32, u32), ()> = BTreeMap::new();
    for &r in &active {
        let drugs = set.report_drugs(r);
        for (i, &a) in drugs.iter().enumerate() {
            for &b in &drugs[i + 1..] {
                for &e in set.report_events(r) {
                    triples.insert((a.min(b), a.max(b), e), ());
                }
            }
        }
    }
    triples
        .into_keys()
        .map(|(a, b, e)| {
            let (da, db, ee) = (with_drug(a), with_drug(b), with_event(e));
            let ab: BTreeSet<usize> = da.intersection(&db).copied().collect();
            let c = OmegaCounts {
                n111: ab.intersection(&ee).count() as f64,
                n11x: ab.len() as f64,
                n1x1: da.intersection(&ee).count() as f64,
                nx11: db.intersection(&ee).count() as f64,
                n1xx: da.len() as f64,
                nx1x: db.len() as f64,
                nxx1: ee.len() as f64,
                nxxx: active.len() as f64,
            };
            (a, b, e, c)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reports::ReportSetBuilder;

    fn sample() -> ReportSet {
        let mut b = ReportSetBuilder::new();
        b.push_report("1", ["A", "B", "C"], ["X", "Y"], "F");
        b.push_report("2", ["A", "B"], ["X"], "M");
        b.push_report("3", ["B", "C"], ["Y", "Z", "X"], "F");
        b.push_report("4", ["A"], ["Z"], "F");
        b.push_report("5", ["C", "A"], ["X"], "M");
        b.push_report("6", ["D"], [] as [&str; 0], "M");
        b.finish()
    }

    /// Itemsets (drug 1, drug 2, event, total counts), their per-stratum counts, the summary.
    type Collected = (
        Vec<(u32, u32, u32, OmegaCounts)>,
        Vec<Vec<OmegaCounts>>,
        ItemsetSummary,
    );

    fn collect(set: &ReportSet, options: &InteractionOptions) -> Collected {
        let mut rows = Vec::new();
        let mut strata = Vec::new();
        let summary = count_itemsets::<StoreError>(set, options, |b| {
            for i in 0..b.len() {
                rows.push((b.drug1[i], b.drug2[i], b.event[i], b.total[i]));
                strata.push(b.strata_of(i).to_vec());
            }
            Ok(())
        })
        .unwrap();
        (rows, strata, summary)
    }

    #[test]
    fn kernel_equals_naive_in_one_and_many_partitions() {
        let set = sample();
        let naive = naive_itemsets(&set);
        for budget in [1, 2, 3, 1 << 20] {
            let (rows, _, summary) = collect(
                &set,
                &InteractionOptions {
                    partition_keys: budget,
                    ..Default::default()
                },
            );
            assert_eq!(rows, naive, "partition budget {budget}");
            if budget == 1 {
                assert!(summary.partitions >= 2);
            }
        }
    }

    #[test]
    fn counts_by_hand() {
        // Ids by first appearance: A 0, B 1, C 2, D 3; X 0, Y 1, Z 2. Report 6 has no event: out.
        // A·B·X: reports 1, 2 → n111 2; A·B: 1, 2 → 2; A·X: 1, 2, 5 → 3; B·X: 1, 2, 3 → 3;
        // A: 1, 2, 4, 5 → 4; B: 1, 2, 3 → 3; X: 1, 2, 3, 5 → 4; n = 5.
        // Strata (labels by first appearance: F 0, M 1): F = {1, 3, 4}, M = {2, 5}.
        // In F: A·B·X 1 (report 1), A·B 1, A·X 1, B·X 2 (1, 3), A 2 (1, 4), B 2, X 2 (1, 3), n 3.
        // In M: A·B·X 1 (report 2), A·B 1, A·X 2 (2, 5), B·X 1, A 2, B 1, X 2, n 2.
        let (rows, strata, _) = collect(
            &sample(),
            &InteractionOptions {
                min_count: 2,
                ..Default::default()
            },
        );
        let abx = rows
            .iter()
            .position(|r| (r.0, r.1, r.2) == (0, 1, 0))
            .unwrap();
        let c = |v: [f64; 8]| OmegaCounts {
            n111: v[0],
            n11x: v[1],
            n1x1: v[2],
            nx11: v[3],
            n1xx: v[4],
            nx1x: v[5],
            nxx1: v[6],
            nxxx: v[7],
        };
        assert_eq!(rows[abx].3, c([2.0, 2.0, 3.0, 3.0, 4.0, 3.0, 4.0, 5.0]));
        // Each stratum has one report of both A and B, so both strata are listed.
        assert_eq!(
            strata[abx],
            vec![
                c([1.0, 1.0, 1.0, 2.0, 2.0, 2.0, 2.0, 3.0]),
                c([1.0, 1.0, 2.0, 1.0, 2.0, 1.0, 2.0, 2.0])
            ]
        );
        // min_count 2 keeps A·B·X (2), B·C·X (1, 3), B·C·Y (1, 3) and A·C·X (1, 5), nothing else.
        assert_eq!(rows.len(), 4);
    }

    #[test]
    fn drug_and_event_filters() {
        let set = sample();
        let (rows, _, _) = collect(
            &set,
            &InteractionOptions {
                drug: Some(2),
                event: Some(0),
                ..Default::default()
            },
        );
        let keys: Vec<_> = rows.iter().map(|r| (r.0, r.1, r.2)).collect();
        // C with X: A·C·X (reports 1, 5), B·C·X (1, 3).
        assert_eq!(keys, vec![(0, 2, 0), (1, 2, 0)]);
    }
}
