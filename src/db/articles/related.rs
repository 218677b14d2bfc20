//! "Related articles" under an article: the public articles that share the
//! most tags with it, the newer first among equals; when too few share a
//! tag, the newest other articles fill the box.
//!
//! Bounded however large a tag is: the candidates are the newest
//! [`PER_TAG`] entries of each of the article's tags, read from the
//! `article_tags (tag_id, published_at, article_id)` index, so an old
//! article sharing many tags can lose its place to newer ones (a news site
//! prefers the recent; documented in docs/API.md).

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::{ArticleView, visible_at};
use crate::db::DbConnection;
use crate::db::schema::{article_tags, articles};
use crate::domain::article::Columns;

/// Newest entries read per tag of the article.
pub const PER_TAG: i64 = 200;

/// Up to `limit` related public articles of `article_id`, best first,
/// without their bodies, with their authors and tags.
pub fn related(
    conn: &mut DbConnection,
    article_id: i64,
    now: NaiveDateTime,
    limit: usize,
) -> QueryResult<Vec<ArticleView>> {
    let tag_ids: Vec<i64> = article_tags::table
        .filter(article_tags::article_id.eq(article_id))
        .select(article_tags::tag_id)
        .load(conn)?;
    // article id → (shared tags, published at)
    let mut shared: HashMap<i64, (usize, NaiveDateTime)> = HashMap::new();
    for tag_id in tag_ids {
        let entries: Vec<(i64, Option<NaiveDateTime>)> = article_tags::table
            .filter(article_tags::tag_id.eq(tag_id))
            .filter(article_tags::published_at.le(now))
            .filter(article_tags::article_id.ne(article_id))
            .order((article_tags::published_at.desc(), article_tags::article_id.desc()))
            .limit(PER_TAG)
            .select((article_tags::article_id, article_tags::published_at))
            .load(conn)?;
        for (id, published) in entries {
            let entry = shared.entry(id).or_insert((0, published.unwrap_or_default()));
            entry.0 += 1;
        }
    }
    let mut ranked: Vec<(i64, usize, NaiveDateTime)> =
        shared.into_iter().map(|(id, (n, p))| (id, n, p)).collect();
    ranked.sort_by(|a, b| b.1.cmp(&a.1).then(b.2.cmp(&a.2)).then(b.0.cmp(&a.0)));
    let mut ids: Vec<i64> = ranked.into_iter().take(limit).map(|(id, _, _)| id).collect();
    if ids.len() < limit {
        let mut skip = ids.clone();
        skip.push(article_id);
        let newest: Vec<i64> = articles::table
            .filter(visible_at(now))
            .filter(articles::id.ne_all(&skip))
            .order((articles::published_at.desc(), articles::id.desc()))
            .limit((limit - ids.len()) as i64)
            .select(articles::id)
            .load(conn)?;
        ids.extend(newest);
    }
    if ids.is_empty() {
        return Ok(vec![]);
    }
    // In the order of `ids`; visibility checked again (the candidates were
    // read by other statements).
    let mut rows = super::by_ids(conn, &ids, Columns::WithoutBodies)?;
    rows.retain(|row| row.article.is_visible(now));
    Ok(rows)
}
