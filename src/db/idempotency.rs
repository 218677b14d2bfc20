//! Stored first answers to requests sent with an `Idempotency-Key`, one
//! row per (client, key). See `service::idempotency` for the rules.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::idempotency_keys as keys;
use super::{DbConnection, is_unique_violation};

/// A row as the rules need it.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = keys)]
pub struct StoredKey {
    pub request_hash: String,
    /// `None` while the first request runs.
    pub status: Option<i32>,
    /// JSON `[[name, value], …]`.
    pub headers: String,
    pub body: String,
    pub locked_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
}

#[derive(Insertable)]
#[diesel(table_name = keys)]
struct NewKey<'a> {
    client: &'a str,
    key: &'a str,
    request_hash: &'a str,
    claim: &'a str,
    locked_at: NaiveDateTime,
    expires_at: NaiveDateTime,
}

/// What a claim found.
pub enum Claim {
    /// The row is ours: the request runs.
    Claimed,
    /// Another request holds (or held) the key.
    Taken(StoredKey),
}

/// The row of (client, key), if any.
pub fn find(conn: &mut DbConnection, client: &str, key: &str) -> QueryResult<Option<StoredKey>> {
    keys::table
        .filter(keys::client.eq(client))
        .filter(keys::key.eq(key))
        .select(StoredKey::as_select())
        .get_result(conn)
        .optional()
}

/// A run's claim on (client, key): the row, and the id only that run holds.
pub struct Claimant<'a> {
    pub client: &'a str,
    pub key: &'a str,
    pub claim: &'a str,
}

/// Claims (client, key) for a new run of a request hashed `request_hash`.
/// An expired row is replaced; a running row locked before `stale_before`
/// (its instance died) is taken over when the request is the same, by one
/// conditional `UPDATE`, so of two retries racing for it one wins. A
/// concurrent claim of a new key loses on the unique index and sees the
/// winner's row.
pub fn claim(
    conn: &mut DbConnection,
    who: &Claimant<'_>,
    request_hash: &str,
    now: NaiveDateTime,
    expires_at: NaiveDateTime,
    stale_before: NaiveDateTime,
) -> QueryResult<Claim> {
    let (client, key) = (who.client, who.key);
    let mine = keys::table
        .filter(keys::client.eq(client))
        .filter(keys::key.eq(key));
    if let Some(found) = find(conn, client, key)? {
        let abandoned =
            found.status.is_none() && found.locked_at < stale_before && found.request_hash == request_hash;
        if abandoned {
            let taken = diesel::update(
                mine.filter(keys::status.is_null())
                    .filter(keys::locked_at.eq(found.locked_at)),
            )
            .set((keys::locked_at.eq(now), keys::claim.eq(who.claim)))
            .execute(conn)?;
            return Ok(if taken == 1 {
                Claim::Claimed
            } else {
                Claim::Taken(found)
            });
        }
        if found.expires_at > now {
            return Ok(Claim::Taken(found));
        }
        diesel::delete(mine).execute(conn)?;
    }
    let new = NewKey {
        client,
        key,
        request_hash,
        claim: who.claim,
        locked_at: now,
        expires_at,
    };
    let inserted = conn.transaction(|c| diesel::insert_into(keys::table).values(&new).execute(c));
    match inserted {
        Ok(_) => Ok(Claim::Claimed),
        Err(e) if is_unique_violation(&e) => match find(conn, client, key)? {
            Some(found) => Ok(Claim::Taken(found)),
            None => Err(e),
        },
        Err(e) => Err(e),
    }
}

/// Stores the first request's answer, if this run still holds the row.
pub fn finish(
    conn: &mut DbConnection,
    who: &Claimant<'_>,
    status: i32,
    headers: &str,
    body: &str,
) -> QueryResult<usize> {
    diesel::update(
        keys::table
            .filter(keys::client.eq(who.client))
            .filter(keys::key.eq(who.key))
            .filter(keys::claim.eq(who.claim)),
    )
    .set((
        keys::status.eq(Some(status)),
        keys::headers.eq(headers),
        keys::body.eq(body),
    ))
    .execute(conn)
}

/// Lets the key go (the request ended in a way a retry may fix), if this
/// run still holds it.
pub fn release(conn: &mut DbConnection, who: &Claimant<'_>) -> QueryResult<usize> {
    diesel::delete(
        keys::table
            .filter(keys::client.eq(who.client))
            .filter(keys::key.eq(who.key))
            .filter(keys::claim.eq(who.claim))
            .filter(keys::status.is_null()),
    )
    .execute(conn)
}

/// Deletes expired rows; how many.
pub fn purge(conn: &mut DbConnection, now: NaiveDateTime) -> QueryResult<usize> {
    diesel::delete(keys::table.filter(keys::expires_at.le(now))).execute(conn)
}
