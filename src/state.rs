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
use crate::infra::search::{self, SearchIndex};
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
    /// The search index and the slots searches run in (at most one per
    /// core: a search is CPU work, and more at once only queue for cores
    /// while holding memory).
    pub search: crate::service::search::Engine,
}

impl AppState {
    /// Fails when the search index cannot be opened or built.
    pub fn new(config: Config, db: Db) -> Result<Self, String> {
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
        let search = search_engine(&config, &db)?;
        Ok(AppState {
            config: Arc::new(config),
            db,
            shares,
            renderer: Renderer::default(),
            jwt,
            limits,
            cache,
            metrics,
            metrics_exposure,
            search,
        })
    }
}

/// Opens this instance's search index, starts its indexer, and has every
/// local write wake it.
fn search_engine(config: &Config, db: &Db) -> Result<crate::service::search::Engine, String> {
    let index = Arc::new(SearchIndex::open(config.search_index_dir.as_deref())?);
    search::start(db.clone(), &index, config.changes_retention_days)?;
    let weak = Arc::downgrade(&index);
    db.on_commit(Arc::new(move |_| {
        if let Some(index) = weak.upgrade() {
            index.wake();
        }
    }));
    Ok(crate::service::search::Engine {
        index,
        slots: Arc::new(tokio::sync::Semaphore::new(
            std::thread::available_parallelism().map_or(2, |n| n.get()),
        )),
        wait: config.db_timeout,
    })
}
