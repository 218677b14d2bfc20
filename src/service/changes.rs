//! The change log's outward uses: the public sync feed
//! (`GET /api/v1/changes`) and the announcement of scheduled articles
//! whose time has come (run by the change follower's thread).
//!
//! Feed invariants:
//! - reads are settled (`db::changes::read_feed`): a change that commits
//!   late is never skipped, it only appears a little later;
//! - a position below the floor (`db::changes::floor`: the highest purged
//!   public article change) is expired: the client would miss a change, so
//!   it must resync; a position at or above it misses nothing, however old.
//!   The rows are read before the floor: a purge committing between the two
//!   reads can only make the answer a `410`, never a silent gap.

use chrono::NaiveDateTime;

use crate::db::{self, Db};
use crate::domain::sync::{self, SyncAction, SyncEntry};
use crate::error::AppError;
use crate::service::keys;

/// A position in the log, `(tx, id)`: what a feed cursor holds.
pub type LogPosition = (i64, i64);

/// One page of the feed.
pub struct FeedPage {
    /// Collapsed: each article once (see `domain::sync::collapse`).
    pub items: Vec<SyncEntry>,
    /// Where the next call starts: after the last change read, or where
    /// this one started when there was none.
    pub next: LogPosition,
    /// More changes wait beyond `next` now.
    pub has_more: bool,
}

/// The position was purged: the client must resync from scratch.
pub struct Expired;

/// The feed's head: a cursor there sees every change committed from now
/// on (and perhaps a few settling now: harmless), and it stays the same
/// while no public article changes.
pub async fn head(db: &Db) -> Result<LogPosition, AppError> {
    let head = db.read(|conn| Ok(db::changes::feed_head(conn)?)).await?;
    Ok((head.tx, head.id))
}

/// Up to `limit` public article changes after `after`.
pub async fn page(db: &Db, after: LogPosition, limit: i64) -> Result<Result<FeedPage, Expired>, AppError> {
    let after = db::changes::Position {
        tx: after.0,
        id: after.1,
    };
    let (rows, floor) = db
        .read(move |conn| {
            let rows = db::changes::read_feed(conn, after, limit + 1)?;
            let floor = db::changes::floor(conn)?;
            Ok((rows, floor))
        })
        .await?;
    if after < floor {
        return Ok(Err(Expired));
    }
    let has_more = rows.len() as i64 > limit;
    let rows = &rows[..rows.len().min(limit as usize)];
    let next = rows.last().map_or(after, |r| r.position());
    let entries = rows
        .iter()
        .map(|r| SyncEntry {
            id: r.entity_id,
            slug: r.slug.clone().unwrap_or_default(),
            action: SyncAction::of(r.action),
            changed_at: r.changed_at,
        })
        .collect();
    Ok(Ok(FeedPage {
        items: sync::collapse(entries),
        next: (next.tx, next.id),
        has_more,
    }))
}

/// Articles announced per transaction; more wait for the next round.
const ANNOUNCE_BATCH: i64 = 500;

/// Records the `published` change of every article whose scheduled time
/// has passed and that no one has announced yet, exactly once across
/// instances (`db::articles::announce::claim_due`); returns their ids.
/// A read first: the write (on SQLite, the one writer's lock) only when
/// something is due.
pub fn announce_due(db: &Db, now: NaiveDateTime) -> Result<Vec<i64>, AppError> {
    let due = db.read_blocking(|conn| Ok(db::articles::announce::any_due(conn, now)?))?;
    if !due {
        return Ok(Vec::new());
    }
    db.write_blocking(|conn| {
        let claimed = db::articles::announce::claim_due(conn, now, ANNOUNCE_BATCH)?;
        for due in &claimed {
            keys::article_announced(conn, due, now)?;
        }
        Ok(claimed.iter().map(|d| d.id).collect())
    })
}
