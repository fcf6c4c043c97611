//! Confidence intervals for the amount of heterogeneity (τ², τ, I², H²): metafor's
//! `confint.rma.uni` with the Q-profile method (default) or the profile likelihood.

use super::dist::qchisq;
use super::rma::RmaFit;
use super::tau2::{bisect, decreasing_root, generalised_q, wls, Method};
use super::MetaError;

/// Which interval.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CiType {
    /// Q-profile (metafor's default `type = "QP"`).
    QProfile,
    /// Profile (restricted) likelihood (`type = "PL"`), for ML and REML fits.
    ProfileLikelihood,
}

/// An estimate with its confidence interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Interval {
    /// Point estimate.
    pub estimate: f64,
    /// Lower bound.
    pub ci_lb: f64,
    /// Upper bound.
    pub ci_ub: f64,
}

/// Intervals of the four heterogeneity measures (metafor's `confint(res)$random`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HeterogeneityCi {
    /// τ².
    pub tau2: Interval,
    /// τ.
    pub tau: Interval,
    /// I² (percent), `100 τ²/(τ² + vt)`.
    pub i2: Interval,
    /// H², `τ²/vt + 1`.
    pub h2: Interval,
}

/// Confidence interval for τ² (and τ, I², H² by transformation with the model's `vt`).
///
/// # Formula
/// Q-profile: the bounds solve `Q(τ²) = χ²_{1−α/2}(k−p)` (lower) and `Q(τ²) = χ²_{α/2}(k−p)`
/// (upper), `Q(τ²) = Σ(yi − xiᵀβ̂_τ)²/(vi + τ²)` the generalised Q (decreasing in τ²); a bound is 0
/// when `Q(0)` is already below its quantile. It does not depend on the τ² estimator.
/// Profile likelihood: the bounds solve `2(ℓ(τ̂²) − ℓ(τ²)) = χ²_{1−α}(1)` with ℓ the (restricted)
/// log-likelihood with β profiled out; the lower bound is 0 when ℓ(0) is within the cut-off.
/// `I² = 100 τ²/(τ² + vt)`, `H² = τ²/vt + 1`, `τ = √τ²`.
///
/// # Defaults
/// Q-profile, level of the model (95%). Roots found to machine precision (metafor's default
/// `uniroot` tolerance is 1.2e-4 in τ², so compare with its `control = list(tol = 1e-13)` output).
///
/// # Edge cases
/// Error for k − p < 1, and for the profile likelihood unless the model was fitted by ML or REML.
///
/// # Algorithm
/// Bracket expansion from τ² = 1 by doubling, then bisection to adjacent doubles.
///
/// # References
/// Viechtbauer W (2007) Stat Med 26:37–52 (Q-profile; CIs for τ², I², H²); Hardy RJ, Thompson SG
/// (1996) Stat Med 15:619–629 (profile likelihood); Higgins JPT, Thompson SG (2002) Stat Med
/// 21:1539–1558; metafor documentation `confint.rma`.
pub fn confint(fit: &RmaFit, ci_type: CiType) -> Result<HeterogeneityCi, MetaError> {
    let kp = fit.k as f64 - fit.p as f64;
    if kp < 1.0 {
        return Err(MetaError::TooFewStudies {
            needed: fit.p + 1,
            got: fit.k,
        });
    }
    let alpha = 1.0 - fit.options.level / 100.0;
    let (x, y, v) = (&fit.x, &fit.yi, &fit.vi);
    let (lb, ub) = match ci_type {
        CiType::QProfile => {
            let bound = |target: f64| -> Result<f64, MetaError> {
                let f = |t: f64| generalised_q(x, y, v, t).map(|q| q - target);
                if f(0.0)? < 0.0 {
                    Ok(0.0)
                } else {
                    decreasing_root(f, 0.0)
                }
            };
            (
                bound(qchisq(1.0 - alpha / 2.0, kp))?,
                bound(qchisq(alpha / 2.0, kp))?,
            )
        }
        CiType::ProfileLikelihood => {
            let reml = match fit.options.method {
                Method::REML => true,
                Method::ML => false,
                _ => {
                    return Err(MetaError::NoConvergence(
                        "profile likelihood needs an ML or REML fit",
                    ))
                }
            };
            let ll = |t: f64| -> Result<f64, MetaError> {
                let w = wls(x, y, v, t)?;
                let s: f64 = v.iter().map(|vi| (vi + t).ln()).sum();
                Ok(-0.5 * s - 0.5 * w.rss - if reml { 0.5 * w.logdet } else { 0.0 })
            };
            let cut = ll(fit.tau2)? - qchisq(1.0 - alpha, 1.0) / 2.0;
            let g = |t: f64| ll(t).map(|l| l - cut);
            let lb = if g(0.0)? >= 0.0 {
                0.0
            } else {
                bisect(&g, 0.0, fit.tau2, false)?
            };
            let ub = decreasing_root(g, fit.tau2)?;
            (lb, ub)
        }
    };
    let vt = fit.vt;
    let make = |f: &dyn Fn(f64) -> f64| Interval {
        estimate: f(fit.tau2),
        ci_lb: f(lb),
        ci_ub: f(ub),
    };
    Ok(HeterogeneityCi {
        tau2: make(&|t| t),
        tau: make(&|t: f64| t.sqrt()),
        i2: make(&|t| 100.0 * t / (t + vt)),
        h2: make(&|t| t / vt + 1.0),
    })
}
