//! The `Idempotency-Key` request header on every POST and PATCH (rules in
//! `service::idempotency`): the middleware reads the body once, claims the
//! key, runs the handler with the same body, and keeps its answer; a retry
//! gets that answer back with `Idempotent-Replayed: true`.
//!
//! Routes whose whole answer is a credential (sign-in and refresh tokens,
//! password-reset tokens, preview links, API tokens) never have it
//! stored: there the header is ignored and a retry runs again, which for
//! them is harmless (another session, another single-use token) and safer
//! than a database of live credentials. Any other answer is stored
//! without its secret fields ([`SECRET_FIELDS`], such as a comment's
//! `trust_token`): a replay omits them.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::{Method, StatusCode, header};
use actix_web::middleware::Next;
use actix_web::web::{Bytes, BytesMut};
use actix_web::{Error, HttpMessage, HttpResponse, web};
use futures_util::StreamExt;

use crate::error::AppError;
use crate::infra::client_ip::rate_limit_key;
use crate::service::idempotency::{self as rules, Answer, Begin, Run};
use crate::state::AppState;

pub const HEADER: &str = "idempotency-key";
pub const REPLAYED: &str = "idempotent-replayed";

/// Headers of an answer that a replay repeats.
const KEPT_HEADERS: [header::HeaderName; 5] = [
    header::CONTENT_TYPE,
    header::LOCATION,
    header::ETAG,
    header::CACHE_CONTROL,
    header::LAST_MODIFIED,
];

/// Top-level fields of a JSON answer never written to the store.
const SECRET_FIELDS: [&str; 7] = [
    "trust_token",
    "token",
    "secret",
    "access_token",
    "refresh_token",
    "reset_token",
    "password",
];

/// Routes whose answer is a credential: never stored (see the module
/// comment). Exact operations, not a prefix: `PATCH /auth/me` is kept.
pub fn carries_secret(path: &str) -> bool {
    matches!(
        path,
        "/api/v1/auth/login" | "/api/v1/auth/refresh" | "/api/v1/auth/password-reset" | "/api/v1/auth/tokens"
    ) || path == "/api/v1/admin/webhooks"
        || (path.starts_with("/api/v1/admin/")
            && (path.ends_with("/password-reset")
                || path.ends_with("/preview")
                || path.ends_with("/rotate-secret")))
}

pub async fn idempotency(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    // Only for routes that exist, and editor routes only with a token: an
    // unknown path or a request the route refuses before any work (404,
    // 401) costs no database write. The route table (a pattern match per
    // route) is consulted last: every read passes through here, and none
    // needs it (it was 2% of the CPU of an uncached article read).
    let key = req.headers().get(HEADER).cloned();
    let unsigned_admin =
        req.path().starts_with("/api/v1/admin/") && !req.headers().contains_key(header::AUTHORIZATION);
    let applies = matches!(*req.method(), Method::POST | Method::PATCH)
        && key.is_some()
        && !unsigned_admin
        && !carries_secret(req.path())
        && req
            .app_data::<web::Data<crate::http::RouteTable>>()
            .is_none_or(|routes| routes.accepts(req.method().as_str(), req.path()));
    let (Some(key), true) = (key, applies) else {
        return next.call(req).await.map(ServiceResponse::map_into_boxed_body);
    };
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
        return next.call(req).await.map(ServiceResponse::map_into_boxed_body);
    };
    let key = match key
        .to_str()
        .map_err(|_| "must be visible ASCII".to_string())
        .and_then(|k| {
            rules::check_key(k)?;
            Ok(k.to_string())
        }) {
        Ok(key) => key,
        Err(message) => return Ok(req.error_response(AppError::field("Idempotency-Key", message))),
    };
    let Some(client) = client_of(&req, &state).await else {
        // No valid token: the route answers 401 itself; nothing to keep.
        return next.call(req).await.map(ServiceResponse::map_into_boxed_body);
    };
    let body = match read_body(req.take_payload(), state.config.max_body_bytes).await {
        Ok(body) => body,
        Err(error) => return Ok(req.error_response(error)),
    };
    let target = req
        .uri()
        .path_and_query()
        .map_or(req.path(), |p| p.as_str())
        .to_string();
    let if_match = req
        .headers()
        .get(header::IF_MATCH)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let hash = rules::request_hash(req.method().as_str(), &target, &if_match, &body);
    let ttl = state.config.idempotency_key_ttl;
    let begin = rules::begin(&state.db, client.clone(), key.clone(), hash, ttl).await;
    match begin {
        Err(error) => Ok(req.error_response(error)),
        Ok(Begin::Reused) => Ok(req.error_response(AppError::Coded {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            code: "idempotency_key_reused",
            detail:
                "This Idempotency-Key was sent with a different request; use a new key for a new request."
                    .into(),
        })),
        Ok(Begin::InUse) => Ok(req.error_response(AppError::Coded {
            status: StatusCode::CONFLICT,
            code: "idempotency_key_in_use",
            detail: "The first request with this Idempotency-Key is still running; retry in a moment.".into(),
        })),
        Ok(Begin::Replay(answer)) => Ok(req.into_response(replay(answer))),
        Ok(Begin::Run(run)) => {
            req.set_payload(Payload::from(body));
            let response = next.call(req).await;
            keep(&state, run, response).await
        }
    }
}

/// Who the key belongs to: the signed-in editor, or the client address.
async fn client_of(req: &ServiceRequest, state: &AppState) -> Option<String> {
    match req.headers().get(header::AUTHORIZATION) {
        Some(value) => crate::http::extract::authenticate_header(state, Some(value))
            .await
            .ok()
            .map(|editor| format!("editor:{}", editor.id)),
        None => {
            let ip = crate::http::client::client_ip(req.request(), &state.config.trusted_proxies);
            Some(format!("ip:{}", rate_limit_key(ip)))
        }
    }
}

/// The whole body, refused past `limit` bytes as the JSON extractor would.
async fn read_body(mut payload: Payload, limit: usize) -> Result<Bytes, AppError> {
    let mut body = BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| match e {
            actix_web::error::PayloadError::Io(_) => {
                AppError::RequestTimeout("the request body did not arrive in time".into())
            }
            other => AppError::bad_request(format!("the request body could not be read: {other}")),
        })?;
        if body.len() + chunk.len() > limit {
            return Err(AppError::PayloadTooLarge { limit });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

/// Stores a final answer for retries (`service::idempotency::keeps`),
/// without its secret fields; lets the key go for an answer a retry may
/// change; leaves a 5xx's key locked. The client gets the answer as it was.
async fn keep(
    state: &AppState,
    run: Run,
    response: Result<ServiceResponse<impl MessageBody + 'static>, Error>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let response = match response {
        Ok(response) => response,
        // An error that is not a response: the outcome is unknown, so the
        // key stays locked until it is stale (see `keeps`).
        Err(error) => return Err(error),
    };
    let status = response.status();
    let (request, response) = response.into_parts();
    let (head, body) = response.into_parts();
    let Ok(bytes) = actix_web::body::to_bytes(body).await else {
        let _ = rules::release(&state.db, run).await;
        return Err(AppError::internal("response body could not be read for Idempotency-Key").into());
    };
    match (rules::keeps(status.as_u16()), stored_body(&head, &bytes)) {
        (Some(true), Some(text)) => {
            let headers = KEPT_HEADERS
                .iter()
                .filter_map(|name| {
                    let value = head.headers().get(name)?.to_str().ok()?;
                    Some((name.as_str().to_string(), value.to_string()))
                })
                .collect();
            let answer = Answer {
                status: status.as_u16(),
                headers,
                body: text,
            };
            if let Err(error) = rules::finish(&state.db, run, answer).await {
                // The write happened and the client gets its answer; the
                // key stays locked until stale, then a retry runs again.
                tracing::warn!(error = %error, "Idempotency-Key answer not stored");
            }
        }
        (None, _) => {}
        _ => {
            let _ = rules::release(&state.db, run).await;
        }
    }
    Ok(ServiceResponse::new(request, head.set_body(BoxBody::new(bytes))))
}

/// The body as stored: text only (JSON and problem documents; a
/// compressed or binary body is not kept), without [`SECRET_FIELDS`].
fn stored_body(head: &HttpResponse<()>, bytes: &[u8]) -> Option<String> {
    if head.headers().contains_key(header::CONTENT_ENCODING) {
        return None;
    }
    let text = std::str::from_utf8(bytes).ok()?;
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(serde_json::Value::Object(mut map)) if SECRET_FIELDS.iter().any(|f| map.contains_key(*f)) => {
            for field in SECRET_FIELDS {
                map.remove(field);
            }
            serde_json::to_string(&map).ok()
        }
        _ => Some(text.to_string()),
    }
}

fn replay(answer: Answer) -> HttpResponse {
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::OK);
    let mut builder = HttpResponse::build(status);
    for (name, value) in &answer.headers {
        builder.insert_header((name.as_str(), value.as_str()));
    }
    builder.insert_header((REPLAYED, "true"));
    builder.body(answer.body)
}
