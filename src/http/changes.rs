//! The public sync feed, `GET /api/v1/changes?since=<cursor>`: what
//! happened to public articles after a position in the change log, in
//! commit order, for clients that keep a copy (mobile apps, static-site
//! builders, search indexes). The rules are in `service::changes` and
//! `domain::sync`; here the cursor (the one codec, `http::cursor`) and the
//! answer's shape and caching.
//!
//! Caching: a full page (`has_more`) is made of settled changes and can
//! never change, so it is `public, max-age=CACHE_MAX_AGE_SECONDS`; the last
//! page grows as articles change, so it is `public, no-cache` (a client or
//! CDN keeps it and revalidates with `If-None-Match`: `304` while nothing
//! happened). Neither is kept by the server's response cache (no surrogate
//! keys): the read is one index range, and an eviction at commit could
//! precede the moment a change becomes readable here (settled).

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, get, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToResponse, ToSchema};

use crate::domain::sync::SyncEntry;
use crate::error::{AppError, FieldError, Problem};
use crate::http::conditional::{self, CachePolicy};
use crate::http::cursor::{self, Keyset, Scope};
use crate::http::extract::Errors;
use crate::http::pagination::{self, DEFAULT_PER_PAGE, ListLinks, MAX_CURSOR_LEN, MAX_PER_PAGE};
use crate::http::query::Query;
use crate::service::changes::{self as service, LogPosition};
use crate::state::AppState;

/// The cursor scope of the feed: positions `(transaction, change id)` of
/// the change log, in commit order.
const SCOPE: Scope = Scope {
    list: "changes",
    order: "commit",
};

/// What happened to the article.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ChangeAction {
    /// It became public (published, or its scheduled time came): fetch it.
    Published,
    /// The public article changed: fetch it again.
    Updated,
    /// It left public view (unpublished, archived, moved to the future, or
    /// deleted): drop your copy.
    Removed,
}

/// One change to a public article.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": 42, "slug": "its-too-late-now", "action": "updated", "changed_at": "2026-12-08T09:30:00Z"
}))]
pub struct ChangeItem {
    /// The article's id: key your copy by it (a slug can change).
    pub id: i64,
    /// The article's slug after the change (before it, for a delete):
    /// fetch it at `/api/v1/articles/{slug}`.
    pub slug: String,
    pub action: ChangeAction,
    /// When it happened (for a scheduled article, its `published_at`).
    /// Entries are in commit order, which this time need not follow.
    pub changed_at: DateTime<Utc>,
}

impl From<SyncEntry> for ChangeItem {
    fn from(e: SyncEntry) -> Self {
        use crate::domain::sync::SyncAction;
        ChangeItem {
            id: e.id,
            slug: e.slug,
            action: match e.action {
                SyncAction::Published => ChangeAction::Published,
                SyncAction::Updated => ChangeAction::Updated,
                SyncAction::Removed => ChangeAction::Removed,
            },
            changed_at: e.changed_at.and_utc(),
        }
    }
}

/// `meta` of the feed.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChangesMeta {
    /// Items per page asked for (1–100, default 20). A page may hold fewer
    /// items than changes read: each article appears once per page.
    #[schema(minimum = 1, maximum = 100)]
    pub per_page: u32,
    /// Always present: pass it as `since` for the next page, or, when
    /// `has_more` is false, on your next poll. Opaque.
    pub next_cursor: String,
    /// More changes wait now: fetch the next page at once.
    pub has_more: bool,
}

/// A page of the sync feed.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "data": [
        {"id": 42, "slug": "its-too-late-now", "action": "updated", "changed_at": "2026-12-08T09:30:00Z"},
        {"id": 17, "slug": "the-old-pier", "action": "removed", "changed_at": "2026-12-08T09:31:12Z"}
    ],
    "meta": {"per_page": 20, "next_cursor": "MnxjaGFuZ2VzfGNvbW1pdHw3NDJ8OTAxMqBvI1Nk8Jx7", "has_more": false},
    "links": {"self": "/api/v1/changes?since=MnxjaGFuZ2VzfGNvbW1pdHw3MzF8ODk5N2Y0m2wZ1Qk", "next": null, "prev": null}
}))]
pub struct ChangeList {
    /// The changes of this page, in commit order.
    pub data: Vec<ChangeItem>,
    pub meta: ChangesMeta,
    pub links: ListLinks,
}

/// The cursor is past the log's retention: changes after it were purged.
/// Resync from scratch (see the operation's description).
#[derive(ToResponse)]
#[response(
    content_type = "application/problem+json",
    example = json!({
        "type": "urn:broadsheet:problem:cursor_expired", "title": "Gone", "status": 410,
        "detail": "Changes after this cursor were purged (kept 30 days): resync from scratch: call GET /api/v1/changes without `since` for a new cursor, then read the article list again.",
        "code": "cursor_expired"
    })
)]
#[allow(dead_code)]
pub struct CursorExpired(Problem);

/// Where to start, and how many.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ChangesParams {
    /// The `meta.next_cursor` of your last call. Without it (or empty) the
    /// answer is an empty page whose `next_cursor` is the log's head: every
    /// change from now on comes after it.
    #[param(max_length = 512, example = "")]
    pub since: Option<String>,
    /// Items per page, 1–100.
    #[param(minimum = 1, maximum = 100, default = 20)]
    pub per_page: Option<u32>,
}

/// Sync changes
///
/// The public articles that were published, changed, or removed from
/// public view (unpublished, archived, moved to the future, deleted) after
/// `since`, in commit order, each once per page at the place of its last
/// change. A change that commits late is never skipped: it comes on a
/// later call.
///
/// First sync: call without `since` and keep `meta.next_cursor`; then read
/// the articles (`GET /api/v1/articles?cursor=`, every page); then poll
/// with `since`. Changes made while you read the list come again from the
/// feed, which is harmless: apply each entry by `id` (fetch the article on
/// `published`/`updated`, drop it on `removed`).
///
/// Changes are kept `CHANGES_RETENTION_DAYS` (30). A cursor from before a
/// purged change is `410` with code `cursor_expired`: throw your copy away
/// and do the first sync again. A cursor of a quiet site stays valid.
#[utoipa::path(
    operation_id = "listChanges",
    tag = "articles",
    params(ChangesParams),
    responses(
        (status = 200, description = "A page of changes. A full page (`has_more`) never changes and is cacheable for `CACHE_MAX_AGE_SECONDS`; the last one is `no-cache`.", body = ChangeList,
         headers(("ETag" = String), ("Cache-Control" = String), ("Link" = String))),
        (status = 304, response = crate::http::openapi::NotModified),
        (status = 410, response = CursorExpired),
    )
)]
#[get("/changes")]
pub async fn list_changes(
    state: web::Data<AppState>,
    req: HttpRequest,
    params: Query<ChangesParams>,
) -> Result<HttpResponse, AppError> {
    let p = params.0;
    let mut errors = Errors::default();
    let per_page = match p.per_page {
        None => DEFAULT_PER_PAGE,
        Some(n) if (1..=MAX_PER_PAGE).contains(&n) => n,
        Some(_) => {
            errors.0.push(FieldError::new(
                "per_page",
                format!("must be between 1 and {MAX_PER_PAGE}"),
            ));
            DEFAULT_PER_PAGE
        }
    };
    let since = match p.since.as_deref() {
        None | Some("") => None,
        Some(text) => since_position(text, &mut errors.0),
    };
    errors.finish()?;
    let Some(since) = since else {
        let head = service::head(&state.db).await?;
        return respond(&req, &state, per_page, Vec::new(), head, false);
    };
    let page = service::page(&state.db, since, per_page as i64)
        .await?
        .map_err(|service::Expired| expired(state.config.changes_retention_days))?;
    respond(&req, &state, per_page, page.items, page.next, page.has_more)
}

fn since_position(text: &str, errors: &mut Vec<FieldError>) -> Option<LogPosition> {
    if text.len() > MAX_CURSOR_LEN {
        errors.push(since_error());
        return None;
    }
    match cursor::decode::<i64>(SCOPE, text) {
        Ok(at) => Some((at.key, at.id)),
        Err(_) => {
            errors.push(since_error());
            None
        }
    }
}

fn since_error() -> FieldError {
    FieldError::new(
        "since",
        "is not a cursor of this feed; call without `since` for a new one (and resync)",
    )
}

fn expired(days: u32) -> AppError {
    AppError::Coded {
        status: StatusCode::GONE,
        code: "cursor_expired",
        detail: format!(
            "Changes after this cursor were purged (kept {days} days): resync from scratch: call GET /api/v1/changes without `since` for a new cursor, then read the article list again."
        ),
    }
}

fn respond(
    req: &HttpRequest,
    state: &AppState,
    per_page: u32,
    items: Vec<SyncEntry>,
    next: LogPosition,
    has_more: bool,
) -> Result<HttpResponse, AppError> {
    let next_cursor = cursor::encode(
        SCOPE,
        &Keyset {
            key: next.0,
            id: next.1,
        },
    );
    let (path, query) = (req.path(), req.query_string());
    let links = ListLinks {
        self_: pagination::with_query(path, query, &[]),
        next: has_more.then(|| pagination::with_query(path, query, &[("since", next_cursor.clone())])),
        prev: None,
    };
    let link: Vec<(header::HeaderName, HeaderValue)> = pagination::link_value(&links)
        .map(|v| (header::LINK, v))
        .into_iter()
        .collect();
    let body = ChangeList {
        data: items.into_iter().map(ChangeItem::from).collect(),
        meta: ChangesMeta {
            per_page,
            next_cursor,
            has_more,
        },
        links,
    };
    let policy = if has_more {
        CachePolicy::Public {
            max_age: state.config.cache_max_age_seconds,
        }
    } else {
        CachePolicy::Revalidate
    };
    let bytes = serde_json::to_vec(&body).map_err(AppError::internal)?;
    Ok(conditional::cached_bytes(
        req,
        StatusCode::OK,
        bytes,
        policy,
        &link,
    ))
}
