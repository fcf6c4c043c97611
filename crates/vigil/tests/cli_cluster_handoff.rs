//! `--cluster`: how `vigil` hands a job to the `vigil-cluster` binary and prints its result,
//! checked without a cluster. A stand-in `vigil-cluster` (a shell script beside a copy of `vigil`)
//! records the arguments it is given and answers with the local command's own Parquet output, which
//! has the columns the real cluster writes. Printed in each format, that answer must equal the
//! local command's output byte for byte: the cluster path draws its tables with the local writers.
//! (The real cluster's rows, on a real loopback cluster, are checked against the local ones in
//! crates/vigil-cluster/tests/loopback.rs.)

#![cfg(unix)]

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use vigil_test_support::cli::{ok, output, stderr};
use vigil_test_support::vigil;

use common::{synth_store, Synth};

/// A copy of `vigil` in `dir` with a stand-in `vigil-cluster` beside it (where `vigil` looks
/// first). The stand-in writes its arguments to `dir/args.txt` and copies `$STAND_IN_RESULT` to
/// the file named by `--out`.
fn vigil_with_stand_in(dir: &Path) -> PathBuf {
    let bin = dir.join("vigil");
    std::fs::copy(env!("CARGO_BIN_EXE_vigil"), &bin).unwrap();
    let script = dir.join("vigil-cluster");
    let args = dir.join("args.txt");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\necho \"$@\" > '{}'\nwhile [ $# -gt 0 ]; do\n  if [ \"$1\" = --out ]; then cp \"$STAND_IN_RESULT\" \"$2\"; exit $?; fi\n  shift\ndone\nexit 3\n",
            args.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    bin
}

/// Runs `cmd` (`signals` or `interactions`) locally in every format and through the stand-in
/// cluster, and asserts equal outputs.
fn same_output_through_the_cluster(
    store: &Path,
    dir: &Path,
    bin: &Path,
    cmd: &str,
    extra: &[&str],
) {
    let local_parquet = dir.join(format!("{cmd}-local.parquet"));
    ok(vigil!()
        .arg(cmd)
        .arg("--store")
        .arg(store)
        .args(extra)
        .args(["--format", "parquet", "--out"])
        .arg(&local_parquet));
    for format in ["table", "csv", "json"] {
        let local = ok(vigil!()
            .arg(cmd)
            .arg("--store")
            .arg(store)
            .args(extra)
            .args(["--format", format]));
        let through = ok(Command::new(bin)
            .env("STAND_IN_RESULT", &local_parquet)
            .arg(cmd)
            .arg("--store")
            .arg(store)
            .args(extra)
            .args(["--cluster", "df://127.0.0.1:1", "--format", format]));
        assert!(
            local.lines().count() > 5,
            "{cmd} --format {format}: too few rows to compare"
        );
        assert_eq!(through, local, "{cmd} --format {format}");
    }
    // Parquet is copied as the cluster wrote it.
    let through_parquet = dir.join(format!("{cmd}-cluster.parquet"));
    ok(Command::new(bin)
        .env("STAND_IN_RESULT", &local_parquet)
        .arg(cmd)
        .arg("--store")
        .arg(store)
        .args(extra)
        .args([
            "--cluster",
            "df://127.0.0.1:1",
            "--format",
            "parquet",
            "--out",
        ])
        .arg(&through_parquet));
    assert_eq!(
        std::fs::read(&through_parquet).unwrap(),
        std::fs::read(&local_parquet).unwrap()
    );
}

#[test]
fn a_cluster_result_prints_exactly_as_the_local_run_and_the_options_are_handed_on() {
    let dir = tempfile::tempdir().unwrap();
    let store = synth_store(
        dir.path(),
        &Synth {
            reports: 6000,
            seed: 11,
            quarters: Some(4),
            interactions: true,
        },
    );
    let bin = vigil_with_stand_in(dir.path());

    same_output_through_the_cluster(&store, dir.path(), &bin, "signals", &["--min-count", "3"]);
    let args = std::fs::read_to_string(dir.path().join("args.txt")).unwrap();
    let expected = format!(
        "run-signals --scheduler df://127.0.0.1:1 --store {} --role suspect --min-count 3 --out ",
        store.display()
    );
    assert!(args.starts_with(&expected), "{args}");

    let extra = ["--stratify", "sex", "--role", "ps,ss,i", "--min-count", "3"];
    same_output_through_the_cluster(&store, dir.path(), &bin, "interactions", &extra);
    let args = std::fs::read_to_string(dir.path().join("args.txt")).unwrap();
    assert!(
        args.starts_with("run-interactions --scheduler df://127.0.0.1:1 --store "),
        "{args}"
    );
    assert!(
        args.contains(" --role ps,ss,i --min-count 3 --out "),
        "{args}"
    );
    assert!(args.trim_end().ends_with("--stratify sex"), "{args}");
}

#[test]
fn a_failed_cluster_job_is_an_error_and_prints_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let bin = vigil_with_stand_in(dir.path());
    // No STAND_IN_RESULT: the stand-in's `cp` fails, as a failed cluster job would exit non-zero.
    let out = output(
        Command::new(&bin)
            .env_remove("STAND_IN_RESULT")
            .args(["signals", "--store"])
            .arg(dir.path().join("no-store"))
            .args(["--cluster", "df://127.0.0.1:1", "--format", "csv"]),
    );
    assert!(!out.status.success());
    assert!(out.stdout.is_empty());
    assert!(
        stderr(&out).contains("the cluster job failed"),
        "{}",
        stderr(&out)
    );
}
