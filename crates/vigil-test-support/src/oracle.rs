//! The metafor oracle (`../shared/oracle/meta/`): its folder, the tolerances of its README, and the
//! [`Checker`] both metafor harnesses compare with — `vigil-stats/tests/oracle_meta.rs` (the library,
//! actual values as numbers) and `vigil/tests/cli_meta.rs` (the CLI, actual values as JSON).
//!
//! Tolerances (the oracle README's, one per kind of quantity, as metafor's own `settings.r`):
//! - [`STRICT`]: closed forms (escalc, EE, DL, HE, HS, SJ, MH, Peto, Knapp–Hartung on top of them,
//!   and every refit built from them), relative;
//! - [`TIGHT`]: iterative estimators (ML, REML, PM, EB) against the oracle's tightly converged copies
//!   (`model_tight`, `confint_tight`), relative;
//! - [`LOOSE`]: their default-convergence output, relative (metafor's Fisher scoring stops at
//!   Δτ² < 1e-5);
//! - [`UNIROOT_ABS`]: τ² bounds found by `uniroot` at its default tolerance 1.22e-4
//!   (`.Machine$double.eps^0.25`), with a margin, absolute;
//! - [`TAU2_ZERO_ABS`]: τ² at a boundary optimum (REML may stop at 4.5e-7 where the optimum is 0),
//!   absolute.

use serde_json::Value;
use std::path::PathBuf;

/// Closed forms (EE, DL, HE, HS, SJ, MH, Peto and everything computed from them): relative.
pub const STRICT: f64 = 1e-10;
/// A converged iterative τ² (and its intervals) against `model_tight` / `confint_tight`: relative.
pub const TIGHT: f64 = 1e-8;
/// Output of metafor's default convergence (Fisher scoring stops at Δτ² < 1e-5): relative.
pub const LOOSE: f64 = 1e-4;
/// uniroot's tolerance (1.22e-4) with a margin: τ² bounds with no tight copy: absolute.
pub const UNIROOT_ABS: f64 = 2.5e-4;
/// τ² at a boundary optimum (REML may stop at 4.5e-7 where the optimum is 0): absolute.
pub const TAU2_ZERO_ABS: f64 = 1e-6;

/// The metafor oracle folder, or `None` (skip) as [`crate::shared`] decides.
pub fn meta_dir() -> Option<PathBuf> {
    crate::shared("oracle/meta")
}

/// How close an actual value must be to the expected one.
#[derive(Clone, Copy, Debug)]
pub enum Tol {
    /// |a − e| ≤ r·|e| (an expected 0 must be met to 1e-13).
    Rel(f64),
    /// |a − e| ≤ x.
    Abs(f64),
    /// The actual value must lie in `[lo, hi]` (a bound derived from a τ² slack).
    Range(f64, f64),
    /// |a − e| ≤ r·max(|e|, scale): for interval bounds, whose value can be a small difference of
    /// two larger terms (`β̂ ± q·SE`), the scale is the larger |bound| of the pair.
    Scaled(f64, f64),
}

/// Tolerance for the two bounds of an interval (see [`Tol::Scaled`]); `lb` and `ub` are the
/// expected bounds (numbers, or vectors whose largest |element| is the scale).
pub fn pair_tol(tol: Tol, lb: &Value, ub: &Value) -> Tol {
    let m = |v: &Value| match v {
        Value::Array(a) => a
            .iter()
            .filter_map(Value::as_f64)
            .fold(0.0, |x: f64, y| x.max(y.abs())),
        other => other.as_f64().map_or(0.0, f64::abs),
    };
    match tol {
        Tol::Rel(r) => Tol::Scaled(r, m(lb).max(m(ub))),
        other => other,
    }
}

/// p-values amplify the relative error of their statistic (dp/p ≈ 2φ(z)|z|/p · dz/z), so they get
/// ten times the tolerance of the statistic (1e-9 for closed forms).
pub fn p_tol(tol: Tol) -> Tol {
    match tol {
        Tol::Rel(r) => Tol::Rel(10.0 * r),
        other => other,
    }
}

/// A one-element array as its element (R prints a scalar as a vector of one).
pub fn first(v: &Value) -> &Value {
    match v {
        Value::Array(a) if a.len() == 1 => &a[0],
        other => other,
    }
}

/// Collects every comparison of one oracle case: how many fields were compared and each mismatch
/// with the case id, the field path, expected, actual and the relative error.
#[derive(Debug)]
pub struct Checker {
    /// The case id (first word of every failure).
    pub id: String,
    /// Fields compared.
    pub checks: usize,
    /// One line per mismatch.
    pub failures: Vec<String>,
}

impl Checker {
    /// A checker for the case `id`.
    pub fn new(id: &str) -> Self {
        Checker {
            id: id.to_string(),
            checks: 0,
            failures: Vec::new(),
        }
    }

    /// Records a mismatch at `path`.
    pub fn fail(&mut self, path: &str, msg: String) {
        self.failures.push(format!("{} {path}: {msg}", self.id));
    }

    /// One number: an expected `null` (R's NA/NULL) needs a non-finite actual; an expected number
    /// a finite actual within `tol`.
    pub fn num(&mut self, path: &str, expected: &Value, actual: f64, tol: Tol) {
        self.checks += 1;
        match expected {
            Value::Null => {
                if actual.is_finite() {
                    self.fail(path, format!("expected NA, got {actual:e}"));
                }
            }
            Value::Number(n) => {
                let e = n.as_f64().unwrap_or(f64::NAN);
                let err = (actual - e).abs();
                let rel = if e != 0.0 { err / e.abs() } else { err };
                let ok = match tol {
                    Tol::Rel(r) => err <= r * e.abs() || (e == 0.0 && err <= 1e-13),
                    Tol::Abs(a) => err <= a,
                    Tol::Range(lo, hi) => {
                        actual >= lo.min(hi) - 1e-12 && actual <= hi.max(lo) + 1e-12
                    }
                    Tol::Scaled(r, scale) => err <= r * e.abs().max(scale),
                };
                if !ok || !actual.is_finite() {
                    self.fail(
                        path,
                        format!(
                            "expected {e:.15e}, actual {actual:.15e}, rel err {rel:.2e} ({tol:?})"
                        ),
                    );
                }
            }
            Value::Array(a) if a.len() == 1 => self.num(path, &a[0], actual, tol),
            other => self.fail(path, format!("unexpected expected value {other}")),
        }
    }

    /// [`Checker::num`] of an optional value (None compares as NA).
    pub fn opt(&mut self, path: &str, expected: &Value, actual: Option<f64>, tol: Tol) {
        self.num(path, expected, actual.unwrap_or(f64::NAN), tol);
    }

    /// A vector, element by element; a scalar expected value is compared with a vector of one,
    /// an expected `null` with a vector of non-finite values.
    pub fn vec(&mut self, path: &str, expected: &Value, actual: &[f64], tol: Tol) {
        match expected {
            Value::Array(a) => {
                if a.len() != actual.len() {
                    self.fail(
                        path,
                        format!("length {} expected, {} actual", a.len(), actual.len()),
                    );
                    return;
                }
                for (i, (e, x)) in a.iter().zip(actual).enumerate() {
                    self.num(&format!("{path}[{i}]"), e, *x, tol);
                }
            }
            Value::Null if actual.iter().all(|x| !x.is_finite()) => self.checks += 1,
            single => {
                if actual.len() == 1 {
                    self.num(path, single, actual[0], tol)
                } else {
                    self.fail(path, "scalar expected, vector actual".into())
                }
            }
        }
    }

    /// A count, exactly.
    pub fn int(&mut self, path: &str, expected: &Value, actual: usize) {
        self.checks += 1;
        if expected.as_f64() != Some(actual as f64) {
            self.fail(path, format!("expected {expected}, actual {actual}"));
        }
    }

    /// A string, exactly.
    pub fn text(&mut self, path: &str, expected: &Value, actual: &str) {
        self.checks += 1;
        if expected.as_str() != Some(actual) {
            self.fail(path, format!("expected {expected}, actual {actual}"));
        }
    }

    /// One number of a JSON output (`actual`), against the oracle's `expected`; a one-element
    /// array on either side is its element, and a missing or null actual is NA.
    pub fn json_num(&mut self, path: &str, actual: &Value, expected: &Value, tol: Tol) {
        let actual = first(actual);
        let expected = first(expected);
        if !matches!(expected, Value::Null | Value::Number(_)) {
            self.checks += 1;
            return self.fail(path, format!("unexpected expected value {expected}"));
        }
        self.num(path, expected, actual.as_f64().unwrap_or(f64::NAN), tol);
    }

    /// A vector of a JSON output, element by element (a scalar expected value is compared as a
    /// number).
    pub fn json_vec(&mut self, path: &str, actual: &Value, expected: &Value, tol: Tol) {
        let Value::Array(ev) = expected else {
            return self.json_num(path, actual, expected, tol);
        };
        match actual {
            Value::Array(av) if av.len() == ev.len() => {
                for (i, (a, e)) in av.iter().zip(ev).enumerate() {
                    self.json_num(&format!("{path}[{i}]"), a, e, tol);
                }
            }
            other => {
                self.checks += 1;
                self.fail(
                    path,
                    format!("expected {} values, actual {other}", ev.len()),
                );
            }
        }
    }

    /// `ci_lb` and `ci_ub` of a JSON output (scalars or vectors), each pair relative to its larger
    /// bound ([`pair_tol`]).
    pub fn json_bounds(&mut self, path: &str, actual: &Value, expected: &Value, tol: Tol) {
        let (el, eu) = (&expected["ci_lb"], &expected["ci_ub"]);
        match (el, eu) {
            (Value::Array(l), Value::Array(u)) if l.len() > 1 => {
                for (name, ev) in [("ci_lb", l), ("ci_ub", u)] {
                    let av = actual[name].as_array().cloned().unwrap_or_default();
                    if av.len() != ev.len() {
                        self.checks += 1;
                        self.fail(
                            &format!("{path}.{name}"),
                            format!("expected {} values, actual {}", ev.len(), actual[name]),
                        );
                        continue;
                    }
                    for i in 0..ev.len() {
                        self.json_num(
                            &format!("{path}.{name}[{i}]"),
                            &av[i],
                            &ev[i],
                            pair_tol(tol, &l[i], &u[i]),
                        );
                    }
                }
            }
            _ => {
                let t = pair_tol(tol, first(el), first(eu));
                self.json_num(&format!("{path}.ci_lb"), &actual["ci_lb"], el, t);
                self.json_num(&format!("{path}.ci_ub"), &actual["ci_ub"], eu, t);
            }
        }
    }

    /// Integers, strings, booleans and vectors of them in a JSON output: exactly equal.
    pub fn json_same(&mut self, path: &str, actual: &Value, expected: &Value) {
        self.checks += 1;
        let eq = match (actual.as_f64(), expected.as_f64()) {
            (Some(a), Some(e)) => a == e,
            _ => actual == expected,
        };
        if !eq {
            self.fail(path, format!("expected {expected}, actual {actual}"));
        }
    }

    /// Prints the case's count and adds its checks and failures to the totals of a group.
    pub fn finish(self, total: &mut usize, failures: &mut Vec<String>) {
        println!(
            "{}: {} fields compared, {} mismatches",
            self.id,
            self.checks,
            self.failures.len()
        );
        *total += self.checks;
        failures.extend(self.failures);
    }
}

/// Fails when no case was compared or any field mismatched (all mismatches listed); prints the
/// number of fields that matched otherwise.
pub fn report(what: &str, cases: usize, total: usize, failures: &[String]) {
    assert!(cases > 0, "{what}: no oracle case compared");
    assert!(
        failures.is_empty(),
        "{what}: {} mismatches with metafor:\n{}",
        failures.len(),
        failures.join("\n")
    );
    println!("{what}: {total} fields of {cases} oracle case(s) match metafor");
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    // The checker must be able to fail: each kind of mismatch is recorded, with the case id.
    #[test]
    fn mismatches_are_recorded() {
        let mut c = Checker::new("case1");
        c.num("beta", &json!(1.0), 1.0 + 2e-10, Tol::Rel(STRICT)); // 2e-10 > 1e-10: fails
        c.num("se", &json!(2.0), 2.0 + 1e-10, Tol::Rel(STRICT)); // 5e-11 relative: passes
        c.num("tau2", &Value::Null, 0.1, Tol::Rel(STRICT)); // NA expected: fails
        c.json_num("zval", &json!([3.0]), &json!(3.0), Tol::Abs(0.0)); // unwrapped: passes
        c.json_vec("w", &json!([1.0]), &json!([1.0, 2.0]), Tol::Abs(1.0)); // lengths: fails
        c.int("k", &json!(13), 12); // fails
        c.json_same("method", &json!("REML"), &json!("REML")); // passes
        assert_eq!(c.checks, 7);
        assert_eq!(c.failures.len(), 4, "{:?}", c.failures);
        assert!(c.failures.iter().all(|f| f.starts_with("case1 ")));
    }

    // Interval bounds are compared relative to the larger |bound| of their pair, p-values at ten
    // times their statistic's tolerance.
    #[test]
    fn pair_and_p_tolerances() {
        let t = pair_tol(Tol::Rel(1e-10), &json!(-0.001), &json!([0.5, -2.0]));
        assert!(matches!(t, Tol::Scaled(r, s) if r == 1e-10 && s == 2.0));
        assert!(matches!(p_tol(Tol::Rel(1e-10)), Tol::Rel(r) if r == 1e-9));
        assert!(matches!(p_tol(Tol::Abs(1e-3)), Tol::Abs(a) if a == 1e-3));
    }
}
