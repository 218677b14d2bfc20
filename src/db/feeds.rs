//! What feeds look up besides the article list (which is `articles::list`).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::DbConnection;
use super::articles::{AuthorRef, visible_at};
use super::schema::{articles, editors};

/// The author at `slug` if at least one of their articles is visible at
/// `now`: an editor who never published has no public face, so their feed
/// is `404` like an unknown slug (no list of accounts by guessing).
pub fn visible_author_by_slug(
    conn: &mut DbConnection,
    slug: &str,
    now: NaiveDateTime,
) -> QueryResult<Option<AuthorRef>> {
    editors::table
        .filter(editors::slug.eq(slug))
        .filter(diesel::dsl::exists(
            articles::table
                .filter(articles::author_id.eq(editors::id))
                .filter(visible_at(now)),
        ))
        .select(AuthorRef::as_select())
        .get_result(conn)
        .optional()
}
