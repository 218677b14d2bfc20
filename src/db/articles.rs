//! Articles: rows, visibility, slugs, listing with filters, full-text search
//! and keyset pagination.
//!
//! Visibility: an article is public when `status = 'published'` and
//! `published_at <= now`; "now" is a parameter, so a scheduled article
//! appears by itself when its time comes, with no background job.

use chrono::NaiveDateTime;
use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Nullable, Text, Timestamp};

use super::schema::{article_tags, articles, editors, tags};
use super::{DbConnection, MultiBackend, is_unique_violation};
use crate::domain::article::{ArticleSort, ArticleStatus};
use crate::domain::slug;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = articles)]
pub struct ArticleRow {
    pub id: i64,
    pub slug: String,
    pub title: String,
    pub subtitle: Option<String>,
    pub excerpt: String,
    pub excerpt_custom: bool,
    pub body_markdown: String,
    pub body_html: String,
    pub status: String,
    pub author_id: i64,
    pub featured_image_url: Option<String>,
    pub word_count: i32,
    pub reading_time_minutes: i32,
    pub comments_enabled: bool,
    pub comment_count: i64,
    pub share_count: i64,
    pub published_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl ArticleRow {
    pub fn is_visible(&self, now: NaiveDateTime) -> bool {
        self.status == ArticleStatus::Published.as_str() && self.published_at.is_some_and(|p| p <= now)
    }
}

#[derive(Debug, Insertable)]
#[diesel(table_name = articles)]
pub struct NewArticle {
    pub slug: String,
    pub title: String,
    pub subtitle: Option<String>,
    pub excerpt: String,
    pub excerpt_custom: bool,
    pub body_markdown: String,
    pub body_html: String,
    pub status: String,
    pub author_id: i64,
    pub featured_image_url: Option<String>,
    pub word_count: i32,
    pub reading_time_minutes: i32,
    pub comments_enabled: bool,
    pub published_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// A partial update; `None` leaves the column alone.
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = articles)]
pub struct ArticleChanges {
    pub slug: Option<String>,
    pub title: Option<String>,
    pub subtitle: Option<Option<String>>,
    pub excerpt: Option<String>,
    pub excerpt_custom: Option<bool>,
    pub body_markdown: Option<String>,
    pub body_html: Option<String>,
    pub status: Option<String>,
    pub featured_image_url: Option<Option<String>>,
    pub word_count: Option<i32>,
    pub reading_time_minutes: Option<i32>,
    pub comments_enabled: Option<bool>,
    pub published_at: Option<Option<NaiveDateTime>>,
    pub updated_at: Option<NaiveDateTime>,
}

/// The author as embedded in an article.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = editors)]
pub struct AuthorRef {
    pub id: i64,
    pub slug: String,
    pub name: String,
}

/// A tag as embedded in an article.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = tags)]
pub struct TagRef {
    pub id: i64,
    pub slug: String,
    pub name: String,
}

/// An article with what it embeds.
#[derive(Debug, Clone)]
pub struct ArticleView {
    pub article: ArticleRow,
    pub author: AuthorRef,
    pub tags: Vec<TagRef>,
}

type Boxed<'a> = articles::BoxedQuery<'a, MultiBackend>;

fn visible_filter(
    now: NaiveDateTime,
) -> Box<dyn BoxableExpression<articles::table, MultiBackend, SqlType = Nullable<Bool>>> {
    Box::new(
        articles::status
            .eq(ArticleStatus::Published.as_str())
            .and(articles::published_at.le(now)),
    )
}

pub fn find(conn: &mut DbConnection, id: i64) -> QueryResult<Option<ArticleRow>> {
    articles::table
        .find(id)
        .select(ArticleRow::as_select())
        .first(conn)
        .optional()
}

pub fn find_by_slug(conn: &mut DbConnection, slug: &str) -> QueryResult<Option<ArticleRow>> {
    articles::table
        .filter(articles::slug.eq(slug))
        .select(ArticleRow::as_select())
        .first(conn)
        .optional()
}

/// The article at `slug` if the public may see it at `now`.
pub fn find_visible_by_slug(
    conn: &mut DbConnection,
    slug: &str,
    now: NaiveDateTime,
) -> QueryResult<Option<ArticleRow>> {
    articles::table
        .filter(articles::slug.eq(slug))
        .filter(visible_filter(now))
        .select(ArticleRow::as_select())
        .first(conn)
        .optional()
}

/// When the next scheduled article (published, with a future
/// `published_at`) goes public, if any.
pub fn next_scheduled(conn: &mut DbConnection, now: NaiveDateTime) -> QueryResult<Option<NaiveDateTime>> {
    articles::table
        .filter(articles::status.eq(ArticleStatus::Published.as_str()))
        .filter(articles::published_at.gt(now))
        .select(diesel::dsl::min(articles::published_at))
        .first(conn)
}

/// `(id, slug)` of the articles among `slugs` that the public may see at
/// `now`: one query for many slugs (the share writer's batches).
pub fn visible_ids_by_slug(
    conn: &mut DbConnection,
    slugs: &[&str],
    now: NaiveDateTime,
) -> QueryResult<Vec<(i64, String)>> {
    articles::table
        .filter(articles::slug.eq_any(slugs))
        .filter(visible_filter(now))
        .select((articles::id, articles::slug))
        .load(conn)
}

/// Loads the author and tags of `rows` in two queries, whatever their number.
pub fn embed(conn: &mut DbConnection, rows: Vec<ArticleRow>) -> QueryResult<Vec<ArticleView>> {
    if rows.is_empty() {
        return Ok(vec![]);
    }
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let mut author_ids: Vec<i64> = rows.iter().map(|r| r.author_id).collect();
    author_ids.sort_unstable();
    author_ids.dedup();
    let authors: Vec<AuthorRef> = editors::table
        .filter(editors::id.eq_any(&author_ids))
        .select(AuthorRef::as_select())
        .load(conn)?;
    let tag_rows: Vec<(i64, TagRef)> = article_tags::table
        .inner_join(tags::table)
        .filter(article_tags::article_id.eq_any(&ids))
        .order((article_tags::article_id, article_tags::position))
        .select((article_tags::article_id, TagRef::as_select()))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|article| {
            let author = authors
                .iter()
                .find(|a| a.id == article.author_id)
                .cloned()
                .unwrap_or(AuthorRef {
                    id: article.author_id,
                    slug: String::new(),
                    name: String::new(),
                });
            let tags = tag_rows
                .iter()
                .filter(|(article_id, _)| *article_id == article.id)
                .map(|(_, t)| t.clone())
                .collect();
            ArticleView {
                article,
                author,
                tags,
            }
        })
        .collect())
}

/// One article with its author and tags.
pub fn view(conn: &mut DbConnection, row: ArticleRow) -> QueryResult<ArticleView> {
    Ok(embed(conn, vec![row])?.remove(0))
}

/// Inserts `new`, making its slug unique: `base`, `base-2`, `base-3`… The
/// unique index decides; a clash with a concurrent insert is retried inside
/// a savepoint with the next number. With `exact`, the slug was asked for by
/// the editor and a clash is returned as `Ok(None)` instead.
pub fn insert_unique(
    conn: &mut DbConnection,
    mut new: NewArticle,
    exact: bool,
) -> QueryResult<Option<ArticleRow>> {
    let base = new.slug.clone();
    for _attempt in 0..20 {
        if !exact {
            new.slug = next_free_slug(conn, &base)?;
        }
        let result = conn.transaction(|c| {
            diesel::insert_into(articles::table)
                .values(&new)
                .get_result::<ArticleRow>(c)
        });
        match result {
            Ok(row) => return Ok(Some(row)),
            Err(e) if is_unique_violation(&e) && exact => return Ok(None),
            Err(e) if is_unique_violation(&e) => continue,
            Err(e) => return Err(e),
        }
    }
    Err(diesel::result::Error::RollbackTransaction)
}

/// The first of `base`, `base-2`, `base-3`… that no article uses now.
pub fn next_free_slug(conn: &mut DbConnection, base: &str) -> QueryResult<String> {
    let taken: Vec<String> = articles::table
        .filter(
            articles::slug
                .eq(base)
                .or(articles::slug.like(format!("{base}-%"))),
        )
        .select(articles::slug)
        .load(conn)?;
    if !taken.iter().any(|s| s == base) {
        return Ok(base.to_string());
    }
    let highest = taken
        .iter()
        .filter_map(|s| s.strip_prefix(base)?.strip_prefix('-')?.parse::<u32>().ok())
        .max()
        .unwrap_or(1);
    Ok(slug::candidate(base, highest.max(1) + 1))
}

pub fn slug_taken(conn: &mut DbConnection, slug: &str, except_id: i64) -> QueryResult<bool> {
    articles::table
        .filter(articles::slug.eq(slug))
        .filter(articles::id.ne(except_id))
        .count()
        .get_result::<i64>(conn)
        .map(|n| n > 0)
}

pub fn update(conn: &mut DbConnection, id: i64, changes: &ArticleChanges) -> QueryResult<ArticleRow> {
    diesel::update(articles::table.find(id))
        .set(changes)
        .get_result(conn)
}

pub fn delete(conn: &mut DbConnection, id: i64) -> QueryResult<usize> {
    diesel::delete(articles::table.find(id)).execute(conn)
}

/// Adds `delta` (may be negative) to the maintained approved-comment count.
pub fn add_to_comment_count(conn: &mut DbConnection, id: i64, delta: i64) -> QueryResult<()> {
    diesel::update(articles::table.find(id))
        .set(articles::comment_count.eq(articles::comment_count + delta))
        .execute(conn)?;
    Ok(())
}

/// Adds `delta` (may be negative) to the maintained share count.
pub fn add_to_share_count(conn: &mut DbConnection, id: i64, delta: i64) -> QueryResult<()> {
    diesel::update(articles::table.find(id))
        .set(articles::share_count.eq(articles::share_count + delta))
        .execute(conn)?;
    Ok(())
}

/// What `article_tags.published_at` holds for an article: its
/// `published_at` while published, else nothing.
pub fn tag_index_time(row: &ArticleRow) -> Option<NaiveDateTime> {
    (row.status == ArticleStatus::Published.as_str())
        .then_some(row.published_at)
        .flatten()
}

/// Brings the tag index copy of `published_at` in line with the article.
pub fn sync_tag_index(conn: &mut DbConnection, row: &ArticleRow) -> QueryResult<()> {
    diesel::update(article_tags::table.filter(article_tags::article_id.eq(row.id)))
        .set(article_tags::published_at.eq(tag_index_time(row)))
        .execute(conn)?;
    Ok(())
}

/// Replaces the tags of an article, in the given order.
pub fn set_tags(conn: &mut DbConnection, row: &ArticleRow, tag_ids: &[i64]) -> QueryResult<()> {
    let article_id = row.id;
    let published_at = tag_index_time(row);
    diesel::delete(article_tags::table.filter(article_tags::article_id.eq(article_id))).execute(conn)?;
    // One statement per tag: multi-row VALUES is not in the dialect both
    // backends share through diesel, and an article has at most 20 tags.
    for (position, tag_id) in tag_ids.iter().enumerate() {
        diesel::insert_into(article_tags::table)
            .values((
                article_tags::article_id.eq(article_id),
                article_tags::tag_id.eq(*tag_id),
                article_tags::position.eq(position as i32),
                article_tags::published_at.eq(published_at),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// What a list asks for. `statuses` empty means every status.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    /// Public lists: only articles visible at this time.
    pub visible_at: Option<NaiveDateTime>,
    pub status: Option<ArticleStatus>,
    pub author_id: Option<i64>,
    pub author_slug: Option<String>,
    pub tag_slug: Option<String>,
    pub query: Option<String>,
    pub published_from: Option<NaiveDateTime>,
    pub published_to: Option<NaiveDateTime>,
}

/// Where a cursor-mode page starts: after the row with these keys.
#[derive(Debug, Clone, PartialEq)]
pub enum After {
    Published(NaiveDateTime, i64),
    Count(i64, i64),
    Updated(NaiveDateTime, i64),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// Public sorts.
    Public(ArticleSort),
    /// Editor lists: most recently updated first.
    RecentlyUpdated,
}

fn filtered<'a>(conn: &DbConnection, filter: &'a ListFilter) -> Boxed<'a> {
    let mut query = articles::table.into_boxed::<MultiBackend>();
    if let Some(now) = filter.visible_at {
        query = query.filter(visible_filter(now));
    }
    if let Some(status) = filter.status {
        query = query.filter(articles::status.eq(status.as_str()));
    }
    if let Some(id) = filter.author_id {
        query = query.filter(articles::author_id.eq(id));
    }
    if let Some(author) = &filter.author_slug {
        query = query.filter(
            articles::author_id.eq_any(
                editors::table
                    .filter(editors::slug.eq(author))
                    .select(editors::id),
            ),
        );
    }
    if let Some(tag) = &filter.tag_slug {
        query = query.filter(
            articles::id.eq_any(
                article_tags::table
                    .inner_join(tags::table)
                    .filter(tags::slug.eq(tag))
                    .select(article_tags::article_id),
            ),
        );
    }
    if let Some(from) = filter.published_from {
        query = query.filter(articles::published_at.ge(from));
    }
    if let Some(to) = filter.published_to {
        query = query.filter(articles::published_at.le(to));
    }
    if let Some(q) = &filter.query {
        query = match conn {
            DbConnection::Sqlite(_) => query.filter(
                sql::<Bool>("articles.id IN (SELECT rowid FROM articles_fts WHERE articles_fts MATCH ")
                    .bind::<Text, _>(fts5_query(q))
                    .sql(")"),
            ),
            DbConnection::Pg(_) => query.filter(
                sql::<Bool>("articles.search @@ websearch_to_tsquery('english', ")
                    .bind::<Text, _>(q.clone())
                    .sql(")"),
            ),
        };
    }
    query
}

/// Turns what a reader typed into a safe FTS5 query: every word quoted (so
/// FTS5 operators and syntax errors cannot be injected), all required, the
/// last one as a prefix so results appear while typing.
pub fn fts5_query(q: &str) -> String {
    let words: Vec<String> = q
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .take(16)
        .map(|w| format!("\"{w}\""))
        .collect();
    match words.split_last() {
        None => "\"\"".to_string(),
        Some((last, rest)) => {
            let mut parts: Vec<String> = rest.to_vec();
            parts.push(format!("{last}*"));
            parts.join(" ")
        }
    }
}

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
    use super::schema::article_status_counts as counts;
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

/// How many matches relevance ordering considers: the newest ones (by id,
/// which follows creation) that pass the list's filters. Ranking every
/// match of a broad query costs a pass over all of them (on a
/// million-article archive, seconds for a common word); ranking only the
/// newest thousand costs about the same whatever the archive's size, and on
/// a news site the best recent match is what a reader is after. A reader
/// never pages past the first few hundred.
pub const RELEVANCE_WINDOW: i64 = 1000;

/// A search narrowed by other filters (tag, author, dates, status) looks
/// for its window among this many of the newest matches. Looking further
/// has no bound: at 1M articles a broad word with a filter that few of its
/// matches pass (an old period) scanned every match for seconds.
pub const NARROWED_SCAN: i64 = 10 * RELEVANCE_WINDOW;

#[derive(QueryableByName)]
struct CountRow {
    #[diesel(sql_type = BigInt)]
    count: i64,
}

#[derive(QueryableByName)]
struct IdRow {
    #[diesel(sql_type = BigInt)]
    id: i64,
}

/// Ids of the newest `limit` articles matching `q`, newest first; only
/// those visible at `visible_at` when given. SQLite walks the text index
/// newest first and stops at the limit; PostgreSQL picks between the
/// primary key backwards and the text index by its statistics.
fn newest_matches(
    conn: &mut DbConnection,
    q: &str,
    visible_at: Option<NaiveDateTime>,
    limit: i64,
) -> QueryResult<Vec<i64>> {
    let published = ArticleStatus::Published.as_str();
    let rows: Vec<IdRow> = match (conn, visible_at) {
        (DbConnection::Sqlite(c), Some(now)) => diesel::sql_query(
            "SELECT articles_fts.rowid AS id FROM articles_fts JOIN articles ON articles.id = articles_fts.rowid \
             WHERE articles_fts MATCH ? AND articles.status = ? AND articles.published_at <= ? \
             ORDER BY articles_fts.rowid DESC LIMIT ?",
        )
        .bind::<Text, _>(fts5_query(q))
        .bind::<Text, _>(published)
        .bind::<Timestamp, _>(now)
        .bind::<BigInt, _>(limit)
        .load(c)?,
        (DbConnection::Sqlite(c), None) => diesel::sql_query(
            "SELECT rowid AS id FROM articles_fts WHERE articles_fts MATCH ? ORDER BY rowid DESC LIMIT ?",
        )
        .bind::<Text, _>(fts5_query(q))
        .bind::<BigInt, _>(limit)
        .load(c)?,
        (DbConnection::Pg(c), Some(now)) => diesel::sql_query(
            "SELECT id FROM articles WHERE search @@ websearch_to_tsquery('english', $1) \
             AND status = $2 AND published_at <= $3 ORDER BY id DESC LIMIT $4",
        )
        .bind::<Text, _>(q)
        .bind::<Text, _>(published)
        .bind::<Timestamp, _>(now)
        .bind::<BigInt, _>(limit)
        .load(c)?,
        (DbConnection::Pg(c), None) => diesel::sql_query(
            "SELECT id FROM articles WHERE search @@ websearch_to_tsquery('english', $1) ORDER BY id DESC LIMIT $2",
        )
        .bind::<Text, _>(q)
        .bind::<BigInt, _>(limit)
        .load(c)?,
    };
    Ok(rows.into_iter().map(|r| r.id).collect())
}

/// The articles `ids` (all matching `q`), best first. SQLite ranks with
/// FTS5's bm25 (title weighted 10, subtitle 4, body 1, set as the table's
/// `rank`); PostgreSQL with `ts_rank_cd` over the weighted tsvector. The
/// ids are integers from our own query, written into the statement as they
/// are.
///
/// On SQLite the ids bound a rowid range the text index scans, and a
/// membership test (`+rowid`, so that it is not handed to FTS5) keeps
/// theirs: given `rowid IN (…)` itself, FTS5 would run the query once per
/// id, recomputing bm25's statistics each time (36 s for 1,000 ids at 200k
/// articles, against 45 ms).
fn rank_ids(conn: &mut DbConnection, q: &str, ids: &[i64]) -> QueryResult<Vec<i64>> {
    let (Some(low), Some(high)) = (ids.iter().min(), ids.iter().max()) else {
        return Ok(vec![]);
    };
    let list = ids.iter().map(i64::to_string).collect::<Vec<_>>().join(", ");
    let rows: Vec<IdRow> = match conn {
        DbConnection::Sqlite(c) => diesel::sql_query(format!(
            "SELECT rowid AS id FROM articles_fts WHERE articles_fts MATCH ? \
             AND rowid BETWEEN {low} AND {high} AND +rowid IN ({list}) ORDER BY rank, rowid DESC"
        ))
        .bind::<Text, _>(fts5_query(q))
        .load(c)?,
        DbConnection::Pg(c) => diesel::sql_query(format!(
            "SELECT id FROM articles, websearch_to_tsquery('english', $1) AS query WHERE id IN ({list}) \
             ORDER BY ts_rank_cd(search, query) DESC, id DESC"
        ))
        .bind::<Text, _>(q)
        .load(c)?,
    };
    Ok(rows.into_iter().map(|r| r.id).collect())
}

/// A page of search results in relevance order, and how many there are
/// (within [`RELEVANCE_WINDOW`]); the page's rows are then loaded by id.
///
/// With other filters (tag, author, dates, status) the window is the newest
/// matches that pass them, among the newest [`NARROWED_SCAN`] matches.
pub fn list_by_relevance(
    conn: &mut DbConnection,
    filter: &ListFilter,
    offset: i64,
    limit: i64,
) -> QueryResult<(Vec<ArticleRow>, i64)> {
    let Some(q) = &filter.query else {
        return Ok((vec![], 0));
    };
    let narrowed = filter.status.is_some()
        || filter.author_id.is_some()
        || filter.author_slug.is_some()
        || filter.tag_slug.is_some()
        || filter.published_from.is_some()
        || filter.published_to.is_some();
    let newest = if narrowed {
        let scanned = newest_matches(conn, q, filter.visible_at, NARROWED_SCAN)?;
        let unranked = ListFilter {
            query: None,
            ..filter.clone()
        };
        let pass: std::collections::HashSet<i64> = filtered(conn, &unranked)
            .filter(articles::id.eq_any(&scanned))
            .select(articles::id)
            .load(conn)?
            .into_iter()
            .collect();
        scanned
            .into_iter()
            .filter(|id| pass.contains(id))
            .take(RELEVANCE_WINDOW as usize)
            .collect()
    } else {
        newest_matches(conn, q, filter.visible_at, RELEVANCE_WINDOW)?
    };
    let matching = rank_ids(conn, q, &newest)?;
    let total = matching.len() as i64;
    let page: Vec<i64> = matching
        .into_iter()
        .skip(offset.max(0) as usize)
        .take(limit.max(0) as usize)
        .collect();
    let mut rows: Vec<ArticleRow> = articles::table
        .filter(articles::id.eq_any(&page))
        .select(ArticleRow::as_select())
        .load(conn)?;
    rows.sort_by_key(|r| page.iter().position(|id| *id == r.id));
    Ok((rows, total))
}
