//! openFDA JSON ingest learns drug names as the FAERS ingest does: `medicinalproduct` paired with
//! `activesubstance.activesubstancename` (else `openfda.generic_name`), the same rule (≥ 1 row,
//! ≥ 90 % agreeing), the same evidence files, and the stored rows of earlier ingests remapped.
//! On openFDA's own test fixture (`event.postannotation.json`, report 5801206-7, two VIOXX drugs
//! without an active substance) and a hand-made report that pairs VIOXX with ROFECOXIB.
use std::path::Path;

use arrow::array::AsArray;
use vigil_faers::ingest::{IngestOptions, LEARNED_NAMES_FILE};
use vigil_faers::openfda::ingest_openfda;
use vigil_store::layout::ChildTable;
use vigil_store::read::{read_parquet, Store};

/// One report, id 900001, whose only drug is VIOXX with its active substance.
const TEACHES_VIOXX: &str = r#"{"results": [
  {"safetyreportid": "900001", "safetyreportversion": "1", "receiptdate": "20040915",
   "patient": {"drug": [{"medicinalproduct": "VIOXX", "drugcharacterization": "1",
                         "activesubstance": {"activesubstancename": "ROFECOXIB"}}],
               "reaction": [{"reactionmeddrapt": "Myocardial infarction"}]}}
]}"#;

/// (drugname, ingredient) of the live drug rows, sorted.
fn stored_drugs(store: &Path) -> Vec<(String, String)> {
    let s = Store::open(store).unwrap();
    let mut out = Vec::new();
    for rb in s
        .read_live_children(ChildTable::Drugs, &["drugname", "ingredient"])
        .unwrap()
    {
        let idx = |n: &str| rb.schema().index_of(n).unwrap();
        let dn = rb.column(idx("drugname")).as_string::<i32>();
        let ing = rb.column(idx("ingredient")).as_string::<i32>();
        for i in 0..rb.num_rows() {
            out.push((dn.value(i).to_owned(), ing.value(i).to_owned()));
        }
    }
    out.sort();
    out
}

fn vioxx_rows(store: &Path) -> Vec<(String, String)> {
    stored_drugs(store)
        .into_iter()
        .filter(|(n, _)| n == "VIOXX")
        .collect()
}

#[test]
fn openfda_drugs_teach_names_and_remap_the_stored_ones() {
    let Some(fixtures) = vigil_test_support::shared("data/faers/openfda/fda_openfda_test_fixtures")
    else {
        return;
    };
    let fixture = fixtures.join("event.postannotation.json");
    let tmp = tempfile::tempdir().unwrap();
    let teach = tmp.path().join("teach.json");
    std::fs::write(&teach, TEACHES_VIOXX).unwrap();
    let opts = IngestOptions::default();
    let vioxx = |ing: &str| ("VIOXX".to_owned(), ing.to_owned());

    // The fixture alone: no drug has an active substance, VIOXX is kept verbatim (2 rows).
    let forward = tmp.path().join("forward");
    let o = ingest_openfda(std::slice::from_ref(&fixture), &forward, &opts).unwrap();
    assert_eq!(o.report.learned_drug_names, 0);
    assert_eq!(vioxx_rows(&forward), [vioxx("VIOXX"), vioxx("VIOXX")]);
    // Then the teaching report: VIOXX → ROFECOXIB learned (1 row of 1), the fixture's two stored
    // rows remapped, under one name.
    let o = ingest_openfda(std::slice::from_ref(&teach), &forward, &opts).unwrap();
    assert_eq!(o.report.learned_drug_names, 1);
    assert_eq!(o.report.stored_drug_rows_remapped, 2);
    assert_eq!(o.report.stored_drug_names_remapped, 1);
    let learned = read_parquet(&o.version_dir.join(LEARNED_NAMES_FILE), None).unwrap();
    let rb = &learned[0];
    assert_eq!(rb.num_rows(), 1);
    assert_eq!(rb.column(0).as_string::<i32>().value(0), "VIOXX");
    assert_eq!(rb.column(1).as_string::<i32>().value(0), "ROFECOXIB");
    assert_eq!(vioxx_rows(&forward), vec![vioxx("ROFECOXIB"); 3]);

    // The other order: the fixture's rows are mapped through the learned name as they are read.
    let reverse = tmp.path().join("reverse");
    ingest_openfda(std::slice::from_ref(&teach), &reverse, &opts).unwrap();
    let o = ingest_openfda(std::slice::from_ref(&fixture), &reverse, &opts).unwrap();
    assert_eq!(o.report.drug_name_sources["learned_from_prod_ai"], 2);
    assert_eq!(o.report.stored_drug_rows_remapped, 0);
    // One call.
    let one = tmp.path().join("one");
    ingest_openfda(&[teach, fixture], &one, &opts).unwrap();
    let want = stored_drugs(&one);
    assert_eq!(stored_drugs(&forward), want);
    assert_eq!(stored_drugs(&reverse), want);
}
