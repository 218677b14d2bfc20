//! Personal API tokens, stored as SHA-256 digests with a display prefix.
//! A token works while it is unrevoked, unexpired and its editor exists
//! (the foreign key takes the rows along) and is active: one lookup by the
//! unique index on `token_hash`, joined to the editor by primary key.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::DbConnection;
use super::schema::{api_tokens, editors};
use crate::domain::Role;
use crate::domain::scope::ScopeSet;

/// A token as its owner and admins see it (never the hash).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = api_tokens)]
pub struct ApiTokenRow {
    pub id: i64,
    pub editor_id: i64,
    pub name: String,
    pub prefix: String,
    pub scopes: ScopeSet,
    pub created_at: NaiveDateTime,
    pub expires_at: Option<NaiveDateTime>,
    pub last_used_at: Option<NaiveDateTime>,
    pub revoked_at: Option<NaiveDateTime>,
}

/// What a working token grants, for one request.
#[derive(Debug, Clone, Queryable)]
pub struct LiveToken {
    pub id: i64,
    pub scopes: ScopeSet,
    pub last_used_at: Option<NaiveDateTime>,
    pub editor_id: i64,
    pub role: Role,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = api_tokens)]
pub struct NewApiToken<'a> {
    pub editor_id: i64,
    pub name: &'a str,
    pub token_hash: &'a str,
    pub prefix: &'a str,
    pub scopes: &'a str,
    pub created_at: NaiveDateTime,
    pub expires_at: Option<NaiveDateTime>,
}

/// Stores a new token and returns it.
pub fn insert(conn: &mut DbConnection, new: &NewApiToken<'_>) -> QueryResult<ApiTokenRow> {
    let id: i64 = diesel::insert_into(api_tokens::table)
        .values(new)
        .returning(api_tokens::id)
        .get_result(conn)?;
    api_tokens::table
        .find(id)
        .select(ApiTokenRow::as_select())
        .first(conn)
}

/// The working token with `token_hash`, with its editor's id and role.
pub fn find_live(
    conn: &mut DbConnection,
    token_hash: &str,
    now: NaiveDateTime,
) -> QueryResult<Option<LiveToken>> {
    api_tokens::table
        .inner_join(editors::table)
        .filter(api_tokens::token_hash.eq(token_hash))
        .filter(api_tokens::revoked_at.is_null())
        .filter(
            api_tokens::expires_at
                .is_null()
                .or(api_tokens::expires_at.gt(now)),
        )
        .filter(editors::active.eq(true))
        .select((
            api_tokens::id,
            api_tokens::scopes,
            api_tokens::last_used_at,
            editors::id,
            editors::role,
        ))
        .first(conn)
        .optional()
}

/// Records a use at `now` unless one was recorded after `since`; returns
/// whether it wrote. Conditional in the statement, so parallel requests
/// write at most once between them.
pub fn touch(
    conn: &mut DbConnection,
    id: i64,
    now: NaiveDateTime,
    since: NaiveDateTime,
) -> QueryResult<bool> {
    let updated = diesel::update(
        api_tokens::table.find(id).filter(
            api_tokens::last_used_at
                .is_null()
                .or(api_tokens::last_used_at.le(since)),
        ),
    )
    .set(api_tokens::last_used_at.eq(now))
    .execute(conn)?;
    Ok(updated == 1)
}

/// A page of an editor's unrevoked tokens (expired ones included), newest
/// first, and their total.
pub fn list_for_editor(
    conn: &mut DbConnection,
    editor_id: i64,
    offset: i64,
    limit: i64,
) -> QueryResult<(Vec<ApiTokenRow>, i64)> {
    let mine = api_tokens::table
        .filter(api_tokens::editor_id.eq(editor_id))
        .filter(api_tokens::revoked_at.is_null());
    let rows = mine
        .order(api_tokens::id.desc())
        .offset(offset)
        .limit(limit)
        .select(ApiTokenRow::as_select())
        .load(conn)?;
    let total = mine.count().get_result(conn)?;
    Ok((rows, total))
}

/// A page of every editor's unrevoked tokens, each with its editor's
/// name, newest first, and the total.
pub fn list_all(
    conn: &mut DbConnection,
    offset: i64,
    limit: i64,
) -> QueryResult<(Vec<(ApiTokenRow, String)>, i64)> {
    let rows = api_tokens::table
        .inner_join(editors::table)
        .filter(api_tokens::revoked_at.is_null())
        .order(api_tokens::id.desc())
        .offset(offset)
        .limit(limit)
        .select((ApiTokenRow::as_select(), editors::name))
        .load(conn)?;
    let total = api_tokens::table
        .filter(api_tokens::revoked_at.is_null())
        .count()
        .get_result(conn)?;
    Ok((rows, total))
}

/// Revokes token `id` (only if it belongs to `editor_id`, when given);
/// returns whether an unrevoked token was found.
pub fn revoke(
    conn: &mut DbConnection,
    id: i64,
    editor_id: Option<i64>,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let live = api_tokens::table
        .filter(api_tokens::id.eq(id))
        .filter(api_tokens::revoked_at.is_null());
    let updated = match editor_id {
        Some(editor_id) => diesel::update(live.filter(api_tokens::editor_id.eq(editor_id)))
            .set(api_tokens::revoked_at.eq(now))
            .execute(conn)?,
        None => diesel::update(live)
            .set(api_tokens::revoked_at.eq(now))
            .execute(conn)?,
    };
    Ok(updated == 1)
}
