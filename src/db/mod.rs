//! Storage: the only module that talks to diesel.
//!
//! One binary serves SQLite and PostgreSQL. The backend is chosen from the
//! `DATABASE_URL` scheme by [`Backend::from_url`]; anything else is refused
//! (no guessing, no SQLite file created for a typo). Queries are written once
//! against the shared `MultiBackend` where the SQL is the same, and branch on
//! [`DbConnection`] where it is not (full-text search, upserts). The hottest
//! statically typed reads are written once too but run on the backend's
//! own connection (`on_backend!`, which says why).
//!
//! Diesel is synchronous, so [`Db::read`] and [`Db::write`] run the closure on
//! actix's blocking pool with the pool checkout inside it; the async workers never wait on the database.
//!
//! Writes on SQLite go through one dedicated connection behind a mutex: SQLite
//! has a single writer anyway, and queueing in-process avoids `SQLITE_BUSY`
//! errors from lock upgrades between pooled connections. PostgreSQL writes use
//! the pool, each closure in one transaction.

pub mod api_tokens;
pub mod articles;
pub mod authors;
pub mod backup;
pub mod changes;
mod checkpointer;
pub mod comments;
mod connection;
pub mod editors;
mod errors;
pub mod feeds;
mod id_list;
pub mod idempotency;
pub use errors::{carried_in_io, is_unique_violation};
pub(crate) mod generic_plan;
pub mod migrate;
pub(crate) use generic_plan::Page;
pub mod password_resets;
pub mod previews;
mod replicas;
pub use replicas::{ReplicaState, ReplicaStatus};
pub mod schema;
pub mod shares;
pub mod sitemap;
pub mod tags;
pub mod tokens;
mod types;
pub mod webhooks;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use diesel::connection::{SimpleConnection, TransactionManager};
use diesel::r2d2::Pool;
use diesel::{Connection, PgConnection, SqliteConnection};
use parking_lot::{Mutex, MutexGuard};

use crate::error::AppError;
use connection::{
    ConnectionSettings, Manager, QueryCounts, checkout, counted_as_work, immediate_transaction,
    run_marking_broken, run_uncounted, with_libpq_timeouts,
};

#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Pg(PgConnection),
    Sqlite(SqliteConnection),
}

/// Runs `$body` with `$c` bound to the connection's own backend
/// (`SqliteConnection` or `PgConnection`) instead of `DbConnection`; the
/// body is compiled once per backend.
///
/// Why: the query wrapper of diesel's derived `MultiConnection` renders a
/// statement's whole SQL text on every run, twice (to check that it may
/// be cached, then again while collecting its binds), even when the
/// statement is already prepared. That was 16% of the CPU of an uncached
/// article read on SQLite (perf; docs/BENCHMARKS.md, "Uncached reads",
/// third pass). On the backend's own connection a statement with a static
/// query id is found in the cache by its type and its SQL is built once,
/// when first prepared. Only for the hottest reads, which are statically
/// typed: everything else keeps the one spelling through `DbConnection`.
///
/// The wrapper passes the inner query's id through, so a statement run
/// both ways shares one entry of the connection's statement cache: safe
/// because both render the same SQL (the wrapper renders the inner query
/// with the connection's own query builder).
macro_rules! on_backend {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            $crate::db::DbConnection::Sqlite($c) => $body,
            $crate::db::DbConnection::Pg($c) => $body,
        }
    };
}
pub(crate) use on_backend;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// Picks the backend from the URL scheme. `sqlite://PATH`, `sqlite:PATH` and
    /// a bare path (no scheme) are SQLite; `postgres://` and `postgresql://`
    /// are PostgreSQL; any other scheme is an error.
    pub fn from_url(url: &str) -> Result<Backend, String> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Backend::Postgres)
        } else if url.starts_with("sqlite:") {
            Ok(Backend::Sqlite)
        } else if let Some((scheme, _)) = url.split_once("://") {
            Err(format!(
                "unsupported database scheme `{scheme}://`: use sqlite://PATH or postgres://…"
            ))
        } else if url.is_empty() {
            Err("DATABASE_URL is empty".into())
        } else {
            Ok(Backend::Sqlite)
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// The SQLite file path for a `sqlite://PATH` / `sqlite:PATH` / bare-path URL.
pub fn sqlite_path(url: &str) -> &str {
    url.strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .unwrap_or(url)
}

pub use connection::PoolOptions;

/// The one SQLite connection every write goes through, shared with the
/// checkpoint thread. The lock does not poison: a write that panicked was
/// rolled back before the panic went on (`immediate_transaction`), so the
/// connection is sound for the next one.
#[derive(Clone)]
pub(crate) struct WriterConn(Arc<Mutex<DbConnection>>);

impl WriterConn {
    fn lock(&self) -> MutexGuard<'_, DbConnection> {
        self.0.lock()
    }
}

#[derive(Clone)]
struct SqliteWriter {
    conn: WriterConn,
    /// Held only to keep the checkpoint thread alive while a handle exists.
    _checkpoints: Option<Arc<checkpointer::Checkpointer>>,
}

/// Handle to the database: cheap to clone, shared by every worker.
#[derive(Clone)]
pub struct Db {
    pool: Pool<Manager>,
    backend: Backend,
    /// SQLite only: the one connection all writes go through.
    sqlite_writer: Option<SqliteWriter>,
    timeout: Duration,
    queries: QueryCounts,
    /// Bumped after every write (committed or not).
    writes: Arc<AtomicU64>,
    /// This handle's mark on the change-log rows it writes, so that its
    /// own cache (told at commit, below) can skip them when it reads the log.
    origin: i64,
    /// Told the keys of every write's change-log rows, after the commit
    /// (or the failure) and before the write's caller goes on.
    listeners: Arc<parking_lot::RwLock<Vec<CommitListener>>>,
    /// PostgreSQL read replicas for public reads (`Db::with_replicas`).
    replicas: Option<Arc<replicas::ReplicaSet>>,
}

/// Called with the surrogate keys a committed write touched.
pub type CommitListener = Arc<dyn Fn(&[crate::domain::change::Key]) + Send + Sync>;

impl Db {
    /// Connects (lazily: the pool does not fail when the database is down at
    /// start; requests get 503 until it is back).
    pub fn connect(url: &str, options: PoolOptions) -> Result<Db, String> {
        let backend = Backend::from_url(url)?;
        let url = match backend {
            Backend::Postgres => with_libpq_timeouts(url, options.timeout),
            Backend::Sqlite => {
                let path = std::path::Path::new(sqlite_path(url));
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir)
                        .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
                }
                url.to_string()
            }
        };
        let (queries, writes) = (QueryCounts::default(), Arc::new(AtomicU64::new(0)));
        let settings = ConnectionSettings::new(url, backend, &options, queries.clone());
        let sqlite_writer = match backend {
            Backend::Sqlite => {
                let writer = settings
                    .establish()
                    .map_err(|e| format!("cannot open the SQLite database: {e}"))?;
                // Every write goes through this connection. Profiling the
                // share path showed it spending most of its time in the
                // kernel: re-reading pages evicted from the default 2 MB
                // cache, and fsyncing a checkpoint every 4 MB of WAL. A
                // 64 MB cache keeps the hot B-tree pages. Checkpoints run on
                // a thread of their own (see `checkpointer`), so the writer
                // only appends to the WAL; if that thread cannot start, the
                // writer checkpoints every 32 MB itself. Durability is
                // unchanged: committed transactions are in the WAL either way.
                let writer = WriterConn(Arc::new(Mutex::new(writer)));
                let checkpoints = checkpointer::start(&settings, writer.clone(), writes.clone());
                let mut conn = writer.lock();
                conn.batch_execute(&format!(
                    "PRAGMA cache_size = -65536; PRAGMA wal_autocheckpoint = {}; \
                         PRAGMA journal_size_limit = 67108864;",
                    if checkpoints.is_some() { 0 } else { 8192 }
                ))
                .map_err(|e| format!("cannot configure the SQLite writer: {e}"))?;
                drop(conn);
                Some(SqliteWriter {
                    conn: writer,
                    _checkpoints: checkpoints.map(Arc::new),
                })
            }
            Backend::Postgres => None,
        };
        // Two connections per core, at least four: more reads in flight
        // than that only queue inside the database and take turns on the
        // same cores. Measured on 2 cores with PostgreSQL on the same box
        // (uncached article reads, 32 clients): 10,585 req/s with 16
        // connections, 12,221 with 4 (p99 11.8 → 7.9 ms); SQLite home lists
        // 6,668 with 8 readers, 7,452 with 4 (docs/BENCHMARKS.md). At most
        // 16, the earlier default: a large host must not open more than a
        // share of PostgreSQL's default 100 connections by itself.
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get()) as u32;
        let default_size = (2 * cores).clamp(4, 16);
        let pool = Pool::builder()
            .max_size(options.max_size.unwrap_or(default_size))
            .min_idle(Some(0))
            .connection_timeout(options.timeout)
            .test_on_check_out(false)
            .build_unchecked(Manager(settings));
        Ok(Db {
            pool,
            backend,
            sqlite_writer,
            timeout: options.timeout,
            queries,
            writes,
            // Random, so that instances (and test apps) never share one.
            origin: i64::from(rand::random::<u32>()) + 1,
            listeners: Arc::default(),
            replicas: None,
        })
    }

    /// This handle's mark on the change-log rows it writes.
    pub fn origin(&self) -> i64 {
        self.origin
    }

    /// Calls `listener` after every committed write that recorded changes.
    pub fn on_commit(&self, listener: CommitListener) {
        self.listeners.write().push(listener);
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Number of writes committed through this handle so far.
    pub fn write_generation(&self) -> u64 {
        self.writes.load(Ordering::Acquire)
    }

    /// Open and idle connections of the read pool.
    pub fn pool_state(&self) -> (u32, u32) {
        let state = self.pool.state();
        (state.connections, state.idle_connections)
    }

    /// The most pooled connections this handle opens.
    pub fn max_connections(&self) -> u32 {
        self.pool.max_size()
    }

    /// Statements run so far by this handle's connections (setup included).
    pub fn query_count(&self) -> u64 {
        self.queries.all.load(Ordering::Relaxed)
    }

    /// Statements run so far by work given to [`Db::read`] and [`Db::write`]
    /// only: not connection set-up, pool checks or SQLite checkpoints, which
    /// run at moments of their own. What a request costs is the difference
    /// of two readings around it.
    pub fn work_query_count(&self) -> u64 {
        self.queries.work.load(Ordering::Relaxed)
    }

    /// Runs read-only work on a pooled connection, off the async workers.
    pub async fn read<F, T>(&self, f: F) -> Result<T, AppError>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, AppError> + Send + 'static,
        T: Send + 'static,
    {
        let pool = self.pool.clone();
        let timeout = self.timeout;
        self.bounded(actix_web::web::block(move || {
            let mut pooled = checkout(&pool, timeout)?;
            run_marking_broken(&mut pooled, f)
        }))
        .await
    }

    /// [`Db::read`] on the calling thread, for background threads of our
    /// own that may block (the change follower; not counted as request
    /// work); never call it on an async worker.
    pub fn read_blocking<F, T>(&self, f: F) -> Result<T, AppError>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, AppError>,
    {
        let mut pooled = checkout(&self.pool, self.timeout)?;
        run_uncounted(&mut pooled, f)
    }

    /// Runs `f` in one transaction, committed when it returns `Ok`.
    pub async fn write<F, T>(&self, f: F) -> Result<T, AppError>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, AppError> + Send + 'static,
        T: Send + 'static,
    {
        let db = self.clone();
        self.bounded(actix_web::web::block(move || db.write_blocking(f)))
            .await
    }

    /// The longest a request waits for one database call: a pool checkout
    /// (up to `DB_TIMEOUT_SECONDS`), then a statement (PostgreSQL's
    /// `statement_timeout`, SQLite's busy timeout: the same again), plus a
    /// second of slack.
    pub fn call_deadline(&self) -> Duration {
        self.timeout * 2 + Duration::from_secs(1)
    }

    /// Answers `503` when `work` has not finished by [`Db::call_deadline`].
    ///
    /// The server-side timeouts cannot end every wait: a query sent into a
    /// connection that went silent (a network partition, a proxy that stopped
    /// forwarding) waits for an answer that never comes, and PostgreSQL never
    /// saw the query to cancel it. The blocking thread keeps waiting until TCP
    /// gives up (`tcp_user_timeout`) or the connection is closed, and the pool
    /// then drops that connection; the request has long had its `503`. For a
    /// write the outcome is then unknown, as with any `503`: only a `2xx`
    /// promises that it was committed.
    async fn bounded<T>(
        &self,
        work: impl Future<Output = Result<Result<T, AppError>, actix_web::error::BlockingError>>,
    ) -> Result<T, AppError> {
        let deadline = self.call_deadline();
        match actix_web::rt::time::timeout(deadline, work).await {
            Ok(result) => result?,
            Err(_) => Err(AppError::Unavailable(format!(
                "the database did not answer within {deadline:?}"
            ))),
        }
    }

    /// [`Db::write`] on the calling thread, for threads of our own that may
    /// block (the share writer); never call it on an async worker.
    pub fn write_blocking<F, T>(&self, f: F) -> Result<T, AppError>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, AppError>,
    {
        let (result, keys) = changes::collecting(self.origin, || match &self.sqlite_writer {
            Some(writer) => {
                let mut conn = writer.conn.lock();
                let result = counted_as_work(|| immediate_transaction(&mut conn, f));
                // Straight to the checkpoint thread if it is waiting: the
                // next write would otherwise take the lock again first, and
                // under back-to-back writes the WAL could never restart.
                MutexGuard::unlock_fair(conn);
                result
            }
            None => {
                let mut pooled = checkout(&self.pool, self.timeout)?;
                let result = run_marking_broken(&mut pooled, |conn| conn.transaction(f));
                // Before the commit listeners evict: see `replicas`.
                if let Some(replicas) = &self.replicas {
                    replicas.after_write(&mut pooled, &result);
                }
                result
            }
        });
        self.writes.fetch_add(1, Ordering::Release);
        // Failed writes too: a COMMIT whose answer was lost may have
        // committed, and this instance skips its own rows in the log.
        // Evicting for a write that rolled back costs only a miss.
        if !keys.is_empty() {
            for listener in self.listeners.read().iter() {
                listener(&keys);
            }
        }
        result
    }

    /// Readiness probe: one indexed read of a real table, so a database file
    /// that is gone bad fails it, not only a dead server.
    pub async fn ping(&self) -> Result<(), AppError> {
        use diesel::prelude::*;
        self.read(|conn| {
            schema::editors::table
                .filter(schema::editors::id.eq(0))
                .count()
                .get_result::<i64>(conn)?;
            Ok(())
        })
        .await
    }
}

/// A SQLite `Db` on a new file `test.db` in `dir`, one reader; and its URL.
#[cfg(test)]
pub(crate) fn test_sqlite_db(dir: &std::path::Path) -> (Db, String) {
    let url = format!("sqlite://{}", dir.join("test.db").display());
    let options = PoolOptions {
        max_size: Some(1),
        timeout: Duration::from_secs(5),
        pooler: Default::default(),
    };
    (Db::connect(&url, options).unwrap(), url)
}

#[cfg(test)]
mod tests;
