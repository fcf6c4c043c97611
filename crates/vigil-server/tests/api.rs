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

const WHO: [Who; 6] = [
    Who::Anonymous,
    Who::Owner,
    Who::OtherPatient,
    Who::Assigned,
    Who::Unassigned,
    Who::Admin,
];

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
        p if p.ends_with("/injections") => vec![
            ("given_on".into(), json!(days_ago(0))),
            ("dose_mg".into(), json!(300.0)),
        ],
        p if p.ends_with("/scores") => {
            if api {
                return Body::Json(
                    json!({"week_start": days_ago(7), "poem_days": [1, 2, 3, 4, 5, 6, 7], "pp_nrs": 5.0}),
                );
            }
            let mut f = vec![
                ("week_start".to_string(), days_ago(7)),
                ("pp_nrs".into(), "5".into()),
            ];
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
        // The fixture's reaction has no seriousness answer: exporting it needs the confirmation.
        p if p.ends_with("/icsr") => vec![(
            "confirm_unassessed".into(),
            if api { json!(true) } else { json!("yes") },
        )],
        "/api/assignments/remove" | "/admin/assignments/remove" => {
            vec![
                ("clinician_id".into(), json!(app.ids.cc)),
                ("patient_id".into(), json!(app.ids.p2)),
            ]
        }
        // Reactivating an active account changes nothing, so later cells keep their sessions.
        p if p.ends_with("/active") => vec![(
            "active".into(),
            if api { json!(true) } else { json!("yes") },
        )],
        p if p.starts_with("/api/users/") && p.ends_with("/password") => {
            vec![("password".into(), json!("a reset password for C"))]
        }
        p if p.starts_with("/admin/users/") && p.ends_with("/password") => {
            vec![("password".into(), json!("another reset password"))]
        }
        "/account/password" => vec![
            ("current_password".into(), json!(common::PASSWORD)),
            ("new_password".into(), json!(common::CHANGED_PASSWORD)),
        ],
        "/api/me/password" => vec![
            ("current_password".into(), json!(common::CHANGED_PASSWORD)),
            ("new_password".into(), json!("the second new password")),
        ],
        "/api/users" | "/admin/users" => vec![
            ("username".into(), json!(format!("newuser{n}"))),
            ("password".into(), json!("a long enough password")),
            ("role".into(), json!("patient")),
            ("display_name".into(), json!(format!("New User {n}"))),
        ],
        "/api/assignments" | "/admin/assignments" => {
            vec![
                ("clinician_id".into(), json!(app.ids.cc)),
                ("patient_id".into(), json!(app.ids.p2)),
            ]
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
        Body::Form(
            pairs
                .into_iter()
                .map(|(k, v)| {
                    (
                        k,
                        v.as_str()
                            .map(str::to_string)
                            .unwrap_or_else(|| v.to_string()),
                    )
                })
                .collect(),
        )
    }
}

/// Expected status per caller: [anonymous, owner, other patient, assigned clinician, unassigned clinician, admin].
///
/// Policy (vigil_server::error): 401 not logged in (pages: 303 to /login); 403 the role may never use
/// the route; 404 the record is outside the caller's scope; 2xx/303 allowed. Ids in the paths are the
/// fixture's patient 1 (`P`), its reaction (`R`), its ICSR export (`X`) and clinician C (`U`, an account
/// with no session in the table, whose password the admin cells reset).
const TABLE: &[(&str, &str, [u16; 6])] = &[
    ("GET", "/", [303, 303, 303, 303, 303, 303]),
    ("GET", "/healthz", [200, 200, 200, 200, 200, 200]),
    // Logged in already: the login page forwards home (or to `next`).
    ("GET", "/login", [200, 303, 303, 303, 303, 303]),
    ("GET", "/patients/P", [303, 200, 404, 200, 404, 403]),
    (
        "POST",
        "/patients/P/regimen",
        [303, 403, 403, 303, 404, 403],
    ),
    (
        "POST",
        "/patients/P/injections",
        [303, 303, 404, 303, 404, 403],
    ),
    ("POST", "/patients/P/scores", [303, 303, 404, 303, 404, 403]),
    (
        "POST",
        "/patients/P/reactions",
        [303, 303, 404, 303, 404, 403],
    ),
    ("GET", "/clinician", [303, 403, 403, 200, 200, 403]),
    ("GET", "/reactions/R", [303, 403, 403, 200, 404, 403]),
    (
        "POST",
        "/reactions/R/assessment",
        [303, 403, 403, 303, 404, 403],
    ),
    ("POST", "/reactions/R/icsr", [303, 403, 403, 303, 404, 403]),
    ("GET", "/icsr/X", [303, 403, 403, 200, 404, 403]),
    ("GET", "/admin", [303, 403, 403, 403, 403, 200]),
    ("POST", "/admin/users", [303, 403, 403, 403, 403, 303]),
    ("POST", "/admin/assignments", [303, 403, 403, 403, 403, 303]),
    (
        "POST",
        "/admin/assignments/remove",
        [303, 403, 403, 403, 403, 303],
    ),
    (
        "POST",
        "/admin/users/U/active",
        [303, 403, 403, 403, 403, 303],
    ),
    (
        "POST",
        "/admin/users/U/password",
        [303, 403, 403, 403, 403, 303],
    ),
    ("GET", "/account", [303, 200, 200, 200, 200, 200]),
    ("POST", "/account/password", [303, 303, 303, 303, 303, 303]),
    ("GET", "/api/openapi.json", [200, 200, 200, 200, 200, 200]),
    ("GET", "/api/me", [401, 200, 200, 200, 200, 200]),
    ("GET", "/api/patients", [401, 200, 200, 200, 200, 403]),
    ("GET", "/api/patients/P", [401, 200, 404, 200, 404, 403]),
    (
        "GET",
        "/api/patients/P/audit",
        [401, 403, 403, 200, 404, 403],
    ),
    (
        "POST",
        "/api/patients/P/regimen",
        [401, 403, 403, 201, 404, 403],
    ),
    (
        "POST",
        "/api/patients/P/injections",
        [401, 201, 404, 201, 404, 403],
    ),
    (
        "POST",
        "/api/patients/P/scores",
        [401, 201, 404, 201, 404, 403],
    ),
    (
        "POST",
        "/api/patients/P/reactions",
        [401, 201, 404, 201, 404, 403],
    ),
    ("GET", "/api/reactions/R", [401, 200, 404, 200, 404, 403]),
    (
        "GET",
        "/api/reactions/R/assessment",
        [401, 403, 403, 200, 404, 403],
    ),
    (
        "POST",
        "/api/reactions/R/assessment",
        [401, 403, 403, 201, 404, 403],
    ),
    (
        "POST",
        "/api/reactions/R/icsr",
        [401, 403, 403, 201, 404, 403],
    ),
    ("GET", "/api/icsr/X", [401, 403, 403, 200, 404, 403]),
    ("GET", "/api/audit", [401, 403, 403, 403, 403, 200]),
    ("POST", "/api/users", [401, 403, 403, 403, 403, 201]),
    ("POST", "/api/assignments", [401, 403, 403, 403, 403, 201]),
    ("GET", "/api/users", [401, 403, 403, 403, 403, 200]),
    ("GET", "/api/assignments", [401, 403, 403, 403, 403, 200]),
    (
        "POST",
        "/api/assignments/remove",
        [401, 403, 403, 403, 403, 204],
    ),
    (
        "POST",
        "/api/users/U/active",
        [401, 403, 403, 403, 403, 204],
    ),
    (
        "POST",
        "/api/users/U/password",
        [401, 403, 403, 403, 403, 204],
    ),
    ("POST", "/api/me/password", [401, 204, 204, 204, 204, 204]),
];

/// A table path with the fixture's ids in place of `P`, `R`, `X` and `U`.
fn concrete(app: &App, path: &str) -> String {
    path.replace("/P", &format!("/{}", app.ids.p1))
        .replace("/R", &format!("/{}", app.ids.r1))
        .replace("/X", &format!("/{}", app.ids.x1))
        .replace("/U/", &format!("/{}/", app.ids.cc))
}

/// Routes tested on their own instead of in the table (they change the session itself).
const SESSION_ROUTES: &[(&str, &str)] = &[
    ("POST", "/login"),
    ("POST", "/logout"),
    ("POST", "/api/login"),
    ("POST", "/api/logout"),
];

#[test]
fn the_table_covers_every_route_of_the_router() {
    let table: BTreeSet<(String, String)> = TABLE
        .iter()
        .map(|(m, p, _)| {
            (
                m.to_string(),
                p.replace("/P", "/{id}")
                    .replace("/R", "/{id}")
                    .replace("/X", "/{id}")
                    .replace("/U/", "/{id}/"),
            )
        })
        .chain(
            SESSION_ROUTES
                .iter()
                .map(|(m, p)| (m.to_string(), p.to_string())),
        )
        .collect();
    let routes: BTreeSet<(String, String)> = vigil_server::ROUTES
        .iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
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
            let concrete = concrete(&app, path);
            for (who, want) in WHO.iter().zip(expected) {
                n += 1;
                let session = app.session(*who);
                let csrf = session.as_ref().map(|s| s.csrf.clone());
                let body = valid_body(&app, method, path, n);
                let r = app
                    .send(method, &concrete, session.as_ref(), csrf.as_deref(), body)
                    .await;
                if r.status.as_u16() != *want {
                    failures.push(format!(
                        "{} {method} {concrete} as {who:?}: got {} want {want}: {}",
                        app.backend,
                        r.status,
                        &r.text[..r.text.len().min(200)]
                    ));
                }
            }
        }
        assert_eq!(n, TABLE.len() * 6);
        assert!(
            failures.is_empty(),
            "{} of {n} cells differ:\n{}",
            failures.len(),
            failures.join("\n")
        );
    });
}

#[tokio::test]
async fn unknown_ids_are_404_for_everyone_in_scope() {
    on_every_backend!("unknown_ids_are_404_for_everyone_in_scope", |app| {
        for path in [
            "/api/patients/999999",
            "/api/reactions/999999",
            "/api/reactions/999999/assessment",
            "/api/icsr/999999",
        ] {
            assert_eq!(
                app.get(path, &app.ca).await.status,
                StatusCode::NOT_FOUND,
                "{path}"
            );
        }
        // A clinician's or admin's id used as a patient id is not a patient: 404, not their data.
        let r = app
            .get(&format!("/api/patients/{}", app.ids.cb), &app.ca)
            .await;
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
            let who = WHO
                .iter()
                .zip(expected)
                .skip(1)
                .find(|(_, s)| [201, 204, 303].contains(*s))
                .map(|(w, _)| *w)
                .unwrap();
            let session = app.session(who).unwrap();
            let concrete = concrete(&app, path);
            for csrf in [None, Some("0".repeat(64)), Some(app.p2.csrf.clone())] {
                n += 1;
                let body = valid_body(&app, method, path, 1000 + n);
                let r = app
                    .send(method, &concrete, Some(&session), csrf.as_deref(), body)
                    .await;
                assert_eq!(
                    r.status,
                    StatusCode::FORBIDDEN,
                    "{method} {concrete} as {who:?} with csrf {csrf:?}: {}",
                    r.text
                );
            }
        }
        // 24 write routes × (missing, wrong, another session's token).
        assert_eq!(n, 24 * 3);
        assert_eq!(
            app.counts().await,
            before,
            "a request without the right CSRF token saved something"
        );
        // Logout needs it too.
        let r = app
            .send("POST", "/api/logout", Some(&app.p1), None, Body::None)
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        let r = app
            .send("POST", "/logout", Some(&app.p1), None, form(&[]))
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        assert_eq!(app.get("/api/me", &app.p1).await.status, StatusCode::OK);
    });
}

#[tokio::test]
async fn login_form_uses_a_double_submit_token_and_sets_a_strict_httponly_cookie() {
    on_every_backend!("login_form_csrf", |app| {
        let page = app.send("GET", "/login", None, None, Body::None).await;
        let set = page
            .headers
            .get("set-cookie")
            .unwrap()
            .to_str()
            .unwrap()
            .to_string();
        assert!(
            set.contains("HttpOnly") && set.contains("SameSite=Strict"),
            "{set}"
        );
        let cookie = set.split(';').next().unwrap().to_string();
        let token = cookie.split('=').nth(1).unwrap().to_string();
        assert!(page.text.contains(&format!("value=\"{token}\"")));
        let creds = [("username", "pat1"), ("password", common::PASSWORD)];
        // Without the cookie, or with a different token: 403.
        let r = app
            .send("POST", "/login", None, Some(&token), form(&creds))
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        let s = Session {
            cookie: cookie.clone(),
            csrf: String::new(),
        };
        let r = app
            .send(
                "POST",
                "/login",
                Some(&s),
                Some(&"f".repeat(64)),
                form(&creds),
            )
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        // With both: 303 to / and a session cookie.
        let r = app
            .send("POST", "/login", Some(&s), Some(&token), form(&creds))
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
        let session = r.headers.get("set-cookie").unwrap().to_str().unwrap();
        assert!(
            session.starts_with("vigil_session=")
                && session.contains("HttpOnly")
                && session.contains("SameSite=Strict")
        );
        assert!(
            !session.contains("Secure"),
            "Secure is off unless configured"
        );
        // The API login takes JSON only (a cross-site form cannot send it): a form-encoded or text body is 415.
        let r = app
            .send(
                "POST",
                "/api/login",
                None,
                None,
                Body::Raw(
                    "text/plain",
                    br#"{"username":"pat1","password":"correct horse battery"}"#.to_vec(),
                ),
            )
            .await;
        assert_eq!(r.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
        assert!(r.headers.get("set-cookie").is_none());
        // The database holds the SHA-256 of the cookie's token, never the token itself.
        let mine = app.login("pat1").await;
        let token = mine.cookie.trim_start_matches("vigil_session=").to_string();
        use sqlx::Row;
        let stored: Vec<String> = sqlx::query("SELECT token FROM sessions")
            .fetch_all(&app.state.db.pool)
            .await
            .unwrap()
            .iter()
            .map(|r| r.try_get(0).unwrap())
            .collect();
        assert!(stored.contains(&vigil_server::auth::token_digest(&token)));
        assert!(!stored.contains(&token));
        // Logging out ends the session.
        let r = app
            .send(
                "POST",
                "/api/logout",
                Some(&mine),
                Some(&mine.csrf),
                Body::None,
            )
            .await;
        assert_eq!(r.status, StatusCode::NO_CONTENT);
        assert_eq!(
            app.get("/api/me", &mine).await.status,
            StatusCode::UNAUTHORIZED
        );
    });
}

#[tokio::test]
async fn login_is_throttled_per_account_and_address() {
    on_every_backend!("login_is_throttled_per_account_and_address", |app| {
        let attempt = |user: &'static str, password: &'static str| {
            app.send(
                "POST",
                "/api/login",
                None,
                None,
                Body::Json(json!({"username": user, "password": password})),
            )
        };
        for i in 0..vigil_server::auth::THROTTLE_LIMIT {
            assert_eq!(
                attempt("pat2", "wrong password").await.status,
                StatusCode::UNAUTHORIZED,
                "attempt {i}"
            );
        }
        // The sixth attempt is refused even with the right password.
        let r = attempt("pat2", common::PASSWORD).await;
        assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.text);
        // Another account from the same address is not affected; unknown users are throttled too.
        assert_eq!(
            attempt("pat1", common::PASSWORD).await.status,
            StatusCode::OK
        );
        for _ in 0..vigil_server::auth::THROTTLE_LIMIT {
            assert_eq!(
                attempt("nobody", "x").await.status,
                StatusCode::UNAUTHORIZED
            );
        }
        assert_eq!(
            attempt("nobody", "x").await.status,
            StatusCode::TOO_MANY_REQUESTS
        );
    });
}

const XSS: &str = "<script>alert(\"x\")</script><img src=x onerror=alert(1)>&";

#[tokio::test]
async fn user_text_is_echoed_html_escaped() {
    on_every_backend!("user_text_is_echoed_html_escaped", |app| {
        let p = app.ids.p1;
        let r = app
            .post_json(
                &format!("/api/patients/{p}/reactions"),
                &app.p1,
                json!({"onset_date": days_ago(1), "description": XSS}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        let rid = r.json()["id"].as_i64().unwrap();
        let r = app
            .post_json(
                &format!("/api/patients/{p}/injections"),
                &app.p1,
                json!({"given_on": days_ago(0), "dose_mg": 300, "site": XSS, "note": XSS}),
            )
            .await;
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
            assert!(
                !page.text.contains("<script>alert"),
                "{path} echoes a raw script tag"
            );
            assert!(
                !page.text.contains("<img src=x"),
                "{path} echoes a raw img tag"
            );
            if path != "/admin" {
                assert!(page.text.contains(escaped), "{path} lacks the escaped text");
            }
        }
        // The API returns the text verbatim (JSON, not HTML).
        let rec = app
            .get(&format!("/api/reactions/{rid}"), &app.p1)
            .await
            .json();
        assert_eq!(rec["description"], XSS);
        // Every page forbids inline scripts through its Content-Security-Policy.
        let page = app.get(&format!("/patients/{p}"), &app.p1).await;
        let csp = page
            .headers
            .get("content-security-policy")
            .unwrap()
            .to_str()
            .unwrap();
        assert!(
            csp.starts_with("default-src 'none'") && !csp.contains("script-src"),
            "{csp}"
        );
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
            let r = app
                .post_json(
                    &format!("/api/patients/{p}/injections"),
                    &app.p1,
                    json!({"given_on": days_ago(0), "dose_mg": 300, "site": probe, "note": probe}),
                )
                .await;
            assert_eq!(r.status, StatusCode::CREATED, "{probe}: {}", r.text);
            // Reaction description.
            let r = app
                .post_json(
                    &format!("/api/patients/{p}/reactions"),
                    &app.p1,
                    json!({"onset_date": days_ago(1), "description": probe}),
                )
                .await;
            assert_eq!(r.status, StatusCode::CREATED);
            let rid = r.json()["id"].as_i64().unwrap();
            // Assessment: alternative causes.
            let r = app
                .post_json(
                    &format!("/api/reactions/{rid}/assessment"),
                    &app.ca,
                    json!({"alternative_causes": [probe], "outcome": "recovering"}),
                )
                .await;
            assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
            // Admin: display name of a new account; login with the probe as username fails cleanly.
            let r = app
                .post_json("/api/users", &app.admin, json!({"username": format!("sqli{i}"), "password": "a long enough password", "role": "patient", "display_name": probe}))
                .await;
            assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
            let r = app
                .send(
                    "POST",
                    "/api/login",
                    None,
                    None,
                    Body::Json(json!({"username": probe, "password": probe})),
                )
                .await;
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
            let last = rec["injections"]
                .as_array()
                .unwrap()
                .iter()
                .max_by_key(|i| i["id"].as_i64())
                .unwrap()
                .clone();
            assert_eq!(
                (last["site"].as_str(), last["note"].as_str()),
                (Some(*probe), Some(*probe))
            );
            let reaction = app
                .get(&format!("/api/reactions/{rid}"), &app.p1)
                .await
                .json();
            assert_eq!(reaction["description"], *probe);
            let a = app
                .get(&format!("/api/reactions/{rid}/assessment"), &app.ca)
                .await;
            assert_eq!(a.status, StatusCode::OK, "{}", a.text);
            assert_eq!(
                a.json()["confirmed"]["input"]["alternative_causes"][0],
                *probe
            );
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
            (
                format!("/api/patients/{p}/injections"),
                &app.p1,
                json!({"given_on": tomorrow, "dose_mg": 300}),
                vec!["given_on"],
            ),
            // 601 mg > twice the 300 mg regimen dose.
            (
                format!("/api/patients/{p}/injections"),
                &app.p1,
                json!({"given_on": days_ago(0), "dose_mg": 601}),
                vec!["dose_mg"],
            ),
            (
                format!("/api/patients/{p}/injections"),
                &app.p1,
                json!({"given_on": days_ago(0), "dose_mg": 0}),
                vec!["dose_mg"],
            ),
            (
                format!("/api/patients/{p}/injections"),
                &app.p1,
                json!({"given_on": "2026-02-30", "dose_mg": 300}),
                vec!["given_on"],
            ),
            (
                format!("/api/patients/{p}/injections"),
                &app.p1,
                json!({"given_on": days_ago(0), "dose_mg": "300mg"}),
                vec!["dose_mg"],
            ),
            (
                format!("/api/patients/{p}/scores"),
                &app.p1,
                json!({"week_start": days_ago(0), "poem_days": [0, 0, 0, 8, 0, 0, 0], "pp_nrs": 11}),
                vec!["poem_days[3]", "pp_nrs"],
            ),
            (
                format!("/api/patients/{p}/scores"),
                &app.p1,
                json!({"week_start": days_ago(0), "poem_days": [0, 0, 0], "pp_nrs": 3}),
                vec!["poem_days"],
            ),
            (
                format!("/api/patients/{p}/scores"),
                &app.p1,
                json!({"week_start": days_ago(0), "poem_days": [0, 0, 0, -1, 0, 0, 0], "pp_nrs": 3}),
                vec!["poem_days[3]"],
            ),
            (
                format!("/api/patients/{p}/reactions"),
                &app.p1,
                json!({"onset_date": tomorrow, "description": ""}),
                vec!["onset_date", "description"],
            ),
            (
                format!("/api/patients/{p}/reactions"),
                &app.p1,
                json!({"onset_date": days_ago(0), "description": "x", "sites": ["elbow"]}),
                vec!["sites[0]"],
            ),
            (
                format!("/api/patients/{p}/reactions"),
                &app.p1,
                json!({"onset_date": days_ago(0), "description": "x", "colour": "red"}),
                vec!["colour"],
            ),
            (
                format!("/api/patients/{p}/regimen"),
                &app.ca,
                json!({"drug": "dupilumab", "dose_mg": -5, "interval_days": 0, "start_date": tomorrow}),
                vec!["dose_mg", "interval_days", "start_date"],
            ),
            (
                format!("/api/reactions/{}/assessment", app.ids.r1),
                &app.ca,
                json!({"outcome": "better"}),
                vec!["outcome"],
            ),
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
            assert_eq!(
                r.status,
                StatusCode::UNPROCESSABLE_ENTITY,
                "{path} {body}: {}",
                r.text
            );
            let got: Vec<String> = r.json()["fields"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| f["field"].as_str().unwrap().to_string())
                .collect();
            assert_eq!(got, fields, "{path} {body}");
        }
        assert_eq!(
            app.counts().await,
            before,
            "a refused request saved something"
        );

        // The form shows the field and why, with status 422, and keeps what was typed.
        let r = app
            .post_form(
                &format!("/patients/{p}/injections"),
                &app.p1,
                &[
                    ("given_on", &tomorrow),
                    ("dose_mg", "900"),
                    ("site", "left thigh"),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.text.contains("data-field=\"given_on\""), "{}", r.text);
        assert!(r.text.contains("is in the future"));
        assert!(r.text.contains("data-field=\"dose_mg\""));
        assert!(
            r.text
                .contains("900 mg is not possible here: enter more than 0 and at most 600 mg"),
            "{}",
            r.text
        );
        // The message sits beside its field too, not only in the summary.
        assert!(r.text.contains("id=\"error-dose_mg\""));
        assert!(r.text.contains("value=\"left thigh\""));
        let r = app
            .post_form(
                &format!("/patients/{p}/scores"),
                &app.p1,
                &[
                    ("week_start", &days_ago(0)),
                    ("poem_days", "1"),
                    ("poem_days", "9"),
                    ("pp_nrs", "ten"),
                ],
            )
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
        // Patient 1, every 14 days: 600 mg loading 40 days ago, 300 mg 26 days ago → the next was due 12
        // days ago. Its 7-day window closed 5 days ago, so by the label rule (EU SmPC Q2W: later than 7 days,
        // wait for the next scheduled dose) it is a missed dose and the next is due in 2 days (−40 + 3 × 14).
        for (ago, dose) in [(40, 600), (26, 300)] {
            let r = app
                .post_json(
                    &format!("/api/patients/{p1}/injections"),
                    &app.p1,
                    json!({"given_on": days_ago(ago), "dose_mg": dose}),
                )
                .await;
            assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        }
        let rec = app
            .get(&format!("/api/patients/{p1}"), &app.p1)
            .await
            .json();
        assert_eq!(rec["next_due"], days_ago(-2));
        assert_eq!(rec["missed_doses"], json!([days_ago(12)]));
        assert_eq!(
            (rec["overdue"].as_bool(), rec["days_overdue"].as_i64()),
            (Some(false), Some(0))
        );
        assert!(rec["missed_dose_rule"]
            .as_str()
            .unwrap()
            .contains("within 7 days"));
        assert_eq!(
            rec["regimen"]["label_match"]["population"],
            "adults; 6–17 years ≥60 kg"
        );
        // Patient 2 moved to every 28 days (a child's label regimen: 300 mg Q4W), last dose 10 days ago → due in 18 days.
        let r = app
            .post_json(&format!("/api/patients/{p2}/regimen"), &app.cb, json!({"drug": "Dupixent", "dose_mg": 300, "interval_days": 28, "start_date": days_ago(120)}))
            .await;
        assert_eq!(r.status, StatusCode::CREATED);
        app.post_json(
            &format!("/api/patients/{p2}/injections"),
            &app.p2,
            json!({"given_on": days_ago(10), "dose_mg": 300}),
        )
        .await;
        let rec = app
            .get(&format!("/api/patients/{p2}"), &app.p2)
            .await
            .json();
        assert_eq!(rec["next_due"], days_ago(-18));
        assert_eq!(
            (rec["overdue"].as_bool(), rec["days_overdue"].as_i64()),
            (Some(false), Some(0))
        );
        // No verified missed-dose rule for every 28 days (clinical.md §4.2, open item 7): said so.
        assert!(rec["missed_dose_rule"]
            .as_str()
            .unwrap()
            .contains("No verified missed-dose rule"));
        assert!(rec["regimen"]["label_note"]
            .as_str()
            .unwrap()
            .contains("[VERIFIED]"));
        // The page shows the same, the rule in plain words for the patient.
        let page = app.get(&format!("/patients/{p1}"), &app.p1).await.text;
        assert!(
            page.contains(&format!(
                "<strong id=\"next-due\">{}</strong>",
                days_ago(-2)
            )),
            "{page}"
        );
        assert!(page.contains(&format!("Missed injections: {}", days_ago(12))));
        assert!(page.contains("If you miss an injection, take it within 7 days"));
    });
}

#[tokio::test]
async fn weekly_scores_use_the_clinic_poem_rules_and_are_plotted() {
    on_every_backend!("weekly_scores", |app| {
        let p = app.ids.p1;
        // Days 7,7,7,7,7,7,7 → 7 × 4 = 28 (very severe); days 0,1,2,3,4,5,6 → 0+1+1+2+2+3+3 = 12 (moderate).
        for (ago, days, nrs) in [(14, [7; 7], 9.0), (7, [0, 1, 2, 3, 4, 5, 6], 4.0)] {
            let r = app
                .post_json(
                    &format!("/api/patients/{p}/scores"),
                    &app.p1,
                    json!({"week_start": days_ago(ago), "poem_days": days, "pp_nrs": nrs}),
                )
                .await;
            assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        }
        let rec = app.get(&format!("/api/patients/{p}"), &app.ca).await.json();
        let s = rec["scores"].as_array().unwrap();
        assert_eq!(
            (s[0]["poem_total"].as_i64(), s[0]["poem_band"].as_str()),
            (Some(28), Some("very severe"))
        );
        assert_eq!(
            (s[1]["poem_total"].as_i64(), s[1]["poem_band"].as_str()),
            (Some(12), Some("moderate"))
        );
        assert_eq!(s[1]["pp_nrs_stratum"], "moderate");
        let page = app.get(&format!("/patients/{p}"), &app.ca).await.text;
        // Plot: x 40 then 600; POEM 28 → y 20, 12 → 20 + 180 × 16/28 = 122.857 → 122.9; NRS 9 → 38, 4 → 128.
        assert!(
            page.contains("points=\"40.0,20.0 600.0,122.9\""),
            "POEM line"
        );
        assert!(
            page.contains("points=\"40.0,38.0 600.0,128.0\""),
            "PP-NRS line"
        );
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
        assert_eq!(
            (p["id"].as_i64(), p["unreviewed_reactions"].as_i64()),
            (Some(app.ids.p1), Some(1))
        );
        assert_eq!(
            (p["overdue"].as_bool(), p["days_overdue"].as_i64()),
            (Some(true), Some(120))
        );
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
            "outcome": "recovering",
            "seriousness": {}
        });
        let r = app
            .post_json(&format!("/api/reactions/{rid}/assessment"), &app.ca, body)
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        let list = app.get("/api/patients", &app.ca).await.json();
        assert_eq!(list["patients"][0]["unreviewed_reactions"], 0);
        let a = app
            .get(&format!("/api/reactions/{rid}/assessment"), &app.ca)
            .await
            .json();
        assert_eq!(a["confirmed"]["easi"].as_f64(), Some(0.8));
        assert_eq!(a["confirmed"]["scorad"].as_f64(), Some(23.0));
        assert_eq!(
            a["assessment"]["scores"]["easi"]["total"].as_f64(),
            Some(0.8)
        );
        // Naranjo: item 1 yes (+1), item 2 onset after the first dose (+2, derived), item 5 no (+2) → 5, probable.
        let naranjo = &a["assessment"]["causality"][0]["naranjo"];
        assert_eq!(naranjo["items"][0]["basis"]["kind"], "explicit");
        assert_eq!(naranjo["items"][1]["points"], 2);
        assert_eq!(
            (naranjo["total"].as_i64(), naranjo["category"].as_str()),
            (Some(5), Some("probable"))
        );
        // Reaction-vs-flare support runs because the suspect drug is dupilumab.
        assert_eq!(a["assessment"]["flare"].as_array().unwrap().len(), 1);
        assert!(!a["assessment"]["flare"][0]["candidates"]
            .as_array()
            .unwrap()
            .is_empty());

        // Report → stored XML, downloadable; it parses and carries C.1.1 and the patient's words.
        let r = app
            .post_json(&format!("/api/reactions/{rid}/icsr"), &app.ca, json!({}))
            .await;
        assert_eq!(r.status, StatusCode::CREATED);
        let xid = r.json()["id"].as_i64().unwrap();
        let x = app.get(&format!("/api/icsr/{xid}"), &app.ca).await;
        assert_eq!(
            x.headers.get("content-type").unwrap(),
            "application/xml; charset=utf-8"
        );
        assert!(x
            .headers
            .get("content-disposition")
            .unwrap()
            .to_str()
            .unwrap()
            .contains(&format!("VIGIL-SERVE-R{rid}.xml")));
        let doc = roxmltree::Document::parse(&x.text).unwrap();
        assert_eq!(doc.root_element().tag_name().name(), "MCCI_IN200100UV01");
        assert!(doc
            .descendants()
            .any(|n| n.attribute("extension") == Some(&format!("VIGIL-SERVE-R{rid}") as &str)));
        assert!(x.text.contains("red, burning skin on the face and neck"));
        // Read back through vigil-clinic's importer: same case id, one dupilumab suspect drug.
        let case = vigil_clinic::e2b::import::from_xml_bytes(x.text.as_bytes(), "export").unwrap();
        assert_eq!(case.id, format!("VIGIL-SERVE-R{rid}"));
        assert_eq!(case.drugs[0].name, "dupilumab");
        assert_eq!(
            case.reactions[0].outcome,
            vigil_clinic::case::Outcome::Recovering
        );

        // The record's audit log (for its clinician) has who, what, before and after of the assessment.
        let log = app
            .get(&format!("/api/patients/{}/audit", app.ids.p1), &app.ca)
            .await
            .json();
        let entry = log["entries"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["action"] == "assess_reaction")
            .unwrap()
            .clone();
        assert_eq!(entry["username"], "doc_a");
        assert_eq!(entry["after"]["easi"].as_f64(), Some(0.8));
        assert!(entry["before"].is_null());
        let export = log["entries"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["action"] == "export_icsr" && e["entity_id"] == xid)
            .unwrap()
            .clone();
        assert_eq!(export["after"]["case_id"], format!("VIGIL-SERVE-R{rid}"));
    });
}

#[tokio::test]
async fn regimen_change_is_audited_with_before_and_after() {
    on_every_backend!("regimen_audit", |app| {
        let p = app.ids.p1;
        let r = app.post_json(&format!("/api/patients/{p}/regimen"), &app.ca, json!({"drug": "dupilumab", "dose_mg": 300, "interval_days": 28, "start_date": days_ago(120)})).await;
        assert_eq!(r.status, StatusCode::CREATED);
        let log = app
            .get(&format!("/api/patients/{p}/audit"), &app.ca)
            .await
            .json();
        let e = &log["entries"][0];
        assert_eq!(
            (e["action"].as_str(), e["username"].as_str()),
            (Some("set_regimen"), Some("doc_a"))
        );
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
    let rows = sqlx::query("SELECT version FROM schema_migrations ORDER BY version")
        .fetch_all(&db.pool)
        .await
        .unwrap();
    let versions: Vec<i64> = rows.iter().map(|r| r.try_get(0).unwrap()).collect();
    assert_eq!(versions, [1, 2, 3]);
    assert_eq!(vigil_server::db::latest_version(), 3);
}

#[tokio::test]
async fn an_interval_extension_that_helped_is_naranjo_item_8() {
    on_every_backend!("dechallenge", |app| {
        let rid = app.ids.r1;
        // Interval extended, reaction improved; alternatives looked for, none found; no rechallenge.
        let body = json!({"dechallenge": {"action": "interval_extended", "date": days_ago(5), "result": "improved"},
                          "rechallenge": "not_done", "alternative_causes": []});
        let r = app
            .post_json(&format!("/api/reactions/{rid}/assessment"), &app.ca, body)
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        let a = app
            .get(&format!("/api/reactions/{rid}/assessment"), &app.ca)
            .await
            .json();
        let items = &a["assessment"]["causality"][0]["naranjo"]["items"];
        // Item 3 (improved on withdrawal) stays unknown: the drug was not stopped.
        assert_eq!(items[2]["answer"], "unknown");
        // Item 8 (dose-related): yes, +1, derived from the interval extension.
        assert_eq!(
            (items[7]["answer"].as_str(), items[7]["points"].as_i64()),
            (Some("yes"), Some(1))
        );
        assert_eq!(items[7]["basis"]["kind"], "derived");
        // Item 5 (alternative causes): none found → no, +2. Total 2 (item 2) + 2 + 1 = 5, probable.
        assert_eq!(items[4]["points"], 2);
        let n = &a["assessment"]["causality"][0]["naranjo"];
        assert_eq!(
            (n["total"].as_i64(), n["category"].as_str()),
            (Some(5), Some("probable"))
        );
        assert_eq!(
            a["confirmed"]["input"]["dechallenge"]["action"],
            "interval_extended"
        );
        // A future dechallenge date is refused.
        let tomorrow = (common::today() + chrono::Duration::days(1)).to_string();
        let r = app.post_json(&format!("/api/reactions/{rid}/assessment"), &app.ca, json!({"dechallenge": {"action": "withdrawn", "date": tomorrow, "result": "improved"}})).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(r.json()["fields"][0]["field"], "dechallenge.date");
        // The same through the review form.
        let r = app
            .post_form(
                &format!("/reactions/{rid}/assessment"),
                &app.ca,
                &[
                    ("dechallenge_action", "withdrawn"),
                    ("dechallenge_result", "resolved"),
                    ("rechallenge", "recurred"),
                    ("outcome", "recovered"),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
        let a = app
            .get(&format!("/api/reactions/{rid}/assessment"), &app.ca)
            .await
            .json();
        let items = &a["assessment"]["causality"][0]["naranjo"]["items"];
        // Withdrawn and resolved → item 3 yes (+1); rechallenge recurred → item 4 yes (+2).
        assert_eq!(
            (items[2]["answer"].as_str(), items[2]["points"].as_i64()),
            (Some("yes"), Some(1))
        );
        assert_eq!(
            (items[3]["answer"].as_str(), items[3]["points"].as_i64()),
            (Some("yes"), Some(2))
        );
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
        for statement in include_str!("../migrations/sqlite/0001_init.sql")
            .split(";\n")
            .filter(|s| s.contains("CREATE"))
        {
            let sql: String = statement
                .lines()
                .filter(|l| !l.trim_start().starts_with("--"))
                .collect::<Vec<_>>()
                .join("\n");
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .execute(&pool)
                .await
                .unwrap();
        }
        sqlx::query("INSERT INTO schema_migrations VALUES (1, 'initial schema', 'then')")
            .execute(&pool)
            .await
            .unwrap();
        sqlx::query("INSERT INTO users (username, password_hash, role, display_name, created_at) VALUES ('u', 'x', 'patient', 'U', 'then')").execute(&pool).await.unwrap();
        sqlx::query("INSERT INTO reactions (patient_id, onset_date, description, sites, features, different_from_usual, rest_of_skin_improving, created_at) VALUES (1, '2026-01-01', 'rash', '', '', 'unknown', 'unknown', '2026-01-02T00:00:00Z')").execute(&pool).await.unwrap();
        sqlx::query("INSERT INTO assessments (reaction_id, clinician_id, scores_json, causality_json, alternative_causes, outcome, created_at) VALUES (1, 1, '{}', '{}', 'null', 'recovering', 'then')").execute(&pool).await.unwrap();
        pool.close().await;
    }
    let db = vigil_server::db::Db::connect(&url).await.unwrap();
    let state = vigil_server::AppState::new(db, false).unwrap();
    let a = vigil_server::clinic::latest_assessment(&state, 1)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(a.input.outcome.as_deref(), Some("recovering"));
    assert_eq!(
        (a.input.dechallenge.is_none(), a.input.rechallenge.is_none()),
        (true, true)
    );
}

// ---------------------------------------------------------------- issue 14: the service as a clinic runs it

/// The fields a browser would submit from a page's form `id`: inputs with their values, checked boxes,
/// the selected option of each select (else the first), textareas. Enough for the server's own pages.
fn form_fields(html: &str, id: &str) -> Vec<(String, String)> {
    let start = html
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no form {id}"));
    let form = &html[start..start + html[start..].find("</form>").unwrap()];
    let attr = |tag: &str, name: &str| -> Option<String> {
        let key = format!(" {name}=\"");
        let at = tag.find(&key)? + key.len();
        Some(
            tag[at..at + tag[at..].find('"')?]
                .replace("&amp;", "&")
                .replace("&quot;", "\"")
                .replace("&#x2f;", "/"),
        )
    };
    let mut out = Vec::new();
    let mut rest = form;
    while let Some(open) = rest.find('<') {
        rest = &rest[open..];
        let end = rest.find('>').unwrap();
        let tag = &rest[..=end];
        if tag.starts_with("<input") {
            let kind = attr(tag, "type").unwrap_or_default();
            if let Some(name) = attr(tag, "name") {
                if kind != "checkbox" || tag.contains(" checked") {
                    out.push((name, attr(tag, "value").unwrap_or_default()));
                }
            }
        } else if tag.starts_with("<select") {
            let name = attr(tag, "name").unwrap();
            let body = &rest[..rest.find("</select>").unwrap()];
            let options: Vec<&str> = body.split("<option").skip(1).collect();
            let chosen = options
                .iter()
                .find(|o| o.split('>').next().unwrap().contains("selected"))
                .or(options.first())
                .unwrap();
            let head = chosen.split('>').next().unwrap();
            let value = attr(&format!("<option{head}>"), "value").unwrap_or_else(|| {
                chosen
                    .split('>')
                    .nth(1)
                    .unwrap()
                    .split('<')
                    .next()
                    .unwrap()
                    .to_string()
            });
            out.push((name, value));
        } else if tag.starts_with("<textarea") {
            let name = attr(tag, "name").unwrap();
            let body = &rest[end + 1..];
            out.push((
                name,
                body[..body.find("</textarea>").unwrap()].replace("&amp;", "&"),
            ));
        }
        rest = &rest[end + 1..];
    }
    out
}

#[tokio::test]
async fn the_admin_sees_who_did_what_but_no_clinical_content_and_reads_are_logged() {
    on_every_backend!("admin_audit_privacy", |app| {
        let p = app.ids.p1;
        let secret = "Zebra-striped rash behind the left ear";
        let r = app
            .post_json(
                &format!("/api/patients/{p}/reactions"),
                &app.p1,
                json!({"onset_date": days_ago(2), "description": secret}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED);
        let rid = r.json()["id"].as_i64().unwrap();
        let r = app
            .post_json(
                &format!("/api/patients/{p}/scores"),
                &app.p1,
                json!({"week_start": days_ago(7), "poem_days": [3, 3, 3, 3, 3, 3, 3], "pp_nrs": 7}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED);
        let r = app.post_json(&format!("/api/reactions/{rid}/assessment"), &app.ca, json!({"alternative_causes": ["contact dermatitis from a new shampoo"], "seriousness": {}})).await;
        assert_eq!(r.status, StatusCode::CREATED);
        // The clinician opens the record and the reaction: both reads are logged.
        assert_eq!(
            app.get(&format!("/patients/{p}"), &app.ca).await.status,
            StatusCode::OK
        );
        assert_eq!(
            app.get(&format!("/reactions/{rid}"), &app.ca).await.status,
            StatusCode::OK
        );

        let api = app.get("/api/audit", &app.admin).await;
        let page = app.get("/admin", &app.admin).await;
        for text in [&api.text, &page.text] {
            // The fixture's date of birth and weight, the reaction, the POEM answers, the assessment.
            for clinical in [
                secret,
                "1990-05-01",
                "72.5",
                "poem_days",
                "shampoo",
                "burning skin",
                "\"dose_mg\"",
            ] {
                assert!(
                    !text.contains(clinical),
                    "the admin view shows {clinical:?}"
                );
            }
        }
        let entries = api.json()["entries"].as_array().unwrap().clone();
        assert!(entries
            .iter()
            .all(|e| e.get("before").is_none() && e.get("after").is_none()));
        let read = |who: &str, entity: &str, id: i64| {
            entries.iter().any(|e| {
                e["action"] == "read"
                    && e["username"] == who
                    && e["entity"] == entity
                    && e["entity_id"] == id
                    && e["patient_id"] == p
            })
        };
        assert!(
            read("doc_a", "patient_record", p),
            "the clinician's read of the record is not logged"
        );
        assert!(
            read("doc_a", "reaction", rid),
            "the clinician's read of the reaction is not logged"
        );
        let report = entries
            .iter()
            .find(|e| e["action"] == "report_reaction" && e["entity_id"] == rid)
            .unwrap();
        assert_eq!(
            (report["username"].as_str(), report["patient_id"].as_i64()),
            (Some("pat1"), Some(p))
        );

        // The record's clinician reads the content; another clinician and the admin cannot.
        let own = app.get(&format!("/api/patients/{p}/audit"), &app.ca).await;
        assert_eq!(own.status, StatusCode::OK);
        assert!(own.text.contains(secret) && own.text.contains("shampoo"));
        assert_eq!(
            app.get(&format!("/api/patients/{p}/audit"), &app.cb)
                .await
                .status,
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            app.get(&format!("/api/patients/{p}/audit"), &app.admin)
                .await
                .status,
            StatusCode::FORBIDDEN
        );
    });
}

#[tokio::test]
async fn assessments_are_versioned_prefilled_and_a_form_error_keeps_every_value() {
    on_every_backend!("assessment_versions", |app| {
        let rid = app.ids.r1;
        // Version 1 through the form: EASI head/neck 2,1,1,0 at 20 % → 0.8 (worked in
        // clinician_assessment_and_icsr_export_use_the_clinic_module), SCORAD 23, alternative causes, Naranjo item 1.
        let mut fields = form_fields(
            &app.get(&format!("/reactions/{rid}"), &app.ca).await.text,
            "assessment-form",
        );
        let set = |fields: &mut Vec<(String, String)>, name: &str, value: &str| {
            let f = fields
                .iter_mut()
                .find(|(k, _)| k == name)
                .unwrap_or_else(|| panic!("no field {name}"));
            f.1 = value.to_string();
        };
        for (k, v) in [
            ("easi_head_neck_erythema", "2"),
            ("easi_head_neck_induration", "1"),
            ("easi_head_neck_excoriation", "1"),
            ("easi_head_neck_lichenification", "0"),
            ("easi_head_neck_area_percent", "20"),
        ] {
            set(&mut fields, k, v);
        }
        for r in ["upper_limbs", "trunk", "lower_limbs"] {
            for s in [
                "erythema",
                "induration",
                "excoriation",
                "lichenification",
                "area_percent",
            ] {
                set(&mut fields, &format!("easi_{r}_{s}"), "0");
            }
        }
        for (k, v) in [
            ("scorad_extent_percent", "10"),
            ("scorad_erythema", "1"),
            ("scorad_oedema_papulation", "1"),
            ("scorad_oozing_crusting", "0"),
            ("scorad_excoriation", "1"),
            ("scorad_lichenification", "0"),
            ("scorad_dryness", "1"),
            ("scorad_pruritus", "5"),
            ("scorad_sleeplessness", "2"),
        ] {
            set(&mut fields, k, v);
        }
        set(&mut fields, "alternative_assessed", "assessed");
        set(&mut fields, "alternative_causes", "new face cream");
        set(&mut fields, "naranjo_previous_reports", "yes");
        set(&mut fields, "serious", "no");
        set(&mut fields, "outcome", "not_recovered");
        let pairs: Vec<(&str, &str)> = fields
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let r = app
            .post_form(&format!("/reactions/{rid}/assessment"), &app.ca, &pairs)
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
        assert_eq!(
            r.location(),
            Some(format!("/reactions/{rid}?saved=assessment").as_str())
        );

        // The page opens with version 1 in the form; the clinician changes only the outcome and saves.
        let page = app
            .get(&format!("/reactions/{rid}?saved=assessment"), &app.ca)
            .await
            .text;
        assert!(page.contains("Saved: a new version of the assessment."));
        let mut fields = form_fields(&page, "assessment-form");
        assert!(
            fields.contains(&("easi_head_neck_area_percent".into(), "20".into())),
            "{fields:?}"
        );
        assert!(fields.contains(&("alternative_causes".into(), "new face cream".into())));
        assert!(fields.contains(&("naranjo_previous_reports".into(), "yes".into())));
        set(&mut fields, "outcome", "recovering");
        let pairs: Vec<(&str, &str)> = fields
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let r = app
            .post_form(&format!("/reactions/{rid}/assessment"), &app.ca, &pairs)
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);

        let a = app
            .get(&format!("/api/reactions/{rid}/assessment"), &app.ca)
            .await
            .json();
        let history = a["history"].as_array().unwrap();
        assert_eq!(history.len(), 2);
        // Version 2 kept everything but the outcome; version 1 is still there as it was.
        assert_eq!(
            (
                history[0]["version"].as_i64(),
                history[0]["input"]["outcome"].as_str()
            ),
            (Some(2), Some("recovering"))
        );
        assert_eq!(
            (history[0]["easi"].as_f64(), history[0]["scorad"].as_f64()),
            (Some(0.8), Some(23.0))
        );
        assert_eq!(
            history[0]["input"]["alternative_causes"],
            json!(["new face cream"])
        );
        assert_eq!(
            history[0]["input"]["causality"]["naranjo"]["previous_reports"],
            "yes"
        );
        assert_eq!(
            history[0]["input"]["seriousness"],
            json!({"death": false, "life_threatening": false, "hospitalisation": false, "disability": false, "congenital_anomaly": false, "other_medically_important": false})
        );
        assert_eq!(
            (
                history[1]["version"].as_i64(),
                history[1]["input"]["outcome"].as_str()
            ),
            (Some(1), Some("not_recovered"))
        );
        assert_eq!(
            (
                history[0]["clinician_name"].as_str(),
                history[1]["clinician_name"].as_str()
            ),
            (Some("Dr A"), Some("Dr A"))
        );
        let page = app.get(&format!("/reactions/{rid}"), &app.ca).await.text;
        assert_eq!(page.matches("<tr class=\"version\">").count(), 2);

        // A form error (an EASI sign of 9) keeps every entered value, the select lists' choices included.
        let mut fields = form_fields(&page, "assessment-form");
        set(&mut fields, "easi_trunk_erythema", "9");
        set(&mut fields, "naranjo_dose_related", "no");
        set(&mut fields, "who_withdrawal", "positive");
        set(&mut fields, "outcome", "recovered");
        let before = app.count("assessments").await;
        let pairs: Vec<(&str, &str)> = fields
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let r = app
            .post_form(&format!("/reactions/{rid}/assessment"), &app.ca, &pairs)
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(app.count("assessments").await, before);
        let again = form_fields(&r.text, "assessment-form");
        let expected: Vec<(String, String)> = fields
            .iter()
            .filter(|(k, _)| k != "csrf")
            .cloned()
            .collect();
        let got: Vec<(String, String)> = again.into_iter().filter(|(k, _)| k != "csrf").collect();
        assert_eq!(got, expected);
    });
}

#[tokio::test]
async fn the_icsr_carries_the_dosing_history_seriousness_the_clinicians_causality_and_a_message_id_per_version(
) {
    on_every_backend!("truthful_icsr", |app| {
        let p = app.ids.p2;
        // The issue's case: 600 mg loading 80 days ago, then 300 mg every 14 days (66, 52, 38, 24 days ago);
        // onset 10 days ago; 3 days ago the clinician extended the interval to 21 days.
        let r = app.post_json(&format!("/api/patients/{p}/regimen"), &app.cb, json!({"drug": "dupilumab", "dose_mg": 300, "interval_days": 14, "start_date": days_ago(80)})).await;
        assert_eq!(r.status, StatusCode::CREATED);
        for (ago, mg) in [(80, 600), (66, 300), (52, 300), (38, 300), (24, 300)] {
            let r = app
                .post_json(
                    &format!("/api/patients/{p}/injections"),
                    &app.p2,
                    json!({"given_on": days_ago(ago), "dose_mg": mg}),
                )
                .await;
            assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        }
        let r = app
            .post_json(
                &format!("/api/patients/{p}/reactions"),
                &app.p2,
                json!({"onset_date": days_ago(10), "description": "red face"}),
            )
            .await;
        let rid = r.json()["id"].as_i64().unwrap();
        let r = app.post_json(&format!("/api/patients/{p}/regimen"), &app.cb, json!({"drug": "dupilumab", "dose_mg": 300, "interval_days": 21, "start_date": days_ago(3)})).await;
        assert_eq!(r.status, StatusCode::CREATED);

        // Not assessed: the export asks for confirmation and stores nothing.
        let before = app.count("icsr_exports").await;
        let r = app
            .post_json(&format!("/api/reactions/{rid}/icsr"), &app.cb, json!({}))
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
        assert_eq!(r.json()["fields"][0]["field"], "confirm_unassessed");
        assert_eq!(app.count("icsr_exports").await, before);
        let page = app
            .post_form(&format!("/reactions/{rid}/icsr"), &app.cb, &[])
            .await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(page.text.contains("id=\"confirm_unassessed\""));

        let r = app
            .post_json(&format!("/api/reactions/{rid}/assessment"), &app.cb, json!({"seriousness": {"other_medically_important": true}, "clinician_causality": "probable", "outcome": "recovering"}))
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        let mut xml = Vec::new();
        for _ in 0..2 {
            let r = app
                .post_json(&format!("/api/reactions/{rid}/icsr"), &app.cb, json!({}))
                .await;
            assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
            xml.push(
                app.get(&format!("/api/icsr/{}", r.json()["id"]), &app.cb)
                    .await
                    .text,
            );
        }
        let case_id = format!("VIGIL-SERVE-R{rid}");
        let doc = roxmltree::Document::parse(&xml[0]).unwrap();
        let hl7 = |d: i64| days_ago(d).replace('-', "");
        // G.k.4.r: the loading dose, the regimen in force at onset (ends the day before the change), the change.
        let regimens: Vec<(String, Vec<String>)> = doc
            .descendants()
            .filter(|n| {
                n.has_tag_name("substanceAdministration")
                    && n.children().any(|c| c.has_tag_name("doseQuantity"))
            })
            .map(|n| {
                let text = n
                    .children()
                    .find(|c| c.has_tag_name("text"))
                    .and_then(|t| t.text())
                    .unwrap_or("")
                    .to_string();
                let dates = n
                    .descendants()
                    .filter(|d| d.has_tag_name("low") || d.has_tag_name("high"))
                    .map(|d| d.attribute("value").unwrap().to_string())
                    .collect();
                (text, dates)
            })
            .collect();
        assert_eq!(
            regimens,
            vec![
                ("600 mg single dose".to_string(), vec![hl7(80), hl7(80)]),
                ("300 mg every 14 d".to_string(), vec![hl7(66), hl7(4)]),
                ("300 mg every 21 d".to_string(), vec![hl7(3)]),
            ]
        );
        // G.k.9.i.3.1: 80 − 10 = 70 days from the first dose, day 1 counted → 71.
        assert!(doc
            .descendants()
            .any(|n| n.has_tag_name("pauseQuantity") && n.attribute("value") == Some("71")));
        // G.k.8 action taken: 2 (dose reduced), the interval extension after the onset (list 15).
        let action = doc.descendants().find(|n| n.has_tag_name("act")).unwrap();
        assert_eq!(
            action
                .children()
                .find(|c| c.has_tag_name("code"))
                .unwrap()
                .attribute("code"),
            Some("2")
        );
        // E.i.3.2: "other medically important" (code 26) true, the other criteria not met.
        let criterion = |code: &str| {
            doc.descendants()
                .find(|n| {
                    n.has_tag_name("observation")
                        && n.children()
                            .any(|c| c.has_tag_name("code") && c.attribute("code") == Some(code))
                })
                .and_then(|o| o.children().find(|c| c.has_tag_name("value")))
                .and_then(|v| v.attribute("value"))
        };
        assert_eq!((criterion("26"), criterion("34")), (Some("true"), None));
        // G.k.9.i.2.r: the clinician's WHO-UMC "probable" with the clinician as its source, beside vigil's.
        let sources: Vec<(String, String)> = doc
            .descendants()
            .filter(|n| {
                n.has_tag_name("causalityAssessment")
                    && n.children().any(|c| c.has_tag_name("methodCode"))
            })
            .map(|n| {
                let value = n
                    .children()
                    .find(|c| c.has_tag_name("value"))
                    .unwrap()
                    .text()
                    .unwrap()
                    .to_string();
                let source = n
                    .descendants()
                    .rfind(|c| c.has_tag_name("originalText"))
                    .unwrap()
                    .text()
                    .unwrap()
                    .to_string();
                (value, source)
            })
            .collect();
        assert!(
            sources.contains(&(
                "probable".to_string(),
                vigil_server::clinic::CLINICIAN_SOURCE.to_string()
            )),
            "{sources:?}"
        );
        // vigil's Naranjo and WHO-UMC, labelled as its algorithm; its Liverpool walk stops without a
        // category here (no dechallenge recorded) and a walk that reached none is not exported.
        let derived = vigil_clinic::e2b::export::DERIVED_SOURCE;
        assert_eq!(
            sources.iter().filter(|(_, s)| s == derived).count(),
            2,
            "{sources:?}"
        );
        assert_eq!(
            sources.len(),
            3,
            "two derived results and the clinician's: {sources:?}"
        );
        // Follow-ups: the same C.1.1, a new message id each.
        for (v, x) in xml.iter().enumerate() {
            let d = roxmltree::Document::parse(x).unwrap();
            let ids: Vec<&str> = d
                .descendants()
                .filter(|n| n.has_tag_name("id"))
                .filter_map(|n| n.attribute("extension"))
                .collect();
            assert!(
                ids.contains(&format!("{case_id}-v{}", v + 1).as_str()),
                "{ids:?}"
            );
            assert!(ids.contains(&format!("{case_id}-v{}-batch", v + 1).as_str()));
            assert!(ids.contains(&case_id.as_str()));
        }
        // Read back by vigil-clinic's importer: the same three regimens and the action taken.
        let case = vigil_clinic::e2b::import::from_xml_bytes(xml[1].as_bytes(), "export").unwrap();
        assert_eq!(case.id, case_id);
        assert_eq!(case.drugs[0].regimens.len(), 3);
        assert_eq!(
            case.drugs[0].action_taken,
            Some(vigil_clinic::case::ActionTaken::DoseReduced)
        );
        let list = app
            .get(&format!("/api/reactions/{rid}/assessment"), &app.cb)
            .await
            .json();
        assert_eq!(list["exports"][0]["version"], 2);
        assert_eq!(list["exports"][0]["message_id"], format!("{case_id}-v2"));
    });
}

#[tokio::test]
async fn today_is_the_patients_date_in_their_time_zone() {
    on_every_backend!("patient_time_zone", |app| {
        // Of UTC+14 and UTC−12 at least one always has another date than UTC: take it.
        let utc = vigil_server::records::today();
        let zone = ["Pacific/Kiritimati", "Etc/GMT+12"]
            .into_iter()
            .find(|z| vigil_server::records::today_in(z) != utc)
            .unwrap();
        let local = vigil_server::records::today_in(zone);
        let r = app
            .post_json("/api/users", &app.admin, json!({"username": "island", "password": common::PASSWORD, "role": "patient", "display_name": "Island Patient", "time_zone": zone}))
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        let id = r.json()["id"].as_i64().unwrap();
        let r = app
            .post_json(
                "/api/assignments",
                &app.admin,
                json!({"clinician_id": app.ids.ca, "patient_id": id}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED);
        let r = app.post_json(&format!("/api/patients/{id}/regimen"), &app.ca, json!({"drug": "dupilumab", "dose_mg": 300, "interval_days": 14, "start_date": (local - chrono::Duration::days(30)).to_string()})).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        let s = app.login("island").await;
        // Today's dose in the patient's own date is accepted, the clinician's entry too; the day after is the future.
        let r = app
            .post_json(
                &format!("/api/patients/{id}/injections"),
                &s,
                json!({"given_on": local.to_string(), "dose_mg": 300}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{zone}: {}", r.text);
        let tomorrow = (local + chrono::Duration::days(1)).to_string();
        let r = app
            .post_json(
                &format!("/api/patients/{id}/injections"),
                &app.ca,
                json!({"given_on": tomorrow, "dose_mg": 300}),
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        let rec = app.get(&format!("/api/patients/{id}"), &s).await.json();
        assert_eq!(rec["today"], local.to_string());
        assert_eq!(
            rec["next_due"],
            (local + chrono::Duration::days(14)).to_string()
        );
        let page = app.get(&format!("/patients/{id}"), &s).await.text;
        assert!(
            page.contains(&format!(
                "name=\"given_on\" id=\"given_on\" type=\"date\" max=\"{local}\" value=\"{local}\""
            )),
            "{page}"
        );
        // An unknown zone is refused when the account is created.
        let r = app.post_json("/api/users", &app.admin, json!({"username": "nowhere", "password": common::PASSWORD, "role": "patient", "display_name": "N", "time_zone": "UTC+11"})).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(r.json()["fields"][0]["field"], "time_zone");
    });
}

#[tokio::test]
async fn late_doses_are_flagged_and_corrections_supersede_with_a_reason() {
    on_every_backend!("late_doses_and_corrections", |app| {
        let p = app.ids.p1;
        // Every 14 days from 44 days ago: scheduled −44, −30, −16, −2. Given −44, −26 (4 days late), −16,
        // −16 again (a duplicate). Next due −2 (the original schedule), 2 days overdue, within the window.
        let r = app.post_json(&format!("/api/patients/{p}/regimen"), &app.ca, json!({"drug": "dupilumab", "dose_mg": 300, "interval_days": 14, "start_date": days_ago(44)})).await;
        assert_eq!(r.status, StatusCode::CREATED);
        let mut ids = Vec::new();
        for ago in [44, 26, 16, 16] {
            let r = app
                .post_json(
                    &format!("/api/patients/{p}/injections"),
                    &app.p1,
                    json!({"given_on": days_ago(ago), "dose_mg": 300}),
                )
                .await;
            assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
            ids.push(r.json()["id"].as_i64().unwrap());
        }
        let rec = app.get(&format!("/api/patients/{p}"), &app.p1).await.json();
        let flags = |rec: &Value| -> Vec<(i64, Value, Value)> {
            rec["injections"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| {
                    (
                        i["id"].as_i64().unwrap(),
                        i["flags"].clone(),
                        i["days_late"].clone(),
                    )
                })
                .collect()
        };
        assert_eq!(
            flags(&rec),
            vec![
                (ids[0], json!([]), json!(0)),
                (ids[1], json!(["late"]), json!(4)),
                (ids[2], json!([]), json!(0)),
                (ids[3], json!(["duplicate"]), json!(0))
            ]
        );
        assert_eq!(
            (rec["next_due"].as_str(), rec["days_overdue"].as_i64()),
            (Some(days_ago(2).as_str()), Some(2))
        );
        // The duplicate was a typing error for −2: corrected with a reason → −2 fills its date, nothing is due
        // until −2 + 14 = +12.
        let r = app
            .post_json(
                &format!("/api/patients/{p}/injections"),
                &app.p1,
                json!({"given_on": days_ago(2), "dose_mg": 300, "supersedes_id": ids[3]}),
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(r.json()["fields"][0]["field"], "correction_reason");
        let r = app
            .post_json(&format!("/api/patients/{p}/injections"), &app.p1, json!({"given_on": days_ago(2), "dose_mg": 300, "supersedes_id": ids[3], "correction_reason": "wrong date typed"}))
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        let fix = r.json()["id"].as_i64().unwrap();
        let rec = app.get(&format!("/api/patients/{p}"), &app.p1).await.json();
        assert_eq!(rec["next_due"], days_ago(-12));
        let old = rec["injections"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["id"] == ids[3])
            .unwrap()
            .clone();
        assert_eq!(
            (old["superseded_by"].as_i64(), old["flags"].clone()),
            (Some(fix), json!([]))
        );
        // Both stay on record; the correction is audited with the entry before it and the reason.
        let log = app
            .get(&format!("/api/patients/{p}/audit"), &app.ca)
            .await
            .json();
        let e = log["entries"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["action"] == "correct_injection")
            .unwrap()
            .clone();
        assert_eq!(
            (e["before"]["id"].as_i64(), e["before"]["given_on"].as_str()),
            (Some(ids[3]), Some(days_ago(16).as_str()))
        );
        assert_eq!(
            e["after"]["injection"]["correction_reason"],
            "wrong date typed"
        );
        // A second correction of the same entry, or of another patient's entry, is refused.
        let again = json!({"given_on": days_ago(1), "dose_mg": 300, "supersedes_id": ids[3], "correction_reason": "again"});
        assert_eq!(
            app.post_json(&format!("/api/patients/{p}/injections"), &app.p1, again)
                .await
                .status,
            StatusCode::UNPROCESSABLE_ENTITY
        );
        let other = json!({"given_on": days_ago(1), "dose_mg": 300, "supersedes_id": ids[0], "correction_reason": "not mine"});
        assert_eq!(
            app.post_json(
                &format!("/api/patients/{}/injections", app.ids.p2),
                &app.p2,
                other
            )
            .await
            .status,
            StatusCode::UNPROCESSABLE_ENTITY
        );
    });
}

#[tokio::test]
async fn poem_blanks_are_unanswered_and_pp_nrs_takes_whole_numbers() {
    on_every_backend!("poem_blanks", |app| {
        let p = app.ids.p1;
        // One item unanswered: scored 0 (Nottingham rule): 4+4+0+2+2+1+1 → days 7,7,−,3,4,1,2 → total 14.
        let r = app.post_json(&format!("/api/patients/{p}/scores"), &app.p1, json!({"week_start": days_ago(7), "poem_days": [7, 7, null, 3, 4, 1, 2], "pp_nrs": 6})).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        let rec = app.get(&format!("/api/patients/{p}"), &app.p1).await.json();
        assert_eq!(rec["scores"][0]["poem_total"], 14);
        assert_eq!(
            rec["scores"][0]["poem_days"],
            json!([7, 7, null, 3, 4, 1, 2])
        );
        let before = app.counts().await;
        // Two unanswered: not scored; 5.5 is not a PP-NRS answer.
        let r = app.post_json(&format!("/api/patients/{p}/scores"), &app.p1, json!({"week_start": days_ago(0), "poem_days": [7, null, null, 3, 4, 1, 2], "pp_nrs": 6})).await;
        assert_eq!(
            (r.status, r.json()["fields"][0]["field"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("poem_days"))
        );
        let r = app.post_json(&format!("/api/patients/{p}/scores"), &app.p1, json!({"week_start": days_ago(0), "poem_days": [0, 0, 0, 0, 0, 0, 0], "pp_nrs": 5.5})).await;
        assert_eq!(
            (r.status, r.json()["fields"][0]["field"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("pp_nrs"))
        );
        assert_eq!(app.counts().await, before);
        // The form's POEM selects start blank (not "0 days"); a blank item is stored as unanswered.
        let page = app.get(&format!("/patients/{p}"), &app.p1).await.text;
        let fields = form_fields(&page, "scores-form");
        let poem: Vec<&str> = fields
            .iter()
            .filter(|(k, _)| k == "poem_days")
            .map(|(_, v)| v.as_str())
            .collect();
        assert_eq!(poem, ["", "", "", "", "", "", ""]);
        assert!(fields.contains(&("pp_nrs".to_string(), String::new())));
        let mut pairs = vec![("week_start", days_ago(0)), ("pp_nrs", "3".to_string())];
        for d in ["1", "2", "3", "", "5", "6", "7"] {
            pairs.push(("poem_days", d.to_string()));
        }
        let pairs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let r = app
            .post_form(&format!("/patients/{p}/scores"), &app.p1, &pairs)
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
        let rec = app.get(&format!("/api/patients/{p}"), &app.p1).await.json();
        // 1,1,2,(0),3,3,4 = 14.
        assert_eq!(
            (
                rec["scores"][1]["poem_days"][3].is_null(),
                rec["scores"][1]["poem_total"].as_i64()
            ),
            (true, Some(14))
        );
    });
}

#[tokio::test]
async fn patient_pages_speak_plainly_confirm_saves_and_show_who_reviewed() {
    on_every_backend!("plain_patient_pages", |app| {
        let p = app.ids.p1;
        let page = app.get(&format!("/patients/{p}"), &app.p1).await.text;
        // What the patient reads: the text outside the tags (form values keep the clinic names).
        let visible: String = page
            .split('<')
            .map(|chunk| chunk.split_once('>').map_or(chunk, |(_, text)| text))
            .collect();
        for jargon in [
            "papulopustules",
            "lichenification",
            "flexures",
            "PP-NRS",
            "clinical.md",
            "[VERIFIED]",
            "poem_days",
        ] {
            assert!(
                !visible.contains(jargon),
                "the patient page says {jargon:?}"
            );
        }
        assert!(
            page.contains("small bumps or spots with pus")
                && page.contains("skin folds (inside the elbows, behind the knees)")
        );
        // When to seek care, with its sources.
        assert!(page.contains("eczema herpeticum") && page.contains("kidshealth.org"));
        assert!(page.contains("a change in your vision") && page.contains("aoa.org"));
        // The clinician still sees the clinical terms and the sources.
        let clinician = app.get(&format!("/patients/{p}"), &app.ca).await.text;
        assert!(
            clinician.contains("(papulopustules)")
                && clinician.contains("[VERIFIED]")
                && clinician.contains("PP-NRS")
        );
        // A save says so; an error sits beside its field in plain words.
        let r = app
            .post_form(
                &format!("/patients/{p}/injections"),
                &app.p1,
                &[("given_on", &days_ago(0)), ("dose_mg", "300")],
            )
            .await;
        assert_eq!(
            r.location(),
            Some(format!("/patients/{p}?saved=injection").as_str())
        );
        assert!(app
            .get(r.location().unwrap(), &app.p1)
            .await
            .text
            .contains("<p id=\"flash\" role=\"status\">Saved: your injection is in the log.</p>"));
        let r = app
            .post_form(
                &format!("/patients/{p}/scores"),
                &app.p1,
                &[
                    ("week_start", &days_ago(0)),
                    ("pp_nrs", "4"),
                    ("poem_days", "9"),
                    ("poem_days", "1"),
                    ("poem_days", "1"),
                    ("poem_days", "1"),
                    ("poem_days", "1"),
                    ("poem_days", "1"),
                    ("poem_days", "1"),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.text.contains("<li data-field=\"poem_days[0]\">Question 1 (skin itchy): 9 is not a number of days from 0 to 7</li>"), "{}", r.text);
        assert!(r
            .text
            .contains("<span class=\"field-error\" id=\"error-poem_days[0]\">"));
        // "Reviewed by" appears once the clinician saved an assessment.
        assert!(app
            .get(&format!("/patients/{p}"), &app.p1)
            .await
            .text
            .contains("not reviewed yet"));
        let r = app
            .post_json(
                &format!("/api/reactions/{}/assessment", app.ids.r1),
                &app.ca,
                json!({"outcome": "recovering"}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED);
        let page = app.get(&format!("/patients/{p}"), &app.p1).await.text;
        assert!(
            page.contains(&format!("reviewed by Dr A on {}", common::today())),
            "{page}"
        );
    });
}

#[tokio::test]
async fn admins_manage_assignments_accounts_and_passwords() {
    on_every_backend!("admin_accounts", |app| {
        // The assignment list names both sides; unassigning ends the clinician's access.
        let list = app.get("/api/assignments", &app.admin).await.json();
        assert!(list["assignments"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["clinician"] == "Dr A" && a["patient"] == "Patient One"));
        let page = app.get("/admin", &app.admin).await.text;
        assert!(
            page.contains("<option value=\"") && page.contains("Patient One (pat1)"),
            "assignment by name, not by typed id"
        );
        let a = json!({"clinician_id": app.ids.ca, "patient_id": app.ids.p1});
        assert_eq!(
            app.post_json("/api/assignments/remove", &app.admin, a.clone())
                .await
                .status,
            StatusCode::NO_CONTENT
        );
        assert_eq!(
            app.get(&format!("/api/patients/{}", app.ids.p1), &app.ca)
                .await
                .status,
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            app.post_json("/api/assignments/remove", &app.admin, a)
                .await
                .status,
            StatusCode::UNPROCESSABLE_ENTITY
        );
        // Usernames ignore case: "PAT1" logs in as pat1, "Pat1" cannot be created again.
        let r = app
            .send(
                "POST",
                "/api/login",
                None,
                None,
                Body::Json(json!({"username": "PAT1", "password": common::PASSWORD})),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK);
        let r = app.post_json("/api/users", &app.admin, json!({"username": "Pat1", "password": "a different password", "role": "patient", "display_name": "X"})).await;
        assert_eq!(
            (r.status, r.json()["fields"][0]["field"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("username"))
        );
        // Weak passwords: 12 spaces, one letter repeated, the username itself.
        for weak in ["            ", "aaaaaaaaaaaaaa", "newpatient99newpatient99"] {
            let r = app.post_json("/api/users", &app.admin, json!({"username": "newpatient99", "password": weak, "role": "patient", "display_name": "N"})).await;
            assert_eq!(
                (r.status, r.json()["fields"][0]["field"].as_str()),
                (StatusCode::UNPROCESSABLE_ENTITY, Some("password")),
                "{weak:?}"
            );
        }
        // Deactivation ends the sessions and refuses logins; reactivation allows them again.
        let p2 = app.ids.p2;
        assert_eq!(
            app.post_json(
                &format!("/api/users/{p2}/active"),
                &app.admin,
                json!({"active": false})
            )
            .await
            .status,
            StatusCode::NO_CONTENT
        );
        assert_eq!(
            app.get("/api/me", &app.p2).await.status,
            StatusCode::UNAUTHORIZED
        );
        let login = |user: &'static str, password: &'static str| {
            app.send(
                "POST",
                "/api/login",
                None,
                None,
                Body::Json(json!({"username": user, "password": password})),
            )
        };
        assert_eq!(
            login("pat2", common::PASSWORD).await.status,
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            app.post_json(
                &format!("/api/users/{}/active", app.ids.admin),
                &app.admin,
                json!({"active": false})
            )
            .await
            .status,
            StatusCode::UNPROCESSABLE_ENTITY
        );
        assert_eq!(
            app.post_json(
                &format!("/api/users/{p2}/active"),
                &app.admin,
                json!({"active": true})
            )
            .await
            .status,
            StatusCode::NO_CONTENT
        );
        assert_eq!(login("pat2", common::PASSWORD).await.status, StatusCode::OK);
        // Reset by the admin, then the patient changes it (the current one is checked).
        assert_eq!(
            app.post_json(
                &format!("/api/users/{p2}/password"),
                &app.admin,
                json!({"password": "reset by the admin 1"})
            )
            .await
            .status,
            StatusCode::NO_CONTENT
        );
        assert_eq!(
            login("pat2", common::PASSWORD).await.status,
            StatusCode::UNAUTHORIZED
        );
        let r = login("pat2", "reset by the admin 1").await;
        assert_eq!(r.status, StatusCode::OK);
        let cookie = r
            .headers
            .get("set-cookie")
            .unwrap()
            .to_str()
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_string();
        let s = Session {
            cookie,
            csrf: r.json()["csrf_token"].as_str().unwrap().to_string(),
        };
        let r = app
            .post_json(
                "/api/me/password",
                &s,
                json!({"current_password": "wrong", "new_password": "my own new password"}),
            )
            .await;
        assert_eq!(
            (r.status, r.json()["fields"][0]["field"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("current_password"))
        );
        let r = app.post_json("/api/me/password", &s, json!({"current_password": "reset by the admin 1", "new_password": "my own new password"})).await;
        assert_eq!(r.status, StatusCode::NO_CONTENT);
        assert_eq!(
            app.get("/api/me", &s).await.status,
            StatusCode::OK,
            "the changing session stays"
        );
        assert_eq!(
            login("pat2", "my own new password").await.status,
            StatusCode::OK
        );
        // All of it is in the admin's audit view, without the passwords.
        let log = app.get("/api/audit", &app.admin).await;
        for action in [
            "unassign",
            "deactivate_user",
            "reactivate_user",
            "reset_password",
            "change_password",
        ] {
            assert!(
                log.text.contains(&format!("\"action\":\"{action}\"")),
                "{action}"
            );
        }
        assert!(!log.text.contains("reset by the admin") && !log.text.contains("$argon2"));
    });
}

#[tokio::test]
async fn a_deep_link_returns_after_login_and_a_logged_in_user_skips_the_login_page() {
    on_every_backend!("deep_links", |app| {
        let target = format!("/reactions/{}", app.ids.r1);
        let r = app.send("GET", &target, None, None, Body::None).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER);
        assert_eq!(
            r.location(),
            Some(format!("/login?next=%2Freactions%2F{}", app.ids.r1).as_str())
        );
        let page = app
            .send("GET", r.location().unwrap(), None, None, Body::None)
            .await;
        // The form carries the link back (HTML-escaped: "/" is written "&#x2f;").
        assert!(
            page.text.contains(&format!(
                "name=\"next\" value=\"{}\"",
                target.replace('/', "&#x2f;")
            )),
            "{}",
            page.text
        );
        let set = page
            .headers
            .get("set-cookie")
            .unwrap()
            .to_str()
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_string();
        let token = set.split('=').nth(1).unwrap().to_string();
        let s = Session {
            cookie: set,
            csrf: String::new(),
        };
        let r = app
            .send(
                "POST",
                "/login",
                Some(&s),
                Some(&token),
                form(&[
                    ("username", "doc_a"),
                    ("password", common::PASSWORD),
                    ("next", &target),
                ]),
            )
            .await;
        assert_eq!(
            (r.status, r.location()),
            (StatusCode::SEE_OTHER, Some(target.as_str()))
        );
        // Another site is never a destination.
        let r = app
            .send(
                "POST",
                "/login",
                Some(&s),
                Some(&token),
                form(&[
                    ("username", "doc_a"),
                    ("password", common::PASSWORD),
                    ("next", "//evil.example/"),
                ]),
            )
            .await;
        assert_eq!(r.location(), Some("/"));
        // Logged in already: the login page forwards to the link.
        let r = app
            .get(
                &format!("/login?next={}", target.replace('/', "%2F")),
                &app.ca,
            )
            .await;
        assert_eq!(
            (r.status, r.location()),
            (StatusCode::SEE_OTHER, Some(target.as_str()))
        );
    });
}

#[tokio::test]
async fn clinicians_see_age_sex_weight_and_missed_doses_reach_the_flare_rules() {
    on_every_backend!("clinician_context", |app| {
        // Born 1990-05-01: completed years today.
        let t = common::today();
        use chrono::Datelike;
        let age = t.year() - 1990 - i32::from((t.month(), t.day()) < (5, 1));
        let list = app.get("/clinician", &app.ca).await.text;
        assert!(
            list.contains(&format!("{age} y, female, 72.5 kg")),
            "{list}"
        );
        let review = app
            .get(&format!("/reactions/{}", app.ids.r1), &app.ca)
            .await
            .text;
        assert!(
            review.contains(&format!("{age} years · female · 72.5 kg")),
            "{review}"
        );
        // Doses 60 and 46 days ago (every 14 days from 60 days ago); −32 and −18 missed (their windows
        // closed); the fixture's reaction began 10 days ago, 8 days after the missed −18 (within one interval).
        let p = app.ids.p1;
        let r = app.post_json(&format!("/api/patients/{p}/regimen"), &app.ca, json!({"drug": "dupilumab", "dose_mg": 300, "interval_days": 14, "start_date": days_ago(60)})).await;
        assert_eq!(r.status, StatusCode::CREATED);
        for ago in [60, 46] {
            assert_eq!(
                app.post_json(
                    &format!("/api/patients/{p}/injections"),
                    &app.p1,
                    json!({"given_on": days_ago(ago), "dose_mg": 300})
                )
                .await
                .status,
                StatusCode::CREATED
            );
        }
        let a = app
            .get(
                &format!("/api/reactions/{}/assessment", app.ids.r1),
                &app.ca,
            )
            .await
            .json();
        assert_eq!(
            a["case"]["drugs"][0]["missed_doses"],
            json!([days_ago(32), days_ago(18)])
        );
        let flare = a["assessment"]["flare"][0].to_string();
        // Shown as context beside the flare candidate (no source gives a window that would make it evidence).
        assert!(
            flare.contains(&format!(
                "dose due {} was missed or late, onset 8 days later",
                days_ago(18)
            )),
            "{flare}"
        );
    });
}

/// Build a version-2 database (schema scripts 1 and 2, as released) holding one row in every table.
async fn version_2_database(url: &str, backend: &str) {
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(url).await.unwrap();
    sqlx::query("CREATE TABLE schema_migrations (version BIGINT PRIMARY KEY, description TEXT NOT NULL, applied_at TEXT NOT NULL)").execute(&pool).await.unwrap();
    let scripts = match backend {
        "sqlite" => [
            include_str!("../migrations/sqlite/0001_init.sql"),
            include_str!("../migrations/sqlite/0002_dechallenge.sql"),
        ],
        _ => [
            include_str!("../migrations/postgres/0001_init.sql"),
            include_str!("../migrations/postgres/0002_dechallenge.sql"),
        ],
    };
    for script in scripts {
        for statement in script.split(";\n") {
            let sql: String = statement
                .lines()
                .filter(|l| !l.trim_start().starts_with("--"))
                .collect::<Vec<_>>()
                .join("\n");
            if !sql.trim().is_empty() {
                sqlx::query(sqlx::AssertSqlSafe(
                    sql.trim().trim_end_matches(';').to_string(),
                ))
                .execute(&pool)
                .await
                .unwrap();
            }
        }
    }
    for statement in [
        "INSERT INTO schema_migrations VALUES (1, 'initial schema', 'then')",
        "INSERT INTO schema_migrations VALUES (2, 'assessment dechallenge and rechallenge', 'then')",
        "INSERT INTO users (username, password_hash, role, display_name, birth_date, sex, weight_kg, created_at) VALUES ('old_patient', 'x', 'patient', 'Old Patient', '1980-01-02', 'male', 80.5, 'then')",
        "INSERT INTO users (username, password_hash, role, display_name, created_at) VALUES ('old_doc', 'x', 'clinician', 'Old Doc', 'then')",
        "INSERT INTO assignments (clinician_id, patient_id, created_at) VALUES (2, 1, 'then')",
        "INSERT INTO regimens (patient_id, drug, dose_mg, interval_days, indication, start_date, created_by, created_at) VALUES (1, 'dupilumab', 300, 14, 'atopic dermatitis', '2026-01-01', 2, 'then')",
        "INSERT INTO injections (patient_id, given_on, dose_mg, site, note, created_at) VALUES (1, '2026-01-01', 600, 'thigh', '', 'then')",
        "INSERT INTO weekly_scores (patient_id, week_start, poem_days, poem_total, pp_nrs, created_at) VALUES (1, '2026-01-05', '1,2,3,4,5,6,7', 15, 6, 'then')",
        "INSERT INTO reactions (patient_id, onset_date, description, sites, features, different_from_usual, rest_of_skin_improving, created_at) VALUES (1, '2026-02-01', 'old rash', 'face', 'erythema', 'yes', 'unknown', '2026-02-02T00:00:00Z')",
        "INSERT INTO assessments (reaction_id, clinician_id, scores_json, causality_json, alternative_causes, outcome, created_at, dechallenge_json, rechallenge_json) VALUES (1, 2, '{}', '{}', 'null', 'recovering', '2026-02-03T00:00:00Z', 'null', '\"not_done\"')",
        "INSERT INTO icsr_exports (reaction_id, clinician_id, case_id, xml, created_at) VALUES (1, 2, 'VIGIL-SERVE-R1', '<xml/>', 'then')",
        "INSERT INTO icsr_exports (reaction_id, clinician_id, case_id, xml, created_at) VALUES (1, 2, 'VIGIL-SERVE-R1', '<xml2/>', 'later')",
        "INSERT INTO audit_log (user_id, at, action, entity, entity_id, before_json, after_json) VALUES (2, 'then', 'report_reaction', 'reaction', 1, NULL, '{\"id\":1}')",
        "INSERT INTO audit_log (user_id, at, action, entity, entity_id, before_json, after_json) VALUES (2, 'then', 'assess_reaction', 'assessment', 1, NULL, '{\"id\":1}')",
        "INSERT INTO audit_log (user_id, at, action, entity, entity_id, before_json, after_json) VALUES (NULL, 'then', 'create_admin', 'user', 2, NULL, '{}')",
    ] {
        sqlx::query(statement).execute(&pool).await.unwrap_or_else(|e| panic!("{backend}: {statement}: {e}"));
    }
    pool.close().await;
}

#[tokio::test]
async fn a_version_2_database_keeps_its_data_through_migration_3() {
    let dir = tempfile::tempdir().unwrap();
    let mut urls = vec![(
        "sqlite",
        format!("sqlite://{}?mode=rwc", dir.path().join("v2.db").display()),
    )];
    if let Some(url) =
        common::postgres_url("a_version_2_database_keeps_its_data_through_migration_3").await
    {
        urls.push(("postgres", url));
    }
    for (backend, url) in urls {
        version_2_database(&url, backend).await;
        let before: Vec<i64> = {
            let db = sqlx::AnyPool::connect(&url).await.unwrap();
            let mut n = Vec::new();
            for t in [
                "users",
                "assignments",
                "regimens",
                "injections",
                "weekly_scores",
                "reactions",
                "assessments",
                "icsr_exports",
                "audit_log",
            ] {
                use sqlx::Row;
                n.push(
                    sqlx::query(sqlx::AssertSqlSafe(format!(
                        "SELECT COUNT(*) AS n FROM {t}"
                    )))
                    .fetch_one(&db)
                    .await
                    .unwrap()
                    .try_get::<i64, _>("n")
                    .unwrap(),
                );
            }
            db.close().await;
            n
        };
        assert_eq!(before, [2, 1, 1, 1, 1, 1, 1, 2, 3], "{backend}");
        let db = vigil_server::db::Db::connect(&url).await.unwrap();
        let state = vigil_server::AppState::new(db, false).unwrap();
        let app_counts = {
            let mut n = Vec::new();
            for t in [
                "users",
                "assignments",
                "regimens",
                "injections",
                "weekly_scores",
                "reactions",
                "assessments",
                "icsr_exports",
                "audit_log",
            ] {
                use sqlx::Row;
                n.push(
                    sqlx::query(sqlx::AssertSqlSafe(format!(
                        "SELECT COUNT(*) AS n FROM {t}"
                    )))
                    .fetch_one(&state.db.pool)
                    .await
                    .unwrap()
                    .try_get::<i64, _>("n")
                    .unwrap(),
                );
            }
            n
        };
        assert_eq!(
            app_counts, before,
            "{backend}: rows lost or added by the migration"
        );
        // The old rows read back through the new code, with the defaults of the new columns.
        let record = vigil_server::records::load_record(&state, 1).await.unwrap();
        assert_eq!(
            (record.patient.time_zone.as_str(), record.patient.weight_kg),
            ("UTC", Some(80.5)),
            "{backend}"
        );
        assert_eq!(
            record.scores[0].poem_days,
            [1, 2, 3, 4, 5, 6, 7].map(Some).to_vec()
        );
        assert_eq!(
            (
                record.injections[0].dose_mg,
                record.injections[0].supersedes_id
            ),
            (600.0, None)
        );
        assert_eq!(
            (
                record.reactions[0].reviewed_by.as_deref(),
                record.reactions[0].description.as_str()
            ),
            (Some("Old Doc"), "old rash")
        );
        let a = vigil_server::clinic::latest_assessment(&state, 1)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (
                a.version,
                a.input.outcome.as_deref(),
                a.input.seriousness,
                a.input.rechallenge
            ),
            (
                1,
                Some("recovering"),
                None,
                Some(vigil_clinic::case::Rechallenge::NotDone)
            )
        );
        let exports = vigil_server::clinic::exports_of(&state, 1).await.unwrap();
        let versions: Vec<(i64, Option<String>)> = exports
            .iter()
            .map(|x| (x.version, x.message_id.clone()))
            .collect();
        assert_eq!(
            versions,
            vec![
                (2, Some("VIGIL-SERVE-R1-v2".into())),
                (1, Some("VIGIL-SERVE-R1-v1".into()))
            ],
            "{backend}"
        );
        // Audit rows now name the patient whose record they touched (the reaction's and the assessment's).
        let audit = vigil_server::api::audit_summaries(&state, 10)
            .await
            .unwrap();
        let patients: Vec<Option<i64>> = audit.iter().map(|e| e.patient_id).collect();
        assert_eq!(patients, [None, Some(1), Some(1)], "{backend}");
        // The old clinician still sees the old patient; the old accounts are active.
        let users = vigil_server::api::user_rows(&state).await.unwrap();
        assert!(users
            .iter()
            .all(|u| u["active"] == true && u["time_zone"] == "UTC"));
    }
}
