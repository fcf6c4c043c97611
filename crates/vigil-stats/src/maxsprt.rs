//! The Poisson maximized sequential probability ratio test (MaxSPRT): monitoring a new drug look by
//! look without inflating the type I error.
//!
//! Kulldorff, Davis, Kolczak, Lewis, Lieu & Platt. A maximized sequential probability ratio test
//! for drug and vaccine safety surveillance. Sequential Analysis 2011;30:58–78. Time is measured in
//! expected events under the null: after time t (the cumulative expected count) the observed count
//! C(t) is Poisson with mean RR·t, and the test of H0: RR = 1 against H1: RR > 1 uses the
//! log-likelihood ratio maximised over RR ([`llr`]). The null is rejected the first time the LLR
//! reaches a flat critical value CV, with at least `min_events` events observed; surveillance ends
//! at the upper limit T on the expected count. CV is chosen so that the probability of ever
//! rejecting under H0 is α, computed exactly (no simulation, no asymptotics):
//!
//! - continuous monitoring ([`continuous_critical_value`]): the LLR only falls between events, so
//!   the c-th event signals if and only if it arrives by τ_c, the time at which LLR(c, t) = CV;
//!   the probability of no signal is a recursion over the Poisson process sampled at
//!   τ_k, τ_{k+1}, … (the paper's exact method);
//! - group-sequential monitoring ([`group_critical_value`]): looks at cumulative expected counts
//!   t_1 < … < t_G; the rejection region at look g is C(t_g) ≥ b_g, and the distribution of the
//!   counts not yet rejected is carried from look to look by Poisson convolution.
//!
//! The same recursions with a Poisson rate RR ≠ 1 give the power ([`continuous_rejection_probability`],
//! [`group_rejection_probability`]).

use statrs::function::gamma::ln_gamma;

/// Why a MaxSPRT design cannot be computed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MaxSprtError {
    /// A parameter is out of its range (the message names it).
    #[error("{0}")]
    InvalidInput(String),
}

/// The Poisson log-likelihood ratio maximised over RR ≥ 1.
///
/// # Formula (Kulldorff et al. 2011, eq. 1)
/// ```text
/// LLR(c, u) = (u − c) + c·ln(c/u)   if c > u
///           = 0                      otherwise
/// ```
/// where c is the observed and u the expected count (the maximising RR is c/u).
pub fn llr(observed: f64, expected: f64) -> f64 {
    if observed > expected && expected > 0.0 {
        (expected - observed) + observed * (observed / expected).ln()
    } else if observed > 0.0 && expected == 0.0 {
        f64::INFINITY
    } else {
        0.0
    }
}

/// Poisson probabilities P(X = 0..len) for mean `mu`.
fn poisson_pmf(mu: f64, len: usize) -> Vec<f64> {
    if mu <= 0.0 {
        let mut v = vec![0.0; len];
        if len > 0 {
            v[0] = 1.0;
        }
        return v;
    }
    let ln_mu = mu.ln();
    (0..len)
        .map(|i| (i as f64 * ln_mu - mu - ln_gamma(i as f64 + 1.0)).exp())
        .collect()
}

/// Carries the distribution `state` over counts 0..state.len() forward by a Poisson increment of
/// mean `mu`, keeping counts 0..keep (the rest are rejections).
fn propagate(state: &[f64], mu: f64, keep: usize) -> Vec<f64> {
    let pmf = poisson_pmf(mu, keep);
    let mut out = vec![0.0; keep];
    for (j, &p) in state.iter().enumerate() {
        if p == 0.0 {
            continue;
        }
        for i in j..keep {
            out[i] += p * pmf[i - j];
        }
    }
    out
}

/// τ_c: the time t < c at which LLR(c, t) = cv (LLR falls from ∞ at t → 0 to 0 at t = c).
fn signal_time(c: f64, cv: f64) -> f64 {
    // g(s) = e^s − c + c(ln c − s) − cv on s = ln t, decreasing in s for t < c: bisection on s,
    // then Newton polish. The bracket: g(ln c) = −cv < 0, and g(s) → ∞ as s → −∞.
    let g = |s: f64| s.exp() - c + c * (c.ln() - s) - cv;
    let mut hi = c.ln();
    let mut lo = hi - 1.0;
    while g(lo) < 0.0 {
        lo -= 2.0 * (hi - lo);
    }
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if g(mid) > 0.0 {
            lo = mid;
        } else {
            hi = mid;
        }
        if hi - lo < 1e-15 * (1.0 + hi.abs()) {
            break;
        }
    }
    (0.5 * (lo + hi)).exp()
}

fn check_common(
    max_expected: f64,
    min_events: u64,
    alpha: Option<f64>,
) -> Result<(), MaxSprtError> {
    if !(max_expected.is_finite() && max_expected > 0.0) {
        return Err(MaxSprtError::InvalidInput(format!(
            "the upper limit on the expected count must be finite and > 0, not {max_expected}"
        )));
    }
    if max_expected > 5_000.0 {
        return Err(MaxSprtError::InvalidInput(format!(
            "the upper limit on the expected count is {max_expected}: the exact computation grows as its cube; use at most 5000"
        )));
    }
    if min_events == 0 {
        return Err(MaxSprtError::InvalidInput(
            "the minimum number of events must be at least 1".into(),
        ));
    }
    if let Some(a) = alpha {
        if !(a > 0.0 && a <= 0.5) {
            return Err(MaxSprtError::InvalidInput(format!(
                "alpha must be in (0, 0.5], not {a}"
            )));
        }
    }
    Ok(())
}

/// Probability of rejecting H0 under continuous monitoring up to expected count `max_expected`,
/// with at least `min_events` events, critical value `cv`, when the true relative risk is `rr`
/// (`rr = 1`: the type I error; otherwise the power).
///
/// # Algorithm (Kulldorff et al. 2011, section 3, exact calculation)
/// With τ_c the time at which LLR(c, τ_c) = cv, the c-th event (c ≥ min_events) signals iff it
/// arrives by min(τ_c, T). τ_c increases with c, so "no signal" is the event that C(min(τ_c, T)) ≤
/// c − 1 for every c ≥ min_events up to the first c with τ_c ≥ T. The distribution of C over
/// 0..c − 1 is carried from τ_{c−1} to τ_c by a Poisson(RR·(τ_c − τ_{c−1})) convolution; the mass
/// pushed to c or more is the probability of signalling at the c-th event.
pub fn continuous_rejection_probability(
    max_expected: f64,
    min_events: u64,
    cv: f64,
    rr: f64,
) -> f64 {
    let k = min_events as usize;
    let mut state = vec![1.0];
    let mut t_prev = 0.0;
    let mut c = k;
    loop {
        let tau = signal_time(c as f64, cv);
        let t = tau.min(max_expected);
        state = propagate(&state, rr * (t - t_prev), c);
        t_prev = t;
        if tau >= max_expected {
            break;
        }
        c += 1;
    }
    (1.0 - state.iter().sum::<f64>()).max(0.0)
}

/// The exact critical value of the continuous Poisson MaxSPRT.
///
/// Solves `continuous_rejection_probability(T, min_events, cv, 1) = alpha` for cv by bisection to
/// 1e-10 (the probability is continuous and decreasing in cv). Kulldorff et al. 2011 tabulate these
/// values; R's `Sequential::CV.Poisson(SampleSize = T, D = 0, M = min_events, alpha)` computes them
/// the same way.
///
/// # Errors
/// T not finite or ≤ 0 or above 5,000; min_events = 0; alpha outside (0, 0.5].
pub fn continuous_critical_value(
    max_expected: f64,
    min_events: u64,
    alpha: f64,
) -> Result<f64, MaxSprtError> {
    check_common(max_expected, min_events, Some(alpha))?;
    let size = |cv: f64| continuous_rejection_probability(max_expected, min_events, cv, 1.0);
    let (mut lo, mut hi) = (0.0f64, 1.0f64);
    while size(hi) > alpha {
        lo = hi;
        hi *= 2.0;
        if hi > 1e4 {
            return Err(MaxSprtError::InvalidInput(format!(
                "no critical value reaches alpha = {alpha}"
            )));
        }
    }
    if size(lo) <= alpha {
        // Even a critical value of 0 keeps the size under alpha (possible with a high min_events).
        return Ok(lo);
    }
    while hi - lo > 1e-10 {
        let mid = 0.5 * (lo + hi);
        if size(mid) > alpha {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    Ok(hi)
}

/// The rejection boundary at one look: the smallest count c ≥ `min_events` with LLR(c, t) ≥ cv.
pub fn group_boundary(t: f64, min_events: u64, cv: f64) -> u64 {
    let mut c = (t.floor() as u64 + 1).max(min_events);
    while llr(c as f64, t) < cv {
        c += 1;
    }
    c
}

/// Checks a look schedule: cumulative expected counts, finite, > 0 and strictly increasing.
fn check_looks(looks: &[f64]) -> Result<(), MaxSprtError> {
    if looks.is_empty() {
        return Err(MaxSprtError::InvalidInput(
            "no look: give at least one".into(),
        ));
    }
    let mut prev = 0.0;
    for (g, &t) in looks.iter().enumerate() {
        if !(t.is_finite() && t > prev) {
            return Err(MaxSprtError::InvalidInput(format!(
                "look {}: cumulative expected count {t} is not finite and greater than the previous look's {prev}",
                g + 1
            )));
        }
        prev = t;
    }
    Ok(())
}

/// Probability of rejecting H0 at one of the group-sequential `looks` (cumulative expected counts),
/// with critical value `cv` and at least `min_events` events, when the true relative risk is `rr`.
///
/// # Algorithm (exact Poisson recursion over looks)
/// The counts not yet rejected after look g lie in 0..b_g − 1 ([`group_boundary`]); their
/// distribution is carried to look g + 1 by a Poisson(RR·(t_{g+1} − t_g)) convolution and cut at
/// b_{g+1}. The rejection probability is 1 minus the mass left after the last look.
pub fn group_rejection_probability(looks: &[f64], min_events: u64, cv: f64, rr: f64) -> f64 {
    let mut state = vec![1.0];
    let mut t_prev = 0.0;
    for &t in looks {
        let b = group_boundary(t, min_events, cv) as usize;
        state = propagate(&state, rr * (t - t_prev), b);
        t_prev = t;
    }
    (1.0 - state.iter().sum::<f64>()).max(0.0)
}

/// A group-sequential critical value and the exact size it attains.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GroupCriticalValue {
    /// The critical value on the LLR scale.
    pub cv: f64,
    /// The exact probability of rejecting under H0 with this cv (≤ alpha: the counts are discrete).
    pub attained_alpha: f64,
}

/// The exact critical value of the group-sequential Poisson MaxSPRT for the given looks.
///
/// The size is a step function of cv (the boundaries b_g are whole counts), so no cv may give
/// exactly alpha: this returns the smallest cv (to 1e-9) whose size does not exceed alpha, with
/// that size, as R's `Sequential::CV.G.Poisson` returns its conservative value.
///
/// # Errors
/// Looks empty, not increasing, or the last above 5,000; min_events = 0; alpha outside (0, 0.5].
pub fn group_critical_value(
    looks: &[f64],
    min_events: u64,
    alpha: f64,
) -> Result<GroupCriticalValue, MaxSprtError> {
    check_looks(looks)?;
    check_common(*looks.last().expect("checked"), min_events, Some(alpha))?;
    let size = |cv: f64| group_rejection_probability(looks, min_events, cv, 1.0);
    let (mut lo, mut hi) = (0.0f64, 1.0f64);
    while size(hi) > alpha {
        lo = hi;
        hi *= 2.0;
    }
    if size(lo) <= alpha {
        return Ok(GroupCriticalValue {
            cv: lo,
            attained_alpha: size(lo),
        });
    }
    while hi - lo > 1e-9 {
        let mid = 0.5 * (lo + hi);
        if size(mid) > alpha {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    Ok(GroupCriticalValue {
        cv: hi,
        attained_alpha: size(hi),
    })
}

/// One look of a monitored drug–event pair.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LookResult {
    /// Cumulative expected count at this look.
    pub expected: f64,
    /// Cumulative observed count at this look.
    pub observed: u64,
    /// LLR(observed, expected).
    pub llr: f64,
    /// LLR ≥ cv and observed ≥ min_events.
    pub signal: bool,
}

/// The LLR at each look and whether it signals; the first signalling look ends surveillance (the
/// looks after it are still evaluated, for display).
pub fn evaluate_looks(
    expected: &[f64],
    observed: &[u64],
    min_events: u64,
    cv: f64,
) -> Vec<LookResult> {
    expected
        .iter()
        .zip(observed)
        .map(|(&u, &c)| {
            let l = llr(c as f64, u);
            LookResult {
                expected: u,
                observed: c,
                llr: l,
                signal: c >= min_events && l >= cv,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn llr_worked_example() {
        // c = 6, u = 2: (2 − 6) + 6·ln 3 = −4 + 6.591673732 = 2.591673732.
        assert!((llr(6.0, 2.0) - (-4.0 + 6.0 * 3f64.ln())).abs() < 1e-15);
        assert_eq!(llr(2.0, 3.0), 0.0);
        assert_eq!(llr(0.0, 0.0), 0.0);
    }

    #[test]
    fn signal_time_solves_the_llr_equation() {
        for (c, cv) in [(1.0, 3.0), (5.0, 2.5), (40.0, 4.0)] {
            let t = signal_time(c, cv);
            assert!(t < c);
            assert!((llr(c, t) - cv).abs() < 1e-9, "{c} {cv}: {}", llr(c, t));
        }
    }
}
