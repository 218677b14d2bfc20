//! In-process cache of public GET responses.
//!
//! Public reads (articles, tags, comment threads, share counts) are the bulk
//! of the traffic and change rarely compared with how often they are read.
//! A hit is served from memory: no database, no serialisation, no hashing
//! for the `ETag`.
//!
//! Correctness rules:
//! - Exact on this instance: every entry is stamped with the database's
//!   write generation read *before* the handler ran; any committed write
//!   bumps the generation, so the very next read after a write misses and
//!   sees it. (An entry filled concurrently with a write carries the older
//!   stamp and is never served.)
//! - Bounded staleness across instances: an entry lives at most
//!   `CACHE_MAX_AGE_SECONDS`, the same time clients and CDNs may keep it.
//! - Scheduled articles: an entry never outlives the next scheduled
//!   `published_at`, so a scheduled article appears on time.
//! - Only `200` answers marked `Cache-Control: public` are kept; requests
//!   with an `Authorization` header bypass the cache.
//! - Memory is bounded by `RESPONSE_CACHE_BYTES`; when full, stale entries
//!   are dropped first, and a response that still does not fit is not kept.

use std::collections::HashMap;
use std::sync::RwLock;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::web::Bytes;
use actix_web::{Error, HttpResponse, web};

use crate::state::AppState;

struct Entry {
    generation: u64,
    expires: Instant,
    headers: Vec<(HeaderName, HeaderValue)>,
    etag: HeaderValue,
    body: Bytes,
}

impl Entry {
    fn size(&self, key: &str) -> usize {
        key.len()
            + self.body.len()
            + self
                .headers
                .iter()
                .map(|(n, v)| n.as_str().len() + v.len())
                .sum::<usize>()
            + 64
    }
}

pub struct ResponseCache {
    entries: RwLock<HashMap<String, Entry>>,
    bytes: AtomicUsize,
    max_bytes: usize,
    ttl: Duration,
    /// When the next scheduled article goes public, as seconds since
    /// `epoch`, valid for `schedule_generation`; `u64::MAX` when none.
    next_schedule: AtomicU64,
    schedule_generation: AtomicU64,
    epoch: Instant,
    hits: AtomicU64,
    misses: AtomicU64,
}

impl ResponseCache {
    pub fn new(max_bytes: usize, ttl: Duration) -> Self {
        ResponseCache {
            entries: RwLock::new(HashMap::new()),
            bytes: AtomicUsize::new(0),
            max_bytes,
            ttl,
            next_schedule: AtomicU64::new(0),
            // No generation is u64::MAX, so the first fill looks it up.
            schedule_generation: AtomicU64::new(u64::MAX),
            epoch: Instant::now(),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    fn enabled(&self) -> bool {
        self.max_bytes > 0 && !self.ttl.is_zero()
    }

    pub fn hits(&self) -> u64 {
        self.hits.load(Ordering::Relaxed)
    }

    pub fn misses(&self) -> u64 {
        self.misses.load(Ordering::Relaxed)
    }

    pub fn size_bytes(&self) -> usize {
        self.bytes.load(Ordering::Relaxed)
    }

    fn lookup(
        &self,
        key: &str,
        generation: u64,
        if_none_match: Option<&HeaderValue>,
    ) -> Option<HttpResponse> {
        let entries = self.entries.read().unwrap_or_else(|p| p.into_inner());
        let entry = entries.get(key)?;
        if entry.generation != generation || entry.expires <= Instant::now() {
            return None;
        }
        let not_modified = if_none_match
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| crate::http::caching::none_match_hits(v, entry.etag.to_str().unwrap_or("")));
        let mut builder = if not_modified {
            HttpResponse::NotModified()
        } else {
            HttpResponse::Ok()
        };
        builder.insert_header((header::ETAG, entry.etag.clone()));
        for (name, value) in &entry.headers {
            builder.insert_header((name.clone(), value.clone()));
        }
        Some(if not_modified {
            builder.finish()
        } else {
            builder.body(entry.body.clone())
        })
    }

    fn store(&self, key: String, entry: Entry) {
        let size = entry.size(&key);
        if size > self.max_bytes / 4 {
            return;
        }
        let mut entries = self.entries.write().unwrap_or_else(|p| p.into_inner());
        if self.bytes.load(Ordering::Relaxed) + size > self.max_bytes {
            let now = Instant::now();
            let generation = entry.generation;
            let mut freed = 0;
            entries.retain(|k, e| {
                let keep = e.generation == generation && e.expires > now;
                if !keep {
                    freed += e.size(k);
                }
                keep
            });
            self.bytes.fetch_sub(freed, Ordering::Relaxed);
            if self.bytes.load(Ordering::Relaxed) + size > self.max_bytes {
                return;
            }
        }
        if let Some(old) = entries.insert(key.clone(), entry) {
            self.bytes.fetch_sub(old.size(&key), Ordering::Relaxed);
        }
        self.bytes.fetch_add(size, Ordering::Relaxed);
    }

    /// How long a new entry may live: the TTL, cut short by the next
    /// scheduled publication.
    async fn lifetime(&self, state: &AppState, generation: u64) -> Duration {
        if self.schedule_generation.load(Ordering::Acquire) != generation {
            let now = crate::db::now();
            let next = state
                .db
                .read(move |conn| Ok(crate::db::articles::next_scheduled(conn, now)?))
                .await
                .ok()
                .flatten();
            let at = match next {
                Some(t) => {
                    let wait = (t - now).to_std().unwrap_or_default();
                    (self.epoch.elapsed() + wait).as_secs()
                }
                None => u64::MAX,
            };
            self.next_schedule.store(at, Ordering::Release);
            self.schedule_generation.store(generation, Ordering::Release);
        }
        let until_schedule = self
            .next_schedule
            .load(Ordering::Acquire)
            .saturating_sub(self.epoch.elapsed().as_secs());
        self.ttl.min(Duration::from_secs(until_schedule))
    }
}

fn cacheable_path(path: &str) -> bool {
    path.starts_with("/api/v1/")
        && !path.starts_with("/api/v1/admin")
        && !path.starts_with("/api/v1/auth")
        && path != "/api/v1/openapi.json"
}

/// The middleware: serve from the cache, or run the handler and keep its
/// answer when it may be shared.
pub async fn public_response_cache(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let Some(state) = state.filter(|s| s.cache.enabled()) else {
        return next.call(req).await.map(ServiceResponse::map_into_boxed_body);
    };
    if req.method() != Method::GET
        || !cacheable_path(req.path())
        || req.headers().contains_key(header::AUTHORIZATION)
    {
        return next.call(req).await.map(ServiceResponse::map_into_boxed_body);
    }
    let cache = &state.cache;
    let key = req.uri().to_string();
    // Read before the handler runs: see the module rules.
    let generation = state.db.write_generation();
    if let Some(response) = cache.lookup(&key, generation, req.headers().get(header::IF_NONE_MATCH)) {
        cache.hits.fetch_add(1, Ordering::Relaxed);
        return Ok(req.into_response(response));
    }
    cache.misses.fetch_add(1, Ordering::Relaxed);
    let response = next.call(req).await?;
    let public = response
        .headers()
        .get(header::CACHE_CONTROL)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("public"));
    if response.status() != StatusCode::OK || !public {
        return Ok(response.map_into_boxed_body());
    }
    let Some(etag) = response.headers().get(header::ETAG).cloned() else {
        return Ok(response.map_into_boxed_body());
    };
    let lifetime = cache.lifetime(&state, generation).await;
    let (request, response) = response.into_parts();
    let headers: Vec<(HeaderName, HeaderValue)> = response
        .headers()
        .iter()
        .filter(|(name, _)| *name != header::ETAG && *name != header::CONTENT_LENGTH)
        .map(|(n, v)| (n.clone(), v.clone()))
        .collect();
    let (response, body) = response.into_parts();
    let body = actix_web::body::to_bytes(body)
        .await
        .map_err(|_| crate::error::AppError::internal("response body could not be read for caching"))?;
    if !lifetime.is_zero() {
        cache.store(
            key,
            Entry {
                generation,
                expires: Instant::now() + lifetime,
                headers,
                etag,
                body: body.clone(),
            },
        );
    }
    Ok(ServiceResponse::new(
        request,
        response.set_body(BoxBody::new(body)),
    ))
}
