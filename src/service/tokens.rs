//! Personal API tokens: an editor's credential for scripts, used as
//! `Authorization: Bearer bst_…` in place of a 15-minute access token.
//!
//! Invariants:
//! - The token is `bst_` and 256 random bits (`domain::api_token`), shown
//!   once; only its SHA-256 is stored, with a display prefix.
//! - A token's scopes never exceed what its editor's role allows when it
//!   is made (`domain::scope::allowed_for`, else `422` naming `scopes`);
//!   the role still applies at each use, so a demoted editor's tokens lose
//!   what the new role does not allow.
//! - Only a password session makes, lists or revokes one's own tokens: a
//!   token cannot mint another (the HTTP layer refuses tokens there, and
//!   [`create`] refuses them again).
//! - A token stops working when revoked (by its owner or an admin), when it
//!   expires, and at once when its editor is deactivated or deleted: each
//!   use looks it up joined to an active editor.
//! - `last_used_at` is written at most once a minute per token, so a script
//!   does not turn every read into a write; a failed write is logged, not
//!   answered.

use chrono::NaiveDateTime;

use crate::auth::{CurrentEditor, refresh};
use crate::db::{self, Db};
use crate::domain::api_token;
use crate::domain::scope::{self, ScopeSet};
use crate::error::AppError;

/// A token as listed (never the secret or its hash).
pub use crate::db::api_tokens::ApiTokenRow;

/// How long a use is remembered before `last_used_at` is written again.
const TOUCH_EVERY_SECONDS: i64 = 60;

/// A validated new token.
pub struct NewToken {
    pub name: String,
    pub scopes: ScopeSet,
    pub expires_at: Option<NaiveDateTime>,
}

/// A new token: the secret (shown once) and what is stored of it.
pub struct CreatedToken {
    pub token: String,
    pub row: ApiTokenRow,
}

/// The answer to any token that does not work: the same for malformed,
/// unknown, expired and revoked tokens and for a disabled editor's.
fn not_valid() -> AppError {
    AppError::Unauthorized(
        "The API token is not valid: it may have expired or been revoked, or its editor disabled.".into(),
    )
}

/// Makes a token for the signed-in editor, within what their role allows.
pub async fn create(db: &Db, actor: CurrentEditor, new: NewToken) -> Result<CreatedToken, AppError> {
    if actor.scopes.is_some() {
        return Err(password_session_needed());
    }
    let allowed = scope::allowed_for(actor.role);
    if !new.scopes.is_subset(allowed) {
        let beyond: Vec<&str> = new
            .scopes
            .iter()
            .filter(|s| !allowed.contains(*s))
            .map(|s| s.as_str())
            .collect();
        return Err(AppError::field(
            "scopes",
            format!(
                "{} is beyond what the {} role allows",
                beyond.join(", "),
                actor.role.as_str()
            ),
        ));
    }
    let token = api_token::token_from(&refresh::generate());
    let token_hash = refresh::digest(&token);
    let prefix = api_token::display_prefix(&token);
    let now = crate::domain::date::now();
    let row = db
        .write(move |conn| {
            Ok(db::api_tokens::insert(
                conn,
                &db::api_tokens::NewApiToken {
                    editor_id: actor.id,
                    name: &new.name,
                    token_hash: &token_hash,
                    prefix: &prefix,
                    scopes: &new.scopes.to_stored(),
                    created_at: now,
                    expires_at: new.expires_at,
                },
            )?)
        })
        .await?;
    Ok(CreatedToken { token, row })
}

/// The refusal for a token where only a password session will do.
pub fn password_session_needed() -> AppError {
    AppError::Forbidden {
        code: "insufficient_scope",
        detail: "An API token cannot manage credentials: sign in with a password to manage tokens, \
                 your password or your profile."
            .into(),
    }
}

/// A page of the editor's unrevoked tokens, newest first, and their total.
pub async fn list_own(
    db: &Db,
    editor_id: i64,
    offset: i64,
    limit: i64,
) -> Result<(Vec<ApiTokenRow>, i64), AppError> {
    db.read(move |conn| Ok(db::api_tokens::list_for_editor(conn, editor_id, offset, limit)?))
        .await
}

/// A page of every editor's unrevoked tokens with the editor's name.
pub async fn list_all(
    db: &Db,
    offset: i64,
    limit: i64,
) -> Result<(Vec<(ApiTokenRow, String)>, i64), AppError> {
    db.read(move |conn| Ok(db::api_tokens::list_all(conn, offset, limit)?))
        .await
}

/// Revokes token `id` of `owner` (any editor's when `None`, for admins);
/// `404` when there is no such unrevoked token (another editor's included).
pub async fn revoke(db: &Db, id: i64, owner: Option<i64>) -> Result<(), AppError> {
    let now = crate::domain::date::now();
    let found = db
        .write(move |conn| Ok(db::api_tokens::revoke(conn, id, owner, now)?))
        .await?;
    if found {
        Ok(())
    } else {
        Err(AppError::not_found(match owner {
            Some(_) => format!("None of your API tokens has id {id} (or it is already revoked)."),
            None => format!("No API token has id {id} (or it is already revoked)."),
        }))
    }
}

/// The editor a working API token names, with the token's scopes. A
/// malformed token costs no lookup, any other one indexed lookup (and at
/// most once a minute a write of `last_used_at`).
pub async fn authenticate(db: &Db, token: &str) -> Result<CurrentEditor, AppError> {
    if !api_token::is_well_formed(token) {
        return Err(not_valid());
    }
    let token_hash = refresh::digest(token);
    let now = crate::domain::date::now();
    let live = db
        .read(move |conn| Ok(db::api_tokens::find_live(conn, &token_hash, now)?))
        .await?
        .ok_or_else(not_valid)?;
    let since = now - chrono::Duration::seconds(TOUCH_EVERY_SECONDS);
    if live.last_used_at.is_none_or(|at| at <= since) {
        let id = live.id;
        if let Err(e) = db
            .write(move |conn| Ok(db::api_tokens::touch(conn, id, now, since)?))
            .await
        {
            tracing::warn!(error = %e, token_id = id, "could not record an API token's use");
        }
    }
    Ok(CurrentEditor {
        id: live.editor_id,
        role: live.role,
        scopes: Some(live.scopes),
    })
}
