//! Tags: public lists with counts of visible articles, and editor management.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, delete, get, patch, post, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::domain::{slug, text};
use crate::error::{AppError, FieldError};
use crate::http::articles::public::public_list_response;
use crate::http::conditional::{self, CachePolicy, NoStore};
use crate::http::extract::{Auth, Errors, Json, NoParams, guard, known_slug};
use crate::http::pagination::list_schema;
use crate::http::pagination::{self, Paging};
use crate::http::query::Query;
use crate::service::tags::{self as service, NewTagInput, TagPatch, TagView};
use crate::state::AppState;

/// A topic tag.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": 3, "slug": "cities", "name": "Cities",
    "description": "How cities work, and how they could work better.", "article_count": 14
}))]
pub struct TagResponse {
    pub id: i64,
    /// Public address: `/api/v1/tags/{slug}`; filter articles with `?tag=`.
    pub slug: String,
    pub name: String,
    #[schema(required = true)]
    pub description: Option<String>,
    /// Articles with this tag: published and visible ones on public routes,
    /// all of them on editor routes.
    pub article_count: i64,
}

/// A tag on editor routes, with its timestamps.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": 3, "slug": "cities", "name": "Cities",
    "description": "How cities work, and how they could work better.", "article_count": 15,
    "created_at": "2026-11-20T08:00:00Z", "updated_at": "2026-11-24T09:30:00Z"
}))]
pub struct AdminTagResponse {
    #[serde(flatten)]
    pub tag: TagResponse,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<TagView> for TagResponse {
    fn from(v: TagView) -> Self {
        TagResponse {
            id: v.tag.id,
            slug: v.tag.slug,
            name: v.tag.name,
            description: v.tag.description,
            article_count: v.article_count,
        }
    }
}

impl From<TagView> for AdminTagResponse {
    fn from(v: TagView) -> Self {
        let (created_at, updated_at) = (v.tag.created_at.and_utc(), v.tag.updated_at.and_utc());
        AdminTagResponse {
            tag: TagResponse::from(v),
            created_at,
            updated_at,
        }
    }
}

list_schema!(TagList, TagResponse, "A page of tags.", {
    "data": [{
        "id": 3, "slug": "cities", "name": "Cities",
        "description": "How cities work, and how they could work better.", "article_count": 14
    }],
    "meta": {"page": 1, "per_page": 20, "total": 1, "total_pages": 1},
    "links": {"self": "/api/v1/tags", "next": null, "prev": null}
});
list_schema!(AdminTagList, AdminTagResponse, "A page of tags (editor view).", {
    "data": [{
        "id": 3, "slug": "cities", "name": "Cities",
        "description": "How cities work, and how they could work better.", "article_count": 15,
        "created_at": "2026-11-20T08:00:00Z", "updated_at": "2026-11-24T09:30:00Z"
    }],
    "meta": {"page": 1, "per_page": 20, "total": 1, "total_pages": 1},
    "links": {"self": "/api/v1/admin/tags", "next": null, "prev": null}
});

/// Paging of tag lists (by name).
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct TagListParams {
    /// Page number, from 1.
    #[param(minimum = 1, maximum = 100000)]
    pub page: Option<u32>,
    /// Items per page, 1–100.
    #[param(minimum = 1, maximum = 100, default = 20)]
    pub per_page: Option<u32>,
}

/// A new tag.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "Cities", "description": "How cities work."}))]
pub struct CreateTagRequest {
    /// 1–50 characters with a letter or digit, unique.
    #[schema(min_length = 1, max_length = 50)]
    pub name: String,
    /// Lowercase letters, digits and single hyphens; made from the name
    /// when left out.
    #[schema(pattern = "^[a-z0-9]+(-[a-z0-9]+)*$", max_length = 120)]
    pub slug: Option<String>,
    /// Up to 500 characters.
    #[schema(max_length = 500)]
    pub description: Option<String>,
}

/// Changes to a tag; omitted fields stay as they are, `description: null`
/// clears it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "Cities", "description": "How cities work, and how they could work better."}))]
pub struct UpdateTagRequest {
    /// 1–50 characters, unique.
    #[schema(min_length = 1, max_length = 50)]
    #[serde(default, deserialize_with = "crate::http::extract::not_null")]
    #[schema(nullable = false)]
    pub name: Option<String>,
    /// A new slug (the old address stops working); 409 when taken.
    #[schema(pattern = "^[a-z0-9]+(-[a-z0-9]+)*$", max_length = 120)]
    #[serde(default, deserialize_with = "crate::http::extract::not_null")]
    #[schema(nullable = false)]
    pub slug: Option<String>,
    /// Up to 500 characters; `null` clears it.
    #[serde(default, deserialize_with = "crate::http::extract::double_option")]
    #[schema(value_type = Option<String>, max_length = 500)]
    pub description: Option<Option<String>>,
}

fn check_slug(value: &str, errors: &mut Vec<FieldError>) {
    if let Err(e) = slug::validate(value) {
        errors.push(FieldError::new("slug", e));
    }
}

async fn page_of_tags(
    state: &AppState,
    params: TagListParams,
    public: bool,
) -> Result<(Paging, Vec<TagView>, i64), AppError> {
    let mut errors = Errors::default();
    let paging = Paging::from_params(params.page, params.per_page, None, &mut errors.0);
    errors.finish()?;
    let (offset, limit) = (paging.offset(), paging.per_page() as i64);
    let (views, total) = service::list_page(&state.db, offset, limit, public).await?;
    Ok((paging, views, total))
}

/// List tags
///
/// Every tag that at least one published article carries, by name, with
/// the number of such articles. Tags only drafts or scheduled articles
/// carry are not listed.
#[utoipa::path(
    operation_id = "listTags",
    tag = "tags",
    params(TagListParams),
    responses(
        (status = 200, description = "A page of tags.", body = TagList,
         headers(("ETag" = String), ("Cache-Control" = String), ("Link" = String), ("Surrogate-Key" = String))),
        (status = 304, response = crate::http::openapi::NotModified),
    )
)]
#[get("/tags")]
pub async fn list_tags(
    state: web::Data<AppState>,
    req: HttpRequest,
    params: Query<TagListParams>,
) -> Result<HttpResponse, AppError> {
    let (paging, views, total) = page_of_tags(&state, params.0, true).await?;
    let data: Vec<TagResponse> = views.into_iter().map(TagResponse::from).collect();
    let body = pagination::page_of(&req, &paging, data, Some(total), None);
    public_list_response(&req, &state, &body, crate::service::keys::tag_list())
}

/// Get a tag
///
/// The tag page's header: name, description and how many published
/// articles carry it. List them with `GET /api/v1/articles?tag={slug}`.
/// A tag no published article carries yet is 404 here.
#[utoipa::path(
    operation_id = "getTag",
    tag = "tags",
    params(("slug" = String, Path, description = "The tag's slug.", example = "cities")),
    responses(
        (status = 200, description = "The tag.", body = TagResponse,
         headers(("ETag" = String), ("Cache-Control" = String), ("Surrogate-Key" = String))),
        (status = 304, response = crate::http::openapi::NotModified),
    )
)]
#[get("/tags/{slug}")]
pub async fn get_tag(
    state: web::Data<AppState>,
    req: HttpRequest,
    slug: web::Path<String>,
    _query: Query<NoParams>,
) -> Result<HttpResponse, AppError> {
    let slug = known_slug(slug.into_inner())?;
    let view = service::get_public(&state.db, slug.clone())
        .await?
        .ok_or_else(|| AppError::not_found(format!("No tag has the slug `{slug}`.")))?;
    let keys = crate::service::keys::tag(view.tag.id);
    let response = conditional::json_ok(
        &req,
        &TagResponse::from(view),
        CachePolicy::Public {
            max_age: state.config.cache_max_age_seconds,
        },
    )?;
    Ok(conditional::with_keys(response, keys))
}

/// List tags (editor)
///
/// Every tag by name; `article_count` counts articles in every status.
#[utoipa::path(
    operation_id = "listAdminTags",
    tag = "admin-tags",
    security(("bearerAuth" = [])),
    params(TagListParams),
    responses(
        (status = 200, description = "A page of tags; counts include every status.", body = AdminTagList,
         headers(("Link" = String), ("Cache-Control" = String))),
    )
)]
#[get("/tags")]
pub async fn list_admin_tags(
    _auth: Auth<guard::Author>,
    state: web::Data<AppState>,
    req: HttpRequest,
    params: Query<TagListParams>,
) -> Result<HttpResponse, AppError> {
    let (paging, views, total) = page_of_tags(&state, params.0, false).await?;
    let data: Vec<AdminTagResponse> = views.into_iter().map(AdminTagResponse::from).collect();
    let body = pagination::page_of(&req, &paging, data, Some(total), None);
    let mut builder = HttpResponse::Ok();
    builder.no_store();
    Ok(pagination::list_response(builder, &body))
}

/// Create a tag
///
/// Editors and admins. Their article writes also create tags from names;
/// authors may only name existing tags. A name mixing scripts (a Cyrillic
/// `С` among Latin letters) is refused.
#[utoipa::path(
    operation_id = "createTag",
    tag = "admin-tags",
    security(("bearerAuth" = [])),
    request_body = CreateTagRequest,
    responses(
        (status = 201, description = "Created.", body = AdminTagResponse,
         headers(("Location" = String, description = "URL of the new tag (editor route)."), ("Cache-Control" = String))),
        (status = 409, response = crate::http::openapi::Conflict),
    )
)]
#[post("/tags")]
pub async fn create_tag(
    _auth: Auth<guard::Editor>,
    state: web::Data<AppState>,
    body: Json<CreateTagRequest>,
) -> Result<HttpResponse, AppError> {
    let body = body.0;
    let mut errors = Errors::default();
    let name = text::required("name", &body.name, 50, &mut errors.0);
    text::single_script("name", &name, &mut errors.0);
    if !name.is_empty() && slug::slugify(&name).is_empty() && body.slug.is_none() {
        errors
            .0
            .push(FieldError::new("name", "must contain a letter or digit"));
    }
    if let Some(s) = &body.slug {
        check_slug(s, &mut errors.0);
    }
    let description = text::optional("description", body.description.as_deref(), 500, &mut errors.0);
    errors.finish()?;
    let view = service::create(
        &state.db,
        NewTagInput {
            name,
            slug: body.slug,
            description,
        },
    )
    .await?;
    let id = view.tag.id;
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, format!("/api/v1/admin/tags/{id}")))
        .no_store()
        .json(AdminTagResponse::from(view)))
}

/// Get a tag (editor)
///
/// With timestamps and a count over every status. The `ETag` is what
/// `If-Match` on PATCH expects.
#[utoipa::path(
    operation_id = "getAdminTag",
    tag = "admin-tags",
    security(("bearerAuth" = [])),
    params(("id" = i64, Path, description = "Tag id.", minimum = 1, example = 3)),
    responses(
        (status = 200, description = "The tag.", body = AdminTagResponse,
         headers(("ETag" = String, description = "Send as `If-Match` on PATCH."), ("Cache-Control" = String))),
        (status = 304, response = crate::http::openapi::NotModified),
    )
)]
#[get("/tags/{id}")]
pub async fn get_admin_tag(
    _auth: Auth<guard::Author>,
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let view = service::get_admin(&state.db, id.into_inner()).await?;
    conditional::json_ok(&req, &AdminTagResponse::from(view), CachePolicy::NoStore)
}

/// Update a tag
///
/// Partial update by editors and admins. Send the `ETag` of your last GET
/// as `If-Match` to get 412 instead of overwriting someone else's change.
#[utoipa::path(
    operation_id = "updateTag",
    tag = "admin-tags",
    security(("bearerAuth" = [])),
    params(
        ("id" = i64, Path, description = "Tag id.", minimum = 1, example = 3),
        ("If-Match" = Option<String>, Header, description = "ETag from the last GET; 412 when stale.",
         example = "\"9f2c1a7b3d4e5f60\""),
    ),
    request_body = UpdateTagRequest,
    responses(
        (status = 200, description = "Updated.", body = AdminTagResponse,
         headers(("ETag" = String, description = "The new ETag, for the next `If-Match`."), ("Cache-Control" = String))),
        (status = 409, response = crate::http::openapi::Conflict),
        (status = 412, response = crate::http::openapi::PreconditionFailed),
    )
)]
#[patch("/tags/{id}")]
pub async fn update_tag(
    _auth: Auth<guard::Editor>,
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<i64>,
    body: Json<UpdateTagRequest>,
) -> Result<HttpResponse, AppError> {
    let body = body.0;
    let mut errors = Errors::default();
    let patch = TagPatch {
        name: body
            .name
            .as_deref()
            .map(|n| text::required("name", n, 50, &mut errors.0))
            .inspect(|n| text::single_script("name", n, &mut errors.0)),
        slug: body.slug.clone(),
        description: body
            .description
            .map(|d| text::optional("description", d.as_deref(), 500, &mut errors.0)),
    };
    if let Some(s) = &body.slug {
        check_slug(s, &mut errors.0);
    }
    errors.finish()?;
    let if_match = conditional::if_match(&req);
    let view = service::update(&state.db, id.into_inner(), patch, move |current| {
        let etag = conditional::etag_of_json(&AdminTagResponse::from(TagView {
            tag: current.tag.clone(),
            article_count: current.article_count,
        }))?;
        conditional::check_if_match(if_match.as_deref(), &etag)
    })
    .await?;
    conditional::json_ok(&req, &AdminTagResponse::from(view), CachePolicy::NoStore)
}

/// Delete a tag
///
/// The tag is removed from every article that had it.
#[utoipa::path(
    operation_id = "deleteTag",
    tag = "admin-tags",
    security(("bearerAuth" = [])),
    params(("id" = i64, Path, description = "Tag id.", minimum = 1, example = 3)),
    responses(
        (status = 204, description = "Deleted."),
    )
)]
#[delete("/tags/{id}")]
pub async fn delete_tag(
    _auth: Auth<guard::Editor>,
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    service::delete(&state.db, id.into_inner()).await?;
    Ok(HttpResponse::NoContent().no_store().finish())
}
