//! `vigil interactions`: planted drug–drug interactions of `vigil synth --interactions` recovered at
//! the top of the Ω ranking, a planted single-drug confounder not shown as an interaction, the same
//! rows whatever the partition size, and clear errors.

mod common;

use std::collections::HashMap;

use vigil_stats::omega::{omega, OmegaCounts};

use vigil_test_support::cli::ok;
use vigil_test_support::vigil;

use common::{synth_store, Synth};

type Row = HashMap<String, String>;

fn parse_csv(text: &str) -> Vec<Row> {
    let mut rdr = csv::Reader::from_reader(text.as_bytes());
    let headers: Vec<String> = rdr.headers().unwrap().iter().map(str::to_owned).collect();
    rdr.records()
        .map(|r| {
            headers
                .iter()
                .cloned()
                .zip(r.unwrap().iter().map(str::to_owned))
                .collect()
        })
        .collect()
}

fn num(r: &Row, k: &str) -> f64 {
    r[k].parse().unwrap_or_else(|_| panic!("{k} = {:?}", r[k]))
}

#[test]
fn planted_interactions_top_the_ranking_and_the_confounder_does_not_show() {
    let dir = tempfile::tempdir().unwrap();
    let store = synth_store(
        dir.path(),
        &Synth {
            reports: 40_000,
            seed: 5,
            quarters: Some(4),
            interactions: true,
        },
    );
    let planted = std::fs::read_to_string(dir.path().join("q/PLANTED_SIGNALS.tsv")).unwrap();
    assert!(planted.contains("SYNTHETIC INTERACTOR A + SYNTHETIC INTERACTOR B\tRhabdomyolysis"));
    let csv = ok(vigil!()
        .args(["interactions", "--store"])
        .arg(&store)
        .args(["--min-count", "3", "--format", "csv"]));
    let mut rows = parse_csv(&csv);
    assert!(rows.len() > 100, "{} itemsets", rows.len());
    for r in &rows {
        assert!(r["drug1"] < r["drug2"], "drug1 < drug2: {r:?}");
        assert!(num(r, "n111") >= 3.0);
        // Each row's Ω is the Ω of its own counts (unstratified run).
        let c = OmegaCounts {
            n111: num(r, "n111"),
            n11x: num(r, "n11."),
            n1x1: num(r, "n1.1"),
            nx11: num(r, "n.11"),
            n1xx: num(r, "n1.."),
            nx1x: num(r, "n.1."),
            nxx1: num(r, "n..1"),
            nxxx: num(r, "n..."),
        };
        let o = omega(&c).unwrap();
        assert_eq!((o.omega, o.omega025), (num(r, "omega"), num(r, "omega025")));
        assert_eq!(r["signal_omega"] == "true", o.omega025 > 0.0);
    }
    rows.sort_by(|a, b| num(b, "omega025").total_cmp(&num(a, "omega025")));
    let key = |r: &Row| (r["drug1"].clone(), r["drug2"].clone(), r["event"].clone());
    let top: Vec<_> = rows[..2].iter().map(key).collect();
    let want_a = (
        "SYNTHETIC INTERACTOR A".to_owned(),
        "SYNTHETIC INTERACTOR B".to_owned(),
        "RHABDOMYOLYSIS".to_owned(),
    );
    let want_c = (
        "SYNTHETIC INTERACTOR C".to_owned(),
        "SYNTHETIC INTERACTOR D".to_owned(),
        "ELECTROCARDIOGRAM QT PROLONGED".to_owned(),
    );
    assert!(
        top.contains(&want_a) && top.contains(&want_c),
        "top of the ranking: {top:?}"
    );
    for r in &rows[..2] {
        assert_eq!(r["signal_omega"], "true");
    }
    // The confounder raises hepatotoxicity on its own; with its companion it is reported often
    // (n111 well above 3), yet Ω025 stays ≤ 0: the additive baseline explains it.
    let conf = rows
        .iter()
        .find(|r| {
            r["drug1"] == "SYNTHETIC COMPANION F"
                && r["drug2"] == "SYNTHETIC CONFOUNDER E"
                && r["event"] == "HEPATOTOXICITY"
        })
        .expect("confounder itemset listed");
    assert!(num(conf, "n111") >= 20.0, "{conf:?}");
    assert_eq!(conf["signal_omega"], "false", "{conf:?}");
    // ... while the single-drug screen does flag the confounder itself.
    let single = parse_csv(&ok(vigil!().args(["signals", "--store"]).arg(&store).args(
        [
            "--drug",
            "SYNTHETIC CONFOUNDER E",
            "--event",
            "HEPATOTOXICITY",
            "--format",
            "csv",
        ],
    )));
    assert_eq!(single[0]["signal_ic"], "true");
}

#[test]
fn partitions_stratification_filters_and_errors() {
    let dir = tempfile::tempdir().unwrap();
    let store = synth_store(
        dir.path(),
        &Synth {
            reports: 8_000,
            seed: 5,
            quarters: Some(4),
            interactions: true,
        },
    );
    let run_as = |format: &str, extra: &[&str]| {
        ok(vigil!()
            .args(["interactions", "--store"])
            .arg(&store)
            .args(["--min-count", "2", "--format", format])
            .args(extra))
    };
    let run = |extra: &[&str]| run_as("csv", extra);
    let whole = run(&[]);
    // Many small partitions (each a few thousand itemset occurrences) give the same rows.
    assert_eq!(run(&["--partition-keys", "3000"]), whole);
    // --drug keeps the itemsets of that drug, the same rows as in the whole output.
    let a = parse_csv(&run(&["--drug", "synthetic interactor a"]));
    let all = parse_csv(&whole);
    let of_a: Vec<&Row> = all
        .iter()
        .filter(|r| {
            r["drug1"] == "SYNTHETIC INTERACTOR A" || r["drug2"] == "SYNTHETIC INTERACTOR A"
        })
        .collect();
    assert!(!a.is_empty());
    assert_eq!(a.iter().collect::<Vec<_>>(), of_a);
    // Stratified by sex: the counts are the same itemsets' totals, the expected counts differ.
    let by_sex = parse_csv(&run(&["--stratify", "sex"]));
    assert!(!by_sex.is_empty());
    let totals: HashMap<(String, String, String), String> = all
        .iter()
        .map(|r| {
            (
                (r["drug1"].clone(), r["drug2"].clone(), r["event"].clone()),
                r["n111"].clone(),
            )
        })
        .collect();
    for r in &by_sex {
        assert_eq!(
            totals.get(&(r["drug1"].clone(), r["drug2"].clone(), r["event"].clone())),
            Some(&r["n111"])
        );
    }
    // JSON writes the same number of rows.
    let json: serde_json::Value = serde_json::from_str(&run_as("json", &[])).unwrap();
    assert_eq!(json.as_array().unwrap().len(), all.len());
    // Unknown drug: a clear error, exit status 2.
    let out = vigil!()
        .args(["interactions", "--store"])
        .arg(&store)
        .args(["--drug", "NO SUCH DRUG"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("vigil: error:") && err.contains("\"NO SUCH DRUG\" is not in the store"),
        "{err}"
    );
}
