//! Bounded loopback load test of the real `vigil serve` binary.
//!
//! ```text
//! cargo build --release -p vigil && cargo run --release -p vigil-server --example loadtest -- [REQUESTS] [CLIENTS] [DB]
//! ```
//! Defaults: 4000 requests per scenario, 8 client threads, a fresh SQLite file (`DB` may be a
//! `postgres://` URL of an empty database). It starts `target/release/vigil serve` on 127.0.0.1 (port
//! chosen by the OS), creates an admin, a clinician and two patients through the API, then runs three
//! scenarios with logged-in sessions (logins are not measured: argon2 is deliberately slow):
//! - read: `GET /api/patients/{id}` of a patient with 20 injections, 8 scores and 3 reactions;
//! - write: `POST /api/patients/{id}/injections` (one transaction + audit row, fsync'd on SQLite);
//! - mixed: 80% reads, 20% writes.
//!
//! It prints throughput and latency percentiles and exits 1 if any request failed. Traffic goes only to
//! the loopback address and every loop is bounded by its request count.
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

const PASSWORD: &str = "load test password";

#[derive(Clone)]
struct Session {
    cookie: String,
    csrf: String,
}

fn agent() -> ureq::Agent {
    ureq::Agent::new_with_config(
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(30)))
            .build(),
    )
}

fn login(a: &ureq::Agent, base: &str, user: &str) -> Session {
    let mut r = a
        .post(format!("{base}/api/login"))
        .send_json(json!({"username": user, "password": PASSWORD}))
        .expect("login");
    assert_eq!(r.status(), 200, "login {user}");
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
    let v: Value = r.body_mut().read_json().unwrap();
    Session {
        cookie,
        csrf: v["csrf_token"].as_str().unwrap().to_string(),
    }
}

fn post(a: &ureq::Agent, base: &str, path: &str, s: &Session, body: &Value) -> Result<u16, String> {
    let mut r = a
        .post(format!("{base}{path}"))
        .header("cookie", &s.cookie)
        .header("x-csrf-token", &s.csrf)
        .send_json(body)
        .map_err(|e| e.to_string())?;
    let _ = r.body_mut().read_to_vec();
    Ok(r.status().as_u16())
}

fn get(a: &ureq::Agent, base: &str, path: &str, s: &Session) -> Result<u16, String> {
    let mut r = a
        .get(format!("{base}{path}"))
        .header("cookie", &s.cookie)
        .call()
        .map_err(|e| e.to_string())?;
    let _ = r.body_mut().read_to_vec().map_err(|e| e.to_string())?;
    Ok(r.status().as_u16())
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    // Nearest-rank percentile: the smallest value with at least p% of the sample at or below it.
    let rank = ((p / 100.0) * sorted.len() as f64).ceil().max(1.0) as usize;
    sorted[rank.min(sorted.len()) - 1]
}

/// Run `requests` requests from `clients` threads; `write_every` = 0 for reads only, 1 for writes only,
/// n for one write in n requests.
/// Where the scenarios send their requests.
struct Target {
    base: String,
    reader: Session,
    read_id: i64,
    writer: Session,
    write_id: i64,
}

fn scenario(name: &str, t: &Target, requests: usize, clients: usize, write_every: usize) -> bool {
    let (read_id, write_id) = (t.read_id, t.write_id);
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let handles: Vec<_> = (0..clients)
        .map(|_| {
            let (next, base, reader, writer) = (next.clone(), t.base.clone(), t.reader.clone(), t.writer.clone());
            std::thread::spawn(move || {
                let a = agent();
                let mut lat = Vec::new();
                let mut errors = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= requests {
                        break;
                    }
                    let write = write_every == 1 || (write_every > 1 && i % write_every == 0);
                    let t = Instant::now();
                    let result = if write {
                        let body = json!({"given_on": "2026-01-02", "dose_mg": 300, "site": "thigh", "note": format!("load {i}")});
                        post(&a, &base, &format!("/api/patients/{write_id}/injections"), &writer, &body).map(|s| (s, 201))
                    } else {
                        get(&a, &base, &format!("/api/patients/{read_id}"), &reader).map(|s| (s, 200))
                    };
                    lat.push(t.elapsed());
                    match result {
                        Ok((got, want)) if got == want => {}
                        Ok((got, want)) => errors.push(format!("status {got}, expected {want}")),
                        Err(e) => errors.push(e),
                    }
                }
                (lat, errors)
            })
        })
        .collect();
    let mut lat = Vec::new();
    let mut errors = Vec::new();
    for h in handles {
        let (l, e) = h.join().unwrap();
        lat.extend(l);
        errors.extend(e);
    }
    let wall = started.elapsed();
    lat.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "| {name} | {} | {clients} | {:.2} | {:.0} | {:.2} | {:.2} | {:.2} | {:.2} | {} |",
        lat.len(),
        wall.as_secs_f64(),
        lat.len() as f64 / wall.as_secs_f64(),
        ms(percentile(&lat, 50.0)),
        ms(percentile(&lat, 90.0)),
        ms(percentile(&lat, 99.0)),
        ms(*lat.last().unwrap()),
        errors.len()
    );
    for e in errors.iter().take(5) {
        eprintln!("  error: {e}");
    }
    errors.is_empty()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let requests: usize = args
        .get(1)
        .map(|s| s.parse().expect("REQUESTS"))
        .unwrap_or(4000);
    let clients: usize = args
        .get(2)
        .map(|s| s.parse().expect("CLIENTS"))
        .unwrap_or(8);
    assert!(
        requests <= 100_000 && clients <= 64,
        "bounded run: at most 100000 requests and 64 clients"
    );
    let dir = tempfile::tempdir().unwrap();
    let db = args
        .get(3)
        .cloned()
        .unwrap_or_else(|| format!("sqlite://{}", dir.path().join("load.db").display()));
    let exe = std::env::current_exe().unwrap();
    let vigil = exe
        .parent()
        .and_then(|p| p.parent())
        .map(|p| p.join("vigil"))
        .filter(|p| p.exists())
        .expect("target/release/vigil: run `cargo build --release -p vigil` first");

    let out = Command::new(&vigil)
        .args(["serve", "--db", &db, "--create-admin"])
        .env("VIGIL_ADMIN_PASSWORD", PASSWORD)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut child = Command::new(&vigil)
        .args(["serve", "--db", &db, "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let base = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .expect("listening line")
        .to_string();

    let a = agent();
    let admin = login(&a, &base, "admin");
    let mut ids = Vec::new();
    for (u, role) in [
        ("reader", "patient"),
        ("writer", "patient"),
        ("doc", "clinician"),
    ] {
        let mut r = a
            .post(format!("{base}/api/users"))
            .header("cookie", &admin.cookie)
            .header("x-csrf-token", &admin.csrf)
            .send_json(
                json!({"username": u, "password": PASSWORD, "role": role, "display_name": u}),
            )
            .unwrap();
        let v: Value = r.body_mut().read_json().unwrap();
        ids.push(v["id"].as_i64().unwrap());
    }
    let (read_id, write_id, doc_id) = (ids[0], ids[1], ids[2]);
    for p in [read_id, write_id] {
        assert_eq!(
            post(
                &a,
                &base,
                "/api/assignments",
                &admin,
                &json!({"clinician_id": doc_id, "patient_id": p})
            ),
            Ok(201)
        );
    }
    let doc = login(&a, &base, "doc");
    for p in [read_id, write_id] {
        let body = json!({"drug": "dupilumab", "dose_mg": 300, "interval_days": 14, "start_date": "2026-01-01"});
        assert_eq!(
            post(
                &a,
                &base,
                &format!("/api/patients/{p}/regimen"),
                &doc,
                &body
            ),
            Ok(201)
        );
    }
    let reader = login(&a, &base, "reader");
    let writer = login(&a, &base, "writer");
    for i in 0..20 {
        let body = json!({"given_on": "2026-01-01", "dose_mg": 300, "site": "thigh", "note": format!("seed {i}")});
        assert_eq!(
            post(
                &a,
                &base,
                &format!("/api/patients/{read_id}/injections"),
                &reader,
                &body
            ),
            Ok(201)
        );
    }
    for i in 0..8 {
        let body = json!({"week_start": "2026-01-05", "poem_days": [i % 8, 1, 2, 3, 4, 5, 6], "pp_nrs": i});
        assert_eq!(
            post(
                &a,
                &base,
                &format!("/api/patients/{read_id}/scores"),
                &reader,
                &body
            ),
            Ok(201)
        );
    }
    for i in 0..3 {
        let body = json!({"onset_date": "2026-02-01", "description": format!("seed reaction {i}"), "sites": ["face"], "features": ["erythema"]});
        assert_eq!(
            post(
                &a,
                &base,
                &format!("/api/patients/{read_id}/reactions"),
                &reader,
                &body
            ),
            Ok(201)
        );
    }

    println!(
        "vigil serve load test: {base}, database {}",
        if db.starts_with("sqlite") {
            "SQLite (WAL, synchronous=FULL)"
        } else {
            "PostgreSQL"
        }
    );
    println!("| scenario | requests | clients | wall s | req/s | p50 ms | p90 ms | p99 ms | max ms | errors |");
    println!("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    let target = Target {
        base: base.clone(),
        reader,
        read_id,
        writer,
        write_id,
    };
    let mut ok = true;
    ok &= scenario("read (GET record)", &target, requests, clients, 0);
    ok &= scenario("write (POST injection)", &target, requests, clients, 1);
    ok &= scenario("mixed 80/20", &target, requests, clients, 5);
    let _ = child.kill();
    let _ = child.wait();
    if !ok {
        eprintln!("loadtest: some requests failed");
        std::process::exit(1);
    }
}
