//! Drug names learned from `prod_ai` rows, across separate ingests: the store must not depend on
//! the order in which quarters are ingested. Ingesting A then B, B then A, and A and B in one call
//! gives the same decoded tables and the same `vigil signals` output, because an ingest that learns
//! (or changes, or finds ambiguous) a name remaps the stored rows of earlier ingests that were kept
//! under that name verbatim.
use std::path::{Path, PathBuf};
use std::process::Command;

use arrow::array::RecordBatch;
use arrow::util::display::array_value_to_string;
use vigil_store::ingest_report::IngestReport;
use vigil_store::layout::ChildTable;
use vigil_store::read::Store;
use vigil_test_support::vigil;

fn run_ok(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn ingest(inputs: &[&Path], store: &Path) -> IngestReport {
    let mut cmd = vigil!();
    cmd.args(["ingest", "faers"]);
    for i in inputs {
        cmd.arg(i);
    }
    run_ok(cmd.arg("--store").arg(store).arg("--quiet"));
    Store::open(store).unwrap().ingest_report().unwrap()
}

/// Every live row of `table`, each as its values joined by `|` (the `batch` column left out: batch
/// ids number the ingests, so they differ by order), sorted.
fn decoded(store: &Path, table: ChildTable) -> Vec<String> {
    let s = Store::open(store).unwrap();
    let mut cols: Vec<&str> = vec!["caseid"];
    cols.extend(table.text_columns());
    sorted_rows(s.read_live_children(table, &cols).unwrap())
}

/// The reports table, batch left out, sorted.
fn decoded_reports(store: &Path) -> Vec<String> {
    let s = Store::open(store).unwrap();
    sorted_rows(s.read_reports(None).unwrap())
}

/// Each row of `batches` as its values joined by `|`, the `batch` column left out, sorted.
fn sorted_rows(batches: impl IntoIterator<Item = RecordBatch>) -> Vec<String> {
    let mut rows = Vec::new();
    for rb in batches {
        let keep: Vec<usize> = (0..rb.num_columns())
            .filter(|&j| rb.schema().field(j).name() != "batch")
            .collect();
        for i in 0..rb.num_rows() {
            let row: Vec<String> = keep
                .iter()
                .map(|&j| array_value_to_string(rb.column(j), i).unwrap())
                .collect();
            rows.push(row.join("|"));
        }
    }
    rows.sort();
    rows
}

/// `vigil signals --store S --format csv`, header first, rows sorted (rows come in the order drugs
/// and events are first met, which follows the ingest order).
fn sorted_signals(store: &Path) -> Vec<String> {
    let text = run_ok(
        vigil!()
            .args(["signals", "--store"])
            .arg(store)
            .args(["--format", "csv"]),
    );
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    lines[1..].sort();
    lines
}

/// The stored ingredient of the live drug rows named `drugname` (exact, as stored).
fn ingredients_of(store: &Path, drugname: &str) -> Vec<String> {
    decoded(store, ChildTable::Drugs)
        .into_iter()
        .filter_map(|r| {
            // caseid|primaryid|drug_seq|role_cod|drugname|prod_ai|ingredient|… in file order.
            let f: Vec<&str> = r.split('|').collect();
            (f[4] == drugname && f[5].is_empty()).then(|| f[6].to_owned())
        })
        .collect()
}

/// Asserts that the three stores hold the same tables and answer the same signals.
fn assert_same_store(one_call: &Path, others: &[(&str, &Path)]) {
    let drugs = decoded(one_call, ChildTable::Drugs);
    let reactions = decoded(one_call, ChildTable::Reactions);
    let reports = decoded_reports(one_call);
    let signals = sorted_signals(one_call);
    for (name, store) in others {
        let got = decoded(store, ChildTable::Drugs);
        let diff: Vec<(&String, &String)> = got
            .iter()
            .zip(&drugs)
            .filter(|(a, b)| a != b)
            .take(5)
            .collect();
        assert!(
            got == drugs,
            "{name}: drug rows differ from one call ({} against {} rows; first differences {diff:?})",
            got.len(),
            drugs.len()
        );
        assert!(
            decoded(store, ChildTable::Reactions) == reactions,
            "{name}: reactions differ"
        );
        assert!(decoded_reports(store) == reports, "{name}: reports differ");
        assert!(sorted_signals(store) == signals, "{name}: signals differ");
    }
}

/// Two hand-made quarters. 2019Q1 gives its brand rows no `prod_ai`: KUVANIX is
/// kept verbatim when 2019Q1 is ingested alone. 2019Q2 pairs KUVANIX with SAPROPTERIN
/// DIHYDROCHLORIDE on one row (1 of 1 = 100 % ≥ 90 %: learned as SAPROPTERIN, the salt word
/// dropped). Ingested after 2019Q2, 2019Q1's row maps to SAPROPTERIN at once; ingested before,
/// it must be remapped when 2019Q2 arrives.
fn write_hand_quarters(dir: &Path) -> (PathBuf, PathBuf) {
    let q1 = dir.join("q1");
    let q2 = dir.join("q2");
    std::fs::create_dir_all(&q1).unwrap();
    std::fs::create_dir_all(&q2).unwrap();
    std::fs::write(
        q1.join("DEMO19Q1.txt"),
        "primaryid$caseid$caseversion$fda_dt\n11$1$1$20190110\n12$2$1$20190110\n",
    )
    .unwrap();
    std::fs::write(
        q1.join("DRUG19Q1.txt"),
        "primaryid$caseid$drug_seq$role_cod$drugname$prod_ai\n\
         11$1$1$PS$KUVANIX$\n\
         12$2$1$PS$OTHERBRANDX$\n",
    )
    .unwrap();
    std::fs::write(
        q1.join("REAC19Q1.txt"),
        "primaryid$caseid$pt\n11$1$Headache\n12$2$Nausea\n",
    )
    .unwrap();
    std::fs::write(
        q2.join("DEMO19Q2.txt"),
        "primaryid$caseid$caseversion$fda_dt\n21$3$1$20190410\n",
    )
    .unwrap();
    std::fs::write(
        q2.join("DRUG19Q2.txt"),
        "primaryid$caseid$drug_seq$role_cod$drugname$prod_ai\n\
         21$3$1$PS$KUVANIX$SAPROPTERIN DIHYDROCHLORIDE\n",
    )
    .unwrap();
    std::fs::write(
        q2.join("REAC19Q2.txt"),
        "primaryid$caseid$pt\n21$3$Headache\n",
    )
    .unwrap();
    (q1, q2)
}

/// The defect, by hand: before the fix, 2019Q1 then 2019Q2 left report 11's KUVANIX row stored
/// as KUVANIX while 2019Q2 then 2019Q1 stored it as SAPROPTERIN; `signals` then counted
/// SAPROPTERIN with Headache in 1 report against 2.
#[test]
fn a_brand_learned_later_remaps_the_rows_stored_before() {
    let tmp = tempfile::tempdir().unwrap();
    let (q1, q2) = write_hand_quarters(tmp.path());
    let one_call = tmp.path().join("one_call");
    let forward = tmp.path().join("forward");
    let reverse = tmp.path().join("reverse");
    ingest(&[&q1, &q2], &one_call);
    ingest(&[&q1], &forward);
    assert_eq!(ingredients_of(&forward, "KUVANIX"), ["KUVANIX"]);
    let r = ingest(&[&q2], &forward);
    // One stored row (report 11, KUVANIX) under one name changed.
    assert_eq!(r.stored_drug_rows_remapped, 1);
    assert_eq!(r.stored_drug_names_remapped, 1);
    assert_eq!(ingredients_of(&forward, "KUVANIX"), ["SAPROPTERIN"]);
    ingest(&[&q2], &reverse);
    let r = ingest(&[&q1], &reverse);
    assert_eq!(r.stored_drug_rows_remapped, 0);
    assert_eq!(ingredients_of(&one_call, "KUVANIX"), ["SAPROPTERIN"]);
    assert_same_store(&one_call, &[("forward", &forward), ("reverse", &reverse)]);
    // SAPROPTERIN × Headache: reports 11 and 21, a = 2, in every store.
    let line = sorted_signals(&forward)
        .into_iter()
        .find(|l| l.starts_with("SAPROPTERIN,HEADACHE,"))
        .expect("SAPROPTERIN × Headache scored");
    assert!(line.starts_with("SAPROPTERIN,HEADACHE,2,"), "{line}");
}

/// The same on real FAERS excerpts: the 2020Q3 head (10,000 lines a table) and the 2025Q4
/// 1,000-report sample, each naming brands without `prod_ai` that the other pairs with one.
#[test]
fn real_quarters_give_one_store_whatever_the_ingest_order() {
    let Some(data) = vigil_test_support::shared("data/faers/samples") else {
        return;
    };
    let a = data.join("ubesp_faers_2020q3_head10000");
    let b = data.join("nico_faers_2025q4_1000serious");
    let tmp = tempfile::tempdir().unwrap();
    let one_call = tmp.path().join("one_call");
    let forward = tmp.path().join("forward");
    let reverse = tmp.path().join("reverse");
    ingest(&[&a, &b], &one_call);
    ingest(&[&a], &forward);
    let ab = ingest(&[&b], &forward);
    ingest(&[&b], &reverse);
    let ba = ingest(&[&a], &reverse);
    eprintln!(
        "A then B: {} rows under {} names remapped; B then A: {} rows under {} names",
        ab.stored_drug_rows_remapped,
        ab.stored_drug_names_remapped,
        ba.stored_drug_rows_remapped,
        ba.stored_drug_names_remapped
    );
    assert!(ab.stored_drug_rows_remapped > 0 && ba.stored_drug_rows_remapped > 0);
    assert_same_store(&one_call, &[("A then B", &forward), ("B then A", &reverse)]);
}

/// E2B(R3) ingest learns names too: `vigil ingest e2b` reads each drug's product name (G.k.2.2)
/// with its active substance (G.k.2.3.r.1) and learns the pair as a FAERS `drugname`/`prod_ai`
/// row. The three example cases exported by `vigil assess --export-e2b` name "Dupixent" twice and
/// "Dupixent 300 mg pre-filled pen" once, each with the substance dupilumab, and an emollient cream
/// without a substance (nothing to learn). Before, nothing was learned from E2B or openFDA input.
#[test]
fn e2b_ingest_learns_product_names_with_their_substance() {
    use arrow::array::AsArray;
    let dir = tempfile::tempdir().unwrap();
    let xml_dir = dir.path().join("icsr");
    std::fs::create_dir(&xml_dir).unwrap();
    for name in [
        "facial-redness-interval-extension",
        "psoriasiform-prior-psoriasis",
        "ad-flare-missed-dose",
    ] {
        let case = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../examples/cases")
            .join(format!("{name}.json"));
        let xml = run_ok(vigil!().args(["assess", "--export-e2b"]).arg(case));
        std::fs::write(xml_dir.join(format!("{name}.xml")), xml).unwrap();
    }
    let store = dir.path().join("store");
    run_ok(
        vigil!()
            .args(["ingest", "e2b"])
            .arg(&xml_dir)
            .arg("--store")
            .arg(&store),
    );
    let version = vigil_store::layout::current_version_dir(&store)
        .unwrap()
        .unwrap();
    let mut learned: Vec<(String, String, u64)> = Vec::new();
    for rb in vigil_store::read::read_parquet(
        &version.join(vigil_faers::ingest::LEARNED_NAMES_FILE),
        None,
    )
    .unwrap()
    {
        let name = rb.column(0).as_string::<i32>();
        let ing = rb.column(1).as_string::<i32>();
        let rows = rb.column(2).as_primitive::<arrow::datatypes::UInt64Type>();
        for i in 0..rb.num_rows() {
            learned.push((
                name.value(i).to_owned(),
                ing.value(i).to_owned(),
                rows.value(i),
            ));
        }
    }
    // "Dupixent" on two cases and "Dupixent 300 mg pre-filled pen" on one (its strength and
    // device words cleaned off) → DUPIXENT, 3 rows, all DUPILUMAB; the emollient has no substance.
    assert_eq!(
        learned,
        [("DUPIXENT".to_owned(), "DUPILUMAB".to_owned(), 3)],
        "{learned:?}"
    );
}
