//! Everything a request handler may use, built once at start and shared by
//! every worker as `web::Data<AppState>`. No globals: tests build their own.

use std::sync::Arc;

use crate::auth::jwt::JwtKeys;
use crate::config::Config;
use crate::db::Db;
use crate::infra::change_follower;
use crate::infra::metrics::{Exposure, Metrics};
use crate::infra::rate_limit::RateLimits;
use crate::infra::response_cache::{Cause, ResponseCache};
use crate::infra::shared_limit::SharedStore;
use crate::service::render::Renderer;
use crate::service::shares::Shares;

pub struct AppState {
    pub config: Arc<Config>,
    pub db: Db,
    pub jwt: JwtKeys,
    pub limits: RateLimits,
    pub cache: Arc<ResponseCache>,
    pub metrics: Arc<Metrics>,
    /// Who may read `/metrics` on the public listener.
    pub metrics_exposure: Exposure,
    /// The share write path (writer thread and de-duplication memory).
    pub shares: Shares,
    /// The Markdown render threads the article use cases share.
    pub renderer: Renderer,
    /// Full-text searches running at once, at most one per core. A broad
    /// search is CPU work for a quarter of a second at 1M articles and
    /// holds the text index's posting lists in memory meanwhile (~25 MB):
    /// 32 at once took the server from 83 to 287 MB without serving more.
    pub search_slots: Arc<tokio::sync::Semaphore>,
}

impl AppState {
    pub fn new(config: Config, db: Db) -> Self {
        let jwt = JwtKeys::new(
            &config.jwt_secret,
            &config.jwt_issuer,
            &config.jwt_audience,
            config.access_token_ttl,
        );
        let store = config.redis.as_ref().and_then(|redis| {
            SharedStore::new(redis)
                .inspect_err(|e| tracing::error!(error = %e, "rate limits stay per instance"))
                .ok()
        });
        let limits = RateLimits::new(
            [
                config.rate_limit_comments_per_minute,
                config.rate_limit_shares_per_minute,
                config.rate_limit_login_per_minute,
            ],
            store,
        );
        let cache = Arc::new(ResponseCache::new(
            config.response_cache_bytes,
            std::time::Duration::from_secs(config.cache_max_age_seconds.into()),
            config.counts_max_lag,
        ));
        if cache.enabled() {
            // This instance's writes evict at commit; everyone else's (and
            // scheduled publications) through the change log.
            let weak = Arc::downgrade(&cache);
            db.on_commit(Arc::new(move |keys| {
                if let Some(cache) = weak.upgrade() {
                    cache.invalidate(keys, Cause::LocalWrite);
                }
            }));
        }
        // Also with the cache off: it purges the change log.
        change_follower::start(
            db.clone(),
            &cache,
            config.changes_retention_days,
            Box::new(|db| crate::service::changes::announce_due(db, crate::domain::date::now())),
        );
        let metrics = Arc::new(Metrics::new(
            db.clone(),
            cache.stats(),
            limits.store_failures.clone(),
        ));
        let metrics_exposure = Exposure {
            separate_listener: config.metrics_addr.is_some(),
            token: config.metrics_token.clone(),
            production: config.is_production(),
        };
        let shares = Shares::new(db.clone(), config.share_dedup_window, config.share_batch_max);
        AppState {
            config: Arc::new(config),
            db,
            shares,
            renderer: Renderer::default(),
            jwt,
            limits,
            cache,
            metrics,
            metrics_exposure,
            search_slots: Arc::new(tokio::sync::Semaphore::new(
                std::thread::available_parallelism().map_or(2, |n| n.get()),
            )),
        }
    }
}
