//! Test harness: the application in-process (tower `oneshot`, no socket) over a fresh SQLite file and,
//! when `VIGIL_TEST_POSTGRES_URL` is set, over a fresh PostgreSQL database; a fixture of users and
//! records; and a small request helper.
#![allow(dead_code)]

use axum::body::Body as AxumBody;
use axum::http::{Request, StatusCode};
use axum::Router;
use chrono::{Duration, NaiveDate};
use serde_json::{json, Value};
use tower::ServiceExt;
use vigil_server::api::{NewAssignment, NewUser};
use vigil_server::auth::Role;
use vigil_server::db::Db;
use vigil_server::records::{self, ReactionInput, RegimenInput};
use vigil_server::AppState;

/// The environment variable naming an admin URL of a PostgreSQL server for the second run.
pub const PG_ENV: &str = "VIGIL_TEST_POSTGRES_URL";

/// Password of every fixture user.
pub const PASSWORD: &str = "correct horse battery";

/// A fresh SQLite database in a temporary directory (kept alive by the returned guard).
pub async fn sqlite_db() -> (Db, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("vigil.db").display());
    (Db::connect(&url).await.unwrap(), dir)
}

/// A fresh PostgreSQL database on the server named by `VIGIL_TEST_POSTGRES_URL`, or None (printed).
pub async fn postgres_db(test: &str) -> Option<Db> {
    let url = postgres_url(test).await?;
    Some(Db::connect(&url).await.unwrap())
}

/// The URL of a freshly created, empty PostgreSQL database on the server named by
/// `VIGIL_TEST_POSTGRES_URL`, or None (printed) when it is not set.
pub async fn postgres_url(test: &str) -> Option<String> {
    let Ok(admin_url) = std::env::var(PG_ENV) else {
        println!("skipping: {PG_ENV} not set, so {test} ran on SQLite only");
        return None;
    };
    sqlx::any::install_default_drivers();
    let name = format!("vigil_test_{}", &vigil_server::auth::random_token()[..16]);
    let admin = sqlx::AnyPool::connect(&admin_url)
        .await
        .expect("connecting to VIGIL_TEST_POSTGRES_URL");
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&admin)
        .await
        .unwrap();
    admin.close().await;
    let base = admin_url.split('?').next().unwrap();
    let slash = base.rfind('/').unwrap();
    let url = if base[..slash].ends_with('/') {
        format!("{base}/{name}")
    } else {
        format!("{}/{name}", &base[..slash])
    };
    Some(url)
}

/// Run `f` on SQLite and, when configured, on PostgreSQL.
#[macro_export]
macro_rules! on_every_backend {
    ($test:expr, |$app:ident| $body:block) => {{
        let (db, _guard) = common::sqlite_db().await;
        {
            let $app = common::App::new(db, "sqlite").await;
            $body
        }
        if let Some(db) = common::postgres_db($test).await {
            let $app = common::App::new(db, "postgres").await;
            $body
        }
    }};
}

/// A logged-in session.
#[derive(Clone, Debug)]
pub struct Session {
    /// `vigil_session=...`.
    pub cookie: String,
    /// The CSRF token.
    pub csrf: String,
}

/// Ids of the fixture.
#[derive(Clone, Copy, Debug)]
pub struct Ids {
    pub admin: i64,
    /// Patient 1, assigned to clinician A.
    pub p1: i64,
    /// Patient 2, assigned to clinician B.
    pub p2: i64,
    pub ca: i64,
    pub cb: i64,
    /// A third clinician, assigned to nobody.
    pub cc: i64,
    /// A reaction of patient 1.
    pub r1: i64,
    /// A reaction of patient 2.
    pub r2: i64,
    /// An ICSR export of r1.
    pub x1: i64,
}

/// New password set by the `/account/password` cell of the authorization table (and current for the
/// `/api/me/password` cell after it).
pub const CHANGED_PASSWORD: &str = "a new password for the table 1";

/// A response.
#[derive(Debug)]
pub struct Resp {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub text: String,
}

impl Resp {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }
    pub fn location(&self) -> Option<&str> {
        self.headers.get("location").and_then(|v| v.to_str().ok())
    }
}

/// A request body.
pub enum Body {
    None,
    Json(Value),
    Form(Vec<(String, String)>),
    Raw(&'static str, Vec<u8>),
}

/// Form fields from pairs.
pub fn form(pairs: &[(&str, &str)]) -> Body {
    Body::Form(
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    )
}

/// The app under test.
pub struct App {
    pub state: AppState,
    pub router: Router,
    pub backend: &'static str,
    pub ids: Ids,
    pub admin: Session,
    pub p1: Session,
    pub p2: Session,
    pub ca: Session,
    pub cb: Session,
}

pub fn today() -> NaiveDate {
    records::today()
}

pub fn days_ago(n: i64) -> String {
    (today() - Duration::days(n)).to_string()
}

impl App {
    /// The fixture: admin; patients P1 (assigned to clinician A) and P2 (assigned to clinician B);
    /// clinician C with nobody; a dupilumab 300 mg / 14-day regimen for both patients; one reaction each;
    /// one ICSR of P1's reaction.
    pub async fn new(db: Db, backend: &'static str) -> App {
        let state = AppState::new(db, false).unwrap();
        let admin = vigil_server::create_admin(&state.db, "admin", PASSWORD)
            .await
            .unwrap();
        let user = |username: &str, role: Role, name: &str| NewUser {
            username: username.into(),
            password: PASSWORD.into(),
            role,
            display_name: name.into(),
            birth_date: (role == Role::Patient).then(|| "1990-05-01".to_string()),
            sex: (role == Role::Patient).then(|| "female".to_string()),
            weight_kg: (role == Role::Patient).then_some(72.5),
            time_zone: None,
        };
        let mk = |u: NewUser| {
            let state = state.clone();
            async move {
                vigil_server::api::create_user(&state, admin, &u)
                    .await
                    .unwrap()
            }
        };
        let p1 = mk(user("pat1", Role::Patient, "Patient One")).await;
        let p2 = mk(user("pat2", Role::Patient, "Patient Two")).await;
        let ca = mk(user("doc_a", Role::Clinician, "Dr A")).await;
        let cb = mk(user("doc_b", Role::Clinician, "Dr B")).await;
        let cc = mk(user("doc_c", Role::Clinician, "Dr C")).await;
        vigil_server::api::assign(
            &state,
            admin,
            &NewAssignment {
                clinician_id: ca,
                patient_id: p1,
            },
        )
        .await
        .unwrap();
        vigil_server::api::assign(
            &state,
            admin,
            &NewAssignment {
                clinician_id: cb,
                patient_id: p2,
            },
        )
        .await
        .unwrap();
        let regimen = RegimenInput {
            drug: "dupilumab".into(),
            dose_mg: 300.0,
            interval_days: 14,
            indication: Some("atopic dermatitis".into()),
            start_date: days_ago(120),
        };
        records::insert_regimen(&state, ca, p1, &regimen)
            .await
            .unwrap();
        records::insert_regimen(&state, cb, p2, &regimen)
            .await
            .unwrap();
        let reaction = ReactionInput {
            onset_date: days_ago(10),
            description: "red, burning skin on the face and neck".into(),
            sites: vec!["face".into(), "neck".into()],
            features: vec!["erythema".into(), "burning".into()],
            different_from_usual: Some("yes".into()),
            rest_of_skin_improving: Some("yes".into()),
        };
        let r1 = records::insert_reaction(&state, p1, p1, &reaction)
            .await
            .unwrap();
        let r2 = records::insert_reaction(&state, p2, p2, &reaction)
            .await
            .unwrap();
        let r1_report = records::reaction(&state, r1).await.unwrap();
        let x1 = vigil_server::clinic::export_icsr(&state, ca, &r1_report, true)
            .await
            .unwrap();
        let router = vigil_server::router(state.clone());
        let ids = Ids {
            admin,
            p1,
            p2,
            ca,
            cb,
            cc,
            r1,
            r2,
            x1,
        };
        let mut app = App {
            state,
            router,
            backend,
            ids,
            admin: Session {
                cookie: String::new(),
                csrf: String::new(),
            },
            p1: Session {
                cookie: String::new(),
                csrf: String::new(),
            },
            p2: Session {
                cookie: String::new(),
                csrf: String::new(),
            },
            ca: Session {
                cookie: String::new(),
                csrf: String::new(),
            },
            cb: Session {
                cookie: String::new(),
                csrf: String::new(),
            },
        };
        app.admin = app.login("admin").await;
        app.p1 = app.login("pat1").await;
        app.p2 = app.login("pat2").await;
        app.ca = app.login("doc_a").await;
        app.cb = app.login("doc_b").await;
        app
    }

    /// Log in through the API.
    pub async fn login(&self, username: &str) -> Session {
        let r = self
            .send(
                "POST",
                "/api/login",
                None,
                None,
                Body::Json(json!({"username": username, "password": PASSWORD})),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "login {username}: {}", r.text);
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
        Session {
            cookie,
            csrf: r.json()["csrf_token"].as_str().unwrap().to_string(),
        }
    }

    /// Send a request; `csrf` goes in the header (JSON) or the `csrf` field (forms).
    pub async fn send(
        &self,
        method: &str,
        path: &str,
        session: Option<&Session>,
        csrf: Option<&str>,
        body: Body,
    ) -> Resp {
        let mut req = Request::builder().method(method).uri(path);
        if let Some(s) = session {
            req = req.header("cookie", &s.cookie);
        }
        let body = match body {
            Body::None => {
                if let Some(t) = csrf {
                    req = req.header("x-csrf-token", t);
                }
                AxumBody::empty()
            }
            Body::Json(v) => {
                if let Some(t) = csrf {
                    req = req.header("x-csrf-token", t);
                }
                req = req.header("content-type", "application/json");
                AxumBody::from(v.to_string())
            }
            Body::Form(mut pairs) => {
                if let Some(t) = csrf {
                    pairs.push(("csrf".into(), t.into()));
                }
                req = req.header("content-type", "application/x-www-form-urlencoded");
                AxumBody::from(serde_urlencoded::to_string(&pairs).unwrap())
            }
            Body::Raw(ct, bytes) => {
                if let Some(t) = csrf {
                    req = req.header("x-csrf-token", t);
                }
                req = req.header("content-type", ct);
                AxumBody::from(bytes)
            }
        };
        let resp = self
            .router
            .clone()
            .oneshot(req.body(body).unwrap())
            .await
            .unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = axum::body::to_bytes(resp.into_body(), 16 * 1024 * 1024)
            .await
            .unwrap();
        Resp {
            status,
            headers,
            text: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }

    /// GET with a session.
    pub async fn get(&self, path: &str, s: &Session) -> Resp {
        self.send("GET", path, Some(s), None, Body::None).await
    }

    /// POST JSON with a session and its CSRF token.
    pub async fn post_json(&self, path: &str, s: &Session, body: Value) -> Resp {
        self.send(
            "POST",
            path,
            Some(s),
            Some(&s.csrf.clone()),
            Body::Json(body),
        )
        .await
    }

    /// POST a form with a session and its CSRF token.
    pub async fn post_form(&self, path: &str, s: &Session, pairs: &[(&str, &str)]) -> Resp {
        self.send("POST", path, Some(s), Some(&s.csrf.clone()), form(pairs))
            .await
    }

    /// Rows in a table.
    pub async fn count(&self, table: &str) -> i64 {
        use sqlx::Row;
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT COUNT(*) AS n FROM {table}"
        )))
        .fetch_one(&self.state.db.pool)
        .await
        .unwrap()
        .try_get::<i64, _>("n")
        .unwrap()
    }

    /// Row counts of every data table (to show that nothing was saved).
    pub async fn counts(&self) -> Vec<i64> {
        let mut v = Vec::new();
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
            v.push(self.count(t).await);
        }
        v
    }
}
