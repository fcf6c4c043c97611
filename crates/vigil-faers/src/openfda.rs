//! openFDA drug-event JSON (placeholder replaced below).
use std::path::{Path, PathBuf};

use crate::ingest::{IngestOptions, IngestOutcome};
use crate::FaersError;

/// Ingests openFDA drug-event JSON files into the store.
pub fn ingest_openfda(_paths: &[PathBuf], _store: &Path, _opts: &IngestOptions) -> Result<IngestOutcome, FaersError> {
    Err(FaersError::Input("openFDA ingest is not available in this build".into()))
}
