//! Password reset tokens, stored as SHA-256 digests; single use.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::DbConnection;
use super::schema::password_resets;

#[derive(Debug, Insertable)]
#[diesel(table_name = password_resets)]
pub struct NewPasswordReset<'a> {
    pub editor_id: i64,
    pub token_hash: &'a str,
    pub expires_at: NaiveDateTime,
    pub created_at: NaiveDateTime,
}

/// Stores a new reset token for an editor, dropping the editor's earlier
/// ones: only the latest token an admin handed out works.
pub fn replace(conn: &mut DbConnection, new: &NewPasswordReset<'_>) -> QueryResult<()> {
    delete_for_editor(conn, new.editor_id)?;
    diesel::insert_into(password_resets::table)
        .values(new)
        .execute(conn)?;
    Ok(())
}

/// Spends the token with `token_hash` if it is unused and unexpired, and
/// returns its editor. One `UPDATE`, so two requests racing with the same
/// token cannot both spend it.
pub fn spend(conn: &mut DbConnection, token_hash: &str, now: NaiveDateTime) -> QueryResult<Option<i64>> {
    diesel::update(
        password_resets::table
            .filter(password_resets::token_hash.eq(token_hash))
            .filter(password_resets::used_at.is_null())
            .filter(password_resets::expires_at.gt(now)),
    )
    .set(password_resets::used_at.eq(now))
    .returning(password_resets::editor_id)
    .get_result(conn)
    .optional()
}

/// Drops every reset token of an editor (after a reset or a password change).
pub fn delete_for_editor(conn: &mut DbConnection, editor_id: i64) -> QueryResult<usize> {
    diesel::delete(password_resets::table.filter(password_resets::editor_id.eq(editor_id))).execute(conn)
}

/// Whether `token_hash` names an unused, unexpired token.
pub fn is_live(conn: &mut DbConnection, token_hash: &str, now: NaiveDateTime) -> QueryResult<bool> {
    password_resets::table
        .filter(password_resets::token_hash.eq(token_hash))
        .filter(password_resets::used_at.is_null())
        .filter(password_resets::expires_at.gt(now))
        .count()
        .get_result::<i64>(conn)
        .map(|n| n > 0)
}
