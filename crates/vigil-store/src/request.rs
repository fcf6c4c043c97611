//! What `vigil signals` counts and scores, as one typed request shared by every command that runs
//! the signal pipeline (`signals`, `report`, `demo`). Its `Default` is the one place the defaults
//! are written; the command line takes its defaults from it. Where the counts come from (a count
//! file or a store) and where the output goes are the caller's.

use std::path::PathBuf;

use crate::count::Margins;
use crate::read::ReportQuery;

/// What to count, how to fit the MGPS prior, and which scored pairs to keep.
#[derive(Debug, Clone, PartialEq)]
pub struct SignalsRequest {
    /// The store's reports that count (roles, dates, indication, excluded drugs) and the strata;
    /// of these only `stratify` applies to a count file.
    pub query: ReportQuery,
    /// Margins of the 2×2 tables (report-level input only).
    pub margins: Margins,
    /// A prior file (`--fit-only` JSON) to use instead of fitting.
    pub prior: Option<PathBuf>,
    /// Fit the prior and stop: no pair is scored.
    pub fit_only: bool,
    /// Fit on openEBGM's autoSquash-ed data instead of the exact full data.
    pub squash: bool,
    /// Fit with the zero cells of the drug × event table (openEBGM `negLLzero`).
    pub zeros: bool,
    /// Keep pairs with at least this many reports (the fit always uses every pair).
    pub min_count: u64,
    /// Keep only this drug's pairs.
    pub drug: Option<String>,
    /// Keep only this event's pairs.
    pub event: Option<String>,
}

impl Default for SignalsRequest {
    /// Every pair of the whole input: suspect roles (PS + SS), FDA-receipt dates unbounded, no
    /// strata, unique-report margins, the exact zero-truncated fit, `a ≥ 1`.
    fn default() -> Self {
        Self {
            query: ReportQuery::default(),
            margins: Margins::default(),
            prior: None,
            fit_only: false,
            squash: false,
            zeros: false,
            min_count: 1,
            drug: None,
            event: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::read::{DateField, Role};

    #[test]
    fn defaults_are_the_documented_ones() {
        // The defaults `vigil signals --help` documents: suspect roles, fda_dt, unique-report
        // margins, every pair with a ≥ 1.
        let r = SignalsRequest::default();
        assert_eq!(r.query.role, Role::Suspect);
        assert_eq!(r.query.date_field, DateField::FdaReceipt);
        assert_eq!(r.margins, Margins::Reports);
        assert_eq!(r.min_count, 1);
        assert!(r.query.stratify.is_empty() && r.query.exclude_drugs.is_empty());
        assert!(!r.fit_only && !r.squash && !r.zeros && r.prior.is_none());
    }
}
