//! Reader comments: posting under the moderation rules, the public thread,
//! and the editors' moderation (status, corrections, bulk, delete).
//!
//! Settings this module applies: `COMMENT_MODERATION` (all | first_time |
//! none), `COMMENT_MAX_DEPTH`, `COMMENT_MAX_LINKS`.
//!
//! Invariants:
//! - Every change of a comment's status, and every delete, adjusts the
//!   article's `comment_count` in the same transaction.
//! - Deleting a comment that has replies leaves a tombstone (personal data
//!   and text wiped) so the replies keep their parent; a tombstone left
//!   without replies is deleted too.
//! - A reply's parent is a visible comment of the same article.

use std::collections::BTreeMap;

use chrono::Duration;

use crate::config::Config;
use crate::db::comments::NewComment;
use crate::db::{self, Db, DbConnection};
use crate::domain::comment::CommentModeration;
use crate::domain::comment::{AdminFilter, After};

/// The read model the comment use cases return (see docs/ARCHITECTURE.md:
/// service re-exports the rows it hands to `http`).
pub use crate::db::comments::CommentRow;
use crate::domain::change::Action;
use crate::domain::comment::{self, CommentStatus, Submission};
use crate::error::AppError;
use crate::service::keys;

/// The moderation settings in force.
#[derive(Clone)]
pub struct Rules {
    pub moderation: CommentModeration,
    pub max_depth: u32,
    pub max_links: u32,
    /// Signs and checks trust tokens (the server's signing secret).
    pub trust_key: Vec<u8>,
}

impl Rules {
    pub fn from_config(config: &Config) -> Self {
        Rules {
            moderation: config.comment_moderation,
            max_depth: config.comment_max_depth,
            max_links: config.comment_max_links,
            trust_key: config.jwt_secret.clone(),
        }
    }
}

/// A comment just posted, and the trust token its author's client keeps
/// (see [`comment::trust_token`]).
pub struct Posted {
    pub row: CommentRow,
    pub trust_token: String,
}

/// A validated comment from a reader.
#[derive(Debug, Clone)]
pub struct NewCommentInput {
    pub author_name: String,
    /// Lower-cased.
    pub author_email: String,
    pub author_url: Option<String>,
    pub body: String,
    pub parent_id: Option<i64>,
    /// The honeypot field came back filled: a bot.
    pub honeypot_filled: bool,
    /// A trust token from an earlier comment of this reader, if sent.
    pub trust_token: Option<String>,
}

/// Which rows of a list to load.
#[derive(Debug, Clone, Copy)]
pub struct Window {
    /// Cursor mode: start after this comment.
    pub after: Option<After>,
    /// Page mode: rows to skip.
    pub offset: i64,
    pub limit: i64,
    /// Whether to count every match too (page mode).
    pub with_total: bool,
}

/// A validated editor change; `None` leaves a field alone.
#[derive(Debug, Clone, Default)]
pub struct CommentPatch {
    pub status: Option<CommentStatus>,
    pub body: Option<String>,
}

/// What a bulk moderation did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BulkOutcome {
    /// Comments whose status changed.
    pub changed: usize,
    /// Requested ids that name no comment.
    pub missing: Vec<i64>,
}

fn no_article(slug: &str) -> AppError {
    AppError::not_found(format!("No published article has the slug `{slug}`."))
}

fn no_comment(id: i64) -> AppError {
    AppError::not_found(format!("No comment has id {id}."))
}

/// Posts a comment on the published article at `slug`. Its status follows
/// the rules: honeypot → `spam`; too many links → `pending`; else the
/// moderation mode decides. Under `first_time` a reader is trusted only
/// with a valid trust token (never by a typed email alone): see
/// [`is_trusted`].
pub async fn create(db: &Db, rules: Rules, slug: String, input: NewCommentInput) -> Result<Posted, AppError> {
    db.write(move |conn| {
        let now = crate::domain::date::now();
        let article =
            db::articles::find_visible_by_slug(conn, &slug, now)?.ok_or_else(|| no_article(&slug))?;
        if !article.comments_enabled {
            return Err(AppError::Forbidden {
                code: "comments_disabled",
                detail: format!("Comments are closed on `{slug}`."),
            });
        }
        let depth = match input.parent_id {
            None => 0,
            Some(parent_id) => {
                // Locked, so a concurrent delete cannot remove the parent
                // between this check and the insert.
                let parent = db::comments::lock(conn, parent_id)?
                    .filter(|p| p.article_id == article.id && p.is_counted())
                    .ok_or_else(|| {
                        AppError::field(
                            "parent_id",
                            "must be the id of a published comment on this article",
                        )
                    })?;
                if !comment::reply_allowed(parent.depth, rules.max_depth) {
                    return Err(AppError::field(
                        "parent_id",
                        format!(
                            "replies nest at most {} levels deep; reply higher up the thread",
                            rules.max_depth
                        ),
                    ));
                }
                parent.depth + 1
            }
        };
        let known_author = rules.moderation == CommentModeration::FirstTime
            && !input.honeypot_filled
            && is_trusted(conn, &rules, &input, now)?;
        let status = comment::initial_status(
            rules.moderation,
            rules.max_links,
            Submission {
                honeypot_filled: input.honeypot_filled,
                links: comment::count_links(&input.body),
                known_author,
            },
        );
        let row = db::comments::insert(
            conn,
            &NewComment {
                article_id: article.id,
                parent_id: input.parent_id,
                depth,
                author_name: input.author_name,
                author_email: input.author_email,
                author_url: input.author_url,
                body_html: comment::render_body(&input.body),
                body: input.body,
                status,
                created_at: now,
                updated_at: now,
            },
        )?;
        if row.is_counted() {
            db::articles::add_to_comment_count(conn, article.id, 1)?;
        }
        keys::comment_written(conn, row.id, article.id, Action::Created, row.is_counted())?;
        // Issued with every comment, spam and held ones included, so the
        // answer has the same shape whatever happened to the comment.
        let trust_token = comment::trust_token(&rules.trust_key, row.id, &row.author_email);
        Ok(Posted { row, trust_token })
    })
    .await
}

/// Whether the reader of `input` is trusted under `first_time`: their
/// trust token is genuine for this email, and names an approved comment
/// (not removed) by the same email, posted within
/// [`comment::TRUST_WINDOW_DAYS`]. Knowing someone's email is not enough:
/// the token was only ever shown to whoever posted that comment.
fn is_trusted(
    conn: &mut DbConnection,
    rules: &Rules,
    input: &NewCommentInput,
    now: chrono::NaiveDateTime,
) -> Result<bool, AppError> {
    let Some(token) = input.trust_token.as_deref() else {
        return Ok(false);
    };
    let Some(id) = comment::read_trust_token(&rules.trust_key, token, &input.author_email) else {
        return Ok(false);
    };
    let since = now - Duration::days(comment::TRUST_WINDOW_DAYS);
    Ok(db::comments::find(conn, id)?.is_some_and(|c| {
        c.author_email == input.author_email
            && c.status() == CommentStatus::Approved
            && !c.removed
            && c.created_at >= since
    }))
}

/// A page of the public thread of the article at `slug`, oldest first, and
/// the number of its comments when asked for. Tombstones of approved
/// comments are included; a reply whose parent is no longer public keeps
/// its `parent_id`.
pub async fn list_public(
    db: &Db,
    slug: String,
    window: Window,
) -> Result<(i64, Vec<CommentRow>, Option<i64>), AppError> {
    db.read_public(move |conn| {
        let article_id = db::articles::find_visible_id_by_slug(conn, &slug, crate::domain::date::now())?
            .ok_or_else(|| no_article(&slug))?;
        let rows = db::comments::list_public(conn, article_id, window.after, window.offset, window.limit)?;
        let total = match window.with_total {
            true => Some(db::comments::count_public(conn, article_id)?),
            false => None,
        };
        Ok((article_id, rows, total))
    })
    .await
}

/// One comment of the public thread of the article at `slug`.
pub async fn get_public(db: &Db, slug: String, id: i64) -> Result<CommentRow, AppError> {
    db.read_public(move |conn| {
        let article_id = db::articles::find_visible_id_by_slug(conn, &slug, crate::domain::date::now())?
            .ok_or_else(|| no_article(&slug))?;
        db::comments::find(conn, id)?
            .filter(|c| c.article_id == article_id && c.status() == CommentStatus::Approved)
            .ok_or_else(|| no_comment(id))
    })
    .await
}

/// A page of the moderation queue, newest first.
pub async fn list_admin(
    db: &Db,
    filter: AdminFilter,
    window: Window,
) -> Result<(Vec<CommentRow>, Option<i64>), AppError> {
    db.read(move |conn| {
        let rows = db::comments::list_admin(conn, &filter, window.after, window.offset, window.limit)?;
        let total = match window.with_total {
            true => Some(db::comments::count_admin(conn, &filter)?),
            false => None,
        };
        Ok((rows, total))
    })
    .await
}

pub async fn get(db: &Db, id: i64) -> Result<CommentRow, AppError> {
    db.read(move |conn| db::comments::find(conn, id)?.ok_or_else(|| no_comment(id)))
        .await
}

/// Applies `patch` to comment `id`. `check` sees the current row first (the
/// handler uses it for `If-Match`), inside the same transaction.
pub async fn update(
    db: &Db,
    id: i64,
    patch: CommentPatch,
    check: impl FnOnce(&CommentRow) -> Result<(), AppError> + Send + 'static,
) -> Result<CommentRow, AppError> {
    db.write(move |conn| {
        let current = db::comments::lock(conn, id)?.ok_or_else(|| no_comment(id))?;
        check(&current)?;
        if current.removed {
            return Err(AppError::Conflict(
                "This comment was deleted and stays only as a placeholder for its replies; it cannot be changed."
                    .into(),
            ));
        }
        let now = crate::domain::date::now();
        if let Some(body) = &patch.body {
            db::comments::update_body(conn, id, body, &comment::render_body(body), now)?;
        }
        if let Some(to) = patch.status {
            let from = current.status();
            if from != to {
                if !db::comments::set_status(conn, id, from, to, now)? {
                    return Err(AppError::Conflict(
                        "Another editor moderated this comment at the same moment; read it again.".into(),
                    ));
                }
                db::articles::add_to_comment_count(conn, current.article_id, from.count_delta(to))?;
            }
        }
        let after = db::comments::find(conn, id)?.ok_or_else(|| no_comment(id))?;
        let visible = current.is_counted() || after.is_counted();
        let action = approval(current.is_counted(), after.is_counted());
        keys::comment_written(conn, id, current.article_id, action, visible)?;
        Ok(after)
    })
    .await
}

/// Moves every comment among `ids` to `status`; tombstones are left alone.
pub async fn bulk_moderate(db: &Db, ids: Vec<i64>, status: CommentStatus) -> Result<BulkOutcome, AppError> {
    db.write(move |conn| {
        let mut ids = ids;
        ids.sort_unstable();
        ids.dedup();
        let existing = db::comments::existing_ids(conn, &ids)?;
        let missing = ids.iter().copied().filter(|id| !existing.contains(id)).collect();
        let moved = db::comments::bulk_set_status(conn, &ids, status, crate::domain::date::now())?;
        let mut deltas: BTreeMap<i64, i64> = BTreeMap::new();
        for (id, article_id, delta) in &moved {
            *deltas.entry(*article_id).or_default() += delta;
            // A move between two hidden statuses changes no public thread.
            keys::comment_written(conn, *id, *article_id, approval(false, *delta > 0), *delta != 0)?;
        }
        for (article_id, delta) in deltas {
            if delta != 0 {
                db::articles::add_to_comment_count(conn, article_id, delta)?;
            }
        }
        Ok(BulkOutcome {
            changed: moved.len(),
            missing,
        })
    })
    .await
}

/// Deletes comment `id`: outright when nothing replies to it, else as a
/// tombstone. A tombstone parent left without replies goes too.
pub async fn delete(db: &Db, id: i64) -> Result<(), AppError> {
    db.write(move |conn| {
        let current = db::comments::lock(conn, id)?.ok_or_else(|| no_comment(id))?;
        if current.is_counted() {
            db::articles::add_to_comment_count(conn, current.article_id, -1)?;
        }
        // A tombstone shows in the thread, so any delete may change it.
        keys::comment_written(conn, id, current.article_id, Action::Deleted, true)?;
        if db::comments::has_replies(conn, id)? {
            if !current.removed {
                db::comments::make_tombstone(conn, id, crate::domain::date::now())?;
            }
            return Ok(());
        }
        db::comments::delete(conn, id)?;
        let mut parent_id = current.parent_id;
        while let Some(pid) = parent_id {
            match db::comments::find(conn, pid)? {
                Some(parent) if parent.removed && !db::comments::has_replies(conn, pid)? => {
                    db::comments::delete(conn, pid)?;
                    parent_id = parent.parent_id;
                }
                _ => break,
            }
        }
        Ok(())
    })
    .await
}

/// A moderation that brought a comment into the public thread is recorded
/// as `approved` (what webhooks announce); any other change as `updated`.
fn approval(was_counted: bool, is_counted: bool) -> Action {
    if !was_counted && is_counted {
        Action::Approved
    } else {
        Action::Updated
    }
}
