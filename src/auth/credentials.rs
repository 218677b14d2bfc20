//! Passwords after sign-up: an editor changes their own, an admin hands out
//! a single-use reset token that sets a new one, and an admin lifts the
//! sign-in backoff of an address.
//!
//! Invariants: a new password follows [`domain::password::check_rules`](crate::domain::password::check_rules); setting
//! one (change or reset) revokes the editor's refresh tokens and earlier
//! reset tokens in the same transaction; reset tokens are stored only as a
//! SHA-256 digest and are spent by one atomic `UPDATE`.

use crate::auth::backoff::Backoff;
use crate::auth::session::{self, Issued, Issuer};
use crate::auth::{password, refresh};
use crate::db::{self, Db, DbConnection};
use crate::error::AppError;

/// How long a reset token works: long enough for an admin to pass it on
/// through another channel, short enough that a forgotten one expires.
pub const RESET_TOKEN_TTL_HOURS: i64 = 24;

/// A reset token, shown once.
pub struct ResetToken {
    pub token: String,
    pub expires_at: chrono::NaiveDateTime,
}

fn check_new(field: &str, new_password: &str) -> Result<(), AppError> {
    crate::domain::password::check_rules(new_password).map_err(|e| AppError::field(field, e))
}

/// Sets `password_hash` for the editor and ends everything the old password
/// opened: refresh tokens, reset tokens, the sign-in backoff of the address.
fn set_password(
    conn: &mut DbConnection,
    editor: &db::editors::EditorRow,
    password_hash: String,
    now: chrono::NaiveDateTime,
) -> Result<(), AppError> {
    let changes = db::editors::EditorChanges {
        password_hash: Some(password_hash),
        updated_at: Some(now),
        ..Default::default()
    };
    db::editors::update(conn, editor.id, &changes)?;
    db::tokens::revoke_editor(conn, editor.id, now)?;
    db::password_resets::delete_for_editor(conn, editor.id)?;
    db::editors::clear_login_failures(conn, &refresh::digest(&editor.email))?;
    Ok(())
}

/// The signed-in editor changes their own password. The current password is
/// checked like a sign-in (counted by the backoff before it is verified, so
/// a stolen access token cannot be used to guess it quickly). Every refresh
/// token of the editor is revoked, and the caller gets a new pair: so every
/// *other* session ends at its next refresh.
pub async fn change_password(
    db: &Db,
    issuer: Issuer<'_>,
    backoff: Backoff,
    on_verify: impl Fn(),
    editor_id: i64,
    current_password: String,
    new_password: String,
) -> Result<Issued, AppError> {
    check_new("new_password", &new_password)?;
    let now = crate::domain::date::now();
    let editor = db
        .read(move |conn| Ok(db::editors::find(conn, editor_id)?))
        .await?
        .filter(|e| e.active)
        .ok_or_else(|| AppError::Unauthorized("The editor no longer exists or is disabled.".into()))?;
    session::claim_attempt(db, refresh::digest(&editor.email), now, backoff).await?;
    if !session::verify(Some(editor.password_hash.clone()), current_password, on_verify).await? {
        return Err(AppError::field(
            "current_password",
            "is not your current password",
        ));
    }
    let role = editor.role;
    let password_hash = password::hash_off_thread(new_password).await?;
    let refresh_token = db
        .write(move |conn| {
            set_password(conn, &editor, password_hash, now)?;
            session::start_session(conn, editor.id, now, issuer.refresh_ttl)
        })
        .await?;
    session::issue(issuer, editor_id, role, refresh_token)
}

/// Issues a reset token for editor `editor_id` (an admin's route); earlier
/// unused ones stop working.
pub async fn issue_reset(db: &Db, editor_id: i64) -> Result<ResetToken, AppError> {
    let token = refresh::generate();
    let token_hash = refresh::digest(&token);
    let now = crate::domain::date::now();
    let expires_at = now + chrono::Duration::hours(RESET_TOKEN_TTL_HOURS);
    db.write(move |conn| {
        if db::editors::find(conn, editor_id)?.is_none() {
            return Err(AppError::not_found(format!("No editor has id {editor_id}.")));
        }
        db::password_resets::replace(
            conn,
            &db::password_resets::NewPasswordReset {
                editor_id,
                token_hash: &token_hash,
                expires_at,
                created_at: now,
            },
        )?;
        Ok(())
    })
    .await?;
    Ok(ResetToken { token, expires_at })
}

/// [`issue_reset`] for the editor with `email` (the CLI).
pub async fn issue_reset_for_email(db: &Db, email: &str) -> Result<ResetToken, AppError> {
    let id = editor_id_by_email(db, email).await?;
    issue_reset(db, id).await
}

async fn editor_id_by_email(db: &Db, email: &str) -> Result<i64, AppError> {
    let email = email.trim().to_lowercase();
    db.read(move |conn| Ok(db::editors::find_by_email(conn, &email)?))
        .await?
        .map(|e| e.id)
        .ok_or_else(|| AppError::not_found("No editor has this email address."))
}

fn invalid_reset_token() -> AppError {
    AppError::Unauthorized("The reset token is not valid, has expired or was already used.".into())
}

/// Sets a new password with a reset token, which is spent. Everything the
/// old password opened ends (see [`set_password`]).
pub async fn reset_password(db: &Db, reset_token: String, new_password: String) -> Result<(), AppError> {
    check_new("new_password", &new_password)?;
    let token_hash = refresh::digest(reset_token.trim());
    let now = crate::domain::date::now();
    // A cheap look first, so that made-up tokens cost no argon2 hashing.
    let hash = token_hash.clone();
    let live = db
        .read(move |conn| Ok(db::password_resets::is_live(conn, &hash, now)?))
        .await?;
    if !live {
        return Err(invalid_reset_token());
    }
    let password_hash = password::hash_off_thread(new_password).await?;
    db.write(move |conn| {
        // Spent here, in the same transaction as the change: two requests
        // with one token cannot both set a password.
        let editor_id =
            db::password_resets::spend(conn, &token_hash, now)?.ok_or_else(invalid_reset_token)?;
        let editor = db::editors::find(conn, editor_id)?.ok_or_else(invalid_reset_token)?;
        set_password(conn, &editor, password_hash, now)
    })
    .await
}

/// Lifts the sign-in backoff of editor `editor_id`'s address (an admin's
/// route).
pub async fn unlock(db: &Db, editor_id: i64) -> Result<(), AppError> {
    db.write(move |conn| {
        let editor = db::editors::find(conn, editor_id)?
            .ok_or_else(|| AppError::not_found(format!("No editor has id {editor_id}.")))?;
        Ok(db::editors::clear_login_failures(
            conn,
            &refresh::digest(&editor.email),
        )?)
    })
    .await
}

/// Lifts the sign-in backoff of `email` (the CLI). The backoff counts every
/// address, with or without an account, so this works for any address.
pub async fn unlock_email(db: &Db, email: &str) -> Result<(), AppError> {
    let email_hash = refresh::digest(&email.trim().to_lowercase());
    db.write(move |conn| Ok(db::editors::clear_login_failures(conn, &email_hash)?))
        .await
}
