//! `vigil report --event-level … --atc FILE` (issue 18, part 4) on the seven-report quarter of
//! `cli_terms.rs` with the hand-made MedDRA release of vigil-terms's tests (invented terms, not
//! MedDRA content; hierarchy drawn in crates/vigil-terms/tests/fixtures/meddra/README.md):
//! the report's grouped rows are those of `vigil signals --event-level …` for the drug, and the
//! ATC code shown is the one of the table's row for the substance.
//!
//! ```text
//! R1 DUPILUMAB                 ; Vorpal itch, Vorpal rash
//! R2 DUPILUMAB                 ; Vorpal rash, Tulgey redness
//! R3 TRALOKINUMAB              ; Slithy eyes
//! R4 ACETAMINOPHEN             ; Frumious lump, Mimsy level increased
//! R5 ACETAMINOPHEN, ASPIRIN    ; Vorpal itching
//! R6 ASPIRIN                   ; Snark bite
//! R7 DUPILUMAB, TRALOKINUMAB   ; Tulgey rednes
//! ```

use std::path::{Path, PathBuf};

use serde_json::Value;
use vigil_test_support::cli::{ok, output, stderr};
use vigil_test_support::vigil;

const REPORTS: &[(&[&str], &[&str])] = &[
    (&["DUPILUMAB"], &["Vorpal itch", "Vorpal rash"]),
    (&["DUPILUMAB"], &["Vorpal rash", "Tulgey redness"]),
    (&["TRALOKINUMAB"], &["Slithy eyes"]),
    (
        &["ACETAMINOPHEN"],
        &["Frumious lump", "Mimsy level increased"],
    ),
    (&["ACETAMINOPHEN", "ASPIRIN"], &["Vorpal itching"]),
    (&["ASPIRIN"], &["Snark bite"]),
    (&["DUPILUMAB", "TRALOKINUMAB"], &["Tulgey rednes"]),
];

/// The seven reports as one FAERS quarter (all received 2026-01-15), ingested into `dir/store`.
fn store(dir: &Path) -> PathBuf {
    let q = dir.join("faers_ascii_2026q1");
    std::fs::create_dir_all(&q).unwrap();
    let mut demo = String::from("primaryid$caseid$caseversion$fda_dt\n");
    let mut drug = String::from("primaryid$caseid$drug_seq$role_cod$drugname$prod_ai\n");
    let mut reac = String::from("primaryid$caseid$pt\n");
    for (i, (drugs, events)) in REPORTS.iter().enumerate() {
        let case = 1000 + i;
        let pid = format!("{case}1");
        demo.push_str(&format!("{pid}${case}$1$20260115\n"));
        for (k, d) in drugs.iter().enumerate() {
            let role = if k == 0 { "PS" } else { "SS" };
            drug.push_str(&format!("{pid}${case}${}${role}${d}${d}\n", k + 1));
        }
        for e in events.iter() {
            reac.push_str(&format!("{pid}${case}${e}\n"));
        }
    }
    std::fs::write(q.join("DEMO26Q1.txt"), demo).unwrap();
    std::fs::write(q.join("DRUG26Q1.txt"), drug).unwrap();
    std::fs::write(q.join("REAC26Q1.txt"), reac).unwrap();
    ok(vigil!()
        .current_dir(dir)
        .args(["ingest", "faers"])
        .arg(&q)
        .args(["--store", "store", "--quiet"]));
    dir.join("store")
}

/// Imports the fixture release, with the spelling fix of R7.
fn import(dir: &Path) {
    let fixes = dir.join("pt_fixed.csv");
    std::fs::write(&fixes, ";pt;standard_pt\n1;tulgey rednes;tulgey redness\n").unwrap();
    let fixture =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../vigil-terms/tests/fixtures/meddra");
    ok(vigil!()
        .current_dir(dir)
        .args(["meddra", "import"])
        .arg(fixture)
        .args(["--store", "store", "--pt-fixes"])
        .arg(&fixes));
}

/// `vigil report --format json` for DUPILUMAB with `extra` options; `Err(stderr)` on failure.
fn report(dir: &Path, extra: &[&str]) -> Result<Value, String> {
    let out = output(
        vigil!()
            .current_dir(dir)
            .args(["report", "--store", "store", "--drug", "DUPILUMAB"])
            .args(["--events", "VORPAL RASH", "--format", "json", "--out", "r"])
            .args(extra),
    );
    if !out.status.success() {
        return Err(stderr(&out));
    }
    let text = std::fs::read_to_string(dir.join("r/report.json")).unwrap();
    Ok(serde_json::from_str(&text).unwrap())
}

/// Splits a listed command on spaces (the grouped-signals command has no quoted word).
fn run_listed(dir: &Path, command: &str) -> String {
    let words: Vec<&str> = command.split(' ').collect();
    assert_eq!(words[0], "vigil", "{command}");
    ok(vigil!().current_dir(dir).args(&words[1..]))
}

fn same(listed: &str, shown: &Value) -> bool {
    let x: f64 = listed.parse().unwrap();
    match shown.as_f64() {
        Some(y) => (x - y).abs() <= 1e-12 * x.abs().max(y.abs()).max(1e-300),
        // The JSON writes a non-finite figure (PRR with c = 0: inf) as null.
        None => !x.is_finite(),
    }
}

#[test]
fn report_groups_the_drug_signals_as_signals_does() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    store(dir);
    // Without a release the report works as today, and a level is refused with the way out.
    let today = report(dir, &[]).unwrap();
    assert!(today["event_groups"].is_null() && today["atc"].is_null());
    let err = report(dir, &["--event-level", "hlt"]).unwrap_err();
    assert!(
        err.contains("no MedDRA release in the store")
            && err.contains("vigil meddra import MEDASCII_DIR --store store"),
        "{err}"
    );
    import(dir);
    for (options, hand_checked) in [
        // DUPILUMAB is in R1, R2, R7. Alpha rashes (every path): R1, R2, R7 → a = 3 (cli_terms.rs
        // works out every HLT count of the fixture).
        (vec!["--event-level", "hlt"], ("ALPHA RASHES", 3)),
        // Primary paths only: Beta eye conditions holds only Slithy eye's primary path (R3), so
        // DUPILUMAB has no row there; Alpha itches = R1.
        (
            vec!["--event-level", "hlt", "--primary-soc"],
            ("ALPHA ITCHES", 1),
        ),
        // SOC: Alpha system disorders = R1, R2, R7 for the drug.
        (vec!["--event-level", "soc"], ("ALPHA SYSTEM DISORDERS", 3)),
        // SMQ broad: Zorch = Vorpal itch, Vorpal rash, Tulgey redness → R1, R2, R7.
        (
            vec!["--event-level", "smq", "--smq-scope", "broad"],
            ("ZORCH REACTIONS (SMQ)", 3),
        ),
    ] {
        let r = report(dir, &options).unwrap();
        let g = &r["event_groups"];
        assert_eq!(g["meddra_version"], "99.0", "{options:?}");
        // The provenance lists the level asked for.
        assert_eq!(r["options"]["event_level"], options[1], "{options:?}");
        let rows = g["rows"].as_array().unwrap();
        let csv = run_listed(dir, g["command"].as_str().unwrap());
        let mut rdr = csv::Reader::from_reader(csv.as_bytes());
        let header = rdr.headers().unwrap().clone();
        let col = |n: &str| header.iter().position(|h| h == n).unwrap();
        let listed: Vec<csv::StringRecord> = rdr.records().map(Result::unwrap).collect();
        // The same groups, and in each the same counts, scores and q-values.
        assert_eq!(rows.len(), listed.len(), "{options:?}");
        for l in &listed {
            assert_eq!(&l[col("drug")], "DUPILUMAB");
            let row = rows
                .iter()
                .find(|r| r["event"] == l[col("event")])
                .unwrap_or_else(|| panic!("{options:?}: {} not in the report", &l[col("event")]));
            for name in [
                "a",
                "expected",
                "prr",
                "ror",
                "ic025",
                "ebgm",
                "eb05",
                "eb95",
                "prr_q",
                "ror_q",
                "fdr_bayes_ic",
                "fdr_bayes_ebgm",
            ] {
                assert!(
                    same(&l[col(name)], &row[name]),
                    "{options:?} {} {name}: report {}, command {}",
                    &l[col("event")],
                    row[name],
                    &l[col(name)]
                );
            }
        }
        let (group, a) = hand_checked;
        let row = rows.iter().find(|r| r["event"] == group).unwrap();
        assert_eq!(row["a"].as_f64(), Some(f64::from(a)), "{options:?} {group}");
        if options.contains(&"--primary-soc") {
            assert!(!rows.iter().any(|r| r["event"] == "BETA EYE CONDITIONS"));
        }
    }
    // The HTML has the section with its table.
    ok(vigil!().current_dir(dir).args([
        "report",
        "--store",
        "store",
        "--drug",
        "DUPILUMAB",
        "--events",
        "VORPAL RASH",
        "--event-level",
        "soc",
        "--out",
        "h",
    ]));
    let html = std::fs::read_to_string(dir.join("h/report.html")).unwrap();
    assert!(html.contains("<h2>Signals by MedDRA SOC</h2>"));
    assert!(html.contains("<table class=\"sortable\" id=\"event-groups\">"));
    assert!(html.contains("<td>ALPHA SYSTEM DISORDERS</td><td>3</td>"));
    // VORPAL RASH is reported with DUPILUMAB only (R1, R2): no expected count, so the sequential
    // section says why it cannot monitor instead of drawing nothing.
    assert!(
        html.contains("<h3>VORPAL RASH</h3>")
            && html.contains("has no expected count for VORPAL RASH"),
        "{}",
        &html[html.find("Sequential monitoring").unwrap()..]
    );
}

/// Rows in DiAna's ATC_binder layout; dupilumab's row is DiAna's (`94;dupilumab;D11AH05;D11AH05;
/// D11AH;D11A;D11;D;…`), its code that of the WHO ATC index (D11AH05). Acetylsalicylic acid has
/// two codes, N02BA01 primary.
const ATC: &str = ";Substance;code;primary_code;Lvl4;Lvl3;Lvl2;Lvl1;Class1;Class2;Class3;Class4
94;dupilumab;D11AH05;D11AH05;D11AH;D11A;D11;D;Dermatologicals;Other dermatological;Other dermatological;Agents for dermatitis, excluding corticosteroids
3;acetylsalicylic acid;B01AC06;N02BA01;B01AC;B01A;B01;B;Blood;Antithrombotic;Antithrombotic;Platelet aggregation inhibitors excl. heparin
4;acetylsalicylic acid;N02BA01;N02BA01;N02BA;N02B;N02;N;Nervous;Analgesics;Other analgesics;Salicylic acid and derivatives
";

#[test]
fn report_shows_the_drug_atc_class_from_the_table() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    store(dir);
    let table = dir.join("atc.csv");
    std::fs::write(&table, ATC).unwrap();
    let mut tables = vec![table];
    // DiAna's own file, when ../shared holds it: its row 94 is dupilumab, D11AH05.
    if let Some(diana) =
        vigil_test_support::shared("data/faers/reference/diana/ATC_binder_2023.csv")
    {
        tables.push(diana);
    }
    for (k, table) in tables.iter().enumerate() {
        let r = report(dir, &["--atc", table.to_str().unwrap()]).unwrap();
        if k == 1 {
            // DiAna's file: 3,073 rows with code NA and one ATCvet row (QA12AA08) are not used.
            assert_eq!(r["atc"]["rows_without_code"], 3073);
            assert_eq!(r["atc"]["veterinary_rows"], 1);
        }
        let codes = r["atc"]["codes"].as_array().unwrap();
        assert_eq!(codes.len(), 1, "{}", table.display());
        assert_eq!(codes[0]["code"], "D11AH05");
        assert_eq!(codes[0]["primary"], true);
        let classes: Vec<&str> = codes[0]["classes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["code"].as_str().unwrap())
            .collect();
        assert_eq!(classes, ["D", "D11", "D11A", "D11AH"]);
        assert_eq!(
            codes[0]["classes"][3]["name"]
                .as_str()
                .unwrap()
                .to_lowercase(),
            "agents for dermatitis, excluding corticosteroids"
        );
    }
    // Aspirin (stored as ASPIRIN, the INN acetylsalicylic acid through the synonym table): both
    // codes shown, N02BA01 marked primary.
    let out = output(vigil!().current_dir(dir).args([
        "report",
        "--store",
        "store",
        "--drug",
        "ASPIRIN",
        "--events",
        "SNARK BITE",
        "--atc",
        "atc.csv",
        "--out",
        "a",
    ]));
    assert!(out.status.success(), "{}", stderr(&out));
    let html = std::fs::read_to_string(dir.join("a/report.html")).unwrap();
    assert!(
        html.contains("<b class=\"atc-code\">B01AC06</b> (B Blood")
            && html.contains("<b class=\"atc-code\">N02BA01</b> (primary) (N Nervous"),
        "{}",
        &html[..html.find("<h2>").unwrap_or(html.len())]
    );
}

/// The grouping levels are clap value enums, shared by `signals` and `report`: a wrong value is
/// refused while parsing, with the choices listed.
#[test]
fn a_wrong_level_gets_the_list_of_choices() {
    for args in [
        vec![
            "report",
            "--store",
            "s",
            "--drug",
            "D",
            "--event-level",
            "pts",
        ],
        vec!["signals", "--store", "s", "--event-level", "pts"],
    ] {
        let out = output(vigil!().args(&args));
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = stderr(&out);
        assert!(
            err.contains("invalid value 'pts' for '--event-level")
                && err.contains("[possible values: pt, hlt, hlgt, soc, smq]"),
            "{args:?}: {err}"
        );
    }
    let out = output(vigil!().args(["signals", "--store", "s", "--smq-scope", "wide"]));
    assert!(stderr(&out).contains("[possible values: narrow, broad]"));
    let out = output(vigil!().args(["signals", "--store", "s", "--drug-level", "atc6"]));
    assert!(stderr(&out).contains("[possible values: substance, atc5, atc4, atc3, atc2, atc1]"));
}
