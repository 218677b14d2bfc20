//! Preview links, stored as SHA-256 digests of their tokens. A link works
//! while it is unrevoked, unexpired, its article exists (the foreign key
//! takes the links along) and the editor who made it is active.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::DbConnection;
use super::schema::{editors, preview_links};

#[derive(Debug, Insertable)]
#[diesel(table_name = preview_links)]
pub struct NewPreviewLink<'a> {
    pub article_id: i64,
    pub token_hash: &'a str,
    pub created_by: i64,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
}

/// Stores a new link.
pub fn insert(conn: &mut DbConnection, new: &NewPreviewLink<'_>) -> QueryResult<()> {
    diesel::insert_into(preview_links::table)
        .values(new)
        .execute(conn)?;
    Ok(())
}

/// The article a working link with `token_hash` shows: one lookup by the
/// unique index on `token_hash` (and the creator by primary key).
pub fn live_article(
    conn: &mut DbConnection,
    token_hash: &str,
    now: NaiveDateTime,
) -> QueryResult<Option<i64>> {
    preview_links::table
        .inner_join(editors::table)
        .filter(preview_links::token_hash.eq(token_hash))
        .filter(preview_links::revoked_at.is_null())
        .filter(preview_links::expires_at.gt(now))
        .filter(editors::active.eq(true))
        .select(preview_links::article_id)
        .first(conn)
        .optional()
}

/// Revokes every working link of an article; returns how many.
pub fn revoke_for_article(
    conn: &mut DbConnection,
    article_id: i64,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(
        preview_links::table
            .filter(preview_links::article_id.eq(article_id))
            .filter(preview_links::revoked_at.is_null()),
    )
    .set(preview_links::revoked_at.eq(now))
    .execute(conn)
}

/// Drops an article's links that expired before `now`: they can never work
/// again, so each article keeps only its live and recently revoked rows.
pub fn delete_expired(conn: &mut DbConnection, article_id: i64, now: NaiveDateTime) -> QueryResult<usize> {
    diesel::delete(
        preview_links::table
            .filter(preview_links::article_id.eq(article_id))
            .filter(preview_links::expires_at.le(now)),
    )
    .execute(conn)
}
