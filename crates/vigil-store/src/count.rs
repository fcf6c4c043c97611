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

/// Reports per task of the parallel passes over reports.
const REPORTS_PER_TASK: usize = 64 * 1024;

fn stratified_margins(set: &ReportSet, margins: Margins) -> StratifiedMargins {
    let s_count = set.strata.len().max(1);
    let (n_drugs, n_events) = (set.drugs.len(), set.events.len());
    // Integer counts per range of reports on all cores, summed: the same totals in any order.
    let zero = || {
        (
            vec![0u64; n_drugs * s_count],
            vec![0u64; n_events * s_count],
            vec![0u64; s_count],
        )
    };
    let (drug, event, total) = (0..set.len())
        .into_par_iter()
        .with_min_len(REPORTS_PER_TASK)
        .fold(zero, |(mut drug, mut event, mut total), r| {
            let drugs = set.report_drugs(r);
            let events = set.report_events(r);
            if drugs.is_empty() || events.is_empty() {
                return (drug, event, total); // a report without a drug or an event is in no 2×2 table
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
            (drug, event, total)
        })
        .reduce(zero, |mut a, b| {
            for (x, y) in a.0.iter_mut().zip(b.0) {
                *x += y;
            }
            for (x, y) in a.1.iter_mut().zip(b.1) {
                *x += y;
            }
            for (x, y) in a.2.iter_mut().zip(b.2) {
                *x += y;
            }
            a
        });
    let as_f64 = |v: Vec<u64>| v.into_iter().map(|c| c as f64).collect();
    StratifiedMargins {
        strata: s_count,
        drug: as_f64(drug),
        event: as_f64(event),
        total: as_f64(total),
    }
}

/// Target number of pair keys per partition: 2^18 u64 keys = 2 MiB, about an L2 cache.
const PARTITION_KEYS: usize = 1 << 18;

/// Counts of every observed pair: `(drug, event, a)` sorted by drug then event.
///
/// # Algorithm
/// Drug ids are cut into contiguous ranges holding about 2^18 co-occurrences each (sizes known
/// from one pass over the reports), every co-occurrence is written as a packed u64 key
/// `drug << 32 | event` into its range's slot, and each range is sorted and run-length counted on
/// its own thread. Ranges of drug ids keep the output globally sorted without a merge.
///
/// Both passes over the reports run on all cores, one contiguous range of reports per core: the
/// first counts each range's co-occurrences per drug, which sizes every range's slice of every
/// partition up front, and the second writes each range's keys into its own slices.
pub fn pair_occurrences(set: &ReportSet) -> (Vec<u32>, Vec<u32>, Vec<u32>) {
    let n_drugs = set.drugs.len();
    // Contiguous ranges of reports, one per core: each range counts its co-occurrences per drug,
    // then scatters its keys into slices of the partitions sized from those counts.
    let threads = rayon::current_num_threads().max(1);
    let per_range = set.len().div_ceil(threads).max(1);
    let ranges: Vec<std::ops::Range<usize>> = (0..set.len())
        .step_by(per_range)
        .map(|start| start..(start + per_range).min(set.len()))
        .collect();
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
    // Range partitions of drug ids.
    let mut part_of = vec![0u32; n_drugs];
    let mut part_sizes: Vec<usize> = vec![0];
    for d in 0..n_drugs {
        let pairs: usize = range_per_drug.iter().map(|c| c[d]).sum();
        let last = part_sizes.len() - 1;
        if part_sizes[last] > 0 && part_sizes[last] + pairs > PARTITION_KEYS {
            part_sizes.push(0);
        }
        let p = part_sizes.len() - 1;
        part_of[d] = p as u32;
        part_sizes[p] += pairs;
    }
    let total: usize = part_sizes.iter().sum();
    let mut keys = vec![0u64; total];
    // Each range's slice of each partition, partition-major: the ranges' slices of a partition
    // are contiguous, so the partition is one slice again for its sort.
    let range_per_part: Vec<Vec<usize>> = range_per_drug
        .iter()
        .map(|per_drug| {
            let mut per_part = vec![0usize; part_sizes.len()];
            for (d, &n) in per_drug.iter().enumerate() {
                per_part[part_of[d] as usize] += n;
            }
            per_part
        })
        .collect();
    drop(range_per_drug);
    let mut slots: Vec<Vec<&mut [u64]>> = ranges
        .iter()
        .map(|_| Vec::with_capacity(part_sizes.len()))
        .collect();
    let mut rest: &mut [u64] = &mut keys;
    for p in 0..part_sizes.len() {
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
                        take_front(&mut slots[p], 1)[0] = (d as u64) << 32 | e as u64;
                    }
                    continue;
                }
                // The common case, a cross product: one partition look-up per drug.
                let events = set.report_events(r);
                for &d in set.report_drugs(r) {
                    let p = part_of[d as usize] as usize;
                    let hi = (d as u64) << 32;
                    for (key, &e) in take_front(&mut slots[p], events.len())
                        .iter_mut()
                        .zip(events)
                    {
                        *key = hi | e as u64;
                    }
                }
            }
        });
    // Sort and count each partition; partitions are independent.
    let mut slices: Vec<&mut [u64]> = Vec::with_capacity(part_sizes.len());
    let mut rest: &mut [u64] = &mut keys;
    for s in &part_sizes {
        let (head, tail) = rest.split_at_mut(*s);
        slices.push(head);
        rest = tail;
    }
    let threads = std::thread::available_parallelism()
        .map(|t| t.get())
        .unwrap_or(1);
    let per_thread = slices.len().div_ceil(threads).max(1);
    let mut results: Vec<Vec<(u64, u32)>> = Vec::new();
    std::thread::scope(|scope| {
        let handles: Vec<_> = slices
            .chunks_mut(per_thread)
            .map(|group| {
                scope.spawn(move || {
                    let mut out: Vec<(u64, u32)> = Vec::new();
                    for part in group.iter_mut() {
                        part.sort_unstable();
                        let mut i = 0;
                        while i < part.len() {
                            let key = part[i];
                            let mut j = i + 1;
                            while j < part.len() && part[j] == key {
                                j += 1;
                            }
                            out.push((key, (j - i) as u32));
                            i = j;
                        }
                    }
                    out
                })
            })
            .collect();
        for h in handles {
            results.push(h.join().expect("pair-count worker panicked"));
        }
    });
    let n_pairs: usize = results.iter().map(|r| r.len()).sum();
    let (mut drug, mut event, mut count) = (
        Vec::with_capacity(n_pairs),
        Vec::with_capacity(n_pairs),
        Vec::with_capacity(n_pairs),
    );
    for part in results {
        for (key, c) in part {
            drug.push((key >> 32) as u32);
            event.push(key as u32);
            count.push(c);
        }
    }
    (drug, event, count)
}

/// The first `n` elements of `slot`, which keeps the rest.
fn take_front<'k>(slot: &mut &'k mut [u64], n: usize) -> &'k mut [u64] {
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

    /// More reports than one parallel task holds, so that the margins are summed from several
    /// ranges: every count and expected value equals a plain sequential computation, exactly.
    #[test]
    fn parallel_margins_equal_a_sequential_count() {
        let mut b = ReportSetBuilder::new();
        let mut next = repeatable_numbers(12345);
        for r in 0..3 * REPORTS_PER_TASK {
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
            assert_eq!(c.n_total[i], 3.0 * REPORTS_PER_TASK as f64);
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
