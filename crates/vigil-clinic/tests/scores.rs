//! Severity scores against worked examples whose arithmetic is shown from the published formulas,
//! and against the published maxima (EASI 72, SCORAD 103, oSCORAD 83, POEM 28).
mod common;

use vigil_clinic::scores::easi::{EasiInput, EasiRegionInput};
use vigil_clinic::scores::poem::PoemInput;
use vigil_clinic::scores::pp_nrs::PpNrsInput;
use vigil_clinic::scores::scorad::{ScoradInput, ScoradIntensity};
use vigil_clinic::scores::viga::VigaInput;

fn region(e: f64, i: f64, x: f64, l: f64, pct: f64) -> EasiRegionInput {
    EasiRegionInput {
        erythema: e,
        induration: i,
        excoriation: x,
        lichenification: l,
        area_percent: Some(pct),
        area_score: None,
    }
}

fn worked_easi(age: f64) -> EasiInput {
    EasiInput {
        age_years: Some(age),
        head_neck: region(2.0, 1.5, 1.0, 0.5, 25.0),
        upper_limbs: region(2.0, 2.0, 1.0, 1.0, 40.0),
        trunk: region(1.0, 1.0, 0.5, 0.0, 15.0),
        lower_limbs: region(2.5, 2.0, 2.0, 1.5, 60.0),
    }
}

#[test]
fn easi_worked_example_adult() {
    // Hanifin 2001 formula with the ≥ 8-year multipliers (clinical.md §3.1):
    //   head/neck   (2 + 1.5 + 1 + 0.5) = 5.0 × area 2 (25% → 10–29%) × 0.1 =  1.0
    //   upper limbs (2 + 2 + 1 + 1)     = 6.0 × area 3 (40% → 30–49%) × 0.2 =  3.6
    //   trunk       (1 + 1 + 0.5 + 0)   = 2.5 × area 2 (15% → 10–29%) × 0.3 =  1.5
    //   lower limbs (2.5 + 2 + 2 + 1.5) = 8.0 × area 4 (60% → 50–69%) × 0.4 = 12.8
    //   EASI = 1.0 + 3.6 + 1.5 + 12.8 = 18.9 → Leshem 2015 band 7.1–21.0 "moderate".
    let e = worked_easi(30.0).compute(None).unwrap();
    let scores: Vec<f64> = e.regions.iter().map(|r| r.score).collect();
    assert_eq!(scores, vec![1.0, 3.6, 1.5, 12.8]);
    assert!((e.total - 18.9).abs() < 1e-12);
    assert_eq!(e.band, "moderate");
    assert!(!e.child_multipliers);
}

#[test]
fn easi_worked_example_child_uses_the_0_to_7_multipliers() {
    // Same signs at age 6: multipliers 0.2, 0.2, 0.3, 0.3.
    //   5.0 × 2 × 0.2 = 2.0;  6.0 × 3 × 0.2 = 3.6;  2.5 × 2 × 0.3 = 1.5;  8.0 × 4 × 0.3 = 9.6
    //   EASI = 16.7.
    let e = worked_easi(6.0).compute(None).unwrap();
    assert!((e.total - 16.7).abs() < 1e-12);
    assert!(e.child_multipliers);
    // The switch is at 8 years: age 7.9 is still a child, 8.0 is not.
    assert!(worked_easi(7.9).compute(None).unwrap().child_multipliers);
    assert!((worked_easi(8.0).compute(None).unwrap().total - 18.9).abs() < 1e-12);
}

#[test]
fn easi_maximum_is_72_for_both_age_groups() {
    // Published range 0–72: 12 × 6 × (0.1 + 0.2 + 0.3 + 0.4) = 72 and 12 × 6 × (0.2 + 0.2 + 0.3 + 0.3) = 72.
    let max = || region(3.0, 3.0, 3.0, 3.0, 100.0);
    for age in [5.0, 40.0] {
        let e = EasiInput {
            age_years: Some(age),
            head_neck: max(),
            upper_limbs: max(),
            trunk: max(),
            lower_limbs: max(),
        }
        .compute(None)
        .unwrap();
        assert_eq!(e.total, 72.0);
        assert_eq!(e.band, "very severe");
    }
}

#[test]
fn easi_refuses_out_of_range_signs_and_needs_an_age() {
    let mut input = worked_easi(30.0);
    input.trunk.erythema = 1.25; // not a half point
    let err = input.compute(None).unwrap_err();
    assert!(err.to_string().contains("trunk.erythema"), "{err}");
    let mut input = worked_easi(30.0);
    input.age_years = None;
    assert!(input.compute(None).is_err());
    assert!(input.compute(Some(30.0)).is_ok());
}

fn worked_scorad() -> ScoradInput {
    serde_json::from_str(
        r#"{
            "extent_by_region": { "head_neck": 100, "left_upper_limb": 50, "right_upper_limb": 50, "anterior_trunk": 25, "back": 25 },
            "intensity": { "erythema": 2, "oedema_papulation": 2, "oozing_crusting": 1, "excoriation": 2, "lichenification": 1, "dryness": 2 },
            "pruritus": 6, "sleeplessness": 4
        }"#,
    )
    .unwrap()
}

#[test]
fn scorad_worked_example() {
    // European Task Force 1993 formula, rule-of-nines weights (clinical.md §3.2):
    //   A = 9 × 100% + 9 × 50% + 9 × 50% + 18 × 25% + 18 × 25% = 9 + 4.5 + 4.5 + 4.5 + 4.5 = 27
    //   B = 2 + 2 + 1 + 2 + 1 + 2 = 10
    //   C = 6 + 4 = 10
    //   SCORAD  = 27/5 + 7 × 10/2 + 10 = 5.4 + 35 + 10 = 50.4 → Chopra 2017 "severe" (49.0–103)
    //   oSCORAD = 5.4 + 35 = 40.4                            → Chopra 2017 "severe" (38.0–83)
    let s = worked_scorad().compute().unwrap();
    assert!((s.extent_a - 27.0).abs() < 1e-12);
    assert_eq!(s.intensity_b, 10);
    assert_eq!(s.symptoms_c, Some(10.0));
    assert!((s.scorad.unwrap() - 50.4).abs() < 1e-12);
    assert!((s.objective - 40.4).abs() < 1e-12);
    assert_eq!(s.scorad_band, Some("severe"));
    assert_eq!(s.objective_band, "severe");
}

#[test]
fn scorad_maxima_are_103_and_83() {
    let s = ScoradInput {
        extent_percent: Some(100.0),
        extent_by_region: None,
        intensity: ScoradIntensity {
            erythema: 3,
            oedema_papulation: 3,
            oozing_crusting: 3,
            excoriation: 3,
            lichenification: 3,
            dryness: 3,
        },
        pruritus: Some(10.0),
        sleeplessness: Some(10.0),
    }
    .compute()
    .unwrap();
    // 100/5 + 7 × 18/2 + 20 = 20 + 63 + 20 = 103; objective 83.
    assert_eq!(s.scorad, Some(103.0));
    assert_eq!(s.objective, 83.0);
    // The full rule-of-nines map sums to 100%.
    let all: ScoradInput = serde_json::from_str(
        r#"{"extent_by_region": {"head_neck":100,"left_upper_limb":100,"right_upper_limb":100,"left_lower_limb":100,
            "right_lower_limb":100,"anterior_trunk":100,"back":100,"genitals":100},
            "intensity": {"erythema":0,"oedema_papulation":0,"oozing_crusting":0,"excoriation":0,"lichenification":0,"dryness":0}}"#,
    )
    .unwrap();
    assert_eq!(all.compute().unwrap().extent_a, 100.0);
}

#[test]
fn scorad_chopra_band_edges() {
    use vigil_clinic::scores::scorad::{objective_band, scorad_band};
    assert_eq!(scorad_band(9.9), "clear");
    assert_eq!(scorad_band(10.0), "mild");
    assert_eq!(scorad_band(28.9), "mild");
    assert_eq!(scorad_band(29.0), "moderate");
    assert_eq!(scorad_band(48.9), "moderate");
    assert_eq!(scorad_band(49.0), "severe");
    assert_eq!(objective_band(7.9), "clear");
    assert_eq!(objective_band(8.0), "mild");
    assert_eq!(objective_band(24.0), "moderate");
    assert_eq!(objective_band(38.0), "severe");
}

#[test]
fn poem_days_to_scores_and_bands() {
    // Charman 2004 item scoring: 0 days → 0, 1–2 → 1, 3–4 → 2, 5–6 → 3, 7 → 4.
    //   days [2, 0, 0, 0, 1, 3, 5] → [1, 0, 0, 0, 1, 2, 3] → total 7 → Charman 2013 "mild" (3–7).
    let p = PoemInput {
        item_scores: None,
        days: Some(vec![2, 0, 0, 0, 1, 3, 5]),
    }
    .compute()
    .unwrap();
    assert_eq!(p.item_scores, vec![1, 0, 0, 0, 1, 2, 3]);
    assert_eq!(p.total, 7);
    assert_eq!(p.band, "mild");
    // All every day: 7 × 4 = 28, "very severe" (25–28).
    let p = PoemInput {
        item_scores: None,
        days: Some(vec![7; 7]),
    }
    .compute()
    .unwrap();
    assert_eq!((p.total, p.band), (28, "very severe"));
    // Band edges 2/3, 7/8, 16/17, 24/25.
    use vigil_clinic::scores::poem::band;
    assert_eq!(
        [
            band(2),
            band(3),
            band(7),
            band(8),
            band(16),
            band(17),
            band(24),
            band(25)
        ],
        [
            "clear or almost clear",
            "mild",
            "mild",
            "moderate",
            "moderate",
            "severe",
            "severe",
            "very severe"
        ]
    );
    // Six items: refused, not guessed.
    assert!(PoemInput {
        item_scores: Some(vec![1; 6]),
        days: None
    }
    .compute()
    .is_err());
    assert!(PoemInput {
        item_scores: None,
        days: Some(vec![8, 0, 0, 0, 0, 0, 0])
    }
    .compute()
    .is_err());
}

#[test]
fn viga_success_needs_0_or_1_and_two_grades_down() {
    // SOLO/CHRONOS success: IGA 0/1 and ≥ 2-point reduction (clinical.md §3.4).
    let v = |g, b| {
        VigaInput {
            grade: g,
            baseline: Some(b),
        }
        .compute()
        .unwrap()
        .success
    };
    assert_eq!(v(1, 3), Some(true));
    assert_eq!(v(0, 2), Some(true));
    assert_eq!(v(1, 2), Some(false)); // only 1 grade down
    assert_eq!(v(2, 4), Some(false)); // 2 down but grade 2
    assert_eq!(
        VigaInput {
            grade: 3,
            baseline: None
        }
        .compute()
        .unwrap()
        .label,
        "moderate"
    );
    assert!(VigaInput {
        grade: 5,
        baseline: None
    }
    .compute()
    .is_err());
}

#[test]
fn pp_nrs_responder_is_four_points() {
    // Yosipovitch 2019: responder = improvement ≥ 4 points.
    let r = |s, b| {
        PpNrsInput {
            score: s,
            baseline: Some(b),
        }
        .compute()
        .unwrap()
    };
    assert_eq!(r(4.0, 8.0).responder, Some(true));
    assert_eq!(r(4.5, 8.0).responder, Some(false));
    assert_eq!(r(4.0, 8.0).stratum, Some("moderate"));
    assert_eq!(r(3.0, 8.0).stratum, Some("mild"));
    assert_eq!(r(4.5, 8.0).stratum, None); // weekly average: no whole-number stratum
    assert!(PpNrsInput {
        score: 11.0,
        baseline: None
    }
    .compute()
    .is_err());
}

#[test]
fn example_flare_case_scores_agree_between_easi_and_scorad() {
    // The flare involves the flexures, trunk, arms and legs, not the head and neck; both instruments
    // are given the same percentage of each region (before the fix: head/neck 25% in EASI, 100% in
    // SCORAD, and no legs in SCORAD at all).
    let case = common::example("ad-flare-missed-dose.json");
    let report = case
        .scores
        .as_ref()
        .unwrap()
        .compute(case.patient.age_years)
        .unwrap();
    // EASI, ≥ 8-year multipliers (age 34 at onset; assessed at or after onset):
    //   head/neck 0 × area 0 × 0.1 = 0; upper limbs (2+2+1+1) 6 × area 3 (40%) × 0.2 = 3.6;
    //   trunk (1+1+0.5+0) 2.5 × area 2 (20%) × 0.3 = 1.5; lower limbs (2.5+2+2+1.5) 8 × area 4 (60%) × 0.4 = 12.8
    //   EASI = 0 + 3.6 + 1.5 + 12.8 = 17.9, "moderate" (7.1–21.0).
    let easi = report.easi.unwrap();
    assert!((easi.total - 17.9).abs() < 1e-12, "{}", easi.total);
    assert_eq!(easi.band, "moderate");
    assert!(
        easi.age_basis.contains("age at onset 34"),
        "{}",
        easi.age_basis
    );
    // SCORAD, rule of nines with the same percentages:
    //   A = 9·0 + 9·0.4 + 9·0.4 + 18·0.6 + 18·0.6 + 18·0.2 + 18·0.2 = 3.6 + 3.6 + 10.8 + 10.8 + 3.6 + 3.6 = 36.0
    //   B = 2 + 2 + 1 + 2 + 1 + 2 = 10; C = 6 + 4 = 10
    //   SCORAD = 36/5 + 7·10/2 + 10 = 7.2 + 35 + 10 = 52.2 ("severe", ≥ 49); oSCORAD 42.2 ("severe", ≥ 38).
    let scorad = report.scorad.unwrap();
    assert!((scorad.extent_a - 36.0).abs() < 1e-12);
    assert!((scorad.scorad.unwrap() - 52.2).abs() < 1e-9);
    assert!((scorad.objective - 42.2).abs() < 1e-9);
    // POEM items [4, 3, 2, 2, 3, 3, 4] = 21 → "severe" (17–24).
    assert_eq!(report.poem.unwrap().total, 21);
}

#[test]
fn easi_multipliers_come_from_the_age_at_assessment() {
    // Without an age at assessment, the age at onset decides only when it cannot be wrong: the scores
    // are taken at or after onset, so ≥ 8 at onset is ≥ 8 at assessment; under 8 the child may have
    // turned 8 since, and EASI asks for the age (before: the onset age was used silently).
    let mut input = worked_easi(30.0);
    input.age_years = None;
    let adult = input.compute(Some(30.0)).unwrap();
    assert!(!adult.child_multipliers && adult.age_basis.contains("age at onset 30"));
    let err = input.compute(Some(7.5)).unwrap_err();
    assert_eq!(err.field, "age_years");
    assert!(
        err.message.contains("7.5") && err.message.contains("8 years"),
        "{}",
        err.message
    );
    // Given, the age at assessment wins over the onset age: 8.2 at the visit, 7.9 at onset → adult.
    input.age_years = Some(8.2);
    let e = input.compute(Some(7.9)).unwrap();
    assert!(!e.child_multipliers);
    assert!(e.age_basis.contains("age at assessment 8.2"));
}
