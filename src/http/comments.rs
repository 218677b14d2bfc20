//! Comments: the public "Leave a Reply" thread under an article
//! (`/api/v1/articles/{slug}/comments`) and the editors' moderation routes
//! (`/api/v1/admin/comments`).
//!
//! A reader's email is stored but shown on editor routes only: public
//! routes answer with [`CommentResponse`], which has no email field at all,
//! and editor routes with [`AdminCommentResponse`]. The two types are kept
//! apart so that no refactoring can leak the address into a cached payload.

mod shapes;

use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{FromRequest, HttpRequest, HttpResponse, delete, get, patch, post, web};
use serde::Serialize;

use crate::domain::comment::CommentModeration;
use crate::domain::comment::{self, CommentStatus};
use crate::domain::comment::{AdminFilter, After};
use crate::domain::text;
use crate::error::{AppError, FieldError};
use crate::http::client;
use crate::http::conditional::{self, CachePolicy, NoStore};
use crate::http::cursor::{Keyset, Scope};
use crate::http::extract::{Auth, Errors, Json, NoParams, guard, known_slug};
use crate::http::pagination::{self, ListBody, Paging};
use crate::http::query::Query;
use crate::service::comments::CommentRow;
use crate::service::comments::{self as service, CommentPatch, NewCommentInput, Rules, Window};
use crate::service::keys;
use crate::state::AppState;

pub use shapes::*;

/// One request's worth of the per-IP comment quota; fails with `429` when
/// the client is over `RATE_LIMIT_COMMENTS_PER_MINUTE`. Declared before the
/// body in a handler, so an over-limit client's body is never parsed.
pub struct CommentQuota;

impl FromRequest for CommentQuota {
    type Error = AppError;
    type Future = futures_util::future::LocalBoxFuture<'static, Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let state = req
                .app_data::<web::Data<AppState>>()
                .cloned()
                .ok_or_else(|| AppError::internal("application state missing"))?;
            client::limit(&req, &state.limits.comments, &state.config.trusted_proxies).await?;
            Ok(CommentQuota)
        })
    }
}

/// The cursor scopes of the two comment lists: the public thread (oldest
/// first) and the moderation list (newest first).
const PUBLIC_SCOPE: Scope = Scope {
    list: "comments",
    order: "created_at",
};
const ADMIN_SCOPE: Scope = Scope {
    list: "admin-comments",
    order: "-created_at",
};

/// Validates the pagination parameters into a paging mode and the rows to load.
fn paging_window(
    scope: Scope,
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
        Paging::Cursor { per_page, .. } => Window {
            after: paging
                .keyset::<chrono::NaiveDateTime>(scope, errors)
                .map(|k| After {
                    created_at: k.key,
                    id: k.id,
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
    scope: Scope,
    paging: &Paging,
    mut rows: Vec<CommentRow>,
    total: Option<i64>,
    to_item: impl Fn(CommentRow) -> T,
) -> ListBody<T> {
    let per_page = paging.per_page() as usize;
    let has_more = rows.len() > per_page;
    rows.truncate(per_page);
    let last = rows.last().map(|r| Keyset {
        key: r.created_at,
        id: r.id,
    });
    let next_cursor = paging.next_cursor(scope, has_more, last);
    let data = rows.into_iter().map(to_item).collect();
    pagination::page_of(req, paging, data, total, next_cursor)
}

fn no_store_json<T: Serialize>(status: StatusCode, value: &T) -> HttpResponse {
    HttpResponse::build(status).no_store().json(value)
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
        // Anything too long to be a token is simply not one.
        trust_token: body.trust_token.filter(|t| t.len() <= 200),
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
            ("Surrogate-Key" = String),
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
        PUBLIC_SCOPE,
        params.page,
        params.per_page,
        params.cursor.as_deref(),
        &mut errors.0,
    );
    errors.finish()?;
    let (article_id, rows, total) =
        service::list_public(&state.db, known_slug(slug.into_inner())?, window).await?;
    let body = list_body(&req, PUBLIC_SCOPE, &paging, rows, total, CommentResponse::from);
    let response = pagination::cached_list_response(&req, &body, public_policy(&state))?;
    Ok(conditional::with_keys(response, keys::comments(article_id)))
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
            ("Surrogate-Key" = String),
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
    _query: Query<NoParams>,
) -> Result<HttpResponse, AppError> {
    let (slug, id) = path.into_inner();
    let slug = known_slug(slug)?;
    let row = service::get_public(&state.db, slug, id).await?;
    let keys = keys::comments(row.article_id);
    let response = conditional::json_ok(&req, &CommentResponse::from(row), public_policy(&state))?;
    Ok(conditional::with_keys(response, keys))
}

/// Leave a reply
///
/// Posts a reader's comment on a published article. It is held for
/// moderation (`202`, status `pending`) unless the moderation mode is
/// `none`, which publishes it at once (`201` with `Location`). Under
/// `first_time` the answer is always `202`, whether or not the reader was
/// trusted (so it cannot tell who has commented before); its `status` says
/// whether the comment was published. Trust comes only from a
/// `trust_token` (see the request field). Comments with more than
/// `COMMENT_MAX_LINKS` links are always held. Limited per client IP
/// (`RATE_LIMIT_COMMENTS_PER_MINUTE`). The email is never shown publicly.
#[utoipa::path(
    operation_id = "createComment",
    tag = "comments",
    params(("slug" = String, Path, description = "Article slug")),
    request_body = CreateCommentRequest,
    responses(
        (status = 201, description = "Published at once (moderation `none`).", body = PostedCommentResponse,
         headers(("Location" = String, description = "URL of the new comment."))),
        (status = 202, description = "Received: held for moderation, or under `first_time` published for a trusted reader (see `status`).",
         body = PostedCommentResponse),
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
    let rules = Rules::from_config(&state.config);
    let published_at_once = rules.moderation == CommentModeration::None;
    let posted = service::create(&state.db, rules, slug.clone(), input).await?;
    let approved = posted.row.status() == CommentStatus::Approved;
    let body = PostedCommentResponse {
        comment: CommentResponse::from(posted.row),
        trust_token: posted.trust_token,
    };
    if approved && published_at_once {
        let location = format!("/api/v1/articles/{slug}/comments/{}", body.comment.id);
        let mut response = no_store_json(StatusCode::CREATED, &body);
        if let Ok(value) = HeaderValue::from_str(&location) {
            response.headers_mut().insert(header::LOCATION, value);
        }
        Ok(response)
    } else {
        Ok(no_store_json(StatusCode::ACCEPTED, &body))
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
        ADMIN_SCOPE,
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
    let body = list_body(
        &req,
        ADMIN_SCOPE,
        &paging,
        rows,
        total,
        AdminCommentResponse::from,
    );
    let mut builder = HttpResponse::Ok();
    builder.no_store();
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
    conditional::json_ok(&req, &AdminCommentResponse::from(row), CachePolicy::NoStore)
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
    let if_match = conditional::if_match(&req);
    let row = service::update(&state.db, id.into_inner(), patch, move |current| {
        let etag = conditional::etag_of_json(&AdminCommentResponse::from(current.clone()))?;
        conditional::check_if_match(if_match.as_deref(), &etag)
    })
    .await?;
    conditional::json_ok(&req, &AdminCommentResponse::from(row), CachePolicy::NoStore)
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
    Ok(HttpResponse::NoContent().no_store().finish())
}

fn public_policy(state: &AppState) -> CachePolicy {
    CachePolicy::Public {
        max_age: state.config.cache_max_age_seconds,
    }
}
