//! Estimators of the between-study variance τ² in the random/mixed-effects model
//! `yi = xiᵀβ + ui + ei`, `ui ~ N(0, τ²)`, `ei ~ N(0, vi)`, as implemented by metafor's `rma.uni`.
//!
//! Every estimator is truncated at 0. The iterative ones (ML, REML, EB, PM, PMM) are converged
//! tightly (to ~1e-15), so they agree with metafor run with
//! `control = list(threshold = 1e-12, tol = 1e-13)` rather than with its looser defaults.

use super::linalg::{dot, spd_inverse, Matrix};
use super::MetaError;

/// The τ² estimator (metafor's `method`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// Equal-effects (common-effect, "fixed") model: τ² = 0.
    EE,
    /// DerSimonian–Laird method-of-moments.
    DL,
    /// Hedges (unweighted method-of-moments).
    HE,
    /// Hunter–Schmidt.
    HS,
    /// Hunter–Schmidt with Q multiplied by the small-sample factor k/(k−p).
    HSk,
    /// Sidik–Jonkman (single step from a crude start).
    SJ,
    /// Maximum likelihood.
    ML,
    /// Restricted maximum likelihood (metafor's default).
    REML,
    /// Empirical Bayes (Morris).
    EB,
    /// Paule–Mandel generalised Q.
    PM,
    /// Median-unbiased Paule–Mandel.
    PMM,
}

impl Method {
    /// metafor's name of the method.
    pub fn name(&self) -> &'static str {
        match self {
            Method::EE => "EE",
            Method::DL => "DL",
            Method::HE => "HE",
            Method::HS => "HS",
            Method::HSk => "HSk",
            Method::SJ => "SJ",
            Method::ML => "ML",
            Method::REML => "REML",
            Method::EB => "EB",
            Method::PM => "PM",
            Method::PMM => "PMM",
        }
    }

    /// Parses metafor's name (`FE` is accepted for `EE`).
    pub fn parse(s: &str) -> Option<Method> {
        Some(match s {
            "EE" | "FE" | "ee" | "fe" => Method::EE,
            "DL" => Method::DL,
            "HE" => Method::HE,
            "HS" => Method::HS,
            "HSk" => Method::HSk,
            "SJ" => Method::SJ,
            "ML" => Method::ML,
            "REML" => Method::REML,
            "EB" => Method::EB,
            "PM" => Method::PM,
            "PMM" => Method::PMM,
            _ => return None,
        })
    }

    /// Whether the estimate comes from an iteration or a root search (so that metafor's default
    /// output is only accurate to its convergence threshold).
    pub fn is_iterative(&self) -> bool {
        matches!(
            self,
            Method::ML | Method::REML | Method::EB | Method::PM | Method::PMM
        )
    }
}

/// Weighted least squares pieces for a given τ²: weights `w = 1/(v + τ²)`, `(XᵀWX)⁻¹`,
/// coefficients, residual sum of squares `RSS = Σ w (y − Xβ)²` (the generalised Q).
#[derive(Debug, Clone)]
pub struct Wls {
    /// Weights `1/(vi + τ²)`.
    pub w: Vec<f64>,
    /// `(XᵀWX)⁻¹`.
    pub inv: Matrix,
    /// `ln det(XᵀWX)`.
    pub logdet: f64,
    /// Coefficients `(XᵀWX)⁻¹ XᵀWy`.
    pub beta: Vec<f64>,
    /// Residuals `y − Xβ`.
    pub resid: Vec<f64>,
    /// `Σ w (y − Xβ)²`.
    pub rss: f64,
}

/// Weighted least squares with weights `1/(v + τ²)`.
pub fn wls(x: &Matrix, y: &[f64], v: &[f64], tau2: f64) -> Result<Wls, MetaError> {
    let w: Vec<f64> = v.iter().map(|vi| 1.0 / (vi + tau2)).collect();
    wls_weights(x, y, w)
}

/// Weighted least squares with the given weights.
pub fn wls_weights(x: &Matrix, y: &[f64], w: Vec<f64>) -> Result<Wls, MetaError> {
    let (inv, logdet) = spd_inverse(&x.xtwx(&w)).ok_or(MetaError::SingularDesign)?;
    let beta = inv.mul_vec(&x.xtwy(&w, y));
    let fitted = x.mul_vec(&beta);
    let resid: Vec<f64> = y.iter().zip(&fitted).map(|(a, b)| a - b).collect();
    let rss = resid.iter().zip(&w).map(|(r, wi)| wi * r * r).sum();
    Ok(Wls {
        w,
        inv,
        logdet,
        beta,
        resid,
        rss,
    })
}

/// The `k × k` matrix `P = W − W X (XᵀWX)⁻¹ Xᵀ W` (row-major).
///
/// k² entries: the estimators do not use it (they need only traces of P, see [`p_traces`]); it is here
/// for diagnostics that need the whole matrix.
pub fn p_matrix(x: &Matrix, fit: &Wls) -> Vec<f64> {
    let k = x.rows;
    let mut p = vec![0.0; k * k];
    let ax: Vec<Vec<f64>> = (0..k).map(|i| fit.inv.mul_vec(x.row(i))).collect();
    for i in 0..k {
        for j in 0..k {
            let h = fit.w[i] * fit.w[j] * dot(x.row(j), &ax[i]);
            p[i * k + j] = if i == j { fit.w[i] - h } else { -h };
        }
    }
    p
}

/// Traces of `P = W − W X (XᵀWX)⁻¹ Xᵀ W` with `V = diag(v)`: `tr(P)`, `tr(PV)`, `tr(PP)`, `tr(PVP)`
/// and `tr(PVPV)` (the last two are `Σᵢⱼ Pᵢⱼ² vⱼ` and `Σᵢⱼ Pᵢⱼ² vᵢ vⱼ`, P being symmetric).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PTraces {
    /// `tr(P)`.
    pub p: f64,
    /// `tr(PV)`.
    pub pv: f64,
    /// `tr(PP)`.
    pub pp: f64,
    /// `tr(PVP)`.
    pub pvp: f64,
    /// `tr(PVPV)`.
    pub pvpv: f64,
}

/// `Σ_{j≠i} aⱼ` for every i, from prefix and suffix sums: no subtraction, so no cancellation when
/// one term dominates the total (one study with most of the weight).
fn sums_of_others(a: &[f64]) -> Vec<f64> {
    let mut out = vec![0.0; a.len()];
    let mut acc = 0.0;
    for (o, x) in out.iter_mut().zip(a) {
        *o = acc;
        acc += x;
    }
    acc = 0.0;
    for (o, x) in out.iter_mut().zip(a).rev() {
        *o += acc;
        acc += x;
    }
    out
}

/// The traces of P that the estimators and their standard errors need ([`PTraces`]), in O(k) memory.
///
/// # Formula
/// With one column x (the intercept-only model has x = 1) and `S = Σ wᵢxᵢ²`,
/// `Pᵢᵢ = wᵢ Σ_{j≠i} wⱼxⱼ² / S` and `Pᵢⱼ = −wᵢxᵢwⱼxⱼ / S` (i ≠ j), so every trace is a sum over i of
/// positive terms built from sums over the other studies (prefix + suffix sums): O(k) time, no
/// cancellation. With more columns the entries `Pᵢⱼ = wᵢδᵢⱼ − wᵢwⱼ xⱼᵀ(XᵀWX)⁻¹xᵢ` are computed one at a
/// time and summed (O(k²) time, O(k·p) memory); metafor forms the k × k matrix.
///
/// # Defaults
/// None.
///
/// # Edge cases
/// `v` may be all ones (traces without V).
///
/// # References
/// metafor 3.8 `rma.uni` (the traces in its τ² estimators and `se.tau2`); Viechtbauer W (2005) J Educ
/// Behav Stat 30:261–293.
pub fn p_traces(x: &Matrix, fit: &Wls, v: &[f64]) -> PTraces {
    let k = x.rows;
    let w = &fit.w;
    if x.cols == 1 {
        let wx: Vec<f64> = (0..k).map(|i| w[i] * x.get(i, 0)).collect();
        let s: f64 = (0..k).map(|i| wx[i] * x.get(i, 0)).sum();
        let others = sums_of_others(&(0..k).map(|i| wx[i] * x.get(i, 0)).collect::<Vec<_>>());
        let diag: Vec<f64> = (0..k).map(|i| w[i] * others[i] / s).collect();
        // Off-diagonal: Σ_{i≠j} (wxᵢ wxⱼ / S)² aᵢ bⱼ = Σᵢ wxᵢ² aᵢ Σ_{j≠i} wxⱼ² bⱼ / S².
        let wx2: Vec<f64> = wx.iter().map(|a| a * a).collect();
        let off = |a: &dyn Fn(usize) -> f64, b: &dyn Fn(usize) -> f64| -> f64 {
            let others_b = sums_of_others(&(0..k).map(|j| wx2[j] * b(j)).collect::<Vec<_>>());
            (0..k).map(|i| wx2[i] * a(i) * others_b[i]).sum::<f64>() / (s * s)
        };
        let one = |_: usize| 1.0;
        let vv = |i: usize| v[i];
        let d2: Vec<f64> = diag.iter().map(|d| d * d).collect();
        return PTraces {
            p: diag.iter().sum(),
            pv: (0..k).map(|i| diag[i] * v[i]).sum(),
            pp: d2.iter().sum::<f64>() + off(&one, &one),
            pvp: (0..k).map(|i| d2[i] * v[i]).sum::<f64>() + off(&one, &vv),
            pvpv: (0..k).map(|i| d2[i] * v[i] * v[i]).sum::<f64>() + off(&vv, &vv),
        };
    }
    let ax: Vec<Vec<f64>> = (0..k).map(|i| fit.inv.mul_vec(x.row(i))).collect();
    let mut t = PTraces {
        p: 0.0,
        pv: 0.0,
        pp: 0.0,
        pvp: 0.0,
        pvpv: 0.0,
    };
    for i in 0..k {
        for j in 0..k {
            let h = w[i] * w[j] * dot(x.row(j), &ax[i]);
            let pij = if i == j { w[i] - h } else { -h };
            if i == j {
                t.p += pij;
                t.pv += pij * v[i];
            }
            let p2 = pij * pij;
            t.pp += p2;
            t.pvp += p2 * v[j];
            t.pvpv += p2 * v[i] * v[j];
        }
    }
    t
}

/// `tr(P)` alone, in O(k) time and memory for any design (`Pᵢᵢ = wᵢ − wᵢ² xᵢᵀ(XᵀWX)⁻¹xᵢ`).
pub fn p_trace(x: &Matrix, fit: &Wls) -> f64 {
    if x.cols == 1 {
        return p_traces(x, fit, &fit.w).p;
    }
    (0..x.rows)
        .map(|i| fit.w[i] - fit.w[i] * fit.w[i] * fit.inv.quad_form(x.row(i)))
        .sum()
}

/// A τ² estimate with its standard error (as metafor reports `se.tau2`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tau2Estimate {
    /// τ² (≥ 0).
    pub tau2: f64,
    /// Its standard error (NaN for EE).
    pub se_tau2: f64,
    /// Iterations used (0 for closed forms).
    pub iterations: usize,
}

/// Var of a quadratic form `yᵀAy` under the RE model when A is built so that `tr(AVAV)`, `tr(AVA)`,
/// `tr(AA)` are given: `2 tr(AVAV) + 4 τ² tr(AVA) + 2 τ⁴ tr(AA)`.
fn var_quadratic(tr_avav: f64, tr_ava: f64, tr_aa: f64, tau2: f64) -> f64 {
    2.0 * tr_avav + 4.0 * tau2 * tr_ava + 2.0 * tau2 * tau2 * tr_aa
}

/// Estimates τ² by the chosen method.
///
/// # Formula
/// With `k` studies, `p` coefficients, `W = diag(1/vi)`, `P = W − WX(XᵀWX)⁻¹XᵀW` and `Q = yᵀPy`:
/// - DL: `τ² = (Q − (k−p)) / tr(P)`
/// - HE: `τ² = (yᵀP₀y − tr(P₀V)) / (k−p)`, `P₀ = I − X(XᵀX)⁻¹Xᵀ` (unweighted; intercept only:
///   `Σ(yi−ȳ)²/(k−1) − mean(vi)`)
/// - HS: `τ² = (Q − k) / Σwi` (k, not k−p); HSk: `τ² = (Q·k/(k−p) − k) / Σwi` (the factor scales Q
///   only, as in metafor 3.8 `rma.uni`; scaling the whole HS estimate gives 0.2474 instead of metafor's
///   0.2492 on dat.bcg log RR)
/// - SJ: `τ₀² = Σ(yi−ȳ)²/k`, then `τ² = τ₀² · Qw / (k−p)` with `Qw` the Q of weights `1/(vi+τ₀²)`
/// - ML: root of `yᵀPPy = tr(W_τ)`; REML: root of `yᵀPPy = tr(P)` (P, W at weights `1/(vi+τ²)`)
/// - PM: root of `Q(τ²) = k − p`; PMM: root of `Q(τ²) = χ²₀.₅(k−p)` (generalised Q); EB: fixed point
///   of `Q(τ²) k/(k−p) = k`, which is the PM root
///
/// Standard errors: see [`se_tau2`].
///
/// # Defaults
/// REML is metafor's default. The iterative estimators stop when the step is below 1e-15·max(1, τ²)
/// (metafor: 1e-5 by default), so they match metafor's `model_tight`.
///
/// # Edge cases
/// Every estimate is truncated at 0. With k = p (e.g. one study), τ² = 0 and its SE is NaN.
///
/// # Algorithm
/// ML/REML: Fisher scoring from max(0, HE), with step halving to stay ≥ 0 (as metafor), until the
/// step is below 1e-15·max(1, τ²) or below 1e-12·max(1, τ²) and no longer shrinking (round-off), at
/// most 100,000 steps; a boundary optimum (score ≤ 0 at τ² = 0) gives exactly 0. PM/PMM/EB: bisection of
/// the monotone Q(τ²) on [0, hi] to machine precision.
///
/// # References
/// DerSimonian R, Laird N (1986) Control Clin Trials 7:177–188; Hedges LV (1983) Psychol Bull
/// 93:388–395; Hunter JE, Schmidt FL (2004) Methods of Meta-Analysis; Sidik K, Jonkman JN (2005)
/// J Biopharm Stat 15:823–838; Viechtbauer W (2005) J Educ Behav Stat 30:261–293 (ML, REML, EB,
/// Fisher scoring); Paule RC, Mandel J (1982) J Res Natl Bur Stand 87:377–385; Viechtbauer W et al.
/// (2015) Res Synth Methods 6:319–329 (PMM); Morris CN (1983) J Am Stat Assoc 78:47–55 (EB);
/// metafor documentation, `rma.uni` (Details, "Specifying the Model").
pub fn estimate_tau2(
    method: Method,
    x: &Matrix,
    y: &[f64],
    v: &[f64],
) -> Result<Tau2Estimate, MetaError> {
    let k = y.len();
    let p = x.cols;
    let kp = k as f64 - p as f64;
    let closed = |tau2: f64, se_tau2: f64| {
        Ok(Tau2Estimate {
            tau2,
            se_tau2,
            iterations: 0,
        })
    };
    if method == Method::EE {
        return closed(0.0, f64::NAN);
    }
    if k <= p {
        return closed(0.0, f64::NAN);
    }
    let tau2 = match method {
        Method::EE => unreachable!("handled above"),
        Method::DL => {
            let fit = wls(x, y, v, 0.0)?;
            ((fit.rss - kp) / p_trace(x, &fit)).max(0.0)
        }
        Method::HS | Method::HSk => {
            let fit = wls(x, y, v, 0.0)?;
            let sw: f64 = fit.w.iter().sum();
            // HSk rescales Q alone, not (Q − k): metafor 3.8 rma.uni computes (k/(k−p)·RSS − k)/Σw.
            let q = if method == Method::HSk {
                k as f64 / kp * fit.rss
            } else {
                fit.rss
            };
            ((q - k as f64) / sw).max(0.0)
        }
        Method::HE => {
            let fit = wls_weights(x, y, vec![1.0; k])?;
            ((fit.rss - p_traces(x, &fit, v).pv) / kp).max(0.0)
        }
        Method::SJ => {
            let t0 = sj_start(y);
            let fit = wls(x, y, v, t0)?;
            (t0 * fit.rss / kp).max(0.0)
        }
        Method::ML | Method::REML => {
            let (t, it) = fisher_scoring(method, x, y, v)?;
            return Ok(Tau2Estimate {
                tau2: t,
                se_tau2: se_tau2(method, x, y, v, t)?,
                iterations: it,
            });
        }
        Method::PM | Method::EB | Method::PMM => {
            let target = if method == Method::PMM {
                super::dist::qchisq(0.5, kp)
            } else {
                kp
            };
            q_root(x, y, v, target)?
        }
    };
    closed(tau2, se_tau2(method, x, y, v, tau2)?)
}

/// Sidik–Jonkman starting value `τ₀² = Σ(yi − ȳ)²/k`.
fn sj_start(y: &[f64]) -> f64 {
    let k = y.len() as f64;
    let mean = y.iter().sum::<f64>() / k;
    y.iter().map(|yi| (yi - mean).powi(2)).sum::<f64>() / k
}

/// Standard error of a τ² estimate, by the estimator's formula evaluated at `tau2`
/// (metafor's `se.tau2`).
///
/// # Formula
/// - DL: `√(2(k−p) + 4τ²tr(P) + 2τ⁴tr(PP)) / tr(P)` (P at weights 1/vi)
/// - HS: the same numerator over `Σwi`; HSk times `k/(k−p)`
/// - HE: `√(2tr(P₀VP₀V) + 4τ²tr(P₀VP₀) + 2τ⁴tr(P₀P₀)) / (k−p)` (P₀ the OLS residual projector)
/// - SJ: `τ₀² √(2tr(PVPV) + 4τ²tr(PVP) + 2τ⁴tr(PP)) / (k−p)` (P at weights 1/(vi+τ₀²))
/// - ML: `√(2/Σwi²)`; REML: `√(2/tr(PP))` (inverse Fisher information; weights 1/(vi+τ²))
/// - EB, PM, PMM: `√(2k²/(k−p)) / Σwi` (metafor uses the EB standard error for all three)
///
/// # Defaults
/// As metafor 3.8 `rma.uni`.
///
/// # Edge cases
/// NaN for EE and when k ≤ p.
///
/// # References
/// Viechtbauer W (2005) J Educ Behav Stat 30:261–293 (variances of the estimators); metafor
/// documentation `rma.uni`.
pub fn se_tau2(
    method: Method,
    x: &Matrix,
    y: &[f64],
    v: &[f64],
    tau2: f64,
) -> Result<f64, MetaError> {
    let k = y.len();
    let kp = k as f64 - x.cols as f64;
    if method == Method::EE || kp <= 0.0 {
        return Ok(f64::NAN);
    }
    let t = tau2.max(0.0);
    Ok(match method {
        Method::EE => f64::NAN,
        Method::DL | Method::HS | Method::HSk => {
            let fit = wls(x, y, v, 0.0)?;
            let tr = p_traces(x, &fit, v);
            let trp = tr.p;
            // For A = P with weights 1/vi: tr(PVPV) = k − p and tr(PVP) = tr(P).
            let sd = var_quadratic(kp, trp, tr.pp, t).sqrt();
            match method {
                Method::DL => sd / trp,
                Method::HS => sd / fit.w.iter().sum::<f64>(),
                _ => k as f64 / kp * sd / fit.w.iter().sum::<f64>(),
            }
        }
        Method::HE => {
            let fit = wls_weights(x, y, vec![1.0; k])?;
            let tr = p_traces(x, &fit, v);
            var_quadratic(tr.pvpv, tr.pvp, tr.pp, t).sqrt() / kp
        }
        Method::SJ => {
            let t0 = sj_start(y);
            let fit = wls(x, y, v, t0)?;
            let tr = p_traces(x, &fit, v);
            t0 * var_quadratic(tr.pvpv, tr.pvp, tr.pp, t).sqrt() / kp
        }
        Method::ML => {
            let fit = wls(x, y, v, t)?;
            (2.0 / fit.w.iter().map(|w| w * w).sum::<f64>()).sqrt()
        }
        Method::REML => {
            let fit = wls(x, y, v, t)?;
            (2.0 / p_traces(x, &fit, v).pp).sqrt()
        }
        Method::EB | Method::PM | Method::PMM => {
            let fit = wls(x, y, v, t)?;
            let kf = k as f64;
            (2.0 * kf * kf / kp).sqrt() / fit.w.iter().sum::<f64>()
        }
    })
}

/// The generalised Q statistic `Q(τ²) = Σ wi (yi − xiᵀβ̂)²`, `wi = 1/(vi + τ²)` (decreasing in τ²).
pub fn generalised_q(x: &Matrix, y: &[f64], v: &[f64], tau2: f64) -> Result<f64, MetaError> {
    Ok(wls(x, y, v, tau2)?.rss)
}

/// Root in τ² ≥ 0 of `Q(τ²) = target` (0 when `Q(0) ≤ target`).
pub fn q_root(x: &Matrix, y: &[f64], v: &[f64], target: f64) -> Result<f64, MetaError> {
    let f = |t: f64| generalised_q(x, y, v, t).map(|q| q - target);
    if f(0.0)? <= 0.0 {
        return Ok(0.0);
    }
    decreasing_root(f, 0.0)
}

/// Root of a decreasing function that is positive at `lo`, by bracket expansion and bisection
/// to machine precision.
pub fn decreasing_root<F: Fn(f64) -> Result<f64, MetaError>>(
    f: F,
    lo: f64,
) -> Result<f64, MetaError> {
    let mut lo = lo;
    let mut hi = lo.max(1.0);
    let mut n = 0;
    while f(hi)? > 0.0 {
        lo = hi;
        hi *= 2.0;
        n += 1;
        if n > 1100 {
            return Err(MetaError::NoConvergence("no upper bracket for the root"));
        }
    }
    bisect(&f, lo, hi, true)
}

/// Bisection for a root of `f` in `[lo, hi]`; `decreasing` tells the sign convention
/// (`f(lo) > 0 > f(hi)` when decreasing).
pub fn bisect<F: Fn(f64) -> Result<f64, MetaError>>(
    f: &F,
    mut lo: f64,
    mut hi: f64,
    decreasing: bool,
) -> Result<f64, MetaError> {
    for _ in 0..2000 {
        let mid = 0.5 * (lo + hi);
        if mid <= lo || mid >= hi {
            break;
        }
        let fm = f(mid)?;
        if fm == 0.0 {
            return Ok(mid);
        }
        if (fm > 0.0) == decreasing {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    Ok(0.5 * (lo + hi))
}

fn fisher_scoring(
    method: Method,
    x: &Matrix,
    y: &[f64],
    v: &[f64],
) -> Result<(f64, usize), MetaError> {
    let start = estimate_tau2(Method::HE, x, y, v)?.tau2;
    let step = |t: f64| -> Result<(f64, f64), MetaError> {
        let fit = wls(x, y, v, t)?;
        // P y = W (y − Xβ), so yᵀPPy = Σ w² r².
        let ypp: f64 = fit
            .resid
            .iter()
            .zip(&fit.w)
            .map(|(r, w)| (w * r).powi(2))
            .sum();
        let (num, den) = match method {
            Method::ML => (
                ypp - fit.w.iter().sum::<f64>(),
                fit.w.iter().map(|w| w * w).sum::<f64>(),
            ),
            _ => {
                let tr = p_traces(x, &fit, v);
                (ypp - tr.p, tr.pp)
            }
        };
        Ok((num / den, num))
    };
    let mut t = start;
    let mut iterations = 0;
    let max_iter = 100_000;
    let mut last_change = f64::INFINITY;
    loop {
        iterations += 1;
        let (mut adj, _) = step(t)?;
        // A step of −∞ would make the halving below loop for ever (it did on weights that overflow,
        // e.g. an RD variance of 1e-192); NaN would never converge.
        if !adj.is_finite() {
            return Err(MetaError::NoConvergence("Fisher scoring for tau2: the step is not a finite number (sampling variances too small or too large)"));
        }
        // Step halving keeps τ² ≥ 0 (metafor's stepadj loop).
        while t + adj < 0.0 {
            adj /= 2.0;
        }
        let new = t + adj;
        let change = (new - t).abs();
        // Converged to 1e-15; or within 1e-12 and no longer shrinking: the iterates then only
        // jitter by round-off (e.g. ±2e-15 around 0.64 for two studies, found by fuzzing, where the
        // 1e-15 test alone ran the 100,000 steps and reported no convergence).
        let done =
            change <= 1e-15 * t.max(1.0) || (change <= 1e-12 * t.max(1.0) && change >= last_change);
        last_change = change;
        t = new;
        if done || (t < 1e-14 && step(0.0)?.1 <= 0.0) {
            break;
        }
        if iterations >= max_iter {
            return Err(MetaError::NoConvergence("Fisher scoring for tau2"));
        }
    }
    if t < 1e-12 && step(0.0)?.1 <= 0.0 {
        t = 0.0;
    }
    Ok((t, iterations))
}

#[cfg(test)]
mod tests {
    use super::*;

    // y = (0, 1, 3), v = (0.1, 0.2, 0.3): w = (10, 5, 10/3), Σw = 55/3,
    // ȳ_w = (0 + 5 + 10)/(55/3) = 9/11, Q = 10(9/11)² + 5(2/11)² + (10/3)(24/11)² = 2750/121 = 22.7273.
    // HS = (Q − k)/Σw = (2750/121 − 3)·3/55; HSk = (Q·k/(k−1) − k)/Σw = (1.5·2750/121 − 3)·3/55
    // (metafor scales Q, not HS: 1.5·HS would be (1.5·2750/121 − 4.5)·3/55).
    #[test]
    fn hunter_schmidt_by_hand() {
        let (y, v) = ([0.0, 1.0, 3.0], [0.1, 0.2, 0.3]);
        let x = Matrix::intercept(3);
        let q = 2750.0 / 121.0;
        let hs = (q - 3.0) * 3.0 / 55.0;
        let got = estimate_tau2(Method::HS, &x, &y, &v).unwrap().tau2;
        assert!((got - hs).abs() < 1e-14 * hs, "{got} vs {hs}");
        let hsk = (1.5 * q - 3.0) * 3.0 / 55.0;
        let got_k = estimate_tau2(Method::HSk, &x, &y, &v).unwrap().tau2;
        assert!((got_k - hsk).abs() < 1e-14 * hsk, "{got_k} vs {hsk}");
        assert!((generalised_q(&x, &y, &v, 0.0).unwrap() - q).abs() < 1e-12);
    }

    /// The traces computed without the k × k matrix equal those of the matrix itself, for the
    /// intercept-only design (closed forms) and for a design with a moderator (entry by entry).
    #[test]
    fn traces_without_the_matrix_equal_the_matrix_traces() {
        let y = [0.3, -0.2, 1.1, 0.5, 0.05, -0.7, 0.9];
        let v = [0.04, 0.5, 0.011, 0.2, 3.0, 0.07, 0.9];
        let moderator = [1.0, 4.0, 2.5, -1.0, 0.0, 3.0, 7.5];
        let designs = [
            Matrix::intercept(7),
            Matrix::from_rows(&moderator.iter().map(|m| vec![1.0, *m]).collect::<Vec<_>>()),
        ];
        for x in &designs {
            for tau2 in [0.0, 0.37] {
                let fit = wls(x, &y, &v, tau2).unwrap();
                let p = p_matrix(x, &fit);
                let k = y.len();
                let (mut pp, mut pvp, mut pvpv) = (0.0, 0.0, 0.0);
                for i in 0..k {
                    for j in 0..k {
                        let a2 = p[i * k + j] * p[i * k + j];
                        pp += a2;
                        pvp += a2 * v[j];
                        pvpv += a2 * v[i] * v[j];
                    }
                }
                let tr: f64 = (0..k).map(|i| p[i * k + i]).sum();
                let trv: f64 = (0..k).map(|i| p[i * k + i] * v[i]).sum();
                let t = p_traces(x, &fit, &v);
                for (name, got, want) in [
                    ("tr P", t.p, tr),
                    ("tr PV", t.pv, trv),
                    ("tr PP", t.pp, pp),
                    ("tr PVP", t.pvp, pvp),
                    ("tr PVPV", t.pvpv, pvpv),
                ] {
                    assert!(
                        (got - want).abs() <= 1e-12 * want.abs(),
                        "{} cols, tau2 {tau2}, {name}: {got} vs {want}",
                        x.cols
                    );
                }
                assert!((p_trace(x, &fit) - tr).abs() <= 1e-12 * tr.abs());
            }
        }
    }

    // PMM solves Q(τ²) = χ²₀.₅(k−1); since the median of χ²(k−1) is below its mean k−1, PMM > PM.
    #[test]
    fn median_unbiased_paule_mandel_hits_the_median() {
        let (y, v) = ([0.0, 1.0, 3.0, -0.5], [0.1, 0.2, 0.3, 0.15]);
        let x = Matrix::intercept(4);
        let pmm = estimate_tau2(Method::PMM, &x, &y, &v).unwrap().tau2;
        let pm = estimate_tau2(Method::PM, &x, &y, &v).unwrap().tau2;
        let q = generalised_q(&x, &y, &v, pmm).unwrap();
        assert!(
            (q - super::super::dist::qchisq(0.5, 3.0)).abs() < 1e-9,
            "{q}"
        );
        assert!((generalised_q(&x, &y, &v, pm).unwrap() - 3.0).abs() < 1e-9);
        assert!(pmm > pm);
    }
}
