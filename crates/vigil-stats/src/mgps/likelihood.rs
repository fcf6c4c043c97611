//! The marginal likelihood of the two-gamma-mixture prior, with its analytic gradient.

use super::{CountData, GammaMixturePrior, Truncation};
use crate::special::{exp_and_one_minus_exp, trigamma};
use rayon::iter::{IntoParallelIterator, ParallelIterator};
use statrs::function::gamma::{digamma, ln_gamma};

/// Points per chunk: partial sums are formed per chunk and added in chunk order, so the result does
/// not depend on the number of threads. 4,096 points (about 0.4 ms of work) split a 54 k-point
/// table into 14 chunks, enough to keep two cores evenly busy, at a few microseconds of scheduling
/// per chunk.
const CHUNK: usize = 1 << 12;

/// Evaluates the negative log-likelihood −Σ wᵢ ln L(θ; Nᵢ, Eᵢ), its gradient and its Hessian, fast,
/// for many θ on the same data.
///
/// # Formula
/// ```text
/// f_k(N) = Γ(α_k + N) / (Γ(α_k) N!) · (β_k/(β_k + E))^α_k · (E/(β_k + E))^N     (negative binomial)
/// L      = P · f_1(N)/(1 − f_1(0)) + (1 − P) · f_2(N)/(1 − f_2(0))            (zero-truncated)
/// L      = P · f_1(N) + (1 − P) · f_2(N)                                       (zeros included)
/// ```
/// with f_k(0) = (β_k/(β_k + E))^α_k. Each component is truncated separately, as openEBGM's `negLL`
/// does (DuMouchel & Pregibon 2001).
///
/// # Algorithm
/// ln Γ(α + N) − ln Γ(α), ψ(α + N) − ψ(α) and ψ′(α + N) − ψ′(α) are computed once per distinct N
/// per evaluation; −ln N! + N ln E, which does not depend on θ, once per data set. With
/// r = ln(β/(β + E)) = −ln(1 + E/β) (computed by `ln_1p`, exact for E ≪ β), ln f(N) − N ln E +
/// ln N! = ln Γ ratio + (α + N)·r − N ln β, so a point costs, per component, one `ln_1p` for r and
/// one `expm1` and one `ln` for the truncation term, then one `exp` and one `ln_1p` for the
/// mixture: eight elementary functions in all, whatever is asked for. The gradient and the
/// Hessian are analytic (the derivation is in [`NegLogLikelihood::value_gradient_hessian`]) and
/// add only arithmetic. Work is split over the available cores in chunks of 4,096 points.
///
/// # Matches
/// openEBGM 0.9.1 `negLL(theta, N, E, N_star = 1)`, `negLLsquash(theta, ni, ei, wi, N_star = 1)`,
/// `negLLzero(theta, N, E)` and `negLLzeroSquash`.
#[derive(Debug, Clone)]
pub struct NegLogLikelihood {
    e: Vec<f64>,
    w: Vec<f64>,
    /// Index of each point's N in `distinct_n`.
    n_index: Vec<u32>,
    distinct_n: Vec<f64>,
    /// Σ wᵢ (−ln Nᵢ! + Nᵢ ln Eᵢ): the part of the log-likelihood that does not depend on θ.
    constant: f64,
    truncation: Truncation,
}

/// What an evaluation computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Order {
    Value,
    Gradient,
    Hessian,
}

/// The negative log-likelihood with its first and second derivatives with respect to
/// (α1, β1, α2, β2, P).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Derivatives {
    /// −ln L.
    pub value: f64,
    /// ∂(−ln L)/∂θ.
    pub gradient: [f64; 5],
    /// ∂²(−ln L)/∂θ∂θᵀ (symmetric).
    pub hessian: [[f64; 5]; 5],
}

/// Per-distinct-N tables for one component at one θ.
struct ComponentTable {
    ln_gamma_ratio: Vec<f64>,
    digamma_diff: Vec<f64>,
    trigamma_diff: Vec<f64>,
}

impl ComponentTable {
    fn new(alpha: f64, distinct_n: &[f64], order: Order) -> Self {
        if alpha >= ASYMPTOTIC_FROM {
            let rows: Vec<[f64; 3]> = distinct_n
                .iter()
                .map(|&n| gamma_differences(alpha, n))
                .collect();
            let column = |c: usize, wanted: bool| -> Vec<f64> {
                if wanted {
                    rows.iter().map(|r| r[c]).collect()
                } else {
                    Vec::new()
                }
            };
            return Self {
                ln_gamma_ratio: column(0, true),
                digamma_diff: column(1, order >= Order::Gradient),
                trigamma_diff: column(2, order >= Order::Hessian),
            };
        }
        let lg_a = ln_gamma(alpha);
        let ln_gamma_ratio = distinct_n
            .iter()
            .map(|&n| ln_gamma(alpha + n) - lg_a)
            .collect();
        let digamma_diff = if order >= Order::Gradient {
            let dg_a = digamma(alpha);
            distinct_n
                .iter()
                .map(|&n| digamma(alpha + n) - dg_a)
                .collect()
        } else {
            Vec::new()
        };
        let trigamma_diff = if order >= Order::Hessian {
            let tg_a = trigamma(alpha);
            distinct_n
                .iter()
                .map(|&n| trigamma(alpha + n) - tg_a)
                .collect()
        } else {
            Vec::new()
        };
        Self {
            ln_gamma_ratio,
            digamma_diff,
            trigamma_diff,
        }
    }
}

/// From this shape on, [`ComponentTable`] takes the differences ln Γ(α+N) − ln Γ(α), ψ(α+N) − ψ(α)
/// and ψ′(α+N) − ψ′(α) from [`gamma_differences`] instead of subtracting two values. Below it the
/// subtraction loses nothing that matters (|ln Γ(20)| = 39.3: an absolute error near 1e-14), and
/// above it the expansions' first omitted terms are below 1e-21.
const ASYMPTOTIC_FROM: f64 = 20.0;

/// Bernoulli numbers B₂, B₄, …, B₁₄ (Abramowitz & Stegun, Table 23.2).
const BERNOULLI: [f64; 7] = [
    1.0 / 6.0,
    -1.0 / 30.0,
    1.0 / 42.0,
    -1.0 / 30.0,
    5.0 / 66.0,
    -691.0 / 2730.0,
    7.0 / 6.0,
];

/// ln Γ(α+N) − ln Γ(α), ψ(α+N) − ψ(α) and ψ′(α+N) − ψ′(α) for α ≥ [`ASYMPTOTIC_FROM`], N ≥ 0,
/// each formed as one difference of the asymptotic expansions (Abramowitz & Stegun 6.1.40, 6.3.18,
/// 6.4.12), with x₀ = α, x₁ = α + N:
/// ```text
/// ln Γ ratio = (α − ½) ln(1 + N/α) + N ln x₁ − N + Σₖ B₂ₖ/(2k(2k−1)) (x₁^(1−2k) − x₀^(1−2k))
/// ψ diff     = ln(1 + N/α) + N/(2 x₀ x₁) − Σₖ B₂ₖ/(2k) (x₁^(−2k) − x₀^(−2k))
/// ψ′ diff    = −N/(x₀ x₁) − N (x₀ + x₁)/(2 x₀² x₁²) + Σₖ B₂ₖ (x₁^(−2k−1) − x₀^(−2k−1))
/// ```
/// for k = 1…7; the first omitted terms (B₁₆ = −3617/510) are below 1e-21 at x = 20.
///
/// Why: when a component turns into a point mass (α and β near the 1e5 bound, seen on synthetic
/// stores and the 20 M-report one), ln Γ(α) ≈ 1.05e6 and ψ(α) ≈ 11.5 carry absolute rounding errors
/// of about 1e-10 and 2e-15, which subtraction passes on whole to a difference of ln α ≈ 11.5 and
/// N/α ≈ 1e-5; summed over 291,267 points, the −log-likelihood jumped by up to 6e-5 (2e-10 of it)
/// between values of ln α 1e-13 apart, and the fit's line search and stop could not work below
/// that noise. Here no term is much larger than the result, so it is accurate to a few units in
/// its last place (the tests compare with the recurrences Σ ln(α+j), Σ 1/(α+j), −Σ 1/(α+j)²).
fn gamma_differences(alpha: f64, n: f64) -> [f64; 3] {
    let (x0, x1) = (alpha, alpha + n);
    let log_ratio = (n / alpha).ln_1p();
    let mut ln_gamma_ratio = (alpha - 0.5) * log_ratio + n * x1.ln() - n;
    let mut digamma_diff = log_ratio + n / (2.0 * x0 * x1);
    let mut trigamma_diff = -n / (x0 * x1) - n * (x0 + x1) / (2.0 * x0 * x0 * x1 * x1);
    let (inv0, inv1) = (1.0 / x0, 1.0 / x1);
    let (inv0_sq, inv1_sq) = (inv0 * inv0, inv1 * inv1);
    // x^(1−2k), x^(−2k) and x^(−2k−1) for k = 1, 2, …
    let (mut odd0, mut odd1) = (inv0, inv1);
    for (k, b) in BERNOULLI.iter().enumerate() {
        let two_k = 2.0 * (k + 1) as f64;
        ln_gamma_ratio += b / (two_k * (two_k - 1.0)) * (odd1 - odd0);
        let (even0, even1) = (odd0 * inv0, odd1 * inv1);
        digamma_diff -= b / two_k * (even1 - even0);
        trigamma_diff += b * (even1 * inv1 - even0 * inv0);
        odd0 *= inv0_sq;
        odd1 *= inv1_sq;
    }
    [ln_gamma_ratio, digamma_diff, trigamma_diff]
}

/// Partial sums over one chunk: ln L (without the constant), its gradient and the upper triangle of
/// its Hessian (15 entries, row-major).
#[derive(Clone, Copy, Default)]
struct Partial {
    ll: f64,
    /// Neumaier's running compensation of `ll`.
    ll_carry: f64,
    g: [f64; 5],
    h: [f64; 15],
}

/// Adds `x` to the sum `sum` + `carry` by Neumaier's compensated summation (Neumaier 1974, "Rundungs-
/// fehleranalyse einiger Verfahren zur Summation endlicher Summen", ZAMM 54:39–51): the sum of a
/// million terms keeps its accuracy to a few units in the last place, instead of drifting by about
/// √n of them. Why: the fit compares values a rounding-noise apart (the last Newton step, Armijo's
/// test near the optimum); plain summation of 2.3 M terms was noisy at 1e-13 relative.
#[inline(always)]
fn neumaier_add(sum: &mut f64, carry: &mut f64, x: f64) {
    let t = *sum + x;
    if sum.abs() >= x.abs() {
        *carry += (*sum - t) + x;
    } else {
        *carry += (x - t) + *sum;
    }
    *sum = t;
}

/// Index of (i, j), i ≤ j, in the row-major upper triangle of a 5 × 5 matrix.
const fn upper(i: usize, j: usize) -> usize {
    i * 5 - i * (i + 1) / 2 + j
}

/// One component's contribution at one point: ln g = ln f(N) − ln(1 − f(0)) (less the θ-free
/// constant), its score s = (∂/∂α, ∂/∂β) and its Hessian (∂²/∂α², ∂²/∂α∂β, ∂²/∂β²).
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn component(
    alpha: f64,
    beta: f64,
    inv_beta: f64,
    ln_beta: f64,
    table: &ComponentTable,
    k: usize,
    n: f64,
    e: f64,
    truncated: bool,
    order: Order,
) -> (f64, [f64; 2], [f64; 3]) {
    // r = ln(β/(β+E)) ≤ 0; z = α r = ln f(0).
    let r = -(e * inv_beta).ln_1p();
    let z = alpha * r;
    let mut ln_g = table.ln_gamma_ratio[k] + (alpha + n) * r - n * ln_beta;
    // Truncation: h(z) = −ln(1 − e^z); h′ = T = e^z/(1 − e^z); h″ = T(1 + T).
    let (mut t, mut t1) = (0.0, 0.0);
    if truncated {
        // f(0) = e^z and 1 − f(0), each without cancellation.
        let (f0, one_minus_f0, ln_one_minus_f0) = exp_and_one_minus_exp(z);
        ln_g -= ln_one_minus_f0;
        if order >= Order::Gradient {
            t = f0 / one_minus_f0;
            t1 = t * (1.0 + t);
        }
    }
    if order == Order::Value {
        return (ln_g, [0.0; 2], [0.0; 3]);
    }
    let inv_be = 1.0 / (beta + e);
    // u = ∂r/∂β = 1/β − 1/(β+E) = E/(β(β+E)), without cancellation.
    let u = e * inv_beta * inv_be;
    let z_b = alpha * u;
    let s_a = table.digamma_diff[k] + r * (1.0 + t);
    let s_b = z_b * (1.0 + t) - n * inv_be;
    if order == Order::Gradient {
        return (ln_g, [s_a, s_b], [0.0; 3]);
    }
    // ∂²z/∂β² = −α u (1/β + 1/(β+E)); ∂² ln f/∂β² = ∂²z/∂β² + N/(β+E)².
    let z_bb = -z_b * (inv_beta + inv_be);
    let h_aa = table.trigamma_diff[k] + t1 * r * r;
    let h_ab = u * (1.0 + t) + t1 * r * z_b;
    let h_bb = z_bb * (1.0 + t) + n * inv_be * inv_be + t1 * z_b * z_b;
    (ln_g, [s_a, s_b], [h_aa, h_ab, h_bb])
}

impl NegLogLikelihood {
    /// Prepares the data. Points must have N ≥ 1 for [`Truncation::ZeroTruncated`] and E > 0.
    pub fn new(data: &CountData, truncation: Truncation) -> Self {
        // Data sorted by N (merged or summarised data are) need no sort and no search.
        let sorted = data.n.windows(2).all(|p| p[0].total_cmp(&p[1]).is_le());
        let mut distinct_n: Vec<f64> = data.n.clone();
        if !sorted {
            distinct_n.sort_unstable_by(f64::total_cmp);
        }
        distinct_n.dedup_by(|a, b| a.total_cmp(b).is_eq());
        let mut k = 0;
        let n_index: Vec<u32> = data
            .n
            .iter()
            .map(|n| {
                if distinct_n[k].total_cmp(n).is_ne() {
                    k = distinct_n
                        .binary_search_by(|x| x.total_cmp(n))
                        .expect("n is in its own distinct list");
                }
                k as u32
            })
            .collect();
        // ln N! once per distinct N.
        let ln_factorial: Vec<f64> = distinct_n.iter().map(|&n| ln_gamma(n + 1.0)).collect();
        let (mut constant, mut carry) = (0.0, 0.0);
        for i in 0..data.len() {
            let (n, e, w) = (data.n[i], data.e[i], data.w[i]);
            neumaier_add(
                &mut constant,
                &mut carry,
                w * (n * e.ln() - ln_factorial[n_index[i] as usize]),
            );
        }
        let constant = constant + carry;
        Self {
            e: data.e.clone(),
            w: data.w.clone(),
            n_index,
            distinct_n,
            constant,
            truncation,
        }
    }

    /// Number of points.
    pub fn len(&self) -> usize {
        self.e.len()
    }

    /// True when there are no points.
    pub fn is_empty(&self) -> bool {
        self.e.is_empty()
    }

    /// Σ wᵢ (−ln Nᵢ! + Nᵢ ln Eᵢ), the part of the log-likelihood that does not depend on θ, so
    /// that `value(θ) + constant` is the θ-dependent part. Two summaries of the same data (squashed
    /// and full) differ in this constant; only their θ-dependent parts are comparable.
    pub fn theta_free_constant(&self) -> f64 {
        self.constant
    }

    /// Sum of the weights (the number of pairs the data stand for).
    pub fn total_weight(&self) -> f64 {
        self.w.iter().sum()
    }

    /// The negative log-likelihood at `prior`.
    pub fn value(&self, prior: &GammaMixturePrior) -> f64 {
        self.evaluate(prior, Order::Value).value
    }

    /// The negative log-likelihood and its gradient with respect to (α1, β1, α2, β2, P).
    pub fn value_and_gradient(&self, prior: &GammaMixturePrior) -> (f64, [f64; 5]) {
        let d = self.evaluate(prior, Order::Gradient);
        (d.value, d.gradient)
    }

    /// The negative log-likelihood, its gradient and its Hessian with respect to
    /// (α1, β1, α2, β2, P).
    ///
    /// # Formula
    /// Per point, with g_k = f_k(N)/(1 − f_k(0)) (or f_k(N) without truncation), L = P g1 + Q g2,
    /// Q = 1 − P, posterior weights w_k = P_k g_k / L and component scores s_k = ∇ ln g_k,
    /// component Hessians h_k = ∇² ln g_k:
    /// ```text
    /// ∂ ln L/∂θ_k = w_k s_k                 ∂ ln L/∂P = w1/P − w2/Q
    /// ∂² ln L/∂θ_k² = w_k h_k + w1 w2 s_k s_kᵀ        ∂² ln L/∂θ_1∂θ_2 = −w1 w2 s_1 s_2ᵀ
    /// ∂² ln L/∂P∂θ_1 = w1 w2 s_1/(P Q)    ∂² ln L/∂P∂θ_2 = −w1 w2 s_2/(P Q)    ∂² ln L/∂P² = −(w1/P − w2/Q)²
    /// ```
    /// and, with r = ln(β/(β+E)), u = ∂r/∂β = E/(β(β+E)), z = α r, T = e^z/(1 − e^z):
    /// ```text
    /// ∂ ln g/∂α = ψ(α+N) − ψ(α) + r(1 + T)          ∂ ln g/∂β = α u (1 + T) − N/(β+E)
    /// ∂² ln g/∂α² = ψ′(α+N) − ψ′(α) + T(1+T) r²
    /// ∂² ln g/∂α∂β = u (1 + T) + T(1+T) r α u
    /// ∂² ln g/∂β² = −α u (1/β + 1/(β+E)) (1 + T) + N/(β+E)² + T(1+T) (α u)²
    /// ```
    /// (T = 0 without truncation). Checked against central differences of the gradient in the tests.
    pub fn value_gradient_hessian(&self, prior: &GammaMixturePrior) -> Derivatives {
        self.evaluate(prior, Order::Hessian)
    }

    fn evaluate(&self, prior: &GammaMixturePrior, order: Order) -> Derivatives {
        if !prior.is_valid() {
            return Derivatives {
                value: f64::INFINITY,
                gradient: [f64::NAN; 5],
                hessian: [[f64::NAN; 5]; 5],
            };
        }
        let t1 = ComponentTable::new(prior.alpha1, &self.distinct_n, order);
        let t2 = ComponentTable::new(prior.alpha2, &self.distinct_n, order);
        let n_chunks = self.len().div_ceil(CHUNK);
        // Chunks on rayon's pool (work stealing balances them over the cores, also when several
        // starts evaluate at once); `collect` keeps chunk order, so the sum below does not depend
        // on the number of threads.
        let partials: Vec<Partial> = if n_chunks <= 1 {
            (0..n_chunks)
                .map(|c| self.chunk(c, prior, &t1, &t2, order))
                .collect()
        } else {
            (0..n_chunks)
                .into_par_iter()
                .map(|c| self.chunk(c, prior, &t1, &t2, order))
                .collect()
        };
        let mut total = Partial {
            ll: self.constant,
            ..Partial::default()
        };
        for p in &partials {
            neumaier_add(&mut total.ll, &mut total.ll_carry, p.ll);
            neumaier_add(&mut total.ll, &mut total.ll_carry, p.ll_carry);
            for k in 0..5 {
                total.g[k] += p.g[k];
            }
            for k in 0..15 {
                total.h[k] += p.h[k];
            }
        }
        // The symmetric Hessian from its packed upper triangle.
        let hessian: [[f64; 5]; 5] =
            std::array::from_fn(|i| std::array::from_fn(|j| -total.h[upper(i.min(j), i.max(j))]));
        Derivatives {
            value: -(total.ll + total.ll_carry),
            gradient: total.g.map(|g| -g),
            hessian,
        }
    }

    /// Log-likelihood (without the θ-free constant) and its derivatives over one chunk.
    fn chunk(
        &self,
        c: usize,
        prior: &GammaMixturePrior,
        t1: &ComponentTable,
        t2: &ComponentTable,
        order: Order,
    ) -> Partial {
        let GammaMixturePrior {
            alpha1: a1,
            beta1: b1,
            alpha2: a2,
            beta2: b2,
            p,
        } = *prior;
        let q = 1.0 - p;
        let (ln_b1, ln_b2) = (b1.ln(), b2.ln());
        let (inv_b1, inv_b2) = (1.0 / b1, 1.0 / b2);
        let (ln_p, ln_q) = (p.ln(), (-p).ln_1p());
        let inv_pq = 1.0 / (p * q);
        let truncated = self.truncation == Truncation::ZeroTruncated;
        let lo = c * CHUNK;
        let hi = (lo + CHUNK).min(self.len());
        let mut acc = Partial::default();
        for i in lo..hi {
            let e = self.e[i];
            let w = self.w[i];
            let k = self.n_index[i] as usize;
            let n = self.distinct_n[k];
            let (lg1, s1, h1) = component(a1, b1, inv_b1, ln_b1, t1, k, n, e, truncated, order);
            let (lg2, s2, h2) = component(a2, b2, inv_b2, ln_b2, t2, k, n, e, truncated, order);
            // ln L = ln(P g1 + Q g2) by log-sum-exp: one exp and one ln_1p.
            let x1 = ln_p + lg1;
            let x2 = ln_q + lg2;
            let (hi_x, d) = if x1 >= x2 {
                (x1, x2 - x1)
            } else {
                (x2, x1 - x2)
            };
            let ed = d.exp();
            neumaier_add(&mut acc.ll, &mut acc.ll_carry, w * (hi_x + ed.ln_1p()));
            if order == Order::Value {
                continue;
            }
            // Posterior component weights.
            let (w1, w2) = if x1 >= x2 {
                (1.0 / (1.0 + ed), ed / (1.0 + ed))
            } else {
                (ed / (1.0 + ed), 1.0 / (1.0 + ed))
            };
            let gp = w1 / p - w2 / q;
            acc.g[0] += w * w1 * s1[0];
            acc.g[1] += w * w1 * s1[1];
            acc.g[2] += w * w2 * s2[0];
            acc.g[3] += w * w2 * s2[1];
            acc.g[4] += w * gp;
            if order == Order::Hessian {
                let ww = w * w1 * w2;
                let h = &mut acc.h;
                h[upper(0, 0)] += w * w1 * h1[0] + ww * s1[0] * s1[0];
                h[upper(0, 1)] += w * w1 * h1[1] + ww * s1[0] * s1[1];
                h[upper(1, 1)] += w * w1 * h1[2] + ww * s1[1] * s1[1];
                h[upper(2, 2)] += w * w2 * h2[0] + ww * s2[0] * s2[0];
                h[upper(2, 3)] += w * w2 * h2[1] + ww * s2[0] * s2[1];
                h[upper(3, 3)] += w * w2 * h2[2] + ww * s2[1] * s2[1];
                h[upper(0, 2)] -= ww * s1[0] * s2[0];
                h[upper(0, 3)] -= ww * s1[0] * s2[1];
                h[upper(1, 2)] -= ww * s1[1] * s2[0];
                h[upper(1, 3)] -= ww * s1[1] * s2[1];
                h[upper(0, 4)] += ww * s1[0] * inv_pq;
                h[upper(1, 4)] += ww * s1[1] * inv_pq;
                h[upper(2, 4)] -= ww * s2[0] * inv_pq;
                h[upper(3, 4)] -= ww * s2[1] * inv_pq;
                h[upper(4, 4)] -= w * gp * gp;
            }
        }
        acc
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data() -> CountData {
        CountData {
            n: vec![1.0, 1.0, 2.0, 5.0, 1.0, 3.0, 40.0],
            e: vec![0.01, 0.3, 0.2, 1.5, 2.0, 0.05, 10.0],
            w: vec![1.0, 2.0, 1.0, 1.0, 3.0, 1.0, 1.0],
        }
    }

    /// The same likelihood written term by term from the negative-binomial pmf, the way openEBGM's
    /// `negLLsquash` writes it with `dnbinom`/`pnbinom`.
    fn direct(prior: &GammaMixturePrior, d: &CountData, truncated: bool) -> f64 {
        let nb = |n: f64, a: f64, b: f64, e: f64| -> f64 {
            let prob: f64 = b / (b + e);
            (ln_gamma(a + n) - ln_gamma(a) - ln_gamma(n + 1.0)
                + a * prob.ln()
                + n * (1.0 - prob).ln())
            .exp()
        };
        let mut s = 0.0;
        for i in 0..d.len() {
            let (n, e, w) = (d.n[i], d.e[i], d.w[i]);
            let mut f1 = nb(n, prior.alpha1, prior.beta1, e);
            let mut f2 = nb(n, prior.alpha2, prior.beta2, e);
            if truncated {
                f1 /= 1.0 - nb(0.0, prior.alpha1, prior.beta1, e);
                f2 /= 1.0 - nb(0.0, prior.alpha2, prior.beta2, e);
            }
            s -= w * (prior.p * f1 + (1.0 - prior.p) * f2).ln();
        }
        s
    }

    /// ln Γ(α+N) − ln Γ(α) = Σⱼ ln(α+j), ψ(α+N) − ψ(α) = Σⱼ 1/(α+j) and ψ′(α+N) − ψ′(α) =
    /// −Σⱼ 1/(α+j)², j = 0…N−1 (the recurrences Γ(x+1) = xΓ(x), Abramowitz & Stegun 6.1.15, 6.3.5,
    /// and its derivative), summed with compensation: an independent value for every integer N.
    fn by_recurrence(alpha: f64, n: usize) -> [f64; 3] {
        let mut sums = [(0.0, 0.0); 3];
        for j in 0..n {
            let x = alpha + j as f64;
            for (k, term) in [x.ln(), 1.0 / x, -1.0 / (x * x)].into_iter().enumerate() {
                let (sum, carry) = &mut sums[k];
                neumaier_add(sum, carry, term);
            }
        }
        sums.map(|(sum, carry)| sum + carry)
    }

    #[test]
    fn gamma_differences_match_the_recurrences() {
        for alpha in [20.0, 27.25, 1e3, 44_553.0, 99_687.057_529, 1e5] {
            for n in [0, 1, 2, 3, 7, 40, 250] {
                let got = gamma_differences(alpha, n as f64);
                let want = by_recurrence(alpha, n);
                for k in 0..3 {
                    let tolerance = 4.0 * f64::EPSILON * want[k].abs();
                    assert!(
                        (got[k] - want[k]).abs() <= tolerance,
                        "α {alpha}, N {n}, difference {k}: {} against {}",
                        got[k],
                        want[k]
                    );
                }
            }
        }
    }

    #[test]
    fn ln_gamma_ratio_of_a_near_point_mass_is_exact_where_subtraction_is_not() {
        // N = 1: ln Γ(α+1) − ln Γ(α) = ln α exactly. At α = 99,687.057529 (the second component of
        // the fit of a 300,000-case synthetic store) ln Γ(α) ≈ 1.05e6, whose rounding alone (ulp
        // 1.2e-10) exceeds 1e-11 of ln α; the table's value is ln α to within 2 ulp of 11.5.
        let alpha: f64 = 99_687.057_529;
        let table = ComponentTable::new(alpha, &[1.0], Order::Hessian);
        assert!((table.ln_gamma_ratio[0] - alpha.ln()).abs() <= 2.0 * f64::EPSILON * alpha.ln());
        assert!((table.digamma_diff[0] - 1.0 / alpha).abs() <= 4.0 * f64::EPSILON / alpha);
        let want = -1.0 / (alpha * alpha);
        assert!((table.trigamma_diff[0] - want).abs() <= 4.0 * f64::EPSILON * want.abs());
    }

    #[test]
    fn value_matches_the_pmf_written_out() {
        let prior = GammaMixturePrior {
            alpha1: 0.7,
            beta1: 0.2,
            alpha2: 3.0,
            beta2: 2.5,
            p: 0.3,
        };
        for (trunc, flag) in [(Truncation::ZeroTruncated, true), (Truncation::None, false)] {
            let nll = NegLogLikelihood::new(&data(), trunc);
            let v = nll.value(&prior);
            let d = direct(&prior, &data(), flag);
            assert!(((v - d) / d).abs() < 1e-13, "{trunc:?}: {v} vs {d}");
        }
    }

    #[test]
    fn gradient_matches_central_differences() {
        let prior = GammaMixturePrior {
            alpha1: 0.7,
            beta1: 0.2,
            alpha2: 3.0,
            beta2: 2.5,
            p: 0.3,
        };
        for trunc in [Truncation::ZeroTruncated, Truncation::None] {
            let nll = NegLogLikelihood::new(&data(), trunc);
            let (_, g) = nll.value_and_gradient(&prior);
            let x = prior.to_array();
            for k in 0..5 {
                let h = 1e-6 * x[k];
                let mut up = x;
                up[k] += h;
                let mut dn = x;
                dn[k] -= h;
                let fd = (nll.value(&GammaMixturePrior::from_array(up))
                    - nll.value(&GammaMixturePrior::from_array(dn)))
                    / (2.0 * h);
                assert!(
                    (g[k] - fd).abs() < 1e-6 * (1.0 + fd.abs()),
                    "{trunc:?} k={k}: {} vs {fd}",
                    g[k]
                );
            }
        }
    }

    #[test]
    fn hessian_matches_central_differences_of_the_gradient() {
        // Includes a point with E ≪ β (r by ln_1p) and one with a large N.
        let mut d = data();
        d.n.push(2.0);
        d.e.push(1e-7);
        d.w.push(1.0);
        for prior in [
            GammaMixturePrior {
                alpha1: 0.7,
                beta1: 0.2,
                alpha2: 3.0,
                beta2: 2.5,
                p: 0.3,
            },
            GammaMixturePrior {
                alpha1: 0.05,
                beta1: 0.01,
                alpha2: 40.0,
                beta2: 35.0,
                p: 0.9,
            },
        ] {
            for trunc in [Truncation::ZeroTruncated, Truncation::None] {
                let nll = NegLogLikelihood::new(&d, trunc);
                let full = nll.value_gradient_hessian(&prior);
                let (v, g) = nll.value_and_gradient(&prior);
                assert_eq!(full.value, v);
                assert_eq!(full.gradient, g);
                let x = prior.to_array();
                for j in 0..5 {
                    let h = 1e-5 * x[j];
                    let mut up = x;
                    up[j] += h;
                    let mut dn = x;
                    dn[j] -= h;
                    let (_, gu) = nll.value_and_gradient(&GammaMixturePrior::from_array(up));
                    let (_, gd) = nll.value_and_gradient(&GammaMixturePrior::from_array(dn));
                    for i in 0..5 {
                        let fd = (gu[i] - gd[i]) / (2.0 * h);
                        let an = full.hessian[i][j];
                        assert!(
                            (an - fd).abs() < 1e-5 * (1.0 + fd.abs()),
                            "{trunc:?} {prior:?} H[{i}][{j}]: {an} vs {fd}"
                        );
                        assert_eq!(full.hessian[i][j], full.hessian[j][i]);
                    }
                }
            }
        }
    }

    #[test]
    fn merging_identical_points_keeps_the_likelihood() {
        let mut d = data();
        d.n.extend([1.0, 1.0]);
        d.e.extend([0.3, 0.01]);
        d.w.extend([1.0, 1.0]);
        let merged = d.merge_identical();
        assert_eq!(merged.len(), 7);
        let prior = GammaMixturePrior {
            alpha1: 0.7,
            beta1: 0.2,
            alpha2: 3.0,
            beta2: 2.5,
            p: 0.3,
        };
        let a = NegLogLikelihood::new(&d, Truncation::ZeroTruncated).value(&prior);
        let b = NegLogLikelihood::new(&merged, Truncation::ZeroTruncated).value(&prior);
        assert!(((a - b) / a).abs() < 1e-14);
    }
}
