//! Sign-in sessions: login, refresh-token rotation with reuse detection, and
//! logout.
//!
//! Each login starts a token *family*. A refresh spends the presented token
//! and issues the next one in the same family. Presenting a token that was
//! already spent means it was copied: the whole family is revoked, so both
//! the thief and the victim must sign in again.

use actix_web::web;

use crate::auth::backoff::Backoff;
use crate::auth::{password, refresh};
use crate::db;
use crate::domain::Role;
use crate::error::AppError;
use crate::state::AppState;

/// What a successful login or refresh hands out.
pub struct Issued {
    pub access_token: String,
    pub expires_in: u64,
    pub refresh_token: String,
    pub refresh_expires_in: u64,
}

fn invalid_credentials() -> AppError {
    AppError::Unauthorized("The email or password is wrong.".into())
}

/// Signs in. Every address, with or without an account, takes the same
/// path: the backoff check, one argon2 verification (against a dummy hash
/// when there is no account), and on failure the same 401 and the same
/// failure count; so neither the answer nor its timing says which addresses
/// have accounts.
pub async fn login(state: &AppState, email: String, password_given: String) -> Result<Issued, AppError> {
    let email = email.trim().to_lowercase();
    let email_hash = refresh::digest(&email);
    let backoff = Backoff::from_config(&state.config);
    let now = db::now();

    let key = email_hash.clone();
    let (locked_until, editor) = state
        .db
        .read(move |conn| {
            Ok((
                db::editors::login_locked_until(conn, &key, now)?,
                db::editors::find_by_email(conn, &email)?,
            ))
        })
        .await?;
    if let Some(locked_until) = locked_until {
        return Err(backed_off((locked_until - now).num_seconds()));
    }

    let stored_hash = editor.as_ref().map(|e| e.password_hash.clone());
    let matches = web::block(move || match stored_hash {
        Some(stored) => password::verify(&password_given, &stored),
        None => {
            password::verify_dummy(&password_given);
            false
        }
    })
    .await?;
    state.metrics.password_verified();

    let editor = match editor {
        Some(editor) if matches => editor,
        _ if backoff.after_failures == 0 => return Err(invalid_credentials()),
        _ => {
            let reset_after = chrono::Duration::seconds(backoff.reset_after.as_secs() as i64);
            let key = email_hash;
            state
                .db
                .write(move |conn| {
                    db::editors::record_login_failure(conn, &key, now, reset_after, |n| {
                        backoff.lock_seconds(n)
                    })?;
                    Ok(())
                })
                .await?;
            return Err(invalid_credentials());
        }
    };
    if !editor.active {
        return Err(AppError::Unauthorized("This editor account is disabled.".into()));
    }
    let role = editor.role;
    let id = editor.id;
    let family = uuid::Uuid::new_v4().to_string();
    let refresh_token = store_refresh(state, id, family, now, Some(email_hash)).await?;
    issue(state, id, role, refresh_token)
}

/// The answer while an address is backed off: the same for every address.
fn backed_off(seconds_left: i64) -> AppError {
    let wait = seconds_left.max(1) as u64;
    AppError::RateLimited {
        retry_after_secs: wait,
        detail: format!("Too many failed sign-ins for this email address; retry in {wait} seconds."),
    }
}

/// Stores a new refresh token of `family` (and, at login, forgets the failed
/// sign-ins of the address in the same transaction).
async fn store_refresh(
    state: &AppState,
    editor_id: i64,
    family: String,
    now: chrono::NaiveDateTime,
    signed_in_email_hash: Option<String>,
) -> Result<String, AppError> {
    let token = refresh::generate();
    let token_hash = refresh::digest(&token);
    let expires_at = now + chrono::Duration::seconds(state.config.refresh_token_ttl.as_secs() as i64);
    state
        .db
        .write(move |conn| {
            if let Some(email_hash) = &signed_in_email_hash {
                db::editors::clear_login_failures(conn, email_hash)?;
                db::tokens::purge_expired(conn, now - chrono::Duration::days(1))?;
            }
            db::tokens::insert(
                conn,
                &db::tokens::NewRefreshToken {
                    editor_id,
                    family: &family,
                    token_hash: &token_hash,
                    expires_at,
                    created_at: now,
                },
            )?;
            Ok(())
        })
        .await?;
    Ok(token)
}

fn issue(state: &AppState, editor_id: i64, role: Role, refresh_token: String) -> Result<Issued, AppError> {
    let claims = state.jwt.claims(editor_id, role, chrono::Utc::now().timestamp());
    let access_token = state.jwt.encode(&claims).map_err(AppError::internal)?;
    Ok(Issued {
        access_token,
        expires_in: state.jwt.ttl().as_secs(),
        refresh_token,
        refresh_expires_in: state.config.refresh_token_ttl.as_secs(),
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

pub async fn refresh(state: &AppState, presented: String) -> Result<Issued, AppError> {
    let presented_hash = refresh::digest(presented.trim());
    let now = db::now();
    let next_token = refresh::generate();
    let next_hash = refresh::digest(&next_token);
    let ttl = chrono::Duration::seconds(state.config.refresh_token_ttl.as_secs() as i64);

    // Refusals are returned as Ok so that the family revocation commits.
    let outcome = state
        .db
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
        } => issue(state, editor_id, role, token),
        RefreshOutcome::Refused(why) => Err(AppError::Unauthorized(why.into())),
    }
}

/// Revokes the family of `presented`. Unknown tokens are ignored: logging out
/// twice is not an error.
pub async fn logout(state: &AppState, presented: String) -> Result<(), AppError> {
    let presented_hash = refresh::digest(presented.trim());
    let now = db::now();
    state
        .db
        .write(move |conn| {
            if let Some(row) = db::tokens::find_by_hash(conn, &presented_hash)? {
                db::tokens::revoke_family(conn, &row.family, now)?;
            }
            Ok(())
        })
        .await
}
