//! Terminologies vigil groups by: the MedDRA hierarchy and SMQs, and the WHO ATC classification.
//!
//! This crate only parses files and answers "which groups does this name belong to". It does no
//! store I/O (the store keeps an imported MedDRA release as Parquet: `vigil-store::terminology`)
//! and knows nothing of counting (grouped counting is `vigil-store::group`).
//!
//! * [`meddra`]: an MSSO MedDRA ASCII release (the user's own: MedDRA is licensed, vigil ships no
//!   MedDRA content) → [`meddra::MeddraTerms`], the PT → HLT/HLGT/SOC paths, LLT → PT links and
//!   SMQ term lists, and [`meddra::EventGrouper`], which maps a reported reaction term to its groups.
//! * [`atc`]: a substance → ATC table in DiAna's `ATC_binder` layout → the classes of a substance at
//!   each ATC level.
#![deny(missing_docs)]

pub mod atc;
pub mod meddra;

/// A file that cannot be used, with the place of the problem: `FILE: line N, field F: …`.
#[derive(Debug, thiserror::Error)]
pub enum TermsError {
    /// A file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// A value that does not fit the documented layout.
    #[error("{path}: line {line}, field {field}: {message}")]
    Field {
        /// The file.
        path: String,
        /// 1-based line number.
        line: usize,
        /// The field's name in the format document.
        field: String,
        /// What is wrong, with the value.
        message: String,
    },
    /// The release as a whole is unusable (a file missing, an inconsistent hierarchy).
    #[error("{0}")]
    Invalid(String),
}

impl TermsError {
    pub(crate) fn field(path: &str, line: usize, field: &str, message: impl Into<String>) -> Self {
        TermsError::Field {
            path: path.to_owned(),
            line,
            field: field.to_owned(),
            message: message.into(),
        }
    }
}
