//! `vigil meta` end to end: input errors name the line and column; the JSON output carries
//! metafor's numbers (checked against the oracle in `../shared/oracle/meta/` when it is present);
//! the forest and funnel plots are well-formed SVG with one row / point per study.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn vigil(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vigil")).args(args).output().expect("run vigil")
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn example() -> String {
    repo().join("examples/trials/dupilumab_infections.csv").display().to_string()
}

fn oracle() -> PathBuf {
    repo().join("../shared/oracle/meta")
}

fn write(dir: &tempfile::TempDir, name: &str, text: &str) -> String {
    let p = dir.path().join(name);
    std::fs::write(&p, text).unwrap();
    p.display().to_string()
}

/// Runs vigil expecting failure; returns stderr.
fn fails(args: &[&str]) -> String {
    let out = vigil(args);
    assert_eq!(out.status.code(), Some(2), "expected exit 2, stdout: {}", String::from_utf8_lossy(&out.stdout));
    String::from_utf8(out.stderr).unwrap()
}

fn json_of(args: &[&str]) -> Value {
    let out = vigil(args);
    assert!(out.status.success(), "vigil failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn close(actual: &Value, expected: &Value, rel: f64, what: &str) {
    let (a, e) = (actual.as_f64().unwrap_or(f64::NAN), expected.as_f64().unwrap());
    assert!((a - e).abs() <= rel * e.abs(), "{what}: actual {a}, expected {e}");
}

#[test]
fn non_numeric_cell_names_line_and_column() {
    let d = tempfile::tempdir().unwrap();
    let f = write(&d, "t.csv", "study,ai,n1i,ci,n2i\nA,1,10,2,10\nB,x,10,2,10\nC,1,10,two,10\n");
    let err = fails(&["meta", &f]);
    assert!(err.contains("line 3, column 'ai': not a number: 'x'"), "{err}");
    assert!(err.contains("line 4, column 'ci': not a number: 'two'"), "{err}");
}

#[test]
fn events_above_total_and_negative_counts_are_rejected() {
    let d = tempfile::tempdir().unwrap();
    let f = write(&d, "t.csv", "study,ai,n1i,ci,n2i\nA,1,10,2,10\nB,12,10,2,10\nC,1,10,-2,10\n");
    let err = fails(&["meta", &f]);
    assert!(err.contains("line 3, column 'ai': events (12) exceed the total n1i (10)"), "{err}");
    assert!(err.contains("line 4, column 'ci': negative count -2"), "{err}");
    assert!(err.contains("2 bad row(s)"), "{err}");
}

#[test]
fn random_effects_needs_two_studies() {
    let d = tempfile::tempdir().unwrap();
    let f = write(&d, "t.csv", "study,ai,n1i,ci,n2i\nA,1,10,2,10\n");
    let err = fails(&["meta", &f]);
    assert!(err.contains("random-effects model needs at least 2 studies"), "{err}");
    // The common-effect model runs on one study: RR = (1/10)/(2/10) = 0.5.
    let j = json_of(&["meta", &f, "--model", "ee", "--format", "json"]);
    close(&j["beta"], &Value::from(0.5f64.ln()), 1e-12, "log RR of one study");
}

#[test]
fn missing_column_is_named() {
    let d = tempfile::tempdir().unwrap();
    let f = write(&d, "t.csv", "study,ai,n1i,ci\nA,1,10,2\nB,2,10,3\n");
    let err = fails(&["meta", &f]);
    assert!(err.contains("missing column 'n2i'"), "{err}");
    let g = write(&d, "g.csv", "study,yi\nA,0.1\nB,0.2\n");
    let err = fails(&["meta", &g]);
    assert!(err.contains("missing column 'sei'") || err.contains("missing column 'vi'"), "{err}");
}

#[test]
fn generic_effects_with_standard_errors() {
    // Two studies, yi = 0 and 1, se = 1 each: EE estimate 0.5, SE 1/sqrt(2), Q = 0.5.
    let d = tempfile::tempdir().unwrap();
    let f = write(&d, "g.csv", "study,yi,sei\nA,0,1\nB,1,1\n");
    let j = json_of(&["meta", &f, "--model", "ee", "--format", "json"]);
    close(&j["beta"], &Value::from(0.5), 1e-14, "beta");
    close(&j["se"], &Value::from(0.5f64.sqrt()), 1e-14, "se");
    close(&j["QE"], &Value::from(0.5), 1e-14, "QE");
}

#[test]
fn forest_and_funnel_are_well_formed_with_one_row_per_study() {
    let d = tempfile::tempdir().unwrap();
    let forest = d.path().join("forest.svg");
    let funnel = d.path().join("funnel.svg");
    let out = vigil(&["meta", &example(), "--forest", forest.to_str().unwrap(), "--funnel", funnel.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = std::fs::read_to_string(&forest).unwrap();
    let doc = roxmltree::Document::parse(&text).expect("forest SVG parses as XML");
    let rows: Vec<_> = doc.descendants().filter(|n| n.attribute("class") == Some("study-row")).collect();
    assert_eq!(rows.len(), 3, "the example has 3 trials");
    let labels: Vec<String> = rows.iter().map(|r| r.descendants().find(|n| n.is_text()).unwrap().text().unwrap().to_string()).collect();
    assert_eq!(labels, ["Beck2014_M12", "CHRONOS_q2w+qw", "ADOL_q2w"]);
    assert_eq!(doc.descendants().filter(|n| n.has_tag_name("polygon")).count(), 1, "one pooled diamond");
    assert!(doc.descendants().any(|n| n.attribute("class") == Some("heterogeneity")));
    let text = std::fs::read_to_string(&funnel).unwrap();
    let doc = roxmltree::Document::parse(&text).expect("funnel SVG parses as XML");
    assert_eq!(doc.descendants().filter(|n| n.attribute("class") == Some("study")).count(), 3);
}

/// The example's MH and DL pooled RRs are those of metafor (oracle cases
/// `dupilumab__skin__RR__MH` and `dupilumab__skin__RR__DL`, same three rows).
#[test]
fn example_matches_metafor() {
    let dir = oracle().join("cases/case_study_dupilumab");
    if !dir.exists() {
        println!("skipping: {} not found", dir.display());
        return;
    }
    for (case, extra) in [("dupilumab__skin__RR__MH", vec!["--model", "mh"]), ("dupilumab__skin__RR__DL", vec!["--method", "DL"])] {
        let e: Value = serde_json::from_str(&std::fs::read_to_string(dir.join(format!("{case}.json"))).unwrap()).unwrap();
        let mut args = vec!["meta", "--format", "json", "--measure", "RR"];
        let ex = example();
        args.push(&ex);
        args.extend(extra);
        let j = json_of(&args);
        for k in ["beta", "se", "zval", "QE", "I2"] {
            close(&j[k], &e["expected"]["model"][k], 1e-10, &format!("{case} {k}"));
        }
        close(&j["predict_exp"]["pred"], &e["expected"]["predict_exp"]["pred"], 1e-10, case);
        close(&j["predict_exp"]["ci_lb"], &e["expected"]["predict_exp"]["ci_lb"], 1e-10, case);
        close(&j["predict_exp"]["ci_ub"], &e["expected"]["predict_exp"]["ci_ub"], 1e-10, case);
        if case.ends_with("__MH") {
            // The contract's top-level keys exist for every model; MH has no τ² and no prediction
            // interval (metafor's rma.mh has neither), so they are explicit nulls, not absent.
            for k in ["tau2", "se_tau2", "tau", "pi_lb", "pi_ub"] {
                assert!(j.get(k).is_some_and(Value::is_null), "{case}: {k} should be present and null, got {:?}", j.get(k));
            }
        }
    }
}

/// Every extra analysis of the contract on dat.bcg (renamed to ai,bi,ci,di), checked against the
/// metafor oracle: leave-one-out (DL), meta-regression on ablat with predictions at 10, 30, 50 (DL).
#[test]
fn extra_analyses_match_metafor_on_bcg() {
    let data = oracle().join("datasets/dat.bcg.csv");
    if !data.exists() {
        println!("skipping: {} not found", data.display());
        return;
    }
    let text = std::fs::read_to_string(&data).unwrap();
    let text = text.replacen("\"tpos\",\"tneg\",\"cpos\",\"cneg\"", "\"ai\",\"bi\",\"ci\",\"di\"", 1).replacen("\"trial\"", "\"study\"", 1);
    assert!(text.starts_with("\"study\""), "unexpected dat.bcg header");
    let d = tempfile::tempdir().unwrap();
    let f = write(&d, "bcg.csv", &text);
    let j = json_of(&[
        "meta", &f, "--measure", "RR", "--method", "DL", "--leave1out", "--cumulative", "year", "--regtest", "lm", "--trimfill", "L0", "--subgroup", "alloc", "--mods",
        "ablat", "--predict-at", "10;30;50", "--format", "json",
    ]);
    for block in ["confint", "leave1out", "cumulative", "regtest", "trimfill", "subgroup", "mods"] {
        assert!(j.get(block).is_some(), "missing block {block}");
    }
    let cases = oracle().join("cases");
    let l1o: Value = serde_json::from_str(&std::fs::read_to_string(cases.join("leave1out/dat.bcg__leave1out__RR__DL.json")).unwrap()).unwrap();
    for (i, e) in l1o["expected"]["leave1out"]["estimate"].as_array().unwrap().iter().enumerate() {
        close(&j["leave1out"]["estimate"][i], e, 1e-10, "leave1out estimate");
    }
    let mr: Value = serde_json::from_str(&std::fs::read_to_string(cases.join("metaregression/dat.bcg__metareg_ablat__RR__DL__z.json")).unwrap()).unwrap();
    close(&j["mods"]["QM"], &mr["expected"]["model"]["QM"], 1e-10, "QM");
    close(&j["mods"]["tau2"], &mr["expected"]["model"]["tau2"], 1e-10, "tau2 with ablat");
    for i in 0..3 {
        close(&j["mods"]["predictions"][i]["pred"], &mr["expected"]["predict_ablat_10_30_50"]["pred"][i], 1e-10, "prediction");
        close(&j["mods"]["predictions"][i]["pi_ub"], &mr["expected"]["predict_ablat_10_30_50"]["pi_ub"][i], 1e-10, "prediction PI");
    }
}

#[test]
fn table_output_back_transforms_ratios() {
    let out = vigil(&["meta", &example(), "--model", "mh"]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    // exp(beta) of the MH RR of the three trials, metafor 0.4511 (oracle dupilumab__skin__RR__MH).
    assert!(text.contains("Pooled RR: 0.451 [0.323, 0.630]"), "{text}");
}

/// `--mh-correction` puts the 1/2 correction inside the MH sums, as R's meta (and RevMan) do:
/// metafor's `rma.mh(..., add=c(1/2,1/2), to=c('only0','only0'))` on the synthetic zero-cell tables.
#[test]
fn mh_correction_matches_meta_style_case() {
    let data = oracle().join("datasets/synthetic_zero_cells.csv");
    let case = oracle().join("cases/mantel_haenszel/synthetic_zero_cells__mh__OR__cc_in_MH_like_meta_default.json");
    if !case.exists() {
        println!("skipping: {} not found", case.display());
        return;
    }
    let e: Value = serde_json::from_str(&std::fs::read_to_string(case).unwrap()).unwrap();
    let exact = json_of(&["meta", data.to_str().unwrap(), "--model", "mh", "--measure", "OR", "--format", "json"]);
    let corrected = json_of(&["meta", data.to_str().unwrap(), "--model", "mh", "--measure", "OR", "--mh-correction", "--format", "json"]);
    for k in ["beta", "se", "QE", "BD", "TA"] {
        close(&corrected[k], &e["expected"]["model"][k], 1e-10, k);
    }
    assert!((exact["beta"].as_f64().unwrap() - corrected["beta"].as_f64().unwrap()).abs() > 1e-3, "the correction must change the estimate");
}

#[test]
fn zero_variance_names_the_line() {
    // RD without correction: the double-zero study (line 3) has variance 0 and cannot be weighted.
    let d = tempfile::tempdir().unwrap();
    let f = write(&d, "t.csv", "study,ai,n1i,ci,n2i\nA,1,10,2,10\nB,0,30,0,30\nC,2,10,4,10\n");
    let err = fails(&["meta", &f, "--measure", "RD", "--to", "none"]);
    assert!(err.contains("line 3 (B): sampling variance is 0"), "{err}");
    // With metafor's default correction it runs, B is kept with RD = 0.
    let j = json_of(&["meta", &f, "--measure", "RD", "--format", "json"]);
    assert_eq!(j["studies"][1]["yi"].as_f64(), Some(0.0));
}

#[test]
fn cumulative_by_a_text_column_keeps_every_study() {
    let d = tempfile::tempdir().unwrap();
    let f = write(&d, "t.csv", "study,ai,n1i,ci,n2i,date\nA,1,10,2,10,2019-05\nB,3,30,6,30,2017-01\nC,2,10,4,10,2018-03\n");
    let j = json_of(&["meta", &f, "--cumulative", "date", "--format", "json"]);
    let slab: Vec<&str> = j["cumulative"]["slab"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    assert_eq!(slab, ["B", "C", "A"]);
}
