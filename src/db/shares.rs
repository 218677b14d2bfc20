//! Share events and the counters kept beside them.
//!
//! Invariants (every function here keeps them, in the caller's transaction):
//! - `share_counts(article, channel)` is the number of events of that article
//!   and channel; `articles.share_count` is their sum;
//! - `share_daily(article, day, channel)` and `share_daily_totals(day,
//!   channel)` count the events of each UTC day;
//! - rows whose count falls to zero are removed, so a missing row means 0.
//!
//! Reads of counts and statistics use only the counters and rollups, never a
//! count over `share_events`; only the editor list counts events, and only
//! when its filter does not fall on whole days.
//!
//! Diesel's `MultiConnection` has no `ON CONFLICT`, so the upserts run on the
//! backend's own connection ([`per_backend!`]); the SQL is the same on both.
//! Counter rows are always touched in key order (the maps are `BTreeMap`s),
//! so concurrent writers on PostgreSQL lock them in the same order and
//! cannot deadlock one another.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::BigInt;

use super::schema::{articles, share_counts, share_daily, share_daily_totals, share_events};
use super::{DbConnection, MultiBackend};
use crate::domain::share::{DayRange, EventFilter, ShareChannel};

/// Runs `$body` with `$c` bound to the backend's own connection; the body is
/// compiled once per backend.
macro_rules! per_backend {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            DbConnection::Pg($c) => $body,
            DbConnection::Sqlite($c) => $body,
        }
    };
}

/// Rows per multi-row statement: well under SQLite's 32,766 and
/// PostgreSQL's 65,535 bind parameters.
const CHUNK: usize = 1000;

/// Drops the site-wide daily totals of `days` that fell to zero, so the
/// rollups hold only days with shares.
fn delete_empty_daily_totals(conn: &mut DbConnection, days: &[NaiveDate]) -> QueryResult<()> {
    for days in days.chunks(CHUNK) {
        diesel::delete(
            share_daily_totals::table
                .filter(share_daily_totals::day.eq_any(days))
                .filter(share_daily_totals::count.le(0)),
        )
        .execute(conn)?;
    }
    Ok(())
}

mod counters;

use counters::Deltas;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = share_events)]
pub struct ShareEventRow {
    pub id: i64,
    pub article_id: i64,
    pub channel: ShareChannel,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = share_events)]
pub struct NewShareEvent {
    pub article_id: i64,
    pub channel: ShareChannel,
    pub created_at: NaiveDateTime,
}

/// Records share events and counts them everywhere: one multi-row insert
/// plus one upsert per counter table, whatever the number of events.
pub fn record(conn: &mut DbConnection, events: &[NewShareEvent]) -> QueryResult<()> {
    let mut deltas = Deltas::default();
    for e in events {
        deltas.add(e.article_id, e.channel, e.created_at, 1);
    }
    per_backend!(conn, |c| {
        for rows in events.chunks(CHUNK) {
            diesel::insert_into(share_events::table).values(rows).execute(c)?;
        }
    });
    deltas.apply(conn)
}

/// `(article_id, channel, count)` of the given articles; missing means 0.
pub fn counts_for(
    conn: &mut DbConnection,
    article_ids: &[i64],
) -> QueryResult<Vec<(i64, ShareChannel, i64)>> {
    if let [id] = article_ids {
        // One article (its share-count route): `=`, which diesel keeps
        // prepared; an `IN` list is compiled again on every run on SQLite.
        return share_counts::table
            .filter(share_counts::article_id.eq(*id))
            .select((
                share_counts::article_id,
                share_counts::channel,
                share_counts::count,
            ))
            .load::<(i64, ShareChannel, i64)>(conn);
    }
    let mut out = Vec::new();
    for ids in article_ids.chunks(CHUNK) {
        out.extend(
            share_counts::table
                .filter(share_counts::article_id.eq_any(ids))
                .select((
                    share_counts::article_id,
                    share_counts::channel,
                    share_counts::count,
                ))
                .load::<(i64, ShareChannel, i64)>(conn)?,
        );
    }
    Ok(out)
}

/// The events `filter` matches, as a query to refine.
fn matching(filter: &EventFilter) -> share_events::BoxedQuery<'static, MultiBackend> {
    let mut q = share_events::table.into_boxed::<MultiBackend>();
    if let Some(id) = filter.id {
        q = q.filter(share_events::id.eq(id));
    }
    if let Some(a) = filter.article_id {
        q = q.filter(share_events::article_id.eq(a));
    }
    if let Some(c) = filter.channel {
        q = q.filter(share_events::channel.eq(c));
    }
    if let Some(from) = filter.range.from {
        q = q.filter(share_events::created_at.ge(from));
    }
    if let Some(until) = filter.range.until {
        q = q.filter(share_events::created_at.lt(until));
    }
    q
}

/// Newest first, by `(created_at, id)`: a cursor-mode page starts strictly
/// after `after`, a page-mode page skips `offset` rows.
pub fn list(
    conn: &mut DbConnection,
    filter: &EventFilter,
    after: Option<(NaiveDateTime, i64)>,
    offset: i64,
    limit: i64,
) -> QueryResult<Vec<ShareEventRow>> {
    let mut q = matching(filter);
    if let Some((at, id)) = after {
        q = q.filter(
            share_events::created_at
                .lt(at)
                .or(share_events::created_at.eq(at).and(share_events::id.lt(id))),
        );
    }
    q.order((share_events::created_at.desc(), share_events::id.desc()))
        .offset(offset)
        .limit(limit)
        .select(ShareEventRow::as_select())
        .load(conn)
}

/// `CAST(SUM(col) AS BIGINT)`: PostgreSQL sums BIGINT into NUMERIC, a type
/// the shared backend cannot read.
fn sum_of(column: &str) -> diesel::expression::SqlLiteral<BigInt> {
    sql::<BigInt>(&format!("CAST(COALESCE(SUM({column}), 0) AS BIGINT)"))
}

/// How many events match. From the rollups when the time range falls on
/// whole days (or is open); counted over the (indexed) events otherwise.
pub fn count(conn: &mut DbConnection, filter: &EventFilter) -> QueryResult<i64> {
    let days = filter.range.as_days();
    match (filter.id, filter.article_id, days) {
        (None, Some(article_id), Some((None, None))) => {
            let mut q = share_counts::table
                .filter(share_counts::article_id.eq(article_id))
                .into_boxed::<MultiBackend>();
            if let Some(c) = &filter.channel {
                q = q.filter(share_counts::channel.eq(*c));
            }
            q.select(sum_of("share_counts.count")).get_result(conn)
        }
        (None, Some(article_id), Some((from, to))) => {
            let mut q = share_daily::table
                .filter(share_daily::article_id.eq(article_id))
                .into_boxed::<MultiBackend>();
            if let Some(c) = &filter.channel {
                q = q.filter(share_daily::channel.eq(*c));
            }
            if let Some(from) = from {
                q = q.filter(share_daily::day.ge(from));
            }
            if let Some(to) = to {
                q = q.filter(share_daily::day.le(to));
            }
            q.select(sum_of("share_daily.count")).get_result(conn)
        }
        (None, None, Some((from, to))) => {
            let mut q = share_daily_totals::table.into_boxed::<MultiBackend>();
            if let Some(c) = &filter.channel {
                q = q.filter(share_daily_totals::channel.eq(*c));
            }
            if let Some(from) = from {
                q = q.filter(share_daily_totals::day.ge(from));
            }
            if let Some(to) = to {
                q = q.filter(share_daily_totals::day.le(to));
            }
            q.select(sum_of("share_daily_totals.count")).get_result(conn)
        }
        _ => matching(filter).count().get_result(conn),
    }
}

/// Deletes the matching events and takes them off every counter; returns
/// how many went, and the ids of the articles they were of. Works in
/// chunks so memory stays bounded however many events match.
pub fn delete_matching(conn: &mut DbConnection, filter: &EventFilter) -> QueryResult<(u64, Vec<i64>)> {
    let mut deleted = 0u64;
    let mut articles = std::collections::BTreeSet::new();
    let mut deltas = Deltas::default();
    loop {
        let ids: Vec<i64> = matching(filter)
            .select(share_events::id)
            .order(share_events::id)
            .limit(CHUNK as i64)
            .load(conn)?;
        if ids.is_empty() {
            break;
        }
        // RETURNING gives exactly the rows this statement removed, even
        // when a concurrent delete took some of them first.
        let gone: Vec<(i64, ShareChannel, NaiveDateTime)> =
            diesel::delete(share_events::table.filter(share_events::id.eq_any(&ids)))
                .returning((
                    share_events::article_id,
                    share_events::channel,
                    share_events::created_at,
                ))
                .get_results(conn)?;
        for (article_id, channel, at) in &gone {
            deltas.add(*article_id, *channel, *at, -1);
            articles.insert(*article_id);
        }
        deleted += gone.len() as u64;
        if ids.len() < CHUNK {
            break;
        }
    }
    deltas.apply(conn)?;
    Ok((deleted, articles.into_iter().collect()))
}

/// Forgets every share of an article: its events, counters and rollups, and
/// its part of the site-wide daily totals (which no foreign key cascades
/// to). Call it in the transaction that deletes the article; it is
/// idempotent and leaves the counters consistent on its own.
pub fn forget_article(conn: &mut DbConnection, article_id: i64) -> QueryResult<()> {
    let rows: Vec<(NaiveDate, ShareChannel, i64)> = share_daily::table
        .filter(share_daily::article_id.eq(article_id))
        .select((share_daily::day, share_daily::channel, share_daily::count))
        .order((share_daily::day, share_daily::channel))
        .load(conn)?;
    for (day, channel, n) in &rows {
        diesel::update(
            share_daily_totals::table
                .filter(share_daily_totals::day.eq(*day))
                .filter(share_daily_totals::channel.eq(channel)),
        )
        .set(share_daily_totals::count.eq(share_daily_totals::count - *n))
        .execute(conn)?;
    }
    let mut days: Vec<NaiveDate> = rows.iter().map(|(d, _, _)| *d).collect();
    days.dedup();
    delete_empty_daily_totals(conn, &days)?;
    diesel::delete(share_daily::table.filter(share_daily::article_id.eq(article_id))).execute(conn)?;
    diesel::delete(share_counts::table.filter(share_counts::article_id.eq(article_id))).execute(conn)?;
    diesel::delete(share_events::table.filter(share_events::article_id.eq(article_id))).execute(conn)?;
    diesel::update(articles::table.find(article_id))
        .set(articles::share_count.eq(0))
        .execute(conn)?;
    Ok(())
}

/// What the statistics look at: a day range, optionally one article and
/// one channel.
#[derive(Debug, Clone)]
pub struct StatsFilter {
    pub range: DayRange,
    pub article_id: Option<i64>,
    pub channel: Option<ShareChannel>,
}

// The site-wide statistics read `share_daily_totals` (one row per day and
// channel); per-article ones read `share_daily` through its primary key
// (article_id, day, channel). Grouped before boxing: diesel cannot add a
// GROUP BY to an already boxed query.
macro_rules! stats_query {
    ($f:expr, $table:ident, $group:expr) => {{
        let mut q = $table::table
            .group_by($group)
            .select(($group, sum_of(concat!(stringify!($table), ".count"))))
            .into_boxed::<MultiBackend>()
            .filter($table::day.ge($f.range.from))
            .filter($table::day.le($f.range.to));
        if let Some(c) = $f.channel {
            q = q.filter($table::channel.eq(c));
        }
        q
    }};
}

/// `(channel, count)` for channels with shares in the range.
pub fn stats_by_channel(conn: &mut DbConnection, f: &StatsFilter) -> QueryResult<Vec<(ShareChannel, i64)>> {
    match f.article_id {
        Some(a) => stats_query!(f, share_daily, share_daily::channel)
            .filter(share_daily::article_id.eq(a))
            .load(conn),
        None => stats_query!(f, share_daily_totals, share_daily_totals::channel).load(conn),
    }
}

/// `(day, count)` for days with shares in the range.
pub fn stats_by_day(conn: &mut DbConnection, f: &StatsFilter) -> QueryResult<Vec<(NaiveDate, i64)>> {
    match f.article_id {
        Some(a) => stats_query!(f, share_daily, share_daily::day)
            .filter(share_daily::article_id.eq(a))
            .load(conn),
        None => stats_query!(f, share_daily_totals, share_daily_totals::day).load(conn),
    }
}

/// The `limit` most shared articles of the range: `(article_id, count)`,
/// most shared first, ties by id.
pub fn stats_by_article(
    conn: &mut DbConnection,
    f: &StatsFilter,
    limit: i64,
) -> QueryResult<Vec<(i64, i64)>> {
    let mut q = stats_query!(f, share_daily, share_daily::article_id);
    if let Some(a) = f.article_id {
        q = q.filter(share_daily::article_id.eq(a));
    }
    q.order((sum_of("share_daily.count").desc(), share_daily::article_id))
        .limit(limit)
        .load(conn)
}

/// `(id, slug, title)` of the given articles, to label statistics.
pub fn article_labels(conn: &mut DbConnection, ids: &[i64]) -> QueryResult<Vec<(i64, String, String)>> {
    articles::table
        .filter(articles::id.eq_any(ids))
        .select((articles::id, articles::slug, articles::title))
        .load(conn)
}
