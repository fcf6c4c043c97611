//! A real cluster on loopback: 1 scheduler + 2 executors of `vigil-cluster`, as separate processes
//! on free ports (`--vcores 1` each, their own work dirs). `vigil interactions` and `vigil signals`
//! run through it on a `vigil synth` store and give the local run's rows: integer counts identical,
//! scores within 1e-12 relative; both executors ran tasks (shuffle files in both work dirs). Then
//! one executor is killed and the next job either completes with the same rows or fails with an
//! error, within a bounded time (no hang).
//!
//! The `vigil` binary comes from the main workspace: built beside `vigil-cluster` (same
//! CARGO_TARGET_DIR, as `.ci/run` does) or named by `VIGIL_BIN`.

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use datafusion::arrow::datatypes::{DataType, Float64Type, Int64Type};
use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

fn cluster_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_vigil-cluster"))
}

fn vigil_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("VIGIL_BIN") {
        return PathBuf::from(p);
    }
    let beside = cluster_bin().with_file_name("vigil");
    assert!(
        beside.is_file(),
        "{}: no vigil binary; build the main workspace into the same target directory first (CARGO_TARGET_DIR=… cargo build --release at the repository root) or set VIGIL_BIN",
        beside.display()
    );
    beside
}

/// Kills the process when dropped, so that a failed assertion leaves no server behind.
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    free_ports(1)[0]
}

/// `n` distinct free loopback ports: all held open at once while chosen, so none is handed out
/// twice (one port picked and released at a time can come back on the next call).
fn free_ports(n: usize) -> Vec<u16> {
    let held: Vec<TcpListener> = (0..n)
        .map(|_| TcpListener::bind("127.0.0.1:0").unwrap())
        .collect();
    held.iter()
        .map(|l| l.local_addr().unwrap().port())
        .collect()
}

/// The last lines of each server log, for a failure message.
fn log_tails(dir: &Path) -> String {
    let mut out = String::new();
    for name in ["scheduler.log", "executor0.log", "executor1.log"] {
        let text = std::fs::read_to_string(dir.join(name)).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        out += &format!(
            "--- {name}\n{}\n",
            lines[lines.len().saturating_sub(15)..].join("\n")
        );
    }
    out
}

fn spawn(args: &[String], log: &Path) -> Guard {
    let file = std::fs::File::create(log).unwrap();
    let child = Command::new(cluster_bin())
        .args(args)
        .stdin(Stdio::null())
        .stdout(file.try_clone().unwrap())
        .stderr(file)
        .spawn()
        .unwrap();
    Guard(child)
}

fn s(x: impl ToString) -> String {
    x.to_string()
}

/// Runs `cmd`, killing it after `limit`; returns (success, stderr).
fn run_bounded(cmd: &mut Command, limit: Duration) -> (bool, String) {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let mut err = String::new();
            use std::io::Read;
            child
                .stderr
                .take()
                .unwrap()
                .read_to_string(&mut err)
                .unwrap();
            return (status.success(), err);
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{cmd:?} did not finish within {limit:?}: the cluster hangs");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn ok(cmd: &mut Command) {
    let (success, err) = run_bounded(cmd, Duration::from_secs(120));
    assert!(success, "{cmd:?}: {err}");
}

/// Rows of a result file by their text key: (integer cells, float cells, flags).
type Rows = BTreeMap<Vec<String>, (Vec<i64>, Vec<f64>, Vec<bool>)>;

fn read_rows(path: &Path) -> (Vec<String>, Rows) {
    let file = std::fs::File::open(path).unwrap();
    let reader = ParquetRecordBatchReaderBuilder::try_new(file).unwrap();
    let names: Vec<String> = reader
        .schema()
        .fields()
        .iter()
        .map(|f| format!("{}:{}", f.name(), f.data_type()))
        .collect();
    let batches: Vec<RecordBatch> = reader.build().unwrap().map(Result::unwrap).collect();
    let mut rows = Rows::new();
    for b in &batches {
        for i in 0..b.num_rows() {
            let (mut key, mut ints, mut floats, mut flags) =
                (Vec::new(), Vec::new(), Vec::new(), Vec::new());
            for c in b.columns() {
                assert!(!c.is_null(i));
                match c.data_type() {
                    DataType::Utf8 => key.push(c.as_string::<i32>().value(i).to_owned()),
                    DataType::Int64 => ints.push(c.as_primitive::<Int64Type>().value(i)),
                    DataType::Float64 => floats.push(c.as_primitive::<Float64Type>().value(i)),
                    DataType::Boolean => flags.push(c.as_boolean().value(i)),
                    other => panic!("unexpected column type {other}"),
                }
            }
            assert!(
                rows.insert(key.clone(), (ints, floats, flags)).is_none(),
                "{key:?} twice"
            );
        }
    }
    (names, rows)
}

/// Same columns, same keys, identical integers and flags, floats within 1e-12 relative.
fn assert_same(local: &Path, cluster: &Path, what: &str) -> usize {
    let (ln, l) = read_rows(local);
    let (cn, c) = read_rows(cluster);
    assert_eq!(ln, cn, "{what}: columns");
    assert_eq!(
        l.keys().collect::<Vec<_>>(),
        c.keys().collect::<Vec<_>>(),
        "{what}: row keys"
    );
    for (k, (li, lf, lb)) in &l {
        let (ci, cf, cb) = &c[k];
        assert_eq!(li, ci, "{what} {k:?}: counts");
        assert_eq!(lb, cb, "{what} {k:?}: flags");
        for (j, (x, y)) in lf.iter().zip(cf).enumerate() {
            let same = (x.is_nan() && y.is_nan())
                || x == y
                || (x - y).abs() <= 1e-12 * x.abs().max(y.abs());
            assert!(
                same,
                "{what} {k:?}: float column {j}: local {x} vs cluster {y}"
            );
        }
    }
    l.len()
}

fn files_under(dir: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| {
            let p = e.path();
            if p.is_dir() {
                files_under(&p)
            } else {
                1
            }
        })
        .sum()
}

fn get(url: &str) -> Option<String> {
    ureq::get(url)
        .config()
        .timeout_global(Some(Duration::from_secs(2)))
        .build()
        .call()
        .ok()?
        .body_mut()
        .read_to_string()
        .ok()
}

#[test]
fn loopback_cluster_gives_the_local_rows_and_survives_a_lost_executor() {
    let t0 = Instant::now();
    let vigil = vigil_bin();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();

    // A store with planted interactions, four quarters (so that superseded case versions exist).
    ok(Command::new(&vigil)
        .args([
            "synth",
            "--interactions",
            "--reports",
            "20000",
            "--seed",
            "5",
        ])
        .args(["--quarters", "4", "--out"])
        .arg(d.join("q")));
    let store = d.join("store");
    ok(Command::new(&vigil)
        .args(["ingest", "faers"])
        .arg(d.join("q"))
        .arg("--store")
        .arg(&store)
        .arg("--quiet"));

    // 1 scheduler + 2 executors on loopback. Short heartbeats and timeouts so that a lost executor
    // is noticed within seconds (Ballista's defaults are minutes).
    // Scheduler, then per executor: Flight, gRPC and health ports.
    let ports = free_ports(7);
    let sched_port = ports[0];
    let scheduler = spawn(
        &[
            s("scheduler"),
            s("--bind-host"),
            s("127.0.0.1"),
            s("--bind-port"),
            s(sched_port),
            s("--executor-timeout-seconds"),
            s(6),
            s("--expire-dead-executor-interval-seconds"),
            s(2),
        ],
        &d.join("scheduler.log"),
    );
    let mut executors = Vec::new();
    let mut health = Vec::new();
    let mut work_dirs = Vec::new();
    for k in 0..2 {
        let work = d.join(format!("work{k}"));
        std::fs::create_dir_all(&work).unwrap();
        let (flight, grpc, hp) = (ports[1 + 3 * k], ports[2 + 3 * k], ports[3 + 3 * k]);
        executors.push(spawn(
            &[
                s("executor"),
                s("--bind-host"),
                s("127.0.0.1"),
                s("--external-host"),
                s("127.0.0.1"),
                s("--bind-port"),
                s(flight),
                s("--bind-grpc-port"),
                s(grpc),
                s("--bind-health-port"),
                s(hp),
                s("--scheduler-host"),
                s("127.0.0.1"),
                s("--scheduler-port"),
                s(sched_port),
                s("--work-dir"),
                work.display().to_string(),
                s("--vcores"),
                s(1),
                s("--executor-heartbeat-interval-seconds"),
                s(1),
            ],
            &d.join(format!("executor{k}.log")),
        ));
        health.push(hp);
        work_dirs.push(work);
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let ready = health
            .iter()
            .all(|p| get(&format!("http://127.0.0.1:{p}/readyz")).is_some());
        let registered = get(&format!("http://127.0.0.1:{sched_port}/api/executors"))
            .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
            .and_then(|v| v.as_array().map(Vec::len))
            .unwrap_or(0);
        if ready && registered == 2 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "executors not registered within 60 s (ready {ready}, registered {registered}):\n{}",
            log_tails(d)
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let url = format!("df://127.0.0.1:{sched_port}");

    // The same job locally and on the cluster, compared row by row.
    let compare = |what: &str, args: &[&str]| -> usize {
        let local = d.join(format!("{what}-local.parquet"));
        let remote = d.join(format!("{what}-cluster.parquet"));
        ok(Command::new(&vigil)
            .args(args)
            .arg("--store")
            .arg(&store)
            .args(["--format", "parquet", "--out"])
            .arg(&local));
        ok(Command::new(&vigil)
            .args(args)
            .arg("--store")
            .arg(&store)
            .args(["--format", "parquet", "--out"])
            .arg(&remote)
            .args(["--cluster", &url]));
        assert_same(&local, &remote, what)
    };
    let n = compare("interactions", &["interactions", "--min-count", "3"]);
    assert!(n > 20, "{n} interaction rows");
    let n = compare(
        "interactions-stratified",
        &["interactions", "--min-count", "3", "--stratify", "sex"],
    );
    assert!(n > 20, "{n} stratified interaction rows");
    let n = compare("signals", &["signals", "--min-count", "1"]);
    assert!(n > 100, "{n} signal rows");

    // The planted interaction is there, through the CSV path as well.
    let out = Command::new(&vigil)
        .args(["interactions", "--store"])
        .arg(&store)
        .args(["--min-count", "3", "--format", "csv", "--cluster", &url])
        .args(["--event", "rhabdomyolysis"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let csv = String::from_utf8(out.stdout).unwrap();
    assert!(
        csv.starts_with("drug1,drug2,event,n111,n11.,n1.1,n.11,n1..,n.1.,n..1,n...,expected,observed_expected,omega,omega025,omega975,signal_omega\n"),
        "{csv}"
    );
    assert!(
        csv.contains("SYNTHETIC INTERACTOR A,SYNTHETIC INTERACTOR B,RHABDOMYOLYSIS,"),
        "{csv}"
    );

    // Both executors ran tasks: each wrote shuffle files into its work dir.
    for (k, w) in work_dirs.iter().enumerate() {
        assert!(
            files_under(w) > 0,
            "executor {k} wrote no shuffle file in {}",
            w.display()
        );
    }

    // A lost executor: the next job completes on the other one with the same rows, or fails with
    // an error message; either way within the bound (run_bounded panics on a hang).
    drop(executors.pop());
    let local = d.join("interactions-local.parquet");
    let after = d.join("after-loss.parquet");
    let (success, err) = run_bounded(
        Command::new(&vigil)
            .args(["interactions", "--min-count", "3", "--store"])
            .arg(&store)
            .args(["--format", "parquet", "--out"])
            .arg(&after)
            .args(["--cluster", &url]),
        Duration::from_secs(90),
    );
    if success {
        assert_same(&local, &after, "after losing an executor");
        eprintln!("after losing an executor: the job completed on the other one");
    } else {
        assert!(
            err.contains("vigil: error:") && err.contains("cluster job failed"),
            "{err}"
        );
        eprintln!("after losing an executor: the job failed clearly: {err}");
    }
    drop(executors);
    drop(scheduler);
    eprintln!("loopback cluster test: {:.1} s", t0.elapsed().as_secs_f64());
}

#[test]
fn an_unreachable_scheduler_is_a_clear_error_not_a_hang() {
    let vigil = vigil_bin();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(Command::new(&vigil)
        .args(["synth", "--reports", "500", "--seed", "2", "--out"])
        .arg(d.join("q")));
    ok(Command::new(&vigil)
        .args(["ingest", "faers"])
        .arg(d.join("q"))
        .arg("--store")
        .arg(d.join("store"))
        .arg("--quiet"));
    // A port nobody listens on (bound, then released).
    let port = free_port();
    let (success, err) = run_bounded(
        Command::new(&vigil)
            .args(["interactions", "--store"])
            .arg(d.join("store"))
            .args(["--cluster", &format!("df://127.0.0.1:{port}")]),
        Duration::from_secs(60),
    );
    assert!(!success);
    assert!(err.contains("vigil-cluster: error:"), "{err}");
    assert!(err.contains("cluster job failed"), "{err}");
}
