//! Per-client-IP rate limits on the write routes anyone may call (comments,
//! shares, login), and how the client IP is found.
//!
//! Limits live in this instance's memory: behind a load balancer with N
//! instances a client gets at most N× the limit, which is the trade for
//! keeping instances stateless. Public GETs are never limited.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU32, Ordering};

use actix_web::HttpRequest;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};
use ipnet::IpNet;

use crate::error::AppError;

/// One keyed limiter; `None` when the configured rate is 0 (off).
pub struct Limiter {
    name: &'static str,
    inner: Option<DefaultKeyedRateLimiter<IpAddr>>,
    checks: AtomicU32,
}

impl Limiter {
    pub fn per_minute(name: &'static str, per_minute: u32) -> Self {
        Limiter {
            name,
            inner: NonZeroU32::new(per_minute).map(|n| DefaultKeyedRateLimiter::keyed(Quota::per_minute(n))),
            checks: AtomicU32::new(0),
        }
    }

    /// Counts one request from `ip`; `429 rate_limited` with the seconds to
    /// wait when it is over the limit.
    pub fn check(&self, ip: IpAddr) -> Result<(), AppError> {
        let Some(limiter) = &self.inner else {
            return Ok(());
        };
        // Forget idle clients now and then so memory stays bounded.
        if self.checks.fetch_add(1, Ordering::Relaxed) % 4096 == 4095 {
            limiter.retain_recent();
        }
        limiter.check_key(&ip).map_err(|not_until| {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            AppError::RateLimited {
                retry_after_secs: wait.as_secs_f64().ceil().max(1.0) as u64,
                detail: format!("Too many {} requests from this address; retry later.", self.name),
            }
        })
    }
}

pub struct RateLimits {
    pub comments: Limiter,
    pub shares: Limiter,
    pub login: Limiter,
}

/// The client's IP: the socket peer, unless the peer is a trusted proxy, in
/// which case the right-most `X-Forwarded-For` entry that is not itself a
/// trusted proxy (entries further left are client-supplied and forgeable).
pub fn client_ip(req: &HttpRequest, trusted_proxies: &[IpNet]) -> IpAddr {
    let peer = req
        .peer_addr()
        .map(|a| a.ip())
        .unwrap_or(IpAddr::from([127, 0, 0, 1]));
    let trusted = |ip: &IpAddr| trusted_proxies.iter().any(|net| net.contains(ip));
    if !trusted(&peer) {
        return peer;
    }
    let forwarded: Vec<IpAddr> = req
        .headers()
        .get_all("x-forwarded-for")
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    forwarded
        .into_iter()
        .rev()
        .find(|ip| !trusted(ip))
        .unwrap_or(peer)
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    #[test]
    fn limiter_counts_per_ip_and_zero_means_off() {
        let limiter = Limiter::per_minute("test", 2);
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        assert!(limiter.check(a).is_ok());
        assert!(limiter.check(a).is_ok());
        match limiter.check(a) {
            Err(AppError::RateLimited { retry_after_secs, .. }) => {
                assert!((1..=60).contains(&retry_after_secs))
            }
            other => panic!("expected rate limit, got {other:?}"),
        }
        assert!(limiter.check(b).is_ok());
        let off = Limiter::per_minute("test", 0);
        for _ in 0..100 {
            assert!(off.check(a).is_ok());
        }
    }

    #[test]
    fn forwarded_for_is_read_only_from_trusted_proxies() {
        let proxies: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        let direct = TestRequest::default()
            .peer_addr("203.0.113.9:1234".parse().unwrap())
            .insert_header(("x-forwarded-for", "198.51.100.1"))
            .to_http_request();
        assert_eq!(client_ip(&direct, &proxies).to_string(), "203.0.113.9");

        let proxied = TestRequest::default()
            .peer_addr("10.1.2.3:1234".parse().unwrap())
            .insert_header(("x-forwarded-for", "6.6.6.6, 198.51.100.1, 10.9.9.9"))
            .to_http_request();
        assert_eq!(client_ip(&proxied, &proxies).to_string(), "198.51.100.1");
    }
}
