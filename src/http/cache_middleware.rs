//! The middleware that answers public GETs from `infra::response_cache`,
//! or runs the handler and keeps its answer when it may be shared. The
//! rules of what is kept and for how long are in that module; here:
//! - only `GET`s of public API paths, without `Authorization`, are looked up;
//! - only `200` answers marked `Cache-Control: public` with an `ETag` and
//!   surrogate keys (`conditional::with_keys`) are kept, under those keys;
//! - every public answer with keys carries them in `SURROGATE_KEY_HEADER`
//!   (`Surrogate-Key` by default), for a CDN in front, cache on or off;
//! - a hit honours `If-None-Match` and `If-Modified-Since` like the
//!   handler would (`304`).

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::{Error, HttpResponse, web};

use std::time::Duration;

use crate::domain::change::KeySet;
use crate::http::conditional::not_modified;
use crate::infra::response_cache::{CachedResponse, ResponseCache};
use crate::state::AppState;

fn cacheable_path(path: &str) -> bool {
    path.starts_with("/api/v1/")
        && !path.starts_with("/api/v1/admin")
        // `/api/v1/auth/…`, not `/api/v1/authors`.
        && !path.starts_with("/api/v1/auth/")
        && path != "/api/v1/openapi.json"
        // Previews are `no-store` and so never kept; not even looked up.
        && !path.starts_with("/api/v1/preview/")
}

fn replay(entry: &CachedResponse, request: &header::HeaderMap) -> HttpResponse {
    let last_modified = entry
        .headers
        .iter()
        .find(|(name, _)| name == header::LAST_MODIFIED)
        .map(|(_, value)| value);
    let not_modified = not_modified(request, entry.etag.to_str().unwrap_or_default(), last_modified);
    let mut builder = if not_modified {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    builder.insert_header((header::ETAG, entry.etag.clone()));
    for (name, value) in &entry.headers {
        builder.insert_header((name.clone(), value.clone()));
    }
    if not_modified {
        builder.finish()
    } else {
        builder.body(entry.body.clone())
    }
}

pub async fn public_response_cache(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let Some(state) = state else {
        return next.call(req).await.map(ServiceResponse::map_into_boxed_body);
    };
    if req.method() != Method::GET
        || !cacheable_path(req.path())
        || req.headers().contains_key(header::AUTHORIZATION)
    {
        return next.call(req).await.map(ServiceResponse::map_into_boxed_body);
    }
    let cache = &state.cache;
    let enabled = cache.enabled();
    let key = ResponseCache::key(req.path(), req.query_string());
    if enabled && let Some(entry) = cache.lookup(&key) {
        let response = replay(&entry, req.headers());
        return Ok(req.into_response(response));
    }
    // Taken before the handler reads: see "No stale fill" in
    // infra::response_cache.
    let ticket = cache.ticket();
    let mut response = next.call(req).await?;
    let keys = response.response().extensions().get::<KeySet>().cloned();
    let Some(keys) = keys else {
        return Ok(response.map_into_boxed_body());
    };
    let style = state.config.surrogate_key_header;
    if let Some(name) = style.name()
        && let Ok(value) = header::HeaderValue::from_str(&style.value(&keys))
    {
        response
            .headers_mut()
            .insert(header::HeaderName::from_static(name), value);
    }
    let public = response
        .headers()
        .get(header::CACHE_CONTROL)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("public"));
    if !enabled || response.status() != StatusCode::OK || !public {
        return Ok(response.map_into_boxed_body());
    }
    let Some(etag) = response.headers().get(header::ETAG).cloned() else {
        return Ok(response.map_into_boxed_body());
    };
    let (request, response) = response.into_parts();
    let headers: Vec<(header::HeaderName, header::HeaderValue)> = response
        .headers()
        .iter()
        .filter(|(name, _)| *name != header::ETAG && *name != header::CONTENT_LENGTH)
        .map(|(n, v)| (n.clone(), v.clone()))
        .collect();
    let (response, body) = response.into_parts();
    let body = actix_web::body::to_bytes(body)
        .await
        .map_err(|_| crate::error::AppError::internal("response body could not be read for caching"))?;
    cache.store(
        key,
        ticket,
        Duration::MAX,
        keys.cache_keys(),
        CachedResponse {
            etag,
            headers,
            // An exact-size copy: the body's buffer may be larger than its
            // bytes, and the cache counts what it holds.
            body: actix_web::web::Bytes::copy_from_slice(&body),
        },
    );
    Ok(ServiceResponse::new(
        request,
        response.set_body(BoxBody::new(body)),
    ))
}
