//! The store path: `vigil synth` → `vigil ingest` → `vigil signals --store`, and `vigil demo`.

mod common;

use std::path::Path;

use vigil_test_support::cli::ok;
use vigil_test_support::vigil;

use common::{synth_store, Synth};

/// The reports of a store as report-level rows `id,drug,event,sex,age_group`, joined here from the
/// Parquet tables themselves (not through `vigil_store::read::load_reports`, the loader under test):
/// reports × their suspect (PS/SS) drugs' ingredients × their reactions' PTs, names trimmed and
/// upper-cased, blank names left out, a report with no drug or no reaction left out, matched on
/// (primaryid, batch). Reports are written in the order of the reports table, so that strata are
/// numbered in the same order as the loader numbers them (the expected counts are sums over strata,
/// and another order changes their last bits).
fn rows_joined_from_parquet(store: &Path, out: &Path) -> usize {
    use arrow::array::{Array, AsArray};
    use arrow::datatypes::{UInt32Type, UInt64Type};
    use std::collections::{BTreeSet, HashMap};
    use vigil_store::layout::ChildTable;
    let s = vigil_store::read::Store::open(store).unwrap();
    let mut order: Vec<(u64, u32)> = Vec::new();
    // (primaryid, batch) → (sex, age group, drugs, events).
    type ReportRow = (String, String, BTreeSet<String>, BTreeSet<String>);
    let mut reports: HashMap<(u64, u32), ReportRow> = HashMap::new();
    for rb in s
        .read_reports(Some(&["primaryid", "batch", "sex", "age_group"]))
        .unwrap()
    {
        let (pid, bat) = (
            rb.column(0).as_primitive::<UInt64Type>(),
            rb.column(1).as_primitive::<UInt32Type>(),
        );
        let (sex, age) = (
            rb.column(2).as_string::<i32>(),
            rb.column(3).as_string::<i32>(),
        );
        for i in 0..rb.num_rows() {
            let label = |a: &arrow::array::StringArray| {
                if a.is_null(i) || a.value(i).is_empty() {
                    "unknown".to_owned()
                } else {
                    a.value(i).to_owned()
                }
            };
            order.push((pid.value(i), bat.value(i)));
            reports.insert(
                (pid.value(i), bat.value(i)),
                (label(sex), label(age), BTreeSet::new(), BTreeSet::new()),
            );
        }
    }
    for (table, cols) in [
        (
            ChildTable::Drugs,
            &["primaryid", "batch", "role_cod", "ingredient"][..],
        ),
        (ChildTable::Reactions, &["primaryid", "batch", "pt"][..]),
    ] {
        for (_, path) in s.child_files(table) {
            for rb in vigil_store::read::read_parquet(&path, Some(cols)).unwrap() {
                let (pid, bat) = (
                    rb.column(0).as_primitive::<UInt64Type>(),
                    rb.column(1).as_primitive::<UInt32Type>(),
                );
                let name = rb.column(cols.len() - 1).as_string::<i32>();
                for i in 0..rb.num_rows() {
                    if table == ChildTable::Drugs {
                        let role = rb.column(2).as_string::<i32>();
                        let r = if role.is_null(i) {
                            ""
                        } else {
                            role.value(i).trim()
                        };
                        if !(r.eq_ignore_ascii_case("PS") || r.eq_ignore_ascii_case("SS")) {
                            continue;
                        }
                    }
                    if name.is_null(i) || name.value(i).trim().is_empty() {
                        continue;
                    }
                    if let Some(rep) = reports.get_mut(&(pid.value(i), bat.value(i))) {
                        let n = name.value(i).trim().to_uppercase();
                        if table == ChildTable::Drugs {
                            rep.2.insert(n)
                        } else {
                            rep.3.insert(n)
                        };
                    }
                }
            }
        }
    }
    let mut w = csv::Writer::from_path(out).unwrap();
    w.write_record(["id", "drug", "event", "sex", "age_group"])
        .unwrap();
    let mut rows = 0;
    for key in &order {
        let (sex, age, drugs, events) = &reports[key];
        let pid = key.0;
        for d in drugs {
            for e in events {
                w.write_record([&pid.to_string(), d, e, sex, age]).unwrap();
                rows += 1;
            }
        }
    }
    w.flush().unwrap();
    rows
}

/// `signals --store` must equal `signals --counts` on the same reports exported row-wise
/// (`id,drug,event[,strata]`), stratified or not, with the same prior. The rows come from two
/// places: `export_rows_csv` (the store loader itself) and a join written in this test from the
/// Parquet tables, which checks the loader's matching, role filter and strata independently.
#[test]
fn store_and_exported_rows_give_identical_signals() {
    let dir = tempfile::tempdir().unwrap();
    let store = synth_store(
        dir.path(),
        &Synth {
            reports: 3000,
            seed: 11,
            quarters: None,
            interactions: false,
        },
    );
    let prior = dir.path().join("prior.json");
    ok(vigil!()
        .args(["signals", "--store"])
        .arg(&store)
        .args(["--fit-only", "--out"])
        .arg(&prior));
    let joined = dir.path().join("joined.csv");
    let joined_rows = rows_joined_from_parquet(&store, &joined);
    for (stratify, independent) in [
        (vec![], false),
        (vec!["sex".to_owned(), "age_group".to_owned()], false),
        (vec![], true),
        (vec!["sex".to_owned(), "age_group".to_owned()], true),
    ] {
        let query = vigil_store::read::ReportQuery {
            stratify: stratify.clone(),
            ..Default::default()
        };
        let rows = if independent {
            joined.clone()
        } else {
            dir.path().join("rows.csv")
        };
        if !independent {
            let n = vigil_store::read::export_rows_csv(
                &store,
                &query,
                std::fs::File::create(&rows).unwrap(),
            )
            .unwrap();
            assert!(n > 3000, "{n} rows exported");
            assert_eq!(
                n as usize, joined_rows,
                "the loader's rows and the rows joined from the Parquet tables"
            );
        }
        let mut strat_args = vec![];
        if !stratify.is_empty() {
            strat_args = vec!["--stratify".to_owned(), stratify.join(",")];
        }
        let from_store = ok(vigil!()
            .args(["signals", "--store"])
            .arg(&store)
            .arg("--prior")
            .arg(&prior)
            .args(&strat_args)
            .args(["--format", "csv"]));
        let from_rows = ok(vigil!()
            .args(["signals", "--counts"])
            .arg(&rows)
            .arg("--prior")
            .arg(&prior)
            .args(&strat_args)
            .args(["--format", "csv"]));
        let sorted = |s: &str| {
            let mut v: Vec<String> = s.lines().map(str::to_owned).collect();
            v.sort();
            v
        };
        assert_eq!(
            sorted(&from_store),
            sorted(&from_rows),
            "stratify {stratify:?}, rows joined in the test: {independent}"
        );
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
    let store = synth_store(
        dir.path(),
        &Synth {
            reports: 20_000,
            seed: 11,
            quarters: None,
            interactions: false,
        },
    );
    let csv = ok(vigil!().args(["signals", "--store"]).arg(&store).args([
        "--drug",
        "DUPILUMAB",
        "--format",
        "csv",
    ]));
    let field = |line: &str, k: usize| line.split(',').nth(k).unwrap().to_owned();
    let row = |text: &str, pt: &str| {
        text.lines()
            .find(|l| l.starts_with(&format!("DUPILUMAB,{pt},")))
            .map(str::to_owned)
    };
    // Planted at 40× and 20× (PLANTED_SIGNALS.tsv): flagged by all four methods.
    for pt in ["DERMATITIS ATOPIC", "CONJUNCTIVITIS"] {
        let r = row(&csv, pt).unwrap_or_else(|| panic!("no {pt} row"));
        assert_eq!(
            // signal_prr, signal_ror, signal_ic, signal_ebgm: columns 25–28 of the contract.
            r.split(',').skip(25).take(4).collect::<Vec<_>>()[..],
            ["true", "true", "true", "true"],
            "{r}"
        );
    }
    // Planted at 1× (no association): no EBGM signal.
    if let Some(r) = row(&csv, "HEADACHE") {
        assert_eq!(field(&r, 28), "false", "{r}"); // signal_ebgm
    }
    let masked = row(&csv, "PSORIASIS").expect("psoriasis row");
    let unmasked_csv = ok(vigil!().args(["signals", "--store"]).arg(&store).args([
        "--drug",
        "DUPILUMAB",
        "--exclude-drug",
        "USTEKINUMAB,SECUKINUMAB,ADALIMUMAB",
        "--format",
        "csv",
    ]));
    let unmasked = row(&unmasked_csv, "PSORIASIS").expect("psoriasis row without the biologics");
    // The same list given as separate values (`--exclude-drug NAME...`) excludes the same reports.
    let separate = ok(vigil!().args(["signals", "--store"]).arg(&store).args([
        "--drug",
        "DUPILUMAB",
        "--format",
        "csv",
        "--exclude-drug",
        "USTEKINUMAB",
        "SECUKINUMAB",
        "ADALIMUMAB",
    ]));
    assert_eq!(separate, unmasked_csv);
    let prr = |r: &str| field(r, 10).parse::<f64>().unwrap();
    assert!(
        prr(&unmasked) > prr(&masked),
        "PRR {} (all reports) vs {} (biologics excluded)",
        prr(&masked),
        prr(&unmasked)
    );
}

#[test]
fn demo_runs_and_reports_the_reactions_of_interest() {
    let dir = tempfile::tempdir().unwrap();
    let out = ok(vigil!()
        .args(["demo", "--reports", "5000", "--out"])
        .arg(dir.path()));
    assert!(out.contains("SYNTHETIC"), "{out}");
    assert!(
        out.contains("DERMATITIS ATOPIC") && out.contains("CONJUNCTIVITIS"),
        "{out}"
    );
    let csv = std::fs::read_to_string(dir.path().join("signals-dupilumab.csv")).unwrap();
    assert!(csv.starts_with("drug,event,a,b,c,d,"));
    assert!(csv.lines().skip(1).all(|l| l.starts_with("DUPILUMAB,")));
}

fn current(store: &Path) -> String {
    std::fs::read_to_string(store.join("CURRENT"))
        .unwrap()
        .trim()
        .to_owned()
}

fn signals_csv(store: &Path) -> String {
    ok(vigil!()
        .args(["signals", "--store"])
        .arg(store)
        .args(["--format", "csv"]))
}

/// `vigil store versions` lists every kept version with its reports and the input files that made
/// it; `vigil store rollback` returns to an earlier one (its signals byte-identical to when it was
/// live), refuses a version that is not there, and when the switch cannot be written (here
/// `CURRENT.tmp` is a directory, so the new pointer cannot be created) leaves the live version as
/// it was. An ingest after a rollback builds on the version rolled back to and is numbered after
/// every existing one.
#[test]
fn store_versions_and_atomic_rollback() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("q");
    let store = tmp.path().join("store");
    ok(vigil!()
        .args([
            "synth",
            "--reports",
            "3000",
            "--quarters",
            "2",
            "--seed",
            "5",
            "--out",
        ])
        .arg(&data));
    let mut quarters: Vec<std::path::PathBuf> = std::fs::read_dir(&data)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    quarters.sort();
    assert_eq!(quarters.len(), 2);
    ok(vigil!()
        .args(["ingest", "faers"])
        .arg(&quarters[0])
        .arg("--store")
        .arg(&store)
        .arg("--quiet"));
    let signals_v1 = signals_csv(&store);
    let reports_v1 = vigil_store::read::Store::open(&store)
        .unwrap()
        .ingest_report()
        .unwrap()
        .reports_in_store;
    ok(vigil!()
        .args(["ingest", "faers"])
        .arg(&quarters[1])
        .arg("--store")
        .arg(&store)
        .arg("--quiet"));
    let signals_v2 = signals_csv(&store);
    let reports_v2 = vigil_store::read::Store::open(&store)
        .unwrap()
        .ingest_report()
        .unwrap()
        .reports_in_store;
    assert_ne!(signals_v1, signals_v2);
    assert_eq!(current(&store), "v000002");

    let listing = ok(vigil!().args(["store", "versions"]).arg(&store));
    let rows: Vec<&str> = listing
        .lines()
        .filter(|l| {
            l.len() > 3
                && l[3..]
                    .trim_start()
                    .chars()
                    .next()
                    .is_some_and(|c| c.is_ascii_digit())
        })
        .collect();
    assert_eq!(rows.len(), 2, "{listing}");
    assert!(
        rows[0].split_whitespace().next() == Some("1")
            && rows[0].contains(&format!(" {reports_v1} ")),
        "{listing}"
    );
    assert!(
        rows[1].starts_with('*')
            && rows[1].contains(&format!(" {reports_v2} "))
            && rows[1].contains("built on 1"),
        "{listing}"
    );
    // Each version names its own input files (version 2: only the second quarter's).
    let q1 = quarters[0]
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    let q2 = quarters[1]
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    let (v1_part, v2_part) = listing.split_at(listing.find(rows[1]).unwrap());
    assert!(
        v1_part.contains(&format!("{q1}/ASCII/DEMO")) && !v1_part.contains(&q2),
        "{listing}"
    );
    assert!(
        v2_part.contains(&format!("{q2}/ASCII/DRUG")) && !v2_part.contains(&q1),
        "{listing}"
    );

    // Back to version 1: the same answers as when it was live.
    let out = ok(vigil!().args(["store", "rollback"]).arg(&store).arg("1"));
    assert!(out.contains("version 1 is live"), "{out}");
    assert_eq!(current(&store), "v000001");
    assert_eq!(signals_csv(&store), signals_v1);
    // And forward again, by the listed name.
    ok(vigil!()
        .args(["store", "rollback"])
        .arg(&store)
        .arg("v000002"));
    assert_eq!(signals_csv(&store), signals_v2);

    // A version that is not there.
    let out = vigil!()
        .args(["store", "rollback"])
        .arg(&store)
        .arg("7")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        err.starts_with(&format!("vigil: error: {}: no version 7", store.display()))
            && err.contains("versions present: 1, 2"),
        "{err}"
    );
    // A failed write of the pointer: the live version stays.
    std::fs::create_dir(store.join("CURRENT.tmp")).unwrap();
    let out = vigil!()
        .args(["store", "rollback"])
        .arg(&store)
        .arg("1")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(current(&store), "v000002");
    assert_eq!(signals_csv(&store), signals_v2);
    assert!(
        !store.join("LOCK").exists(),
        "a failed rollback must release the lock"
    );
    std::fs::remove_dir(store.join("CURRENT.tmp")).unwrap();

    // An ingest after a rollback builds on the version rolled back to, numbered after both.
    ok(vigil!().args(["store", "rollback"]).arg(&store).arg("1"));
    ok(vigil!()
        .args(["ingest", "faers"])
        .arg(&quarters[1])
        .arg("--store")
        .arg(&store)
        .arg("--quiet"));
    assert_eq!(current(&store), "v000003");
    assert_eq!(signals_csv(&store), signals_v2);
    let m = vigil_store::read::Store::open(&store).unwrap().manifest;
    assert_eq!(
        (m.version, m.based_on, m.reports),
        (3, Some(1), Some(reports_v2))
    );
    assert!(m
        .inputs
        .iter()
        .any(|f| f.table == "demo" && f.path.contains(&q2)));
}
