//! `vigil synth` → `vigil ingest` end to end, the planted dupilumab signals, and a real `kill -9`
//! of a running ingest.
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use vigil_store::read::{export_rows_csv, load_report_set, ReportQuery, Store};
use vigil_store::reports::ReportSet;

use vigil_test_support::vigil;

fn run_ok(cmd: &mut Command) -> String {
    let out = cmd.output().expect("vigil runs");
    assert!(
        out.status.success(),
        "vigil failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// PRR = [a/(a+b)] / [c/(c+d)] with a = reports with drug and event, a+b = reports with drug,
/// c = reports with the event but not the drug, c+d = reports without the drug.
fn prr(set: &ReportSet, drug: &str, event: &str) -> (u64, f64) {
    let (a, p, _) = prr_with_ci(set, drug, event);
    (a, p)
}

fn prr_with_ci(set: &ReportSet, drug: &str, event: &str) -> (u64, f64, (f64, f64)) {
    let d = set.drugs.get(drug).expect("drug present");
    let e = set.events.get(event).expect("event present");
    let (mut a, mut ab, mut c, mut cd) = (0u64, 0u64, 0u64, 0u64);
    for r in 0..set.len() {
        let has_d = set.report_drugs(r).contains(&d);
        let has_e = set.report_events(r).contains(&e);
        if has_d {
            ab += 1;
            a += has_e as u64;
        } else {
            cd += 1;
            c += has_e as u64;
        }
    }
    let (af, abf, cf, cdf) = (a as f64, ab as f64, c as f64, cd as f64);
    let p = (af / abf) / (cf / cdf);
    let se = (1.0 / af - 1.0 / abf + 1.0 / cf - 1.0 / cdf).sqrt();
    (
        a,
        p,
        ((p.ln() - 1.96 * se).exp(), (p.ln() + 1.96 * se).exp()),
    )
}

#[test]
fn synth_ingest_and_planted_signals() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("synth");
    let store = tmp.path().join("store");
    let started = Instant::now();
    run_ok(
        vigil!()
            .args(["synth", "--reports", "20000", "--seed", "7", "--out"])
            .arg(&data),
    );
    assert!(data.join("SYNTHETIC_README.txt").exists());
    let summary = run_ok(
        vigil!()
            .args(["ingest", "faers"])
            .arg(&data)
            .arg("--store")
            .arg(&store)
            .arg("--quiet"),
    );
    assert!(summary.contains("reports in store"), "{summary}");
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "synth + ingest of 20,000 reports took {:?}",
        started.elapsed()
    );
    let report = Store::open(&store).unwrap().ingest_report().unwrap();
    assert!(report.unbalanced_tables().is_empty());
    // Every case appears once: 20,000 cases minus the deleted ones (follow-ups replace versions).
    let deleted = report.tables["deleted"].kept;
    assert!(deleted > 0);
    assert_eq!(report.reports_in_store, 20_000 - deleted);

    let set = load_report_set(&store, &ReportQuery::default()).unwrap();
    // Planted relative rates (synth::PLANTED): conjunctivitis 20, dermatitis atopic 40, erythema 4;
    // headache 1 (null control). With ~600 dupilumab reports the estimates are noisy, so the test
    // checks ranges: strong signals well above 1, the null control near 1.
    let (a, p) = prr(&set, "DUPILUMAB", "CONJUNCTIVITIS");
    assert!(a >= 20 && p > 8.0, "conjunctivitis a={a} PRR={p}");
    let (_, p) = prr(&set, "DUPILUMAB", "DERMATITIS ATOPIC");
    assert!(p > 15.0, "dermatitis atopic PRR={p}");
    let (_, p) = prr(&set, "DUPILUMAB", "ERYTHEMA");
    assert!(p > 1.5, "erythema PRR={p}");
    // Null controls: the PRR's 95% interval must cover 1. It is computed here by hand (Evans et al.
    // 2001: exp(ln PRR ± 1.96·sqrt(1/a − 1/(a+b) + 1/c − 1/(c+d)))) from the counts of the
    // independent counter above; a fixed range would fail on an honest draw of few reports.
    for null_control in ["HEADACHE", "NAUSEA"] {
        let (a, p, (lo, hi)) = prr_with_ci(&set, "DUPILUMAB", null_control);
        assert!(
            lo < 1.0 && 1.0 < hi,
            "{null_control} (null control) a={a} PRR={p} ({lo}, {hi})"
        );
    }

    // Competition bias: removing the psoriasis biologics' reports raises dupilumab's psoriasis PRR.
    let (_, before) = prr(&set, "DUPILUMAB", "PSORIASIS");
    let q = ReportQuery {
        exclude_drugs: vec![
            "USTEKINUMAB".into(),
            "SECUKINUMAB".into(),
            "ADALIMUMAB".into(),
        ],
        ..Default::default()
    };
    let (_, after) = prr(
        &load_report_set(&store, &q).unwrap(),
        "DUPILUMAB",
        "PSORIASIS",
    );
    assert!(after > before, "psoriasis PRR {before} → {after}");

    // The row-wise export has one row per report × drug × event of the loaded set.
    let mut csv = Vec::new();
    let rows = export_rows_csv(&store, &ReportQuery::default(), &mut csv).unwrap();
    let expected: u64 = (0..set.len())
        .map(|r| (set.report_drugs(r).len() * set.report_events(r).len()) as u64)
        .sum();
    assert_eq!(rows, expected);
}

#[test]
fn missing_inputs_give_a_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    let out = vigil!()
        .args(["ingest", "faers"])
        .arg(tmp.path())
        .arg("--store")
        .arg(tmp.path().join("s"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("vigil: error:") && err.contains("no FAERS table files"),
        "{err}"
    );
}

fn live_reports(store: &Path) -> (String, u64) {
    let current = std::fs::read_to_string(store.join("CURRENT"))
        .unwrap()
        .trim()
        .to_owned();
    let s = Store::open(store).expect("store opens");
    let n = s
        .read_reports(Some(&["primaryid"]))
        .unwrap()
        .iter()
        .map(|b| b.num_rows() as u64)
        .sum();
    assert_eq!(n, s.ingest_report().unwrap().reports_in_store);
    // The loader must work on it too.
    load_report_set(store, &ReportQuery::default()).expect("loads");
    (current, n)
}

/// A `kill -9` at several moments of a running ingest leaves the previous version readable and
/// complete, and the next ingest succeeds (stale lock and temporary directory cleaned up).
#[test]
fn kill_9_during_ingest_leaves_previous_store_intact() {
    let tmp = tempfile::tempdir().unwrap();
    let small = tmp.path().join("small");
    let big = tmp.path().join("big");
    let store = tmp.path().join("store");
    run_ok(
        vigil!()
            .args([
                "synth",
                "--reports",
                "2000",
                "--seed",
                "1",
                "--quarters",
                "2",
                "--out",
            ])
            .arg(&small),
    );
    run_ok(
        vigil!()
            .args([
                "synth",
                "--reports",
                "150000",
                "--seed",
                "2",
                "--quarters",
                "3",
                "--out",
            ])
            .arg(&big),
    );
    run_ok(
        vigil!()
            .args(["ingest", "faers"])
            .arg(&small)
            .arg("--store")
            .arg(&store)
            .arg("--quiet"),
    );
    let (v1, n1) = live_reports(&store);
    assert_eq!(v1, "v000001");
    // What the store answers before any kill: every pair's scores, byte for byte.
    let scores = || {
        let out = vigil!()
            .args(["signals", "--store"])
            .arg(&store)
            .args(["--format", "csv"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    };
    let scores_before = scores();
    let mut killed_mid_run = 0;
    for delay_ms in [50u64, 300, 800, 1500, 2500] {
        let mut child = vigil!()
            .args(["ingest", "faers"])
            .arg(&big)
            .arg("--store")
            .arg(&store)
            .arg("--quiet")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(delay_ms));
        let running = child.try_wait().unwrap().is_none();
        // SIGKILL, as `kill -9`.
        let status = Command::new("kill")
            .arg("-9")
            .arg(child.id().to_string())
            .status()
            .unwrap();
        assert!(status.success() || !running);
        child.wait().unwrap();
        let (v, n) = live_reports(&store);
        if running {
            killed_mid_run += 1;
        }
        // Either the kill landed before the switch (old version, same reports) or after it.
        if v == v1 {
            assert_eq!(n, n1, "killed at {delay_ms} ms: old version changed");
            assert!(
                scores() == scores_before,
                "killed at {delay_ms} ms: the old version's signals changed"
            );
        } else {
            assert!(n > n1);
        }
        if v != v1 {
            break;
        }
    }
    assert!(
        killed_mid_run >= 1,
        "no kill landed while the ingest was running"
    );
    // A normal ingest afterwards works and cleans up.
    run_ok(
        vigil!()
            .args(["ingest", "faers"])
            .arg(&big)
            .arg("--store")
            .arg(&store)
            .arg("--quiet"),
    );
    let (_, n) = live_reports(&store);
    assert!(n > n1);
    let leftovers: Vec<String> = std::fs::read_dir(&store)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".tmp-") || n == "LOCK")
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

/// ../shared/data/faers, or `None` (skip) when absent; with VIGIL_REQUIRE_SHARED=1 a missing
/// folder fails the test instead.
fn faers_data() -> Option<std::path::PathBuf> {
    vigil_test_support::shared("data/faers")
}

fn signals_csv(store: &Path) -> Vec<u8> {
    let out = vigil!()
        .args(["signals", "--store"])
        .arg(store)
        .args(["--format", "csv"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// The reproduction, step by step: the real 2025Q4 sample copied to `q25/` and ingested,
/// then `q25` zipped without its DRUG file and ingested into the same store. That exited 0 and
/// replaced the 1,000 stored reports with drug-less copies (`signals` then found nothing). Now it
/// exits 2 with `vigil: error: ZIP: line 1: quarter 2025Q4 has no DRUG file …`, and the store
/// keeps its version and answers byte-identical signals. A renamed REAC `pt` is refused in the same
/// shape, with the file and the field.
#[test]
fn quarter_zip_without_drug_file_is_refused_and_the_store_kept() {
    let Some(d) = faers_data() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let q25 = tmp.path().join("q25");
    std::fs::create_dir_all(&q25).unwrap();
    let mut names = Vec::new();
    for e in std::fs::read_dir(d.join("samples/nico_faers_2025q4_1000serious")).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), q25.join(e.file_name())).unwrap();
        names.push(e.file_name().to_string_lossy().into_owned());
    }
    let store = tmp.path().join("store");
    run_ok(
        vigil!()
            .args(["ingest", "faers"])
            .arg(&q25)
            .arg("--store")
            .arg(&store)
            .arg("--quiet"),
    );
    let (version, n) = live_reports(&store);
    assert_eq!(n, 1_000);
    let signals_before = signals_csv(&store);
    assert!(signals_before.len() > 1_000);

    let zpath = tmp.path().join("q25.zip");
    {
        let mut z = zip::ZipWriter::new(std::fs::File::create(&zpath).unwrap());
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        for name in names.iter().filter(|n| !n.starts_with("DRUG")) {
            z.start_file(format!("q25/{name}"), opts).unwrap();
            std::io::copy(&mut std::fs::File::open(q25.join(name)).unwrap(), &mut z).unwrap();
        }
        z.finish().unwrap();
    }
    let out = vigil!()
        .args(["ingest", "faers"])
        .arg(&zpath)
        .arg("--store")
        .arg(&store)
        .arg("--quiet")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    let first_line = err.lines().next().unwrap_or_default();
    assert!(
        first_line.starts_with(&format!(
            "vigil: error: {}: line 1: quarter 2025Q4 has no DRUG file",
            zpath.display()
        )),
        "{err}"
    );
    assert_eq!(live_reports(&store), (version.clone(), 1_000));
    assert!(
        signals_csv(&store) == signals_before,
        "signals changed after a refused ingest"
    );

    // REAC with `pt` renamed: refused with the file and the field.
    std::fs::remove_file(&zpath).unwrap();
    let reac = q25.join("REAC25Q4.txt");
    let text = std::fs::read_to_string(&reac).unwrap();
    std::fs::write(&reac, text.replacen("$pt$", "$term$", 1)).unwrap();
    let out = vigil!()
        .args(["ingest", "faers"])
        .arg(&q25)
        .arg("--store")
        .arg(&store)
        .arg("--quiet")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.starts_with(&format!(
            "vigil: error: {}: line 1, field pt: missing column",
            reac.display()
        )),
        "{err}"
    );
    assert_eq!(live_reports(&store), (version, 1_000));
}

/// The primaryids of the live reports, sorted.
fn live_primaryids(store: &Path) -> Vec<u64> {
    use arrow::array::AsArray;
    let s = Store::open(store).unwrap();
    let mut ids: Vec<u64> = s
        .read_reports(Some(&["primaryid"]))
        .unwrap()
        .iter()
        .flat_map(|rb| {
            rb.column(0)
                .as_primitive::<arrow::datatypes::UInt64Type>()
                .values()
                .to_vec()
        })
        .collect();
    ids.sort_unstable();
    ids
}

/// The reproduction: `vigil synth --reports 20000`, then each quarter ingested newest first
/// gave 19,987 reports against 19,891 from one call (the 96 extra were on the last quarter's
/// deleted list, read before the quarters holding those cases). Deleted lists are now kept in the
/// store and applied whatever the order: one call, oldest first, newest first and a shuffled order
/// give the same reports and the same scores for every pair.
#[test]
fn deleted_lists_apply_in_any_order_of_ingest() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("synth");
    run_ok(
        vigil!()
            .args(["synth", "--reports", "20000", "--out"])
            .arg(&data),
    );
    let mut quarters: Vec<std::path::PathBuf> = std::fs::read_dir(&data)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.is_dir()
                && p.file_name()
                    .unwrap()
                    .to_string_lossy()
                    .starts_with("faers_ascii_")
        })
        .collect();
    quarters.sort();
    assert_eq!(quarters.len(), 8);
    let one_call = tmp.path().join("one_call");
    run_ok(
        vigil!()
            .args(["ingest", "faers"])
            .arg(&data)
            .arg("--store")
            .arg(&one_call)
            .arg("--quiet"),
    );
    let report = Store::open(&one_call).unwrap().ingest_report().unwrap();
    let deleted = report.tables["deleted"].kept;
    let expected_ids = live_primaryids(&one_call);
    // Every case once, minus the deleted ones (the synth_ingest test's identity).
    assert_eq!(expected_ids.len() as u64, 20_000 - deleted);
    // Rows come in the order drugs and events are first met, which follows the ingest order; the
    // scores of every pair must be byte-identical, so the rows are compared sorted.
    let sorted_signals = |store: &Path| {
        let text = String::from_utf8(signals_csv(store)).unwrap();
        let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
        lines[1..].sort();
        lines
    };
    let expected_signals = sorted_signals(&one_call);
    assert!(expected_signals.len() > 40_000);
    let forward: Vec<usize> = (0..8).collect();
    let reverse: Vec<usize> = (0..8).rev().collect();
    // A fixed shuffle with the deleting (last) quarter in the middle.
    let shuffled = vec![2, 7, 0, 5, 3, 6, 1, 4];
    for (name, order) in [
        ("forward", forward),
        ("reverse", reverse),
        ("shuffled", shuffled),
    ] {
        let store = tmp.path().join(name);
        for &k in &order {
            run_ok(
                vigil!()
                    .args(["ingest", "faers"])
                    .arg(&quarters[k])
                    .arg("--store")
                    .arg(&store)
                    .arg("--quiet"),
            );
        }
        assert_eq!(
            live_primaryids(&store),
            expected_ids,
            "{name}: report set differs from one call"
        );
        assert!(
            sorted_signals(&store) == expected_signals,
            "{name}: signals differ from one call"
        );
        let r = Store::open(&store).unwrap().ingest_report().unwrap();
        assert_eq!(r.deleted_caseids_in_store, deleted, "{name}");
    }
}
