//! The standard normal distribution: Φ, its upper tail Φ̄ = 1 − Φ, and the quantile Φ⁻¹.
//!
//! This is the one home of the normal distribution in vigil: the Wald intervals of PRR and ROR, the
//! IC025 limit, the start of the gamma-mixture quantile solver (EB05/EB95), the Weibull onset
//! intervals and every meta-analysis p-value and critical value use it.
//!
//! Φ and Φ̄ are written with `libm`'s `erfc` (fdlibm's, accurate to within an ulp), each on the side
//! where it does not cancel; Φ⁻¹ is `−√2 erfc⁻¹(2p)` with statrs' `erfc_inv` (Boost.Math's rational
//! approximations; see [`quantile`]).

use statrs::function::erf::erfc_inv;
use std::f64::consts::{FRAC_1_SQRT_2, SQRT_2};

/// The standard normal distribution function Φ(x) = P(Z ≤ x).
///
/// # Formula
/// ```text
/// Φ(x) = ½ erfc(−x/√2)
/// ```
/// written through `erfc` (not `1 − ½ erfc(x/√2)`) so that the lower tail keeps full relative
/// precision down to Φ(−37) ≈ 6e-300.
///
/// # Edge cases
/// Φ(−∞) = 0, Φ(+∞) = 1, Φ(NaN) = NaN.
///
/// # Matches
/// R `pnorm(x)`, scipy `norm.cdf(x)`.
pub fn cdf(x: f64) -> f64 {
    0.5 * libm::erfc(-x * FRAC_1_SQRT_2)
}

/// The upper tail Φ̄(x) = 1 − Φ(x) = P(Z > x), without cancellation for large x.
///
/// # Formula
/// ```text
/// Φ̄(x) = ½ erfc(x/√2)
/// ```
///
/// # Edge cases
/// Φ̄(−∞) = 1, Φ̄(+∞) = 0, Φ̄(NaN) = NaN.
///
/// # Matches
/// R `pnorm(x, lower.tail = FALSE)`, scipy `norm.sf(x)`.
pub fn sf(x: f64) -> f64 {
    0.5 * libm::erfc(x * FRAC_1_SQRT_2)
}

/// The two-sided p-value 2 Φ̄(|z|) of a z statistic.
///
/// # Matches
/// R `2 * pnorm(abs(z), lower.tail = FALSE)`.
pub fn two_sided_p(z: f64) -> f64 {
    2.0 * sf(z.abs())
}

/// The standard normal quantile Φ⁻¹(p): the x with Φ(x) = p.
///
/// # Formula
/// ```text
/// Φ⁻¹(p) = −√2 · erfc⁻¹(2p)
/// ```
///
/// # Algorithm
/// `erfc⁻¹` is statrs' `erfc_inv`: the rational approximations of Boost.Math's `erf_inv`
/// (J. Maddock; in variables of p near ½ and of `√(−ln q)` in the tails), which statrs takes over
/// from Math.NET Numerics. Boost documents them as accurate to about 2 ε in double precision; the
/// tests below find them within two ulps of the exact quantile (mpmath) from p = 1e-300 to
/// 1 − 1e-10. statrs' `Normal::inverse_cdf` evaluates the same expression, so every interval vigil
/// computed before this module existed keeps its bits.
///
/// # Edge cases
/// `p = 0` gives −∞, `p = 1` gives +∞, p outside [0, 1] or NaN gives NaN.
///
/// # References
/// Boost.Math, "Error Function Inverses" (`erf_inv`, `erfc_inv`), boost.org/libs/math; statrs
/// 0.19 `statrs::function::erf::erfc_inv`.
///
/// # Matches
/// R `qnorm(p)` and scipy `norm.ppf(p)` to within two ulps.
pub fn quantile(p: f64) -> f64 {
    if !(0.0..=1.0).contains(&p) {
        return f64::NAN;
    }
    if p == 0.0 {
        return f64::NEG_INFINITY;
    }
    if p == 1.0 {
        return f64::INFINITY;
    }
    -SQRT_2 * erfc_inv(2.0 * p)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rel(a: f64, b: f64) -> f64 {
        if a == b {
            0.0
        } else {
            ((a - b) / b).abs()
        }
    }

    // Independent values: mpmath 1.3.0 at 50 digits, rounded to f64 (Python `repr(float(...))`):
    // `sqrt(2)*erfinv(2*p - 1)` for the central p, `findroot(lambda x: ncdf(x) - p, …)` for the
    // three extreme ones (p taken as the f64 nearest the decimal). scipy 1.17.1 `norm.ppf(p)` agrees
    // with every value to within two ulps (it gives 1.959963984540054 at 0.975, R's `qnorm` too).
    #[test]
    fn quantile_matches_mpmath_and_scipy() {
        let cases = [
            (0.975, 1.9599639845400538),
            (0.025, -1.9599639845400543),
            (0.95, 1.6448536269514722),
            (0.05, -1.6448536269514726),
            (0.5, 0.0),
            (0.3, -0.5244005127080408),
            (0.9, 1.2815515655446006),
            (0.995, 2.5758293035489004),
            (1e-10, -6.361340902404057),
            (1e-300, -37.0470962993612),
            (1.0 - 1e-10, 6.361340889697422),
        ];
        for (p, expected) in cases {
            let x = quantile(p);
            // Two ulps.
            assert!(
                rel(x, expected) < 4.5e-16,
                "Φ⁻¹({p:e}) = {x:.17} vs {expected:.17}"
            );
        }
        assert_eq!(quantile(0.0), f64::NEG_INFINITY);
        assert_eq!(quantile(1.0), f64::INFINITY);
        assert!(quantile(-0.1).is_nan() && quantile(1.5).is_nan() && quantile(f64::NAN).is_nan());
    }

    // Independent values: mpmath 1.3.0 at 50 digits, `ncdf(x)` and `1 - ncdf(x)` rounded to f64.
    // The tolerance grows with x²: rounding x/√2 by half an ulp moves erfc by a relative 2·(x/√2)²
    // ulps, so no f64 evaluation of the tail does better (scipy's `norm.sf(3)` is off by 9e-15).
    #[test]
    fn cdf_and_upper_tail_match_mpmath() {
        let cases = [
            // (x, Φ(x), Φ̄(x))
            (0.0, 0.5, 0.5),
            (1.0, 0.8413447460685429, 0.15865525393145705),
            (-1.959963984540054, 0.025000000000000012, 0.975),
            (1.959963984540054, 0.975, 0.025000000000000012),
            (3.0, 0.9986501019683699, 0.0013498980316300946),
            (-8.0, 6.220960574271784e-16, 0.9999999999999993),
            (10.0, 1.0, 7.619853024160525e-24),
        ];
        for (x, lower, upper) in cases {
            let tol = 4.5e-16 * (1.0 + x * x);
            assert!(
                rel(cdf(x), lower) < tol,
                "Φ({x}) = {:e} vs {lower:e}",
                cdf(x)
            );
            assert!(rel(sf(x), upper) < tol, "Φ̄({x}) = {:e} vs {upper:e}", sf(x));
        }
        assert_eq!(two_sided_p(0.0), 1.0);
        assert!(rel(two_sided_p(-1.959963984540054), 0.05000000000000002) < 4e-15);
    }

    // Identity: Φ(Φ⁻¹(p)) = p over the central range and down the lower tail, to the precision the
    // slope of Φ allows (a relative error ε in x moves Φ by about x²·ε relative).
    #[test]
    fn quantile_inverts_cdf() {
        for i in 1..1000 {
            let p = i as f64 / 1000.0;
            let back = if p > 0.5 {
                1.0 - sf(quantile(p))
            } else {
                cdf(quantile(p))
            };
            assert!(
                (back - p).abs() < 4.5e-16 * p.max(1.0 - p),
                "p = {p}: {back:e}"
            );
        }
        for e in 3..300 {
            let p = 10f64.powi(-e);
            let x = quantile(p);
            assert!(
                rel(cdf(x), p) < 1e-15 * (1.0 + x * x),
                "p = 1e-{e}: Φ(x) = {:e}",
                cdf(x)
            );
        }
    }
}
