//! `vigil assess` refuses impossible date orders with the file and the JSON path of the field, in the
//! CLI's error shape, and exit status 2.

use vigil_test_support::vigil;

fn example(name: &str) -> serde_json::Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/cases")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn assess_error(case: &serde_json::Value) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("case.json");
    std::fs::write(&path, case.to_string()).unwrap();
    let out = vigil!().arg("assess").arg(&path).output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "stdout: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(out.stdout.is_empty(), "nothing is assessed");
    String::from_utf8(out.stderr)
        .unwrap()
        .replace(&path.display().to_string(), "FILE")
}

#[test]
fn impossible_date_orders_are_refused_with_the_field_named() {
    // Before: an onset in 2099 scored Naranjo +2 on item 2 and "probable".
    let mut case = example("facial-redness-interval-extension.json");
    case["reactions"][0]["onset"] = "2099-04-08".into();
    let err = assess_error(&case);
    assert!(
        err.starts_with("vigil: error: FILE: field reactions[0].onset: onset 2099-04-08 is after the date the report was received (2024-06-03, field received)"),
        "{err}"
    );

    // Before: a dechallenge dated before the onset counted as improvement.
    let mut case = example("facial-redness-interval-extension.json");
    case["reactions"][0]["dechallenge"]["date"] = "2024-01-15".into();
    let err = assess_error(&case);
    assert!(err.starts_with("vigil: error: FILE: field reactions[0].dechallenge.date: dechallenge 2024-01-15 is before the onset 2024-04-08"), "{err}");

    // Before: a regimen ending before it starts was accepted.
    let mut case = example("ad-flare-missed-dose.json");
    case["drugs"][0]["regimens"][0]["end"] = "2023-03-01".into();
    let err = assess_error(&case);
    assert!(err.starts_with("vigil: error: FILE: field drugs[0].regimens[0].end: regimen end 2023-03-01 is before its start 2023-03-06"), "{err}");
}
