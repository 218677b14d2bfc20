//! Editors: the people who sign in. Emails are stored lower-cased.
//!
//! Also the failed sign-ins per email address (`login_failures`), kept in
//! the database so every instance behind a load balancer sees the same
//! count. Rows are keyed by a hash of the address and exist for any address,
//! with or without an account.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::DbConnection;
use super::schema::{articles, editors, login_failures};
use crate::domain::Role;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = editors)]
pub struct EditorRow {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub slug: String,
    pub bio: Option<String>,
    pub role: Role,
    pub active: bool,
    pub password_hash: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub avatar_url: Option<String>,
    pub website: Option<String>,
    pub twitter: Option<String>,
    pub bluesky: Option<String>,
    pub mastodon: Option<String>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = editors)]
pub struct NewEditor {
    pub email: String,
    pub name: String,
    pub slug: String,
    pub bio: Option<String>,
    pub role: Role,
    pub active: bool,
    pub password_hash: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// A partial update; `None` leaves the column as it is.
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = editors)]
pub struct EditorChanges {
    pub email: Option<String>,
    pub name: Option<String>,
    pub bio: Option<Option<String>>,
    pub role: Option<Role>,
    pub active: Option<bool>,
    pub password_hash: Option<String>,
    pub updated_at: Option<NaiveDateTime>,
    pub avatar_url: Option<Option<String>>,
    pub website: Option<Option<String>>,
    pub twitter: Option<Option<String>>,
    pub bluesky: Option<Option<String>>,
    pub mastodon: Option<Option<String>>,
}

pub fn insert(conn: &mut DbConnection, new: &NewEditor) -> QueryResult<EditorRow> {
    diesel::insert_into(editors::table).values(new).get_result(conn)
}

pub fn find(conn: &mut DbConnection, id: i64) -> QueryResult<Option<EditorRow>> {
    editors::table
        .find(id)
        .select(EditorRow::as_select())
        .get_result(conn)
        .optional()
}

pub fn find_by_email(conn: &mut DbConnection, email: &str) -> QueryResult<Option<EditorRow>> {
    editors::table
        .filter(editors::email.eq(email))
        .select(EditorRow::as_select())
        .get_result(conn)
        .optional()
}

pub fn email_taken(conn: &mut DbConnection, email: &str, except_id: Option<i64>) -> QueryResult<bool> {
    let mut query = editors::table.filter(editors::email.eq(email)).into_boxed();
    if let Some(id) = except_id {
        query = query.filter(editors::id.ne(id));
    }
    query.count().get_result::<i64>(conn).map(|n| n > 0)
}

pub fn slug_taken(conn: &mut DbConnection, slug: &str) -> QueryResult<bool> {
    editors::table
        .filter(editors::slug.eq(slug))
        .count()
        .get_result::<i64>(conn)
        .map(|n| n > 0)
}

/// A page of editors, oldest first, and the total count.
pub fn list(conn: &mut DbConnection, offset: i64, limit: i64) -> QueryResult<(Vec<EditorRow>, i64)> {
    let rows = editors::table
        .order(editors::id.asc())
        .offset(offset)
        .limit(limit)
        .select(EditorRow::as_select())
        .load(conn)?;
    let total = editors::table.count().get_result(conn)?;
    Ok((rows, total))
}

pub fn count(conn: &mut DbConnection) -> QueryResult<i64> {
    editors::table.count().get_result(conn)
}

/// The ids of the active admins, oldest first, locked until the end of the
/// transaction on PostgreSQL (`FOR UPDATE`), so that two transactions that
/// each demote a different admin cannot both see two admins: the second
/// waits, then re-reads the rows the first changed and sees one. SQLite
/// needs no lock: every write runs on the one writer, in turn.
pub fn lock_active_admins(conn: &mut DbConnection) -> QueryResult<Vec<i64>> {
    let admins = editors::table
        .filter(editors::role.eq(Role::Admin))
        .filter(editors::active.eq(true))
        .order(editors::id.asc())
        .select(editors::id);
    match conn {
        DbConnection::Pg(pg) => admins.for_update().load(pg),
        DbConnection::Sqlite(sqlite) => admins.load(sqlite),
    }
}

pub fn count_articles(conn: &mut DbConnection, id: i64) -> QueryResult<i64> {
    articles::table
        .filter(articles::author_id.eq(id))
        .count()
        .get_result(conn)
}

pub fn update(conn: &mut DbConnection, id: i64, changes: &EditorChanges) -> QueryResult<EditorRow> {
    diesel::update(editors::table.find(id))
        .set(changes)
        .get_result(conn)
}

pub fn delete(conn: &mut DbConnection, id: i64) -> QueryResult<usize> {
    diesel::delete(editors::table.find(id)).execute(conn)
}

/// When sign-ins for `email_hash` are refused until, if that is after `now`.
pub fn login_locked_until(
    conn: &mut DbConnection,
    email_hash: &str,
    now: NaiveDateTime,
) -> QueryResult<Option<NaiveDateTime>> {
    let locked: Option<Option<NaiveDateTime>> = login_failures::table
        .find(email_hash)
        .select(login_failures::locked_until)
        .get_result(conn)
        .optional()?;
    Ok(locked.flatten().filter(|t| *t > now))
}

/// What [`claim_login_attempt`] decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginAttempt {
    /// Verify the password: this is attempt `n` of the current streak, and
    /// it is already counted.
    Allowed(i32),
    /// Refused without verifying anything, until then.
    Locked(NaiveDateTime),
}

/// Counts a sign-in attempt for `email_hash` *before* its password is
/// verified, or refuses it when the address is locked. Every attempt counts
/// as a failure until a success forgets the streak
/// ([`clear_login_failures`]), so parallel attempts cannot all pass a check
/// made before any of them failed: at most `lock_seconds`' threshold are
/// ever verified per streak. The attempt that reaches the threshold stores
/// the lock in the same transaction as its count.
///
/// A streak whose last attempt is `reset_after` old or older (and not
/// locked) starts again from one.
///
/// Atomic across instances: the count is one `UPDATE … RETURNING` that also
/// checks the lock. On PostgreSQL it holds the row lock until the
/// transaction commits, and a waiting `UPDATE` re-checks the lock on the
/// committed row; on SQLite every write runs on the single writer.
pub fn claim_login_attempt(
    conn: &mut DbConnection,
    email_hash: &str,
    now: NaiveDateTime,
    reset_after: chrono::Duration,
    lock_seconds: impl Fn(i32) -> Option<i64>,
) -> QueryResult<LoginAttempt> {
    let not_locked = login_failures::locked_until
        .is_null()
        .or(login_failures::locked_until.le(now));
    diesel::delete(
        login_failures::table
            .filter(login_failures::email_hash.eq(email_hash))
            .filter(login_failures::last_failed_at.le(now - reset_after))
            .filter(not_locked),
    )
    .execute(conn)?;
    let increment = |conn: &mut DbConnection| {
        diesel::update(login_failures::table.find(email_hash).filter(not_locked))
            .set((
                login_failures::failures.eq(login_failures::failures + 1),
                login_failures::last_failed_at.eq(now),
            ))
            .returning(login_failures::failures)
            .get_result::<i32>(conn)
            .optional()
    };
    let attempt = match increment(conn)? {
        Some(n) => n,
        None => {
            if let Some(until) = login_locked_until(conn, email_hash, now)? {
                return Ok(LoginAttempt::Locked(until));
            }
            // First attempt of a streak. In a savepoint: if another
            // instance inserted the row meanwhile, the unique violation must
            // not abort the surrounding transaction on PostgreSQL.
            let inserted = conn.transaction(|c| {
                diesel::insert_into(login_failures::table)
                    .values((
                        login_failures::email_hash.eq(email_hash),
                        login_failures::failures.eq(1),
                        login_failures::last_failed_at.eq(now),
                    ))
                    .execute(c)
            });
            match inserted {
                Ok(_) => 1,
                Err(e) if super::is_unique_violation(&e) => match increment(conn)? {
                    Some(n) => n,
                    None => {
                        let until = login_locked_until(conn, email_hash, now)?;
                        return Ok(LoginAttempt::Locked(until.unwrap_or(now)));
                    }
                },
                Err(e) => return Err(e),
            }
        }
    };
    if let Some(seconds) = lock_seconds(attempt) {
        diesel::update(login_failures::table.find(email_hash))
            .set(login_failures::locked_until.eq(now + chrono::Duration::seconds(seconds)))
            .execute(conn)?;
    }
    Ok(LoginAttempt::Allowed(attempt))
}

/// Forgets every streak quiet since `before` that holds no lock now: a
/// streak quiet that long starts again from zero anyway, so only the row is
/// lost. Keeps the table bounded by the addresses tried within the window.
pub fn purge_login_failures(conn: &mut DbConnection, before: NaiveDateTime) -> QueryResult<usize> {
    diesel::delete(
        login_failures::table
            .filter(login_failures::last_failed_at.lt(before))
            .filter(
                login_failures::locked_until
                    .is_null()
                    .or(login_failures::locked_until.lt(before)),
            ),
    )
    .execute(conn)
}

/// Forgets the failures of `email_hash` (after a successful sign-in, a
/// password reset or an admin's unlock).
pub fn clear_login_failures(conn: &mut DbConnection, email_hash: &str) -> QueryResult<()> {
    diesel::delete(login_failures::table.find(email_hash)).execute(conn)?;
    Ok(())
}
