//! Whether a store holds synthetic data is a field of its manifest, set only when the data came
//! from `vigil synth`: neither a real drug name containing "SYNTHETIC" (FAERS lists e.g.
//! "BIOSYNTHETIC HUMAN INSULIN") nor a folder whose name contains "synthetic" makes real reports
//! synthetic.

use std::path::Path;

use arrow::array::AsArray;
use serde_json::Value;
use vigil_test_support::cli::ok;
use vigil_test_support::vigil;

/// One real-format FAERS 2024Q1 quarter (2014Q3+ columns, `$`-delimited, faers-format.md §2) of
/// four reports, in `dir`. Report 1 takes BIOSYNTHETIC HUMAN INSULIN (a name the built-in
/// dictionary does not map, so the ingest report lists it among the unmapped names).
fn write_real_quarter(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    let demo = "primaryid$caseid$caseversion$i_f_code$event_dt$mfr_dt$init_fda_dt$fda_dt$rept_cod$auth_num$mfr_num$mfr_sndr$lit_ref$age$age_cod$age_grp$sex$e_sub$wt$wt_cod$rept_dt$to_mfr$occp_cod$reporter_country$occr_country\n\
                1001$1$1$I$20240101$$20240110$20240110$EXP$$$$$50$YR$$F$Y$$$20240110$$MD$US$US\n\
                1002$2$1$I$20240102$$20240111$20240111$EXP$$$$$60$YR$$M$Y$$$20240111$$MD$US$US\n\
                1003$3$1$I$20240103$$20240112$20240112$EXP$$$$$40$YR$$F$Y$$$20240112$$MD$US$US\n\
                1004$4$1$I$20240104$$20240113$20240113$EXP$$$$$30$YR$$M$Y$$$20240113$$MD$US$US\n";
    let drug = "primaryid$caseid$drug_seq$role_cod$drugname$prod_ai$val_vbm$route$dose_vbm$cum_dose_chr$cum_dose_unit$dechal$rechal$lot_num$exp_dt$nda_num$dose_amt$dose_unit$dose_form$dose_freq\n\
                1001$1$1$PS$BIOSYNTHETIC HUMAN INSULIN$$1$$$$$$$$$$$$$\n\
                1002$2$1$PS$METFORMIN$METFORMIN$1$$$$$$$$$$$$$\n\
                1003$3$1$PS$METFORMIN$METFORMIN$1$$$$$$$$$$$$$\n\
                1004$4$1$PS$ATORVASTATIN$ATORVASTATIN$1$$$$$$$$$$$$$\n";
    let reac = "primaryid$caseid$pt$drug_rec_act\n\
                1001$1$Hypoglycaemia$\n\
                1002$2$Diarrhoea$\n\
                1003$3$Hypoglycaemia$\n\
                1004$4$Myalgia$\n";
    std::fs::write(dir.join("DEMO24Q1.txt"), demo).unwrap();
    std::fs::write(dir.join("DRUG24Q1.txt"), drug).unwrap();
    std::fs::write(dir.join("REAC24Q1.txt"), reac).unwrap();
}

/// The `synthetic_data` field of the store's current manifest (`None` when absent).
fn manifest_synthetic(store: &Path) -> Option<bool> {
    let current = std::fs::read_to_string(store.join("CURRENT")).unwrap();
    let manifest: Value = serde_json::from_str(
        &std::fs::read_to_string(store.join(current.trim()).join("manifest.json")).unwrap(),
    )
    .unwrap();
    manifest.get("synthetic_data").map(|v| v.as_bool().unwrap())
}

/// The distinct values of the reports table's `source` column.
fn report_sources(store: &Path) -> Vec<String> {
    let s = vigil_store::read::Store::open(store).unwrap();
    let mut out: Vec<String> = Vec::new();
    for rb in s.read_reports(Some(&["source"])).unwrap() {
        let col = rb.column(0).as_string::<i32>();
        for i in 0..rb.num_rows() {
            out.push(col.value(i).to_owned());
        }
    }
    out.sort();
    out.dedup();
    out
}

fn report_json(dir: &Path, store: &str, drug: &str) -> Value {
    ok(vigil!().current_dir(dir).args([
        "report", "--store", store, "--drug", drug, "--format", "json", "--out", "r",
    ]));
    serde_json::from_str(&std::fs::read_to_string(dir.join("r/report.json")).unwrap()).unwrap()
}

/// Regression: a real quarter with a BIOSYNTHETIC drug name, in a folder named
/// `synthetic-looking`, was labelled synthetic (the report searched the serialised ingest report
/// for "SYNTHETIC"; the reader marked files whose path contains "synthetic").
#[test]
fn real_data_with_synthetic_looking_names_is_not_synthetic() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    write_real_quarter(&dir.join("synthetic-looking"));
    ok(vigil!().current_dir(dir).args([
        "ingest",
        "faers",
        "synthetic-looking",
        "--store",
        "store",
        "--quiet",
    ]));
    assert_eq!(manifest_synthetic(&dir.join("store")), Some(false));
    assert_eq!(report_sources(&dir.join("store")), ["faers"]);
    let report = report_json(dir, "store", "METFORMIN");
    assert_eq!(report["synthetic_data"], false);
}

/// `vigil synth` output is synthetic, and stays so when real quarters are added to the store;
/// a store written before the manifest had the field reads as not synthetic.
#[test]
fn synth_output_is_synthetic_and_old_manifests_are_not() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    ok(vigil!()
        .current_dir(dir)
        .args(["synth", "--reports", "2000", "--seed", "3", "--out", "q"]));
    ok(vigil!()
        .current_dir(dir)
        .args(["ingest", "faers", "q", "--store", "store", "--quiet"]));
    assert_eq!(manifest_synthetic(&dir.join("store")), Some(true));
    assert_eq!(
        report_json(dir, "store", "DUPILUMAB")["synthetic_data"],
        true
    );

    write_real_quarter(&dir.join("real"));
    ok(vigil!()
        .current_dir(dir)
        .args(["ingest", "faers", "real", "--store", "store", "--quiet"]));
    assert_eq!(manifest_synthetic(&dir.join("store")), Some(true));

    // The same store with the field removed from its manifest, as an older vigil wrote it.
    let store = dir.join("store");
    let current = std::fs::read_to_string(store.join("CURRENT")).unwrap();
    let path = store.join(current.trim()).join("manifest.json");
    let mut manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    manifest.as_object_mut().unwrap().remove("synthetic_data");
    std::fs::write(&path, serde_json::to_string_pretty(&manifest).unwrap()).unwrap();
    assert_eq!(manifest_synthetic(&store), None);
    assert_eq!(
        report_json(dir, "store", "DUPILUMAB")["synthetic_data"],
        false
    );
}
