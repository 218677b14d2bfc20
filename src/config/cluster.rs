//! Settings for running several instances: the shared rate-limit store
//! (`REDIS_URL`, `REDIS_KEY_PREFIX`, `REDIS_TIMEOUT_MS`) and the connection
//! pooler in front of PostgreSQL (`DATABASE_POOLER`).

use std::time::Duration;

use super::{ConfigError, invalid};

/// What sits between the instances and PostgreSQL (`DATABASE_POOLER`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Pooler {
    /// Direct connections, or a pooler in session mode (the default): each
    /// connection keeps its session settings and prepared statements.
    #[default]
    None,
    /// A pooler in transaction mode (PgBouncer `pool_mode = transaction`):
    /// consecutive statements may run on different server connections, so
    /// no session state and no named prepared statements.
    Transaction,
}

/// The shared store of the rate limits (`REDIS_URL`).
#[derive(Clone, PartialEq, Eq)]
pub struct RedisSettings {
    pub url: String,
    /// Put before every key, so that several sites (or test runs) can share
    /// one Redis.
    pub key_prefix: String,
    /// The longest a request waits for Redis before the limit's outage rule
    /// applies.
    pub timeout: Duration,
}

// By hand: the URL may carry a password.
impl std::fmt::Debug for RedisSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisSettings")
            .field("url", &super::redact_url(&self.url))
            .field("key_prefix", &self.key_prefix)
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// `DATABASE_POOLER`: `none` (default) or `transaction`.
pub(super) fn pooler(get: &impl Fn(&str) -> Option<String>) -> Result<Pooler, ConfigError> {
    Ok(match get("DATABASE_POOLER").as_deref() {
        None | Some("none") => Pooler::None,
        Some("transaction") => Pooler::Transaction,
        Some(other) => {
            return Err(invalid(
                "DATABASE_POOLER",
                format!("`{other}` is not one of none, transaction"),
            ));
        }
    })
}

/// `REDIS_URL` (unset: limits are per instance), `REDIS_KEY_PREFIX`
/// (`broadsheet:`), `REDIS_TIMEOUT_MS` (200).
pub(super) fn redis(get: &impl Fn(&str) -> Option<String>) -> Result<Option<RedisSettings>, ConfigError> {
    let Some(url) = get("REDIS_URL") else {
        return Ok(None);
    };
    if !(url.starts_with("redis://") || url.starts_with("rediss://") || url.starts_with("redis+unix://")) {
        return Err(invalid(
            "REDIS_URL",
            "must start with redis://, rediss:// or redis+unix://",
        ));
    }
    let timeout_ms = super::parse::positive(get, "REDIS_TIMEOUT_MS", 200)?;
    Ok(Some(RedisSettings {
        url,
        key_prefix: get("REDIS_KEY_PREFIX").unwrap_or_else(|| "broadsheet:".to_string()),
        timeout: Duration::from_millis(timeout_ms),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string())
    }

    #[test]
    fn pooler_is_none_unless_transaction_and_refuses_others() {
        assert_eq!(pooler(&lookup(&[])).unwrap(), Pooler::None);
        assert_eq!(
            pooler(&lookup(&[("DATABASE_POOLER", "transaction")])).unwrap(),
            Pooler::Transaction
        );
        assert!(pooler(&lookup(&[("DATABASE_POOLER", "session")])).is_err());
    }

    #[test]
    fn redis_is_off_unless_set_and_has_defaults() {
        assert_eq!(redis(&lookup(&[])).unwrap(), None);
        let r = redis(&lookup(&[("REDIS_URL", "redis://127.0.0.1:6379")]))
            .unwrap()
            .unwrap();
        assert_eq!(r.key_prefix, "broadsheet:");
        assert_eq!(r.timeout, Duration::from_millis(200));
        assert!(redis(&lookup(&[("REDIS_URL", "http://x")])).is_err());
        assert!(redis(&lookup(&[("REDIS_URL", "redis://x"), ("REDIS_TIMEOUT_MS", "0")])).is_err());
        let secret = redis(&lookup(&[("REDIS_URL", "redis://:hunter2@cache:6379")])).unwrap();
        assert!(!format!("{secret:?}").contains("hunter2"));
    }
}
