//! `vigil meddra import` and `vigil signals --event-level … --drug-level …` on a seven-report
//! FAERS quarter written here, with the hand-made MedDRA release of vigil-terms's tests
//! (invented terms, not MedDRA content; its hierarchy is drawn in
//! crates/vigil-terms/tests/fixtures/meddra/README.md).
//!
//! The reports (drug; reported reaction terms):
//! ```text
//! R1 DUPILUMAB                 ; Vorpal itch, Vorpal rash
//! R2 DUPILUMAB                 ; Vorpal rash, Tulgey redness
//! R3 TRALOKINUMAB              ; Slithy eyes            (a non-current LLT of Slithy eye)
//! R4 ACETAMINOPHEN             ; Frumious lump, Mimsy level increased
//! R5 ACETAMINOPHEN, ASPIRIN    ; Vorpal itching         (a current LLT of Vorpal itch)
//! R6 ASPIRIN                   ; Snark bite             (no PT: unmapped)
//! R7 DUPILUMAB, TRALOKINUMAB   ; Tulgey rednes          (a misspelling, fixed by --pt-fixes)
//! ```
//! Every expected count below is worked out from this table and the fixture's hierarchy.
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

fn vigil() -> Command {
    Command::new(env!("CARGO_BIN_EXE_vigil"))
}

fn run(cmd: &mut Command) -> (bool, String, String) {
    let out = cmd.output().unwrap();
    (
        out.status.success(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../vigil-terms/tests/fixtures/meddra")
}

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

/// The seven reports as one FAERS quarter, ingested into a store.
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
    let store = dir.join("store");
    let (ok, _, err) = run(vigil()
        .args(["ingest", "faers"])
        .arg(&q)
        .arg("--store")
        .arg(&store)
        .arg("--quiet"));
    assert!(ok, "{err}");
    store
}

fn import(store: &Path, dir: &Path) {
    let fixes = dir.join("pt_fixed.csv");
    // DiAna's pt_fixed layout: an R row index, pt, standard_pt.
    std::fs::write(&fixes, ";pt;standard_pt\n1;tulgey rednes;tulgey redness\n").unwrap();
    let (ok, out, err) = run(vigil()
        .args(["meddra", "import"])
        .arg(fixture())
        .arg("--store")
        .arg(store)
        .arg("--pt-fixes")
        .arg(&fixes));
    assert!(ok, "{err}");
    assert!(
        out.contains("MedDRA 99.0 imported (8 PT paths, 8 LLTs, 8 SMQ terms, 1 spelling fixes)"),
        "{out}"
    );
}

/// (drug, event) → (a, n_drug, n_event, n_total) from `vigil signals --format csv`.
type Cells = HashMap<(String, String), (u64, u64, u64, u64)>;

fn signals(store: &Path, extra: &[&str]) -> (Cells, String) {
    let (ok, out, err) = run(vigil()
        .args(["signals", "--store"])
        .arg(store)
        .args(["--format", "csv"])
        .args(extra));
    assert!(ok, "{extra:?}: {err}");
    let mut rdr = csv::Reader::from_reader(out.as_bytes());
    let h = rdr.headers().unwrap().clone();
    let col = |n: &str| h.iter().position(|c| c == n).unwrap();
    let (d, e, a, nd, ne, n) = (
        col("drug"),
        col("event"),
        col("a"),
        col("n_drug"),
        col("n_event"),
        col("n_total"),
    );
    let num = |r: &csv::StringRecord, i: usize| r[i].parse::<f64>().unwrap() as u64;
    let cells = rdr
        .records()
        .map(|r| {
            let r = r.unwrap();
            (
                (r[d].to_owned(), r[e].to_owned()),
                (num(&r, a), num(&r, nd), num(&r, ne), num(&r, n)),
            )
        })
        .collect();
    (cells, err)
}

fn cell(c: &Cells, drug: &str, event: &str) -> Option<(u64, u64, u64, u64)> {
    c.get(&(drug.to_owned(), event.to_owned())).copied()
}

#[test]
fn meddra_levels_count_each_report_once_per_group() {
    let tmp = tempfile::tempdir().unwrap();
    let store = store(tmp.path());
    // Without a release, a MedDRA level is refused with the way out.
    let (ok, _, err) = run(vigil()
        .args(["signals", "--store"])
        .arg(&store)
        .args(["--event-level", "hlt"]));
    assert!(
        !ok && err.contains("no MedDRA release in the store"),
        "{err}"
    );
    import(&store, tmp.path());
    // Seven reports at every level: nothing leaves the table (n = 7).
    // HLT, every path. DUPILUMAB is in R1, R2, R7 (n_drug 3).
    //   R1 → Alpha itches, Alpha rashes, Beta eye conditions (Vorpal rash's second path)
    //   R2 → Alpha rashes (Vorpal rash and Tulgey redness: once), Beta eye conditions
    //   R3 → Slithy eye → Beta eye conditions, Alpha rashes; R5 → Vorpal itch → Alpha itches
    //   R7 → Tulgey redness (fixed) → Alpha rashes
    //   DUPILUMAB·ALPHA RASHES: a = R1, R2, R7 = 3; n_event = R1, R2, R3, R7 = 4.
    //   DUPILUMAB·BETA EYE CONDITIONS: a = R1, R2 = 2; n_event = R1, R2, R3 = 3.
    //   DUPILUMAB·ALPHA ITCHES: a = R1 = 1; n_event = R1, R5 = 2.
    let (c, err) = signals(&store, &["--event-level", "hlt"]);
    assert_eq!(cell(&c, "DUPILUMAB", "ALPHA RASHES"), Some((3, 3, 4, 7)));
    assert_eq!(
        cell(&c, "DUPILUMAB", "BETA EYE CONDITIONS"),
        Some((2, 3, 3, 7))
    );
    assert_eq!(cell(&c, "DUPILUMAB", "ALPHA ITCHES"), Some((1, 3, 2, 7)));
    // The unmatched term is kept as its own event and listed; the others are counted by match.
    assert_eq!(cell(&c, "ASPIRIN", "SNARK BITE"), Some((1, 2, 1, 7)));
    assert!(err.contains("SNARK BITE (1)"), "{err}");
    assert!(
        err.contains("pt: 5 terms")
            && err.contains("llt_to_pt: 2 terms")
            && err.contains("pt_fixed: 1 terms")
            && err.contains("unmapped: 1 terms"),
        "{err}"
    );
    // HLT, primary paths only: R1 → Alpha itches, Alpha rashes; R2 → Alpha rashes;
    // R3 → Beta eye conditions; R7 → Alpha rashes. DUPILUMAB·ALPHA RASHES a = 3, n_event = 3;
    // DUPILUMAB has no Beta eye conditions report; that HLT's n_event is R3 alone.
    let (c, _) = signals(&store, &["--event-level", "hlt", "--primary-soc"]);
    assert_eq!(cell(&c, "DUPILUMAB", "ALPHA RASHES"), Some((3, 3, 3, 7)));
    assert_eq!(cell(&c, "DUPILUMAB", "BETA EYE CONDITIONS"), None);
    assert_eq!(
        cell(&c, "TRALOKINUMAB", "BETA EYE CONDITIONS"),
        Some((1, 2, 1, 7))
    );
    // SOC, every path: Alpha = R1, R2, R3, R4 (Frumious lump), R5, R7 = 6 reports;
    // DUPILUMAB·ALPHA = R1, R2, R7 = 3. Beta = R1, R2, R3 = 3; DUPILUMAB·BETA = R1, R2 = 2.
    let (c, _) = signals(&store, &["--event-level", "soc"]);
    assert_eq!(
        cell(&c, "DUPILUMAB", "ALPHA SYSTEM DISORDERS"),
        Some((3, 3, 6, 7))
    );
    assert_eq!(
        cell(&c, "DUPILUMAB", "BETA SYSTEM DISORDERS"),
        Some((2, 3, 3, 7))
    );
    assert_eq!(
        cell(&c, "ACETAMINOPHEN", "GAMMA INVESTIGATIONS"),
        Some((1, 2, 1, 7))
    );
    // HLGT, primary: R4 → Alpha growths, Gamma tests.
    let (c, _) = signals(&store, &["--event-level", "hlgt", "--primary-soc"]);
    assert_eq!(
        cell(&c, "ACETAMINOPHEN", "ALPHA GROWTHS"),
        Some((1, 2, 1, 7))
    );
    // SMQ narrow (the default): Zorch = Vorpal itch, Vorpal rash → R1, R2, R5 (n_event 3);
    // DUPILUMAB·ZORCH = R1, R2 = 2. Tulgey redness is broad only: it stays a PT (R2, R7).
    let (c, _) = signals(&store, &["--event-level", "smq"]);
    assert_eq!(
        cell(&c, "DUPILUMAB", "ZORCH REACTIONS (SMQ)"),
        Some((2, 3, 3, 7))
    );
    assert_eq!(cell(&c, "DUPILUMAB", "TULGEY REDNESS"), Some((2, 3, 2, 7)));
    assert_eq!(
        cell(&c, "TRALOKINUMAB", "BLORP EVENTS (SMQ)"),
        Some((1, 2, 1, 7))
    );
    // SMQ broad: Zorch adds Tulgey redness → R1, R2, R5, R7 (4); DUPILUMAB·ZORCH = 3.
    // Blorp = Mimsy (own, broad) + child Blorp eye (Slithy eye, Vorpal rash) → R1, R2, R3, R4;
    // DUPILUMAB·BLORP = R1, R2 = 2. Frumious lump's Zorch row is inactive: it stays a PT.
    let (c, _) = signals(&store, &["--event-level", "smq", "--smq-scope", "broad"]);
    assert_eq!(
        cell(&c, "DUPILUMAB", "ZORCH REACTIONS (SMQ)"),
        Some((3, 3, 4, 7))
    );
    assert_eq!(
        cell(&c, "DUPILUMAB", "BLORP EVENTS (SMQ)"),
        Some((2, 3, 4, 7))
    );
    assert_eq!(
        cell(&c, "ACETAMINOPHEN", "FRUMIOUS LUMP"),
        Some((1, 2, 1, 7))
    );
    // The listing command: the one unmapped term, with its report count.
    let (ok, out, _) = run(vigil()
        .args(["meddra", "check", "--store"])
        .arg(&store)
        .arg("--unmapped-only"));
    assert!(ok);
    assert_eq!(
        out,
        "match\treports\treported_term\tpt\nunmapped\t1\tSNARK BITE\t\n"
    );
    // Options that do not fit are refused.
    let (ok, _, err) = run(vigil().args(["signals", "--store"]).arg(&store).args([
        "--event-level",
        "smq",
        "--primary-soc",
    ]));
    assert!(!ok && err.contains("--primary-soc applies to"), "{err}");
}

/// Rows in DiAna's ATC_binder layout; codes from the WHO ATC index (dupilumab D11AH05,
/// tralokinumab D11AH07, paracetamol N02BE01, acetylsalicylic acid N02BA01 primary and B01AC06).
const ATC: &str = ";Substance;code;primary_code;Lvl4;Lvl3;Lvl2;Lvl1;Class1;Class2;Class3;Class4
94;dupilumab;D11AH05;D11AH05;D11AH;D11A;D11;D;Dermatologicals;Other dermatological;Other dermatological;Agents for dermatitis, excluding corticosteroids
2190;tralokinumab;D11AH07;D11AH07;D11AH;D11A;D11;D;Dermatologicals;Other dermatological;Other dermatological;Agents for dermatitis, excluding corticosteroids
10;paracetamol;N02BE01;N02BE01;N02BE;N02B;N02;N;Nervous;Analgesics;Other analgesics;Anilides
3;acetylsalicylic acid;B01AC06;N02BA01;B01AC;B01A;B01;B;Blood;Antithrombotic;Antithrombotic;Platelet aggregation inhibitors excl. heparin
4;acetylsalicylic acid;N02BA01;N02BA01;N02BA;N02B;N02;N;Nervous;Analgesics;Other analgesics;Salicylic acid and derivatives
";

#[test]
fn atc_levels_count_each_report_once_per_class() {
    let tmp = tempfile::tempdir().unwrap();
    let store = store(tmp.path());
    let atc = tmp.path().join("atc.csv");
    std::fs::write(&atc, ATC).unwrap();
    let atc = atc.to_str().unwrap();
    // ATC level 4, events as reported. D11AH = dupilumab and tralokinumab: R1, R2, R3, R7
    // (n_drug 4). R7 has both: D11AH·TULGEY REDNES is one report, not two.
    let (c, _) = signals(&store, &["--drug-level", "atc4", "--atc", atc]);
    assert_eq!(cell(&c, "D11AH", "VORPAL RASH"), Some((2, 4, 2, 7)));
    assert_eq!(cell(&c, "D11AH", "TULGEY REDNES"), Some((1, 4, 1, 7)));
    // Level 3: ACETAMINOPHEN → paracetamol (USAN/INN synonym) N02BE → N02B; ASPIRIN →
    // acetylsalicylic acid, primary N02BA01 → N02B. N02B = R4, R5, R6 (3); R5 has both: once.
    let (c, _) = signals(&store, &["--drug-level", "atc3", "--atc", atc]);
    assert_eq!(cell(&c, "N02B", "VORPAL ITCHING"), Some((1, 3, 1, 7)));
    // Level 1 with every code: aspirin is in B and N. B = R5, R6 (2); N = R4, R5, R6 (3).
    let (c, _) = signals(
        &store,
        &["--drug-level", "atc1", "--atc", atc, "--atc-all-codes"],
    );
    assert_eq!(cell(&c, "B", "SNARK BITE"), Some((1, 2, 1, 7)));
    assert_eq!(cell(&c, "N", "SNARK BITE"), Some((1, 3, 1, 7)));
    // With the MedDRA release: class × SOC. D11AH·ALPHA SYSTEM DISORDERS = R1, R2, R3 (Slithy
    // eye's secondary path), R7 = 4.
    import(&store, tmp.path());
    let (c, _) = signals(
        &store,
        &["--drug-level", "atc4", "--atc", atc, "--event-level", "soc"],
    );
    assert_eq!(
        cell(&c, "D11AH", "ALPHA SYSTEM DISORDERS"),
        Some((4, 4, 6, 7))
    );
    // An ATC level without the table is refused with where to get it.
    let (ok, _, err) = run(vigil()
        .args(["signals", "--store"])
        .arg(&store)
        .args(["--drug-level", "atc2"]));
    assert!(!ok && err.contains("--atc FILE"), "{err}");
}
