//! `vigil signals` computes the posteriors and the FDR columns side by side; `VIGIL_SEQUENTIAL=1`
//! runs them one after the other, as before. The reference for each output here is the sequential
//! run's: the same bytes in every format, stratified, with NaN and infinite scores, under both
//! decision rules and with output filters.

use std::path::Path;

use vigil_test_support::{shared, vigil};

/// The output of `vigil signals --counts input ARGS --format FORMAT`, run with the phases after
/// the fit side by side (`sequential` false) or one after the other.
fn signals(input: &Path, args: &[&str], format: &str, sequential: bool) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join(format!("signals.{format}"));
    let mut command = vigil!();
    command
        .args(["signals", "--counts"])
        .arg(input)
        .args(args)
        .args(["--format", format, "--out"])
        .arg(&out)
        .env_remove("VIGIL_SEQUENTIAL");
    if sequential {
        command.env("VIGIL_SEQUENTIAL", "1");
    }
    let run = command.output().unwrap();
    assert!(
        run.status.success(),
        "{args:?} {format}: {}",
        String::from_utf8_lossy(&run.stderr)
    );
    std::fs::read(&out).unwrap()
}

fn assert_same_both_ways(input: &Path, args: &[&str]) {
    for format in ["csv", "json", "parquet"] {
        let overlapped = signals(input, args, format, false);
        let sequential = signals(input, args, format, true);
        assert!(
            overlapped.len() > 500,
            "{args:?} {format}: output too short"
        );
        assert!(
            overlapped == sequential,
            "{args:?} {format}: the overlapped run differs from the sequential one"
        );
    }
}

/// The 5,000-report synthetic set of the oracle, stratified by sex, age group and year, with
/// its prior fitted by vigil.
#[test]
fn overlapped_phases_write_what_the_sequential_ones_write_stratified() {
    let Some(gz) = shared("oracle/pv/synth5k_strat_input.csv.gz") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let rows = dir.path().join("synth5k.csv");
    let unzipped = std::process::Command::new("zcat")
        .arg(&gz)
        .output()
        .unwrap();
    assert!(unzipped.status.success());
    std::fs::write(&rows, unzipped.stdout).unwrap();
    let strata = ["--stratify", "strat_sex,strat_age,strat_year"];
    assert_same_both_ways(&rows, &strata);
    assert_same_both_ways(&rows, &[&strata[..], &["--decision", "fdr:0.05"]].concat());
    assert_same_both_ways(
        &rows,
        &[&strata[..], &["--decision", "fdr:0.1", "--min-count", "2"]].concat(),
    );
}

/// A table of 2×2 tables (each drug and event on one row, so their margins agree) with zero cells
/// (infinite PRR and ROR, NaN p-values left out of the BH family) and pairs filtered out of the
/// output but kept in the FDR family.
#[test]
fn overlapped_phases_write_what_the_sequential_ones_write_with_zero_cells() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tables.csv");
    let total = 200_000u64;
    let mut text = String::from("drug,event,a,b,c,d\n");
    for i in 0..3_000u64 {
        let a = 1 + i * 7919 % 40;
        // Every 50th pair has b = 0 (its drug on no other event), every 70th c = 0.
        let b = if i % 50 == 0 { 0 } else { 5 + i * 31 % 700 };
        let c = if i % 70 == 0 { 0 } else { 50 + i * 17 % 3000 };
        text += &format!("DRUG {i},EVENT {i},{a},{b},{c},{}\n", total - a - b - c);
    }
    std::fs::write(&path, text).unwrap();
    let csv = String::from_utf8(signals(&path, &[], "csv", true)).unwrap();
    assert!(
        csv.contains("Inf") && csv.contains("NaN"),
        "no zero cell scored"
    );
    assert_same_both_ways(&path, &[]);
    assert_same_both_ways(&path, &["--decision", "fdr:0.05", "--drug", "drug 3"]);
    assert_same_both_ways(&path, &["--decision", "fdr:0.05", "--min-count", "5"]);
}
