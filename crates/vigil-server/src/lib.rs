//! vigil's patient-monitoring service, run by `vigil serve`.
//!
//! `vigil-server` owns the web application where patients on a biologic (the flagship case is dupilumab)
//! log injections, weekly POEM and Peak Pruritus NRS scores and new reactions, and where their
//! clinicians review a reaction with vigil-clinic's assessment and send it on as an E2B(R3) ICSR:
//! - [`db`]: SQLite (embedded default, created and migrated on first start) or PostgreSQL, one code path
//!   through sqlx's `Any` driver, versioned migrations under `migrations/<backend>/`;
//! - [`auth`]: argon2id passwords, session cookies (HttpOnly, SameSite=Strict, Secure when configured),
//!   CSRF tokens, login throttling, and who may see which patient;
//! - [`records`]: the patient record (regimen, injections with next due date, scores, reactions), its
//!   validation and its transactional, audited writes;
//! - [`clinic`]: the clinician's assessment and the mapping of a record onto vigil-clinic's case model;
//! - [`pages`] (HTML forms, no JavaScript) and [`api`] (JSON, described by `/api/openapi.json`);
//! - [`plot`]: the inline SVG of the weekly scores.
//!
//! It does not own any clinical rule or figure: scores, causality, reaction-vs-flare support and the
//! E2B(R3) XML are vigil-clinic's ([`vigil_clinic::assess`], [`vigil_clinic::e2b`]); the dupilumab label
//! regimens it shows beside a regimen carry their source ([`vigil_clinic::knowledge::dupilumab::LABEL_SOURCE`]).
#![deny(missing_docs)]

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use axum::routing::{get, post};
use axum::Router;

pub mod api;
pub mod auth;
pub mod clinic;
pub mod db;
pub mod error;
pub mod pages;
pub mod plot;
pub mod records;

/// Seconds since the Unix epoch.
pub fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// The current time as RFC 3339 UTC with milliseconds, e.g. `2026-11-22T08:15:00.123Z`.
pub fn now_rfc3339() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    match chrono::DateTime::from_timestamp(now.as_secs() as i64, now.subsec_nanos()) {
        Some(t) => t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
        None => "1970-01-01T00:00:00.000Z".into(),
    }
}

/// Shared state of the handlers.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

/// What [`AppState`] holds.
pub struct Inner {
    /// The database.
    pub db: db::Db,
    /// The compiled templates.
    pub templates: minijinja::Environment<'static>,
    /// Failed-login counters.
    pub throttle: auth::Throttle,
    /// Mark cookies `Secure` (set when served over HTTPS, e.g. behind a TLS proxy).
    pub secure_cookies: bool,
    /// An argon2 hash verified when a login names an unknown user, so both take the same time.
    pub dummy_hash: String,
}

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl AppState {
    /// State over a connected database.
    pub fn new(db: db::Db, secure_cookies: bool) -> anyhow::Result<AppState> {
        Ok(AppState(Arc::new(Inner {
            db,
            templates: pages::templates(),
            throttle: auth::Throttle::default(),
            secure_cookies,
            dummy_hash: auth::hash_password(&auth::random_token())?,
        })))
    }
}

/// Every route: `(method, path)` pairs of the router, for the authorization table and the OpenAPI check.
pub const ROUTES: &[(&str, &str)] = &[
    ("GET", "/"),
    ("GET", "/healthz"),
    ("GET", "/login"),
    ("POST", "/login"),
    ("POST", "/logout"),
    ("GET", "/patients/{id}"),
    ("POST", "/patients/{id}/regimen"),
    ("POST", "/patients/{id}/injections"),
    ("POST", "/patients/{id}/scores"),
    ("POST", "/patients/{id}/reactions"),
    ("GET", "/clinician"),
    ("GET", "/reactions/{id}"),
    ("POST", "/reactions/{id}/assessment"),
    ("POST", "/reactions/{id}/icsr"),
    ("GET", "/icsr/{id}"),
    ("GET", "/admin"),
    ("POST", "/admin/users"),
    ("POST", "/admin/assignments"),
    ("POST", "/admin/assignments/remove"),
    ("POST", "/admin/users/{id}/active"),
    ("POST", "/admin/users/{id}/password"),
    ("GET", "/account"),
    ("POST", "/account/password"),
    ("GET", "/api/openapi.json"),
    ("POST", "/api/login"),
    ("POST", "/api/logout"),
    ("GET", "/api/me"),
    ("GET", "/api/patients"),
    ("GET", "/api/patients/{id}"),
    ("GET", "/api/patients/{id}/audit"),
    ("POST", "/api/patients/{id}/regimen"),
    ("POST", "/api/patients/{id}/injections"),
    ("POST", "/api/patients/{id}/scores"),
    ("POST", "/api/patients/{id}/reactions"),
    ("GET", "/api/reactions/{id}"),
    ("GET", "/api/reactions/{id}/assessment"),
    ("POST", "/api/reactions/{id}/assessment"),
    ("POST", "/api/reactions/{id}/icsr"),
    ("GET", "/api/icsr/{id}"),
    ("GET", "/api/audit"),
    ("POST", "/api/users"),
    ("POST", "/api/assignments"),
    ("GET", "/api/users"),
    ("GET", "/api/assignments"),
    ("POST", "/api/assignments/remove"),
    ("POST", "/api/users/{id}/active"),
    ("POST", "/api/users/{id}/password"),
    ("POST", "/api/me/password"),
];

/// The application router.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(pages::home))
        .route("/healthz", get(api::healthz))
        .route("/login", get(pages::login_form).post(pages::login_submit))
        .route("/logout", post(pages::logout))
        .route("/patients/{id}", get(pages::patient))
        .route("/patients/{id}/regimen", post(pages::regimen_submit))
        .route("/patients/{id}/injections", post(pages::injection_submit))
        .route("/patients/{id}/scores", post(pages::scores_submit))
        .route("/patients/{id}/reactions", post(pages::reaction_submit))
        .route("/clinician", get(pages::clinician_home))
        .route("/reactions/{id}", get(pages::reaction))
        .route("/reactions/{id}/assessment", post(pages::assessment_submit))
        .route("/reactions/{id}/icsr", post(pages::icsr_submit))
        .route("/icsr/{id}", get(pages::icsr_download))
        .route("/admin", get(pages::admin))
        .route("/admin/users", post(pages::admin_user_submit))
        .route("/admin/assignments", post(pages::admin_assign_submit))
        .route(
            "/admin/assignments/remove",
            post(pages::admin_unassign_submit),
        )
        .route("/admin/users/{id}/active", post(pages::admin_active_submit))
        .route(
            "/admin/users/{id}/password",
            post(pages::admin_password_submit),
        )
        .route("/account", get(pages::account))
        .route("/account/password", post(pages::account_password_submit))
        .route("/api/openapi.json", get(api::openapi))
        .route("/api/login", post(api::login))
        .route("/api/logout", post(api::logout))
        .route("/api/me", get(api::me))
        .route("/api/patients", get(api::patients))
        .route("/api/patients/{id}", get(api::patient))
        .route("/api/patients/{id}/audit", get(api::record_audit))
        .route("/api/patients/{id}/regimen", post(api::set_regimen))
        .route("/api/patients/{id}/injections", post(api::add_injection))
        .route("/api/patients/{id}/scores", post(api::add_scores))
        .route("/api/patients/{id}/reactions", post(api::add_reaction))
        .route("/api/reactions/{id}", get(api::reaction))
        .route(
            "/api/reactions/{id}/assessment",
            get(api::get_assessment).post(api::post_assessment),
        )
        .route("/api/reactions/{id}/icsr", post(api::post_icsr))
        .route("/api/icsr/{id}", get(api::get_icsr))
        .route("/api/audit", get(api::audit))
        .route("/api/users", get(api::get_users).post(api::post_user))
        .route(
            "/api/assignments",
            get(api::get_assignments).post(api::post_assignment),
        )
        .route("/api/assignments/remove", post(api::post_unassign))
        .route("/api/users/{id}/active", post(api::post_user_active))
        .route("/api/users/{id}/password", post(api::post_user_password))
        .route("/api/me/password", post(api::post_my_password))
        .layer(axum::extract::DefaultBodyLimit::max(256 * 1024))
        .layer(axum::middleware::map_response(security_headers))
        .with_state(state)
}

/// Headers on every response: no sniffing, no framing, no third-party anything (inline SVG and the
/// inline stylesheet are the only non-HTML content).
async fn security_headers(mut resp: axum::response::Response) -> axum::response::Response {
    use axum::http::{header, HeaderValue};
    let h = resp.headers_mut();
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; form-action 'self'; frame-ancestors 'none'"),
    );
    resp
}

/// How to run the server.
#[derive(Debug, Clone)]
pub struct Config {
    /// `sqlite://FILE` or `postgres://...`.
    pub db_url: String,
    /// Address to listen on.
    pub listen: SocketAddr,
    /// Mark cookies `Secure`.
    pub secure_cookies: bool,
}

/// Create the first admin account (for `vigil serve --create-admin`). Refuses an existing username.
pub async fn create_admin(db: &db::Db, username: &str, password: &str) -> anyhow::Result<i64> {
    if let Some(problem) = api::password_problem(password, username) {
        anyhow::bail!("the admin password: {problem}");
    }
    let exists = sqlx::query("SELECT 1 FROM users WHERE LOWER(username) = LOWER($1)")
        .bind(username)
        .fetch_optional(&db.pool)
        .await?;
    if exists.is_some() {
        anyhow::bail!("user {username:?} already exists");
    }
    let id = auth::create_user(db, username, password, auth::Role::Admin, username).await?;
    let mut tx = db.pool.begin().await?;
    sqlx::query("INSERT INTO audit_log (user_id, at, action, entity, entity_id, before_json, after_json) VALUES ($1, $2, $3, $4, $5, $6, $7)")
        .bind(None::<i64>)
        .bind(now_rfc3339())
        .bind("create_admin")
        .bind("user")
        .bind(id)
        .bind(None::<String>)
        .bind(serde_json::json!({"id": id, "username": username, "role": "admin"}).to_string())
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(id)
}

/// Serve until Ctrl-C / SIGTERM. `ready` is called with the bound address once listening.
pub async fn serve(
    db: db::Db,
    config: &Config,
    ready: impl FnOnce(SocketAddr),
) -> anyhow::Result<()> {
    let state = AppState::new(db, config.secure_cookies)?;
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("binding {}", config.listen))?;
    ready(listener.local_addr()?);
    axum::serve(
        listener,
        router(state).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await
    .context("serving")?;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}
