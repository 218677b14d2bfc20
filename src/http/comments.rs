//! Comments: the public "Leave a Reply" thread under an article
//! (`/api/v1/articles/{slug}/comments`) and the editors' moderation routes
//! (`/api/v1/admin/comments`).
//!
//! A reader's email is stored but shown on editor routes only: public
//! routes answer with [`CommentResponse`], which has no email field at all,
//! and editor routes with [`AdminCommentResponse`]. The two types are kept
//! apart so that no refactoring can leak the address into a cached payload.

use std::future::{Ready, ready};

use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{FromRequest, HttpRequest, HttpResponse, delete, get, patch, post, web};
use chrono::{DateTime, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::db::comments::{AdminFilter, After, CommentRow};
use crate::domain::comment::{self, CommentStatus};
use crate::domain::text;
use crate::error::{AppError, FieldError};
use crate::http::caching::{self, CachePolicy};
use crate::http::extract::{Auth, Errors, Json, Query, guard, known_slug};
use crate::http::limits;
use crate::http::pagination::{self, ListBody, Paging};
use crate::list_schema;
use crate::service::comments::{self as service, CommentPatch, NewCommentInput, Rules, Window};
use crate::state::AppState;

/// How a comment stands, as the public sees it: `approved` (in the thread)
/// or `pending` (held for moderation; only ever in the answer to the post
/// that created it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PublicCommentStatus {
    Pending,
    Approved,
}

/// A comment as the public sees it. It never carries the author's email.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": 42, "article_id": 7, "parent_id": null, "depth": 0,
    "author_name": "Ana Ruiz", "author_url": "https://ana.example.org",
    "body": "Well argued.\n\nBut see https://example.org/data",
    "body_html": "<p>Well argued.</p>\n<p>But see <a href=\"https://example.org/data\" rel=\"nofollow ugc noopener\">https://example.org/data</a></p>",
    "status": "approved", "removed": false, "created_at": "2026-11-24T09:30:00Z"
}))]
pub struct CommentResponse {
    pub id: i64,
    pub article_id: i64,
    /// The comment this one replies to; null for a top-level comment.
    pub parent_id: Option<i64>,
    /// Nesting level: 0 for a top-level comment, parent's depth + 1 for a reply.
    pub depth: i32,
    /// The name the reader gave; null when the comment was removed.
    pub author_name: Option<String>,
    /// The reader's website, if given; null when the comment was removed.
    pub author_url: Option<String>,
    /// The text as written (plain text, not HTML); empty when removed.
    pub body: String,
    /// `body` as safe HTML: escaped, `<p>` per paragraph, `<br>` per line
    /// break, http(s) URLs linked with `rel="nofollow ugc noopener"`.
    /// Empty when removed.
    pub body_html: String,
    pub status: PublicCommentStatus,
    /// True for a deleted comment kept as a placeholder because it has
    /// replies: show "comment removed" and keep its replies under it.
    pub removed: bool,
    pub created_at: DateTime<Utc>,
}

impl From<CommentRow> for CommentResponse {
    fn from(row: CommentRow) -> Self {
        // Spam and trash show as pending: a bot caught by the honeypot must
        // not be able to tell.
        let status = match row.status() {
            CommentStatus::Approved => PublicCommentStatus::Approved,
            _ => PublicCommentStatus::Pending,
        };
        CommentResponse {
            id: row.id,
            article_id: row.article_id,
            parent_id: row.parent_id,
            depth: row.depth,
            author_name: (!row.removed).then_some(row.author_name),
            author_url: row.author_url.filter(|_| !row.removed),
            body: row.body,
            body_html: row.body_html,
            status,
            removed: row.removed,
            created_at: row.created_at.and_utc(),
        }
    }
}

/// A comment as editors see it, with the author's email.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": 42, "article_id": 7, "parent_id": null, "depth": 0,
    "author_name": "Ana Ruiz", "author_email": "ana@example.com", "author_url": null,
    "body": "Well argued.", "body_html": "<p>Well argued.</p>",
    "status": "pending", "removed": false,
    "created_at": "2026-11-24T09:30:00Z", "updated_at": "2026-11-24T09:30:00Z"
}))]
pub struct AdminCommentResponse {
    pub id: i64,
    pub article_id: i64,
    /// The comment this one replies to; null for a top-level comment.
    pub parent_id: Option<i64>,
    /// Nesting level: 0 for a top-level comment.
    pub depth: i32,
    /// Null when the comment was removed.
    pub author_name: Option<String>,
    /// The reader's email (lower-cased); null when the comment was removed.
    pub author_email: Option<String>,
    pub author_url: Option<String>,
    /// The text as written (plain text); empty when removed.
    pub body: String,
    /// `body` as safe HTML; empty when removed.
    pub body_html: String,
    pub status: CommentStatus,
    /// A deleted comment kept as a placeholder because it has replies; it
    /// cannot be changed any more.
    pub removed: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<CommentRow> for AdminCommentResponse {
    fn from(row: CommentRow) -> Self {
        let status = row.status();
        AdminCommentResponse {
            id: row.id,
            article_id: row.article_id,
            parent_id: row.parent_id,
            depth: row.depth,
            author_name: (!row.removed).then_some(row.author_name),
            author_email: (!row.removed).then_some(row.author_email),
            author_url: row.author_url,
            body: row.body,
            body_html: row.body_html,
            status,
            removed: row.removed,
            created_at: row.created_at.and_utc(),
            updated_at: row.updated_at.and_utc(),
        }
    }
}

list_schema!(
    CommentList,
    CommentResponse,
    "A page of an article's comments, oldest first."
);
list_schema!(
    AdminCommentList,
    AdminCommentResponse,
    "A page of comments, newest first."
);

/// A reader's comment.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "author_name": "Ana Ruiz", "author_email": "ana@example.com",
    "author_url": "https://ana.example.org",
    "body": "Well argued.\n\nBut the numbers in the third paragraph are from 2019.",
    "parent_id": null
}))]
pub struct CreateCommentRequest {
    /// Shown with the comment; 1–100 characters.
    #[schema(min_length = 1, max_length = 100)]
    pub author_name: String,
    /// Never shown publicly; lets editors reach the reader, and under
    /// `first_time` moderation an email with an approved comment is trusted.
    #[schema(format = Email, max_length = 254)]
    pub author_email: String,
    /// The reader's website: an absolute http(s) URL.
    #[schema(format = "uri", max_length = 2000)]
    pub author_url: Option<String>,
    /// Plain text, 1–5,000 characters. HTML is shown as typed, not
    /// interpreted; blank lines separate paragraphs; http(s) URLs become links.
    #[schema(min_length = 1, max_length = 5000)]
    pub body: String,
    /// Reply to this comment: an approved comment of the same article,
    /// less deep than `COMMENT_MAX_DEPTH` (default 5; top level is 0).
    pub parent_id: Option<i64>,
    /// Leave empty; bots fill it. Anti-spam honeypot: hide this field from
    /// people (for example with CSS), never from the form.
    pub nickname: Option<String>,
}

/// An editor's change to a comment: moderate it (`status`), correct its
/// text (`body`), or both. At least one is required.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"status": "approved"}))]
pub struct UpdateCommentRequest {
    pub status: Option<CommentStatus>,
    /// The corrected text, 1–5,000 characters; `body_html` follows.
    #[schema(min_length = 1, max_length = 5000)]
    pub body: Option<String>,
}

/// Moderate many comments at once.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"ids": [41, 42, 43], "status": "spam"}))]
pub struct BulkModerateRequest {
    /// 1–100 comment ids.
    #[schema(min_items = 1, max_items = 100)]
    pub ids: Vec<i64>,
    /// The status every listed comment gets.
    pub status: CommentStatus,
}

/// What a bulk moderation did.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"status": "spam", "changed": 2, "missing": [43]}))]
pub struct BulkModerateResponse {
    /// The status the comments were given.
    pub status: CommentStatus,
    /// How many comments changed status (those already in it, and removed
    /// placeholders, do not count).
    pub changed: usize,
    /// Requested ids that name no comment.
    pub missing: Vec<i64>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CommentListParams {
    /// Page mode: page number, from 1.
    #[param(minimum = 1, maximum = 100000)]
    pub page: Option<u32>,
    /// Items per page.
    #[param(minimum = 1, maximum = 100)]
    pub per_page: Option<u32>,
    /// Cursor mode: empty to start, then the `next_cursor` of the last page.
    pub cursor: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AdminCommentListParams {
    /// Page mode: page number, from 1.
    #[param(minimum = 1, maximum = 100000)]
    pub page: Option<u32>,
    /// Items per page.
    #[param(minimum = 1, maximum = 100)]
    pub per_page: Option<u32>,
    /// Cursor mode: empty to start, then the `next_cursor` of the last page.
    pub cursor: Option<String>,
    /// Only comments in this status (for the queue: `pending`).
    #[param(inline)]
    pub status: Option<CommentStatus>,
    /// Only comments on this article.
    pub article_id: Option<i64>,
    /// Case-insensitive text in the body, author name or author email.
    #[param(max_length = 200)]
    pub q: Option<String>,
}

/// One request's worth of the per-IP comment quota; fails with `429` when
/// the client is over `RATE_LIMIT_COMMENTS_PER_MINUTE`. Declared before the
/// body in a handler, so an over-limit client's body is never parsed.
pub struct CommentQuota;

impl FromRequest for CommentQuota {
    type Error = AppError;
    type Future = Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let result = match req.app_data::<web::Data<AppState>>() {
            Some(state) => {
                let ip = limits::client_ip(req, &state.config.trusted_proxies);
                state.limits.comments.check(ip).map(|()| CommentQuota)
            }
            None => Err(AppError::internal("application state missing")),
        };
        ready(result)
    }
}

const POSITION_FORMAT: &str = "%Y-%m-%dT%H:%M:%S";

fn position_of(row: &CommentRow) -> String {
    format!("{}|{}", row.created_at.format(POSITION_FORMAT), row.id)
}

fn parse_position(position: &str) -> Option<After> {
    let (at, id) = position.split_once('|')?;
    Some(After {
        created_at: NaiveDateTime::parse_from_str(at, POSITION_FORMAT).ok()?,
        id: id.parse().ok()?,
    })
}

/// Validates the pagination parameters into a paging mode and the rows to load.
fn paging_window(
    page: Option<u32>,
    per_page: Option<u32>,
    cursor: Option<&str>,
    errors: &mut Vec<FieldError>,
) -> (Paging, Window) {
    let paging = Paging::from_params(page, per_page, cursor, errors);
    let window = match &paging {
        Paging::Page { .. } => Window {
            after: None,
            offset: paging.offset(),
            limit: paging.per_page() as i64,
            with_total: true,
        },
        Paging::Cursor { after, per_page } => Window {
            after: after.as_deref().and_then(|p| {
                let parsed = parse_position(p);
                if parsed.is_none() {
                    errors.push(FieldError::new("cursor", "is not a cursor for this list"));
                }
                parsed
            }),
            offset: 0,
            // One more than a page, to learn whether another page follows.
            limit: *per_page as i64 + 1,
            with_total: false,
        },
    };
    (paging, window)
}

/// The list envelope for `rows` (in cursor mode one more than a page may
/// have been loaded: it only says that a next page exists).
fn list_body<T>(
    req: &HttpRequest,
    paging: &Paging,
    mut rows: Vec<CommentRow>,
    total: Option<i64>,
    to_item: impl Fn(CommentRow) -> T,
) -> ListBody<T> {
    let per_page = paging.per_page() as usize;
    let next_position = match paging {
        Paging::Cursor { .. } if rows.len() > per_page => {
            rows.truncate(per_page);
            rows.last().map(position_of)
        }
        _ => None,
    };
    let data = rows.into_iter().map(to_item).collect();
    pagination::page_of(req, paging, data, total, next_position)
}

fn no_store_json<T: Serialize>(status: StatusCode, value: &T) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(value)
}

fn validate_create(body: CreateCommentRequest) -> Result<NewCommentInput, AppError> {
    let mut errors = Errors::default();
    let author_name = text::required(
        "author_name",
        &body.author_name,
        comment::NAME_MAX_CHARS,
        &mut errors.0,
    );
    let author_email = text::email("author_email", &body.author_email, &mut errors.0);
    let author_url = body
        .author_url
        .as_deref()
        .map(str::trim)
        .filter(|u| !u.is_empty())
        .map(|u| text::http_url("author_url", u, &mut errors.0));
    let body_text = text::required("body", &body.body, comment::BODY_MAX_CHARS, &mut errors.0);
    if body.parent_id.is_some_and(|id| id < 1) {
        errors
            .0
            .push(FieldError::new("parent_id", "must be a comment id"));
    }
    errors.finish()?;
    Ok(NewCommentInput {
        author_name,
        author_email,
        author_url,
        body: body_text,
        parent_id: body.parent_id,
        honeypot_filled: body.nickname.is_some_and(|n| !n.trim().is_empty()),
    })
}

fn validate_update(body: UpdateCommentRequest) -> Result<CommentPatch, AppError> {
    let mut errors = Errors::default();
    if body.status.is_none() && body.body.is_none() {
        errors
            .0
            .push(FieldError::new("status", "send `status`, `body`, or both"));
    }
    let text = body
        .body
        .map(|b| text::required("body", &b, comment::BODY_MAX_CHARS, &mut errors.0));
    errors.finish()?;
    Ok(CommentPatch {
        status: body.status,
        body: text,
    })
}

/// List an article's comments
///
/// The approved comments under a published article, oldest first. Replies
/// carry `parent_id` (and `depth`), so a client builds the thread; a
/// deleted comment that has replies appears as a placeholder
/// (`removed: true`). A reply whose parent was later withdrawn by a
/// moderator still names it in `parent_id`: show such a reply at the top
/// level. Page mode (`page`) or cursor mode (`cursor=`).
#[utoipa::path(
    operation_id = "listComments",
    tag = "comments",
    params(("slug" = String, Path, description = "Article slug"), CommentListParams),
    responses(
        (status = 200, description = "A page of comments.", body = CommentList,
         headers(
            ("ETag" = String, description = "Strong tag of the body; send as `If-None-Match`."),
            ("Cache-Control" = String, description = "`public, max-age=CACHE_MAX_AGE_SECONDS`."),
            ("Link" = String, description = "RFC 8288 links to the next and previous pages."),
         )),
        (status = 304, description = "Not modified (`If-None-Match`)."),
    )
)]
#[get("/articles/{slug}/comments")]
pub async fn list_comments(
    state: web::Data<AppState>,
    req: HttpRequest,
    slug: web::Path<String>,
    params: Query<CommentListParams>,
) -> Result<HttpResponse, AppError> {
    let params = params.0;
    let mut errors = Errors::default();
    let (paging, window) = paging_window(
        params.page,
        params.per_page,
        params.cursor.as_deref(),
        &mut errors.0,
    );
    errors.finish()?;
    let (rows, total) = service::list_public(&state.db, known_slug(slug.into_inner())?, window).await?;
    let body = list_body(&req, &paging, rows, total, CommentResponse::from);
    cached_list(&req, &body, public_policy(&state))
}

/// Get a comment
///
/// One comment of an article's public thread: where `Location` points
/// after a comment is published at once.
#[utoipa::path(
    operation_id = "getComment",
    tag = "comments",
    params(
        ("slug" = String, Path, description = "Article slug"),
        ("id" = i64, Path, description = "Comment id"),
    ),
    responses(
        (status = 200, description = "The comment.", body = CommentResponse,
         headers(
            ("ETag" = String, description = "Strong tag of the body; send as `If-None-Match`."),
            ("Cache-Control" = String, description = "`public, max-age=CACHE_MAX_AGE_SECONDS`."),
         )),
        (status = 304, description = "Not modified (`If-None-Match`)."),
    )
)]
#[get("/articles/{slug}/comments/{id}")]
pub async fn get_comment(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, i64)>,
) -> Result<HttpResponse, AppError> {
    let (slug, id) = path.into_inner();
    let slug = known_slug(slug)?;
    let row = service::get_public(&state.db, slug, id).await?;
    caching::json_ok(&req, &CommentResponse::from(row), public_policy(&state))
}

/// Leave a reply
///
/// Posts a reader's comment on a published article. It is held for
/// moderation (`202`, status `pending`) unless the moderation mode
/// publishes it at once (`201` with `Location`). Comments with more than
/// `COMMENT_MAX_LINKS` links are always held. Limited per client IP
/// (`RATE_LIMIT_COMMENTS_PER_MINUTE`). The email is never shown publicly.
#[utoipa::path(
    operation_id = "createComment",
    tag = "comments",
    params(("slug" = String, Path, description = "Article slug")),
    request_body = CreateCommentRequest,
    responses(
        (status = 201, description = "Published at once.", body = CommentResponse,
         headers(("Location" = String, description = "URL of the new comment."))),
        (status = 202, description = "Received and held for moderation.", body = CommentResponse),
        (status = 403, response = crate::http::openapi::CommentsDisabled),
        (status = 429, response = crate::http::openapi::RateLimited),
    )
)]
#[post("/articles/{slug}/comments")]
pub async fn create_comment(
    _quota: CommentQuota,
    state: web::Data<AppState>,
    slug: web::Path<String>,
    body: Json<CreateCommentRequest>,
) -> Result<HttpResponse, AppError> {
    let slug = known_slug(slug.into_inner())?;
    let input = validate_create(body.0)?;
    let row = service::create(&state.db, Rules::from_config(&state.config), slug.clone(), input).await?;
    if row.status() == CommentStatus::Approved {
        let location = format!("/api/v1/articles/{slug}/comments/{}", row.id);
        let mut response = no_store_json(StatusCode::CREATED, &CommentResponse::from(row));
        if let Ok(value) = HeaderValue::from_str(&location) {
            response.headers_mut().insert(header::LOCATION, value);
        }
        Ok(response)
    } else {
        Ok(no_store_json(StatusCode::ACCEPTED, &CommentResponse::from(row)))
    }
}

/// List comments for moderation
///
/// Every comment in every status, newest first, with the author's email.
#[utoipa::path(
    operation_id = "listAdminComments",
    tag = "admin-comments",
    security(("bearerAuth" = [])),
    params(AdminCommentListParams),
    responses(
        (status = 200, description = "A page of comments, newest first.", body = AdminCommentList,
         headers(("Link" = String, description = "RFC 8288 links to the next and previous pages."))),
    )
)]
#[get("/comments")]
pub async fn list_admin_comments(
    _auth: Auth<guard::Editor>,
    state: web::Data<AppState>,
    req: HttpRequest,
    params: Query<AdminCommentListParams>,
) -> Result<HttpResponse, AppError> {
    let params = params.0;
    let mut errors = Errors::default();
    let (paging, window) = paging_window(
        params.page,
        params.per_page,
        params.cursor.as_deref(),
        &mut errors.0,
    );
    let query = text::optional("q", params.q.as_deref(), 200, &mut errors.0);
    errors.finish()?;
    let filter = AdminFilter {
        status: params.status,
        article_id: params.article_id,
        query,
    };
    let (rows, total) = service::list_admin(&state.db, filter, window).await?;
    let body = list_body(&req, &paging, rows, total, AdminCommentResponse::from);
    let mut builder = HttpResponse::Ok();
    builder.insert_header((header::CACHE_CONTROL, "no-store"));
    Ok(pagination::list_response(builder, &body))
}

/// Get a comment for moderation
///
/// Any status, with the reader's email. The `ETag` is what `If-Match` on
/// PATCH expects.
#[utoipa::path(
    operation_id = "getAdminComment",
    tag = "admin-comments",
    security(("bearerAuth" = [])),
    params(("id" = i64, Path, description = "Comment id")),
    responses(
        (status = 200, description = "The comment.", body = AdminCommentResponse,
         headers(("ETag" = String, description = "Send as `If-Match` on PATCH."))),
        (status = 304, description = "Not modified (`If-None-Match`)."),
    )
)]
#[get("/comments/{id}")]
pub async fn get_admin_comment(
    _auth: Auth<guard::Editor>,
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let row = service::get(&state.db, id.into_inner()).await?;
    caching::json_ok(&req, &AdminCommentResponse::from(row), CachePolicy::NoStore)
}

/// Moderate or correct a comment
///
/// Approving a comment publishes it; any other status withdraws it. The
/// article's `comment_count` follows. Send the `ETag` from the last GET as
/// `If-Match` to avoid overwriting another editor's decision (412 when
/// stale). A removed placeholder cannot be changed (409).
#[utoipa::path(
    operation_id = "updateComment",
    tag = "admin-comments",
    security(("bearerAuth" = [])),
    params(
        ("id" = i64, Path, description = "Comment id"),
        ("If-Match" = Option<String>, Header, description = "ETag from the last GET; 412 if it is stale."),
    ),
    request_body = UpdateCommentRequest,
    responses(
        (status = 200, description = "Updated.", body = AdminCommentResponse,
         headers(("ETag" = String, description = "The new tag, for the next `If-Match`."))),
        (status = 409, response = crate::http::openapi::Conflict),
        (status = 412, response = crate::http::openapi::PreconditionFailed),
    )
)]
#[patch("/comments/{id}")]
pub async fn update_comment(
    _auth: Auth<guard::Editor>,
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<i64>,
    body: Json<UpdateCommentRequest>,
) -> Result<HttpResponse, AppError> {
    let patch = validate_update(body.0)?;
    let if_match = caching::if_match(&req);
    let row = service::update(&state.db, id.into_inner(), patch, move |current| {
        let etag = caching::etag_of_json(&AdminCommentResponse::from(current.clone()))?;
        caching::check_if_match(if_match.as_deref(), &etag)
    })
    .await?;
    caching::json_ok(&req, &AdminCommentResponse::from(row), CachePolicy::NoStore)
}

/// Moderate comments in bulk
///
/// Gives every listed comment the same status; `comment_count` follows.
#[utoipa::path(
    operation_id = "bulkModerateComments",
    tag = "admin-comments",
    security(("bearerAuth" = [])),
    request_body = BulkModerateRequest,
    responses(
        (status = 200, description = "Done.", body = BulkModerateResponse),
    )
)]
#[post("/comments/bulk")]
pub async fn bulk_moderate_comments(
    _auth: Auth<guard::Editor>,
    state: web::Data<AppState>,
    body: Json<BulkModerateRequest>,
) -> Result<HttpResponse, AppError> {
    let BulkModerateRequest { ids, status } = body.0;
    if ids.is_empty() || ids.len() > 100 {
        return Err(AppError::field("ids", "must list 1 to 100 comment ids"));
    }
    let outcome = service::bulk_moderate(&state.db, ids, status).await?;
    let response = BulkModerateResponse {
        status,
        changed: outcome.changed,
        missing: outcome.missing,
    };
    Ok(no_store_json(StatusCode::OK, &response))
}

/// Delete a comment
///
/// A comment without replies is deleted outright. One with replies stays
/// as a placeholder (`removed: true`, name, email, URL and text wiped), so
/// its replies keep their place in the thread.
#[utoipa::path(
    operation_id = "deleteComment",
    tag = "admin-comments",
    security(("bearerAuth" = [])),
    params(("id" = i64, Path, description = "Comment id")),
    responses(
        (status = 204, description = "Deleted."),
    )
)]
#[delete("/comments/{id}")]
pub async fn delete_comment(
    _auth: Auth<guard::Editor>,
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    service::delete(&state.db, id.into_inner()).await?;
    Ok(HttpResponse::NoContent()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish())
}

fn public_policy(state: &AppState) -> CachePolicy {
    CachePolicy::Public {
        max_age: state.config.cache_max_age_seconds,
    }
}

/// A cacheable list: `ETag`, `Cache-Control`, `Link`, and `304` on a match.
fn cached_list<T: Serialize>(
    req: &HttpRequest,
    body: &ListBody<T>,
    policy: CachePolicy,
) -> Result<HttpResponse, AppError> {
    let bytes = serde_json::to_vec(body).map_err(AppError::internal)?;
    let mut links = Vec::new();
    if let Some(next) = &body.links.next {
        links.push(format!("<{next}>; rel=\"next\""));
    }
    if let Some(prev) = &body.links.prev {
        links.push(format!("<{prev}>; rel=\"prev\""));
    }
    let extra: Vec<_> = HeaderValue::from_str(&links.join(", "))
        .ok()
        .filter(|_| !links.is_empty())
        .map(|v| (header::LINK, v))
        .into_iter()
        .collect();
    Ok(caching::cached_bytes(req, StatusCode::OK, bytes, policy, &extra))
}
