//! The random/mixed-effects (and equal-effects) model with inverse-variance weights: metafor's
//! `rma.uni`, with its tests (z, Knapp–Hartung, ad hoc), heterogeneity statistics, fit statistics
//! and predictions.

use super::dist::{pchisq_upper, pf_upper, pt_two_sided, qt};
use super::linalg::{spd_inverse, Matrix};
use super::tau2::{estimate_tau2, p_trace, se_tau2, wls, Method, Tau2Estimate, Wls};
use super::MetaError;
use crate::normal;

/// How coefficients are tested (metafor's `test`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Test {
    /// Wald z-tests and normal-quantile intervals (metafor's default).
    Z,
    /// Knapp–Hartung: variance scaled by `s² = Q_τ/(k−p)`, t(k−p) quantiles.
    Knha,
    /// Knapp–Hartung with `s²` truncated below at 1 (never narrower than the z-based SE).
    Adhoc,
}

impl Test {
    /// metafor's name of the test.
    pub fn name(&self) -> &'static str {
        match self {
            Test::Z => "z",
            Test::Knha => "knha",
            Test::Adhoc => "adhoc",
        }
    }

    /// Parses metafor's name.
    pub fn parse(s: &str) -> Option<Test> {
        Some(match s {
            "z" => Test::Z,
            "knha" | "hksj" => Test::Knha,
            "adhoc" => Test::Adhoc,
            _ => return None,
        })
    }

    /// Whether t and F distributions are used.
    pub fn uses_t(&self) -> bool {
        !matches!(self, Test::Z)
    }
}

/// Options of [`fit`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RmaOptions {
    /// τ² estimator.
    pub method: Method,
    /// Test of the coefficients.
    pub test: Test,
    /// Confidence level in percent (metafor's `level`, default 95).
    pub level: f64,
}

impl Default for RmaOptions {
    /// metafor's defaults: REML, z-test, 95%.
    fn default() -> Self {
        RmaOptions {
            method: Method::REML,
            test: Test::Z,
            level: 95.0,
        }
    }
}

/// Log-likelihood based fit statistics (metafor's `fitstats`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FitStats {
    /// Log-likelihood.
    pub loglik: f64,
    /// Deviance.
    pub deviance: f64,
    /// Akaike information criterion.
    pub aic: f64,
    /// Bayesian information criterion.
    pub bic: f64,
    /// Small-sample corrected AIC.
    pub aicc: f64,
}

/// A fitted `rma.uni` model. Field names follow metafor's.
#[derive(Debug, Clone)]
pub struct RmaFit {
    /// Options used.
    pub options: RmaOptions,
    /// Number of studies.
    pub k: usize,
    /// Number of coefficients.
    pub p: usize,
    /// Coefficients.
    pub beta: Vec<f64>,
    /// Their standard errors.
    pub se: Vec<f64>,
    /// Test statistics (t statistics for knha/adhoc).
    pub zval: Vec<f64>,
    /// Two-sided p-values.
    pub pval: Vec<f64>,
    /// Lower confidence bounds.
    pub ci_lb: Vec<f64>,
    /// Upper confidence bounds.
    pub ci_ub: Vec<f64>,
    /// Variance–covariance matrix of the coefficients.
    pub vcov: Matrix,
    /// Degrees of freedom of the t tests (knha/adhoc), `k − p`.
    pub dfs: Option<f64>,
    /// τ².
    pub tau2: f64,
    /// Standard error of τ² (NaN for EE).
    pub se_tau2: f64,
    /// Cochran's Q for residual heterogeneity (weights 1/vi).
    pub qe: f64,
    /// Its degrees of freedom `k − p`.
    pub qe_df: usize,
    /// Its p-value.
    pub qe_p: f64,
    /// I² in percent.
    pub i2: f64,
    /// H².
    pub h2: f64,
    /// The "typical" within-study variance `(k−p)/tr(P)`.
    pub vt: f64,
    /// Weights in percent, `100 wi / Σw`, `wi = 1/(vi + τ²)`.
    pub weights_pct: Vec<f64>,
    /// ML fit statistics.
    pub fit_ml: FitStats,
    /// REML fit statistics.
    pub fit_reml: FitStats,
    /// Omnibus test of the moderators (all coefficients but the intercept; the intercept itself
    /// when it is the only one): Wald χ² for z, F for knha/adhoc.
    pub qm: f64,
    /// Degrees of freedom of QM: `(m, k − p)` (second only for F).
    pub qm_df: (usize, Option<usize>),
    /// p-value of QM.
    pub qm_p: f64,
    /// Observed effects used.
    pub yi: Vec<f64>,
    /// Their variances.
    pub vi: Vec<f64>,
    /// Design matrix (intercept first when present).
    pub x: Matrix,
    /// Whether the first column of `x` is the intercept.
    pub intercept: bool,
    /// Iterations used by the τ² estimator.
    pub iterations: usize,
}

/// Fits the model `yi = xiᵀβ + ui + ei` (metafor `rma.uni`) with the design `x` (intercept-only
/// when `None`).
///
/// # Formula
/// `wi = 1/(vi + τ²)`, `β̂ = (XᵀWX)⁻¹XᵀWy`, `Var(β̂) = (XᵀWX)⁻¹` (z test). Knapp–Hartung multiplies the
/// variance by `s² = Σwi(yi − xiᵀβ̂)²/(k−p)` and uses t(k−p); ad hoc uses `max(1, s²)`.
/// `QE = Σ(yi − xiᵀβ̂₀)²/vi` with EE weights, df `k−p`. For τ²-based models
/// `I² = 100 τ²/(τ² + vt)`, `H² = τ²/vt + 1` with `vt = (k−p)/tr(P)` (intercept only:
/// `(k−1)Σw/((Σw)² − Σw²)`, Higgins & Thompson 2002); for EE `I² = 100 max(0, (QE − (k−p))/QE)`,
/// `H² = QE/(k−p)`. Log-likelihoods: ML `−k/2 ln2π − ½Σln(vi+τ²) − ½RSS`; REML
/// `−(k−p)/2 ln2π + ½ln|XᵀX| − ½Σln(vi+τ²) − ½ln|XᵀWX| − ½RSS`.
///
/// # Defaults
/// REML, z test, level 95 (metafor). τ² converged tightly (see [`estimate_tau2`]).
///
/// # Edge cases
/// Needs finite `yi` and `vi > 0` and `k ≥ p` (one study gives τ² = 0, QE = 0, I² = 0, H² = 1).
///
/// # References
/// Viechtbauer W (2010) J Stat Softw 36(3) and metafor documentation `rma.uni`; Hartung J, Knapp G
/// (2001) Stat Med 20:3875–3889; Sidik K, Jonkman JN (2002) Stat Med 21:3153–3159 (KH/HKSJ);
/// Knapp G, Hartung J (2003) Stat Med 22:2693–2710 (ad hoc truncation); Higgins JPT, Thompson SG
/// (2002) Stat Med 21:1539–1558 (I², H²).
pub fn fit(
    yi: &[f64],
    vi: &[f64],
    x: Option<&Matrix>,
    options: RmaOptions,
) -> Result<RmaFit, MetaError> {
    fit_inner(yi, vi, x, options, None)
}

/// The model of [`fit`] with τ² fixed at `tau2` instead of estimated (metafor `rma(..., tau2 = value)`),
/// everything else computed as usual; `se_tau2` is the chosen method's formula evaluated at `tau2`.
///
/// # Formula
/// As [`fit`], with weights `1/(vi + tau2)`.
///
/// # Defaults
/// None beyond those of [`fit`].
///
/// # Edge cases
/// A negative `tau2` is an error.
///
/// # References
/// metafor documentation `rma.uni` (argument `tau2`).
pub fn fit_at_tau2(
    yi: &[f64],
    vi: &[f64],
    x: Option<&Matrix>,
    options: RmaOptions,
    tau2: f64,
) -> Result<RmaFit, MetaError> {
    if !(tau2 >= 0.0) {
        return Err(MetaError::NonFinite {
            study: 0,
            what: "tau2",
        });
    }
    fit_inner(yi, vi, x, options, Some(tau2))
}

fn fit_inner(
    yi: &[f64],
    vi: &[f64],
    x: Option<&Matrix>,
    options: RmaOptions,
    fixed_tau2: Option<f64>,
) -> Result<RmaFit, MetaError> {
    check_studies(yi, vi)?;
    let k = yi.len();
    let (x, intercept) = match x {
        Some(m) => (m.clone(), m.data.chunks(m.cols).all(|r| r[0] == 1.0)),
        None => (Matrix::intercept(k), true),
    };
    let p = x.cols;
    if k < p {
        return Err(MetaError::TooFewStudies { needed: p, got: k });
    }
    let kp = k - p;
    let tau2 = match fixed_tau2 {
        Some(t) => Tau2Estimate {
            tau2: t,
            se_tau2: se_tau2(options.method, &x, yi, vi, t)?,
            iterations: 0,
        },
        None => estimate_tau2(options.method, &x, yi, vi)?,
    };
    let fe = wls(&x, yi, vi, 0.0)?;
    let re = wls(&x, yi, vi, tau2.tau2)?;
    let heterogeneity = Heterogeneity::new(&x, &fe, tau2.tau2, kp, options.method);
    let tests = CoefficientTests::new(&re, options, kp);
    let omnibus = OmnibusTest::new(&re.beta, &tests.vcov, intercept, tests.dfs, kp);
    let sw: f64 = re.w.iter().sum();
    let weights_pct: Vec<f64> = re.w.iter().map(|w| 100.0 * w / sw).collect();
    let (fit_ml, fit_reml) = likelihood_fit_stats(&x, vi, tau2.tau2, &re, options.method);

    Ok(RmaFit {
        options,
        k,
        p,
        beta: re.beta,
        se: tests.se,
        zval: tests.zval,
        pval: tests.pval,
        ci_lb: tests.ci_lb,
        ci_ub: tests.ci_ub,
        vcov: tests.vcov,
        dfs: tests.dfs,
        tau2: tau2.tau2,
        se_tau2: tau2.se_tau2,
        qe: heterogeneity.qe,
        qe_df: kp,
        qe_p: heterogeneity.qe_p,
        i2: heterogeneity.i2,
        h2: heterogeneity.h2,
        vt: heterogeneity.vt,
        weights_pct,
        fit_ml,
        fit_reml,
        qm: omnibus.qm,
        qm_df: omnibus.df,
        qm_p: omnibus.p,
        yi: yi.to_vec(),
        vi: vi.to_vec(),
        x,
        intercept,
        iterations: tau2.iterations,
    })
}

/// At least one study, as many variances as effects, every effect finite and every variance
/// positive.
fn check_studies(yi: &[f64], vi: &[f64]) -> Result<(), MetaError> {
    if yi.is_empty() {
        return Err(MetaError::TooFewStudies { needed: 1, got: 0 });
    }
    if vi.len() != yi.len() {
        return Err(MetaError::LengthMismatch);
    }
    for (i, (y, v)) in yi.iter().zip(vi).enumerate() {
        if !y.is_finite() {
            return Err(MetaError::NonFinite {
                study: i,
                what: "yi",
            });
        }
        if !(v.is_finite() && *v > 0.0) {
            return Err(MetaError::NonPositiveVariance { study: i });
        }
    }
    Ok(())
}

/// Residual heterogeneity: QE from the equal-effects fit `fe`, and I², H² (formulas at [`fit`]).
struct Heterogeneity {
    qe: f64,
    qe_p: f64,
    i2: f64,
    h2: f64,
    vt: f64,
}

impl Heterogeneity {
    fn new(x: &Matrix, fe: &Wls, tau2: f64, kp: usize, method: Method) -> Self {
        let qe = fe.rss;
        let qe_p = if kp > 0 {
            pchisq_upper(qe, kp as f64)
        } else {
            1.0
        };
        let vt = kp as f64 / p_trace(x, fe);
        let (i2, h2) = if kp == 0 {
            (0.0, 1.0)
        } else if method == Method::EE {
            ((100.0 * (qe - kp as f64) / qe).max(0.0), qe / kp as f64)
        } else {
            (100.0 * tau2 / (tau2 + vt), tau2 / vt + 1.0)
        };
        Self {
            qe,
            qe_p,
            i2,
            h2,
            vt,
        }
    }
}

/// The tests of the coefficients of the fit `re`, each as [`RmaFit`]'s field of that name.
struct CoefficientTests {
    vcov: Matrix,
    dfs: Option<f64>,
    se: Vec<f64>,
    zval: Vec<f64>,
    pval: Vec<f64>,
    ci_lb: Vec<f64>,
    ci_ub: Vec<f64>,
}

impl CoefficientTests {
    fn new(re: &Wls, options: RmaOptions, kp: usize) -> Self {
        let s2w = re.rss / kp as f64;
        let scale = match options.test {
            Test::Z => 1.0,
            Test::Knha => s2w,
            Test::Adhoc => s2w.max(1.0),
        };
        let mut vcov = re.inv.clone();
        for e in vcov.data.iter_mut() {
            *e *= scale;
        }
        let alpha = 1.0 - options.level / 100.0;
        let dfs = if options.test.uses_t() {
            Some(kp as f64)
        } else {
            None
        };
        let crit = match dfs {
            Some(df) => qt(1.0 - alpha / 2.0, df),
            None => normal::quantile(1.0 - alpha / 2.0),
        };
        let se: Vec<f64> = (0..vcov.cols).map(|j| vcov.get(j, j).sqrt()).collect();
        let zval: Vec<f64> = re.beta.iter().zip(&se).map(|(b, s)| b / s).collect();
        let pval: Vec<f64> = zval
            .iter()
            .map(|z| match dfs {
                Some(df) => pt_two_sided(*z, df),
                None => normal::two_sided_p(*z),
            })
            .collect();
        let ci_lb: Vec<f64> = re.beta.iter().zip(&se).map(|(b, s)| b - crit * s).collect();
        let ci_ub: Vec<f64> = re.beta.iter().zip(&se).map(|(b, s)| b + crit * s).collect();
        Self {
            vcov,
            dfs,
            se,
            zval,
            pval,
            ci_lb,
            ci_ub,
        }
    }
}

/// The omnibus test of the moderators ([`RmaFit::qm`]): all coefficients but the intercept, or the
/// intercept itself when it is the only one; Wald χ², or F on (m, k − p) degrees of freedom when
/// the coefficients are t-tested.
struct OmnibusTest {
    qm: f64,
    df: (usize, Option<usize>),
    p: f64,
}

impl OmnibusTest {
    fn new(beta: &[f64], vcov: &Matrix, intercept: bool, dfs: Option<f64>, kp: usize) -> Self {
        let p = beta.len();
        let btt: Vec<usize> = if intercept && p > 1 {
            (1..p).collect()
        } else {
            (0..p).collect()
        };
        let m = btt.len();
        let sub = Matrix::from_rows(
            &btt.iter()
                .map(|&a| btt.iter().map(|&b| vcov.get(a, b)).collect())
                .collect::<Vec<_>>(),
        );
        let bsub: Vec<f64> = btt.iter().map(|&a| beta[a]).collect();
        let qm_chi = spd_inverse(&sub)
            .map(|(inv, _)| inv.quad_form(&bsub))
            .unwrap_or(f64::NAN);
        match dfs {
            Some(df) => {
                let f = qm_chi / m as f64;
                Self {
                    qm: f,
                    df: (m, Some(kp)),
                    p: pf_upper(f, m as f64, df),
                }
            }
            None => Self {
                qm: qm_chi,
                df: (m, None),
                p: pchisq_upper(qm_chi, m as f64),
            },
        }
    }
}

/// The ML and REML fit statistics of the fit `re` at `tau2` (log-likelihoods at [`fit`]).
fn likelihood_fit_stats(
    x: &Matrix,
    vi: &[f64],
    tau2: f64,
    re: &Wls,
    method: Method,
) -> (FitStats, FitStats) {
    let (k, p) = (vi.len(), x.cols);
    let kp = k - p;
    let ln2pi = (2.0 * std::f64::consts::PI).ln();
    let sum_log_v: f64 = vi.iter().map(|v| (v + tau2).ln()).sum();
    let ll_ml = -0.5 * k as f64 * ln2pi - 0.5 * sum_log_v - 0.5 * re.rss;
    let logdet_xtx = spd_inverse(&x.xtwx(&vec![1.0; k]))
        .map(|(_, d)| d)
        .unwrap_or(f64::NAN);
    let ll_reml = -0.5 * kp as f64 * ln2pi + 0.5 * logdet_xtx
        - 0.5 * sum_log_v
        - 0.5 * re.logdet
        - 0.5 * re.rss;
    let ll_sat: f64 = vi.iter().map(|v| -0.5 * (ln2pi + v.ln())).sum();
    let parms = p + usize::from(method != Method::EE);
    let fit_ml = fit_stats(ll_ml, -2.0 * (ll_ml - ll_sat), parms, k);
    let fit_reml = fit_stats(ll_reml, -2.0 * ll_reml, parms, kp);
    (fit_ml, fit_reml)
}

/// AIC, BIC and AICc from a log-likelihood with `parms` parameters and `n` observations
/// (`k`, or `k − p` for REML), as metafor's `fitstats`.
fn fit_stats(loglik: f64, deviance: f64, parms: usize, n: usize) -> FitStats {
    let pf = parms as f64;
    let nn = (n as f64).max(pf + 2.0);
    FitStats {
        loglik,
        deviance,
        aic: -2.0 * loglik + 2.0 * pf,
        bic: -2.0 * loglik + pf * (n as f64).ln(),
        aicc: -2.0 * loglik + 2.0 * pf * nn / (nn - pf - 1.0),
    }
}

/// Which quantile the prediction interval uses (metafor `predict(..., pi.type=)`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PiType {
    /// metafor's default: normal quantile (t(k−p) under knha/adhoc), `√(τ² + SE²)`.
    Z,
    /// `pi.type = "riley"`: t(k−p−1) (Higgins, Thompson & Spiegelhalter 2009; Riley et al. 2011).
    Riley,
    /// `pi.type = "t"`: t(k−p).
    T,
    /// `pi.type = "simple"`: normal quantile with `√τ²` (ignores the SE of the mean).
    Simple,
}

/// A prediction (metafor `predict.rma`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Prediction {
    /// Predicted mean effect.
    pub pred: f64,
    /// Its standard error.
    pub se: f64,
    /// Confidence interval.
    pub ci_lb: f64,
    /// Confidence interval.
    pub ci_ub: f64,
    /// Prediction interval.
    pub pi_lb: f64,
    /// Prediction interval.
    pub pi_ub: f64,
    /// df of the CI quantile (t tests).
    pub ddf: Option<f64>,
    /// df of the PI quantile.
    pub pi_ddf: Option<f64>,
}

impl Prediction {
    /// Every bound (and the prediction) transformed, e.g. by `exp` for ratio measures; `se` becomes NaN.
    pub fn transformed(&self, f: impl Fn(f64) -> f64) -> Prediction {
        Prediction {
            pred: f(self.pred),
            se: f64::NAN,
            ci_lb: f(self.ci_lb),
            ci_ub: f(self.ci_ub),
            pi_lb: f(self.pi_lb),
            pi_ub: f(self.pi_ub),
            ..*self
        }
    }
}

impl RmaFit {
    /// The prediction at the moderator row `x0` (the intercept included; `None` = intercept only).
    ///
    /// # Formula
    /// `μ̂ = x0ᵀβ̂`, `SE = √(x0ᵀ Var(β̂) x0)`, CI `μ̂ ± q·SE`, PI `μ̂ ± q_pi √(τ² + SE²)`, with q from
    /// N(0,1) (z test) or t(k−p), and q_pi per [`PiType`].
    ///
    /// # Defaults
    /// metafor's default PI uses the normal quantile (t(k−p) with knha), not t(k−2).
    ///
    /// # Edge cases
    /// `Riley` with k − p − 1 < 1 gives NaN bounds; an EE model has NaN PI bounds (metafor: NA).
    ///
    /// # References
    /// metafor documentation `predict.rma`; Higgins JPT, Thompson SG, Spiegelhalter DJ (2009) J R Stat
    /// Soc A 172:137–159; Riley RD, Higgins JPT, Deeks JJ (2011) BMJ 342:d549.
    pub fn predict(&self, x0: Option<&[f64]>, pi_type: PiType) -> Prediction {
        let ones = vec![1.0];
        let x0 = x0.unwrap_or(&ones);
        let pred: f64 = x0.iter().zip(&self.beta).map(|(a, b)| a * b).sum();
        let se = self.vcov.quad_form(x0).sqrt();
        let alpha = 1.0 - self.options.level / 100.0;
        let q = |df: Option<f64>| match df {
            Some(d) => qt(1.0 - alpha / 2.0, d),
            None => normal::quantile(1.0 - alpha / 2.0),
        };
        let ddf = self.dfs;
        let kp = (self.k - self.p) as f64;
        let (pi_ddf, pi_sd) = match pi_type {
            PiType::Z => (ddf, (self.tau2 + se * se).sqrt()),
            PiType::Riley => (Some(kp - 1.0), (self.tau2 + se * se).sqrt()),
            PiType::T => (Some(kp), (self.tau2 + se * se).sqrt()),
            PiType::Simple => (None, self.tau2.sqrt()),
        };
        let qc = q(ddf);
        let qp = q(pi_ddf);
        // An equal-effects model has no prediction interval (metafor reports NA).
        let pi_sd = if self.options.method == Method::EE {
            f64::NAN
        } else {
            pi_sd
        };
        Prediction {
            pred,
            se,
            ci_lb: pred - qc * se,
            ci_ub: pred + qc * se,
            pi_lb: pred - qp * pi_sd,
            pi_ub: pred + qp * pi_sd,
            ddf,
            pi_ddf,
        }
    }
}
