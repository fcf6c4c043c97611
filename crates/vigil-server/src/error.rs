//! Errors of the service and how they are answered: JSON for `/api`, a page for the browser.
//!
//! Status policy (the authorization tests check it route by route):
//! - 401: not logged in (the pages redirect to `/login` instead);
//! - 403: logged in, but the role may never use this route (a patient on a clinician route, anyone but an
//!   admin on the audit log), or the CSRF token is missing or wrong;
//! - 404: the record does not exist **or** is outside the user's scope (another patient's record, a
//!   patient not assigned to this clinician), so that guessing ids reveals nothing;
//! - 422: validation, naming each field and why; nothing was saved;
//! - 429: too many failed logins for this account from this address.
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// One invalid field.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldError {
    /// The field name as in the form and the JSON body, e.g. `dose_mg` or `poem_days[3]`.
    pub field: String,
    /// Why it was refused.
    pub message: String,
}

impl FieldError {
    /// A field error.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        FieldError {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// Not logged in.
    #[error("login required")]
    Unauthenticated,
    /// Not logged in on a page: the login page returns to this local path afterwards (deep link).
    #[error("login required")]
    LoginRequired(String),
    /// The role may not use this route.
    #[error("forbidden")]
    Forbidden,
    /// Missing or wrong CSRF token.
    #[error("missing or invalid CSRF token")]
    Csrf,
    /// No such record in the user's scope.
    #[error("not found")]
    NotFound,
    /// Invalid input.
    #[error("invalid input")]
    Validation(Vec<FieldError>),
    /// Too many failed logins.
    #[error("too many failed logins; try again later")]
    Throttled,
    /// Wrong username or password.
    #[error("wrong username or password")]
    BadCredentials,
    /// Anything else (logged, never shown in detail).
    #[error("internal error")]
    Internal(#[from] anyhow::Error),
}

impl From<sqlx::Error> for AppError {
    fn from(e: sqlx::Error) -> Self {
        AppError::Internal(e.into())
    }
}

impl AppError {
    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            AppError::Unauthenticated | AppError::LoginRequired(_) | AppError::BadCredentials => {
                StatusCode::UNAUTHORIZED
            }
            AppError::Forbidden | AppError::Csrf => StatusCode::FORBIDDEN,
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::Throttled => StatusCode::TOO_MANY_REQUESTS,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn log_internal(&self) {
        if let AppError::Internal(e) = self {
            eprintln!("vigil serve: internal error: {e:#}");
        }
    }
}

/// A validation error on one field.
pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> AppError {
    AppError::Validation(vec![FieldError::new(field, message)])
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: String,
    #[serde(skip_serializing_if = "<[FieldError]>::is_empty")]
    fields: &'a [FieldError],
}

/// JSON answer (the `/api` routes).
impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        self.log_internal();
        let fields: &[FieldError] = match &self {
            AppError::Validation(f) => f,
            _ => &[],
        };
        let body = ErrorBody {
            error: self.to_string(),
            fields,
        };
        (self.status(), axum::Json(body)).into_response()
    }
}

/// The same errors answered as an HTML page (browser routes); 401 becomes a redirect to the login page.
#[derive(Debug)]
pub struct PageError(pub AppError);

impl<E: Into<AppError>> From<E> for PageError {
    fn from(e: E) -> Self {
        PageError(e.into())
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        self.0.log_internal();
        match &self.0 {
            AppError::Unauthenticated => {
                return (
                    StatusCode::SEE_OTHER,
                    [(header::LOCATION, "/login".to_string())],
                )
                    .into_response()
            }
            AppError::LoginRequired(next) => {
                let to = format!(
                    "/login?next={}",
                    serde_urlencoded::to_string([("", next)])
                        .unwrap_or_default()
                        .trim_start_matches('=')
                );
                return (StatusCode::SEE_OTHER, [(header::LOCATION, to)]).into_response();
            }
            _ => {}
        }
        let status = self.0.status();
        let mut message = self.0.to_string();
        if let AppError::Validation(fields) = &self.0 {
            for f in fields {
                message.push_str(&format!("; {}: {}", f.field, f.message));
            }
        }
        let html = format!(
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{code} · vigil</title></head>\
             <body><h1>{code}</h1><p id=\"error\">{msg}</p><p><a href=\"/\">vigil home</a></p></body></html>",
            code = status.as_u16(),
            msg = crate::pages::escape_html(&message)
        );
        (
            status,
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            html,
        )
            .into_response()
    }
}
