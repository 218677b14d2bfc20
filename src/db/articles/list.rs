//! Article lists: filters, counts (from the maintained status counts where
//! possible), the tag-index fast path, and keyset pagination.

use std::borrow::Cow;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Timestamp};

use super::{ArticleView, filtered, load_rows};
use super::{Published, opaque_time};
use crate::db::generic_plan::{opaque, text_is};
use crate::db::id_list::id_in;
use crate::db::schema::{article_tags, articles, tags};
use crate::db::{DbConnection, MultiBackend, Page};
use crate::domain::article::{After, ArticleSort, ArticleStatus, Columns, ListFilter, Order};

/// `$query` (over `article_tags`) narrowed to the filter's time window, by
/// the tag index's copy of `published_at`.
macro_rules! in_time_window {
    ($query:expr, $filter:expr) => {{
        let mut query = $query;
        if let Some(from) = $filter.published_from {
            query = query.filter(article_tags::published_at.ge(from));
        }
        if let Some(to) = $filter.published_to {
            query = query.filter(article_tags::published_at.le(to));
        }
        query
    }};
}

diesel::alias!(article_tags as also_tagged: AlsoTagged);

/// The tag's index range: the entries of the tag with slug `$tag` visible
/// at `now`, within the filter's time window, whose articles also carry
/// every tag of `$also` (one primary-key probe each); `$source` is
/// `article_tags` alone (counts) or joined to its articles (pages). Each
/// tag's id is a subquery in the same statement (the database runs it
/// once, then scans the range), not a statement of its own: one round trip
/// fewer.
macro_rules! tag_index_range {
    ($source:expr, $filter:expr, $tags:expr, $now:expr) => {{
        let (tag, also): (&str, &[String]) = $tags;
        let tag_id = |slug| {
            tags::table
                .filter(tags::slug.eq(slug))
                .select(tags::id)
                .single_value()
        };
        let mut query = $source
            .filter(article_tags::tag_id.nullable().eq(tag_id(tag)))
            .filter(article_tags::published_at.le(opaque_time($now)))
            .into_boxed::<MultiBackend>();
        for other in also {
            query = query.filter(diesel::dsl::exists(
                also_tagged
                    .filter(
                        also_tagged
                            .field(article_tags::article_id)
                            .eq(article_tags::article_id),
                    )
                    .filter(
                        also_tagged
                            .field(article_tags::tag_id)
                            .nullable()
                            .eq(tag_id(other)),
                    ),
            ));
        }
        in_time_window!(query, $filter)
    }};
}

/// How many articles match `filter`.
pub fn count(conn: &mut DbConnection, filter: &ListFilter) -> QueryResult<i64> {
    if let Some((now, tags)) = public_tag_page(filter) {
        return tag_index_range!(article_tags::table, filter, tags, now)
            .count()
            .get_result(conn);
    }
    if let (Some(now), Some(any)) = (filter.visible_at, filter.any_of_tags()) {
        // The distinct articles of the tags' index ranges: without this,
        // every visible article (1M) was probed for the tags.
        let query = article_tags::table
            .filter(article_tags::tag_id.eq_any(tags::table.filter(tags::slug.eq_any(any)).select(tags::id)))
            .filter(article_tags::published_at.le(now))
            .into_boxed::<MultiBackend>();
        return in_time_window!(query, filter)
            .select(diesel::dsl::count(article_tags::article_id).aggregate_distinct())
            .get_result(conn);
    }
    if let Some(total) = count_by_status(conn, filter)? {
        return Ok(total);
    }
    let query = filtered(filter);
    query.count().get_result(conn)
}

/// The counts that need no pass over the articles: every visible article
/// (the home page in page mode), and editor lists filtered by nothing but
/// a status. They come from `article_status_counts`, kept by triggers; the
/// published articles not yet visible (scheduled) are few and counted with
/// a range of the `(status, published_at, id)` index. `None` for any other
/// filter.
fn count_by_status(conn: &mut DbConnection, filter: &ListFilter) -> QueryResult<Option<i64>> {
    use crate::db::schema::article_status_counts as counts;
    if !filter.only_status() {
        return Ok(None);
    }
    let stored = |conn: &mut DbConnection, status: Option<ArticleStatus>| -> QueryResult<i64> {
        let mut query = counts::table.select(counts::count).into_boxed::<MultiBackend>();
        if let Some(status) = status {
            query = query.filter(counts::status.eq(status.as_str()));
        }
        Ok(query.load::<i64>(conn)?.into_iter().sum())
    };
    match (filter.visible_at, filter.status) {
        (Some(now), None | Some(ArticleStatus::Published)) => {
            // Two range scans rather than one OR, which a planner may turn
            // into a scan of every published article. Subqueries in one
            // statement that diesel prepares once per connection (as
            // `sql_query` or a SQL literal, it was parsed on every run).
            // One generic plan on PostgreSQL (`db::generic_plan`): the
            // status in the text, and the scheduled range closed at both
            // ends by opaque bounds. Open at the top (`> now` alone), its
            // generic plan guessed a third of the archive scheduled and
            // counted it with parallel workers (9 ms at 1M, against 0.03
            // ms); two opaque bounds are guessed a narrow range.
            let stored = counts::table
                .filter(text_is::<Published, _>(counts::status))
                .select(counts::count)
                .single_value();
            let scheduled = articles::table
                .filter(text_is::<Published, _>(articles::status))
                .filter(articles::published_at.gt(opaque_time(now)))
                .filter(articles::published_at.le(opaque_time(latest())))
                .count()
                .single_value();
            let undated = articles::table
                .filter(text_is::<Published, _>(articles::status))
                .filter(articles::published_at.is_null())
                .count()
                .single_value();
            let visible: Option<i64> = diesel::select(stored - scheduled - undated).get_result(conn)?;
            Ok(Some(visible.unwrap_or(0)))
        }
        (Some(_), Some(_)) => Ok(None),
        (None, status) => stored(conn, status).map(Some),
    }
}

/// No publication time is later (times have four-digit years): the top of
/// the scheduled range that [`count_by_status`] counts. Not chrono's
/// `NaiveDateTime::MAX`, whose year SQLite's text form writes as
/// `+262143`, which sorts before every date.
fn latest() -> NaiveDateTime {
    chrono::NaiveDate::from_ymd_opt(9999, 12, 31)
        .and_then(|d| d.and_hms_micro_opt(23, 59, 59, 999_999))
        .expect("a valid date")
}

/// Entries of each tag counted at most to pick the tag a page of several
/// required tags walks ([`rarest_tag_first`]).
const RARITY_CAP: i64 = 1_000;

/// A public tag page in time order (nothing but tags and a time window
/// filter it) is read from the `article_tags (tag_id, published_at,
/// article_id)` index: a range scan of one tag's entries, whatever its
/// size ([`ListFilter::tag_index`]: the tag walked, and the others each of
/// its articles must carry).
fn public_tag_page(filter: &ListFilter) -> Option<(NaiveDateTime, (&str, &[String]))> {
    Some((filter.visible_at?, filter.tag_index()?))
}

/// `filter` with the rarest of its required tags first, so that its page
/// and its count ([`list`], [`count`]) walk that tag: where the tags seldom
/// meet, a walk costs a probe per entry of its tag (a tag on every article
/// and one on fifty: a million probes or fifty). Called once per list by
/// the caller of both. Each tag's visible entries in the window are
/// counted up to [`RARITY_CAP`], one short range read each; tags past the
/// cap keep the order they were named in. `filter` itself when it is no
/// public page of several required tags.
pub fn rarest_tag_first<'f>(
    conn: &mut DbConnection,
    filter: &'f ListFilter,
) -> QueryResult<Cow<'f, ListFilter>> {
    let Some((now, (tag, also))) = public_tag_page(filter) else {
        return Ok(Cow::Borrowed(filter));
    };
    if also.is_empty() {
        return Ok(Cow::Borrowed(filter));
    }
    let mut tags: Vec<(usize, &str)> = Vec::with_capacity(also.len() + 1);
    for slug in std::iter::once(tag).chain(also.iter().map(String::as_str)) {
        let entries = tag_index_range!(article_tags::table, filter, (slug, &[][..]), now)
            .select(article_tags::article_id)
            .limit(RARITY_CAP)
            .load::<i64>(conn)?
            .len();
        tags.push((entries, slug));
    }
    let (walked, others) = rarest_first(tags);
    // `tag=a&tags_all=b` asks for the same articles as `tags_all=a,b`.
    let mut reordered = filter.clone();
    reordered.tags_any = Vec::new();
    reordered.tags_all = std::iter::once(walked).chain(others).collect();
    Ok(Cow::Owned(reordered))
}

/// The tag with the fewest `entries` first, then the others; equal counts
/// (tags past the cap among them) keep the order they were named in.
fn rarest_first(mut tags: Vec<(usize, &str)>) -> (String, Vec<String>) {
    tags.sort_by_key(|(entries, _)| *entries);
    let mut slugs = tags.into_iter().map(|(_, slug)| slug.to_string());
    let walked = slugs.next().unwrap_or_default();
    (walked, slugs.collect())
}

/// "After the cursor `($key, $id)`" in one order: `$column $op $key`, or
/// equal and `$id_column $op $id` (`$op` is `lt` newest first, `gt`
/// oldest first). The values opaque to PostgreSQL's planner, so that a
/// cursor page keeps one generic plan (`db::generic_plan`).
macro_rules! past_cursor {
    ($column:expr, $id_column:expr, $op:ident, $key:expr, $id:expr) => {
        $column
            .$op($key)
            .or($column.eq($key).and($id_column.$op(opaque::<BigInt, _>($id))))
    };
}

/// `$query` (over `article_tags`) after the cursor `$after`, in the tag
/// index's time order.
macro_rules! in_tag_order {
    ($query:expr, $newest_first:expr, $after:expr) => {{
        let mut query = $query;
        if let Some(After::Published(p, id)) = $after {
            query = if $newest_first {
                query.filter(past_cursor!(
                    article_tags::published_at,
                    article_tags::article_id,
                    lt,
                    opaque_time(*p),
                    *id
                ))
            } else {
                query.filter(past_cursor!(
                    article_tags::published_at,
                    article_tags::article_id,
                    gt,
                    opaque_time(*p),
                    *id
                ))
            };
        }
        if $newest_first {
            query.order((article_tags::published_at.desc(), article_tags::article_id.desc()))
        } else {
            query.order((article_tags::published_at.asc(), article_tags::article_id.asc()))
        }
    }};
}

fn list_tag_page(
    conn: &mut DbConnection,
    filter: &ListFilter,
    (now, tags): (NaiveDateTime, (&str, &[String])),
    newest_first: bool,
    after: Option<&After>,
    offset: i64,
    limit: i64,
) -> QueryResult<Vec<ArticleView>> {
    let query = tag_index_range!(article_tags::table.inner_join(articles::table), filter, tags, now);
    let query = in_tag_order!(query, newest_first, after);
    // One statement: the index range joined to the article rows.
    load_rows!(query, Some(Page::new(offset, limit)), filter.columns, conn)
}

/// How deep in a list of any of several tags a page may end and still be
/// read by merging the tags' index ranges ([`any_of_tags_page`]): each tag
/// gives up to this many entries. Deeper pages take the one-statement path.
const MERGE_DEPTH: i64 = 2_000;

/// A public page of any of several tags in time order, read like that
/// many tag pages: the first `offset + limit` entries of each tag's index
/// range (one range scan per tag), merged in time order (an article with
/// two of the tags once), then the page's rows by primary key. As one
/// statement (`id IN` the tags' articles) SQLite first gathered every
/// article of the tags into a temporary table (200,000 at 1M: 300 to 850
/// ms a page).
///
/// `None` (the caller reads the page in one statement instead) for a page
/// ending past [`MERGE_DEPTH`], and when the rows read do not match the
/// entries merged: the statements are not one snapshot, so a write that
/// committed between them (an unpublish, a deletion, a new date) could
/// otherwise leave the page one short (and its `next` link missing) or out
/// of order.
#[allow(clippy::too_many_arguments)]
fn any_of_tags_page(
    conn: &mut DbConnection,
    filter: &ListFilter,
    (now, any): (NaiveDateTime, &[String]),
    newest_first: bool,
    after: Option<&After>,
    offset: i64,
    limit: i64,
) -> QueryResult<Option<Vec<ArticleView>>> {
    let wanted = offset.saturating_add(limit);
    if offset < 0 || limit < 0 || wanted > MERGE_DEPTH {
        return Ok(None);
    }
    let mut entries: Vec<(NaiveDateTime, i64)> = Vec::new();
    for tag in any {
        let range = tag_index_range!(article_tags::table, filter, (tag.as_str(), &[][..]), now);
        let found: Vec<(Option<NaiveDateTime>, i64)> = in_tag_order!(range, newest_first, after)
            .select((article_tags::published_at, article_tags::article_id))
            .limit(wanted)
            .load(conn)?;
        entries.extend(found.into_iter().filter_map(|(at, id)| Some((at?, id))));
    }
    entries.sort_unstable();
    if newest_first {
        entries.reverse();
    }
    let mut seen = std::collections::HashSet::new();
    let page: Vec<(NaiveDateTime, i64)> = entries
        .into_iter()
        .filter(|(_, id)| seen.insert(*id))
        .skip(offset as usize)
        .take(limit as usize)
        .collect();
    let ids: Vec<i64> = page.iter().map(|(_, id)| *id).collect();
    let rows = by_ids(conn, &ids, filter.columns)?;
    let as_merged = rows.len() == page.len()
        && rows.iter().zip(&page).all(|(row, (at, id))| {
            row.article.id == *id && row.article.published_at == Some(*at) && row.article.is_visible(now)
        });
    Ok(as_merged.then_some(rows))
}

/// A public page in time order read from the tag index, where the filter
/// allows it: a tag's page (with other tags each article must carry), or
/// a page of any of several tags. `None`: the caller reads the page with
/// the general statement.
fn tag_index_page(
    conn: &mut DbConnection,
    filter: &ListFilter,
    order: Order,
    after: Option<&After>,
    offset: i64,
    limit: i64,
) -> QueryResult<Option<Vec<ArticleView>>> {
    let newest_first = match order {
        Order::Public(ArticleSort::NewestFirst) => true,
        Order::Public(ArticleSort::OldestFirst) => false,
        _ => return Ok(None),
    };
    if let Some(page) = public_tag_page(filter) {
        return list_tag_page(conn, filter, page, newest_first, after, offset, limit).map(Some);
    }
    if let (Some(now), Some(any)) = (filter.visible_at, filter.any_of_tags()) {
        return any_of_tags_page(conn, filter, (now, any), newest_first, after, offset, limit);
    }
    Ok(None)
}

/// A page of articles matching `filter`, in `order`: skipping `offset` rows
/// (page mode) or starting after `after` (cursor mode), each with its
/// author and tags. Returns at most `limit` articles.
pub fn list(
    conn: &mut DbConnection,
    filter: &ListFilter,
    order: Order,
    after: Option<&After>,
    offset: i64,
    limit: i64,
) -> QueryResult<Vec<ArticleView>> {
    if let Some(rows) = tag_index_page(conn, filter, order, after, offset, limit)? {
        return Ok(rows);
    }
    let mut query = filtered(filter);
    query = match (order, after) {
        (Order::Public(ArticleSort::NewestFirst), Some(After::Published(p, id))) => query.filter(
            past_cursor!(articles::published_at, articles::id, lt, opaque_time(*p), *id),
        ),
        (Order::Public(ArticleSort::OldestFirst), Some(After::Published(p, id))) => query.filter(
            past_cursor!(articles::published_at, articles::id, gt, opaque_time(*p), *id),
        ),
        (Order::Public(ArticleSort::MostShared), Some(After::Count(n, id))) => query.filter(past_cursor!(
            articles::share_count,
            articles::id,
            lt,
            opaque::<BigInt, _>(*n),
            *id
        )),
        (Order::Public(ArticleSort::MostCommented), Some(After::Count(n, id))) => query.filter(past_cursor!(
            articles::comment_count,
            articles::id,
            lt,
            opaque::<BigInt, _>(*n),
            *id
        )),
        (
            Order::RecentlyUpdated | Order::Public(ArticleSort::RecentlyUpdated),
            Some(After::Updated(u, id)),
        ) => query.filter(past_cursor!(
            articles::updated_at,
            articles::id,
            lt,
            opaque::<Timestamp, _>(*u),
            *id
        )),
        _ => query,
    };
    query = match order {
        Order::Public(ArticleSort::NewestFirst) => {
            query.order((articles::published_at.desc(), articles::id.desc()))
        }
        Order::Public(ArticleSort::OldestFirst) => {
            query.order((articles::published_at.asc(), articles::id.asc()))
        }
        Order::Public(ArticleSort::MostShared) => {
            query.order((articles::share_count.desc(), articles::id.desc()))
        }
        Order::Public(ArticleSort::MostCommented) => {
            query.order((articles::comment_count.desc(), articles::id.desc()))
        }
        // Relevance is the search engine's order (`service::search`),
        // which loads its page by id; this order is never asked for.
        Order::Public(ArticleSort::Relevance) => {
            query.order((articles::published_at.desc(), articles::id.desc()))
        }
        Order::RecentlyUpdated | Order::Public(ArticleSort::RecentlyUpdated) => {
            query.order((articles::updated_at.desc(), articles::id.desc()))
        }
    };
    load_rows!(query, Some(Page::new(offset, limit)), filter.columns, conn)
}

/// The ids of the articles that match `filter`, in no order: which of a
/// search engine's matches pass the filters only the database knows.
pub fn ids(conn: &mut DbConnection, filter: &ListFilter) -> QueryResult<Vec<i64>> {
    filtered(filter).select(articles::id).load(conn)
}

/// The articles `ids` (those that exist) with their authors and tags, in
/// the order of `ids`, by primary key alone: given the visibility filter
/// too, a planner may walk the status index past every published article
/// instead (seconds at 1M).
pub fn by_ids(conn: &mut DbConnection, ids: &[i64], columns: Columns) -> QueryResult<Vec<ArticleView>> {
    let mut rows = load_rows!(
        articles::table.filter(id_in(articles::id, ids)),
        None,
        columns,
        conn
    )?;
    let place: std::collections::HashMap<i64, usize> =
        ids.iter().enumerate().map(|(i, id)| (*id, i)).collect();
    rows.sort_by_key(|row| place.get(&row.article.id).copied());
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rarest_tag_is_walked_and_ties_keep_their_order() {
        let (walked, also) = rarest_first(vec![(1_000, "news"), (50, "tram"), (1_000, "cities")]);
        assert_eq!(walked, "tram");
        assert_eq!(also, ["news", "cities"]);
        let (walked, also) = rarest_first(vec![(1_000, "news"), (1_000, "cities")]);
        assert_eq!(walked, "news");
        assert_eq!(also, ["cities"]);
    }
}
