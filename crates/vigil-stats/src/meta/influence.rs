//! Leave-one-out and cumulative meta-analysis (metafor `leave1out`, `cumul`): the same model refitted
//! on subsets of the studies.

use super::mh::PooledFit;
use super::rma::RmaFit;
use super::MetaError;

/// One refit's summary (metafor's `leave1out`/`cumul` columns).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct InfluenceRow {
    /// Pooled estimate.
    pub estimate: f64,
    /// Its standard error.
    pub se: f64,
    /// Test statistic (t under Knapp–Hartung).
    pub zval: f64,
    /// p-value.
    pub pval: f64,
    /// Confidence bound.
    pub ci_lb: f64,
    /// Confidence bound.
    pub ci_ub: f64,
    /// Cochran's Q.
    pub q: f64,
    /// Its p-value.
    pub qp: f64,
    /// τ² (None for MH and Peto models).
    pub tau2: Option<f64>,
    /// I² (percent).
    pub i2: f64,
    /// H².
    pub h2: f64,
}

impl From<&RmaFit> for InfluenceRow {
    fn from(f: &RmaFit) -> Self {
        InfluenceRow {
            estimate: f.beta[0],
            se: f.se[0],
            zval: f.zval[0],
            pval: f.pval[0],
            ci_lb: f.ci_lb[0],
            ci_ub: f.ci_ub[0],
            q: f.qe,
            qp: f.qe_p,
            tau2: Some(f.tau2),
            i2: f.i2,
            h2: f.h2,
        }
    }
}

impl From<&PooledFit> for InfluenceRow {
    fn from(f: &PooledFit) -> Self {
        InfluenceRow {
            estimate: f.beta,
            se: f.se,
            zval: f.zval,
            pval: f.pval,
            ci_lb: f.ci_lb,
            ci_ub: f.ci_ub,
            q: f.qe,
            qp: f.qe_p,
            tau2: None,
            i2: f.i2,
            h2: f.h2,
        }
    }
}

/// Leave-one-out: row i is the model refitted without study i.
///
/// # Formula
/// `refit(S \ {i})` for each study i, with the same method and test (the caller's closure).
///
/// # Defaults
/// As metafor `leave1out`: same model options as the full fit.
///
/// # Edge cases
/// A refit that fails (e.g. too few studies) is returned as its error, in its row.
///
/// # References
/// Viechtbauer W, Cheung MW-L (2010) Res Synth Methods 1:112–125; metafor documentation `leave1out`.
pub fn leave1out<F>(k: usize, mut refit: F) -> Vec<Result<InfluenceRow, MetaError>>
where
    F: FnMut(&[usize]) -> Result<InfluenceRow, MetaError>,
{
    (0..k)
        .map(|i| {
            let keep: Vec<usize> = (0..k).filter(|&j| j != i).collect();
            refit(&keep)
        })
        .collect()
}

/// The stable ordering of studies by a key (R's `order()`: ties keep the data order).
pub fn stable_order(key: &[f64]) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..key.len()).collect();
    idx.sort_by(|&a, &b| {
        key[a]
            .partial_cmp(&key[b])
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    idx
}

/// Cumulative meta-analysis: row j is the model fitted to the first j studies of `order`.
///
/// # Formula
/// `refit({order[0], …, order[j]})` for j = 0 … k−1.
///
/// # Defaults
/// As metafor `cumul(res, order = var)`: stable sort by the variable (see [`stable_order`]).
///
/// # Edge cases
/// The first row is a single study: τ² = 0, Q = 0, Q p-value 1, I² = 0, H² = 1.
///
/// # References
/// Lau J et al. (1992) N Engl J Med 327:248–254; metafor documentation `cumul`.
pub fn cumulative<F>(order: &[usize], mut refit: F) -> Vec<Result<InfluenceRow, MetaError>>
where
    F: FnMut(&[usize]) -> Result<InfluenceRow, MetaError>,
{
    (1..=order.len()).map(|j| refit(&order[..j])).collect()
}
