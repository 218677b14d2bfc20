//! Full-text search, one implementation per backend: SQLite's FTS5 table
//! `articles_fts` (bm25 ranking) and PostgreSQL's weighted `search`
//! tsvector (`websearch_to_tsquery`, `ts_rank_cd`). The rest of the article
//! queries are backend-neutral and live in `db::articles`.

use chrono::NaiveDateTime;
use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Text, Timestamp};

use super::{ArticleRow, filtered, load_rows};
use crate::db::schema::articles;
use crate::db::{DbConnection, MultiBackend};
use crate::domain::article::ArticleStatus;
use crate::domain::article::ListFilter;

/// The condition "the article matches the search `q`" for a list query.
pub(super) fn matches(
    conn: &DbConnection,
    q: &str,
) -> Box<dyn BoxableExpression<articles::table, MultiBackend, SqlType = Bool>> {
    match conn {
        DbConnection::Sqlite(_) => Box::new(
            sql::<Bool>("articles.id IN (SELECT rowid FROM articles_fts WHERE articles_fts MATCH ")
                .bind::<Text, _>(fts5_query(q))
                .sql(")"),
        ),
        DbConnection::Pg(_) => Box::new(
            sql::<Bool>("articles.search @@ websearch_to_tsquery('english', ")
                .bind::<Text, _>(q.to_string())
                .sql(")"),
        ),
    }
}

/// Turns what a reader typed into a safe FTS5 query: every word quoted (so
/// FTS5 operators and syntax errors cannot be injected), all required, the
/// last one as a prefix so results appear while typing.
pub fn fts5_query(q: &str) -> String {
    let words: Vec<String> = q
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .take(16)
        .map(|w| format!("\"{w}\""))
        .collect();
    match words.split_last() {
        None => "\"\"".to_string(),
        Some((last, rest)) => {
            let mut parts: Vec<String> = rest.to_vec();
            parts.push(format!("{last}*"));
            parts.join(" ")
        }
    }
}

/// How many matches relevance ordering considers: the newest ones (by id,
/// which follows creation) that pass the list's filters. Ranking every
/// match of a broad query costs a pass over all of them (on a
/// million-article archive, seconds for a common word); ranking only the
/// newest thousand costs about the same whatever the archive's size, and on
/// a news site the best recent match is what a reader is after. A reader
/// never pages past the first few hundred.
pub const RELEVANCE_WINDOW: i64 = 1000;

/// A search narrowed by other filters (tag, author, dates, status) looks
/// for its window among this many of the newest matches. Looking further
/// has no bound: at 1M articles a broad word with a filter that few of its
/// matches pass (an old period) scanned every match for seconds.
pub const NARROWED_SCAN: i64 = 10 * RELEVANCE_WINDOW;

#[derive(QueryableByName)]
struct IdRow {
    #[diesel(sql_type = BigInt)]
    id: i64,
}

/// Ids of the newest `limit` articles matching `q`, newest first; only
/// those visible at `visible_at` when given. SQLite walks the text index
/// newest first and stops at the limit; PostgreSQL picks between the
/// primary key backwards and the text index by its statistics.
fn newest_matches(
    conn: &mut DbConnection,
    q: &str,
    visible_at: Option<NaiveDateTime>,
    limit: i64,
) -> QueryResult<Vec<i64>> {
    let published = ArticleStatus::Published.as_str();
    let rows: Vec<IdRow> = match (conn, visible_at) {
        (DbConnection::Sqlite(c), Some(now)) => diesel::sql_query(
            "SELECT articles_fts.rowid AS id FROM articles_fts JOIN articles ON articles.id = articles_fts.rowid \
             WHERE articles_fts MATCH ? AND articles.status = ? AND articles.published_at <= ? \
             ORDER BY articles_fts.rowid DESC LIMIT ?",
        )
        .bind::<Text, _>(fts5_query(q))
        .bind::<Text, _>(published)
        .bind::<Timestamp, _>(now)
        .bind::<BigInt, _>(limit)
        .load(c)?,
        (DbConnection::Sqlite(c), None) => diesel::sql_query(
            "SELECT rowid AS id FROM articles_fts WHERE articles_fts MATCH ? ORDER BY rowid DESC LIMIT ?",
        )
        .bind::<Text, _>(fts5_query(q))
        .bind::<BigInt, _>(limit)
        .load(c)?,
        (DbConnection::Pg(c), Some(now)) => diesel::sql_query(
            "SELECT id FROM articles WHERE search @@ websearch_to_tsquery('english', $1) \
             AND status = $2 AND published_at <= $3 ORDER BY id DESC LIMIT $4",
        )
        .bind::<Text, _>(q)
        .bind::<Text, _>(published)
        .bind::<Timestamp, _>(now)
        .bind::<BigInt, _>(limit)
        .load(c)?,
        (DbConnection::Pg(c), None) => diesel::sql_query(
            "SELECT id FROM articles WHERE search @@ websearch_to_tsquery('english', $1) ORDER BY id DESC LIMIT $2",
        )
        .bind::<Text, _>(q)
        .bind::<BigInt, _>(limit)
        .load(c)?,
    };
    Ok(rows.into_iter().map(|r| r.id).collect())
}

/// The articles `ids` (all matching `q`), best first. SQLite ranks with
/// FTS5's bm25 (title weighted 10, subtitle 4, body 1, set as the table's
/// `rank`); PostgreSQL with `ts_rank_cd` over the weighted tsvector. The
/// ids are integers from our own query, written into the statement as they
/// are.
///
/// On SQLite the ids bound a rowid range the text index scans, and a
/// membership test (`+rowid`, so that it is not handed to FTS5) keeps
/// theirs: given `rowid IN (…)` itself, FTS5 would run the query once per
/// id, recomputing bm25's statistics each time (36 s for 1,000 ids at 200k
/// articles, against 45 ms).
fn rank_ids(conn: &mut DbConnection, q: &str, ids: &[i64]) -> QueryResult<Vec<i64>> {
    let (Some(low), Some(high)) = (ids.iter().min(), ids.iter().max()) else {
        return Ok(vec![]);
    };
    let list = ids.iter().map(i64::to_string).collect::<Vec<_>>().join(", ");
    let rows: Vec<IdRow> = match conn {
        DbConnection::Sqlite(c) => diesel::sql_query(format!(
            "SELECT rowid AS id FROM articles_fts WHERE articles_fts MATCH ? \
             AND rowid BETWEEN {low} AND {high} AND +rowid IN ({list}) ORDER BY rank, rowid DESC"
        ))
        .bind::<Text, _>(fts5_query(q))
        .load(c)?,
        DbConnection::Pg(c) => diesel::sql_query(format!(
            "SELECT id FROM articles, websearch_to_tsquery('english', $1) AS query WHERE id IN ({list}) \
             ORDER BY ts_rank_cd(search, query) DESC, id DESC"
        ))
        .bind::<Text, _>(q)
        .load(c)?,
    };
    Ok(rows.into_iter().map(|r| r.id).collect())
}

/// A page of search results in relevance order, and how many there are
/// (within [`RELEVANCE_WINDOW`]); the page's rows are then loaded by id.
///
/// With other filters (tag, author, dates, status) the window is the newest
/// matches that pass them, among the newest [`NARROWED_SCAN`] matches.
pub fn list_by_relevance(
    conn: &mut DbConnection,
    filter: &ListFilter,
    offset: i64,
    limit: i64,
) -> QueryResult<(Vec<ArticleRow>, i64)> {
    let Some(q) = &filter.query else {
        return Ok((vec![], 0));
    };
    let narrowed = filter.status.is_some() || filter.narrowed();
    let newest = if narrowed {
        let scanned = newest_matches(conn, q, filter.visible_at, NARROWED_SCAN)?;
        let unranked = ListFilter {
            query: None,
            ..filter.clone()
        };
        let pass: std::collections::HashSet<i64> = filtered(conn, &unranked)
            .filter(articles::id.eq_any(&scanned))
            .select(articles::id)
            .load(conn)?
            .into_iter()
            .collect();
        scanned
            .into_iter()
            .filter(|id| pass.contains(id))
            .take(RELEVANCE_WINDOW as usize)
            .collect()
    } else {
        newest_matches(conn, q, filter.visible_at, RELEVANCE_WINDOW)?
    };
    let matching = rank_ids(conn, q, &newest)?;
    let total = matching.len() as i64;
    let page: Vec<i64> = matching
        .into_iter()
        .skip(offset.max(0) as usize)
        .take(limit.max(0) as usize)
        .collect();
    let mut rows: Vec<ArticleRow> = load_rows!(
        articles::table.filter(articles::id.eq_any(&page)),
        filter.columns,
        conn
    )?;
    rows.sort_by_key(|r| page.iter().position(|id| *id == r.id));
    Ok((rows, total))
}
