//! Articles as the public reads them: an article with its author and tags
//! ([`ArticleView`]), one or a page at a time, and the columns a list
//! loads. The author and tags are stored as JSON in `article_embeds`,
//! kept by triggers (migration 000034), and read in the article's own
//! statement (`embedded`) or, for lists on PostgreSQL, for the whole page
//! in one more ([`embed`]).
//! Every statement here is built with diesel's query builder, so each is
//! prepared once per connection and reused.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::ArticleRow;
use super::embedded::{AuthorJson, TagsJson};
use crate::db::DbConnection;
use crate::db::id_list::id_in;
use crate::db::schema::{article_embeds, articles, editors};

/// The author as embedded in an article.
#[derive(Debug, Clone, Queryable, Selectable, serde::Deserialize)]
#[diesel(table_name = editors)]
pub struct AuthorRef {
    pub id: i64,
    pub slug: String,
    pub name: String,
    /// The author's picture: an absolute http(s) URL, or none.
    pub avatar_url: Option<String>,
}

/// A tag as embedded in an article.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct TagRef {
    pub id: i64,
    pub slug: String,
    pub name: String,
}

impl AuthorRef {
    /// What an article embeds for an author that is not found (the
    /// foreign key forbids it): blank fields with the article's
    /// `author_id`.
    pub fn missing(id: i64) -> AuthorRef {
        AuthorRef {
            id,
            slug: String::new(),
            name: String::new(),
            avatar_url: None,
        }
    }
}

/// An article with what it embeds.
#[derive(Debug, Clone)]
pub struct ArticleView {
    pub article: ArticleRow,
    pub author: AuthorRef,
    pub tags: Vec<TagRef>,
}

/// Loads the articles of a list `$query` with the filter's [`Columns`]:
/// every column of [`ArticleRow`], or all but the bodies (empty strings in
/// their place, in the same positions, so both load as `ArticleRow`; the
/// plain text body, also left out, loads as NULL), each with its author
/// and tags: read in the same statement on SQLite (`embedded`), loaded by
/// [`embed`] in one more on PostgreSQL (see
/// `embedded::in_list_statement` for why). `$page` (an
/// `Option<db::Page>`) is the rows to read; `$query` has no `LIMIT` of its
/// own: on PostgreSQL the page's limit is written into the text
/// (`db::generic_plan`, why), on SQLite it is bound. Everything in it is diesel's query builder, so each
/// statement is prepared once per connection.
macro_rules! load_rows {
    ($query:expr, $page:expr, $columns:expr, $conn:expr) => {{
        use diesel::IntoSql;
        use diesel::sql_types::Text;
        use $crate::db::articles::ArticleRow;
        use $crate::db::articles::embedded::{AuthorJson, TagsJson, in_list_statement};
        use $crate::db::articles::views::{Loaded, assemble_all, embed};
        use $crate::db::generic_plan::limit_in_text;
        use $crate::db::schema::articles as a;
        let conn: &mut $crate::db::DbConnection = $conn;
        let page: Option<$crate::db::Page> = $page;
        macro_rules! without_bodies {
            () => {
                (
                    a::id,
                    a::slug,
                    a::title,
                    a::subtitle,
                    a::excerpt,
                    a::excerpt_custom,
                    // Bound, not SQL literals: diesel does not keep a
                    // statement with a literal prepared.
                    "".into_sql::<Text>(),
                    "".into_sql::<Text>(),
                    a::status,
                    a::author_id,
                    a::featured_image_url,
                    a::word_count,
                    a::reading_time_minutes,
                    a::comments_enabled,
                    a::comment_count,
                    a::share_count,
                    a::published_at,
                    a::created_at,
                    a::updated_at,
                    a::featured,
                    a::featured_image_meta,
                    a::seo,
                    a::pull_quotes,
                    None::<String>.into_sql::<diesel::sql_types::Nullable<Text>>(),
                )
            };
        }
        // The page (`db::generic_plan`: its limit in the text on
        // PostgreSQL), the rows past it dropped.
        macro_rules! paged {
            ($rows:expr, $row:ty) => {
                match page {
                    Some(p) => limit_in_text($rows, p).load::<$row>(conn).map(|mut rows| {
                        rows.truncate(p.limit as usize);
                        rows
                    }),
                    None => $rows.load::<$row>(conn),
                }
            };
        }
        // SQLite: author and tags in the statement.
        macro_rules! embedded {
            ($selection:expr) => {
                paged!($query.select(($selection, AuthorJson, TagsJson)), Loaded).and_then(assemble_all)
            };
        }
        // PostgreSQL: the page's authors and tags in one more statement.
        macro_rules! then_embedded {
            ($selection:expr) => {
                paged!($query.select($selection), ArticleRow).and_then(|rows| embed(conn, rows))
            };
        }
        match ($columns, in_list_statement(conn)) {
            ($crate::domain::article::Columns::All, true) => embedded!(ArticleRow::as_select()),
            ($crate::domain::article::Columns::WithoutBodies, true) => embedded!(without_bodies!()),
            ($crate::domain::article::Columns::All, false) => then_embedded!(ArticleRow::as_select()),
            ($crate::domain::article::Columns::WithoutBodies, false) => then_embedded!(without_bodies!()),
        }
    }};
}
pub(super) use load_rows;

/// The article at `slug` with its author and tags, if the public may see it
/// at `now` (the article page). One statement, prepared once per
/// connection: a lookup on the unique slug index, the author and tags
/// embedded. No `LIMIT` (the slug is unique): a bound `LIMIT ?` makes
/// SQLite re-prepare the statement on every run. Run on the backend's own
/// connection (`on_backend!`): the hottest uncached read.
pub fn find_visible_view_by_slug(
    conn: &mut DbConnection,
    slug: &str,
    now: NaiveDateTime,
) -> QueryResult<Option<ArticleView>> {
    let row: Option<Loaded> = crate::db::on_backend!(conn, |c| articles::table
        .filter(articles::slug.eq(slug))
        .filter(super::visible_at(now))
        .select((ArticleRow::as_select(), AuthorJson, TagsJson))
        .get_result::<Loaded>(c)
        .optional())?;
    row.map(assemble).transpose()
}

/// Loads the stored author and tags of `rows` in one statement, whatever
/// their number (lists on PostgreSQL, see `load_rows!`): the ids are one
/// bound array (`id_in`), so the statement is prepared once per
/// connection, run on the backend's own connection (`on_backend!`).
pub(super) fn embed(conn: &mut DbConnection, rows: Vec<ArticleRow>) -> QueryResult<Vec<ArticleView>> {
    if rows.is_empty() {
        return Ok(vec![]);
    }
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let stored: Vec<(i64, Option<String>, String)> = crate::db::on_backend!(conn, |c| article_embeds::table
        .filter(id_in(article_embeds::article_id, &ids))
        .select((
            article_embeds::article_id,
            article_embeds::author,
            article_embeds::tags
        ))
        .load(c))?;
    let mut stored: HashMap<i64, (Option<String>, Option<String>)> = stored
        .into_iter()
        .map(|(id, author, tags)| (id, (author, Some(tags))))
        .collect();
    // An article deleted between the two statements (a read is not one
    // transaction) has no stored row left: it shows as the subqueries
    // show it on SQLite, a blank author and no tags, not as an error.
    rows.into_iter()
        .map(|article| {
            let (author, tags) = stored.remove(&article.id).unwrap_or_default();
            assemble((article, author, tags))
        })
        .collect()
}

/// One article with its author and tags (after a write, for a preview or a
/// webhook): its stored embeds, by primary key. An article deleted since
/// `article` was read (a webhook's delivery runs outside the write's
/// transaction) has none left: it embeds a blank author with its
/// `author_id` and no tags.
pub fn view(conn: &mut DbConnection, article: ArticleRow) -> QueryResult<ArticleView> {
    let (author, tags) = article_embeds::table
        .find(article.id)
        .select((article_embeds::author, article_embeds::tags))
        .get_result::<(Option<String>, String)>(conn)
        .optional()?
        .map(|(author, tags)| (author, Some(tags)))
        .unwrap_or_default();
    assemble((article, author, tags))
}

/// A row as a statement selecting `(ArticleRow, AuthorJson, TagsJson)`
/// loads it.
pub(super) type Loaded = (ArticleRow, Option<String>, Option<String>);

fn malformed(e: serde_json::Error) -> diesel::result::Error {
    diesel::result::Error::DeserializationError(Box::new(e))
}

/// The article with its author and tags, from a [`Loaded`] row.
pub(super) fn assemble((article, author, tags): Loaded) -> QueryResult<ArticleView> {
    let author = match author {
        Some(json) => serde_json::from_str::<AuthorRef>(&json).map_err(malformed)?,
        None => AuthorRef::missing(article.author_id),
    };
    let tags = match tags {
        Some(json) => serde_json::from_str::<Vec<TagRef>>(&json).map_err(malformed)?,
        None => vec![],
    };
    Ok(ArticleView {
        article,
        author,
        tags,
    })
}

/// Every [`Loaded`] row assembled, in order.
pub(super) fn assemble_all(rows: Vec<Loaded>) -> QueryResult<Vec<ArticleView>> {
    rows.into_iter().map(assemble).collect()
}
