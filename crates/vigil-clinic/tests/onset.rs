//! Time-to-onset analysis: rejection counts, quantiles, and the Weibull reading.
use vigil_clinic::onset::{
    analyse, histogram, histogram_svg, quantile_type7, reading, HazardReading, OnsetOptions,
    OnsetPair,
};
use vigil_clinic::PartialDate;

fn d(s: &str) -> Option<PartialDate> {
    Some(PartialDate::parse_iso(s).unwrap())
}

#[test]
fn rejects_and_counts_every_bad_pair() {
    let pairs = vec![
        OnsetPair {
            start: d("2024-01-01"),
            event: d("2024-01-11"),
        }, // 10 days
        OnsetPair {
            start: d("2024-01-01"),
            event: d("2024-01-01"),
        }, // 0 days (same day)
        OnsetPair {
            start: d("2024-01-01"),
            event: d("2024-03-01"),
        }, // 60 days (leap February: 31 + 29)
        OnsetPair {
            start: d("2024-01-01"),
            event: d("2024-02-15"),
        }, // 45 days
        OnsetPair {
            start: d("2024-02-01"),
            event: d("2024-01-15"),
        }, // negative
        OnsetPair {
            start: d("2024-01"),
            event: d("2024-02-15"),
        }, // partial start
        OnsetPair {
            start: d("2024-01-01"),
            event: d("2024"),
        }, // partial event
        OnsetPair {
            start: None,
            event: d("2024-02-15"),
        }, // missing
        OnsetPair {
            start: d("2000-01-01"),
            event: d("2024-02-15"),
        }, // implausible (> 3650 days)
    ];
    let a = analyse(pairs, &OnsetOptions::new(3650));
    let c = a.counts;
    assert_eq!(
        (
            c.input,
            c.used,
            c.negative,
            c.partial_date,
            c.missing_date,
            c.implausible,
            c.same_day
        ),
        (9, 4, 1, 2, 1, 1, 1)
    );
    assert_eq!(a.days, vec![0, 10, 45, 60]);
    // R type 7 on [0, 10, 45, 60]: median h = 1.5 → 10 + 0.5 × 35 = 27.5; Q1 h = 0.75 → 0 + 0.75 × 10 = 7.5;
    // Q3 h = 2.25 → 45 + 0.25 × 15 = 48.75. (numpy.quantile, whose default "linear" method is R type 7, gives 7.5, 27.5, 48.75.)
    assert_eq!((a.q1, a.median, a.q3), (Some(7.5), Some(27.5), Some(48.75)));
    assert!(a.weibull.is_some());
    assert!(a.caveat.contains("right-truncated"));
}

#[test]
fn quantile_type7_edges() {
    assert_eq!(quantile_type7(&[5.0], 0.5), Some(5.0));
    assert_eq!(quantile_type7(&[], 0.5), None);
    assert_eq!(quantile_type7(&[1.0, 2.0, 3.0], 0.5), Some(2.0));
}

#[test]
fn yamada_handa_worked_readings() {
    // Yamada & Handa 2014 (clinical.md §2.2): IFN-α 1.49 (1.09–1.94) wear-out; peg-IFN 1.07 (0.92–1.23)
    // random; IFN-β 0.84 (0.66–1.05) — the authors call it "close to early failure", but by the rule
    // (upper limit < 1) it is random.
    assert_eq!(reading((1.09, 1.94)), HazardReading::WearOut);
    assert_eq!(reading((0.92, 1.23)), HazardReading::Random);
    assert_eq!(reading((0.66, 1.05)), HazardReading::Random);
    assert_eq!(reading((0.40, 0.95)), HazardReading::EarlyFailure);
}

#[test]
fn early_onsets_read_as_early_failure() {
    // Many early onsets and a long tail: quantiles of a Weibull with shape 0.5, scale 30 days.
    let start = PartialDate::ymd(2020, 1, 1).unwrap();
    let base = start.exact().unwrap();
    let n = 120;
    let pairs: Vec<OnsetPair> = (1..=n)
        .map(|i| {
            let p = (i as f64 - 0.5) / n as f64;
            let days = (30.0 * (-(1.0 - p).ln()).powf(1.0 / 0.5)).round() as u64;
            let ev = base.checked_add_days(chrono::Days::new(days)).unwrap();
            OnsetPair {
                start: Some(start),
                event: Some(PartialDate::from_naive(ev)),
            }
        })
        .collect();
    let a = analyse(pairs, &OnsetOptions::new(36500));
    let w = a.weibull.unwrap();
    assert!(w.shape_ci.1 < 1.0, "{:?}", w.shape_ci);
    assert_eq!(w.reading, HazardReading::EarlyFailure);
}

#[test]
fn too_few_for_weibull_is_reported_not_panicked() {
    let a = analyse(
        vec![OnsetPair {
            start: d("2024-01-01"),
            event: d("2024-01-05"),
        }],
        &OnsetOptions::new(3650),
    );
    assert!(a.weibull.is_none());
    assert!(a.weibull_error.unwrap().contains("at least 2"));
    assert_eq!(a.median, Some(4.0));
}

#[test]
fn histogram_bins() {
    // Bins of 30 days: [0,30) holds 0, 10; [30,60) holds 45; [60,90) holds 60.
    assert_eq!(
        histogram(&[0, 10, 45, 60], 30),
        vec![(0, 30, 2), (30, 60, 1), (60, 90, 1)]
    );
    let svg = histogram_svg(&[0, 10, 45, 60], 30, "dupilumab & conjunctivitis");
    assert!(svg.starts_with("<svg") && svg.contains("&amp;") && svg.matches("<rect").count() == 3);
}
