//! openFDA JSON with values of unexpected types, bad dates and ages, colliding ids and files that
//! are not openFDA documents. Every document here is hand-made; the expected counts are written
//! beside each value.
use std::path::{Path, PathBuf};

use arrow::array::{Array, AsArray};
use arrow::datatypes::UInt64Type;
use vigil_faers::drugname::DrugNormaliser;
use vigil_faers::ingest::{IngestOptions, IngestOutcome};
use vigil_faers::openfda::{ingest_openfda, parse_document, primaryid_of};
use vigil_store::layout::ChildTable;
use vigil_store::read::Store;

fn ingest_json(json: &str) -> (tempfile::TempDir, PathBuf, IngestOutcome) {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("events.json");
    std::fs::write(&file, json).unwrap();
    let store = tmp.path().join("store");
    let o = ingest_openfda(&[file], &store, &IngestOptions::default()).expect("ingest succeeds");
    assert!(
        o.report.unbalanced_tables().is_empty(),
        "read = kept + rejected + dedup fails for {:?}",
        o.report.unbalanced_tables()
    );
    (tmp, store, o)
}

/// (read, kept, rejected) of a table.
fn counts(o: &IngestOutcome, table: &str) -> (u64, u64, u64) {
    let c = &o.report.tables[table];
    (c.read, c.kept, c.rejected)
}

fn stored_primaryids(store: &Path) -> Vec<u64> {
    let s = Store::open(store).unwrap();
    let mut ids: Vec<u64> = s
        .read_reports(Some(&["primaryid"]))
        .unwrap()
        .iter()
        .flat_map(|rb| rb.column(0).as_primitive::<UInt64Type>().values().to_vec())
        .collect();
    ids.sort_unstable();
    ids
}

/// (drugname, role_cod) of the stored drug rows.
fn stored_drugs(store: &Path) -> Vec<(String, String)> {
    let s = Store::open(store).unwrap();
    let mut out = Vec::new();
    for rb in s
        .read_live_children(ChildTable::Drugs, &["drugname", "role_cod"])
        .unwrap()
    {
        let (name, role) = (
            rb.column(2).as_string::<i32>(),
            rb.column(3).as_string::<i32>(),
        );
        for i in 0..rb.num_rows() {
            out.push((
                name.value(i).to_owned(),
                if role.is_null(i) {
                    String::new()
                } else {
                    role.value(i).to_owned()
                },
            ));
        }
    }
    out
}

fn stored_pts(store: &Path) -> Vec<String> {
    let s = Store::open(store).unwrap();
    let mut out = Vec::new();
    for rb in s
        .read_live_children(ChildTable::Reactions, &["pt"])
        .unwrap()
    {
        let pt = rb.column(2).as_string::<i32>();
        out.extend((0..rb.num_rows()).map(|i| pt.value(i).to_owned()));
    }
    out
}

/// Before: a numeric `drugcharacterization` left the drug without a role, a numeric
/// `reactionmeddrapt` and the non-object entries vanished, and a report whose `patient`, `drug` or
/// `reaction` had the wrong type was stored without them — none of it counted.
#[test]
fn values_of_unexpected_json_types_are_counted_and_listed() {
    let json = r#"{"meta": {}, "results": [
      {"safetyreportid": "1", "safetyreportversion": "1", "patient": {
         "drug": [{"medicinalproduct": "DUPIXENT", "drugcharacterization": 1}, "DUPIXENT", {"medicinalproduct": "ADVIL", "drugcharacterization": "2"}],
         "reaction": [{"reactionmeddrapt": 10010741}, {"reactionmeddrapt": "Conjunctivitis"}, {}, 7]}},
      {"safetyreportid": "2", "patient": "female, 34"},
      {"safetyreportid": "3", "patient": {"drug": {"medicinalproduct": "DUPIXENT"}, "reaction": [{"reactionmeddrapt": "Rash"}]}},
      {"safetyreportid": "4", "patient": {"drug": [{"medicinalproduct": "DUPIXENT"}], "reaction": "Rash"}},
      {"safetyreportid": 5, "patient": {"drug": [{"medicinalproduct": 42, "drugcharacterization": "1"}], "reaction": [{"reactionmeddrapt": "Rash"}]}}
    ]}"#;
    let (_tmp, store, o) = ingest_json(json);
    // Reports: 1 and 5 kept (5's numeric id reads as "5"); 2 (patient a string), 3 (drug an object)
    // and 4 (reaction a string) rejected.
    assert_eq!(counts(&o, "demo"), (5, 2, 3));
    let demo = &o.report.tables["demo"];
    assert_eq!(
        demo.rejected_by_reason.get("patient not an object"),
        Some(&1)
    );
    assert_eq!(
        demo.rejected_by_reason.get("drug/reaction not an array"),
        Some(&2)
    );
    let fields: Vec<&str> = demo
        .rejected_rows
        .iter()
        .map(|r| r.field.as_deref().unwrap())
        .collect();
    assert_eq!(
        fields,
        [
            "$.results[1].patient",
            "$.results[2].patient.drug",
            "$.results[3].patient.reaction"
        ]
    );
    assert_eq!(
        demo.rejected_rows
            .iter()
            .map(|r| r.line)
            .collect::<Vec<_>>(),
        [2, 3, 4]
    );
    // Drugs of the kept reports: report 1 has 3 entries, one a string (rejected); report 5 has 1.
    assert_eq!(counts(&o, "drug"), (4, 3, 1));
    assert_eq!(
        o.report.tables["drug"].rejected_rows[0].field.as_deref(),
        Some("$.results[0].patient.drug[1]")
    );
    // The numeric characterisation 1 is a suspect drug (PS), as "1" is; report 5's drug keeps its
    // role but not its numeric name.
    let mut drugs = stored_drugs(&store);
    drugs.sort();
    let pair = |n: &str, r: &str| (n.to_owned(), r.to_owned());
    assert_eq!(
        drugs,
        [pair("", "PS"), pair("ADVIL", "C"), pair("DUPIXENT", "PS")]
    );
    // Report 5's numeric medicinalproduct is not a name: stored as null and counted.
    assert_eq!(o.report.field_warnings.get("drug.drugname"), Some(&1));
    let w = o
        .report
        .field_warning_examples
        .iter()
        .find(|w| w.field.as_deref() == Some("$.results[4].patient.drug[0].medicinalproduct"))
        .unwrap();
    assert_eq!((w.line, w.raw.as_str()), (5, "42"));
    // Reactions: report 1 has 4 entries (a numeric PT, a good one, one without a PT, a number),
    // report 5 one: 2 kept, 3 rejected.
    assert_eq!(counts(&o, "reac"), (5, 2, 3));
    let reac = &o.report.tables["reac"];
    assert_eq!(
        reac.rejected_rows[0].field.as_deref(),
        Some("$.results[0].patient.reaction[0].reactionmeddrapt")
    );
    assert_eq!(reac.rejected_rows[0].raw, "10010741");
    let mut pts = stored_pts(&store);
    pts.sort();
    assert_eq!(pts, ["Conjunctivitis", "Rash"]);
}

/// Before: a malformed date or an unusable age was stored as null without the warning the FAERS
/// path gives, and an unknown age unit made the age be read as years.
#[test]
fn bad_dates_and_ages_are_nulled_with_warnings() {
    let json = r#"[
      {"safetyreportid": "10", "receiptdate": "20201345", "receivedate": "2020-01-02",
       "patient": {"patientonsetage": "abc", "patientonsetageunit": "801", "patientweight": "heavy",
                   "drug": [{"medicinalproduct": "DUPIXENT", "drugcharacterization": "1", "drugstartdate": "20209999"}],
                   "reaction": [{"reactionmeddrapt": "Rash", "reactionstartdate": "2020"}]}},
      {"safetyreportid": "11", "receiptdate": "20200105",
       "patient": {"patientonsetage": "40", "patientonsetageunit": "806", "patientagegroup": "9",
                   "drug": [{"medicinalproduct": "DUPIXENT", "drugcharacterization": "7"}],
                   "reaction": [{"reactionmeddrapt": "Rash"}]}},
      {"safetyreportid": "12", "receiptdate": "20200105",
       "patient": {"patientonsetage": "150", "patientonsetageunit": "801",
                   "drug": [{"medicinalproduct": "DUPIXENT", "drugcharacterization": "1"}],
                   "reaction": [{"reactionmeddrapt": "Rash"}]}}
    ]"#;
    let (_tmp, store, o) = ingest_json(json);
    assert_eq!(counts(&o, "demo"), (3, 3, 0));
    let w = &o.report.field_warnings;
    // Report 10: month 13 and a dashed date; "abc" years; "heavy" kg; start month 99.
    assert_eq!(w.get("demo.fda_dt"), Some(&1));
    assert_eq!(w.get("demo.init_fda_dt"), Some(&1));
    assert_eq!(w.get("demo.wt"), Some(&1));
    assert_eq!(w.get("ther.start_dt"), Some(&1));
    // "abc" (report 10) and 150 years (report 12, outside 0–122).
    assert_eq!(w.get("demo.age"), Some(&2));
    // Report 11: unit 806 is not an openFDA age unit (800–805), age group 9 is not 1–6, and
    // characterisation 7 is not 1–3.
    assert_eq!(w.get("demo.age_cod"), Some(&1));
    assert_eq!(w.get("demo.age_grp"), Some(&1));
    assert_eq!(w.get("drug.role_cod"), Some(&1));
    let fda = o
        .report
        .field_warning_examples
        .iter()
        .find(|x| x.field.as_deref() == Some("$[0].receiptdate"))
        .unwrap();
    assert_eq!(
        (
            fda.file.ends_with("events.json"),
            fda.line,
            fda.raw.as_str()
        ),
        (true, 1, "20201345")
    );
    // No age was stored for any of the three (report 11's 40 has no known unit).
    let s = Store::open(&store).unwrap();
    for rb in s.read_reports(Some(&["primaryid", "age_years"])).unwrap() {
        assert_eq!(rb.column(1).null_count(), rb.num_rows());
    }
}

/// Before: the primaryid was the caseid followed by the version as written, so case 12 version 34
/// and case 123 version 4 were both 1234 and one replaced the other.
#[test]
fn report_ids_do_not_collide() {
    assert_eq!(primaryid_of(12, Some(34)), Some(12_034));
    assert_eq!(primaryid_of(123, Some(4)), Some(123_004));
    assert_eq!(primaryid_of(123, None), Some(123_000));
    assert_eq!(primaryid_of(1, Some(1000)), None);
    let json = r#"[
      {"safetyreportid": "12", "safetyreportversion": "34", "patient": {"drug": [{"medicinalproduct": "DUPIXENT", "drugcharacterization": "1"}], "reaction": [{"reactionmeddrapt": "Rash"}]}},
      {"safetyreportid": "123", "safetyreportversion": "4", "patient": {"drug": [{"medicinalproduct": "HUMIRA", "drugcharacterization": "1"}], "reaction": [{"reactionmeddrapt": "Psoriasis"}]}},
      {"safetyreportid": "124", "safetyreportversion": "1000", "patient": {}}
    ]"#;
    let (_tmp, store, o) = ingest_json(json);
    // Both cases kept; version 1000 does not fit the three version digits: rejected, counted.
    assert_eq!(counts(&o, "demo"), (3, 2, 1));
    assert_eq!(stored_primaryids(&store), [12_034, 123_004]);
    let mut pts = stored_pts(&store);
    pts.sort();
    assert_eq!(pts, ["Psoriasis", "Rash"]);
}

/// Before: `null`, `42`, `[]` and `{}` ingested nothing and exited 0.
#[test]
fn files_that_are_not_openfda_documents_are_errors() {
    let normaliser = DrugNormaliser::builtin();
    for (json, why) in [
        ("null", "the top level is a JSON null"),
        ("42", "the top level is a JSON number"),
        ("\"results\"", "the top level is a JSON string"),
        ("[]", "no reports in it"),
        ("{}", "neither \"results\" nor \"safetyreportid\""),
        (
            "{\"meta\": {\"results\": {\"total\": 0}}}",
            "neither \"results\" nor \"safetyreportid\"",
        ),
        ("{\"results\": 5}", "\"results\" is a JSON number"),
        ("{\"results\": []}", "no reports in it"),
    ] {
        let err = parse_document(json.as_bytes(), "x.json", 1, 0, &normaliser)
            .err()
            .unwrap_or_else(|| panic!("{json} accepted"));
        let msg = err.to_string();
        assert!(
            msg.starts_with("x.json: line 1: not an openFDA drug-event document: ")
                && msg.contains(why),
            "{json}: {msg}"
        );
    }
    let err = parse_document(b"{\"results\": [\n{]}", "y.json", 1, 0, &normaliser)
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.starts_with("y.json: line 2: column ") && err.contains("not valid JSON"),
        "{err}"
    );
    // Through the ingest: an error, and no store version is written.
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("null.json");
    std::fs::write(&file, "null").unwrap();
    let store = tmp.path().join("store");
    assert!(ingest_openfda(&[file], &store, &IngestOptions::default()).is_err());
    assert!(Store::open(&store).is_err());
    // A byte-order mark before a real document is accepted.
    let doc = parse_document(
        b"\xEF\xBB\xBF[{\"safetyreportid\": \"7\"}]",
        "bom.json",
        1,
        0,
        &normaliser,
    )
    .unwrap();
    assert_eq!(doc.report_ids(), [(7, 7_000)]);
}
