//! The HSk and PMM τ² estimators, which the metafor oracle has no case for, against metafor 3.8's
//! own definitions written out by hand (`rma.uni`):
//! - HSk: `τ² = (k/(k−p)·Q − k) / Σwᵢ`, `wᵢ = 1/vᵢ` (the factor scales Q, not the HS estimate);
//!   `se = k/(k−p) · √(2(k−p) + 4τ²tr(P) + 2τ⁴tr(PP)) / Σwᵢ`;
//! - PMM: the root of `Q(τ²) = χ²₀.₅(k−p)` (generalised Q with weights `1/(vᵢ + τ²)`), truncated at
//!   0; `se = √(2k²/(k−p)) / Σ 1/(vᵢ + τ²)`.
//!
//! On dat.bcg (log RR) metafor prints τ² = 0.2492 for HSk; the old "HS × k/(k−p)" gave 0.2474.

use vigil_stats::meta::effect::{escalc, Measure, Table2x2, ZeroCellOptions};
use vigil_stats::meta::rma::{fit, RmaFit, RmaOptions};
use vigil_stats::meta::tau2::Method;

fn fitted(y: &[f64], v: &[f64], method: Method) -> RmaFit {
    fit(
        y,
        v,
        None,
        RmaOptions {
            method,
            ..RmaOptions::default()
        },
    )
    .unwrap()
}

fn near(what: &str, got: f64, want: f64, rel: f64) {
    assert!(
        (got - want).abs() <= rel * want.abs().max(1e-300),
        "{what}: got {got:.17e}, want {want:.17e}"
    );
}

/// y = (0, 2, 4), v = (1, 1, 1): Σw = 3, ȳ = 2, Q = 2² + 0 + 2² = 8.
/// HSk: τ² = (3/2·8 − 3)/3 = 3 (HS × 3/2 would give 3/2·(8 − 3)/3 = 2.5).
/// P = I − J/3 is idempotent: tr(P) = tr(PP) = 2, so se = 3/2·√(2·2 + 4·3·2 + 2·9·2)/3 = 3/2·8/3 = 4.
/// At τ² = 3 every weight is 1/4: β = 2, SE = √(1/(3/4)) = √(4/3); vt = (k−1)/tr(P) = 1, so
/// I² = 100·3/(3 + 1) = 75 % and H² = 3/1 + 1 = 4.
#[test]
fn hsk_three_equal_variances() {
    let f = fitted(&[0.0, 2.0, 4.0], &[1.0, 1.0, 1.0], Method::HSk);
    near("tau2", f.tau2, 3.0, 1e-14);
    near("se_tau2", f.se_tau2, 4.0, 1e-14);
    near("beta", f.beta[0], 2.0, 1e-14);
    near("se", f.se[0], (4.0f64 / 3.0).sqrt(), 1e-14);
    near("I2", f.i2, 75.0, 1e-14);
    near("H2", f.h2, 4.0, 1e-14);
    near("QE", f.qe, 8.0, 1e-14);
}

/// k = 2, y = (0, 2), v = (1, 1): Q = 1 + 1 = 2, Σw = 2. HSk: τ² = (2/1·2 − 2)/2 = 1, where HS is
/// (2 − 2)/2 = 0 and "HS × k/(k−p)" also 0.
/// Unequal variances, y = (0, 3), v = (1, 2): w = (1, 1/2), Σw = 3/2, ȳ_w = (0 + 3/2)/(3/2) = 1,
/// Q = 1·1² + ½·2² = 3, τ² = (2·3 − 2)/(3/2) = 8/3; the RE weights 1/(1 + 8/3) = 3/11 and
/// 1/(2 + 8/3) = 3/14 give β = (3·3/14)/(3/11 + 3/14) = (9/14)/(75/154) = 1.32.
#[test]
fn hsk_two_studies() {
    let f = fitted(&[0.0, 2.0], &[1.0, 1.0], Method::HSk);
    near("tau2", f.tau2, 1.0, 1e-14);
    let hs = fitted(&[0.0, 2.0], &[1.0, 1.0], Method::HS);
    assert_eq!(hs.tau2, 0.0);
    let f = fitted(&[0.0, 3.0], &[1.0, 2.0], Method::HSk);
    near("tau2", f.tau2, 8.0 / 3.0, 1e-14);
    near("beta", f.beta[0], 1.32, 1e-14);
}

/// PMM on y = (0, 2, 4), v = 1: Q(τ²) = 8/(1 + τ²) and χ²₀.₅(2) = 2 ln 2 (χ²(2) is exponential with
/// mean 2), so τ² = 8/(2 ln 2) − 1 = 4/ln 2 − 1 = 4.7707801635558535; se = √(2·3²/2)/(3/(1 + τ²)) =
/// 3·(4/ln 2)/3 = 4/ln 2 = 5.7707801635558535; β = 2 (equal weights).
/// k = 2, y = (0, 2), v = 1: Q(τ²) = 2/(1 + τ²) and χ²₀.₅(1) = z₀.₇₅² = 0.6744897501960817² =
/// 0.4549364231195727, so τ² = 2/0.4549364231195727 − 1 = 3.396218676635465.
/// PMM ≥ PM because the median of χ²(k−1) is below its mean (PM: 8/(1 + τ²) = 2 gives τ² = 3).
#[test]
fn pmm_closed_forms() {
    let ln2 = std::f64::consts::LN_2;
    let f = fitted(&[0.0, 2.0, 4.0], &[1.0, 1.0, 1.0], Method::PMM);
    near("tau2", f.tau2, 4.0 / ln2 - 1.0, 1e-12);
    near("se_tau2", f.se_tau2, 4.0 / ln2, 1e-12);
    near("beta", f.beta[0], 2.0, 1e-14);
    let pm = fitted(&[0.0, 2.0, 4.0], &[1.0, 1.0, 1.0], Method::PM);
    near("PM tau2", pm.tau2, 3.0, 1e-12);
    let f = fitted(&[0.0, 2.0], &[1.0, 1.0], Method::PMM);
    near(
        "tau2 k=2",
        f.tau2,
        2.0 / (0.6744897501960817f64 * 0.6744897501960817) - 1.0,
        1e-12,
    );
    near("tau2 k=2 (decimal)", f.tau2, 3.396218676635465, 1e-12);
    // Homogeneous data: Q(0) = 0.5 < χ²₀.₅(2) = 1.386, so PMM is truncated at 0.
    let f = fitted(&[0.0, 0.5, 1.0], &[1.0, 1.0, 1.0], Method::PMM);
    assert_eq!(f.tau2, 0.0);
}

/// dat.bcg, log RR, HSk: Q and Σw computed here from the 13 tables, then metafor's formula; the
/// result must round to metafor's printed 0.2492 (the figure) and equal vigil's estimate.
#[test]
fn hsk_on_dat_bcg_matches_metafor() {
    let Some(path) = vigil_test_support::shared("oracle/meta/datasets/dat.bcg.csv") else {
        return;
    };
    let mut rdr = csv::Reader::from_path(&path).unwrap();
    let h: Vec<String> = rdr.headers().unwrap().iter().map(str::to_string).collect();
    let col = |name: &str| h.iter().position(|x| x == name).unwrap();
    let (a, b, c, d) = (col("tpos"), col("tneg"), col("cpos"), col("cneg"));
    let tables: Vec<Table2x2> = rdr
        .records()
        .map(|r| {
            let r = r.unwrap();
            let n = |i: usize| r[i].parse::<f64>().unwrap();
            Table2x2::new(n(a), n(b), n(c), n(d))
        })
        .collect();
    let effects: Vec<_> = escalc(Measure::RR, &tables, &ZeroCellOptions::default())
        .into_iter()
        .map(|e| e.unwrap())
        .collect();
    let y: Vec<f64> = effects.iter().map(|e| e.yi).collect();
    let v: Vec<f64> = effects.iter().map(|e| e.vi).collect();
    let k = y.len() as f64;
    let sw: f64 = v.iter().map(|x| 1.0 / x).sum();
    let mean = y.iter().zip(&v).map(|(y, v)| y / v).sum::<f64>() / sw;
    let q: f64 = y.iter().zip(&v).map(|(y, v)| (y - mean).powi(2) / v).sum();
    let hsk = (k / (k - 1.0) * q - k) / sw;
    let f = fitted(&y, &v, Method::HSk);
    near("tau2 vs formula", f.tau2, hsk, 1e-12);
    assert!(
        (f.tau2 - 0.2492).abs() < 5e-5,
        "metafor prints 0.2492, got {}",
        f.tau2
    );
    // The former definition, HS × k/(k−1), is the 0.2474.
    assert!((k / (k - 1.0) * (q - k) / sw - 0.2474).abs() < 5e-5);
}
