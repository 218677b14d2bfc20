//! The one error type of the service and its single mapping to HTTP.
//!
//! Policy:
//! - Every error leaves as `application/problem+json` (RFC 9457) with a stable
//!   machine `code`; clients branch on `code`, people read `detail`.
//! - Client mistakes are 4xx with a detail that says what to change; a
//!   validation failure lists every offending field in `errors`.
//! - Faults (database errors, bugs) are 5xx with a generic body. Their detail
//!   goes to the log only, tagged with the request id, never to the client.
//! - A database that cannot be reached is `503 unavailable`, not `500`, so a
//!   load balancer and a retrying client can tell an outage from a bug.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use utoipa::ToSchema;

/// One field that failed validation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct FieldError {
    /// The field, as named in the request (`title`, `tags[2]`, `per_page`).
    #[schema(example = "title")]
    pub field: String,
    /// What is wrong with it, in a sentence a person can act on.
    #[schema(example = "must not be empty")]
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// An RFC 9457 problem document, the body of every error response.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "type": "urn:broadsheet:problem:validation_failed",
    "title": "Validation failed",
    "status": 422,
    "detail": "The request has 1 invalid field.",
    "code": "validation_failed",
    "errors": [{"field": "title", "message": "must not be empty"}]
}))]
pub struct Problem {
    /// A URI naming the kind of problem: `urn:broadsheet:problem:<code>`.
    #[serde(rename = "type")]
    pub type_uri: String,
    /// A short summary of the kind of problem.
    pub title: &'static str,
    /// The HTTP status code.
    pub status: u16,
    /// What went wrong in this request.
    pub detail: String,
    /// Stable machine-readable code, one of: `validation_failed`, `bad_request`,
    /// `malformed_json`, `unauthorized`, `forbidden`, `insufficient_scope`, `comments_disabled`,
    /// `not_found`, `method_not_allowed`, `conflict`, `precondition_failed`,
    /// `payload_too_large`, `unsupported_media_type`, `request_timeout`, `rate_limited`,
    /// `idempotency_key_reused`, `idempotency_key_in_use`, `cursor_expired`, `internal_error`,
    /// `unavailable`.
    #[schema(example = "validation_failed")]
    pub code: &'static str,
    /// The invalid fields, on `validation_failed` only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<FieldError>>,
}

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("validation failed: {0:?}")]
    Validation(Vec<FieldError>),
    #[error("bad request: {detail}")]
    BadRequest { code: &'static str, detail: String },
    #[error("unauthorized: {0}")]
    Unauthorized(String),
    #[error("forbidden: {detail}")]
    Forbidden { code: &'static str, detail: String },
    #[error("not found: {0}")]
    NotFound(String),
    #[error("method not allowed")]
    MethodNotAllowed { allow: Vec<&'static str> },
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("precondition failed: {0}")]
    PreconditionFailed(String),
    #[error("payload too large (limit {limit} bytes)")]
    PayloadTooLarge { limit: usize },
    #[error("unsupported media type: {0}")]
    UnsupportedMediaType(String),
    /// The request body did not arrive in time.
    #[error("request timeout: {0}")]
    RequestTimeout(String),
    #[error("rate limited, retry after {retry_after_secs}s")]
    RateLimited { retry_after_secs: u64, detail: String },
    /// The database (or another dependency) is unreachable or timed out.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// A client error with its own code (`idempotency_key_reused`, …).
    #[error("{code}: {detail}")]
    Coded {
        status: StatusCode,
        code: &'static str,
        detail: String,
    },
    /// A fault: the string is for the log, never for the client.
    #[error("internal error: {0}")]
    Internal(String),
}

impl AppError {
    /// One field failed validation.
    pub fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        AppError::Validation(vec![FieldError::new(field, message)])
    }

    pub fn not_found(what: impl Into<String>) -> Self {
        AppError::NotFound(what.into())
    }

    pub fn forbidden(detail: impl Into<String>) -> Self {
        AppError::Forbidden {
            code: "forbidden",
            detail: detail.into(),
        }
    }

    pub fn bad_request(detail: impl Into<String>) -> Self {
        AppError::BadRequest {
            code: "bad_request",
            detail: detail.into(),
        }
    }

    /// A `503` with its own code (and `Retry-After`): a part of the
    /// service, not the database, is not ready.
    pub fn not_ready(code: &'static str, detail: impl Into<String>) -> Self {
        AppError::Coded {
            status: StatusCode::SERVICE_UNAVAILABLE,
            code,
            detail: detail.into(),
        }
    }

    pub fn internal(detail: impl std::fmt::Display) -> Self {
        AppError::Internal(detail.to_string())
    }

    /// The stable machine code that goes into the problem document.
    pub fn code(&self) -> &'static str {
        match self {
            AppError::Validation(_) => "validation_failed",
            AppError::BadRequest { code, .. } => code,
            AppError::Unauthorized(_) => "unauthorized",
            AppError::Forbidden { code, .. } => code,
            AppError::NotFound(_) => "not_found",
            AppError::MethodNotAllowed { .. } => "method_not_allowed",
            AppError::Conflict(_) => "conflict",
            AppError::PreconditionFailed(_) => "precondition_failed",
            AppError::PayloadTooLarge { .. } => "payload_too_large",
            AppError::UnsupportedMediaType(_) => "unsupported_media_type",
            AppError::RequestTimeout(_) => "request_timeout",
            AppError::RateLimited { .. } => "rate_limited",
            AppError::Unavailable(_) => "unavailable",
            AppError::Coded { code, .. } => code,
            AppError::Internal(_) => "internal_error",
        }
    }

    fn title(&self) -> &'static str {
        match self {
            AppError::Validation(_) => "Validation failed",
            AppError::BadRequest { .. } => "Bad request",
            AppError::Unauthorized(_) => "Unauthorized",
            AppError::Forbidden { .. } => "Forbidden",
            AppError::NotFound(_) => "Not found",
            AppError::MethodNotAllowed { .. } => "Method not allowed",
            AppError::Conflict(_) => "Conflict",
            AppError::PreconditionFailed(_) => "Precondition failed",
            AppError::PayloadTooLarge { .. } => "Payload too large",
            AppError::UnsupportedMediaType(_) => "Unsupported media type",
            AppError::RequestTimeout(_) => "Request timeout",
            AppError::RateLimited { .. } => "Too many requests",
            AppError::Unavailable(_) => "Service unavailable",
            AppError::Coded { status, .. } => status.canonical_reason().unwrap_or("Refused"),
            AppError::Internal(_) => "Internal server error",
        }
    }

    /// The detail shown to the client. Faults get a fixed sentence.
    fn public_detail(&self) -> String {
        match self {
            AppError::Validation(errors) => match errors.len() {
                1 => format!("{}: {}", errors[0].field, errors[0].message),
                n => format!("The request has {n} invalid fields."),
            },
            AppError::BadRequest { detail, .. }
            | AppError::Forbidden { detail, .. }
            | AppError::Coded { detail, .. }
            | AppError::RateLimited { detail, .. } => detail.clone(),
            AppError::Unauthorized(d)
            | AppError::NotFound(d)
            | AppError::Conflict(d)
            | AppError::PreconditionFailed(d)
            | AppError::UnsupportedMediaType(d)
            | AppError::RequestTimeout(d) => d.clone(),
            AppError::MethodNotAllowed { allow } => {
                format!("This path accepts: {}.", allow.join(", "))
            }
            AppError::PayloadTooLarge { limit } => {
                format!("The request body is larger than the limit of {limit} bytes.")
            }
            AppError::Unavailable(_) => {
                "The service cannot reach its database right now; retry shortly.".into()
            }
            AppError::Internal(_) => {
                "An unexpected error occurred; it has been logged with this request's id.".into()
            }
        }
    }

    pub fn problem(&self) -> Problem {
        Problem {
            type_uri: format!("urn:broadsheet:problem:{}", self.code()),
            title: self.title(),
            status: self.status_code().as_u16(),
            detail: self.public_detail(),
            code: self.code(),
            errors: match self {
                AppError::Validation(errors) => Some(errors.clone()),
                _ => None,
            },
        }
    }
}

pub const PROBLEM_JSON: &str = "application/problem+json";

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        match self {
            AppError::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            AppError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            AppError::Forbidden { .. } => StatusCode::FORBIDDEN,
            AppError::NotFound(_) => StatusCode::NOT_FOUND,
            AppError::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            AppError::Conflict(_) => StatusCode::CONFLICT,
            AppError::PreconditionFailed(_) => StatusCode::PRECONDITION_FAILED,
            AppError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            AppError::RequestTimeout(_) => StatusCode::REQUEST_TIMEOUT,
            AppError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            AppError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Coded { status, .. } => *status,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            AppError::Internal(detail) => tracing::error!(error = %detail, "request failed"),
            AppError::Unavailable(detail) => tracing::warn!(error = %detail, "dependency unavailable"),
            _ => {}
        }
        let mut response = HttpResponse::build(self.status_code());
        // `Cache-Control: no-store` is added to every error response by the
        // outermost middleware (`security_headers`), through the one helper.
        response.insert_header((header::CONTENT_TYPE, PROBLEM_JSON));
        match self {
            AppError::Unauthorized(_) => {
                response.insert_header((header::WWW_AUTHENTICATE, "Bearer realm=\"broadsheet\""));
            }
            AppError::RateLimited { retry_after_secs, .. } => {
                response.insert_header((header::RETRY_AFTER, retry_after_secs.to_string()));
            }
            AppError::Unavailable(_) => {
                response.insert_header((header::RETRY_AFTER, "5"));
            }
            AppError::Coded { status, .. } if *status == StatusCode::SERVICE_UNAVAILABLE => {
                response.insert_header((header::RETRY_AFTER, "5"));
            }
            AppError::MethodNotAllowed { allow } => {
                response.insert_header((header::ALLOW, allow.join(", ")));
            }
            _ => {}
        }
        // Serialising a struct of strings and numbers cannot fail.
        let body = serde_json::to_vec(&self.problem()).unwrap_or_default();
        response.body(body)
    }
}

impl From<actix_web::error::BlockingError> for AppError {
    fn from(e: actix_web::error::BlockingError) -> Self {
        AppError::Internal(format!("blocking task failed: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_variant_maps_to_its_status_and_code() {
        let cases: Vec<(AppError, u16, &str)> = vec![
            (
                AppError::field("title", "must not be empty"),
                422,
                "validation_failed",
            ),
            (AppError::bad_request("x"), 400, "bad_request"),
            (AppError::Unauthorized("x".into()), 401, "unauthorized"),
            (AppError::forbidden("x"), 403, "forbidden"),
            (AppError::not_found("x"), 404, "not_found"),
            (
                AppError::MethodNotAllowed { allow: vec!["GET"] },
                405,
                "method_not_allowed",
            ),
            (AppError::Conflict("x".into()), 409, "conflict"),
            (
                AppError::PreconditionFailed("x".into()),
                412,
                "precondition_failed",
            ),
            (AppError::PayloadTooLarge { limit: 1 }, 413, "payload_too_large"),
            (
                AppError::UnsupportedMediaType("x".into()),
                415,
                "unsupported_media_type",
            ),
            (
                AppError::RateLimited {
                    retry_after_secs: 1,
                    detail: "x".into(),
                },
                429,
                "rate_limited",
            ),
            (AppError::Internal("x".into()), 500, "internal_error"),
            (AppError::Unavailable("x".into()), 503, "unavailable"),
        ];
        for (error, status, code) in cases {
            assert_eq!(error.status_code().as_u16(), status, "{error:?}");
            assert_eq!(error.code(), code);
            assert_eq!(error.problem().status, status);
            assert_eq!(error.problem().type_uri, format!("urn:broadsheet:problem:{code}"));
        }
    }

    #[test]
    fn faults_never_leak_their_detail() {
        let problem = AppError::Internal("secret connection string".into()).problem();
        assert!(!problem.detail.contains("secret"));
        let problem = AppError::Unavailable("postgres://user:pw@host".into()).problem();
        assert!(!problem.detail.contains("pw"));
    }
}
