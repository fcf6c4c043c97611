//! Remapping stored drug rows when a later ingest learns their name: the rewrite goes into the
//! version being built only, so a failure (or a transaction never committed) leaves the previous
//! version as it was, readable and byte-identical. A hand-made 2019Q1 quarter whose KUVANIX row
//! has no `prod_ai` (stored verbatim), then a 2019Q2 quarter that pairs KUVANIX with sapropterin.
use std::path::Path;

use arrow::array::AsArray;
use vigil_faers::drugname::DrugNormaliser;
use vigil_faers::ingest::remap::{remap_stored_drugs, RemapCounts, RemapNormalisers};
use vigil_faers::ingest::{ingest_faers, IngestOptions, NAME_EVIDENCE_FILE};
use vigil_faers::learned_names::{LearnedName, LearnedNames};
use vigil_store::layout::ChildTable;
use vigil_store::read::Store;
use vigil_store::write::StoreTxn;

fn write(dir: &Path, files: &[(&str, &str)]) {
    std::fs::create_dir_all(dir).unwrap();
    for (name, text) in files {
        std::fs::write(dir.join(name), text).unwrap();
    }
}

fn quarter_2019q1(dir: &Path) {
    write(
        dir,
        &[
            (
                "DEMO19Q1.txt",
                "primaryid$caseid$caseversion$fda_dt\n11$1$1$20190110\n12$2$1$20190110\n",
            ),
            (
                "DRUG19Q1.txt",
                "primaryid$caseid$drug_seq$role_cod$drugname$prod_ai\n\
                 11$1$1$PS$KUVANIX$\n\
                 12$2$1$PS$OTHERBRANDX$\n",
            ),
            (
                "REAC19Q1.txt",
                "primaryid$caseid$pt\n11$1$Headache\n12$2$Nausea\n",
            ),
        ],
    );
}

fn quarter_2019q2(dir: &Path) {
    write(
        dir,
        &[
            (
                "DEMO19Q2.txt",
                "primaryid$caseid$caseversion$fda_dt\n21$3$1$20190410\n",
            ),
            (
                "DRUG19Q2.txt",
                "primaryid$caseid$drug_seq$role_cod$drugname$prod_ai\n\
                 21$3$1$PS$KUVANIX$SAPROPTERIN DIHYDROCHLORIDE\n",
            ),
            ("REAC19Q2.txt", "primaryid$caseid$pt\n21$3$Headache\n"),
        ],
    );
}

/// (primaryid, drugname, ingredient) of the live drug rows, sorted.
fn stored_drugs(store: &Path) -> Vec<(u64, String, String)> {
    let s = Store::open(store).unwrap();
    let mut out = Vec::new();
    for rb in s
        .read_live_children(ChildTable::Drugs, &["drugname", "ingredient"])
        .unwrap()
    {
        let pid = rb.column(0).as_primitive::<arrow::datatypes::UInt64Type>();
        let idx = |n: &str| rb.schema().index_of(n).unwrap();
        let dn = rb.column(idx("drugname")).as_string::<i32>();
        let ing = rb.column(idx("ingredient")).as_string::<i32>();
        for i in 0..rb.num_rows() {
            out.push((
                pid.value(i),
                dn.value(i).to_owned(),
                ing.value(i).to_owned(),
            ));
        }
    }
    out.sort();
    out
}

fn row(pid: u64, name: &str, ing: &str) -> (u64, String, String) {
    (pid, name.to_owned(), ing.to_owned())
}

/// KUVANIX → SAPROPTERIN, as 2019Q2's one row teaches it (the salt word dropped).
fn learned_kuvanix() -> LearnedNames {
    LearnedNames {
        mapped: vec![LearnedName {
            name: "KUVANIX".into(),
            ingredients: "SAPROPTERIN".into(),
            rows_with_prod_ai: 1,
            rows_agreeing: 1,
        }],
        ..Default::default()
    }
}

#[test]
fn a_failed_remap_leaves_the_previous_version_intact() {
    let tmp = tempfile::tempdir().unwrap();
    let (q1, q2, store) = (
        tmp.path().join("q1"),
        tmp.path().join("q2"),
        tmp.path().join("store"),
    );
    quarter_2019q1(&q1);
    quarter_2019q2(&q2);
    let first = ingest_faers(&[q1], &store, &IngestOptions::default()).unwrap();
    let stored_before = vec![
        row(11, "KUVANIX", "KUVANIX"),
        row(12, "OTHERBRANDX", "OTHERBRANDX"),
    ];
    assert_eq!(stored_drugs(&store), stored_before);
    let batch_file = first.version_dir.join("drugs").join("b000001.parquet");
    let bytes_before = std::fs::read(&batch_file).unwrap();

    let bare = DrugNormaliser::builtin();
    let mut after = bare.clone();
    after.add_learned(&learned_kuvanix());
    let n = RemapNormalisers {
        bare: &bare,
        before: &bare,
        after: &after,
    };

    // 1. The rewrite fails: a directory stands where the rewritten file is written.
    {
        let txn = StoreTxn::begin(&store).unwrap();
        std::fs::create_dir(txn.dir().join("drugs").join("b000001.parquet.rewrite")).unwrap();
        let err = remap_stored_drugs(&txn, &n).expect_err("the blocked rewrite fails");
        assert!(err.to_string().contains("b000001.parquet.rewrite"), "{err}");
    }
    assert_eq!(stored_drugs(&store), stored_before);
    assert_eq!(std::fs::read(&batch_file).unwrap(), bytes_before);
    assert_eq!(
        vigil_store::layout::current_version_dir(&store).unwrap(),
        Some(first.version_dir.clone())
    );

    // 2. The rewrite succeeds but the version is never committed: the previous version's file,
    //    hard-linked into the new version, is not written through the link.
    {
        let txn = StoreTxn::begin(&store).unwrap();
        let counts = remap_stored_drugs(&txn, &n).unwrap();
        assert_eq!(
            counts,
            RemapCounts {
                rows: 1,
                names: 1,
                files: 1
            }
        );
    }
    assert_eq!(stored_drugs(&store), stored_before);
    assert_eq!(std::fs::read(&batch_file).unwrap(), bytes_before);

    // 3. The ingest of 2019Q2 remaps report 11's row in the new version; the previous version
    //    still holds the verbatim row (for `vigil store rollback`).
    let second = ingest_faers(&[q2], &store, &IngestOptions::default()).unwrap();
    assert_eq!(second.report.stored_drug_rows_remapped, 1);
    assert_eq!(second.report.stored_drug_names_remapped, 1);
    assert_eq!(
        stored_drugs(&store),
        vec![
            row(11, "KUVANIX", "SAPROPTERIN"),
            row(12, "OTHERBRANDX", "OTHERBRANDX"),
            row(21, "KUVANIX", "SAPROPTERIN"),
        ]
    );
    assert_eq!(std::fs::read(&batch_file).unwrap(), bytes_before);
    assert!(second.version_dir.join(NAME_EVIDENCE_FILE).exists());
}

/// A name learned by one ingest and found ambiguous by a later one: the rows mapped through it go
/// back to their verbatim name, as one ingest of both quarters would store them. TWOWAY: 2019Q1
/// one row AAA (learned, 1 of 1); 2019Q2 one row BBB: AAA 1, BBB 1 → 50 % < 90 %, ambiguous.
#[test]
fn a_name_made_ambiguous_later_goes_back_to_verbatim() {
    let tmp = tempfile::tempdir().unwrap();
    let (q1, q2) = (tmp.path().join("q1"), tmp.path().join("q2"));
    write(
        &q1,
        &[
            (
                "DEMO19Q1.txt",
                "primaryid$caseid$caseversion$fda_dt\n11$1$1$20190110\n12$2$1$20190110\n",
            ),
            (
                "DRUG19Q1.txt",
                "primaryid$caseid$drug_seq$role_cod$drugname$prod_ai\n\
                 11$1$1$PS$TWOWAY$AAA\n\
                 12$2$1$PS$TWOWAY$\n",
            ),
            (
                "REAC19Q1.txt",
                "primaryid$caseid$pt\n11$1$Headache\n12$2$Nausea\n",
            ),
        ],
    );
    write(
        &q2,
        &[
            (
                "DEMO19Q2.txt",
                "primaryid$caseid$caseversion$fda_dt\n21$3$1$20190410\n",
            ),
            (
                "DRUG19Q2.txt",
                "primaryid$caseid$drug_seq$role_cod$drugname$prod_ai\n21$3$1$PS$TWOWAY$BBB\n",
            ),
            ("REAC19Q2.txt", "primaryid$caseid$pt\n21$3$Headache\n"),
        ],
    );
    let (forward, one_call) = (tmp.path().join("forward"), tmp.path().join("one"));
    let opts = IngestOptions::default();
    ingest_faers(std::slice::from_ref(&q1), &forward, &opts).unwrap();
    assert_eq!(stored_drugs(&forward)[1], row(12, "TWOWAY", "AAA"));
    let r = ingest_faers(std::slice::from_ref(&q2), &forward, &opts)
        .unwrap()
        .report;
    assert_eq!(r.stored_drug_rows_remapped, 1);
    ingest_faers(&[q1, q2], &one_call, &opts).unwrap();
    let want = vec![
        row(11, "TWOWAY", "AAA"),
        row(12, "TWOWAY", "TWOWAY"),
        row(21, "TWOWAY", "BBB"),
    ];
    assert_eq!(stored_drugs(&forward), want);
    assert_eq!(stored_drugs(&one_call), want);
}
