//! Meta-analysis of trials, matching R's metafor 3.8 field by field.
//!
//! - [`input`]: the trial table (CSV text) read into studies, with missing values omitted and listed.
//! - [`effect`]: per-study effect sizes from 2×2 tables (`escalc`: RR, OR, RD, PETO) with
//!   metafor's zero-cell rules.
//! - [`tau2`]: the τ² estimators (DL, HE, HS, HSk, SJ, ML, REML, EB, PM, PMM), tightly converged.
//! - [`rma`]: the inverse-variance equal/random/mixed-effects model (`rma.uni`) with z, Knapp–Hartung
//!   and ad hoc tests, Q, I², H², fit statistics and predictions (z, Riley, t).
//! - [`confint`]: confidence intervals for τ², τ, I², H² (Q-profile, profile likelihood).
//! - [`mh`] and [`peto`]: Mantel–Haenszel (`rma.mh`, with the Cochran, CMH, Breslow–Day and Tarone
//!   tests) and Peto (`rma.peto`) pooled estimates.
//! - [`influence`]: leave-one-out and cumulative meta-analysis.
//! - [`regtest`] and [`trimfill`]: funnel-plot asymmetry (Egger-type tests) and trim-and-fill.
//! - [`subgroup`] and [`metareg`]: subgroup analysis and meta-regression helpers (design matrices
//!   from moderator columns, pseudo-R²).
//! - [`analysis`]: the plan of a whole analysis, from the trial table and a typed specification to
//!   every result above (what `vigil meta` runs).
//!
//! Every field is named after metafor's. The crate does no I/O (the CSV reader takes bytes); the oracle tests in
//! `tests/oracle_meta.rs` read `../shared/oracle/meta/` and compare every case.

// `!(x > 0.0)` is this module's guard against NaN as well as non-positive values (NaN fails every
// comparison); clippy's `partial_cmp` spelling would hide that intent.
#![allow(clippy::neg_cmp_op_on_partial_ord)]

pub mod analysis;
pub mod confint;
pub mod dist;
pub mod effect;
pub mod influence;
pub mod input;
pub mod linalg;
pub mod metareg;
pub mod mh;
pub mod peto;
pub mod regtest;
pub mod rma;
pub mod subgroup;
pub mod tau2;
pub mod trimfill;

/// Errors of the meta-analysis routines (bad input or a numeric failure).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MetaError {
    /// Not enough studies for the model.
    #[error("too few studies: need at least {needed}, got {got}")]
    TooFewStudies {
        /// Minimum required.
        needed: usize,
        /// Available.
        got: usize,
    },
    /// Inputs of different lengths.
    #[error("inputs have different lengths")]
    LengthMismatch,
    /// A non-finite value.
    #[error("study {study}: {what} is not a finite number")]
    NonFinite {
        /// 0-based study index.
        study: usize,
        /// Which input.
        what: &'static str,
    },
    /// A sampling variance that is zero, negative or not finite.
    #[error("study {study}: sampling variance must be positive")]
    NonPositiveVariance {
        /// 0-based study index.
        study: usize,
    },
    /// The design matrix is singular (constant or collinear moderators).
    #[error("the model matrix is singular (constant or collinear moderators)")]
    SingularDesign,
    /// An iteration did not converge.
    #[error("no convergence: {0}")]
    NoConvergence(&'static str),
    /// No table contributes to the pooled estimate.
    #[error("no table contributes to the pooled estimate")]
    NoInformation,
}
