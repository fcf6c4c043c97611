//! FAERS and legacy AERS quarterly ASCII files, and openFDA drug-event JSON, into the vigil store.
//!
//! This crate owns everything between the FDA's published files and a store version:
//! * [`discover`]: finding table files (DEMO, DRUG, REAC, OUTC, RPSR, THER, INDI) and deleted-case
//!   lists in zips and folders at any depth, and the quarter of each;
//! * [`table`]: eras (legacy AERS, FAERS 2012Q4–2014Q2, FAERS 2014Q3+) and unified column names;
//! * [`record`]: the `$`-delimited reader with every byte-level quirk of the FDA files;
//! * [`parse`]: identifiers, partial dates, age in years, weight in kg, sex, age group;
//! * [`drugname`]: drug names → active ingredients;
//! * [`synonyms`]: substance synonyms (USAN ↔ INN, salt and ester forms), each with its source;
//! * [`ingest`]: the pipeline (parse, de-duplicate, write a new store version atomically, and
//!   account for every input row in the ingest report);
//! * [`openfda`]: openFDA drug-event JSON into the same model;
//! * [`synth`]: synthetic FAERS-format quarters with planted dupilumab associations.
//!
//! The store layout, the atomic writer and the `ReportSet` loader live in `vigil-store`.
#![deny(missing_docs)]

pub mod discover;
pub mod drugname;
pub mod ingest;
pub mod openfda;
pub mod parse;
pub mod record;
pub mod synonyms;
pub mod synth;
pub mod table;

use std::path::Path;

/// Errors that stop an ingest (row-level problems are counted in the ingest report instead).
#[derive(Debug, thiserror::Error)]
pub enum FaersError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The input is unusable as a whole (no table files, unreadable zip, bad dictionary).
    #[error("{0}")]
    Input(String),
    /// An input file that cannot be ingested, with the place at fault: a missing or empty table,
    /// a missing column. Shown as `FILE: line N, field F: why`.
    #[error("{file}: line {line}{}: {reason}", field.as_ref().map(|f| format!(", field {f}")).unwrap_or_default())]
    Located {
        /// The file (inside a zip: `archive.zip!member`; for a missing table, the quarter's input).
        file: String,
        /// 1-based line (1 = the header).
        line: u64,
        /// The column at fault, when one is.
        field: Option<String>,
        /// What is wrong.
        reason: String,
    },
    /// The store layer failed.
    #[error(transparent)]
    Store(#[from] vigil_store::layout::StoreError),
}

impl FaersError {
    /// An I/O error about `path`.
    pub fn io(path: impl AsRef<Path>, source: std::io::Error) -> Self {
        FaersError::Io {
            path: path.as_ref().display().to_string(),
            source,
        }
    }
}
