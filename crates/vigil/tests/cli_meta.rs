//! `vigil meta` end to end: input errors name the line and column; the JSON output carries
//! metafor's numbers (checked against the oracle in `../shared/oracle/meta/` when it is present:
//! the extra-analysis blocks `confint`, `cumulative`, `regtest`, `trimfill` and `subgroup` field by
//! field for every oracle case of their group, at the oracle README's tolerances);
//! the forest and funnel plots are well-formed SVG with one row / point per study.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Output;
use vigil_test_support::oracle::{
    p_tol, pair_tol, report, Checker, Tol, LOOSE, STRICT, TAU2_ZERO_ABS, TIGHT, UNIROOT_ABS,
};
use vigil_test_support::{cli, repo_root as repo, shared_root};

fn vigil(args: &[&str]) -> Output {
    cli::output(vigil_test_support::vigil!().args(args))
}

fn example() -> String {
    repo()
        .join("examples/trials/dupilumab_infections.csv")
        .display()
        .to_string()
}

fn oracle() -> PathBuf {
    shared_root().join("oracle/meta")
}

/// Whether a file of `../shared` is there: when it is not, the test prints `skipping: …` and passes,
/// unless VIGIL_REQUIRE_SHARED=1 is set (CI), where a missing reference is a failure
/// ([`vigil_test_support::shared`]).
fn shared_present(path: &Path) -> bool {
    let rel = path
        .strip_prefix(shared_root())
        .expect("a path under ../shared");
    vigil_test_support::shared(&rel.to_string_lossy()).is_some()
}

fn write(dir: &tempfile::TempDir, name: &str, text: &str) -> String {
    let p = dir.path().join(name);
    std::fs::write(&p, text).unwrap();
    p.display().to_string()
}

/// Runs vigil expecting failure; returns stderr.
fn fails(args: &[&str]) -> String {
    let out = vigil(args);
    assert_eq!(
        out.status.code(),
        Some(2),
        "expected exit 2, stdout: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8(out.stderr).unwrap()
}

fn json_of(args: &[&str]) -> Value {
    let out = vigil(args);
    assert!(
        out.status.success(),
        "vigil failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn close(actual: &Value, expected: &Value, rel: f64, what: &str) {
    let (a, e) = (
        actual.as_f64().unwrap_or(f64::NAN),
        expected.as_f64().unwrap(),
    );
    assert!(
        (a - e).abs() <= rel * e.abs(),
        "{what}: actual {a}, expected {e}"
    );
}

#[test]
fn non_numeric_cell_names_line_and_column() {
    let d = tempfile::tempdir().unwrap();
    let f = write(
        &d,
        "t.csv",
        "study,ai,n1i,ci,n2i\nA,1,10,2,10\nB,x,10,2,10\nC,1,10,two,10\n",
    );
    let err = fails(&["meta", &f]);
    // One error per line, each `FILE: line N, field F: …`, the first location on the first line.
    assert!(
        err.starts_with(&format!(
            "vigil: error: {f}: line 3, field ai: not a number: 'x'\n"
        )),
        "{err}"
    );
    assert!(
        err.contains(&format!("\n{f}: line 4, field ci: not a number: 'two'\n")),
        "{err}"
    );
    assert!(err.contains(&format!("2 errors in {f}")), "{err}");
}

#[test]
fn events_above_total_and_negative_counts_are_rejected() {
    let d = tempfile::tempdir().unwrap();
    let f = write(
        &d,
        "t.csv",
        "study,ai,n1i,ci,n2i\nA,1,10,2,10\nB,12,10,2,10\nC,1,10,-2,10\n",
    );
    let err = fails(&["meta", &f]);
    assert!(
        err.starts_with(&format!(
            "vigil: error: {f}: line 3, field ai: events (12) exceed the total n1i (10)\n"
        )),
        "{err}"
    );
    assert!(
        err.contains(&format!("{f}: line 4, field ci: negative count -2")),
        "{err}"
    );
    assert!(err.contains(&format!("2 errors in {f}")), "{err}");
}

#[test]
fn random_effects_needs_two_studies() {
    let d = tempfile::tempdir().unwrap();
    let f = write(&d, "t.csv", "study,ai,n1i,ci,n2i\nA,1,10,2,10\n");
    let err = fails(&["meta", &f]);
    assert!(
        err.contains("random-effects model needs at least 2 studies"),
        "{err}"
    );
    // The common-effect model runs on one study: RR = (1/10)/(2/10) = 0.5.
    let j = json_of(&["meta", &f, "--model", "ee", "--format", "json"]);
    close(
        &j["beta"],
        &Value::from(0.5f64.ln()),
        1e-12,
        "log RR of one study",
    );
}

#[test]
fn missing_column_is_named() {
    let d = tempfile::tempdir().unwrap();
    let f = write(&d, "t.csv", "study,ai,n1i,ci\nA,1,10,2\nB,2,10,3\n");
    let err = fails(&["meta", &f]);
    assert!(
        err.starts_with(&format!(
            "vigil: error: {f}: line 1, field n2i: missing column 'n2i'"
        )),
        "{err}"
    );
    let g = write(&d, "g.csv", "study,yi\nA,0.1\nB,0.2\n");
    let err = fails(&["meta", &g]);
    assert!(
        err.contains("missing column 'sei'") || err.contains("missing column 'vi'"),
        "{err}"
    );
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
    let out = vigil(&[
        "meta",
        &example(),
        "--forest",
        forest.to_str().unwrap(),
        "--funnel",
        funnel.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&forest).unwrap();
    let doc = roxmltree::Document::parse(&text).expect("forest SVG parses as XML");
    let rows: Vec<_> = doc
        .descendants()
        .filter(|n| n.attribute("class") == Some("study-row"))
        .collect();
    assert_eq!(rows.len(), 3, "the example has 3 trials");
    let labels: Vec<String> = rows
        .iter()
        .map(|r| {
            r.descendants()
                .find(|n| n.is_text())
                .unwrap()
                .text()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(labels, ["Beck2014_M12", "CHRONOS_q2w+qw", "ADOL_q2w"]);
    assert_eq!(
        doc.descendants()
            .filter(|n| n.has_tag_name("polygon"))
            .count(),
        1,
        "one pooled diamond"
    );
    assert!(doc
        .descendants()
        .any(|n| n.attribute("class") == Some("heterogeneity")));
    let text = std::fs::read_to_string(&funnel).unwrap();
    let doc = roxmltree::Document::parse(&text).expect("funnel SVG parses as XML");
    assert_eq!(
        doc.descendants()
            .filter(|n| n.attribute("class") == Some("study"))
            .count(),
        3
    );
}

/// The example's MH and DL pooled RRs are those of metafor (oracle cases
/// `dupilumab__skin__RR__MH` and `dupilumab__skin__RR__DL`, same three rows).
#[test]
fn example_matches_metafor() {
    let dir = oracle().join("cases/case_study_dupilumab");
    if !shared_present(&dir) {
        return;
    }
    for (case, extra) in [
        ("dupilumab__skin__RR__MH", vec!["--model", "mh"]),
        ("dupilumab__skin__RR__DL", vec!["--method", "DL"]),
    ] {
        let e: Value = serde_json::from_str(
            &std::fs::read_to_string(dir.join(format!("{case}.json"))).unwrap(),
        )
        .unwrap();
        let mut args = vec!["meta", "--format", "json", "--measure", "RR"];
        let ex = example();
        args.push(&ex);
        args.extend(extra);
        let j = json_of(&args);
        for k in ["beta", "se", "zval", "QE", "I2"] {
            close(
                &j[k],
                &e["expected"]["model"][k],
                1e-10,
                &format!("{case} {k}"),
            );
        }
        close(
            &j["predict_exp"]["pred"],
            &e["expected"]["predict_exp"]["pred"],
            1e-10,
            case,
        );
        close(
            &j["predict_exp"]["ci_lb"],
            &e["expected"]["predict_exp"]["ci_lb"],
            1e-10,
            case,
        );
        close(
            &j["predict_exp"]["ci_ub"],
            &e["expected"]["predict_exp"]["ci_ub"],
            1e-10,
            case,
        );
        if case.ends_with("__MH") {
            // The contract's top-level keys exist for every model; MH has no τ² and no prediction
            // interval (metafor's rma.mh has neither), so they are explicit nulls, not absent.
            for k in ["tau2", "se_tau2", "tau", "pi_lb", "pi_ub"] {
                assert!(
                    j.get(k).is_some_and(Value::is_null),
                    "{case}: {k} should be present and null, got {:?}",
                    j.get(k)
                );
            }
        }
    }
}

/// Every extra analysis of the contract on dat.bcg (renamed to ai,bi,ci,di) in one run, checked
/// against the metafor oracle: leave-one-out (DL), cumulative by year, subgroups by alloc, the
/// Q-profile CIs, and the meta-regression on ablat with predictions at 10, 30, 50 (DL). Each block is
/// also compared case by case in its own test below (`cumulative_matches_metafor`, ...).
#[test]
fn extra_analyses_match_metafor_on_bcg() {
    let data = oracle().join("datasets/dat.bcg.csv");
    if !shared_present(&data) {
        return;
    }
    let text = std::fs::read_to_string(&data).unwrap();
    let text = text
        .replacen(
            "\"tpos\",\"tneg\",\"cpos\",\"cneg\"",
            "\"ai\",\"bi\",\"ci\",\"di\"",
            1,
        )
        .replacen("\"trial\"", "\"study\"", 1);
    assert!(text.starts_with("\"study\""), "unexpected dat.bcg header");
    let d = tempfile::tempdir().unwrap();
    let f = write(&d, "bcg.csv", &text);
    let j = json_of(&[
        "meta",
        &f,
        "--measure",
        "RR",
        "--method",
        "DL",
        "--leave1out",
        "--cumulative",
        "year",
        "--regtest",
        "lm",
        "--trimfill",
        "L0",
        "--subgroup",
        "alloc",
        "--mods",
        "ablat",
        "--predict-at",
        "10;30;50",
        "--format",
        "json",
    ]);
    for block in [
        "confint",
        "leave1out",
        "cumulative",
        "regtest",
        "trimfill",
        "subgroup",
        "mods",
    ] {
        assert!(j.get(block).is_some(), "missing block {block}");
    }
    let cases = oracle().join("cases");
    // The blocks of this one combined run, field by field, against the cases with the same options
    // (RR, DL, z): cumul by year, subgroups by alloc, the Q-profile CIs of the intercept-only fit.
    let (mut total, mut failures) = (0, Vec::new());
    let mut c = Checker::new("combined run vs dat.bcg__cumul__RR__DL_by_year");
    check_cumulative(
        &mut c,
        &j,
        &read_json(&cases.join("cumulative/dat.bcg__cumul__RR__DL_by_year.json")),
    );
    c.finish(&mut total, &mut failures);
    let mut c = Checker::new("combined run vs dat.bcg__subgroup_alloc__RR__DL");
    check_subgroup(
        &mut c,
        &j,
        &read_json(&cases.join("subgroup/dat.bcg__subgroup_alloc__RR__DL.json")),
    );
    c.finish(&mut total, &mut failures);
    let mut c = Checker::new("combined run vs dat.bcg__rma__RR__DL__z");
    check_confint(
        &mut c,
        &j,
        &read_json(&cases.join("rma_uni/dat.bcg__rma__RR__DL__z.json")),
    );
    c.finish(&mut total, &mut failures);
    report("combined run", 3, total, &failures);
    let l1o: Value = serde_json::from_str(
        &std::fs::read_to_string(cases.join("leave1out/dat.bcg__leave1out__RR__DL.json")).unwrap(),
    )
    .unwrap();
    for (i, e) in l1o["expected"]["leave1out"]["estimate"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
    {
        close(
            &j["leave1out"]["estimate"][i],
            e,
            1e-10,
            "leave1out estimate",
        );
    }
    let mr: Value = serde_json::from_str(
        &std::fs::read_to_string(
            cases.join("metaregression/dat.bcg__metareg_ablat__RR__DL__z.json"),
        )
        .unwrap(),
    )
    .unwrap();
    close(
        &j["mods"]["QM"],
        &mr["expected"]["model"]["QM"],
        1e-10,
        "QM",
    );
    close(
        &j["mods"]["tau2"],
        &mr["expected"]["model"]["tau2"],
        1e-10,
        "tau2 with ablat",
    );
    for i in 0..3 {
        close(
            &j["mods"]["predictions"][i]["pred"],
            &mr["expected"]["predict_ablat_10_30_50"]["pred"][i],
            1e-10,
            "prediction",
        );
        close(
            &j["mods"]["predictions"][i]["pi_ub"],
            &mr["expected"]["predict_ablat_10_30_50"]["pi_ub"][i],
            1e-10,
            "prediction PI",
        );
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
    let case = oracle().join(
        "cases/mantel_haenszel/synthetic_zero_cells__mh__OR__cc_in_MH_like_meta_default.json",
    );
    if !shared_present(&case) {
        return;
    }
    let e: Value = serde_json::from_str(&std::fs::read_to_string(case).unwrap()).unwrap();
    let exact = json_of(&[
        "meta",
        data.to_str().unwrap(),
        "--model",
        "mh",
        "--measure",
        "OR",
        "--format",
        "json",
    ]);
    let corrected = json_of(&[
        "meta",
        data.to_str().unwrap(),
        "--model",
        "mh",
        "--measure",
        "OR",
        "--mh-correction",
        "--format",
        "json",
    ]);
    for k in ["beta", "se", "QE", "BD", "TA"] {
        close(&corrected[k], &e["expected"]["model"][k], 1e-10, k);
    }
    assert!(
        (exact["beta"].as_f64().unwrap() - corrected["beta"].as_f64().unwrap()).abs() > 1e-3,
        "the correction must change the estimate"
    );
}

#[test]
fn zero_variance_names_the_line() {
    // RD without correction: the double-zero study (line 3) has variance 0 and cannot be weighted.
    let d = tempfile::tempdir().unwrap();
    let f = write(
        &d,
        "t.csv",
        "study,ai,n1i,ci,n2i\nA,1,10,2,10\nB,0,30,0,30\nC,2,10,4,10\n",
    );
    let err = fails(&["meta", &f, "--measure", "RD", "--to", "none"]);
    assert!(
        err.starts_with(&format!(
            "vigil: error: {f}: line 3, field ai: study B: sampling variance 0"
        )),
        "{err}"
    );
    // With metafor's default correction it runs, B is kept with RD = 0.
    let j = json_of(&["meta", &f, "--measure", "RD", "--format", "json"]);
    assert_eq!(j["studies"][1]["yi"].as_f64(), Some(0.0));
}

#[test]
fn cumulative_by_a_text_column_keeps_every_study() {
    let d = tempfile::tempdir().unwrap();
    let f = write(
        &d,
        "t.csv",
        "study,ai,n1i,ci,n2i,date\nA,1,10,2,10,2019-05\nB,3,30,6,30,2017-01\nC,2,10,4,10,2018-03\n",
    );
    let j = json_of(&["meta", &f, "--cumulative", "date", "--format", "json"]);
    let slab: Vec<&str> = j["cumulative"]["slab"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(slab, ["B", "C", "A"]);
}

// ------------------------------------------------------------------------------------------------
// Field-by-field comparison of the JSON blocks with the metafor oracle
// (`../shared/oracle/meta/cases/`, tolerances of its README and of `vigil-stats/tests/oracle_meta.rs`).
//
// Every case is run through the CLI with the data set and options of the case's own R calls
// (translated by `cli_args`, which refuses any R argument it cannot translate). The expected values
// are read from the case files at test time.

/// Our (tightly converged) τ² against metafor's default-converged value: 2.5e-4 absolute or 1e-3
/// relative, whichever is larger.
fn default_tau2_tol(expected: &Value) -> Tol {
    Tol::Abs(UNIROOT_ABS.max(1e-3 * expected.as_f64().unwrap_or(0.0).abs()))
}

/// Runs `check` on every oracle case of `group`, each with its own [`Checker`], then asserts that
/// no field mismatched ([`report`]); skips with a message when `../shared` is absent.
fn check_group(group: &str, mut check: impl FnMut(&Value, &mut Checker)) {
    let Some(cases) = oracle_cases(group) else {
        return;
    };
    let (mut total, mut failures) = (0, Vec::new());
    for case in &cases {
        let mut c = Checker::new(case["id"].as_str().unwrap());
        check(case, &mut c);
        c.finish(&mut total, &mut failures);
    }
    report(group, cases.len(), total, &failures);
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(
        &std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
    )
    .unwrap()
}

/// The oracle's cases of one group (from `cases/index.json`), or `None` when `../shared` is absent.
fn oracle_cases(group: &str) -> Option<Vec<Value>> {
    let index = oracle().join("cases/index.json");
    if !shared_present(&index) {
        return None;
    }
    let cases: Vec<Value> = read_json(&index)["cases"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["group"] == group)
        .map(|c| read_json(&oracle().join(c["file"].as_str().unwrap())))
        .collect();
    assert!(
        !cases.is_empty(),
        "index.json lists no case of group {group}"
    );
    Some(cases)
}

fn calls(case: &Value) -> Vec<String> {
    case["calls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_string())
        .collect()
}

fn call_starting(case: &Value, prefix: &str) -> String {
    calls(case)
        .into_iter()
        .find(|c| c.starts_with(prefix))
        .unwrap_or_else(|| panic!("{}: no call {prefix}", case["id"]))
}

/// Splits a CSV line at the commas outside double quotes (quotes removed).
fn csv_fields(line: &str) -> Vec<String> {
    let (mut out, mut cur, mut quoted) = (Vec::new(), String::new(), false);
    for ch in line.chars() {
        match ch {
            '"' => quoted = !quoted,
            ',' if !quoted => out.push(std::mem::take(&mut cur)),
            c => cur.push(c),
        }
    }
    out.push(cur);
    out
}

/// An R call as (function, [(argument name, value)]), values unquoted; positional arguments have no name.
fn r_call(call: &str) -> (String, Vec<(Option<String>, String)>) {
    let call = call.split_once("<-").map_or(call, |(_, r)| r).trim();
    let (func, rest) = call.split_once('(').unwrap();
    let inner = rest
        .strip_suffix(')')
        .unwrap_or_else(|| panic!("not a call: {call}"));
    let (mut parts, mut cur, mut depth, mut quote) = (Vec::new(), String::new(), 0i32, None);
    for ch in inner.chars() {
        match (ch, quote) {
            ('\'' | '"', None) => quote = Some(ch),
            (c, Some(q)) if c == q => quote = None,
            ('(', None) => depth += 1,
            (')', None) => depth -= 1,
            (',', None) if depth == 0 => {
                parts.push(std::mem::take(&mut cur));
                continue;
            }
            _ => {}
        }
        cur.push(ch);
    }
    parts.push(cur);
    let args = parts
        .iter()
        .map(|p| {
            let p = p.trim();
            match p.split_once('=') {
                Some((name, value))
                    if !value.starts_with('=')
                        && name
                            .trim()
                            .chars()
                            .all(|c| c.is_alphanumeric() || c == '.' || c == '_') =>
                {
                    (
                        Some(name.trim().to_string()),
                        value
                            .trim()
                            .trim_matches('\'')
                            .trim_matches('"')
                            .to_string(),
                    )
                }
                _ => (None, p.to_string()),
            }
        })
        .collect();
    (func.trim().to_string(), args)
}

/// τ² estimators that metafor iterates (their default-convergence output is compared loosely).
fn iterative(model_call: &str) -> bool {
    let (func, args) = r_call(model_call);
    if func != "rma" {
        return false;
    }
    let method = args
        .iter()
        .find(|(n, _)| n.as_deref() == Some("method"))
        .map_or("REML", |(_, v)| v.as_str());
    !matches!(method, "EE" | "FE" | "DL" | "HE" | "HS" | "HSk" | "SJ")
}

/// The `vigil meta` options equivalent to a metafor call (`rma`, `rma.mh`, `rma.peto` or `escalc`).
/// Panics on an argument it cannot translate, so a case can never run with other options than R's.
fn cli_args(call: &str, ignore: &[&str]) -> Vec<String> {
    let (func, args) = r_call(call);
    let mut out: Vec<String> = match func.as_str() {
        "rma" | "escalc" => vec![],
        "rma.mh" => vec!["--model".into(), "mh".into()],
        "rma.peto" => vec![
            "--model".into(),
            "peto".into(),
            "--measure".into(),
            "PETO".into(),
        ],
        other => panic!("{call}: no CLI equivalent of {other}"),
    };
    for (name, value) in args {
        match name.as_deref() {
            None if value == "yi" || value == "vi" => {}
            Some("ai" | "bi" | "ci" | "di" | "n1i" | "n2i" | "data") => {}
            Some(n) if ignore.contains(&n) => {}
            Some("measure") => out.extend(["--measure".into(), value]),
            Some("method") if value == "EE" => out.extend(["--model".into(), "ee".into()]),
            Some("method") => out.extend(["--method".into(), value]),
            Some("test") => out.extend(["--test".into(), value]),
            Some("drop00") if value == "TRUE" => out.extend(["--drop00".into(), "true".into()]),
            Some("drop00") if value == "FALSE" => out.extend(["--drop00".into(), "false".into()]),
            Some("level") => out.extend(["--level".into(), value]),
            Some("correct") if value == "TRUE" || value == "FALSE" => {
                out.extend(["--correct".into(), value.to_lowercase()])
            }
            // RevMan / R meta style MH: the 1/2 correction also inside the MH sums (both elements).
            Some("add") if value == "c(1/2,1/2)" && call.contains("to=c('only0','only0')") => {
                out.push("--mh-correction".into())
            }
            Some("to") if value == "c('only0','only0')" && call.contains("add=c(1/2,1/2)") => {}
            other => {
                panic!("{call}: argument {other:?} = {value} has no CLI equivalent in this test")
            }
        }
    }
    out
}

/// The case's data set with its 2×2 columns renamed as the call maps them (`ai=tpos` → `ai`) and its
/// study label column named `study`; written to `dir`.
fn case_data(dir: &tempfile::TempDir, case: &Value, call: &str) -> String {
    let text = std::fs::read_to_string(oracle().join(case["dataset"].as_str().unwrap())).unwrap();
    let (header, body) = text.split_once('\n').unwrap();
    let mut cols = csv_fields(header.trim_end());
    for (name, value) in r_call(call).1 {
        if let Some(n @ ("ai" | "bi" | "ci" | "di" | "n1i" | "n2i")) = name.as_deref() {
            let c = cols
                .iter_mut()
                .find(|c| **c == value)
                .unwrap_or_else(|| panic!("{call}: no column {value}"));
            *c = n.to_string();
        }
    }
    if !cols.iter().any(|c| c == "study") {
        // rothman2008_tolbutamide's strata are labelled by age group.
        let c = cols
            .iter_mut()
            .find(|c| *c == "trial" || *c == "id" || *c == "age")
            .expect("a study label column");
        *c = "study".to_string();
    }
    let header: Vec<String> = cols.iter().map(|c| format!("\"{c}\"")).collect();
    write(dir, "data.csv", &format!("{}\n{body}", header.join(",")))
}

/// Runs `vigil meta` on the case's data with the options of `model_call` plus `extra`.
fn run_case(case: &Value, model_call: &str, ignore: &[&str], extra: &[&str]) -> Value {
    let d = tempfile::tempdir().unwrap();
    let f = case_data(&d, case, model_call);
    let mut args: Vec<String> = vec!["meta".into(), f, "--format".into(), "json".into()];
    args.extend(cli_args(model_call, ignore));
    args.extend(extra.iter().map(|s| s.to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    json_of(&args)
}

/// The `cumulative` block against a `cumul(res, order=...)` case.
fn check_cumulative(c: &mut Checker, j: &Value, case: &Value) {
    let model = call_starting(case, "res <- rma");
    let e = &case["expected"]["cumul"];
    let a = &j["cumulative"];
    let (td, tau2) = if iterative(&model) {
        (Tol::Rel(LOOSE), None)
    } else {
        (Tol::Rel(STRICT), Some(Tol::Rel(STRICT)))
    };
    for (name, ev) in e.as_object().unwrap() {
        let path = format!("cumulative.{name}");
        match name.as_str() {
            "estimate" | "se" | "zval" | "I2" | "H2" => c.json_vec(&path, &a[name], ev, td),
            "pval" => c.json_vec(&path, &a[name], ev, p_tol(td)),
            "Q" => c.json_vec(&path, &a[name], ev, Tol::Rel(STRICT)),
            "Qp" => c.json_vec(&path, &a[name], ev, p_tol(Tol::Rel(STRICT))),
            "tau2" => match tau2 {
                Some(t) => c.json_vec(&path, &a[name], ev, t),
                None => {
                    for (i, x) in ev.as_array().unwrap().iter().enumerate() {
                        c.json_num(&format!("{path}[{i}]"), &a[name][i], x, default_tau2_tol(x));
                    }
                }
            },
            "ci_lb" => {
                for i in 0..ev.as_array().unwrap().len() {
                    let row = serde_json::json!({"ci_lb": a["ci_lb"][i], "ci_ub": a["ci_ub"][i]});
                    let erow = serde_json::json!({"ci_lb": e["ci_lb"][i], "ci_ub": e["ci_ub"][i]});
                    c.json_bounds(&format!("cumulative[{i}]"), &row, &erow, td);
                }
            }
            "ci_ub" => {}
            "slab" => c.json_same(&path, &a["slab"], ev),
            "order_rows_1based" => {
                // The study labels of the CLI's order, as 1-based rows of the data set.
                let text =
                    std::fs::read_to_string(oracle().join(case["dataset"].as_str().unwrap()))
                        .unwrap();
                let labels: Vec<String> = text
                    .lines()
                    .skip(1)
                    .map(|l| csv_fields(l)[0].clone())
                    .collect();
                let rows: Vec<Value> = a["slab"]
                    .as_array()
                    .map(|s| {
                        s.iter()
                            .map(|x| {
                                Value::from(
                                    labels
                                        .iter()
                                        .position(|l| Some(l.as_str()) == x.as_str())
                                        .map_or(0, |p| p + 1),
                                )
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                c.json_same(&path, &Value::Array(rows), ev);
            }
            other => c.fail(
                &path,
                format!("field {other} of the oracle is not compared"),
            ),
        }
    }
}

/// One fitted model of a subgroup analysis (metafor's `rma` fields) against the oracle's.
fn check_model(c: &mut Checker, path: &str, a: &Value, e: &Value, iterative: bool) {
    let td = Tol::Rel(if iterative { LOOSE } else { STRICT });
    for (name, ev) in e.as_object().unwrap() {
        let p = format!("{path}.{name}");
        match name.as_str() {
            "k" | "p" | "method" | "test" => c.json_same(&p, &a[name], ev),
            "beta" | "se" | "zval" | "I2" | "H2" | "weights_pct" => {
                c.json_vec(&p, &a[name], ev, td)
            }
            "pval" => c.json_vec(&p, &a[name], ev, p_tol(td)),
            "ci_lb" => c.json_bounds(path, a, e, td),
            "ci_ub" => {}
            "df" => c.json_num(&p, &a["dfs"], ev, Tol::Rel(STRICT)),
            "tau2" if iterative => c.json_num(&p, &a[name], ev, default_tau2_tol(ev)),
            "tau" if iterative => {
                // Through the τ² slack: √(τ² ± slack).
                let (t2, Tol::Abs(s)) = (
                    e["tau2"].as_f64().unwrap_or(f64::NAN),
                    default_tau2_tol(&e["tau2"]),
                ) else {
                    unreachable!()
                };
                c.json_num(
                    &p,
                    &a[name],
                    ev,
                    Tol::Range((t2 - s).max(0.0).sqrt(), (t2 + s).sqrt()),
                )
            }
            "tau2" | "tau" => c.json_num(&p, &a[name], ev, td),
            "se_tau2" => c.json_num(
                &p,
                &a[name],
                ev,
                if e["method"] == "EE" {
                    Tol::Rel(STRICT)
                } else {
                    td
                },
            ),
            "QE" => c.json_num(&p, &a[name], ev, Tol::Rel(STRICT)),
            "QEp" => c.json_num(&p, &a[name], ev, p_tol(Tol::Rel(STRICT))),
            "QE_df" => c.json_same(&p, &a[name], ev),
            "vt_typical_within_var" => c.json_num(&p, &a["vt"], ev, Tol::Rel(STRICT)),
            "QM" => c.json_num(&p, &a[name], ev, td),
            "QMp" => c.json_num(&p, &a[name], ev, p_tol(td)),
            "QM_df" => {
                c.json_same(&format!("{p}[0]"), &a[name][0], &ev[0]);
                c.json_num(&format!("{p}[1]"), &a[name][1], &ev[1], Tol::Rel(STRICT));
            }
            "fitstats" => {
                for (fit, fe) in ev.as_object().unwrap() {
                    for (stat, x) in fe.as_object().unwrap() {
                        c.json_num(
                            &format!("{p}.{fit}.{stat}"),
                            &a["fitstats"][fit][stat],
                            x,
                            td,
                        );
                    }
                }
            }
            "coef_names" => {
                // metafor names the dummies of `factor(alloc)` "factor(alloc)random", vigil "allocrandom".
                let names: Vec<Value> = match ev {
                    Value::Array(v) => v
                        .iter()
                        .map(|n| {
                            Value::from(n.as_str().unwrap().replace("factor(", "").replace(')', ""))
                        })
                        .collect(),
                    one => vec![one.clone()],
                };
                if a.get("coef_names").is_some() || names.len() > 1 {
                    c.json_same(&p, &a["coef_names"], &Value::Array(names));
                }
            }
            // Not in the CLI's JSON: the confidence level of each fit (the run's `level` is checked
            // by the caller), the variance-covariance matrix, R², and the oracle's own derived values.
            "level_pct" | "vcov" | "R2" | "derived" => {}
            other => c.fail(&p, format!("field {other} of the oracle is not compared")),
        }
    }
}

/// Cumulative meta-analysis (`cumul(res, order=year)`): every oracle case, every row, every column.
#[test]
fn cumulative_matches_metafor() {
    check_group("cumulative", |case, c| {
        let model = call_starting(case, "res <- rma");
        let (_, args) = r_call(&call_starting(case, "cumul("));
        assert_eq!(args.len(), 2, "{}: unexpected cumul arguments", c.id);
        let order = args
            .iter()
            .find(|(n, _)| n.as_deref() == Some("order"))
            .map(|(_, v)| v.clone())
            .expect("order=");
        let j = run_case(case, &model, &[], &["--cumulative", &order]);
        check_cumulative(c, &j, case);
    });
}

/// Egger-type regression test (`regtest(res, model=...)`).
#[test]
fn regtest_matches_metafor() {
    check_group("regtest", |case, c| {
        let model = call_starting(case, "res <- rma");
        let (_, args) = r_call(&call_starting(case, "regtest("));
        let mut kind = "rma".to_string();
        for (n, v) in &args {
            match n.as_deref() {
                None if v == "res" => {}
                Some("model") => kind = v.clone(),
                Some("ret.fit") => {}
                Some("predictor") if v == "sei" => {}
                other => panic!(
                    "{}: regtest argument {other:?} = {v} has no CLI equivalent",
                    c.id
                ),
            }
        }
        let j = run_case(case, &model, &[], &["--regtest", &kind]);
        let (e, a) = (&case["expected"]["regtest"], &j["regtest"]);
        // The `rma` version refits a meta-regression whose τ² metafor converges loosely.
        let tol = Tol::Rel(if kind == "rma" && iterative(&model) {
            LOOSE
        } else {
            STRICT
        });
        for (name, ev) in e.as_object().unwrap() {
            let p = format!("regtest.{name}");
            match name.as_str() {
                "model" | "predictor" => c.json_same(&p, &a[name], ev),
                "zval" | "limit_estimate" | "fit_coef" => c.json_vec(&p, &a[name], ev, tol),
                "pval" => c.json_num(&p, &a[name], ev, p_tol(tol)),
                "dfs" => c.json_num(&p, &a[name], ev, Tol::Rel(STRICT)),
                "limit_ci_lb" => {
                    let t = pair_tol(tol, &e["limit_ci_lb"], &e["limit_ci_ub"]);
                    c.json_num(&p, &a[name], ev, t);
                    c.json_num(
                        "regtest.limit_ci_ub",
                        &a["limit_ci_ub"],
                        &e["limit_ci_ub"],
                        t,
                    );
                }
                "limit_ci_ub" => {}
                // The CLI's JSON has no coefficient names; fit_coef is (intercept, slope) as in metafor.
                "fit_coef_names" => {}
                other => c.fail(&p, format!("field {other} of the oracle is not compared")),
            }
        }
    });
}

/// Trim-and-fill (`trimfill(res)`): k0 and side exactly, the refitted model, the filled data.
#[test]
fn trimfill_matches_metafor() {
    check_group("trimfill", |case, c| {
        let model = call_starting(case, "res <- rma");
        let (_, args) = r_call(&call_starting(case, "trimfill("));
        let mut estimator = "L0".to_string();
        for (n, v) in &args {
            match n.as_deref() {
                None if v == "res" => {}
                Some("estimator") => estimator = v.clone(),
                other => panic!(
                    "{}: trimfill argument {other:?} = {v} has no CLI equivalent",
                    c.id
                ),
            }
        }
        let j = run_case(case, &model, &[], &["--trimfill", &estimator]);
        let (e, a) = (&case["expected"]["trimfill"], &j["trimfill"]);
        let it = iterative(&model);
        let tol = Tol::Rel(if it { LOOSE } else { STRICT });
        c.json_same(
            "trimfill.estimator",
            &a["estimator"],
            &Value::from(estimator.clone()),
        );
        for (name, ev) in e.as_object().unwrap() {
            let p = format!("trimfill.{name}");
            match name.as_str() {
                "k0" | "side" | "filled" => c.json_same(&p, &a[name], ev),
                "k_after" => c.json_same(&p, &a["k"], ev),
                "se_k0" | "beta" | "se" | "zval" | "QE" | "I2" | "H2" | "tau2" => {
                    c.json_num(&p, &a[name], ev, tol)
                }
                "pval" | "QEp" => c.json_num(&p, &a[name], ev, p_tol(tol)),
                // The R0 estimator's p-value is not implemented (docs/meta.md); for L0 metafor gives NA.
                "p_k0" => c.json_num(&p, &a[name], ev, tol),
                "ci_lb" => c.json_bounds("trimfill", a, e, tol),
                "ci_ub" => {}
                "yi_after" => c.json_vec(&p, &a[name], ev, tol),
                "vi_after" => c.json_vec(&p, &a[name], ev, Tol::Rel(STRICT)),
                // The model before filling is the run's top-level fit.
                "original_beta" => c.json_num(&p, &j["beta"], ev, tol),
                "original_tau2" => c.json_num(
                    &p,
                    &j["tau2"],
                    ev,
                    if it { default_tau2_tol(ev) } else { tol },
                ),
                other => c.fail(&p, format!("field {other} of the oracle is not compared")),
            }
        }
    });
}

/// The `subgroup` block against a subgroup case: the separate-τ² fits, the Q-between test, and the
/// common-τ² mixed-effects model.
fn check_subgroup(c: &mut Checker, j: &Value, case: &Value) {
    let e = &case["expected"];
    let a = &j["subgroup"];
    let model = calls(case)[1].clone();
    let it = iterative(&model);
    let td = Tol::Rel(if it { LOOSE } else { STRICT });
    c.json_same("subgroup.groups", &a["groups"], &e["groups"]);
    for g in e["groups"].as_array().unwrap() {
        let g = g.as_str().unwrap();
        let ex = &e["per_subgroup_separate_tau2"][g];
        c.json_same(
            &format!("separate.{g}.level"),
            &j["level"],
            &ex["level_pct"],
        );
        check_model(c, &format!("separate.{g}"), &a["separate_tau2"][g], ex, it);
    }
    let (tb, ab) = (&e["test_between_separate_tau2"], &a["test_between"]);
    c.json_num("between.QM", &ab["QM"], &tb["QM"], td);
    c.json_num("between.QMp", &ab["QMp"], &tb["QMp"], p_tol(td));
    c.json_same("between.QM_df", &ab["QM_df"], &tb["QM_df"][0]);
    c.json_num(
        "between.Q_between_from_intercept_only_EE",
        &ab["QM"],
        &tb["Q_between_from_intercept_only_EE"],
        td,
    );
    c.json_num(
        "between.Q_between_p",
        &ab["QMp"],
        &tb["Q_between_p"],
        p_tol(td),
    );
    let me = &e["mixed_effects_common_tau2"];
    c.json_same("common_tau2.level", &j["level"], &me["level_pct"]);
    check_model(c, "common_tau2", &a["common_tau2"], me, it);
}

/// Subgroups by `alloc` (`--subgroup alloc`), every oracle case.
#[test]
fn subgroup_matches_metafor() {
    check_group("subgroup", |case, c| {
        let calls = calls(case);
        // calls[0] is escalc (the measure and the 2×2 columns), calls[1] a per-subgroup rma (the method).
        let mods = calls
            .iter()
            .find(|x| x.starts_with("me <- rma("))
            .expect("me <- rma(...)");
        let col = mods
            .split("factor(")
            .nth(1)
            .and_then(|s| s.split(')').next())
            .expect("mods = ~ factor(col)");
        let d = tempfile::tempdir().unwrap();
        let f = case_data(&d, case, &calls[0]);
        let mut args: Vec<String> = vec![
            "meta".into(),
            f,
            "--format".into(),
            "json".into(),
            "--subgroup".into(),
            col.into(),
        ];
        args.extend(cli_args(&calls[0], &[]));
        args.extend(cli_args(&calls[1], &["subset"]));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let j = json_of(&args);
        check_subgroup(c, &j, case);
    });
}

/// The `confint` block against `confint(res)` / `confint(res, type='PL')` of an rma_uni case.
fn check_confint(c: &mut Checker, j: &Value, case: &Value) {
    let e = &case["expected"];
    let model = call_starting(case, "res <- rma(");
    let it = iterative(&model);
    let ct = &e["confint_tight"];
    let vt = e["model"]["vt_typical_within_var"].as_f64().expect("vt");
    let tf = |name: &str, t: f64| -> f64 {
        let t = t.max(0.0);
        match name {
            "tau2" => t,
            "tau" => t.sqrt(),
            "I2" => 100.0 * t / (t + vt),
            _ => t / vt + 1.0,
        }
    };
    let near0 = ct["tau2"]["estimate"].as_f64().is_some_and(|t| t < 1e-4);
    for name in ["tau2", "tau", "I2", "H2"] {
        let p = format!("confint.QP.{name}");
        let a = &j["confint"]["QP"][name];
        // The estimate: our τ² is converged tightly, so against confint_tight (a closed form also
        // against the default fit's confint); at a boundary optimum through τ² ± 1e-6.
        let et = ct["tau2"]["estimate"].as_f64().unwrap();
        if it && near0 {
            let t = Tol::Range(tf(name, et - TAU2_ZERO_ABS), tf(name, et + TAU2_ZERO_ABS));
            c.json_num(
                &format!("{p}.estimate"),
                &a["estimate"],
                &ct[name]["estimate"],
                t,
            );
        } else {
            c.json_num(
                &format!("{p}.estimate"),
                &a["estimate"],
                &ct[name]["estimate"],
                Tol::Rel(TIGHT),
            );
        }
        if !it {
            c.json_num(
                &format!("{p}.estimate(default)"),
                &a["estimate"],
                &e["confint"][name]["estimate"],
                Tol::Rel(STRICT),
            );
        }
        // The Q-profile bounds against the tightly found ones.
        for b in ["ci_lb", "ci_ub"] {
            c.json_num(&format!("{p}.{b}"), &a[b], &ct[name][b], Tol::Rel(TIGHT));
        }
        // Profile likelihood (ML/REML): no tight copy, bounds through uniroot's slack on τ².
        if let Some(pl) = e.get("confint_PL") {
            let p = format!("confint.PL.{name}");
            let a = &j["confint"]["PL"][name];
            if it && near0 {
                let t = Tol::Range(tf(name, et - TAU2_ZERO_ABS), tf(name, et + TAU2_ZERO_ABS));
                c.json_num(
                    &format!("{p}.estimate"),
                    &a["estimate"],
                    &ct[name]["estimate"],
                    t,
                );
            } else {
                c.json_num(
                    &format!("{p}.estimate"),
                    &a["estimate"],
                    &ct[name]["estimate"],
                    Tol::Rel(TIGHT),
                );
            }
            for b in ["ci_lb", "ci_ub"] {
                let eb = pl["tau2"][b].as_f64().unwrap_or(f64::NAN);
                let t = Tol::Range(tf(name, eb - UNIROOT_ABS), tf(name, eb + UNIROOT_ABS));
                c.json_num(&format!("{p}.{b}"), &a[b], &pl[name][b], t);
            }
        }
    }
}

/// Heterogeneity intervals (`confint`): every rma_uni case with a tight copy (94 cases, 30 with PL).
#[test]
fn confint_matches_metafor() {
    let Some(cases) = oracle_cases("rma_uni") else {
        return;
    };
    let (mut total, mut failures, mut n) = (0, Vec::new(), 0);
    for case in cases
        .iter()
        .filter(|c| c["expected"].get("confint_tight").is_some())
    {
        let mut c = Checker::new(case["id"].as_str().unwrap());
        let model = call_starting(case, "res <- rma(");
        let j = run_case(case, &model, &[], &[]);
        check_confint(&mut c, &j, case);
        c.finish(&mut total, &mut failures);
        n += 1;
    }
    report("confint", n, total, &failures);
}

// ------------------------------------------------------------------------------------------------
// Mantel–Haenszel and Peto through the CLI, every oracle case; defaults and edge cases.

/// The JSON of `vigil meta --model mh|peto` against an `rma.mh` / `rma.peto` case, every field.
fn check_pooled_cli(c: &mut Checker, j: &Value, case: &Value) {
    let e = &case["expected"]["model"];
    let s = Tol::Rel(STRICT);
    let study = |field: &str| {
        Value::Array(
            j["studies"]
                .as_array()
                .map(|v| v.iter().map(|x| x[field].clone()).collect())
                .unwrap_or_default(),
        )
    };
    for (name, ev) in e.as_object().unwrap() {
        let p = format!("model.{name}");
        match name.as_str() {
            "k" | "k_yi" | "k_pos" | "QE_df" | "measure" | "correct" => {
                c.json_same(&p, &j[name], ev)
            }
            "level_pct" => c.json_same(&p, &j["level"], ev),
            "beta" | "se" | "zval" | "QE" | "I2" | "H2" | "CO" | "MH" | "BD" | "TA" => {
                c.json_num(&p, &j[name], ev, s)
            }
            "pval" | "QEp" | "COp" | "MHp" | "BDp" | "TAp" => {
                c.json_num(&p, &j[name], ev, p_tol(s))
            }
            "ci_lb" => c.json_bounds("model", j, e, s),
            "ci_ub" => {}
            "weights_pct" => c.json_vec(&p, &j[name], ev, s),
            "study_yi" => c.json_vec(&p, &study("yi"), ev, s),
            "study_vi" => c.json_vec(&p, &study("vi"), ev, s),
            "fitstats" => {
                for (fit, fe) in ev.as_object().unwrap() {
                    for (stat, x) in fe.as_object().unwrap() {
                        c.json_num(
                            &format!("{p}.{fit}.{stat}"),
                            &j["fitstats"][fit][stat],
                            x,
                            s,
                        );
                    }
                }
            }
            other => c.fail(&p, format!("field {other} of the oracle is not compared")),
        }
    }
    if let Some(pe) = case["expected"].get("predict_exp") {
        c.json_num(
            "predict_exp.pred",
            &j["predict_exp"]["pred"],
            &pe["pred"],
            s,
        );
        c.json_bounds("predict_exp", &j["predict_exp"], pe, s);
    }
}

/// `rma.mh` and `rma.peto` (15 + 3 oracle cases) through the CLI, with each case's own R options
/// translated (`level`, `correct`, `drop00`, the RevMan-style `add`/`to`), field by field.
#[test]
fn mantel_haenszel_and_peto_match_metafor_through_the_cli() {
    for group in ["mantel_haenszel", "peto"] {
        check_group(group, |case, c| {
            let model = call_starting(case, "res <- rma.");
            let j = run_case(case, &model, &[], &[]);
            check_pooled_cli(c, &j, case);
        });
    }
}

/// metafor's per-function defaults: `rma.mh` drops double-zero tables from the per-study effects
/// (`drop00 = TRUE`: QE over k_yi = 5 of 6 tables, QE 7.329, I² 45.4 %), `rma.mh(drop00 = FALSE)`
/// keeps them (k_yi = 6, QE 7.336, I² 31.8 %), and `rma` keeps them (escalc's `drop00 = FALSE`).
#[test]
fn drop00_defaults_follow_the_metafor_function() {
    let data = oracle().join("datasets/synthetic_zero_cells.csv");
    if !shared_present(&data) {
        return;
    }
    let d = data.to_str().unwrap();
    let case = |name: &str| {
        read_json(&oracle().join(format!("cases/mantel_haenszel/{name}.json")))["expected"]["model"]
            .clone()
    };
    let by_default = json_of(&[
        "meta",
        d,
        "--model",
        "mh",
        "--measure",
        "OR",
        "--format",
        "json",
    ]);
    let kept = json_of(&[
        "meta",
        d,
        "--model",
        "mh",
        "--measure",
        "OR",
        "--drop00",
        "false",
        "--format",
        "json",
    ]);
    for (j, e) in [
        (&by_default, case("synthetic_zero_cells__mh__OR")),
        (&kept, case("synthetic_zero_cells__mh__OR__drop00FALSE")),
    ] {
        for k in ["QE", "I2", "beta", "se"] {
            close(&j[k], &e[k], 1e-10, k);
        }
        assert_eq!(j["k_yi"], e["k_yi"]);
        assert_eq!(j["QE_df"], e["QE_df"]);
    }
    assert_eq!(by_default["drop00"], true);
    // The double-zero table (S3, line 4) is not estimable under the MH default, and the table says so.
    assert!(
        by_default["studies"][2]["yi"].is_null(),
        "{}",
        by_default["studies"][2]
    );
    let text =
        String::from_utf8(vigil(&["meta", d, "--model", "mh", "--measure", "OR"]).stdout).unwrap();
    let s3 = text
        .lines()
        .find(|l| l.starts_with("S3_double_zero"))
        .unwrap();
    assert!(s3.contains("not estimable"), "{text}");
    assert!(text.contains("Q(4) = 7.33"), "{text}");
    // The random-effects model keeps it (escalc: yi = 0 after the 1/2 correction).
    let re = json_of(&["meta", d, "--measure", "OR", "--format", "json"]);
    assert_eq!(re["drop00"], false);
    assert_eq!(re["studies"][2]["yi"].as_f64(), Some(0.0));
    assert_eq!(re["k"], 6);
}

/// The double-zero example of the issue: `--drop00 true` used to panic (index out of bounds) in MH
/// and Peto. The double-zero trial A adds nothing to the MH odds-ratio sums nor to Peto's O − E and
/// V, so both pools equal those of B and C alone:
/// MH OR = R/S, R = Σ a·d/N = 38·259/740 + 8·69/167 = 16.605389, S = Σ b·c/N = 387·56/740 +
/// 74·16/167 = 36.376307, ln(R/S) = −0.784190; Peto: Σ(O − E) = (38 − 94·425/740) + (8 − 24·82/167)
/// = −19.770918, ΣV = 94·646·425·315/(740²·739) + 24·143·82·85/(167²·166) = 25.255713,
/// β = −0.782830.
#[test]
fn double_zero_with_drop00_does_not_panic() {
    let d = tempfile::tempdir().unwrap();
    let f = write(
        &d,
        "dz.csv",
        "study,ai,n1i,ci,n2i\nA,0,55,0,54\nB,38,425,56,315\nC,8,82,16,85\n",
    );
    let r: f64 = 38.0 * 259.0 / 740.0 + 8.0 * 69.0 / 167.0;
    let s = 387.0 * 56.0 / 740.0 + 74.0 * 16.0 / 167.0;
    let oe: f64 = (38.0 - 94.0 * 425.0 / 740.0) + (8.0 - 24.0 * 82.0 / 167.0);
    let v = 94.0 * 646.0 * 425.0 * 315.0 / (740.0f64.powi(2) * 739.0)
        + 24.0 * 143.0 * 82.0 * 85.0 / (167.0f64.powi(2) * 166.0);
    for drop00 in ["true", "false"] {
        let mh = json_of(&[
            "meta",
            &f,
            "--model",
            "mh",
            "--measure",
            "OR",
            "--drop00",
            drop00,
            "--format",
            "json",
        ]);
        close(&mh["beta"], &Value::from((r / s).ln()), 1e-12, "MH log OR");
        let peto = json_of(&[
            "meta",
            &f,
            "--model",
            "peto",
            "--measure",
            "PETO",
            "--drop00",
            drop00,
            "--format",
            "json",
        ]);
        close(&peto["beta"], &Value::from(oe / v), 1e-12, "Peto log OR");
        // A: per-study effect NA when dropped (k_yi = 2), kept with the 1/2 correction otherwise.
        let k_yi = if drop00 == "true" { 2 } else { 3 };
        assert_eq!(mh["k_yi"], k_yi, "{drop00}");
        assert_eq!(peto["k_yi"], k_yi, "{drop00}");
        for tool in [
            &[
                "meta",
                &f,
                "--model",
                "mh",
                "--measure",
                "RR",
                "--drop00",
                drop00,
            ][..],
            &[
                "meta",
                &f,
                "--model",
                "mh",
                "--measure",
                "RD",
                "--drop00",
                drop00,
            ],
        ] {
            let out = vigil(tool);
            assert!(
                out.status.success(),
                "{tool:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
    // The same file through every model and plot: no panic.
    let forest = d.path().join("f.svg");
    for model in ["ee", "re", "mh", "peto"] {
        let measure = if model == "peto" { "PETO" } else { "OR" };
        let out = vigil(&[
            "meta",
            &f,
            "--model",
            model,
            "--measure",
            measure,
            "--drop00",
            "true",
            "--forest",
            forest.to_str().unwrap(),
            "--leave1out",
        ]);
        assert!(
            out.status.success(),
            "{model}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// A duplicated column name used to panic; it is an error at the header naming the column.
#[test]
fn duplicated_column_is_rejected_with_its_name() {
    let d = tempfile::tempdir().unwrap();
    let f = write(
        &d,
        "dup.csv",
        "study,ai,n1i,ci,n2i,ai\nA,2,55,14,54,3\nB,38,425,56,315,4\n",
    );
    let err = fails(&["meta", &f]);
    assert!(
        err.starts_with(&format!(
            "vigil: error: {f}: line 1, field ai: column 'ai' appears twice (columns 2 and 6)"
        )),
        "{err}"
    );
}

/// `--measure GEN` used to square a negative `sei` into a valid variance.
#[test]
fn negative_standard_error_is_rejected() {
    let d = tempfile::tempdir().unwrap();
    let f = write(
        &d,
        "g.csv",
        "study,yi,sei\nA,0.1,0.2\nB,-0.3,-0.25\nC,0.2,0\n",
    );
    let err = fails(&["meta", &f, "--measure", "GEN"]);
    assert!(
        err.starts_with(&format!(
            "vigil: error: {f}: line 3, field sei: a standard error must be positive, got -0.25\n"
        )),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "{f}: line 4, field sei: a standard error must be positive, got 0"
        )),
        "{err}"
    );
}

/// Studies with a missing value (empty cell or NA) are omitted as metafor's `na.omit` does: the
/// example's three trials with two incomplete rows added give exactly metafor's fit of the three
/// (oracle `dupilumab__skin__RR__DL`), and the output counts and names the two.
#[test]
fn studies_with_a_missing_value_are_omitted_and_named() {
    let case = oracle().join("cases/case_study_dupilumab/dupilumab__skin__RR__DL.json");
    if !shared_present(&case) {
        return;
    }
    let e = read_json(&case)["expected"]["model"].clone();
    let text = std::fs::read_to_string(example()).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    let header: Vec<&str> = lines[0].split(',').collect();
    let row = |study: &str, ai: &str, n2i: &str| -> String {
        header
            .iter()
            .map(|h| match *h {
                "study" => study.to_string(),
                "ai" => ai.to_string(),
                "n1i" => "50".into(),
                "ci" => "3".into(),
                "n2i" => n2i.to_string(),
                _ => String::new(),
            })
            .collect::<Vec<_>>()
            .join(",")
    };
    let (no_events, no_total) = (row("NoEvents", "", "40"), row("NoControlTotal", "4", "NA"));
    lines.insert(2, &no_events);
    lines.push(&no_total);
    let d = tempfile::tempdir().unwrap();
    let f = write(&d, "t.csv", &(lines.join("\n") + "\n"));
    let j = json_of(&[
        "meta",
        &f,
        "--measure",
        "RR",
        "--method",
        "DL",
        "--format",
        "json",
    ]);
    for k in ["beta", "se", "tau2", "QE", "I2"] {
        close(&j[k], &e[k], 1e-10, k);
    }
    assert_eq!(j["k"], 3);
    assert_eq!(j["k_omitted"], 2);
    let om = j["omitted"].as_array().unwrap();
    assert_eq!(om[0]["study"], "NoEvents");
    assert_eq!(om[0]["line"], 3);
    assert_eq!(om[0]["fields"], serde_json::json!(["ai"]));
    assert_eq!(om[1]["study"], "NoControlTotal");
    assert_eq!(om[1]["line"], lines.len() as u64);
    assert_eq!(om[1]["fields"], serde_json::json!(["n2i"]));
    // Study rows keep their file lines.
    let study_lines: Vec<u64> = j["studies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["line"].as_u64().unwrap())
        .collect();
    assert_eq!(study_lines, [2, 4, 5]);
    let out = vigil(&["meta", &f, "--measure", "RR", "--method", "DL"]);
    let table = String::from_utf8(out.stdout).unwrap();
    assert!(table.contains(&format!("Omitted for a missing value (2 of 5 studies): NoEvents (line 3: ai missing); NoControlTotal (line {}: n2i missing)", lines.len())), "{table}");
    // The forest plot shows the three studies analysed and names the two omitted.
    let forest = d.path().join("f.svg");
    assert!(vigil(&["meta", &f, "--forest", forest.to_str().unwrap()])
        .status
        .success());
    let svg = std::fs::read_to_string(&forest).unwrap();
    let doc = roxmltree::Document::parse(&svg).unwrap();
    assert_eq!(
        doc.descendants()
            .filter(|n| n.attribute("class") == Some("study-row"))
            .count(),
        3
    );
    let note = doc
        .descendants()
        .find(|n| n.attribute("class") == Some("omitted"))
        .expect("omitted note")
        .text()
        .unwrap()
        .to_string();
    assert!(
        note.contains("NoEvents (line 3: ai missing)") && note.contains("NoControlTotal"),
        "{note}"
    );
    // MH omits them too (rma.mh drops tables with NA cells): k = 3.
    let mh = json_of(&["meta", &f, "--model", "mh", "--format", "json"]);
    assert_eq!(
        (mh["k"].as_u64(), mh["k_omitted"].as_u64()),
        (Some(3), Some(2))
    );
}

/// Generic effects: `NA` in `yi` or an empty `vi` omits the study. EE on the two complete studies
/// (yi 0 and 1, vi 1 each): β = (0 + 1)/2 = 0.5, SE = √(1/2), QE = 0.5² + 0.5² = 0.5.
#[test]
fn generic_effects_with_missing_values() {
    let d = tempfile::tempdir().unwrap();
    let f = write(
        &d,
        "g.csv",
        "study,yi,vi,dose\nA,0,1,10\nB,NA,1,20\nC,1,1,\nD,5,,40\n",
    );
    let j = json_of(&["meta", &f, "--model", "ee", "--format", "json"]);
    close(&j["beta"], &Value::from(0.5), 1e-14, "beta");
    close(&j["se"], &Value::from(0.5f64.sqrt()), 1e-14, "se");
    close(&j["QE"], &Value::from(0.5), 1e-14, "QE");
    assert_eq!(j["k_omitted"], 2);
    // A missing moderator leaves the study out of the meta-regression only (C here), as metafor's
    // rma(mods = ...) does; with A alone left the model cannot be fitted, which is an error, not a panic.
    let err = fails(&["meta", &f, "--model", "ee", "--mods", "dose"]);
    assert!(err.contains("meta-regression"), "{err}");
}

/// Synthetic store for the report tests (small: the trials section is what is tested).
fn small_store(dir: &Path) {
    for args in [
        vec!["synth", "--reports", "2000", "--seed", "5", "--out", "q"],
        vec!["ingest", "faers", "q", "--store", "store", "--quiet"],
    ] {
        let out = vigil_test_support::vigil!()
            .current_dir(dir)
            .args(&args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// The same edge cases through `vigil report --trials` (which runs `vigil meta --measure RR --model
/// re`): a duplicated column is a located error (no panic), a double-zero trial is kept (rma's
/// default), a study with a missing value is omitted and counted in the report.
#[test]
fn report_trials_edge_cases() {
    let d = tempfile::tempdir().unwrap();
    small_store(d.path());
    let report = |trials: &str| -> Output {
        std::fs::write(d.path().join("trials.csv"), trials).unwrap();
        vigil_test_support::vigil!()
            .current_dir(d.path())
            .args([
                "report",
                "--store",
                "store",
                "--drug",
                "DUPILUMAB",
                "--events",
                "CONJUNCTIVITIS",
                "--trials",
                "trials.csv",
                "--format",
                "json",
                "--out",
                "r",
            ])
            .output()
            .unwrap()
    };
    let out = report("study,ai,n1i,ci,n2i,ai\nA,2,55,14,54,3\nB,38,425,56,315,4\n");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with("vigil: error: trials.csv: line 1, field ai: column 'ai' appears twice"),
        "{err}"
    );
    let out = report("study,ai,n1i,ci,n2i\nA,0,55,0,54\nB,38,425,56,315\nC,8,82,16,85\n");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r: Value =
        serde_json::from_str(&std::fs::read_to_string(d.path().join("r/report.json")).unwrap())
            .unwrap();
    assert_eq!(r["trials"]["analysis"]["k"], 3);
    // A (0/55 vs 0/54) is kept with 1/2 added to its cells: log RR = ln((0.5/56)/(0.5/55)) = ln(55/56).
    close(
        &r["trials"]["analysis"]["studies"][0]["yi"],
        &Value::from((55.0f64 / 56.0).ln()),
        1e-12,
        "double-zero log RR",
    );
    let out = report("study,ai,n1i,ci,n2i\nA,2,55,14,54\nB,NA,425,56,315\nC,8,82,16,85\n");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r: Value =
        serde_json::from_str(&std::fs::read_to_string(d.path().join("r/report.json")).unwrap())
            .unwrap();
    assert_eq!(r["trials"]["analysis"]["k"], 2);
    assert_eq!(r["trials"]["analysis"]["k_omitted"], 1);
    assert_eq!(r["trials"]["analysis"]["omitted"][0]["study"], "B");
    assert!(r["trials"]["table"]
        .as_str()
        .unwrap()
        .contains("Omitted for a missing value (1 of 3 studies): B (line 3: ai missing)"));
}

/// Found by fuzzing: a treated arm of 5.6e95 patients gives a log Peto OR with a variance near 1e92;
/// the REML fit's step became −∞ and the step halving looped for ever. It is now an error, at once.
#[test]
fn huge_total_is_an_error_not_a_hang() {
    let d = tempfile::tempdir().unwrap();
    let f = write(
        &d,
        "huge.csv",
        &format!(
            "study,ai,n1i,ci,n2i\nA,1,{},14,554\nB,38,425,28,315\nC,8,82,16,85\n",
            "5".repeat(96)
        ),
    );
    let start = std::time::Instant::now();
    let err = fails(&["meta", &f, "--measure", "PETO"]);
    assert!(
        err.contains("Fisher scoring for tau2: the step is not a finite number"),
        "{err}"
    );
    assert!(start.elapsed().as_secs() < 30, "took {:?}", start.elapsed());
}

/// Found by fuzzing: with a study whose log Peto OR has a variance near 1e88 (5.6e95 patients), REML
/// Fisher scoring creeps and does not converge within its 100,000 steps. That is an error (metafor
/// stops after 100 steps with "Fisher scoring algorithm did not converge"), returned at once; the same
/// table under RR, OR and RD fits.
#[test]
fn reml_that_does_not_converge_is_an_error() {
    let d = tempfile::tempdir().unwrap();
    let f = write(
        &d,
        "nc.csv",
        &format!(
            "study,ai,n1i,ci,n2i\nA,155555,{},14,554\nB,38,425,28,315\nC,8,82,16,85\n",
            "5".repeat(96)
        ),
    );
    let start = std::time::Instant::now();
    let err = fails(&["meta", &f, "--measure", "PETO"]);
    assert!(
        err.starts_with(&format!(
            "vigil: error: {f}: no convergence: Fisher scoring for tau2"
        )),
        "{err}"
    );
    assert!(start.elapsed().as_secs() < 30, "took {:?}", start.elapsed());
    for m in ["RR", "OR", "RD"] {
        let out = vigil(&["meta", &f, "--measure", m]);
        assert!(
            out.status.success(),
            "{m}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
