//! The counters beside the share events: signed deltas, added to
//! `share_counts`, `share_daily`, `share_daily_totals` and
//! `articles.share_count` with one multi-row upsert per table (see the
//! invariants in `db::shares`).

use std::collections::BTreeMap;

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Date, Text};
use diesel::upsert::excluded;

use super::CHUNK;
use crate::db::DbConnection;
use crate::db::schema::{share_counts, share_daily, share_daily_totals};
use crate::domain::share::ShareChannel;

#[derive(Insertable)]
#[diesel(table_name = share_counts)]
struct CountRow<'a> {
    article_id: i64,
    channel: &'a str,
    count: i64,
}

#[derive(Insertable)]
#[diesel(table_name = share_daily)]
struct DailyRow<'a> {
    day: NaiveDate,
    article_id: i64,
    channel: &'a str,
    count: i64,
}

#[derive(Insertable)]
#[diesel(table_name = share_daily_totals)]
struct TotalRow<'a> {
    day: NaiveDate,
    channel: &'a str,
    count: i64,
}

// The upsert of one counter table, for one row or a slice of rows.
macro_rules! upsert {
    ($table:ident, ($($key:ident),+), $values:expr) => {
        diesel::insert_into($table::table)
            .values($values)
            .on_conflict(($($table::$key),+))
            .do_update()
            .set($table::count.eq($table::count + excluded($table::count)))
    };
}

/// `INSERT INTO table (key…, count) VALUES (?…), … ON CONFLICT (key…) DO
/// UPDATE SET count = count + excluded.count`, for `rows` rows of `width`
/// values, the key columns first in the order they are bound.
fn sqlite_upsert(
    table: &str,
    key: &str,
    width: usize,
    rows: usize,
) -> diesel::query_builder::BoxedSqlQuery<'static, diesel::sqlite::Sqlite, diesel::query_builder::SqlQuery> {
    let row = format!("({})", vec!["?"; width].join(", "));
    let values = vec![row.as_str(); rows].join(", ");
    diesel::sql_query(format!(
        "INSERT INTO {table} ({key}, count) VALUES {values} \
         ON CONFLICT ({key}) DO UPDATE SET count = {table}.count + excluded.count"
    ))
    .into_boxed()
}

/// Signed changes to every counter, keyed in lock order.
#[derive(Debug, Default)]
pub(super) struct Deltas {
    counts: BTreeMap<(i64, &'static str), i64>,
    daily: BTreeMap<(i64, NaiveDate, &'static str), i64>,
    totals: BTreeMap<(NaiveDate, &'static str), i64>,
    articles: BTreeMap<i64, i64>,
}

impl Deltas {
    pub(super) fn add(&mut self, article_id: i64, channel: ShareChannel, at: NaiveDateTime, n: i64) {
        // Keyed by the stored text, so the lock order is the rows' order.
        let (day, channel) = (at.date(), channel.as_str());
        *self.counts.entry((article_id, channel)).or_default() += n;
        *self.daily.entry((article_id, day, channel)).or_default() += n;
        *self.totals.entry((day, channel)).or_default() += n;
        *self.articles.entry(article_id).or_default() += n;
    }

    /// Adds every delta to its counter (creating missing rows), then, after
    /// a removal, deletes the rows that reached zero.
    pub(super) fn apply(&self, conn: &mut DbConnection) -> QueryResult<()> {
        let (counts, daily, totals) = self.rows();
        // One multi-row upsert per table. diesel builds those for
        // PostgreSQL; for SQLite it builds single-row upserts only, so the
        // same statement is written out there.
        match conn {
            DbConnection::Pg(c) => upsert_pg(c, &counts, &daily, &totals)?,
            DbConnection::Sqlite(c) => upsert_sqlite(c, &counts, &daily, &totals)?,
        }
        self.add_to_articles(conn)?;
        if self.articles.values().any(|n| *n < 0) {
            self.remove_zeros(conn)?;
        }
        Ok(())
    }

    /// The deltas as rows of the three counter tables.
    fn rows(&self) -> (Vec<CountRow<'_>>, Vec<DailyRow<'_>>, Vec<TotalRow<'_>>) {
        let counts = self
            .counts
            .iter()
            .map(|((article_id, channel), n)| CountRow {
                article_id: *article_id,
                channel,
                count: *n,
            })
            .collect();
        let daily = self
            .daily
            .iter()
            .map(|((article_id, day, channel), n)| DailyRow {
                day: *day,
                article_id: *article_id,
                channel,
                count: *n,
            })
            .collect();
        let totals = self
            .totals
            .iter()
            .map(|((day, channel), n)| TotalRow {
                day: *day,
                channel,
                count: *n,
            })
            .collect();
        (counts, daily, totals)
    }

    /// Adds the per-article sums to `articles.share_count`.
    fn add_to_articles(&self, conn: &mut DbConnection) -> QueryResult<()> {
        if let DbConnection::Pg(c) = conn {
            // Each statement is a round trip to PostgreSQL, and a batch
            // touches up to one article per press: one UPDATE for all.
            let articles: Vec<(i64, i64)> = self.articles.iter().map(|(a, n)| (*a, *n)).collect();
            for rows in articles.chunks(CHUNK) {
                let values: Vec<String> = (0..rows.len())
                    .map(|i| format!("(${}::bigint, ${}::bigint)", 2 * i + 1, 2 * i + 2))
                    .collect();
                let mut q = diesel::sql_query(format!(
                    "UPDATE articles SET share_count = articles.share_count + v.n \
                     FROM (VALUES {}) AS v(id, n) WHERE articles.id = v.id",
                    values.join(", ")
                ))
                .into_boxed::<diesel::pg::Pg>();
                for (id, n) in rows {
                    q = q.bind::<BigInt, _>(*id).bind::<BigInt, _>(*n);
                }
                q.execute(c)?;
            }
        } else {
            for (article_id, n) in &self.articles {
                crate::db::articles::add_to_share_count(conn, *article_id, *n)?;
            }
        }
        Ok(())
    }

    fn remove_zeros(&self, conn: &mut DbConnection) -> QueryResult<()> {
        let article_ids: Vec<i64> = self.articles.keys().copied().collect();
        let mut days: Vec<NaiveDate> = self.totals.keys().map(|(d, _)| *d).collect();
        days.dedup();
        for ids in article_ids.chunks(CHUNK) {
            diesel::delete(
                share_counts::table
                    .filter(share_counts::article_id.eq_any(ids))
                    .filter(share_counts::count.le(0)),
            )
            .execute(conn)?;
            diesel::delete(
                share_daily::table
                    .filter(share_daily::article_id.eq_any(ids))
                    .filter(share_daily::count.le(0)),
            )
            .execute(conn)?;
        }
        super::delete_empty_daily_totals(conn, &days)
    }
}

fn upsert_pg(
    c: &mut diesel::PgConnection,
    counts: &[CountRow<'_>],
    daily: &[DailyRow<'_>],
    totals: &[TotalRow<'_>],
) -> QueryResult<()> {
    for rows in counts.chunks(CHUNK) {
        upsert!(share_counts, (article_id, channel), rows).execute(c)?;
    }
    for rows in daily.chunks(CHUNK) {
        upsert!(share_daily, (article_id, day, channel), rows).execute(c)?;
    }
    for rows in totals.chunks(CHUNK) {
        upsert!(share_daily_totals, (day, channel), rows).execute(c)?;
    }
    Ok(())
}

fn upsert_sqlite(
    c: &mut diesel::SqliteConnection,
    counts: &[CountRow<'_>],
    daily: &[DailyRow<'_>],
    totals: &[TotalRow<'_>],
) -> QueryResult<()> {
    for rows in counts.chunks(CHUNK) {
        let mut q = sqlite_upsert("share_counts", "article_id, channel", 3, rows.len());
        for r in rows {
            q = q
                .bind::<BigInt, _>(r.article_id)
                .bind::<Text, _>(r.channel)
                .bind::<BigInt, _>(r.count);
        }
        q.execute(c)?;
    }
    for rows in daily.chunks(CHUNK) {
        let mut q = sqlite_upsert("share_daily", "day, article_id, channel", 4, rows.len());
        for r in rows {
            q = q
                .bind::<Date, _>(r.day)
                .bind::<BigInt, _>(r.article_id)
                .bind::<Text, _>(r.channel)
                .bind::<BigInt, _>(r.count);
        }
        q.execute(c)?;
    }
    for rows in totals.chunks(CHUNK) {
        let mut q = sqlite_upsert("share_daily_totals", "day, channel", 3, rows.len());
        for r in rows {
            q = q
                .bind::<Date, _>(r.day)
                .bind::<Text, _>(r.channel)
                .bind::<BigInt, _>(r.count);
        }
        q.execute(c)?;
    }
    Ok(())
}
