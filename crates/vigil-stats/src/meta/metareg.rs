//! Meta-regression helpers: design matrices from moderator columns and the pseudo-R².
//!
//! The model itself is [`super::rma::fit`] with a design matrix; predictions at given moderator
//! values are [`super::rma::RmaFit::predict`].

use super::linalg::Matrix;
use super::rma::{fit, RmaFit};
use super::tau2::Method;
use super::MetaError;

/// The design matrix `[1, m1, m2, …]` from moderator columns (each of length k).
pub fn design_with_intercept(columns: &[Vec<f64>]) -> Matrix {
    let k = columns.first().map_or(0, Vec::len);
    let rows: Vec<Vec<f64>> = (0..k)
        .map(|i| {
            std::iter::once(1.0)
                .chain(columns.iter().map(|c| c[i]))
                .collect()
        })
        .collect();
    Matrix::from_rows(&rows)
}

/// Pseudo-R²: the proportion of τ² accounted for by the moderators, in percent.
///
/// # Formula
/// `R² = 100 max(0, (τ²_RE − τ²_ME)/τ²_RE)`, `τ²_RE` from the intercept-only model with the same
/// method, `τ²_ME` from the mixed-effects model. For an equal-effects model metafor 3.8 uses the
/// residual heterogeneity per df instead: `R² = 100 max(0, (H²_RE − H²_ME)/H²_RE)`, `H² = QE/(k−p)`
/// (checked against the metafor oracle).
///
/// # Defaults
/// As metafor's `R2` field of `rma.uni` with moderators.
///
/// # Edge cases
/// `None` for models without moderators or intercept, and when `τ²_RE = 0` (or `H²_RE = 0`).
///
/// # References
/// Raudenbush SW (2009) in The Handbook of Research Synthesis and Meta-Analysis, 2nd ed., 295–315;
/// López-López JA et al. (2014) Br J Math Stat Psychol 67:30–48; metafor documentation `rma.uni`.
pub fn pseudo_r2(model: &RmaFit) -> Result<Option<f64>, MetaError> {
    if model.p < 2 || !model.intercept {
        return Ok(None);
    }
    let re = fit(&model.yi, &model.vi, None, model.options)?;
    if model.options.method == Method::EE {
        return Ok(if re.h2 > 0.0 {
            Some((100.0 * (re.h2 - model.h2) / re.h2).max(0.0))
        } else {
            None
        });
    }
    if !(re.tau2 > 0.0) {
        return Ok(None);
    }
    Ok(Some((100.0 * (re.tau2 - model.tau2) / re.tau2).max(0.0)))
}
