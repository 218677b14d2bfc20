//! Opening connections: the settings each new connection gets, query
//! counting, the pool's connection manager, the libpq timeouts, and the
//! SQLite `BEGIN IMMEDIATE` transaction the writer runs every write in.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use diesel::connection::{
    AnsiTransactionManager, CacheSize, Instrumentation, InstrumentationEvent, SimpleConnection,
    TransactionManager,
};
use diesel::r2d2::{ManageConnection, Pool, PooledConnection, R2D2Connection};
use diesel::result::Error as DieselError;
use diesel::{Connection, PgConnection, SqliteConnection};

use super::{Backend, DbConnection, sqlite_path};
use crate::config::cluster::Pooler;
use crate::error::AppError;

/// How a [`super::Db`] opens and pools its connections.
#[derive(Debug, Clone, Copy)]
pub struct PoolOptions {
    pub max_size: Option<u32>,
    pub timeout: Duration,
    /// `DATABASE_POOLER`: what sits between us and PostgreSQL.
    pub pooler: Pooler,
}

/// Settings every new connection gets.
#[derive(Debug, Clone)]
pub(super) struct ConnectionSettings {
    pub(super) url: String,
    pub(super) backend: Backend,
    pub(super) statement_timeout: Duration,
    pub(super) queries: QueryCounts,
    pub(super) pooler: Pooler,
}

impl ConnectionSettings {
    pub(super) fn new(url: String, backend: Backend, options: &PoolOptions, queries: QueryCounts) -> Self {
        ConnectionSettings {
            url,
            backend,
            statement_timeout: options.timeout,
            queries,
            pooler: options.pooler,
        }
    }
}

/// Statements run by a handle's connections.
#[derive(Debug, Clone, Default)]
pub(super) struct QueryCounts {
    /// Every statement, connection set-up and checkpoints included (`/metrics`).
    pub(super) all: Arc<AtomicU64>,
    /// Only those of work given to [`Db::read`] and [`Db::write`]: what the
    /// requests themselves ran. Tests that hold a list page to a constant
    /// number of queries read this one, since the checkpoint thread and the
    /// pool's connection set-up run statements at moments of their own.
    pub(super) work: Arc<AtomicU64>,
}

thread_local! {
    /// Set while this thread runs work given to `Db::read`/`Db::write`.
    static IN_WORK: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs `f` with this thread's statements counted as work; restores the
/// previous state even when `f` panics.
pub(super) fn counted_as_work<T>(f: impl FnOnce() -> T) -> T {
    struct Restore(bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            IN_WORK.with(|w| w.set(self.0));
        }
    }
    let _restore = Restore(IN_WORK.with(|w| w.replace(true)));
    f()
}

/// Counts the statements a connection runs into [`QueryCounts`].
struct QueryCounter(QueryCounts);

impl Instrumentation for QueryCounter {
    fn on_connection_event(&mut self, event: InstrumentationEvent<'_>) {
        if let InstrumentationEvent::StartQuery { .. } = event {
            self.0.all.fetch_add(1, Ordering::Relaxed);
            if IN_WORK.with(|w| w.get()) {
                self.0.work.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

/// Opens a PostgreSQL connection. Every PostgreSQL connection goes through
/// here so that OpenSSL (which libpq uses for TLS) is initialised first, by
/// us, without its `atexit` clean-up: that clean-up frees OpenSSL's globals
/// while worker threads may still be closing pooled TLS connections, and the
/// race ended a gracefully stopped server in "double free or corruption"
/// (SIGABRT) instead of exit 0.
pub(super) fn pg_establish(url: &str) -> Result<PgConnection, diesel::ConnectionError> {
    openssl_sys::init();
    PgConnection::establish(url)
}

impl ConnectionSettings {
    pub(super) fn establish(&self) -> Result<DbConnection, diesel::ConnectionError> {
        match self.backend {
            Backend::Postgres => {
                let mut conn = pg_establish(&self.url)?;
                conn.set_instrumentation(QueryCounter(self.queries.clone()));
                match self.pooler {
                    // A query that runs longer than the request timeout is
                    // cut off, so a stuck database turns into a 503, not a hang.
                    Pooler::None => conn
                        .batch_execute(&format!(
                            "SET statement_timeout = {}; SET TIME ZONE 'UTC';",
                            self.statement_timeout.as_millis()
                        ))
                        .map_err(diesel::ConnectionError::CouldntSetupConfiguration)?,
                    Pooler::Transaction => for_transaction_pooler(&mut conn)?,
                }
                Ok(DbConnection::Pg(conn))
            }
            Backend::Sqlite => {
                let mut conn = SqliteConnection::establish(sqlite_path(&self.url))?;
                conn.set_instrumentation(QueryCounter(self.queries.clone()));
                // foreign_keys is per connection; WAL lets readers run beside
                // the writer; NORMAL sync in WAL mode keeps every committed
                // transaction across a process crash (kill -9), losing at most
                // the last ones on power loss.
                conn.batch_execute(&format!(
                    "PRAGMA foreign_keys = ON; PRAGMA busy_timeout = {}; \
                     PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;",
                    self.statement_timeout.as_millis()
                ))
                .map_err(diesel::ConnectionError::CouldntSetupConfiguration)?;
                Ok(DbConnection::Sqlite(conn))
            }
        }
    }
}

/// A connection through a pooler in transaction mode, where each
/// transaction (each statement outside one) may run on another server
/// connection: no session state (a `SET` would stay on whichever server
/// connection ran it, for other clients to inherit, and be missing from
/// ours), and no named prepared statements (`__diesel_stmt_N`, prepared on
/// one server connection, is unknown on the next, or already taken there):
/// with diesel's statement cache off, every statement goes out unnamed
/// (prepared, bound and run in one round trip, forgotten at the next).
/// The statement timeout must come from the server side instead
/// (`ALTER ROLE … SET statement_timeout`, docs/DEPLOY.md): a new connection
/// that finds none set says so in the log. The two `SET`s diesel itself
/// sends on connecting (`TIME ZONE 'UTC'`, `CLIENT_ENCODING 'UTF8'`) are
/// safe there: both are parameters the server reports to the client, which
/// PgBouncer tracks per client and sets again on whichever server
/// connection it hands that client.
fn for_transaction_pooler(conn: &mut PgConnection) -> Result<(), diesel::ConnectionError> {
    use diesel::RunQueryDsl;
    conn.set_prepared_statement_cache_size(CacheSize::Disabled);
    let timeout: String = diesel::select(diesel::dsl::sql::<diesel::sql_types::Text>(
        "current_setting('statement_timeout')",
    ))
    .get_result(conn)
    .map_err(diesel::ConnectionError::CouldntSetupConfiguration)?;
    if timeout == "0" {
        tracing::warn!(
            "DATABASE_POOLER=transaction and the server sets no statement_timeout: a stuck query \
             runs on after its request gave up (set it on the role, docs/DEPLOY.md)"
        );
    }
    Ok(())
}

/// [`Connection::transaction`], but on SQLite with `BEGIN IMMEDIATE`: the
/// write lock is taken at the start, where SQLite waits up to `busy_timeout`
/// for it. A deferred transaction that reads first asks for the lock at its
/// first write, and SQLite refuses that at once ("database is locked")
/// whenever another connection holds the lock for an instant (most likely a
/// reader that found the WAL-index header torn and took the lock to check
/// it). Even with one writer, a 20-minute soak at 6,300 requests/s saw two
/// such `503`s.
pub(super) fn immediate_transaction<T>(
    conn: &mut DbConnection,
    f: impl FnOnce(&mut DbConnection) -> Result<T, AppError>,
) -> Result<T, AppError> {
    type Manager = <DbConnection as Connection>::TransactionManager;
    let DbConnection::Sqlite(sqlite) = conn else {
        return conn.transaction(f);
    };
    AnsiTransactionManager::begin_transaction_sql(sqlite, "BEGIN IMMEDIATE")?;
    // Diesel leaves a transaction open when the closure panics. On this
    // long-lived connection every later write would then be refused as
    // already in a transaction (or, with diesel's own `transaction`, nest in
    // a savepoint of one that never commits), so roll back first.
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(&mut *conn)));
    let result = match outcome {
        Ok(result) => result,
        Err(panic) => {
            let _ = Manager::rollback_transaction(conn);
            std::panic::resume_unwind(panic)
        }
    };
    // The rest as diesel's own `transaction` does it.
    match result {
        Ok(value) => {
            Manager::commit_transaction(conn)?;
            Ok(value)
        }
        Err(error) => match Manager::rollback_transaction(conn) {
            Ok(()) | Err(DieselError::BrokenTransactionManager) => Err(error),
            Err(rollback) => Err(rollback.into()),
        },
    }
}

/// A pooled connection plus a flag the pool reads to throw it away.
pub struct ManagedConnection {
    conn: DbConnection,
    broken: bool,
}

pub(super) struct Manager(pub(super) ConnectionSettings);

impl ManageConnection for Manager {
    type Connection = ManagedConnection;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<ManagedConnection, Self::Error> {
        let conn = self.0.establish().map_err(diesel::r2d2::Error::ConnectionError)?;
        Ok(ManagedConnection { conn, broken: false })
    }

    fn is_valid(&self, conn: &mut ManagedConnection) -> Result<(), Self::Error> {
        conn.conn.ping().map_err(diesel::r2d2::Error::QueryError)
    }

    fn has_broken(&self, conn: &mut ManagedConnection) -> bool {
        conn.broken || conn.conn.is_broken()
    }
}

pub(super) fn checkout(
    pool: &Pool<Manager>,
    timeout: Duration,
) -> Result<PooledConnection<Manager>, AppError> {
    pool.get_timeout(timeout)
        .map_err(|e| AppError::Unavailable(format!("no database connection: {e}")))
}

/// Runs `f`; when it failed because the connection died, the pool is told to
/// drop that connection so the next request dials a fresh one. This is what
/// lets the service recover by itself after a database restart.
pub(super) fn run_marking_broken<F, T>(pooled: &mut PooledConnection<Manager>, f: F) -> Result<T, AppError>
where
    F: FnOnce(&mut DbConnection) -> Result<T, AppError>,
{
    counted_as_work(|| run_uncounted(pooled, f))
}

/// [`run_marking_broken`] for background work (the change follower): its
/// statements are not request work, so they stay out of
/// `Db::work_query_count`.
pub(super) fn run_uncounted<F, T>(pooled: &mut PooledConnection<Manager>, f: F) -> Result<T, AppError>
where
    F: FnOnce(&mut DbConnection) -> Result<T, AppError>,
{
    let result = f(&mut pooled.conn);
    if matches!(result, Err(AppError::Unavailable(_))) {
        pooled.broken = true;
    }
    result
}

/// Adds libpq's timeouts to a PostgreSQL URL, each unless it is already
/// there:
/// - `connect_timeout`: dialling (and the start-up handshake with) a dead or
///   silent server fails within the request timeout;
/// - `tcp_user_timeout` (twice the request timeout): a connection whose sent
///   data goes unacknowledged that long, as in a network partition, is
///   closed by the kernel, so the thread and the pool slot stuck on it are
///   freed instead of waiting out TCP's retransmissions (about 15 minutes);
/// - `keepalives`: an idle pooled connection to a vanished server is found
///   dead within about 15 seconds rather than on its next use.
pub(super) fn with_libpq_timeouts(url: &str, timeout: Duration) -> String {
    let secs = timeout.as_secs().max(1);
    let wanted = [
        ("connect_timeout", secs.to_string()),
        (
            "tcp_user_timeout",
            (2 * timeout.as_millis().max(1000)).to_string(),
        ),
        ("keepalives", "1".to_string()),
        ("keepalives_idle", "5".to_string()),
        ("keepalives_interval", "2".to_string()),
        ("keepalives_count", "3".to_string()),
    ];
    let mut out = url.to_string();
    for (name, value) in wanted {
        if url.contains(&format!("{name}=")) {
            continue;
        }
        let separator = if out.contains('?') { '&' } else { '?' };
        out = format!("{out}{separator}{name}={value}");
    }
    out
}

#[cfg(test)]
mod tests {
    use diesel::sql_types::Text;
    use diesel::{Connection, QueryableByName, RunQueryDsl, SqliteConnection};

    /// With `DATABASE_POOLER=transaction` diesel prepares nothing by name:
    /// PostgreSQL's `pg_prepared_statements` (this session's named
    /// statements) stays empty after typed queries, where the default mode
    /// caches each one under a name.
    #[test]
    fn transaction_pooler_mode_sends_only_unnamed_statements() {
        use super::{ConnectionSettings, DbConnection, Pooler, QueryCounts};
        use crate::db::Backend;
        use diesel::IntoSql;
        use diesel::dsl::sql;
        use diesel::sql_types::{BigInt, Integer};
        let Ok(url) = std::env::var("TEST_DATABASE_URL") else {
            assert!(
                std::env::var("REQUIRE_POSTGRES").as_deref() != Ok("1"),
                "TEST_DATABASE_URL unset"
            );
            eprintln!("SKIPPED (no PostgreSQL): transaction_pooler_mode_sends_only_unnamed_statements");
            return;
        };
        let named = |pooler| {
            let settings = ConnectionSettings {
                url: url.clone(),
                backend: Backend::Postgres,
                statement_timeout: std::time::Duration::from_secs(5),
                queries: QueryCounts::default(),
                pooler,
            };
            let Ok(DbConnection::Pg(mut conn)) = settings.establish() else {
                panic!("connect to {url}");
            };
            for n in 0..3 {
                // Typed and bound: what diesel caches (an SQL literal never is).
                let echoed: i32 = diesel::select(n.into_sql::<Integer>())
                    .get_result(&mut conn)
                    .unwrap();
                assert_eq!(echoed, n);
            }
            diesel::select(sql::<BigInt>("count(*) FROM pg_prepared_statements"))
                .get_result::<i64>(&mut conn)
                .unwrap()
        };
        assert!(
            named(Pooler::None) > 0,
            "the default mode no longer caches: this test proves nothing"
        );
        assert_eq!(named(Pooler::Transaction), 0);
    }

    /// `.cargo/config.toml` builds SQLite with its query planner stability
    /// guarantee; without it, SQLite plans a prepared statement again
    /// whenever a value bound to a `LIMIT` or an analysed range changes,
    /// which was every request (docs/BENCHMARKS.md, "Uncached reads").
    #[test]
    fn sqlite_is_built_with_the_query_planner_stability_guarantee() {
        #[derive(QueryableByName)]
        struct CompileOption {
            #[diesel(sql_type = Text)]
            compile_options: String,
        }
        let mut conn = SqliteConnection::establish(":memory:").unwrap();
        let options: Vec<CompileOption> = diesel::sql_query("PRAGMA compile_options")
            .load(&mut conn)
            .unwrap();
        let names: Vec<&str> = options.iter().map(|o| o.compile_options.as_str()).collect();
        assert!(
            names.contains(&"ENABLE_QPSG"),
            "SQLite compile options: {names:?}"
        );
    }
}
