//! The JSON API under `/api` (described by `/api/openapi.json`).
//!
//! Every request is checked in the same order: session (401) → CSRF header on writes (403) → role and
//! scope (403 / 404) → body and validation (422). The body is parsed only after the access check, so a
//! caller outside the record's scope learns nothing from a malformed body either.
use axum::body::Bytes;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::Row;

use crate::auth::{self, CurrentUser, Role};
use crate::clinic::{self, AssessmentInput};
use crate::error::{AppError, FieldError};
use crate::records::{self, InjectionInput, ReactionInput, RegimenInput, ScoresInput};
use crate::AppState;

/// The OpenAPI 3.1 description of this API (hand-written, checked by a test against the router).
pub const OPENAPI_JSON: &str = include_str!("../openapi.json");

/// A logged-in user whose write request carries the session's CSRF token in `X-CSRF-Token`.
pub struct Writer(pub CurrentUser);

impl FromRequestParts<AppState> for Writer {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let user = CurrentUser::from_request_parts(parts, state).await?;
        let given = parts
            .headers
            .get(auth::CSRF_HEADER)
            .and_then(|v| v.to_str().ok());
        auth::check_csrf(&user, given)?;
        Ok(Writer(user))
    }
}

/// Parse a JSON body; a syntax or type error becomes 422 naming the field path (e.g. `poem_days[3]`).
pub fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, AppError> {
    let mut de = serde_json::Deserializer::from_slice(body);
    let value: T = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let field = if path == "." || path.is_empty() {
            "body".to_string()
        } else {
            path
        };
        let message = e.into_inner().to_string();
        // serde names a missing field only in its message; the path is then the enclosing object.
        let field = match message
            .strip_prefix("missing field `")
            .and_then(|rest| rest.split('`').next())
        {
            Some(name) if field == "body" => name.to_string(),
            Some(name) => format!("{field}.{name}"),
            None => field,
        };
        AppError::Validation(vec![FieldError::new(field, message)])
    })?;
    de.end()
        .map_err(|e| AppError::Validation(vec![FieldError::new("body", e.to_string())]))?;
    Ok(value)
}

fn validation<T>(r: Result<T, Vec<FieldError>>) -> Result<T, AppError> {
    r.map_err(AppError::Validation)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LoginBody {
    username: String,
    password: String,
}

/// `POST /api/login`: opens a session (cookie) and returns the CSRF token for later writes.
///
/// The body must be sent as `application/json`: a cross-site HTML form cannot send that type without a
/// CORS preflight, so another site cannot log a visitor into an account of its choosing (login CSRF).
pub async fn login(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
    parts_ext: axum::http::Extensions,
    body: Bytes,
) -> Result<Response, AppError> {
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !json {
        return Ok((
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Json(json!({"error": "send the login as application/json"})),
        )
            .into_response());
    }
    let b: LoginBody = parse_json(&body)?;
    let ip = auth::client_ip(&parts_ext);
    let (user, token) = auth::login(&state, &b.username, &b.password, &ip).await?;
    let cookie = auth::set_cookie(
        auth::SESSION_COOKIE,
        &token,
        auth::SESSION_SECONDS,
        state.secure_cookies,
    );
    Ok((
        [(header::SET_COOKIE, cookie)],
        Json(json!({"user": user, "csrf_token": user.csrf})),
    )
        .into_response())
}

/// `POST /api/logout`.
pub async fn logout(
    State(state): State<AppState>,
    Writer(user): Writer,
) -> Result<Response, AppError> {
    auth::logout(&state, &user).await?;
    let cookie = auth::set_cookie(auth::SESSION_COOKIE, "", 0, state.secure_cookies);
    Ok(([(header::SET_COOKIE, cookie)], StatusCode::NO_CONTENT).into_response())
}

/// `GET /api/me`.
pub async fn me(user: CurrentUser) -> Json<serde_json::Value> {
    Json(json!({"user": user, "csrf_token": user.csrf}))
}

/// One line of the patient list: what a clinician needs to see first.
#[derive(Debug, Serialize)]
pub struct PatientSummary {
    /// User id.
    pub id: i64,
    /// Display name.
    pub display_name: String,
    /// Next injection due date, when a regimen is set.
    pub next_due: Option<String>,
    /// The next injection is overdue.
    pub overdue: bool,
    /// Days overdue.
    pub days_overdue: i64,
    /// Reactions that no clinician has assessed yet.
    pub unreviewed_reactions: i64,
    /// The latest POEM total and its week, if any.
    pub latest_poem: Option<(String, i64)>,
    /// Age in completed years, when the date of birth is known.
    pub age_years: Option<i64>,
    /// `male` / `female`, when recorded.
    pub sex: Option<String>,
    /// Weight in kg, when recorded (dupilumab's paediatric doses go by weight band).
    pub weight_kg: Option<f64>,
    /// Scheduled doses missed (their 7-day window passed without a dose).
    pub missed_doses: usize,
}

/// Summaries of the patients a user may see.
pub async fn patient_summaries(
    state: &AppState,
    user: &CurrentUser,
) -> Result<Vec<PatientSummary>, AppError> {
    let mut out = Vec::new();
    for (id, display_name) in visible_patients(state, user).await? {
        let record = records::load_record(state, id).await?;
        let unreviewed: i64 = sqlx::query(
            "SELECT COUNT(*) AS n FROM reactions r WHERE r.patient_id = $1 \
             AND NOT EXISTS (SELECT 1 FROM assessments a WHERE a.reaction_id = r.id)",
        )
        .bind(id)
        .fetch_one(&state.db.pool)
        .await?
        .try_get("n")?;
        out.push(PatientSummary {
            id,
            display_name,
            next_due: record.next_due.clone(),
            overdue: record.overdue,
            days_overdue: record.days_overdue,
            unreviewed_reactions: unreviewed,
            latest_poem: record
                .scores
                .last()
                .map(|s| (s.week_start.clone(), s.poem_total)),
            age_years: record.patient.age_years,
            sex: record.patient.sex.clone(),
            weight_kg: record.patient.weight_kg,
            missed_doses: record.missed_doses.len(),
        });
    }
    Ok(out)
}

/// The patients a user may see: a patient sees themself, a clinician their assigned patients.
pub async fn visible_patients(
    state: &AppState,
    user: &CurrentUser,
) -> Result<Vec<(i64, String)>, AppError> {
    let rows = match user.role {
        Role::Admin => return Err(AppError::Forbidden),
        Role::Patient => {
            sqlx::query("SELECT id, display_name FROM users WHERE id = $1")
                .bind(user.id)
                .fetch_all(&state.db.pool)
                .await?
        }
        Role::Clinician => sqlx::query(
            "SELECT u.id, u.display_name FROM assignments a JOIN users u ON u.id = a.patient_id \
                 WHERE a.clinician_id = $1 AND u.role = 'patient' ORDER BY u.display_name, u.id",
        )
        .bind(user.id)
        .fetch_all(&state.db.pool)
        .await?,
    };
    rows.iter()
        .map(|r| Ok((r.try_get("id")?, r.try_get("display_name")?)))
        .collect::<Result<_, sqlx::Error>>()
        .map_err(AppError::from)
}

/// `GET /api/patients`.
pub async fn patients(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Json<serde_json::Value>, AppError> {
    Ok(Json(
        json!({ "patients": patient_summaries(&state, &user).await? }),
    ))
}

/// `GET /api/patients/{id}`.
pub async fn patient(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Json<records::PatientRecord>, AppError> {
    auth::patient_access(&state, &user, id).await?;
    let record = records::load_record(&state, id).await?;
    records::log_read(&state, user.id, "patient_record", id, id).await?;
    Ok(Json(record))
}

fn created(id: i64) -> Response {
    (StatusCode::CREATED, Json(json!({"id": id}))).into_response()
}

/// `POST /api/patients/{id}/regimen` (assigned clinician).
pub async fn set_regimen(
    State(state): State<AppState>,
    Writer(user): Writer,
    Path(id): Path<i64>,
    body: Bytes,
) -> Result<Response, AppError> {
    auth::clinician_access(&state, &user, id).await?;
    let input: RegimenInput = parse_json(&body)?;
    let valid = validation(records::validate_regimen(
        &input,
        records::patient_today(&state, id).await?,
    ))?;
    Ok(created(
        records::insert_regimen(&state, user.id, id, &valid).await?,
    ))
}

/// `POST /api/patients/{id}/injections` (the patient or an assigned clinician).
pub async fn add_injection(
    State(state): State<AppState>,
    Writer(user): Writer,
    Path(id): Path<i64>,
    body: Bytes,
) -> Result<Response, AppError> {
    auth::patient_access(&state, &user, id).await?;
    let input: InjectionInput = parse_json(&body)?;
    let regimen = records::current_regimen(&state, id).await?;
    let valid = validation(records::validate_injection(
        &input,
        regimen.as_ref(),
        records::patient_today(&state, id).await?,
    ))?;
    Ok(created(
        records::insert_injection(&state, user.id, id, &valid).await?,
    ))
}

/// `POST /api/patients/{id}/scores` (the patient or an assigned clinician).
pub async fn add_scores(
    State(state): State<AppState>,
    Writer(user): Writer,
    Path(id): Path<i64>,
    body: Bytes,
) -> Result<Response, AppError> {
    auth::patient_access(&state, &user, id).await?;
    let input: ScoresInput = parse_json(&body)?;
    let (days, total) = validation(records::validate_scores(
        &input,
        records::patient_today(&state, id).await?,
    ))?;
    Ok(created(
        records::insert_scores(&state, user.id, id, &input, &days, total).await?,
    ))
}

/// `POST /api/patients/{id}/reactions` (the patient or an assigned clinician).
pub async fn add_reaction(
    State(state): State<AppState>,
    Writer(user): Writer,
    Path(id): Path<i64>,
    body: Bytes,
) -> Result<Response, AppError> {
    auth::patient_access(&state, &user, id).await?;
    let input: ReactionInput = parse_json(&body)?;
    let valid = validation(records::validate_reaction(
        &input,
        records::patient_today(&state, id).await?,
    ))?;
    Ok(created(
        records::insert_reaction(&state, user.id, id, &valid).await?,
    ))
}

/// `GET /api/reactions/{id}`: the report (the patient or an assigned clinician).
pub async fn reaction(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Json<records::ReactionReport>, AppError> {
    let r = records::reaction(&state, id).await?;
    auth::patient_access(&state, &user, r.patient_id).await?;
    records::log_read(&state, user.id, "reaction", id, r.patient_id).await?;
    Ok(Json(r))
}

/// `GET /api/reactions/{id}/assessment`: vigil-clinic's assessment and the clinician's inputs.
pub async fn get_assessment(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Json<serde_json::Value>, AppError> {
    let r = records::reaction(&state, id).await.map_err(|e| {
        if user.role == Role::Clinician {
            e
        } else {
            AppError::Forbidden
        }
    })?;
    auth::clinician_access(&state, &user, r.patient_id).await?;
    let (case, assessment) = clinic::assess_reaction(&state, &r).await?;
    let history = clinic::assessment_history(&state, id).await?;
    let exports = clinic::exports_of(&state, id).await?;
    records::log_read(&state, user.id, "reaction", id, r.patient_id).await?;
    Ok(Json(
        json!({"case": case, "assessment": assessment, "confirmed": history.first(), "history": history, "exports": exports}),
    ))
}

/// `POST /api/reactions/{id}/assessment` (assigned clinician).
pub async fn post_assessment(
    State(state): State<AppState>,
    Writer(user): Writer,
    Path(id): Path<i64>,
    body: Bytes,
) -> Result<Response, AppError> {
    let r = records::reaction(&state, id).await.map_err(|e| {
        if user.role == Role::Clinician {
            e
        } else {
            AppError::Forbidden
        }
    })?;
    auth::clinician_access(&state, &user, r.patient_id).await?;
    let input: AssessmentInput = parse_json(&body)?;
    let age = patient_age(&state, &r).await?;
    let totals = validation(clinic::validate_assessment(
        &input,
        age,
        records::patient_today(&state, r.patient_id).await?,
    ))?;
    Ok(created(
        clinic::insert_assessment(&state, user.id, &r, &input, totals).await?,
    ))
}

/// The patient's age at the reaction onset, when the birth date is known.
pub async fn patient_age(
    state: &AppState,
    r: &records::ReactionReport,
) -> Result<Option<f64>, AppError> {
    let info = records::patient_info(state, r.patient_id).await?;
    let parse = |s: &str| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").ok();
    Ok(
        match (
            info.birth_date.as_deref().and_then(parse),
            parse(&r.onset_date),
        ) {
            (Some(b), Some(o)) => Some(clinic::age_on(b, o)),
            _ => None,
        },
    )
}

/// Body of `POST /api/reactions/{id}/icsr` (may be empty).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IcsrRequest {
    /// Export even though the reaction has no assessment or no seriousness answer.
    #[serde(default)]
    pub confirm_unassessed: bool,
}

/// `POST /api/reactions/{id}/icsr`: export and store the E2B(R3) XML (assigned clinician).
pub async fn post_icsr(
    State(state): State<AppState>,
    Writer(user): Writer,
    Path(id): Path<i64>,
    body: Bytes,
) -> Result<Response, AppError> {
    let r = records::reaction(&state, id).await.map_err(|e| {
        if user.role == Role::Clinician {
            e
        } else {
            AppError::Forbidden
        }
    })?;
    auth::clinician_access(&state, &user, r.patient_id).await?;
    let req: IcsrRequest = if body.iter().all(u8::is_ascii_whitespace) {
        IcsrRequest::default()
    } else {
        parse_json(&body)?
    };
    Ok(created(
        clinic::export_icsr(&state, user.id, &r, req.confirm_unassessed).await?,
    ))
}

/// Check access to a stored export; returns (case id, XML).
pub async fn icsr_for(
    state: &AppState,
    user: &CurrentUser,
    export_id: i64,
) -> Result<(String, String), AppError> {
    if user.role != Role::Clinician {
        return Err(AppError::Forbidden);
    }
    let (reaction_id, case_id, xml) = clinic::icsr_xml(state, export_id).await?;
    let r = records::reaction(state, reaction_id).await?;
    auth::clinician_access(state, user, r.patient_id).await?;
    records::log_read(state, user.id, "icsr_export", export_id, r.patient_id).await?;
    Ok((case_id, xml))
}

/// The XML as a download.
pub fn xml_download(case_id: &str, xml: String) -> Response {
    let name: String = case_id
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .collect();
    (
        [
            (
                header::CONTENT_TYPE,
                "application/xml; charset=utf-8".to_string(),
            ),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}.xml\""),
            ),
        ],
        xml,
    )
        .into_response()
}

/// `GET /api/icsr/{id}`: the stored XML (assigned clinician).
pub async fn get_icsr(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let (case_id, xml) = icsr_for(&state, &user, id).await?;
    Ok(xml_download(&case_id, xml))
}

/// One audit-log row as the admin sees it: who did what to which record and when, no clinical content.
#[derive(Debug, Serialize)]
pub struct AuditSummary {
    /// Row id.
    pub id: i64,
    /// Who (user id; none for the bootstrap).
    pub user_id: Option<i64>,
    /// Their login name.
    pub username: Option<String>,
    /// When (RFC 3339, UTC).
    pub at: String,
    /// What (`read` for a record opened).
    pub action: String,
    /// Which table.
    pub entity: String,
    /// Which row.
    pub entity_id: Option<i64>,
    /// Whose record (patient user id), if a patient's record.
    pub patient_id: Option<i64>,
}

impl AuditSummary {
    /// Decodes the summary columns of an `audit_log` row joined with `users`.
    fn from_row(r: &sqlx::any::AnyRow) -> Result<Self, sqlx::Error> {
        Ok(Self {
            id: r.try_get("id")?,
            user_id: r.try_get("user_id")?,
            username: r.try_get("username")?,
            at: r.try_get("at")?,
            action: r.try_get("action")?,
            entity: r.try_get("entity")?,
            entity_id: r.try_get("entity_id")?,
            patient_id: r.try_get("patient_id")?,
        })
    }
}

/// The audit log for the admin, newest first (at most `limit` rows): no before/after content.
pub async fn audit_summaries(state: &AppState, limit: i64) -> Result<Vec<AuditSummary>, AppError> {
    let rows = sqlx::query(
        "SELECT a.id, a.user_id, u.username, a.at, a.action, a.entity, a.entity_id, a.patient_id \
         FROM audit_log a LEFT JOIN users u ON u.id = a.user_id ORDER BY a.id DESC LIMIT $1",
    )
    .bind(limit)
    .fetch_all(&state.db.pool)
    .await?;
    rows.iter()
        .map(AuditSummary::from_row)
        .collect::<Result<_, sqlx::Error>>()
        .map_err(AppError::from)
}

/// One audit-log row with its content, for the record's clinicians: the admin's summary and the
/// before/after rows.
#[derive(Debug, Serialize)]
pub struct AuditEntry {
    /// Who did what to which row and when.
    #[serde(flatten)]
    pub summary: AuditSummary,
    /// The row before (JSON text).
    pub before: Option<serde_json::Value>,
    /// The row after.
    pub after: Option<serde_json::Value>,
}

/// The audit log of one patient's record with before/after content, newest first (at most `limit` rows).
pub async fn record_audit_entries(
    state: &AppState,
    patient_id: i64,
    limit: i64,
) -> Result<Vec<AuditEntry>, AppError> {
    let rows = sqlx::query(
        "SELECT a.id, a.user_id, u.username, a.at, a.action, a.entity, a.entity_id, a.patient_id, a.before_json, a.after_json \
         FROM audit_log a LEFT JOIN users u ON u.id = a.user_id WHERE a.patient_id = $1 ORDER BY a.id DESC LIMIT $2",
    )
    .bind(patient_id)
    .bind(limit)
    .fetch_all(&state.db.pool)
    .await?;
    let parse = |s: Option<String>| s.and_then(|t| serde_json::from_str(&t).ok());
    rows.iter()
        .map(|r| {
            Ok(AuditEntry {
                summary: AuditSummary::from_row(r)?,
                before: parse(r.try_get("before_json")?),
                after: parse(r.try_get("after_json")?),
            })
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(AppError::from)
}

/// `GET /api/audit` (admin): who did what to which record and when; no clinical content.
pub async fn audit(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Json<serde_json::Value>, AppError> {
    auth::require_role(&user, Role::Admin)?;
    Ok(Json(
        json!({"entries": audit_summaries(&state, 1000).await?}),
    ))
}

/// `GET /api/patients/{id}/audit` (assigned clinician): the record's audit log with before/after content.
pub async fn record_audit(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Json<serde_json::Value>, AppError> {
    auth::clinician_access(&state, &user, id).await?;
    Ok(Json(
        json!({"entries": record_audit_entries(&state, id, 1000).await?}),
    ))
}

/// A new account (admin).
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    /// Login name: 3–64 letters, digits, `.`, `_`, `-`.
    pub username: String,
    /// At least 12 characters.
    pub password: String,
    /// Role.
    pub role: Role,
    /// Display name.
    pub display_name: String,
    /// Patients: date of birth.
    #[serde(default)]
    pub birth_date: Option<String>,
    /// Patients: `male` / `female`.
    #[serde(default)]
    pub sex: Option<String>,
    /// Patients: weight in kg.
    #[serde(default)]
    pub weight_kg: Option<f64>,
    /// IANA time zone of the account, e.g. `Australia/Sydney` (default `UTC`): its "today".
    #[serde(default)]
    pub time_zone: Option<String>,
}

/// Shortest accepted password (NIST SP 800-63B asks for at least 8; vigil holds health data and asks 12).
pub const MIN_PASSWORD: usize = 12;

/// Why a password is refused, if it is. Beyond the length: NIST SP 800-63B §5.1.1.2 asks verifiers to
/// refuse repetitive or sequential characters and context-specific words such as the username; vigil
/// counts only non-blank characters, asks for at least 5 different ones, and refuses the username itself.
pub fn password_problem(password: &str, username: &str) -> Option<String> {
    let non_blank: Vec<char> = password.chars().filter(|c| !c.is_whitespace()).collect();
    if password.chars().count() < MIN_PASSWORD || non_blank.len() < MIN_PASSWORD {
        return Some(format!(
            "at least {MIN_PASSWORD} characters that are not spaces"
        ));
    }
    let distinct: std::collections::BTreeSet<char> =
        non_blank.iter().flat_map(|c| c.to_lowercase()).collect();
    if distinct.len() < 5 {
        return Some("too repetitive: use at least 5 different characters".into());
    }
    let squeezed: String = non_blank.iter().flat_map(|c| c.to_lowercase()).collect();
    let name = username.to_lowercase();
    if !name.is_empty() && squeezed.replace(&name, "").is_empty() {
        return Some("must not be the username (or the username repeated)".into());
    }
    None
}

/// Validate and store a new account.
pub async fn create_user(state: &AppState, admin_id: i64, u: &NewUser) -> Result<i64, AppError> {
    let mut errors = Vec::new();
    let name_ok = (3..=64).contains(&u.username.len())
        && u.username
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c));
    if !name_ok {
        errors.push(FieldError::new(
            "username",
            "3–64 letters, digits, '.', '_' or '-'",
        ));
    }
    if let Some(problem) = password_problem(&u.password, &u.username) {
        errors.push(FieldError::new("password", problem));
    }
    let time_zone = u
        .time_zone
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .unwrap_or("UTC")
        .to_string();
    if !records::valid_time_zone(&time_zone) {
        errors.push(FieldError::new("time_zone", format!("{time_zone:?} is not an IANA time zone name (e.g. Europe/Amsterdam, Australia/Sydney)")));
    }
    if u.display_name.trim().is_empty() || u.display_name.chars().count() > 200 {
        errors.push(FieldError::new("display_name", "1–200 characters"));
    }
    if let Some(b) = &u.birth_date {
        records::past_date(
            "birth_date",
            b,
            records::today_in(u.time_zone.as_deref().unwrap_or("UTC")),
            &mut errors,
        );
    }
    if let Some(s) = &u.sex {
        if s != "male" && s != "female" {
            errors.push(FieldError::new("sex", "male or female"));
        }
    }
    if let Some(w) = u.weight_kg {
        // Same plausibility bound as vigil-clinic's case check (0–700 kg).
        if !(w.is_finite() && w > 0.0 && w < 700.0) {
            errors.push(FieldError::new(
                "weight_kg",
                format!("{w} is not a body weight in kg"),
            ));
        }
    }
    // Usernames are unique regardless of case ("Alice" and "alice" are one user); stored as typed.
    let exists = sqlx::query("SELECT 1 FROM users WHERE LOWER(username) = LOWER($1)")
        .bind(&u.username)
        .fetch_optional(&state.db.pool)
        .await?;
    if exists.is_some() {
        errors.push(FieldError::new("username", "already taken"));
    }
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    let password = u.password.clone();
    let hash = tokio::task::spawn_blocking(move || auth::hash_password(&password))
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))??;
    let mut tx = state.db.pool.begin().await?;
    let id: i64 = sqlx::query(
        "INSERT INTO users (username, password_hash, role, display_name, birth_date, sex, weight_kg, created_at, time_zone) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
    )
    .bind(&u.username)
    .bind(hash)
    .bind(u.role.as_str())
    .bind(u.display_name.trim())
    .bind(u.birth_date.as_deref().map(str::trim))
    .bind(u.sex.as_deref())
    .bind(u.weight_kg)
    .bind(crate::now_rfc3339())
    .bind(&time_zone)
    .fetch_one(&mut *tx)
    .await?
    .try_get(0)?;
    let after = json!({"id": id, "username": u.username, "role": u.role, "display_name": u.display_name, "birth_date": u.birth_date, "sex": u.sex,
                       "weight_kg": u.weight_kg, "time_zone": time_zone});
    let patient = (u.role == Role::Patient).then_some(id);
    records::audit(
        &mut tx,
        Some(admin_id),
        "create_user",
        "user",
        Some(id),
        patient,
        None,
        Some(after),
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// `POST /api/users` (admin).
pub async fn post_user(
    State(state): State<AppState>,
    Writer(user): Writer,
    body: Bytes,
) -> Result<Response, AppError> {
    auth::require_role(&user, Role::Admin)?;
    let u: NewUser = parse_json(&body)?;
    Ok(created(create_user(&state, user.id, &u).await?))
}

/// A clinician–patient assignment.
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct NewAssignment {
    /// The clinician's user id.
    pub clinician_id: i64,
    /// The patient's user id.
    pub patient_id: i64,
}

/// Store an assignment after checking both roles.
pub async fn assign(state: &AppState, admin_id: i64, a: &NewAssignment) -> Result<(), AppError> {
    let role_of = |id: i64| async move {
        let row = sqlx::query("SELECT role FROM users WHERE id = $1")
            .bind(id)
            .fetch_optional(&state.db.pool)
            .await?;
        Ok::<_, AppError>(row.map(|r| r.try_get::<String, _>("role")).transpose()?)
    };
    let mut errors = Vec::new();
    if role_of(a.clinician_id).await?.as_deref() != Some("clinician") {
        errors.push(FieldError::new(
            "clinician_id",
            format!("{} is not a clinician", a.clinician_id),
        ));
    }
    if role_of(a.patient_id).await?.as_deref() != Some("patient") {
        errors.push(FieldError::new(
            "patient_id",
            format!("{} is not a patient", a.patient_id),
        ));
    }
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    let mut tx = state.db.pool.begin().await?;
    let existing =
        sqlx::query("SELECT 1 FROM assignments WHERE clinician_id = $1 AND patient_id = $2")
            .bind(a.clinician_id)
            .bind(a.patient_id)
            .fetch_optional(&mut *tx)
            .await?;
    if existing.is_none() {
        sqlx::query(
            "INSERT INTO assignments (clinician_id, patient_id, created_at) VALUES ($1, $2, $3)",
        )
        .bind(a.clinician_id)
        .bind(a.patient_id)
        .bind(crate::now_rfc3339())
        .execute(&mut *tx)
        .await?;
        records::audit(
            &mut tx,
            Some(admin_id),
            "assign",
            "assignment",
            None,
            Some(a.patient_id),
            None,
            Some(json!(a)),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// `POST /api/assignments` (admin).
pub async fn post_assignment(
    State(state): State<AppState>,
    Writer(user): Writer,
    body: Bytes,
) -> Result<Response, AppError> {
    auth::require_role(&user, Role::Admin)?;
    let a: NewAssignment = parse_json(&body)?;
    assign(&state, user.id, &a).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"clinician_id": a.clinician_id, "patient_id": a.patient_id})),
    )
        .into_response())
}

/// `GET /api/openapi.json` (public).
pub async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI_JSON).into_response()
}

/// `GET /healthz` (public): answers when the database does.
pub async fn healthz(State(state): State<AppState>) -> Result<&'static str, AppError> {
    sqlx::query("SELECT 1").fetch_one(&state.db.pool).await?;
    Ok("ok")
}

// ---------------------------------------------------------------- account administration

/// Every account, for the admin (no clinical fields).
pub async fn user_rows(state: &AppState) -> Result<Vec<serde_json::Value>, AppError> {
    let rows = sqlx::query(
        "SELECT id, username, role, display_name, time_zone, active FROM users ORDER BY id",
    )
    .fetch_all(&state.db.pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(json!({"id": r.try_get::<i64, _>("id")?, "username": r.try_get::<String, _>("username")?, "role": r.try_get::<String, _>("role")?,
                      "display_name": r.try_get::<String, _>("display_name")?, "time_zone": r.try_get::<String, _>("time_zone")?,
                      "active": r.try_get::<i64, _>("active")? == 1}))
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(AppError::from)
}

/// Every clinician–patient assignment with both names.
pub async fn assignment_rows(state: &AppState) -> Result<Vec<serde_json::Value>, AppError> {
    let rows = sqlx::query(
        "SELECT a.clinician_id, c.display_name AS clinician, a.patient_id, p.display_name AS patient, a.created_at FROM assignments a \
         JOIN users c ON c.id = a.clinician_id JOIN users p ON p.id = a.patient_id ORDER BY c.display_name, p.display_name",
    )
    .fetch_all(&state.db.pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(json!({"clinician_id": r.try_get::<i64, _>("clinician_id")?, "clinician": r.try_get::<String, _>("clinician")?,
                      "patient_id": r.try_get::<i64, _>("patient_id")?, "patient": r.try_get::<String, _>("patient")?,
                      "created_at": r.try_get::<String, _>("created_at")?}))
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(AppError::from)
}

/// Remove an assignment (404 when there is none).
pub async fn unassign(state: &AppState, admin_id: i64, a: &NewAssignment) -> Result<(), AppError> {
    let mut tx = state.db.pool.begin().await?;
    let done = sqlx::query("DELETE FROM assignments WHERE clinician_id = $1 AND patient_id = $2")
        .bind(a.clinician_id)
        .bind(a.patient_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    if done == 0 {
        return Err(AppError::Validation(vec![FieldError::new(
            "patient_id",
            format!(
                "patient {} is not assigned to clinician {}",
                a.patient_id, a.clinician_id
            ),
        )]));
    }
    records::audit(
        &mut tx,
        Some(admin_id),
        "unassign",
        "assignment",
        None,
        Some(a.patient_id),
        Some(json!(a)),
        None,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Deactivate or reactivate an account; deactivation ends its sessions. An admin cannot deactivate themself.
pub async fn set_active(
    state: &AppState,
    admin_id: i64,
    user_id: i64,
    active: bool,
) -> Result<(), AppError> {
    if user_id == admin_id && !active {
        return Err(crate::error::invalid(
            "active",
            "you cannot deactivate your own account",
        ));
    }
    let mut tx = state.db.pool.begin().await?;
    let done = sqlx::query("UPDATE users SET active = $1 WHERE id = $2")
        .bind(i64::from(active))
        .bind(user_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    if done == 0 {
        return Err(AppError::NotFound);
    }
    if !active {
        sqlx::query("DELETE FROM sessions WHERE user_id = $1")
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
    }
    let action = if active {
        "reactivate_user"
    } else {
        "deactivate_user"
    };
    records::audit(
        &mut tx,
        Some(admin_id),
        action,
        "user",
        Some(user_id),
        None,
        None,
        None,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Set a new password (admin reset or the user's own change); ends the account's other sessions.
pub async fn set_password(
    state: &AppState,
    actor_id: i64,
    user_id: i64,
    password: &str,
    field: &str,
    keep_session: Option<&str>,
) -> Result<(), AppError> {
    let row = sqlx::query("SELECT username FROM users WHERE id = $1")
        .bind(user_id)
        .fetch_optional(&state.db.pool)
        .await?
        .ok_or(AppError::NotFound)?;
    let username: String = row.try_get("username")?;
    if let Some(problem) = password_problem(password, &username) {
        return Err(crate::error::invalid(field, problem));
    }
    let password = password.to_string();
    let hash = tokio::task::spawn_blocking(move || auth::hash_password(&password))
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))??;
    let mut tx = state.db.pool.begin().await?;
    sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
        .bind(hash)
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND token <> $2")
        .bind(user_id)
        .bind(keep_session.map(auth::token_digest).unwrap_or_default())
        .execute(&mut *tx)
        .await?;
    let action = if actor_id == user_id {
        "change_password"
    } else {
        "reset_password"
    };
    records::audit(
        &mut tx,
        Some(actor_id),
        action,
        "user",
        Some(user_id),
        None,
        None,
        None,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// `GET /api/users` (admin): accounts without clinical fields.
pub async fn get_users(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Json<serde_json::Value>, AppError> {
    auth::require_role(&user, Role::Admin)?;
    Ok(Json(json!({"users": user_rows(&state).await?})))
}

/// `GET /api/assignments` (admin).
pub async fn get_assignments(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Json<serde_json::Value>, AppError> {
    auth::require_role(&user, Role::Admin)?;
    Ok(Json(json!({"assignments": assignment_rows(&state).await?})))
}

/// `POST /api/assignments/remove` (admin).
pub async fn post_unassign(
    State(state): State<AppState>,
    Writer(user): Writer,
    body: Bytes,
) -> Result<Response, AppError> {
    auth::require_role(&user, Role::Admin)?;
    let a: NewAssignment = parse_json(&body)?;
    unassign(&state, user.id, &a).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ActiveBody {
    active: bool,
}

/// `POST /api/users/{id}/active` (admin): `{"active": false}` deactivates.
pub async fn post_user_active(
    State(state): State<AppState>,
    Writer(user): Writer,
    Path(id): Path<i64>,
    body: Bytes,
) -> Result<Response, AppError> {
    auth::require_role(&user, Role::Admin)?;
    let b: ActiveBody = parse_json(&body)?;
    set_active(&state, user.id, id, b.active).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PasswordBody {
    password: String,
}

/// `POST /api/users/{id}/password` (admin): reset a password.
pub async fn post_user_password(
    State(state): State<AppState>,
    Writer(user): Writer,
    Path(id): Path<i64>,
    body: Bytes,
) -> Result<Response, AppError> {
    auth::require_role(&user, Role::Admin)?;
    let b: PasswordBody = parse_json(&body)?;
    set_password(&state, user.id, id, &b.password, "password", None).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ChangePasswordBody {
    current_password: String,
    new_password: String,
}

/// Check the current password, then set the new one (the caller's own account).
pub async fn change_own_password(
    state: &AppState,
    user: &CurrentUser,
    current: &str,
    new: &str,
) -> Result<(), AppError> {
    let row = sqlx::query("SELECT password_hash FROM users WHERE id = $1")
        .bind(user.id)
        .fetch_one(&state.db.pool)
        .await?;
    let hash: String = row.try_get("password_hash")?;
    let current = current.to_string();
    let ok = tokio::task::spawn_blocking(move || auth::verify_password(&hash, &current))
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    if !ok {
        return Err(crate::error::invalid(
            "current_password",
            "this is not your current password",
        ));
    }
    set_password(
        state,
        user.id,
        user.id,
        new,
        "new_password",
        Some(&user.token),
    )
    .await
}

/// `POST /api/me/password`: change one's own password.
pub async fn post_my_password(
    State(state): State<AppState>,
    Writer(user): Writer,
    body: Bytes,
) -> Result<Response, AppError> {
    let b: ChangePasswordBody = parse_json(&body)?;
    change_own_password(&state, &user, &b.current_password, &b.new_password).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
