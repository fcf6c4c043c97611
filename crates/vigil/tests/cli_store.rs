//! The store path: `vigil synth` → `vigil ingest` → `vigil signals --store`, and `vigil demo`.

use std::path::Path;
use std::process::Command;

fn vigil() -> Command {
    Command::new(env!("CARGO_BIN_EXE_vigil"))
}

fn ok(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{:?}: {}", cmd, String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

fn synth_store(dir: &Path, reports: usize) -> std::path::PathBuf {
    let quarters = dir.join("q");
    let store = dir.join("store");
    ok(vigil().args(["synth", "--reports", &reports.to_string(), "--seed", "11", "--out"]).arg(&quarters));
    ok(vigil().args(["ingest", "faers"]).arg(&quarters).arg("--store").arg(&store).arg("--quiet"));
    store
}

/// `signals --store` must equal `signals --counts` on the same reports exported row-wise
/// (`id,drug,event[,strata]`), stratified or not, with the same prior: two independent paths to
/// the same counts (the store loader and the report-level file reader).
#[test]
fn store_and_exported_rows_give_identical_signals() {
    let dir = tempfile::tempdir().unwrap();
    let store = synth_store(dir.path(), 3000);
    let prior = dir.path().join("prior.json");
    ok(vigil().args(["signals", "--store"]).arg(&store).args(["--fit-only", "--out"]).arg(&prior));
    for stratify in [vec![], vec!["sex".to_owned(), "age_group".to_owned()]] {
        let query = vigil_store::read::ReportQuery { stratify: stratify.clone(), ..Default::default() };
        let rows = dir.path().join("rows.csv");
        let n = vigil_store::read::export_rows_csv(&store, &query, std::fs::File::create(&rows).unwrap()).unwrap();
        assert!(n > 3000, "{n} rows exported");
        let mut strat_args = vec![];
        if !stratify.is_empty() {
            strat_args = vec!["--stratify".to_owned(), stratify.join(",")];
        }
        let from_store = ok(vigil().args(["signals", "--store"]).arg(&store).arg("--prior").arg(&prior).args(&strat_args).args(["--format", "csv"]));
        let from_rows = ok(vigil().args(["signals", "--counts"]).arg(&rows).arg("--prior").arg(&prior).args(&strat_args).args(["--format", "csv"]));
        let sorted = |s: &str| {
            let mut v: Vec<String> = s.lines().map(str::to_owned).collect();
            v.sort();
            v
        };
        assert_eq!(sorted(&from_store), sorted(&from_rows), "stratify {stratify:?}");
        assert!(from_store.lines().count() > 1000);
    }
}

/// The planted synthetic associations come out as signals, and the competition-bias control does
/// what it is for: the psoriasis biologics (planted at 15× for psoriasis) inflate the background
/// rate of psoriasis; leaving their reports out lowers that rate, so dupilumab's PRR for
/// psoriasis rises (masking removed).
#[test]
fn planted_signals_are_found_and_masking_can_be_removed() {
    let dir = tempfile::tempdir().unwrap();
    let store = synth_store(dir.path(), 20_000);
    let csv = ok(vigil().args(["signals", "--store"]).arg(&store).args(["--drug", "DUPILUMAB", "--format", "csv"]));
    let field = |line: &str, k: usize| line.split(',').nth(k).unwrap().to_owned();
    let row = |text: &str, pt: &str| text.lines().find(|l| l.starts_with(&format!("DUPILUMAB,{pt},"))).map(str::to_owned);
    // Planted at 40× and 20× (PLANTED_SIGNALS.tsv): flagged by all four methods.
    for pt in ["DERMATITIS ATOPIC", "CONJUNCTIVITIS"] {
        let r = row(&csv, pt).unwrap_or_else(|| panic!("no {pt} row"));
        assert_eq!(r.rsplitn(5, ',').collect::<Vec<_>>()[..4], ["true", "true", "true", "true"], "{r}");
    }
    // Planted at 1× (no association): no EBGM signal.
    if let Some(r) = row(&csv, "HEADACHE") {
        assert!(r.ends_with("false"), "{r}");
    }
    let masked = row(&csv, "PSORIASIS").expect("psoriasis row");
    let unmasked_csv = ok(vigil()
        .args(["signals", "--store"])
        .arg(&store)
        .args(["--drug", "DUPILUMAB", "--exclude-drug", "USTEKINUMAB,SECUKINUMAB,ADALIMUMAB", "--format", "csv"]));
    let unmasked = row(&unmasked_csv, "PSORIASIS").expect("psoriasis row without the biologics");
    // The same list given as separate values (`--exclude-drug NAME...`) excludes the same reports.
    let separate = ok(vigil()
        .args(["signals", "--store"])
        .arg(&store)
        .args(["--drug", "DUPILUMAB", "--format", "csv", "--exclude-drug", "USTEKINUMAB", "SECUKINUMAB", "ADALIMUMAB"]));
    assert_eq!(separate, unmasked_csv);
    let prr = |r: &str| field(r, 10).parse::<f64>().unwrap();
    assert!(prr(&unmasked) > prr(&masked), "PRR {} (all reports) vs {} (biologics excluded)", prr(&masked), prr(&unmasked));
}

#[test]
fn demo_runs_and_reports_the_reactions_of_interest() {
    let dir = tempfile::tempdir().unwrap();
    let out = ok(vigil().args(["demo", "--reports", "5000", "--out"]).arg(dir.path()));
    assert!(out.contains("SYNTHETIC"), "{out}");
    assert!(out.contains("DERMATITIS ATOPIC") && out.contains("CONJUNCTIVITIS"), "{out}");
    let csv = std::fs::read_to_string(dir.path().join("signals-dupilumab.csv")).unwrap();
    assert!(csv.starts_with("drug,event,a,b,c,d,"));
    assert!(csv.lines().skip(1).all(|l| l.starts_with("DUPILUMAB,")));
}
