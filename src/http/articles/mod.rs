//! Articles over HTTP: the shapes shared by the public routes (`public.rs`)
//! and the editor routes (`admin.rs`), list loading and its cursors;
//! sparse fieldsets are `fields.rs`.

pub mod admin;
mod fields;
pub mod filters;
mod input;
pub mod public;
pub mod related;
mod response;

pub use fields::{FieldSet, Shaped};
pub use response::{
    ArticleField, ArticleList, ArticleRead, ArticleResponse, ArticleSummary, AuthorSummary, TagSummary,
};

use chrono::NaiveDateTime;

use actix_web::HttpRequest;

use crate::domain::article::{After, ArticleSort, ListFilter, Order};
use crate::domain::change::KeySet;
use crate::error::{AppError, FieldError};
use crate::http::cursor::{Keyset, Scope};
use crate::http::pagination::{self, ListBody, Paging};
use crate::service::articles::{self as service, ArticleView};
use crate::state::AppState;

/// Runs an article list and shapes its page: what the public and the
/// editor lists share. A constant number of queries (see `list_page`).
pub async fn load_list(
    state: &AppState,
    req: &HttpRequest,
    mut filter: ListFilter,
    order: Order,
    paging: &Paging,
    fields: FieldSet,
) -> Result<(ListBody<Shaped>, KeySet), AppError> {
    let after = cursor_after(paging, order)?;
    filter.columns = fields.columns();
    let per_page = paging.per_page() as usize;
    let (offset, page_mode) = (paging.offset(), matches!(paging, Paging::Page { .. }));
    // A search: the index narrows the list to its best matches first.
    let filter = crate::service::search::narrow(&state.db, &state.search, filter).await?;
    // The public list may be served by a read replica; the editors' list
    // stays on the primary.
    let public = matches!(order, Order::Public(_));
    let page = state
        .db
        .read_as(public, move |conn| {
            service::list_page(conn, &filter, order, after.as_ref(), offset, per_page, page_mode)
        })
        .await?;
    let next = page
        .items
        .last()
        .and_then(|v| next_cursor(paging, order, page.has_more, v));
    let ranked = matches!(
        order,
        Order::Public(ArticleSort::MostShared | ArticleSort::MostCommented)
    );
    let keys = crate::service::keys::article_list(page.items.iter().map(|v| v.article.id), ranked);
    let data = page
        .items
        .into_iter()
        .map(|v| fields.shape(ArticleResponse::new(v, &state.config.site_urls)))
        .collect();
    Ok((pagination::page_of(req, paging, data, page.total, next), keys))
}

/// Parses a `from`/`to` bound: RFC 3339 (`2026-11-24T09:30:00Z`) or a date
/// (`2026-11-24`, the start of that day for `from`, its end for `to`).
pub fn parse_bound(
    field: &'static str,
    value: &str,
    end_of_day: bool,
    errors: &mut Vec<FieldError>,
) -> Option<NaiveDateTime> {
    // One parser and range check for every date input (years 1970–9999).
    match crate::domain::date::Bound::parse(field, value) {
        Ok(bound) => Some(bound.to_time(end_of_day)),
        Err(e) => {
            errors.push(e);
            None
        }
    }
}

/// The cursor scope of an article list order: the public list per sort,
/// the editor list (most recently updated first) on its own.
fn scope(order: Order) -> Scope {
    match order {
        Order::Public(sort) => Scope {
            list: "articles",
            order: sort.as_str(),
        },
        Order::RecentlyUpdated => Scope {
            list: "admin-articles",
            order: "-updated_at",
        },
    }
}

/// The cursor after `view` in `order`, when there is more.
fn next_cursor(paging: &Paging, order: Order, has_more: bool, view: &ArticleView) -> Option<String> {
    let a = &view.article;
    let scope = scope(order);
    let count = |key: i64| paging.next_cursor(scope, has_more, Some(Keyset { key, id: a.id }));
    let time = |key: NaiveDateTime| paging.next_cursor(scope, has_more, Some(Keyset { key, id: a.id }));
    match order {
        Order::Public(ArticleSort::MostShared) => count(a.share_count),
        Order::Public(ArticleSort::MostCommented) => count(a.comment_count),
        Order::RecentlyUpdated | Order::Public(ArticleSort::RecentlyUpdated) => time(a.updated_at),
        Order::Public(_) => time(a.published_at.unwrap_or(a.created_at)),
    }
}

/// The keyset position in the cursor, checked against `order` (cursor mode
/// and relevance do not mix, see [`check_cursor_order`]).
pub fn cursor_after(paging: &Paging, order: Order) -> Result<Option<After>, AppError> {
    if let (true, Order::Public(sort)) = (paging.is_cursor(), order) {
        check_cursor_order(true, sort)?;
    }
    let scope = scope(order);
    let mut errors = Vec::new();
    let after = match order {
        Order::Public(ArticleSort::MostShared | ArticleSort::MostCommented) => paging
            .keyset::<i64>(scope, &mut errors)
            .map(|k| After::Count(k.key, k.id)),
        Order::RecentlyUpdated | Order::Public(ArticleSort::RecentlyUpdated) => paging
            .keyset::<NaiveDateTime>(scope, &mut errors)
            .map(|k| After::Updated(k.key, k.id)),
        Order::Public(_) => paging
            .keyset::<NaiveDateTime>(scope, &mut errors)
            .map(|k| After::Published(k.key, k.id)),
    };
    match errors.is_empty() {
        true => Ok(after),
        false => Err(AppError::Validation(errors)),
    }
}

/// Reads `sort`; `None` means the default for the query.
pub fn parse_sort(sort: Option<&str>, has_query: bool, errors: &mut Vec<FieldError>) -> ArticleSort {
    match sort {
        None if has_query => ArticleSort::Relevance,
        None => ArticleSort::NewestFirst,
        Some(s) => match ArticleSort::parse(s) {
            Some(ArticleSort::Relevance) if !has_query => {
                errors.push(FieldError::new("sort", "`relevance` needs a search query `q`"));
                ArticleSort::NewestFirst
            }
            Some(sort) => sort,
            None => {
                errors.push(FieldError::new(
                    "sort",
                    "must be one of -published_at, published_at, -share_count, -comment_count, -updated_at, relevance",
                ));
                ArticleSort::NewestFirst
            }
        },
    }
}

/// A search query: trimmed, 1–200 characters; blank means none.
pub fn parse_query_text(q: Option<&str>, errors: &mut Vec<FieldError>) -> Option<String> {
    let raw = q?;
    let q = raw.trim();
    if q.is_empty() {
        return None;
    }
    if q.chars().count() > 200 {
        errors.push(FieldError::new("q", "must be at most 200 characters"));
        return None;
    }
    if !q.chars().any(char::is_alphanumeric) {
        errors.push(FieldError::new("q", "must contain a letter or digit"));
        return None;
    }
    // A trailing space stays: it says the last word is finished (not a
    // prefix to complete; see `domain::search::words`).
    Some(raw.trim_start().to_string())
}

/// Cursor pagination and relevance do not mix: relevance changes as articles
/// are added, so a cursor could skip or repeat results.
pub fn check_cursor_order(cursor_mode: bool, sort: ArticleSort) -> Result<(), AppError> {
    if cursor_mode && sort == ArticleSort::Relevance {
        return Err(AppError::field(
            "cursor",
            "is not available when sorting by relevance; use page mode or sort=-published_at",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cursor_paging(cursor: &str) -> Paging {
        Paging::Cursor {
            after: Some(cursor.to_string()),
            per_page: 20,
        }
    }

    #[test]
    fn cursors_round_trip_and_refuse_other_orders() {
        let t = NaiveDateTime::parse_from_str("2026-11-24T09:30:00", "%Y-%m-%dT%H:%M:%S").unwrap();
        let newest = Order::Public(ArticleSort::NewestFirst);
        let shared = Order::Public(ArticleSort::MostShared);
        let first = Paging::Cursor {
            after: None,
            per_page: 20,
        };
        let p = first
            .next_cursor(scope(newest), true, Some(Keyset { key: t, id: 42 }))
            .unwrap();
        assert_eq!(
            cursor_after(&cursor_paging(&p), newest).unwrap(),
            Some(After::Published(t, 42))
        );
        let n = first
            .next_cursor(scope(shared), true, Some(Keyset { key: 7i64, id: 42 }))
            .unwrap();
        assert_eq!(
            cursor_after(&cursor_paging(&n), shared).unwrap(),
            Some(After::Count(7, 42))
        );
        for (cursor, order) in [
            (&n, newest),
            (&p, Order::Public(ArticleSort::OldestFirst)),
            (&n, Order::Public(ArticleSort::MostCommented)),
            (&p, Order::RecentlyUpdated),
        ] {
            assert!(cursor_after(&cursor_paging(cursor), order).is_err());
        }
    }

    #[test]
    fn bounds_accept_times_and_dates() {
        let mut errors = vec![];
        assert!(parse_bound("from", "2026-11-24T09:30:00Z", false, &mut errors).is_some());
        assert!(parse_bound("from", "2026-11-24T09:30:00+02:00", false, &mut errors).is_some());
        let end = parse_bound("to", "2026-11-24", true, &mut errors).unwrap();
        assert_eq!(end.format("%Y-%m-%dT%H:%M:%S").to_string(), "2026-11-24T23:59:59");
        assert!(errors.is_empty());
        assert!(parse_bound("from", "yesterday", false, &mut errors).is_none());
        assert!(parse_bound("to", "2026-13-40", true, &mut errors).is_none());
        assert_eq!(errors.len(), 2);
    }
}
