//! The Multi-item Gamma Poisson Shrinker (MGPS) of DuMouchel (1999).
//!
//! For each drug–event pair with observed count N and expected count E, N ~ Poisson(λ·E), and the
//! relative reporting ratio λ has the two-gamma-mixture prior
//!
//! ```text
//! π(λ) = P · Gamma(λ; α1, β1) + (1 − P) · Gamma(λ; α2, β2)        (β = rate)
//! ```
//!
//! so N is marginally a mixture of two negative binomials. The prior is fitted to all pairs by
//! maximum likelihood ([`fit`]), optionally on openEBGM's squashed data ([`squash`]); each pair's
//! posterior gives EBGM, EB05 and EB95 ([`posterior`]).
//!
//! # Matches
//! openEBGM 0.9.1: `negLL`, `negLLsquash`, `negLLzero` ([`likelihood`]), `squashData`, `autoSquash`
//! ([`squash`]), `Qn`, `ebgm`, `quantBisect` ([`posterior`], with exact rather than 2-decimal
//! quantiles).
//!
//! # References
//! DuMouchel W (1999). Bayesian data mining in large frequency tables, with an application to the
//! FDA spontaneous reporting system. The American Statistician 53(3):177–190.
//! DuMouchel W, Pregibon D (2001). Empirical Bayes screening for multi-item associations. KDD '01,
//! 67–76.

pub mod fit;
pub mod likelihood;
pub mod posterior;
pub mod squash;

use serde::{Deserialize, Serialize};

/// The five hyperparameters of the two-gamma-mixture prior, in openEBGM's order
/// (α1, β1, α2, β2, P). β are rates.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GammaMixturePrior {
    /// Shape of the first component.
    pub alpha1: f64,
    /// Rate of the first component.
    pub beta1: f64,
    /// Shape of the second component.
    pub alpha2: f64,
    /// Rate of the second component.
    pub beta2: f64,
    /// Weight of the first component, in (0, 1).
    #[serde(rename = "p")]
    pub p: f64,
}

impl GammaMixturePrior {
    /// The prior as a vector `[α1, β1, α2, β2, P]`.
    pub fn to_array(&self) -> [f64; 5] {
        [self.alpha1, self.beta1, self.alpha2, self.beta2, self.p]
    }

    /// The prior from a vector `[α1, β1, α2, β2, P]`.
    pub fn from_array(x: [f64; 5]) -> Self {
        Self { alpha1: x[0], beta1: x[1], alpha2: x[2], beta2: x[3], p: x[4] }
    }

    /// The same mixture with its components listed in canonical order: the component with the larger
    /// prior mean α/β first. The likelihood is invariant to swapping the components (with P ↔ 1 − P);
    /// a fixed order makes fits from different starts comparable. openEBGM's caers estimates follow
    /// the same order (α1/β1 = 8.1 > α2/β2 = 1.06).
    pub fn canonical(&self) -> Self {
        if self.alpha1 / self.beta1 >= self.alpha2 / self.beta2 {
            *self
        } else {
            Self { alpha1: self.alpha2, beta1: self.beta2, alpha2: self.alpha1, beta2: self.beta1, p: 1.0 - self.p }
        }
    }

    /// True when every parameter is finite and in its domain (α, β > 0, 0 < P < 1).
    pub fn is_valid(&self) -> bool {
        [self.alpha1, self.beta1, self.alpha2, self.beta2].iter().all(|v| v.is_finite() && *v > 0.0)
            && self.p > 0.0
            && self.p < 1.0
    }
}

/// Which counts the likelihood conditions on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Truncation {
    /// Only pairs with N ≥ 1 are used, and each negative-binomial component is divided by
    /// 1 − f(0) (openEBGM `negLL(N_star = 1)`, the default there and here).
    ZeroTruncated,
    /// All cells of the drug × event table, zeros included (openEBGM `negLLzero`).
    None,
}

/// Count data for the likelihood: counts `n`, expected counts `e`, and weights `w` (1 for raw pairs,
/// the bin size for squashed points).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CountData {
    /// Observed counts N.
    pub n: Vec<f64>,
    /// Expected counts E > 0.
    pub e: Vec<f64>,
    /// Weights.
    pub w: Vec<f64>,
}

impl CountData {
    /// Unweighted data from counts and expected counts.
    pub fn new(n: Vec<f64>, e: Vec<f64>) -> Self {
        let w = vec![1.0; n.len()];
        Self { n, e, w }
    }

    /// Number of points.
    pub fn len(&self) -> usize {
        self.n.len()
    }

    /// True when there are no points.
    pub fn is_empty(&self) -> bool {
        self.n.is_empty()
    }

    /// The same data with identical (N, E) points merged into one point whose weight is the sum.
    /// The likelihood is unchanged (exactly, up to summation order); on real tables many pairs share
    /// N = 1 and the same margins, so this shrinks the data the fit iterates over.
    pub fn merge_identical(&self) -> Self {
        let mut idx: Vec<usize> = (0..self.len()).collect();
        idx.sort_unstable_by(|&i, &j| {
            self.n[i].total_cmp(&self.n[j]).then(self.e[i].total_cmp(&self.e[j]))
        });
        let mut out = CountData::default();
        for i in idx {
            let last = out.n.len();
            if last > 0 && out.n[last - 1] == self.n[i] && out.e[last - 1] == self.e[i] {
                out.w[last - 1] += self.w[i];
            } else {
                out.n.push(self.n[i]);
                out.e.push(self.e[i]);
                out.w.push(self.w[i]);
            }
        }
        out
    }
}
