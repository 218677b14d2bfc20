//! In-process cache of public GET responses (the store; the middleware that
//! serves from it is `http::cache_middleware`).
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
//!
//! Memory is bounded by `RESPONSE_CACHE_BYTES`. When full, stale entries go
//! first, then the least recently used. Junk query variants cannot crowd
//! out real pages: query parameters are sorted into the key (so reordering
//! makes no new entry), and one path (all its query variants together) may
//! hold at most a quarter of the cache: a store that takes it past that
//! evicts its own variants (stale first, then least recently used) down to
//! 15/16 of the quarter. Each eviction scans and sorts every entry under
//! the write lock, so both limits evict down to 15/16 and a stream of new
//! variants pays for a scan only once per many stores, not on each one.
//! Routes that read no query refuse any parameter (`422`, in
//! `http::extract::NoParams`), so junk can only vary the parameters a list
//! route knows.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use crate::db::Db;

/// One kept response: what the middleware needs to answer again.
pub struct CachedResponse {
    pub etag: String,
    /// Every header but `ETag` and `Content-Length`.
    pub headers: Vec<(String, String)>,
    pub body: Arc<[u8]>,
}

struct Entry {
    generation: u64,
    expires: Instant,
    response: Arc<CachedResponse>,
    size: usize,
    /// Tick of the last store or hit, for least-recently-used eviction.
    last_used: AtomicU64,
}

/// Hit, miss and size counters, shared with the metrics collector.
#[derive(Default)]
pub struct CacheStats {
    hits: AtomicU64,
    misses: AtomicU64,
    bytes: AtomicUsize,
}

impl CacheStats {
    pub fn hits(&self) -> u64 {
        self.hits.load(Ordering::Relaxed)
    }

    pub fn misses(&self) -> u64 {
        self.misses.load(Ordering::Relaxed)
    }

    pub fn size_bytes(&self) -> usize {
        self.bytes.load(Ordering::Relaxed)
    }
}

#[derive(Default)]
struct Entries {
    by_key: HashMap<String, Entry>,
    /// Bytes held by each path's variants (keys without their query).
    by_path: HashMap<String, usize>,
    /// How many eviction scans ran, so tests can see they are amortised.
    #[cfg(test)]
    scans: usize,
}

pub struct ResponseCache {
    entries: RwLock<Entries>,
    stats: Arc<CacheStats>,
    max_bytes: usize,
    ttl: Duration,
    tick: AtomicU64,
    /// When the next scheduled article goes public, as seconds since
    /// `epoch`, valid for `schedule_generation`; `u64::MAX` when none.
    next_schedule: AtomicU64,
    schedule_generation: AtomicU64,
    epoch: Instant,
}

/// A single path may hold at most 1/PATH_SHARE of the cache.
const PATH_SHARE: usize = 4;

fn path_of(key: &str) -> &str {
    key.split_once('?').map_or(key, |(path, _)| path)
}

impl Entry {
    fn stale(&self, generation: u64, now: Instant) -> bool {
        self.generation != generation || self.expires <= now
    }
}

impl Entries {
    fn remove(&mut self, key: &str, stats: &CacheStats) {
        if let Some(old) = self.by_key.remove(key) {
            stats.bytes.fetch_sub(old.size, Ordering::Relaxed);
            let path = path_of(key);
            if let Some(bytes) = self.by_path.get_mut(path) {
                *bytes = bytes.saturating_sub(old.size);
                if *bytes == 0 {
                    self.by_path.remove(path);
                }
            }
        }
    }

    /// Evicts entries, stale first then least recently used, among those
    /// `eligible`, until `over()` is false.
    fn evict(
        &mut self,
        stats: &CacheStats,
        generation: u64,
        eligible: impl Fn(&str) -> bool,
        over: impl Fn(&Self) -> bool,
    ) {
        #[cfg(test)]
        {
            self.scans += 1;
        }
        let now = Instant::now();
        let mut victims: Vec<(bool, u64, String)> = self
            .by_key
            .iter()
            .filter(|(k, _)| eligible(k))
            .map(|(k, e)| {
                (
                    !e.stale(generation, now),
                    e.last_used.load(Ordering::Relaxed),
                    k.clone(),
                )
            })
            .collect();
        // Stale (false) before fresh, then oldest use first.
        victims.sort_unstable_by_key(|a| (a.0, a.1));
        for (_, _, key) in victims {
            if !over(self) {
                break;
            }
            self.remove(&key, stats);
        }
    }
}

impl ResponseCache {
    pub fn new(max_bytes: usize, ttl: Duration) -> Self {
        ResponseCache {
            entries: RwLock::new(Entries::default()),
            stats: Arc::new(CacheStats::default()),
            max_bytes,
            ttl,
            tick: AtomicU64::new(0),
            next_schedule: AtomicU64::new(0),
            // No generation is u64::MAX, so the first fill looks it up.
            schedule_generation: AtomicU64::new(u64::MAX),
            epoch: Instant::now(),
        }
    }

    pub fn enabled(&self) -> bool {
        self.max_bytes > 0 && !self.ttl.is_zero()
    }

    pub fn stats(&self) -> Arc<CacheStats> {
        self.stats.clone()
    }

    pub fn hits(&self) -> u64 {
        self.stats.hits()
    }

    pub fn misses(&self) -> u64 {
        self.stats.misses()
    }

    pub fn size_bytes(&self) -> usize {
        self.stats.size_bytes()
    }

    pub fn entry_count(&self) -> usize {
        self.entries
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .by_key
            .len()
    }

    /// The cache key of a request: its path and its query parameters in a
    /// stable order (a reordered query is the same page).
    pub fn key(path: &str, query: &str) -> String {
        let mut pairs: Vec<&str> = query.split('&').filter(|p| !p.is_empty()).collect();
        if pairs.is_empty() {
            return path.to_string();
        }
        // Stable: repeated parameters keep their relative order.
        pairs.sort_by_key(|p| p.split_once('=').map_or(*p, |(name, _)| name));
        format!("{path}?{}", pairs.join("&"))
    }

    /// The response kept under `key` for this write generation, if fresh;
    /// counts a hit or a miss.
    pub fn lookup(&self, key: &str, generation: u64) -> Option<Arc<CachedResponse>> {
        let entries = self.entries.read().unwrap_or_else(|p| p.into_inner());
        let found = entries
            .by_key
            .get(key)
            .filter(|e| !e.stale(generation, Instant::now()));
        let Some(entry) = found else {
            self.stats.misses.fetch_add(1, Ordering::Relaxed);
            return None;
        };
        self.stats.hits.fetch_add(1, Ordering::Relaxed);
        entry
            .last_used
            .store(self.tick.fetch_add(1, Ordering::Relaxed), Ordering::Relaxed);
        Some(entry.response.clone())
    }

    /// Keeps `response` under `key` for `lifetime`, evicting as needed.
    pub fn store(&self, key: String, generation: u64, lifetime: Duration, response: CachedResponse) {
        let size = key.len()
            + response.etag.len()
            + response.body.len()
            + response
                .headers
                .iter()
                .map(|(n, v)| n.len() + v.len() + 16)
                .sum::<usize>()
            + 128;
        if lifetime.is_zero() || size > self.max_bytes / PATH_SHARE {
            return;
        }
        let stats = &*self.stats;
        let mut entries = self.entries.write().unwrap_or_else(|p| p.into_inner());
        entries.remove(&key, stats);
        let path = path_of(&key).to_string();
        let entry = Entry {
            generation,
            expires: Instant::now() + lifetime,
            response: Arc::new(response),
            size,
            last_used: AtomicU64::new(self.tick.fetch_add(1, Ordering::Relaxed)),
        };
        entries.by_key.insert(key.clone(), entry);
        *entries.by_path.entry(path.clone()).or_default() += size;
        stats.bytes.fetch_add(size, Ordering::Relaxed);

        let path_cap = self.max_bytes / PATH_SHARE;
        if entries.by_path.get(&path).is_some_and(|b| *b > path_cap) {
            // Down to 15/16 of the cap, like the global eviction: a scan
            // sorts every entry under the write lock, so a path that keeps
            // receiving new variants pays for one only every so many stores.
            let target = path_cap - path_cap / 16;
            entries.evict(
                stats,
                generation,
                |k| path_of(k) == path && k != key,
                |e| e.by_path.get(&path).is_some_and(|b| *b > target),
            );
        }
        if stats.size_bytes() > self.max_bytes {
            // Down to 15/16 so that a full cache does not sort on every store.
            let target = self.max_bytes - self.max_bytes / 16;
            entries.evict(stats, generation, |k| k != key, |_| stats.size_bytes() > target);
        }
    }

    /// How long a new entry may live: the TTL, cut short by the next
    /// scheduled publication.
    pub async fn lifetime(&self, db: &Db, generation: u64) -> Duration {
        if self.schedule_generation.load(Ordering::Acquire) != generation {
            let now = crate::domain::date::now();
            let next = db
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

#[cfg(test)]
mod tests {
    use super::*;

    fn response(bytes: usize) -> CachedResponse {
        CachedResponse {
            etag: "\"0\"".into(),
            headers: vec![("content-type".into(), "application/json".into())],
            body: vec![b'x'; bytes].into(),
        }
    }

    const HOUR: Duration = Duration::from_secs(3600);

    #[test]
    fn keys_sort_query_parameters() {
        assert_eq!(ResponseCache::key("/a", ""), "/a");
        assert_eq!(ResponseCache::key("/a", "b=1&a=2"), "/a?a=2&b=1");
        assert_eq!(ResponseCache::key("/a", "t=2&a=1&t=1"), "/a?a=1&t=2&t=1");
    }

    #[test]
    fn full_cache_evicts_least_recently_used() {
        let cache = ResponseCache::new(40_000, HOUR);
        for i in 0..20 {
            cache.store(format!("/p{i}"), 1, HOUR, response(3_000));
            assert!(cache.lookup("/p0", 1).is_some(), "the page in use stays ({i})");
        }
        assert!(cache.stats().size_bytes() <= 40_000);
        assert!(cache.lookup("/p1", 1).is_none(), "an unused old page went");
        assert!(cache.lookup("/p19", 1).is_some(), "the newest page is kept");
    }

    #[test]
    fn junk_variants_of_one_path_cannot_crowd_out_others() {
        let cache = ResponseCache::new(100_000, HOUR);
        cache.store("/real".into(), 1, HOUR, response(3_000));
        for i in 0..50 {
            cache.store(format!("/junk?x={i}"), 1, HOUR, response(5_000));
        }
        assert!(cache.lookup("/real", 1).is_some());
        assert!(cache.lookup("/junk?x=49", 1).is_some());
        assert!(cache.stats().size_bytes() <= 100_000);
    }

    #[test]
    fn per_path_eviction_frees_slack() {
        // Path cap 25,000; each entry about 300 bytes, so the
        // 1,562 bytes of slack take five stores.
        let cache = ResponseCache::new(100_000, HOUR);
        let path_cap = 100_000 / PATH_SHARE;
        let scans = |c: &ResponseCache| c.entries.read().unwrap().scans;
        let mut i = 0;
        while scans(&cache) == 0 {
            cache.store(format!("/junk?x={i}"), 1, HOUR, response(100));
            i += 1;
        }
        let after_first = cache.stats().size_bytes();
        assert!(
            after_first <= path_cap - path_cap / 16,
            "one eviction frees down to 15/16 of the cap ({after_first})"
        );
        // Without the slack every store past the cap would rescan.
        cache.store(format!("/junk?x={i}"), 1, HOUR, response(100));
        assert_eq!(scans(&cache), 1, "a store into the slack does not rescan");
        for j in 0..100 {
            cache.store(format!("/junk?y={j}"), 1, HOUR, response(100));
        }
        assert!(
            scans(&cache) <= 1 + 100 / 4,
            "at most one scan per four stores: {}",
            scans(&cache)
        );
        assert!(cache.stats().size_bytes() <= path_cap);
    }

    #[test]
    fn other_generations_are_never_served() {
        let cache = ResponseCache::new(100_000, HOUR);
        cache.store("/a".into(), 1, HOUR, response(10));
        assert!(cache.lookup("/a", 2).is_none());
        assert_eq!(cache.stats().misses(), 1);
    }
}
