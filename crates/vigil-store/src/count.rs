//! Counting kernels: a [`ReportSet`] to the per-pair counts, margins and expected counts.
//!
//! Two phases, both over the per-report drug and event lists (the report–drug–event rows are never
//! materialised):
//! 1. **margins** — per drug, per event and per stratum, in one pass over the reports (ranges of
//!    reports on all cores, integer counts summed, so the totals do not depend on the split);
//! 2. **pairs** — every (drug, event) co-occurrence is scattered into range partitions of drug ids
//!    sized to stay in cache, each partition sorted and run-length counted. The output is sorted
//!    by (drug id, event id). The stratified expected count of each pair is a sum over the strata
//!    in their order, computed for ranges of pairs on all cores.
//!
//! [`naive_pair_counts`] is the reference every kernel is tested against.

use rayon::prelude::*;

use crate::reports::ReportSet;

/// Which margins the 2×2 tables use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Margins {
    /// Unique-report margins: n_drug = reports with the drug, n_event = reports with the event,
    /// n = reports (openEBGM `processRaw`, Empirica MGPS).
    #[default]
    Reports,
    /// Sums of pair counts: n_drug = Σ_events a, n_event = Σ_drugs a, n = Σ a (PhViD `as.PhViD`,
    /// AEOLUS).
    Pairs,
}

/// Counts of every observed drug–event pair (a ≥ 1), in columns, sorted by (drug, event).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PairCounts {
    /// Drug id (into the source's drug dictionary).
    pub drug: Vec<u32>,
    /// Event id.
    pub event: Vec<u32>,
    /// Reports with the drug and the event (cell a).
    pub a: Vec<f64>,
    /// Drug margin a + b.
    pub n_drug: Vec<f64>,
    /// Event margin a + c.
    pub n_event: Vec<f64>,
    /// Table total a + b + c + d.
    pub n_total: Vec<f64>,
    /// Expected count: unstratified n_drug·n_event/n, or the stratified Σ_s n_drug,s·n_event,s/n_s.
    pub expected: Vec<f64>,
}

impl PairCounts {
    /// Number of pairs.
    pub fn len(&self) -> usize {
        self.a.len()
    }

    /// True when there are no pairs.
    pub fn is_empty(&self) -> bool {
        self.a.is_empty()
    }
}

/// Per-drug, per-event and per-stratum margins, dense, stratum-minor (`[id * strata + s]`).
#[derive(Debug, Clone)]
struct StratifiedMargins {
    strata: usize,
    drug: Vec<f64>,
    event: Vec<f64>,
    total: Vec<f64>,
}

/// Contiguous ranges of the reports, one per core of the thread pool.
fn report_ranges(set: &ReportSet) -> Vec<std::ops::Range<usize>> {
    let threads = rayon::current_num_threads().max(1);
    let per_range = set.len().div_ceil(threads).max(1);
    (0..set.len())
        .step_by(per_range)
        .map(|start| start..(start + per_range).min(set.len()))
        .collect()
}

fn stratified_margins(set: &ReportSet, margins: Margins) -> StratifiedMargins {
    let s_count = set.strata.len().max(1);
    let (n_drugs, n_events) = (set.drugs.len(), set.events.len());
    // Integer counts per contiguous range of reports, one range per core, summed: the same totals
    // in any order. (One set of counters per core: the counters of 72 strata are tens of MB, and
    // a fold over small tasks zeroed and summed one set per task.)
    let per_range: Vec<(Vec<u64>, Vec<u64>, Vec<u64>)> = report_ranges(set)
        .into_par_iter()
        .map(|range| {
            let mut drug = vec![0u64; n_drugs * s_count];
            let mut event = vec![0u64; n_events * s_count];
            let mut total = vec![0u64; s_count];
            for r in range {
                let drugs = set.report_drugs(r);
                let events = set.report_events(r);
                if drugs.is_empty() || events.is_empty() {
                    continue; // a report without a drug or an event is in no 2×2 table
                }
                let s = set.report_stratum[r] as usize;
                match margins {
                    Margins::Reports => {
                        for &d in drugs {
                            drug[d as usize * s_count + s] += 1;
                        }
                        for &e in events {
                            event[e as usize * s_count + s] += 1;
                        }
                        total[s] += 1;
                    }
                    Margins::Pairs => set.for_each_pair(r, |d, e| {
                        drug[d as usize * s_count + s] += 1;
                        event[e as usize * s_count + s] += 1;
                        total[s] += 1;
                    }),
                }
            }
            (drug, event, total)
        })
        .collect();
    let sum_as_f64 = |len: usize, part: fn(&RangeMargins) -> &Vec<u64>| {
        let mut sum = vec![0u64; len];
        for counts in &per_range {
            for (x, y) in sum.iter_mut().zip(part(counts)) {
                *x += y;
            }
        }
        sum.into_iter().map(|c| c as f64).collect()
    };
    StratifiedMargins {
        strata: s_count,
        drug: sum_as_f64(n_drugs * s_count, |c| &c.0),
        event: sum_as_f64(n_events * s_count, |c| &c.1),
        total: sum_as_f64(s_count, |c| &c.2),
    }
}

/// One range of reports' margin counters: drug × stratum, event × stratum, and per stratum.
type RangeMargins = (Vec<u64>, Vec<u64>, Vec<u64>);

/// Target number of pair keys per partition: 2^18 u32 keys = 1 MiB, which with the radix sort's
/// scratch buffer of the same size stays within a 2 MiB L2 cache.
const PARTITION_KEYS: usize = 1 << 18;

/// A partition is counted in a dense histogram instead of sorted when its key range is at most
/// this many counters (4 MiB of u32) and at most [`HISTOGRAM_RANGE_PER_KEY`] times its number of
/// keys: one increment per key and one scan of the counters, against a sort's several passes.
const HISTOGRAM_MAX_RANGE: u64 = 1 << 20;
/// See [`HISTOGRAM_MAX_RANGE`]: the scan of the counters costs at most a few passes over the keys.
const HISTOGRAM_RANGE_PER_KEY: u64 = 4;

/// Bits per digit of the least-significant-digit radix sort: 2^11 bucket counts (16 KiB) stay in
/// the L1 cache, and a 32-bit key needs at most three passes.
const RADIX_BITS: u32 = 11;

/// Contiguous drug ids whose pairs are counted together. A pair's key within its partition is
/// `(drug − first_drug) · n_events + event`, a u32 (a partition never spans more drugs than
/// 2^32 / n_events), so ordering the keys orders the pairs by (drug, event).
#[derive(Debug, Clone, Copy)]
struct Partition {
    first_drug: u32,
    /// Drug ids in the partition: its keys are below `drugs · n_events`.
    drugs: u64,
    /// Co-occurrences in the partition.
    keys: usize,
}

/// Cuts the drug ids into partitions of at most `target` keys (a drug with more is a partition of
/// its own) whose key ranges fit a u32. Returns the partitions and each drug's partition.
fn drug_partitions(
    keys_per_drug: &[usize],
    n_events: u64,
    target: usize,
) -> (Vec<Partition>, Vec<u32>) {
    let mut parts: Vec<Partition> = Vec::new();
    let mut part_of = vec![0u32; keys_per_drug.len()];
    for (d, &keys) in keys_per_drug.iter().enumerate() {
        match parts.last_mut() {
            Some(p)
                if (p.drugs + 1) * n_events <= 1 << 32
                    && (p.keys == 0 || p.keys + keys <= target) =>
            {
                p.drugs += 1;
                p.keys += keys;
            }
            _ => parts.push(Partition {
                first_drug: d as u32,
                drugs: 1,
                keys,
            }),
        }
        part_of[d] = (parts.len() - 1) as u32;
    }
    (parts, part_of)
}

/// Counts the keys of one partition, whose keys are below `range`: appends `(key, count)` for
/// every distinct key, in ascending key order. `scratch` is reused between partitions.
fn count_partition(
    keys: &mut [u32],
    range: u64,
    scratch: &mut Vec<u32>,
    out: &mut Vec<(u32, u32)>,
) {
    if keys.is_empty() {
        return;
    }
    if range <= HISTOGRAM_MAX_RANGE && range <= HISTOGRAM_RANGE_PER_KEY * keys.len() as u64 {
        scratch.clear();
        scratch.resize(range as usize, 0);
        for &k in keys.iter() {
            scratch[k as usize] += 1;
        }
        out.extend(
            scratch
                .iter()
                .enumerate()
                .filter(|(_, &c)| c > 0)
                .map(|(k, &c)| (k as u32, c)),
        );
        return;
    }
    let sorted = radix_sort(keys, range, scratch);
    let mut i = 0;
    while i < sorted.len() {
        let key = sorted[i];
        let mut j = i + 1;
        while j < sorted.len() && sorted[j] == key {
            j += 1;
        }
        out.push((key, (j - i) as u32));
        i = j;
    }
}

/// Sorts `keys` (all below `range`) by a least-significant-digit radix sort of [`RADIX_BITS`]-bit
/// digits, only as many digits as `range` needs, skipping a digit every key shares. Returns the
/// sorted keys: `keys` itself or `scratch`, whichever the last pass wrote.
fn radix_sort<'a>(keys: &'a mut [u32], range: u64, scratch: &'a mut Vec<u32>) -> &'a [u32] {
    let bits = 64 - range.saturating_sub(1).leading_zeros();
    let passes = bits.div_ceil(RADIX_BITS) as usize;
    let buckets = 1usize << RADIX_BITS;
    let mask = (buckets - 1) as u32;
    // All digits' histograms in one pass over the keys.
    let mut counts = vec![0usize; passes * buckets];
    for &k in keys.iter() {
        for p in 0..passes {
            counts[p * buckets + ((k >> (p as u32 * RADIX_BITS)) & mask) as usize] += 1;
        }
    }
    scratch.clear();
    scratch.resize(keys.len(), 0);
    let (mut src, mut dst): (&mut [u32], &mut [u32]) = (keys, scratch.as_mut_slice());
    for p in 0..passes {
        let shift = p as u32 * RADIX_BITS;
        let count = &mut counts[p * buckets..(p + 1) * buckets];
        if count[((src[0] >> shift) & mask) as usize] == src.len() {
            continue; // every key has this digit: the pass would not move anything
        }
        // Counts to start positions.
        let mut start = 0;
        for c in count.iter_mut() {
            let n = *c;
            *c = start;
            start += n;
        }
        for &k in src.iter() {
            let b = ((k >> shift) & mask) as usize;
            dst[count[b]] = k;
            count[b] += 1;
        }
        std::mem::swap(&mut src, &mut dst);
    }
    src
}

/// Counts of every observed pair: `(drug, event, a)` sorted by drug then event.
///
/// # Algorithm
/// Drug ids are cut into contiguous ranges holding about 2^18 co-occurrences each (sizes known
/// from one pass over the reports), every co-occurrence is written as a u32 key
/// `(drug − first drug of the range) · n_events + event` into its range's slot, and each range is
/// counted on its own: in a dense histogram when its key range is small (the partitions of the
/// common drugs), otherwise by a radix sort and a run-length pass. Ranges of drug ids keep the
/// output globally sorted without a merge.
///
/// Both passes over the reports run on all cores, one contiguous range of reports per core: the
/// first counts each range's co-occurrences per drug, which sizes every range's slice of every
/// partition up front, and the second writes each range's keys into its own slices.
pub fn pair_occurrences(set: &ReportSet) -> (Vec<u32>, Vec<u32>, Vec<u32>) {
    pair_occurrences_in_partitions(set, PARTITION_KEYS)
}

/// [`pair_occurrences`] with partitions of at most `partition_keys` keys (tests use small ones).
fn pair_occurrences_in_partitions(
    set: &ReportSet,
    partition_keys: usize,
) -> (Vec<u32>, Vec<u32>, Vec<u32>) {
    let n_drugs = set.drugs.len();
    let n_events = set.events.len() as u64;
    // Contiguous ranges of reports, one per core: each range counts its co-occurrences per drug,
    // then scatters its keys into slices of the partitions sized from those counts.
    let ranges = report_ranges(set);
    let range_per_drug: Vec<Vec<usize>> = ranges
        .par_iter()
        .map(|range| {
            let mut per_drug = vec![0usize; n_drugs];
            for r in range.clone() {
                match set.report_pairs(r) {
                    Some(pairs) => pairs.iter().for_each(|&(d, _)| per_drug[d as usize] += 1),
                    None => {
                        let events = set.report_events(r).len();
                        for &d in set.report_drugs(r) {
                            per_drug[d as usize] += events;
                        }
                    }
                }
            }
            per_drug
        })
        .collect();
    let keys_per_drug: Vec<usize> = (0..n_drugs)
        .map(|d| range_per_drug.iter().map(|c| c[d]).sum())
        .collect();
    let (parts, part_of) = drug_partitions(&keys_per_drug, n_events, partition_keys);
    drop(keys_per_drug);
    // Each drug's first key: (d − first drug of its partition) · n_events, below 2^32.
    let key_base: Vec<u32> = (0..n_drugs)
        .map(|d| {
            let first = parts[part_of[d] as usize].first_drug as u64;
            ((d as u64 - first) * n_events) as u32
        })
        .collect();
    let total: usize = parts.iter().map(|p| p.keys).sum();
    let mut keys = vec![0u32; total];
    // Each range's slice of each partition, partition-major: the ranges' slices of a partition
    // are contiguous, so the partition is one slice again for its count.
    let range_per_part: Vec<Vec<usize>> = range_per_drug
        .iter()
        .map(|per_drug| {
            let mut per_part = vec![0usize; parts.len()];
            for (d, &n) in per_drug.iter().enumerate() {
                per_part[part_of[d] as usize] += n;
            }
            per_part
        })
        .collect();
    drop(range_per_drug);
    let mut slots: Vec<Vec<&mut [u32]>> = ranges
        .iter()
        .map(|_| Vec::with_capacity(parts.len()))
        .collect();
    let mut rest: &mut [u32] = &mut keys;
    for p in 0..parts.len() {
        for (i, per_part) in range_per_part.iter().enumerate() {
            let (head, tail) = rest.split_at_mut(per_part[p]);
            slots[i].push(head);
            rest = tail;
        }
    }
    // Scatter on all cores: each range fills its own slices (a slice's unfilled rest is kept in
    // its place, so no cursor is needed).
    ranges
        .into_par_iter()
        .zip(slots.into_par_iter())
        .for_each(|(range, mut slots)| {
            for r in range {
                if let Some(pairs) = set.report_pairs(r) {
                    for &(d, e) in pairs {
                        let p = part_of[d as usize] as usize;
                        take_front(&mut slots[p], 1)[0] = key_base[d as usize] + e;
                    }
                    continue;
                }
                // The common case, a cross product: one partition look-up per drug.
                let events = set.report_events(r);
                for &d in set.report_drugs(r) {
                    let p = part_of[d as usize] as usize;
                    let base = key_base[d as usize];
                    for (key, &e) in take_front(&mut slots[p], events.len())
                        .iter_mut()
                        .zip(events)
                    {
                        *key = base + e;
                    }
                }
            }
        });
    // Count each partition; partitions are independent.
    let mut slices: Vec<&mut [u32]> = Vec::with_capacity(parts.len());
    let mut rest: &mut [u32] = &mut keys;
    for p in &parts {
        let (head, tail) = rest.split_at_mut(p.keys);
        slices.push(head);
        rest = tail;
    }
    let counted: Vec<Vec<(u32, u32)>> = slices
        .into_par_iter()
        .zip(parts.par_iter())
        .map_init(Vec::new, |scratch, (slice, part)| {
            let mut out = Vec::new();
            count_partition(slice, part.drugs * n_events, scratch, &mut out);
            out
        })
        .collect();
    let n_pairs: usize = counted.iter().map(|c| c.len()).sum();
    let (mut drug, mut event, mut count) = (
        Vec::with_capacity(n_pairs),
        Vec::with_capacity(n_pairs),
        Vec::with_capacity(n_pairs),
    );
    for (part, pairs) in parts.iter().zip(counted) {
        for (key, c) in pairs {
            let key = key as u64;
            drug.push(part.first_drug + (key / n_events) as u32);
            event.push((key % n_events) as u32);
            count.push(c);
        }
    }
    (drug, event, count)
}

/// The first `n` elements of `slot`, which keeps the rest.
fn take_front<'k>(slot: &mut &'k mut [u32], n: usize) -> &'k mut [u32] {
    let (head, tail) = std::mem::take(slot).split_at_mut(n);
    *slot = tail;
    head
}

/// The straightforward reference: a `BTreeMap` over every co-occurrence. Slow; for tests.
pub fn naive_pair_counts(set: &ReportSet) -> (Vec<u32>, Vec<u32>, Vec<u32>) {
    let mut map = std::collections::BTreeMap::new();
    for r in 0..set.len() {
        set.for_each_pair(r, |d, e| *map.entry((d, e)).or_insert(0u32) += 1);
    }
    let mut out = (Vec::new(), Vec::new(), Vec::new());
    for ((d, e), c) in map {
        out.0.push(d);
        out.1.push(e);
        out.2.push(c);
    }
    out
}

/// Counts, margins and expected counts of every observed pair.
///
/// # Formula
/// ```text
/// E = Σ_s n_drug,s · n_event,s / n_s            (Mantel–Haenszel-style stratified expectation)
/// ```
/// which is n_drug·n_event/n with one stratum. Reports lacking a drug or an event are left out of
/// every count.
///
/// # Matches
/// openEBGM 0.9.1 `processRaw(stratify = FALSE | TRUE, zeroes = FALSE)` with `Margins::Reports`;
/// PhViD 1.0.8 `as.PhViD` with `Margins::Pairs` (unstratified).
pub fn count_pairs(set: &ReportSet, margins: Margins) -> PairCounts {
    let m = stratified_margins(set, margins);
    let (drug, event, count) = pair_occurrences(set);
    let s_count = m.strata;
    let marg = |v: &[f64], id: u32| -> f64 {
        v[id as usize * s_count..(id as usize + 1) * s_count]
            .iter()
            .sum()
    };
    let n_total: f64 = m.total.iter().sum();
    let drug_totals: Vec<f64> = (0..set.drugs.len() as u32)
        .map(|d| marg(&m.drug, d))
        .collect();
    let event_totals: Vec<f64> = (0..set.events.len() as u32)
        .map(|e| marg(&m.event, e))
        .collect();
    let mut out = PairCounts {
        a: count.iter().map(|&c| c as f64).collect(),
        n_drug: drug.iter().map(|&d| drug_totals[d as usize]).collect(),
        n_event: event.iter().map(|&e| event_totals[e as usize]).collect(),
        n_total: vec![n_total; drug.len()],
        expected: Vec::with_capacity(drug.len()),
        drug,
        event,
    };
    if s_count == 1 {
        out.expected = out
            .n_drug
            .iter()
            .zip(&out.n_event)
            .map(|(d, e)| d * e / n_total)
            .collect();
    } else {
        // Each pair's sum runs over the strata in order, whichever core computes it.
        out.expected = out
            .drug
            .par_iter()
            .zip(&out.event)
            .with_min_len(4096)
            .map(|(&d, &e)| {
                let dm = &m.drug[d as usize * s_count..(d as usize + 1) * s_count];
                let em = &m.event[e as usize * s_count..(e as usize + 1) * s_count];
                let mut sum = 0.0;
                for s in 0..s_count {
                    if dm[s] > 0.0 && em[s] > 0.0 {
                        sum += dm[s] * em[s] / m.total[s];
                    }
                }
                sum
            })
            .collect();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reports::ReportSetBuilder;

    fn sample() -> ReportSet {
        let mut b = ReportSetBuilder::new();
        b.push_report("1", ["A", "B"], ["X", "Y"], "F");
        b.push_report("2", ["A"], ["X"], "M");
        b.push_report("3", ["B", "C"], ["Y", "Z", "X"], "F");
        b.push_report("4", ["A"], ["Z"], "F");
        b.finish()
    }

    #[test]
    fn kernel_equals_naive() {
        assert_eq!(pair_occurrences(&sample()), naive_pair_counts(&sample()));
    }

    #[test]
    fn margins_by_hand() {
        // Reports: A in 1, 2, 4 (3 reports); X in 1, 2, 3 (3 reports); n = 4; A·X together in 1, 2.
        let c = count_pairs(&sample(), Margins::Reports);
        let ax = (0..c.len())
            .find(|&i| c.drug[i] == 0 && c.event[i] == 0)
            .unwrap();
        assert_eq!(
            (c.a[ax], c.n_drug[ax], c.n_event[ax], c.n_total[ax]),
            (2.0, 3.0, 3.0, 4.0)
        );
        // Strata F = {1, 3, 4}, M = {2}: A in F: 1, 4 (2); X in F: 1, 3 (2); n_F = 3 → 2·2/3;
        // M: A 1, X 1, n_M = 1 → 1. E = 4/3 + 1 = 7/3.
        assert!((c.expected[ax] - 7.0 / 3.0).abs() < 1e-15);
        // Pair margins: A's pairs: report 1 → 2, report 2 → 1, report 4 → 1 = 4; X's pairs:
        // report 1 → 2 drugs, 2 → 1, 3 → 2 = 5; n = 4 + 1 + 6 + 1 = 12.
        let p = count_pairs(&sample(), Margins::Pairs);
        assert_eq!(
            (p.a[ax], p.n_drug[ax], p.n_event[ax], p.n_total[ax]),
            (2.0, 4.0, 5.0, 12.0)
        );
    }

    /// Numbers below `m` from Knuth's MMIX linear congruential generator, for repeatable data.
    fn repeatable_numbers(seed: u64) -> impl FnMut(u64) -> u64 {
        let mut x = seed;
        move |m| {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (x >> 33) % m
        }
    }

    /// 196,608 reports, so that the margins are summed from one range per core: every count and
    /// expected value equals a plain sequential computation, exactly.
    #[test]
    fn parallel_margins_equal_a_sequential_count() {
        const REPORTS: usize = 3 * 64 * 1024;
        let mut b = ReportSetBuilder::new();
        let mut next = repeatable_numbers(12345);
        for r in 0..REPORTS {
            let drugs: Vec<String> = (0..1 + next(3)).map(|_| format!("D{}", next(40))).collect();
            let events: Vec<String> = (0..1 + next(4)).map(|_| format!("E{}", next(60))).collect();
            let stratum = format!("S{}", next(7));
            b.push_report(&r.to_string(), &drugs, &events, &stratum);
        }
        let set = b.finish();
        let c = count_pairs(&set, Margins::Reports);
        let s_count = set.strata.len();
        let mut drug = vec![vec![0.0f64; s_count]; set.drugs.len()];
        let mut event = vec![vec![0.0f64; s_count]; set.events.len()];
        let mut total = vec![0.0f64; s_count];
        for r in 0..set.len() {
            let s = set.report_stratum[r] as usize;
            set.report_drugs(r)
                .iter()
                .for_each(|&d| drug[d as usize][s] += 1.0);
            set.report_events(r)
                .iter()
                .for_each(|&e| event[e as usize][s] += 1.0);
            total[s] += 1.0;
        }
        let (nd, ne, na) = naive_pair_counts(&set);
        assert_eq!((&nd, &ne), (&c.drug, &c.event));
        assert!(na.iter().zip(&c.a).all(|(&n, &a)| n as f64 == a));
        for i in 0..c.len() {
            let (d, e) = (c.drug[i] as usize, c.event[i] as usize);
            assert_eq!(c.n_drug[i], drug[d].iter().sum::<f64>());
            assert_eq!(c.n_event[i], event[e].iter().sum::<f64>());
            assert_eq!(c.n_total[i], REPORTS as f64);
            let mut expected = 0.0;
            for s in 0..s_count {
                if drug[d][s] > 0.0 && event[e][s] > 0.0 {
                    expected += drug[d][s] * event[e][s] / total[s];
                }
            }
            assert_eq!(c.expected[i], expected);
        }
    }

    /// Several report ranges and partitions, reports without a drug or an event, and reports
    /// with explicit pairs among cross products: every count equals the `BTreeMap` reference's.
    #[test]
    fn kernel_equals_naive_over_partitions_and_mixed_reports() {
        let mut b = ReportSetBuilder::new();
        let mut next = repeatable_numbers(987654321);
        let none: [&str; 0] = [];
        for r in 0..100_000 {
            let id = r.to_string();
            match next(20) {
                0 => b.push_report(&id, none, ["E1"], "S"),
                1 => b.push_report(&id, ["D1"], none, "S"),
                2 => {
                    // Rows that are not every drug × every event: explicit pairs.
                    let rows: Vec<(String, String)> = (0..2 + next(4))
                        .map(|_| (format!("D{}", next(700)), format!("E{}", next(300))))
                        .collect();
                    b.push_report_rows(&id, &rows, "S");
                }
                _ => {
                    // Skewed drug ids: low ids are common, as a few drugs are in FAERS.
                    let drugs: Vec<String> = (0..1 + next(3))
                        .map(|_| {
                            let common = 1 + next(700);
                            format!("D{}", next(common))
                        })
                        .collect();
                    let events: Vec<String> = (0..1 + next(5))
                        .map(|_| format!("E{}", next(300)))
                        .collect();
                    b.push_report(&id, &drugs, &events, "S");
                }
            }
        }
        let set = b.finish();
        assert!(set.explicit_pairs.is_some());
        // More co-occurrences than one partition holds (about 480,000).
        let occurrences: usize = (0..set.len())
            .map(|r| {
                let mut n = 0;
                set.for_each_pair(r, |_, _| n += 1);
                n
            })
            .sum();
        assert!(occurrences > PARTITION_KEYS, "{occurrences}");
        assert_eq!(pair_occurrences(&set), naive_pair_counts(&set));
    }

    /// Random reports with skewed drugs and explicit pairs among cross products, for the kernel
    /// tests below.
    fn random_reports(seed: u64, reports: usize, n_drugs: u64, n_events: u64) -> ReportSet {
        let mut b = ReportSetBuilder::new();
        let mut next = repeatable_numbers(seed);
        for r in 0..reports {
            let id = r.to_string();
            if next(10) == 0 {
                let rows: Vec<(String, String)> = (0..1 + next(4))
                    .map(|_| {
                        (
                            format!("D{}", next(n_drugs)),
                            format!("E{}", next(n_events)),
                        )
                    })
                    .collect();
                b.push_report_rows(&id, &rows, "S");
                continue;
            }
            let drugs: Vec<String> = (0..1 + next(3))
                .map(|_| {
                    let common = 1 + next(n_drugs);
                    format!("D{}", next(common))
                })
                .collect();
            let events: Vec<String> = (0..1 + next(4))
                .map(|_| format!("E{}", next(n_events)))
                .collect();
            b.push_report(&id, &drugs, &events, "S");
        }
        b.finish()
    }

    /// Small partitions, so that both ways of counting one are taken: the common drugs' partitions
    /// (one or a few drugs, a key range of a few hundred events) in the dense histogram, the rare
    /// drugs' (hundreds of drugs × 300 events, more than four times their keys) by the radix
    /// sort, two digits deep. Every count equals the `BTreeMap` reference's.
    #[test]
    fn histogram_and_radix_partitions_equal_naive() {
        let set = random_reports(31337, 50_000, 3_000, 300);
        let naive = naive_pair_counts(&set);
        for partition_keys in [1, 97, 1_000, 20_000] {
            assert_eq!(
                pair_occurrences_in_partitions(&set, partition_keys),
                naive,
                "partitions of {partition_keys} keys"
            );
        }
        // Which way each partition of 1,000 keys takes: both occur.
        let mut per_drug = vec![0usize; set.drugs.len()];
        for r in 0..set.len() {
            set.for_each_pair(r, |d, _| per_drug[d as usize] += 1);
        }
        let n_events = set.events.len() as u64;
        let (parts, _) = drug_partitions(&per_drug, n_events, 1_000);
        let dense = |p: &Partition| {
            p.drugs * n_events <= HISTOGRAM_MAX_RANGE
                && p.drugs * n_events <= HISTOGRAM_RANGE_PER_KEY * p.keys as u64
        };
        assert!(parts.iter().any(|p| p.keys > 0 && dense(p)));
        assert!(parts.iter().any(|p| p.keys > 0 && !dense(p)));
    }

    /// 100,000 events: a partition may span at most ⌊2^32 / 100,000⌋ = 42,949 drugs, so 70,000
    /// drugs make two partitions cut by their key range, not their size (42,949 and 27,051
    /// drugs), whose keys use all 32 bits (three radix digits). Every count equals the reference's.
    #[test]
    fn partitions_cut_where_keys_would_overflow_32_bits() {
        let mut b = ReportSetBuilder::new();
        let mut next = repeatable_numbers(4242);
        for r in 0..100_000u64 {
            let drugs = [format!("D{}", r % 70_000), format!("D{}", next(70_000))];
            let events = [format!("E{r}"), format!("E{}", next(100_000))];
            b.push_report(&r.to_string(), &drugs, &events, "S");
        }
        let set = b.finish();
        let n_events = set.events.len() as u64;
        assert_eq!((set.drugs.len(), n_events), (70_000, 100_000));
        let mut per_drug = vec![0usize; set.drugs.len()];
        for r in 0..set.len() {
            set.for_each_pair(r, |d, _| per_drug[d as usize] += 1);
        }
        let (parts, _) = drug_partitions(&per_drug, n_events, usize::MAX);
        let drugs: Vec<u64> = parts.iter().map(|p| p.drugs).collect();
        assert_eq!(drugs, vec![42_949, 27_051]);
        assert_eq!(
            pair_occurrences_in_partitions(&set, usize::MAX),
            naive_pair_counts(&set)
        );
    }

    /// The partitions by hand: keys per drug 5, 0, 3, 300, 2, 2 with a target of 8 keys.
    #[test]
    fn drug_partitions_by_hand() {
        // 5 + 0 + 3 = 8 fits; 300 is alone (larger than the target); 2 + 2 together.
        let (parts, part_of) = drug_partitions(&[5, 0, 3, 300, 2, 2], 10, 8);
        let shape: Vec<(u32, u64, usize)> = parts
            .iter()
            .map(|p| (p.first_drug, p.drugs, p.keys))
            .collect();
        assert_eq!(shape, vec![(0, 3, 8), (3, 1, 300), (4, 2, 4)]);
        assert_eq!(part_of, vec![0, 0, 0, 1, 2, 2]);
        // 2^31 events: at most two drugs per partition (2 · 2^31 = 2^32 keys).
        let (parts, _) = drug_partitions(&[1, 1, 1, 1, 1], 1 << 31, 100);
        let drugs: Vec<u64> = parts.iter().map(|p| p.drugs).collect();
        assert_eq!(drugs, vec![2, 2, 1]);
    }

    #[test]
    fn kernel_equals_naive_with_explicit_pairs() {
        let mut b = ReportSetBuilder::new();
        b.push_report_rows("1", &[("A", "X"), ("B", "Y")], "");
        b.push_report_rows("2", &[("A", "X"), ("A", "Y"), ("B", "X"), ("B", "Y")], "");
        b.push_report_rows("3", &[("B", "Y")], "");
        let set = b.finish();
        let (d, e, c) = pair_occurrences(&set);
        assert_eq!((d.clone(), e.clone(), c.clone()), naive_pair_counts(&set));
        // A·X: reports 1, 2; A·Y: 2; B·X: 2; B·Y: 1, 2, 3.
        assert_eq!(c, vec![2, 1, 1, 3]);
        // Pair margins: A has 3 pairs, B 4; n = 7.
        let p = count_pairs(&set, Margins::Pairs);
        assert_eq!((p.n_drug[0], p.n_drug[3], p.n_total[0]), (3.0, 4.0, 7.0));
    }
}
