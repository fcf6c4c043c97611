//! Two-parameter Weibull fit by maximum likelihood, for time-to-onset analysis.
//!
//! Time to onset of a drug reaction is summarised by a Weibull distribution whose shape says whether the
//! hazard falls (shape < 1, "early failure"), stays constant (shape = 1) or rises (shape > 1, "wear-out")
//! with time since the start of the drug (Cornelius et al. 2012; Yamada & Handa 2014, via
//! `../shared/knowledge/clinical.md` §2). This module is the numerics only: the reading of the shape
//! interval lives with the onset analysis in `vigil-clinic`.

/// Why a Weibull fit could not be made.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum WeibullError {
    /// The maximum-likelihood estimate needs at least two observations.
    #[error("a Weibull fit needs at least 2 observations, got {0}")]
    TooFewObservations(usize),
    /// An observation is not a finite positive number (the Weibull support is t > 0).
    #[error("observation {index} is {value}: Weibull times must be finite and > 0")]
    NotPositive {
        /// Index in the input.
        index: usize,
        /// The value.
        value: f64,
    },
    /// All observations are equal: the likelihood grows without bound as the shape → ∞.
    #[error("all observations are equal ({0}); the Weibull shape estimate is infinite")]
    AllEqual(f64),
    /// The confidence level is not in (0, 1).
    #[error("confidence level {0} is not in (0, 1)")]
    InvalidLevel(f64),
    /// The shape equation did not converge within the iteration cap.
    #[error("the shape equation did not converge in {0} iterations")]
    NoConvergence(usize),
}

/// A fitted two-parameter Weibull (location fixed at 0).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WeibullFit {
    /// Number of observations.
    pub n: usize,
    /// Shape k (β in reliability notation).
    pub shape: f64,
    /// Scale λ (η), in the unit of the data.
    pub scale: f64,
    /// Confidence interval for the shape at `level`.
    pub shape_ci: (f64, f64),
    /// Confidence interval for the scale at `level`.
    pub scale_ci: (f64, f64),
    /// Two-sided confidence level, e.g. 0.95.
    pub level: f64,
    /// Log-likelihood at the estimate.
    pub log_likelihood: f64,
    /// Newton/bisection iterations used on the shape equation.
    pub iterations: usize,
}

/// Fit a Weibull distribution with location 0 to positive data by maximum likelihood, with Wald
/// confidence intervals on the log scale.
///
/// # Formula
/// ```text
/// density     f(t) = (k/λ) (t/λ)^(k−1) exp(−(t/λ)^k),  t > 0
/// log-lik.    ℓ(k, λ) = n ln k − n k ln λ + (k − 1) Σ ln tᵢ − Σ (tᵢ/λ)^k
/// shape       k solves  Σ tᵢ^k ln tᵢ / Σ tᵢ^k − 1/k − (1/n) Σ ln tᵢ = 0
/// scale       λ = ( (1/n) Σ tᵢ^k )^(1/k)
/// information with zᵢ = tᵢ/λ at the estimate (where Σ zᵢ^k = n):
///             I_kk = n/k² + Σ zᵢ^k (ln zᵢ)²,  I_λλ = n k²/λ²,  I_kλ = −(k/λ) Σ zᵢ^k ln zᵢ
/// CI          k · exp(± z · √(I⁻¹)_kk / k),  λ · exp(± z · √(I⁻¹)_λλ / λ),  z = Φ⁻¹((1 + level)/2)
/// ```
/// where tᵢ are the n observations, k the shape, λ the scale, I the observed information matrix.
///
/// # Defaults
/// Location fixed at 0, as `scipy.stats.weibull_min.fit(data, floc=0)` (the point estimates match it
/// to 1e-6 relative; see the tests). The intervals are Wald intervals on the log scale from the observed
/// information (not profile-likelihood intervals), so they are always positive and asymmetric.
///
/// # Edge cases
/// Fewer than 2 observations, a value ≤ 0 or not finite, or all values equal: an error (the MLE does
/// not exist). Same-day onsets (t = 0) must be handled by the caller before fitting.
///
/// # Algorithm
/// The shape equation g(k) = 0 has a single root because g is strictly increasing
/// (g′(k) = weighted variance of ln t + 1/k² > 0). Start from the log-moment estimate
/// k₀ = π / (√6 · sd(ln t)), bracket the root by halving/doubling, then Newton steps safeguarded by
/// bisection; powers are computed as exp(k (ln tᵢ − max ln t)) to avoid overflow. Stop when the step is
/// below 1e-14·k or the bracket is that narrow; cap 200 iterations.
///
/// # References
/// Cornelius VR, Sauzet O, Evans SJW, Drug Saf 2012 (Weibull shape for ADR timing); Yamada M, Handa J,
/// Jpn J Pharmacoepidemiol 2014;19(1):23-30 (shape CI reading) — clinical.md §2.1–2.2. Likelihood
/// equations: the standard two-parameter Weibull MLE (e.g. Lawless, *Statistical Models and Methods for
/// Lifetime Data*, 2nd ed., §4.1).
pub fn fit(data: &[f64], level: f64) -> Result<WeibullFit, WeibullError> {
    const MAX_ITER: usize = 200;
    if !(level > 0.0 && level < 1.0) {
        return Err(WeibullError::InvalidLevel(level));
    }
    let n = data.len();
    if n < 2 {
        return Err(WeibullError::TooFewObservations(n));
    }
    for (index, &value) in data.iter().enumerate() {
        if !(value.is_finite() && value > 0.0) {
            return Err(WeibullError::NotPositive { index, value });
        }
    }
    let logs: Vec<f64> = data.iter().map(|t| t.ln()).collect();
    let nf = n as f64;
    let mean_log = logs.iter().sum::<f64>() / nf;
    let max_log = logs.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let var_log = logs.iter().map(|l| (l - mean_log).powi(2)).sum::<f64>() / nf;
    if var_log == 0.0 || max_log - mean_log <= 0.0 {
        return Err(WeibullError::AllEqual(data[0]));
    }

    // g(k) and g'(k) with weights w = exp(k (ln t − max ln t)).
    let g = |k: f64| -> (f64, f64) {
        let (mut sw, mut swl, mut swll) = (0.0, 0.0, 0.0);
        for &l in &logs {
            let w = (k * (l - max_log)).exp();
            sw += w;
            swl += w * l;
            swll += w * l * l;
        }
        let m = swl / sw;
        let var = swll / sw - m * m;
        (m - 1.0 / k - mean_log, var.max(0.0) + 1.0 / (k * k))
    };

    let k0 = std::f64::consts::PI / (6.0f64.sqrt() * var_log.sqrt());
    let (mut lo, mut hi) = (k0, k0);
    let mut iterations = 0;
    while g(lo).0 > 0.0 {
        lo /= 2.0;
        iterations += 1;
        if iterations > MAX_ITER {
            return Err(WeibullError::NoConvergence(iterations));
        }
    }
    while g(hi).0 < 0.0 {
        hi *= 2.0;
        iterations += 1;
        if iterations > MAX_ITER {
            return Err(WeibullError::NoConvergence(iterations));
        }
    }
    let mut k = if lo == hi { lo } else { 0.5 * (lo + hi) };
    loop {
        iterations += 1;
        if iterations > MAX_ITER {
            return Err(WeibullError::NoConvergence(iterations));
        }
        let (gk, dk) = g(k);
        if gk == 0.0 {
            break;
        }
        if gk < 0.0 {
            lo = k;
        } else {
            hi = k;
        }
        let newton = k - gk / dk;
        let next = if newton > lo && newton < hi {
            newton
        } else {
            0.5 * (lo + hi)
        };
        let step = (next - k).abs();
        k = next;
        if step <= 1e-14 * k || (hi - lo) <= 1e-14 * k {
            break;
        }
    }

    let sum_w: f64 = logs.iter().map(|l| (k * (l - max_log)).exp()).sum();
    let ln_scale = max_log + (sum_w / nf).ln() / k;
    let scale = ln_scale.exp();

    // Observed information at the estimate.
    let (mut a, mut b, mut sum_zk) = (0.0, 0.0, 0.0);
    for &l in &logs {
        let lz = l - ln_scale;
        let zk = (k * lz).exp();
        sum_zk += zk;
        a += zk * lz;
        b += zk * lz * lz;
    }
    let i_kk = nf / (k * k) + b;
    let i_ll = nf * k * k / (scale * scale);
    let i_kl = -(k / scale) * a;
    let det = i_kk * i_ll - i_kl * i_kl;
    let var_k = i_ll / det;
    let var_scale = i_kk / det;
    let z = crate::normal::quantile(0.5 + level / 2.0);
    let se_log_k = var_k.sqrt() / k;
    let se_log_scale = var_scale.sqrt() / scale;
    let log_likelihood =
        nf * k.ln() - nf * k * ln_scale + (k - 1.0) * logs.iter().sum::<f64>() - sum_zk;

    Ok(WeibullFit {
        n,
        shape: k,
        scale,
        shape_ci: (k * (-z * se_log_k).exp(), k * (z * se_log_k).exp()),
        scale_ci: (
            scale * (-z * se_log_scale).exp(),
            scale * (z * se_log_scale).exp(),
        ),
        level,
        log_likelihood,
        iterations,
    })
}

/// Weibull log-likelihood ℓ(k, λ) of `data` (location 0); see [`fit`] for the formula.
pub fn log_likelihood(data: &[f64], shape: f64, scale: f64) -> f64 {
    let n = data.len() as f64;
    n * shape.ln() - n * shape * scale.ln()
        + (shape - 1.0) * data.iter().map(|t| t.ln()).sum::<f64>()
        - data.iter().map(|t| (t / scale).powf(shape)).sum::<f64>()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rel(a: f64, b: f64) -> f64 {
        (a - b).abs() / b.abs()
    }

    /// Deterministic Weibull-shaped samples: the quantiles at (i − 0.5)/n.
    fn quantile_sample(shape: f64, scale: f64, n: usize) -> Vec<f64> {
        (1..=n)
            .map(|i| scale * (-(1.0 - (i as f64 - 0.5) / n as f64).ln()).powf(1.0 / shape))
            .collect()
    }

    #[test]
    fn hand_checkable_two_point_case() {
        // Data {1, e}: ln t = {0, 1}, mean ln t = 1/2, Σ t^k ln t = e^k, Σ t^k = 1 + e^k.
        // The shape equation e^k/(1 + e^k) − 1/k − 1/2 = 0 becomes ½ tanh(k/2) = 1/k, i.e. k·tanh(k/2) = 2,
        // and the scale is λ = ((1 + e^k)/2)^(1/k).
        let e = std::f64::consts::E;
        let f = fit(&[1.0, e], 0.95).unwrap();
        let k = f.shape;
        assert!(
            (k * (k / 2.0).tanh() - 2.0).abs() < 1e-12,
            "k tanh(k/2) = {}",
            k * (k / 2.0).tanh()
        );
        assert!(rel(f.scale, ((1.0 + k.exp()) / 2.0).powf(1.0 / k)) < 1e-12);
        // k·tanh(k/2) = 2 has its root between 2.39 and 2.40: 2.39·tanh(1.195) = 1.9888, 2.40·tanh(1.2) = 2.0008.
        assert!(k > 2.39 && k < 2.40, "{k}");
    }

    #[test]
    fn scale_equivariance_and_errors() {
        let d = quantile_sample(1.5, 30.0, 50);
        let f = fit(&d, 0.95).unwrap();
        let d10: Vec<f64> = d.iter().map(|t| 10.0 * t).collect();
        let g = fit(&d10, 0.95).unwrap();
        assert!(rel(g.shape, f.shape) < 1e-12);
        assert!(rel(g.scale, 10.0 * f.scale) < 1e-12);
        assert_eq!(fit(&[3.0], 0.95), Err(WeibullError::TooFewObservations(1)));
        assert_eq!(
            fit(&[2.0, 2.0, 2.0], 0.95),
            Err(WeibullError::AllEqual(2.0))
        );
        assert!(matches!(
            fit(&[1.0, 0.0], 0.95),
            Err(WeibullError::NotPositive { index: 1, .. })
        ));
        assert!(matches!(
            fit(&[1.0, 2.0], 1.0),
            Err(WeibullError::InvalidLevel(_))
        ));
    }

    #[test]
    fn information_matches_numerical_second_derivatives() {
        // Independent check of the analytic information: central differences of ℓ at the estimate,
        // then the Wald half-width of ln k from the inverted numerical Hessian.
        let d = quantile_sample(0.8, 60.0, 40);
        let f = fit(&d, 0.95).unwrap();
        let (k, l) = (f.shape, f.scale);
        let (hk, hl) = (1e-4 * k, 1e-4 * l);
        let ll = |a: f64, b: f64| log_likelihood(&d, a, b);
        let d2k = (ll(k + hk, l) - 2.0 * ll(k, l) + ll(k - hk, l)) / (hk * hk);
        let d2l = (ll(k, l + hl) - 2.0 * ll(k, l) + ll(k, l - hl)) / (hl * hl);
        let dkl = (ll(k + hk, l + hl) - ll(k + hk, l - hl) - ll(k - hk, l + hl)
            + ll(k - hk, l - hl))
            / (4.0 * hk * hl);
        let det = d2k * d2l - dkl * dkl;
        let var_k = -d2l / det;
        let z = 1.959963984540054;
        let upper = k * (z * var_k.sqrt() / k).exp();
        assert!(
            rel(f.shape_ci.1, upper) < 1e-5,
            "{} vs {}",
            f.shape_ci.1,
            upper
        );
        // The score is zero at the estimate.
        let dk = (ll(k + hk, l) - ll(k - hk, l)) / (2.0 * hk);
        assert!(dk.abs() < 1e-6, "{dk}");
        assert!(rel(f.log_likelihood, ll(k, l)) < 1e-12);
    }

    #[test]
    fn matches_scipy_weibull_min_fit_with_floc_0() {
        let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
        let have_scipy = std::process::Command::new(&python)
            .args(["-c", "import scipy.stats"])
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false);
        if !have_scipy {
            println!("skipping: python3 with scipy not found (pip install scipy)");
            return;
        }
        let sets: Vec<Vec<f64>> = vec![
            vec![3.0, 10.0, 14.0, 30.0, 45.0, 60.0, 65.0, 90.0, 120.0, 200.0],
            quantile_sample(0.7, 50.0, 200),
            quantile_sample(2.5, 120.0, 77),
            vec![
                0.5, 1.0, 1.0, 2.0, 7.0, 7.0, 7.0, 28.0, 91.0, 365.0, 400.0, 5.0,
            ],
        ];
        for d in sets {
            let list = d
                .iter()
                .map(|x| format!("{x:.17e}"))
                .collect::<Vec<_>>()
                .join(",");
            let code = format!("import scipy.stats as s; c, loc, sc = s.weibull_min.fit([{list}], floc=0); print(repr(float(c)), repr(float(sc)))");
            let out = std::process::Command::new(&python)
                .args(["-c", &code])
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            let text = String::from_utf8(out.stdout).unwrap();
            let v: Vec<f64> = text
                .split_whitespace()
                .map(|s| s.parse().unwrap())
                .collect();
            let f = fit(&d, 0.95).unwrap();
            assert!(
                rel(f.shape, v[0]) < 1e-6,
                "shape {} vs scipy {}",
                f.shape,
                v[0]
            );
            assert!(
                rel(f.scale, v[1]) < 1e-6,
                "scale {} vs scipy {}",
                f.scale,
                v[1]
            );
        }
    }
}
