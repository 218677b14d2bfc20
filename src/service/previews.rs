//! Preview links: an editor shows an article (a draft, a scheduled piece,
//! any status) to someone without an account, through an unguessable link.
//!
//! Invariants:
//! - The token is `bsp_` and 256 random bits (`domain::preview`), shown
//!   once; only its SHA-256 is stored, so a database leak opens nothing.
//! - Whoever may edit the article may create or revoke its links (authors
//!   their own articles only; another author's article is the same 404 as
//!   a missing one).
//! - A link shows the article as it is now, in whatever status; it stops
//!   working when revoked, when it expires (`PREVIEW_TTL_DAYS`), when the
//!   article is deleted (the rows go with it) or when the editor who made
//!   it is deactivated or deleted. Every failure is the same `None`, so
//!   the caller answers one 404 for all of them.

use chrono::NaiveDateTime;

use crate::auth::{CurrentEditor, refresh};
use crate::db::{self, Db};
use crate::domain::preview;
use crate::error::AppError;
use crate::service::articles::{ArticleView, load_for};

/// A new preview link's token, shown once.
pub struct PreviewLink {
    pub token: String,
    pub expires_at: NaiveDateTime,
}

/// Creates a preview link for article `article_id`, valid for `ttl`.
pub async fn create(
    db: &Db,
    actor: CurrentEditor,
    article_id: i64,
    ttl: chrono::Duration,
) -> Result<PreviewLink, AppError> {
    let token = preview::token_from(&refresh::generate());
    let token_hash = refresh::digest(&token);
    let now = crate::domain::date::now();
    let expires_at = now + ttl;
    db.write(move |conn| {
        load_for(conn, &actor, article_id)?;
        db::previews::delete_expired(conn, article_id, now)?;
        db::previews::insert(
            conn,
            &db::previews::NewPreviewLink {
                article_id,
                token_hash: &token_hash,
                created_by: actor.id,
                created_at: now,
                expires_at,
            },
        )?;
        Ok(())
    })
    .await?;
    Ok(PreviewLink { token, expires_at })
}

/// Revokes every preview link of article `article_id` (none is fine).
pub async fn revoke_all(db: &Db, actor: CurrentEditor, article_id: i64) -> Result<(), AppError> {
    let now = crate::domain::date::now();
    db.write(move |conn| {
        load_for(conn, &actor, article_id)?;
        db::previews::revoke_for_article(conn, article_id, now)?;
        Ok(())
    })
    .await
}

/// The article a working preview link shows, as it is now; `None` for a
/// malformed, unknown, revoked or expired token alike. A malformed token
/// costs no lookup, any other one index lookup.
pub async fn get(db: &Db, token: &str) -> Result<Option<ArticleView>, AppError> {
    if !preview::is_well_formed(token) {
        return Ok(None);
    }
    let token_hash = refresh::digest(token);
    let now = crate::domain::date::now();
    db.read(move |conn| {
        let Some(article_id) = db::previews::live_article(conn, &token_hash, now)? else {
            return Ok(None);
        };
        match db::articles::find(conn, article_id)? {
            Some(row) => Ok(Some(db::articles::view(conn, row)?)),
            None => Ok(None),
        }
    })
    .await
}
