//! The monitoring loop closed: cases exported as E2B(R3) (`vigil assess --export-e2b`, the same
//! writer `vigil serve` uses) are ingested with `vigil ingest e2b` and counted by `vigil signals` and
//! `vigil onset` like any FAERS report.

use std::path::{Path, PathBuf};

use serde_json::Value;

use vigil_test_support::cli::ok;
use vigil_test_support::vigil;

const CASES: [&str; 3] = [
    "facial-redness-interval-extension",
    "psoriasiform-prior-psoriasis",
    "ad-flare-missed-dose",
];

fn example(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/cases")
        .join(format!("{name}.json"))
}

fn date(v: &Value) -> chrono::NaiveDate {
    chrono::NaiveDate::parse_from_str(v.as_str().unwrap(), "%Y-%m-%d").unwrap()
}

#[test]
fn exported_cases_join_the_signal_store() {
    let dir = tempfile::tempdir().unwrap();
    let xml_dir = dir.path().join("icsr");
    std::fs::create_dir(&xml_dir).unwrap();
    for name in CASES {
        let xml = ok(vigil!().args(["assess", "--export-e2b"]).arg(example(name)));
        std::fs::write(xml_dir.join(format!("{name}.xml")), xml).unwrap();
    }
    let store = dir.path().join("store");
    let summary = ok(vigil!()
        .args(["ingest", "e2b"])
        .arg(&xml_dir)
        .arg("--store")
        .arg(&store));
    assert!(summary.contains("reports in store: 3"), "{summary}");

    // Every case's suspect drug × reaction term is a pair of the store, counted once.
    let csv = ok(vigil!()
        .args(["signals", "--store"])
        .arg(&store)
        .args(["--format", "csv"]));
    for name in CASES {
        let case: Value =
            serde_json::from_str(&std::fs::read_to_string(example(name)).unwrap()).unwrap();
        let substance = case["drugs"][0]["substance"]
            .as_str()
            .unwrap()
            .to_uppercase();
        for r in case["reactions"].as_array().unwrap() {
            let term = r["term"].as_str().unwrap().to_uppercase();
            let row = csv
                .lines()
                .find(|l| l.starts_with(&format!("{substance},{term},")))
                .unwrap_or_else(|| panic!("no {substance} × {term} in\n{csv}"));
            assert_eq!(row.split(',').nth(2), Some("1"), "{row}");
        }
    }

    // Time to onset from the E2B dates: the facial-redness case's reaction onset minus its first
    // dose, both read from the case file (2024-04-08 − 2024-01-08 = 91 days).
    let case: Value =
        serde_json::from_str(&std::fs::read_to_string(example(CASES[0])).unwrap()).unwrap();
    let expected_days =
        (date(&case["reactions"][0]["onset"]) - date(&case["drugs"][0]["start"])).num_days();
    assert_eq!(expected_days, 91);
    let term = case["reactions"][0]["term"].as_str().unwrap();
    let onset: Value = serde_json::from_str(&ok(vigil!()
        .args(["onset", "--store"])
        .arg(&store)
        .args(["--drug", "DUPILUMAB", "--event", term, "--format", "json"])))
    .unwrap();
    assert_eq!(onset["days"], serde_json::json!([expected_days]), "{onset}");

    // Sending the same reports again replaces them (same C.1.1 → same case id): still three.
    let summary = ok(vigil!()
        .args(["ingest", "e2b"])
        .arg(&xml_dir)
        .arg("--store")
        .arg(&store));
    assert!(summary.contains("reports in store: 3"), "{summary}");

    // A malformed ICSR stops the ingest with its file named, and the store keeps its reports.
    std::fs::write(
        xml_dir.join("broken.xml"),
        "<MCCI_IN200100UV01><PORR_IN049016UV>",
    )
    .unwrap();
    let out = vigil!()
        .args(["ingest", "e2b"])
        .arg(&xml_dir)
        .arg("--store")
        .arg(&store)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("broken.xml"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let csv_after = ok(vigil!()
        .args(["signals", "--store"])
        .arg(&store)
        .args(["--format", "csv"]));
    assert_eq!(csv_after, csv);
}
