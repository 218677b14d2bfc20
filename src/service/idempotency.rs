//! `Idempotency-Key` (IETF httpapi draft "The Idempotency-Key HTTP Header
//! Field"): a client that retries a POST or PATCH with the same key gets
//! the first answer back instead of a second comment or a second edit.
//!
//! - Keys are per client: an editor (by id, so a retry after refreshing
//!   the access token still matches) or, without a token, the client
//!   address as the rate limits key it (IPv4, or IPv6 /64).
//! - The request is hashed (method, path and query, body). The same key
//!   with another request is `422 idempotency_key_reused`; while the first
//!   runs, a retry is `409 idempotency_key_in_use`.
//! - Final answers are kept: `2xx` and `4xx`, but not the ones a retry may
//!   rightly change (`401`, `408`, `429`: the key is released). A `5xx`
//!   keeps the key locked for [`STALE_AFTER`]: the write may still have
//!   committed (a database deadline answers `503` while a statement runs),
//!   so a retry is told `409` for that long rather than run twice at once;
//!   after it, as after a crash, a retry runs again.
//! - Each run holds a random claim id: only the run that claimed a key
//!   stores its answer or releases it, and of two retries taking over an
//!   abandoned key one wins.
//! - Kept `IDEMPOTENCY_KEY_TTL_HOURS` (24), in the database, so every
//!   instance and a restarted one agree; expired keys are purged as new
//!   ones arrive.

use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::db::Db;
use crate::db::idempotency::{self as store, Claim};
use crate::error::AppError;

/// Longest key accepted (the draft recommends UUIDs: 36 characters).
pub const KEY_MAX: usize = 255;
/// A first request still "running" after this long was abandoned.
pub const STALE_AFTER: Duration = Duration::from_secs(60);
/// One claim in this many also purges expired keys.
const PURGE_ONE_IN: u32 = 64;

/// A stored answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

/// A claimed key: the run that holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Run {
    client: String,
    key: String,
    claim: String,
}

impl Run {
    fn claimant(&self) -> store::Claimant<'_> {
        store::Claimant {
            client: &self.client,
            key: &self.key,
            claim: &self.claim,
        }
    }
}

/// What to do with a request that carries a key.
#[derive(Debug, PartialEq, Eq)]
pub enum Begin {
    /// Run it, then [`finish`] or [`release`].
    Run(Run),
    /// Answer with the first request's answer.
    Replay(Answer),
    /// The first request with this key is still running.
    InUse,
    /// The key was used for a different request.
    Reused,
}

/// Checks a key: 1–255 visible ASCII characters (a UUID, typically).
pub fn check_key(key: &str) -> Result<(), String> {
    if key.is_empty() || key.len() > KEY_MAX {
        return Err(format!("must be 1–{KEY_MAX} characters (a UUID, for example)"));
    }
    if !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err("must be visible ASCII characters only (a UUID, for example)".into());
    }
    Ok(())
}

/// The fingerprint a retry must match: method, path and query, the
/// preconditions that decide the answer (`If-Match`), and the body.
pub fn request_hash(method: &str, path_and_query: &str, if_match: &str, body: &[u8]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(method.as_bytes());
    hasher.update(b" ");
    hasher.update(path_and_query.as_bytes());
    hasher.update(b"\nif-match: ");
    hasher.update(if_match.as_bytes());
    hasher.update(b"\n");
    hasher.update(body);
    hasher.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// Claims `key` for `client`, or says why the request must not run.
pub async fn begin(
    db: &Db,
    client: String,
    key: String,
    hash: String,
    ttl: Duration,
) -> Result<Begin, AppError> {
    let now = crate::domain::date::now();
    let expires_at = now + chrono::Duration::from_std(ttl).map_err(AppError::internal)?;
    let stale_before = now - chrono::Duration::from_std(STALE_AFTER).map_err(AppError::internal)?;
    let purge = rand::random_range(0..PURGE_ONE_IN) == 0;
    let claim: String = (0..16).map(|_| format!("{:02x}", rand::random::<u8>())).collect();
    let run = Run { client, key, claim };
    db.write(move |conn| {
        if purge {
            store::purge(conn, now)?;
        }
        let claimed = store::claim(conn, &run.claimant(), &hash, now, expires_at, stale_before)?;
        Ok(match claimed {
            Claim::Claimed => Begin::Run(run),
            Claim::Taken(found) => decide(found, &hash),
        })
    })
    .await
}

fn decide(found: store::StoredKey, hash: &str) -> Begin {
    if found.request_hash != hash {
        return Begin::Reused;
    }
    match found.status {
        None => Begin::InUse,
        Some(status) => Begin::Replay(Answer {
            status: u16::try_from(status).unwrap_or(500),
            headers: serde_json::from_str(&found.headers).unwrap_or_default(),
            body: found.body,
        }),
    }
}

/// Whether an answer with this status is kept for retries (see the
/// module comment): `None` keeps the key locked until it is stale, `Some`
/// says keep or release.
pub fn keeps(status: u16) -> Option<bool> {
    match status {
        500..=599 => None,
        401 | 408 | 429 => Some(false),
        _ => Some(true),
    }
}

/// Keeps the first request's answer for retries.
pub async fn finish(db: &Db, run: Run, answer: Answer) -> Result<(), AppError> {
    let headers = serde_json::to_string(&answer.headers).map_err(AppError::internal)?;
    db.write(move |conn| {
        store::finish(
            conn,
            &run.claimant(),
            i32::from(answer.status),
            &headers,
            &answer.body,
        )?;
        Ok(())
    })
    .await
}

/// Lets the key go: the request ended in a way a retry may fix.
pub async fn release(db: &Db, run: Run) -> Result<(), AppError> {
    db.write(move |conn| {
        store::release(conn, &run.claimant())?;
        Ok(())
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_hashes() {
        assert!(check_key("6f1c3b1e-3a52-4b7e-9f0e-1a2b3c4d5e6f").is_ok());
        for bad in ["", "with space", "tab\t", "é", &"x".repeat(256)] {
            assert!(check_key(bad).is_err(), "{bad:?}");
        }
        let a = request_hash("POST", "/api/v1/x", "", b"{}");
        assert_eq!(a.len(), 64);
        assert_eq!(a, request_hash("POST", "/api/v1/x", "", b"{}"));
        assert_ne!(a, request_hash("PATCH", "/api/v1/x", "", b"{}"));
        assert_ne!(a, request_hash("POST", "/api/v1/y", "", b"{}"));
        assert_ne!(a, request_hash("POST", "/api/v1/x", "\"e1\"", b"{}"));
        assert_ne!(a, request_hash("POST", "/api/v1/x", "", b"{ }"));
        assert_eq!(
            (keeps(201), keeps(422), keeps(429), keeps(503)),
            (Some(true), Some(true), Some(false), None)
        );
    }
}
