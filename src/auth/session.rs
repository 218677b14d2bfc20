//! Sign-in sessions: login, refresh-token rotation with reuse detection,
//! logout, and the editor an access token names.
//!
//! Each login starts a token *family*. A refresh spends the presented token
//! and issues the next one in the same family. Presenting a token that was
//! already spent means it was copied: the whole family is revoked, so both
//! the thief and the victim must sign in again.
//!
//! Each function takes only what it needs (the database, an [`Issuer`], the
//! [`Backoff`] policy, a hook to count password verifications), not the
//! application state.

use std::time::Duration;

use crate::auth::backoff::Backoff;
use crate::auth::jwt::JwtKeys;
use crate::auth::{CurrentEditor, password, refresh};
use crate::db::editors::{EditorRow, LoginAttempt};
use crate::db::{self, Db, DbConnection};
use crate::domain::Role;
use crate::error::AppError;

/// What issuing tokens needs: the JWT keys and the refresh-token lifetime.
#[derive(Clone, Copy)]
pub struct Issuer<'a> {
    pub jwt: &'a JwtKeys,
    pub refresh_ttl: Duration,
}

/// What a successful login or refresh hands out.
pub struct Issued {
    pub access_token: String,
    pub expires_in: u64,
    pub refresh_token: String,
    pub refresh_expires_in: u64,
}

/// A sign-in request.
pub struct Credentials {
    pub email: String,
    pub password: String,
    /// A refresh token the client kept from an earlier sign-in, if any.
    pub refresh_token: Option<String>,
}

fn invalid_credentials() -> AppError {
    AppError::Unauthorized("The email or password is wrong.".into())
}

/// Signs in. Every address, with or without an account, takes the same
/// path: the backoff claim (counted before anything is verified), one
/// argon2 verification (against a dummy hash when there is no account), and
/// on failure the same 401; so neither the answer nor its timing says which
/// addresses have accounts.
///
/// A client that presents a live refresh token of the same editor (one it
/// got from an earlier sign-in, not yet spent, revoked or expired) is not
/// held by the backoff: a lock-out that an attacker keeps up cannot keep
/// the editor's own devices out. Such an attempt is neither refused nor
/// counted. The presented token is spent before the password is verified
/// (one atomic update), so parallel sign-ins with one token get one such
/// attempt between them (the others go through the backoff like any
/// sign-in); when its password is wrong the token's family is revoked, so
/// a stolen refresh token buys one guess. A success starts a new session
/// and leaves the address's streak as it is (the streak is someone else's).
pub async fn login(
    db: &Db,
    issuer: Issuer<'_>,
    backoff: Backoff,
    on_verify: impl Fn(),
    credentials: Credentials,
) -> Result<Issued, AppError> {
    let email = credentials.email.trim().to_lowercase();
    let email_hash = refresh::digest(&email);
    let now = crate::domain::date::now();
    let remembered = match credentials.refresh_token {
        Some(token) => remembered_session(db, email.clone(), refresh::digest(token.trim()), now).await?,
        None => None,
    };
    let editor = match &remembered {
        Some((editor, _)) => Some(editor.clone()),
        None => {
            claim_attempt(db, email_hash.clone(), now, backoff).await?;
            db.read(move |conn| Ok(db::editors::find_by_email(conn, &email)?))
                .await?
        }
    };
    let stored_hash = editor.as_ref().map(|e| e.password_hash.clone());
    let matches = verify(stored_hash, credentials.password, on_verify).await?;
    let editor = match editor {
        Some(editor) if matches => editor,
        _ => {
            if let Some((_, family)) = remembered {
                db.write(move |conn| Ok(db::tokens::revoke_family(conn, &family, now)?))
                    .await?;
            }
            return Err(invalid_credentials());
        }
    };
    if !editor.active {
        return Err(AppError::Unauthorized("This editor account is disabled.".into()));
    }
    let role = editor.role;
    let forget_streak = remembered.is_none().then_some(email_hash);
    let reset_after = chrono::Duration::seconds(backoff.reset_after.as_secs() as i64);
    let refresh_token = db
        .write(move |conn| {
            if let Some(email_hash) = &forget_streak {
                db::editors::clear_login_failures(conn, email_hash)?;
                db::tokens::purge_expired(conn, now - chrono::Duration::days(1))?;
                // Streaks of addresses nobody signs in with (made-up ones
                // included) would otherwise stay for ever.
                db::editors::purge_login_failures(conn, now - reset_after)?;
            }
            start_session(conn, editor.id, now, issuer.refresh_ttl)
        })
        .await?;
    issue(issuer, editor.id, role, refresh_token)
}

/// The editor of `email` and the family of the presented refresh token,
/// when that token is live and belongs to that editor; the token is spent
/// here, so of several sign-ins presenting it at once only one gets past
/// the backoff this way.
async fn remembered_session(
    db: &Db,
    email: String,
    token_hash: String,
    now: chrono::NaiveDateTime,
) -> Result<Option<(EditorRow, String)>, AppError> {
    db.write(move |conn| {
        let Some(editor) = db::editors::find_by_email(conn, &email)? else {
            return Ok(None);
        };
        let token = db::tokens::find_by_hash(conn, &token_hash)?.filter(|t| {
            t.editor_id == editor.id && t.revoked_at.is_none() && t.used_at.is_none() && t.expires_at > now
        });
        let Some(token) = token else { return Ok(None) };
        if !db::tokens::mark_used(conn, token.id, now)? {
            return Ok(None);
        }
        Ok(Some((editor, token.family)))
    })
    .await
}

/// Counts a password attempt for the address before it is verified, or
/// refuses it while the address is backed off (see
/// [`db::editors::claim_login_attempt`]).
pub(crate) async fn claim_attempt(
    db: &Db,
    email_hash: String,
    now: chrono::NaiveDateTime,
    backoff: Backoff,
) -> Result<(), AppError> {
    if backoff.after_failures == 0 {
        return Ok(());
    }
    let reset_after = chrono::Duration::seconds(backoff.reset_after.as_secs() as i64);
    let attempt = db
        .write(move |conn| {
            Ok(db::editors::claim_login_attempt(
                conn,
                &email_hash,
                now,
                reset_after,
                |n| backoff.lock_seconds(n),
            )?)
        })
        .await?;
    match attempt {
        LoginAttempt::Allowed(_) => Ok(()),
        LoginAttempt::Locked(until) => Err(backed_off((until - now).num_seconds())),
    }
}

/// One argon2 verification of `given` (against a dummy hash when there is
/// no stored one, which never matches), counted through `on_verify`.
pub(crate) async fn verify(
    stored: Option<String>,
    given: String,
    on_verify: impl Fn(),
) -> Result<bool, AppError> {
    let matches = password::off_thread(move || match stored {
        Some(stored) => password::verify(&given, &stored),
        None => {
            password::verify_dummy(&given);
            false
        }
    })
    .await?;
    on_verify();
    Ok(matches)
}

/// The answer while an address is backed off: the same for every address.
fn backed_off(seconds_left: i64) -> AppError {
    let wait = seconds_left.max(1) as u64;
    AppError::RateLimited {
        retry_after_secs: wait,
        detail: format!("Too many failed sign-ins for this email address; retry in {wait} seconds."),
    }
}

/// Stores the first refresh token of a new family for `editor_id` and
/// returns the token.
pub(crate) fn start_session(
    conn: &mut DbConnection,
    editor_id: i64,
    now: chrono::NaiveDateTime,
    ttl: Duration,
) -> Result<String, AppError> {
    let token = refresh::generate();
    let family = uuid::Uuid::new_v4().to_string();
    db::tokens::insert(
        conn,
        &db::tokens::NewRefreshToken {
            editor_id,
            family: &family,
            token_hash: &refresh::digest(&token),
            expires_at: now + chrono::Duration::seconds(ttl.as_secs() as i64),
            created_at: now,
        },
    )?;
    Ok(token)
}

pub(crate) fn issue(
    issuer: Issuer<'_>,
    editor_id: i64,
    role: Role,
    refresh_token: String,
) -> Result<Issued, AppError> {
    let claims = issuer.jwt.claims(editor_id, role, chrono::Utc::now().timestamp());
    let access_token = issuer.jwt.encode(&claims).map_err(AppError::internal)?;
    Ok(Issued {
        access_token,
        expires_in: issuer.jwt.ttl().as_secs(),
        refresh_token,
        refresh_expires_in: issuer.refresh_ttl.as_secs(),
    })
}

enum RefreshOutcome {
    Rotated {
        editor_id: i64,
        role: Role,
        token: String,
    },
    Refused(&'static str),
}

pub async fn refresh(db: &Db, issuer: Issuer<'_>, presented: String) -> Result<Issued, AppError> {
    let presented_hash = refresh::digest(presented.trim());
    let now = crate::domain::date::now();
    let next_token = refresh::generate();
    let next_hash = refresh::digest(&next_token);
    let ttl = chrono::Duration::seconds(issuer.refresh_ttl.as_secs() as i64);

    // Refusals are returned as Ok so that the family revocation commits.
    let outcome = db
        .write(move |conn| {
            let Some(row) = db::tokens::find_by_hash(conn, &presented_hash)? else {
                return Ok(RefreshOutcome::Refused("The refresh token is not valid."));
            };
            if row.revoked_at.is_some() {
                return Ok(RefreshOutcome::Refused(
                    "The refresh token has been revoked; sign in again.",
                ));
            }
            if row.used_at.is_some() || !db::tokens::mark_used(conn, row.id, now)? {
                db::tokens::revoke_family(conn, &row.family, now)?;
                return Ok(RefreshOutcome::Refused(
                    "The refresh token was already used; every session of this sign-in has been revoked.",
                ));
            }
            if row.expires_at <= now {
                return Ok(RefreshOutcome::Refused(
                    "The refresh token has expired; sign in again.",
                ));
            }
            let editor = db::editors::find(conn, row.editor_id)?.filter(|e| e.active);
            let Some(editor) = editor else {
                db::tokens::revoke_family(conn, &row.family, now)?;
                return Ok(RefreshOutcome::Refused("The editor account is disabled."));
            };
            db::tokens::insert(
                conn,
                &db::tokens::NewRefreshToken {
                    editor_id: editor.id,
                    family: &row.family,
                    token_hash: &next_hash,
                    expires_at: now + ttl,
                    created_at: now,
                },
            )?;
            Ok(RefreshOutcome::Rotated {
                editor_id: editor.id,
                role: editor.role,
                token: next_token,
            })
        })
        .await?;
    match outcome {
        RefreshOutcome::Rotated {
            editor_id,
            role,
            token,
        } => issue(issuer, editor_id, role, token),
        RefreshOutcome::Refused(why) => Err(AppError::Unauthorized(why.into())),
    }
}

/// Revokes the family of `presented`. Unknown tokens are ignored: logging out
/// twice is not an error.
pub async fn logout(db: &Db, presented: String) -> Result<(), AppError> {
    let presented_hash = refresh::digest(presented.trim());
    let now = crate::domain::date::now();
    db.write(move |conn| {
        if let Some(row) = db::tokens::find_by_hash(conn, &presented_hash)? {
            db::tokens::revoke_family(conn, &row.family, now)?;
        }
        Ok(())
    })
    .await
}

/// The active editor an access token names, loaded for this request.
pub async fn authenticate(db: &Db, jwt: &JwtKeys, token: &str) -> Result<CurrentEditor, AppError> {
    let claims = jwt.decode(token).map_err(AppError::Unauthorized)?;
    let id: i64 = claims
        .sub
        .parse()
        .map_err(|_| AppError::Unauthorized("the access token is not valid".into()))?;
    let editor = db
        .read(move |conn| Ok(db::editors::find(conn, id)?))
        .await?
        .filter(|e| e.active)
        .ok_or_else(|| {
            AppError::Unauthorized(
                "The editor account for this token no longer exists or is disabled.".into(),
            )
        })?;
    Ok(CurrentEditor {
        id: editor.id,
        role: editor.role,
        scopes: None,
    })
}
