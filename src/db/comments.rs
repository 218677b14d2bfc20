//! Comments: rows, the public thread, the moderation queue, status changes
//! and tombstones.
//!
//! Invariants the callers keep (in one transaction with these calls):
//! - `articles.comment_count` counts comments that are `approved` and not
//!   `removed`; every status change and delete adjusts it.
//! - A `removed` row is a tombstone: a deleted comment that still had
//!   replies. Its name, email, URL and text are wiped; it keeps its id,
//!   article, parent, depth and status so the thread keeps its shape.
//!
//! Status changes are compare-and-set (`WHERE status = <old>`): when two
//! editors moderate the same comment at once, only one of them moves it, so
//! the maintained count cannot drift.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::comments;
use super::{DbConnection, MultiBackend};
use crate::domain::comment::{AdminFilter, After, CommentStatus};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = comments)]
pub struct CommentRow {
    pub id: i64,
    pub article_id: i64,
    pub parent_id: Option<i64>,
    pub depth: i32,
    pub author_name: String,
    pub author_email: String,
    pub author_url: Option<String>,
    pub body: String,
    pub body_html: String,
    pub status: CommentStatus,
    pub removed: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl CommentRow {
    /// The stored status (an unknown value fails the query that read the
    /// row; see `db::types`).
    pub fn status(&self) -> CommentStatus {
        self.status
    }

    /// Whether this comment is counted in its article's `comment_count`.
    pub fn is_counted(&self) -> bool {
        !self.removed && self.status() == CommentStatus::Approved
    }
}

#[derive(Debug, Insertable)]
#[diesel(table_name = comments)]
pub struct NewComment {
    pub article_id: i64,
    pub parent_id: Option<i64>,
    pub depth: i32,
    pub author_name: String,
    pub author_email: String,
    pub author_url: Option<String>,
    pub body: String,
    pub body_html: String,
    pub status: CommentStatus,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

pub fn insert(conn: &mut DbConnection, new: &NewComment) -> QueryResult<CommentRow> {
    diesel::insert_into(comments::table).values(new).get_result(conn)
}

pub fn find(conn: &mut DbConnection, id: i64) -> QueryResult<Option<CommentRow>> {
    comments::table
        .find(id)
        .select(CommentRow::as_select())
        .get_result(conn)
        .optional()
}

/// Loads comment `id` and holds its row lock until the transaction ends,
/// so that the count adjustment that follows is based on the status the
/// row really has. (A no-op UPDATE takes the lock on both backends; diesel
/// has no `FOR UPDATE` for the shared backend, and SQLite needs none.)
pub fn lock(conn: &mut DbConnection, id: i64) -> QueryResult<Option<CommentRow>> {
    diesel::update(comments::table.find(id))
        .set(comments::id.eq(comments::id))
        .get_result(conn)
        .optional()
}

/// The approved comments of an article (tombstones included), oldest first:
/// skipping `offset` rows or starting after `after`. A thread page is a hot
/// uncached read: it runs on the backend's own connection (`on_backend!`),
/// so each of its two shapes is a statement with a static identity.
pub fn list_public(
    conn: &mut DbConnection,
    article_id: i64,
    after: Option<After>,
    offset: i64,
    limit: i64,
) -> QueryResult<Vec<CommentRow>> {
    crate::db::on_backend!(conn, |c| {
        let thread = approved_thread(article_id)
            .order((comments::created_at.asc(), comments::id.asc()))
            .offset(offset)
            .limit(limit)
            .select(CommentRow::as_select());
        match after {
            Some(a) => thread
                .filter(
                    comments::created_at
                        .gt(a.created_at)
                        .or(comments::created_at.eq(a.created_at).and(comments::id.gt(a.id))),
                )
                .load(c),
            None => thread.load(c),
        }
    })
}

/// How many comments `list_public` pages through (page mode's total).
pub fn count_public(conn: &mut DbConnection, article_id: i64) -> QueryResult<i64> {
    crate::db::on_backend!(conn, |c| approved_thread(article_id).count().get_result(c))
}

/// The public thread of an article: its approved comments (tombstones
/// included). Statically typed, so that both statements above run on the
/// backend's own connection.
#[diesel::dsl::auto_type]
fn approved_thread(article_id: i64) -> _ {
    let approved: &'static str = CommentStatus::Approved.as_str();
    comments::table
        .filter(comments::article_id.eq(article_id))
        .filter(comments::status.eq(approved))
}

diesel::define_sql_function! {
    /// SQL `lower()`, the same on both backends (ASCII-only on SQLite).
    fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text;
}

fn admin_filtered<'a>(filter: &'a AdminFilter) -> comments::BoxedQuery<'a, MultiBackend> {
    let mut query = comments::table.into_boxed();
    if let Some(status) = filter.status {
        query = query.filter(comments::status.eq(status.as_str()));
    }
    if let Some(article_id) = filter.article_id {
        query = query.filter(comments::article_id.eq(article_id));
    }
    if let Some(q) = &filter.query {
        let pattern = format!("%{}%", escape_like(&q.to_lowercase()));
        query = query.filter(
            lower(comments::body)
                .like(pattern.clone())
                .escape('\\')
                .or(lower(comments::author_name).like(pattern.clone()).escape('\\'))
                .or(lower(comments::author_email).like(pattern).escape('\\')),
        );
    }
    query
}

/// Escapes LIKE's wildcards so a search for `50%` means the text `50%`.
fn escape_like(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The moderation queue, newest first: skipping `offset` rows or starting
/// after `after` (which, newest first, means older than it).
pub fn list_admin(
    conn: &mut DbConnection,
    filter: &AdminFilter,
    after: Option<After>,
    offset: i64,
    limit: i64,
) -> QueryResult<Vec<CommentRow>> {
    let mut query = admin_filtered(filter);
    if let Some(a) = after {
        query = query.filter(
            comments::created_at
                .lt(a.created_at)
                .or(comments::created_at.eq(a.created_at).and(comments::id.lt(a.id))),
        );
    }
    query
        .order((comments::created_at.desc(), comments::id.desc()))
        .offset(offset)
        .limit(limit)
        .select(CommentRow::as_select())
        .load(conn)
}

pub fn count_admin(conn: &mut DbConnection, filter: &AdminFilter) -> QueryResult<i64> {
    admin_filtered(filter).count().get_result(conn)
}

/// Moves comment `id` from `from` to `to`; false when it was no longer in
/// `from` (someone else moved it first) or is a tombstone.
pub fn set_status(
    conn: &mut DbConnection,
    id: i64,
    from: CommentStatus,
    to: CommentStatus,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let changed = diesel::update(
        comments::table
            .find(id)
            .filter(comments::status.eq(from.as_str()))
            .filter(comments::removed.eq(false)),
    )
    .set((comments::status.eq(to.as_str()), comments::updated_at.eq(now)))
    .execute(conn)?;
    Ok(changed == 1)
}

/// Moves every live comment among `ids` to `to`. Returns each comment that
/// changed as `(id, article id, how its article's count moves)`.
pub fn bulk_set_status(
    conn: &mut DbConnection,
    ids: &[i64],
    to: CommentStatus,
    now: NaiveDateTime,
) -> QueryResult<Vec<(i64, i64, i64)>> {
    let approved = CommentStatus::Approved.as_str();
    let live = comments::table
        .filter(comments::id.eq_any(ids))
        .filter(comments::removed.eq(false));
    let set = (comments::status.eq(to.as_str()), comments::updated_at.eq(now));
    // One statement per kind of count change, each filtering on the old
    // status, so concurrent moderation cannot be counted twice.
    let mut moved = Vec::new();
    if to == CommentStatus::Approved {
        let gained: Vec<(i64, i64)> = diesel::update(live.filter(comments::status.ne(approved)))
            .set(set)
            .returning((comments::id, comments::article_id))
            .get_results(conn)?;
        moved.extend(gained.into_iter().map(|(id, a)| (id, a, 1)));
    } else {
        let lost: Vec<(i64, i64)> = diesel::update(live.clone().filter(comments::status.eq(approved)))
            .set(set)
            .returning((comments::id, comments::article_id))
            .get_results(conn)?;
        let unchanged_count: Vec<(i64, i64)> = diesel::update(
            live.filter(comments::status.ne(approved))
                .filter(comments::status.ne(to.as_str())),
        )
        .set(set)
        .returning((comments::id, comments::article_id))
        .get_results(conn)?;
        moved.extend(lost.into_iter().map(|(id, a)| (id, a, -1)));
        moved.extend(unchanged_count.into_iter().map(|(id, a)| (id, a, 0)));
    }
    Ok(moved)
}

/// Which of `ids` exist.
pub fn existing_ids(conn: &mut DbConnection, ids: &[i64]) -> QueryResult<Vec<i64>> {
    comments::table
        .filter(comments::id.eq_any(ids))
        .select(comments::id)
        .load(conn)
}

pub fn update_body(
    conn: &mut DbConnection,
    id: i64,
    body: &str,
    body_html: &str,
    now: NaiveDateTime,
) -> QueryResult<CommentRow> {
    diesel::update(comments::table.find(id))
        .set((
            comments::body.eq(body),
            comments::body_html.eq(body_html),
            comments::updated_at.eq(now),
        ))
        .get_result(conn)
}

pub fn has_replies(conn: &mut DbConnection, id: i64) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        comments::table.filter(comments::parent_id.eq(id)),
    ))
    .get_result(conn)
}

/// Turns comment `id` into a tombstone: its personal data and text wiped.
pub fn make_tombstone(conn: &mut DbConnection, id: i64, now: NaiveDateTime) -> QueryResult<CommentRow> {
    diesel::update(comments::table.find(id))
        .set((
            comments::removed.eq(true),
            comments::author_name.eq(""),
            comments::author_email.eq(""),
            comments::author_url.eq(None::<String>),
            comments::body.eq(""),
            comments::body_html.eq(""),
            comments::updated_at.eq(now),
        ))
        .get_result(conn)
}

pub fn delete(conn: &mut DbConnection, id: i64) -> QueryResult<usize> {
    diesel::delete(comments::table.find(id)).execute(conn)
}
