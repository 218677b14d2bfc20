//! The response cache's counters, shared with the metrics collector.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

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

/// Hit, miss, size and eviction counters.
#[derive(Default)]
pub struct CacheStats {
    pub(super) hits: AtomicU64,
    pub(super) misses: AtomicU64,
    /// Lookups not even tried because the change log was out of reach.
    pub(super) bypassed: AtomicU64,
    pub(super) bytes: AtomicUsize,
    evictions: [AtomicU64; 6],
    /// Whether this instance reads the change log (a cache on its own
    /// with no reader reports itself in sync).
    pub(super) out_of_sync: AtomicBool,
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

    /// False while the change log is out of reach (the cache is then
    /// empty and bypassed).
    pub fn in_sync(&self) -> bool {
        !self.out_of_sync.load(Ordering::Relaxed)
    }
}
