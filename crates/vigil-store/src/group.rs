//! Grouped counting: a [`ReportSet`] whose events (or drugs) are replaced by their groups — MedDRA
//! HLT/HLGT/SOC/SMQ, ATC classes — so that the unchanged kernels of [`crate::count`] count
//! reports per group.
//!
//! A report counts once per group: its group list is the union of the groups of its terms, each
//! group once (a report with two PTs of the same HLT is one HLT report). A name whose mapping is
//! empty keeps its own name, so no report leaves the table and the total `n` is the same at every
//! level. Which names belong to which groups is the caller's (see `vigil-terms`).
use crate::reports::{Dictionary, ReportSet};

/// Which side of the report is regrouped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The drug lists.
    Drugs,
    /// The event lists.
    Events,
}

/// `set` with every name on `side` replaced by `groups_of(name)` (its own name when that is
/// empty), each report's list made distinct. Report ids, strata and the other side are kept.
/// Explicit (drug, event) pairs are mapped pair by pair, also made distinct.
pub fn regroup(set: &ReportSet, side: Side, groups_of: impl Fn(&str) -> Vec<String>) -> ReportSet {
    let old = match side {
        Side::Drugs => &set.drugs,
        Side::Events => &set.events,
    };
    let mut dict = Dictionary::new();
    let map: Vec<Vec<u32>> = old
        .names()
        .iter()
        .map(|name| {
            let groups = groups_of(name);
            if groups.is_empty() {
                vec![dict.intern(name)]
            } else {
                let mut ids: Vec<u32> = groups.iter().map(|g| dict.intern(g)).collect();
                ids.sort_unstable();
                ids.dedup();
                ids
            }
        })
        .collect();
    let (old_offsets, old_ids) = match side {
        Side::Drugs => (&set.drug_offsets, &set.drug_ids),
        Side::Events => (&set.event_offsets, &set.event_ids),
    };
    let mut offsets = Vec::with_capacity(old_offsets.len());
    offsets.push(0usize);
    let mut ids = Vec::with_capacity(old_ids.len());
    let mut scratch: Vec<u32> = Vec::new();
    for r in 0..set.len() {
        scratch.clear();
        for &id in &old_ids[old_offsets[r]..old_offsets[r + 1]] {
            scratch.extend_from_slice(&map[id as usize]);
        }
        scratch.sort_unstable();
        scratch.dedup();
        ids.extend_from_slice(&scratch);
        offsets.push(ids.len());
    }
    let explicit_pairs = set.explicit_pairs.as_ref().map(|(off, pairs)| {
        let mut new_off = Vec::with_capacity(off.len());
        new_off.push(0usize);
        let mut new_pairs = Vec::with_capacity(pairs.len());
        let mut buf: Vec<(u32, u32)> = Vec::new();
        for r in 0..set.len() {
            buf.clear();
            for &(d, e) in &pairs[off[r]..off[r + 1]] {
                match side {
                    Side::Drugs => buf.extend(map[d as usize].iter().map(|&g| (g, e))),
                    Side::Events => buf.extend(map[e as usize].iter().map(|&g| (d, g))),
                }
            }
            buf.sort_unstable();
            buf.dedup();
            new_pairs.extend_from_slice(&buf);
            new_off.push(new_pairs.len());
        }
        (new_off, new_pairs)
    });
    let mut out = set.clone();
    match side {
        Side::Drugs => {
            out.drugs = dict;
            out.drug_offsets = offsets;
            out.drug_ids = ids;
        }
        Side::Events => {
            out.events = dict;
            out.event_offsets = offsets;
            out.event_ids = ids;
        }
    }
    out.explicit_pairs = explicit_pairs;
    out
}

/// The number of reports carrying each name of `side`, indexed by the name's id.
pub fn reports_per_name(set: &ReportSet, side: Side) -> Vec<u64> {
    let (n, ids) = match side {
        Side::Drugs => (set.drugs.len(), &set.drug_ids),
        Side::Events => (set.events.len(), &set.event_ids),
    };
    let mut out = vec![0u64; n];
    // Ids are distinct within a report, so each occurrence is one report.
    for &id in ids {
        out[id as usize] += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::count::{count_pairs, naive_pair_counts, pair_occurrences, Margins};
    use crate::reports::ReportSetBuilder;

    fn groups(name: &str) -> Vec<String> {
        match name {
            "P1" | "P2" => vec!["H1".into()],
            "P3" => vec!["H1".into(), "H2".into()],
            _ => vec![],
        }
    }

    #[test]
    fn a_report_counts_once_per_group() {
        let mut b = ReportSetBuilder::new();
        b.push_report("1", ["A"], ["P1", "P2"], ""); // H1 once
        b.push_report("2", ["A"], ["P3"], ""); // H1, H2
        b.push_report("3", ["B"], ["P2", "Q"], ""); // H1, Q (no group: itself)
        let g = regroup(&b.finish(), Side::Events, groups);
        assert_eq!(g.events.names(), ["H1", "H2", "Q"]);
        let c = count_pairs(&g, Margins::Reports);
        // A·H1: reports 1, 2 → a = 2; H1 in reports 1, 2, 3 → n_event = 3; n = 3.
        assert_eq!((c.drug[0], c.event[0]), (0, 0));
        assert_eq!((c.a[0], c.n_event[0], c.n_total[0]), (2.0, 3.0, 3.0));
        assert_eq!(reports_per_name(&g, Side::Events), [3, 1, 1]);
        assert_eq!(pair_occurrences(&g), naive_pair_counts(&g));
    }

    #[test]
    fn explicit_pairs_are_mapped_and_made_distinct() {
        let mut b = ReportSetBuilder::new();
        // Report 1: A·P1 and B·P2 only (not A·P2, not B·P1); at the group level A·H1 and B·H1.
        b.push_report_rows("1", &[("A", "P1"), ("B", "P2")], "");
        // Report 2: A·P1, A·P2: both A·H1, counted once.
        b.push_report_rows("2", &[("A", "P1"), ("A", "P2")], "");
        let g = regroup(&b.finish(), Side::Events, groups);
        let (d, e, n) = pair_occurrences(&g);
        assert_eq!((d, e, n), (vec![0, 1], vec![0, 0], vec![2, 1]));
        let d2 = regroup(&g, Side::Drugs, |_| vec!["ALL".into()]);
        assert_eq!(pair_occurrences(&d2), (vec![0], vec![0], vec![2]));
    }
}
