//! Drug names learned at ingest from the rows that give a name a `prod_ai`: applied to the rows
//! without one, recorded with their evidence in the store, reported; unmapped names are kept
//! verbatim and counted. A hand-made 2025Q4 quarter; every expected value is worked out below.
use std::path::Path;

use arrow::array::AsArray;
use arrow::datatypes::UInt64Type;
use vigil_faers::ingest::{ingest_faers, IngestOptions, LEARNED_NAMES_FILE};
use vigil_store::layout::ChildTable;
use vigil_store::read::{read_parquet, Store};

const DEMO: &str = "primaryid$caseid$caseversion$fda_dt
101$1$1$20251001
102$2$1$20251001
103$3$1$20251001
104$4$1$20251001
";

// ZOFRAN: two rows with prod_ai, both ONDANSETRON (hydrochloride dropped) → learned, 2 of 2.
// TWOWAY: one row AAA, one row BBB → 1 of 2 = 50 % < 90 %: ambiguous, left unmapped.
// Rows without prod_ai: ZOFRAN 8MG (→ ONDANSETRON, learned), TWOWAY (unmapped, kept as TWOWAY),
// MYSTERYBRAND (never seen with prod_ai: unmapped, kept as MYSTERYBRAND).
const DRUG: &str = "primaryid$caseid$drug_seq$role_cod$drugname$prod_ai
101$1$1$PS$ZOFRAN$ONDANSETRON HYDROCHLORIDE
101$1$2$C$TWOWAY$AAA
102$2$1$PS$Zofran$ONDANSETRON
102$2$2$C$TWOWAY$BBB
103$3$1$PS$ZOFRAN 8MG$
104$4$1$PS$TWOWAY$
104$4$2$C$MYSTERYBRAND$
";

const REAC: &str = "primaryid$caseid$pt
101$1$Nausea
102$2$Nausea
103$3$Headache
104$4$Rash
";

fn write_quarter(dir: &Path) {
    std::fs::write(dir.join("DEMO25Q4.txt"), DEMO).unwrap();
    std::fs::write(dir.join("DRUG25Q4.txt"), DRUG).unwrap();
    std::fs::write(dir.join("REAC25Q4.txt"), REAC).unwrap();
}

#[test]
fn names_learned_from_prod_ai_rows_map_the_rows_without_one() {
    let input = tempfile::tempdir().unwrap();
    let store = tempfile::tempdir().unwrap();
    write_quarter(input.path());
    let o = ingest_faers(
        &[input.path().to_path_buf()],
        store.path(),
        &IngestOptions::default(),
    )
    .expect("ingest succeeds");
    let r = &o.report;
    // 4 prod_ai rows, 1 learned (ZOFRAN 8MG), 2 unmapped (TWOWAY, MYSTERYBRAND): 7 drug rows.
    assert_eq!(r.drug_name_sources["prod_ai"], 4);
    assert_eq!(r.drug_name_sources["learned_from_prod_ai"], 1);
    assert_eq!(r.drug_name_sources["cleaned_name_unmapped"], 2);
    assert_eq!(r.tables["drug"].kept, 7);
    // Unmapped names are listed (and stored verbatim, below), never dropped.
    let mut unmapped = r.unmapped_drug_names.clone();
    unmapped.sort();
    assert_eq!(
        unmapped,
        vec![("MYSTERYBRAND".to_owned(), 1), ("TWOWAY".to_owned(), 1)]
    );
    assert_eq!(r.learned_drug_names, 1);
    assert_eq!(r.ambiguous_drug_names.len(), 1);
    let amb = &r.ambiguous_drug_names[0];
    assert_eq!(
        (
            amb.name.as_str(),
            amb.most_rows.as_str(),
            amb.rows_with_prod_ai,
            amb.rows_agreeing
        ),
        ("TWOWAY", "AAA", 2, 1)
    );

    // The stored ingredient of each drug row.
    let s = Store::open(store.path()).unwrap();
    let drugs = s
        .read_live_children(ChildTable::Drugs, &["drug_seq", "ingredient"])
        .unwrap();
    let mut got: Vec<(u64, String, String)> = Vec::new();
    for rb in &drugs {
        let pid = rb.column(0).as_primitive::<UInt64Type>();
        let seq = rb.column(2).as_string::<i32>();
        let ing = rb.column(3).as_string::<i32>();
        for i in 0..rb.num_rows() {
            got.push((
                pid.value(i),
                seq.value(i).to_owned(),
                ing.value(i).to_owned(),
            ));
        }
    }
    got.sort();
    let want = [
        (101, "1", "ONDANSETRON"),
        (101, "2", "AAA"),
        (102, "1", "ONDANSETRON"),
        (102, "2", "BBB"),
        (103, "1", "ONDANSETRON"),
        (104, "1", "TWOWAY"),
        (104, "2", "MYSTERYBRAND"),
    ];
    let want: Vec<(u64, String, String)> = want
        .iter()
        .map(|(p, s, i)| (*p, (*s).to_owned(), (*i).to_owned()))
        .collect();
    assert_eq!(got, want);

    // The evidence, in the version.
    let learned = read_parquet(&o.version_dir.join(LEARNED_NAMES_FILE), None).unwrap();
    let mut rows: Vec<(String, String, u64, u64, bool)> = Vec::new();
    for rb in &learned {
        let name = rb.column(0).as_string::<i32>();
        let ing = rb.column(1).as_string::<i32>();
        let total = rb.column(2).as_primitive::<UInt64Type>();
        let agree = rb.column(3).as_primitive::<UInt64Type>();
        let amb = rb.column(4).as_boolean();
        for i in 0..rb.num_rows() {
            rows.push((
                name.value(i).to_owned(),
                ing.value(i).to_owned(),
                total.value(i),
                agree.value(i),
                amb.value(i),
            ));
        }
    }
    assert_eq!(
        rows,
        vec![
            ("ZOFRAN".into(), "ONDANSETRON".into(), 2, 2, false),
            ("TWOWAY".into(), "AAA".into(), 2, 1, true),
        ]
    );

    // A later quarter whose only ZOFRAN row has no prod_ai: the evidence kept by the first
    // ingest maps it (2 rows, 2 agreeing, carried over).
    let later = tempfile::tempdir().unwrap();
    std::fs::write(
        later.path().join("DEMO26Q1.txt"),
        "primaryid$caseid$caseversion$fda_dt\n105$5$1$20260101\n",
    )
    .unwrap();
    std::fs::write(
        later.path().join("DRUG26Q1.txt"),
        "primaryid$caseid$drug_seq$role_cod$drugname$prod_ai\n105$5$1$PS$ZOFRAN$\n",
    )
    .unwrap();
    std::fs::write(
        later.path().join("REAC26Q1.txt"),
        "primaryid$caseid$pt\n105$5$Nausea\n",
    )
    .unwrap();
    let o2 = ingest_faers(
        &[later.path().to_path_buf()],
        store.path(),
        &IngestOptions::default(),
    )
    .expect("second ingest succeeds");
    assert_eq!(o2.report.drug_name_sources["learned_from_prod_ai"], 1);
    assert!(!o2
        .report
        .drug_name_sources
        .contains_key("cleaned_name_unmapped"));
    assert_eq!(o2.report.learned_drug_names, 1);
}
