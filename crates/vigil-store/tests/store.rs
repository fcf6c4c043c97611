//! The store: atomic versions, live-row filtering, and `load_report_set` filters on a small
//! hand-built store whose expected results are worked out in the comments.
use std::path::Path;
use std::sync::Arc;

use arrow::array::{
    new_null_array, ArrayRef, Int32Array, RecordBatch, StringArray, UInt32Array, UInt64Array,
};
use vigil_store::ingest_report::IngestReport;
use vigil_store::layout::{reports_schema, ChildTable, CURRENT_FILE, REPORTS_FILE};
use vigil_store::read::{
    export_rows_csv, load_report_set, load_reports, DateField, ReportQuery, Role, Store,
};
use vigil_store::write::StoreTxn;

struct R {
    pid: u64,
    batch: u32,
    fda_dt: &'static str,
    event_dt: Option<&'static str>,
    sex: &'static str,
    year: i32,
}

fn reports_batch(rows: &[R]) -> RecordBatch {
    let schema = reports_schema();
    let n = rows.len();
    let cols: Vec<ArrayRef> = schema
        .fields()
        .iter()
        .map(|f| -> ArrayRef {
            match f.name().as_str() {
                "primaryid" => Arc::new(UInt64Array::from_iter_values(rows.iter().map(|r| r.pid))),
                "caseid" => Arc::new(UInt64Array::from_iter_values(
                    rows.iter().map(|r| r.pid / 10),
                )),
                "batch" => Arc::new(UInt32Array::from_iter_values(rows.iter().map(|r| r.batch))),
                "quarter" => Arc::new(StringArray::from_iter_values(rows.iter().map(|_| "2024Q1"))),
                "source" => Arc::new(StringArray::from_iter_values(rows.iter().map(|_| "faers"))),
                "fda_dt" => Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r.fda_dt))),
                "event_dt" => Arc::new(StringArray::from_iter(rows.iter().map(|r| r.event_dt))),
                "sex" => Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r.sex))),
                "age_group" => {
                    Arc::new(StringArray::from_iter_values(rows.iter().map(|_| "adult")))
                }
                "year" => Arc::new(Int32Array::from_iter_values(rows.iter().map(|r| r.year))),
                _ => new_null_array(f.data_type(), n),
            }
        })
        .collect();
    RecordBatch::try_new(schema, cols).unwrap()
}

fn child_batch(table: ChildTable, rows: &[(u64, u32, &[&str])]) -> RecordBatch {
    let schema = table.schema();
    let mut cols: Vec<ArrayRef> = vec![
        Arc::new(UInt64Array::from_iter_values(rows.iter().map(|r| r.0))),
        Arc::new(UInt64Array::from_iter_values(rows.iter().map(|r| r.0 / 10))),
        Arc::new(UInt32Array::from_iter_values(rows.iter().map(|r| r.1))),
    ];
    for (i, _) in table.text_columns().iter().enumerate() {
        cols.push(Arc::new(StringArray::from_iter(
            rows.iter().map(|r| r.2.get(i).copied()),
        )));
    }
    RecordBatch::try_new(schema, cols).unwrap()
}

fn drug(seq: &'static str, role: &'static str, ing: &'static str) -> Vec<&'static str> {
    // drug_seq, role_cod, drugname, prod_ai, ingredient
    vec![seq, role, ing, ing, ing]
}

/// Reports (batch 1 unless said):
///   11: DUPILUMAB PS, USTEKINUMAB C;        events Conjunctivitis, Psoriasis; F; fda 20240115; indication Dermatitis atopic
///   21: DUPILUMAB SS;                       events CONJUNCTIVITIS (upper case), Rash; M; fda 20240520
///   31: USTEKINUMAB PS;                     events Psoriasis; F; fda 20230301; indication Psoriasis
///   41: ASPIRIN PS;                         events Rash; unknown sex; fda 2024 (year only)
///   51: ASPIRIN PS;                         no events (dropped: cannot form a row)
///   61: batch 2, the newer version of a case whose old rows (pid 61 in batch 1) must be ignored:
///       batch 1 rows say ASPIRIN/Headache, batch 2 rows say DUPILUMAB PS/Rash. The reports table
///       holds (61, batch 2).
fn build_store(dir: &Path) {
    let mut txn = StoreTxn::begin(dir).unwrap();
    let b1 = txn.new_batch("2024Q1");
    let b2 = txn.new_batch("2024Q2");
    assert_eq!((b1, b2), (1, 2));
    let mut s = txn.file_sink(REPORTS_FILE, reports_schema()).unwrap();
    s.write(&reports_batch(&[
        R {
            pid: 11,
            batch: 1,
            fda_dt: "20240115",
            event_dt: Some("20231201"),
            sex: "F",
            year: 2024,
        },
        R {
            pid: 21,
            batch: 1,
            fda_dt: "20240520",
            event_dt: None,
            sex: "M",
            year: 2024,
        },
        R {
            pid: 31,
            batch: 1,
            fda_dt: "20230301",
            event_dt: Some("2023"),
            sex: "F",
            year: 2023,
        },
        R {
            pid: 41,
            batch: 1,
            fda_dt: "2024",
            event_dt: None,
            sex: "unknown",
            year: 2024,
        },
        R {
            pid: 51,
            batch: 1,
            fda_dt: "20240101",
            event_dt: None,
            sex: "F",
            year: 2024,
        },
        R {
            pid: 61,
            batch: 2,
            fda_dt: "20240601",
            event_dt: None,
            sex: "M",
            year: 2024,
        },
    ]))
    .unwrap();
    s.finish().unwrap();
    let d11 = [drug("1", "PS", "DUPILUMAB"), drug("2", "C", "USTEKINUMAB")];
    let d21 = [drug("1", "SS", "DUPILUMAB")];
    let d31 = [drug("1", "PS", "USTEKINUMAB")];
    let d41 = [drug("1", "PS", "ASPIRIN")];
    let d51 = [drug("1", "PS", "ASPIRIN")];
    let d61_old = [drug("1", "PS", "ASPIRIN")];
    let d61_new = [drug("1", "PS", "DUPILUMAB")];
    let mut w = txn.child_sink(ChildTable::Drugs, 1).unwrap();
    let rows: Vec<(u64, u32, &[&str])> = vec![
        (11, 1, &d11[0]),
        (11, 1, &d11[1]),
        (21, 1, &d21[0]),
        (31, 1, &d31[0]),
        (41, 1, &d41[0]),
        (51, 1, &d51[0]),
        (61, 1, &d61_old[0]),
    ];
    w.write(&child_batch(ChildTable::Drugs, &rows)).unwrap();
    w.finish().unwrap();
    let mut w = txn.child_sink(ChildTable::Drugs, 2).unwrap();
    w.write(&child_batch(ChildTable::Drugs, &[(61, 2, &d61_new[0])]))
        .unwrap();
    w.finish().unwrap();
    let mut w = txn.child_sink(ChildTable::Reactions, 1).unwrap();
    w.write(&child_batch(
        ChildTable::Reactions,
        &[
            (11, 1, &["Conjunctivitis"]),
            (11, 1, &["Psoriasis"]),
            (21, 1, &["CONJUNCTIVITIS"]),
            (21, 1, &["Rash"]),
            (31, 1, &["Psoriasis"]),
            (41, 1, &["Rash"]),
            (61, 1, &["Headache"]),
        ],
    ))
    .unwrap();
    w.finish().unwrap();
    let mut w = txn.child_sink(ChildTable::Reactions, 2).unwrap();
    w.write(&child_batch(ChildTable::Reactions, &[(61, 2, &["Rash"])]))
        .unwrap();
    w.finish().unwrap();
    let mut w = txn.child_sink(ChildTable::Indications, 1).unwrap();
    w.write(&child_batch(
        ChildTable::Indications,
        &[
            (11, 1, &["1", "Dermatitis atopic"]),
            (31, 1, &["1", "Psoriasis"]),
        ],
    ))
    .unwrap();
    w.finish().unwrap();
    txn.commit(&IngestReport::default()).unwrap();
}

fn reports_with(set: &vigil_store::reports::ReportSet, drug: &str, event: &str) -> Vec<String> {
    let (Some(d), Some(e)) = (set.drugs.get(drug), set.events.get(event)) else {
        return vec![];
    };
    (0..set.len())
        .filter(|&r| set.report_drugs(r).contains(&d) && set.report_events(r).contains(&e))
        .map(|r| set.report_ids[r].clone())
        .collect()
}

#[test]
fn loader_filters() {
    let tmp = tempfile::tempdir().unwrap();
    build_store(tmp.path());

    // Default (suspect = PS+SS): reports 11, 21, 31, 41, 61 (51 has no event). 11's USTEKINUMAB is
    // concomitant, so not counted. 61 counts with its batch-2 rows: DUPILUMAB / RASH.
    let set = load_report_set(tmp.path(), &ReportQuery::default()).unwrap();
    assert_eq!(set.report_ids, ["11", "21", "31", "41", "61"]);
    assert_eq!(
        reports_with(&set, "DUPILUMAB", "CONJUNCTIVITIS"),
        ["11", "21"]
    ); // PTs compare case-insensitively
    assert_eq!(reports_with(&set, "DUPILUMAB", "RASH"), ["21", "61"]);
    assert_eq!(reports_with(&set, "USTEKINUMAB", "PSORIASIS"), ["31"]);
    assert!(set.events.get("HEADACHE").is_none()); // only in the superseded rows of 61

    // PS only: 21 (SS) has no admitted drug left.
    let set = load_report_set(
        tmp.path(),
        &ReportQuery {
            role: Role::Ps,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(set.report_ids, ["11", "31", "41", "61"]);
    // All roles: 11 also counts USTEKINUMAB.
    let set = load_report_set(
        tmp.path(),
        &ReportQuery {
            role: Role::All,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(reports_with(&set, "USTEKINUMAB", "PSORIASIS"), ["11", "31"]);

    // Exclude USTEKINUMAB (role suspect): report 31 goes; 11 stays (ustekinumab is only concomitant there).
    let q = ReportQuery {
        exclude_drugs: vec!["ustekinumab".into()],
        ..Default::default()
    };
    let set = load_report_set(tmp.path(), &q).unwrap();
    assert_eq!(set.report_ids, ["11", "21", "41", "61"]);
    // With role all, 11 goes too.
    let q = ReportQuery {
        role: Role::All,
        exclude_drugs: vec!["USTEKINUMAB".into()],
        ..Default::default()
    };
    assert_eq!(
        load_report_set(tmp.path(), &q).unwrap().report_ids,
        ["21", "41", "61"]
    );

    // Indication filter: only 11 has "Dermatitis atopic" (case-insensitive match).
    let q = ReportQuery {
        indication: Some("dermatitis ATOPIC".into()),
        ..Default::default()
    };
    assert_eq!(load_report_set(tmp.path(), &q).unwrap().report_ids, ["11"]);

    // FDA receipt date 2024-05 .. 2024-12: 21 (20240520), 41 ("2024", may lie in the window), 61.
    let q = ReportQuery {
        since: Some("202405".into()),
        until: Some("20241231".into()),
        ..Default::default()
    };
    assert_eq!(
        load_report_set(tmp.path(), &q).unwrap().report_ids,
        ["21", "41", "61"]
    );
    // Event date since 2023-06: only 11 (20231201); 31 is "2023" (year only, may be after June).
    let q = ReportQuery {
        since: Some("202306".into()),
        date_field: DateField::Event,
        ..Default::default()
    };
    assert_eq!(
        load_report_set(tmp.path(), &q).unwrap().report_ids,
        ["11", "31"]
    );
    assert!(load_report_set(
        tmp.path(),
        &ReportQuery {
            since: Some("2024-01".into()),
            ..Default::default()
        }
    )
    .is_err());

    // Stratify by sex and year: labels are the values joined by '|'.
    let q = ReportQuery {
        stratify: vec!["sex".into(), "year".into()],
        ..Default::default()
    };
    let loaded = load_reports(tmp.path(), &q).unwrap();
    let labels: Vec<&str> = (0..loaded.set.len())
        .map(|r| loaded.set.strata.name(loaded.set.report_stratum[r]))
        .collect();
    assert_eq!(
        labels,
        ["F|2024", "M|2024", "F|2023", "unknown|2024", "M|2024"]
    );
    assert_eq!(loaded.set.strata.len(), 4);
    // A stratum that is not a reports column is its own error variant (callers branch on the
    // variant, not on the message), and the message names the file, the column and the remedy.
    let err = load_report_set(
        tmp.path(),
        &ReportQuery {
            stratify: vec!["nope".into()],
            ..Default::default()
        },
    )
    .unwrap_err();
    match &err {
        vigil_store::layout::StoreError::UnknownStratum { path, column } => {
            assert!(path.ends_with(REPORTS_FILE), "{path}");
            assert_eq!(column, "nope");
        }
        other => panic!("expected UnknownStratum, got {other:?}"),
    }
    assert!(err.to_string().ends_with(
        ": no column \"nope\"; stratify by columns of the reports table, e.g. age_group, sex, year"
    ));
}

#[test]
fn export_rows_matches_loaded_pairs() {
    let tmp = tempfile::tempdir().unwrap();
    build_store(tmp.path());
    let mut out = Vec::new();
    let q = ReportQuery {
        stratify: vec!["sex".into()],
        ..Default::default()
    };
    let n = export_rows_csv(tmp.path(), &q, &mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    // Suspect rows: 11 → 1 drug × 2 events, 21 → 1 × 2, 31 → 1 × 1, 41 → 1 × 1, 61 → 1 × 1 = 7.
    assert_eq!(n, 7);
    assert_eq!(text.lines().next(), Some("id,drug,event,sex"));
    assert!(text.contains("21,DUPILUMAB,CONJUNCTIVITIS,M\n"));
    assert!(text.contains("61,DUPILUMAB,RASH,M\n"));
}

#[test]
fn versions_switch_atomically() {
    let tmp = tempfile::tempdir().unwrap();
    build_store(tmp.path());
    let current = || std::fs::read_to_string(tmp.path().join(CURRENT_FILE)).unwrap();
    assert_eq!(current().trim(), "v000001");
    // An abandoned transaction (an error mid-ingest) leaves the store as it was.
    {
        let mut txn = StoreTxn::begin(tmp.path()).unwrap();
        txn.new_batch("2024Q3");
        let mut s = txn.file_sink(REPORTS_FILE, reports_schema()).unwrap();
        s.write(&reports_batch(&[])).unwrap();
        // dropped without commit
    }
    assert_eq!(current().trim(), "v000001");
    let names: Vec<String> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(!names.iter().any(|n| n.starts_with(".tmp-")), "{names:?}");
    assert_eq!(
        load_report_set(tmp.path(), &ReportQuery::default())
            .unwrap()
            .len(),
        5
    );

    // A committed version carries the previous batches' child files forward (hard links).
    let txn = StoreTxn::begin(tmp.path()).unwrap();
    assert_eq!(txn.version(), 2);
    std::fs::copy(
        txn.previous().unwrap().0.join(REPORTS_FILE),
        txn.dir().join(REPORTS_FILE),
    )
    .unwrap();
    std::fs::copy(
        txn.previous().unwrap().0.join("sources.parquet"),
        txn.dir().join("sources.parquet"),
    )
    .ok();
    txn.commit(&IngestReport::default()).unwrap();
    assert_eq!(current().trim(), "v000002");
    assert_eq!(
        load_report_set(tmp.path(), &ReportQuery::default())
            .unwrap()
            .len(),
        5
    );
    let store = Store::open(tmp.path()).unwrap();
    assert_eq!(store.child_files(ChildTable::Drugs).len(), 2);
    // The newest KEPT_VERSIONS (10) versions are kept for rollback; each commit beyond removes
    // the oldest.
    assert!(tmp.path().join("v000001").exists());
    for v in 3..=12u32 {
        let txn = StoreTxn::begin(tmp.path()).unwrap();
        assert_eq!(txn.version(), v);
        std::fs::copy(
            txn.previous().unwrap().0.join(REPORTS_FILE),
            txn.dir().join(REPORTS_FILE),
        )
        .unwrap();
        txn.commit(&IngestReport::default()).unwrap();
        let present = vigil_store::layout::version_numbers(tmp.path()).unwrap();
        let first = v
            .saturating_sub(vigil_store::write::KEPT_VERSIONS as u32 - 1)
            .max(1);
        assert_eq!(
            present,
            (first..=v).collect::<Vec<_>>(),
            "after committing {v}"
        );
    }
    assert_eq!(current().trim(), "v000012");
    assert_eq!(
        vigil_store::write::list_versions(tmp.path())
            .unwrap()
            .iter()
            .filter(|v| v.live)
            .count(),
        1
    );
}

/// The handle reads the live-report index once: after the first read of a child table, removing
/// the reports table does not stop the same handle from reading the others (a new handle fails).
#[test]
fn store_handle_keeps_its_live_report_index() {
    let tmp = tempfile::tempdir().unwrap();
    build_store(tmp.path());
    let store = Store::open(tmp.path()).unwrap();
    let rows = |batches: Vec<RecordBatch>| batches.iter().map(|b| b.num_rows()).sum::<usize>();
    // Live reactions: 11 (2), 21 (2), 31, 41, and 61's batch-2 RASH; 61's batch-1 HEADACHE is
    // superseded.
    let reactions = store
        .read_live_children(ChildTable::Reactions, &["pt"])
        .unwrap();
    assert_eq!(rows(reactions), 7);
    std::fs::remove_file(store.dir.join(REPORTS_FILE)).unwrap();
    // Live drug rows: 11 (2), 21, 31, 41, 51, 61's batch-2 row; 61's batch-1 row is superseded.
    let drugs = store
        .read_live_children(ChildTable::Drugs, &["ingredient"])
        .unwrap();
    assert_eq!(rows(drugs), 7);
    let fresh = Store::open(tmp.path()).unwrap();
    assert!(fresh
        .read_live_children(ChildTable::Drugs, &["ingredient"])
        .is_err());
    assert_eq!(store.root(), tmp.path());
}

/// The most frequent indication counts the INDI rows tied to the drug's own sequence number.
#[test]
fn most_frequent_indication_follows_the_drug_sequence() {
    let tmp = tempfile::tempdir().unwrap();
    build_store(tmp.path());
    let store = Store::open(tmp.path()).unwrap();
    use vigil_store::indication::most_frequent_indication;
    // 11: DUPILUMAB is drug 1, whose indication is Dermatitis atopic.
    assert_eq!(
        most_frequent_indication(&store, "dupilumab").unwrap(),
        Some("DERMATITIS ATOPIC".to_owned())
    );
    // USTEKINUMAB is drug 2 of 11 (no indication row for 2) and drug 1 of 31 (Psoriasis).
    assert_eq!(
        most_frequent_indication(&store, "USTEKINUMAB").unwrap(),
        Some("PSORIASIS".to_owned())
    );
    // ASPIRIN has no indication row.
    assert_eq!(most_frequent_indication(&store, "ASPIRIN").unwrap(), None);
}
