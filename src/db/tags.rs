//! Tags and their article counts.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::{article_tags, tags};
use super::{DbConnection, is_unique_violation};
use crate::db::id_list::id_in;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = tags)]
pub struct TagRow {
    pub id: i64,
    pub slug: String,
    pub name: String,
    pub description: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = tags)]
pub struct NewTag {
    pub slug: String,
    pub name: String,
    pub description: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = tags)]
pub struct TagChanges {
    pub slug: Option<String>,
    pub name: Option<String>,
    pub description: Option<Option<String>>,
    pub updated_at: Option<NaiveDateTime>,
}

pub fn insert(conn: &mut DbConnection, new: &NewTag) -> QueryResult<TagRow> {
    diesel::insert_into(tags::table).values(new).get_result(conn)
}

/// Inserts `new` inside a savepoint; when a concurrent transaction created
/// a tag with the same slug or name first (the unique index says so), that
/// tag is returned instead. Two articles saved at once with the same new
/// tag both get it, rather than one of them failing.
pub fn insert_or_find(conn: &mut DbConnection, new: &NewTag) -> QueryResult<TagRow> {
    match conn.transaction(|c| insert(c, new)) {
        Ok(tag) => Ok(tag),
        Err(e) if is_unique_violation(&e) => find_clash(conn, &new.slug, &new.name, None)?.ok_or(e),
        Err(e) => Err(e),
    }
}

pub fn find(conn: &mut DbConnection, id: i64) -> QueryResult<Option<TagRow>> {
    tags::table
        .find(id)
        .select(TagRow::as_select())
        .get_result(conn)
        .optional()
}

pub fn find_by_slug(conn: &mut DbConnection, slug: &str) -> QueryResult<Option<TagRow>> {
    tags::table
        .filter(tags::slug.eq(slug))
        .select(TagRow::as_select())
        .get_result(conn)
        .optional()
}

/// A tag other than `except_id` that already has this slug or name.
pub fn find_clash(
    conn: &mut DbConnection,
    slug: &str,
    name: &str,
    except_id: Option<i64>,
) -> QueryResult<Option<TagRow>> {
    let mut query = tags::table
        .filter(tags::slug.eq(slug).or(tags::name.eq(name)))
        .into_boxed();
    if let Some(id) = except_id {
        query = query.filter(tags::id.ne(id));
    }
    query.select(TagRow::as_select()).first(conn).optional()
}

/// A page of tags by name, and the total.
pub fn list(conn: &mut DbConnection, offset: i64, limit: i64) -> QueryResult<(Vec<TagRow>, i64)> {
    let rows = tags::table
        .order((tags::name.asc(), tags::id.asc()))
        .offset(offset)
        .limit(limit)
        .select(TagRow::as_select())
        .load(conn)?;
    let total = tags::table.count().get_result(conn)?;
    Ok((rows, total))
}

/// `EXISTS` an article visible at `now` with the tag of the outer row (a
/// macro: diesel's type for it is long and says nothing). Read from the
/// tag index alone, like every public count here: `article_tags.published_at`
/// holds an article's publication time while it is published and nothing
/// otherwise (`articles::tag_index_time`, kept in the article's own
/// writes), so `published_at <= now` there is the visibility rule without
/// a probe of the article's row. At 1M articles that took `/tags` from
/// 0.59 s to 0.17 s on PostgreSQL and from 1.6 s to 0.12 s on SQLite
/// (docs/BENCHMARKS.md, "Uncached reads", fifth pass).
macro_rules! has_visible_article {
    ($now:expr) => {
        diesel::dsl::exists(
            article_tags::table
                .filter(article_tags::tag_id.eq(tags::id))
                .filter(article_tags::published_at.le($now)),
        )
    };
}

/// A page of the tags with at least one article visible at `now`
/// (published, `published_at` past), by name, and their total: the public
/// list. A tag only drafts or scheduled articles carry stays unseen.
pub fn list_visible(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    offset: i64,
    limit: i64,
) -> QueryResult<(Vec<TagRow>, i64)> {
    let rows = tags::table
        .filter(has_visible_article!(now))
        .order((tags::name.asc(), tags::id.asc()))
        .offset(offset)
        .limit(limit)
        .select(TagRow::as_select())
        .load(conn)?;
    let total = tags::table
        .filter(has_visible_article!(now))
        .count()
        .get_result(conn)?;
    Ok((rows, total))
}

/// The tag at `slug` if at least one article visible at `now` carries it.
pub fn find_visible_by_slug(
    conn: &mut DbConnection,
    slug: &str,
    now: NaiveDateTime,
) -> QueryResult<Option<TagRow>> {
    tags::table
        .filter(tags::slug.eq(slug))
        .filter(has_visible_article!(now))
        .select(TagRow::as_select())
        .get_result(conn)
        .optional()
}

/// Number of articles per tag among `tag_ids`: only those visible at `now`
/// when given (public counts, from the tag index: see
/// `has_visible_article!`), else every article. One query, one range of
/// the `(tag_id, published_at, article_id)` index per tag.
pub fn article_counts(
    conn: &mut DbConnection,
    tag_ids: &[i64],
    visible_at: Option<NaiveDateTime>,
) -> QueryResult<Vec<(i64, i64)>> {
    let mut query = article_tags::table
        .filter(id_in(article_tags::tag_id, tag_ids))
        .group_by(article_tags::tag_id)
        .select((article_tags::tag_id, diesel::dsl::count_star()))
        .into_boxed();
    if let Some(now) = visible_at {
        query = query.filter(article_tags::published_at.le(now));
    }
    query.load(conn)
}

pub fn update(conn: &mut DbConnection, id: i64, changes: &TagChanges) -> QueryResult<TagRow> {
    diesel::update(tags::table.find(id)).set(changes).get_result(conn)
}

/// Deletes a tag; the foreign key detaches it from every article.
pub fn delete(conn: &mut DbConnection, id: i64) -> QueryResult<usize> {
    diesel::delete(tags::table.find(id)).execute(conn)
}

/// `(id, slug, name)` of the tags among `ids` that exist.
pub fn names(conn: &mut DbConnection, ids: &[i64]) -> QueryResult<Vec<(i64, String, String)>> {
    tags::table
        .filter(id_in(tags::id, ids))
        .select((tags::id, tags::slug, tags::name))
        .load(conn)
}

/// The ids of the tags among `slugs` that exist.
pub fn ids_by_slugs(conn: &mut DbConnection, slugs: &[String]) -> QueryResult<Vec<i64>> {
    tags::table
        .filter(tags::slug.eq_any(slugs))
        .select(tags::id)
        .load(conn)
}
