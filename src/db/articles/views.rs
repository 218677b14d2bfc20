//! Articles as the public reads them: an article with its author and tags
//! ([`ArticleView`]), one or a page at a time, and the columns a list
//! loads. The author and tags come as JSON from `article_embeds`, which
//! triggers keep in step with the rows they show (migration 000034): one
//! primary-key lookup per article, in the article's own statement. Every
//! statement here is built with diesel's query builder, so each is
//! prepared once per connection and reused.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::ArticleRow;
use crate::db::DbConnection;
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

/// Loads the articles of a list `$query` (whose FROM joins `articles` to
/// `article_embeds`) with the filter's [`Columns`]: every column of
/// [`ArticleRow`], or all but the bodies (empty strings in their place, in
/// the same positions, so both load as `ArticleRow`; the plain text body,
/// also left out, loads as NULL), each with its stored author and tags.
/// One statement, whatever the page holds, prepared once per connection.
macro_rules! load_rows {
    ($query:expr, $columns:expr, $conn:expr) => {{
        use diesel::IntoSql;
        use diesel::sql_types::Text;
        use $crate::db::articles::ArticleRow;
        use $crate::db::articles::views::{Loaded, assemble_all};
        use $crate::db::schema::article_embeds as e;
        use $crate::db::schema::articles as a;
        let conn: &mut $crate::db::DbConnection = $conn;
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
        match $columns {
            $crate::domain::article::Columns::All => $query
                .select((ArticleRow::as_select(), e::author, e::tags))
                .load::<Loaded>(conn)
                .and_then(assemble_all),
            $crate::domain::article::Columns::WithoutBodies => $query
                .select((without_bodies!(), e::author, e::tags))
                .load::<Loaded>(conn)
                .and_then(assemble_all),
        }
    }};
}
pub(super) use load_rows;

/// The article at `slug` with its author and tags, if the public may see it
/// at `now` (the article page). One statement, prepared once per
/// connection: a lookup on the unique slug index, joined to its stored
/// embeds by primary key. No `LIMIT` (the slug is unique): a bound
/// `LIMIT ?` makes SQLite re-prepare the statement on every run. Run on
/// the backend's own connection (`on_backend!`): the hottest uncached
/// read.
pub fn find_visible_view_by_slug(
    conn: &mut DbConnection,
    slug: &str,
    now: NaiveDateTime,
) -> QueryResult<Option<ArticleView>> {
    let row: Option<Loaded> = crate::db::on_backend!(conn, |c| articles::table
        .inner_join(article_embeds::table)
        .filter(articles::slug.eq(slug))
        .filter(super::visible_at(now))
        .select((
            ArticleRow::as_select(),
            article_embeds::author,
            article_embeds::tags
        ))
        .get_result::<Loaded>(c)
        .optional())?;
    row.map(assemble).transpose()
}

/// One article with its author and tags (after a write, for a preview or a
/// webhook): its stored embeds, by primary key. An article deleted since
/// `article` was read (a webhook's delivery runs outside the write's
/// transaction) embeds no tags, as a deleted article has none.
pub fn view(conn: &mut DbConnection, article: ArticleRow) -> QueryResult<ArticleView> {
    let (author, tags) = article_embeds::table
        .find(article.id)
        .select((article_embeds::author, article_embeds::tags))
        .get_result::<(Option<String>, String)>(conn)
        .optional()?
        .unwrap_or_else(|| (None, "[]".to_string()));
    assemble((article, author, tags))
}

/// A row as a statement selecting `(ArticleRow, article_embeds::author,
/// article_embeds::tags)` loads it.
pub(super) type Loaded = (ArticleRow, Option<String>, String);

fn malformed(e: serde_json::Error) -> diesel::result::Error {
    diesel::result::Error::DeserializationError(Box::new(e))
}

/// The article with its author and tags, from a [`Loaded`] row.
pub(super) fn assemble((article, author, tags): Loaded) -> QueryResult<ArticleView> {
    let author = match author {
        Some(json) => serde_json::from_str::<AuthorRef>(&json).map_err(malformed)?,
        None => AuthorRef::missing(article.author_id),
    };
    let tags = serde_json::from_str::<Vec<TagRef>>(&tags).map_err(malformed)?;
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
