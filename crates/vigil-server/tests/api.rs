//! API and page tests of `vigil serve`: authorization on every route, CSRF, XSS, SQL injection, login
//! throttling, validation, the injection schedule, the clinic assessment and the ICSR. Each test runs on
//! SQLite and, when `VIGIL_TEST_POSTGRES_URL` is set, again on a fresh PostgreSQL database.
mod common;

use std::collections::BTreeSet;

use axum::http::StatusCode;
use common::{days_ago, form, App, Body, Session};
use serde_json::{json, Value};

/// Who sends the request in the authorization table.
#[derive(Clone, Copy, Debug)]
enum Who {
    Anonymous,
    /// The patient whose record the route targets.
    Owner,
    /// Another patient.
    OtherPatient,
    /// The clinician the target patient is assigned to.
    Assigned,
    /// A clinician the target patient is not assigned to.
    Unassigned,
    Admin,
}

const WHO: [Who; 6] = [Who::Anonymous, Who::Owner, Who::OtherPatient, Who::Assigned, Who::Unassigned, Who::Admin];

impl App {
    fn session(&self, who: Who) -> Option<Session> {
        match who {
            Who::Anonymous => None,
            Who::Owner => Some(self.p1.clone()),
            Who::OtherPatient => Some(self.p2.clone()),
            Who::Assigned => Some(self.ca.clone()),
            Who::Unassigned => Some(self.cb.clone()),
            Who::Admin => Some(self.admin.clone()),
        }
    }
}

/// A valid body for a route (so that an allowed caller gets the success status).
fn valid_body(app: &App, method: &str, path: &str, n: usize) -> Body {
    let api = path.starts_with("/api/");
    let pairs: Vec<(String, Value)> = match path {
        p if p.ends_with("/regimen") => vec![
            ("drug".into(), json!("dupilumab")),
            ("dose_mg".into(), json!(300.0)),
            ("interval_days".into(), json!(14)),
            ("start_date".into(), json!(days_ago(120))),
        ],
        p if p.ends_with("/injections") => vec![("given_on".into(), json!(days_ago(0))), ("dose_mg".into(), json!(300.0))],
        p if p.ends_with("/scores") => {
            if api {
                return Body::Json(json!({"week_start": days_ago(7), "poem_days": [1, 2, 3, 4, 5, 6, 7], "pp_nrs": 5.0}));
            }
            let mut f = vec![("week_start".to_string(), days_ago(7)), ("pp_nrs".into(), "5".into())];
            for d in 1..=7 {
                f.push(("poem_days".into(), d.to_string()));
            }
            return Body::Form(f);
        }
        p if p.ends_with("/reactions") => vec![
            ("onset_date".into(), json!(days_ago(3))),
            ("description".into(), json!("itchy red eyelids")),
        ],
        p if p.ends_with("/assessment") => vec![("outcome".into(), json!("recovering"))],
        "/api/users" | "/admin/users" => vec![
            ("username".into(), json!(format!("newuser{n}"))),
            ("password".into(), json!("a long enough password")),
            ("role".into(), json!("patient")),
            ("display_name".into(), json!(format!("New User {n}"))),
        ],
        "/api/assignments" | "/admin/assignments" => {
            vec![("clinician_id".into(), json!(app.ids.cc)), ("patient_id".into(), json!(app.ids.p2))]
        }
        _ => {
            return match (method, api) {
                ("POST", true) => Body::Json(json!({})),
                ("POST", false) => Body::Form(Vec::new()),
                _ => Body::None,
            }
        }
    };
    if api {
        Body::Json(Value::Object(pairs.into_iter().collect()))
    } else {
        Body::Form(pairs.into_iter().map(|(k, v)| (k, v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string()))).collect())
    }
}

/// Expected status per caller: [anonymous, owner, other patient, assigned clinician, unassigned clinician, admin].
///
/// Policy (vigil_server::error): 401 not logged in (pages: 303 to /login); 403 the role may never use
/// the route; 404 the record is outside the caller's scope; 2xx/303 allowed. Ids in the paths are the
/// fixture's patient 1 (`P`), its reaction (`R`) and its ICSR export (`X`).
const TABLE: &[(&str, &str, [u16; 6])] = &[
    ("GET", "/", [303, 303, 303, 303, 303, 303]),
    ("GET", "/healthz", [200, 200, 200, 200, 200, 200]),
    ("GET", "/login", [200, 200, 200, 200, 200, 200]),
    ("GET", "/patients/P", [303, 200, 404, 200, 404, 403]),
    ("POST", "/patients/P/regimen", [303, 403, 403, 303, 404, 403]),
    ("POST", "/patients/P/injections", [303, 303, 404, 303, 404, 403]),
    ("POST", "/patients/P/scores", [303, 303, 404, 303, 404, 403]),
    ("POST", "/patients/P/reactions", [303, 303, 404, 303, 404, 403]),
    ("GET", "/clinician", [303, 403, 403, 200, 200, 403]),
    ("GET", "/reactions/R", [303, 403, 403, 200, 404, 403]),
    ("POST", "/reactions/R/assessment", [303, 403, 403, 303, 404, 403]),
    ("POST", "/reactions/R/icsr", [303, 403, 403, 303, 404, 403]),
    ("GET", "/icsr/X", [303, 403, 403, 200, 404, 403]),
    ("GET", "/admin", [303, 403, 403, 403, 403, 200]),
    ("POST", "/admin/users", [303, 403, 403, 403, 403, 303]),
    ("POST", "/admin/assignments", [303, 403, 403, 403, 403, 303]),
    ("GET", "/api/openapi.json", [200, 200, 200, 200, 200, 200]),
    ("GET", "/api/me", [401, 200, 200, 200, 200, 200]),
    ("GET", "/api/patients", [401, 200, 200, 200, 200, 403]),
    ("GET", "/api/patients/P", [401, 200, 404, 200, 404, 403]),
    ("POST", "/api/patients/P/regimen", [401, 403, 403, 201, 404, 403]),
    ("POST", "/api/patients/P/injections", [401, 201, 404, 201, 404, 403]),
    ("POST", "/api/patients/P/scores", [401, 201, 404, 201, 404, 403]),
    ("POST", "/api/patients/P/reactions", [401, 201, 404, 201, 404, 403]),
    ("GET", "/api/reactions/R", [401, 200, 404, 200, 404, 403]),
    ("GET", "/api/reactions/R/assessment", [401, 403, 403, 200, 404, 403]),
    ("POST", "/api/reactions/R/assessment", [401, 403, 403, 201, 404, 403]),
    ("POST", "/api/reactions/R/icsr", [401, 403, 403, 201, 404, 403]),
    ("GET", "/api/icsr/X", [401, 403, 403, 200, 404, 403]),
    ("GET", "/api/audit", [401, 403, 403, 403, 403, 200]),
    ("POST", "/api/users", [401, 403, 403, 403, 403, 201]),
    ("POST", "/api/assignments", [401, 403, 403, 403, 403, 201]),
];

/// Routes tested on their own instead of in the table (they change the session itself).
const SESSION_ROUTES: &[(&str, &str)] = &[("POST", "/login"), ("POST", "/logout"), ("POST", "/api/login"), ("POST", "/api/logout")];

#[test]
fn the_table_covers_every_route_of_the_router() {
    let table: BTreeSet<(String, String)> = TABLE
        .iter()
        .map(|(m, p, _)| (m.to_string(), p.replace("/P", "/{id}").replace("/R", "/{id}").replace("/X", "/{id}")))
        .chain(SESSION_ROUTES.iter().map(|(m, p)| (m.to_string(), p.to_string())))
        .collect();
    let routes: BTreeSet<(String, String)> = vigil_server::ROUTES.iter().map(|(m, p)| (m.to_string(), p.to_string())).collect();
    assert_eq!(table, routes);
}

#[test]
fn openapi_describes_every_api_route() {
    let doc: Value = serde_json::from_str(vigil_server::api::OPENAPI_JSON).unwrap();
    let mut described = BTreeSet::new();
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for method in ops.as_object().unwrap().keys() {
            described.insert((method.to_uppercase(), path.clone()));
        }
    }
    let api: BTreeSet<(String, String)> = vigil_server::ROUTES
        .iter()
        .filter(|(_, p)| p.starts_with("/api/") && *p != "/api/openapi.json")
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    assert_eq!(described, api);
}

#[tokio::test]
async fn authorization_table_role_by_route() {
    on_every_backend!("authorization_table_role_by_route", |app| {
        let mut failures = Vec::new();
        let mut n = 0;
        for (method, path, expected) in TABLE {
            let concrete = path
                .replace("/P", &format!("/{}", app.ids.p1))
                .replace("/R", &format!("/{}", app.ids.r1))
                .replace("/X", &format!("/{}", app.ids.x1));
            for (who, want) in WHO.iter().zip(expected) {
                n += 1;
                let session = app.session(*who);
                let csrf = session.as_ref().map(|s| s.csrf.clone());
                let body = valid_body(&app, method, path, n);
                let r = app.send(method, &concrete, session.as_ref(), csrf.as_deref(), body).await;
                if r.status.as_u16() != *want {
                    failures.push(format!("{} {method} {concrete} as {who:?}: got {} want {want}: {}", app.backend, r.status, &r.text[..r.text.len().min(200)]));
                }
            }
        }
        assert_eq!(n, TABLE.len() * 6);
        assert!(failures.is_empty(), "{} of {n} cells differ:\n{}", failures.len(), failures.join("\n"));
    });
}

#[tokio::test]
async fn unknown_ids_are_404_for_everyone_in_scope() {
    on_every_backend!("unknown_ids_are_404_for_everyone_in_scope", |app| {
        for path in ["/api/patients/999999", "/api/reactions/999999", "/api/reactions/999999/assessment", "/api/icsr/999999"] {
            assert_eq!(app.get(path, &app.ca).await.status, StatusCode::NOT_FOUND, "{path}");
        }
        // A clinician's or admin's id used as a patient id is not a patient: 404, not their data.
        let r = app.get(&format!("/api/patients/{}", app.ids.cb), &app.ca).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND);
    });
}

#[tokio::test]
async fn csrf_token_is_required_on_every_write() {
    on_every_backend!("csrf_token_is_required_on_every_write", |app| {
        let before = app.counts().await;
        let mut n = 0;
        for (method, path, expected) in TABLE.iter().filter(|(m, _, _)| *m == "POST") {
            // The first caller allowed to use the route.
            let who = WHO.iter().zip(expected).skip(1).find(|(_, s)| [201, 303].contains(*s)).map(|(w, _)| *w).unwrap();
            let session = app.session(who).unwrap();
            let concrete = path
                .replace("/P", &format!("/{}", app.ids.p1))
                .replace("/R", &format!("/{}", app.ids.r1));
            for csrf in [None, Some("0".repeat(64)), Some(app.p2.csrf.clone())] {
                n += 1;
                let body = valid_body(&app, method, path, 1000 + n);
                let r = app.send(method, &concrete, Some(&session), csrf.as_deref(), body).await;
                assert_eq!(r.status, StatusCode::FORBIDDEN, "{method} {concrete} as {who:?} with csrf {csrf:?}: {}", r.text);
            }
        }
        // 16 write routes × (missing, wrong, another session's token).
        assert_eq!(n, 16 * 3);
        assert_eq!(app.counts().await, before, "a request without the right CSRF token saved something");
        // Logout needs it too.
        let r = app.send("POST", "/api/logout", Some(&app.p1), None, Body::None).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        let r = app.send("POST", "/logout", Some(&app.p1), None, form(&[])).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        assert_eq!(app.get("/api/me", &app.p1).await.status, StatusCode::OK);
    });
}

#[tokio::test]
async fn login_form_uses_a_double_submit_token_and_sets_a_strict_httponly_cookie() {
    on_every_backend!("login_form_csrf", |app| {
        let page = app.send("GET", "/login", None, None, Body::None).await;
        let set = page.headers.get("set-cookie").unwrap().to_str().unwrap().to_string();
        assert!(set.contains("HttpOnly") && set.contains("SameSite=Strict"), "{set}");
        let cookie = set.split(';').next().unwrap().to_string();
        let token = cookie.split('=').nth(1).unwrap().to_string();
        assert!(page.text.contains(&format!("value=\"{token}\"")));
        let creds = [("username", "pat1"), ("password", common::PASSWORD)];
        // Without the cookie, or with a different token: 403.
        let r = app.send("POST", "/login", None, Some(&token), form(&creds)).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        let s = Session { cookie: cookie.clone(), csrf: String::new() };
        let r = app.send("POST", "/login", Some(&s), Some(&"f".repeat(64)), form(&creds)).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        // With both: 303 to / and a session cookie.
        let r = app.send("POST", "/login", Some(&s), Some(&token), form(&creds)).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
        let session = r.headers.get("set-cookie").unwrap().to_str().unwrap();
        assert!(session.starts_with("vigil_session=") && session.contains("HttpOnly") && session.contains("SameSite=Strict"));
        assert!(!session.contains("Secure"), "Secure is off unless configured");
        // The API login takes JSON only (a cross-site form cannot send it): a form-encoded or text body is 415.
        let r = app.send("POST", "/api/login", None, None, Body::Raw("text/plain", br#"{"username":"pat1","password":"correct horse battery"}"#.to_vec())).await;
        assert_eq!(r.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
        assert!(r.headers.get("set-cookie").is_none());
        // The database holds the SHA-256 of the cookie's token, never the token itself.
        let mine = app.login("pat1").await;
        let token = mine.cookie.trim_start_matches("vigil_session=").to_string();
        use sqlx::Row;
        let stored: Vec<String> = sqlx::query("SELECT token FROM sessions").fetch_all(&app.state.db.pool).await.unwrap().iter().map(|r| r.try_get(0).unwrap()).collect();
        assert!(stored.contains(&vigil_server::auth::token_digest(&token)));
        assert!(!stored.contains(&token));
        // Logging out ends the session.
        let r = app.send("POST", "/api/logout", Some(&mine), Some(&mine.csrf), Body::None).await;
        assert_eq!(r.status, StatusCode::NO_CONTENT);
        assert_eq!(app.get("/api/me", &mine).await.status, StatusCode::UNAUTHORIZED);
    });
}

#[tokio::test]
async fn login_is_throttled_per_account_and_address() {
    on_every_backend!("login_is_throttled_per_account_and_address", |app| {
        let attempt = |user: &'static str, password: &'static str| {
            app.send("POST", "/api/login", None, None, Body::Json(json!({"username": user, "password": password})))
        };
        for i in 0..vigil_server::auth::THROTTLE_LIMIT {
            assert_eq!(attempt("pat2", "wrong password").await.status, StatusCode::UNAUTHORIZED, "attempt {i}");
        }
        // The sixth attempt is refused even with the right password.
        let r = attempt("pat2", common::PASSWORD).await;
        assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.text);
        // Another account from the same address is not affected; unknown users are throttled too.
        assert_eq!(attempt("pat1", common::PASSWORD).await.status, StatusCode::OK);
        for _ in 0..vigil_server::auth::THROTTLE_LIMIT {
            assert_eq!(attempt("nobody", "x").await.status, StatusCode::UNAUTHORIZED);
        }
        assert_eq!(attempt("nobody", "x").await.status, StatusCode::TOO_MANY_REQUESTS);
    });
}

const XSS: &str = "<script>alert(\"x\")</script><img src=x onerror=alert(1)>&";

#[tokio::test]
async fn user_text_is_echoed_html_escaped() {
    on_every_backend!("user_text_is_echoed_html_escaped", |app| {
        let p = app.ids.p1;
        let r = app.post_json(&format!("/api/patients/{p}/reactions"), &app.p1, json!({"onset_date": days_ago(1), "description": XSS})).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        let rid = r.json()["id"].as_i64().unwrap();
        let r = app.post_json(&format!("/api/patients/{p}/injections"), &app.p1, json!({"given_on": days_ago(0), "dose_mg": 300, "site": XSS, "note": XSS})).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        let escaped = "&lt;script&gt;alert(&quot;x&quot;)&lt;&#x2f;script&gt;&lt;img src=x onerror=alert(1)&gt;&amp;";
        for (path, s) in [
            (format!("/patients/{p}"), &app.p1),
            (format!("/patients/{p}"), &app.ca),
            (format!("/reactions/{rid}"), &app.ca),
            ("/admin".to_string(), &app.admin),
        ] {
            let page = app.get(&path, s).await;
            assert_eq!(page.status, StatusCode::OK, "{path}");
            assert!(!page.text.contains("<script>alert"), "{path} echoes a raw script tag");
            assert!(!page.text.contains("<img src=x"), "{path} echoes a raw img tag");
            if path != "/admin" {
                assert!(page.text.contains(escaped), "{path} lacks the escaped text");
            }
        }
        // The API returns the text verbatim (JSON, not HTML).
        let rec = app.get(&format!("/api/reactions/{rid}"), &app.p1).await.json();
        assert_eq!(rec["description"], XSS);
        // Every page forbids inline scripts through its Content-Security-Policy.
        let page = app.get(&format!("/patients/{p}"), &app.p1).await;
        let csp = page.headers.get("content-security-policy").unwrap().to_str().unwrap();
        assert!(csp.starts_with("default-src 'none'") && !csp.contains("script-src"), "{csp}");
    });
}

const SQLI: [&str; 5] = [
    "'; DROP TABLE users; --",
    "' OR '1'='1",
    "\"); DELETE FROM injections; --",
    "1' UNION SELECT password_hash FROM users --",
    "Robert'); UPDATE users SET role='admin' WHERE username='pat1'; --",
];

#[tokio::test]
async fn sql_injection_probes_are_stored_verbatim_in_every_text_field() {
    on_every_backend!("sql_injection_probes", |app| {
        let p = app.ids.p1;
        for (i, probe) in SQLI.iter().enumerate() {
            let before = app.counts().await;
            // Regimen drug and indication (clinician).
            let r = app
                .post_json(&format!("/api/patients/{p}/regimen"), &app.ca, json!({"drug": probe, "dose_mg": 300, "interval_days": 14, "indication": probe, "start_date": days_ago(120)}))
                .await;
            assert_eq!(r.status, StatusCode::CREATED, "{probe}: {}", r.text);
            // Injection site and note.
            let r = app.post_json(&format!("/api/patients/{p}/injections"), &app.p1, json!({"given_on": days_ago(0), "dose_mg": 300, "site": probe, "note": probe})).await;
            assert_eq!(r.status, StatusCode::CREATED, "{probe}: {}", r.text);
            // Reaction description.
            let r = app.post_json(&format!("/api/patients/{p}/reactions"), &app.p1, json!({"onset_date": days_ago(1), "description": probe})).await;
            assert_eq!(r.status, StatusCode::CREATED);
            let rid = r.json()["id"].as_i64().unwrap();
            // Assessment: alternative causes.
            let r = app.post_json(&format!("/api/reactions/{rid}/assessment"), &app.ca, json!({"alternative_causes": [probe], "outcome": "recovering"})).await;
            assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
            // Admin: display name of a new account; login with the probe as username fails cleanly.
            let r = app
                .post_json("/api/users", &app.admin, json!({"username": format!("sqli{i}"), "password": "a long enough password", "role": "patient", "display_name": probe}))
                .await;
            assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
            let r = app.send("POST", "/api/login", None, None, Body::Json(json!({"username": probe, "password": probe}))).await;
            assert_eq!(r.status, StatusCode::UNAUTHORIZED);
            assert!(!r.text.contains("$argon2"));

            // Exactly one new row where one was written, and the text comes back byte for byte.
            let after = app.counts().await;
            let diff: Vec<i64> = after.iter().zip(&before).map(|(a, b)| a - b).collect();
            // users, assignments, regimens, injections, weekly_scores, reactions, assessments, icsr_exports, audit_log
            assert_eq!(diff, [1, 0, 1, 1, 0, 1, 1, 0, 5], "{probe}");
            let rec = app.get(&format!("/api/patients/{p}"), &app.p1).await.json();
            assert_eq!(rec["regimen"]["drug"], *probe);
            assert_eq!(rec["regimen"]["indication"], *probe);
            let last = rec["injections"].as_array().unwrap().iter().max_by_key(|i| i["id"].as_i64()).unwrap().clone();
            assert_eq!((last["site"].as_str(), last["note"].as_str()), (Some(*probe), Some(*probe)));
            let reaction = app.get(&format!("/api/reactions/{rid}"), &app.p1).await.json();
            assert_eq!(reaction["description"], *probe);
            let a = app.get(&format!("/api/reactions/{rid}/assessment"), &app.ca).await;
            assert_eq!(a.status, StatusCode::OK, "{}", a.text);
            assert_eq!(a.json()["confirmed"]["input"]["alternative_causes"][0], *probe);
            assert!(!a.text.contains("$argon2"), "a password hash leaked");
        }
        // p1 is still a patient and every table still answers.
        assert_eq!(app.login("pat1").await.csrf.len(), 64);
        let me = app.get("/api/me", &app.p1).await.json();
        assert_eq!(me["user"]["role"], "patient");
    });
}

#[tokio::test]
async fn invalid_input_is_422_with_the_field_and_nothing_is_saved() {
    on_every_backend!("invalid_input_is_422", |app| {
        let p = app.ids.p1;
        let tomorrow = (common::today() + chrono::Duration::days(1)).to_string();
        let cases: Vec<(String, &Session, Value, Vec<&str>)> = vec![
            (format!("/api/patients/{p}/injections"), &app.p1, json!({"given_on": tomorrow, "dose_mg": 300}), vec!["given_on"]),
            // 601 mg > twice the 300 mg regimen dose.
            (format!("/api/patients/{p}/injections"), &app.p1, json!({"given_on": days_ago(0), "dose_mg": 601}), vec!["dose_mg"]),
            (format!("/api/patients/{p}/injections"), &app.p1, json!({"given_on": days_ago(0), "dose_mg": 0}), vec!["dose_mg"]),
            (format!("/api/patients/{p}/injections"), &app.p1, json!({"given_on": "2026-02-30", "dose_mg": 300}), vec!["given_on"]),
            (format!("/api/patients/{p}/injections"), &app.p1, json!({"given_on": days_ago(0), "dose_mg": "300mg"}), vec!["dose_mg"]),
            (format!("/api/patients/{p}/scores"), &app.p1, json!({"week_start": days_ago(0), "poem_days": [0, 0, 0, 8, 0, 0, 0], "pp_nrs": 11}), vec!["poem_days[3]", "pp_nrs"]),
            (format!("/api/patients/{p}/scores"), &app.p1, json!({"week_start": days_ago(0), "poem_days": [0, 0, 0], "pp_nrs": 3}), vec!["poem_days"]),
            (format!("/api/patients/{p}/scores"), &app.p1, json!({"week_start": days_ago(0), "poem_days": [0, 0, 0, -1, 0, 0, 0], "pp_nrs": 3}), vec!["poem_days[3]"]),
            (format!("/api/patients/{p}/reactions"), &app.p1, json!({"onset_date": tomorrow, "description": ""}), vec!["onset_date", "description"]),
            (format!("/api/patients/{p}/reactions"), &app.p1, json!({"onset_date": days_ago(0), "description": "x", "sites": ["elbow"]}), vec!["sites[0]"]),
            (format!("/api/patients/{p}/reactions"), &app.p1, json!({"onset_date": days_ago(0), "description": "x", "colour": "red"}), vec!["colour"]),
            (format!("/api/patients/{p}/regimen"), &app.ca, json!({"drug": "dupilumab", "dose_mg": -5, "interval_days": 0, "start_date": tomorrow}), vec!["dose_mg", "interval_days", "start_date"]),
            (format!("/api/reactions/{}/assessment", app.ids.r1), &app.ca, json!({"outcome": "better"}), vec!["outcome"]),
            (
                format!("/api/reactions/{}/assessment", app.ids.r1),
                &app.ca,
                json!({"scorad": {"extent_percent": 30, "intensity": {"erythema": 4, "oedema_papulation": 1, "oozing_crusting": 0, "excoriation": 1, "lichenification": 0, "dryness": 1}}}),
                vec!["scorad.intensity.erythema"],
            ),
        ];
        let before = app.counts().await;
        for (path, s, body, fields) in cases {
            let r = app.post_json(&path, s, body.clone()).await;
            assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{path} {body}: {}", r.text);
            let got: Vec<String> = r.json()["fields"].as_array().unwrap().iter().map(|f| f["field"].as_str().unwrap().to_string()).collect();
            assert_eq!(got, fields, "{path} {body}");
        }
        assert_eq!(app.counts().await, before, "a refused request saved something");

        // The form shows the field and why, with status 422, and keeps what was typed.
        let r = app.post_form(&format!("/patients/{p}/injections"), &app.p1, &[("given_on", &tomorrow), ("dose_mg", "900"), ("site", "left thigh")]).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.text.contains("data-field=\"given_on\""), "{}", r.text);
        assert!(r.text.contains("is in the future"));
        assert!(r.text.contains("data-field=\"dose_mg\""));
        assert!(r.text.contains("900 mg is out of range (0, 600]"));
        assert!(r.text.contains("value=\"left thigh\""));
        let r = app
            .post_form(&format!("/patients/{p}/scores"), &app.p1, &[("week_start", &days_ago(0)), ("poem_days", "1"), ("poem_days", "9"), ("pp_nrs", "ten")])
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.text.contains("data-field=\"pp_nrs\""));
        assert!(r.text.contains("data-field=\"poem_days\""), "{}", r.text);
        assert_eq!(app.counts().await, before);
    });
}

#[tokio::test]
async fn next_due_date_and_overdue_flag_follow_the_per_patient_interval() {
    on_every_backend!("next_due_date", |app| {
        let (p1, p2) = (app.ids.p1, app.ids.p2);
        // Patient 1, every 14 days: 600 mg loading 40 days ago, 300 mg 26 days ago → due 12 days ago.
        for (ago, dose) in [(40, 600), (26, 300)] {
            let r = app.post_json(&format!("/api/patients/{p1}/injections"), &app.p1, json!({"given_on": days_ago(ago), "dose_mg": dose})).await;
            assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        }
        let rec = app.get(&format!("/api/patients/{p1}"), &app.p1).await.json();
        assert_eq!(rec["next_due"], days_ago(12));
        assert_eq!((rec["overdue"].as_bool(), rec["days_overdue"].as_i64()), (Some(true), Some(12)));
        assert!(rec["missed_dose_rule"].as_str().unwrap().contains("within 7 days"));
        assert_eq!(rec["regimen"]["label_match"]["population"], "adults; 6–17 years ≥60 kg");
        // Patient 2 moved to every 28 days (a child's label regimen: 300 mg Q4W), last dose 10 days ago → due in 18 days.
        let r = app
            .post_json(&format!("/api/patients/{p2}/regimen"), &app.cb, json!({"drug": "Dupixent", "dose_mg": 300, "interval_days": 28, "start_date": days_ago(120)}))
            .await;
        assert_eq!(r.status, StatusCode::CREATED);
        app.post_json(&format!("/api/patients/{p2}/injections"), &app.p2, json!({"given_on": days_ago(10), "dose_mg": 300})).await;
        let rec = app.get(&format!("/api/patients/{p2}"), &app.p2).await.json();
        assert_eq!(rec["next_due"], days_ago(-18));
        assert_eq!((rec["overdue"].as_bool(), rec["days_overdue"].as_i64()), (Some(false), Some(0)));
        assert!(rec["missed_dose_rule"].is_null());
        assert!(rec["regimen"]["label_note"].as_str().unwrap().contains("[VERIFIED]"));
        // The page shows the same.
        let page = app.get(&format!("/patients/{p1}"), &app.p1).await.text;
        assert!(page.contains(&format!("<strong id=\"next-due\">{}</strong>", days_ago(12))));
        assert!(page.contains("overdue by 12 days"));
    });
}

#[tokio::test]
async fn weekly_scores_use_the_clinic_poem_rules_and_are_plotted() {
    on_every_backend!("weekly_scores", |app| {
        let p = app.ids.p1;
        // Days 7,7,7,7,7,7,7 → 7 × 4 = 28 (very severe); days 0,1,2,3,4,5,6 → 0+1+1+2+2+3+3 = 12 (moderate).
        for (ago, days, nrs) in [(14, [7; 7], 9.0), (7, [0, 1, 2, 3, 4, 5, 6], 4.0)] {
            let r = app.post_json(&format!("/api/patients/{p}/scores"), &app.p1, json!({"week_start": days_ago(ago), "poem_days": days, "pp_nrs": nrs})).await;
            assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        }
        let rec = app.get(&format!("/api/patients/{p}"), &app.ca).await.json();
        let s = rec["scores"].as_array().unwrap();
        assert_eq!((s[0]["poem_total"].as_i64(), s[0]["poem_band"].as_str()), (Some(28), Some("very severe")));
        assert_eq!((s[1]["poem_total"].as_i64(), s[1]["poem_band"].as_str()), (Some(12), Some("moderate")));
        assert_eq!(s[1]["pp_nrs_stratum"], "moderate");
        let page = app.get(&format!("/patients/{p}"), &app.ca).await.text;
        // Plot: x 40 then 600; POEM 28 → y 20, 12 → 20 + 180 × 16/28 = 122.857 → 122.9; NRS 9 → 38, 4 → 128.
        assert!(page.contains("points=\"40.0,20.0 600.0,122.9\""), "POEM line");
        assert!(page.contains("points=\"40.0,38.0 600.0,128.0\""), "PP-NRS line");
    });
}

#[tokio::test]
async fn clinician_assessment_and_icsr_export_use_the_clinic_module() {
    on_every_backend!("clinician_assessment_and_icsr", |app| {
        let rid = app.ids.r1;
        // The clinician's list flags the unreviewed reaction and the overdue first dose (regimen start
        // 120 days ago, nothing logged yet).
        let list = app.get("/api/patients", &app.ca).await.json();
        assert_eq!(list["patients"].as_array().unwrap().len(), 1);
        let p = &list["patients"][0];
        assert_eq!((p["id"].as_i64(), p["unreviewed_reactions"].as_i64()), (Some(app.ids.p1), Some(1)));
        assert_eq!((p["overdue"].as_bool(), p["days_overdue"].as_i64()), (Some(true), Some(120)));
        // EASI: head/neck signs 2+1+1+0 = 4, area 20% → score 2, × 0.1 = 0.8; other regions clear → EASI 0.8.
        // SCORAD: A = 10, B = 1+1+0+1+0+1 = 4, C = 5 + 2 = 7 → 10/5 + 7·4/2 + 7 = 2 + 14 + 7 = 23.
        let clear = json!({"erythema": 0, "induration": 0, "excoriation": 0, "lichenification": 0, "area_percent": 0});
        let body = json!({
            "easi": {"head_neck": {"erythema": 2, "induration": 1, "excoriation": 1, "lichenification": 0, "area_percent": 20},
                     "upper_limbs": clear, "trunk": clear, "lower_limbs": clear},
            "scorad": {"extent_percent": 10, "intensity": {"erythema": 1, "oedema_papulation": 1, "oozing_crusting": 0, "excoriation": 1, "lichenification": 0, "dryness": 1},
                       "pruritus": 5, "sleeplessness": 2},
            "causality": {"naranjo": {"previous_reports": "yes", "alternative_causes": "no"}},
            "alternative_causes": [],
            "outcome": "recovering"
        });
        let r = app.post_json(&format!("/api/reactions/{rid}/assessment"), &app.ca, body).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        let list = app.get("/api/patients", &app.ca).await.json();
        assert_eq!(list["patients"][0]["unreviewed_reactions"], 0);
        let a = app.get(&format!("/api/reactions/{rid}/assessment"), &app.ca).await.json();
        assert_eq!(a["confirmed"]["easi"].as_f64(), Some(0.8));
        assert_eq!(a["confirmed"]["scorad"].as_f64(), Some(23.0));
        assert_eq!(a["assessment"]["scores"]["easi"]["total"].as_f64(), Some(0.8));
        // Naranjo: item 1 yes (+1), item 2 onset after the first dose (+2, derived), item 5 no (+2) → 5, probable.
        let naranjo = &a["assessment"]["causality"][0]["naranjo"];
        assert_eq!(naranjo["items"][0]["basis"]["kind"], "explicit");
        assert_eq!(naranjo["items"][1]["points"], 2);
        assert_eq!((naranjo["total"].as_i64(), naranjo["category"].as_str()), (Some(5), Some("probable")));
        // Reaction-vs-flare support runs because the suspect drug is dupilumab.
        assert_eq!(a["assessment"]["flare"].as_array().unwrap().len(), 1);
        assert!(!a["assessment"]["flare"][0]["candidates"].as_array().unwrap().is_empty());

        // Report → stored XML, downloadable; it parses and carries C.1.1 and the patient's words.
        let r = app.post_json(&format!("/api/reactions/{rid}/icsr"), &app.ca, json!({})).await;
        assert_eq!(r.status, StatusCode::CREATED);
        let xid = r.json()["id"].as_i64().unwrap();
        let x = app.get(&format!("/api/icsr/{xid}"), &app.ca).await;
        assert_eq!(x.headers.get("content-type").unwrap(), "application/xml; charset=utf-8");
        assert!(x.headers.get("content-disposition").unwrap().to_str().unwrap().contains(&format!("VIGIL-SERVE-R{rid}.xml")));
        let doc = roxmltree::Document::parse(&x.text).unwrap();
        assert_eq!(doc.root_element().tag_name().name(), "MCCI_IN200100UV01");
        assert!(doc.descendants().any(|n| n.attribute("extension") == Some(&format!("VIGIL-SERVE-R{rid}") as &str)));
        assert!(x.text.contains("red, burning skin on the face and neck"));
        // Read back through vigil-clinic's importer: same case id, one dupilumab suspect drug.
        let case = vigil_clinic::e2b::import::from_xml_bytes(x.text.as_bytes(), "export").unwrap();
        assert_eq!(case.id, format!("VIGIL-SERVE-R{rid}"));
        assert_eq!(case.drugs[0].name, "dupilumab");
        assert_eq!(case.reactions[0].outcome, vigil_clinic::case::Outcome::Recovering);

        // The audit log has who, what, before and after of the assessment.
        let log = app.get("/api/audit", &app.admin).await.json();
        let entry = log["entries"].as_array().unwrap().iter().find(|e| e["action"] == "assess_reaction").unwrap().clone();
        assert_eq!(entry["username"], "doc_a");
        assert_eq!(entry["after"]["easi"].as_f64(), Some(0.8));
        assert!(entry["before"].is_null());
        let export = log["entries"].as_array().unwrap().iter().find(|e| e["action"] == "export_icsr" && e["entity_id"] == xid).unwrap().clone();
        assert_eq!(export["after"]["case_id"], format!("VIGIL-SERVE-R{rid}"));
    });
}

#[tokio::test]
async fn regimen_change_is_audited_with_before_and_after() {
    on_every_backend!("regimen_audit", |app| {
        let p = app.ids.p1;
        let r = app.post_json(&format!("/api/patients/{p}/regimen"), &app.ca, json!({"drug": "dupilumab", "dose_mg": 300, "interval_days": 28, "start_date": days_ago(120)})).await;
        assert_eq!(r.status, StatusCode::CREATED);
        let log = app.get("/api/audit", &app.admin).await.json();
        let e = &log["entries"][0];
        assert_eq!((e["action"].as_str(), e["username"].as_str()), (Some("set_regimen"), Some("doc_a")));
        assert_eq!(e["before"]["interval_days"], 14);
        assert_eq!(e["after"]["regimen"]["interval_days"], 28);
        assert!(e["at"].as_str().unwrap().ends_with('Z'));
    });
}

#[tokio::test]
async fn migrations_are_versioned_and_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("m.db").display());
    let db = vigil_server::db::Db::connect(&url).await.unwrap();
    db.migrate().await.unwrap();
    drop(db);
    let db = vigil_server::db::Db::connect(&url).await.unwrap();
    use sqlx::Row;
    let rows = sqlx::query("SELECT version FROM schema_migrations ORDER BY version").fetch_all(&db.pool).await.unwrap();
    let versions: Vec<i64> = rows.iter().map(|r| r.try_get(0).unwrap()).collect();
    assert_eq!(versions, [1, 2]);
    assert_eq!(vigil_server::db::latest_version(), 2);
}

#[tokio::test]
async fn an_interval_extension_that_helped_is_naranjo_item_8() {
    on_every_backend!("dechallenge", |app| {
        let rid = app.ids.r1;
        // Interval extended, reaction improved; alternatives looked for, none found; no rechallenge.
        let body = json!({"dechallenge": {"action": "interval_extended", "date": days_ago(5), "result": "improved"},
                          "rechallenge": "not_done", "alternative_causes": []});
        let r = app.post_json(&format!("/api/reactions/{rid}/assessment"), &app.ca, body).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        let a = app.get(&format!("/api/reactions/{rid}/assessment"), &app.ca).await.json();
        let items = &a["assessment"]["causality"][0]["naranjo"]["items"];
        // Item 3 (improved on withdrawal) stays unknown: the drug was not stopped.
        assert_eq!(items[2]["answer"], "unknown");
        // Item 8 (dose-related): yes, +1, derived from the interval extension.
        assert_eq!((items[7]["answer"].as_str(), items[7]["points"].as_i64()), (Some("yes"), Some(1)));
        assert_eq!(items[7]["basis"]["kind"], "derived");
        // Item 5 (alternative causes): none found → no, +2. Total 2 (item 2) + 2 + 1 = 5, probable.
        assert_eq!(items[4]["points"], 2);
        let n = &a["assessment"]["causality"][0]["naranjo"];
        assert_eq!((n["total"].as_i64(), n["category"].as_str()), (Some(5), Some("probable")));
        assert_eq!(a["confirmed"]["input"]["dechallenge"]["action"], "interval_extended");
        // A future dechallenge date is refused.
        let tomorrow = (common::today() + chrono::Duration::days(1)).to_string();
        let r = app.post_json(&format!("/api/reactions/{rid}/assessment"), &app.ca, json!({"dechallenge": {"action": "withdrawn", "date": tomorrow, "result": "improved"}})).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(r.json()["fields"][0]["field"], "dechallenge.date");
        // The same through the review form.
        let r = app
            .post_form(&format!("/reactions/{rid}/assessment"), &app.ca, &[("dechallenge_action", "withdrawn"), ("dechallenge_result", "resolved"), ("rechallenge", "recurred"), ("outcome", "recovered")])
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
        let a = app.get(&format!("/api/reactions/{rid}/assessment"), &app.ca).await.json();
        let items = &a["assessment"]["causality"][0]["naranjo"]["items"];
        // Withdrawn and resolved → item 3 yes (+1); rechallenge recurred → item 4 yes (+2).
        assert_eq!((items[2]["answer"].as_str(), items[2]["points"].as_i64()), (Some("yes"), Some(1)));
        assert_eq!((items[3]["answer"].as_str(), items[3]["points"].as_i64()), (Some("yes"), Some(2)));
    });
}

#[tokio::test]
async fn a_version_1_database_is_upgraded_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("v1.db").display());
    // Build a version-1 database by hand, with one assessment row in the old shape.
    {
        sqlx::any::install_default_drivers();
        let pool = sqlx::AnyPool::connect(&url).await.unwrap();
        sqlx::query("CREATE TABLE schema_migrations (version BIGINT PRIMARY KEY, description TEXT NOT NULL, applied_at TEXT NOT NULL)").execute(&pool).await.unwrap();
        for statement in include_str!("../migrations/sqlite/0001_init.sql").split(";\n").filter(|s| s.contains("CREATE")) {
            let sql: String = statement.lines().filter(|l| !l.trim_start().starts_with("--")).collect::<Vec<_>>().join("\n");
            sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&pool).await.unwrap();
        }
        sqlx::query("INSERT INTO schema_migrations VALUES (1, 'initial schema', 'then')").execute(&pool).await.unwrap();
        sqlx::query("INSERT INTO users (username, password_hash, role, display_name, created_at) VALUES ('u', 'x', 'patient', 'U', 'then')").execute(&pool).await.unwrap();
        sqlx::query("INSERT INTO reactions (patient_id, onset_date, description, sites, features, different_from_usual, rest_of_skin_improving, created_at) VALUES (1, '2026-01-01', 'rash', '', '', 'unknown', 'unknown', '2026-01-02T00:00:00Z')").execute(&pool).await.unwrap();
        sqlx::query("INSERT INTO assessments (reaction_id, clinician_id, scores_json, causality_json, alternative_causes, outcome, created_at) VALUES (1, 1, '{}', '{}', 'null', 'recovering', 'then')").execute(&pool).await.unwrap();
        pool.close().await;
    }
    let db = vigil_server::db::Db::connect(&url).await.unwrap();
    let state = vigil_server::AppState::new(db, false).unwrap();
    let a = vigil_server::clinic::latest_assessment(&state, 1).await.unwrap().unwrap();
    assert_eq!(a.input.outcome.as_deref(), Some("recovering"));
    assert_eq!((a.input.dechallenge.is_none(), a.input.rechallenge.is_none()), (true, true));
}
