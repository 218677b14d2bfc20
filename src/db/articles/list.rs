//! Article lists: filters, counts (from the maintained status counts where
//! possible), the tag-index fast path, and keyset pagination.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text, Timestamp};

use super::{ArticleRow, filtered};
use crate::db::schema::{article_tags, articles, tags};
use crate::db::{DbConnection, MultiBackend};
use crate::domain::article::{After, ArticleSort, ArticleStatus, ListFilter, Order};

/// How many articles match `filter`.
pub fn count(conn: &mut DbConnection, filter: &ListFilter) -> QueryResult<i64> {
    if let Some((now, tag)) = public_tag_page(filter) {
        let Some(tag_id) = tag_id(conn, tag)? else {
            return Ok(0);
        };
        return tag_index_query(filter, tag_id, now).count().get_result(conn);
    }
    if let Some(total) = count_by_status(conn, filter)? {
        return Ok(total);
    }
    let query = filtered(conn, filter);
    query.count().get_result(conn)
}

/// The counts that need no pass over the articles: every visible article
/// (the home page in page mode), and editor lists filtered by nothing but
/// a status. They come from `article_status_counts`, kept by triggers; the
/// published articles not yet visible (scheduled) are few and counted with
/// a range of the `(status, published_at, id)` index. `None` for any other
/// filter.
fn count_by_status(conn: &mut DbConnection, filter: &ListFilter) -> QueryResult<Option<i64>> {
    use crate::db::schema::article_status_counts as counts;
    let only_status = filter.author_id.is_none()
        && filter.author_slug.is_none()
        && filter.tag_slug.is_none()
        && filter.query.is_none()
        && filter.published_from.is_none()
        && filter.published_to.is_none();
    if !only_status {
        return Ok(None);
    }
    let stored = |conn: &mut DbConnection, status: Option<ArticleStatus>| -> QueryResult<i64> {
        let mut query = counts::table.select(counts::count).into_boxed::<MultiBackend>();
        if let Some(status) = status {
            query = query.filter(counts::status.eq(status.as_str()));
        }
        Ok(query.load::<i64>(conn)?.into_iter().sum())
    };
    match (filter.visible_at, filter.status) {
        (Some(now), None | Some(ArticleStatus::Published)) => {
            // Two range scans rather than one OR, which a planner may turn
            // into a scan of every published article.
            const VISIBLE: &str = "SELECT (SELECT count FROM article_status_counts WHERE status = $1) \
                 - (SELECT COUNT(*) FROM articles WHERE status = $1 AND published_at > $2) \
                 - (SELECT COUNT(*) FROM articles WHERE status = $1 AND published_at IS NULL) AS count";
            let published = ArticleStatus::Published.as_str();
            let row: CountRow = match conn {
                DbConnection::Sqlite(c) => diesel::sql_query(VISIBLE.replace('$', "?"))
                    .bind::<Text, _>(published)
                    .bind::<Timestamp, _>(now)
                    .get_result(c)?,
                DbConnection::Pg(c) => diesel::sql_query(VISIBLE)
                    .bind::<Text, _>(published)
                    .bind::<Timestamp, _>(now)
                    .get_result(c)?,
            };
            Ok(Some(row.count))
        }
        (Some(_), Some(_)) => Ok(None),
        (None, status) => stored(conn, status).map(Some),
    }
}

/// A public tag page in time order (nothing but the tag and a time window
/// filters it) is read from the `article_tags (tag_id, published_at,
/// article_id)` index: a range scan of the tag's entries, whatever its size.
fn public_tag_page(filter: &ListFilter) -> Option<(NaiveDateTime, &str)> {
    let plain = filter.status.is_none()
        && filter.author_id.is_none()
        && filter.author_slug.is_none()
        && filter.query.is_none();
    match (filter.visible_at, &filter.tag_slug) {
        (Some(now), Some(tag)) if plain => Some((now, tag.as_str())),
        _ => None,
    }
}

fn tag_id(conn: &mut DbConnection, slug: &str) -> QueryResult<Option<i64>> {
    tags::table
        .filter(tags::slug.eq(slug))
        .select(tags::id)
        .first(conn)
        .optional()
}

fn tag_index_query(
    filter: &ListFilter,
    tag_id: i64,
    now: NaiveDateTime,
) -> article_tags::BoxedQuery<'static, MultiBackend> {
    let mut query = article_tags::table
        .filter(article_tags::tag_id.eq(tag_id))
        .filter(article_tags::published_at.le(now))
        .into_boxed();
    if let Some(from) = filter.published_from {
        query = query.filter(article_tags::published_at.ge(from));
    }
    if let Some(to) = filter.published_to {
        query = query.filter(article_tags::published_at.le(to));
    }
    query
}

fn list_tag_page(
    conn: &mut DbConnection,
    filter: &ListFilter,
    (now, tag): (NaiveDateTime, &str),
    newest_first: bool,
    after: Option<&After>,
    offset: i64,
    limit: i64,
) -> QueryResult<Vec<ArticleRow>> {
    let Some(tag_id) = tag_id(conn, tag)? else {
        return Ok(vec![]);
    };
    let mut query = tag_index_query(filter, tag_id, now);
    if let Some(After::Published(p, id)) = after {
        query = if newest_first {
            query.filter(
                article_tags::published_at.lt(*p).or(article_tags::published_at
                    .eq(*p)
                    .and(article_tags::article_id.lt(*id))),
            )
        } else {
            query.filter(
                article_tags::published_at.gt(*p).or(article_tags::published_at
                    .eq(*p)
                    .and(article_tags::article_id.gt(*id))),
            )
        };
    }
    query = if newest_first {
        query.order((article_tags::published_at.desc(), article_tags::article_id.desc()))
    } else {
        query.order((article_tags::published_at.asc(), article_tags::article_id.asc()))
    };
    let ids: Vec<i64> = query
        .offset(offset)
        .limit(limit)
        .select(article_tags::article_id)
        .load(conn)?;
    let mut rows: Vec<ArticleRow> = articles::table
        .filter(articles::id.eq_any(&ids))
        .select(ArticleRow::as_select())
        .load(conn)?;
    rows.sort_by_key(|r| ids.iter().position(|id| *id == r.id));
    Ok(rows)
}

/// A page of articles matching `filter`, in `order`: skipping `offset` rows
/// (page mode) or starting after `after` (cursor mode). Returns at most
/// `limit` rows.
pub fn list(
    conn: &mut DbConnection,
    filter: &ListFilter,
    order: Order,
    after: Option<&After>,
    offset: i64,
    limit: i64,
) -> QueryResult<Vec<ArticleRow>> {
    if let Some(page) = public_tag_page(filter) {
        match order {
            Order::Public(ArticleSort::NewestFirst) => {
                return list_tag_page(conn, filter, page, true, after, offset, limit);
            }
            Order::Public(ArticleSort::OldestFirst) => {
                return list_tag_page(conn, filter, page, false, after, offset, limit);
            }
            _ => {}
        }
    }
    let mut query = filtered(conn, filter);
    query = match (order, after) {
        (Order::Public(ArticleSort::NewestFirst), Some(After::Published(p, id))) => query.filter(
            articles::published_at
                .lt(*p)
                .or(articles::published_at.eq(*p).and(articles::id.lt(*id))),
        ),
        (Order::Public(ArticleSort::OldestFirst), Some(After::Published(p, id))) => query.filter(
            articles::published_at
                .gt(*p)
                .or(articles::published_at.eq(*p).and(articles::id.gt(*id))),
        ),
        (Order::Public(ArticleSort::MostShared), Some(After::Count(n, id))) => query.filter(
            articles::share_count
                .lt(*n)
                .or(articles::share_count.eq(*n).and(articles::id.lt(*id))),
        ),
        (Order::Public(ArticleSort::MostCommented), Some(After::Count(n, id))) => query.filter(
            articles::comment_count
                .lt(*n)
                .or(articles::comment_count.eq(*n).and(articles::id.lt(*id))),
        ),
        (Order::RecentlyUpdated, Some(After::Updated(u, id))) => query.filter(
            articles::updated_at
                .lt(*u)
                .or(articles::updated_at.eq(*u).and(articles::id.lt(*id))),
        ),
        _ => query,
    };
    query = match order {
        Order::Public(ArticleSort::NewestFirst) => {
            query.order((articles::published_at.desc(), articles::id.desc()))
        }
        Order::Public(ArticleSort::OldestFirst) => {
            query.order((articles::published_at.asc(), articles::id.asc()))
        }
        Order::Public(ArticleSort::MostShared) => {
            query.order((articles::share_count.desc(), articles::id.desc()))
        }
        Order::Public(ArticleSort::MostCommented) => {
            query.order((articles::comment_count.desc(), articles::id.desc()))
        }
        // Relevance is served by `list_by_relevance`; this order is its fallback.
        Order::Public(ArticleSort::Relevance) => {
            query.order((articles::published_at.desc(), articles::id.desc()))
        }
        Order::RecentlyUpdated => query.order((articles::updated_at.desc(), articles::id.desc())),
    };
    query
        .offset(offset)
        .limit(limit)
        .select(ArticleRow::as_select())
        .load(conn)
}

#[derive(QueryableByName)]
struct CountRow {
    #[diesel(sql_type = BigInt)]
    count: i64,
}
