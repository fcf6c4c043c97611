//! End to end in real headless Chromium, driven over the W3C WebDriver protocol by chromedriver
//! (Debian `chromium` + `chromium-driver`): a patient logs an injection and a reaction; the clinician
//! reviews it, records SCORAD and exports the ICSR; a patient cannot open another patient's page by
//! guessing the URL. The scenario runs on SQLite and, when `VIGIL_TEST_POSTGRES_URL` is set, again on a
//! fresh PostgreSQL database. Skips with a message when chromedriver or chromium is absent, unless
//! `VIGIL_REQUIRE_CHROMIUM` is set (CI sets it), in which case a missing browser fails the test.
mod common;

use std::net::{SocketAddr, TcpListener};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use vigil_server::api::{NewAssignment, NewUser};
use vigil_server::auth::Role;
use vigil_server::records::{self, RegimenInput};

use common::PASSWORD;

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

fn agent() -> ureq::Agent {
    ureq::Agent::new_with_config(
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(60)))
            .build(),
    )
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A chromedriver process and one browser session.
struct Browser {
    driver: Child,
    base: String,
    session: String,
    http: ureq::Agent,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self
            .http
            .delete(format!("{}/session/{}", self.base, self.session))
            .call();
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

impl Browser {
    fn start(chromedriver: &str, chromium: &str) -> Browser {
        let port = free_port();
        let driver = Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let base = format!("http://127.0.0.1:{port}");
        let http = agent();
        let started = Instant::now();
        loop {
            if let Ok(mut r) = http.get(format!("{base}/status")).call() {
                let v: Value = r.body_mut().read_json().unwrap_or(Value::Null);
                if v["value"]["ready"] == true {
                    break;
                }
            }
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "chromedriver did not start"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        let caps = json!({"capabilities": {"alwaysMatch": {"browserName": "chrome", "goog:chromeOptions": {
            "binary": chromium,
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1200,2000"]}}}});
        let mut r = http
            .post(format!("{base}/session"))
            .send_json(caps)
            .unwrap();
        let v: Value = r.body_mut().read_json().unwrap();
        let session = v["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {v}"))
            .to_string();
        Browser {
            driver,
            base,
            session,
            http,
        }
    }

    fn cmd(&self, method: &str, path: &str, body: Value) -> Value {
        let url = format!("{}/session/{}{}", self.base, self.session, path);
        let mut r = match method {
            "GET" => self.http.get(url).call().unwrap(),
            _ => self.http.post(url).send_json(body).unwrap(),
        };
        let v: Value = r.body_mut().read_json().unwrap();
        if let Some(e) = v["value"]["error"].as_str() {
            panic!("webdriver {method} {path}: {e}: {}", v["value"]["message"]);
        }
        v["value"].clone()
    }

    fn goto(&self, url: &str) {
        self.cmd("POST", "/url", json!({"url": url}));
    }
    fn url(&self) -> String {
        self.cmd("GET", "/url", Value::Null)
            .as_str()
            .unwrap()
            .to_string()
    }
    fn source(&self) -> String {
        self.cmd("GET", "/source", Value::Null)
            .as_str()
            .unwrap()
            .to_string()
    }
    /// Find an element, waiting up to 10 s for it to appear.
    fn find(&self, css: &str) -> String {
        let started = Instant::now();
        loop {
            let url = format!("{}/session/{}/element", self.base, self.session);
            let mut r = self
                .http
                .post(url)
                .send_json(json!({"using": "css selector", "value": css}))
                .unwrap();
            let v: Value = r.body_mut().read_json().unwrap();
            if let Some(id) = v["value"][ELEMENT].as_str() {
                return id.to_string();
            }
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "no element {css} on {}",
                self.url()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    fn text_of(&self, css: &str) -> String {
        let id = self.find(css);
        self.cmd("GET", &format!("/element/{id}/text"), Value::Null)
            .as_str()
            .unwrap()
            .to_string()
    }
    fn type_into(&self, css: &str, text: &str) {
        let id = self.find(css);
        self.cmd("POST", &format!("/element/{id}/clear"), json!({}));
        self.cmd(
            "POST",
            &format!("/element/{id}/value"),
            json!({"text": text}),
        );
    }
    fn click(&self, css: &str) {
        let id = self.find(css);
        self.cmd("POST", &format!("/element/{id}/click"), json!({}));
    }
    /// Click something that loads a new page (a submit button or a link) and wait until the old page is
    /// gone: its `<html>` element reference goes stale once the new document replaces it.
    fn click_and_wait(&self, css: &str) {
        let old = self.find("html");
        self.click(css);
        let started = Instant::now();
        loop {
            let url = format!("{}/session/{}/element/{old}/name", self.base, self.session);
            let mut r = self.http.get(url).call().unwrap();
            let v: Value = r.body_mut().read_json().unwrap();
            if v["value"]["error"].as_str() == Some("stale element reference") {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "clicking {css} did not load a new page"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Wait until the page's URL ends with `suffix` (its query ignored unless `suffix` has one).
    fn wait_url(&self, suffix: &str) {
        let started = Instant::now();
        let current = || {
            let url = self.url();
            if suffix.contains('?') {
                url
            } else {
                url.split('?').next().unwrap_or("").to_string()
            }
        };
        while !current().ends_with(suffix) {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "url {} does not end with {suffix}",
                self.url()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    fn login(&self, app: &str, user: &str) {
        self.goto(&format!("{app}/login"));
        self.type_into("#username", user);
        self.type_into("#password", PASSWORD);
        self.click_and_wait("#login");
    }
    fn session_cookie(&self) -> String {
        let cookies = self.cmd("GET", "/cookie", Value::Null);
        let c = cookies
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == "vigil_session")
            .expect("session cookie")
            .clone();
        assert_eq!(c["httpOnly"], true);
        assert_eq!(c["sameSite"], "Strict");
        format!("vigil_session={}", c["value"].as_str().unwrap())
    }
    /// Run a script in the page and return its value (WebDriver "execute sync"; the page's CSP, which
    /// forbids page scripts, does not apply to the driver's).
    fn script(&self, body: &str) -> Value {
        self.cmd("POST", "/execute/sync", json!({"script": body, "args": []}))
    }
    fn set_window(&self, width: u32, height: u32) {
        self.cmd(
            "POST",
            "/window/rect",
            json!({"width": width, "height": height}),
        );
    }
    /// Page width as laid out vs the viewport: no horizontal overflow when the first is not larger.
    fn widths(&self) -> (i64, i64) {
        let v = self.script(
            "return [document.documentElement.scrollWidth, document.documentElement.clientWidth];",
        );
        (v[0].as_i64().unwrap(), v[1].as_i64().unwrap())
    }
    /// The elements reaching past the right edge (for the failure message of an overflow check).
    fn overflowing(&self) -> String {
        self.script(
            "const w = document.documentElement.clientWidth; return [...document.querySelectorAll('body *')]\
             .filter(e => e.getBoundingClientRect().right > w + 1 && ![...e.children].some(c => c.getBoundingClientRect().right > w + 1))\
             .slice(0, 8).map(e => e.tagName + (e.id ? '#' + e.id : '') + ' ' + Math.round(e.getBoundingClientRect().right)).join(', ');",
        )
        .to_string()
    }
    fn screenshot(&self, path: &std::path::Path) {
        use std::io::Write as _;
        let b64 = self
            .cmd("GET", "/screenshot", Value::Null)
            .as_str()
            .unwrap()
            .to_string();
        // Keep the PNG for a person to look at (decoded by hand: base64 is small to do here).
        let bytes = decode_base64(&b64);
        std::fs::File::create(path)
            .unwrap()
            .write_all(&bytes)
            .unwrap();
    }
}

fn decode_base64(s: &str) -> Vec<u8> {
    let val = |c: u8| match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        _ => 63,
    };
    let clean: Vec<u8> = s
        .bytes()
        .filter(|c| *c != b'=' && !c.is_ascii_whitespace())
        .collect();
    let mut out = Vec::with_capacity(clean.len() * 3 / 4);
    for chunk in clean.chunks(4) {
        let n = chunk.iter().enumerate().fold(0u32, |acc, (i, &c)| {
            acc | (u32::from(val(c)) << (18 - 6 * i))
        });
        out.push((n >> 16) as u8);
        if chunk.len() > 2 {
            out.push((n >> 8) as u8);
        }
        if chunk.len() > 3 {
            out.push(n as u8);
        }
    }
    out
}

/// The database a server of the scenario runs on.
enum Database {
    /// A new SQLite file at this path.
    Sqlite(std::path::PathBuf),
    /// A new, empty database on the PostgreSQL server of `VIGIL_TEST_POSTGRES_URL` (which must be set).
    Postgres,
}

/// The time zone of the third patient: UTC+11 all year (no daylight saving), as in the issue.
const UTC_PLUS_11: &str = "Pacific/Noumea";

/// Fixture over a real socket: admin, patients pat1 (assigned to doc_a), pat2, and pat3 in UTC+11
/// (assigned to doc_a), a dupilumab regimen for each, one reaction of pat2. Returns the base URL and ids
/// (pat1, pat2, reaction of pat2, pat3).
fn start_server(database: Database) -> (String, i64, i64, i64, i64) {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let url = match database {
                Database::Sqlite(file) => format!("sqlite://{}", file.display()),
                Database::Postgres => common::postgres_url("the browser test")
                    .await
                    .expect("VIGIL_TEST_POSTGRES_URL is set"),
            };
            let db = vigil_server::db::Db::connect(&url).await.unwrap();
            let state = vigil_server::AppState::new(db.clone(), false).unwrap();
            let admin = vigil_server::create_admin(&db, "admin", PASSWORD)
                .await
                .unwrap();
            let user = |u: &str, role: Role, name: &str| NewUser {
                username: u.into(),
                password: PASSWORD.into(),
                role,
                display_name: name.into(),
                birth_date: (role == Role::Patient).then(|| "1988-03-14".into()),
                sex: None,
                weight_kg: None,
                time_zone: None,
            };
            let p1 = vigil_server::api::create_user(
                &state,
                admin,
                &user("pat1", Role::Patient, "Patient One"),
            )
            .await
            .unwrap();
            let p2 = vigil_server::api::create_user(
                &state,
                admin,
                &user("pat2", Role::Patient, "Patient Two"),
            )
            .await
            .unwrap();
            let p3 = vigil_server::api::create_user(
                &state,
                admin,
                &NewUser {
                    time_zone: Some(UTC_PLUS_11.into()),
                    ..user("pat3", Role::Patient, "Patient Three")
                },
            )
            .await
            .unwrap();
            let doc = vigil_server::api::create_user(
                &state,
                admin,
                &user("doc_a", Role::Clinician, "Dr A"),
            )
            .await
            .unwrap();
            vigil_server::api::assign(
                &state,
                admin,
                &NewAssignment {
                    clinician_id: doc,
                    patient_id: p1,
                },
            )
            .await
            .unwrap();
            vigil_server::api::assign(
                &state,
                admin,
                &NewAssignment {
                    clinician_id: doc,
                    patient_id: p3,
                },
            )
            .await
            .unwrap();
            let start = (records::today() - chrono::Duration::days(60)).to_string();
            for p in [p1, p2, p3] {
                let r = RegimenInput {
                    drug: "dupilumab".into(),
                    dose_mg: 300.0,
                    interval_days: 14,
                    indication: None,
                    start_date: start.clone(),
                };
                records::insert_regimen(&state, doc, p, &r).await.unwrap();
            }
            let r2 = records::insert_reaction(
                &state,
                p2,
                p2,
                &records::ReactionInput {
                    onset_date: start.clone(),
                    description: "Patient Two's private rash".into(),
                    sites: vec![],
                    features: vec![],
                    different_from_usual: None,
                    rest_of_skin_improving: None,
                },
            )
            .await
            .unwrap();
            let config = vigil_server::Config {
                db_url: url.clone(),
                listen: "127.0.0.1:0".parse::<SocketAddr>().unwrap(),
                secure_cookies: false,
            };
            vigil_server::serve(db, &config, move |addr| {
                tx.send((format!("http://{addr}"), p1, p2, r2, p3)).unwrap()
            })
            .await
            .unwrap();
        });
    });
    rx.recv_timeout(Duration::from_secs(30)).unwrap()
}

#[test]
fn patient_reports_clinician_reviews_and_exports_in_headless_chromium() {
    let chromium =
        std::env::var("VIGIL_TEST_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    let chromedriver = std::env::var("VIGIL_TEST_CHROMEDRIVER").ok().or_else(|| {
        std::env::var_os("PATH")
            .and_then(|p| {
                std::env::split_paths(&p)
                    .map(|d| d.join("chromedriver"))
                    .find(|f| f.is_file())
            })
            .map(|p| p.display().to_string())
    });
    let Some(chromedriver) = chromedriver.filter(|_| std::path::Path::new(&chromium).exists())
    else {
        // Optional locally; where a browser is required (CI), a missing one must not pass as a skip.
        assert!(
            std::env::var_os("VIGIL_REQUIRE_CHROMIUM").is_none(),
            "VIGIL_REQUIRE_CHROMIUM is set but chromedriver or {chromium} was not found"
        );
        println!("skipping: chromedriver or {chromium} not found (apt-get install chromium chromium-driver, or source crates/vigil-server/ci-setup.sh)");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    println!("browser scenario on SQLite");
    scenario(
        &chromedriver,
        &chromium,
        start_server(Database::Sqlite(dir.path().join("vigil.db"))),
    );
    if std::env::var_os(common::PG_ENV).is_some() {
        println!("browser scenario on PostgreSQL");
        scenario(&chromedriver, &chromium, start_server(Database::Postgres));
    } else {
        println!(
            "skipping: {} not set, so the browser test ran on SQLite only",
            common::PG_ENV
        );
    }
}

/// The whole end-to-end scenario in one new browser session against the server at `app`.
fn scenario(
    chromedriver: &str,
    chromium: &str,
    (app, p1, p2, r2, p3): (String, i64, i64, i64, i64),
) {
    let shots = std::env::var("VIGIL_TEST_SCREENSHOTS")
        .ok()
        .map(std::path::PathBuf::from);
    let today = records::today().to_string();
    let next_due = (records::today() + chrono::Duration::days(14)).to_string();

    // 1. The patient logs an injection and a reaction.
    let b = Browser::start(chromedriver, chromium);
    b.login(&app, "pat1");
    b.wait_url(&format!("/patients/{p1}"));
    assert_eq!(b.text_of("#patient-name"), "Patient One");
    // No injection yet: due at the regimen start, 60 days ago, so overdue.
    assert_eq!(b.text_of("#overdue"), "overdue by 60 days");
    b.type_into("#site", "left thigh");
    b.click_and_wait("#save-injection");
    b.wait_url(&format!("/patients/{p1}"));
    let injections = b.text_of("#injections");
    assert!(
        injections.contains(&today) && injections.contains("left thigh"),
        "{injections}"
    );
    assert_eq!(b.text_of("#next-due"), next_due);
    b.type_into(
        "#description",
        "Red burning patches on my face <b>since Monday</b>",
    );
    b.click("#site-face");
    b.click("#feature-erythema");
    b.click("#feature-burning");
    b.click_and_wait("#save-reaction");
    b.wait_url(&format!("/patients/{p1}"));
    let reactions = b.text_of("#reactions");
    // The text is shown as typed, tags included as text (escaped), never as markup.
    assert!(
        reactions.contains("Red burning patches on my face <b>since Monday</b>"),
        "{reactions}"
    );
    // In plain words for the patient ("erythema" is "redness").
    assert!(
        reactions.contains("face")
            && reactions.contains("redness, burning")
            && reactions.contains("not reviewed yet"),
        "{reactions}"
    );
    assert!(!b.source().contains("<b>since Monday</b>"));

    // 2. URL guessing: another patient's record and reaction are not reachable.
    b.goto(&format!("{app}/patients/{p2}"));
    assert_eq!(b.text_of("h1"), "404");
    assert!(!b.source().contains("Patient Two"));
    b.goto(&format!("{app}/api/patients/{p2}"));
    assert!(b.source().contains("not found") && !b.source().contains("Patient Two"));
    b.goto(&format!("{app}/reactions/{r2}"));
    assert_eq!(b.text_of("h1"), "403");
    assert!(!b.source().contains("private rash"));
    b.goto(&format!("{app}/patients/{p1}"));
    if let Some(dir) = &shots {
        b.set_window(1000, 1300);
        b.screenshot(&dir.join("patient.png"));
        b.set_window(1200, 2000);
    }
    b.click_and_wait("#logout");
    b.wait_url("/login");

    // 2b. A patient in UTC+11 logs today's dose: the form's date is their own today, which may already be
    // tomorrow in UTC; it is saved and the next dose is due 14 days after it.
    let local = records::today_in(UTC_PLUS_11);
    b.login(&app, "pat3");
    b.wait_url(&format!("/patients/{p3}"));
    let given = b.find("#given_on");
    assert_eq!(
        b.cmd(
            "GET",
            &format!("/element/{given}/property/value"),
            Value::Null
        ),
        json!(local.to_string())
    );
    b.click_and_wait("#save-injection");
    assert_eq!(b.text_of("#flash"), "Saved: your injection is in the log.");
    assert!(
        b.text_of("#injections").contains(&local.to_string()),
        "{}",
        b.text_of("#injections")
    );
    assert_eq!(
        b.text_of("#next-due"),
        (local + chrono::Duration::days(14)).to_string()
    );
    // On a 390 px phone the page does not scroll sideways; the numeric fields bring up a number keyboard.
    b.set_window(390, 844);
    b.goto(&format!("{app}/patients/{p3}"));
    let (scroll, client) = b.widths();
    assert!(
        scroll <= client,
        "patient page at 390 px: scrollWidth {scroll} > clientWidth {client}: {}",
        b.overflowing()
    );
    assert_eq!(
        b.script("return document.querySelector('#injection_dose').inputMode;"),
        json!("decimal")
    );
    if let Some(dir) = &shots {
        b.screenshot(&dir.join("phone.png"));
    }
    b.set_window(1200, 2000);
    b.click_and_wait("#logout");

    // 2c. A deep link opened while logged out returns there after the login.
    b.goto(&format!("{app}/patients/{p1}"));
    b.wait_url(&format!("/login?next=%2Fpatients%2F{p1}"));
    b.type_into("#username", "doc_a");
    b.type_into("#password", PASSWORD);
    b.click_and_wait("#login");
    b.wait_url(&format!("/patients/{p1}"));
    b.click_and_wait("#logout");

    // 3. The clinician reviews the reaction, records SCORAD and exports the ICSR.
    b.login(&app, "doc_a");
    b.wait_url("/clinician");
    assert_eq!(b.text_of("#patients tr:nth-child(2) .unreviewed"), "1 new");
    b.click_and_wait("#patients a");
    b.wait_url(&format!("/patients/{p1}"));
    assert!(
        b.source().contains("id=\"scores-plot\"")
            || b.source().contains("No weekly scores recorded yet.")
    );
    b.click_and_wait(".review-link");
    let review_url = b.url();
    assert!(review_url.contains("/reactions/"), "{review_url}");
    assert!(b
        .text_of("#reaction-description")
        .contains("<b>since Monday</b>"));
    // vigil-clinic's causality: onset after the first dose (+2), the rest unknown → Naranjo 2, possible.
    assert!(
        b.text_of("#naranjo").starts_with("Naranjo: 2 (possible)"),
        "{}",
        b.text_of("#naranjo")
    );
    assert!(b.source().contains("Reaction or flare?"));
    // SCORAD: A = 10, B = 1+1+0+1+0+1 = 4, C = 5 + 2 → 10/5 + 7·4/2 + 7 = 23.
    for (field, value) in [
        ("#scorad_extent_percent", "10"),
        ("#scorad_erythema", "1"),
        ("#scorad_oedema_papulation", "1"),
        ("#scorad_oozing_crusting", "0"),
        ("#scorad_excoriation", "1"),
        ("#scorad_lichenification", "0"),
        ("#scorad_dryness", "1"),
        ("input[name=scorad_pruritus]", "5"),
        ("input[name=scorad_sleeplessness]", "2"),
    ] {
        b.type_into(field, value);
    }
    // The 20 EASI inputs each have a label.
    let unlabelled = b.script("return [...document.querySelectorAll('input[name^=easi_]')].map(i => i.labels.length).join(',');");
    assert_eq!(unlabelled, json!(vec!["1"; 20].join(",")));
    b.click_and_wait("#save-assessment");
    assert!(b.url().contains("saved=assessment"), "{}", b.url());
    assert!(
        b.text_of("#confirmed").contains("SCORAD 23"),
        "{}",
        b.text_of("#confirmed")
    );
    // Saved again with only the seriousness and outcome changed: version 1 stays in the history, and
    // version 2 keeps SCORAD (the form opened with version 1 in it).
    b.click("#serious option[value=no]");
    b.click("#outcome option[value=recovering]");
    b.click_and_wait("#save-assessment");
    let history = b.text_of("#history");
    let rows: Vec<&str> = history.lines().skip(1).collect();
    assert_eq!(rows.len(), 2, "{history}");
    assert!(
        rows[0].starts_with("2 Dr A") && rows[0].contains("23") && rows[0].contains("recovering"),
        "{history}"
    );
    assert!(
        rows[1].starts_with("1 Dr A") && rows[1].contains("23") && rows[1].contains("unknown"),
        "{history}"
    );
    let (scroll, client) = b.widths();
    assert!(
        scroll <= client,
        "review page: scrollWidth {scroll} > clientWidth {client}: {}",
        b.overflowing()
    );
    b.click_and_wait("#export-icsr");
    let link = b.find(".icsr-link");
    let href = b
        .cmd(
            "GET",
            &format!("/element/{link}/attribute/href"),
            Value::Null,
        )
        .as_str()
        .unwrap()
        .to_string();
    if let Some(dir) = &shots {
        // The assessment history and the export, as the clinician sees them after the second save.
        b.set_window(1000, 1300);
        b.script("document.querySelector('#history').scrollIntoView(); return 0;");
        b.screenshot(&dir.join("review.png"));
        b.set_window(1200, 2000);
    }
    // Download the stored XML with the browser's own session cookie.
    let cookie = b.session_cookie();
    let url = if href.starts_with("http") {
        href.clone()
    } else {
        format!("{app}{href}")
    };
    let mut r = agent().get(&url).header("cookie", &cookie).call().unwrap();
    assert_eq!(r.status(), 200);
    assert!(r
        .headers()
        .get("content-disposition")
        .unwrap()
        .to_str()
        .unwrap()
        .starts_with("attachment; filename=\"VIGIL-SERVE-R"));
    let xml = r.body_mut().read_to_string().unwrap();
    let doc = roxmltree::Document::parse(&xml).unwrap();
    assert_eq!(doc.root_element().tag_name().name(), "MCCI_IN200100UV01");
    assert!(xml.contains("Red burning patches on my face &lt;b&gt;since Monday&lt;/b&gt;"));
    let case = vigil_clinic::e2b::import::from_xml_bytes(xml.as_bytes(), "download").unwrap();
    assert_eq!(case.drugs[0].name, "dupilumab");
    b.click_and_wait("#logout");

    // 4. The admin's audit view: who opened and changed what, no clinical text.
    b.login(&app, "admin");
    b.wait_url("/admin");
    let audit = b.text_of("#audit");
    assert!(
        audit.contains("read") && audit.contains("doc_a") && audit.contains("report_reaction"),
        "{audit}"
    );
    let source = b.source();
    for clinical in [
        "Red burning patches",
        "private rash",
        "1988-03-14",
        "left thigh",
        "scorad",
    ] {
        assert!(
            !source.contains(clinical),
            "the admin page shows {clinical:?}"
        );
    }
    b.set_window(390, 844);
    let (scroll, client) = b.widths();
    assert!(
        scroll <= client,
        "admin page at 390 px: scrollWidth {scroll} > clientWidth {client}: {}",
        b.overflowing()
    );
}
