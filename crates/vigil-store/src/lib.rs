//! vigil's columnar store and counting kernels.
//!
//! `vigil-store` turns report-level rows (one row per report, drug and event) into the count
//! tables the statistics need: per drug–event pair the number of reports `a`, the margins, and the
//! stratified margins. It counts but does not score: scores come from `vigil-stats`.
#![deny(missing_docs)]

pub mod count;
pub mod csv_scan;
pub mod group;
pub mod indication;
pub mod ingest_report;
pub mod input;
pub mod interactions;
pub mod layout;
pub mod onset;
pub mod quarterly;
pub mod read;
pub mod reports;
pub mod request;
pub mod terminology;
pub mod write;
