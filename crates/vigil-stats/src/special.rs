//! Special functions statrs does not provide, and a safeguarded root finder for quantiles.
//!
//! ln Γ, ψ (digamma) and the regularised incomplete gamma P(a, x) come from statrs
//! (`statrs::function::gamma`); this module adds the trigamma function ψ′, `ln(1 − eˣ)` computed without cancellation, and the quantile of a mixture of gamma
//! distributions, which every interval in this crate (IC025/IC975, EB05/EB95) reduces to.

use crate::incomplete_gamma::{incomplete_gamma, GammaShape};
use statrs::function::gamma::{gamma_lr, ln_gamma};

/// The trigamma function ψ′(x) = d²/dx² ln Γ(x), for x > 0.
///
/// # Algorithm
/// The recurrence ψ′(x) = ψ′(x + 1) + 1/x² moves x up to at least 20, where the asymptotic
/// expansion ψ′(x) ≈ 1/x + 1/(2x²) + Σ B₂ₖ / x^(2k+1) (Bernoulli numbers B₂ = 1/6, B₄ = −1/30,
/// B₆ = 1/42, B₈ = −1/30, B₁₀ = 5/66) is accurate to about 1e-16 relative
/// (Abramowitz & Stegun 6.4.12; the first omitted term, B₁₂/z¹³, is below 3e-18 at z = 20).
///
/// # Edge cases
/// Returns NaN for x ≤ 0 or NaN (the pole and reflection branch are never needed here).
pub fn trigamma(x: f64) -> f64 {
    if x.is_nan() || x <= 0.0 {
        return f64::NAN;
    }
    let mut acc = 0.0;
    let mut z = x;
    while z < 20.0 {
        acc += 1.0 / (z * z);
        z += 1.0;
    }
    let r = 1.0 / z;
    let r2 = r * r;
    // 1/z + 1/(2z²) + 1/(6z³) − 1/(30z⁵) + 1/(42z⁷) − 1/(30z⁹) + 5/(66z¹¹)
    let series = r
        + 0.5 * r2
        + r * r2
            * (1.0 / 6.0
                - r2 * (1.0 / 30.0 - r2 * (1.0 / 42.0 - r2 * (1.0 / 30.0 - r2 * 5.0 / 66.0))));
    acc + series
}

/// `ln(1 − eˣ)` for x ≤ 0, without cancellation (Mächler 2012, "Accurately computing
/// log(1 − exp(−|a|))", the Rmpfr vignette): `ln(−expm1(x))` for x > −ln 2, else `ln1p(−eˣ)`.
pub fn ln_one_minus_exp(x: f64) -> f64 {
    exp_and_one_minus_exp(x).2
}

/// (eˣ, 1 − eˣ, ln(1 − eˣ)) for x ≤ 0, each without cancellation, by the split of
/// [`ln_one_minus_exp`]: from `expm1(x)` for x > −ln 2, from `exp(x)` below.
#[inline]
pub fn exp_and_one_minus_exp(x: f64) -> (f64, f64, f64) {
    if x > -std::f64::consts::LN_2 {
        let em = x.exp_m1();
        (1.0 + em, -em, (-em).ln())
    } else {
        let e = x.exp();
        (e, 1.0 - e, (-e).ln_1p())
    }
}

/// The regularised lower incomplete gamma P(a, x) = γ(a, x)/Γ(a), the CDF of Gamma(shape a, rate 1)
/// at x; defined here also for x ≤ 0 (→ 0) and x = ∞ (→ 1), where statrs panics.
pub fn gamma_cdf(a: f64, x: f64) -> f64 {
    if x <= 0.0 {
        0.0
    } else if x.is_infinite() {
        1.0
    } else {
        gamma_lr(a, x)
    }
}

/// ln of the Gamma(shape a, rate b) density at x > 0: `a ln b + (a − 1) ln x − b x − ln Γ(a)`.
pub fn gamma_ln_pdf(a: f64, b: f64, x: f64) -> f64 {
    a * b.ln() + (a - 1.0) * x.ln() - b * x - ln_gamma(a)
}

/// One component of a gamma mixture: weight, shape and rate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GammaComponent {
    /// Mixture weight in [0, 1].
    pub weight: f64,
    /// Shape a > 0.
    pub shape: f64,
    /// Rate b > 0.
    pub rate: f64,
}

/// The quantile of a mixture of gamma distributions: the x > 0 with
/// Σₖ wₖ · P(aₖ, bₖ x) = `prob`.
///
/// # Formula
/// ```text
/// F(x) = Σₖ wₖ · P(aₖ, bₖ·x),   f(x) = Σₖ wₖ · bₖ^aₖ x^(aₖ−1) e^(−bₖx) / Γ(aₖ)
/// ```
/// where P is the regularised lower incomplete gamma function.
///
/// # Algorithm
/// On u = ln x, where F is smooth and the root well-conditioned whatever the scale, with
/// g(u) = F(eᵘ) − prob, g′(u) = Σ wₖ Dₖ and g″(u) = Σ wₖ Dₖ (aₖ − bₖx), Dₖ = (bₖx)^aₖ e^(−bₖx)/Γ(aₖ): one
/// evaluation of [`incomplete_gamma`] per component gives all three. It starts from the
/// Wilson–Hilferty estimate (Johnson, Kotz & Balakrishnan 1994, §17.5) of the heaviest component's
/// quantile, usually within a few per cent of the root, and takes Halley steps
/// δ = (g/g′)/(1 − g g″/(2g′²)), which converge cubically, while each step is under 1 in ln x and at
/// most half the previous one; it stops after a Halley step below 1e-6 (the error left is of order
/// δ³ times a constant of order the shape, ≪ 1e-13), after a plain Newton step below 1e-7 (when the
/// Halley correction is unsafe: error of order δ²), or when g is 0. Anything else falls through to a
/// bracketed solve from the same start: the bracket's other end is the farthest component estimate
/// on the other side (the mixture quantile lies between the component quantiles), widened until g
/// changes sign, then Numerical Recipes' `rtsafe` (Newton, unless the step leaves the bracket or
/// the last step did not halve it, in which case it bisects) to a Newton step below 1e-7 or a
/// bracket narrower than 1e-13. Typical cost: 2–3 CDF evaluations, against openEBGM's
/// `quantBisect`, which bisects to a fixed absolute width (≈ 27 steps at 2 decimals). In the upper
/// tail (prob > 0.5) the survival function 1 − F is used, so that tail accuracy is not lost to
/// cancellation.
///
/// # Edge cases
/// `prob ≤ 0` gives 0, `prob ≥ 1` gives +∞; components with zero weight are ignored.
pub fn gamma_mixture_quantile(components: &[GammaComponent], prob: f64) -> f64 {
    if prob <= 0.0 || prob >= 1.0 {
        return gamma_mixture_quantile_with_shapes(&[], &[], prob);
    }
    // The components with weight, and their shapes' constants, in fixed-size storage.
    let mut comps = [GammaComponent {
        weight: 0.0,
        shape: 1.0,
        rate: 1.0,
    }; MAX_COMPONENTS];
    let mut shapes = [GammaShape::with_ln_gamma(1.0, 0.0); MAX_COMPONENTS];
    let mut k = 0;
    for c in components.iter().filter(|c| c.weight > 0.0) {
        if k == MAX_COMPONENTS {
            return gamma_mixture_quantile_many(components, prob);
        }
        comps[k] = *c;
        shapes[k] = GammaShape::new(c.shape);
        k += 1;
    }
    gamma_mixture_quantile_with_shapes(&comps[..k], &shapes[..k], prob)
}

/// Components a quantile is solved for with fixed-size storage (two in MGPS, one for the IC);
/// more go to plain bisection.
const MAX_COMPONENTS: usize = 4;

/// [`gamma_mixture_quantile`] when the shapes' constants are already known: `shapes[k]` must be
/// `GammaShape::new(components[k].shape)` (the MGPS posterior caches them per count).
pub fn gamma_mixture_quantile_with_shapes(
    components: &[GammaComponent],
    shapes: &[GammaShape],
    prob: f64,
) -> f64 {
    assert_eq!(components.len(), shapes.len(), "one shape per component");
    if prob <= 0.0 {
        return 0.0;
    }
    if prob >= 1.0 {
        return f64::INFINITY;
    }
    // At most a handful of components (two in MGPS): fixed-size storage, no allocation per call.
    if components.iter().filter(|c| c.weight > 0.0).count() > MAX_COMPONENTS {
        return gamma_mixture_quantile_many(components, prob);
    }
    let mut comp = [(
        GammaComponent {
            weight: 0.0,
            shape: 1.0,
            rate: 1.0,
        },
        GammaShape::with_ln_gamma(1.0, 0.0),
    ); MAX_COMPONENTS];
    let mut k = 0;
    for (c, sh) in components
        .iter()
        .zip(shapes)
        .filter(|(c, _)| c.weight > 0.0)
    {
        comp[k] = (*c, *sh);
        k += 1;
    }
    if k == 0 {
        return f64::NAN;
    }
    let comp = &comp[..k];
    let upper = prob > 0.5;
    // (g, g′, g″) at u, where g(u) = F(e^u) − prob (lower) or (1 − prob) − S(e^u) (upper): both
    // increase with u, with the same derivatives.
    let eval = |u: f64| -> (f64, f64, f64) {
        let x = u.exp();
        let (mut tail, mut d1, mut d2) = (0.0, 0.0, 0.0);
        for (c, sh) in comp {
            let y = c.rate * x;
            let r = incomplete_gamma(sh, y);
            tail += c.weight * if upper { r.q } else { r.p };
            d1 += c.weight * r.density_factor;
            d2 += c.weight * r.density_factor * (c.shape - y);
        }
        (
            if upper {
                (1.0 - prob) - tail
            } else {
                tail - prob
            },
            d1,
            d2,
        )
    };
    let z = normal_quantile_memo(prob);
    let wilson_hilferty = |c: &GammaComponent| -> f64 {
        let a = c.shape;
        let t = 1.0 - 1.0 / (9.0 * a) + z / (3.0 * a.sqrt());
        // For small shapes the cube can go non-positive: fall back to the mean.
        let q = if t > 0.0 { a * t * t * t } else { a };
        (q / c.rate).ln()
    };
    // Start at the heaviest component's estimate; the root lies between the smallest and largest
    // component quantiles, so the other end of the bracket is the farthest estimate on the other
    // side, widened by a quarter (and further until g changes sign).
    let heaviest = comp.iter().fold(
        &comp[0].0,
        |best, (c, _)| if c.weight > best.weight { c } else { best },
    );
    let mut u = wilson_hilferty(heaviest);
    let (mut gu, mut dgu, d2u) = eval(u);
    if gu == 0.0 {
        return u.exp();
    }
    // Fast path: Halley from the estimate while every step is under 1 in ln x and at most half the
    // previous one (inside the basin of fast convergence); anything else falls through to the
    // bracketed solve below, from the same start.
    {
        let (mut v, mut gv, mut d1, mut d2, mut previous) = (u, gu, dgu, d2u, f64::INFINITY);
        for _ in 0..8 {
            let newton = gv / d1;
            let correction = 1.0 - 0.5 * newton * d2 / d1;
            let halley = (0.5..=2.0).contains(&correction);
            let step = if halley { newton / correction } else { newton };
            if !(step.abs() < 1.0 && step.abs() <= 0.5 * previous) {
                break;
            }
            v -= step;
            if step.abs() < if halley { 1e-6 } else { 1e-7 } {
                return v.exp();
            }
            previous = step.abs();
            (gv, d1, d2) = eval(v);
            if gv == 0.0 {
                return v.exp();
            }
        }
    }
    let estimates = comp.iter().map(|(c, _)| wilson_hilferty(c));
    let (mut lo, mut hi);
    if gu < 0.0 {
        lo = u;
        hi = estimates.fold(u, f64::max) + 0.25;
        let mut widen = 1.0;
        while eval(hi).0 < 0.0 && widen < 1e3 {
            lo = hi;
            hi += widen;
            widen *= 2.0;
        }
    } else {
        hi = u;
        lo = estimates.fold(u, f64::min) - 0.25;
        let mut widen = 1.0;
        while eval(lo).0 > 0.0 && widen < 1e3 {
            hi = lo;
            lo -= widen;
            widen *= 2.0;
        }
    }
    if !(lo < u && u < hi) {
        u = 0.5 * (lo + hi);
        (gu, dgu, _) = eval(u);
    }
    // rtsafe (Numerical Recipes §9.4): Newton unless it leaves the bracket or the previous step
    // did not halve it, then bisection.
    let mut dx_old = hi - lo;
    let mut dx = dx_old;
    for _ in 0..200 {
        let newton_leaves = ((u - hi) * dgu - gu) * ((u - lo) * dgu - gu) > 0.0;
        let too_slow = (2.0 * gu).abs() > (dx_old * dgu).abs();
        let bisected = newton_leaves || too_slow || dgu == 0.0;
        dx_old = dx;
        if bisected {
            dx = 0.5 * (hi - lo);
            u = lo + dx;
            if hi - lo < 1e-13 {
                break;
            }
        } else {
            dx = gu / dgu;
            u -= dx;
            // Quadratic convergence: after a Newton step this small the error is ~dx² ≪ 1e-13.
            if dx.abs() < 1e-7 {
                break;
            }
        }
        (gu, dgu, _) = eval(u);
        if gu == 0.0 {
            break;
        }
        if gu < 0.0 {
            lo = u;
        } else {
            hi = u;
        }
    }
    u.exp()
}

/// [`crate::normal::quantile`] with the last few probabilities remembered per thread: the quantile solver
/// is called with the same two or four probabilities millions of times.
pub(crate) fn normal_quantile_memo(p: f64) -> f64 {
    use std::cell::Cell;
    thread_local! {
        static MEMO: Cell<[(u64, f64); 4]> = const { Cell::new([(u64::MAX, 0.0); 4]) };
    }
    MEMO.with(|memo| {
        let mut m = memo.get();
        if let Some(&(_, z)) = m.iter().find(|(bits, _)| *bits == p.to_bits()) {
            return z;
        }
        let z = crate::normal::quantile(p);
        m.rotate_right(1);
        m[0] = (p.to_bits(), z);
        memo.set(m);
        z
    })
}

/// [`gamma_mixture_quantile`] for mixtures of more than four components: plain bisection on
/// u = ln x between bounds found by doubling, to a width of 1e-13. Not used by vigil's own scores.
fn gamma_mixture_quantile_many(components: &[GammaComponent], prob: f64) -> f64 {
    let f = |u: f64| -> f64 {
        components
            .iter()
            .filter(|c| c.weight > 0.0)
            .map(|c| c.weight * gamma_cdf(c.shape, c.rate * u.exp()))
            .sum::<f64>()
            - prob
    };
    let (mut lo, mut hi) = (-1.0_f64, 1.0_f64);
    while f(lo) > 0.0 && lo > -700.0 {
        lo *= 2.0;
    }
    while f(hi) < 0.0 && hi < 700.0 {
        hi *= 2.0;
    }
    while hi - lo > 1e-13 {
        let mid = 0.5 * (lo + hi);
        if f(mid) < 0.0 {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    (0.5 * (lo + hi)).exp()
}

/// The quantile of Gamma(shape, rate) at `prob` (see [`gamma_mixture_quantile`]).
pub fn gamma_quantile(shape: f64, rate: f64, prob: f64) -> f64 {
    gamma_mixture_quantile(
        &[GammaComponent {
            weight: 1.0,
            shape,
            rate,
        }],
        prob,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rel(a: f64, b: f64) -> f64 {
        ((a - b) / b).abs()
    }

    #[test]
    fn trigamma_known_values() {
        // ψ′(1) = π²/6 (Abramowitz & Stegun 6.4.2); ψ′(1/2) = π²/2 (A&S 6.4.4).
        let pi2 = std::f64::consts::PI.powi(2);
        assert!(rel(trigamma(1.0), pi2 / 6.0) < 1e-15);
        assert!(rel(trigamma(0.5), pi2 / 2.0) < 1e-15);
        // Recurrence identity ψ′(x) − ψ′(x + 1) = 1/x² at a non-integer point.
        let x = 3.7;
        assert!(rel(trigamma(x) - trigamma(x + 1.0), 1.0 / (x * x)) < 1e-12);
        // ψ′(30) = 0.03389506035773994421… (mpmath 1.3, `psi(1, 30)` at 30 digits).
        assert!(rel(trigamma(30.0), 0.033895060357739944) < 1e-14);
    }

    #[test]
    fn gamma_quantile_inverts_the_cdf() {
        // Exponential(1) = Gamma(1, 1): quantile at p is −ln(1 − p) exactly.
        for p in [1e-6, 0.025, 0.05, 0.5, 0.95, 0.975, 1.0 - 1e-9] {
            let q = gamma_quantile(1.0, 1.0, p);
            assert!(rel(q, -(-p).ln_1p()) < 1e-12, "p = {p}: {q}");
        }
        // Gamma(shape 0.5, rate 0.5) is chi-square with 1 df: 3.841458820694124 (scipy 1.17 `chi2.ppf(0.95, 1)`).
        assert!(rel(gamma_quantile(0.5, 0.5, 0.95), 3.841458820694124) < 1e-12);
    }

    #[test]
    fn mixture_quantile_lies_between_component_quantiles() {
        let comps = [
            GammaComponent {
                weight: 0.3,
                shape: 4.0,
                rate: 0.5,
            },
            GammaComponent {
                weight: 0.7,
                shape: 3.0,
                rate: 2.5,
            },
        ];
        for p in [0.05, 0.5, 0.95] {
            let q = gamma_mixture_quantile(&comps, p);
            let f: f64 = comps
                .iter()
                .map(|c| c.weight * gamma_cdf(c.shape, c.rate * q))
                .sum();
            assert!((f - p).abs() < 1e-13, "p = {p}: F(q) = {f}");
        }
    }

    /// Newton from a Wilson–Hilferty start must land where plain bisection of the same CDF lands
    /// (bisection is slow but cannot stop early), over the shapes, rates and weights MGPS and the IC
    /// limits meet: posterior shapes α + N from 1e-5 + 1 to 1e5, rates β + E from 1e-3 to 1e5,
    /// weights from 1e-12 to 1, at the four probabilities vigil uses.
    #[test]
    fn newton_agrees_with_bisection_over_a_grid() {
        let mut worst = 0.0_f64;
        for &a1 in &[1.00001, 1.5, 3.0, 12.0, 150.0, 1e5] {
            for &b1 in &[1e-3, 0.4, 2.0, 40.0, 1e5] {
                for &w in &[1e-12, 0.03, 0.5, 0.97, 1.0] {
                    let comps = [
                        GammaComponent {
                            weight: w,
                            shape: a1,
                            rate: b1,
                        },
                        GammaComponent {
                            weight: 1.0 - w,
                            shape: 2.0 + a1 / 3.0,
                            rate: 1.0 + b1 * 0.7,
                        },
                    ];
                    for p in [0.025, 0.05, 0.95, 0.975] {
                        let newton = gamma_mixture_quantile(&comps, p);
                        let bisection = gamma_mixture_quantile_many(&comps, p);
                        if rel(newton, bisection) > 1e-11 {
                            eprintln!("a1 {a1} b1 {b1} w {w} p {p}: newton {newton:e} bisection {bisection:e}");
                        }
                        worst = worst.max(rel(newton, bisection));
                    }
                }
            }
        }
        assert!(worst < 1e-11, "largest relative difference {worst:e}");
    }

    #[test]
    fn ln_one_minus_exp_both_branches() {
        for x in [-1e-12, -0.1, -0.69, -0.7, -5.0] {
            let direct = (1.0 - f64::exp(x)).ln();
            let tol = if x > -1e-6 { 1e-3 } else { 1e-13 }; // direct form loses digits near 0
            assert!(rel(ln_one_minus_exp(x), direct) < tol, "x = {x}");
        }
        // Far out, ln(1 − e^x) ≈ −e^x (the direct form rounds to 0): x = −40 → −4.248354255291589e-18.
        assert!(rel(ln_one_minus_exp(-40.0), -(-40.0f64).exp()) < 1e-15);
        // Near 0: ln(1 − e^x) ≈ ln(−x) for tiny x.
        assert!(rel(ln_one_minus_exp(-1e-20), (1e-20f64).ln()) < 1e-15);
    }
}
