//! Input edges of `vigil signals`, `onset` and `assess` as a user meets them: the shape and the
//! names of `--counts` files, counts beyond 2^53, names that are not in the data, a damaged store,
//! a closed pipe, a byte-order mark. Each test reproduces a defect of issue 12; the expected values
//! are worked out in the comments.
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, OnceLock};

use arrow::array::{ArrayRef, Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};

use vigil_test_support::cli::stderr;
use vigil_test_support::vigil;

/// Writes `content` to `name` in a fresh folder and runs `vigil signals --counts` on it with `extra`.
fn signals_on(name: &str, content: &str, extra: &[&str]) -> (tempfile::TempDir, Output) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, content).unwrap();
    let out = vigil!()
        .args(["signals", "--counts"])
        .arg(&path)
        .args(extra)
        .output()
        .unwrap();
    (dir, out)
}

/// A fixed prior, so that the tests check counts, not the fit.
const PRIOR: &str = r#"{"alpha1":0.2,"beta1":0.1,"alpha2":2,"beta2":4,"p":0.3333}"#;

fn csv_with_prior(name: &str, content: &str) -> Result<String, String> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, content).unwrap();
    let prior = dir.path().join("prior.json");
    std::fs::write(&prior, PRIOR).unwrap();
    let out = vigil!()
        .args(["signals", "--counts"])
        .arg(&path)
        .arg("--prior")
        .arg(&prior)
        .args(["--format", "csv"])
        .output()
        .unwrap();
    if out.status.success() {
        Ok(String::from_utf8(out.stdout).unwrap())
    } else {
        Err(stderr(&out))
    }
}

/// Before: a file with an `id` column was read as report rows and its a, b, c, d ignored.
#[test]
fn counts_file_with_both_shapes_is_an_error_naming_the_columns() {
    for header in ["id,drug,event,a,b,c,d", "drug,event,a,b,c,d,caseid"] {
        let content = format!(
            "{header}\n{}\n",
            if header.starts_with("id") {
                "1,X,Y,1,2,3,4"
            } else {
                "X,Y,1,2,3,4,1"
            }
        );
        let (_d, out) = signals_on("both.csv", &content, &[]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(err.starts_with("vigil: error: "), "{err}");
        let id = if header.starts_with("id") {
            "id"
        } else {
            "caseid"
        };
        assert!(
            err.contains(&format!("both.csv: line 1, field {id}: ambiguous input")),
            "{err}"
        );
        assert!(
            err.contains(&format!("({id}, drug, event)"))
                && err.contains("(drug, event, a, b, c, d)"),
            "{err}"
        );
    }
    // Neither shape: the header is named.
    let (_d, out) = signals_on("neither.csv", "drug,event,n\nX,Y,1\n", &[]);
    assert!(
        stderr(&out).contains("neither report-level")
            && stderr(&out).contains("the header is: drug,event,n"),
        "{}",
        stderr(&out)
    );
    // a, b, c, d without an id: aggregated, as before (a = 1, b = 2, c = 3, d = 4).
    let csv = csv_with_prior("agg.csv", "drug,event,a,b,c,d\nX,Y,1,2,3,4\n").unwrap();
    assert!(
        csv.lines()
            .nth(1)
            .unwrap()
            .starts_with("X,Y,1,2,3,4,3,4,10,"),
        "{csv}"
    );
}

/// Before: `Dupilumab`, `DUPILUMAB` and ` dupilumab ` were three drugs in `--counts` input.
#[test]
fn counts_names_are_normalised_as_the_store_does() {
    // Reports 1–3 name dupilumab three ways; 1 and 2 report conjunctivitis (two ways), 3 rash;
    // report 4 has another drug with rash. DUPILUMAB × CONJUNCTIVITIS: a = 2, n_drug = 3,
    // n_event = 2, n = 4, so b = 1, c = 0, d = 4 − 3 − 0 = 1.
    let rows = "id,drug,event\n1,Dupilumab,Conjunctivitis\n2,DUPILUMAB,conjunctivitis \n3, dupilumab ,Rash\n4,Other,RASH\n";
    let csv = csv_with_prior("rows.csv", rows).unwrap();
    let line = csv
        .lines()
        .find(|l| l.starts_with("DUPILUMAB,CONJUNCTIVITIS,"))
        .unwrap_or_else(|| panic!("{csv}"));
    assert!(
        line.starts_with("DUPILUMAB,CONJUNCTIVITIS,2,1,0,1,3,2,4,"),
        "{line}"
    );
    assert_eq!(csv.lines().count(), 1 + 3, "three pairs: {csv}");
    // Aggregated: two spellings of one drug are one drug (its margin a+b = 3 in both rows).
    let csv = csv_with_prior(
        "agg.csv",
        "drug,event,a,b,c,d\nDupilumab,Rash,1,2,3,4\nDUPILUMAB ,eczema,2,1,5,2\n",
    )
    .unwrap();
    assert!(
        csv.contains("\nDUPILUMAB,RASH,1,2,3,4,3,4,10,")
            && csv.contains("\nDUPILUMAB,ECZEMA,2,1,5,2,3,7,10,"),
        "{csv}"
    );
    // The same pair twice after normalisation cannot be summed (b, c, d are whole-database counts
    // in each row): refused, with both lines.
    let err = csv_with_prior(
        "dup.csv",
        "drug,event,a,b,c,d\nDupilumab,Rash,1,2,3,4\n DUPILUMAB,RASH,1,2,3,4\n",
    )
    .unwrap_err();
    assert!(
        err.contains(
            "dup.csv: line 3, field event: pair \"DUPILUMAB\" / \"RASH\" already given on line 2"
        ),
        "{err}"
    );
    // --drug and --event compare normalised too.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rows.csv");
    std::fs::write(&path, rows).unwrap();
    let out = vigil!()
        .args(["signals", "--counts"])
        .arg(&path)
        .args(["--drug", "dupilumab ", "--event", "Rash", "--format", "csv"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("\nDUPILUMAB,RASH,1,"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

/// Before: counts were parsed as f64, so 2^53 + 1 = 9007199254740993 became 9007199254740992.
#[test]
fn counts_above_two_to_the_53_are_errors() {
    let (_d, out) = signals_on(
        "big.csv",
        "drug,event,a,b,c,d\nX,Y,9007199254740993,1,1,1\n",
        &[],
    );
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains(
            "big.csv: line 2, field a: \"9007199254740993\" is above 2^53 = 9007199254740992"
        ),
        "{err}"
    );
    // 2^53 itself is exact, but then a+b+c+d = 2^53 + 3 = 9007199254740995 is not (summed in
    // f64 it came out as 2^53 and passed).
    let (_d, out) = signals_on(
        "total.csv",
        "drug,event,a,b,c,d\nX,Y,9007199254740992,1,1,1\n",
        &[],
    );
    assert!(
        stderr(&out)
            .contains("total.csv: line 2, field d: a+b+c+d = 9007199254740995 is above 2^53"),
        "{}",
        stderr(&out)
    );
    // A Parquet Int64 column: before, cast to f64 and rounded the same way.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.parquet");
    let schema = Arc::new(Schema::new(
        ["drug", "event"]
            .iter()
            .map(|n| Field::new(*n, DataType::Utf8, false))
            .chain(
                ["a", "b", "c", "d"]
                    .iter()
                    .map(|n| Field::new(*n, DataType::Int64, false)),
            )
            .collect::<Vec<_>>(),
    ));
    let cols: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from(vec!["X", "X"])),
        Arc::new(StringArray::from(vec!["Y", "Z"])),
        Arc::new(Int64Array::from(vec![1, (1_i64 << 53) + 1])),
        Arc::new(Int64Array::from(vec![1, 1])),
        Arc::new(Int64Array::from(vec![1, 1])),
        Arc::new(Int64Array::from(vec![1, 1])),
    ];
    let mut w = parquet::arrow::ArrowWriter::try_new(
        std::fs::File::create(&path).unwrap(),
        schema.clone(),
        None,
    )
    .unwrap();
    w.write(&RecordBatch::try_new(schema, cols).unwrap())
        .unwrap();
    w.close().unwrap();
    let out = vigil!()
        .args(["signals", "--counts"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        stderr(&out).contains("big.parquet: line 2, field a: \"9007199254740993\" is above 2^53"),
        "{}",
        stderr(&out)
    );
}

/// A synthetic store of 3,000 reports, built once for the tests that need one.
fn store() -> &'static Path {
    static STORE: OnceLock<PathBuf> = OnceLock::new();
    STORE.get_or_init(|| {
        // Under cargo's per-target scratch directory (replaced on each run), not the system temp dir.
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("vigil-cli-edges");
        let _ = std::fs::remove_dir_all(&dir);
        let data = dir.join("synth");
        let store = dir.join("store");
        assert!(vigil!()
            .args(["synth", "--reports", "3000", "--seed", "3", "--out"])
            .arg(&data)
            .status()
            .unwrap()
            .success());
        assert!(vigil!()
            .args(["ingest", "faers"])
            .arg(&data)
            .arg("--store")
            .arg(&store)
            .arg("--quiet")
            .stdout(Stdio::null())
            .status()
            .unwrap()
            .success());
        store
    })
}

/// A copy of the synthetic store that a test may damage.
fn store_copy(to: &Path) -> PathBuf {
    let dest = to.join("store");
    let status = Command::new("cp")
        .arg("-r")
        .arg(store())
        .arg(&dest)
        .status()
        .unwrap();
    assert!(status.success());
    dest
}

/// Before: an unknown drug or event printed an empty table and exited 0.
#[test]
fn absent_drug_or_event_is_an_error_with_the_nearest_names() {
    let s = store();
    let out = vigil!()
        .args(["signals", "--store"])
        .arg(s)
        .args(["--drug", "dupilumb"])
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.starts_with(&format!(
            "vigil: error: {}: drug \"dupilumb\" not found",
            s.display()
        )),
        "{err}"
    );
    assert!(err.contains("nearest names: DUPILUMAB"), "{err}");
    let out = vigil!()
        .args(["signals", "--store"])
        .arg(s)
        .args(["--drug", "DUPILUMAB", "--event", "CONJUNCTIVITS"])
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("event \"CONJUNCTIVITS\" not found")
            && err.contains("nearest names: CONJUNCTIVITIS"),
        "{err}"
    );
    // The same pair spelled right is found (exit 0, one row).
    let out = vigil!()
        .args(["signals", "--store"])
        .arg(s)
        .args([
            "--drug",
            "dupilumab",
            "--event",
            "conjunctivitis",
            "--format",
            "csv",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 2);
    // onset: the same two errors.
    let out = vigil!()
        .args(["onset", "--store"])
        .arg(s)
        .args(["--drug", "DUPILUMABB", "--event", "CONJUNCTIVITIS"])
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("drug \"DUPILUMABB\" not found") && err.contains("nearest names: DUPILUMAB"),
        "{err}"
    );
    let out = vigil!()
        .args(["onset", "--store"])
        .arg(s)
        .args(["--drug", "DUPILUMAB", "--event", "conjunctivit"])
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("event \"conjunctivit\" not found")
            && err.contains("nearest names: CONJUNCTIVITIS"),
        "{err}"
    );
    // --counts input: the names of the file.
    let (_d, out) = signals_on(
        "rows.csv",
        "id,drug,event\n1,DUPILUMAB,RASH\n2,OTHER,RASH\n",
        &["--drug", "DUPI"],
    );
    assert!(
        stderr(&out).contains(
            "rows.csv: drug \"DUPI\" not found among the drugs; nearest names: DUPILUMAB"
        ),
        "{}",
        stderr(&out)
    );
}

/// Before: a store missing a child file answered "no report matches the filters".
#[test]
fn damaged_store_names_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    let s = store_copy(tmp.path());
    let live = s.join(std::fs::read_to_string(s.join("CURRENT")).unwrap().trim());
    let drugs: Vec<PathBuf> = std::fs::read_dir(live.join("drugs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    std::fs::remove_file(&drugs[0]).unwrap();
    for args in [
        &["signals", "--drug", "DUPILUMAB"][..],
        &["onset", "--drug", "DUPILUMAB", "--event", "CONJUNCTIVITIS"][..],
    ] {
        let out = vigil!()
            .args(&args[..1])
            .arg("--store")
            .arg(&s)
            .args(&args[1..])
            .output()
            .unwrap();
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(
            err.contains(&format!(
                "{}: missing: the store is damaged",
                drugs[0].display()
            )),
            "{args:?}: {err}"
        );
        assert!(!err.contains("no report matches"), "{err}");
    }
    // A corrupt (truncated) reactions file.
    let s2 = tmp.path().join("store2");
    assert!(Command::new("cp")
        .arg("-r")
        .arg(store())
        .arg(&s2)
        .status()
        .unwrap()
        .success());
    let live = s2.join(std::fs::read_to_string(s2.join("CURRENT")).unwrap().trim());
    let reac = std::fs::read_dir(live.join("reactions"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let bytes = std::fs::read(&reac).unwrap();
    std::fs::write(&reac, &bytes[..bytes.len() / 2]).unwrap();
    let out = vigil!()
        .args(["signals", "--store"])
        .arg(&s2)
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains(&format!("{}: damaged store file", reac.display())),
        "{err}"
    );
}

/// Before: `vigil signals … | head` exited 2 with "Broken pipe".
#[test]
fn closed_pipe_ends_quietly_with_status_zero() {
    // 2,000 reports over 40 drugs × 97 events: every report its own pair, ~2,000 CSV rows of
    // ~250 bytes, far more than a pipe buffer (64 KiB), so the write meets the closed pipe.
    let mut rows = String::from("id,drug,event\n");
    for i in 0..2000 {
        rows += &format!("{i},D{},E{}\n", i % 40, i % 97);
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rows.csv");
    std::fs::write(&path, rows).unwrap();
    let prior = dir.path().join("prior.json");
    std::fs::write(&prior, PRIOR).unwrap();
    for format in ["csv", "table", "json"] {
        let mut child = vigil!()
            .args(["signals", "--counts"])
            .arg(&path)
            .arg("--prior")
            .arg(&prior)
            .args(["--format", format])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Read one line's worth, then close the pipe as `head -1` does.
        let mut first = [0u8; 64];
        child
            .stdout
            .as_mut()
            .unwrap()
            .read_exact(&mut first)
            .unwrap();
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "--format {format}: {}",
            stderr(&out)
        );
        assert_eq!(stderr(&out), "", "--format {format}");
    }
}

/// Before: a case JSON file starting with a UTF-8 byte-order mark was "not valid JSON".
#[test]
fn case_json_with_a_byte_order_mark_is_accepted() {
    let case = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/cases/facial-redness-interval-extension.json");
    let plain = vigil!().arg("assess").arg(&case).output().unwrap();
    assert!(plain.status.success(), "{}", stderr(&plain));
    let dir = tempfile::tempdir().unwrap();
    let with_bom = dir.path().join("case.json");
    let mut bytes = b"\xEF\xBB\xBF".to_vec();
    bytes.extend(std::fs::read(&case).unwrap());
    std::fs::write(&with_bom, bytes).unwrap();
    let out = vigil!().arg("assess").arg(&with_bom).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    // The same assessment (the file's path, if printed, aside).
    let text = |o: &Output, p: &Path| {
        String::from_utf8_lossy(&o.stdout).replace(&p.display().to_string(), "CASE")
    };
    assert_eq!(text(&out, &with_bom), text(&plain, &case));
}

/// Before: `vigil ingest openfda` on a file that is not an openFDA document (or not JSON) put
/// "ingesting into STORE:" before the file, so the location was not first. Now the file and line
/// come first, as everywhere, exit status 2, and no store is created.
#[test]
fn openfda_input_errors_put_the_file_and_line_first() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    for (name, content, want) in [
        ("number.json", "42", "number.json: line 1: not an openFDA drug-event document: the top level is a JSON number"),
        ("empty.json", "", "empty.json: line 1: column 0: not valid JSON"),
        ("broken.json", "{\n  \"results\": [\n  oops", "broken.json: line 3: column 3: not valid JSON"),
    ] {
        let path = dir.path().join(name);
        std::fs::write(&path, content).unwrap();
        let out = vigil!().args(["ingest", "openfda"]).arg(&path).arg("--store").arg(&store).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{name}: {}", stderr(&out));
        let first = stderr(&out).lines().next().unwrap_or_default().to_owned();
        let expected = format!("vigil: error: {}", path.display()).replace(name, want);
        assert!(first.starts_with(&expected), "{name}: {first}");
        assert!(!store.join("CURRENT").exists(), "{name}: a store version was written");
    }
}

/// Before: `--out -` wrote a file named `-` in the working folder and printed nothing. Now `-` is
/// standard output, byte for byte what the run without `--out` prints; `./-` still names a file.
#[test]
fn out_dash_is_standard_output() {
    let dir = tempfile::tempdir().unwrap();
    let rows = dir.path().join("rows.csv");
    // Three reports: A with X twice, B with Y once (a = 2 for A–X, worked out by hand).
    std::fs::write(&rows, "id,drug,event\n1,A,X\n2,B,Y\n3,A,X\n").unwrap();
    let prior = dir.path().join("prior.json");
    std::fs::write(&prior, PRIOR).unwrap();
    let run = |extra: &[&str]| {
        let out = vigil!()
            .current_dir(dir.path())
            .args(["signals", "--counts", "rows.csv", "--prior", "prior.json"])
            .args(["--format", "csv"])
            .args(extra)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        String::from_utf8(out.stdout).unwrap()
    };
    let to_stdout = run(&[]);
    assert!(
        to_stdout.lines().any(|l| l.starts_with("A,X,2,0,0,1,")),
        "{to_stdout}"
    );
    assert_eq!(run(&["--out", "-"]), to_stdout);
    assert!(!dir.path().join("-").exists(), "a file named - was written");
    assert_eq!(run(&["--out", "./-"]), "");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("-")).unwrap(),
        to_stdout
    );
}
