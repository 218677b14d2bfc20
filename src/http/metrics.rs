//! `GET /metrics` in Prometheus text format: requests by route and status,
//! latency histograms, database statements, pool use and the response cache.
//! Route labels are the matched patterns (`/api/v1/articles/{slug}`), so
//! their number stays bounded whatever clients send.

use std::sync::Arc;
use std::time::Duration;

use actix_web::{HttpResponse, get, web};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::db::Db;
use crate::error::AppError;
use crate::http::cache::ResponseCache;
use crate::state::AppState;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
}

pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, Histogram>,
    password_verifications: Counter,
}

impl Metrics {
    pub fn new(db: Db, cache: Arc<ResponseCache>) -> Self {
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
        registry.register_collector(Box::new(StorageCollector { db, cache }));
        Metrics {
            registry,
            requests,
            latency,
            password_verifications,
        }
    }

    /// Records one answered request.
    pub fn observe(&self, method: &str, route: &str, status: u16, elapsed: Duration) {
        self.requests
            .get_or_create(&RequestLabels {
                method: method.to_string(),
                route: route.to_string(),
                status,
            })
            .inc();
        self.latency
            .get_or_create(&RouteLabels {
                route: route.to_string(),
            })
            .observe(elapsed.as_secs_f64());
    }

    /// Records one argon2 verification by a sign-in.
    pub fn password_verified(&self) {
        self.password_verifications.inc();
    }

    fn encode(&self) -> Result<String, std::fmt::Error> {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)?;
        Ok(out)
    }
}

/// Values read at scrape time from the database handle and the cache.
struct StorageCollector {
    db: Db,
    cache: Arc<ResponseCache>,
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
        Ok(())
    }
}

/// Metrics
///
/// Prometheus text exposition of the instance's counters.
#[utoipa::path(
    operation_id = "getMetrics",
    tag = "operations",
    responses((status = 200, description = "Prometheus text format.", content_type = "text/plain", body = String))
)]
#[get("/metrics")]
pub async fn metrics(state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    let text = state.metrics.encode().map_err(AppError::internal)?;
    Ok(HttpResponse::Ok()
        .insert_header(("cache-control", "no-store"))
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(text))
}
