//! Authors as the public sees them: the editors with at least one visible
//! article (published, `published_at` past), their public profile and the
//! number of those articles. Never the email, role or anything else of the
//! account: [`AuthorProfile`] selects only public columns.
//!
//! The list finds its editors with `EXISTS` a visible article (one index
//! probe per editor), then counts the visible articles of the page's
//! editors only; the author page joins and counts in one statement. Both
//! are served by the index `articles_author_status (author_id, status,
//! published_at, id)`. All of it is diesel's query builder, not boxed.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::DbConnection;
use super::articles::visible_at;
use super::schema::{articles, editors};

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

/// `authors` with the number of their articles visible at `now`: one
/// statement, whatever their number.
pub fn with_counts(
    conn: &mut DbConnection,
    authors: Vec<AuthorProfile>,
    now: NaiveDateTime,
) -> QueryResult<Vec<AuthorView>> {
    if authors.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<i64> = authors.iter().map(|a| a.id).collect();
    let counts: Vec<(i64, i64)> = articles::table
        .filter(articles::author_id.eq_any(&ids))
        .filter(visible_at(now))
        .group_by(articles::author_id)
        .select((articles::author_id, diesel::dsl::count_star()))
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
/// visible at `now`: one statement (the editor by its unique slug, joined
/// to their visible articles and counted). No `LIMIT`: a bound `LIMIT ?`
/// makes SQLite prepare the statement again on every run.
pub fn find_visible_by_slug(
    conn: &mut DbConnection,
    slug: &str,
    now: NaiveDateTime,
) -> QueryResult<Option<AuthorView>> {
    let row = editors::table
        .inner_join(articles::table)
        .filter(editors::slug.eq(slug))
        .filter(visible_at(now))
        .group_by(editors::id)
        .select((AuthorProfile::as_select(), diesel::dsl::count_star()))
        .get_result::<(AuthorProfile, i64)>(conn)
        .optional()?;
    Ok(row.map(|(author, article_count)| AuthorView {
        author,
        article_count,
    }))
}
