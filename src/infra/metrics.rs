//! Prometheus metrics: requests by method, route and status, latency
//! histograms, password verifications, database statements, pool use and
//! the response cache.
//!
//! Every label taken from a request comes from a closed set, so no client
//! can grow the registry (an invented method once became a label each, and
//! 500 requests with 60 KB methods added 30 MB): the method is one of a
//! fixed list or `other`, the route is the matched pattern (finite: the
//! registered routes) or `unmatched`, the status a number.
//!
//! Who may read them is decided by [`Exposure`]: a separate listener
//! (`METRICS_ADDR`), a bearer token (`METRICS_TOKEN`), or neither, in which
//! case only development serves them on the public listener.

use std::sync::Arc;
use std::time::Duration;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use sha2::{Digest, Sha256};

use crate::db::Db;
use crate::infra::response_cache::{CacheStats, Cause};

/// The label for a route no pattern matched (404s, probes of random paths).
pub const UNMATCHED: &str = "unmatched";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: &'static str,
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
}

/// The method label: one of the methods the API knows, else `other`.
pub fn method_label(method: &str) -> &'static str {
    const KNOWN: [&str; 7] = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];
    KNOWN.into_iter().find(|m| *m == method).unwrap_or("other")
}

pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, Histogram>,
    password_verifications: Counter,
    /// Webhook deliveries: set by the delivery workers.
    pub webhooks: WebhookMetrics,
}

/// Webhook counters (`broadsheet_webhook_*`).
#[derive(Clone, Default)]
pub struct WebhookMetrics {
    /// Attempts answered 2xx.
    pub sent: Counter,
    /// Attempts that failed (refused target, timeout, non-2xx).
    pub failed: Counter,
    /// Endpoints disabled after failing a whole retry schedule.
    pub disabled: Counter,
    /// Deliveries pending (due or waiting for a retry), as last counted.
    pub queue: prometheus_client::metrics::gauge::Gauge,
}

impl Metrics {
    /// `db` and `cache` are read at scrape time (statement counts, pool,
    /// cache hits); nothing else is kept.
    pub fn new(
        db: Db,
        cache: Arc<CacheStats>,
        limit_store_failures: crate::infra::rate_limit::StoreFailures,
    ) -> Self {
        let mut registry = Registry::with_prefix("broadsheet");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register("http_requests", "HTTP requests answered", requests.clone());
        let latency = Family::<RouteLabels, Histogram>::new_with_constructor(|| {
            // 100 µs to ~3 s.
            Histogram::new(exponential_buckets(0.0001, 2.0, 16))
        });
        registry.register("http_request_duration_seconds", "Time to answer", latency.clone());
        let password_verifications = Counter::default();
        registry.register(
            "password_verifications",
            "argon2 password verifications run by sign-ins (real or, for unknown emails, a dummy)",
            password_verifications.clone(),
        );
        registry.register(
            "rate_limit_store_failures",
            "Rate-limit checks the shared store (REDIS_URL) did not answer in time, by limit and by what was done (local: counted in this instance; refused: 503)",
            limit_store_failures,
        );
        registry.register_collector(Box::new(StorageCollector { db, cache }));
        let webhooks = WebhookMetrics::default();
        registry.register(
            "webhook_deliveries_sent",
            "Webhook attempts answered 2xx",
            webhooks.sent.clone(),
        );
        registry.register(
            "webhook_deliveries_failed",
            "Webhook attempts that failed (refused, timed out, not 2xx)",
            webhooks.failed.clone(),
        );
        registry.register(
            "webhook_endpoints_disabled",
            "Webhook endpoints disabled after failing a whole retry schedule",
            webhooks.disabled.clone(),
        );
        registry.register(
            "webhook_queue_depth",
            "Webhook deliveries pending",
            webhooks.queue.clone(),
        );
        Metrics {
            webhooks,
            registry,
            requests,
            latency,
            password_verifications,
        }
    }

    /// Records one answered request. `route` is the matched pattern, `None`
    /// when no route matched; `method` is mapped to its closed set here.
    pub fn observe(&self, method: &str, route: Option<&str>, status: u16, elapsed: Duration) {
        let route = route.unwrap_or(UNMATCHED).to_string();
        self.requests
            .get_or_create(&RequestLabels {
                method: method_label(method),
                route: route.clone(),
                status,
            })
            .inc();
        self.latency
            .get_or_create(&RouteLabels { route })
            .observe(elapsed.as_secs_f64());
    }

    /// Records one argon2 verification by a sign-in.
    pub fn password_verified(&self) {
        self.password_verifications.inc();
    }

    /// The text exposition format.
    pub fn encode(&self) -> Result<String, std::fmt::Error> {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)?;
        Ok(out)
    }
}

/// Values read at scrape time from the database handle and the cache.
struct StorageCollector {
    db: Db,
    cache: Arc<CacheStats>,
}

// The registry wants Debug; the handles have nothing useful to print.
impl std::fmt::Debug for StorageCollector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StorageCollector")
    }
}

impl Collector for StorageCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let counters = [
            ("db_statements", "SQL statements run", self.db.query_count()),
            ("db_writes", "Write transactions", self.db.write_generation()),
            (
                "response_cache_hits",
                "Public GETs answered from memory",
                self.cache.hits(),
            ),
            (
                "response_cache_misses",
                "Public GETs that ran their handler",
                self.cache.misses(),
            ),
        ];
        for (name, help, value) in counters {
            let counter = ConstCounter::new(value);
            counter.encode(encoder.encode_descriptor(name, help, None, counter.metric_type())?)?;
        }
        let (connections, idle) = self.db.pool_state();
        let gauges = [
            (
                "db_pool_connections",
                "Open pooled connections",
                connections as i64,
            ),
            ("db_pool_idle", "Idle pooled connections", idle as i64),
            (
                "response_cache_bytes",
                "Memory held by the response cache",
                self.cache.size_bytes() as i64,
            ),
        ];
        for (name, help, value) in gauges {
            let gauge = ConstGauge::new(value);
            gauge.encode(encoder.encode_descriptor(name, help, None, gauge.metric_type())?)?;
        }
        self.encode_cache(&mut encoder)?;
        self.encode_replicas(&mut encoder)
    }
}

impl StorageCollector {
    /// With read replicas: each one's state, lag and reads, and the public
    /// reads the primary served. Labelled by the replica's place in
    /// `DATABASE_REPLICA_URLS`, from 1.
    fn encode_replicas(&self, encoder: &mut DescriptorEncoder) -> Result<(), std::fmt::Error> {
        use prometheus_client::metrics::MetricType;
        if !self.db.has_replicas() {
            return Ok(());
        }
        let replicas = self.db.replica_status();
        let labels = |r: &crate::db::ReplicaStatus| r.index.to_string();
        let mut up = encoder.encode_descriptor(
            "replica_in_rotation",
            "1 while the replica serves public reads; 0 while it is down, lagging or not yet checked",
            None,
            MetricType::Gauge,
        )?;
        for r in &replicas {
            let gauge = ConstGauge::new(i64::from(r.in_rotation()));
            gauge.encode(up.encode_family(&[("replica", labels(r)), ("state", r.state.label().into())])?)?;
        }
        let mut lag = encoder.encode_descriptor(
            "replica_lag_seconds",
            "How far behind the primary the replica was at its last check (-1 before one succeeded)",
            None,
            MetricType::Gauge,
        )?;
        for r in &replicas {
            let gauge = ConstGauge::new(r.lag_seconds.unwrap_or(-1.0));
            gauge.encode(lag.encode_family(&[("replica", labels(r))])?)?;
        }
        let mut reads = encoder.encode_descriptor(
            "replica_reads",
            "Public reads served by the replica",
            None,
            MetricType::Counter,
        )?;
        for r in &replicas {
            let counter = ConstCounter::new(r.reads);
            counter.encode(reads.encode_family(&[("replica", labels(r))])?)?;
        }
        let primary = ConstCounter::new(self.db.public_reads_on_primary());
        primary.encode(encoder.encode_descriptor(
            "replica_fallback_reads",
            "Public reads served by the primary because no replica in rotation had replayed this instance's latest writes and changes",
            None,
            primary.metric_type(),
        )?)?;
        Ok(())
    }

    /// Evictions by cause, the hit ratio and whether the change log is read.
    fn encode_cache(&self, encoder: &mut DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let mut family = encoder.encode_descriptor(
            "response_cache_evictions",
            "Entries evicted from the response cache, by cause",
            None,
            prometheus_client::metrics::MetricType::Counter,
        )?;
        for cause in Cause::ALL {
            let counter = ConstCounter::new(self.cache.evictions(cause));
            counter.encode(family.encode_family(&[("cause", cause.label())])?)?;
        }
        let bypassed = ConstCounter::new(self.cache.bypassed());
        bypassed.encode(encoder.encode_descriptor(
            "response_cache_bypassed",
            "Public GETs not looked up because the change log was not confirmed read within a second",
            None,
            bypassed.metric_type(),
        )?)?;
        let ratio = ConstGauge::new(self.cache.hit_ratio());
        ratio.encode(encoder.encode_descriptor(
            "response_cache_hit_ratio",
            "Hits over lookups since start",
            None,
            ratio.metric_type(),
        )?)?;
        let in_sync = ConstGauge::new(i64::from(self.cache.in_sync()));
        in_sync.encode(encoder.encode_descriptor(
            "change_log_in_sync",
            "1 while this instance reads the change log; 0 while it cannot (its cache is then empty and bypassed)",
            None,
            in_sync.metric_type(),
        )?)?;
        Ok(())
    }
}

/// Where `/metrics` is served, from the settings.
#[derive(Clone)]
pub struct Exposure {
    /// `METRICS_ADDR`: a listener of its own (then never on the public one
    /// without the token).
    pub separate_listener: bool,
    /// `METRICS_TOKEN`: the public listener serves it to this bearer.
    pub token: Option<String>,
    pub production: bool,
}

/// What the public listener does with a request for `/metrics`.
#[derive(Debug, PartialEq, Eq)]
pub enum PublicAccess {
    Serve,
    /// A token is configured and this request did not present it.
    NeedsToken,
    /// Not offered on this listener: answer as if it did not exist.
    Hidden,
}

impl Exposure {
    /// Decides for one request; `bearer` is the token it presented, if any.
    pub fn public_access(&self, bearer: Option<&str>) -> PublicAccess {
        match &self.token {
            Some(token) if bearer.is_some_and(|b| same_secret(b, token)) => PublicAccess::Serve,
            Some(_) => PublicAccess::NeedsToken,
            None if self.separate_listener || self.production => PublicAccess::Hidden,
            None => PublicAccess::Serve,
        }
    }
}

/// Compares two secrets in time independent of where they differ: both are
/// hashed first (so lengths leak nothing either), then every byte of the
/// digests is compared.
fn same_secret(given: &str, expected: &str) -> bool {
    let a = Sha256::digest(given.as_bytes());
    let b = Sha256::digest(expected.as_bytes());
    a.iter().zip(b.iter()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn methods_map_to_a_closed_set() {
        assert_eq!(method_label("GET"), "GET");
        assert_eq!(method_label("OPTIONS"), "OPTIONS");
        assert_eq!(method_label("get"), "other");
        assert_eq!(method_label(&"X".repeat(60_000)), "other");
        assert_eq!(method_label("PROPFIND"), "other");
    }

    #[test]
    fn exposure_modes() {
        let dev = Exposure {
            separate_listener: false,
            token: None,
            production: false,
        };
        assert_eq!(dev.public_access(None), PublicAccess::Serve);
        let prod = Exposure {
            production: true,
            ..dev.clone()
        };
        assert_eq!(prod.public_access(None), PublicAccess::Hidden);
        let separate = Exposure {
            separate_listener: true,
            ..dev.clone()
        };
        assert_eq!(separate.public_access(Some("x")), PublicAccess::Hidden);
        let token = Exposure {
            token: Some("s3cret-token".into()),
            ..prod
        };
        assert_eq!(token.public_access(Some("s3cret-token")), PublicAccess::Serve);
        assert_eq!(
            token.public_access(Some("s3cret-tokem")),
            PublicAccess::NeedsToken
        );
        assert_eq!(token.public_access(None), PublicAccess::NeedsToken);
    }
}
