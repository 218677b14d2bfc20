//! In-process cache of public GET responses (the store; the middleware that
//! serves from it is `http::cache_middleware`, the reader of the change log
//! that keeps it fresh across instances is `infra::change_follower`).
//!
//! Public reads (articles, tags, comment threads, share counts) are the bulk
//! of the traffic and change rarely compared with how often they are read.
//! A hit is served from memory: no database, no serialisation, no hashing
//! for the `ETag`.
//!
//! Correctness rules:
//! - **Evicted by key.** Every entry carries the surrogate keys it was
//!   built from (`domain::change`); a write evicts exactly the entries that
//!   share a key with it. The instance that made a write evicts before the
//!   write's response leaves (a `Db` commit listener); other instances when
//!   they read the change log, within [`SYNC_BOUND`].
//! - **No stale fill.** A miss takes a [`Ticket`] (the invalidation clock)
//!   before its handler reads the database; a key invalidated after that
//!   refuses the store, so an entry built concurrently with a write is
//!   never kept.
//! - **Counters lag, boundedly.** `counts:` keys (share and comment counts
//!   shown in articles and lists) are applied in batches at most
//!   `COUNTS_MAX_LAG_SECONDS` late; everything else at once.
//! - **Never serve what the log has not confirmed.** While the change log
//!   has not been read for [`SYNC_BOUND`] (the database is down, or the
//!   reader is stuck), lookups and stores are bypassed; the reader empties
//!   the cache when it notices.
//! - **Bounded age.** An entry lives at most `CACHE_MAX_AGE_SECONDS`, the
//!   same time clients and CDNs may keep it.
//!
//! Memory is bounded by `RESPONSE_CACHE_BYTES`. When full, expired entries
//! go first, then the least recently used. Junk query variants cannot crowd
//! out real pages: query parameters are sorted into the key (so reordering
//! makes no new entry), and one path (all its query variants together) may
//! hold at most a quarter of the cache: a store that takes it past that
//! evicts its own variants (expired first, then least recently used) down
//! to 15/16 of the quarter. Each eviction scans and sorts every entry under
//! the write lock, so both limits evict down to 15/16 and a stream of new
//! variants pays for a scan only once per many stores, not on each one.
//! Routes that read no query refuse any parameter (`422`, in
//! `http::extract::NoParams`), so junk can only vary the parameters a list
//! route knows.

mod stats;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::header::{HeaderName, HeaderValue};
use parking_lot::Mutex;

use crate::domain::change::Key;
pub use stats::{CacheStats, Cause};

/// How long the cache trusts itself without a confirmed read of the change
/// log: the most another instance's write can stay unseen here.
pub const SYNC_BOUND: Duration = Duration::from_secs(1);

/// Invalidated keys remembered for refusing stale fills; past this many the
/// memory is dropped and every fill in flight is refused instead.
const MAX_REMEMBERED_KEYS: usize = 100_000;

/// One kept response: what the middleware needs to answer again, in the
/// `http` crate's header types (the ones actix-web re-exports; a crate of
/// HTTP types, not of the framework) so that a hit sends them as they are:
/// kept as strings, every header name and value was parsed and checked
/// again on every hit, which cost the cached list routes about a tenth of
/// their rate (docs/BENCHMARKS.md, issue 14's before and after).
pub struct CachedResponse {
    pub etag: HeaderValue,
    /// Every header but `ETag` and `Content-Length`.
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// Shared, not copied, by every hit.
    pub body: Bytes,
}

/// The invalidation clock when a miss began: see "No stale fill".
#[derive(Debug, Clone, Copy)]
pub struct Ticket(u64);

struct Entry {
    expires: Instant,
    response: Arc<CachedResponse>,
    keys: Vec<Key>,
    size: usize,
    /// Tick of the last store or hit, for least-recently-used eviction.
    last_used: AtomicU64,
}

#[derive(Default)]
struct Entries {
    by_key: HashMap<String, Entry>,
    /// Bytes held by each path's variants (keys without their query).
    by_path: HashMap<String, usize>,
    /// The entries that carry each surrogate key.
    by_surrogate: HashMap<Key, HashSet<String>>,
    /// The clock at which each key was last invalidated.
    invalidated: HashMap<Key, u64>,
    /// Fills that began before this clock are refused (after a clear).
    floor: u64,
    /// How many eviction scans ran, so tests can see they are amortised.
    #[cfg(test)]
    scans: usize,
}

pub struct ResponseCache {
    entries: RwLock<Entries>,
    stats: Arc<CacheStats>,
    max_bytes: usize,
    ttl: Duration,
    counts_lag: Duration,
    tick: AtomicU64,
    clock: AtomicU64,
    /// Lagged keys waiting to be applied, with when each was first seen.
    pending: Mutex<HashMap<Key, Instant>>,
}

/// A single path may hold at most 1/PATH_SHARE of the cache.
const PATH_SHARE: usize = 4;

fn path_of(key: &str) -> &str {
    key.split_once('?').map_or(key, |(path, _)| path)
}

impl Entries {
    fn remove(&mut self, key: &str, stats: &CacheStats) -> bool {
        let Some(old) = self.by_key.remove(key) else {
            return false;
        };
        stats.bytes.fetch_sub(old.size, Ordering::Relaxed);
        let path = path_of(key);
        if let Some(bytes) = self.by_path.get_mut(path) {
            *bytes = bytes.saturating_sub(old.size);
            if *bytes == 0 {
                self.by_path.remove(path);
            }
        }
        for k in &old.keys {
            if let Some(set) = self.by_surrogate.get_mut(k) {
                set.remove(key);
                if set.is_empty() {
                    self.by_surrogate.remove(k);
                }
            }
        }
        true
    }

    /// Evicts entries, expired first then least recently used, among those
    /// `eligible`, until `over()` is false.
    fn evict(&mut self, stats: &CacheStats, eligible: impl Fn(&str) -> bool, over: impl Fn(&Self) -> bool) {
        #[cfg(test)]
        {
            self.scans += 1;
        }
        let now = Instant::now();
        let mut victims: Vec<(bool, u64, String)> = self
            .by_key
            .iter()
            .filter(|(k, _)| eligible(k))
            .map(|(k, e)| (e.expires > now, e.last_used.load(Ordering::Relaxed), k.clone()))
            .collect();
        // Expired (false) before live, then oldest use first.
        victims.sort_unstable_by_key(|a| (a.0, a.1));
        for (live, _, key) in victims {
            if !over(self) {
                break;
            }
            if self.remove(&key, stats) {
                stats.evicted(if live { Cause::Memory } else { Cause::Expiry }, 1);
            }
        }
    }

    fn clear(&mut self, stats: &CacheStats, clock: u64) -> usize {
        let n = self.by_key.len();
        self.by_key.clear();
        self.by_path.clear();
        self.by_surrogate.clear();
        self.invalidated.clear();
        self.floor = clock;
        stats.bytes.store(0, Ordering::Relaxed);
        n
    }
}

impl ResponseCache {
    pub fn new(max_bytes: usize, ttl: Duration, counts_lag: Duration) -> Self {
        ResponseCache {
            entries: RwLock::new(Entries::default()),
            stats: Arc::new(CacheStats::default()),
            max_bytes,
            ttl,
            counts_lag,
            tick: AtomicU64::new(0),
            clock: AtomicU64::new(0),
            pending: Mutex::default(),
        }
    }

    pub fn enabled(&self) -> bool {
        self.max_bytes > 0 && !self.ttl.is_zero()
    }

    pub fn stats(&self) -> Arc<CacheStats> {
        self.stats.clone()
    }

    pub fn entry_count(&self) -> usize {
        self.read().by_key.len()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Entries> {
        self.entries.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Entries> {
        self.entries.write().unwrap_or_else(|p| p.into_inner())
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

    /// The cache's clock for [`ResponseCache::confirm_synced`].
    pub fn now_ms(&self) -> u64 {
        self.stats.now_ms()
    }

    /// A change-log reader now keeps this cache fresh: from here on the
    /// cache serves only while [`ResponseCache::confirm_synced`] is recent
    /// (and not at all before the first).
    pub fn follow(&self) {
        self.stats.follow();
    }

    /// The change-log reader has read everything committed before
    /// `read_began_ms` ([`ResponseCache::now_ms`] when its read began).
    pub fn confirm_synced(&self, read_began_ms: u64) {
        self.stats.confirm(read_began_ms);
    }

    /// The change-log reader could not read it: empty the cache, which is
    /// bypassed until the next [`ResponseCache::confirm_synced`].
    pub fn lose_sync(&self) {
        self.stats.unconfirm();
        self.clear(Cause::Unsynced);
    }

    /// True when the cache may be used now.
    pub fn usable(&self) -> bool {
        self.stats.usable()
    }

    /// Takes a [`Ticket`]: call before the handler reads the database.
    pub fn ticket(&self) -> Ticket {
        Ticket(self.clock.load(Ordering::Acquire))
    }

    /// The response kept under `key`, if fresh; counts a hit or a miss.
    pub fn lookup(&self, key: &str) -> Option<Arc<CachedResponse>> {
        if !self.usable() {
            self.stats.bypassed.fetch_add(1, Ordering::Relaxed);
            return None;
        }
        let entries = self.read();
        let found = entries.by_key.get(key).filter(|e| e.expires > Instant::now());
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

    /// Keeps `response` under `key`, built from `keys`, for `lifetime` (at
    /// most the TTL), evicting as needed; refused when one of `keys` was
    /// invalidated since `ticket` was taken.
    pub fn store(
        &self,
        key: String,
        ticket: Ticket,
        lifetime: Duration,
        keys: Vec<Key>,
        response: CachedResponse,
    ) {
        let size = key.len()
            + response.etag.len()
            + response.body.len()
            + response
                .headers
                .iter()
                .map(|(n, v)| n.as_str().len() + v.len() + 16)
                .sum::<usize>()
            + keys.len() * 48
            + 128;
        if lifetime.is_zero() || size > self.max_bytes / PATH_SHARE || !self.usable() {
            return;
        }
        let stats = &*self.stats;
        let mut entries = self.write();
        let stale = ticket.0 < entries.floor
            || keys
                .iter()
                .any(|k| entries.invalidated.get(k).is_some_and(|at| *at > ticket.0));
        if stale {
            return;
        }
        entries.remove(&key, stats);
        let path = path_of(&key).to_string();
        for k in &keys {
            entries.by_surrogate.entry(*k).or_default().insert(key.clone());
        }
        let entry = Entry {
            expires: Instant::now() + lifetime.min(self.ttl),
            response: Arc::new(response),
            keys,
            size,
            last_used: AtomicU64::new(self.tick.fetch_add(1, Ordering::Relaxed)),
        };
        entries.by_key.insert(key.clone(), entry);
        *entries.by_path.entry(path.clone()).or_default() += size;
        stats.bytes.fetch_add(size, Ordering::Relaxed);
        self.keep_within_limits(&mut entries, &key, &path);
    }

    /// The per-path and global memory limits, after a store of `key`.
    fn keep_within_limits(&self, entries: &mut Entries, key: &str, path: &str) {
        let stats = &*self.stats;
        let path_cap = self.max_bytes / PATH_SHARE;
        if entries.by_path.get(path).is_some_and(|b| *b > path_cap) {
            // Down to 15/16 of the cap, like the global eviction: a scan
            // sorts every entry under the write lock, so a path that keeps
            // receiving new variants pays for one only every so many stores.
            let target = path_cap - path_cap / 16;
            entries.evict(
                stats,
                |k| path_of(k) == path && k != key,
                |e| e.by_path.get(path).is_some_and(|b| *b > target),
            );
        }
        if stats.size_bytes() > self.max_bytes {
            // Down to 15/16 so that a full cache does not sort on every store.
            let target = self.max_bytes - self.max_bytes / 16;
            entries.evict(stats, |k| k != key, |_| stats.size_bytes() > target);
        }
    }

    /// Evicts every entry carrying one of `keys`; lagged keys are queued
    /// for [`ResponseCache::apply_lagged`] instead (unless the lag is 0).
    pub fn invalidate(&self, keys: &[Key], cause: Cause) {
        let mut now_keys = Vec::with_capacity(keys.len());
        if self.counts_lag.is_zero() {
            now_keys.extend_from_slice(keys);
        } else {
            let mut pending = self.pending.lock();
            for k in keys {
                if k.lagged() {
                    pending.entry(*k).or_insert_with(Instant::now);
                } else {
                    now_keys.push(*k);
                }
            }
        }
        if !now_keys.is_empty() {
            self.evict_keys(&now_keys, cause);
        }
    }

    fn evict_keys(&self, keys: &[Key], cause: Cause) {
        let stats = &*self.stats;
        let mut entries = self.write();
        let clock = self.clock.fetch_add(1, Ordering::AcqRel) + 1;
        if keys.contains(&Key::All) {
            let n = entries.clear(stats, clock);
            stats.evicted(cause, n);
            return;
        }
        if entries.invalidated.len() + keys.len() > MAX_REMEMBERED_KEYS {
            entries.invalidated.clear();
            entries.floor = clock;
        }
        let mut evicted = 0;
        for k in keys {
            entries.invalidated.insert(*k, clock);
            let Some(holders) = entries.by_surrogate.remove(k) else {
                continue;
            };
            for holder in holders {
                if entries.remove(&holder, stats) {
                    evicted += 1;
                }
            }
        }
        stats.evicted(cause, evicted);
    }

    /// Applies the lagged keys that have waited long enough: called every
    /// `interval`, none waits past `COUNTS_MAX_LAG_SECONDS`.
    pub fn apply_lagged(&self, interval: Duration, cause: Cause) {
        let due_after = self.counts_lag.saturating_sub(interval);
        let due: Vec<Key> = {
            let mut pending = self.pending.lock();
            let now = Instant::now();
            let due: Vec<Key> = pending
                .iter()
                .filter(|(_, since)| now.duration_since(**since) >= due_after)
                .map(|(k, _)| *k)
                .collect();
            for k in &due {
                pending.remove(k);
            }
            due
        };
        if !due.is_empty() {
            self.evict_keys(&due, cause);
        }
    }

    /// Drops expired entries (the follower calls it now and then, so that
    /// memory held by pages nobody asks for again is given back).
    pub fn sweep_expired(&self) {
        let now = Instant::now();
        let stats = &*self.stats;
        let mut entries = self.write();
        let expired: Vec<String> = entries
            .by_key
            .iter()
            .filter(|(_, e)| e.expires <= now)
            .map(|(k, _)| k.clone())
            .collect();
        let mut n = 0;
        for key in expired {
            if entries.remove(&key, stats) {
                n += 1;
            }
        }
        stats.evicted(Cause::Expiry, n);
    }

    /// Empties the cache; fills in flight are refused.
    pub fn clear(&self, cause: Cause) {
        let clock = self.clock.fetch_add(1, Ordering::AcqRel) + 1;
        let n = self.write().clear(&self.stats, clock);
        self.stats.evicted(cause, n);
    }
}

#[cfg(test)]
mod tests;
