//! Per-client rate limits on the write routes anyone may call (comments,
//! shares, login). Clients are keyed by [`rate_limit_key`] (IPv4 address or
//! IPv6 /64).
//!
//! Limits live in this instance's memory: behind a load balancer with N
//! instances a client gets at most N× the limit, which is the trade for
//! keeping instances stateless. Public GETs are never limited.
//!
//! Memory: a key whose bucket has refilled is indistinguishable from a new
//! one, so idle keys are dropped (`retain_recent`) every 4096 checks or 10
//! seconds, whichever comes first, and the map's storage is shrunk. The map
//! thus holds the clients of about the last minute; should that still
//! exceed [`MAX_KEYS`] (a flood from that many networks), it is cleared:
//! memory stays bounded, at the price of those clients' counts restarting.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::Instant;

use parking_lot::RwLock;

use governor::clock::{Clock, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};

use crate::error::AppError;
use crate::infra::client_ip::rate_limit_key;

/// Most clients one limiter remembers (~100 bytes each).
pub const MAX_KEYS: usize = 100_000;
const PURGE_EVERY_CHECKS: u32 = 4096;
const PURGE_EVERY_SECS: u64 = 10;

/// A keyed limiter that reports what is left after each allowed request
/// (for the `RateLimit` header).
type Keyed = RateLimiter<IpAddr, DefaultKeyedStateStore<IpAddr>, DefaultClock, StateInformationMiddleware>;

fn keyed(quota: Quota) -> Keyed {
    RateLimiter::keyed(quota).with_middleware::<StateInformationMiddleware>()
}

/// Where a client stands against one limit after a request: what the
/// `RateLimit-Policy` and `RateLimit` response headers
/// (draft-ietf-httpapi-ratelimit-headers) say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Standing {
    /// The limit's name, as the policy names it (`comments`, `shares`, `login`).
    pub policy: &'static str,
    /// Requests per window.
    pub quota: u32,
    /// The window, in seconds.
    pub window_secs: u64,
    /// Requests left now.
    pub remaining: u32,
    /// Seconds until the whole quota is available again.
    pub reset_secs: u64,
}

/// One keyed limiter; `None` when the configured rate is 0 (off).
pub struct Limiter {
    name: &'static str,
    /// The quota, and the limiter behind a lock only so that it can be
    /// replaced by an empty one (governor has no `clear`).
    inner: Option<(Quota, RwLock<Keyed>)>,
    checks: AtomicU32,
    epoch: Instant,
    /// Seconds since `epoch` of the last purge.
    purged_at: AtomicU64,
}

impl Limiter {
    pub fn per_minute(name: &'static str, per_minute: u32) -> Self {
        Limiter {
            name,
            inner: NonZeroU32::new(per_minute).map(|n| {
                let quota = Quota::per_minute(n);
                (quota, RwLock::new(keyed(quota)))
            }),
            checks: AtomicU32::new(0),
            epoch: Instant::now(),
            purged_at: AtomicU64::new(0),
        }
    }

    /// Counts one request from `ip`. `Ok` with where the client now
    /// stands (`None` when the limit is off); `429 rate_limited` with the
    /// seconds to wait when it is over the limit, and its standing (nothing
    /// left) beside it.
    pub fn check(&self, ip: IpAddr) -> Result<Option<Standing>, (AppError, Standing)> {
        let Some((quota, limiter)) = &self.inner else {
            return Ok(None);
        };
        if self.purge_due() {
            self.purge(*quota, limiter);
        }
        let per_cell = quota.replenish_interval();
        let n = quota.burst_size().get();
        let standing = |remaining: u32, reset: std::time::Duration| Standing {
            policy: self.name,
            quota: n,
            window_secs: (per_cell * n).as_secs().max(1),
            remaining,
            reset_secs: reset.as_secs_f64().ceil() as u64,
        };
        let outcome = limiter.read().check_key(&rate_limit_key(ip));
        match outcome {
            Ok(snapshot) => {
                let remaining = snapshot.remaining_burst_capacity().min(n);
                // GCRA refills one request every `per_cell`.
                Ok(Some(standing(remaining, per_cell * (n - remaining))))
            }
            Err(not_until) => {
                let wait = not_until.wait_time_from(DefaultClock::default().now());
                let retry_after_secs = wait.as_secs_f64().ceil().max(1.0) as u64;
                let error = AppError::RateLimited {
                    retry_after_secs,
                    detail: format!("Too many {} requests from this address; retry later.", self.name),
                };
                Err((error, standing(0, per_cell * n)))
            }
        }
    }

    /// Clients remembered now.
    pub fn tracked(&self) -> usize {
        self.inner.as_ref().map_or(0, |(_, l)| l.read().len())
    }

    /// Every 4096th check, or the first after 10 quiet seconds.
    fn purge_due(&self) -> bool {
        let count_due =
            self.checks.fetch_add(1, Ordering::Relaxed) % PURGE_EVERY_CHECKS == PURGE_EVERY_CHECKS - 1;
        let now = self.epoch.elapsed().as_secs();
        let last = self.purged_at.load(Ordering::Relaxed);
        let time_due = now >= last + PURGE_EVERY_SECS
            && self
                .purged_at
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok();
        count_due || time_due
    }

    fn purge(&self, quota: Quota, limiter: &RwLock<Keyed>) {
        let read = limiter.read();
        read.retain_recent();
        let remembered = read.len();
        if remembered <= MAX_KEYS {
            read.shrink_to_fit();
            return;
        }
        drop(read);
        tracing::warn!(
            limiter = self.name,
            clients = remembered,
            "rate-limit memory full: forgetting every client"
        );
        *limiter.write() = keyed(quota);
    }
}

pub struct RateLimits {
    pub comments: Limiter,
    pub shares: Limiter,
    pub login: Limiter,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limiter_counts_per_ip_and_zero_means_off() {
        let limiter = Limiter::per_minute("test", 2);
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        let first = limiter.check(a).unwrap().unwrap();
        assert_eq!((first.quota, first.window_secs, first.remaining), (2, 60, 1));
        assert!((29..=30).contains(&first.reset_secs), "{first:?}");
        let second = limiter.check(a).unwrap().unwrap();
        assert_eq!(second.remaining, 0);
        assert!((59..=60).contains(&second.reset_secs), "{second:?}");
        match limiter.check(a) {
            Err((AppError::RateLimited { retry_after_secs, .. }, standing)) => {
                assert!((1..=60).contains(&retry_after_secs));
                assert_eq!((standing.remaining, standing.policy), (0, "test"));
            }
            other => panic!("expected rate limit, got {other:?}"),
        }
        assert!(limiter.check(b).is_ok());
        let off = Limiter::per_minute("test", 0);
        for _ in 0..100 {
            assert_eq!(off.check(a).unwrap(), None);
        }
    }

    #[test]
    fn one_ipv6_host_gets_one_bucket() {
        let limiter = Limiter::per_minute("test", 2);
        for i in 1..=2 {
            assert!(limiter.check(format!("2001:db8::{i:x}").parse().unwrap()).is_ok());
        }
        let other_address_same_64: IpAddr = "2001:db8::ffff:1".parse().unwrap();
        assert!(limiter.check(other_address_same_64).is_err());
        assert!(limiter.check("2001:db8:0:1::1".parse().unwrap()).is_ok());
    }

    #[test]
    fn idle_clients_are_forgotten() {
        // 120 per minute: one request is forgotten after 2 × 0.5 s.
        let limiter = Limiter::per_minute("test", 120);
        for i in 0..5000u32 {
            let ip = IpAddr::from(i.to_be_bytes());
            let _ = limiter.check(ip);
        }
        assert!(limiter.tracked() <= 5000);
        std::thread::sleep(std::time::Duration::from_millis(1200));
        // The 4096th check since the last purge drops every idle client.
        for _ in 0..(2 * PURGE_EVERY_CHECKS) {
            let _ = limiter.check("192.0.2.1".parse().unwrap());
        }
        assert!(limiter.tracked() < 10, "{} still tracked", limiter.tracked());
    }
}
