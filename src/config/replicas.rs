//! `DATABASE_REPLICA_URLS` and `REPLICA_MAX_LAG_SECONDS`: PostgreSQL
//! streaming replicas that serve public reads (see `db::replicas`).

use std::time::Duration;

use super::parse::positive;
use super::{ConfigError, invalid};

/// The read replicas and how far behind one may fall before it is taken
/// out of rotation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplicaSettings {
    /// PostgreSQL URLs, in the order given; empty: every read on the primary.
    pub urls: Vec<String>,
    /// `REPLICA_MAX_LAG_SECONDS` (default 5).
    pub max_lag: Duration,
}

fn is_postgres(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

/// Reads both settings. Replicas need a PostgreSQL primary: with SQLite
/// (one file, no replication) the setting is refused rather than ignored,
/// so a deployment never believes it reads from replicas that are unused.
pub(super) fn replicas(
    get: &impl Fn(&str) -> Option<String>,
    database_url: &str,
) -> Result<ReplicaSettings, ConfigError> {
    let name = "DATABASE_REPLICA_URLS";
    let urls: Vec<String> = get(name)
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|u| !u.is_empty())
        .map(str::to_string)
        .collect();
    if let Some(bad) = urls.iter().find(|u| !is_postgres(u)) {
        let scheme = bad.split_once("://").map_or("no scheme", |(s, _)| s);
        return Err(invalid(
            name,
            format!("every replica must be a postgres:// URL (found {scheme})"),
        ));
    }
    if !urls.is_empty() && !is_postgres(database_url) {
        return Err(invalid(
            name,
            "read replicas need a PostgreSQL DATABASE_URL; SQLite has no replicas (unset it)",
        ));
    }
    let max_lag = Duration::from_secs(positive(get, "REPLICA_MAX_LAG_SECONDS", 5)?);
    Ok(ReplicaSettings { urls, max_lag })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(vars: &[(&str, &str)], database_url: &str) -> Result<ReplicaSettings, ConfigError> {
        let get = |k: &str| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string());
        replicas(&get, database_url)
    }

    const PG: &str = "postgres://h/db";

    #[test]
    fn unset_means_none_and_five_seconds() {
        let s = read(&[], PG).unwrap();
        assert!(s.urls.is_empty());
        assert_eq!(s.max_lag, Duration::from_secs(5));
        // And with SQLite, unset is fine.
        assert!(read(&[], "sqlite://x.db").is_ok());
    }

    #[test]
    fn urls_are_split_on_commas_and_trimmed() {
        let vars = [
            ("DATABASE_REPLICA_URLS", "postgres://r1/db, postgresql://r2/db ,,"),
            ("REPLICA_MAX_LAG_SECONDS", "2"),
        ];
        let s = read(&vars, PG).unwrap();
        assert_eq!(s.urls, ["postgres://r1/db", "postgresql://r2/db"]);
        assert_eq!(s.max_lag, Duration::from_secs(2));
    }

    #[test]
    fn sqlite_and_other_schemes_are_refused() {
        let vars = [("DATABASE_REPLICA_URLS", "postgres://r1/db")];
        let e = read(&vars, "sqlite://data/x.db").unwrap_err();
        assert_eq!(e.variable, "DATABASE_REPLICA_URLS");
        assert!(e.message.contains("SQLite"), "{}", e.message);
        let vars = [("DATABASE_REPLICA_URLS", "mysql://r1/db")];
        assert!(read(&vars, PG).unwrap_err().message.contains("mysql"));
        let vars = [
            ("DATABASE_REPLICA_URLS", "postgres://r1/db"),
            ("REPLICA_MAX_LAG_SECONDS", "0"),
        ];
        assert_eq!(read(&vars, PG).unwrap_err().variable, "REPLICA_MAX_LAG_SECONDS");
    }
}
