//! Read replicas (`DATABASE_REPLICA_URLS`): PostgreSQL streaming replicas
//! that serve public reads ([`super::Db::read_public`]); writes, editors'
//! reads and everything inside a write transaction stay on the primary.
//!
//! Invariants this module owns:
//! - **The fence.** [`ReplicaSet::fence`] is a WAL position (LSN) of the
//!   primary that covers every write this instance committed and every
//!   change-log row it has applied to its cache. It is raised *before* the
//!   matching cache eviction (in `Db::write_blocking` before the commit
//!   listeners; by the change follower before it evicts), and a replica
//!   serves a public read only when it has replayed at least that far
//!   (checked on the connection itself when the last health check saw it
//!   behind). So a cache miss after an eviction never reads the evicted
//!   state back from a lagging replica and stores it; and whoever reads
//!   through this instance after a write sees that write.
//! - When the fence is unknown (a write whose COMMIT answer was lost, the
//!   primary's position unreadable), it is [`UNKNOWN`] and every public
//!   read goes to the primary until a health check reads the primary's
//!   position again.
//! - **Rotation.** A health thread per replica ([`health`]) measures its
//!   lag every [`health::CHECK_EVERY`] and keeps it in rotation only while
//!   it answers, is in recovery, and lags at most `REPLICA_MAX_LAG_SECONDS`.
//!   With none in rotation, public reads go to the primary.

mod health;
mod reads;

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use diesel::r2d2::{Pool, PooledConnection};
use diesel::sql_types::{BigInt, Nullable};
use diesel::{QueryableByName, RunQueryDsl};

use super::DbConnection;
use super::connection::{
    ConnectionSettings, Manager, QueryCounts, checkout, run_uncounted, with_libpq_timeouts,
};
use crate::config::cluster::Pooler;
use crate::error::AppError;

/// The fence when it is not known: no replica has replayed this far.
const UNKNOWN: u64 = u64::MAX;
const NO_LAG: u64 = u64::MAX;

/// Where a replica stands, as `/readyz` and `/metrics` show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplicaState {
    /// Not checked yet.
    Starting = 0,
    /// In rotation.
    Healthy = 1,
    /// Answers, but lags more than `REPLICA_MAX_LAG_SECONDS`.
    Lagging = 2,
    /// Does not answer, or is not a replica (not in recovery).
    Down = 3,
}

impl ReplicaState {
    pub const ALL: [ReplicaState; 4] = [
        ReplicaState::Starting,
        ReplicaState::Healthy,
        ReplicaState::Lagging,
        ReplicaState::Down,
    ];

    pub fn label(self) -> &'static str {
        match self {
            ReplicaState::Starting => "starting",
            ReplicaState::Healthy => "healthy",
            ReplicaState::Lagging => "lagging",
            ReplicaState::Down => "down",
        }
    }

    fn from_u8(n: u8) -> ReplicaState {
        Self::ALL.get(n as usize).copied().unwrap_or(ReplicaState::Down)
    }
}

/// One replica's standing, read at a moment.
#[derive(Debug, Clone)]
pub struct ReplicaStatus {
    /// 1-based, in the order of `DATABASE_REPLICA_URLS`.
    pub index: usize,
    pub state: ReplicaState,
    /// Seconds behind the primary at the last check; `None` before one
    /// succeeded.
    pub lag_seconds: Option<f64>,
    /// Public reads it served.
    pub reads: u64,
}

impl ReplicaStatus {
    pub fn in_rotation(&self) -> bool {
        self.state == ReplicaState::Healthy
    }
}

pub(super) struct Replica {
    index: usize,
    /// `host:port/db` without credentials, for logs.
    name: String,
    pool: Pool<Manager>,
    state: AtomicU8,
    replay_lsn: AtomicU64,
    lag_ms: AtomicU64,
    reads: AtomicU64,
}

impl Replica {
    fn state(&self) -> ReplicaState {
        ReplicaState::from_u8(self.state.load(Ordering::SeqCst))
    }

    /// Moves to `state`, logging when it leaves or rejoins the rotation.
    fn set_state(&self, state: ReplicaState, why: &str) {
        let before = ReplicaState::from_u8(self.state.swap(state as u8, Ordering::SeqCst));
        if before == state {
            return;
        }
        let (index, name) = (self.index, self.name.as_str());
        match state {
            ReplicaState::Healthy => tracing::info!(replica = index, %name, "replica in rotation"),
            _ => tracing::warn!(replica = index, %name, state = state.label(), reason = why,
                "replica out of rotation: public reads go to the others or the primary"),
        }
    }

    /// What it has replayed, as measured just now on `conn` (kept if newer).
    fn replayed_on(&self, conn: &mut PooledConnection<Manager>) -> Option<u64> {
        let lsn = run_uncounted(conn, |c| Ok(replay_lsn(c)?)).ok()??;
        self.replay_lsn.fetch_max(lsn, Ordering::SeqCst);
        Some(lsn)
    }
}

/// The replicas of one `Db`, the fence, and the primary pool the health
/// checks compare against.
pub(super) struct ReplicaSet {
    replicas: Vec<Replica>,
    primary: Pool<Manager>,
    fence: AtomicU64,
    /// Bumped every time the fence becomes unknown (see `resolve_fence`).
    unknowns: AtomicU64,
    next: AtomicUsize,
    primary_reads: AtomicU64,
    max_lag: Duration,
    timeout: Duration,
}

impl ReplicaSet {
    /// Pools for `urls` (each as large as the primary's) and a health
    /// thread per replica. Connections are opened lazily: a replica that is
    /// down at start is `down` until it answers.
    pub(super) fn start(
        urls: &[String],
        max_lag: Duration,
        primary: &Pool<Manager>,
        (statement_timeout, pooler): (Duration, Pooler),
        queries: QueryCounts,
    ) -> Arc<ReplicaSet> {
        let replicas = urls
            .iter()
            .enumerate()
            .map(|(i, url)| {
                let settings = ConnectionSettings {
                    url: with_libpq_timeouts(url, statement_timeout),
                    backend: super::Backend::Postgres,
                    statement_timeout,
                    queries: queries.clone(),
                    pooler,
                };
                let pool = Pool::builder()
                    .max_size(primary.max_size())
                    .min_idle(Some(0))
                    .connection_timeout(statement_timeout)
                    .test_on_check_out(false)
                    .build_unchecked(Manager(settings));
                Replica {
                    index: i + 1,
                    name: display_name(url),
                    pool,
                    state: AtomicU8::new(ReplicaState::Starting as u8),
                    replay_lsn: AtomicU64::new(0),
                    lag_ms: AtomicU64::new(NO_LAG),
                    reads: AtomicU64::new(0),
                }
            })
            .collect();
        let set = Arc::new(ReplicaSet {
            replicas,
            primary: primary.clone(),
            // Unknown until the first check reads the primary's position.
            fence: AtomicU64::new(UNKNOWN),
            unknowns: AtomicU64::new(0),
            next: AtomicUsize::new(0),
            primary_reads: AtomicU64::new(0),
            max_lag,
            timeout: statement_timeout,
        });
        for index in 0..set.replicas.len() {
            health::spawn(Arc::downgrade(&set), index);
        }
        set
    }

    /// A connection to a replica in rotation that has replayed past the
    /// fence, round robin; `None`: read on the primary.
    pub(super) fn checkout(&self) -> Option<(&Replica, PooledConnection<Manager>)> {
        let fence = self.fence.load(Ordering::SeqCst);
        let n = self.replicas.len();
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        if fence != UNKNOWN {
            for i in 0..n {
                let replica = &self.replicas[(start + i) % n];
                if replica.state() != ReplicaState::Healthy {
                    continue;
                }
                // A replica in rotation whose pool cannot give a connection
                // soon is passed over; its health check decides about it.
                let Ok(mut conn) = replica.pool.get_timeout(self.timeout / 2) else {
                    continue;
                };
                let replayed = replica.replay_lsn.load(Ordering::SeqCst) >= fence
                    || replica.replayed_on(&mut conn).is_some_and(|lsn| lsn >= fence);
                if replayed {
                    replica.reads.fetch_add(1, Ordering::Relaxed);
                    return Some((replica, conn));
                }
            }
        }
        self.primary_reads.fetch_add(1, Ordering::Relaxed);
        None
    }

    /// A read on `replica` failed as unavailable: out of rotation until
    /// its next check finds it answering; the caller makes the read again
    /// on the primary, counted as a fallback read.
    pub(super) fn read_failed(&self, replica: &Replica) {
        replica.set_state(ReplicaState::Down, "a read failed");
        // Counted where it is served: the primary, not this replica.
        replica.reads.fetch_sub(1, Ordering::Relaxed);
        self.primary_reads.fetch_add(1, Ordering::Relaxed);
    }

    /// After a write on `conn` (the primary): the fence moves to the
    /// primary's position now, which is past the write's commit. A write
    /// that failed as unavailable may still have committed (its COMMIT's
    /// answer lost): then, or when the position cannot be read, the fence
    /// is unknown until a check reads it. Any other failure rolled back.
    pub(super) fn after_write<T>(&self, conn: &mut PooledConnection<Manager>, outcome: &Result<T, AppError>) {
        match outcome {
            Ok(_) => match run_uncounted(conn, |c| Ok(primary_lsn(c)?)) {
                Ok(lsn) => {
                    self.fence.fetch_max(lsn, Ordering::SeqCst);
                }
                Err(_) => self.forget_fence(),
            },
            Err(AppError::Unavailable(_)) => self.forget_fence(),
            Err(_) => {}
        }
    }

    /// Raises the fence to the primary's position now: called by the
    /// change follower after it read rows and before it evicts for them.
    pub(super) fn fence_to_primary(&self) {
        let lsn = checkout(&self.primary, self.timeout)
            .and_then(|mut conn| run_uncounted(&mut conn, |c| Ok(primary_lsn(c)?)));
        match lsn {
            Ok(lsn) => {
                self.fence.fetch_max(lsn, Ordering::SeqCst);
            }
            Err(_) => self.forget_fence(),
        }
    }

    fn forget_fence(&self) {
        self.unknowns.fetch_add(1, Ordering::SeqCst);
        self.fence.store(UNKNOWN, Ordering::SeqCst);
    }

    /// An unknown fence becomes `lsn`, the primary's position read after
    /// `unknowns_before` was: past every write that made it unknown by
    /// then. One that made it unknown meanwhile puts it back to unknown.
    fn resolve_fence(&self, unknowns_before: u64, lsn: u64) {
        if self
            .fence
            .compare_exchange(UNKNOWN, lsn, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok()
            && self.unknowns.load(Ordering::SeqCst) != unknowns_before
        {
            self.fence.store(UNKNOWN, Ordering::SeqCst);
        }
    }

    pub(super) fn status(&self) -> Vec<ReplicaStatus> {
        self.replicas
            .iter()
            .map(|r| {
                let lag = r.lag_ms.load(Ordering::SeqCst);
                ReplicaStatus {
                    index: r.index,
                    state: r.state(),
                    lag_seconds: (lag != NO_LAG).then(|| lag as f64 / 1000.0),
                    reads: r.reads.load(Ordering::Relaxed),
                }
            })
            .collect()
    }

    /// Public reads that went to the primary (no replica in rotation and
    /// past the fence).
    pub(super) fn primary_reads(&self) -> u64 {
        self.primary_reads.load(Ordering::Relaxed)
    }
}

/// `postgres://user:pw@host:5433/db?x` → `host:5433/db`.
fn display_name(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let rest = rest.rsplit_once('@').map_or(rest, |(_, r)| r);
    rest.split('?').next().unwrap_or(rest).to_string()
}

#[derive(QueryableByName)]
struct Lsn {
    #[diesel(sql_type = Nullable<BigInt>)]
    lsn: Option<i64>,
}

/// The primary's current WAL write position, as bytes from `0/0`.
fn primary_lsn(conn: &mut DbConnection) -> diesel::QueryResult<u64> {
    let row: Lsn =
        diesel::sql_query("SELECT (pg_current_wal_lsn() - '0/0'::pg_lsn)::bigint AS lsn").get_result(conn)?;
    Ok(row.lsn.unwrap_or(0) as u64)
}

/// What a replica has replayed; `None` when it is not in recovery (a
/// primary, or a promoted replica: not something to read behind).
fn replay_lsn(conn: &mut DbConnection) -> diesel::QueryResult<Option<u64>> {
    let row: Lsn = diesel::sql_query(
        "SELECT CASE WHEN pg_is_in_recovery() \
         THEN (pg_last_wal_replay_lsn() - '0/0'::pg_lsn)::bigint END AS lsn",
    )
    .get_result(conn)?;
    Ok(row.lsn.map(|n| n as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_drop_credentials_and_options() {
        assert_eq!(
            display_name("postgres://u:secret@db2:5433/news?sslmode=require"),
            "db2:5433/news"
        );
        assert_eq!(display_name("postgresql://db3/news"), "db3/news");
    }

    #[test]
    fn states_round_trip() {
        for state in ReplicaState::ALL {
            assert_eq!(ReplicaState::from_u8(state as u8), state);
        }
    }
}
