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

use std::net::IpAddr;
use std::time::Duration;

use base64::Engine;
use ipnet::IpNet;
use rand::RngCore;

use crate::domain::comment::CommentModeration;

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
    pub cors_allowed_origins: Vec<String>,
    pub cache_max_age_seconds: u32,
    /// Memory for the in-process cache of public GET responses; 0 = off.
    pub response_cache_bytes: usize,
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
    pub db_timeout: Duration,
    pub shutdown_grace: Duration,
    pub workers: Option<usize>,
    pub log_format: LogFormat,
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

        let environment = match get("BROADSHEET_ENV").as_deref() {
            None | Some("development") => Environment::Development,
            Some("production") => Environment::Production,
            Some(other) => {
                return Err(invalid(
                    "BROADSHEET_ENV",
                    format!("`{other}` is not one of development, production"),
                ));
            }
        };
        let production = environment == Environment::Production;

        let (jwt_secret, jwt_secret_generated) = match get("JWT_SECRET") {
            Some(secret) if production && secret.len() < 32 => {
                return Err(invalid(
                    "JWT_SECRET",
                    format!(
                        "must be at least 32 bytes in production (it has {})",
                        secret.len()
                    ),
                ));
            }
            Some(secret) => (secret.into_bytes(), false),
            None if production => {
                return Err(invalid(
                    "JWT_SECRET",
                    "must be set in production (at least 32 bytes)",
                ));
            }
            None => {
                let mut bytes = vec![0u8; 48];
                rand::rng().fill_bytes(&mut bytes);
                let encoded = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
                (encoded.into_bytes(), true)
            }
        };

        let demo_content = parse_bool(&get, "DEMO_CONTENT", !production)?;
        if production && demo_content {
            return Err(invalid("DEMO_CONTENT", "demo content is refused in production"));
        }

        let demo_admin_password = get("DEMO_ADMIN_PASSWORD");
        if let Some(p) = &demo_admin_password
            && let Err(e) = crate::domain::password::check_rules(p)
        {
            return Err(invalid("DEMO_ADMIN_PASSWORD", e));
        }

        let comment_moderation = match get("COMMENT_MODERATION").as_deref() {
            None | Some("all") => CommentModeration::All,
            Some("first_time") => CommentModeration::FirstTime,
            Some("none") => CommentModeration::None,
            Some(other) => {
                return Err(invalid(
                    "COMMENT_MODERATION",
                    format!("`{other}` is not one of all, first_time, none"),
                ));
            }
        };

        let log_format = match get("LOG_FORMAT").as_deref() {
            None | Some("text") => LogFormat::Text,
            Some("json") => LogFormat::Json,
            Some(other) => {
                return Err(invalid(
                    "LOG_FORMAT",
                    format!("`{other}` is not one of text, json"),
                ));
            }
        };

        let trusted_proxies = get("TRUSTED_PROXIES")
            .map(|list| {
                list.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(|s| {
                        s.parse::<IpNet>()
                            .or_else(|_| s.parse::<IpAddr>().map(IpNet::from))
                            .map_err(|_| invalid("TRUSTED_PROXIES", format!("`{s}` is not an IP or CIDR")))
                    })
                    .collect::<Result<Vec<_>, _>>()
            })
            .transpose()?
            .unwrap_or_default();

        let cors_allowed_origins: Vec<String> = get("CORS_ALLOWED_ORIGINS")
            .map(|list| {
                list.split(',')
                    .map(|s| s.trim().trim_end_matches('/').to_string())
                    .filter(|s| !s.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        if let Some(bad) = cors_allowed_origins.iter().find(|o| !is_exact_origin(o)) {
            return Err(invalid(
                "CORS_ALLOWED_ORIGINS",
                format!(
                    "`{bad}` is not an exact origin such as https://www.example.com \
                     (no `*`, path or `null`: credentials are allowed for these origins)"
                ),
            ));
        }

        let metrics_token = get("METRICS_TOKEN");
        if metrics_token.as_ref().is_some_and(|t| t.len() < 16) {
            return Err(invalid("METRICS_TOKEN", "must be at least 16 bytes"));
        }

        let db_pool_size = match get("DB_POOL_SIZE") {
            None => None,
            Some(_) => Some(parse_num::<u32>(&get, "DB_POOL_SIZE", 0)?).filter(|n| *n > 0),
        };
        let workers = match get("WORKERS") {
            None => None,
            Some(_) => Some(parse_num::<usize>(&get, "WORKERS", 0)?).filter(|n| *n > 0),
        };

        Ok(Config {
            environment,
            database_url: get("DATABASE_URL").unwrap_or_else(|| DEFAULT_DATABASE_URL.to_string()),
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
            metrics_token,
            db_pool_size,
            db_timeout: Duration::from_secs(positive(&get, "DB_TIMEOUT_SECONDS", 5)?),
            shutdown_grace: Duration::from_secs(parse_num(&get, "SHUTDOWN_GRACE_SECONDS", 30)?),
            workers,
            log_format,
        })
    }

    pub fn is_production(&self) -> bool {
        self.environment == Environment::Production
    }
}

/// `scheme://host[:port]` with scheme http or https, and nothing else: no
/// wildcard, no path, no user info. A wildcard would hand credentialed
/// cross-origin access to every site, since the allowed origin is echoed.
fn is_exact_origin(origin: &str) -> bool {
    let Some((scheme, rest)) = origin.split_once("://") else {
        return false;
    };
    if !matches!(scheme, "http" | "https") || rest.is_empty() {
        return false;
    }
    let (host, port) = if rest.starts_with('[') {
        match rest.split_once(']') {
            Some((v6, "")) => (&v6[1..], None),
            Some((v6, port)) => match port.strip_prefix(':') {
                Some(port) => (&v6[1..], Some(port)),
                None => return false,
            },
            None => return false,
        }
    } else {
        match rest.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (rest, None),
        }
    };
    let host_ok = !host.is_empty()
        && host.bytes().all(|b| {
            b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.') || (b == b':' && rest.starts_with('['))
        });
    let port_ok = port.is_none_or(|p| (1..=5).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit()));
    host_ok && port_ok
}

fn parse_bool(
    get: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    default: bool,
) -> Result<bool, ConfigError> {
    match get(name).as_deref().map(str::to_ascii_lowercase).as_deref() {
        None => Ok(default),
        Some("true" | "1" | "yes" | "on") => Ok(true),
        Some("false" | "0" | "no" | "off") => Ok(false),
        Some(other) => Err(invalid(name, format!("`{other}` is not true or false"))),
    }
}

fn parse_num<T: std::str::FromStr>(
    get: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    default: T,
) -> Result<T, ConfigError> {
    match get(name) {
        None => Ok(default),
        Some(v) => v
            .parse()
            .map_err(|_| invalid(name, format!("`{v}` is not a non-negative whole number"))),
    }
}

fn positive(
    get: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    default: u64,
) -> Result<u64, ConfigError> {
    match parse_num(get, name, default)? {
        0 => Err(invalid(name, "must be greater than zero")),
        n => Ok(n),
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
            vec!["https://a.example", "https://b.example"]
        );
        assert_eq!(c.trusted_proxies.len(), 2);
    }

    #[test]
    fn cors_origins_must_be_exact() {
        for good in [
            "https://www.example.com",
            "http://localhost:3000",
            "https://a.example:8443",
            "http://[::1]:8080",
        ] {
            assert!(config(&[("CORS_ALLOWED_ORIGINS", good)]).is_ok(), "{good}");
        }
        for bad in [
            "*",
            "https://*.example.com",
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
