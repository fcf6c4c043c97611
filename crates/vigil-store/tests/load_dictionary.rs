//! The store loader reads text columns as Parquet dictionaries and caches one name per dictionary
//! entry. These tests write child files whose dictionaries change from one row group to the next
//! (small row groups) and one without dictionary pages at all, so that a cache kept across a
//! dictionary change, or a name resolved from the wrong entry, shows as a wrong report.
//! A last test puts the rows of every table out of order. Expected values are worked out by hand
//! in the comments.
use std::path::Path;
use std::sync::Arc;

use arrow::array::{ArrayRef, Int32Array, RecordBatch, StringArray, UInt32Array, UInt64Array};
use parquet::arrow::ArrowWriter;
use parquet::file::properties::WriterProperties;
use vigil_store::ingest_report::IngestReport;
use vigil_store::layout::{batch_file_name, reports_schema, ChildTable, REPORTS_FILE};
use vigil_store::read::{load_reports, ReportQuery, Role};
use vigil_store::reports::ReportSet;
use vigil_store::write::StoreTxn;

/// Reports table rows: (primaryid, batch, sex, year).
fn reports_batch(rows: &[(u64, u32, Option<&str>, Option<i32>)]) -> RecordBatch {
    let schema = reports_schema();
    let n = rows.len();
    let cols: Vec<ArrayRef> = schema
        .fields()
        .iter()
        .map(|f| -> ArrayRef {
            match f.name().as_str() {
                "primaryid" => Arc::new(UInt64Array::from_iter_values(rows.iter().map(|r| r.0))),
                "caseid" => Arc::new(UInt64Array::from_iter_values(rows.iter().map(|r| r.0))),
                "batch" => Arc::new(UInt32Array::from_iter_values(rows.iter().map(|r| r.1))),
                "quarter" | "source" => {
                    Arc::new(StringArray::from_iter_values(rows.iter().map(|_| "x")))
                }
                "sex" => Arc::new(StringArray::from_iter(rows.iter().map(|r| r.2))),
                "age_group" => {
                    Arc::new(StringArray::from_iter_values(rows.iter().map(|_| "adult")))
                }
                "year" => Arc::new(Int32Array::from_iter(rows.iter().map(|r| r.3))),
                _ => arrow::array::new_null_array(f.data_type(), n),
            }
        })
        .collect();
    RecordBatch::try_new(schema, cols).unwrap()
}

/// Child rows: (primaryid, batch, text columns in order; missing ones null).
fn child_batch(table: ChildTable, rows: &[(u64, u32, Vec<Option<&str>>)]) -> RecordBatch {
    let mut cols: Vec<ArrayRef> = vec![
        Arc::new(UInt64Array::from_iter_values(rows.iter().map(|r| r.0))),
        Arc::new(UInt64Array::from_iter_values(rows.iter().map(|r| r.0))),
        Arc::new(UInt32Array::from_iter_values(rows.iter().map(|r| r.1))),
    ];
    for i in 0..table.text_columns().len() {
        cols.push(Arc::new(StringArray::from_iter(
            rows.iter().map(|r| r.2.get(i).copied().flatten()),
        )));
    }
    RecordBatch::try_new(table.schema(), cols).unwrap()
}

/// A drugs row: drug_seq, role_cod, drugname, prod_ai, ingredient.
fn drug(
    pid: u64,
    batch: u32,
    role: Option<&'static str>,
    ingredient: Option<&'static str>,
) -> (u64, u32, Vec<Option<&'static str>>) {
    (
        pid,
        batch,
        vec![Some("1"), role, ingredient, ingredient, ingredient],
    )
}

/// Writes a child file with `rows_per_group` rows per row group, with or without dictionary
/// pages (as the store's own writer does, or as a writer that fell back to plain pages).
fn write_child(
    dir: &Path,
    table: ChildTable,
    batch: u32,
    rb: &RecordBatch,
    rows_per_group: usize,
    dictionary: bool,
) {
    let path = dir.join(table.dir_name()).join(batch_file_name(batch));
    let props = WriterProperties::builder()
        .set_max_row_group_row_count(Some(rows_per_group))
        .set_dictionary_enabled(dictionary)
        .build();
    let mut w = ArrowWriter::try_new(
        std::fs::File::create(path).unwrap(),
        table.schema(),
        Some(props),
    )
    .unwrap();
    w.write(rb).unwrap();
    w.close().unwrap();
}

/// Batch 1 (drugs in row groups of 2 rows, so every group has its own dictionary):
///   report 1: " aspirin" PS, "IBUPROFEN" C            events "Rash", "rash"
///   report 2: "Aspirin" SS, null role "METFORMIN"     events "Nausea"
///   report 3: "" PS (blank), "  " SS (blank)          events "Rash"      → no drug: not loaded
///   report 4: "ibuprofen" I                           events "Headache"
/// Batch 2 (no dictionary pages at all):
///   report 5: "Metformin" PS, "aspirin" PS            events "NAUSEA", "Headache"
///   report 9: not in the reports table                events "Rash"      → ignored
fn build(dir: &Path) {
    let mut txn = StoreTxn::begin(dir).unwrap();
    let (b1, b2) = (txn.new_batch("2024Q1"), txn.new_batch("2024Q2"));
    let mut s = txn.file_sink(REPORTS_FILE, reports_schema()).unwrap();
    s.write(&reports_batch(&[
        (1, b1, Some("F"), Some(2024)),
        (2, b1, Some(""), None),
        (3, b1, Some("M"), None),
        (4, b1, Some(""), Some(2023)),
        (5, b2, Some("M"), Some(2024)),
    ]))
    .unwrap();
    s.finish().unwrap();
    let tmp = txn.dir().to_owned();
    let drugs1 = child_batch(
        ChildTable::Drugs,
        &[
            drug(1, b1, Some("PS"), Some(" aspirin")),
            drug(1, b1, Some("C"), Some("IBUPROFEN")),
            drug(2, b1, Some("SS"), Some("Aspirin")),
            drug(2, b1, None, Some("METFORMIN")),
            drug(3, b1, Some("PS"), Some("")),
            drug(3, b1, Some("SS"), Some("  ")),
            drug(4, b1, Some("I"), Some("ibuprofen")),
        ],
    );
    write_child(&tmp, ChildTable::Drugs, b1, &drugs1, 2, true);
    let reac1 = child_batch(
        ChildTable::Reactions,
        &[
            (1, b1, vec![Some("Rash")]),
            (1, b1, vec![Some("rash")]),
            (2, b1, vec![Some("Nausea")]),
            (3, b1, vec![Some("Rash")]),
            (4, b1, vec![Some("Headache")]),
        ],
    );
    write_child(&tmp, ChildTable::Reactions, b1, &reac1, 2, true);
    let drugs2 = child_batch(
        ChildTable::Drugs,
        &[
            drug(5, b2, Some("PS"), Some("Metformin")),
            drug(5, b2, Some("PS"), Some("aspirin")),
        ],
    );
    write_child(&tmp, ChildTable::Drugs, b2, &drugs2, 1024, false);
    let reac2 = child_batch(
        ChildTable::Reactions,
        &[
            (5, b2, vec![Some("NAUSEA")]),
            (5, b2, vec![Some("Headache")]),
            (9, b2, vec![Some("Rash")]),
        ],
    );
    write_child(&tmp, ChildTable::Reactions, b2, &reac2, 1024, false);
    txn.commit(&IngestReport::default()).unwrap();
}

/// Each loaded report as (primaryid, drug names, event names, stratum label).
fn reports(set: &ReportSet) -> Vec<(String, Vec<&str>, Vec<&str>, &str)> {
    (0..set.len())
        .map(|r| {
            let mut d: Vec<&str> = set
                .report_drugs(r)
                .iter()
                .map(|&i| set.drugs.name(i))
                .collect();
            let mut e: Vec<&str> = set
                .report_events(r)
                .iter()
                .map(|&i| set.events.name(i))
                .collect();
            d.sort();
            e.sort();
            (
                set.report_ids.get(r).into_owned(),
                d,
                e,
                set.strata.name(set.report_stratum[r]),
            )
        })
        .collect()
}

#[test]
fn names_are_right_across_changing_and_missing_dictionaries() {
    let tmp = tempfile::tempdir().unwrap();
    build(tmp.path());
    let q = ReportQuery {
        role: Role::Suspect,
        stratify: vec!["sex".into(), "year".into()],
        ..Default::default()
    };
    let loaded = load_reports(tmp.path(), &q).unwrap();
    // Suspect roles are PS and SS: report 1 keeps ASPIRIN (IBUPROFEN is C); report 2 keeps
    // ASPIRIN (METFORMIN has no role); report 3 has only blank names; report 4's only drug is I;
    // report 5 keeps both. Names are trimmed and upper-cased; "Rash"/"rash" are one event.
    // Strata: an empty sex and a null year are "unknown"; years are their digits.
    assert_eq!(
        reports(&loaded.set),
        vec![
            ("1".to_owned(), vec!["ASPIRIN"], vec!["RASH"], "F|2024"),
            (
                "2".to_owned(),
                vec!["ASPIRIN"],
                vec!["NAUSEA"],
                "unknown|unknown"
            ),
            (
                "5".to_owned(),
                vec!["ASPIRIN", "METFORMIN"],
                vec!["HEADACHE", "NAUSEA"],
                "M|2024"
            ),
        ]
    );
    // Ids in order of first appearance over the reports (ASPIRIN first, then METFORMIN).
    assert_eq!(loaded.set.drugs.names(), ["ASPIRIN", "METFORMIN"]);
    assert_eq!(loaded.set.events.names(), ["RASH", "NAUSEA", "HEADACHE"]);
    assert_eq!(
        loaded.strata_values,
        vec![
            vec!["F".to_owned(), "2024".to_owned()],
            vec!["unknown".to_owned(), "unknown".to_owned()],
            vec!["M".to_owned(), "2024".to_owned()],
        ]
    );
}

#[test]
fn every_role_and_an_excluded_drug() {
    let tmp = tempfile::tempdir().unwrap();
    build(tmp.path());
    let q = ReportQuery {
        role: Role::All,
        exclude_drugs: vec!["ibuprofen".into()],
        ..Default::default()
    };
    let loaded = load_reports(tmp.path(), &q).unwrap();
    // Every role: report 1 has ASPIRIN and IBUPROFEN, report 4 IBUPROFEN: both are removed by
    // the exclusion. Report 2 keeps METFORMIN (a null role counts under "all").
    assert_eq!(
        reports(&loaded.set),
        vec![
            (
                "2".to_owned(),
                vec!["ASPIRIN", "METFORMIN"],
                vec!["NAUSEA"],
                ""
            ),
            (
                "5".to_owned(),
                vec!["ASPIRIN", "METFORMIN"],
                vec!["HEADACHE", "NAUSEA"],
                ""
            ),
        ]
    );
}

/// A store whose rows are in no particular order, to exercise the loader's paths for it (its fast
/// paths assume the layout ingest writes: reports sorted by batch and primaryid, child rows in
/// primaryid order):
///
/// reports.parquet, in row groups of 2 rows (strata numbered across row groups):
///   row 0: 30 b1 M 2024 · row 1: 10 b1 F 2023 (superseded by row 4) · row 2: 50 b2 F 2024 ·
///   row 3: 20 b1 F 2024 · row 4: 10 b1 M 2023
///   (batch 1 is split in two runs, its primaryids are unsorted and 10 is listed twice)
/// drugs b1, row groups of 2: 20 PS Zeta · 10 PS alpha · 30 SS Beta · 10 SS zeta ·
///   40 PS Gamma (no such report) · 20 C Alpha (role C: not a suspect)
/// reactions b1, no dictionary: 30 Rash · 10 Nausea · 20 Rash · 10 rash
/// drugs b2: 50 PS beta · reactions b2: 50 Headache
fn build_out_of_order(dir: &Path) {
    let mut txn = StoreTxn::begin(dir).unwrap();
    let (b1, b2) = (txn.new_batch("2024Q1"), txn.new_batch("2024Q2"));
    let tmp = txn.dir().to_owned();
    let reports = reports_batch(&[
        (30, b1, Some("M"), Some(2024)),
        (10, b1, Some("F"), Some(2023)),
        (50, b2, Some("F"), Some(2024)),
        (20, b1, Some("F"), Some(2024)),
        (10, b1, Some("M"), Some(2023)),
    ]);
    let props = WriterProperties::builder()
        .set_max_row_group_row_count(Some(2))
        .build();
    let file = std::fs::File::create(tmp.join(REPORTS_FILE)).unwrap();
    let mut w = ArrowWriter::try_new(file, reports_schema(), Some(props)).unwrap();
    w.write(&reports).unwrap();
    w.close().unwrap();
    let drugs1 = child_batch(
        ChildTable::Drugs,
        &[
            drug(20, b1, Some("PS"), Some("Zeta")),
            drug(10, b1, Some("PS"), Some("alpha")),
            drug(30, b1, Some("SS"), Some("Beta")),
            drug(10, b1, Some("SS"), Some("zeta")),
            drug(40, b1, Some("PS"), Some("Gamma")),
            drug(20, b1, Some("C"), Some("Alpha")),
        ],
    );
    write_child(&tmp, ChildTable::Drugs, b1, &drugs1, 2, true);
    let reac1 = child_batch(
        ChildTable::Reactions,
        &[
            (30, b1, vec![Some("Rash")]),
            (10, b1, vec![Some("Nausea")]),
            (20, b1, vec![Some("Rash")]),
            (10, b1, vec![Some("rash")]),
        ],
    );
    write_child(&tmp, ChildTable::Reactions, b1, &reac1, 1024, false);
    let drugs2 = child_batch(ChildTable::Drugs, &[drug(50, b2, Some("PS"), Some("beta"))]);
    write_child(&tmp, ChildTable::Drugs, b2, &drugs2, 1024, true);
    let reac2 = child_batch(ChildTable::Reactions, &[(50, b2, vec![Some("Headache")])]);
    write_child(&tmp, ChildTable::Reactions, b2, &reac2, 1024, true);
    txn.commit(&IngestReport::default()).unwrap();
}

#[test]
fn rows_out_of_order_repeated_primaryids_and_split_batches() {
    let tmp = tempfile::tempdir().unwrap();
    build_out_of_order(tmp.path());
    let q = ReportQuery {
        role: Role::Suspect,
        stratify: vec!["sex".into(), "year".into()],
        ..Default::default()
    };
    let loaded = load_reports(tmp.path(), &q).unwrap();
    let set = &loaded.set;
    // Row 1 (the earlier 10) has no rows: the child rows of 10 belong to the later row 4, as a
    // later row replaces an earlier one. Report 20 keeps ZETA only (its ALPHA is role C);
    // report 10 has ALPHA and ZETA, NAUSEA and RASH ("Rash"/"rash" are one event).
    assert_eq!(
        reports(set),
        vec![
            ("30".to_owned(), vec!["BETA"], vec!["RASH"], "M|2024"),
            ("50".to_owned(), vec!["BETA"], vec!["HEADACHE"], "F|2024"),
            ("20".to_owned(), vec!["ZETA"], vec!["RASH"], "F|2024"),
            (
                "10".to_owned(),
                vec!["ALPHA", "ZETA"],
                vec!["NAUSEA", "RASH"],
                "M|2023"
            ),
        ]
    );
    // Names in order of first appearance over the loaded reports: BETA (30), ZETA (20), ALPHA
    // (10); RASH (30), HEADACHE (50), NAUSEA (10). Strata likewise: M|2024, F|2024, M|2023.
    assert_eq!(set.drugs.names(), ["BETA", "ZETA", "ALPHA"]);
    assert_eq!(set.events.names(), ["RASH", "HEADACHE", "NAUSEA"]);
    assert_eq!(
        loaded.strata_values,
        vec![
            vec!["M".to_owned(), "2024".to_owned()],
            vec!["F".to_owned(), "2024".to_owned()],
            vec!["M".to_owned(), "2023".to_owned()],
        ]
    );
    // Each report's ids ascending: report 10 has ZETA = 1, ALPHA = 2 and RASH = 0, NAUSEA = 2.
    assert_eq!(set.report_drugs(3), [1, 2]);
    assert_eq!(set.report_events(3), [0, 2]);
    assert_eq!(set.report_stratum, [0, 1, 1, 2]);
}
