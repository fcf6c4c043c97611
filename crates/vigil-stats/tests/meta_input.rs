//! The trial-table reader (`meta::input`) and what follows it on inputs found by fuzzing
//! (`fuzz/fuzz_targets/meta_csv.rs`): each became a regression test here.

use vigil_stats::meta::effect::{escalc, Measure, ZeroCellOptions};
use vigil_stats::meta::input::{read_study_data, DataKind, StudyValues, TrialTable};
use vigil_stats::meta::rma::{fit, RmaOptions};
use vigil_stats::meta::tau2::Method;

/// Fuzzing found a table whose treated arm has 5.6e95 patients: the log Peto OR of that study has
/// a sampling variance near 1e92, the weights under- and overflow, and a Fisher-scoring step of −∞
/// made the step-halving loop (τ² + step < 0 → halve the step) run for ever. Every measure, with and
/// without drop00, under EE and REML must now return (a value or an error).
#[test]
fn huge_total_does_not_hang_the_reml_fit() {
    let text = format!(
        "study,ai,n1i,ci,n2i\nA,1,{},14,554\n,38,425,28,315\nC,8,82,16,85\n",
        "5".repeat(96)
    );
    let table = TrialTable::parse(text.as_bytes()).unwrap();
    let data = read_study_data(&table, DataKind::Tables).unwrap();
    let StudyValues::Tables(tables) = &data.values else {
        panic!("tables expected")
    };
    let mut fitted = 0;
    for m in [Measure::RR, Measure::OR, Measure::RD, Measure::PETO] {
        for drop00 in [false, true] {
            let e: Vec<_> = escalc(
                m,
                tables,
                &ZeroCellOptions {
                    drop00,
                    ..ZeroCellOptions::default()
                },
            )
            .into_iter()
            .flatten()
            .collect();
            let yi: Vec<f64> = e.iter().map(|x| x.yi).collect();
            let vi: Vec<f64> = e.iter().map(|x| x.vi).collect();
            for method in [Method::EE, Method::REML, Method::ML, Method::PM, Method::DL] {
                let _ = fit(
                    &yi,
                    &vi,
                    None,
                    RmaOptions {
                        method,
                        ..RmaOptions::default()
                    },
                );
                fitted += 1;
            }
        }
    }
    assert_eq!(fitted, 40);
}

/// Header and rows: a UTF-8 byte-order mark, CRLF line ends, quoted labels with commas and a blank
/// line are read; `study N` labels count the file's rows, so they survive an omission.
#[test]
fn bom_crlf_quotes_and_generated_labels() {
    let t = TrialTable::parse(
        b"\xEF\xBB\xBFai,n1i,ci,n2i\r\n1,10,2,10\r\n\r\nNA,10,2,10\r\n3,30,4,31\r\n",
    )
    .unwrap();
    assert_eq!(t.lines, [2, 4, 5]);
    let d = read_study_data(&t, DataKind::Tables).unwrap();
    assert_eq!(d.omitted[0].study, "study 2");
    assert_eq!(t.subset(&d.kept).studies, ["study 1", "study 3"]);
    let q = TrialTable::parse(b"study,yi,vi\n\"Smith, 2001\",0.1,0.2\n").unwrap();
    assert_eq!(q.studies, ["Smith, 2001"]);
}

/// Bad cells are all reported, each with its line and field, in file order; a cell that is a
/// number but not finite (`inf`, `NaN`) is an error, not a study.
#[test]
fn every_bad_cell_is_located() {
    let t = TrialTable::parse(
        b"study,ai,n1i,ci,n2i\nA,x,10,2,10\nB,inf,10,2,10\nC,0,0,0,0\nD,-1,10,2,10\n",
    )
    .unwrap();
    let e = read_study_data(&t, DataKind::Tables).unwrap_err();
    let shown: Vec<String> = e.errors.iter().map(ToString::to_string).collect();
    assert_eq!(
        shown,
        [
            "line 2, field ai: not a number: 'x'",
            "line 3, field ai: not a finite number: 'inf'",
            "line 4, field n1i: the treated arm has no patients",
            "line 4, field n2i: the control arm has no patients",
            "line 5, field ai: negative count -1",
        ]
    );
}

/// An empty file and a header-only file.
#[test]
fn empty_inputs() {
    let e = TrialTable::parse(b"").unwrap_err();
    assert_eq!(e.errors[0].line, 1);
    let t = TrialTable::parse(b"study,yi,vi\n").unwrap();
    let d = read_study_data(&t, DataKind::Generic).unwrap();
    assert!(d.kept.is_empty() && d.omitted.is_empty());
}

/// Found by fuzzing: two tables, 0/1911 vs 1/128 and 6/300 vs 29/274, log OR, REML. Fisher scoring
/// reaches the optimum in one step and then jitters by ±2e-15; the 1e-15 stopping test alone ran all
/// 100,000 steps and reported no convergence. For two studies the REML (= DL) estimate is closed:
/// τ² = ((y₁ − y₂)² − v₁ − v₂)/2. With 1/2 added to the first table (zero cell):
/// y₁ = ln(0.5·128.5/(1911.5·1.5)), v₁ = 1/0.5 + 1/1911.5 + 1/1.5 + 1/128.5;
/// y₂ = ln(6·245/(294·29)), v₂ = 1/6 + 1/294 + 1/29 + 1/245; τ² = 0.63995474278...
#[test]
fn two_study_reml_converges_at_the_closed_form() {
    let table = TrialTable::parse(
        b"sdy,ai,bi,ci,di\n\"Trial 1\",0,1911,1,128\n\"Trial, 2\",6,300,29,274\n",
    )
    .unwrap();
    let data = read_study_data(&table, DataKind::Tables).unwrap();
    let StudyValues::Tables(tables) = &data.values else {
        panic!("tables expected")
    };
    let e: Vec<_> = escalc(Measure::OR, tables, &ZeroCellOptions::default())
        .into_iter()
        .map(|x| x.unwrap())
        .collect();
    let y1 = (0.5f64 * 128.5 / (1911.5 * 1.5)).ln();
    let v1 = 1.0 / 0.5 + 1.0 / 1911.5 + 1.0 / 1.5 + 1.0 / 128.5;
    let y2 = (6.0f64 * 274.0 / (300.0 * 29.0)).ln();
    let v2 = 1.0 / 6.0 + 1.0 / 300.0 + 1.0 / 29.0 + 1.0 / 274.0;
    let want = ((y1 - y2).powi(2) - v1 - v2) / 2.0;
    let (y, v): (Vec<f64>, Vec<f64>) = e.iter().map(|x| (x.yi, x.vi)).unzip();
    let f = fit(&y, &v, None, RmaOptions::default()).expect("REML converges");
    assert!(
        (f.tau2 - want).abs() <= 1e-12 * want,
        "{} vs {want}",
        f.tau2
    );
    assert!(f.iterations < 100, "{} iterations", f.iterations);
}
