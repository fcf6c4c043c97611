//! The MGPS prior as a file: the JSON that `vigil signals --fit-only` writes and `--prior` reads.
//!
//! Only the five hyperparameters are required; the fit's diagnostics are optional, so a prior
//! typed by hand (e.g. openEBGM's published caers estimates) is accepted too.

use serde::{Deserialize, Serialize};

use super::fit::PriorFit;
use super::{GammaMixturePrior, Truncation};

/// A prior as read from (or written to) JSON: the hyperparameters, and what the fit that wrote it
/// reported, when it did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PriorJson {
    /// Shape of the first component.
    pub alpha1: f64,
    /// Rate of the first component.
    pub beta1: f64,
    /// Shape of the second component.
    pub alpha2: f64,
    /// Rate of the second component.
    pub beta2: f64,
    /// Weight of the first component.
    pub p: f64,
    /// The fit's −log-likelihood, if recorded.
    #[serde(default)]
    pub neg_log_lik: Option<f64>,
    /// The number of pairs the fit covered, if recorded.
    #[serde(default)]
    pub n_points: Option<f64>,
    /// The truncation the fit used, if recorded (zero-truncated when absent).
    #[serde(default)]
    pub truncation: Option<Truncation>,
    /// Parameters the fit left on a bound.
    #[serde(default)]
    pub at_bound: Vec<String>,
}

/// A prior whose hyperparameters are outside the model's domain.
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
#[error("invalid prior: alpha and beta must be > 0 and 0 < p < 1")]
pub struct InvalidPrior;

impl PriorJson {
    /// The prior as a [`PriorFit`], as if the fit had just been made: the truncation it used and
    /// the parameters it left on a bound are kept (so the boundary warning is repeated when the
    /// prior is reused); missing diagnostics are NaN.
    ///
    /// # Errors
    /// [`InvalidPrior`] when α or β is not > 0 or P is not in (0, 1).
    pub fn into_fit(self) -> Result<PriorFit, InvalidPrior> {
        let prior = GammaMixturePrior {
            alpha1: self.alpha1,
            beta1: self.beta1,
            alpha2: self.alpha2,
            beta2: self.beta2,
            p: self.p,
        };
        if !prior.is_valid() {
            return Err(InvalidPrior);
        }
        Ok(PriorFit {
            alpha1: self.alpha1,
            beta1: self.beta1,
            alpha2: self.alpha2,
            beta2: self.beta2,
            p: self.p,
            neg_log_lik: self.neg_log_lik.unwrap_or(f64::NAN),
            n_points: self.n_points.unwrap_or(f64::NAN),
            truncation: self.truncation.unwrap_or(Truncation::ZeroTruncated),
            at_bound: self.at_bound,
            squashed: false,
            evaluations: 0,
            converged: true,
            cost: Default::default(),
        })
    }
}

impl From<&PriorFit> for PriorJson {
    fn from(f: &PriorFit) -> Self {
        Self {
            alpha1: f.alpha1,
            beta1: f.beta1,
            alpha2: f.alpha2,
            beta2: f.beta2,
            p: f.p,
            neg_log_lik: Some(f.neg_log_lik),
            n_points: Some(f.n_points),
            truncation: Some(f.truncation),
            at_bound: f.at_bound.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hyperparameters_alone_are_a_prior() {
        // Any valid hyperparameters typed by hand, with no fit diagnostics: the values are read
        // back unchanged.
        let j: PriorJson = serde_json::from_str(
            r#"{"alpha1": 3.25, "beta1": 0.4, "alpha2": 2.02, "beta2": 1.9, "p": 0.07}"#,
        )
        .unwrap();
        let fit = j.into_fit().unwrap();
        assert_eq!(fit.prior().to_array(), [3.25, 0.4, 2.02, 1.9, 0.07]);
        assert!(fit.neg_log_lik.is_nan() && fit.n_points.is_nan());
        assert_eq!(fit.truncation, Truncation::ZeroTruncated);
        assert!(fit.at_bound.is_empty());
    }

    #[test]
    fn recorded_diagnostics_are_kept() {
        let j: PriorJson = serde_json::from_str(
            r#"{"alpha1": 0.2, "beta1": 0.1, "alpha2": 2.0, "beta2": 4.0, "p": 0.3,
                "neg_log_lik": 24060.225, "n_points": 42658, "truncation": "none",
                "at_bound": ["beta2"]}"#,
        )
        .unwrap();
        let fit = j.into_fit().unwrap();
        assert_eq!(fit.neg_log_lik, 24060.225);
        assert_eq!(fit.n_points, 42658.0);
        assert_eq!(fit.truncation, Truncation::None);
        assert_eq!(fit.at_bound, vec!["beta2".to_owned()]);
        // Written back, the same numbers come out.
        let back = PriorJson::from(&fit);
        assert_eq!(back.neg_log_lik, Some(24060.225));
        assert_eq!(back.truncation, Some(Truncation::None));
    }

    #[test]
    fn out_of_domain_hyperparameters_are_refused() {
        for text in [
            r#"{"alpha1": 1, "beta1": 1, "alpha2": 1, "beta2": 1, "p": 1.5}"#,
            r#"{"alpha1": 0, "beta1": 1, "alpha2": 1, "beta2": 1, "p": 0.5}"#,
            r#"{"alpha1": 1, "beta1": -1, "alpha2": 1, "beta2": 1, "p": 0.5}"#,
        ] {
            let j: PriorJson = serde_json::from_str(text).unwrap();
            assert_eq!(j.into_fit(), Err(InvalidPrior), "{text}");
        }
    }
}
