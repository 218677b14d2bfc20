//! Settings, read once at start from the environment (and `.env`, loaded by
//! `main`). Every variable is listed with its default in `.env.example`.
//!
//! Invariants enforced here, before anything listens:
//! - `BROADSHEET_ENV=production` needs a `JWT_SECRET` of at least 32 bytes and
//!   refuses `DEMO_CONTENT=true`.
//! - In development a missing `JWT_SECRET` becomes a random one per start, so
//!   tokens simply stop working after a restart.
//! - Unknown values (a moderation mode, a log format, a CIDR) stop the start
//!   with a message naming the variable, instead of silently falling back.

use std::time::Duration;

use ipnet::IpNet;

use crate::domain::comment::CommentModeration;
use parse::{parse_num, positive};

pub mod cluster;
pub mod origins;
mod parse;
mod replicas;
pub use replicas::ReplicaSettings;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Environment {
    Development,
    Production,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Clone)]
pub struct Config {
    pub environment: Environment,
    pub database_url: String,
    pub bind_addr: String,
    pub jwt_secret: Vec<u8>,
    /// True when `JWT_SECRET` was not set and a random one is in use.
    pub jwt_secret_generated: bool,
    pub jwt_issuer: String,
    pub jwt_audience: String,
    pub access_token_ttl: Duration,
    pub refresh_token_ttl: Duration,
    pub demo_content: bool,
    /// Password for the demo admin; random when unset.
    pub demo_admin_password: Option<String>,
    pub cors_allowed_origins: Vec<origins::AllowedOrigin>,
    pub cache_max_age_seconds: u32,
    /// Memory for the in-process cache of public GET responses; 0 = off.
    pub response_cache_bytes: usize,
    /// How late share and comment counts shown in cached articles and lists
    /// may be (`COUNTS_MAX_LAG_SECONDS`); 0 = exact.
    pub counts_max_lag: Duration,
    /// The header that carries surrogate keys to a CDN.
    pub surrogate_key_header: crate::domain::change::KeyHeader,
    /// Absolute addresses of the public site's pages (`SITE_URL`,
    /// `ARTICLE_URL_TEMPLATE`).
    pub site_urls: crate::domain::url::SiteUrls,
    /// How feeds and sitemaps are written (`SITE_TITLE`, `SITE_LANGUAGE`,
    /// `FEED_FULL_CONTENT`, `FEED_ITEMS`).
    pub feeds: crate::domain::feed::FeedSettings,
    /// How long a stored `Idempotency-Key` answer is kept
    /// (`IDEMPOTENCY_KEY_TTL_HOURS`).
    pub idempotency_key_ttl: Duration,
    /// How long the change log keeps a change, the sync feed's tombstones
    /// included (`CHANGES_RETENTION_DAYS`).
    pub changes_retention_days: u32,
    /// Where this instance keeps its search index (`SEARCH_INDEX_DIR`);
    /// `None`: in memory, rebuilt at every start.
    pub search_index_dir: Option<std::path::PathBuf>,
    /// Webhook delivery (`WEBHOOK_*`).
    pub webhooks: crate::domain::webhook::WebhookSettings,
    /// How long a preview link works (`PREVIEW_TTL_DAYS`).
    pub preview_ttl_days: u32,
    pub comment_moderation: CommentModeration,
    pub comment_max_depth: u32,
    pub comment_max_links: u32,
    pub rate_limit_comments_per_minute: u32,
    pub rate_limit_shares_per_minute: u32,
    pub rate_limit_login_per_minute: u32,
    /// Failed sign-ins in a row for one email before it is backed off; 0 = off.
    pub login_backoff_after_failures: u32,
    /// Longest backoff for one email.
    pub login_backoff_max: Duration,
    /// A failure streak quiet this long is forgotten.
    pub login_backoff_reset: Duration,
    pub share_dedup_window: Duration,
    /// Most share presses committed in one transaction (1 = one each).
    pub share_batch_max: usize,
    pub trusted_proxies: Vec<IpNet>,
    pub max_body_bytes: usize,
    /// Longest time to receive a whole request body (after its headers).
    pub body_read_timeout: Duration,
    /// A listener of its own for `/metrics` (`METRICS_ADDR`).
    pub metrics_addr: Option<String>,
    /// Bearer token that opens `/metrics` on the public listener.
    pub metrics_token: Option<String>,
    pub db_pool_size: Option<u32>,
    /// Read replicas (`DATABASE_REPLICA_URLS`, `REPLICA_MAX_LAG_SECONDS`).
    pub replicas: ReplicaSettings,
    pub db_timeout: Duration,
    pub shutdown_grace: Duration,
    pub workers: Option<usize>,
    pub log_format: LogFormat,
    /// The shared rate-limit store (`REDIS_URL`); `None`: per instance.
    pub redis: Option<cluster::RedisSettings>,
    /// `DATABASE_POOLER`: what sits between the instances and PostgreSQL.
    pub database_pooler: cluster::Pooler,
}

// Hand-written so that `{:?}` on a Config can never print the secret.
impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("environment", &self.environment)
            .field("database_url", &redact_url(&self.database_url))
            .field("bind_addr", &self.bind_addr)
            .field("jwt_secret", &"<redacted>")
            .field("demo_content", &self.demo_content)
            .finish_non_exhaustive()
    }
}

/// `postgres://user:password@host/db` → `postgres://user:***@host/db`, for logs.
pub fn redact_url(url: &str) -> String {
    if let Some((scheme, rest)) = url.split_once("://")
        && let Some((credentials, host)) = rest.rsplit_once('@')
    {
        let user = credentials.split(':').next().unwrap_or("");
        return format!("{scheme}://{user}:***@{host}");
    }
    url.to_string()
}

#[derive(Debug, thiserror::Error)]
#[error("configuration error in {variable}: {message}")]
pub struct ConfigError {
    pub variable: &'static str,
    pub message: String,
}

fn invalid(variable: &'static str, message: impl Into<String>) -> ConfigError {
    ConfigError {
        variable,
        message: message.into(),
    }
}

pub const DEFAULT_DATABASE_URL: &str = "sqlite://data/broadsheet.db";

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads settings through `lookup`, so tests can pass their own values.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| {
            lookup(name)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };

        let environment = parse::environment(&get)?;
        let production = environment == Environment::Production;
        let (jwt_secret, jwt_secret_generated) = parse::jwt_secret(&get, production)?;
        let (demo_content, demo_admin_password) = parse::demo(&get, production)?;
        let comment_moderation = parse::comment_moderation(&get)?;
        let log_format = parse::log_format(&get)?;
        let trusted_proxies = parse::trusted_proxies(&get)?;
        let cors_allowed_origins = parse::cors_allowed_origins(&get)?;
        let metrics_token = parse::metrics_token(&get)?;
        let site_urls = parse::site_urls(&get)?;
        let feeds = parse::feeds(&get)?;
        let db_pool_size = parse::automatic_count::<u32>(&get, "DB_POOL_SIZE")?;
        let workers = parse::automatic_count::<usize>(&get, "WORKERS")?;
        let database_url = get("DATABASE_URL").unwrap_or_else(|| DEFAULT_DATABASE_URL.to_string());
        let replicas = replicas::replicas(&get, &database_url)?;

        Ok(Config {
            environment,
            database_url,
            bind_addr: get("BIND_ADDR").unwrap_or_else(|| "127.0.0.1:8080".to_string()),
            jwt_secret,
            jwt_secret_generated,
            jwt_issuer: get("JWT_ISSUER").unwrap_or_else(|| "broadsheet".to_string()),
            jwt_audience: get("JWT_AUDIENCE").unwrap_or_else(|| "broadsheet-editors".to_string()),
            access_token_ttl: Duration::from_secs(positive(&get, "ACCESS_TOKEN_TTL_SECONDS", 900)?),
            refresh_token_ttl: Duration::from_secs(positive(&get, "REFRESH_TOKEN_TTL_SECONDS", 2_592_000)?),
            demo_content,
            demo_admin_password,
            cors_allowed_origins,
            cache_max_age_seconds: parse_num(&get, "CACHE_MAX_AGE_SECONDS", 60)?,
            response_cache_bytes: parse_num(&get, "RESPONSE_CACHE_BYTES", 64 * 1024 * 1024)?,
            counts_max_lag: Duration::from_secs(parse_num(&get, "COUNTS_MAX_LAG_SECONDS", 10)?),
            surrogate_key_header: parse::key_header(&get)?,
            site_urls,
            feeds,
            idempotency_key_ttl: Duration::from_secs(3600 * positive(&get, "IDEMPOTENCY_KEY_TTL_HOURS", 24)?),
            changes_retention_days: parse::retention_days(&get)?,
            preview_ttl_days: parse::preview_ttl_days(&get)?,
            webhooks: parse::webhooks(&get)?,
            comment_moderation,
            comment_max_depth: parse_num(&get, "COMMENT_MAX_DEPTH", 5)?,
            comment_max_links: parse_num(&get, "COMMENT_MAX_LINKS", 2)?,
            rate_limit_comments_per_minute: parse_num(&get, "RATE_LIMIT_COMMENTS_PER_MINUTE", 5)?,
            rate_limit_shares_per_minute: parse_num(&get, "RATE_LIMIT_SHARES_PER_MINUTE", 30)?,
            rate_limit_login_per_minute: parse_num(&get, "RATE_LIMIT_LOGIN_PER_MINUTE", 10)?,
            login_backoff_after_failures: parse_num(&get, "LOGIN_BACKOFF_AFTER_FAILURES", 5)?,
            login_backoff_max: Duration::from_secs(positive(&get, "LOGIN_BACKOFF_MAX_SECONDS", 900)?),
            login_backoff_reset: Duration::from_secs(positive(&get, "LOGIN_BACKOFF_RESET_SECONDS", 3600)?),
            share_dedup_window: Duration::from_secs(parse_num(&get, "SHARE_DEDUP_SECONDS", 10)?),
            share_batch_max: positive(&get, "SHARE_BATCH_MAX", 1024)? as usize,
            trusted_proxies,
            max_body_bytes: positive(&get, "MAX_BODY_BYTES", 1_048_576)? as usize,
            body_read_timeout: Duration::from_secs(positive(&get, "BODY_READ_TIMEOUT_SECONDS", 10)?),
            metrics_addr: get("METRICS_ADDR"),
            search_index_dir: get("SEARCH_INDEX_DIR")
                .filter(|d| !d.trim().is_empty())
                .map(std::path::PathBuf::from),
            metrics_token,
            db_pool_size,
            replicas,
            db_timeout: Duration::from_secs(positive(&get, "DB_TIMEOUT_SECONDS", 5)?),
            shutdown_grace: Duration::from_secs(parse_num(&get, "SHUTDOWN_GRACE_SECONDS", 30)?),
            workers,
            log_format,
            redis: cluster::redis(&get)?,
            database_pooler: cluster::pooler(&get)?,
        })
    }

    pub fn is_production(&self) -> bool {
        self.environment == Environment::Production
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Config::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn development_defaults_work_with_nothing_set() {
        let c = config(&[]).unwrap();
        assert_eq!(c.database_url, DEFAULT_DATABASE_URL);
        assert_eq!(c.bind_addr, "127.0.0.1:8080");
        assert!(c.demo_content);
        assert!(c.jwt_secret_generated);
        assert!(c.jwt_secret.len() >= 32);
        assert_eq!(c.cache_max_age_seconds, 60);
        assert_eq!(c.comment_moderation, CommentModeration::All);
        assert_eq!(c.max_body_bytes, 1_048_576);
    }

    #[test]
    fn production_refuses_missing_or_short_secret_and_demo_content() {
        let err = config(&[("BROADSHEET_ENV", "production")]).unwrap_err();
        assert_eq!(err.variable, "JWT_SECRET");
        let err = config(&[("BROADSHEET_ENV", "production"), ("JWT_SECRET", "short")]).unwrap_err();
        assert_eq!(err.variable, "JWT_SECRET");
        let long = "x".repeat(32);
        let err = config(&[
            ("BROADSHEET_ENV", "production"),
            ("JWT_SECRET", &long),
            ("DEMO_CONTENT", "true"),
        ])
        .unwrap_err();
        assert_eq!(err.variable, "DEMO_CONTENT");
        let ok = config(&[("BROADSHEET_ENV", "production"), ("JWT_SECRET", &long)]).unwrap();
        assert!(!ok.demo_content);
    }

    #[test]
    fn bad_values_name_their_variable() {
        assert_eq!(
            config(&[("COMMENT_MODERATION", "some")]).unwrap_err().variable,
            "COMMENT_MODERATION"
        );
        assert_eq!(
            config(&[("TRUSTED_PROXIES", "10.0.0.0/99")])
                .unwrap_err()
                .variable,
            "TRUSTED_PROXIES"
        );
        assert_eq!(
            config(&[("CACHE_MAX_AGE_SECONDS", "-1")]).unwrap_err().variable,
            "CACHE_MAX_AGE_SECONDS"
        );
        assert_eq!(
            config(&[("MAX_BODY_BYTES", "0")]).unwrap_err().variable,
            "MAX_BODY_BYTES"
        );
    }

    #[test]
    fn lists_are_split_and_trimmed() {
        let c = config(&[
            ("CORS_ALLOWED_ORIGINS", "https://a.example/, https://b.example"),
            ("TRUSTED_PROXIES", "10.0.0.0/8, 127.0.0.1"),
        ])
        .unwrap();
        assert_eq!(
            c.cors_allowed_origins,
            vec![
                origins::AllowedOrigin::Exact("https://a.example".into()),
                origins::AllowedOrigin::Exact("https://b.example".into())
            ]
        );
        assert_eq!(c.trusted_proxies.len(), 2);
    }

    #[test]
    fn cors_origins_must_be_exact_or_subdomain_patterns() {
        for good in [
            "https://www.example.com",
            "https://*.example.com",
            "http://localhost:3000",
            "https://a.example:8443",
            "http://[::1]:8080",
        ] {
            assert!(config(&[("CORS_ALLOWED_ORIGINS", good)]).is_ok(), "{good}");
        }
        for bad in [
            "*",
            "https://*.com",
            "null",
            "www.example.com",
            "https://example.com/app",
            "ftp://example.com",
            "https://user@example.com",
            "https://example.com:port",
            "https://",
        ] {
            assert_eq!(
                config(&[("CORS_ALLOWED_ORIGINS", bad)])
                    .map(|_| ())
                    .unwrap_err()
                    .variable,
                "CORS_ALLOWED_ORIGINS",
                "{bad}"
            );
        }
    }

    #[test]
    fn login_backoff_settings() {
        let c = config(&[]).unwrap();
        assert_eq!(c.login_backoff_after_failures, 5);
        assert_eq!(c.login_backoff_max, Duration::from_secs(900));
        assert_eq!(c.login_backoff_reset, Duration::from_secs(3600));
        let off = config(&[("LOGIN_BACKOFF_AFTER_FAILURES", "0")]).unwrap();
        assert_eq!(off.login_backoff_after_failures, 0);
        assert_eq!(
            config(&[("LOGIN_BACKOFF_MAX_SECONDS", "0")])
                .unwrap_err()
                .variable,
            "LOGIN_BACKOFF_MAX_SECONDS"
        );
    }

    #[test]
    fn metrics_and_body_timeout_settings() {
        let c = config(&[]).unwrap();
        assert_eq!(c.body_read_timeout, Duration::from_secs(10));
        assert!(c.metrics_addr.is_none() && c.metrics_token.is_none());
        let err = config(&[("METRICS_TOKEN", "short")]).unwrap_err();
        assert_eq!(err.variable, "METRICS_TOKEN");
        let err = config(&[("BODY_READ_TIMEOUT_SECONDS", "0")]).unwrap_err();
        assert_eq!(err.variable, "BODY_READ_TIMEOUT_SECONDS");
    }

    #[test]
    fn feed_settings() {
        let c = config(&[]).unwrap();
        assert_eq!(c.feeds, crate::domain::feed::FeedSettings::default());
        let c = config(&[
            ("SITE_TITLE", "The Daily Tram"),
            ("SITE_LANGUAGE", "pt-br"),
            ("FEED_FULL_CONTENT", "true"),
            ("FEED_ITEMS", "100"),
        ])
        .unwrap();
        assert_eq!(c.feeds.title, "The Daily Tram");
        assert_eq!(c.feeds.language, "pt-br");
        assert!(c.feeds.full_content);
        assert_eq!(c.feeds.items, 100);
        for (name, bad) in [
            ("FEED_ITEMS", "0"),
            ("FEED_ITEMS", "101"),
            ("FEED_FULL_CONTENT", "maybe"),
            ("SITE_LANGUAGE", "english"),
            ("SITE_TITLE", &"x".repeat(201)),
        ] {
            assert_eq!(config(&[(name, bad)]).unwrap_err().variable, name, "{bad}");
        }
    }

    #[test]
    fn preview_ttl_is_one_to_365_days() {
        assert_eq!(config(&[]).unwrap().preview_ttl_days, 7);
        assert_eq!(
            config(&[("PREVIEW_TTL_DAYS", "30")]).unwrap().preview_ttl_days,
            30
        );
        for bad in ["0", "366", "-1", "week"] {
            assert_eq!(
                config(&[("PREVIEW_TTL_DAYS", bad)])
                    .map(|_| ())
                    .unwrap_err()
                    .variable,
                "PREVIEW_TTL_DAYS",
                "{bad}"
            );
        }
    }

    #[test]
    fn debug_output_hides_secrets() {
        let c = config(&[
            ("JWT_SECRET", "super-secret-value-super-secret-value"),
            ("DATABASE_URL", "postgres://app:hunter2@db/broadsheet"),
        ])
        .unwrap();
        let printed = format!("{c:?}");
        assert!(!printed.contains("super-secret"));
        assert!(!printed.contains("hunter2"));
    }
}
