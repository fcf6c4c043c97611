//! `vigil signals` as a user runs it: real FAERS 2023 tables, output contract, bad input.

use std::collections::HashMap;
use std::path::Path;

use vigil_stats::disproportionality::{chi2_pearson, haldane_anscombe, prr, ror};
use vigil_stats::table::ContingencyTable;

use vigil_test_support::vigil;

// CI sets VIGIL_REQUIRE_SHARED=1: there a missing ../shared is a failure, not a skip.
use vigil_test_support::shared;

fn read_csv(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let mut r = csv::Reader::from_path(path).unwrap();
    let h = r.headers().unwrap().iter().map(str::to_owned).collect();
    (
        h,
        r.records()
            .map(|x| x.unwrap().iter().map(str::to_owned).collect())
            .collect(),
    )
}

/// Runs `vigil signals` with `args` and CSV output; returns (header, rows).
fn signals_csv(args: &[&std::ffi::OsStr]) -> (Vec<String>, Vec<Vec<String>>) {
    let out = std::env::temp_dir().join(format!(
        "vigil-test-{}-{}.csv",
        std::process::id(),
        args.len()
    ));
    let status = vigil!()
        .arg("signals")
        .args(args)
        .args(["--format", "csv", "--out"])
        .arg(&out)
        .status()
        .unwrap();
    assert!(status.success());
    let table = read_csv(&out);
    std::fs::remove_file(&out).ok();
    table
}

/// The FAERS 2023 US primary-suspect cohort × PT tables of `cohort_pt_stats_summary_2023.csv`
/// (13,287 rows) scored by vigil. That file's conventions, found by reproducing it: when any cell
/// is 0, ½ is added to all four (Haldane–Anscombe) before PRR, ROR and their 95 % limits
/// (z = 1.96), and χ² is Pearson's *without* Yates's correction. vigil's own columns are
/// uncorrected with a Yates χ², so the comparison goes through vigil-stats with the file's
/// conventions, on the a, b, c, d that vigil read and wrote; rows without a zero cell are also
/// compared on vigil's own PRR and ROR columns and their 95 % limits.
#[test]
fn faers_2023_cohort_tables_match_the_reference_statistics() {
    let Some(dir) = shared("data/faers/reference/daryl_faers2023_us_ps_2x2") else {
        return;
    };
    let (sh, summary) = read_csv(&dir.join("cohort_pt_stats_summary_2023.csv"));
    let s = |name: &str| sh.iter().position(|h| h == name).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("cohorts.csv");
    let mut w = csv::Writer::from_path(&input).unwrap();
    w.write_record(["drug", "event", "a", "b", "c", "d"])
        .unwrap();
    for r in &summary {
        w.write_record([
            &r[s("cohort")],
            &r[s("reaction_pt")],
            &r[s("a")],
            &r[s("b")],
            &r[s("c")],
            &r[s("d")],
        ])
        .unwrap();
    }
    w.flush().unwrap();
    let (header, rows) = signals_csv(&["--counts".as_ref(), input.as_os_str()]);
    assert_eq!(header, vigil_columns());
    assert_eq!(rows.len(), 13_287);
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let by_pair: HashMap<(&str, &str), &Vec<String>> = rows
        .iter()
        .map(|r| ((r[0].as_str(), r[1].as_str()), r))
        .collect();
    // Values are printed with 6 decimals.
    let close = |ours: f64, theirs: f64| (ours - theirs).abs() <= 5.1e-7 + 1e-12 * theirs.abs();
    for r in &summary {
        let ours = by_pair[&(r[s("cohort")].as_str(), r[s("reaction_pt")].as_str())];
        let cell = |name: &str| ours[col(name)].parse::<f64>().unwrap();
        let t = ContingencyTable::new(cell("a"), cell("b"), cell("c"), cell("d"));
        for name in ["a", "b", "c", "d"] {
            assert_eq!(
                t_cell(&t, name),
                r[s(name)].parse::<f64>().unwrap(),
                "{name} of {:?}",
                &r[..2]
            );
        }
        let h = haldane_anscombe(&t);
        let (p, o) = (prr(&h, 0.95), ror(&h, 0.95));
        for (ours, name) in [
            (p.estimate, "PRR"),
            (p.lower, "PRR_LCL"),
            (p.upper, "PRR_UCL"),
            (o.estimate, "ROR"),
            (o.lower, "ROR_LCL"),
            (o.upper, "ROR_UCL"),
            (chi2_pearson(&h), "chi2"),
        ] {
            let theirs: f64 = r[s(name)].parse().unwrap();
            assert!(
                close(ours, theirs),
                "{name} of {:?}: vigil {ours} vs reference {theirs}",
                &r[..2]
            );
        }
        if h == t {
            for (ours, name) in [
                ("prr", "PRR"),
                ("prr_lower", "PRR_LCL"),
                ("prr_upper", "PRR_UCL"),
                ("ror", "ROR"),
                ("ror_lower", "ROR_LCL"),
                ("ror_upper", "ROR_UCL"),
            ] {
                assert!(
                    close(cell(ours), r[s(name)].parse().unwrap()),
                    "{ours} of {:?}",
                    &r[..2]
                );
            }
        }
    }
}

/// The whole 348,355-pair table: read from Parquet, fitted without error (the optimum lies on a
/// bound, which vigil reports rather than fails on), every pair scored, the dupilumab rows' cells
/// equal to the source's own dupilumab extract, and the `--fit-only` contract on this table.
#[test]
fn faers_2023_full_table_fits_and_scores() {
    let Some(dir) = shared("data/faers/reference/daryl_faers2023_us_ps_2x2") else {
        return;
    };
    let parquet = dir.join("anydrug_2023.parquet");
    let (header, rows) = signals_csv(&["--counts".as_ref(), parquet.as_os_str()]);
    assert_eq!(rows.len(), 348_355);
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let ours: HashMap<&str, &Vec<String>> = rows
        .iter()
        .filter(|r| r[0] == "DUPILUMAB")
        .map(|r| (r[1].as_str(), r))
        .collect();
    let (dh, dupi) = read_csv(&dir.join("dupilumab_2x2_2023_us_ps.csv"));
    assert_eq!(ours.len(), dupi.len());
    for r in &dupi {
        let o = ours[r[dh.iter().position(|h| h == "reaction_pt").unwrap()].as_str()];
        for name in ["a", "b", "c", "d"] {
            assert_eq!(
                o[col(name)],
                r[dh.iter().position(|h| h == name).unwrap()],
                "{name} of {:?}",
                r[1]
            );
        }
        assert!(o[col("eb05")].parse::<f64>().unwrap().is_finite());
    }
    // The prior fit itself. On this table the likelihood keeps rising as one component's shape
    // α2 → 0 (docs/signals.md, "Boundary policy"): the fit must converge to the bounded maximum and
    // name exactly that parameter, on all 348,355 pairs (no squashing). The expected bound is the
    // measured outcome of the fit (openEBGM's autoHyper fails on such data, so there is no external
    // optimum to compare with); a change of optimiser that moves the optimum off it fails here.
    let out = vigil!()
        .args(["signals", "--counts"])
        .arg(&parquet)
        .arg("--fit-only")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let fit: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(fit["converged"], true, "{fit}");
    assert_eq!(fit["at_bound"], serde_json::json!(["alpha2"]), "{fit}");
    assert_eq!(fit["n_points"].as_f64(), Some(348_355.0), "{fit}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("alpha2"),
        "no boundary warning naming alpha2"
    );
    // The same prior read back with --prior keeps its bound, so the warning is repeated, and the
    // scores equal those of the run that fitted it.
    let tmp = tempfile::tempdir().unwrap();
    let prior = tmp.path().join("prior.json");
    std::fs::write(&prior, &out.stdout).unwrap();
    let again = vigil!()
        .args(["signals", "--counts"])
        .arg(&parquet)
        .arg("--prior")
        .arg(&prior)
        .args(["--drug", "DUPILUMAB", "--format", "csv"])
        .output()
        .unwrap();
    assert!(
        again.status.success(),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("bound of alpha2"),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    let (_, reused) = signals_csv(&[
        "--counts".as_ref(),
        parquet.as_os_str(),
        "--prior".as_ref(),
        prior.as_os_str(),
        "--drug".as_ref(),
        "DUPILUMAB".as_ref(),
    ]);
    let fitted: Vec<&Vec<String>> = rows.iter().filter(|r| r[0] == "DUPILUMAB").collect();
    assert_eq!(reused.len(), fitted.len());
    for (a, b) in reused.iter().zip(fitted) {
        assert_eq!(a, b);
    }
}

fn t_cell(t: &ContingencyTable, name: &str) -> f64 {
    match name {
        "a" => t.a,
        "b" => t.b,
        "c" => t.c,
        _ => t.d,
    }
}

fn vigil_columns() -> Vec<String> {
    "drug,event,a,b,c,d,n_drug,n_event,n_total,expected,prr,prr_lower,prr_upper,chi2_yates,ror,ror_lower,ror_upper,ic,ic025,ic975,bcpnn_ic,bcpnn_ic025,ebgm,eb05,eb95,signal_prr,signal_ror,signal_ic,signal_ebgm,prr_p,prr_q,ror_p,ror_q,ic_post_null,ebgm_post_null,fdr_bayes_ic,fdr_bayes_ebgm"
        .split(',')
        .map(str::to_owned)
        .collect()
}

#[test]
fn fit_only_prints_the_prior_contract_and_prior_reads_it_back() {
    let Some(input) = shared("oracle/pv/caers_input.csv") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let prior = dir.path().join("prior.json");
    let ok = vigil!()
        .args(["signals", "--counts"])
        .arg(&input)
        .args(["--fit-only", "--out"])
        .arg(&prior)
        .status()
        .unwrap();
    assert!(ok.success());
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&prior).unwrap()).unwrap();
    for key in [
        "alpha1",
        "beta1",
        "alpha2",
        "beta2",
        "p",
        "neg_log_lik",
        "n_points",
        "truncation",
        "at_bound",
    ] {
        assert!(json.get(key).is_some(), "missing {key}");
    }
    // openEBGM 0.9.1 autoHyper on the same data: −LL 4162.4557103796 (oracle caers_hyperparameters.csv).
    assert!(json["neg_log_lik"].as_f64().unwrap() <= 4162.4557103796 + 1e-3);
    assert_eq!(json["truncation"], "zero_truncated");
    // With the prior given, the scores of the vignette's example pair REUMOFAN PLUS / WEIGHT
    // INCREASED: N = 16, E = 0.40643623; with openEBGM's own full-data θ, EBGM = 23.2608572386716
    // and QUANT_05 = 15.68586295 (oracle caers_pairs.csv, *_unstrat_full). vigil's θ differs from
    // openEBGM's by ~1e-6 relative (a slightly better optimum), so these agree to ~1e-5.
    let out = vigil!()
        .args(["signals", "--counts"])
        .arg(&input)
        .arg("--prior")
        .arg(&prior)
        .args([
            "--drug",
            "reumofan plus",
            "--event",
            "WEIGHT INCREASED",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let row = &rows[0];
    assert_eq!(row["a"], 16.0);
    assert!((row["expected"].as_f64().unwrap() - 0.40643623).abs() < 5e-9);
    assert!((row["ebgm"].as_f64().unwrap() - 23.2608572386716).abs() < 1e-3);
    assert!((row["eb05"].as_f64().unwrap() - 15.68586295).abs() < 1e-3);
}

/// Runs `vigil signals` on a CSV with `content`; returns (exit code, stderr).
fn run_on(content: &str, extra: &[&str]) -> (i32, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("counts.csv");
    std::fs::write(&path, content).unwrap();
    let out = vigil!()
        .args(["signals", "--counts"])
        .arg(&path)
        .args(extra)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn bad_input_names_file_line_and_column() {
    let cases: &[(&str, &[&str], &[&str])] = &[
        ("", &[], &["counts.csv: line 1:", "empty file"]),
        (
            "drug,event,a,b,c,d\n",
            &[],
            &["counts.csv: line 2:", "no rows"],
        ),
        (
            "drug,a,b,c,d\nX,1,2,3,4\n",
            &[],
            &["counts.csv: line 1, field event: missing", "accepted names"],
        ),
        (
            "drug,event,a,b,c,d\nX,Y,1,2,3,4\nX,Z,two,2,3,4\n",
            &[],
            &["counts.csv: line 3, field a", "\"two\" is not a number"],
        ),
        (
            "drug,event,a,b,c,d\nX,Y,1,-2,3,4\n",
            &[],
            &["counts.csv: line 2, field b", "non-negative"],
        ),
        (
            "drug,event,a,b,c,d\nX,Y,1,2,3,4\nX,Z,1,2,3,5\n",
            &[],
            &[
                "counts.csv: line 3, field d",
                "a+b+c+d = 11, but 10 on line 2",
            ],
        ),
        (
            "drug,event,a,b,c,d\nX,Y,1,2,3,4\nX,Z,2,2,2,4\n",
            &[],
            &[
                "counts.csv: line 3, field b",
                "a+b (the drug's reports) = 4, but 3",
            ],
        ),
        (
            "id,drug,event,sex\n1,X,Y,F\n1,X,Z,M\n",
            &["--stratify", "sex"],
            &["counts.csv: line 3, field sex", "stratum"],
        ),
        (
            "id,drug,event\n1,X,Y\n2,,Z\n",
            &[],
            &["counts.csv: line 3, field drug", "empty value"],
        ),
        (
            "id,drug,event\n1,X,Y\n2,Z\n",
            &[],
            &["counts.csv: line 3, field event: 2 fields, the header has 3"],
        ),
        (
            "drug,event,a,b,c,d\nX,Y,1,2,3,4\nX,Y,1,2,3,4\n",
            &[],
            &["counts.csv: line 3, field event", "already given on line 2"],
        ),
    ];
    for (content, extra, needles) in cases {
        let (code, stderr) = run_on(content, extra);
        assert_eq!(code, 2, "input {content:?}: {stderr}");
        for n in *needles {
            assert!(
                stderr.contains(n),
                "input {content:?}: expected {n:?} in {stderr:?}"
            );
        }
    }
}

#[test]
fn report_level_rows_count_duplicates_once() {
    // Report 1 lists X·Y twice; report 2 has X·Y; report 3 has W·Z. So a(X,Y) = 2, n_drug(X) = 2,
    // n_event(Y) = 2, n = 3: b = 0, c = 0, d = 1.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rows.csv");
    std::fs::write(&path, "id,drug,event\n1,X,Y\n1,X,Y\n2,X,Y\n3,W,Z\n").unwrap();
    let prior = dir.path().join("prior.json");
    std::fs::write(
        &prior,
        r#"{"alpha1":0.2,"beta1":0.1,"alpha2":2,"beta2":4,"p":0.3333}"#,
    )
    .unwrap();
    let out = vigil!()
        .args(["signals", "--counts"])
        .arg(&path)
        .arg("--prior")
        .arg(&prior)
        .args(["--format", "csv"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let line = text.lines().find(|l| l.starts_with("X,Y,")).unwrap();
    assert!(line.starts_with("X,Y,2,0,0,1,2,2,3,"), "{line}");
}

/// Runs `vigil signals` on `rows` (report-level CSV) with a fixed prior; returns the output.
fn signals_output(rows: &str, format: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rows.csv");
    std::fs::write(&path, rows).unwrap();
    let prior = dir.path().join("prior.json");
    std::fs::write(
        &prior,
        r#"{"alpha1":0.2,"beta1":0.1,"alpha2":2,"beta2":4,"p":0.3333}"#,
    )
    .unwrap();
    let out = vigil!()
        .args(["signals", "--counts"])
        .arg(&path)
        .arg("--prior")
        .arg(&prior)
        .args(["--format", format])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Report rows with names that need quoting and counts that give integers, long fractions,
/// infinities and NaN among the scores.
fn output_test_rows() -> String {
    let drugs = ["DUPILUMAB", "A, B", "SAY \"HI\"", "X"];
    let events = ["ECZEMA", "CONJUNCTIVITIS", "RASH, PAPULAR", "HERPES"];
    let mut rows = String::from("id,drug,event\n");
    for r in 0..600 {
        let d = drugs[(r * 7 % 11) % drugs.len()];
        for k in 0..1 + r % 3 {
            let e = events[(r / 5 + k * 3) % events.len()];
            let quote = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
            rows += &format!("{r},{},{}\n", quote(d), quote(e));
        }
    }
    rows
}

#[test]
fn csv_output_is_the_csv_crate_with_standard_number_display() {
    // The reference is the writer used before the table's writers moved to signal_table.rs: the
    // csv crate writing each record, numbers as Rust's `Display` prints them, Inf/-Inf/NaN as R.
    let text = signals_output(&output_test_rows(), "csv");
    let mut rows = csv::Reader::from_reader(text.as_bytes());
    let header: Vec<String> = rows.headers().unwrap().iter().map(str::to_owned).collect();
    assert_eq!(header, vigil_columns());
    let mut rebuilt = csv::Writer::from_writer(Vec::new());
    rebuilt.write_record(&header).unwrap();
    let mut n = 0;
    for record in rows.records() {
        let record = record.unwrap();
        let mut fields: Vec<String> = record.iter().take(2).map(str::to_owned).collect();
        for v in record.iter().skip(2).take(23) {
            let x: f64 = match v {
                "Inf" => f64::INFINITY,
                "-Inf" => f64::NEG_INFINITY,
                other => other.parse().unwrap(),
            };
            fields.push(if x.is_nan() {
                "NaN".into()
            } else if x.is_infinite() {
                if x > 0.0 { "Inf" } else { "-Inf" }.into()
            } else {
                format!("{x}")
            });
        }
        fields.extend(record.iter().skip(25).map(str::to_owned));
        rebuilt.write_record(&fields).unwrap();
        n += 1;
    }
    assert!(n > 10, "{n} rows");
    assert_eq!(
        String::from_utf8(rebuilt.into_inner().unwrap()).unwrap(),
        text
    );
    assert!(text.contains("\"A, B\"") && text.contains("\"SAY \"\"HI\"\"\""));
}

#[test]
fn json_output_is_serde_json_of_each_row() {
    // The reference is the writer used before the move: serde_json writing each row as a `Value`
    // (sorted keys, its own number formatting, null for non-finite numbers). The values are taken
    // from the CSV output of the same run, read with the standard library's correctly rounded
    // parser (serde_json's own parser may be an ulp off without its float_roundtrip feature).
    let rows = output_test_rows();
    let csv_text = signals_output(&rows, "csv");
    let json_text = signals_output(&rows, "json");
    let mut reader = csv::Reader::from_reader(csv_text.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_owned)
        .collect();
    let mut want = String::from("[");
    let mut n = 0;
    for record in reader.records() {
        let record = record.unwrap();
        let mut m = serde_json::Map::new();
        for (k, (key, v)) in header.iter().zip(record.iter()).enumerate() {
            let value = match k {
                0 | 1 => serde_json::Value::from(v),
                // The four signal flags; before them the scores, after them the decision columns.
                25..29 => serde_json::Value::from(v == "true"),
                _ => {
                    let x: f64 = match v {
                        "Inf" => f64::INFINITY,
                        "-Inf" => f64::NEG_INFINITY,
                        other => other.parse().unwrap(),
                    };
                    serde_json::Number::from_f64(x)
                        .map_or(serde_json::Value::Null, serde_json::Value::Number)
                }
            };
            m.insert(key.clone(), value);
        }
        want += if n == 0 { "\n  " } else { ",\n  " };
        want += &serde_json::to_string(&serde_json::Value::Object(m)).unwrap();
        n += 1;
    }
    want += "\n]\n";
    assert!(n > 10, "{n} rows");
    assert_eq!(json_text, want);
}
