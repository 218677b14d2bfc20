//! Logging and per-request bookkeeping.
//!
//! - Logs go through `tracing`, filtered by `RUST_LOG`, as text or JSON
//!   (`LOG_FORMAT`).
//! - Every response carries `X-Request-Id`: the client's own when it sent a
//!   sane one (≤ 128 visible ASCII characters), a new UUID otherwise. The id
//!   tags the request's log lines, so a client can quote it in a bug report.
//! - The access log records method, path, status and latency. It never
//!   records headers, query strings or bodies: tokens, passwords and reader
//!   emails travel there. The one path that holds a secret, a preview
//!   link's token, is logged as `/api/v1/preview/<token>`.

use std::time::Instant;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::error::InternalError;
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage};
use tracing::Instrument;
use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Installs the global subscriber once; later calls (tests) are no-ops.
pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false);
    let _ = match format {
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

/// The id of the current request, in its extensions.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

fn client_request_id(req: &ServiceRequest) -> Option<String> {
    let value = req.headers().get(&REQUEST_ID)?.to_str().ok()?;
    let sane = !value.is_empty() && value.len() <= 128 && value.bytes().all(|b| b.is_ascii_graphic());
    sane.then(|| value.to_string())
}

/// Outermost middleware: assigns the request id, opens the request's span,
/// writes the access log line and stamps `X-Request-Id` on the response,
/// errors included.
pub async fn request_context(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let id = client_request_id(&req).unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    req.extensions_mut().insert(RequestId(id.clone()));
    let method = req.method().clone();
    let path = loggable_path(req.path());
    let state = req
        .app_data::<actix_web::web::Data<crate::state::AppState>>()
        .cloned();
    let span = tracing::info_span!("request", request_id = %id);
    let started = Instant::now();

    // A middleware error (not a handler's) travels up as `Err` and becomes a
    // response only at the top; it is given its response here, so that the
    // id header and the log line cover it too.
    let mut result = next
        .call(req)
        .instrument(span.clone())
        .await
        .map(|r| r.map_into_boxed_body());
    let mut route = None;
    let status = match &mut result {
        Ok(response) => {
            route = response.request().match_pattern();
            if let Ok(value) = HeaderValue::from_str(&id) {
                response.headers_mut().insert(REQUEST_ID, value);
            }
            response.status().as_u16()
        }
        Err(error) => {
            let mut response = error.error_response();
            if let Ok(value) = HeaderValue::from_str(&id) {
                response.headers_mut().insert(REQUEST_ID, value);
            }
            let status = response.status().as_u16();
            let cause = error.to_string();
            *error = InternalError::from_response(cause, response).into();
            status
        }
    };
    let elapsed = started.elapsed();
    let micros = elapsed.as_micros() as u64;
    if let Some(state) = state {
        // Labels from a closed set only: see infra::metrics.
        state
            .metrics
            .observe(method.as_str(), route.as_deref(), status, elapsed);
    }
    span.in_scope(|| {
        if status >= 500 {
            tracing::warn!(%method, %path, status, micros, "request");
        } else {
            tracing::info!(%method, %path, status, micros, "request");
        }
    });
    result
}

/// The path as the access log writes it: a preview token, which opens an
/// unpublished article to whoever has it, is left out.
fn loggable_path(path: &str) -> String {
    const PREVIEW: &str = "/api/v1/preview/";
    match path.strip_prefix(PREVIEW) {
        Some(rest) if !rest.is_empty() => format!("{PREVIEW}<token>"),
        _ => path.to_string(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn preview_tokens_stay_out_of_the_access_log() {
        assert_eq!(
            super::loggable_path("/api/v1/preview/bsp_secret"),
            "/api/v1/preview/<token>"
        );
        assert_eq!(super::loggable_path("/api/v1/articles/x"), "/api/v1/articles/x");
    }
}
