//! The reports table of a FAERS ingest, which reads DEMO twice (first the de-duplication keys,
//! then the kept reports): a report is identified by its place in the file, not by its
//! primaryid, so a primaryid listed twice in one quarter is stored once, with the fields of the
//! copy that won. A hand-made 2020Q1 quarter; every expected value is worked out below.
use std::path::Path;

use arrow::array::{Array, AsArray};
use arrow::datatypes::UInt64Type;
use vigil_faers::ingest::{ingest_faers, rules, IngestOptions};
use vigil_store::read::Store;

// Case 11: primaryid 101 twice (fda_dt 2020-01-05, then 2020-01-07), the same case version: the
// later fda_dt wins (faers-format.md §5 rule 1), the other copy is "same primaryid republished
// later". Case 12: version 1 (102) then version 2 (103): 103 wins, 102 is "older case version".
// Case 13 (104): alone, kept. So 5 rows read, 3 kept (101 with fda_dt 2020-01-07, 103, 104),
// 2 de-duplicated.
const DEMO: &str = "primaryid$caseid$caseversion$fda_dt$occr_country
101$11$1$20200105$US
102$12$1$20200106$FR
101$11$1$20200107$DE
103$12$2$20200110$FR
104$13$1$20200111$JP
";

const DRUG: &str = "primaryid$caseid$drug_seq$role_cod$drugname$prod_ai
101$11$1$PS$DUPIXENT$DUPILUMAB
102$12$1$PS$HUMIRA$ADALIMUMAB
103$12$1$PS$HUMIRA$ADALIMUMAB
104$13$1$PS$DUPIXENT$DUPILUMAB
";

const REAC: &str = "primaryid$caseid$pt
101$11$Conjunctivitis
102$12$Rash
103$12$Rash
104$13$Eczema
";

fn write_quarter(dir: &Path) {
    std::fs::write(dir.join("DEMO20Q1.txt"), DEMO).unwrap();
    std::fs::write(dir.join("DRUG20Q1.txt"), DRUG).unwrap();
    std::fs::write(dir.join("REAC20Q1.txt"), REAC).unwrap();
}

/// (primaryid, occr_country) of every row of the reports table, in table order.
fn report_rows(store: &Path) -> Vec<(u64, String)> {
    let s = Store::open(store).unwrap();
    let mut out = Vec::new();
    for rb in s
        .read_reports(Some(&["primaryid", "occr_country"]))
        .unwrap()
    {
        let pid = rb.column(0).as_primitive::<UInt64Type>();
        let country = rb.column(1).as_string::<i32>();
        for i in 0..rb.num_rows() {
            assert!(!country.is_null(i));
            out.push((pid.value(i), country.value(i).to_owned()));
        }
    }
    out
}

#[test]
fn a_primaryid_listed_twice_in_one_quarter_is_stored_once_as_the_winning_copy() {
    let input = tempfile::tempdir().unwrap();
    let dir = input.path().join("faers_ascii_2020q1");
    std::fs::create_dir_all(&dir).unwrap();
    write_quarter(&dir);
    let store = tempfile::tempdir().unwrap();
    let o = ingest_faers(&[dir], store.path(), &IngestOptions::default()).expect("ingest");
    let demo = &o.report.tables["demo"];
    assert_eq!((demo.read, demo.kept, demo.rejected), (5, 3, 0));
    assert_eq!(demo.deduplicated[rules::REPUBLISHED], 1);
    assert_eq!(demo.deduplicated[rules::OLDER_VERSION], 1);
    assert_eq!(o.report.reports_in_store, 3);
    // One row per kept report, in file order; 101 is the copy of line 4 (country DE), not FR/US.
    assert_eq!(
        report_rows(store.path()),
        [
            (101, "DE".to_owned()),
            (103, "FR".to_owned()),
            (104, "JP".to_owned())
        ]
    );
    // The child rows of the lost report 102 are de-duplicated with it.
    let drug = &o.report.tables["drug"];
    assert_eq!((drug.read, drug.kept), (4, 3));
    assert_eq!(drug.deduplicated[rules::REPORT_NOT_KEPT], 1);
}
