//! Authors as the public sees them: the editors with at least one visible
//! article (published, `published_at` past), their public profile and the
//! number of those articles. Never the email, role or anything else of the
//! account: [`AuthorProfile`] selects only public columns.
//!
//! The list finds its editors with `EXISTS` a visible article (one index
//! probe per editor, on `articles_author_status (author_id, status,
//! published_at, id)`). Counts are never a pass over an author's articles
//! (a columnist with 100,000 of them made the list take 1.4 s): each is the
//! count of dated published articles that triggers keep in
//! `author_article_counts`, minus that author's scheduled ones, a short
//! range of the same index, in the same statement. All of it is diesel's
//! query builder, not boxed.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::DbConnection;
use super::articles::visible_at;
use super::schema::{articles, author_article_counts, editors};
use crate::db::id_list::id_in;
use crate::domain::article::ArticleStatus;

/// The public columns of an editor.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = editors)]
pub struct AuthorProfile {
    pub id: i64,
    pub slug: String,
    pub name: String,
    pub bio: Option<String>,
    pub avatar_url: Option<String>,
    pub website: Option<String>,
    pub twitter: Option<String>,
    pub bluesky: Option<String>,
    pub mastodon: Option<String>,
}

/// An author with the number of their visible articles.
#[derive(Debug, Clone)]
pub struct AuthorView {
    pub author: AuthorProfile,
    pub article_count: i64,
}

/// `EXISTS` an article of the outer editor visible at `$now` (a macro:
/// diesel's type for it is long and says nothing).
macro_rules! has_visible_article {
    ($now:expr) => {
        diesel::dsl::exists(
            articles::table
                .filter(articles::author_id.eq(editors::id))
                .filter(visible_at($now)),
        )
    };
}

/// Up to `limit` editors with an article visible at `now`, by name then
/// id: after the keyset position `after` (name, id) when given, else from
/// `offset`.
pub fn list_visible(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    after: Option<(&str, i64)>,
    offset: i64,
    limit: i64,
) -> QueryResult<Vec<AuthorProfile>> {
    let order = (editors::name.asc(), editors::id.asc());
    let visible = editors::table.filter(has_visible_article!(now));
    match after {
        None => visible
            .order(order)
            .offset(offset)
            .limit(limit)
            .select(AuthorProfile::as_select())
            .load(conn),
        Some((name, id)) => visible
            .filter(
                editors::name
                    .gt(name)
                    .or(editors::name.eq(name).and(editors::id.gt(id))),
            )
            .order(order)
            .limit(limit)
            .select(AuthorProfile::as_select())
            .load(conn),
    }
}

/// How many editors have an article visible at `now`.
pub fn count_visible(conn: &mut DbConnection, now: NaiveDateTime) -> QueryResult<i64> {
    editors::table
        .filter(has_visible_article!(now))
        .count()
        .get_result(conn)
}

/// `$author`'s visible articles at `$now`: the dated published ones that
/// triggers count in `author_article_counts`, minus those still scheduled
/// (a correlated subquery on a short range of `articles_author_status`).
/// A macro: diesel's type for it is long and says nothing.
macro_rules! visible_count {
    ($now:expr) => {
        author_article_counts::count
            - articles::table
                .filter(articles::author_id.eq(author_article_counts::author_id))
                .filter(articles::status.eq(ArticleStatus::Published.as_str()))
                .filter(articles::published_at.gt($now))
                .count()
                .single_value()
                .assume_not_null()
    };
}

/// `authors` with the number of their articles visible at `now`: one
/// statement, whatever the number of authors or articles.
pub fn with_counts(
    conn: &mut DbConnection,
    authors: Vec<AuthorProfile>,
    now: NaiveDateTime,
) -> QueryResult<Vec<AuthorView>> {
    if authors.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<i64> = authors.iter().map(|a| a.id).collect();
    let counts: Vec<(i64, i64)> = author_article_counts::table
        .filter(id_in(author_article_counts::author_id, &ids))
        .select((author_article_counts::author_id, visible_count!(now)))
        .load(conn)?;
    Ok(authors
        .into_iter()
        .map(|author| {
            let article_count = counts
                .iter()
                .find(|(id, _)| *id == author.id)
                .map_or(0, |(_, n)| *n);
            AuthorView {
                author,
                article_count,
            }
        })
        .collect())
}

/// The author at `slug` with their count, if an article of theirs is
/// visible at `now`: one statement (the editor by its unique slug joined
/// to their stored count).
pub fn find_visible_by_slug(
    conn: &mut DbConnection,
    slug: &str,
    now: NaiveDateTime,
) -> QueryResult<Option<AuthorView>> {
    let row = editors::table
        .inner_join(author_article_counts::table)
        .filter(editors::slug.eq(slug))
        .select((AuthorProfile::as_select(), visible_count!(now)))
        .get_result::<(AuthorProfile, i64)>(conn)
        .optional()?;
    Ok(row
        .filter(|(_, count)| *count > 0)
        .map(|(author, article_count)| AuthorView {
            author,
            article_count,
        }))
}

/// `(id, slug, name)` of the editors among `ids`: public columns only.
pub fn names(conn: &mut DbConnection, ids: &[i64]) -> QueryResult<Vec<(i64, String, String)>> {
    editors::table
        .filter(id_in(editors::id, ids))
        .select((editors::id, editors::slug, editors::name))
        .load(conn)
}

/// The editor with the public slug `slug`.
pub fn id_by_slug(conn: &mut DbConnection, slug: &str) -> QueryResult<Option<i64>> {
    editors::table
        .filter(editors::slug.eq(slug))
        .select(editors::id)
        .first(conn)
        .optional()
}
