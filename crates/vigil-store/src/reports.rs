//! [`ReportSet`]: reports in the shape the counting kernels read.
//!
//! Every source of reports (a report-level CSV or Parquet file, the FAERS store) is turned into a
//! `ReportSet` first. It keeps, per report, the list of its distinct drugs and distinct events as
//! dense `u32` ids (compressed sparse rows), and the report's stratum. The ~100 M report–drug–event
//! rows of FAERS are never materialised: the pairs are generated per report inside the kernel.

/// A drug or event name as the store keeps it: trimmed and in upper case (ingredients and PTs
/// compare case-insensitively: legacy AERS writes PTs in upper case, FAERS in mixed case). `None`
/// for a blank name. Every reader of names (the store, `--counts` files, `--drug`/`--event`)
/// goes through this one function.
pub fn normalise_name(name: &str) -> Option<String> {
    let t = name.trim();
    (!t.is_empty()).then(|| t.to_uppercase())
}

/// Up to `k` of `names` closest to `wanted` (compared normalised), best first, for "not found"
/// messages: names that start with or contain it come first, then the rest by Jaro–Winkler
/// similarity (which favours a shared beginning, as in drug-name typos such as DUPILUMB).
pub fn nearest_names<'a>(
    wanted: &str,
    names: impl IntoIterator<Item = &'a str>,
    k: usize,
) -> Vec<String> {
    let want = normalise_name(wanted).unwrap_or_default();
    let mut scored: Vec<(u8, f64, &str)> = names
        .into_iter()
        .map(|n| {
            let rank = if n.starts_with(&want) {
                0
            } else if n.contains(&want) {
                1
            } else {
                2
            };
            (rank, strsim::jaro_winkler(&want, n), n)
        })
        .collect();
    scored.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.total_cmp(&a.1)).then(a.2.cmp(b.2)));
    scored.dedup_by(|a, b| a.2 == b.2);
    scored
        .into_iter()
        .take(k)
        .map(|(_, _, n)| n.to_owned())
        .collect()
}

/// Interns strings to dense ids `0, 1, 2, …` in order of first appearance.
#[derive(Debug, Default, Clone)]
pub struct Dictionary {
    names: Vec<String>,
    index: ahash::AHashMap<String, u32>,
}

impl Dictionary {
    /// An empty dictionary.
    pub fn new() -> Self {
        Self::default()
    }

    /// The id of `name`, adding it if it is new.
    pub fn intern(&mut self, name: &str) -> u32 {
        if let Some(&id) = self.index.get(name) {
            return id;
        }
        let id = u32::try_from(self.names.len()).expect("more than 2^32 distinct names");
        self.names.push(name.to_owned());
        self.index.insert(name.to_owned(), id);
        id
    }

    /// The id of `name`, if it has been interned.
    pub fn get(&self, name: &str) -> Option<u32> {
        self.index.get(name).copied()
    }

    /// The name of id `id`.
    pub fn name(&self, id: u32) -> &str {
        &self.names[id as usize]
    }

    /// All names, indexed by id.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Number of distinct names.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// True when nothing has been interned.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }
}

/// Reports, each with its distinct drugs, distinct events and stratum.
///
/// Invariants (checked by [`ReportSetBuilder::finish`]): within one report the drug ids are
/// distinct, and so are the event ids; `drug_offsets` and `event_offsets` have one entry more than
/// there are reports and are non-decreasing; every stratum id indexes `strata`.
#[derive(Debug, Clone, Default)]
pub struct ReportSet {
    /// Drug names (active ingredients after normalisation, or raw names).
    pub drugs: Dictionary,
    /// Event names (MedDRA preferred terms).
    pub events: Dictionary,
    /// Stratum labels; a single empty label when the analysis is unstratified.
    pub strata: Dictionary,
    /// The source's report identifier of each report (FAERS primaryid, or the `id` column).
    pub report_ids: Vec<String>,
    /// The stratum id of each report.
    pub report_stratum: Vec<u32>,
    /// Drugs of report `r` are `drug_ids[drug_offsets[r]..drug_offsets[r + 1]]`.
    pub drug_offsets: Vec<usize>,
    /// Concatenated drug ids of all reports.
    pub drug_ids: Vec<u32>,
    /// Events of report `r` are `event_ids[event_offsets[r]..event_offsets[r + 1]]`.
    pub event_offsets: Vec<usize>,
    /// Concatenated event ids of all reports.
    pub event_ids: Vec<u32>,
    /// Exact (drug, event) pairs of the reports whose rows are not every drug × every event
    /// (possible in a report-level file, never in FAERS, where each reaction is reported against
    /// the whole drug list): report `r`'s pairs are `pairs.1[pairs.0[r]..pairs.0[r + 1]]`, empty
    /// for a full cross product. `None` when every report is a full cross product.
    pub explicit_pairs: Option<ExplicitPairs>,
}

/// Per-report offsets into a list of (drug id, event id) pairs, and that list (see
/// [`ReportSet::explicit_pairs`]).
pub type ExplicitPairs = (Vec<usize>, Vec<(u32, u32)>);

impl ReportSet {
    /// Number of reports.
    pub fn len(&self) -> usize {
        self.report_ids.len()
    }

    /// True when there are no reports.
    pub fn is_empty(&self) -> bool {
        self.report_ids.is_empty()
    }

    /// The distinct drug ids of report `r`.
    pub fn report_drugs(&self, r: usize) -> &[u32] {
        &self.drug_ids[self.drug_offsets[r]..self.drug_offsets[r + 1]]
    }

    /// The distinct event ids of report `r`.
    pub fn report_events(&self, r: usize) -> &[u32] {
        &self.event_ids[self.event_offsets[r]..self.event_offsets[r + 1]]
    }

    /// The explicit (drug, event) pairs of report `r`, or `None` when the report is every drug ×
    /// every event.
    pub fn report_pairs(&self, r: usize) -> Option<&[(u32, u32)]> {
        let (off, pairs) = self.explicit_pairs.as_ref()?;
        let p = &pairs[off[r]..off[r + 1]];
        (!p.is_empty()).then_some(p)
    }

    /// Calls `f(drug, event)` for every pair of report `r`.
    #[inline]
    pub fn for_each_pair(&self, r: usize, mut f: impl FnMut(u32, u32)) {
        match self.report_pairs(r) {
            Some(pairs) => pairs.iter().for_each(|&(d, e)| f(d, e)),
            None => {
                let events = self.report_events(r);
                for &d in self.report_drugs(r) {
                    for &e in events {
                        f(d, e);
                    }
                }
            }
        }
    }
}

/// Builds a [`ReportSet`] one report at a time.
///
/// Duplicate drugs or events within a report are dropped here (a report counts once per drug,
/// event and pair, as openEBGM's `processRaw` counts unique ids).
#[derive(Debug)]
pub struct ReportSetBuilder {
    set: ReportSet,
    scratch: Vec<u32>,
    /// Explicit pairs (offsets, pairs); reports that are full cross products have empty entries.
    pair_offsets: Vec<usize>,
    pairs: Vec<(u32, u32)>,
    any_explicit: bool,
}

impl Default for ReportSetBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl ReportSetBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        let mut set = ReportSet::default();
        set.drug_offsets.push(0);
        set.event_offsets.push(0);
        Self {
            set,
            scratch: Vec::new(),
            pair_offsets: vec![0],
            pairs: Vec::new(),
            any_explicit: false,
        }
    }

    /// Adds one report with its drugs, events and stratum label (`""` when unstratified): every
    /// drug is paired with every event, as in FAERS. Repeated names within the report count once.
    pub fn push_report<D, E>(&mut self, report_id: &str, drugs: D, events: E, stratum: &str)
    where
        D: IntoIterator,
        D::Item: AsRef<str>,
        E: IntoIterator,
        E::Item: AsRef<str>,
    {
        let drug_ids: Vec<u32> = drugs
            .into_iter()
            .map(|d| self.set.drugs.intern(d.as_ref()))
            .collect();
        let event_ids: Vec<u32> = events
            .into_iter()
            .map(|e| self.set.events.intern(e.as_ref()))
            .collect();
        let s = self.set.strata.intern(stratum);
        self.push_report_ids(report_id, &drug_ids, &event_ids, s);
    }

    /// Adds one report given as its (drug, event) rows, as in a report-level file. Distinct drugs
    /// and events make the report's lists; if the distinct rows are not every drug × every event,
    /// the report keeps its exact pairs so that only reported pairs are counted.
    pub fn push_report_rows<S: AsRef<str>>(
        &mut self,
        report_id: &str,
        rows: &[(S, S)],
        stratum: &str,
    ) {
        let mut ids: Vec<(u32, u32)> = rows
            .iter()
            .map(|(d, e)| {
                (
                    self.set.drugs.intern(d.as_ref()),
                    self.set.events.intern(e.as_ref()),
                )
            })
            .collect();
        ids.sort_unstable();
        ids.dedup();
        let mut drugs: Vec<u32> = ids.iter().map(|p| p.0).collect();
        drugs.dedup();
        let mut events: Vec<u32> = ids.iter().map(|p| p.1).collect();
        events.sort_unstable();
        events.dedup();
        let s = self.set.strata.intern(stratum);
        self.push_lists(report_id, &drugs, &events, s);
        if ids.len() != drugs.len() * events.len() {
            self.any_explicit = true;
            self.pairs.extend_from_slice(&ids);
        }
        self.pair_offsets.push(self.pairs.len());
    }

    /// Adds one report given as its (drug, event) rows as ids already interned in this builder's
    /// dictionaries (see [`ReportSetBuilder::dictionaries_mut`]): the same report as
    /// [`ReportSetBuilder::push_report_rows`] with the names of those ids. `rows` is sorted and
    /// de-duplicated in place.
    pub fn push_report_id_rows(
        &mut self,
        report_id: &str,
        rows: &mut Vec<(u32, u32)>,
        stratum: u32,
    ) {
        rows.sort_unstable();
        rows.dedup();
        let mut drugs: Vec<u32> = rows.iter().map(|p| p.0).collect();
        drugs.dedup();
        let mut events: Vec<u32> = rows.iter().map(|p| p.1).collect();
        events.sort_unstable();
        events.dedup();
        self.push_lists(report_id, &drugs, &events, stratum);
        if rows.len() != drugs.len() * events.len() {
            self.any_explicit = true;
            self.pairs.extend_from_slice(rows);
        }
        self.pair_offsets.push(self.pairs.len());
    }

    /// Adds one report, every drug paired with every event, whose ids are already interned in
    /// this builder's dictionaries (see [`ReportSetBuilder::dictionaries_mut`]). Duplicates are
    /// removed.
    pub fn push_report_ids(
        &mut self,
        report_id: &str,
        drugs: &[u32],
        events: &[u32],
        stratum: u32,
    ) {
        self.push_lists(report_id, drugs, events, stratum);
        self.pair_offsets.push(self.pairs.len());
    }

    fn push_lists(&mut self, report_id: &str, drugs: &[u32], events: &[u32], stratum: u32) {
        self.scratch.clear();
        self.scratch.extend_from_slice(drugs);
        self.scratch.sort_unstable();
        self.scratch.dedup();
        self.set.drug_ids.extend_from_slice(&self.scratch);
        self.set.drug_offsets.push(self.set.drug_ids.len());
        self.scratch.clear();
        self.scratch.extend_from_slice(events);
        self.scratch.sort_unstable();
        self.scratch.dedup();
        self.set.event_ids.extend_from_slice(&self.scratch);
        self.set.event_offsets.push(self.set.event_ids.len());
        self.set.report_stratum.push(stratum);
        self.set.report_ids.push(report_id.to_owned());
    }

    /// The drug, event and stratum dictionaries, for callers that intern names themselves.
    pub fn dictionaries_mut(&mut self) -> (&mut Dictionary, &mut Dictionary, &mut Dictionary) {
        (
            &mut self.set.drugs,
            &mut self.set.events,
            &mut self.set.strata,
        )
    }

    /// The finished set.
    pub fn finish(mut self) -> ReportSet {
        if self.set.strata.is_empty() {
            self.set.strata.intern("");
        }
        if self.any_explicit {
            self.set.explicit_pairs = Some((self.pair_offsets, self.pairs));
        }
        self.set
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicates_within_a_report_count_once() {
        let mut b = ReportSetBuilder::new();
        b.push_report("1", ["A", "B", "A"], ["X", "X"], "");
        b.push_report("2", ["B"], ["Y", "X"], "");
        let s = b.finish();
        assert_eq!(s.len(), 2);
        assert_eq!(s.report_drugs(0), &[0, 1]); // A, B
        assert_eq!(s.report_events(0), &[0]); // X once
        assert_eq!(s.report_events(1), &[0, 1]); // sorted ids: X=0, Y=1
        assert_eq!(s.drugs.name(1), "B");
    }

    #[test]
    fn rows_that_are_not_a_cross_product_keep_their_pairs() {
        let mut b = ReportSetBuilder::new();
        b.push_report_rows("1", &[("A", "X"), ("B", "Y")], ""); // not A·Y, not B·X
        b.push_report_rows("2", &[("A", "X"), ("A", "Y")], ""); // a cross product
        let s = b.finish();
        let mut pairs = Vec::new();
        s.for_each_pair(0, |d, e| pairs.push((d, e)));
        assert_eq!(pairs, vec![(0, 0), (1, 1)]);
        assert!(s.report_pairs(1).is_none());
    }
}
