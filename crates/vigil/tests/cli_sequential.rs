//! `vigil sequential` on `vigil synth` data with an association planted from a known quarter.

use std::path::Path;

use vigil_test_support::vigil;

/// Writes 12 synthetic quarters (2023Q1–2025Q4) with Keratitis planted for dupilumab from 2024Q2
/// (relative rate 20; before that quarter, the background rate) and ingests them.
fn store(dir: &Path) -> std::path::PathBuf {
    let quarters = dir.join("synth");
    let ok = vigil!()
        .args(["synth", "--reports", "20000", "--quarters", "12"])
        .args(["--emerging-from", "2024Q2", "--out"])
        .arg(&quarters)
        .output()
        .unwrap();
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let planted = std::fs::read_to_string(quarters.join("PLANTED_SIGNALS.tsv")).unwrap();
    assert!(planted.contains("DUPILUMAB\tKeratitis\t0.003\t20\tfrom 2024Q2"));
    let store = dir.join("store");
    let mut ingest = vigil!();
    ingest.args(["ingest", "faers"]);
    for entry in std::fs::read_dir(&quarters).unwrap() {
        let p = entry.unwrap().path();
        if p.is_dir() {
            ingest.arg(p);
        }
    }
    let ok = ingest.arg("--store").arg(&store).output().unwrap();
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    store
}

fn sequential(store: &Path, extra: &[&str]) -> serde_json::Value {
    let out = vigil!()
        .args(["sequential", "--store"])
        .arg(store)
        .args([
            "--drug",
            "dupilumab",
            "--start",
            "2023Q1",
            "--format",
            "json",
        ])
        .args(extra)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn the_alarm_follows_the_planted_quarter_and_not_before() {
    let tmp = tempfile::tempdir().unwrap();
    let store = store(tmp.path());
    for looks in ["quarterly", "continuous"] {
        let m = sequential(&store, &["--event", "KERATITIS", "--looks", looks]);
        let quarters = m["quarters"].as_array().unwrap();
        assert_eq!(quarters.len(), 12, "{looks}");
        let signal = m["signal_quarter"].as_str().expect("a signal is raised");
        // Quarters compare as text (YYYYQN): the alarm is at or after 2024Q2, never before.
        assert!(signal >= "2024Q2", "{looks}: alarm at {signal}");
        for q in quarters {
            if q["quarter"].as_str().unwrap() < "2024Q2" {
                assert_eq!(q["signal"], false, "{looks}: {q}");
            }
        }
        // The cumulative count over every quarter is the pair's count in `vigil signals` (all
        // synthetic receipt dates are full dates, so no report is left out of a quarter).
        assert_eq!(m["undated_reports"], 0);
        let last = quarters.last().unwrap()["cum_observed"].as_u64().unwrap();
        let out = vigil!()
            .args(["signals", "--store"])
            .arg(&store)
            .args([
                "--drug",
                "DUPILUMAB",
                "--event",
                "KERATITIS",
                "--format",
                "json",
            ])
            .output()
            .unwrap();
        let scored: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(scored[0]["a"].as_f64().unwrap() as u64, last);
    }
    // The group-sequential size is exact and at most alpha.
    let m = sequential(&store, &["--event", "KERATITIS"]);
    let size = m["attained_alpha"].as_f64().unwrap();
    assert!(size <= 0.05 && size > 0.0, "{size}");

    // Errors: a bad quarter, a start after the data, an event not in the store.
    for (args, needle) in [
        (vec!["--event", "KERATITIS", "--start", "2024-2"], "--start"),
        (
            vec!["--event", "KERATITIS", "--start", "2031Q1"],
            "after the last quarter",
        ),
        (
            vec!["--event", "KERATITISS", "--start", "2023Q1"],
            "KERATITIS",
        ),
    ] {
        let out = vigil!()
            .args(["sequential", "--store"])
            .arg(&store)
            .args(["--drug", "dupilumab"])
            .args(&args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(needle), "{args:?}: {err}");
    }
}
