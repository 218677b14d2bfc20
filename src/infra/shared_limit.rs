//! The rate limits' shared store: Redis, when `REDIS_URL` is set, so that
//! every instance counts a client's requests in one place and N instances
//! give a client the limit once, not N times.
//!
//! The algorithm is the in-process limiter's (GCRA, as `governor` runs it):
//! one key per client and policy holds the "theoretical arrival time" of the
//! client's next request, moved on by one emission interval (window / quota)
//! per allowed request; a request that would move it past `now + window` is
//! refused. One Lua script reads, decides and writes it atomically, with
//! Redis's own clock (`TIME`), so instances whose clocks differ still agree.
//! A key expires when its bucket has refilled: an idle client costs nothing.
//!
//! Invariants: every call is bounded by `REDIS_TIMEOUT_MS` (connect and
//! answer), and runs on the async runtime (no worker thread ever blocks on
//! Redis); a failure or a timeout is returned, never retried here: the
//! caller applies the limit's outage rule (`rate_limit::Outage`). Keys are
//! `{REDIS_KEY_PREFIX}rl:{policy}:{client}`, the client as
//! `client_ip::rate_limit_key` (IPv4 address or IPv6 /64).

use std::net::IpAddr;
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use crate::config::cluster::RedisSettings;

/// `KEYS[1]`: the client's key. `ARGV[1]`: the emission interval in
/// microseconds; `ARGV[2]`: the quota (burst). Returns `{1, reset_us}` when
/// allowed (microseconds until the whole quota is back) or `{0, wait_us}`
/// when refused (microseconds until one request is allowed again).
const GCRA: &str = r#"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local next_tat = tat + interval
local allow_at = next_tat - interval * burst
if now < allow_at then
  return {0, allow_at - now}
end
redis.call('SET', KEYS[1], string.format('%.0f', next_tat), 'PX', math.ceil((next_tat - now) / 1000))
return {1, next_tat - now}
"#;

/// What the store decided for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Allowed: requests left, and the time until the whole quota is back.
    Allowed { remaining: u32, reset: Duration },
    /// Refused: the time until one request is allowed again.
    Refused { retry_after: Duration },
}

/// A connection to the store, shared by every worker (one multiplexed
/// connection that reconnects on its own).
pub struct SharedStore {
    manager: ConnectionManager,
    prefix: String,
    timeout: Duration,
    script: redis::Script,
}

impl SharedStore {
    /// Prepares the connection without opening it (the first check does):
    /// an instance starts, and serves with its outage rules, while Redis is
    /// down. Must be called inside the async runtime.
    pub fn new(settings: &RedisSettings) -> Result<Self, String> {
        let client = redis::Client::open(settings.url.as_str()).map_err(|e| format!("REDIS_URL: {e}"))?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(settings.timeout))
            .set_response_timeout(Some(settings.timeout))
            .set_number_of_retries(1)
            .set_max_delay(settings.timeout);
        let manager =
            ConnectionManager::new_lazy_with_config(client, config).map_err(|e| format!("redis: {e}"))?;
        Ok(SharedStore {
            manager,
            prefix: settings.key_prefix.clone(),
            timeout: settings.timeout,
            script: redis::Script::new(GCRA),
        })
    }

    /// Counts one request of `client` against `quota` requests per
    /// `quota × interval`. Errors (unreachable, timed out, a bad answer)
    /// come back as text for the log.
    pub async fn check(
        &self,
        policy: &str,
        client: IpAddr,
        quota: u32,
        interval: Duration,
    ) -> Result<Verdict, String> {
        let key = format!("{}rl:{policy}:{client}", self.prefix);
        let mut conn = self.manager.clone();
        let interval_us = interval.as_micros().max(1) as u64;
        let call = async {
            self.script
                .key(key)
                .arg(interval_us)
                .arg(quota)
                .invoke_async::<(i64, i64)>(&mut conn)
                .await
        };
        let (allowed, micros) = match tokio::time::timeout(self.timeout, call).await {
            Err(_) => return Err(format!("no answer within {} ms", self.timeout.as_millis())),
            Ok(Err(e)) => return Err(e.to_string()),
            Ok(Ok(answer)) => answer,
        };
        let micros = micros.max(0) as u64;
        Ok(if allowed == 1 {
            // What the bucket holds beyond the time already spoken for.
            let window_us = interval_us * u64::from(quota);
            let remaining = window_us.saturating_sub(micros) / interval_us;
            Verdict::Allowed {
                remaining: remaining.min(u64::from(quota)) as u32,
                reset: Duration::from_micros(micros),
            }
        } else {
            Verdict::Refused {
                retry_after: Duration::from_micros(micros),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store(prefix: &str) -> SharedStore {
        SharedStore::new(&RedisSettings {
            url: std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into()),
            key_prefix: format!("broadsheet-test:{prefix}:{}:", std::process::id()),
            timeout: Duration::from_millis(500),
        })
        .expect("client")
    }

    fn redis_reachable() -> bool {
        let up =
            std::net::TcpStream::connect_timeout(&"127.0.0.1:6379".parse().unwrap(), Duration::from_secs(1))
                .is_ok();
        if !up {
            assert!(
                std::env::var("REQUIRE_REDIS").as_deref() != Ok("1"),
                "REQUIRE_REDIS=1 but Redis is down"
            );
            eprintln!("SKIPPED (no Redis on 127.0.0.1:6379)");
        }
        up
    }

    #[tokio::test(flavor = "current_thread")]
    async fn counts_like_the_in_process_limiter() {
        if !redis_reachable() {
            return;
        }
        let redis = store(&format!(
            "gcra-{}",
            std::time::UNIX_EPOCH.elapsed().unwrap().as_nanos()
        ));
        let (a, b) = ("192.0.2.1".parse().unwrap(), "192.0.2.2".parse().unwrap());
        let interval = Duration::from_secs(20);
        for (left, reset) in [(2, 20), (1, 40), (0, 60)] {
            match redis.check("t", a, 3, interval).await.unwrap() {
                Verdict::Allowed { remaining, reset: r } => {
                    assert_eq!(remaining, left);
                    assert!((reset - 1..=reset).contains(&r.as_secs()), "{r:?}");
                }
                other => panic!("expected allowed, got {other:?}"),
            }
        }
        match redis.check("t", a, 3, interval).await.unwrap() {
            Verdict::Refused { retry_after } => assert!((19..=20).contains(&retry_after.as_secs())),
            other => panic!("expected refused, got {other:?}"),
        }
        // Another client, and another policy, have their own counts.
        assert!(matches!(
            redis.check("t", b, 3, interval).await.unwrap(),
            Verdict::Allowed { remaining: 2, .. }
        ));
        assert!(matches!(
            redis.check("u", a, 3, interval).await.unwrap(),
            Verdict::Allowed { remaining: 2, .. }
        ));
    }

    /// The cost of one limited request: this instance's memory against
    /// Redis, one at a time and 64 at once. Needs Redis; run with
    /// `cargo test --release --lib cost_per_check -- --ignored --nocapture`
    /// (figures in docs/BENCHMARKS.md).
    #[tokio::test(flavor = "current_thread")]
    #[ignore = "a measurement, not a test"]
    async fn cost_per_check() {
        const N: u32 = 20_000;
        let local = crate::infra::rate_limit::Limiter::per_minute("bench", 1_000_000);
        let began = std::time::Instant::now();
        for i in 0..N {
            let _ = local.check_local(std::net::IpAddr::from((i % 1000).to_be_bytes()));
        }
        println!(
            "local: {:.2} µs per check",
            began.elapsed().as_secs_f64() * 1e6 / f64::from(N)
        );

        let redis = store("cost");
        let interval = Duration::from_micros(60);
        let began = std::time::Instant::now();
        for i in 0..N {
            let ip = std::net::IpAddr::from((i % 1000).to_be_bytes());
            redis
                .check("bench", ip, 1_000_000, interval)
                .await
                .expect("redis");
        }
        println!(
            "redis, one at a time: {:.1} µs per check",
            began.elapsed().as_secs_f64() * 1e6 / f64::from(N)
        );

        let began = std::time::Instant::now();
        for round in 0..N / 64 {
            let calls = (0..64u32).map(|j| {
                let ip = std::net::IpAddr::from((round * 64 + j).to_be_bytes());
                redis.check("bench", ip, 1_000_000, interval)
            });
            for r in futures_util::future::join_all(calls).await {
                r.expect("redis");
            }
        }
        let per = began.elapsed().as_secs_f64() / f64::from(N / 64 * 64);
        println!(
            "redis, 64 at once: {:.1} µs per check, {:.0} checks/s",
            per * 1e6,
            1.0 / per
        );
    }
}
