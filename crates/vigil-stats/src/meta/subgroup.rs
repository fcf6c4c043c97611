//! Subgroup analysis: separate fits per subgroup with a test of subgroup differences (separate τ²,
//! RevMan/meta style) and the mixed-effects model with a common τ² (metafor style).

use super::linalg::Matrix;
use super::rma::{fit, RmaFit, RmaOptions, Test};
use super::tau2::Method;
use super::MetaError;

/// Result of a subgroup analysis.
#[derive(Debug, Clone)]
pub struct Subgroups {
    /// Subgroup labels, sorted (R's factor levels).
    pub groups: Vec<String>,
    /// Separate fit per subgroup (each with its own τ²).
    pub fits: Vec<RmaFit>,
    /// Q between subgroups: Cochran's Q of the subgroup estimates with weights 1/SE².
    pub q_between: f64,
    /// Its df (number of groups − 1).
    pub q_between_df: usize,
    /// Its p-value.
    pub q_between_p: f64,
    /// Mixed-effects model with dummy variables (first level = reference) and a common τ²; its QM
    /// tests the subgroup differences.
    pub common_tau2: RmaFit,
    /// The same model without intercept: one coefficient per subgroup (cell means).
    pub cell_means: RmaFit,
}

/// Subgroup analysis by a label per study.
///
/// # Formula
/// Separate τ²: fit each subgroup alone; `Q_between = Σ (β̂g − β̄)²/SEg²`, `β̄` their inverse-variance
/// mean, χ²(G − 1). Common τ²: `yi = β0 + Σ_g βg·[group = g] + ui + ei` (QM on the βg).
///
/// # Defaults
/// Model options (method, test, level) of the caller for every fit.
///
/// # Edge cases
/// Needs ≥ 2 groups; a subgroup with one study gets τ² = 0.
///
/// # References
/// Borenstein M, Hedges LV, Higgins JPT, Rothstein HR (2009) Introduction to Meta-Analysis, ch. 19;
/// Deeks JJ, Higgins JPT, Altman DG, Cochrane Handbook ch. 10.11; metafor documentation `rma.uni`.
pub fn subgroups(
    yi: &[f64],
    vi: &[f64],
    labels: &[String],
    options: RmaOptions,
) -> Result<Subgroups, MetaError> {
    let mut groups: Vec<String> = labels.to_vec();
    groups.sort();
    groups.dedup();
    if groups.len() < 2 {
        return Err(MetaError::TooFewStudies {
            needed: 2,
            got: groups.len(),
        });
    }
    let mut fits = Vec::new();
    for g in &groups {
        let idx: Vec<usize> = (0..yi.len()).filter(|&i| &labels[i] == g).collect();
        let y: Vec<f64> = idx.iter().map(|&i| yi[i]).collect();
        let v: Vec<f64> = idx.iter().map(|&i| vi[i]).collect();
        fits.push(fit(&y, &v, None, options)?);
    }
    let est: Vec<f64> = fits.iter().map(|f| f.beta[0]).collect();
    let var: Vec<f64> = fits.iter().map(|f| f.se[0] * f.se[0]).collect();
    let between = fit(
        &est,
        &var,
        None,
        RmaOptions {
            method: Method::EE,
            test: Test::Z,
            level: options.level,
        },
    )?;
    let g = groups.len();
    let dummies = |with_intercept: bool| -> Matrix {
        let rows: Vec<Vec<f64>> = labels
            .iter()
            .map(|l| {
                let mut r = Vec::with_capacity(g);
                if with_intercept {
                    r.push(1.0);
                }
                let start = usize::from(with_intercept);
                for grp in &groups[start..] {
                    r.push(if l == grp { 1.0 } else { 0.0 });
                }
                r
            })
            .collect();
        Matrix::from_rows(&rows)
    };
    let common_tau2 = fit(yi, vi, Some(&dummies(true)), options)?;
    let cell_means = fit(yi, vi, Some(&dummies(false)), options)?;
    Ok(Subgroups {
        groups,
        fits,
        q_between: between.qe,
        q_between_df: g - 1,
        q_between_p: between.qe_p,
        common_tau2,
        cell_means,
    })
}
