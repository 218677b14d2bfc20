//! The change log (table `changes`): written by every write that changes
//! what the public API shows, in that write's own transaction, and read by
//! the caches of every instance, by the public sync feed ([`read_feed`]:
//! the public article changes; [`floor`]: how far purges have reached into
//! them) and by webhooks.
//!
//! Reading without skipping: ids are taken in one order and may commit in
//! another. On PostgreSQL each row carries its transaction's id (`tx`); a
//! reader orders by `(tx, id)` and reads only rows of transactions older
//! than every transaction still running (`pg_snapshot_xmin`), which can no
//! longer add rows below its position. SQLite runs one write transaction at
//! a time, so `tx` is 0 and rows commit in id order.
//!
//! Writers never pass keys around by hand: [`record`] also hands the keys to
//! the write that is running on this thread ([`collecting`], used by
//! `Db::write_blocking`), which gives them to the `Db`'s commit listeners
//! once the transaction has committed: that is how the instance that made a
//! write evicts its cache before the response leaves.

use std::cell::RefCell;

use chrono::NaiveDateTime;
use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::BigInt;

use super::DbConnection;
use super::schema::{changes, changes_floor};
use crate::domain::change::{self, Action, Change, Entity, Key};

/// A position in the log: everything at or before it has been read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Position {
    pub tx: i64,
    pub id: i64,
}

/// One stored change.
#[derive(Debug, Clone, Queryable)]
pub struct ChangeRow {
    pub id: i64,
    pub tx: i64,
    pub origin: i64,
    pub entity: Entity,
    pub entity_id: i64,
    pub action: Action,
    pub keys: String,
    pub changed_at: NaiveDateTime,
    /// The outside world could see this change (see [`Change::public`]).
    pub public: bool,
    /// The entity's slug after the change (before it, for a delete).
    pub slug: Option<String>,
}

impl ChangeRow {
    pub fn position(&self) -> Position {
        Position {
            tx: self.tx,
            id: self.id,
        }
    }

    pub fn keys(&self) -> Vec<Key> {
        change::split(&self.keys)
    }
}

struct Collecting {
    origin: i64,
    keys: Vec<Key>,
}

thread_local! {
    static COLLECTING: RefCell<Option<Collecting>> = const { RefCell::new(None) };
}

/// Runs a write's transaction, `f`, collecting the keys its [`record`]s
/// name; rows are stamped with `origin` (the instance).
pub(super) fn collecting<T>(origin: i64, f: impl FnOnce() -> T) -> (T, Vec<Key>) {
    struct Reset;
    impl Drop for Reset {
        fn drop(&mut self) {
            COLLECTING.with(|c| c.borrow_mut().take());
        }
    }
    COLLECTING.with(|c| {
        *c.borrow_mut() = Some(Collecting {
            origin,
            keys: Vec::new(),
        })
    });
    let _reset = Reset;
    let out = f();
    let keys = COLLECTING.with(|c| c.borrow_mut().take().map(|c| c.keys).unwrap_or_default());
    (out, keys)
}

/// Records `change` in the transaction running on `conn`.
pub fn record(conn: &mut DbConnection, change: &Change, at: NaiveDateTime) -> QueryResult<()> {
    let origin = COLLECTING.with(|c| {
        let mut c = c.borrow_mut();
        let Some(c) = c.as_mut() else { return 0 };
        c.keys.extend_from_slice(&change.keys);
        c.origin
    });
    diesel::insert_into(changes::table)
        .values((
            changes::origin.eq(origin),
            changes::entity.eq(change.entity),
            changes::entity_id.eq(change.entity_id),
            changes::action.eq(change.action),
            changes::keys.eq(change::join(&change.keys)),
            changes::changed_at.eq(at),
            changes::public.eq(change.public),
            changes::slug.eq(change.slug.as_deref()),
        ))
        .execute(conn)?;
    Ok(())
}

/// `(tx, id) > after`, in SQL.
fn after_filter(
    after: Position,
) -> Box<dyn BoxableExpression<changes::table, super::MultiBackend, SqlType = diesel::sql_types::Bool>> {
    Box::new(
        changes::tx
            .gt(after.tx)
            .or(changes::tx.eq(after.tx).and(changes::id.gt(after.id))),
    )
}

const SETTLED_TX: &str = "pg_snapshot_xmin(pg_current_snapshot())::text::bigint";

/// Up to `limit` rows after `after`, in log order, that can no longer be
/// preceded by a row committing later ("settled").
pub fn read_settled(conn: &mut DbConnection, after: Position, limit: i64) -> QueryResult<Vec<ChangeRow>> {
    read_after(conn, after, limit, Rows::Settled)
}

/// Up to `limit` committed rows after `after`, settled or not, in log
/// order: what a cache applies early (evicting early is always safe), so
/// that a transaction running long anywhere on the server (which holds the
/// settled position back: `pg_snapshot_xmin` covers every database of it)
/// cannot hold back every other instance's evictions. A reader that finds
/// a full batch here behind an unmoving settled position knows it may be
/// missing rows beyond it.
pub fn read_committed_after(
    conn: &mut DbConnection,
    after: Position,
    limit: i64,
) -> QueryResult<Vec<ChangeRow>> {
    read_after(conn, after, limit, Rows::Committed)
}

/// Written as SQL text, not bound parameters, so that both planners match
/// it with the partial index `changes_feed`.
const FEED: &str = "entity = 'article' AND public";

/// Up to `limit` settled public article changes after `after`, in log
/// order: the sync feed (`GET /changes`).
pub fn read_feed(conn: &mut DbConnection, after: Position, limit: i64) -> QueryResult<Vec<ChangeRow>> {
    read_after(conn, after, limit, Rows::SettledFeed)
}

/// Which rows a read of the log after a position takes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Rows {
    /// Every committed row.
    Committed,
    /// Settled rows only (on SQLite every committed row is settled).
    Settled,
    /// Settled public article changes: the sync feed.
    SettledFeed,
}

/// The one read of the log after a position, in log order.
fn read_after(
    conn: &mut DbConnection,
    after: Position,
    limit: i64,
    rows: Rows,
) -> QueryResult<Vec<ChangeRow>> {
    // The clauses in the order the statements had when they were three
    // (the feed's first), so the SQL text, and its plan, stay as they were.
    let mut query = changes::table.into_boxed();
    if rows == Rows::SettledFeed {
        query = query.filter(sql::<diesel::sql_types::Bool>(FEED));
    }
    query = query
        .filter(after_filter(after))
        .order((changes::tx, changes::id))
        .limit(limit);
    if rows != Rows::Committed && matches!(conn, DbConnection::Pg(_)) {
        query = query.filter(changes::tx.lt(sql::<BigInt>(SETTLED_TX)));
    }
    query.load(conn)
}

/// Where a new feed reader starts: the last settled public article change
/// (or the floor, if higher). No feed row can ever appear at or before it:
/// every transaction up to its own has ended. Unlike [`head`] it moves only
/// when the feed does, so the answer that hands it out stays the same (and
/// cacheable) while nothing public changes.
pub fn feed_head(conn: &mut DbConnection) -> QueryResult<Position> {
    let mut query = changes::table
        .filter(sql::<diesel::sql_types::Bool>(FEED))
        .select((changes::tx, changes::id))
        .order((changes::tx.desc(), changes::id.desc()))
        .into_boxed();
    if matches!(conn, DbConnection::Pg(_)) {
        query = query.filter(changes::tx.lt(sql::<BigInt>(SETTLED_TX)));
    }
    let last: Option<(i64, i64)> = query.first(conn).optional()?;
    let last = last.map_or(Position::default(), |(tx, id)| Position { tx, id });
    Ok(last.max(floor(conn)?))
}

/// The highest position of a purged public article change (the default
/// position when none was purged): a feed reader at a position below it
/// may have missed that change.
pub fn floor(conn: &mut DbConnection) -> QueryResult<Position> {
    let floor: Option<(i64, i64)> = changes_floor::table
        .select((changes_floor::tx, changes_floor::change_id))
        .first(conn)
        .optional()?;
    Ok(floor.map_or(Position::default(), |(tx, id)| Position { tx, id }))
}

/// Raises the floor to `to` (never lowers it: two purges may race).
fn raise_floor(conn: &mut DbConnection, to: Position) -> QueryResult<()> {
    diesel::update(
        changes_floor::table.filter(
            changes_floor::tx.lt(to.tx).or(changes_floor::tx
                .eq(to.tx)
                .and(changes_floor::change_id.lt(to.id))),
        ),
    )
    .set((changes_floor::tx.eq(to.tx), changes_floor::change_id.eq(to.id)))
    .execute(conn)?;
    Ok(())
}

/// The position a new reader starts from: every row it could still miss
/// lies after it. (On PostgreSQL rows of transactions that committed after
/// the oldest running one began lie after it too: read again, harmlessly.)
pub fn head(conn: &mut DbConnection) -> QueryResult<Position> {
    match conn {
        DbConnection::Pg(_) => {
            let settled: i64 = diesel::select(sql::<BigInt>(SETTLED_TX)).get_result(conn)?;
            Ok(Position {
                tx: settled - 1,
                id: i64::MAX,
            })
        }
        DbConnection::Sqlite(_) => Ok(Position {
            tx: 0,
            id: last_id(conn)?,
        }),
    }
}

/// The highest id in the log (0 when empty).
pub fn last_id(conn: &mut DbConnection) -> QueryResult<i64> {
    let last: Option<i64> = changes::table.select(diesel::dsl::max(changes::id)).first(conn)?;
    Ok(last.unwrap_or(0))
}

/// Deletes up to `limit` rows older than `before`, and share rows (which
/// only caches read) older than `shares_before`; returns how many went.
pub fn purge(
    conn: &mut DbConnection,
    before: NaiveDateTime,
    shares_before: NaiveDateTime,
    limit: i64,
) -> QueryResult<usize> {
    let old = changes::table
        .filter(
            changes::changed_at.lt(before).or(changes::entity
                .eq(Entity::Share)
                .and(changes::changed_at.lt(shares_before))),
        )
        .select(changes::id)
        .order(changes::id)
        .limit(limit);
    let ids: Vec<i64> = old.load(conn)?;
    if ids.is_empty() {
        return Ok(0);
    }
    // The sync feed's floor moves with the public article changes that go,
    // in the same transaction: a feed cursor below it is expired.
    let highest: Option<(i64, i64)> = changes::table
        .filter(changes::id.eq_any(&ids))
        .filter(sql::<diesel::sql_types::Bool>(FEED))
        .select((changes::tx, changes::id))
        .order((changes::tx.desc(), changes::id.desc()))
        .first(conn)
        .optional()?;
    if let Some((tx, id)) = highest {
        raise_floor(conn, Position { tx, id })?;
    }
    diesel::delete(changes::table.filter(changes::id.eq_any(&ids))).execute(conn)
}
