//! The Poisson MaxSPRT against published values of its reference implementation, an exact
//! fixed-sample test, and a seeded simulation under the null.

use vigil_stats::maxsprt::{
    continuous_critical_value, continuous_rejection_probability, group_critical_value,
    group_rejection_probability, llr,
};

#[test]
fn continuous_critical_value_matches_the_published_value() {
    // R package Sequential (Kulldorff & Silva), the worked example of `Performance.Poisson`:
    // CV.Poisson(SampleSize = 10, alpha = 0.05) = 3.467952 (printed to 6 decimals), and with that
    // cv, Performance.Poisson(SampleSize = 10, cv = cvt, RR = 2) gives Power = 0.6850634.
    let cv = continuous_critical_value(10.0, 1, 0.05).unwrap();
    assert!((cv - 3.467952).abs() < 5e-7, "cv {cv}");
    let size = continuous_rejection_probability(10.0, 1, cv, 1.0);
    assert!((size - 0.05).abs() < 1e-9, "size {size}");
    // The package passes its unrounded cv to Performance.Poisson: so does this test.
    let power = continuous_rejection_probability(10.0, 1, cv, 2.0);
    assert!((power - 0.6850634).abs() < 5e-8, "power {power}");
}

#[test]
fn continuous_power_with_a_minimum_of_three_events_matches_the_published_value() {
    // Sequential's package example: cvt <- CV.Poisson(SampleSize = 10, D = 0, M = 3,
    // alpha = 0.05); Performance.Poisson(SampleSize = 10, D = 0, M = 3, cv = cvt, RR = 2) prints
    // Power = 0.7329625.
    let cv = continuous_critical_value(10.0, 3, 0.05).unwrap();
    let power = continuous_rejection_probability(10.0, 3, cv, 2.0);
    assert!((power - 0.7329625).abs() < 5e-7, "cv {cv}, power {power}");
}

#[test]
fn one_look_is_the_exact_poisson_test() {
    // With a single look at T = 4 the MaxSPRT rejects when C ≥ b, the smallest b with
    // P(Pois(4) ≥ b) ≤ 0.05. scipy 1.17.1: poisson.sf(8, 4) = P(C ≥ 9) = 0.021363434487984143,
    // poisson.sf(7, 4) = P(C ≥ 8) = 0.0511336157928473: b = 9, attained size 0.0213634345, and the
    // critical value lies just above LLR(8, 4) = −4 + 8 ln 2 = 1.545177444.
    let g = group_critical_value(&[4.0], 1, 0.05).unwrap();
    assert!(
        (g.attained_alpha - 0.021363434487984143).abs() < 1e-12,
        "{g:?}"
    );
    let llr8 = -4.0 + 8.0 * 2f64.ln();
    assert!(g.cv > llr8 && g.cv - llr8 < 1e-8, "{g:?}");
    assert!(g.cv <= llr(9.0, 4.0));
}

#[test]
fn group_sequential_type_one_error_by_simulation() {
    // Eight quarterly looks with unequal expected increments (a drug whose use grows), T = 12.
    let increments = [0.5, 0.8, 1.0, 1.2, 1.5, 2.0, 2.3, 2.7];
    let looks: Vec<f64> = increments
        .iter()
        .scan(0.0, |s, x| {
            *s += x;
            Some(*s)
        })
        .collect();
    let g = group_critical_value(&looks, 1, 0.05).unwrap();
    assert!(g.attained_alpha <= 0.05);
    // 20,000 seeded runs under H0: Poisson counts per look, reject at the first look with
    // LLR ≥ cv. The rejection rate must lie within 3 standard errors of the exact size
    // (√(α(1 − α)/20,000) ≈ 0.0015), and the exact size within 3 SE of the nominal 0.05.
    let mut rng = fastrand::Rng::with_seed(19);
    let runs = 20_000;
    let mut rejected = 0;
    for _ in 0..runs {
        let mut c = 0u64;
        for (g_i, &inc) in increments.iter().enumerate() {
            c += poisson(&mut rng, inc);
            if llr(c as f64, looks[g_i]) >= g.cv {
                rejected += 1;
                break;
            }
        }
    }
    let rate = rejected as f64 / runs as f64;
    eprintln!(
        "cv {}, exact size {}, simulated {rate}",
        g.cv, g.attained_alpha
    );
    let se = (g.attained_alpha * (1.0 - g.attained_alpha) / runs as f64).sqrt();
    assert!(
        (rate - g.attained_alpha).abs() < 3.0 * se,
        "simulated {rate} vs exact {}",
        g.attained_alpha
    );
    let se_nominal = (0.05f64 * 0.95 / runs as f64).sqrt();
    assert!(
        (rate - 0.05).abs() < 3.0 * se_nominal,
        "simulated {rate} vs 0.05 ({g:?})"
    );
    // The exact recursion agrees with itself at the critical value.
    assert_eq!(
        group_rejection_probability(&looks, 1, g.cv, 1.0),
        g.attained_alpha
    );
}

/// A Poisson draw by inversion (means here are at most a few units).
fn poisson(rng: &mut fastrand::Rng, mean: f64) -> u64 {
    let u = rng.f64();
    let mut k = 0u64;
    let mut p = (-mean).exp();
    let mut cdf = p;
    while u > cdf {
        k += 1;
        p *= mean / k as f64;
        cdf += p;
    }
    k
}
