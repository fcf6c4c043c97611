//! Authentication and the checks every request goes through: argon2 passwords, session cookies, CSRF
//! tokens, login throttling, and who may see which patient.
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::HeaderMap;
use sqlx::Row;

use crate::error::AppError;
use crate::AppState;

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "vigil_session";
/// Name of the pre-login CSRF cookie (double-submit for the login form, which has no session yet).
pub const LOGIN_CSRF_COOKIE: &str = "vigil_login_csrf";
/// Name of the CSRF header accepted by the JSON API.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// How long a session lasts.
pub const SESSION_SECONDS: i64 = 12 * 3600;
/// Failed logins allowed per account and client address within [`THROTTLE_WINDOW`] before 429.
///
/// Five attempts per 15 minutes is a policy choice in the range OWASP's authentication cheat sheet
/// discusses for account lockout/throttling; it is not a clinical figure.
pub const THROTTLE_LIMIT: usize = 5;
/// The throttling window.
pub const THROTTLE_WINDOW: Duration = Duration::from_secs(15 * 60);

/// A role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// A patient: sees and edits only their own record.
    Patient,
    /// A clinician: sees the patients assigned to them.
    Clinician,
    /// An administrator: manages accounts and reads the audit log; no access to clinical records.
    Admin,
}

impl Role {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Patient => "patient",
            Role::Clinician => "clinician",
            Role::Admin => "admin",
        }
    }
    /// From the stored name.
    pub fn parse(s: &str) -> Option<Role> {
        Some(match s {
            "patient" => Role::Patient,
            "clinician" => Role::Clinician,
            "admin" => Role::Admin,
            _ => return None,
        })
    }
}

/// The logged-in user of a request.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CurrentUser {
    /// User id.
    pub id: i64,
    /// Login name.
    pub username: String,
    /// Display name.
    pub display_name: String,
    /// Role.
    pub role: Role,
    /// The session's CSRF token.
    pub csrf: String,
    #[serde(skip)]
    /// The session token (to log out).
    pub token: String,
}

/// Hash a password with argon2id (the crate's defaults: m = 19 MiB, t = 2, p = 1, the OWASP minimum).
pub fn hash_password(password: &str) -> anyhow::Result<String> {
    let mut salt_bytes = [0u8; 16];
    getrandom::fill(&mut salt_bytes).map_err(|e| anyhow::anyhow!("random salt: {e}"))?;
    let salt = SaltString::encode_b64(&salt_bytes).map_err(|e| anyhow::anyhow!("salt: {e}"))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("hashing the password: {e}"))
}

/// Whether `password` matches the stored PHC hash.
pub fn verify_password(hash: &str, password: &str) -> bool {
    match PasswordHash::new(hash) {
        Ok(parsed) => Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// 256 random bits as 64 hex digits (session and CSRF tokens).
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the operating system's random source failed");
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// What the `sessions` table stores for a session token: its SHA-256 in hex, so that a copy of the
/// database does not hold live session cookies.
pub fn token_digest(token: &str) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Compare two tokens in time independent of where they differ.
pub fn tokens_equal(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// The value of cookie `name` in the request headers.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

/// A `Set-Cookie` value: HttpOnly, SameSite=Strict, Path=/, and Secure when configured.
pub fn set_cookie(name: &str, value: &str, max_age: i64, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{name}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}")
}

/// Look up the session of a request.
pub async fn session_user(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Option<CurrentUser>, AppError> {
    let Some(token) = cookie(headers, SESSION_COOKIE) else {
        return Ok(None);
    };
    let row = sqlx::query(
        "SELECT u.id, u.username, u.display_name, u.role, s.csrf, s.expires_unix FROM sessions s \
         JOIN users u ON u.id = s.user_id WHERE s.token = $1 AND u.active = 1",
    )
    .bind(token_digest(&token))
    .fetch_optional(&state.db.pool)
    .await?;
    let Some(row) = row else { return Ok(None) };
    if row.try_get::<i64, _>("expires_unix")? < crate::now_unix() {
        return Ok(None);
    }
    let role: String = row.try_get("role")?;
    Ok(Some(CurrentUser {
        id: row.try_get("id")?,
        username: row.try_get("username")?,
        display_name: row.try_get("display_name")?,
        role: Role::parse(&role)
            .ok_or_else(|| anyhow::anyhow!("unknown role {role:?} in users"))?,
        csrf: row.try_get("csrf")?,
        token,
    }))
}

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        session_user(state, &parts.headers)
            .await?
            .ok_or(AppError::Unauthenticated)
    }
}

/// The logged-in user of a browser route: without a session the answer is a redirect to `/login`.
pub struct PageUser(pub CurrentUser);

impl FromRequestParts<AppState> for PageUser {
    type Rejection = crate::error::PageError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        match session_user(state, &parts.headers).await? {
            Some(user) => Ok(PageUser(user)),
            // A GET of a page returns there after the login (deep link); a form post goes to the home page.
            None if parts.method == axum::http::Method::GET => {
                let next = parts
                    .uri
                    .path_and_query()
                    .map(|p| p.as_str().to_string())
                    .unwrap_or_else(|| "/".into());
                Err(AppError::LoginRequired(next).into())
            }
            None => Err(AppError::Unauthenticated.into()),
        }
    }
}

/// The client address (the socket peer), or `local` when the app runs without a socket (tests).
pub fn client_ip(parts_extensions: &axum::http::Extensions) -> String {
    parts_extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ci| ci.0.ip().to_string())
        .unwrap_or_else(|| "local".into())
}

/// Whether `next` is a path on this site to return to after login (not `//host` or `/\\host`, which
/// browsers read as another site).
pub fn safe_next(next: &str) -> bool {
    next.starts_with('/')
        && !next.starts_with("//")
        && !next.starts_with("/\\")
        && !next.chars().any(|c| c.is_control())
}

/// Require the CSRF token of the session.
pub fn check_csrf(user: &CurrentUser, given: Option<&str>) -> Result<(), AppError> {
    match given {
        Some(t) if tokens_equal(t, &user.csrf) => Ok(()),
        _ => Err(AppError::Csrf),
    }
}

/// Failed-login counter per (account, client address), in memory.
#[derive(Default)]
pub struct Throttle {
    failures: Mutex<HashMap<(String, String), Vec<Instant>>>,
}

impl Throttle {
    /// Whether this account+address has used up its failures in the window.
    pub fn is_blocked(&self, username: &str, ip: &str) -> bool {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        let key = (username.to_lowercase(), ip.to_string());
        if let Some(times) = map.get_mut(&key) {
            times.retain(|t| t.elapsed() < THROTTLE_WINDOW);
            times.len() >= THROTTLE_LIMIT
        } else {
            false
        }
    }
    /// Record a failure.
    pub fn fail(&self, username: &str, ip: &str) {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        map.entry((username.to_lowercase(), ip.to_string()))
            .or_default()
            .push(Instant::now());
    }
    /// Forget failures after a successful login.
    pub fn clear(&self, username: &str, ip: &str) {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        map.remove(&(username.to_lowercase(), ip.to_string()));
    }
}

/// Check a login and open a session; returns the user and the session token.
pub async fn login(
    state: &AppState,
    username: &str,
    password: &str,
    ip: &str,
) -> Result<(CurrentUser, String), AppError> {
    if state.throttle.is_blocked(username, ip) {
        return Err(AppError::Throttled);
    }
    // Case-insensitive: "Alice" logs in as "alice"; a deactivated account cannot log in.
    let row = sqlx::query("SELECT id, username, display_name, role, password_hash FROM users WHERE LOWER(username) = LOWER($1) AND active = 1 ORDER BY id LIMIT 1")
        .bind(username)
        .fetch_optional(&state.db.pool)
        .await?;
    // Verify against a dummy hash when the user does not exist, so the timing does not reveal it.
    let hash: String = match &row {
        Some(r) => r.try_get("password_hash")?,
        None => state.dummy_hash.clone(),
    };
    let password_owned = password.to_string();
    let ok = tokio::task::spawn_blocking(move || verify_password(&hash, &password_owned))
        .await
        .map_err(|e| anyhow::anyhow!("password check task: {e}"))?;
    let row = match (ok, row) {
        (true, Some(row)) => row,
        _ => {
            state.throttle.fail(username, ip);
            return Err(AppError::BadCredentials);
        }
    };
    state.throttle.clear(username, ip);
    // Expired sessions are useless; drop them here rather than in a background task.
    sqlx::query("DELETE FROM sessions WHERE expires_unix < $1")
        .bind(crate::now_unix())
        .execute(&state.db.pool)
        .await?;
    let token = random_token();
    let csrf = random_token();
    let user_id: i64 = row.try_get("id")?;
    sqlx::query("INSERT INTO sessions (token, user_id, csrf, created_at, expires_unix) VALUES ($1, $2, $3, $4, $5)")
        .bind(token_digest(&token))
        .bind(user_id)
        .bind(&csrf)
        .bind(crate::now_rfc3339())
        .bind(crate::now_unix() + SESSION_SECONDS)
        .execute(&state.db.pool)
        .await?;
    let role: String = row.try_get("role")?;
    let user = CurrentUser {
        id: user_id,
        username: row.try_get("username")?,
        display_name: row.try_get("display_name")?,
        role: Role::parse(&role).ok_or_else(|| anyhow::anyhow!("unknown role {role:?}"))?,
        csrf,
        token: token.clone(),
    };
    Ok((user, token))
}

/// End a session.
pub async fn logout(state: &AppState, user: &CurrentUser) -> Result<(), AppError> {
    sqlx::query("DELETE FROM sessions WHERE token = $1")
        .bind(token_digest(&user.token))
        .execute(&state.db.pool)
        .await?;
    Ok(())
}

/// What a user may do with a patient's record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// The patient themself.
    Own,
    /// A clinician the patient is assigned to.
    AssignedClinician,
}

/// Check that `user` may see patient `patient_id`: 404 outside their scope, 403 for admins.
pub async fn patient_access(
    state: &AppState,
    user: &CurrentUser,
    patient_id: i64,
) -> Result<Access, AppError> {
    match user.role {
        Role::Admin => Err(AppError::Forbidden),
        Role::Patient if user.id == patient_id => Ok(Access::Own),
        Role::Patient => Err(AppError::NotFound),
        Role::Clinician => {
            let found = sqlx::query(
                "SELECT 1 FROM assignments a JOIN users u ON u.id = a.patient_id \
                 WHERE a.clinician_id = $1 AND a.patient_id = $2 AND u.role = 'patient'",
            )
            .bind(user.id)
            .bind(patient_id)
            .fetch_optional(&state.db.pool)
            .await?;
            found
                .map(|_| Access::AssignedClinician)
                .ok_or(AppError::NotFound)
        }
    }
}

/// Check that `user` is a clinician assigned to patient `patient_id` (clinician-only actions).
pub async fn clinician_access(
    state: &AppState,
    user: &CurrentUser,
    patient_id: i64,
) -> Result<(), AppError> {
    if user.role != Role::Clinician {
        return Err(AppError::Forbidden);
    }
    patient_access(state, user, patient_id).await.map(|_| ())
}

/// Require a role.
pub fn require_role(user: &CurrentUser, role: Role) -> Result<(), AppError> {
    if user.role == role {
        Ok(())
    } else {
        Err(AppError::Forbidden)
    }
}

/// Create a user (admin bootstrap, admin API, tests). The username must be new.
pub async fn create_user(
    state_db: &crate::db::Db,
    username: &str,
    password: &str,
    role: Role,
    display_name: &str,
) -> anyhow::Result<i64> {
    let hash = hash_password(password)?;
    let row = sqlx::query(
        "INSERT INTO users (username, password_hash, role, display_name, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(username)
    .bind(hash)
    .bind(role.as_str())
    .bind(display_name)
    .bind(crate::now_rfc3339())
    .fetch_one(&state_db.pool)
    .await?;
    Ok(row.try_get(0)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argon2_hash_verifies_only_the_right_password() {
        let h = hash_password("correct horse").unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        assert!(verify_password(&h, "correct horse"));
        assert!(!verify_password(&h, "correct hors"));
        assert!(!verify_password("not a hash", "x"));
    }

    #[test]
    fn throttle_blocks_after_the_limit_per_account_and_address() {
        let t = Throttle::default();
        for _ in 0..THROTTLE_LIMIT {
            assert!(!t.is_blocked("ann", "1.2.3.4"));
            t.fail("ann", "1.2.3.4");
        }
        assert!(t.is_blocked("ANN", "1.2.3.4"));
        assert!(!t.is_blocked("ann", "5.6.7.8"));
        assert!(!t.is_blocked("bob", "1.2.3.4"));
    }

    #[test]
    fn session_tokens_are_stored_as_sha256() {
        // SHA-256("abc") from FIPS 180-2, appendix B.1.
        assert_eq!(
            token_digest("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn cookies_are_found_among_several() {
        let mut h = HeaderMap::new();
        h.insert(
            axum::http::header::COOKIE,
            "a=1; vigil_session=abc; b=2".parse().unwrap(),
        );
        assert_eq!(cookie(&h, SESSION_COOKIE).as_deref(), Some("abc"));
        assert_eq!(cookie(&h, "c"), None);
        assert_eq!(
            set_cookie("k", "v", 10, true),
            "k=v; Path=/; HttpOnly; SameSite=Strict; Max-Age=10; Secure"
        );
    }
}
