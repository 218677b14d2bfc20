//! The response cache's counters, shared with the metrics collector.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::Instant;

use super::SYNC_BOUND;

/// Why entries left the cache (the `cause` label of
/// `broadsheet_response_cache_evictions_total`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    /// A write committed by this instance touched one of its keys.
    LocalWrite,
    /// Another instance's write, read from the change log (and scheduled
    /// articles going public, which the same reader notices).
    OtherInstance,
    /// It outlived `CACHE_MAX_AGE_SECONDS`.
    Expiry,
    /// `RESPONSE_CACHE_BYTES` was full (or its path's share was).
    Memory,
    /// The change log could not be read: everything went, to be safe.
    Unsynced,
    /// Share or comment counts shown in it changed, and their lag was up.
    Counters,
}

impl Cause {
    pub const ALL: [Cause; 6] = [
        Cause::LocalWrite,
        Cause::OtherInstance,
        Cause::Expiry,
        Cause::Memory,
        Cause::Unsynced,
        Cause::Counters,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Cause::LocalWrite => "local_write",
            Cause::OtherInstance => "other_instance",
            Cause::Expiry => "expiry",
            Cause::Memory => "memory",
            Cause::Unsynced => "unsynced",
            Cause::Counters => "counters",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// `synced_ms` before the first confirmation, and after a failed read.
const NEVER: u64 = u64::MAX;

/// Hit, miss, size and eviction counters, and whether the change log is
/// read (what decides whether the cache may be used at all).
pub struct CacheStats {
    pub(super) hits: AtomicU64,
    pub(super) misses: AtomicU64,
    /// Lookups not even tried because the change log was out of reach.
    pub(super) bypassed: AtomicU64,
    pub(super) bytes: AtomicUsize,
    evictions: [AtomicU64; 6],
    /// Whether a change-log reader keeps the cache fresh (then it must
    /// confirm within `SYNC_BOUND`), and the moment its last confirmed
    /// read began, as milliseconds since `epoch`.
    followed: AtomicBool,
    synced_ms: AtomicU64,
    epoch: Instant,
}

impl Default for CacheStats {
    fn default() -> Self {
        CacheStats {
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            bypassed: AtomicU64::new(0),
            bytes: AtomicUsize::new(0),
            evictions: Default::default(),
            followed: AtomicBool::new(false),
            synced_ms: AtomicU64::new(NEVER),
            epoch: Instant::now(),
        }
    }
}

impl CacheStats {
    pub fn hits(&self) -> u64 {
        self.hits.load(Ordering::Relaxed)
    }

    pub fn misses(&self) -> u64 {
        self.misses.load(Ordering::Relaxed)
    }

    pub fn bypassed(&self) -> u64 {
        self.bypassed.load(Ordering::Relaxed)
    }

    pub fn size_bytes(&self) -> usize {
        self.bytes.load(Ordering::Relaxed)
    }

    /// Hits over lookups since start; 0 before the first lookup.
    pub fn hit_ratio(&self) -> f64 {
        let (hits, misses) = (self.hits(), self.misses());
        if hits + misses == 0 {
            0.0
        } else {
            hits as f64 / (hits + misses) as f64
        }
    }

    pub fn evictions(&self, cause: Cause) -> u64 {
        self.evictions[cause.index()].load(Ordering::Relaxed)
    }

    pub(super) fn evicted(&self, cause: Cause, n: usize) {
        self.evictions[cause.index()].fetch_add(n as u64, Ordering::Relaxed);
    }

    /// False while the change log has not been read within `SYNC_BOUND`
    /// (the cache is then bypassed): out of reach, stuck, or held back.
    pub fn in_sync(&self) -> bool {
        self.usable()
    }

    pub(super) fn now_ms(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64
    }

    pub(super) fn follow(&self) {
        self.followed.store(true, Ordering::Release);
    }

    pub(super) fn confirm(&self, read_began_ms: u64) {
        self.synced_ms.store(read_began_ms, Ordering::Release);
    }

    pub(super) fn unconfirm(&self) {
        self.synced_ms.store(NEVER, Ordering::Release);
    }

    /// True when the cache may be used now: nobody follows the log for it
    /// (a cache on its own), or the last confirmed read began within
    /// `SYNC_BOUND`.
    pub(super) fn usable(&self) -> bool {
        if !self.followed.load(Ordering::Acquire) {
            return true;
        }
        let synced = self.synced_ms.load(Ordering::Acquire);
        synced != NEVER && self.now_ms().saturating_sub(synced) <= SYNC_BOUND.as_millis() as u64
    }
}
