//! List envelopes and pagination, the same for every collection:
//! `{"data": [...], "meta": {...}, "links": {"self", "next", "prev"}}` plus
//! an RFC 8288 `Link` header.
//!
//! Two modes:
//! - page mode (`?page=N&per_page=M`): `meta` has `page`, `per_page`,
//!   `total`, `total_pages`. Simple, but deep pages cost more and shift when
//!   items are added.
//! - cursor mode (`?cursor=` to start, then the `next_cursor` given back):
//!   keyset pagination, stable under inserts and as fast on page 1,000 as on
//!   page 1. `meta` has `per_page` and `next_cursor` (null at the end).
//!
//! `per_page` defaults to 20 and may be 1 to 100.
//!
//! This is the one list builder: every list builds its body with
//! [`page_of`] and answers with [`list_response`] (editor lists) or
//! [`cached_list_response`] (public lists: `ETag`, `304`). Cursors are
//! encoded and checked by the one codec, `http::cursor`, through
//! [`Paging::keyset`] and [`Paging::next_cursor`].

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, HttpResponseBuilder};
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::{AppError, FieldError};
use crate::http::conditional::{self, CachePolicy};
pub use crate::http::cursor::MAX_CURSOR_LEN;
use crate::http::cursor::{self, Key, Keyset, Scope};

pub const DEFAULT_PER_PAGE: u32 = 20;
pub const MAX_PER_PAGE: u32 = 100;
/// Deeper pages are refused: use cursor mode to walk that far.
pub const MAX_PAGE: u32 = 100_000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Paging {
    Page {
        page: u32,
        per_page: u32,
    },
    /// `after` is the cursor as sent, `None` for the first page; each list
    /// decodes it with its own [`Scope`] (see [`Paging::keyset`]).
    Cursor {
        after: Option<String>,
        per_page: u32,
    },
}

impl Paging {
    /// Validates the three pagination parameters; problems go to `errors`.
    pub fn from_params(
        page: Option<u32>,
        per_page: Option<u32>,
        cursor: Option<&str>,
        errors: &mut Vec<FieldError>,
    ) -> Paging {
        let per_page = match per_page {
            None => DEFAULT_PER_PAGE,
            Some(n) if (1..=MAX_PER_PAGE).contains(&n) => n,
            Some(_) => {
                errors.push(FieldError::new(
                    "per_page",
                    format!("must be between 1 and {MAX_PER_PAGE}"),
                ));
                DEFAULT_PER_PAGE
            }
        };
        match (cursor, page) {
            (Some(_), Some(_)) => {
                errors.push(FieldError::new(
                    "page",
                    "cannot be combined with cursor; use one mode",
                ));
                Paging::Page { page: 1, per_page }
            }
            (Some(""), None) => Paging::Cursor {
                after: None,
                per_page,
            },
            (Some(c), None) if c.len() > MAX_CURSOR_LEN => {
                errors.push(cursor::CursorError::Malformed.field_error());
                Paging::Cursor {
                    after: None,
                    per_page,
                }
            }
            (Some(c), None) => Paging::Cursor {
                after: Some(c.to_string()),
                per_page,
            },
            (None, page) => {
                let page = page.unwrap_or(1);
                if !(1..=MAX_PAGE).contains(&page) {
                    errors.push(FieldError::new(
                        "page",
                        format!("must be between 1 and {MAX_PAGE}"),
                    ));
                }
                Paging::Page {
                    page: page.clamp(1, MAX_PAGE),
                    per_page,
                }
            }
        }
    }

    pub fn per_page(&self) -> u32 {
        match self {
            Paging::Page { per_page, .. } | Paging::Cursor { per_page, .. } => *per_page,
        }
    }

    /// Rows to skip in page mode (0 in cursor mode).
    pub fn offset(&self) -> i64 {
        match self {
            Paging::Page { page, per_page } => (*page as i64 - 1) * *per_page as i64,
            Paging::Cursor { .. } => 0,
        }
    }

    pub fn is_cursor(&self) -> bool {
        matches!(self, Paging::Cursor { .. })
    }

    /// Cursor mode after the first page: the position the cursor holds,
    /// when it was issued for `scope`; otherwise the problem goes to
    /// `errors`. `None` in page mode and on the first cursor page.
    pub fn keyset<K: Key>(&self, scope: Scope, errors: &mut Vec<FieldError>) -> Option<Keyset<K>> {
        let Paging::Cursor {
            after: Some(text), ..
        } = self
        else {
            return None;
        };
        cursor::decode(scope, text)
            .map_err(|e| errors.push(e.field_error()))
            .ok()
    }

    /// The `next_cursor` of a page: in cursor mode, when there is more,
    /// the cursor after `last` (the last item shown).
    pub fn next_cursor<K: Key>(
        &self,
        scope: Scope,
        has_more: bool,
        last: Option<Keyset<K>>,
    ) -> Option<String> {
        match (self, has_more, last) {
            (Paging::Cursor { .. }, true, Some(last)) => Some(cursor::encode(scope, &last)),
            _ => None,
        }
    }
}

/// `meta` of a list response: `page`, `per_page`, `total` and `total_pages`
/// in page mode; `per_page` and `next_cursor` in cursor mode.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"page": 2, "per_page": 20, "total": 57, "total_pages": 3}))]
pub struct ListMeta {
    /// Page mode: the page number (from 1).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1)]
    pub page: Option<u32>,
    /// Items per page (1–100, default 20).
    #[schema(minimum = 1, maximum = 100)]
    pub per_page: u32,
    /// Page mode: how many items match in all.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total: Option<i64>,
    /// Page mode: how many pages there are.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total_pages: Option<i64>,
    /// Cursor mode: pass as `cursor` for the next page; null on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<Option<String>>,
}

/// `links` of a list response: relative URLs, null at the ends.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "self": "/api/v1/articles?page=2",
    "next": "/api/v1/articles?page=3",
    "prev": "/api/v1/articles?page=1"
}))]
pub struct ListLinks {
    /// This page.
    #[serde(rename = "self")]
    pub self_: String,
    /// The next page, or null on the last one.
    #[schema(required = true)]
    pub next: Option<String>,
    /// The previous page, or null on the first (always null in cursor mode).
    #[schema(required = true)]
    pub prev: Option<String>,
}

/// The envelope around one page of `T`.
#[derive(Debug, Serialize)]
pub struct ListBody<T> {
    pub data: Vec<T>,
    pub meta: ListMeta,
    pub links: ListLinks,
}

/// Builds meta and links for a page of results: the one list builder. In
/// page mode `total` is the count of matching items; in cursor mode
/// `next_cursor` comes from [`Paging::next_cursor`].
pub fn page_of<T>(
    req: &HttpRequest,
    paging: &Paging,
    data: Vec<T>,
    total: Option<i64>,
    next_cursor: Option<String>,
) -> ListBody<T> {
    let path = req.path();
    let query = req.query_string();
    let self_ = with_query(path, query, &[]);
    match paging {
        Paging::Page { page, per_page } => {
            let total = total.unwrap_or(0);
            let total_pages = (total + *per_page as i64 - 1) / *per_page as i64;
            let next = ((*page as i64) < total_pages)
                .then(|| with_query(path, query, &[("page", (page + 1).to_string())]));
            let prev = (*page > 1).then(|| {
                let prev_page = (*page as i64 - 1).min(total_pages.max(1));
                with_query(path, query, &[("page", prev_page.to_string())])
            });
            ListBody {
                data,
                meta: ListMeta {
                    page: Some(*page),
                    per_page: *per_page,
                    total: Some(total),
                    total_pages: Some(total_pages),
                    next_cursor: None,
                },
                links: ListLinks { self_, next, prev },
            }
        }
        Paging::Cursor { per_page, .. } => {
            let next = next_cursor
                .as_ref()
                .map(|c| with_query(path, query, &[("cursor", c.clone())]));
            ListBody {
                data,
                meta: ListMeta {
                    page: None,
                    per_page: *per_page,
                    total: None,
                    total_pages: None,
                    next_cursor: Some(next_cursor),
                },
                links: ListLinks {
                    self_,
                    next,
                    prev: None,
                },
            }
        }
    }
}

/// `path?query` with the `overrides` replacing (or adding) parameters.
pub fn with_query(path: &str, query: &str, overrides: &[(&str, String)]) -> String {
    let mut serializer = form_urlencoded::Serializer::new(String::new());
    for (key, value) in form_urlencoded::parse(query.as_bytes()) {
        if !overrides.iter().any(|(k, _)| *k == key) {
            serializer.append_pair(&key, &value);
        }
    }
    for (key, value) in overrides {
        serializer.append_pair(key, value);
    }
    let query = serializer.finish();
    if query.is_empty() {
        path.to_string()
    } else {
        format!("{path}?{query}")
    }
}

/// The RFC 8288 `Link` header value (`rel="next"`, `rel="prev"`), if any.
pub fn link_value(links: &ListLinks) -> Option<HeaderValue> {
    let mut parts = Vec::new();
    if let Some(next) = &links.next {
        parts.push(format!("<{next}>; rel=\"next\""));
    }
    if let Some(prev) = &links.prev {
        parts.push(format!("<{prev}>; rel=\"prev\""));
    }
    (!parts.is_empty())
        .then(|| HeaderValue::from_str(&parts.join(", ")).ok())
        .flatten()
}

/// A `200` with the list body and its `Link` header (editor lists; the
/// caller sets `Cache-Control`).
pub fn list_response<T: Serialize>(mut builder: HttpResponseBuilder, body: &ListBody<T>) -> HttpResponse {
    if let Some(link) = link_value(&body.links) {
        builder.insert_header((header::LINK, link));
    }
    builder.json(body)
}

/// The one cacheable list answer: `ETag`, `Cache-Control` per `policy`,
/// `Link`, and `304` when `If-None-Match` matches.
pub fn cached_list_response<T: Serialize>(
    req: &HttpRequest,
    body: &ListBody<T>,
    policy: CachePolicy,
) -> Result<HttpResponse, AppError> {
    cached_json_response(req, body, link_value(&body.links), policy)
}

/// [`cached_list_response`] for a body of another shape (search results,
/// with their own `meta`): a cacheable JSON answer, `Link` optional.
pub fn cached_json_response<T: Serialize>(
    req: &HttpRequest,
    body: &T,
    link: Option<header::HeaderValue>,
    policy: CachePolicy,
) -> Result<HttpResponse, AppError> {
    let bytes = serde_json::to_vec(body).map_err(AppError::internal)?;
    let extra: Vec<_> = link.map(|v| (header::LINK, v)).into_iter().collect();
    Ok(conditional::cached_bytes(
        req,
        StatusCode::OK,
        bytes,
        policy,
        &extra,
    ))
}

/// Declares a named list schema for the spec: `{data: [T], meta, links}`,
/// optionally with an example of the whole envelope. Used by path
/// (`pagination::list_schema!`), not exported at the crate root: a macro
/// there would make `http` depend on `lib.rs`, which depends on `http`.
macro_rules! list_schema {
    ($name:ident, $item:ty, $doc:literal, $example:tt) => {
        #[doc = $doc]
        #[derive(utoipa::ToSchema)]
        #[schema(example = json!($example))]
        #[allow(dead_code)]
        pub struct $name {
            /// The items of this page.
            pub data: Vec<$item>,
            pub meta: $crate::http::pagination::ListMeta,
            pub links: $crate::http::pagination::ListLinks,
        }
    };
    ($name:ident, $item:ty, $doc:literal) => {
        #[doc = $doc]
        #[derive(utoipa::ToSchema)]
        #[allow(dead_code)]
        pub struct $name {
            /// The items of this page.
            pub data: Vec<$item>,
            pub meta: $crate::http::pagination::ListMeta,
            pub links: $crate::http::pagination::ListLinks,
        }
    };
}

pub(crate) use list_schema;

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    fn paging(page: Option<u32>, per_page: Option<u32>, cursor: Option<&str>) -> (Paging, usize) {
        let mut errors = vec![];
        let p = Paging::from_params(page, per_page, cursor, &mut errors);
        (p, errors.len())
    }

    #[test]
    fn modes_and_bounds() {
        assert_eq!(
            paging(None, None, None),
            (
                Paging::Page {
                    page: 1,
                    per_page: 20
                },
                0
            )
        );
        assert_eq!(
            paging(Some(3), Some(100), None),
            (
                Paging::Page {
                    page: 3,
                    per_page: 100
                },
                0
            )
        );
        assert_eq!(paging(None, Some(101), None).1, 1);
        assert_eq!(paging(None, Some(0), None).1, 1);
        assert_eq!(paging(Some(0), None, None).1, 1);
        assert_eq!(paging(Some(MAX_PAGE + 1), None, None).1, 1);
        assert_eq!(
            paging(None, None, Some("")),
            (
                Paging::Cursor {
                    after: None,
                    per_page: 20
                },
                0
            )
        );
        assert_eq!(paging(Some(1), None, Some("")).1, 1);
        // Decoding waits for the list's scope (see `Paging::keyset`).
        assert_eq!(paging(None, None, Some("not-a-cursor!")).1, 0);
        assert_eq!(paging(None, None, Some(&"A".repeat(MAX_CURSOR_LEN + 1))).1, 1);
        let scope = Scope {
            list: "x",
            order: "id",
        };
        let c = cursor::encode(scope, &Keyset { key: 7i64, id: 42 });
        let (p, _) = paging(None, None, Some(&c));
        let mut errors = vec![];
        assert_eq!(
            p.keyset::<i64>(scope, &mut errors),
            Some(Keyset { key: 7, id: 42 })
        );
        let other = Scope { list: "y", ..scope };
        assert_eq!(p.keyset::<i64>(other, &mut errors), None);
        assert_eq!(
            paging(None, None, Some("junk"))
                .0
                .keyset::<i64>(scope, &mut errors),
            None
        );
        assert_eq!(errors.len(), 2);
        assert_eq!(
            p.next_cursor(scope, true, Some(Keyset { key: 7i64, id: 42 })),
            Some(c)
        );
        assert_eq!(
            p.next_cursor(scope, false, Some(Keyset { key: 7i64, id: 42 })),
            None
        );
    }

    #[test]
    fn links_keep_other_parameters() {
        let req = TestRequest::get()
            .uri("/api/v1/x?tag=a%20b&page=2&per_page=5")
            .to_http_request();
        let body = page_of(
            &req,
            &Paging::Page { page: 2, per_page: 5 },
            vec![1, 2, 3, 4, 5],
            Some(12),
            None,
        );
        assert_eq!(body.meta.total_pages, Some(3));
        assert_eq!(
            body.links.next.as_deref(),
            Some("/api/v1/x?tag=a+b&per_page=5&page=3")
        );
        assert_eq!(
            body.links.prev.as_deref(),
            Some("/api/v1/x?tag=a+b&per_page=5&page=1")
        );
        let last = page_of(
            &req,
            &Paging::Page { page: 3, per_page: 5 },
            vec![1, 2],
            Some(12),
            None,
        );
        assert!(last.links.next.is_none());
    }

    mod properties {
        use super::super::*;
        use proptest::prelude::*;

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(256))]

            #[test]
            fn paging_never_panics(
                page in proptest::option::of(any::<u32>()),
                per_page in proptest::option::of(any::<u32>()),
                cursor in proptest::option::of(any::<String>()),
            ) {
                let mut errors = Vec::new();
                let paging = Paging::from_params(page, per_page, cursor.as_deref(), &mut errors);
                prop_assert!((1..=MAX_PER_PAGE).contains(&paging.per_page()));
                prop_assert!(paging.offset() >= 0);
            }
        }
    }
}
