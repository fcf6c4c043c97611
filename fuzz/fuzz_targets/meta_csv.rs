//! Fuzz the meta-analysis trial-table reader (`vigil meta FILE.csv`): whatever bytes come in, reading
//! must return studies or located errors, never panic; what it reads must then go through the effect
//! sizes and the fits `vigil meta` runs (inverse variance, Mantel–Haenszel, Peto) without panicking.
#![no_main]
use libfuzzer_sys::fuzz_target;
use vigil_stats::meta::effect::{escalc, Measure, ZeroCellOptions};
use vigil_stats::meta::input::{read_study_data, DataKind, StudyValues, TrialTable};
use vigil_stats::meta::mh::{rma_mh, PooledOptions};
use vigil_stats::meta::peto::rma_peto;
use vigil_stats::meta::rma::{fit, RmaOptions};
use vigil_stats::meta::tau2::Method;

/// Fits are only run on small tables (each REML fit iterates; the reader is the target).
const MAX_FITTED: usize = 40;

fuzz_target!(|data: &[u8]| {
    let table = match TrialTable::parse(data) {
        Ok(t) => t,
        Err(e) => {
            assert!(!e.errors.is_empty(), "an error result lists at least one error");
            assert!(e.errors.iter().all(|x| x.line >= 1), "every error has a file line");
            return;
        }
    };
    assert_eq!(table.studies.len(), table.len());
    for kind in [DataKind::Tables, DataKind::Generic] {
        let Ok(d) = read_study_data(&table, kind) else { continue };
        assert_eq!(d.kept.len() + d.omitted.len(), table.len(), "every row is kept or omitted");
        assert_eq!(d.values.len(), d.kept.len());
        if d.kept.len() > MAX_FITTED {
            continue;
        }
        let ee = RmaOptions { method: Method::EE, ..RmaOptions::default() };
        let re = RmaOptions::default();
        match &d.values {
            StudyValues::Tables(t) => {
                for m in [Measure::RR, Measure::OR, Measure::RD, Measure::PETO] {
                    for drop00 in [false, true] {
                        let effects: Vec<_> = escalc(m, t, &ZeroCellOptions { drop00, ..ZeroCellOptions::default() }).into_iter().flatten().collect();
                        let yi: Vec<f64> = effects.iter().map(|e| e.yi).collect();
                        let vi: Vec<f64> = effects.iter().map(|e| e.vi).collect();
                        if !yi.is_empty() {
                            let _ = fit(&yi, &vi, None, ee);
                            let _ = fit(&yi, &vi, None, re);
                        }
                    }
                }
                for drop00 in [[true, false], [false, false], [true, true]] {
                    let po = PooledOptions { drop00, ..PooledOptions::default() };
                    for m in [Measure::OR, Measure::RR, Measure::RD] {
                        if let Ok(f) = rma_mh(m, t, &po) {
                            assert_eq!(f.weights_pct.len(), t.len(), "one weight per table");
                        }
                    }
                    if let Ok(f) = rma_peto(t, &po) {
                        assert_eq!(f.weights_pct.len(), t.len(), "one weight per table");
                    }
                }
            }
            StudyValues::Generic { yi, vi } => {
                if !yi.is_empty() {
                    let _ = fit(yi, vi, None, ee);
                    let _ = fit(yi, vi, None, re);
                }
            }
        }
    }
});
