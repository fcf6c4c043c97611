//! `vigil signals` decision columns and `--decision fdr:Q`, against values computed independently
//! with scipy 1.17.1 and mpmath 1.3.0 (the script's calls are in the comments).

use std::collections::HashMap;
use std::path::PathBuf;

use vigil_test_support::vigil;

/// Six 2×2 tables of one database (n = 40,000) and PhViD's starting prior, written to a temp dir.
fn inputs(tag: &str) -> (PathBuf, PathBuf) {
    // Under cargo's per-target scratch directory, not the system temp dir: nothing is left in /tmp.
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("vigil-decision-{tag}"));
    std::fs::create_dir_all(&dir).unwrap();
    let counts = dir.join("tables.csv");
    std::fs::write(
        &counts,
        "drug,event,a,b,c,d\n\
         DRUGA,EV1,20,180,400,39400\n\
         DRUGA,EV2,3,197,40,39760\n\
         DRUGB,EV1,12,88,408,39492\n\
         DRUGB,EV3,5,95,5,39895\n\
         DRUGC,EV2,1,49,42,39908\n\
         DRUGC,EV3,2,48,8,39942\n",
    )
    .unwrap();
    // PhViD 1.0.8 GPS PRIOR.INIT (α1 0.2, β1 0.06, α2 1.4, β2 1.8, w 0.1): a fixed prior, so that
    // the MGPS columns do not depend on the fit.
    let prior = dir.join("prior.json");
    std::fs::write(
        &prior,
        r#"{"alpha1": 0.2, "beta1": 0.06, "alpha2": 1.4, "beta2": 1.8, "p": 0.1}"#,
    )
    .unwrap();
    (counts, prior)
}

/// Runs `vigil signals … --format csv` and returns rows keyed by "DRUG/EVENT" → column → value.
fn run(extra: &[&str], tag: &str) -> HashMap<String, HashMap<String, String>> {
    let (counts, prior) = inputs(tag);
    let out = vigil!()
        .arg("signals")
        .arg("--counts")
        .arg(&counts)
        .arg("--prior")
        .arg(&prior)
        .args(["--format", "csv"])
        .args(extra)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut r = csv::Reader::from_reader(&out.stdout[..]);
    let header: Vec<String> = r.headers().unwrap().iter().map(str::to_owned).collect();
    r.records()
        .map(|rec| {
            let rec = rec.unwrap();
            let row: HashMap<String, String> = header
                .iter()
                .cloned()
                .zip(rec.iter().map(str::to_owned))
                .collect();
            (format!("{}/{}", row["drug"], row["event"]), row)
        })
        .collect()
}

const PAIRS: [&str; 6] = [
    "DRUGA/EV1",
    "DRUGA/EV2",
    "DRUGB/EV1",
    "DRUGB/EV3",
    "DRUGC/EV2",
    "DRUGC/EV3",
];

/// Expected values, in the order of [`PAIRS`]. Computed by:
/// - prr_p: `scipy.stats.norm.sf(log((a/(a+b))/(c/(c+d))) / sqrt(1/a − 1/(a+b) + 1/c − 1/(c+d)))`
/// - ror_p: `norm.sf(log(a·d/(b·c)) / sqrt(1/a + 1/b + 1/c + 1/d))`
/// - prr_q, ror_q: `scipy.stats.false_discovery_control(p)` (BH) over the six pairs
/// - ic_post_null: `mpmath.gammainc(a + 0.5, 0, E + 0.5, regularized=True)`, E = (a+b)(a+c)/n
/// - ebgm_post_null: Qn·gammainc(α1+N, 0, β1+E) + (1−Qn)·gammainc(α2+N, 0, β2+E), regularized,
///   Qn from the two negative-binomial densities (mpmath, 30 digits)
/// - fdr_bayes_*: running mean of the sorted posterior null probabilities (numpy argsort)
const EXPECTED: [(&str, [f64; 6]); 8] = [
    (
        "prr_p",
        [
            2.6850588378885764e-26,
            2.7140051032931773e-06,
            1.8267942948991713e-19,
            4.390547784178346e-22,
            0.0016403562944924297,
            4.869513509877168e-12,
        ],
    ),
    (
        "prr_q",
        [
            1.6110353027331457e-25,
            3.256806123951813e-06,
            3.6535885897983426e-19,
            1.3171643352535039e-21,
            0.0016403562944924297,
            7.304270264815751e-12,
        ],
    ),
    (
        "ror_p",
        [
            1.5604251169442815e-23,
            3.28556678766561e-06,
            6.316258171437359e-17,
            2.1147450430294722e-21,
            0.0018577644506572936,
            1.5495740999627525e-11,
        ],
    ),
    (
        "ror_q",
        [
            9.362550701665688e-23,
            3.942680145198732e-06,
            1.2632516342874718e-16,
            6.3442351290884166e-21,
            0.0018577644506572936,
            2.3243611499441287e-11,
        ],
    ),
    (
        "ic_post_null",
        [
            2.4477037403759057e-12,
            0.015365377523214204,
            3.352240895768591e-08,
            6.453551499126603e-05,
            0.22473613074179433,
            0.03947574907380222,
        ],
    ),
    (
        "ebgm_post_null",
        [
            5.614647679653736e-12,
            0.03747819555853632,
            5.571581243782527e-08,
            5.269013571756505e-07,
            0.3639999844335562,
            0.03447104083957028,
        ],
    ),
    (
        "fdr_bayes_ic",
        [
            2.4477037403759057e-12,
            0.003857486640765533,
            1.676242833071314e-08,
            2.1523013282642486e-05,
            0.046606971063109785,
            0.01098113912737287,
        ],
    ),
    (
        "fdr_bayes_ebgm",
        [
            5.614647679653736e-12,
            0.014389963804178174,
            2.7860713542752463e-08,
            1.942075947537185e-07,
            0.07265830057574117,
            0.008617905865588636,
        ],
    ),
];

#[test]
fn decision_columns_match_scipy_and_mpmath() {
    let rows = run(&[], "columns");
    for (column, values) in EXPECTED {
        for (pair, want) in PAIRS.iter().zip(values) {
            let got: f64 = rows[*pair][column].parse().unwrap();
            assert!(
                ((got - want) / want).abs() < 1e-11,
                "{pair} {column}: {got} vs {want}"
            );
        }
    }
}

#[test]
fn fdr_decision_flags_follow_the_q_values() {
    // DRUGC/EV2 (a = 1): the Evans rule needs a ≥ 3, so no PRR signal by thresholds; at FDR 5 %
    // prr_q = 0.00164 and ror_q = 0.00186 flag it, fdr_bayes_ic = 0.0466 ≤ 0.05 flags it, and
    // fdr_bayes_ebgm = 0.0727 > 0.05 does not. At FDR 4 % the IC list stops before it.
    let by_threshold = run(&[], "thresholds");
    assert_eq!(by_threshold["DRUGC/EV2"]["signal_prr"], "false");
    let at5 = run(&["--decision", "fdr:0.05"], "fdr5");
    let f = &at5["DRUGC/EV2"];
    assert_eq!(
        [
            &f["signal_prr"],
            &f["signal_ror"],
            &f["signal_ic"],
            &f["signal_ebgm"]
        ],
        ["true", "true", "true", "false"]
    );
    let at4 = run(&["--decision", "fdr:0.04"], "fdr4");
    assert_eq!(at4["DRUGC/EV2"]["signal_ic"], "false");
    assert_eq!(at4["DRUGC/EV3"]["signal_ic"], "true");
}

#[test]
fn the_family_is_the_whole_table_whatever_the_output_filter() {
    // One drug printed: its q-values are those of the six-pair family, not of its own two pairs.
    let rows = run(&["--drug", "DRUGC"], "filter");
    assert_eq!(rows.len(), 2);
    let got: f64 = rows["DRUGC/EV3"]["prr_q"].parse().unwrap();
    assert!((got / 7.304270264815751e-12 - 1.0).abs() < 1e-11, "{got}");
}

#[test]
fn a_bad_decision_rule_is_refused() {
    let (counts, _) = inputs("bad");
    for bad in ["fdr", "fdr:0", "fdr:1.5", "bonferroni"] {
        let out = vigil!()
            .arg("signals")
            .arg("--counts")
            .arg(&counts)
            .args(["--decision", bad])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{bad}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("--decision") || err.contains("fdr:Q"),
            "{bad}: {err}"
        );
    }
}
