//! Mantel–Haenszel pooled odds ratio, risk ratio and risk difference (metafor `rma.mh`), with the
//! Cochran, Cochran–Mantel–Haenszel, Breslow–Day and Tarone tests.

use super::dist::pchisq_upper;
use super::effect::{corrected_tables, escalc, AddTo, Effect, Measure, Table2x2, ZeroCellOptions};
use super::rma::FitStats;
use super::MetaError;
use crate::normal;

/// Zero-cell and test options of `rma.mh` / `rma.peto`. The first element of each pair applies to
/// the per-study yi/vi (display and QE), the second to the pooled computation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PooledOptions {
    /// Continuity corrections (metafor `add`, default `c(1/2, 0)`).
    pub add: [f64; 2],
    /// Which tables get them (metafor `to`, default `c("only0", "none")`).
    pub to: [AddTo; 2],
    /// Whether double-zero tables are dropped (metafor `drop00`, default `c(TRUE, FALSE)`).
    pub drop00: [bool; 2],
    /// Continuity correction in the Cochran and CMH tests (metafor `correct`, default TRUE).
    pub correct: bool,
    /// Confidence level in percent.
    pub level: f64,
}

impl Default for PooledOptions {
    /// metafor's `rma.mh`/`rma.peto` defaults: the pooled estimate uses the raw counts, double zeros kept.
    fn default() -> Self {
        PooledOptions {
            add: [0.5, 0.0],
            to: [AddTo::Only0, AddTo::None],
            drop00: [true, false],
            correct: true,
            level: 95.0,
        }
    }
}

impl PooledOptions {
    /// Options of the per-study effect sizes (first elements).
    pub fn study_options(&self) -> ZeroCellOptions {
        ZeroCellOptions {
            add: self.add[0],
            to: self.to[0],
            drop00: self.drop00[0],
        }
    }

    /// Options of the pooled computation (second elements).
    pub fn pooled_options(&self) -> ZeroCellOptions {
        ZeroCellOptions {
            add: self.add[1],
            to: self.to[1],
            drop00: self.drop00[1],
        }
    }
}

/// Cochran, CMH, Breslow–Day and Tarone tests of an MH odds ratio analysis.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MhTests {
    /// Cochran's test statistic (χ², 1 df).
    pub co: f64,
    /// Its p-value.
    pub co_p: f64,
    /// Cochran–Mantel–Haenszel statistic (χ², 1 df).
    pub mh: f64,
    /// Its p-value.
    pub mh_p: f64,
    /// Breslow–Day test of homogeneity of the odds ratios (χ², k_pos − 1 df).
    pub bd: f64,
    /// Its p-value.
    pub bd_p: f64,
    /// Breslow–Day with Tarone's correction.
    pub ta: f64,
    /// Its p-value.
    pub ta_p: f64,
}

/// A pooled fixed-effect analysis of 2×2 tables (MH or Peto). Field names follow metafor.
#[derive(Debug, Clone)]
pub struct PooledFit {
    /// Measure (RR, OR, RD; PETO for Peto).
    pub measure: Measure,
    /// Number of tables in the pooled computation (those dropped by `drop00[1]` not counted, as
    /// metafor's `k`).
    pub k: usize,
    /// Tables with a defined per-study yi.
    pub k_yi: usize,
    /// Tables with both margins positive (odds ratios only).
    pub k_pos: Option<usize>,
    /// Confidence level in percent.
    pub level: f64,
    /// Pooled estimate (log scale for OR/RR/PETO).
    pub beta: f64,
    /// Its standard error.
    pub se: f64,
    /// z statistic.
    pub zval: f64,
    /// p-value.
    pub pval: f64,
    /// Confidence bound.
    pub ci_lb: f64,
    /// Confidence bound.
    pub ci_ub: f64,
    /// Heterogeneity Q centred on the pooled estimate.
    pub qe: f64,
    /// Its df (`k_yi − 1`).
    pub qe_df: usize,
    /// Its p-value.
    pub qe_p: f64,
    /// I² = 100 max(0, (QE − df)/QE).
    pub i2: f64,
    /// H² = QE/df.
    pub h2: f64,
    /// Tests (MH OR only).
    pub tests: Option<MhTests>,
    /// Weights in percent, one per input table; NaN for a table left out of the pooled computation
    /// (a double-zero table under `drop00[1]`).
    pub weights_pct: Vec<f64>,
    /// Per-study effects (None = NA).
    pub study: Vec<Option<Effect>>,
    /// ML fit statistics (of the equal-effects model on the k_yi effects, centred on beta).
    pub fit_ml: FitStats,
    /// REML fit statistics.
    pub fit_reml: FitStats,
}

/// Fills in z, p, CI, Q, I², H² and fit statistics from a pooled estimate and its SE.
// The arguments are the parts of a `PooledFit` that the MH and Peto estimators compute each their
// own way; a struct for them would only repeat `PooledFit`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn finish(
    measure: Measure,
    k: usize,
    k_pos: Option<usize>,
    beta: f64,
    se: f64,
    qe_override: Option<f64>,
    weights: Vec<f64>,
    study: Vec<Option<Effect>>,
    level: f64,
    tests: Option<MhTests>,
) -> PooledFit {
    let zval = beta / se;
    let crit = normal::quantile(1.0 - (1.0 - level / 100.0) / 2.0);
    let defined: Vec<Effect> = study.iter().flatten().copied().collect();
    let k_yi = defined.len();
    let qe =
        qe_override.unwrap_or_else(|| defined.iter().map(|e| (e.yi - beta).powi(2) / e.vi).sum());
    let df = k_yi.saturating_sub(1);
    let (qe_p, i2, h2) = if df > 0 {
        (
            pchisq_upper(qe, df as f64),
            (100.0 * (qe - df as f64) / qe).max(0.0),
            qe / df as f64,
        )
    } else {
        (1.0, 0.0, 1.0)
    };
    let sw: f64 = weights.iter().filter(|w| w.is_finite()).sum();
    let weights_pct = weights.iter().map(|w| 100.0 * w / sw).collect();
    // Log-likelihoods of the EE model on the defined effects, evaluated at the pooled estimate.
    let ln2pi = (2.0 * std::f64::consts::PI).ln();
    let sum_log_v: f64 = defined.iter().map(|e| e.vi.ln()).sum();
    let sum_w: f64 = defined.iter().map(|e| 1.0 / e.vi).sum();
    // The likelihood uses the residuals of the per-study effects around beta (for Peto these are
    // the corrected log Peto ORs, so this differs from the O−E based QE).
    let rss: f64 = defined.iter().map(|e| (e.yi - beta).powi(2) / e.vi).sum();
    let ll_ml = -0.5 * k_yi as f64 * ln2pi - 0.5 * sum_log_v - 0.5 * rss;
    // + ½ ln|XᵀX| = ½ ln k_yi for the intercept-only design (metafor's REML likelihood).
    let ll_reml = -0.5 * df as f64 * ln2pi + 0.5 * (k_yi as f64).ln()
        - 0.5 * sum_log_v
        - 0.5 * sum_w.ln()
        - 0.5 * rss;
    let stats = |ll: f64, dev: f64, n: usize| {
        let nn = (n as f64).max(3.0);
        FitStats {
            loglik: ll,
            deviance: dev,
            aic: -2.0 * ll + 2.0,
            bic: -2.0 * ll + (n as f64).ln(),
            aicc: -2.0 * ll + 2.0 * nn / (nn - 2.0),
        }
    };
    PooledFit {
        measure,
        k,
        k_yi,
        k_pos,
        level,
        beta,
        se,
        zval,
        pval: normal::two_sided_p(zval),
        ci_lb: beta - crit * se,
        ci_ub: beta + crit * se,
        qe,
        qe_df: df,
        qe_p,
        i2,
        h2,
        tests,
        weights_pct,
        study,
        fit_ml: stats(ll_ml, rss, k_yi),
        fit_reml: stats(ll_reml, -2.0 * ll_reml, df),
    }
}

/// Mantel–Haenszel pooled OR, RR or RD (metafor `rma.mh`).
///
/// # Formula
/// Per table `n1 = a+b`, `n2 = c+d`, `N = n1+n2`.
/// - OR: `ψ = R/S`, `R = Σ ad/N`, `S = Σ bc/N`; `Var(ln ψ) = ΣPR/(2R²) + Σ(PS+QR)/(2RS) + ΣQS/(2S²)`
///   with `P = (a+d)/N`, `Q = (b+c)/N` (Robins, Breslow & Greenland 1986); weights `bc/N`.
/// - RR: `R = Σ a n2/N`, `S = Σ c n1/N`; `Var(ln RR) = Σ[(n1 n2 (a+c) − a c N)/N²] / (R S)`
///   (Greenland & Robins 1985); weights `c n1/N`.
/// - RD: `RD = Σ(a n2 − c n1)/N / Σ n1 n2/N`; `Var = (RD·ΣP + ΣQ)/W²` with `W = Σ n1 n2/N`,
///   `P = (n1² c − n2² a + n1 n2 (n2 − n1)/2)/N²`, `Q = (a(n2 − c) + c(n1 − a))/(2N)`
///   (Sato, Greenland & Robins 1989); weights `n1 n2/N`.
/// - QE = Σ(yi − β)²/vi over the studies with a defined yi, df k_yi − 1.
/// - Tests (OR): Cochran `(|Σ(a − n1 m1/N)| − ½)²/Σ n1 n2 m1 m2/N³`, CMH the same with `N²(N−1)`;
///   Breslow–Day `Σ(a − Â)²/Var(Â)` with `Â` the expected count under the common MH odds ratio,
///   Tarone subtracts `(Σa − ΣÂ)²/ΣVar(Â)`; df k_pos − 1 (m1 = a + c, m2 = b + d).
///
/// # Defaults
/// metafor: `add = c(1/2, 0)`, `to = c("only0", "none")`, `drop00 = c(TRUE, FALSE)`: the pooled
/// estimate uses the raw counts (exact MH, no continuity correction), double-zero tables kept (they
/// carry weight for RD only). RevMan/meta-style correction: `add = [0.5, 0.5]`, `to = [Only0, Only0]`.
///
/// # Edge cases
/// `MetaError::NoInformation` when R or S is 0 (no estimate). Tests are `None` for RR and RD.
///
/// # References
/// Mantel N, Haenszel W (1959) J Natl Cancer Inst 22:719–748; Robins J, Breslow N, Greenland S (1986)
/// Biometrics 42:311–323; Greenland S, Robins JM (1985) Biometrics 41:55–68; Sato T, Greenland S,
/// Robins JM (1989) Biometrics 45:1323–1324; Breslow NE, Day NE (1980) Statistical Methods in Cancer
/// Research I, IARC; Tarone RE (1985) Biometrika 72:91–95; metafor documentation `rma.mh`.
pub fn rma_mh(
    measure: Measure,
    tables: &[Table2x2],
    opts: &PooledOptions,
) -> Result<PooledFit, MetaError> {
    if measure == Measure::PETO {
        return super::peto::rma_peto(tables, opts);
    }
    let study = escalc(measure, tables, &opts.study_options());
    let corrected = corrected_tables(tables, &opts.pooled_options());
    let pooled: Vec<Table2x2> = corrected.iter().flatten().copied().collect();
    let k = pooled.len();
    let mut weights = Vec::with_capacity(k);
    let (beta, se, tests, k_pos) = match measure {
        Measure::OR => {
            let (mut r, mut s, mut pr, mut ps_qr, mut qs) = (0.0, 0.0, 0.0, 0.0, 0.0);
            for t in &pooled {
                let n = t.n1() + t.n2();
                let ri = t.ai * t.di / n;
                let si = t.bi * t.ci / n;
                let pi = (t.ai + t.di) / n;
                let qi = (t.bi + t.ci) / n;
                r += ri;
                s += si;
                pr += pi * ri;
                ps_qr += pi * si + qi * ri;
                qs += qi * si;
                weights.push(si);
            }
            if !(r > 0.0 && s > 0.0) {
                return Err(MetaError::NoInformation);
            }
            let psi = r / s;
            let var = pr / (2.0 * r * r) + ps_qr / (2.0 * r * s) + qs / (2.0 * s * s);
            let (tests, k_pos) = or_tests(&pooled, psi, opts.correct);
            (psi.ln(), var.sqrt(), Some(tests), Some(k_pos))
        }
        Measure::RR => {
            let (mut r, mut s, mut num) = (0.0, 0.0, 0.0);
            for t in &pooled {
                let (n1, n2) = (t.n1(), t.n2());
                let n = n1 + n2;
                r += t.ai * n2 / n;
                s += t.ci * n1 / n;
                num += (n1 * n2 * (t.ai + t.ci) - t.ai * t.ci * n) / (n * n);
                weights.push(t.ci * n1 / n);
            }
            if !(r > 0.0 && s > 0.0) {
                return Err(MetaError::NoInformation);
            }
            ((r / s).ln(), (num / (r * s)).sqrt(), None, None)
        }
        Measure::RD => {
            let (mut num, mut w, mut sp, mut sq) = (0.0, 0.0, 0.0, 0.0);
            for t in &pooled {
                let (a, c) = (t.ai, t.ci);
                let (n1, n2) = (t.n1(), t.n2());
                let n = n1 + n2;
                num += (a * n2 - c * n1) / n;
                w += n1 * n2 / n;
                sp += (n1 * n1 * c - n2 * n2 * a + n1 * n2 * (n2 - n1) / 2.0) / (n * n);
                sq += (a * (n2 - c) + c * (n1 - a)) / (2.0 * n);
                weights.push(n1 * n2 / n);
            }
            if !(w > 0.0) {
                return Err(MetaError::NoInformation);
            }
            let rd = num / w;
            (rd, ((rd * sp + sq) / (w * w)).sqrt(), None, None)
        }
        Measure::PETO => unreachable!("handled above"),
    };
    // One weight per input table, NaN where drop00[1] left the table out (so the weights line up
    // with the input rows and the per-study effects).
    let mut used = weights.into_iter();
    let weights = corrected
        .iter()
        .map(|t| {
            if t.is_some() {
                used.next().unwrap_or(f64::NAN)
            } else {
                f64::NAN
            }
        })
        .collect();
    Ok(finish(
        measure, k, k_pos, beta, se, None, weights, study, opts.level, tests,
    ))
}

/// Expected count `Â` of cell a under a common odds ratio `psi` with the table's margins, and its
/// variance `1/(1/Â + 1/(n1−Â) + 1/(m1−Â) + 1/(n2−m1+Â))`.
fn expected_under_common_or(t: &Table2x2, psi: f64) -> (f64, f64) {
    let (n1, n2) = (t.n1(), t.n2());
    let m1 = t.ai + t.ci;
    let lo = (m1 - n2).max(0.0);
    let hi = n1.min(m1);
    // (1−ψ)Â² + (n2 − m1 + ψ(n1 + m1))Â − ψ n1 m1 = 0
    let qa = 1.0 - psi;
    let qb = n2 - m1 + psi * (n1 + m1);
    let qc = -psi * n1 * m1;
    let a_hat = if qa.abs() < 1e-12 * qb.abs().max(1.0) {
        -qc / qb
    } else {
        let disc = (qb * qb - 4.0 * qa * qc).max(0.0).sqrt();
        // Numerically stable pair of roots.
        let q = -0.5 * (qb + qb.signum() * disc);
        let r1 = q / qa;
        let r2 = qc / q;
        if r1 >= lo - 1e-9 && r1 <= hi + 1e-9 {
            r1
        } else {
            r2
        }
    };
    let var =
        1.0 / (1.0 / a_hat + 1.0 / (n1 - a_hat) + 1.0 / (m1 - a_hat) + 1.0 / (n2 - m1 + a_hat));
    (a_hat, var)
}

fn or_tests(tables: &[Table2x2], psi: f64, correct: bool) -> (MhTests, usize) {
    let cc = if correct { 0.5 } else { 0.0 };
    let (mut dev, mut v_co, mut v_mh) = (0.0, 0.0, 0.0);
    let (mut bd, mut sum_diff, mut sum_var, mut k_pos) = (0.0, 0.0, 0.0, 0usize);
    for t in tables {
        let (n1, n2) = (t.n1(), t.n2());
        let n = n1 + n2;
        let m1 = t.ai + t.ci;
        let m2 = t.bi + t.di;
        dev += t.ai - n1 * m1 / n;
        v_co += (n1 / n) * (n2 / n) * (m1 * m2 / n);
        v_mh += (n1 / n) * (n2 / n) * (m1 * m2 / (n - 1.0));
        if m1 > 0.0 && m2 > 0.0 {
            k_pos += 1;
            let (a_hat, var) = expected_under_common_or(t, psi);
            bd += (t.ai - a_hat).powi(2) / var;
            sum_diff += t.ai - a_hat;
            sum_var += var;
        }
    }
    let co = (dev.abs() - cc).powi(2) / v_co;
    let mh = (dev.abs() - cc).powi(2) / v_mh;
    let ta = bd - sum_diff * sum_diff / sum_var;
    let df = k_pos.saturating_sub(1) as f64;
    (
        MhTests {
            co,
            co_p: pchisq_upper(co, 1.0),
            mh,
            mh_p: pchisq_upper(mh, 1.0),
            bd,
            bd_p: pchisq_upper(bd, df),
            ta,
            ta_p: pchisq_upper(ta, df),
        },
        k_pos,
    )
}
