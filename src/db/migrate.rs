//! Schema migrations, embedded in the binary: `migrations/sqlite` and
//! `migrations/postgres` hold the same migrations under the same names, one
//! per backend dialect. They run at start (and with `broadsheet migrate`).
//!
//! On PostgreSQL they run in one transaction under a transaction-level
//! advisory lock, so several instances that start together apply each
//! migration exactly once, and no lock or prepared statement outlives the
//! transaction: the same works directly and through a pooler in
//! transaction mode (`DATABASE_POOLER=transaction`), where a session lock
//! could be taken on one server connection and released on another. The
//! pending migrations thus apply all or none. A migration that cannot run
//! in a transaction (`CREATE INDEX CONCURRENTLY`) would need a direct
//! connection and a session lock: there is none so far.

use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection, RunQueryDsl, SqliteConnection};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use super::connection::pg_establish;
use super::{Backend, sqlite_path};

const SQLITE: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// Arbitrary constant shared by every instance: "broadsheet" in ASCII, folded.
const ADVISORY_LOCK_KEY: i64 = 0x6272_6f61_6473_6874;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Applies every pending migration; returns the versions it applied.
pub fn run_pending(url: &str) -> Result<Vec<String>, BoxError> {
    match Backend::from_url(url)? {
        Backend::Sqlite => {
            let path = std::path::Path::new(sqlite_path(url));
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)?;
            }
            let mut conn = SqliteConnection::establish(sqlite_path(url))?;
            conn.batch_execute("PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 10000;")?;
            applied(conn.run_pending_migrations(SQLITE)?)
        }
        Backend::Postgres => {
            let mut conn = pg_establish(url)?;
            with_pg_lock(&mut conn, |conn| applied(conn.run_pending_migrations(POSTGRES)?))
        }
    }
}

/// Reverts every migration (used to test that each `down.sql` works).
pub fn revert_all(url: &str) -> Result<(), BoxError> {
    match Backend::from_url(url)? {
        Backend::Sqlite => {
            let mut conn = SqliteConnection::establish(sqlite_path(url))?;
            conn.revert_all_migrations(SQLITE)?;
        }
        Backend::Postgres => {
            let mut conn = pg_establish(url)?;
            with_pg_lock(&mut conn, |conn| {
                conn.revert_all_migrations(POSTGRES)?;
                Ok(())
            })?;
        }
    }
    Ok(())
}

fn with_pg_lock<T>(
    conn: &mut PgConnection,
    f: impl FnOnce(&mut PgConnection) -> Result<T, BoxError>,
) -> Result<T, BoxError> {
    // Unnamed statements only: see the module doc.
    conn.set_prepared_statement_cache_size(diesel::connection::CacheSize::Disabled);
    conn.transaction(|conn| {
        diesel::sql_query(format!("SELECT pg_advisory_xact_lock({ADVISORY_LOCK_KEY})")).execute(conn)?;
        f(conn)
    })
}

fn applied(versions: Vec<diesel::migration::MigrationVersion<'_>>) -> Result<Vec<String>, BoxError> {
    Ok(versions.into_iter().map(|v| v.to_string()).collect())
}
