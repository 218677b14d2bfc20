//! Announcements: the `published` change of an article whose scheduled
//! `published_at` has passed, recorded exactly once however many
//! instances look (`articles.announced_at`, see the migration
//! `000030_sync_feed`).
//!
//! Invariant: `announced_at` is set only while the article is public (or
//! about to be: a clock a few milliseconds apart), and it is set by whoever
//! records the article's `published` change, in that change's transaction:
//! a write that makes the article public (`service::keys::article_written`)
//! or the announcer ([`claim_due`]). A write that takes the article out of
//! public view clears it, so the next publication is announced again.

use chrono::NaiveDateTime;
use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Timestamp};

use crate::db::DbConnection;
use crate::db::schema::articles;

/// Written as SQL text, not bound parameters, so that both planners match
/// it with the partial index `articles_unannounced`. `published_at >
/// created_at`: every article the service leaves to the announcer was
/// scheduled after its creation; rows inserted by hand in bulk (imports,
/// the bench seeder) at or after their `published_at` are not announced,
/// as writes made by hand record no change.
const UNANNOUNCED: &str = "status = 'published' AND announced_at IS NULL AND published_at > created_at";

/// Whether any article waits to be announced at `now` (a read: the
/// announcer takes the write lock only when there is something to claim).
pub fn any_due(conn: &mut DbConnection, now: NaiveDateTime) -> QueryResult<bool> {
    let first = match conn {
        DbConnection::Sqlite(sqlite) => due_on_sqlite(sqlite, now, 1)?.into_iter().next(),
        DbConnection::Pg(pg) => articles::table
            .filter(sql::<Bool>(UNANNOUNCED))
            .filter(articles::published_at.le(now))
            .select(articles::id)
            .first::<i64>(pg)
            .optional()?,
    };
    Ok(first.is_some())
}

#[derive(QueryableByName)]
struct DueId {
    #[diesel(sql_type = BigInt)]
    id: i64,
}

/// The first `limit` ids due at `now` on SQLite, by id. The statement
/// names its index: SQLite's planner takes the `(status, published_at)`
/// index instead, whatever `ANALYZE` says of the partial one, and walks
/// every published article (0.9 s a call at 1M articles, and the change
/// follower asks five times a second: a core kept busy). A renamed index
/// fails loudly here; `tests/api/freshness.rs` (scheduled articles) runs
/// both statements on SQLite.
fn due_on_sqlite(conn: &mut SqliteConnection, now: NaiveDateTime, limit: i64) -> QueryResult<Vec<i64>> {
    let ids: Vec<DueId> = diesel::sql_query(format!(
        "SELECT id FROM articles INDEXED BY articles_unannounced \
         WHERE {UNANNOUNCED} AND published_at <= ? ORDER BY id LIMIT ?"
    ))
    .bind::<Timestamp, _>(now)
    .bind::<BigInt, _>(limit)
    .load(conn)?;
    Ok(ids.into_iter().map(|d| d.id).collect())
}

#[derive(Debug, Clone, Queryable)]
pub struct Due {
    pub id: i64,
    pub slug: String,
    /// When it went public: the change's `changed_at`.
    pub published_at: Option<NaiveDateTime>,
}

/// Claims up to `limit` articles public at `now` and not yet announced,
/// marking them announced at `now`. Atomic: of two transactions claiming
/// the same article, the second gets nothing. On PostgreSQL the rows are
/// locked first, in id order, skipping rows another transaction holds (an
/// announcer on another instance, or an editor's write, which announces
/// the article itself if it makes it public): announcers never wait for
/// each other nor deadlock; what was skipped is looked at again on the
/// next round. The `UPDATE` re-checks the condition either way (SQLite
/// runs one writer at a time).
pub fn claim_due(conn: &mut DbConnection, now: NaiveDateTime, limit: i64) -> QueryResult<Vec<Due>> {
    let ids: Vec<i64> = match conn {
        DbConnection::Pg(pg) => articles::table
            .filter(sql::<Bool>(UNANNOUNCED))
            .filter(articles::published_at.le(now))
            .order(articles::id)
            .select(articles::id)
            .limit(limit)
            .for_update()
            .skip_locked()
            .load(pg)?,
        DbConnection::Sqlite(sqlite) => due_on_sqlite(sqlite, now, limit)?,
    };
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    diesel::update(
        articles::table
            .filter(articles::id.eq_any(&ids))
            .filter(sql::<Bool>(UNANNOUNCED))
            .filter(articles::published_at.le(now)),
    )
    .set(articles::announced_at.eq(now))
    .returning((articles::id, articles::slug, articles::published_at))
    .get_results(conn)
}

/// Article `id`'s `announced_at`, read under the row lock on PostgreSQL
/// (`FOR UPDATE`), so that the write that reads it and the announcer take
/// turns on the article; `None` when the article does not exist. SQLite
/// needs no lock: every write runs on the one writer, in turn.
pub fn lock(conn: &mut DbConnection, id: i64) -> QueryResult<Option<Option<NaiveDateTime>>> {
    let query = articles::table.find(id).select(articles::announced_at);
    match conn {
        DbConnection::Pg(pg) => query.for_update().get_result(pg).optional(),
        DbConnection::Sqlite(sqlite) => query.get_result(sqlite).optional(),
    }
}

/// Sets (or clears) article `id`'s `announced_at`.
pub fn set(conn: &mut DbConnection, id: i64, at: Option<NaiveDateTime>) -> QueryResult<()> {
    diesel::update(articles::table.find(id))
        .set(articles::announced_at.eq(at))
        .execute(conn)?;
    Ok(())
}
