//! Editors: the people who sign in. Emails are stored lower-cased.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::DbConnection;
use super::schema::{articles, editors};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = editors)]
pub struct EditorRow {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub slug: String,
    pub bio: Option<String>,
    pub role: String,
    pub active: bool,
    pub password_hash: String,
    pub failed_logins: i32,
    pub locked_until: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = editors)]
pub struct NewEditor {
    pub email: String,
    pub name: String,
    pub slug: String,
    pub bio: Option<String>,
    pub role: String,
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
    pub role: Option<String>,
    pub active: Option<bool>,
    pub password_hash: Option<String>,
    pub updated_at: Option<NaiveDateTime>,
}

pub fn insert(conn: &mut DbConnection, new: &NewEditor) -> QueryResult<EditorRow> {
    diesel::insert_into(editors::table).values(new).get_result(conn)
}

pub fn find(conn: &mut DbConnection, id: i64) -> QueryResult<Option<EditorRow>> {
    editors::table
        .find(id)
        .select(EditorRow::as_select())
        .first(conn)
        .optional()
}

pub fn find_by_email(conn: &mut DbConnection, email: &str) -> QueryResult<Option<EditorRow>> {
    editors::table
        .filter(editors::email.eq(email))
        .select(EditorRow::as_select())
        .first(conn)
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

pub fn count_active_admins(conn: &mut DbConnection) -> QueryResult<i64> {
    editors::table
        .filter(editors::role.eq("admin"))
        .filter(editors::active.eq(true))
        .count()
        .get_result(conn)
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

/// Counts a failed login; from the fifth failure in a row the account is
/// locked for 2^(n-5) seconds, doubling up to 15 minutes.
pub fn record_failed_login(conn: &mut DbConnection, id: i64, now: NaiveDateTime) -> QueryResult<()> {
    let failures: i32 = editors::table
        .find(id)
        .select(editors::failed_logins)
        .first(conn)?;
    let failures = failures.saturating_add(1);
    let locked_until = (failures >= 5).then(|| {
        let seconds = 1i64 << (failures - 5).min(10);
        now + chrono::Duration::seconds(seconds.min(900))
    });
    diesel::update(editors::table.find(id))
        .set((
            editors::failed_logins.eq(failures),
            editors::locked_until.eq(locked_until),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn reset_failed_logins(conn: &mut DbConnection, id: i64) -> QueryResult<()> {
    diesel::update(editors::table.find(id))
        .set((
            editors::failed_logins.eq(0),
            editors::locked_until.eq(None::<NaiveDateTime>),
        ))
        .execute(conn)?;
    Ok(())
}
