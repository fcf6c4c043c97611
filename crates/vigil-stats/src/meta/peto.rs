//! Peto's one-step pooled odds ratio (metafor `rma.peto`).

use super::effect::{corrected_tables, escalc, Measure, Table2x2};
use super::mh::{finish, PooledFit, PooledOptions};
use super::MetaError;

/// Peto's pooled log odds ratio.
///
/// # Formula
/// Per table `O = a`, `E = (a+c) n1/N`, `V = (a+c)(b+d) n1 n2 / (N²(N−1))`;
/// `β = Σ(O−E)/ΣV`, `SE = 1/√ΣV`, weights `V/ΣV`,
/// `QE = Σ(O−E)²/V − (Σ(O−E))²/ΣV` over tables with `V > 0`, df `k_yi − 1`.
///
/// # Defaults
/// As [`PooledOptions::default`]: the pooled estimate uses raw counts; the per-study log Peto ORs
/// shown get the 1/2 correction in tables with a zero (metafor).
///
/// # Edge cases
/// `MetaError::NoInformation` when ΣV = 0.
///
/// # References
/// Yusuf S, Peto R, Lewis J, Collins R, Sleight P (1985) Prog Cardiovasc Dis 27:335–371;
/// metafor documentation `rma.peto`.
pub fn rma_peto(tables: &[Table2x2], opts: &PooledOptions) -> Result<PooledFit, MetaError> {
    let study = escalc(Measure::PETO, tables, &opts.study_options());
    let corrected = corrected_tables(tables, &opts.pooled_options());
    let k = corrected.iter().flatten().count();
    let (mut sum_oe, mut sum_v, mut sum_q, mut k_pos) = (0.0, 0.0, 0.0, 0usize);
    // One weight per input table; NaN where drop00[1] left the table out.
    let mut weights = Vec::with_capacity(tables.len());
    for t in &corrected {
        let Some(t) = t else {
            weights.push(f64::NAN);
            continue;
        };
        let (n1, n2) = (t.n1(), t.n2());
        let n = n1 + n2;
        let m1 = t.ai + t.ci;
        let m2 = t.bi + t.di;
        let oe = t.ai - m1 * n1 / n;
        let v = m1 * m2 * (n1 / n) * (n2 / n) / (n - 1.0);
        weights.push(if v > 0.0 { v } else { 0.0 });
        if v > 0.0 {
            k_pos += 1;
            sum_oe += oe;
            sum_v += v;
            sum_q += oe * oe / v;
        }
    }
    if !(sum_v > 0.0) {
        return Err(MetaError::NoInformation);
    }
    let beta = sum_oe / sum_v;
    let qe = sum_q - sum_oe * sum_oe / sum_v;
    let mut fit = finish(
        Measure::PETO,
        k,
        Some(k_pos),
        beta,
        1.0 / sum_v.sqrt(),
        Some(qe),
        weights,
        study,
        opts.level,
        None,
    );
    fit.measure = Measure::PETO;
    Ok(fit)
}
