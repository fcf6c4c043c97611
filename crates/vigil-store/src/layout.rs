//! The on-disk layout of a vigil store: versioned directories, the `CURRENT` pointer, table
//! names and column schemas.
//!
//! ```text
//! STORE/
//!   CURRENT                  one line: the name of the live version directory, e.g. "v000003"
//!   v000003/
//!     manifest.json          version, next batch id, the batches it holds
//!     ingest_report.json     what the ingest that made this version read, kept, rejected, removed
//!     reports.parquet        one row per report kept after de-duplication (the latest version of each case)
//!     sources.parquet        one row per input file ever ingested (batch, quarter, path, table, rows)
//!     deleted_cases.parquet  every caseid of every deleted-case list ingested (caseid, quarter, list)
//!     drugs/b000001.parquet  child tables: one file per batch (one batch = one quarter of one ingest)
//!     reactions/ outcomes/ report_sources/ therapies/ indications/
//! ```
//!
//! A child row belongs to the store only while `reports` holds its `primaryid` with the same
//! `batch`: when a later quarter brings a newer version of a case, the old version's child rows
//! stay in their (hard-linked) batch file but no longer match, so readers skip them. This makes an
//! update cost the new quarter plus a rewrite of `reports`, not a rewrite of every table.
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Schema, SchemaRef};

/// Name of the pointer file naming the live version directory.
pub const CURRENT_FILE: &str = "CURRENT";
/// Name of the manifest inside a version directory.
pub const MANIFEST_FILE: &str = "manifest.json";
/// Name of the ingest report inside a version directory.
pub const INGEST_REPORT_FILE: &str = "ingest_report.json";
/// File of the reports table inside a version directory.
pub const REPORTS_FILE: &str = "reports.parquet";
/// File of the sources table inside a version directory.
pub const SOURCES_FILE: &str = "sources.parquet";
/// File of the deleted-case lists ever ingested (caseid, the quarter whose list deleted it, the
/// list file), carried into every later version so that a list deletes its cases whatever the
/// order in which quarters are ingested.
pub const DELETED_FILE: &str = "deleted_cases.parquet";

/// The child tables, each a directory of one Parquet file per batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ChildTable {
    /// FAERS DRUG: one row per drug of a report.
    Drugs,
    /// FAERS REAC: one row per reaction (MedDRA PT).
    Reactions,
    /// FAERS OUTC: one row per serious outcome code.
    Outcomes,
    /// FAERS RPSR: one row per report source code.
    ReportSources,
    /// FAERS THER: therapy dates per drug.
    Therapies,
    /// FAERS INDI: indications per drug.
    Indications,
}

impl ChildTable {
    /// All child tables.
    pub const ALL: [ChildTable; 6] = [
        ChildTable::Drugs,
        ChildTable::Reactions,
        ChildTable::Outcomes,
        ChildTable::ReportSources,
        ChildTable::Therapies,
        ChildTable::Indications,
    ];

    /// Directory name in a version directory.
    pub fn dir_name(self) -> &'static str {
        match self {
            ChildTable::Drugs => "drugs",
            ChildTable::Reactions => "reactions",
            ChildTable::Outcomes => "outcomes",
            ChildTable::ReportSources => "report_sources",
            ChildTable::Therapies => "therapies",
            ChildTable::Indications => "indications",
        }
    }

    /// The text columns of the table, after `primaryid`, `caseid` and `batch`.
    pub fn text_columns(self) -> &'static [&'static str] {
        match self {
            ChildTable::Drugs => DRUG_TEXT_COLUMNS,
            ChildTable::Reactions => &["pt", "drug_rec_act"],
            ChildTable::Outcomes => &["outc_cod"],
            ChildTable::ReportSources => &["rpsr_cod"],
            ChildTable::Therapies => &["dsg_drug_seq", "start_dt", "end_dt", "dur", "dur_cod"],
            ChildTable::Indications => &["indi_drug_seq", "indi_pt"],
        }
    }

    /// Arrow schema: `primaryid u64, caseid u64 (null in legacy AERS), batch u32`, then the
    /// text columns as nullable UTF-8.
    pub fn schema(self) -> SchemaRef {
        let mut fields = vec![
            Field::new("primaryid", DataType::UInt64, false),
            Field::new("caseid", DataType::UInt64, true),
            Field::new("batch", DataType::UInt32, false),
        ];
        fields.extend(
            self.text_columns()
                .iter()
                .map(|c| Field::new(*c, DataType::Utf8, true)),
        );
        Arc::new(Schema::new(fields))
    }
}

/// Text columns of the drugs table, in order. `ingredient` is the normalised active
/// ingredient(s) (see `vigil_faers::drugname`); `drug_seq` is text because legacy AERS uses
/// large global numbers and the value is only a join key.
pub const DRUG_TEXT_COLUMNS: &[&str] = &[
    "drug_seq",
    "role_cod",
    "drugname",
    "prod_ai",
    "ingredient",
    "val_vbm",
    "route",
    "dose_vbm",
    "cum_dose_chr",
    "cum_dose_unit",
    "dechal",
    "rechal",
    "lot_num",
    "exp_dt",
    "nda_num",
    "dose_amt",
    "dose_unit",
    "dose_form",
    "dose_freq",
];

/// Raw text columns of the reports table (FAERS DEMO under unified names), in order.
/// Dates are kept as the digits given (`YYYY`, `YYYYMM` or `YYYYMMDD`), so their length is their
/// precision.
pub const REPORT_TEXT_COLUMNS: &[&str] = &[
    "i_f_code",
    "event_dt",
    "mfr_dt",
    "init_fda_dt",
    "fda_dt",
    "rept_cod",
    "auth_num",
    "mfr_num",
    "mfr_sndr",
    "lit_ref",
    "age",
    "age_cod",
    "age_grp",
    "sex_raw",
    "e_sub",
    "wt",
    "wt_cod",
    "rept_dt",
    "to_mfr",
    "occp_cod",
    "reporter_country",
    "occr_country",
    "foll_seq",
    "death_dt",
];

/// Arrow schema of the reports table: keys, provenance, the raw text columns, then the derived
/// columns `age_years`, `weight_kg`, `sex` (M, F or unknown), `age_group`, `year` (year of
/// `fda_dt`, FDA's receipt date) and `event_year`.
pub fn reports_schema() -> SchemaRef {
    let mut fields = vec![
        Field::new("primaryid", DataType::UInt64, false),
        Field::new("caseid", DataType::UInt64, false),
        Field::new("caseversion", DataType::UInt32, true),
        Field::new("batch", DataType::UInt32, false),
        Field::new("quarter", DataType::Utf8, false),
        Field::new("source", DataType::Utf8, false),
    ];
    fields.extend(
        REPORT_TEXT_COLUMNS
            .iter()
            .map(|c| Field::new(*c, DataType::Utf8, true)),
    );
    fields.extend([
        Field::new("age_years", DataType::Float64, true),
        Field::new("weight_kg", DataType::Float64, true),
        Field::new("sex", DataType::Utf8, false),
        Field::new("age_group", DataType::Utf8, false),
        Field::new("year", DataType::Int32, true),
        Field::new("event_year", DataType::Int32, true),
    ]);
    Arc::new(Schema::new(fields))
}

/// Arrow schema of the sources table.
pub fn sources_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("batch", DataType::UInt32, false),
        Field::new("quarter", DataType::Utf8, false),
        Field::new("path", DataType::Utf8, false),
        Field::new("table", DataType::Utf8, false),
        Field::new("era", DataType::Utf8, false),
        Field::new("bytes", DataType::UInt64, false),
        Field::new("rows_read", DataType::UInt64, false),
    ]))
}

/// Arrow schema of the deleted-cases table.
pub fn deleted_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("caseid", DataType::UInt64, false),
        Field::new("quarter", DataType::Utf8, false),
        Field::new("list", DataType::Utf8, false),
    ]))
}

/// One batch: the rows one quarter (or one openFDA file set) added to the store.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct BatchInfo {
    /// Batch id (unique over the store's history).
    pub id: u32,
    /// Quarter label such as `2025Q4` (`unknown` when no quarter could be read from the names).
    pub quarter: String,
}

/// `manifest.json`: what a version directory holds.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Manifest {
    /// Store layout version (this file describes layout 1).
    pub layout: u32,
    /// Version number of this directory (`v000003` → 3).
    pub version: u32,
    /// The next unused batch id.
    pub next_batch: u32,
    /// Every batch whose child files this version holds.
    pub batches: Vec<BatchInfo>,
    /// When the version was committed, seconds since 1970-01-01 UTC (absent in stores written
    /// before this field existed).
    #[serde(default)]
    pub created_unix: Option<u64>,
    /// The version it was built on (`None` for the first).
    #[serde(default)]
    pub based_on: Option<u32>,
    /// Reports in this version.
    #[serde(default)]
    pub reports: Option<u64>,
    /// The input files that made this version (path, table, quarter, bytes, rows read).
    #[serde(default)]
    pub inputs: Vec<crate::ingest_report::FileRead>,
    /// True when any data of this version, or of the versions it was built on, came from
    /// `vigil synth` (set by the ingest from the synth marker file only; see
    /// `vigil_faers::synth::is_synth_output`). A manifest written before the field existed reads
    /// as not synthetic.
    #[serde(default)]
    pub synthetic_data: bool,
}

/// Name of version directory `version`.
pub fn version_dir_name(version: u32) -> String {
    format!("v{version:06}")
}

/// File name of batch `batch` in a child-table directory.
pub fn batch_file_name(batch: u32) -> String {
    format!("b{batch:06}.parquet")
}

/// The version number of a directory name `v000003` (exactly `v` and six digits).
pub fn version_of_dir_name(name: &str) -> Option<u32> {
    let digits = name.strip_prefix('v')?;
    if digits.len() == 6 && digits.bytes().all(|b| b.is_ascii_digit()) {
        digits.parse().ok()
    } else {
        None
    }
}

/// The version directories present in `store`, by number (ascending).
pub fn version_numbers(store: &Path) -> std::io::Result<Vec<u32>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(store)? {
        let entry = entry?;
        if let Some(v) = version_of_dir_name(&entry.file_name().to_string_lossy()) {
            if entry.path().is_dir() {
                out.push(v);
            }
        }
    }
    out.sort_unstable();
    Ok(out)
}

/// The live version directory of `store`, from its `CURRENT` file; `None` for a new store.
pub fn current_version_dir(store: &Path) -> std::io::Result<Option<PathBuf>> {
    let pointer = store.join(CURRENT_FILE);
    match std::fs::read_to_string(&pointer) {
        Ok(name) => {
            let name = name.trim();
            if name.is_empty() || name.contains('/') || name.contains("..") {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!(
                        "{}: not a version directory name: {name:?}",
                        pointer.display()
                    ),
                ));
            }
            Ok(Some(store.join(name)))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Errors of the store layer.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A file-system operation failed.
    #[error("{path}: {source}")]
    Io {
        /// The path involved.
        path: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// Parquet encoding or decoding failed.
    #[error("{path}: parquet: {source}")]
    Parquet {
        /// The file involved.
        path: String,
        /// The underlying error.
        source: parquet::errors::ParquetError,
    },
    /// An Arrow operation failed.
    #[error("arrow: {0}")]
    Arrow(#[from] arrow::error::ArrowError),
    /// The store's contents are not what this version of vigil expects.
    #[error("{0}")]
    Format(String),
    /// A Parquet file of the store lacks a column that was asked for.
    #[error("{path}: no column {column:?}")]
    MissingColumn {
        /// The file.
        path: String,
        /// The column asked for.
        column: String,
    },
    /// A column to stratify by is not a column of the reports table.
    #[error("{path}: no column {column:?}; stratify by columns of the reports table, e.g. age_group, sex, year")]
    UnknownStratum {
        /// The reports file.
        path: String,
        /// The column asked for.
        column: String,
    },
}

impl StoreError {
    /// An I/O error about `path`.
    pub fn io(path: impl AsRef<Path>, source: std::io::Error) -> Self {
        StoreError::Io {
            path: path.as_ref().display().to_string(),
            source,
        }
    }
    /// A Parquet error about `path`.
    pub fn parquet(path: impl AsRef<Path>, source: parquet::errors::ParquetError) -> Self {
        StoreError::Parquet {
            path: path.as_ref().display().to_string(),
            source,
        }
    }
}

/// Result of store operations.
pub type StoreResult<T> = std::result::Result<T, StoreError>;
