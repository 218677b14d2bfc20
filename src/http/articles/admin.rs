//! Editor article routes: every status, by id. Authors see and change only
//! their own articles.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, delete, get, patch, post, web};
use chrono::{DateTime, NaiveDateTime, SubsecRound, Utc};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::{ArticleField, ArticleList, ArticleResponse, FieldSet, parse_query_text};
use crate::domain::article::{ArticleStatus, ListFilter, Order};
use crate::domain::{Role, date, slug, text};
use crate::error::{AppError, FieldError};
use crate::http::conditional::{self, CachePolicy, NoStore};
use crate::http::extract::{Auth, Errors, Json, Query, guard};
use crate::http::pagination::{self, Paging};
use crate::service::articles::{self as service, ArticlePatch, NewArticleInput};
use crate::state::AppState;

pub const TITLE_MAX: usize = 300;
pub const SUBTITLE_MAX: usize = 300;
pub const EXCERPT_MAX: usize = 1_000;
pub const BODY_MAX: usize = 200_000;
pub const TAGS_MAX: usize = 20;
pub const TAG_NAME_MAX: usize = 50;

/// A new article. Only `title` is required.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "title": "It's too late now",
    "subtitle": "Why the city should stop waiting for the perfect tram plan",
    "body_markdown": "Every year the plan gets better…\n\n> The best tram is the one that runs.",
    "tags": ["Cities", "transport"],
    "status": "draft"
}))]
pub struct CreateArticleRequest {
    /// The headline, 1–300 characters (trimmed; no control characters).
    #[schema(min_length = 1, max_length = 300)]
    pub title: String,
    /// The standfirst, up to 300 characters.
    #[schema(max_length = 300)]
    pub subtitle: Option<String>,
    /// The body in Markdown, up to 200,000 characters. Rendered to
    /// sanitised HTML (`body_html`) on save.
    #[schema(max_length = 200000)]
    pub body_markdown: Option<String>,
    /// Up to 1,000 characters; derived from the body when left out.
    #[schema(max_length = 1000)]
    pub excerpt: Option<String>,
    /// Lowercase letters, digits and single hyphens, up to 120 characters;
    /// made from the title when left out (a clash then gets `-2`, `-3`, …).
    /// A given slug that is taken is a 409.
    #[schema(pattern = "^[a-z0-9]+(-[a-z0-9]+)*$", max_length = 120)]
    pub slug: Option<String>,
    /// Defaults to `draft`.
    pub status: Option<ArticleStatus>,
    /// Tag names or slugs, up to 20, each 1–50 characters; unknown ones are
    /// created when an editor or admin writes (an author may only name
    /// existing tags: 422 otherwise).
    #[schema(schema_with = tag_names)]
    pub tags: Option<Vec<String>>,
    /// An absolute http(s) URL, up to 2,000 characters.
    #[schema(format = "uri", max_length = 2000)]
    pub featured_image_url: Option<String>,
    /// Defaults to true.
    pub comments_enabled: Option<bool>,
    /// When it goes public. Set to now on first publish when left out; a
    /// future time schedules the article. Years 1970–9999.
    pub published_at: Option<DateTime<Utc>>,
}

/// Changes to an article; omitted fields stay as they are, `null` clears a
/// nullable field (`excerpt: null` goes back to the derived excerpt).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"status": "published", "published_at": "2026-11-24T09:30:00Z"}))]
pub struct UpdateArticleRequest {
    /// The headline, 1–300 characters.
    #[schema(min_length = 1, max_length = 300)]
    pub title: Option<String>,
    /// The standfirst, up to 300 characters; `null` clears it.
    #[serde(default, deserialize_with = "crate::http::extract::double_option")]
    #[schema(value_type = Option<String>, max_length = 300)]
    pub subtitle: Option<Option<String>>,
    /// The body in Markdown, up to 200,000 characters.
    #[schema(max_length = 200000)]
    pub body_markdown: Option<String>,
    /// Up to 1,000 characters; `null` goes back to the derived excerpt.
    #[serde(default, deserialize_with = "crate::http::extract::double_option")]
    #[schema(value_type = Option<String>, max_length = 1000)]
    pub excerpt: Option<Option<String>>,
    /// A new slug (the old address stops working); 409 when taken.
    #[schema(pattern = "^[a-z0-9]+(-[a-z0-9]+)*$", max_length = 120)]
    pub slug: Option<String>,
    /// Publish (`published`), withdraw (`archived`) or return to `draft`.
    pub status: Option<ArticleStatus>,
    /// Replaces the tags: names or slugs, up to 20.
    #[schema(schema_with = tag_names)]
    pub tags: Option<Vec<String>>,
    /// An absolute http(s) URL; `null` removes the image.
    #[serde(default, deserialize_with = "crate::http::extract::double_option")]
    #[schema(value_type = Option<String>, format = "uri", max_length = 2000)]
    pub featured_image_url: Option<Option<String>>,
    /// Whether readers may post comments.
    pub comments_enabled: Option<bool>,
    /// When it goes (or went) public; a future time schedules it. `null`
    /// unsets it (set again on the next publish). Years 1970–9999.
    #[serde(default, deserialize_with = "crate::http::extract::double_option")]
    #[schema(value_type = Option<DateTime<Utc>>)]
    pub published_at: Option<Option<DateTime<Utc>>>,
}

/// `tags` in an article write: up to 20 names or slugs, 1–50 characters
/// each, with a letter or digit.
fn tag_names() -> utoipa::openapi::schema::Array {
    use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, SchemaType, Type};
    ArrayBuilder::new()
        .schema_type(SchemaType::from_iter([Type::Array, Type::Null]))
        .description(Some(
            "Tag names or slugs, up to 20, each 1–50 characters with a letter or digit, \
             in one script; unknown ones are created when an editor or admin writes \
             (an author may only name existing tags). In a PATCH the list replaces the tags.",
        ))
        .items(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .min_length(Some(1))
                .max_length(Some(TAG_NAME_MAX)),
        )
        .max_items(Some(TAGS_MAX))
        .examples([serde_json::json!(["Cities", "transport"])])
        .build()
}

fn validate_title(value: &str, errors: &mut Vec<FieldError>) -> String {
    text::required("title", value, TITLE_MAX, errors)
}

fn validate_body(value: &str, errors: &mut Vec<FieldError>) -> String {
    if value.chars().count() > BODY_MAX {
        errors.push(FieldError::new(
            "body_markdown",
            format!("must be at most {BODY_MAX} characters"),
        ));
    }
    if value.contains('\0') {
        errors.push(FieldError::new(
            "body_markdown",
            "must not contain NUL characters",
        ));
    }
    value.to_string()
}

fn validate_slug(value: &str, errors: &mut Vec<FieldError>) -> String {
    if let Err(e) = slug::validate(value) {
        errors.push(FieldError::new("slug", e));
    }
    value.to_string()
}

fn validate_tags(values: &[String], errors: &mut Vec<FieldError>) -> Vec<String> {
    if values.len() > TAGS_MAX {
        errors.push(FieldError::new(
            "tags",
            format!("may hold at most {TAGS_MAX} tags"),
        ));
    }
    values
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let field = format!("tags[{i}]");
            let name = text::required(&field, v, TAG_NAME_MAX, errors);
            if !name.is_empty() && slug::slugify(&name).is_empty() {
                errors.push(FieldError::new(&field, "must contain a letter or digit"));
            }
            text::single_script(&field, &name, errors);
            name
        })
        .collect()
}

fn validate_image(value: &str, errors: &mut Vec<FieldError>) -> String {
    text::http_url("featured_image_url", value, errors)
}

/// `published_at`, range-checked (years 1970–9999) like every date input,
/// in whole seconds.
fn validate_published_at(t: DateTime<Utc>, errors: &mut Vec<FieldError>) -> NaiveDateTime {
    if let Err(e) = date::check_utc("published_at", t) {
        errors.push(e);
    }
    t.naive_utc().trunc_subsecs(0)
}

fn validate_create(body: CreateArticleRequest) -> Result<NewArticleInput, AppError> {
    let mut e = Errors::default();
    let input = NewArticleInput {
        title: validate_title(&body.title, &mut e.0),
        subtitle: text::optional("subtitle", body.subtitle.as_deref(), SUBTITLE_MAX, &mut e.0),
        body_markdown: validate_body(body.body_markdown.as_deref().unwrap_or(""), &mut e.0),
        excerpt: text::optional("excerpt", body.excerpt.as_deref(), EXCERPT_MAX, &mut e.0),
        slug: body.slug.as_deref().map(|s| validate_slug(s, &mut e.0)),
        status: body.status.unwrap_or(ArticleStatus::Draft),
        tags: validate_tags(body.tags.as_deref().unwrap_or(&[]), &mut e.0),
        featured_image_url: body
            .featured_image_url
            .as_deref()
            .map(|u| validate_image(u, &mut e.0)),
        comments_enabled: body.comments_enabled.unwrap_or(true),
        published_at: body.published_at.map(|t| validate_published_at(t, &mut e.0)),
    };
    e.finish()?;
    Ok(input)
}

fn validate_update(body: UpdateArticleRequest) -> Result<ArticlePatch, AppError> {
    let mut e = Errors::default();
    let patch = ArticlePatch {
        title: body.title.as_deref().map(|t| validate_title(t, &mut e.0)),
        subtitle: body
            .subtitle
            .map(|s| text::optional("subtitle", s.as_deref(), SUBTITLE_MAX, &mut e.0)),
        body_markdown: body.body_markdown.as_deref().map(|b| validate_body(b, &mut e.0)),
        excerpt: body
            .excerpt
            .map(|x| text::optional("excerpt", x.as_deref(), EXCERPT_MAX, &mut e.0)),
        slug: body.slug.as_deref().map(|s| validate_slug(s, &mut e.0)),
        status: body.status,
        tags: body.tags.as_deref().map(|t| validate_tags(t, &mut e.0)),
        featured_image_url: body
            .featured_image_url
            .map(|u| u.as_deref().map(|u| validate_image(u, &mut e.0))),
        comments_enabled: body.comments_enabled,
        published_at: body
            .published_at
            .map(|p| p.map(|t| validate_published_at(t, &mut e.0))),
    };
    e.finish()?;
    Ok(patch)
}

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
    /// Only articles with this tag (slug).
    #[param(example = "cities")]
    pub tag: Option<String>,
    /// Full-text search over title, subtitle and body (1–200 characters).
    #[param(max_length = 200, example = "tram")]
    pub q: Option<String>,
    /// Page mode: page number, from 1. Not with `cursor`.
    #[param(minimum = 1, maximum = 100000, default = 1)]
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
        tag_slug: p.tag.filter(|t| !t.is_empty()),
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
    let response = ArticleResponse::from(view);
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
    conditional::json_ok(&req, &ArticleResponse::from(view), CachePolicy::NoStore)
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
    let view = service::update(
        &state.db,
        &state.renderer,
        auth.editor.clone(),
        id.into_inner(),
        patch,
        move |current| {
            let etag = conditional::etag_of_json(&ArticleResponse::from(current.clone()))?;
            conditional::check_if_match(if_match.as_deref(), &etag)
        },
    )
    .await?;
    conditional::json_ok(&req, &ArticleResponse::from(view), CachePolicy::NoStore)
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
