//! Per-client rate limits on the write routes anyone may call (comments,
//! shares, login). Clients are keyed by [`rate_limit_key`] (IPv4 address or
//! IPv6 /64).
//!
//! Limits live in this instance's memory unless `REDIS_URL` is set: behind
//! a load balancer with N instances a client then gets at most N× the limit.
//! With `REDIS_URL` every instance counts in Redis ([`SharedStore`]), so the
//! limit holds once across instances; when Redis cannot answer in time, each
//! limit follows its [`Outage`] rule (comments and shares fall back to this
//! instance's own count, sign-in is refused with `503`), logged (at most
//! every 10 seconds per limit) and counted in
//! `broadsheet_rate_limit_store_failures_total`. Public GETs are never
//! limited.
//!
//! Memory: a key whose bucket has refilled is indistinguishable from a new
//! one, so idle keys are dropped (`retain_recent`) every 4096 checks or 10
//! seconds, whichever comes first, and the map's storage is shrunk. The map
//! thus holds the clients of about the last minute; should that still
//! exceed [`MAX_KEYS`] (a flood from that many networks), it is cleared:
//! memory stays bounded, at the price of those clients' counts restarting.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use parking_lot::RwLock;

use governor::clock::{Clock, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;

use crate::error::AppError;
use crate::infra::client_ip::rate_limit_key;
use crate::infra::shared_limit::{SharedStore, Verdict};

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
    /// The shared store, when there is one.
    shared: Option<Shared>,
}

/// What a limit does when the shared store cannot answer in time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outage {
    /// Count in this instance's memory instead (N× the limit meanwhile):
    /// for routes where refusing everyone would hurt more than a flood.
    FailOpen,
    /// Refuse with `503`: for sign-in, where an unlimited password guesser
    /// is worse than a short outage of signing in.
    FailClosed,
}

/// Store failures by limit and by what was done (`local` or `refused`).
pub type StoreFailures = Family<StoreFailureLabels, Counter>;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StoreFailureLabels {
    policy: &'static str,
    outcome: &'static str,
}

struct Shared {
    store: Arc<SharedStore>,
    outage: Outage,
    failures: StoreFailures,
    /// Seconds since the limiter's epoch (+1) of the last logged failure.
    logged_at: AtomicU64,
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
            shared: None,
        }
    }

    /// Counts in `store` instead of this instance's memory; `outage` says
    /// what to do when the store fails, and `failures` counts that.
    pub fn shared(mut self, store: Arc<SharedStore>, outage: Outage, failures: StoreFailures) -> Self {
        self.shared = Some(Shared {
            store,
            outage,
            failures,
            logged_at: AtomicU64::new(0),
        });
        self
    }

    /// [`Limiter::check_local`], but in the shared store when there is one.
    pub async fn check(&self, ip: IpAddr) -> Result<Option<Standing>, (AppError, Option<Standing>)> {
        let (Some(shared), Some((quota, _))) = (&self.shared, &self.inner) else {
            return self.check_local(ip).map_err(|(e, s)| (e, Some(s)));
        };
        let n = quota.burst_size().get();
        let interval = quota.replenish_interval();
        let window_secs = (interval * n).as_secs().max(1);
        let standing = |remaining: u32, reset: Duration| Standing {
            policy: self.name,
            quota: n,
            window_secs,
            remaining,
            reset_secs: reset.as_secs_f64().ceil() as u64,
        };
        match shared
            .store
            .check(self.name, rate_limit_key(ip), n, interval)
            .await
        {
            Ok(Verdict::Allowed { remaining, reset }) => Ok(Some(standing(remaining, reset))),
            Ok(Verdict::Refused { retry_after }) => Err((
                self.refusal(retry_after.as_secs_f64().ceil().max(1.0) as u64),
                Some(standing(0, interval * n)),
            )),
            Err(error) => self.store_failed(shared, &error, ip),
        }
    }

    /// The outage rule, logged and counted.
    fn store_failed(
        &self,
        shared: &Shared,
        error: &str,
        ip: IpAddr,
    ) -> Result<Option<Standing>, (AppError, Option<Standing>)> {
        let outcome = match shared.outage {
            Outage::FailOpen => "local",
            Outage::FailClosed => "refused",
        };
        shared
            .failures
            .get_or_create(&StoreFailureLabels {
                policy: self.name,
                outcome,
            })
            .inc();
        let now = self.epoch.elapsed().as_secs() + 1;
        let last = shared.logged_at.load(Ordering::Relaxed);
        if (last == 0 || now >= last + 10)
            && shared
                .logged_at
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            tracing::warn!(limiter = self.name, outcome, %error, "rate-limit store unavailable");
        }
        match shared.outage {
            Outage::FailOpen => self.check_local(ip).map_err(|(e, s)| (e, Some(s))),
            Outage::FailClosed => Err((AppError::Unavailable(format!("rate-limit store: {error}")), None)),
        }
    }

    fn refusal(&self, retry_after_secs: u64) -> AppError {
        AppError::RateLimited {
            retry_after_secs,
            detail: format!("Too many {} requests from this address; retry later.", self.name),
        }
    }

    /// Counts one request from `ip`. `Ok` with where the client now
    /// stands (`None` when the limit is off); `429 rate_limited` with the
    /// seconds to wait when it is over the limit, and its standing (nothing
    /// left) beside it.
    pub fn check_local(&self, ip: IpAddr) -> Result<Option<Standing>, (AppError, Standing)> {
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
                Err((self.refusal(retry_after_secs), standing(0, per_cell * n)))
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
    /// Shared-store failures, for `/metrics`.
    pub store_failures: StoreFailures,
}

impl RateLimits {
    /// The three limits, per minute; in `store` when given (comments and
    /// shares fail open, sign-in closed).
    pub fn new(per_minute: [u32; 3], store: Option<SharedStore>) -> Self {
        let [comments, shares, login] = per_minute;
        let store_failures = StoreFailures::default();
        let mut limits = RateLimits {
            comments: Limiter::per_minute("comment", comments),
            shares: Limiter::per_minute("share", shares),
            login: Limiter::per_minute("login", login),
            store_failures: store_failures.clone(),
        };
        if let Some(store) = store.map(Arc::new) {
            let share = |l: Limiter, outage| l.shared(store.clone(), outage, store_failures.clone());
            limits.comments = share(limits.comments, Outage::FailOpen);
            limits.shares = share(limits.shares, Outage::FailOpen);
            limits.login = share(limits.login, Outage::FailClosed);
        }
        limits
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limiter_counts_per_ip_and_zero_means_off() {
        let limiter = Limiter::per_minute("test", 2);
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        let first = limiter.check_local(a).unwrap().unwrap();
        assert_eq!((first.quota, first.window_secs, first.remaining), (2, 60, 1));
        assert!((29..=30).contains(&first.reset_secs), "{first:?}");
        let second = limiter.check_local(a).unwrap().unwrap();
        assert_eq!(second.remaining, 0);
        assert!((59..=60).contains(&second.reset_secs), "{second:?}");
        match limiter.check_local(a) {
            Err((AppError::RateLimited { retry_after_secs, .. }, standing)) => {
                assert!((1..=60).contains(&retry_after_secs));
                assert_eq!((standing.remaining, standing.policy), (0, "test"));
            }
            other => panic!("expected rate limit, got {other:?}"),
        }
        assert!(limiter.check_local(b).is_ok());
        let off = Limiter::per_minute("test", 0);
        for _ in 0..100 {
            assert_eq!(off.check_local(a).unwrap(), None);
        }
    }

    #[test]
    fn one_ipv6_host_gets_one_bucket() {
        let limiter = Limiter::per_minute("test", 2);
        for i in 1..=2 {
            assert!(
                limiter
                    .check_local(format!("2001:db8::{i:x}").parse().unwrap())
                    .is_ok()
            );
        }
        let other_address_same_64: IpAddr = "2001:db8::ffff:1".parse().unwrap();
        assert!(limiter.check_local(other_address_same_64).is_err());
        assert!(limiter.check_local("2001:db8:0:1::1".parse().unwrap()).is_ok());
    }

    #[test]
    fn idle_clients_are_forgotten() {
        // 120 per minute: one request is forgotten after 2 × 0.5 s.
        let limiter = Limiter::per_minute("test", 120);
        for i in 0..5000u32 {
            let ip = IpAddr::from(i.to_be_bytes());
            let _ = limiter.check_local(ip);
        }
        assert!(limiter.tracked() <= 5000);
        std::thread::sleep(std::time::Duration::from_millis(1200));
        // The 4096th check since the last purge drops every idle client.
        for _ in 0..(2 * PURGE_EVERY_CHECKS) {
            let _ = limiter.check_local("192.0.2.1".parse().unwrap());
        }
        assert!(limiter.tracked() < 10, "{} still tracked", limiter.tracked());
    }
}
