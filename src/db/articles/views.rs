//! Articles as the public reads them: an article with its author and tags
//! ([`ArticleView`]), one or a page at a time, and the columns a list
//! loads. Every statement here is built with diesel's query builder, so
//! each is prepared once per connection and reused.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::ArticleRow;
use crate::db::DbConnection;
use crate::db::schema::{article_tags, articles, editors, tags};

/// The author as embedded in an article.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = editors)]
pub struct AuthorRef {
    pub id: i64,
    pub slug: String,
    pub name: String,
    /// The author's picture: an absolute http(s) URL, or none.
    pub avatar_url: Option<String>,
}

/// A tag as embedded in an article.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = tags)]
pub struct TagRef {
    pub id: i64,
    pub slug: String,
    pub name: String,
}

/// An article with what it embeds.
#[derive(Debug, Clone)]
pub struct ArticleView {
    pub article: ArticleRow,
    pub author: AuthorRef,
    pub tags: Vec<TagRef>,
}

/// Loads the rows of a list `$query` with the filter's [`Columns`]: every
/// column of [`ArticleRow`], or all but the bodies (empty strings in their
/// place, in the same positions, so both load as `ArticleRow`; the plain
/// text body, also left out, loads as NULL).
/// Everything in it is diesel's query builder, so the statement is
/// prepared once per connection.
macro_rules! load_rows {
    ($query:expr, $columns:expr, $conn:expr) => {{
        use diesel::IntoSql;
        use diesel::sql_types::Text;
        use $crate::db::schema::articles as a;
        match $columns {
            $crate::domain::article::Columns::All => $query
                .select($crate::db::articles::ArticleRow::as_select())
                .load::<$crate::db::articles::ArticleRow>($conn),
            $crate::domain::article::Columns::WithoutBodies => $query
                .select((
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
                ))
                .load::<$crate::db::articles::ArticleRow>($conn),
        }
    }};
}
pub(super) use load_rows;

/// The article at `slug` with its author and tags, if the public may see it
/// at `now` (the article page). Two statements, both prepared once per
/// connection and reused: the article joined to its author (a lookup on the
/// unique slug index), then its tags. No `LIMIT` (the slug is unique): a
/// bound `LIMIT ?` makes SQLite re-prepare the statement on every run.
pub fn find_visible_view_by_slug(
    conn: &mut DbConnection,
    slug: &str,
    now: NaiveDateTime,
) -> QueryResult<Option<ArticleView>> {
    let found = articles::table
        .inner_join(editors::table)
        .filter(articles::slug.eq(slug))
        .filter(super::visible_at(now))
        .select((ArticleRow::as_select(), AuthorRef::as_select()))
        .get_result(conn)
        .optional()?;
    let Some((article, author)) = found else {
        return Ok(None);
    };
    let tags = tags_of(conn, article.id)?;
    Ok(Some(ArticleView {
        article,
        author,
        tags,
    }))
}

/// The tags of one article, in its order.
fn tags_of(conn: &mut DbConnection, article_id: i64) -> QueryResult<Vec<TagRef>> {
    article_tags::table
        .inner_join(tags::table)
        .filter(article_tags::article_id.eq(article_id))
        .order(article_tags::position)
        .select(TagRef::as_select())
        .load(conn)
}

/// Loads the author and tags of `rows` in two statements, whatever their
/// number. On PostgreSQL diesel binds the ids as one array (`= ANY($1)`)
/// and prepares each statement once per connection; on SQLite it writes
/// `IN (?, ?, …)`, compiled again for each page. A statement per author
/// and per article instead, each kept prepared (in process there is no
/// round trip), was slower: 5,592 home lists a second against 6,110 with
/// the ids in one `IN` (docs/BENCHMARKS.md, "Uncached reads").
pub fn embed(conn: &mut DbConnection, rows: Vec<ArticleRow>) -> QueryResult<Vec<ArticleView>> {
    if rows.is_empty() {
        return Ok(vec![]);
    }
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let mut author_ids: Vec<i64> = rows.iter().map(|r| r.author_id).collect();
    author_ids.sort_unstable();
    author_ids.dedup();
    let authors: Vec<AuthorRef> = editors::table
        .filter(editors::id.eq_any(&author_ids))
        .select(AuthorRef::as_select())
        .load(conn)?;
    let tag_rows: Vec<(i64, TagRef)> = article_tags::table
        .inner_join(tags::table)
        .filter(article_tags::article_id.eq_any(&ids))
        .order((article_tags::article_id, article_tags::position))
        .select((article_tags::article_id, TagRef::as_select()))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|article| {
            let author = authors
                .iter()
                .find(|a| a.id == article.author_id)
                .cloned()
                .unwrap_or(AuthorRef {
                    id: article.author_id,
                    slug: String::new(),
                    name: String::new(),
                    avatar_url: None,
                });
            let tags = tag_rows
                .iter()
                .filter(|(article_id, _)| *article_id == article.id)
                .map(|(_, t)| t.clone())
                .collect();
            ArticleView {
                article,
                author,
                tags,
            }
        })
        .collect())
}

fn author(conn: &mut DbConnection, id: i64) -> QueryResult<AuthorRef> {
    editors::table
        .find(id)
        .select(AuthorRef::as_select())
        .get_result(conn)
}

/// One article with its author and tags: two statements with `=` filters,
/// prepared once per connection (an `IN` list of one is not).
pub fn view(conn: &mut DbConnection, article: ArticleRow) -> QueryResult<ArticleView> {
    let author = author(conn, article.author_id)?;
    let tags = tags_of(conn, article.id)?;
    Ok(ArticleView {
        article,
        author,
        tags,
    })
}
