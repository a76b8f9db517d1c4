//! RFC 9457 problem details: the one error format of the HTTP API.
//!
//! Every error the server sends is `application/problem+json` with a `type` from [`ProblemKind`]
//! (a stable URN clients switch on), a `title`, the `status` and a one-line `detail`. Errors that
//! axum or a layer produce on their own (405, a rejected body) are rewritten into this shape by
//! [`ensure_problem`], so no plain-text error ever leaves the server. Never: put a secret, a SQL
//! text or a stack trace in `detail`.

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use store::StoreError;

/// The kinds of problem the API reports, each with its status and stable `type` URN.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProblemKind {
    /// 400: the request could not be read (malformed JSON, bad query parameter, bad cursor).
    BadRequest,
    /// 401: no credentials, or credentials that are unknown or expired.
    Unauthenticated,
    /// 401: wrong username or password.
    InvalidCredentials,
    /// 403: signed in, but the role may not do this.
    Forbidden,
    /// 403: a cookie-authenticated unsafe request without the right CSRF token or from a foreign origin.
    Csrf,
    /// 404
    NotFound,
    /// 405
    MethodNotAllowed,
    /// 409: a unique key is taken.
    Conflict,
    /// 413: the body is larger than the limit.
    PayloadTooLarge,
    /// 415: the body is not JSON.
    UnsupportedMediaType,
    /// 416: a `Range` that starts past the end of the resource.
    RangeNotSatisfiable,
    /// 422: the JSON is well formed but a value is not acceptable.
    Validation,
    /// 429: too many requests, or too many failed sign-ins.
    RateLimited,
    /// 500
    Internal,
    /// 503
    Unavailable,
}

impl ProblemKind {
    pub const ALL: &'static [ProblemKind] = &[
        Self::BadRequest,
        Self::Unauthenticated,
        Self::InvalidCredentials,
        Self::Forbidden,
        Self::Csrf,
        Self::NotFound,
        Self::MethodNotAllowed,
        Self::Conflict,
        Self::PayloadTooLarge,
        Self::UnsupportedMediaType,
        Self::RangeNotSatisfiable,
        Self::Validation,
        Self::RateLimited,
        Self::Internal,
        Self::Unavailable,
    ];

    pub const fn status(self) -> StatusCode {
        match self {
            Self::BadRequest => StatusCode::BAD_REQUEST,
            Self::Unauthenticated | Self::InvalidCredentials => StatusCode::UNAUTHORIZED,
            Self::Forbidden | Self::Csrf => StatusCode::FORBIDDEN,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::Conflict => StatusCode::CONFLICT,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::RangeNotSatisfiable => StatusCode::RANGE_NOT_SATISFIABLE,
            Self::Validation => StatusCode::UNPROCESSABLE_ENTITY,
            Self::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            Self::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// The `type` member: a URN that never changes once published.
    pub const fn type_uri(self) -> &'static str {
        match self {
            Self::BadRequest => "urn:hotline:problem:bad-request",
            Self::Unauthenticated => "urn:hotline:problem:unauthenticated",
            Self::InvalidCredentials => "urn:hotline:problem:invalid-credentials",
            Self::Forbidden => "urn:hotline:problem:forbidden",
            Self::Csrf => "urn:hotline:problem:csrf",
            Self::NotFound => "urn:hotline:problem:not-found",
            Self::MethodNotAllowed => "urn:hotline:problem:method-not-allowed",
            Self::Conflict => "urn:hotline:problem:conflict",
            Self::PayloadTooLarge => "urn:hotline:problem:payload-too-large",
            Self::UnsupportedMediaType => "urn:hotline:problem:unsupported-media-type",
            Self::RangeNotSatisfiable => "urn:hotline:problem:range-not-satisfiable",
            Self::Validation => "urn:hotline:problem:validation",
            Self::RateLimited => "urn:hotline:problem:rate-limited",
            Self::Internal => "urn:hotline:problem:internal",
            Self::Unavailable => "urn:hotline:problem:unavailable",
        }
    }

    pub const fn title(self) -> &'static str {
        match self {
            Self::BadRequest => "Bad request",
            Self::Unauthenticated => "Sign in required",
            Self::InvalidCredentials => "Wrong username or password",
            Self::Forbidden => "Not allowed",
            Self::Csrf => "Cross-site request refused",
            Self::NotFound => "Not found",
            Self::MethodNotAllowed => "Method not allowed",
            Self::Conflict => "Conflict",
            Self::PayloadTooLarge => "Body too large",
            Self::UnsupportedMediaType => "Body must be JSON",
            Self::RangeNotSatisfiable => "Range not satisfiable",
            Self::Validation => "Invalid value",
            Self::RateLimited => "Too many requests",
            Self::Internal => "Internal error",
            Self::Unavailable => "Not ready",
        }
    }

    fn from_status(status: StatusCode) -> Self {
        Self::ALL.iter().copied().find(|k| k.status() == status).unwrap_or(if status.is_server_error() {
            Self::Internal
        } else {
            Self::BadRequest
        })
    }
}

/// An error response as `application/problem+json`.
#[derive(Debug, Clone, Serialize)]
pub struct Problem {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub title: &'static str,
    pub status: u16,
    pub detail: String,
    /// Seconds for the `Retry-After` header (429, 503); not part of the body.
    #[serde(skip)]
    pub retry_after_secs: Option<u64>,
}

impl Problem {
    pub fn of(kind: ProblemKind, detail: impl Into<String>) -> Self {
        Self {
            kind: kind.type_uri(),
            title: kind.title(),
            status: kind.status().as_u16(),
            detail: detail.into(),
            retry_after_secs: None,
        }
    }

    pub fn retry_after_ms(mut self, ms: u64) -> Self {
        self.retry_after_secs = Some(ms.div_ceil(1_000).max(1));
        self
    }

    pub fn not_found(what: &str) -> Self {
        Self::of(ProblemKind::NotFound, format!("no such {what}"))
    }

    pub fn validation(err: impl std::fmt::Display) -> Self {
        Self::of(ProblemKind::Validation, err.to_string())
    }

    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::of(ProblemKind::BadRequest, detail)
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = serde_json::to_vec(&self).unwrap_or_default();
        let mut resp = (status, [(header::CONTENT_TYPE, PROBLEM_JSON)], body).into_response();
        if let Some(secs) = self.retry_after_secs {
            resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        resp
    }
}

pub const PROBLEM_JSON: &str = "application/problem+json";

impl From<StoreError> for Problem {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound { what, .. } => Problem::not_found(what),
            StoreError::Conflict { what, .. } => {
                Problem::of(ProblemKind::Conflict, format!("this {what} already exists"))
            }
            StoreError::InvalidInput { what: "page cursor", reason } => {
                Problem::bad_request(format!("invalid page cursor: {reason}"))
            }
            StoreError::InvalidInput { .. } => Problem::validation(e),
            StoreError::Busy(_) => {
                Problem::of(ProblemKind::Unavailable, "the database is busy; retry").retry_after_ms(1)
            }
            other => {
                tracing::error!(error = %other, "store error");
                Problem::of(ProblemKind::Internal, "the database failed; the error is logged")
            }
        }
    }
}

impl From<model::ValueError> for Problem {
    fn from(e: model::ValueError) -> Self {
        Problem::validation(e)
    }
}

/// A JSON body whose every rejection is a problem document: malformed JSON is 400, a body that
/// is JSON but of the wrong shape is 422, a body over the limit 413, a body that is not declared
/// as JSON 415.
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = Problem;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(ApiJson(v)),
            Err(rejection) => Err(json_problem(&rejection)),
        }
    }
}

fn json_problem(rejection: &JsonRejection) -> Problem {
    let detail = one_line(&rejection.body_text());
    match rejection {
        JsonRejection::JsonSyntaxError(_) => Problem::of(ProblemKind::BadRequest, format!("malformed JSON: {detail}")),
        JsonRejection::JsonDataError(_) => Problem::of(ProblemKind::Validation, detail),
        JsonRejection::MissingJsonContentType(_) => {
            Problem::of(ProblemKind::UnsupportedMediaType, "send the body as Content-Type: application/json")
        }
        _ if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            Problem::of(ProblemKind::PayloadTooLarge, "the body is larger than the server accepts")
        }
        _ => Problem::of(ProblemKind::from_status(rejection.status()), detail),
    }
}

fn one_line(s: &str) -> String {
    const MAX_DETAIL_CHARS: usize = 300;
    s.split_whitespace().collect::<Vec<_>>().join(" ").chars().take(MAX_DETAIL_CHARS).collect()
}

/// Middleware: any error response that is not already a problem document becomes one with the
/// same status (axum's own 405, a layer's 413 or 408, ...).
pub async fn ensure_problem(req: Request, next: Next) -> Response {
    let resp = next.run(req).await;
    let status = resp.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return resp;
    }
    let is_problem = resp.headers().get(header::CONTENT_TYPE).is_some_and(|v| v.as_bytes() == PROBLEM_JSON.as_bytes());
    if is_problem {
        return resp;
    }
    let kind = ProblemKind::from_status(status);
    let detail = status.canonical_reason().unwrap_or("error").to_owned();
    let mut out = Problem::of(kind, detail).into_response();
    *out.status_mut() = status;
    if let Some(allow) = resp.headers().get(header::ALLOW) {
        out.headers_mut().insert(header::ALLOW, allow.clone());
    }
    out
}
