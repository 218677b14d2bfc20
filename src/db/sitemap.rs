//! Sitemap queries: public articles in id order, a few columns at a time.
//!
//! A sitemap file is 50,000 addresses, so nothing here loads article rows:
//! [`chunk`] reads only `(id, slug, published_at, updated_at)`, a bounded
//! number of rows after a keyset position, and the caller writes each chunk
//! out before asking for the next. The boundaries and last-modified times
//! of the files are computed in the database ([`id_after`],
//! [`last_modified`]), without sending the rows. Every statement is built
//! with diesel's query builder, so each is prepared once per connection.
//!
//! Visibility is [`visible_at`], the rule every public query shares.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::DbConnection;
use super::articles::visible_at;
use super::schema::articles;

/// One address of a sitemap: what `SiteUrls::article` and `<lastmod>` need.
#[derive(Debug, Clone, Queryable)]
pub struct SitemapRow {
    pub id: i64,
    pub slug: String,
    pub published_at: Option<NaiveDateTime>,
    pub updated_at: NaiveDateTime,
}

/// At most `limit` public articles with ids above `after`, by id.
pub fn chunk(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    after: i64,
    limit: i64,
) -> QueryResult<Vec<SitemapRow>> {
    articles::table
        .filter(visible_at(now))
        .filter(articles::id.gt(after))
        .order(articles::id.asc())
        .select((
            articles::id,
            articles::slug,
            articles::published_at,
            articles::updated_at,
        ))
        .limit(limit)
        .load(conn)
}

/// The id of the public article `skip` places after `after` in id order
/// (`skip` 0: the first above `after`); `None` when there are not that many.
pub fn id_after(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    after: i64,
    skip: i64,
) -> QueryResult<Option<i64>> {
    articles::table
        .filter(visible_at(now))
        .filter(articles::id.gt(after))
        .order(articles::id.asc())
        .select(articles::id)
        .offset(skip)
        .limit(1)
        .get_result(conn)
        .optional()
}

/// The latest `updated_at` of the public articles with ids in
/// `(after, through]` (`through` `None`: no upper bound).
pub fn last_modified(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    after: i64,
    through: Option<i64>,
) -> QueryResult<Option<NaiveDateTime>> {
    let query = articles::table
        .filter(visible_at(now))
        .filter(articles::id.gt(after))
        .select(diesel::dsl::max(articles::updated_at));
    match through {
        Some(last) => query.filter(articles::id.le(last)).get_result(conn),
        None => query.get_result(conn),
    }
}

/// The public articles published at or after `since`, newest first, at
/// most `limit`: the Google News sitemap. A range of the
/// `(status, published_at, id)` index.
pub fn published_since(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    since: NaiveDateTime,
    limit: i64,
) -> QueryResult<Vec<(SitemapRow, String)>> {
    articles::table
        .filter(visible_at(now))
        .filter(articles::published_at.ge(since))
        .order((articles::published_at.desc(), articles::id.desc()))
        .select((
            (
                articles::id,
                articles::slug,
                articles::published_at,
                articles::updated_at,
            ),
            articles::title,
        ))
        .limit(limit)
        .load(conn)
}
