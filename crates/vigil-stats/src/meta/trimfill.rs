//! Trim-and-fill (metafor `trimfill`): estimates the number of studies missing on one side of the
//! funnel plot, fills their mirror images, and refits.

use super::linalg::Matrix;
use super::rma::{fit, RmaFit, RmaOptions, Test};
use super::MetaError;

/// Estimator of the number of missing studies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Estimator {
    /// L0 (default).
    L0,
    /// R0.
    R0,
}

/// Side of the funnel plot on which studies are missing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// Missing on the left (small studies with small effects suppressed).
    Left,
    /// Missing on the right.
    Right,
}

impl Side {
    /// metafor's name.
    pub fn name(&self) -> &'static str {
        match self {
            Side::Left => "left",
            Side::Right => "right",
        }
    }
}

/// Result of trim-and-fill.
#[derive(Debug, Clone)]
pub struct TrimFill {
    /// Estimated number of missing studies.
    pub k0: usize,
    /// Its standard error.
    pub se_k0: f64,
    /// Side of the missing studies.
    pub side: Side,
    /// The model refitted on observed + filled studies (method and test of the input).
    pub fit: RmaFit,
    /// Effects after filling (observed first, then the filled ones).
    pub yi: Vec<f64>,
    /// Variances after filling.
    pub vi: Vec<f64>,
    /// Whether each study is a filled one.
    pub filled: Vec<bool>,
}

/// Trim-and-fill of an intercept-only model.
///
/// # Formula
/// Side: from the sign of the slope of the meta-regression of yi on √vi (negative → right).
/// On the side's scale (yi negated for "right"), with the studies sorted by yi, iterate: fit the
/// model to the k − k0 smallest, centre all yi on its estimate β̂, rank |yi − β̂| (ties by position),
/// `T = Σ` signed ranks of positive deviations;
/// L0: `k0 = (4T − k(k+1))/(2k − 1)`, `se = 4√Var/(2k−1)`,
/// `Var = (k(k+1)(2k+1) + 10k0³ + 27k0² + 17k0 − 18k k0² − 18k k0 + 6k² k0)/24`;
/// R0: `k0 = k − γ − 1` with γ the largest negative rank, `se = √(2 max(0,k0) + 2)`;
/// k0 rounded and floored at 0, until it stops changing. Fill `2β̂ − yj` for the k0 largest yj (then
/// negated back for "right"), with their variances, and refit.
///
/// # Defaults
/// L0, side estimated, model options of the input (metafor).
///
/// # Edge cases
/// k0 = 0 returns the refitted original data. Needs k ≥ 3.
///
/// # Algorithm
/// At most 100 iterations (metafor's `maxiter`).
///
/// # References
/// Duval S, Tweedie R (2000) Biometrics 56:455–463 and J Am Stat Assoc 95:89–98; metafor
/// documentation `trimfill`.
pub fn trimfill(
    yi: &[f64],
    vi: &[f64],
    options: RmaOptions,
    estimator: Estimator,
    side: Option<Side>,
) -> Result<TrimFill, MetaError> {
    let k = yi.len();
    if k < 3 {
        return Err(MetaError::TooFewStudies { needed: 3, got: k });
    }
    let side = match side {
        Some(s) => s,
        None => {
            let x = Matrix::from_rows(&vi.iter().map(|v| vec![1.0, v.sqrt()]).collect::<Vec<_>>());
            let opts = RmaOptions {
                test: Test::Z,
                ..options
            };
            let f = fit(yi, vi, Some(&x), opts)?;
            if f.beta[1] < 0.0 {
                Side::Right
            } else {
                Side::Left
            }
        }
    };
    let sign = if side == Side::Right { -1.0 } else { 1.0 };
    let mut idx: Vec<usize> = (0..k).collect();
    let flipped: Vec<f64> = yi.iter().map(|y| sign * y).collect();
    idx.sort_by(|&a, &b| {
        flipped[a]
            .partial_cmp(&flipped[b])
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    let ys: Vec<f64> = idx.iter().map(|&i| flipped[i]).collect();
    let vs: Vec<f64> = idx.iter().map(|&i| vi[i]).collect();
    let kf = k as f64;
    let mut k0: usize = 0;
    let mut prev: Option<usize> = None;
    let mut se_k0 = f64::NAN;
    let mut beta = 0.0;
    let mut iter = 0;
    while prev != Some(k0) {
        prev = Some(k0);
        iter += 1;
        if iter > 100 {
            return Err(MetaError::NoConvergence("trim-and-fill"));
        }
        let m = k - k0;
        beta = fit(&ys[..m], &vs[..m], None, options)?.beta[0];
        let dev: Vec<f64> = ys.iter().map(|y| y - beta).collect();
        // Ranks of |deviation|, ties broken by position (R rank(ties.method = "first")).
        let mut order: Vec<usize> = (0..k).collect();
        order.sort_by(|&a, &b| {
            dev[a]
                .abs()
                .partial_cmp(&dev[b].abs())
                .unwrap_or(std::cmp::Ordering::Equal)
        });
        let mut rank = vec![0.0; k];
        for (r, &i) in order.iter().enumerate() {
            rank[i] = (r + 1) as f64;
        }
        let signed: Vec<f64> = (0..k).map(|i| dev[i].signum() * rank[i]).collect();
        let est = match estimator {
            Estimator::L0 => {
                let sr: f64 = signed.iter().filter(|r| **r > 0.0).sum();
                let k0e = (4.0 * sr - kf * (kf + 1.0)) / (2.0 * kf - 1.0);
                let var = (kf * (kf + 1.0) * (2.0 * kf + 1.0)
                    + 10.0 * k0e.powi(3)
                    + 27.0 * k0e.powi(2)
                    + 17.0 * k0e
                    - 18.0 * kf * k0e.powi(2)
                    - 18.0 * kf * k0e
                    + 6.0 * kf * kf * k0e)
                    / 24.0;
                se_k0 = 4.0 * var.sqrt() / (2.0 * kf - 1.0);
                k0e
            }
            Estimator::R0 => {
                let gamma = signed
                    .iter()
                    .filter(|r| **r < 0.0)
                    .map(|r| -r)
                    .fold(0.0, f64::max);
                let k0e = kf - gamma - 1.0;
                se_k0 = (2.0 * k0e.max(0.0) + 2.0).sqrt();
                k0e
            }
        };
        k0 = est.round().max(0.0).min((k - 1) as f64) as usize;
    }
    let mut y_all = yi.to_vec();
    let mut v_all = vi.to_vec();
    let mut filled = vec![false; k];
    for j in (k - k0)..k {
        y_all.push(sign * (2.0 * beta - ys[j]));
        v_all.push(vs[j]);
        filled.push(true);
    }
    let refit = fit(&y_all, &v_all, None, options)?;
    Ok(TrimFill {
        k0,
        se_k0,
        side,
        fit: refit,
        yi: y_all,
        vi: v_all,
        filled,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::meta::tau2::Method;

    // A funnel that is symmetric by construction (pairs 0.3 ± d with equal variances) has nothing
    // missing on either side, with either estimator.
    #[test]
    fn symmetric_funnel_fills_nothing() {
        let y = [0.1, 0.5, 0.2, 0.4, 0.25, 0.35, 0.0, 0.6];
        let v = [0.04, 0.04, 0.02, 0.02, 0.01, 0.01, 0.09, 0.09];
        let opts = RmaOptions {
            method: Method::EE,
            ..RmaOptions::default()
        };
        for est in [Estimator::L0, Estimator::R0] {
            let tf = trimfill(&y, &v, opts, est, None).unwrap();
            assert_eq!(tf.k0, 0, "{est:?}");
            assert!((tf.fit.beta[0] - 0.3).abs() < 1e-12);
        }
    }
}
