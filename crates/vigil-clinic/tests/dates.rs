//! Impossible date orders are refused with the field named (issue: an onset in 2099 scored Naranjo
//! +2 "probable", a dechallenge dated before the onset counted as improvement, a regimen ending before
//! it started was accepted). Partial dates are refused only when the order is certain.
mod common;

use vigil_clinic::{Case, ClinicError};

fn example_json(name: &str) -> serde_json::Value {
    serde_json::from_str(
        &std::fs::read_to_string(common::repo_root().join("examples/cases").join(name)).unwrap(),
    )
    .unwrap()
}

fn refused(json: &serde_json::Value) -> (String, String) {
    match Case::from_json_str(&json.to_string(), "case.json") {
        Err(ClinicError::Invalid {
            origin,
            field,
            message,
        }) => {
            assert_eq!(origin, "case.json");
            (field, message)
        }
        Err(other) => panic!("wrong error: {other}"),
        Ok(_) => panic!("accepted an impossible date order"),
    }
}

#[test]
fn onset_after_the_report_was_received_is_refused() {
    let mut j = example_json("facial-redness-interval-extension.json");
    j["reactions"][0]["onset"] = "2099-04-08".into();
    let (field, message) = refused(&j);
    assert_eq!(field, "reactions[0].onset");
    assert!(
        message.contains("2099-04-08")
            && message.contains("2024-06-03")
            && message.contains("received"),
        "{message}"
    );
    // The message renders as the CLI prints it: FILE: field F: …
    let err = Case::from_json_str(&j.to_string(), "case.json")
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("case.json: field reactions[0].onset: onset 2099-04-08 is after"),
        "{err}"
    );
}

#[test]
fn dechallenge_before_onset_is_refused() {
    let mut j = example_json("facial-redness-interval-extension.json");
    j["reactions"][0]["dechallenge"]["date"] = "2024-03-01".into(); // onset 2024-04-08
    let (field, message) = refused(&j);
    assert_eq!(field, "reactions[0].dechallenge.date");
    assert!(
        message.contains("2024-03-01") && message.contains("2024-04-08"),
        "{message}"
    );
}

#[test]
fn regimen_ending_before_it_starts_is_refused() {
    let mut j = example_json("facial-redness-interval-extension.json");
    j["drugs"][0]["regimens"][1]["end"] = "2024-01-01".into(); // starts 2024-01-22
    let (field, message) = refused(&j);
    assert_eq!(field, "drugs[0].regimens[1].end");
    assert!(
        message.contains("2024-01-01") && message.contains("2024-01-22"),
        "{message}"
    );
}

#[test]
fn reaction_end_and_drug_stop_before_their_start_are_refused() {
    let mut j = example_json("psoriasiform-prior-psoriasis.json");
    j["drugs"][0]["stop"] = "2023-08-01".into(); // start 2023-09-04
    assert_eq!(refused(&j).0, "drugs[0].stop");
    let mut j = example_json("psoriasiform-prior-psoriasis.json");
    j["reactions"][0]["end"] = "2023-12".into(); // onset 2024-01-15: a month-only end before it
    assert_eq!(refused(&j).0, "reactions[0].end");
}

#[test]
fn partial_dates_are_refused_only_when_the_order_is_certain() {
    // Onset "2024-06" and received 2024-06-03: the onset may be 1–3 June, so it is accepted.
    let mut j = example_json("facial-redness-interval-extension.json");
    j["reactions"][0]["onset"] = "2024-06".into();
    j["reactions"][0]["dechallenge"]["date"] = "2024-06-20".into();
    Case::from_json_str(&j.to_string(), "case.json").unwrap_or_else(|e| panic!("{e}"));
    // Year-only onset 2025 after a report received in 2024: certainly after.
    j["reactions"][0]["onset"] = "2025".into();
    assert_eq!(refused(&j).0, "reactions[0].onset");
    // The example cases themselves are in order.
    for name in common::EXAMPLES {
        common::example(name);
    }
}

/// Found by the `case_json` fuzz target: a regimen dated 2032–6300 on a drug stopped in 2024 was
/// accepted, and its E2B export then failed to re-import ("last administration 2024-01-29 is before
/// the first 2032-09-04") because E2B carries the drug's dates only through its regimens (G.k.4.r.4/5).
#[test]
fn regimen_outside_the_drugs_administration_is_refused() {
    // psoriasiform example: drug 2023-09-04 → 2024-01-29; regimen 0 starts 2023-09-04.
    let mut j = example_json("psoriasiform-prior-psoriasis.json");
    j["drugs"][0]["regimens"][0]["start"] = "2032-09-04".into();
    j["drugs"][0]["regimens"][0]["end"] = "2032-09-04".into();
    let (field, message) = refused(&j);
    assert_eq!(field, "drugs[0].regimens[0].start");
    assert!(
        message.contains("2032-09-04") && message.contains("2024-01-29"),
        "{message}"
    );

    let mut j = example_json("psoriasiform-prior-psoriasis.json");
    j["drugs"][0]["regimens"][0]["start"] = "2023-08-01".into(); // a month before the first administration
    let (field, message) = refused(&j);
    assert_eq!(field, "drugs[0].regimens[0].start");
    assert!(
        message.contains("2023-08-01") && message.contains("2023-09-04"),
        "{message}"
    );

    let last = j["drugs"][0]["regimens"].as_array().unwrap().len() - 1;
    let mut j = example_json("psoriasiform-prior-psoriasis.json");
    j["drugs"][0]["regimens"][last]["end"] = "2024-03-01".into(); // after the stop 2024-01-29
    let (field, _) = refused(&j);
    assert_eq!(field, format!("drugs[0].regimens[{last}].end"));

    // The same month as the stop is not certainly after it, so it is accepted.
    let mut j = example_json("psoriasiform-prior-psoriasis.json");
    j["drugs"][0]["regimens"][last]["end"] = "2024-01".into();
    Case::from_json_str(&j.to_string(), "case.json").unwrap_or_else(|e| panic!("{e}"));
}
