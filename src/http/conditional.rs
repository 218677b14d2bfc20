//! Conditional requests and cache headers: what clients and CDNs may keep,
//! and optimistic concurrency. (The server's own response cache is
//! `infra::response_cache`.)
//!
//! - Every JSON `GET` carries a strong `ETag`: a 64-bit xxh3 of the exact
//!   body bytes, so equal bodies have equal tags on every instance.
//! - `If-None-Match` with a matching tag answers `304` without a body.
//! - Public GETs send `Cache-Control: public, max-age=CACHE_MAX_AGE_SECONDS`;
//!   editor routes send `no-store` (their bodies hold unpublished work and
//!   reader emails).
//! - `PATCH` on editor resources honours `If-Match`: the tag of the current
//!   representation must match, else `412`, so two editors never silently
//!   overwrite each other.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, HttpResponseBuilder};
use serde::Serialize;

use crate::domain::change::KeySet;
use crate::error::AppError;

#[derive(Debug, Clone, Copy)]
pub enum CachePolicy {
    /// Shared caches may keep it this many seconds.
    Public { max_age: u32 },
    /// Caches may store it but must ask again (with `If-None-Match`) before
    /// each use: an answer that grows as the content changes (the sync
    /// feed's last page).
    Revalidate,
    /// Editor data: never stored.
    NoStore,
}

impl CachePolicy {
    fn header_value(self) -> String {
        match self {
            CachePolicy::Public { max_age } => format!("public, max-age={max_age}"),
            CachePolicy::Revalidate => "public, no-cache".to_string(),
            CachePolicy::NoStore => NO_STORE.to_string(),
        }
    }
}

/// `Cache-Control` of responses that no cache may keep: editor data, tokens,
/// errors, operations routes.
pub const NO_STORE: &str = "no-store";

/// The one way to mark a response as never to be stored by any cache:
/// `HttpResponse::Ok().no_store().json(…)`.
pub trait NoStore {
    fn no_store(&mut self) -> &mut Self;
}

impl NoStore for HttpResponseBuilder {
    fn no_store(&mut self) -> &mut Self {
        self.insert_header((header::CACHE_CONTROL, NO_STORE))
    }
}

/// Marks a public response with the surrogate keys it was built from: the
/// cache middleware indexes it under them and sends them to CDNs in the
/// `SURROGATE_KEY_HEADER` header. A public response without keys is never
/// kept by the server's cache.
pub fn with_keys(mut response: HttpResponse, keys: KeySet) -> HttpResponse {
    response.extensions_mut().insert(keys);
    response
}

/// The strong entity tag of a body, quoted as it appears in headers.
pub fn etag_of(body: &[u8]) -> String {
    format!("\"{:016x}\"", xxhash_rust::xxh3::xxh3_64(body))
}

/// The entity tag a JSON value would be served with.
pub fn etag_of_json<T: Serialize>(value: &T) -> Result<String, AppError> {
    let body = serde_json::to_vec(value).map_err(AppError::internal)?;
    Ok(etag_of(&body))
}

fn listed_tags(value: &str) -> impl Iterator<Item = &str> {
    value.split(',').map(str::trim).filter(|t| !t.is_empty())
}

/// Weak comparison (RFC 9110 §13.1.2): `W/"x"` matches `"x"`; `*` matches.
pub fn none_match_hits(header_value: &str, etag: &str) -> bool {
    listed_tags(header_value).any(|t| t == "*" || t.trim_start_matches("W/") == etag)
}

/// Strong comparison (§13.1.1): weak tags never match.
fn match_hits(header_value: &str, etag: &str) -> bool {
    listed_tags(header_value).any(|t| t == "*" || t == etag)
}

/// Checks `If-Match` against the current tag; absent means "no condition".
pub fn check_if_match(if_match: Option<&str>, current_etag: &str) -> Result<(), AppError> {
    match if_match {
        Some(value) if !match_hits(value, current_etag) => Err(AppError::PreconditionFailed(format!(
            "The resource changed since you read it (its ETag is now {current_etag}); GET it again and reapply your change."
        ))),
        _ => Ok(()),
    }
}

/// Whether a read may answer `304`, by RFC 9110's order of precedence
/// (section 13.2.2): `If-None-Match` when the request has one (a weak
/// comparison with `etag`); only without it, `If-Modified-Since` against
/// `last_modified` (whole seconds, as HTTP dates have), when the
/// representation has one. A date that does not parse is ignored, as the
/// RFC asks.
pub fn not_modified(headers: &header::HeaderMap, etag: &str, last_modified: Option<&HeaderValue>) -> bool {
    if let Some(value) = headers.get(header::IF_NONE_MATCH) {
        return value.to_str().is_ok_and(|v| none_match_hits(v, etag));
    }
    let date = |v: &HeaderValue| {
        v.to_str()
            .ok()
            .and_then(|s| s.parse::<header::HttpDate>().ok())
            .map(std::time::SystemTime::from)
    };
    match (
        headers.get(header::IF_MODIFIED_SINCE).and_then(date),
        last_modified.and_then(date),
    ) {
        (Some(since), Some(modified)) => modified <= since,
        _ => false,
    }
}

/// The `If-Match` header of a request, when it is readable.
pub fn if_match(req: &HttpRequest) -> Option<String> {
    req.headers()
        .get(header::IF_MATCH)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// A `200` JSON response with `ETag` and `Cache-Control`, or a bodiless `304`
/// when the client's `If-None-Match` already names this body.
pub fn json_ok<T: Serialize>(
    req: &HttpRequest,
    value: &T,
    policy: CachePolicy,
) -> Result<HttpResponse, AppError> {
    let body = serde_json::to_vec(value).map_err(AppError::internal)?;
    Ok(cached_bytes(req, StatusCode::OK, body, policy, &[]))
}

/// Like [`json_ok`] for a body already serialised; `extra` headers are added
/// to both the 200 and the 304 (for example `Link` or `Last-Modified`).
pub fn cached_bytes(
    req: &HttpRequest,
    status: StatusCode,
    body: Vec<u8>,
    policy: CachePolicy,
    extra: &[(header::HeaderName, HeaderValue)],
) -> HttpResponse {
    cached_body(req, status, body, "application/json", policy, extra)
}

/// Like [`cached_bytes`] for a body of another media type (feeds and
/// sitemaps: `application/rss+xml; charset=utf-8`, …).
pub fn cached_body(
    req: &HttpRequest,
    status: StatusCode,
    body: Vec<u8>,
    content_type: &'static str,
    policy: CachePolicy,
    extra: &[(header::HeaderName, HeaderValue)],
) -> HttpResponse {
    let etag = etag_of(&body);
    // Only reads are conditional: a write's answer is news.
    let is_read =
        req.method() == actix_web::http::Method::GET || req.method() == actix_web::http::Method::HEAD;
    let last_modified = extra
        .iter()
        .find(|(name, _)| name == header::LAST_MODIFIED)
        .map(|(_, value)| value);
    let not_modified = is_read && not_modified(req.headers(), &etag, last_modified);
    let mut builder = if not_modified {
        HttpResponse::NotModified()
    } else {
        HttpResponse::build(status)
    };
    builder.insert_header((header::ETAG, etag));
    builder.insert_header((header::CACHE_CONTROL, policy.header_value()));
    for (name, value) in extra {
        builder.insert_header((name.clone(), value.clone()));
    }
    if not_modified {
        builder.finish()
    } else {
        builder.content_type(content_type).body(body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_none_match_comes_before_if_modified_since() {
        let lm = HeaderValue::from_static("Sun, 06 Dec 2026 10:00:00 GMT");
        let headers = |pairs: &[(header::HeaderName, &'static str)]| {
            let mut map = header::HeaderMap::new();
            for (name, value) in pairs {
                map.insert(name.clone(), HeaderValue::from_static(value));
            }
            map
        };
        let ims = |v: &'static str| headers(&[(header::IF_MODIFIED_SINCE, v)]);
        assert!(not_modified(
            &ims("Sun, 06 Dec 2026 10:00:00 GMT"),
            "\"a\"",
            Some(&lm)
        ));
        assert!(not_modified(
            &ims("Mon, 07 Dec 2026 10:00:00 GMT"),
            "\"a\"",
            Some(&lm)
        ));
        assert!(!not_modified(
            &ims("Sun, 06 Dec 2026 09:59:59 GMT"),
            "\"a\"",
            Some(&lm)
        ));
        assert!(!not_modified(&ims("yesterday"), "\"a\"", Some(&lm)));
        assert!(!not_modified(
            &ims("Sun, 06 Dec 2026 10:00:00 GMT"),
            "\"a\"",
            None
        ));
        // A stale tag wins over a fresh date, and a matching tag over an old one.
        let both = |tag: &'static str, date: &'static str| {
            headers(&[(header::IF_NONE_MATCH, tag), (header::IF_MODIFIED_SINCE, date)])
        };
        assert!(!not_modified(
            &both("\"b\"", "Mon, 07 Dec 2026 10:00:00 GMT"),
            "\"a\"",
            Some(&lm)
        ));
        assert!(not_modified(
            &both("\"a\"", "Sat, 05 Dec 2026 10:00:00 GMT"),
            "\"a\"",
            Some(&lm)
        ));
    }

    #[test]
    fn tags_are_stable_and_distinct() {
        assert_eq!(etag_of(b"abc"), etag_of(b"abc"));
        assert_ne!(etag_of(b"abc"), etag_of(b"abd"));
        assert!(etag_of(b"x").starts_with('"') && etag_of(b"x").ends_with('"'));
    }

    #[test]
    fn if_none_match_is_weak_and_if_match_is_strong() {
        let tag = "\"0123\"";
        assert!(none_match_hits("\"0123\"", tag));
        assert!(none_match_hits("W/\"0123\"", tag));
        assert!(none_match_hits("\"9\", \"0123\"", tag));
        assert!(none_match_hits("*", tag));
        assert!(!none_match_hits("\"9\"", tag));
        assert!(check_if_match(Some("\"0123\""), tag).is_ok());
        assert!(check_if_match(None, tag).is_ok());
        assert!(check_if_match(Some("*"), tag).is_ok());
        assert!(check_if_match(Some("W/\"0123\""), tag).is_err());
        assert!(check_if_match(Some("\"stale\""), tag).is_err());
    }
}
