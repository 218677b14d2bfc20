//! Articles: rows, visibility, slugs, tags and counters, and the filter
//! query that lists share (`filtered`). Listing with keyset pagination is
//! `list.rs`; what the search index is built from is `search.rs` (the index
//! itself is `infra::search`).
//!
//! Visibility: an article is public when `status = 'published'` and
//! `published_at <= now`; "now" is a parameter, so a scheduled article
//! appears by itself when its time comes, with no background job.

use chrono::NaiveDateTime;
use diesel::prelude::*;

pub mod announce;
mod embedded;
mod list;
mod related;
mod search;
mod views;

pub use list::{by_ids, count, ids, list, rarest_tag_first};
pub use related::related;
pub use search::{search_documents, search_order, suggestion_titles};
use views::load_rows;
pub use views::{ArticleView, AuthorRef, TagRef, find_visible_view_by_slug, view};

use super::schema::{article_tags, articles, editors, tags};
use super::{DbConnection, MultiBackend, is_unique_violation};
use crate::db::generic_plan::{Opaque, TextConstant, TextIs, opaque, text_is};
use crate::db::id_list::id_in;
use crate::domain::article::{ArticleStatus, ListFilter};
use crate::domain::slug;
use diesel::sql_types::{Nullable, Timestamp};

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
    pub status: ArticleStatus,
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
    pub featured: bool,
    /// JSON, see `domain::presentation::ImageMeta`.
    pub featured_image_meta: Option<String>,
    /// JSON, see `domain::presentation::Seo`.
    pub seo: String,
    /// JSON array of strings.
    pub pull_quotes: String,
    /// NULL for bodies written before the column existed.
    pub body_text: Option<String>,
}

impl ArticleRow {
    pub fn is_visible(&self, now: NaiveDateTime) -> bool {
        self.status.is_public_at(self.published_at, now)
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
    pub status: ArticleStatus,
    pub author_id: i64,
    pub featured_image_url: Option<String>,
    pub word_count: i32,
    pub reading_time_minutes: i32,
    pub comments_enabled: bool,
    pub published_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub featured: bool,
    pub featured_image_meta: Option<String>,
    pub seo: String,
    pub pull_quotes: String,
    pub body_text: Option<String>,
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
    pub status: Option<ArticleStatus>,
    pub featured_image_url: Option<Option<String>>,
    pub word_count: Option<i32>,
    pub reading_time_minutes: Option<i32>,
    pub comments_enabled: Option<bool>,
    pub published_at: Option<Option<NaiveDateTime>>,
    pub updated_at: Option<NaiveDateTime>,
    pub featured: Option<bool>,
    pub featured_image_meta: Option<Option<String>>,
    pub seo: Option<String>,
    pub pull_quotes: Option<String>,
    pub body_text: Option<Option<String>>,
}

type Boxed<'a> = articles::BoxedQuery<'a, MultiBackend>;

/// The list query for `filter`, without order or paging (lists and counts
/// share it). A search query must have been turned into `only_ids` by the
/// search engine: text is not matched here.
fn filtered(filter: &ListFilter) -> Boxed<'_> {
    let mut query = articles::table.into_boxed::<MultiBackend>();
    if let Some(now) = filter.visible_at {
        query = query.filter(visible_at(now));
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
    if !filter.tags_any.is_empty() {
        query = query.filter(
            articles::id.eq_any(
                article_tags::table
                    .inner_join(tags::table)
                    .filter(tags::slug.eq_any(&filter.tags_any))
                    .select(article_tags::article_id),
            ),
        );
    }
    // One subquery per tag: an article must be in each.
    for tag in &filter.tags_all {
        query = query.filter(
            articles::id.eq_any(
                article_tags::table
                    .inner_join(tags::table)
                    .filter(tags::slug.eq(tag))
                    .select(article_tags::article_id),
            ),
        );
    }
    if !filter.exclude_ids.is_empty() {
        query = query.filter(articles::id.ne_all(&filter.exclude_ids));
    }
    if !filter.exclude_slugs.is_empty() {
        query = query.filter(articles::slug.ne_all(&filter.exclude_slugs));
    }
    if let Some(featured) = filter.featured {
        query = query.filter(articles::featured.eq(featured));
    }
    if let Some(since) = filter.updated_since {
        query = query.filter(articles::updated_at.ge(since));
    }
    if let Some(from) = filter.published_from {
        query = query.filter(articles::published_at.ge(from));
    }
    if let Some(to) = filter.published_to {
        query = query.filter(articles::published_at.le(to));
    }
    if let Some(ids) = &filter.only_ids {
        query = query.filter(id_in(articles::id, ids));
    }
    query
}

/// "The public may see it at `now`": published, and `published_at` past.
/// The one spelling of that rule for every query here. Not boxed, so a
/// query built on it keeps diesel's static statement identity. On
/// PostgreSQL the status is in the text and `now` opaque to the planner,
/// so that list statements keep one generic plan (`db::generic_plan`).
pub(super) fn visible_at(now: NaiveDateTime) -> VisibleAt {
    text_is::<Published, _>(articles::status).and(articles::published_at.le(opaque_time(now)))
}

/// A publication time opaque to PostgreSQL's planner (`db::generic_plan`),
/// to compare with `published_at` columns: the visibility bound, cursors.
pub(super) fn opaque_time(at: NaiveDateTime) -> OpaqueTime {
    opaque(at)
}

pub(super) type OpaqueTime = Opaque<Nullable<Timestamp>, NaiveDateTime>;

pub(super) type VisibleAt = diesel::dsl::And<
    TextIs<articles::status, Published>,
    diesel::dsl::LtEq<articles::published_at, OpaqueTime>,
>;

/// The published status, as a constant a statement may carry in its text.
#[derive(Debug, Clone, Copy)]
pub(super) struct Published;

impl TextConstant for Published {
    const TEXT: &'static str = ArticleStatus::Published.as_str();
}

pub fn find(conn: &mut DbConnection, id: i64) -> QueryResult<Option<ArticleRow>> {
    articles::table
        .find(id)
        .select(ArticleRow::as_select())
        .get_result(conn)
        .optional()
}

pub fn find_by_slug(conn: &mut DbConnection, slug: &str) -> QueryResult<Option<ArticleRow>> {
    articles::table
        .filter(articles::slug.eq(slug))
        .select(ArticleRow::as_select())
        .get_result(conn)
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
        .filter(visible_at(now))
        .select(ArticleRow::as_select())
        .get_result(conn)
        .optional()
}

/// The id of the article at `slug` if the public may see it at `now`: what
/// the comment and share routes need of it, without its bodies.
pub fn find_visible_id_by_slug(
    conn: &mut DbConnection,
    slug: &str,
    now: NaiveDateTime,
) -> QueryResult<Option<i64>> {
    // Before every thread page and share count: on the backend's own
    // connection (`on_backend!`).
    crate::db::on_backend!(conn, |c| articles::table
        .filter(articles::slug.eq(slug))
        .filter(visible_at(now))
        .select(articles::id)
        .get_result(c)
        .optional())
}

/// Ids of the published articles whose `published_at` fell in
/// `(after, until]`: scheduled articles that went public in that window.
pub fn published_between(
    conn: &mut DbConnection,
    after: NaiveDateTime,
    until: NaiveDateTime,
) -> QueryResult<Vec<i64>> {
    articles::table
        .filter(articles::status.eq(ArticleStatus::Published.as_str()))
        .filter(articles::published_at.gt(after))
        .filter(articles::published_at.le(until))
        .select(articles::id)
        .load(conn)
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
        .filter(visible_at(now))
        .select((articles::id, articles::slug))
        .load(conn)
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
                .returning(<ArticleRow as Selectable<MultiBackend>>::construct_selection())
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
        .returning(<ArticleRow as Selectable<MultiBackend>>::construct_selection())
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
    (row.status == ArticleStatus::Published)
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

/// The lock a tag or author change takes on PostgreSQL before its first
/// statement that changes an embed (migration 000034's triggers), taken
/// now instead: for a transaction that locks other rows first (an editor
/// update locks the active admins), which would otherwise hold those rows
/// while it waits for the article writes in flight, one of which may be
/// waiting for them (an article by that admin checks its author's row).
/// Nothing on SQLite, which runs one write at a time.
pub fn lock_embeds_for_rename(conn: &mut DbConnection) -> QueryResult<()> {
    if let DbConnection::Pg(pg) = conn {
        diesel::sql_query(format!("SELECT pg_advisory_xact_lock({EMBEDS_LOCK_KEY})")).execute(pg)?;
    }
    Ok(())
}

/// The key of that lock: `'bs_embed'` in ASCII, as in the migration.
const EMBEDS_LOCK_KEY: i64 = 0x6273_5f65_6d62_6564;

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
