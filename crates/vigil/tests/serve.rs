//! `vigil serve` as a real process: admin bootstrap, and durability — a burst of writes, kill -9 during
//! the burst, restart, and every acknowledged write is there. Runs on SQLite, and on PostgreSQL when
//! `VIGIL_TEST_POSTGRES_URL` is set (see crates/vigil-server/ci-setup.sh).
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

const VIGIL: &str = env!("CARGO_BIN_EXE_vigil");
const ADMIN_PASSWORD: &str = "admin password 123";
const PASSWORD: &str = "correct horse battery";

fn agent() -> ureq::Agent {
    ureq::Agent::new_with_config(
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(20)))
            .build(),
    )
}

/// A running `vigil serve`.
struct Server {
    child: Child,
    base: String,
}

impl Server {
    fn start(db: &str) -> Server {
        let mut child = Command::new(VIGIL)
            .args(["serve", "--db", db, "--listen", "127.0.0.1:0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        // "vigil serve: listening on http://127.0.0.1:PORT (database ...)"
        let base = line
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .unwrap_or_else(|| panic!("no address in {line:?}"))
            .to_string();
        Server { child, base }
    }
    fn kill9(&mut self) {
        // Child::kill sends SIGKILL on Unix: no shutdown handler runs.
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[derive(Clone)]
struct Session {
    cookie: String,
    csrf: String,
}

fn login(a: &ureq::Agent, base: &str, user: &str, password: &str) -> Session {
    let mut r = a
        .post(format!("{base}/api/login"))
        .send_json(json!({"username": user, "password": password}))
        .unwrap();
    assert_eq!(r.status(), 200);
    let cookie = r
        .headers()
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let body: Value = r.body_mut().read_json().unwrap();
    Session {
        cookie,
        csrf: body["csrf_token"].as_str().unwrap().to_string(),
    }
}

fn post(
    a: &ureq::Agent,
    base: &str,
    path: &str,
    s: &Session,
    body: Value,
) -> Result<(u16, Value), ureq::Error> {
    let mut r = a
        .post(format!("{base}{path}"))
        .header("cookie", &s.cookie)
        .header("x-csrf-token", &s.csrf)
        .send_json(body)?;
    let status = r.status().as_u16();
    let v: Value = r.body_mut().read_json().unwrap_or(Value::Null);
    Ok((status, v))
}

fn get(a: &ureq::Agent, base: &str, path: &str, s: &Session) -> Value {
    let mut r = a
        .get(format!("{base}{path}"))
        .header("cookie", &s.cookie)
        .call()
        .unwrap();
    assert_eq!(r.status(), 200);
    r.body_mut().read_json().unwrap()
}

fn create_admin(db: &str) -> std::process::Output {
    Command::new(VIGIL)
        .args(["serve", "--db", db, "--create-admin"])
        .env("VIGIL_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .output()
        .unwrap()
}

/// Burst of injection logs from 4 clients; kill -9 once `kill_after` were acknowledged; restart; check.
fn durability(db: &str) {
    let out = create_admin(db);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut server = Server::start(db);
    let base = server.base.clone();
    let a = agent();
    let admin = login(&a, &base, "admin", ADMIN_PASSWORD);
    let mk = |u: &str, role: &str| {
        let (s, v) = post(
            &a,
            &base,
            "/api/users",
            &admin,
            json!({"username": u, "password": PASSWORD, "role": role, "display_name": u}),
        )
        .unwrap();
        assert_eq!(s, 201, "{v}");
        v["id"].as_i64().unwrap()
    };
    let (patient, clinician) = (mk("pat1", "patient"), mk("doc_a", "clinician"));
    assert_eq!(
        post(
            &a,
            &base,
            "/api/assignments",
            &admin,
            json!({"clinician_id": clinician, "patient_id": patient})
        )
        .unwrap()
        .0,
        201
    );
    let doc = login(&a, &base, "doc_a", PASSWORD);
    let (s, v) = post(&a, &base, &format!("/api/patients/{patient}/regimen"), &doc, json!({"drug": "dupilumab", "dose_mg": 300, "interval_days": 14, "start_date": "2026-01-01"})).unwrap();
    assert_eq!(s, 201, "{v}");
    let pat = login(&a, &base, "pat1", PASSWORD);

    let acked: Arc<Mutex<Vec<(i64, String)>>> = Arc::default();
    let count = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let kill_after = 200;
    let workers: Vec<_> = (0..4)
        .map(|t| {
            let (acked, count, stop, pat, base) = (
                acked.clone(),
                count.clone(),
                stop.clone(),
                pat.clone(),
                base.clone(),
            );
            std::thread::spawn(move || {
                let a = agent();
                // Bounded: at most 5000 requests per client, and it stops at the first transport error.
                for i in 0..5000 {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let note = format!("burst t{t} #{i}");
                    match post(
                        &a,
                        &base,
                        &format!("/api/patients/{patient}/injections"),
                        &pat,
                        json!({"given_on": "2026-01-01", "dose_mg": 300, "note": note}),
                    ) {
                        Ok((201, v)) => {
                            acked
                                .lock()
                                .unwrap()
                                .push((v["id"].as_i64().unwrap(), note));
                            count.fetch_add(1, Ordering::Relaxed);
                        }
                        Ok((status, v)) => panic!("unexpected {status}: {v}"),
                        Err(_) => break,
                    }
                }
            })
        })
        .collect();
    let started = Instant::now();
    while count.load(Ordering::Relaxed) < kill_after && started.elapsed() < Duration::from_secs(60)
    {
        std::thread::sleep(Duration::from_millis(2));
    }
    server.kill9();
    let killed_at = count.load(Ordering::Relaxed);
    // Clients still in flight get a transport error now; give them a moment, then stop them.
    std::thread::sleep(Duration::from_millis(300));
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        w.join().unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    assert!(
        killed_at >= kill_after,
        "only {killed_at} writes acknowledged in 60 s"
    );

    let server = Server::start(db);
    let pat = login(&a, &server.base, "pat1", PASSWORD);
    let record = get(&a, &server.base, &format!("/api/patients/{patient}"), &pat);
    let stored: std::collections::HashMap<i64, String> = record["injections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["id"].as_i64().unwrap(),
                i["note"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let missing: Vec<&(i64, String)> = acked
        .iter()
        .filter(|(id, note)| stored.get(id) != Some(note))
        .collect();
    println!(
        "{db}: {} writes acknowledged before/around kill -9, {} stored after restart, {} missing",
        acked.len(),
        stored.len(),
        missing.len()
    );
    assert!(missing.is_empty(), "acknowledged but lost: {missing:?}");
    // At most the 4 requests in flight at the kill can be stored without an acknowledgement.
    assert!(
        stored.len() >= acked.len() && stored.len() <= acked.len() + 4,
        "{} stored, {} acknowledged",
        stored.len(),
        acked.len()
    );
    // Every acknowledged write has its audit row too (same transaction).
    let admin = login(&a, &server.base, "admin", ADMIN_PASSWORD);
    let log = get(&a, &server.base, "/api/audit", &admin);
    let audited = log["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "log_injection")
        .count();
    assert_eq!(audited, stored.len());
}

#[test]
fn acknowledged_writes_survive_kill_9_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    durability(&format!(
        "sqlite://{}",
        dir.path().join("vigil.db").display()
    ));
}

#[test]
fn acknowledged_writes_survive_kill_9_on_postgres() {
    let Ok(admin_url) = std::env::var("VIGIL_TEST_POSTGRES_URL") else {
        println!("skipping: VIGIL_TEST_POSTGRES_URL not set (PostgreSQL durability run)");
        return;
    };
    let name = format!("vigil_durability_{}", std::process::id());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        sqlx::any::install_default_drivers();
        let pool = sqlx::AnyPool::connect(&admin_url).await.unwrap();
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {name}"
        )))
        .execute(&pool)
        .await
        .unwrap();
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&pool)
            .await
            .unwrap();
    });
    let base = &admin_url[..admin_url.rfind('/').unwrap()];
    durability(&format!("{base}/{name}"));
}

#[test]
fn create_admin_bootstraps_once_and_refuses_weak_passwords() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("vigil.db").display());
    let out = create_admin(&db);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("created admin \"admin\" (user id 1)"));
    let again = create_admin(&db);
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr)
        .contains("vigil: error: user \"admin\" already exists"));
    let weak = Command::new(VIGIL)
        .args([
            "serve",
            "--db",
            &db,
            "--create-admin",
            "--admin-user",
            "root2",
        ])
        .env("VIGIL_ADMIN_PASSWORD", "short")
        .output()
        .unwrap();
    assert_eq!(weak.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&weak.stderr).contains("at least 12 characters"));
    let bad = Command::new(VIGIL)
        .args(["serve", "--db", "mysql://x"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("expected sqlite://FILE or postgres://"));
}
