//! False discovery rates over a whole table of scored pairs: the decision rules of PhViD.
//!
//! A score per pair is not a decision: screening 100,000 pairs at a per-pair 5 % level flags about
//! 5,000 of them by chance. PhViD (Ahmed et al. 2009, Stat Med 28:1774–1792, Bayesian methods;
//! Ahmed, Dalmasso et al. 2010, Biometrics 66:301–309, frequentist methods) turns each score
//! into a per-pair null quantity and controls the false discovery rate of the list of flagged
//! pairs:
//!
//! - PRR and ROR: a one-sided p-value per pair ([`prr_p_value`], [`ror_p_value`]), then
//!   Benjamini–Hochberg q-values over the family of pairs ([`benjamini_hochberg`]).
//! - IC and MGPS: the posterior probability of the null, P(λ ≤ 1 | data)
//!   ([`ic_posterior_null`], [`ebgm_posterior_null`]); the Bayesian FDR of the k pairs with the
//!   smallest posterior null probabilities is the mean of those k probabilities
//!   ([`bayes_fdr`]).
//!
//! The family (which pairs count in M and in the ranking) is the caller's choice; `vigil signals`
//! uses every observed pair of the table (docs/decision-rules.md).

use crate::incomplete_gamma::{incomplete_gamma, GammaShape};
use crate::mgps::posterior::PosteriorCache;
use crate::mgps::GammaMixturePrior;
use crate::table::ContingencyTable;

/// Benjamini–Hochberg q-values of a family of p-values.
#[derive(Debug, Clone, PartialEq)]
pub struct QValues {
    /// The q-value of each input p-value, in input order; NaN where the p-value is NaN.
    pub q: Vec<f64>,
    /// p-values that were NaN: left out of the family (they count neither in M nor in the ranks).
    pub excluded_nan: usize,
}

/// Benjamini–Hochberg adjusted p-values (q-values), the step-up procedure.
///
/// # Formula
/// With the M non-NaN p-values sorted, p₍₁₎ ≤ … ≤ p₍M₎:
/// ```text
/// q₍ᵢ₎ = min over j ≥ i of  min(1, M · p₍ⱼ₎ / j)
/// ```
/// (Benjamini & Hochberg 1995, J R Stat Soc B 57:289–300; the adjusted form of Yekutieli &
/// Benjamini 1999, as R's `p.adjust(method = "BH")` and scipy's `false_discovery_control`). The
/// pairs with q ≤ Q are exactly those the step-up procedure rejects at FDR level Q. The running
/// minimum from the top makes q monotone in p, and gives tied p-values the same q whatever their
/// input order.
///
/// NaN p-values are left out of the family and get a NaN q-value; their number is returned.
/// PhViD multiplies by an estimated null proportion π₀ (`LBE`); this is the π₀ = 1 case, which
/// controls the FDR without estimating π₀ and is never less conservative.
pub fn benjamini_hochberg(p: &[f64]) -> QValues {
    let order = sorted_indices(p);
    let excluded_nan = p.len() - order.len();
    let m = order.len() as f64;
    let mut q = vec![f64::NAN; p.len()];
    let mut running = 1.0f64;
    for (rank0, &(key, i)) in order.iter().enumerate().rev() {
        // The key holds p[i] exactly (read from it, not from p: no jump through memory).
        let p_i = crate::mgps::from_total_order_key(key);
        let adjusted = (m * p_i / (rank0 + 1) as f64).min(1.0);
        running = running.min(adjusted);
        q[i as usize] = running;
    }
    QValues { q, excluded_nan }
}

/// The non-NaN values of `x` as (order key, index), sorted by value then index, in parallel: a
/// contiguous sort of keys, not an indirect one (four sorts of millions of pairs per table).
fn sorted_indices(x: &[f64]) -> Vec<(u64, u32)> {
    use rayon::slice::ParallelSliceMut;
    assert!(x.len() < u32::MAX as usize, "more than 2^32 pairs");
    let mut keys: Vec<(u64, u32)> = x
        .iter()
        .enumerate()
        .filter(|(_, v)| !v.is_nan())
        .map(|(i, &v)| (crate::mgps::total_order_key(v), i as u32))
        .collect();
    keys.par_sort_unstable();
    keys
}

/// Upper-tail probability of the standard normal, 1 − Φ(z), to within an ulp or so of erfc.
pub fn normal_upper_tail(z: f64) -> f64 {
    0.5 * libm::erfc(z / std::f64::consts::SQRT_2)
}

/// PhViD's one-sided p-value of the PRR: H0 PRR ≤ 1 against PRR > 1.
///
/// # Formula (PhViD 1.0.8 `PRR`, `RR0 = 1`)
/// ```text
/// ln PRR = ln[(a/(a + b)) / (c/(c + d))],  Var = 1/a − 1/(a + b) + 1/c − 1/(c + d)
/// p = 1 − Φ(ln PRR / √Var)
/// ```
/// (the delta-method variance of ln PRR, as the PRR interval of
/// [`crate::disproportionality::prr`]; Ahmed, Dalmasso et al. 2010). NaN when a or c is 0 (ln PRR or its
/// variance is not finite): such a pair has no p-value and is left out of the BH family.
pub fn prr_p_value(t: &ContingencyTable) -> f64 {
    let (a, b, c, d) = (t.a, t.b, t.c, t.d);
    let ln_prr = ((a / (a + b)) / (c / (c + d))).ln();
    let var = 1.0 / a - 1.0 / (a + b) + 1.0 / c - 1.0 / (c + d);
    one_sided(ln_prr, var)
}

/// PhViD's one-sided p-value of the ROR: H0 ROR ≤ 1 against ROR > 1.
///
/// # Formula (PhViD 1.0.8 `ROR`, `RR0 = 1`)
/// ```text
/// ln ROR = ln(a·d/(b·c)),  Var = 1/a + 1/b + 1/c + 1/d  (Woolf)
/// p = 1 − Φ(ln ROR / √Var)
/// ```
/// NaN when any cell is 0 (no finite Woolf variance).
pub fn ror_p_value(t: &ContingencyTable) -> f64 {
    let (a, b, c, d) = (t.a, t.b, t.c, t.d);
    let ln_ror = (a * d / (b * c)).ln();
    let var = 1.0 / a + 1.0 / b + 1.0 / c + 1.0 / d;
    one_sided(ln_ror, var)
}

fn one_sided(estimate: f64, var: f64) -> f64 {
    if estimate.is_finite() && var.is_finite() && var > 0.0 {
        normal_upper_tail(estimate / var.sqrt())
    } else {
        f64::NAN
    }
}

/// Posterior probability of the null, P(λ ≤ 1 | a), under vigil's IC posterior.
///
/// # Formula
/// vigil's IC (`ic`, `ic025`, `ic975`: [`crate::disproportionality::information_component`]) is
/// log₂ of the observed-to-expected ratio λ with the posterior λ | a ~ Gamma(a + ½, rate E + ½)
/// (Norén, Hopstadius & Bate 2013, Stat Methods Med Res 22:57–69). Hence
/// ```text
/// P(IC ≤ 0 | a) = P(λ ≤ 1 | a) = P(a + ½, E + ½)
/// ```
/// with P the regularised lower incomplete gamma function. This is the exact posterior, not
/// PhViD's BCPNN normal approximation Φ(−E(IC)/√V(IC)) on its beta–Dirichlet posterior (the
/// `bcpnn_ic` column): the two differ most at small counts (docs/decision-rules.md).
pub fn ic_posterior_null(a: f64, expected: f64) -> f64 {
    if a.is_nan() || expected.is_nan() || a < 0.0 || expected < 0.0 {
        return f64::NAN;
    }
    incomplete_gamma(&GammaShape::new(a + 0.5), expected + 0.5).p
}

/// Posterior probability of the null, P(λ ≤ 1 | N), under the MGPS posterior.
///
/// # Formula
/// The posterior of λ is the gamma mixture Qn·Gamma(α1 + N, β1 + E) + (1 − Qn)·Gamma(α2 + N,
/// β2 + E) (rates; DuMouchel 1999, Am Stat 53:177–190), so
/// ```text
/// P(λ ≤ 1 | N) = Qn·P(α1 + N, β1 + E) + (1 − Qn)·P(α2 + N, β2 + E)
/// ```
/// with P the regularised lower incomplete gamma function: the mixture CDF at 1, PhViD's GPS
/// `post.H0` with `RR0 = 1` (Ahmed et al. 2009).
pub fn ebgm_posterior_null(prior: &GammaMixturePrior, n: f64, expected: f64) -> f64 {
    if n.is_nan() || expected.is_nan() || n < 0.0 || expected < 0.0 {
        return f64::NAN;
    }
    PosteriorCache::new(prior).null_probability(n, expected)
}

/// The Bayesian false discovery rate of the list that stops at each pair.
///
/// # Formula (Ahmed et al. 2009, PhViD `FDR = cumsum(sort(post.H0))/(1:k)`)
/// Rank the pairs by increasing posterior null probability π₍₁₎ ≤ π₍₂₎ ≤ …; the expected share of
/// false discoveries among the top k is
/// ```text
/// FDR(k) = (π₍₁₎ + … + π₍ₖ₎) / k
/// ```
/// Each pair gets FDR(k) of the shortest list that contains it and every pair tied with it (so
/// ties never depend on input order). FDR(k) never decreases with k, so the pairs with value ≤ Q
/// form the longest top-k list whose Bayesian FDR is ≤ Q. NaN inputs are left out (NaN output).
pub fn bayes_fdr(post_null: &[f64]) -> Vec<f64> {
    // Each key holds its value exactly (read from it, not from the input: no jump through memory).
    let order = sorted_indices(post_null);
    let value = |k: usize| crate::mgps::from_total_order_key(order[k].0);
    let mut out = vec![f64::NAN; post_null.len()];
    let mut sum = 0.0;
    let mut start = 0;
    while start < order.len() {
        let tie = value(start);
        let mut end = start;
        while end < order.len() && value(end) == tie {
            sum += tie;
            end += 1;
        }
        let fdr = sum / end as f64;
        for &(_, i) in &order[start..end] {
            out[i as usize] = fdr;
        }
        start = end;
    }
    out
}

/// The decision columns of a family of pairs, each in the family's order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FamilyFdr {
    /// PRR one-sided p-value ([`prr_p_value`]).
    pub prr_p: Vec<f64>,
    /// BH q-value of `prr_p` over the family.
    pub prr_q: Vec<f64>,
    /// ROR one-sided p-value ([`ror_p_value`]).
    pub ror_p: Vec<f64>,
    /// BH q-value of `ror_p` over the family.
    pub ror_q: Vec<f64>,
    /// P(λ ≤ 1) under the IC posterior ([`ic_posterior_null`]).
    pub ic_post_null: Vec<f64>,
    /// P(λ ≤ 1) under the MGPS posterior ([`ebgm_posterior_null`]); NaN without a prior.
    pub ebgm_post_null: Vec<f64>,
    /// Bayesian FDR of the IC ranking ([`bayes_fdr`] of `ic_post_null`).
    pub fdr_bayes_ic: Vec<f64>,
    /// Bayesian FDR of the MGPS ranking ([`bayes_fdr`] of `ebgm_post_null`).
    pub fdr_bayes_ebgm: Vec<f64>,
    /// Pairs without a PRR p-value (left out of the PRR family).
    pub prr_excluded: usize,
    /// Pairs without a ROR p-value (left out of the ROR family).
    pub ror_excluded: usize,
}

impl FamilyFdr {
    /// The eight columns of row `i`, in the order prr_p, prr_q, ror_p, ror_q, ic_post_null,
    /// ebgm_post_null, fdr_bayes_ic, fdr_bayes_ebgm.
    pub fn row(&self, i: usize) -> [f64; 8] {
        [
            self.prr_p[i],
            self.prr_q[i],
            self.ror_p[i],
            self.ror_q[i],
            self.ic_post_null[i],
            self.ebgm_post_null[i],
            self.fdr_bayes_ic[i],
            self.fdr_bayes_ebgm[i],
        ]
    }

    /// The rows `keep`, in that order (the family-wide values are kept as computed).
    pub fn select(&self, keep: &[usize]) -> FamilyFdr {
        let pick = |v: &[f64]| keep.iter().map(|&i| v[i]).collect::<Vec<_>>();
        FamilyFdr {
            prr_p: pick(&self.prr_p),
            prr_q: pick(&self.prr_q),
            ror_p: pick(&self.ror_p),
            ror_q: pick(&self.ror_q),
            ic_post_null: pick(&self.ic_post_null),
            ebgm_post_null: pick(&self.ebgm_post_null),
            fdr_bayes_ic: pick(&self.fdr_bayes_ic),
            fdr_bayes_ebgm: pick(&self.fdr_bayes_ebgm),
            prr_excluded: self.prr_excluded,
            ror_excluded: self.ror_excluded,
        }
    }
}

/// Every decision column of a family of pairs given by its counts a, margins and expected counts
/// (as [`crate::score::score_pairs`] takes them), spread over the available cores.
///
/// The posterior null probabilities depend on a pair only through (N, E), so they are computed
/// once per distinct (N, E).
pub fn family_fdr(
    a: &[f64],
    n_drug: &[f64],
    n_event: &[f64],
    n_total: &[f64],
    expected: &[f64],
    prior: Option<&GammaMixturePrior>,
) -> FamilyFdr {
    use rayon::prelude::*;
    let len = a.len();
    assert!(
        n_drug.len() == len
            && n_event.len() == len
            && n_total.len() == len
            && expected.len() == len
    );
    let (prr_p, ror_p): (Vec<f64>, Vec<f64>) = (0..len)
        .into_par_iter()
        .map(|i| {
            let t = ContingencyTable::from_margins(a[i], n_drug[i], n_event[i], n_total[i]);
            (prr_p_value(&t), ror_p_value(&t))
        })
        .unzip();
    // Both posterior null probabilities depend on a pair only through (N, E): solve each distinct
    // (N, E) once (unstratified tables repeat them massively), then copy the values to its pairs.
    // The pairs are sorted with their index, so that each one's distinct point is known from the
    // sort itself: looking every pair's key up again (a binary search per pair, a cache miss at
    // nearly every step) cost more than solving the points.
    use crate::mgps::{from_total_order_key, total_order_key};
    assert!(len < u32::MAX as usize, "more than 2^32 pairs");
    let mut keyed: Vec<(u64, u64, u32)> = (0..len)
        .into_par_iter()
        .map(|i| {
            (
                total_order_key(a[i]),
                total_order_key(expected[i]),
                i as u32,
            )
        })
        .collect();
    keyed.par_sort_unstable();
    // The distinct (N, E) in sorted order, and where each one's pairs start in `keyed`.
    let mut keys: Vec<(u64, u64)> = Vec::new();
    let mut run_starts: Vec<usize> = Vec::new();
    for (k, &(nk, ek, _)) in keyed.iter().enumerate() {
        if keys.last() != Some(&(nk, ek)) {
            keys.push((nk, ek));
            run_starts.push(k);
        }
    }
    run_starts.push(len);
    // Keys are sorted by N first: per chunk, the count terms of each N are computed once (the
    // MGPS posterior cache) and so is the IC's posterior shape a + ½.
    let values: Vec<(f64, f64)> = keys
        .par_chunks(4096)
        .flat_map_iter(|chunk| {
            let mut cache = prior.map(PosteriorCache::new);
            let mut ic_shape: Option<(u64, GammaShape)> = None;
            chunk
                .iter()
                .map(|&(nk, ek)| {
                    let (n, e) = (from_total_order_key(nk), from_total_order_key(ek));
                    if !(n >= 0.0 && e >= 0.0) {
                        return (f64::NAN, f64::NAN);
                    }
                    let shape = match ic_shape {
                        Some((k, s)) if k == nk => s,
                        _ => {
                            let s = GammaShape::new(n + 0.5);
                            ic_shape = Some((nk, s));
                            s
                        }
                    };
                    (
                        incomplete_gamma(&shape, e + 0.5).p,
                        cache
                            .as_mut()
                            .map_or(f64::NAN, |c| c.null_probability(n, e)),
                    )
                })
                .collect::<Vec<_>>()
        })
        .collect();
    let mut ic_post_null = vec![f64::NAN; len];
    let mut ebgm_post_null = vec![f64::NAN; len];
    for (d, &(ic, ebgm)) in values.iter().enumerate() {
        for &(_, _, i) in &keyed[run_starts[d]..run_starts[d + 1]] {
            ic_post_null[i as usize] = ic;
            ebgm_post_null[i as usize] = ebgm;
        }
    }
    // Four independent rankings of the whole family: side by side on the cores (each one's
    // sort is parallel, its pass over the ranks serial).
    let ((prr_bh, ror_bh), (fdr_bayes_ic, fdr_bayes_ebgm)) = rayon::join(
        || rayon::join(|| benjamini_hochberg(&prr_p), || benjamini_hochberg(&ror_p)),
        || rayon::join(|| bayes_fdr(&ic_post_null), || bayes_fdr(&ebgm_post_null)),
    );
    FamilyFdr {
        prr_p,
        prr_q: prr_bh.q,
        ror_p,
        ror_q: ror_bh.q,
        ic_post_null,
        ebgm_post_null,
        fdr_bayes_ic,
        fdr_bayes_ebgm,
        prr_excluded: prr_bh.excluded_nan,
        ror_excluded: ror_bh.excluded_nan,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bh_worked_example() {
        // M = 5 sorted p: 0.001, 0.008, 0.039, 0.041, 0.6.
        // M·p/rank: 0.005, 0.02, 0.065, 0.05125, 0.6; the running minimum from the top gives
        // q = 0.005, 0.02, 0.05125, 0.05125, 0.6 (the third takes the fourth's 0.05125).
        // Input out of order, with a NaN that must stay out of M.
        let p = [0.041, 0.6, f64::NAN, 0.001, 0.039, 0.008];
        let r = benjamini_hochberg(&p);
        assert_eq!(r.excluded_nan, 1);
        let want = [0.05125, 0.6, f64::NAN, 0.005, 0.05125, 0.02];
        for (got, want) in r.q.iter().zip(want) {
            if want.is_nan() {
                assert!(got.is_nan());
            } else {
                assert!((got - want).abs() < 1e-15, "{got} vs {want}");
            }
        }
    }

    #[test]
    fn bh_ties_share_a_q_value_and_cap_at_one() {
        // M = 4: p = 0.02, 0.02, 0.02, 0.9. Ranks 1–3 give 0.08, 0.04, 0.02·4/3 = 0.02667; the
        // running minimum gives all three 0.02667. Rank 4: min(1, 4·0.9/4) = 0.9.
        let r = benjamini_hochberg(&[0.02, 0.9, 0.02, 0.02]);
        let tie = 0.02 * 4.0 / 3.0;
        assert!((r.q[0] - tie).abs() < 1e-15);
        assert_eq!(r.q[0], r.q[2]);
        assert_eq!(r.q[0], r.q[3]);
        assert!((r.q[1] - 0.9).abs() < 1e-15);
        // 4·0.5/1 = 2 is capped at 1.
        assert_eq!(benjamini_hochberg(&[0.5]).q[0], 0.5);
        assert_eq!(benjamini_hochberg(&[0.9, 0.95]).q, vec![0.95, 0.95]);
    }

    #[test]
    fn bh_matches_scipy() {
        // scipy 1.17.1: scipy.stats.false_discovery_control(p, method='bh') with
        // p = [0.0001, 0.0004, 0.0019, 0.0095, 0.0201, 0.0278, 0.0298, 0.0344, 0.0459, 0.324,
        //      0.4262, 0.5719, 0.6528, 0.759, 1.0]  (Benjamini & Hochberg 1995, Table 1 example)
        let p = [
            0.0001, 0.0004, 0.0019, 0.0095, 0.0201, 0.0278, 0.0298, 0.0344, 0.0459, 0.324, 0.4262,
            0.5719, 0.6528, 0.759, 1.0,
        ];
        let scipy = [
            0.0015,
            0.003,
            0.0095,
            0.035625,
            0.0603,
            0.06385714285714286,
            0.06385714285714286,
            0.0645,
            0.07650000000000001,
            0.486,
            0.5811818181818181,
            0.7148749999999999,
            0.7532307692307693,
            0.8132142857142857,
            1.0,
        ];
        let r = benjamini_hochberg(&p);
        for (got, want) in r.q.iter().zip(scipy) {
            assert!((got - want).abs() < 1e-15, "{got} vs {want}");
        }
    }

    #[test]
    fn prr_and_ror_p_values_worked_example() {
        // a = 20, b = 180, c = 400, d = 39400 (the table of disproportionality's tests).
        // ln PRR = ln 9.95 = 2.2975725, SE = 0.2178872974 → z = 10.5447751.
        let t = ContingencyTable::new(20.0, 180.0, 400.0, 39400.0);
        let z_prr =
            9.95f64.ln() / (1.0f64 / 20.0 - 1.0 / 200.0 + 1.0 / 400.0 - 1.0 / 39800.0).sqrt();
        assert!((z_prr - 10.544775113098423).abs() < 1e-12, "{z_prr}");
        // scipy 1.17.1: norm.sf(10.544775113098423) = 2.6850588378885764e-26
        let p = prr_p_value(&t);
        assert!((p / 2.6850588378885764e-26 - 1.0).abs() < 1e-9, "{p}");
        // ln ROR = ln(20·39400/(180·400)) = ln 10.944444, SE = √(1/20 + 1/180 + 1/400 + 1/39400)
        // scipy 1.17.1: norm.sf(np.log(788000/72000)/np.sqrt(1/20+1/180+1/400+1/39400))
        //   = 1.5604251169442815e-23 (z = 9.928768812037886)
        let p = ror_p_value(&t);
        assert!((p / 1.5604251169442815e-23 - 1.0).abs() < 1e-9, "{p}");
        // A pair at PRR = 1 exactly has p = ½: a = 10, b = 90, c = 100, d = 900.
        let even = ContingencyTable::new(10.0, 90.0, 100.0, 900.0);
        assert!((prr_p_value(&even) - 0.5).abs() < 1e-15);
        assert!((ror_p_value(&even) - 0.5).abs() < 1e-15);
        // c = 0: no p-value.
        assert!(prr_p_value(&ContingencyTable::new(3.0, 10.0, 0.0, 100.0)).is_nan());
        assert!(ror_p_value(&ContingencyTable::new(3.0, 0.0, 5.0, 100.0)).is_nan());
    }

    #[test]
    fn posterior_null_probabilities_match_mpmath() {
        // IC: P(λ ≤ 1) for λ ~ Gamma(a + ½, rate E + ½); mpmath 1.3.0 at 30 digits,
        // gammainc(a+0.5, 0, E+0.5, regularized=True):
        //   a = 3, E = 1.2  → 0.154298898566933419876771554235
        //   a = 0, E = 2.0  → 0.974652681322531736068396304199
        for (a, e, want) in [
            (3.0, 1.2, 0.154_298_898_566_933_4),
            (0.0, 2.0, 0.9746526813225317),
        ] {
            let got = ic_posterior_null(a, e);
            assert!((got - want).abs() < 1e-13, "{a} {e}: {got} vs {want}");
        }
        // MGPS: PhViD's starting prior (α1 0.2, β1 0.06, α2 1.4, β2 1.8, P 0.1), N = 4, E = 0.8.
        // mpmath 1.3.0 (mp.dps = 30): f_k = NB(N; α_k, β_k/(β_k+E)) densities,
        // Qn = P f1/(P f1 + (1−P) f2), post.H0 = Qn·gammainc(α1+N, 0, β1+E, regularized=True)
        //   + (1−Qn)·gammainc(α2+N, 0, β2+E, regularized=True) = 0.0680715243214352808209800814719
        let prior = GammaMixturePrior {
            alpha1: 0.2,
            beta1: 0.06,
            alpha2: 1.4,
            beta2: 1.8,
            p: 0.1,
        };
        let got = ebgm_posterior_null(&prior, 4.0, 0.8);
        assert!((got - 0.06807152432143528).abs() < 1e-13, "{got}");
    }

    #[test]
    fn family_columns_are_the_per_pair_functions_whatever_the_repeats() {
        // Distinct (N, E) are solved once and copied to their pairs: each pair's posterior null
        // probabilities must be exactly those of the per-pair functions (checked against mpmath
        // above), with repeated (N, E) scattered through the input, a zero count and a NaN.
        let prior = GammaMixturePrior {
            alpha1: 0.2,
            beta1: 0.06,
            alpha2: 1.4,
            beta2: 1.8,
            p: 0.1,
        };
        // (a, n_drug, n_event, n_total): E = n_drug·n_event/n_total repeats across margins.
        let rows = [
            (4.0, 40.0, 20.0, 1000.0),
            (1.0, 10.0, 10.0, 1000.0),
            (4.0, 20.0, 40.0, 1000.0),
            (0.0, 50.0, 30.0, 1000.0),
            (1.0, 10.0, 10.0, 1000.0),
            (7.0, 100.0, 90.0, 1000.0),
            (4.0, 40.0, 20.0, 1000.0),
            (f64::NAN, 10.0, 10.0, 1000.0),
            (1.0, 5.0, 20.0, 1000.0),
        ];
        let a: Vec<f64> = rows.iter().map(|r| r.0).collect();
        let n_drug: Vec<f64> = rows.iter().map(|r| r.1).collect();
        let n_event: Vec<f64> = rows.iter().map(|r| r.2).collect();
        let n_total: Vec<f64> = rows.iter().map(|r| r.3).collect();
        let expected: Vec<f64> = rows.iter().map(|r| r.1 * r.2 / r.3).collect();
        let f = family_fdr(&a, &n_drug, &n_event, &n_total, &expected, Some(&prior));
        for i in 0..rows.len() {
            let (ic, ebgm) = (
                ic_posterior_null(a[i], expected[i]),
                ebgm_posterior_null(&prior, a[i], expected[i]),
            );
            assert_eq!(f.ic_post_null[i].to_bits(), ic.to_bits(), "row {i}: {ic}");
            assert_eq!(
                f.ebgm_post_null[i].to_bits(),
                ebgm.to_bits(),
                "row {i}: {ebgm}"
            );
        }
        assert!(f.ic_post_null[7].is_nan() && f.ebgm_post_null[7].is_nan());
        let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&f.fdr_bayes_ic), bits(&bayes_fdr(&f.ic_post_null)));
    }

    #[test]
    fn bayes_fdr_is_the_running_mean_of_sorted_null_probabilities() {
        // Sorted: 0.01, 0.02, 0.03 (twice), 0.5. Running means: 0.01, 0.015, then the tie group
        // ends at k = 4 with (0.01 + 0.02 + 0.03 + 0.03)/4 = 0.0225, then 0.59/5 = 0.118.
        let pi = [0.03, 0.5, 0.01, f64::NAN, 0.03, 0.02];
        let f = bayes_fdr(&pi);
        let want = [0.0225, 0.118, 0.01, f64::NAN, 0.0225, 0.015];
        for (got, want) in f.iter().zip(want) {
            if want.is_nan() {
                assert!(got.is_nan());
            } else {
                assert!((got - want).abs() < 1e-15, "{got} vs {want}");
            }
        }
    }
}
