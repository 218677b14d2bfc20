//! The reader of the change log that keeps this instance's response cache
//! fresh: it evicts the keys of every change another instance (or a
//! process on the same SQLite file) committed, of scheduled articles going
//! public, and of counters whose lag is up; and it purges old changes. Its
//! thread also announces scheduled articles whose time has come (records
//! their `published` change, once across instances), cache on or off.
//!
//! ```text
//!  instance A                       database                  instance B
//!  write ──┬─ tx: rows + change ──▶ changes (tx, id, keys)
//!          └─ after commit: evict
//!             A's entries by key
//!                                   ◀── every 200 ms ───────  follower reads
//!                                       rows after its          settled + recent
//!                                       position                rows, evicts B's
//!                                                               entries by key
//! ```
//!
//! Why polling and not `LISTEN`: diesel reads notifications only when
//! asked, so waiting for them would mean a second PostgreSQL client; a poll
//! every [`POLL`] is five indexed reads a second per instance, bounds the
//! delay well inside `response_cache::SYNC_BOUND`, works through a transaction-pooling
//! PgBouncer, and reads one durable source that a dropped connection
//! cannot make it miss.
//!
//! When a poll fails (the database restarted, the network broke), the
//! cache is emptied and bypassed (`ResponseCache::lose_sync`; a warning in
//! the log, `broadsheet_change_log_in_sync 0` in `/metrics`); the first poll
//! that works again starts from the log's head with the cache empty. The
//! cache also refuses itself whenever no poll has been confirmed for
//! `response_cache::SYNC_BOUND`, so a poll that hangs cannot serve stale pages either.

use std::collections::HashSet;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use crate::db::changes::{self, ChangeRow, Position};
use crate::db::{Backend, Db};
use crate::domain::change::Key;
use crate::error::AppError;
use crate::infra::response_cache::{Cause, ResponseCache};

/// How often the log is read.
pub const POLL: Duration = Duration::from_millis(200);
/// Rows read per query; a full batch is followed by another at once.
const BATCH: i64 = 1_000;
const SWEEP_EVERY: Duration = Duration::from_secs(5);
const PURGE_EVERY: Duration = Duration::from_secs(600);
const PURGE_BATCH: i64 = 10_000;
/// Share presses only evict caches, which read them within seconds.
const SHARE_RETENTION: chrono::TimeDelta = chrono::TimeDelta::hours(1);

/// Where the follower is in the log.
/// Records the change of scheduled articles whose time has come (the use
/// case `service::changes::announce_due`, handed in by `AppState`: infra
/// runs it on this thread but calls no use case itself); returns their ids.
pub type Announcer = Box<dyn Fn(&Db) -> Result<Vec<i64>, AppError> + Send>;

struct Follower {
    db: Db,
    announcer: Announcer,
    retention_days: u32,
    /// `None` until the head is read (at start and after a failure).
    position: Option<Position>,
    /// PostgreSQL: ids of rows beyond the settled position that were
    /// applied already (committed, but not settled yet).
    applied_early: HashSet<i64>,
    /// Scheduled articles that went public after this are still to evict.
    published_after: chrono::NaiveDateTime,
    in_sync: bool,
    /// The last announcement round failed (logged once until one works).
    announce_failing: bool,
    last_sweep: Instant,
    last_purge: Option<Instant>,
}

/// Starts the follower thread for `cache`; it ends when the cache is
/// dropped. Returns `None` (and logs) when the thread cannot start, in
/// which case the cache is never trusted (`ResponseCache::follow` without
/// a confirmation bypasses it).
pub fn start(
    db: Db,
    cache: &Arc<ResponseCache>,
    retention_days: u32,
    announcer: Announcer,
) -> Option<std::thread::JoinHandle<()>> {
    // With the cache off the thread only purges the log.
    if cache.enabled() {
        cache.follow();
    }
    let weak = Arc::downgrade(cache);
    let follower = Follower::new(db, retention_days, announcer);
    std::thread::Builder::new()
        .name("change-follower".into())
        .spawn(move || follower.run(weak))
        .map_err(|e| tracing::error!(error = %e, "cannot start the change-log follower; the response cache stays off"))
        .ok()
}

impl Follower {
    fn new(db: Db, retention_days: u32, announcer: Announcer) -> Follower {
        Follower {
            db,
            announcer,
            retention_days,
            position: None,
            applied_early: HashSet::new(),
            published_after: crate::domain::date::now(),
            in_sync: true,
            announce_failing: false,
            last_sweep: Instant::now(),
            // The first purge a minute after start, not at once: a fleet
            // that restarts together should not all purge in one second.
            last_purge: Instant::now().checked_sub(PURGE_EVERY - Duration::from_secs(60)),
        }
    }

    fn run(mut self, cache: Weak<ResponseCache>) {
        loop {
            let Some(cache) = cache.upgrade() else { return };
            // A panic in one tick must not end the thread: the cache would
            // then be bypassed for good (safe, but slow) with no word why.
            let tick = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.tick(&cache)));
            if tick.is_err() {
                tracing::error!("the change-log follower panicked; starting over from the log's head");
                cache.lose_sync();
                self.position = None;
            }
            drop(cache);
            std::thread::sleep(POLL);
        }
    }

    fn tick(&mut self, cache: &ResponseCache) {
        self.announce();
        if cache.enabled() {
            self.follow(cache);
        }
        if self.last_purge.is_none_or(|t| t.elapsed() >= PURGE_EVERY) {
            match self.purge_batch() {
                // More to go: the next tick takes the next batch, so a long
                // purge never holds up the polls (or the SQLite writer).
                Ok(n) if n as i64 == PURGE_BATCH => {}
                Ok(_) => self.last_purge = Some(Instant::now()),
                Err(e) => {
                    self.last_purge = Some(Instant::now());
                    tracing::warn!(error = %e, "could not purge old changes; will retry");
                }
            }
        }
    }

    /// Records the `published` change of scheduled articles whose time has
    /// come (the [`Announcer`], `service::changes::announce_due`: once across instances,
    /// whichever claims it first), before the poll: this instance's cache
    /// evicts at the commit, the others' at their next poll.
    fn announce(&mut self) {
        match (self.announcer)(&self.db) {
            Ok(ids) => {
                if !ids.is_empty() {
                    tracing::debug!(?ids, "scheduled articles announced");
                }
                self.announce_failing = false;
            }
            Err(e) => {
                if !self.announce_failing {
                    tracing::warn!(error = %e, "could not announce scheduled articles; will retry");
                }
                self.announce_failing = true;
            }
        }
    }

    /// One poll of the log for the cache, and the cache's housekeeping.
    fn follow(&mut self, cache: &ResponseCache) {
        // Stamped before the read: what the poll confirms is the log as of
        // its start.
        let started = cache.now_ms();
        match self.poll(cache) {
            Ok(true) => {
                if !self.in_sync {
                    tracing::info!("change log readable again: response cache back on");
                    self.in_sync = true;
                }
                cache.confirm_synced(started);
            }
            // Read, but not all of it: confirm nothing, so the cache turns
            // itself off past the bound rather than serve what it missed.
            Ok(false) => self.in_sync = false,
            Err(e) => {
                if self.in_sync {
                    tracing::warn!(error = %e, "change log unreadable: response cache emptied and bypassed until it is back");
                    self.in_sync = false;
                }
                cache.lose_sync();
                self.position = None;
            }
        }
        cache.apply_lagged(POLL, Cause::Counters);
        if self.last_sweep.elapsed() >= SWEEP_EVERY {
            cache.sweep_expired();
            self.last_sweep = Instant::now();
        }
    }

    /// Reads what was committed since the last poll and evicts its keys.
    /// `Ok(false)` when more rows wait beyond its position than one read
    /// takes: a transaction somewhere on the server has held the settled
    /// position back for that long (see `read_committed_after`).
    fn poll(&mut self, cache: &ResponseCache) -> Result<bool, AppError> {
        let Some(position) = self.position else {
            let head = self.db.read_blocking(|conn| Ok(changes::head(conn)?))?;
            // Replicas must be past every change before the head too: the
            // cache forgets them all at once here.
            self.db.fence_to_primary();
            // Anything kept before the head was read may predate changes
            // this follower will never see: start empty (fills in flight
            // are refused too).
            cache.clear(Cause::Unsynced);
            self.position = Some(head);
            self.applied_early.clear();
            return Ok(true);
        };
        let early = self.db.backend() == Backend::Postgres;
        loop {
            let position = self.position.unwrap_or(position);
            let from = self.published_after;
            let now = crate::domain::date::now();
            let (settled, committed, published) = self.db.read_blocking(move |conn| {
                let settled = changes::read_settled(conn, position, BATCH)?;
                let committed = if early {
                    changes::read_committed_after(conn, position, BATCH)?
                } else {
                    Vec::new()
                };
                let published = crate::db::articles::published_between(conn, from, now)?;
                Ok((settled, committed, published))
            })?;
            self.published_after = now;
            let mut keys = Vec::new();
            for id in published {
                keys.extend([Key::Article(id), Key::Articles, Key::Tags, Key::Authors]);
            }
            self.take(&settled, &committed, &mut keys);
            if !keys.is_empty() {
                // Before the eviction: a miss after it must not be read
                // from a replica that has not replayed these rows.
                self.db.fence_to_primary();
                keys.sort_unstable();
                keys.dedup();
                cache.invalidate(&keys, Cause::OtherInstance);
            }
            let complete = (committed.len() as i64) < BATCH;
            // A full batch of settled rows: there may be more. A window of
            // committed rows wider than a batch: read on while the settled
            // position moves.
            if settled.len() as i64 == BATCH || (!complete && !settled.is_empty()) {
                continue;
            }
            if !complete && self.in_sync {
                tracing::warn!(
                    "more than {BATCH} changes wait behind a transaction still running on the database server: response cache bypassed until it ends"
                );
            }
            return Ok(complete);
        }
    }

    /// The keys of rows not yet applied and not this instance's own (those
    /// were evicted at commit); moves the position on.
    fn take(&mut self, settled: &[ChangeRow], committed: &[ChangeRow], keys: &mut Vec<Key>) {
        let own = self.db.origin();
        for row in committed {
            if self.applied_early.insert(row.id) && row.origin != own {
                keys.extend(row.keys());
            }
        }
        for row in settled {
            self.position = Some(row.position());
            if !self.applied_early.remove(&row.id) && row.origin != own {
                keys.extend(row.keys());
            }
        }
    }

    /// Deletes one batch of changes past retention (share presses after an
    /// hour); returns how many went.
    fn purge_batch(&self) -> Result<usize, AppError> {
        let now = crate::domain::date::now();
        let before = now - chrono::TimeDelta::days(self.retention_days.into());
        let shares_before = now - SHARE_RETENTION;
        self.db
            .write_blocking(|conn| Ok(changes::purge(conn, before, shares_before, PURGE_BATCH)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::change::{Action, Change, Entity};

    #[test]
    fn applies_other_origins_changes_once_and_not_its_own() {
        let dir = tempfile::tempdir().unwrap();
        let (db, url) = crate::db::test_sqlite_db(dir.path());
        crate::db::migrate::run_pending(&url).unwrap();
        let cache = Arc::new(ResponseCache::new(
            1 << 20,
            Duration::from_secs(60),
            Duration::ZERO,
        ));
        let mut follower = Follower::new(db.clone(), 30, Box::new(|_| Ok(Vec::new())));
        follower.poll(&cache).unwrap();
        let put = |key: &str, k: Key| {
            cache.store(
                key.into(),
                cache.ticket(),
                Duration::from_secs(60),
                vec![k],
                crate::infra::response_cache::CachedResponse {
                    etag: http::HeaderValue::from_static("\"1\""),
                    headers: vec![],
                    body: bytes::Bytes::from_static(b"x"),
                },
            )
        };
        put("/a/1", Key::Article(1));
        put("/a/2", Key::Article(2));
        // Written through another handle (another origin): as another
        // instance would.
        let other = Db::connect(
            &url,
            crate::db::PoolOptions {
                max_size: Some(1),
                timeout: Duration::from_secs(5),
                pooler: Default::default(),
            },
        )
        .unwrap();
        other
            .write_blocking(|conn| {
                let change = Change::new(Entity::Article, 1, Action::Updated, [Key::Article(1)]);
                changes::record(conn, &change, crate::domain::date::now())?;
                Ok(())
            })
            .unwrap();
        follower.poll(&cache).unwrap();
        assert!(cache.lookup("/a/1").is_none(), "another instance's change evicts");
        assert!(cache.lookup("/a/2").is_some());
        assert_eq!(cache.stats().evictions(Cause::OtherInstance), 1);
        put("/a/1", Key::Article(1));
        follower.poll(&cache).unwrap();
        assert!(cache.lookup("/a/1").is_some(), "a change is applied once");
    }
}
