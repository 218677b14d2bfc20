//! What the search index (`infra::search`) is built from: every article
//! (the index filters by status and publication time when it answers) as
//! a `SearchDocument`; and the titles its suggestions show.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::DbConnection;
use crate::db::id_list::id_in;
use crate::db::schema::{article_tags, articles};
use crate::domain::article::ArticleStatus;
use crate::domain::markdown;
use crate::domain::search::SearchDocument;

type DocRow = (
    i64,
    String,
    Option<String>,
    bool,
    String,
    ArticleStatus,
    i64,
    Option<NaiveDateTime>,
    NaiveDateTime,
);

/// Every article's id, oldest first by the date the index gives it
/// ([`SearchDocument::dated`]), ties by id: the order a rebuild adds them
/// in, so that the newest are at the end of the index (`scan` looks for
/// the newest matches there). Not the id order: an archive imported newest
/// first, or drafts published long after they were written, have ids out
/// of date order. Sorted here, not in SQL: no index serves the
/// publication-else-creation date, and 1M pairs sort in well under a
/// second.
pub fn search_order(conn: &mut DbConnection) -> QueryResult<Vec<i64>> {
    let rows: Vec<(i64, Option<NaiveDateTime>, NaiveDateTime)> = articles::table
        .select((articles::id, articles::published_at, articles::created_at))
        .load(conn)?;
    let mut dated: Vec<(NaiveDateTime, i64)> = rows
        .into_iter()
        .map(|(id, published, created)| (SearchDocument::date(published, created), id))
        .collect();
    dated.sort_unstable();
    Ok(dated.into_iter().map(|(_, id)| id).collect())
}

/// The articles among `ids` that exist, in no order.
pub fn search_documents(conn: &mut DbConnection, ids: &[i64]) -> QueryResult<Vec<SearchDocument>> {
    let rows: Vec<DocRow> = articles::table
        .filter(id_in(articles::id, ids))
        .select(columns())
        .load(conn)?;
    with_tags(conn, rows)
}

/// `(id, slug, title)` of the articles among `ids` that the public may see
/// at `now`, in no order: what an autocomplete box shows, one statement by
/// primary key (visibility checked here, not in SQL: given the visibility
/// filter, a planner may walk the status index instead, see `by_ids`).
pub fn suggestion_titles(
    conn: &mut DbConnection,
    ids: &[i64],
    now: NaiveDateTime,
) -> QueryResult<Vec<(i64, String, String)>> {
    let rows: Vec<(i64, String, String, ArticleStatus, Option<NaiveDateTime>)> = articles::table
        .filter(id_in(articles::id, ids))
        .select((
            articles::id,
            articles::slug,
            articles::title,
            articles::status,
            articles::published_at,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .filter(|(_, _, _, status, published)| status.is_public_at(*published, now))
        .map(|(id, slug, title, _, _)| (id, slug, title))
        .collect())
}

diesel::define_sql_function! {
    /// SQL `COALESCE` of a nullable text and a text: the same on both
    /// backends.
    fn coalesce(x: diesel::sql_types::Nullable<diesel::sql_types::Text>, y: diesel::sql_types::Text) -> diesel::sql_types::Text;
}

/// The columns of a [`DocRow`]. The body is read once: the plain text
/// when stored (whether it was is the fourth column), else the Markdown
/// (bodies written before `body_text` existed). Reading both made a
/// rebuild read every body twice.
#[allow(clippy::type_complexity)]
fn columns() -> (
    articles::id,
    articles::title,
    articles::subtitle,
    diesel::dsl::IsNotNull<articles::body_text>,
    coalesce<articles::body_text, articles::body_markdown>,
    articles::status,
    articles::author_id,
    articles::published_at,
    articles::created_at,
) {
    (
        articles::id,
        articles::title,
        articles::subtitle,
        articles::body_text.is_not_null(),
        coalesce(articles::body_text, articles::body_markdown),
        articles::status,
        articles::author_id,
        articles::published_at,
        articles::created_at,
    )
}

fn with_tags(conn: &mut DbConnection, rows: Vec<DocRow>) -> QueryResult<Vec<SearchDocument>> {
    let ids: Vec<i64> = rows.iter().map(|r| r.0).collect();
    let pairs: Vec<(i64, i64)> = article_tags::table
        .filter(id_in(article_tags::article_id, &ids))
        .select((article_tags::article_id, article_tags::tag_id))
        .load(conn)?;
    let mut tags: std::collections::HashMap<i64, Vec<i64>> = std::collections::HashMap::new();
    for (article, tag) in pairs {
        tags.entry(article).or_default().push(tag);
    }
    Ok(rows
        .into_iter()
        .map(
            |(id, title, subtitle, has_text, body, status, author_id, published_at, created_at)| {
                SearchDocument {
                    id,
                    title,
                    standfirst: subtitle.unwrap_or_default(),
                    // Bodies written before `body_text` existed are NULL there.
                    body: if has_text {
                        body
                    } else {
                        markdown::plain_text(&body)
                    },
                    status,
                    author_id,
                    tag_ids: tags.remove(&id).unwrap_or_default(),
                    dated: SearchDocument::date(published_at, created_at),
                }
            },
        )
        .collect())
}
