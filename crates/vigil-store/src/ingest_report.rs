//! The ingest report (`ingest_report.json`): every input row is accounted for.
//!
//! For each table: `read = kept + rejected + deduplicated`, where *rejected* rows are malformed or
//! orphaned (each listed with file, line and reason, up to [`MAX_LISTED_REJECTIONS`] per table,
//! all of them counted) and *deduplicated* rows were removed by a named de-duplication rule.
use std::collections::BTreeMap;

/// At most this many rejected rows are listed per table; all are counted.
pub const MAX_LISTED_REJECTIONS: usize = 10_000;
/// At most this many unmapped drug names are listed (the most frequent first).
pub const MAX_LISTED_UNMAPPED: usize = 1_000;

/// A drug name left unmapped by the names learned at ingest because the rows that give it a
/// `prod_ai` disagree (below the agreement share).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AmbiguousDrugName {
    /// The cleaned drug name.
    pub name: String,
    /// The ingredient set most of its rows give.
    pub most_rows: String,
    /// Rows with this name and a `prod_ai`.
    pub rows_with_prod_ai: u64,
    /// Of those, rows giving `most_rows`.
    pub rows_agreeing: u64,
}

/// One rejected row (or field warning).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RowIssue {
    /// Input file (inside a zip: `archive.zip!member`).
    pub file: String,
    /// 1-based physical line number where the record starts.
    pub line: u64,
    /// Column name, when one field is at fault.
    pub field: Option<String>,
    /// What is wrong.
    pub reason: String,
    /// The raw value (or the start of the raw line), lossily decoded.
    pub raw: String,
}

/// Counts for one table.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TableCounts {
    /// Data rows read (records after re-joining split lines and splitting run-on lines).
    pub read: u64,
    /// Rows written to the store.
    pub kept: u64,
    /// Rows rejected (malformed, or orphans whose primaryid is not in DEMO).
    pub rejected: u64,
    /// Rows removed by de-duplication rules, by rule name.
    pub deduplicated: BTreeMap<String, u64>,
    /// Rejections by reason.
    pub rejected_by_reason: BTreeMap<String, u64>,
    /// Rejected rows, listed up to [`MAX_LISTED_REJECTIONS`].
    pub rejected_rows: Vec<RowIssue>,
}

impl TableCounts {
    /// Total rows removed by de-duplication.
    pub fn deduplicated_total(&self) -> u64 {
        self.deduplicated.values().sum()
    }

    /// True when `read = kept + rejected + deduplicated`.
    pub fn balanced(&self) -> bool {
        self.read == self.kept + self.rejected + self.deduplicated_total()
    }

    /// Records a rejected row.
    pub fn reject(&mut self, issue: RowIssue, reason_key: &str) {
        self.rejected += 1;
        *self
            .rejected_by_reason
            .entry(reason_key.to_owned())
            .or_default() += 1;
        if self.rejected_rows.len() < MAX_LISTED_REJECTIONS {
            self.rejected_rows.push(issue);
        }
    }

    /// Records `n` rows removed by de-duplication rule `rule`.
    pub fn dedup(&mut self, rule: &str, n: u64) {
        if n > 0 {
            *self.deduplicated.entry(rule.to_owned()).or_default() += n;
        }
    }

    /// Adds `other` into `self`.
    pub fn merge(&mut self, other: TableCounts) {
        self.read += other.read;
        self.kept += other.kept;
        self.rejected += other.rejected;
        for (k, v) in other.deduplicated {
            *self.deduplicated.entry(k).or_default() += v;
        }
        for (k, v) in other.rejected_by_reason {
            *self.rejected_by_reason.entry(k).or_default() += v;
        }
        let room = MAX_LISTED_REJECTIONS.saturating_sub(self.rejected_rows.len());
        self.rejected_rows
            .extend(other.rejected_rows.into_iter().take(room));
    }
}

/// One input file that was read.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FileRead {
    /// Path (inside a zip: `archive.zip!member`).
    pub path: String,
    /// Table (`demo`, `drug`, … , `deleted`, `openfda`).
    pub table: String,
    /// Quarter label.
    pub quarter: String,
    /// Era (`aers` legacy, `faers-a` 2012Q4–2014Q2, `faers-b` 2014Q3+, `openfda`, `deleted-list`).
    pub era: String,
    /// Uncompressed bytes read.
    pub bytes: u64,
    /// Data rows read.
    pub rows: u64,
}

/// The whole ingest report.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct IngestReport {
    /// Store version this ingest produced.
    pub version: u32,
    /// Files read, in order.
    pub files: Vec<FileRead>,
    /// Counts per table (`demo`, `drug`, `reac`, `outc`, `rpsr`, `ther`, `indi`).
    pub tables: BTreeMap<String, TableCounts>,
    /// Reports that were in the store before this ingest and were removed by it, by rule
    /// (a newer version arrived, or the case was deleted).
    pub stored_reports_removed: BTreeMap<String, u64>,
    /// Reports in the store after this ingest.
    pub reports_in_store: u64,
    /// Distinct caseids on the deleted-case lists read.
    pub deleted_caseids_listed: u64,
    /// Distinct caseids on every deleted-case list the store holds (those read now and before);
    /// all of them are applied to the reports of every ingest.
    #[serde(default)]
    pub deleted_caseids_in_store: u64,
    /// Stored case versions re-sent by this ingest with fewer drug or reaction rows, whose
    /// stored copies were kept (one line each, up to 1,000; all are counted under the demo
    /// table's de-duplication rule).
    #[serde(default)]
    pub less_complete_resends: Vec<String>,
    /// Field values that could not be parsed and were stored as null (counted by column).
    pub field_warnings: BTreeMap<String, u64>,
    /// Some field warnings, for inspection.
    pub field_warning_examples: Vec<RowIssue>,
    /// Drug rows whose ingredient came from `prod_ai`, the dictionary, or the cleaned name only.
    pub drug_name_sources: BTreeMap<String, u64>,
    /// Cleaned drug names that matched neither `prod_ai` nor the dictionary, with row counts,
    /// most frequent first (up to [`MAX_LISTED_UNMAPPED`]). They are stored verbatim (as their
    /// cleaned name), never dropped; their rows are counted under `cleaned_name_unmapped` in
    /// `drug_name_sources`.
    pub unmapped_drug_names: Vec<(String, u64)>,
    /// Drug names learned at this ingest from the rows that give them a `prod_ai` (each with
    /// its evidence in the version's `learned_drug_names.parquet`); rows mapped through them are
    /// counted under `learned_from_prod_ai` in `drug_name_sources`.
    #[serde(default)]
    pub learned_drug_names: u64,
    /// Names whose `prod_ai` rows disagree, left unmapped (most rows first, up to
    /// [`MAX_LISTED_UNMAPPED`]).
    #[serde(default)]
    pub ambiguous_drug_names: Vec<AmbiguousDrugName>,
    /// Drug rows of earlier ingests, stored under a name verbatim or through a learned name, whose
    /// ingredient this ingest changed because it learned the name, learned it otherwise, or found
    /// it ambiguous (rows of superseded case versions in the rewritten batch files included).
    #[serde(default)]
    pub stored_drug_rows_remapped: u64,
    /// Distinct drug names (as written) of those rows.
    #[serde(default)]
    pub stored_drug_names_remapped: u64,
    /// Wall-clock seconds.
    pub seconds: f64,
}

impl IngestReport {
    /// The table counts for `table`, created empty if absent.
    pub fn table_mut(&mut self, table: &str) -> &mut TableCounts {
        self.tables.entry(table.to_owned()).or_default()
    }

    /// Tables whose counts do not balance (`read ≠ kept + rejected + deduplicated`).
    pub fn unbalanced_tables(&self) -> Vec<String> {
        self.tables
            .iter()
            .filter(|(_, c)| !c.balanced())
            .map(|(k, _)| k.clone())
            .collect()
    }
}
