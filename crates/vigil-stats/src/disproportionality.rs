//! Frequentist and Bayesian disproportionality measures of one 2×2 table: PRR, ROR, χ², the
//! WHO-UMC shrinkage information component (IC) and PhViD's BCPNN IC.
//!
//! Every function takes a [`ContingencyTable`] (cells `a, b, c, d` as drawn there) and returns
//! plain numbers; division by zero follows IEEE rules (`Inf`, `NaN`) and is documented per
//! function, matching what openEBGM and PhViD return.

use crate::normal;
use crate::special::{gamma_quantile, trigamma};
use crate::table::ContingencyTable;
use statrs::function::gamma::digamma;

/// The normal quantile used for the 95 % Wald intervals of PRR and ROR: 1.96, the rounded value of
/// Φ⁻¹(0.975) used by Evans et al. (2001), van Puijenbroek et al. (2002), AEOLUS and the FAERS 2023
/// reference tables under `shared/data/faers/reference/` (their limits agree with 1.96, not with
/// 1.959964, to the 6 decimals they print).
pub const Z95_ROUNDED: f64 = 1.96;

/// An estimate with a two-sided interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Interval {
    /// Point estimate.
    pub estimate: f64,
    /// Lower limit.
    pub lower: f64,
    /// Upper limit.
    pub upper: f64,
}

/// The z multiplier for a two-sided interval at `level`: 1.96 exactly when `level` is 0.95
/// (see [`Z95_ROUNDED`]), Φ⁻¹((1 + level)/2) otherwise.
pub fn wald_z(level: f64) -> f64 {
    if level == 0.95 {
        Z95_ROUNDED
    } else {
        normal::quantile(0.5 + level / 2.0)
    }
}

/// Proportional reporting ratio with its Wald interval on the log scale.
///
/// # Formula
/// ```text
/// PRR      = [a / (a + b)] / [c / (c + d)]
/// SE(ln)   = √(1/a − 1/(a + b) + 1/c − 1/(c + d))
/// limits   = exp(ln PRR ± z · SE),  z = wald_z(level)  (1.96 at 95 %)
/// ```
/// (Evans, Waller & Davis 2001; the SE is PhViD's and AEOLUS's.)
///
/// # Edge cases
/// `c = 0` gives PRR = +∞ (openEBGM's convention) and NaN limits; `a = 0` gives PRR = 0 and NaN
/// limits.
pub fn prr(t: &ContingencyTable, level: f64) -> Interval {
    let ContingencyTable { a, b, c, d } = *t;
    let estimate = (a / (a + b)) / (c / (c + d));
    let se = (1.0 / a - 1.0 / (a + b) + 1.0 / c - 1.0 / (c + d)).sqrt();
    wald_interval(estimate, se, level)
}

/// Reporting odds ratio with Woolf's interval.
///
/// # Formula
/// ```text
/// ROR      = (a · d) / (b · c)
/// SE(ln)   = √(1/a + 1/b + 1/c + 1/d)          (Woolf 1955)
/// limits   = exp(ln ROR ± z · SE),  z = wald_z(level)  (1.96 at 95 %)
/// ```
/// (van Puijenbroek et al. 2002, Pharmacoepidemiol Drug Saf 11:3–10.)
///
/// # Edge cases
/// `b = 0` or `c = 0` gives +∞ (or NaN when `a · d = 0` too); any zero cell gives NaN limits.
pub fn ror(t: &ContingencyTable, level: f64) -> Interval {
    let ContingencyTable { a, b, c, d } = *t;
    let estimate = (a * d) / (b * c);
    let se = (1.0 / a + 1.0 / b + 1.0 / c + 1.0 / d).sqrt();
    wald_interval(estimate, se, level)
}

fn wald_interval(estimate: f64, se: f64, level: f64) -> Interval {
    if !(se.is_finite() && estimate > 0.0 && estimate.is_finite()) {
        return Interval {
            estimate,
            lower: f64::NAN,
            upper: f64::NAN,
        };
    }
    let z = wald_z(level);
    let ln = estimate.ln();
    Interval {
        estimate,
        lower: (ln - z * se).exp(),
        upper: (ln + z * se).exp(),
    }
}

/// Pearson's χ² of the 2×2 table, with Yates's continuity correction.
///
/// # Formula
/// ```text
/// χ²_Yates = n · max(0, |a·d − b·c| − n/2)² / [(a + b)(c + d)(a + c)(b + d)]
/// ```
/// The clamp at 0 is R's `chisq.test(correct = TRUE)`, which subtracts min(½, |O − E|).
/// This is the χ² of the Evans criteria (PRR ≥ 2, χ² ≥ 4, a ≥ 3) as usually implemented.
///
/// # Edge cases
/// A zero margin gives NaN.
pub fn chi2_yates(t: &ContingencyTable) -> f64 {
    let ContingencyTable { a, b, c, d } = *t;
    let n = t.n();
    let diff = ((a * d - b * c).abs() - n / 2.0).max(0.0);
    n * diff * diff / ((a + b) * (c + d) * (a + c) * (b + d))
}

/// Pearson's χ² of the 2×2 table without continuity correction.
///
/// # Formula
/// ```text
/// χ² = n · (a·d − b·c)² / [(a + b)(c + d)(a + c)(b + d)]
/// ```
/// = R's `chisq.test(correct = FALSE)`.
pub fn chi2_pearson(t: &ContingencyTable) -> f64 {
    let ContingencyTable { a, b, c, d } = *t;
    let n = t.n();
    let diff = a * d - b * c;
    n * diff * diff / ((a + b) * (c + d) * (a + c) * (b + d))
}

/// The table with ½ added to every cell when any cell is zero (Haldane 1956, Anscombe 1956);
/// otherwise the table unchanged.
///
/// vigil's own output does not correct (openEBGM and PhViD do not). The FAERS 2023 reference
/// tables under `shared/data/faers/reference/daryl_faers2023_us_ps_2x2/` do, before PRR, ROR,
/// their intervals and an uncorrected Pearson χ²; this function reproduces them.
pub fn haldane_anscombe(t: &ContingencyTable) -> ContingencyTable {
    if t.a == 0.0 || t.b == 0.0 || t.c == 0.0 || t.d == 0.0 {
        ContingencyTable::new(t.a + 0.5, t.b + 0.5, t.c + 0.5, t.d + 0.5)
    } else {
        *t
    }
}

/// The WHO-UMC shrinkage information component with its credibility interval.
///
/// # Formula
/// ```text
/// IC      = log2((a + ½) / (E + ½))
/// IC_lo   = log2(Gamma⁻¹((1 − level)/2; shape a + ½, rate E + ½))
/// IC_hi   = log2(Gamma⁻¹((1 + level)/2; shape a + ½, rate E + ½))
/// ```
/// where E is the expected count (stratified when the analysis is) and Gamma⁻¹ the quantile of the
/// gamma distribution: the posterior of the observed-to-expected ratio under a Gamma(½, ½) prior
/// (Norén, Hopstadius & Bate 2013, Stat Methods Med Res 22:57–69, eqs. 4–6).
///
/// # Defaults
/// `level = 0.95` gives IC025 and IC975. Signal: IC025 > 0 (WHO-UMC).
///
/// # Edge cases
/// Finite for every a ≥ 0 and E ≥ 0: the ½ shrinkage is what makes it robust at small counts.
///
/// # Algorithm
/// A Gamma(shape, rate) quantile is the standard Gamma(shape, 1) quantile divided by the rate, and
/// the shape a + ½ takes few distinct values (a is a count), so the standard quantiles are solved
/// once per (shape, probability) and kept in a per-thread table: on millions of pairs this removes
/// half of all quantile solves of [`crate::score::score_pair`].
pub fn information_component(a: f64, expected: f64, level: f64) -> Interval {
    let shape = a + 0.5;
    let rate = expected + 0.5;
    let tail = (1.0 - level) / 2.0;
    Interval {
        estimate: (shape / rate).log2(),
        lower: (standard_gamma_quantile_cached(shape, tail) / rate).log2(),
        upper: (standard_gamma_quantile_cached(shape, 1.0 - tail) / rate).log2(),
    }
}

/// Quantile of Gamma(shape, 1) at `prob`, memoised per thread (see [`information_component`]).
fn standard_gamma_quantile_cached(shape: f64, prob: f64) -> f64 {
    use std::cell::RefCell;
    use std::collections::HashMap;
    thread_local! {
        static TABLE: RefCell<HashMap<(u64, u64), f64>> = RefCell::new(HashMap::new());
    }
    TABLE.with(|table| {
        let mut table = table.borrow_mut();
        // Bounded: counts beyond the first 100,000 distinct (shape, prob) keys are solved directly.
        if table.len() > 100_000 {
            return table
                .get(&(shape.to_bits(), prob.to_bits()))
                .copied()
                .unwrap_or_else(|| gamma_quantile(shape, 1.0, prob));
        }
        *table
            .entry((shape.to_bits(), prob.to_bits()))
            .or_insert_with(|| gamma_quantile(shape, 1.0, prob))
    })
}

/// PhViD's BCPNN information component: posterior mean and variance of IC in closed form, and the
/// normal-approximation lower limit.
///
/// # Formula (PhViD 1.0.8 `BCPNN(MC = FALSE)`)
/// ```text
/// p1 = 1 + n_drug,  p2 = 1 + n − n_drug,  q1 = 1 + n_event,  q2 = 1 + n − n_event
/// r1 = 1 + a,       r2 = n − a − 1 + (2 + n)² / (q1 · p1)
/// E(IC) = [ψ(r1) − ψ(r1 + r2) − (ψ(p1) − ψ(p1 + p2) + ψ(q1) − ψ(q1 + q2))] / ln 2
/// V(IC) = [ψ′(r1) − ψ′(r1 + r2) + ψ′(p1) − ψ′(p1 + p2) + ψ′(q1) − ψ′(q1 + q2)] / (ln 2)²
/// IC025 = E(IC) + Φ⁻¹(0.025) · √V(IC)
/// ```
/// where ψ is the digamma and ψ′ the trigamma function (Bate et al. 1998, Eur J Clin Pharmacol
/// 54:315–321; Gould 2003 for the closed form).
///
/// Returns `(E(IC), lower limit at level)`.
pub fn bcpnn_ic(t: &ContingencyTable, level: f64) -> (f64, f64) {
    let n = t.n();
    let (n_drug, n_event, a) = (t.n_drug(), t.n_event(), t.a);
    let p1 = 1.0 + n_drug;
    let p2 = 1.0 + n - n_drug;
    let q1 = 1.0 + n_event;
    let q2 = 1.0 + n - n_event;
    let r1 = 1.0 + a;
    let r2 = n - a - 1.0 + (2.0 + n) * (2.0 + n) / (q1 * p1);
    let ln2 = std::f64::consts::LN_2;
    let mean = (digamma(r1)
        - digamma(r1 + r2)
        - (digamma(p1) - digamma(p1 + p2) + digamma(q1) - digamma(q1 + q2)))
        / ln2;
    let var = (trigamma(r1) - trigamma(r1 + r2) + trigamma(p1) - trigamma(p1 + p2) + trigamma(q1)
        - trigamma(q1 + q2))
        / (ln2 * ln2);
    let lower = mean + crate::special::normal_quantile_memo((1.0 - level) / 2.0) * var.sqrt();
    (mean, lower)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rel(a: f64, b: f64) -> f64 {
        ((a - b) / b).abs()
    }

    // Worked example, arithmetic shown: a = 20, b = 180, c = 400, d = 39400.
    fn table() -> ContingencyTable {
        ContingencyTable::new(20.0, 180.0, 400.0, 39400.0)
    }

    #[test]
    fn prr_worked_example() {
        // PRR = (20/200) / (400/39800) = 0.1 / 0.010050251… = 9.95
        // SE  = √(1/20 − 1/200 + 1/400 − 1/39800) = √0.0474748744 = 0.2178872974
        let p = prr(&table(), 0.95);
        assert!(rel(p.estimate, 9.95) < 1e-14);
        let se = (1.0f64 / 20.0 - 1.0 / 200.0 + 1.0 / 400.0 - 1.0 / 39800.0).sqrt();
        assert!(rel(se, 0.2178872974) < 1e-9);
        assert!(rel(p.lower, 9.95 * (-1.96 * se).exp()) < 1e-14);
        assert!(rel(p.upper, 9.95 * (1.96 * se).exp()) < 1e-14);
    }

    #[test]
    fn ror_worked_example() {
        // ROR = 20·39400 / (180·400) = 788000 / 72000 = 10.9444…
        let r = ror(&table(), 0.95);
        assert!(rel(r.estimate, 788000.0 / 72000.0) < 1e-15);
        let se = (1.0f64 / 20.0 + 1.0 / 180.0 + 1.0 / 400.0 + 1.0 / 39400.0).sqrt();
        assert!(rel(r.lower, r.estimate * (-1.96 * se).exp()) < 1e-14);
    }

    #[test]
    fn chi2_matches_r_chisq_test() {
        // By hand: n = 40000, |ad − bc| = |788000 − 72000| = 716000, n/2 = 20000,
        // margins a+b = 200, c+d = 39800, a+c = 420, b+d = 39580.
        let t = table();
        let expected_yates =
            40000.0 * (716000.0f64 - 20000.0).powi(2) / (200.0 * 39800.0 * 420.0 * 39580.0);
        assert!(rel(chi2_yates(&t), expected_yates) < 1e-14);
        let expected_pearson = 40000.0 * 716000.0f64.powi(2) / (200.0 * 39800.0 * 420.0 * 39580.0);
        assert!(rel(chi2_pearson(&t), expected_pearson) < 1e-14);
        // |ad − bc| < n/2 → clamped to 0, as chisq.test(correct = TRUE).
        assert_eq!(
            chi2_yates(&ContingencyTable::new(1.0, 10.0, 10.0, 100.0)),
            0.0
        );
    }

    #[test]
    fn zero_cells_follow_openebgm() {
        let t = ContingencyTable::new(3.0, 10.0, 0.0, 100.0);
        assert_eq!(prr(&t, 0.95).estimate, f64::INFINITY);
        assert!(prr(&t, 0.95).lower.is_nan());
        let h = haldane_anscombe(&t);
        assert_eq!(h, ContingencyTable::new(3.5, 10.5, 0.5, 100.5));
    }

    #[test]
    fn ic_matches_closed_form_quantiles() {
        // a = 0, E = 0.5: the posterior Gamma(0.5, rate 1) is chi-square(1)/2, so
        // IC975 = log2(qchisq(0.975, 1) / 2) with qchisq(0.975, 1) = 5.023886187314888 (scipy 1.17).
        let ic = information_component(0.0, 0.5, 0.95);
        assert!(rel(ic.estimate, (0.5f64).log2()) < 1e-15);
        assert!(rel(ic.upper, (5.023886187314888f64 / 2.0).log2()) < 1e-12);
        // Shape 1.5 (a = 1), rate 1.5 (E = 1): IC = 0; the median of Gamma(1.5, 1.5) is below the mean.
        let ic = information_component(1.0, 1.0, 0.95);
        assert_eq!(ic.estimate, 0.0);
        assert!(ic.lower < 0.0 && ic.upper > 0.0);
    }

    #[test]
    fn ic_limits_match_scipy_with_and_without_the_memo() {
        // scipy 1.17 gamma.ppf(q, a + 0.5, scale = 1/(E + 0.5)):
        // a = 3, E = 3.2: 0.22836070009153442, 2.163887064139098;
        // a = 17, E = 4.25: 2.16519754007842, 5.600352478111204.
        // Each is asked twice: the second answer comes from the per-thread table.
        for (a, e, lo, hi) in [
            (3.0, 3.2, 0.22836070009153442, 2.163887064139098),
            (17.0, 4.25, 2.16519754007842, 5.600352478111204),
        ] {
            for _ in 0..2 {
                let ic = information_component(a, e, 0.95);
                assert!(
                    rel(ic.lower, f64::log2(lo)) < 1e-12,
                    "a = {a}: {}",
                    ic.lower
                );
                assert!(
                    rel(ic.upper, f64::log2(hi)) < 1e-12,
                    "a = {a}: {}",
                    ic.upper
                );
            }
        }
    }

    #[test]
    #[allow(clippy::excessive_precision)] // mpmath's digits as printed, beyond an f64's
    fn bcpnn_matches_an_independent_evaluation() {
        // The same closed form evaluated in 30-digit arithmetic with mpmath 1.3 (its own ψ and ψ′),
        // for a = 20, b = 180, c = 400, d = 39400:
        // E(IC) = 2.7235996912571178104, IC025 = E + Φ⁻¹(0.025)·√V = 2.0540451885702680352.
        let (mean, lower) = bcpnn_ic(&table(), 0.95);
        assert!(rel(mean, 2.7235996912571178) < 1e-13, "{mean}");
        assert!(rel(lower, 2.054045188570268) < 1e-13, "{lower}");
    }
}
