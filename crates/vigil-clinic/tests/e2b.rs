//! E2B(R3): export each example case, read it back in Rust and with the independent `e2br3` reader
//! (PyPI), and check the key fields round-trip; malformed XML must give an error, never a panic.
mod common;

use std::path::PathBuf;
use std::process::Command;

use vigil_clinic::case::{ActionTaken, DrugRole, Outcome, Rechallenge, Sex};
use vigil_clinic::causality::assess_case;
use vigil_clinic::causality::liverpool::NOT_REACHED;
use vigil_clinic::e2b::export::{to_xml, ExportOptions, DERIVED_SOURCE};
use vigil_clinic::e2b::import::import;
use vigil_clinic::{ClinicError, PartialDate};

fn export(
    name: &str,
) -> (
    vigil_clinic::Case,
    Vec<vigil_clinic::causality::PairAssessment>,
    String,
) {
    let case = common::example(name);
    let assessments = assess_case(&case);
    let created = PartialDate::ymd(2024, 6, 3).expect("valid date");
    let xml =
        to_xml(&case, &assessments, &ExportOptions::new(created)).unwrap_or_else(|e| panic!("{e}"));
    (case, assessments, xml)
}

/// (source, method, result) of every G.k.9.i.2.r the export must carry for one drug × reaction:
/// vigil's derived results labelled as its algorithm (no Liverpool result when the flowchart stopped
/// without a category), then the assessor's stated conclusions as theirs.
fn expected_results(
    case: &vigil_clinic::Case,
    a: &vigil_clinic::causality::PairAssessment,
) -> Vec<(String, String, String)> {
    let derived =
        |m: &str, r: String| (DERIVED_SOURCE.to_string(), format!("vigil {m}, derived"), r);
    let mut v = vec![
        derived(
            "Naranjo",
            format!("Naranjo score {} - {}", a.naranjo.total, a.naranjo.category),
        ),
        derived("WHO-UMC", a.who_umc.category.to_string()),
    ];
    if a.liverpool.category != NOT_REACHED {
        v.push(derived(
            "Liverpool ADR causality assessment tool",
            a.liverpool.category.to_string(),
        ));
    }
    let reaction = case
        .reactions
        .iter()
        .enumerate()
        .find(|(i, _)| case.reaction_ref(*i) == a.reaction_ref)
        .unwrap()
        .1;
    for st in reaction.causality_answers.iter().flat_map(|c| &c.stated) {
        v.push((st.source.clone(), st.method.clone(), st.result.clone()));
    }
    v
}

#[test]
fn rust_round_trip_of_every_example() {
    for name in common::EXAMPLES {
        let (case, assessments, xml) = export(name);
        let back = import(xml.as_bytes(), name).unwrap_or_else(|e| panic!("{name}: {e}"));
        let c = &back.case;
        assert_eq!(c.id, case.id, "{name}: C.1.1");
        assert_eq!(c.report_type, case.report_type);
        assert_eq!(c.received, case.received);
        assert_eq!(c.reporter, case.reporter);
        assert_eq!(c.patient.initials, case.patient.initials);
        assert_eq!(c.patient.sex, case.patient.sex);
        assert_eq!(c.patient.age_years, case.patient.age_years);
        assert_eq!(c.patient.weight_kg, case.patient.weight_kg);
        assert_eq!(
            c.narrative, case.narrative,
            "{name}: H.1 without vigil's facts block"
        );
        assert_eq!(c.reactions.len(), case.reactions.len());
        for (a, b) in c.reactions.iter().zip(&case.reactions) {
            assert_eq!(
                (&a.term, a.onset, a.end, a.outcome, a.seriousness),
                (&b.term, b.onset, b.end, b.outcome, b.seriousness)
            );
            assert_eq!(a.rechallenge, b.rechallenge);
        }
        assert_eq!(c.drugs.len(), case.drugs.len());
        for (a, b) in c.drugs.iter().zip(&case.drugs) {
            assert_eq!(
                (&a.name, &a.substance, a.role, a.action_taken),
                (&b.name, &b.substance, b.role, b.action_taken),
                "{name}"
            );
            assert_eq!(a.indication, b.indication);
            assert_eq!(a.regimens, b.regimens, "{name}: G.k.4.r");
            assert_eq!(
                (a.start, a.stop),
                (b.start, b.stop),
                "{name}: first and last administration"
            );
        }
        // G.k.9.i.2.r: vigil's results and the assessor's, exactly as exported.
        let mut got: Vec<(String, String, String)> = back
            .causality
            .iter()
            .map(|r| {
                (
                    r.source.clone().unwrap(),
                    r.method.clone().unwrap(),
                    r.result.clone().unwrap(),
                )
            })
            .collect();
        let mut want: Vec<(String, String, String)> = assessments
            .iter()
            .flat_map(|a| expected_results(&case, a))
            .collect();
        got.sort();
        want.sort();
        assert_eq!(got, want, "{name}");
        // The assessor's conclusions come back into the case (on the imported drug reference); vigil's
        // derived results do not, they are derived again.
        for (a, b) in c.reactions.iter().zip(&case.reactions) {
            let strip = |r: &vigil_clinic::case::Reaction| -> Vec<(String, String, String)> {
                r.causality_answers
                    .iter()
                    .flat_map(|c| &c.stated)
                    .map(|s| (s.source.clone(), s.method.clone(), s.result.clone()))
                    .collect()
            };
            assert_eq!(strip(a), strip(b), "{name}: stated assessments");
        }
    }
}

#[test]
fn derived_causality_is_labelled_as_vigils_algorithm_and_the_clinicians_as_theirs() {
    // Before the fix vigil wrote its own Naranjo/WHO-UMC/Liverpool results with the bare method names
    // ("Naranjo"), as an assessor would. Now every derived result names vigil in G.k.9.i.2.r.1 and .2.
    let (_, _, xml) = export("facial-redness-interval-extension.json");
    let back = import(xml.as_bytes(), "facial").unwrap();
    assert_eq!(back.causality.len(), 3);
    for r in &back.causality {
        assert_eq!(r.source.as_deref(), Some(DERIVED_SOURCE));
        assert!(
            r.method.as_deref().unwrap().starts_with("vigil ")
                && r.method.as_deref().unwrap().ends_with(", derived"),
            "{r:?}"
        );
        assert!(
            r.source.as_deref().unwrap().chars().count() <= 60
                && r.method.as_deref().unwrap().chars().count() <= 60,
            "60AN"
        );
    }
    assert!(
        back.case.reactions[0].causality_answers.is_none(),
        "nothing derived is imported as an assessor's answer"
    );
    // A dermatologist's own conclusion is exported as theirs, with their method.
    let (_, _, xml) = export("psoriasiform-prior-psoriasis.json");
    assert!(xml.contains("<originalText>reporting dermatologist</originalText>"));
    let back = import(xml.as_bytes(), "pso").unwrap();
    let stated = &back.case.reactions[0]
        .causality_answers
        .as_ref()
        .unwrap()
        .stated;
    assert_eq!(stated.len(), 1);
    assert_eq!(
        (
            stated[0].source.as_str(),
            stated[0].method.as_str(),
            stated[0].result.as_str()
        ),
        (
            "reporting dermatologist",
            "global introspection",
            "possible"
        )
    );
    assert_eq!(stated[0].drug.as_deref(), Some("drug-1"));
    // The flare case's Liverpool walk stops without a category: no Liverpool result is sent.
    let (_, _, xml) = export("ad-flare-missed-dose.json");
    assert!(
        !xml.contains("Liverpool"),
        "a result that was not reached is not exported"
    );
    // Files written by earlier versions ("vigil, derived from the case facts") are still read as derived.
    let old = xml
        .replace(DERIVED_SOURCE, "vigil, derived from the case facts")
        .replace("vigil Naranjo, derived", "Naranjo");
    let back = import(old.as_bytes(), "old").unwrap();
    assert!(back.case.reactions[0].causality_answers.is_none());
}

#[test]
fn time_to_onset_counts_the_first_day_as_day_one() {
    // Facial redness: first dose 2024-01-08, onset 2024-04-08. 2024 is a leap year:
    // 23 (rest of January) + 29 + 31 + 8 = 91 days later, so G.k.9.i.3.1 = 92 d (first day = day 1, IG).
    let (_, _, xml) = export("facial-redness-interval-extension.json");
    let back = import(xml.as_bytes(), "facial").unwrap();
    let suspect = back
        .start_to_onset
        .iter()
        .find(|(d, ..)| d == "drug-1")
        .unwrap();
    assert_eq!((suspect.2.as_str(), suspect.3.as_str()), ("92", "d"));
}

#[test]
fn key_codes_are_the_ich_values() {
    let (_, _, xml) = export("psoriasiform-prior-psoriasis.json");
    // G.k.8 = 1 drug withdrawn (list 15); G.k.9.i.4 = 4 no rechallenge (list 16); E.i.7 = 2 recovering (list 11).
    assert!(xml.contains(r#"<code code="1" codeSystem="2.16.840.1.113883.3.989.2.1.1.15"/>"#));
    assert!(xml.contains(r#"code="4" codeSystem="2.16.840.1.113883.3.989.2.1.1.16""#));
    assert!(xml.contains(r#"code="2" codeSystem="2.16.840.1.113883.3.989.2.1.1.11""#));
    let back = import(xml.as_bytes(), "pso").unwrap().case;
    assert_eq!(back.drugs[0].action_taken, Some(ActionTaken::Withdrawn));
    assert_eq!(back.drugs[0].role, DrugRole::Suspect);
    assert_eq!(back.reactions[0].outcome, Outcome::Recovering);
    assert_eq!(back.reactions[0].rechallenge, Some(Rechallenge::NotDone));
    assert_eq!(back.patient.sex, Some(Sex::Male));
}

fn expect_xml_error(bytes: &[u8], needle: &str) {
    match import(bytes, "bad.xml") {
        Err(ClinicError::Xml { message, .. }) => {
            assert!(message.contains(needle), "{message:?} lacks {needle:?}")
        }
        Err(other) => assert!(other.to_string().contains(needle), "{other}"),
        Ok(_) => panic!("accepted malformed input containing {needle:?}"),
    }
}

#[test]
fn malformed_xml_gives_a_clear_error() {
    let (_, _, xml) = export("ad-flare-missed-dose.json");
    // Truncated in the middle.
    expect_xml_error(&xml.as_bytes()[..xml.len() / 2], "ends inside");
    // Not XML at all.
    expect_xml_error(b"{\"id\": 1}", "outside the root element");
    // Mismatched end tag.
    expect_xml_error(
        b"<MCCI_IN200100UV01 xmlns=\"urn:hl7-org:v3\"><a></b></MCCI_IN200100UV01>",
        "not well-formed",
    );
    // Entity expansion attack: DOCTYPE refused.
    expect_xml_error(
        b"<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\">]><MCCI_IN200100UV01/>",
        "DOCTYPE",
    );
    // Undefined entity.
    expect_xml_error(
        b"<MCCI_IN200100UV01 xmlns=\"urn:hl7-org:v3\">&lol;</MCCI_IN200100UV01>",
        "undefined entity",
    );
    // Deep nesting.
    let deep = format!("{}{}", "<a>".repeat(10_000), "</a>".repeat(10_000));
    expect_xml_error(deep.as_bytes(), "nested deeper");
    // Wrong root and wrong namespace.
    expect_xml_error(b"<ichicsr/>", "MCCI_IN200100UV01");
    expect_xml_error(b"<MCCI_IN200100UV01/>", "namespace");
    // Missing C.1.1.
    let no_id = xml.replace("root=\"2.16.840.1.113883.3.989.2.1.3.1\"", "root=\"1.2.3\"");
    expect_xml_error(no_id.as_bytes(), "C.1.1");
    // A code outside its list (G.k.8 = 7).
    let bad_code = xml.replace(
        r#"<code code="4" codeSystem="2.16.840.1.113883.3.989.2.1.1.15"/>"#,
        r#"<code code="7" codeSystem="2.16.840.1.113883.3.989.2.1.1.15"/>"#,
    );
    assert_ne!(bad_code, xml);
    expect_xml_error(bad_code.as_bytes(), "G.k.8");
    // An impossible date.
    let bad_date = xml.replace("20240226", "20240231");
    expect_xml_error(bad_date.as_bytes(), "E.i.4");
}

fn python_with_e2br3() -> Option<String> {
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    let ok = Command::new(&python)
        .args(["-c", "import e2br3"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    ok.then_some(python)
}

/// The snippet prints the fields e2br3 read, one JSON object per file, and the XSD validation status.
const SNIPPET: &str = r#"
import json, sys, e2br3
path = sys.argv[1]
batch = e2br3.parse(path)
icsr = batch.messages[0].icsr
def code(c):
    return None if c is None or not hasattr(c, "code") else c.code
out = {
  "id": icsr.safety_report_id,
  "report_type": code(icsr.report_type),
  "patient_name": icsr.patient.name,
  "patient_sex": code(icsr.patient.sex),
  "patient_age": [str(icsr.patient.age.value), icsr.patient.age.unit] if icsr.patient.age else None,
  "reactions": [[r.native_term, r.start_date.raw if r.start_date else None, code(r.outcome)] for r in icsr.reactions],
  "drugs": [[d.product_name, code(d.role), code(d.action_taken),
             [[a.source.original_text if a.source else None, a.method.original_text, a.result] for rel in d.relatedness for a in rel.assessments]] for d in icsr.drugs],
}
try:
    errors = e2br3.validate(path)
    out["xsd"] = [str(e) for e in errors]
except e2br3.SchemaNotFoundError as exc:
    out["xsd"] = "no-schema"
print(json.dumps(out))
"#;

#[test]
fn independent_reader_e2br3_reads_the_key_fields() {
    let Some(python) = python_with_e2br3() else {
        println!("skipping: python3 with the e2br3 package not found (pip install e2br3==0.1.0)");
        return;
    };
    for name in common::EXAMPLES {
        let (case, assessments, xml) = export(name);
        let path: PathBuf =
            std::env::temp_dir().join(format!("vigil-e2b-{}-{name}.xml", std::process::id()));
        std::fs::write(&path, &xml).unwrap();
        let out = Command::new(&python)
            .arg("-c")
            .arg(SNIPPET)
            .arg(&path)
            .output()
            .unwrap();
        let _ = std::fs::remove_file(&path);
        assert!(
            out.status.success(),
            "{name}: e2br3 failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["id"], case.id.as_str(), "{name}: C.1.1");
        assert_eq!(v["report_type"], "1");
        assert_eq!(v["patient_name"], case.patient.initials.as_deref().unwrap());
        assert_eq!(
            v["patient_sex"],
            if case.patient.sex == Some(Sex::Male) {
                "1"
            } else {
                "2"
            }
        );
        assert_eq!(
            v["patient_age"][0],
            format!("{}", case.patient.age_years.unwrap())
        );
        assert_eq!(v["patient_age"][1], "a");
        let r = &v["reactions"][0];
        assert_eq!(r[0], case.reactions[0].term.as_str());
        assert_eq!(
            r[1],
            case.reactions[0].onset.unwrap().to_hl7().as_str(),
            "{name}: E.i.4 onset"
        );
        assert_eq!(r[2], case.reactions[0].outcome.code().to_string().as_str());
        let suspect = &v["drugs"][0];
        assert_eq!(suspect[0], case.drugs[0].name.as_str());
        assert_eq!(suspect[1], "1");
        assert_eq!(
            suspect[2],
            case.drugs[0]
                .action_taken
                .unwrap()
                .code()
                .to_string()
                .as_str(),
            "{name}: G.k.8"
        );
        let got: Vec<(String, String, String)> = suspect[3]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                (
                    p[0].as_str().unwrap().to_string(),
                    p[1].as_str().unwrap().to_string(),
                    p[2].as_str().unwrap().to_string(),
                )
            })
            .collect();
        assert_eq!(
            got,
            expected_results(&case, &assessments[0]),
            "{name}: G.k.9.i.2.r source, method, result"
        );
        match &v["xsd"] {
            serde_json::Value::String(s) if s == "no-schema" => {
                println!("{name}: parsed by e2br3; XSD validation skipped: ICH XSD set not found (set E2BR3_SCHEMA_DIR)")
            }
            errors => assert_eq!(errors, &serde_json::json!([]), "{name}: XSD errors"),
        }
    }
}

#[test]
fn markup_characters_in_text_round_trip() {
    let mut case = common::example("facial-redness-interval-extension.json");
    case.narrative = Some("Erythema < 2 weeks & \"burning\" > itch; 'apostrophes' and é ü".into());
    case.reactions[0].term = "facial erythema & oedema <face>".into();
    case.drugs[0].name = "Dupixent® 300 mg/2 mL".into();
    let created = PartialDate::ymd(2024, 6, 3).unwrap();
    let xml = to_xml(&case, &assess_case(&case), &ExportOptions::new(created)).unwrap();
    let back = import(xml.as_bytes(), "markup").unwrap().case;
    assert_eq!(back.narrative, case.narrative);
    assert_eq!(back.reactions[0].term, case.reactions[0].term);
    assert_eq!(back.drugs[0].name, case.drugs[0].name);
}

/// Found by the `case_json` fuzz target: a drug whose regimens are listed out of time order (the
/// maintenance regimen dated before the loading dose) exported fine but did not re-import, because
/// the importer took the drug's first administration from the first regimen listed. E2B carries the
/// drug's dates only through its regimens (G.k.4.r.4/5), so the importer now takes the earliest
/// regimen start and the latest regimen date.
#[test]
fn regimens_out_of_time_order_round_trip() {
    let mut case = common::example("psoriasiform-prior-psoriasis.json");
    // Example: loading dose 2023-09-04, then 300 mg q2w 2023-09-18 → 2024-01-29 (drug stop).
    case.drugs[0].start = Some(PartialDate::ymd(2023, 1, 18).unwrap());
    case.drugs[0].regimens[1].start = Some(PartialDate::ymd(2023, 1, 18).unwrap());
    case.validate("case.json").unwrap_or_else(|e| panic!("{e}"));
    let created = PartialDate::ymd(2024, 6, 3).unwrap();
    let xml = to_xml(&case, &assess_case(&case), &ExportOptions::new(created)).unwrap();
    let back = import(xml.as_bytes(), "out-of-order.xml").unwrap_or_else(|e| panic!("{e}"));
    let drug = &back.case.drugs[0];
    // Earliest of 2023-09-04 and 2023-01-18; latest of the regimen dates is the end 2024-01-29.
    assert_eq!(drug.start, PartialDate::ymd(2023, 1, 18));
    assert_eq!(drug.stop, PartialDate::ymd(2024, 1, 29));
}
