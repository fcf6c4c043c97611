//! Regression tests for funnel-plot asymmetry (metafor `regtest`): the meta-regression version
//! (default) and the classic Egger test (`model = "lm"`).

use super::dist::{pt_two_sided, qt};
use super::linalg::Matrix;
use super::rma::{fit, RmaOptions};
use super::tau2::wls_weights;
use super::MetaError;

/// Which regression.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegtestModel {
    /// Meta-regression with the predictor as moderator, the fitted model's method and test (default).
    Rma,
    /// Classic Egger: weighted least squares with weights 1/vi and a free residual variance.
    Lm,
}

/// The asymmetry predictor (metafor `predictor`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Predictor {
    /// Standard error √vi (default; Egger).
    Sei,
    /// Sampling variance vi.
    Vi,
}

/// Result of a regression test. The test is on the slope; the intercept is the "limit estimate"
/// (the effect expected in a study of infinite precision).
#[derive(Debug, Clone, PartialEq)]
pub struct Regtest {
    /// Which regression.
    pub model: RegtestModel,
    /// Predictor.
    pub predictor: Predictor,
    /// Test statistic of the slope (t for `Lm` and knha).
    pub zval: f64,
    /// Its p-value.
    pub pval: f64,
    /// Degrees of freedom of the t test.
    pub dfs: Option<f64>,
    /// Intercept (limit estimate).
    pub limit_estimate: f64,
    /// Its confidence bound.
    pub limit_ci_lb: f64,
    /// Its confidence bound.
    pub limit_ci_ub: f64,
    /// (intercept, slope).
    pub fit_coef: [f64; 2],
}

/// Regression test for funnel-plot asymmetry.
///
/// # Formula
/// `Rma`: `yi = β0 + β1·sei + ui + ei` fitted like the model (same τ² method and test); the test is
/// `β̂1/SE(β̂1)`. `Lm` (Egger et al. 1997): weighted regression of yi on sei with weights 1/vi,
/// `σ̂² = Σwi ri²/(k−2)`, `Var(β̂) = σ̂²(XᵀWX)⁻¹`, t with k−2 df.
///
/// # Defaults
/// metafor: `model = "rma"`, `predictor = "sei"`, so the default is *not* the classic Egger test.
///
/// # Edge cases
/// Needs k ≥ 3.
///
/// # References
/// Egger M, Davey Smith G, Schneider M, Minder C (1997) BMJ 315:629–634; Sterne JAC, Egger M (2005)
/// in Publication Bias in Meta-Analysis, Wiley; metafor documentation `regtest`.
pub fn regtest(
    yi: &[f64],
    vi: &[f64],
    options: RmaOptions,
    model: RegtestModel,
    predictor: Predictor,
) -> Result<Regtest, MetaError> {
    let k = yi.len();
    if k < 3 {
        return Err(MetaError::TooFewStudies { needed: 3, got: k });
    }
    let pred: Vec<f64> = vi
        .iter()
        .map(|v| match predictor {
            Predictor::Sei => v.sqrt(),
            Predictor::Vi => *v,
        })
        .collect();
    let x = Matrix::from_rows(&pred.iter().map(|p| vec![1.0, *p]).collect::<Vec<_>>());
    match model {
        RegtestModel::Rma => {
            let f = fit(yi, vi, Some(&x), options)?;
            Ok(Regtest {
                model,
                predictor,
                zval: f.zval[1],
                pval: f.pval[1],
                dfs: f.dfs,
                limit_estimate: f.beta[0],
                limit_ci_lb: f.ci_lb[0],
                limit_ci_ub: f.ci_ub[0],
                fit_coef: [f.beta[0], f.beta[1]],
            })
        }
        RegtestModel::Lm => {
            let w: Vec<f64> = vi.iter().map(|v| 1.0 / v).collect();
            let ls = wls_weights(&x, yi, w)?;
            let df = (k - 2) as f64;
            let sigma2 = ls.rss / df;
            let se: Vec<f64> = (0..2).map(|j| (sigma2 * ls.inv.get(j, j)).sqrt()).collect();
            let t = ls.beta[1] / se[1];
            let alpha = 1.0 - options.level / 100.0;
            let crit = qt(1.0 - alpha / 2.0, df);
            Ok(Regtest {
                model,
                predictor,
                zval: t,
                pval: pt_two_sided(t, df),
                dfs: Some(df),
                limit_estimate: ls.beta[0],
                limit_ci_lb: ls.beta[0] - crit * se[0],
                limit_ci_ub: ls.beta[0] + crit * se[0],
                fit_coef: [ls.beta[0], ls.beta[1]],
            })
        }
    }
}
