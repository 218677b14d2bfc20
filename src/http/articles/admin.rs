//! Editor article routes: every status, by id. Authors see and change only
//! their own articles.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, delete, get, patch, post, web};
use serde::Deserialize;
use utoipa::IntoParams;

pub use super::input::{CreateArticleRequest, UpdateArticleRequest};
use super::input::{validate_create, validate_update};
use super::{ArticleField, ArticleList, ArticleResponse, FieldSet, parse_query_text};
use crate::domain::Role;
use crate::domain::article::{ArticleStatus, ListFilter, Order};
use crate::error::{AppError, FieldError};
use crate::http::conditional::{self, CachePolicy, NoStore};
use crate::http::extract::{Auth, Errors, Json, guard};
use crate::http::pagination::{self, Paging};
use crate::http::query::Query;
use crate::service::articles as service;
use crate::state::AppState;

/// Filters and paging of the editor article list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AdminArticleListParams {
    /// Only articles in this status.
    #[param(inline, value_type = Option<ArticleStatus>, example = "draft")]
    pub status: Option<String>,
    /// Only articles by this author: id or slug. Authors may name only
    /// themselves.
    #[param(example = "marta-okafor")]
    pub author: Option<String>,
    /// Only articles with any of these tags (slugs, comma separated).
    #[param(example = "cities")]
    pub tag: Option<String>,
    /// Full-text search over title, subtitle and body (1–200 characters).
    #[param(max_length = 200, example = "tram")]
    pub q: Option<String>,
    /// Page mode: page number, from 1 (without `page` or `cursor`, the
    /// first page in page mode). Not with `cursor`.
    #[param(minimum = 1, maximum = 100000)]
    pub page: Option<u32>,
    /// Items per page, 1–100.
    #[param(minimum = 1, maximum = 100, default = 20)]
    pub per_page: Option<u32>,
    /// Cursor mode: empty (`cursor=`) for the first page, then
    /// `meta.next_cursor`. Not with `page`.
    #[param(max_length = 512, example = "")]
    pub cursor: Option<String>,
    /// The fields to return, comma-separated. Default: every field but
    /// `body_markdown` and `body_html`.
    #[param(
        style = Form,
        explode = false,
        min_items = 1,
        value_type = Option<Vec<ArticleField>>,
        example = json!(["id", "slug", "title", "status", "updated_at"])
    )]
    pub fields: Option<String>,
}

/// List articles (editor)
///
/// Every status, most recently updated first. Authors see their own
/// articles only.
#[utoipa::path(
    operation_id = "listAdminArticles",
    tag = "admin-articles",
    security(("bearerAuth" = [])),
    params(AdminArticleListParams),
    responses(
        (status = 200, description = "A page of articles.", body = ArticleList,
         headers(("Link" = String), ("Cache-Control" = String))),
    )
)]
#[get("/articles")]
pub async fn list_admin_articles(
    auth: Auth<guard::Author>,
    state: web::Data<AppState>,
    req: HttpRequest,
    params: Query<AdminArticleListParams>,
) -> Result<HttpResponse, AppError> {
    let p = params.0;
    let mut errors = Errors::default();
    let paging = Paging::from_params(p.page, p.per_page, p.cursor.as_deref(), &mut errors.0);
    let q = parse_query_text(p.q.as_deref(), &mut errors.0);
    let fields = FieldSet::parse(p.fields.as_deref(), &mut errors.0);
    let tags_any = super::filters::tag_slugs("tag", p.tag.as_deref(), &mut errors.0);
    let status = match p.status.as_deref() {
        None => None,
        Some(s) => match ArticleStatus::parse(s) {
            Some(status) => Some(status),
            None => {
                errors.0.push(FieldError::new(
                    "status",
                    "must be one of draft, published, archived",
                ));
                None
            }
        },
    };
    errors.finish()?;
    let (author_id, author_slug) = match p.author.filter(|a| !a.is_empty()) {
        Some(a) => match a.parse::<i64>() {
            Ok(id) => (Some(id), None),
            Err(_) => (None, Some(a)),
        },
        None => (None, None),
    };
    // Authors only ever see their own work.
    let author_id = if auth.role == Role::Author {
        if author_id.is_some_and(|id| id != auth.id) || author_slug.is_some() {
            return Err(AppError::forbidden("Authors may only list their own articles."));
        }
        Some(auth.id)
    } else {
        author_id
    };
    let filter = ListFilter {
        status,
        author_id,
        author_slug,
        tags_any,
        query: q,
        ..Default::default()
    };
    let (body, _) = super::load_list(&state, &req, filter, Order::RecentlyUpdated, &paging, fields).await?;
    let mut builder = HttpResponse::Ok();
    builder.no_store();
    Ok(pagination::list_response(builder, &body))
}

/// Create an article
///
/// Only `title` is required. `tags` are names or slugs; unknown ones are
/// created when an editor or admin writes (authors may only name existing
/// tags). An author's article is theirs; `status: published` publishes it
/// at once (or at `published_at`).
#[utoipa::path(
    operation_id = "createArticle",
    tag = "admin-articles",
    security(("bearerAuth" = [])),
    request_body = CreateArticleRequest,
    responses(
        (status = 201, description = "Created.", body = ArticleResponse,
         headers(
            ("Location" = String, description = "URL of the new article (editor route)."),
            ("ETag" = String, description = "Send as `If-Match` on the next PATCH."),
            ("Cache-Control" = String)
         )),
        (status = 409, response = crate::http::openapi::Conflict),
    )
)]
#[post("/articles")]
pub async fn create_article(
    auth: Auth<guard::Author>,
    state: web::Data<AppState>,
    body: Json<CreateArticleRequest>,
) -> Result<HttpResponse, AppError> {
    let input = validate_create(body.0)?;
    let view = service::create(&state.db, &state.renderer, auth.editor.clone(), input).await?;
    let response = ArticleResponse::new(view, &state.config.site_urls);
    Ok(HttpResponse::Created()
        .insert_header((
            header::LOCATION,
            format!("/api/v1/admin/articles/{}", response.id),
        ))
        .no_store()
        .insert_header((header::ETAG, conditional::etag_of_json(&response)?))
        .json(response))
}

/// Get an article (editor)
///
/// Any status. Authors may read only their own articles: another
/// author's article is 404, exactly as a missing id.
/// The `ETag` is what `If-Match` on PATCH expects.
#[utoipa::path(
    operation_id = "getAdminArticle",
    tag = "admin-articles",
    security(("bearerAuth" = [])),
    params(("id" = i64, Path, description = "Article id.", minimum = 1, example = 1)),
    responses(
        (status = 200, description = "The article, in any status.", body = ArticleResponse,
         headers(("ETag" = String, description = "Send as `If-Match` on PATCH."), ("Cache-Control" = String))),
        (status = 304, response = crate::http::openapi::NotModified),
    )
)]
#[get("/articles/{id}")]
pub async fn get_admin_article(
    auth: Auth<guard::Author>,
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let (actor, id) = (auth.editor.clone(), id.into_inner());
    let view = state
        .db
        .read(move |conn| service::load_for(conn, &actor, id))
        .await?;
    conditional::json_ok(
        &req,
        &ArticleResponse::new(view, &state.config.site_urls),
        CachePolicy::NoStore,
    )
}

/// Update an article
///
/// Partial update. Send the `ETag` of your last GET as `If-Match`: if
/// someone changed the article since, this answers 412 instead of
/// overwriting their work.
#[utoipa::path(
    operation_id = "updateArticle",
    tag = "admin-articles",
    security(("bearerAuth" = [])),
    params(
        ("id" = i64, Path, description = "Article id.", minimum = 1, example = 1),
        ("If-Match" = Option<String>, Header, description = "ETag from the last GET; 412 when stale.",
         example = "\"9f2c1a7b3d4e5f60\""),
    ),
    request_body = UpdateArticleRequest,
    responses(
        (status = 200, description = "Updated.", body = ArticleResponse,
         headers(("ETag" = String, description = "The new ETag, for the next `If-Match`."), ("Cache-Control" = String))),
        (status = 409, response = crate::http::openapi::Conflict),
        (status = 412, response = crate::http::openapi::PreconditionFailed),
    )
)]
#[patch("/articles/{id}")]
pub async fn update_article(
    auth: Auth<guard::Author>,
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<i64>,
    body: Json<UpdateArticleRequest>,
) -> Result<HttpResponse, AppError> {
    let patch = validate_update(body.0)?;
    let if_match = conditional::if_match(&req);
    let urls = state.config.site_urls.clone();
    let view = service::update(
        &state.db,
        &state.renderer,
        auth.editor.clone(),
        id.into_inner(),
        patch,
        move |current| {
            let etag = conditional::etag_of_json(&ArticleResponse::new(current.clone(), &urls))?;
            conditional::check_if_match(if_match.as_deref(), &etag)
        },
    )
    .await?;
    conditional::json_ok(
        &req,
        &ArticleResponse::new(view, &state.config.site_urls),
        CachePolicy::NoStore,
    )
}

/// Delete an article
///
/// Its comments and share events go with it.
#[utoipa::path(
    operation_id = "deleteArticle",
    tag = "admin-articles",
    security(("bearerAuth" = [])),
    params(("id" = i64, Path, description = "Article id.", minimum = 1, example = 1)),
    responses(
        (status = 204, description = "Deleted."),
    )
)]
#[delete("/articles/{id}")]
pub async fn delete_article(
    auth: Auth<guard::Author>,
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    service::delete(&state.db, auth.editor.clone(), id.into_inner()).await?;
    Ok(HttpResponse::NoContent().no_store().finish())
}
