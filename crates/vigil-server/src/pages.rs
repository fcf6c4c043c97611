//! Server-rendered pages (minijinja templates, HTML autoescape on): login, the patient record, the
//! clinician's patient list and reaction review, and the admin page. Plain HTML forms, no JavaScript.
//!
//! Every form carries the session's CSRF token (the login form a double-submit cookie token); a POST
//! without the right token is refused with 403 before anything else is looked at. A form with invalid
//! fields is shown again with status 422, each field and why, and nothing saved.
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use minijinja::{context, Environment, Value};
use serde_json::json;

use crate::api;
use crate::auth::{self, CurrentUser, PageUser, Role};
use crate::clinic::{self, AssessmentInput};
use crate::error::{AppError, FieldError, PageError};
use crate::records::{self, InjectionInput, ReactionInput, RegimenInput, ScoresInput};
use crate::AppState;

/// A template value from anything serde can serialize.
fn ser<T: serde::Serialize>(x: T) -> Value {
    Value::from(minijinja::value::Serde(x))
}

/// HTML-escape text (for the few strings written outside templates).
/// `&`, `<`, `>`, `"` and `'` become `&amp;`, `&lt;`, `&gt;`, `&quot;` and `&#x27;`.
pub fn escape_html(s: &str) -> String {
    html_escape::encode_quoted_attribute(s).into_owned()
}

/// The template set, compiled once at start-up. Names end in `.html`, so autoescape is on for all.
pub fn templates() -> Environment<'static> {
    let mut env = Environment::new();
    for (name, source) in [
        ("base.html", include_str!("../templates/base.html")),
        ("login.html", include_str!("../templates/login.html")),
        ("patient.html", include_str!("../templates/patient.html")),
        (
            "clinician.html",
            include_str!("../templates/clinician.html"),
        ),
        ("reaction.html", include_str!("../templates/reaction.html")),
        ("admin.html", include_str!("../templates/admin.html")),
        ("account.html", include_str!("../templates/account.html")),
    ] {
        env.add_template(name, source)
            .expect("the bundled templates compile");
    }
    env
}

fn render(
    state: &AppState,
    name: &str,
    ctx: Value,
    status: StatusCode,
) -> Result<Response, PageError> {
    let html = state
        .templates
        .get_template(name)
        .and_then(|t| t.render(ctx))
        .map_err(|e| AppError::Internal(anyhow::anyhow!("rendering {name}: {e:#}")))?;
    Ok((status, [(header::CACHE_CONTROL, "no-store")], Html(html)).into_response())
}

/// A parsed `application/x-www-form-urlencoded` body (repeated names kept in order).
pub struct FormData(Vec<(String, String)>);

impl FormData {
    /// Parse a body.
    pub fn parse(body: &[u8]) -> Result<FormData, AppError> {
        let pairs: Vec<(String, String)> = serde_urlencoded_pairs(body)?;
        Ok(FormData(pairs))
    }
    /// The first value of `name`, or "".
    pub fn get(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v.as_str())
    }
    /// All values of `name`.
    pub fn all(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .collect()
    }
    /// The values as a map for re-filling a form (repeated names get `name_i`).
    pub fn values(&self) -> serde_json::Map<String, serde_json::Value> {
        let mut m = serde_json::Map::new();
        let mut seen: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
        for (k, v) in &self.0 {
            if k == "csrf" || k == "password" {
                continue;
            }
            let n = seen.entry(k.as_str()).or_insert(0);
            m.entry(k.clone()).or_insert_with(|| json!(v));
            m.insert(format!("{k}_{n}"), json!(v));
            *n += 1;
        }
        m
    }
    /// Check the CSRF field against the session.
    pub fn check_csrf(&self, user: &CurrentUser) -> Result<(), AppError> {
        auth::check_csrf(user, Some(self.get("csrf")).filter(|s| !s.is_empty()))
    }
}

fn serde_urlencoded_pairs(body: &[u8]) -> Result<Vec<(String, String)>, AppError> {
    serde_urlencoded::from_bytes(body)
        .map_err(|e| AppError::Validation(vec![FieldError::new("body", e.to_string())]))
}

/// A number field: a parse failure is a field error.
fn number(form: &FormData, name: &str, field: &str, errors: &mut Vec<FieldError>) -> f64 {
    let raw = form.get(name).trim();
    match raw.parse::<f64>() {
        Ok(v) if v.is_finite() => v,
        _ => {
            errors.push(FieldError::new(field, format!("{raw:?} is not a number")));
            f64::NAN
        }
    }
}

fn integer(form: &FormData, name: &str, field: &str, errors: &mut Vec<FieldError>) -> i64 {
    let raw = form.get(name).trim();
    raw.parse::<i64>().unwrap_or_else(|_| {
        errors.push(FieldError::new(
            field,
            format!("{raw:?} is not a whole number"),
        ));
        i64::MIN
    })
}

// ---------------------------------------------------------------- login

/// `GET /`: the user's home page.
pub async fn home(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let Some(user) = auth::session_user(&state, &headers).await? else {
        return Ok(Redirect::to("/login").into_response());
    };
    Ok(match user.role {
        Role::Patient => Redirect::to(&format!("/patients/{}", user.id)).into_response(),
        Role::Clinician => Redirect::to("/clinician").into_response(),
        Role::Admin => Redirect::to("/admin").into_response(),
    })
}

fn login_page(
    state: &AppState,
    message: Option<&str>,
    next: &str,
    status: StatusCode,
) -> Result<Response, PageError> {
    let token = auth::random_token();
    let next = if auth::safe_next(next) { next } else { "/" };
    let mut resp = render(
        state,
        "login.html",
        context! { login_csrf => token.clone(), message => message, next => next },
        status,
    )?;
    let cookie = auth::set_cookie(auth::LOGIN_CSRF_COOKIE, &token, 3600, state.secure_cookies);
    resp.headers_mut().append(
        header::SET_COOKIE,
        cookie
            .parse()
            .map_err(|e| anyhow::anyhow!("cookie header: {e}"))?,
    );
    Ok(resp)
}

/// Query of `GET /login`: where to return after logging in.
#[derive(serde::Deserialize, Default)]
pub struct NextQuery {
    #[serde(default)]
    next: Option<String>,
}

/// `GET /login`: the form; a user who is already logged in goes on to `next` (or home).
pub async fn login_form(
    State(state): State<AppState>,
    headers: HeaderMap,
    axum::extract::Query(q): axum::extract::Query<NextQuery>,
) -> Result<Response, PageError> {
    let next = q
        .next
        .filter(|n| auth::safe_next(n))
        .unwrap_or_else(|| "/".into());
    if auth::session_user(&state, &headers).await?.is_some() {
        return Ok(Redirect::to(&next).into_response());
    }
    login_page(&state, None, &next, StatusCode::OK)
}

/// `POST /login`.
pub async fn login_submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    ext: axum::http::Extensions,
    body: Bytes,
) -> Result<Response, PageError> {
    let form = FormData::parse(&body)?;
    let expected = auth::cookie(&headers, auth::LOGIN_CSRF_COOKIE).unwrap_or_default();
    if expected.is_empty() || !auth::tokens_equal(&expected, form.get("csrf")) {
        return Err(AppError::Csrf.into());
    }
    let ip = auth::client_ip(&ext);
    let next = Some(form.get("next"))
        .filter(|n| auth::safe_next(n))
        .unwrap_or("/")
        .to_string();
    match auth::login(&state, form.get("username"), form.get("password"), &ip).await {
        Ok((_, token)) => {
            let cookie = auth::set_cookie(
                auth::SESSION_COOKIE,
                &token,
                auth::SESSION_SECONDS,
                state.secure_cookies,
            );
            Ok((
                StatusCode::SEE_OTHER,
                [(header::SET_COOKIE, cookie), (header::LOCATION, next)],
            )
                .into_response())
        }
        Err(AppError::BadCredentials) => login_page(
            &state,
            Some("Wrong username or password."),
            &next,
            StatusCode::UNAUTHORIZED,
        ),
        Err(AppError::Throttled) => login_page(
            &state,
            Some("Too many failed logins. Try again in 15 minutes."),
            &next,
            StatusCode::TOO_MANY_REQUESTS,
        ),
        Err(e) => Err(e.into()),
    }
}

/// `POST /logout`.
pub async fn logout(
    State(state): State<AppState>,
    PageUser(user): PageUser,
    body: Bytes,
) -> Result<Response, PageError> {
    FormData::parse(&body)?.check_csrf(&user)?;
    auth::logout(&state, &user).await?;
    let cookie = auth::set_cookie(auth::SESSION_COOKIE, "", 0, state.secure_cookies);
    Ok((
        StatusCode::SEE_OTHER,
        [
            (header::SET_COOKIE, cookie),
            (header::LOCATION, "/login".to_string()),
        ],
    )
        .into_response())
}

// ---------------------------------------------------------------- patient record

async fn patient_page(
    state: &AppState,
    user: &CurrentUser,
    patient_id: i64,
    errors: Vec<FieldError>,
    values: serde_json::Map<String, serde_json::Value>,
    flash: Option<&str>,
) -> Result<Response, PageError> {
    let access = auth::patient_access(state, user, patient_id).await?;
    let record = records::load_record(state, patient_id).await?;
    let plot = crate::plot::scores_svg(&record.scores);
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let is_clinician = access == auth::Access::AssignedClinician;
    // Checkboxes ticked before a form error ("sites_0", "sites_1", … in the re-fill map).
    let checked = |name: &str| -> Vec<serde_json::Value> {
        values
            .iter()
            .filter(|(k, _)| {
                k.strip_prefix(name)
                    .and_then(|r| r.strip_prefix('_'))
                    .is_some_and(|n| n.parse::<usize>().is_ok())
            })
            .map(|(_, v)| v.clone())
            .collect()
    };
    let ctx = context! {
        site_map => ser(records::SITE_WORDS.iter().copied().collect::<std::collections::BTreeMap<_, _>>()),
        feature_map => ser(records::FEATURE_WORDS.iter().copied().collect::<std::collections::BTreeMap<_, _>>()),
        checked_sites => ser(checked("sites")),
        checked_features => ser(checked("features")),
        user => ser(user),
        record => ser(&record),
        is_clinician => is_clinician,
        plot => plot,
        today => record.today.clone(),
        errors => labelled(&errors, !is_clinician),
        values => ser(&values),
        flash => flash,
        poem_items => ser(POEM_QUESTIONS),
        poem_rule => records::POEM_MISSING_RULE,
        body_sites => ser(records::SITE_WORDS),
        features => ser(records::FEATURE_WORDS),
        urgent_care => ser(records::URGENT_CARE),
        label_regimens => ser(vigil_clinic::knowledge::dupilumab::LABEL_REGIMENS),
        label_source => vigil_clinic::knowledge::dupilumab::LABEL_SOURCE,
    };
    render(state, "patient.html", ctx, status)
}

/// The POEM questions in plain words (Nottingham wording shortened: "Over the last week, on how many
/// days has your skin been …"; clinical.md §3.3) with their short item names.
const POEM_QUESTIONS: [(&str, &str); 7] = [
    ("itchy", "itch"),
    ("your sleep disturbed (count nights)", "sleep disturbed"),
    ("bleeding", "bleeding"),
    ("weeping or oozing clear fluid", "weeping/oozing"),
    ("cracked", "cracked"),
    ("flaking off", "flaking"),
    ("dry or rough", "dry/rough"),
];

/// Field errors with a label people understand (patients see no internal field names).
fn labelled(errors: &[FieldError], for_patient: bool) -> Value {
    let label = |field: &str| -> String {
        if let Some(i) = field
            .strip_prefix("poem_days[")
            .and_then(|r| r.strip_suffix(']'))
            .and_then(|i| i.parse::<usize>().ok())
        {
            return match POEM_QUESTIONS.get(i) {
                Some((q, _)) => format!("Question {} (skin {q})", i + 1),
                None => format!("Question {}", i + 1),
            };
        }
        let plain = match field {
            "given_on" => "Date of the injection",
            "dose_mg" => "Dose",
            "site" => "Where you injected",
            "note" => "Note",
            "week_start" => "Week starting",
            "poem_days" => "Eczema questions",
            "pp_nrs" => "Worst itch",
            "onset_date" => "When it started",
            "description" => "What it is like",
            "different_from_usual" | "rest_of_skin_improving" => "Your answer",
            "regimen" => "Treatment",
            "correction_reason" => "Reason for the correction",
            "supersedes_id" => "Entry to correct",
            _ if field.starts_with("sites") => "Where",
            _ if field.starts_with("features") => "What you see or feel",
            other => other,
        };
        if for_patient {
            plain.to_string()
        } else {
            field.to_string()
        }
    };
    ser(errors
        .iter()
        .map(|e| json!({"field": e.field, "label": label(&e.field), "message": e.message}))
        .collect::<Vec<_>>())
}

/// Query of a page after a saved form: `?saved=…` shows "Saved".
#[derive(serde::Deserialize, Default)]
pub struct SavedQuery {
    #[serde(default)]
    saved: Option<String>,
}

fn saved_message(q: &SavedQuery) -> Option<&'static str> {
    Some(match q.saved.as_deref()? {
        "injection" => "Saved: your injection is in the log.",
        "scores" => "Saved: this week's answers are recorded.",
        "reaction" => "Saved: your clinic will review the reaction.",
        "regimen" => "Saved: regimen updated.",
        "assessment" => "Saved: a new version of the assessment.",
        "icsr" => "Saved: ICSR exported.",
        "account" => "Saved.",
        _ => return None,
    })
}

/// `GET /patients/{id}`: the record (the patient) or the timeline (an assigned clinician). Logged as a read.
pub async fn patient(
    State(state): State<AppState>,
    PageUser(user): PageUser,
    Path(id): Path<i64>,
    axum::extract::Query(q): axum::extract::Query<SavedQuery>,
) -> Result<Response, PageError> {
    let page = patient_page(
        &state,
        &user,
        id,
        Vec::new(),
        Default::default(),
        saved_message(&q),
    )
    .await?;
    records::log_read(&state, user.id, "patient_record", id, id).await?;
    Ok(page)
}

/// After a successful form: back to the page (POST/redirect/GET), saying what was saved.
fn back_to(path: String) -> Response {
    (StatusCode::SEE_OTHER, [(header::LOCATION, path)]).into_response()
}

/// `POST /patients/{id}/regimen` (assigned clinician).
pub async fn regimen_submit(
    State(state): State<AppState>,
    PageUser(user): PageUser,
    Path(id): Path<i64>,
    body: Bytes,
) -> Result<Response, PageError> {
    let form = FormData::parse(&body)?;
    form.check_csrf(&user)?;
    auth::clinician_access(&state, &user, id).await?;
    let mut errors = Vec::new();
    let input = RegimenInput {
        drug: form.get("drug").into(),
        dose_mg: number(&form, "dose_mg", "dose_mg", &mut errors),
        interval_days: integer(&form, "interval_days", "interval_days", &mut errors),
        indication: Some(form.get("indication").trim().to_string()).filter(|s| !s.is_empty()),
        start_date: form.get("start_date").into(),
    };
    match records::validate_regimen(&input, records::patient_today(&state, id).await?) {
        Ok(valid) if errors.is_empty() => {
            records::insert_regimen(&state, user.id, id, &valid).await?;
            Ok(back_to(format!("/patients/{id}?saved=regimen")))
        }
        result => {
            let more: Vec<FieldError> = result
                .err()
                .unwrap_or_default()
                .into_iter()
                .filter(|e| !errors_has(&errors, &e.field))
                .collect();
            errors.extend(more);
            patient_page(&state, &user, id, errors, form.values(), None).await
        }
    }
}

fn errors_has(errors: &[FieldError], field: &str) -> bool {
    errors.iter().any(|e| e.field == field)
}

/// `POST /patients/{id}/injections`.
pub async fn injection_submit(
    State(state): State<AppState>,
    PageUser(user): PageUser,
    Path(id): Path<i64>,
    body: Bytes,
) -> Result<Response, PageError> {
    let form = FormData::parse(&body)?;
    form.check_csrf(&user)?;
    auth::patient_access(&state, &user, id).await?;
    let mut errors = Vec::new();
    let supersedes_id = Some(form.get("supersedes_id").trim())
        .filter(|s| !s.is_empty())
        .map(|_| integer(&form, "supersedes_id", "supersedes_id", &mut errors));
    let input = InjectionInput {
        given_on: form.get("given_on").into(),
        dose_mg: number(&form, "dose_mg", "dose_mg", &mut errors),
        site: Some(form.get("site").into()),
        note: Some(form.get("note").into()),
        supersedes_id,
        correction_reason: Some(form.get("correction_reason").to_string())
            .filter(|s| !s.trim().is_empty()),
    };
    let regimen = records::current_regimen(&state, id).await?;
    let result = match records::validate_injection(
        &input,
        regimen.as_ref(),
        records::patient_today(&state, id).await?,
    ) {
        Ok(valid) if errors.is_empty() => {
            match records::insert_injection(&state, user.id, id, &valid).await {
                Ok(_) => return Ok(back_to(format!("/patients/{id}?saved=injection"))),
                Err(AppError::Validation(e)) => Err(e),
                Err(e) => return Err(e.into()),
            }
        }
        other => other,
    };
    let more: Vec<FieldError> = result
        .err()
        .unwrap_or_default()
        .into_iter()
        .filter(|e| !errors_has(&errors, &e.field))
        .collect();
    errors.extend(more);
    let mut values = form.values();
    values.insert("injection_dose_mg".into(), json!(form.get("dose_mg")));
    patient_page(&state, &user, id, errors, values, None).await
}

/// `POST /patients/{id}/scores`.
pub async fn scores_submit(
    State(state): State<AppState>,
    PageUser(user): PageUser,
    Path(id): Path<i64>,
    body: Bytes,
) -> Result<Response, PageError> {
    let form = FormData::parse(&body)?;
    form.check_csrf(&user)?;
    auth::patient_access(&state, &user, id).await?;
    let mut errors = Vec::new();
    // A blank answer is an unanswered question (never "no days").
    let poem_days: Vec<Option<i64>> = form
        .all("poem_days")
        .iter()
        .enumerate()
        .map(|(i, v)| {
            if v.trim().is_empty() {
                return None;
            }
            Some(v.trim().parse::<i64>().unwrap_or_else(|_| {
                errors.push(FieldError::new(
                    format!("poem_days[{i}]"),
                    format!("{v:?} is not a number of days from 0 to 7"),
                ));
                0
            }))
        })
        .collect();
    let pp_nrs = if form.get("pp_nrs").trim().is_empty() {
        errors.push(FieldError::new(
            "pp_nrs",
            "please choose a number from 0 to 10",
        ));
        f64::NAN
    } else {
        number(&form, "pp_nrs", "pp_nrs", &mut errors)
    };
    let input = ScoresInput {
        week_start: form.get("week_start").into(),
        poem_days,
        pp_nrs,
    };
    match records::validate_scores(&input, records::patient_today(&state, id).await?) {
        Ok((days, total)) if errors.is_empty() => {
            records::insert_scores(&state, user.id, id, &input, &days, total).await?;
            Ok(back_to(format!("/patients/{id}?saved=scores")))
        }
        result => {
            let more: Vec<FieldError> = result
                .err()
                .unwrap_or_default()
                .into_iter()
                .filter(|e| !errors_has(&errors, &e.field))
                .collect();
            errors.extend(more);
            patient_page(&state, &user, id, errors, form.values(), None).await
        }
    }
}

/// `POST /patients/{id}/reactions`.
pub async fn reaction_submit(
    State(state): State<AppState>,
    PageUser(user): PageUser,
    Path(id): Path<i64>,
    body: Bytes,
) -> Result<Response, PageError> {
    let form = FormData::parse(&body)?;
    form.check_csrf(&user)?;
    auth::patient_access(&state, &user, id).await?;
    let input = ReactionInput {
        onset_date: form.get("onset_date").into(),
        description: form.get("description").into(),
        sites: form.all("sites"),
        features: form.all("features"),
        different_from_usual: Some(form.get("different_from_usual").into()),
        rest_of_skin_improving: Some(form.get("rest_of_skin_improving").into()),
    };
    match records::validate_reaction(&input, records::patient_today(&state, id).await?) {
        Ok(valid) => {
            records::insert_reaction(&state, user.id, id, &valid).await?;
            Ok(back_to(format!("/patients/{id}?saved=reaction")))
        }
        Err(errors) => patient_page(&state, &user, id, errors, form.values(), None).await,
    }
}

// ---------------------------------------------------------------- clinician

/// `GET /clinician`: the assigned patients.
pub async fn clinician_home(
    State(state): State<AppState>,
    PageUser(user): PageUser,
) -> Result<Response, PageError> {
    auth::require_role(&user, Role::Clinician)?;
    let patients = api::patient_summaries(&state, &user).await?;
    render(
        &state,
        "clinician.html",
        context! { user => ser(&user), patients => ser(&patients) },
        StatusCode::OK,
    )
}

/// The reaction of a clinician route, with the scope checked (403 for other roles, 404 out of scope).
async fn reaction_for_clinician(
    state: &AppState,
    user: &CurrentUser,
    id: i64,
) -> Result<records::ReactionReport, AppError> {
    auth::require_role(user, Role::Clinician)?;
    let r = records::reaction(state, id).await?;
    auth::clinician_access(state, user, r.patient_id).await?;
    Ok(r)
}

/// EASI regions and signs as the form names them (vigil-clinic's field names).
const EASI_REGIONS: [&str; 4] = ["head_neck", "upper_limbs", "trunk", "lower_limbs"];
const EASI_SIGNS: [&str; 5] = [
    "erythema",
    "induration",
    "excoriation",
    "lichenification",
    "area_percent",
];
const SCORAD_SIGNS: [&str; 6] = [
    "erythema",
    "oedema_papulation",
    "oozing_crusting",
    "excoriation",
    "lichenification",
    "dryness",
];
const NARANJO_FIELDS: [&str; 10] = [
    "previous_reports",
    "after_drug",
    "improved_on_withdrawal",
    "reappeared_on_readministration",
    "alternative_causes",
    "placebo_reaction",
    "toxic_concentration",
    "dose_related",
    "previous_similar_reaction",
    "objective_evidence",
];
const OUTCOMES: [&str; 6] = [
    "unknown",
    "not_recovered",
    "recovering",
    "recovered",
    "recovered_with_sequelae",
    "fatal",
];
/// E2B E.i.3.2 seriousness criteria (ICH E2A), as the form names them (vigil-clinic's field names).
const SERIOUSNESS: [(&str, &str); 6] = [
    ("death", "results in death"),
    ("life_threatening", "life-threatening"),
    ("hospitalisation", "requires or prolongs hospitalisation"),
    (
        "disability",
        "persistent or significant disability or incapacity",
    ),
    ("congenital_anomaly", "congenital anomaly or birth defect"),
    (
        "other_medically_important",
        "other medically important condition",
    ),
];

/// A number as the form shows it: whole numbers without ".0".
fn number_text(v: &serde_json::Value) -> String {
    match v.as_f64() {
        Some(x) if x.fract() == 0.0 && x.abs() < 1e15 => format!("{}", x as i64),
        Some(x) => format!("{x}"),
        None => v.as_str().unwrap_or("").to_string(),
    }
}

/// The form fields of a saved assessment, so that the form opens pre-filled with the current version and
/// a save changes only what the clinician changed.
fn assessment_values(input: &AssessmentInput) -> serde_json::Map<String, serde_json::Value> {
    let v = serde_json::to_value(input).unwrap_or_default();
    let mut m = serde_json::Map::new();
    for r in EASI_REGIONS {
        for s in EASI_SIGNS {
            if let Some(x) = v.pointer(&format!("/easi/{r}/{s}")) {
                m.insert(format!("easi_{r}_{s}"), json!(number_text(x)));
            }
        }
    }
    for (pointer, name) in [
        ("/scorad/extent_percent", "scorad_extent_percent"),
        ("/scorad/pruritus", "scorad_pruritus"),
        ("/scorad/sleeplessness", "scorad_sleeplessness"),
    ] {
        if let Some(x) = v.pointer(pointer).filter(|x| !x.is_null()) {
            m.insert(name.into(), json!(number_text(x)));
        }
    }
    for s in SCORAD_SIGNS {
        if let Some(x) = v.pointer(&format!("/scorad/intensity/{s}")) {
            m.insert(format!("scorad_{s}"), json!(number_text(x)));
        }
    }
    for f in NARANJO_FIELDS {
        if let Some(a) = v
            .pointer(&format!("/causality/naranjo/{f}"))
            .and_then(|a| a.as_str())
        {
            m.insert(format!("naranjo_{f}"), json!(a));
        }
    }
    for (name, key) in [
        ("who_time_relation", "time_relation"),
        ("who_other_explanation", "other_explanation"),
        ("who_withdrawal", "withdrawal"),
    ] {
        if let Some(a) = v
            .pointer(&format!("/causality/who_umc/{key}"))
            .and_then(|a| a.as_str())
        {
            m.insert(name.into(), json!(a));
        }
    }
    if let Some(causes) = &input.alternative_causes {
        m.insert("alternative_assessed".into(), json!("assessed"));
        m.insert("alternative_causes".into(), json!(causes.join("\n")));
    }
    if let Some(o) = &input.outcome {
        m.insert("outcome".into(), json!(o));
    }
    for (pointer, name) in [
        ("/dechallenge/action", "dechallenge_action"),
        ("/dechallenge/date", "dechallenge_date"),
        ("/dechallenge/result", "dechallenge_result"),
        ("/rechallenge", "rechallenge"),
    ] {
        if let Some(a) = v.pointer(pointer).and_then(|a| a.as_str()) {
            m.insert(name.into(), json!(a));
        }
    }
    if let Some(s) = &input.seriousness {
        let sv = serde_json::to_value(s).unwrap_or_default();
        m.insert(
            "serious".into(),
            json!(if s.is_serious() { "yes" } else { "no" }),
        );
        for (k, _) in SERIOUSNESS {
            if sv[k] == true {
                m.insert(format!("serious_{k}"), json!("on"));
            }
        }
    }
    if let Some(c) = &input.clinician_causality {
        m.insert("clinician_causality".into(), json!(c));
    }
    m
}

async fn reaction_page(
    state: &AppState,
    user: &CurrentUser,
    r: &records::ReactionReport,
    errors: Vec<FieldError>,
    values: serde_json::Map<String, serde_json::Value>,
    confirm_export: bool,
    flash: Option<&str>,
) -> Result<Response, PageError> {
    let patient = records::patient_info(state, r.patient_id).await?;
    let (assessment, assessment_error) = match clinic::assess_reaction(state, r).await {
        Ok((_, a)) => (Some(a), None),
        Err(AppError::Validation(f)) => (
            None,
            Some(
                f.iter()
                    .map(|e| format!("{}: {}", e.field, e.message))
                    .collect::<Vec<_>>()
                    .join("; "),
            ),
        ),
        Err(e) => return Err(e.into()),
    };
    let history = clinic::assessment_history(state, r.id).await?;
    let confirmed = history.first().cloned();
    // The form shows what was typed after an error, else the current version, else blank.
    let values = if values.is_empty() {
        confirmed
            .as_ref()
            .map(|c| assessment_values(&c.input))
            .unwrap_or_default()
    } else {
        values
    };
    let gaps = clinic::unconfirmed_gaps(confirmed.as_ref());
    let exports = clinic::exports_of(state, r.id).await?;
    let naranjo_items: Vec<(&str, &str)> = NARANJO_FIELDS
        .iter()
        .copied()
        .zip(vigil_clinic::causality::naranjo::ITEM_NAMES.iter().copied())
        .collect();
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let ctx = context! {
        flash => flash,
        user => ser(user),
        reaction => ser(r),
        patient => ser(&patient),
        assessment => ser(&assessment),
        assessment_error => assessment_error,
        confirmed => ser(&confirmed),
        history => ser(&history),
        gaps => ser(&gaps),
        confirm_export => confirm_export,
        exports => ser(&exports),
        errors => labelled(&errors, false),
        seriousness => ser(SERIOUSNESS),
        who_umc_categories => ser(clinic::WHO_UMC_CATEGORIES),
        sites => ser(records::SITE_WORDS),
        feature_words => ser(records::FEATURE_WORDS),
        values => ser(&values),
        easi_regions => ser(EASI_REGIONS),
        easi_signs => ser(EASI_SIGNS),
        scorad_signs => ser(SCORAD_SIGNS),
        naranjo_items => ser(&naranjo_items),
        outcomes => ser(OUTCOMES),
    };
    render(state, "reaction.html", ctx, status)
}

/// `GET /reactions/{id}`: the clinician's review. Logged as a read.
pub async fn reaction(
    State(state): State<AppState>,
    PageUser(user): PageUser,
    Path(id): Path<i64>,
    axum::extract::Query(q): axum::extract::Query<SavedQuery>,
) -> Result<Response, PageError> {
    let r = reaction_for_clinician(&state, &user, id).await?;
    let page = reaction_page(
        &state,
        &user,
        &r,
        Vec::new(),
        Default::default(),
        false,
        saved_message(&q),
    )
    .await?;
    records::log_read(&state, user.id, "reaction", id, r.patient_id).await?;
    Ok(page)
}

/// Build the assessment input from the review form (blank EASI/SCORAD blocks are skipped).
fn assessment_from_form(form: &FormData, errors: &mut Vec<FieldError>) -> AssessmentInput {
    let mut body = serde_json::Map::new();
    if let Some(easi) = easi_from_form(form, errors) {
        body.insert("easi".into(), easi);
    }
    if let Some(scorad) = scorad_from_form(form, errors) {
        body.insert("scorad".into(), scorad);
    }
    body.insert("causality".into(), causality_from_form(form));
    if form.get("alternative_assessed") == "assessed" {
        let causes: Vec<&str> = form
            .get("alternative_causes")
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect();
        body.insert("alternative_causes".into(), json!(causes));
    }
    body.insert("outcome".into(), json!(form.get("outcome")));
    if !form.get("dechallenge_action").is_empty() {
        let date = Some(form.get("dechallenge_date").trim()).filter(|d| !d.is_empty());
        body.insert(
            "dechallenge".into(),
            json!({"action": form.get("dechallenge_action"), "date": date, "result": Some(form.get("dechallenge_result")).filter(|r| !r.is_empty()).unwrap_or("unknown")}),
        );
    }
    if !form.get("rechallenge").is_empty() {
        body.insert("rechallenge".into(), json!(form.get("rechallenge")));
    }
    if let Some(seriousness) = seriousness_from_form(form, errors) {
        body.insert("seriousness".into(), seriousness);
    }
    if !form.get("clinician_causality").is_empty() {
        body.insert(
            "clinician_causality".into(),
            json!(form.get("clinician_causality")),
        );
    }
    if !errors.is_empty() {
        return AssessmentInput::default();
    }
    match api::parse_json::<AssessmentInput>(serde_json::Value::Object(body).to_string().as_bytes())
    {
        Ok(input) => input,
        Err(AppError::Validation(f)) => {
            errors.extend(f);
            AssessmentInput::default()
        }
        Err(e) => {
            errors.push(FieldError::new("body", e.to_string()));
            AssessmentInput::default()
        }
    }
}

/// The EASI block (`easi_{region}_{sign}`, every region and sign), or `None` when all of it is
/// blank.
fn easi_from_form(form: &FormData, errors: &mut Vec<FieldError>) -> Option<serde_json::Value> {
    let easi_given = EASI_REGIONS.iter().any(|r| {
        EASI_SIGNS
            .iter()
            .any(|s| !form.get(&format!("easi_{r}_{s}")).trim().is_empty())
    });
    if !easi_given {
        return None;
    }
    let mut easi = serde_json::Map::new();
    for r in EASI_REGIONS {
        let mut region = serde_json::Map::new();
        for s in EASI_SIGNS {
            let name = format!("easi_{r}_{s}");
            region.insert(
                s.into(),
                json!(number(form, &name, &format!("easi.{r}.{s}"), errors)),
            );
        }
        easi.insert(r.into(), serde_json::Value::Object(region));
    }
    Some(serde_json::Value::Object(easi))
}

/// The SCORAD block (extent, the intensity of each sign, pruritus and sleeplessness when given),
/// or `None` when the extent is blank.
fn scorad_from_form(form: &FormData, errors: &mut Vec<FieldError>) -> Option<serde_json::Value> {
    if form.get("scorad_extent_percent").trim().is_empty() {
        return None;
    }
    let mut intensity = serde_json::Map::new();
    for s in SCORAD_SIGNS {
        intensity.insert(
            s.into(),
            json!(integer(
                form,
                &format!("scorad_{s}"),
                &format!("scorad.intensity.{s}"),
                errors
            )),
        );
    }
    let optional = |name: &str, field: &str, errors: &mut Vec<FieldError>| {
        if form.get(name).trim().is_empty() {
            serde_json::Value::Null
        } else {
            json!(number(form, name, field, errors))
        }
    };
    Some(json!({
        "extent_percent": number(form, "scorad_extent_percent", "scorad.extent_percent", errors),
        "intensity": intensity,
        "pruritus": optional("scorad_pruritus", "scorad.pruritus", errors),
        "sleeplessness": optional("scorad_sleeplessness", "scorad.sleeplessness", errors),
    }))
}

/// The Naranjo answers given (yes, no, unknown) and the WHO-UMC answers not left to be derived.
fn causality_from_form(form: &FormData) -> serde_json::Value {
    let mut naranjo = serde_json::Map::new();
    for f in NARANJO_FIELDS {
        let v = form.get(&format!("naranjo_{f}"));
        if matches!(v, "yes" | "no" | "unknown") {
            naranjo.insert(f.into(), json!(v));
        }
    }
    let mut who = serde_json::Map::new();
    for (name, key) in [
        ("who_time_relation", "time_relation"),
        ("who_other_explanation", "other_explanation"),
        ("who_withdrawal", "withdrawal"),
    ] {
        let v = form.get(name);
        if !v.is_empty() && v != "derive" {
            who.insert(key.into(), json!(v));
        }
    }
    json!({"naranjo": naranjo, "who_umc": who})
}

/// The seriousness criteria: none when the reaction is not serious, those ticked when it is (at
/// least one, or an error); `None` when the question is unanswered.
fn seriousness_from_form(
    form: &FormData,
    errors: &mut Vec<FieldError>,
) -> Option<serde_json::Value> {
    match form.get("serious") {
        "no" => Some(json!({})),
        "yes" => {
            let mut criteria = serde_json::Map::new();
            for (k, _) in SERIOUSNESS {
                if !form.get(&format!("serious_{k}")).is_empty() {
                    criteria.insert(k.into(), json!(true));
                }
            }
            if criteria.is_empty() {
                errors.push(FieldError::new(
                    "seriousness",
                    "serious: tick at least one criterion",
                ));
            }
            Some(serde_json::Value::Object(criteria))
        }
        _ => None,
    }
}

/// `POST /reactions/{id}/assessment`.
pub async fn assessment_submit(
    State(state): State<AppState>,
    PageUser(user): PageUser,
    Path(id): Path<i64>,
    body: Bytes,
) -> Result<Response, PageError> {
    let form = FormData::parse(&body)?;
    form.check_csrf(&user)?;
    let r = reaction_for_clinician(&state, &user, id).await?;
    let mut errors = Vec::new();
    let input = assessment_from_form(&form, &mut errors);
    if errors.is_empty() {
        let age = api::patient_age(&state, &r).await?;
        match clinic::validate_assessment(
            &input,
            age,
            records::patient_today(&state, r.patient_id).await?,
        ) {
            Ok(totals) => {
                clinic::insert_assessment(&state, user.id, &r, &input, totals).await?;
                return Ok(back_to(format!("/reactions/{id}?saved=assessment")));
            }
            Err(e) => errors = e,
        }
    }
    // Every entered value is shown again, including the choices of the select lists.
    reaction_page(&state, &user, &r, errors, form.values(), false, None).await
}

/// `POST /reactions/{id}/icsr`: store the E2B(R3) export and go back to the review.
pub async fn icsr_submit(
    State(state): State<AppState>,
    PageUser(user): PageUser,
    Path(id): Path<i64>,
    body: Bytes,
) -> Result<Response, PageError> {
    let form = FormData::parse(&body)?;
    form.check_csrf(&user)?;
    let r = reaction_for_clinician(&state, &user, id).await?;
    match clinic::export_icsr(&state, user.id, &r, form.get("confirm_unassessed") == "yes").await {
        Ok(_) => Ok(back_to(format!("/reactions/{id}?saved=icsr"))),
        // Not assessed yet: the page asks for confirmation (422, nothing exported).
        Err(AppError::Validation(errors)) => {
            let confirm = errors.iter().any(|e| e.field == "confirm_unassessed");
            reaction_page(&state, &user, &r, errors, Default::default(), confirm, None).await
        }
        Err(e) => Err(e.into()),
    }
}

/// `GET /icsr/{id}`: download a stored export.
pub async fn icsr_download(
    State(state): State<AppState>,
    PageUser(user): PageUser,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    let (case_id, xml) = api::icsr_for(&state, &user, id).await?;
    Ok(api::xml_download(&case_id, xml))
}

// ---------------------------------------------------------------- admin

async fn admin_page(
    state: &AppState,
    user: &CurrentUser,
    errors: Vec<FieldError>,
) -> Result<Response, PageError> {
    let audit = api::audit_summaries(state, 200).await?;
    let users = api::user_rows(state).await?;
    let assignments = api::assignment_rows(state).await?;
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let ctx = context! {
        user => ser(user),
        audit => ser(&audit),
        users => ser(&users),
        assignments => ser(&assignments),
        errors => labelled(&errors, false),
    };
    render(state, "admin.html", ctx, status)
}

/// `GET /admin`.
pub async fn admin(
    State(state): State<AppState>,
    PageUser(user): PageUser,
) -> Result<Response, PageError> {
    auth::require_role(&user, Role::Admin)?;
    admin_page(&state, &user, Vec::new()).await
}

/// `POST /admin/users`.
pub async fn admin_user_submit(
    State(state): State<AppState>,
    PageUser(user): PageUser,
    body: Bytes,
) -> Result<Response, PageError> {
    let form = FormData::parse(&body)?;
    form.check_csrf(&user)?;
    auth::require_role(&user, Role::Admin)?;
    let mut errors = Vec::new();
    let role = match Role::parse(form.get("role")) {
        Some(r) => r,
        None => {
            errors.push(FieldError::new("role", "patient, clinician or admin"));
            Role::Patient
        }
    };
    let opt = |name: &str| Some(form.get(name).trim().to_string()).filter(|s| !s.is_empty());
    let weight_kg = opt("weight_kg").map(|_| number(&form, "weight_kg", "weight_kg", &mut errors));
    let new = api::NewUser {
        time_zone: opt("time_zone"),
        username: form.get("username").trim().into(),
        password: form.get("password").into(),
        role,
        display_name: form.get("display_name").into(),
        birth_date: opt("birth_date"),
        sex: opt("sex"),
        weight_kg,
    };
    if errors.is_empty() {
        match api::create_user(&state, user.id, &new).await {
            Ok(_) => return Ok(back_to("/admin".into())),
            Err(AppError::Validation(e)) => errors = e,
            Err(e) => return Err(e.into()),
        }
    }
    admin_page(&state, &user, errors).await
}

/// `POST /admin/assignments`.
pub async fn admin_assign_submit(
    State(state): State<AppState>,
    PageUser(user): PageUser,
    body: Bytes,
) -> Result<Response, PageError> {
    admin_assignment_submit(&state, &user, &body, true).await
}

/// `POST /admin/assignments/remove`.
pub async fn admin_unassign_submit(
    State(state): State<AppState>,
    PageUser(user): PageUser,
    body: Bytes,
) -> Result<Response, PageError> {
    admin_assignment_submit(&state, &user, &body, false).await
}

/// The two assignment forms: assign (`assign = true`) or unassign a clinician from a patient.
async fn admin_assignment_submit(
    state: &AppState,
    user: &CurrentUser,
    body: &Bytes,
    assign: bool,
) -> Result<Response, PageError> {
    let form = FormData::parse(body)?;
    form.check_csrf(user)?;
    auth::require_role(user, Role::Admin)?;
    let mut errors = Vec::new();
    let a = api::NewAssignment {
        clinician_id: integer(&form, "clinician_id", "clinician_id", &mut errors),
        patient_id: integer(&form, "patient_id", "patient_id", &mut errors),
    };
    if errors.is_empty() {
        let done = if assign {
            api::assign(state, user.id, &a).await
        } else {
            api::unassign(state, user.id, &a).await
        };
        match done {
            Ok(()) => return Ok(back_to("/admin".into())),
            Err(AppError::Validation(e)) => errors = e,
            Err(e) => return Err(e.into()),
        }
    }
    admin_page(state, user, errors).await
}

/// `POST /admin/users/{id}/active`: `active=no` deactivates, `active=yes` reactivates.
pub async fn admin_active_submit(
    State(state): State<AppState>,
    PageUser(user): PageUser,
    Path(id): Path<i64>,
    body: Bytes,
) -> Result<Response, PageError> {
    let form = FormData::parse(&body)?;
    form.check_csrf(&user)?;
    auth::require_role(&user, Role::Admin)?;
    match api::set_active(&state, user.id, id, form.get("active") == "yes").await {
        Ok(()) => Ok(back_to("/admin".into())),
        Err(AppError::Validation(e)) => admin_page(&state, &user, e).await,
        Err(e) => Err(e.into()),
    }
}

/// `POST /admin/users/{id}/password`: reset a password.
pub async fn admin_password_submit(
    State(state): State<AppState>,
    PageUser(user): PageUser,
    Path(id): Path<i64>,
    body: Bytes,
) -> Result<Response, PageError> {
    let form = FormData::parse(&body)?;
    form.check_csrf(&user)?;
    auth::require_role(&user, Role::Admin)?;
    match api::set_password(&state, user.id, id, form.get("password"), "password", None).await {
        Ok(()) => Ok(back_to("/admin".into())),
        Err(AppError::Validation(e)) => admin_page(&state, &user, e).await,
        Err(e) => Err(e.into()),
    }
}

/// `GET /account`: change one's own password.
pub async fn account(
    State(state): State<AppState>,
    PageUser(user): PageUser,
    axum::extract::Query(q): axum::extract::Query<SavedQuery>,
) -> Result<Response, PageError> {
    let ctx =
        context! { user => ser(&user), errors => labelled(&[], false), flash => saved_message(&q) };
    render(&state, "account.html", ctx, StatusCode::OK)
}

/// `POST /account/password`.
pub async fn account_password_submit(
    State(state): State<AppState>,
    PageUser(user): PageUser,
    body: Bytes,
) -> Result<Response, PageError> {
    let form = FormData::parse(&body)?;
    form.check_csrf(&user)?;
    match api::change_own_password(
        &state,
        &user,
        form.get("current_password"),
        form.get("new_password"),
    )
    .await
    {
        Ok(()) => Ok(back_to("/account?saved=account".into())),
        Err(AppError::Validation(e)) => {
            let ctx = context! { user => ser(&user), errors => labelled(&e, false), flash => None::<&str> };
            render(
                &state,
                "account.html",
                ctx,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
        }
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_special_characters_are_escaped() {
        assert_eq!(
            escape_html("<script>alert('x')</script> & \"q\""),
            "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; &quot;q&quot;"
        );
    }

    #[test]
    fn templates_autoescape_user_text() {
        // Autoescape is chosen by the template name (.html), so check through a bundled template.
        let env = templates();
        let html = env
            .get_template("clinician.html")
            .unwrap()
            .render(context! {
                user => context!{ display_name => "<b>Dr</b>", role => "clinician", csrf => "t" },
                patients => vec![context!{ id => 1, display_name => "<img src=x onerror=alert(1)>" }],
            })
            .unwrap();
        assert!(
            html.contains("&lt;img src=x onerror=alert(1)&gt;"),
            "{html}"
        );
        assert!(!html.contains("<img src=x"));
        assert!(
            html.contains("&lt;b&gt;Dr&lt;&#x2f;b&gt;") || html.contains("&lt;b&gt;Dr&lt;/b&gt;"),
            "{html}"
        );
    }

    #[test]
    fn repeated_form_fields_keep_their_order() {
        let f = FormData::parse(b"poem_days=1&poem_days=2&sites=face&csrf=abc&sites=neck").unwrap();
        assert_eq!(f.all("poem_days"), ["1", "2"]);
        assert_eq!(f.all("sites"), ["face", "neck"]);
        assert_eq!(f.get("csrf"), "abc");
        let v = f.values();
        assert_eq!(v["poem_days_1"], "2");
        assert!(!v.contains_key("csrf"));
    }
}
