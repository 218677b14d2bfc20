//! `GET /articles/{slug}/related`: the "more stories" box under an article.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, web};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{ArticleField, ArticleResponse, ArticleSummary, FieldSet, Shaped};
use crate::error::{AppError, FieldError};
use crate::http::conditional::{self, CachePolicy};
use crate::http::extract::{Errors, known_slug};
use crate::http::query::Query;
use crate::state::AppState;

/// Most related articles in one answer.
pub const RELATED_MAX: u32 = 100;
/// As every list's `per_page` (a "more stories" box asks for its 3 or 4).
pub const RELATED_DEFAULT: u32 = 20;

/// How many related articles, and with which fields.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RelatedParams {
    /// How many, 1–100 (default 20, as on every list).
    #[param(minimum = 1, maximum = 100, default = 20)]
    pub per_page: Option<u32>,
    /// The fields of each item, comma-separated. Default: every field but
    /// the bodies.
    #[param(
        style = Form,
        explode = false,
        min_items = 1,
        value_type = Option<Vec<ArticleField>>,
        example = json!(["id", "slug", "title", "url", "featured_image"])
    )]
    pub fields: Option<String>,
}

/// Related articles, best first.
#[derive(Serialize)]
pub struct RelatedBody {
    data: Vec<Shaped>,
}

/// Related articles, best first (the schema of [`RelatedBody`]).
#[derive(ToSchema)]
#[schema(example = json!({"data": [{
    "id": 4, "slug": "bus-lanes-work-when-they-are-enforced-not-when-they-are-painted",
    "url": "https://news.example.com/bus-lanes-work-when-they-are-enforced-not-when-they-are-painted/",
    "title": "Bus lanes work when they are enforced, not when they are painted",
    "tags": [{"id": 2, "slug": "transport", "name": "Transport"}, {"id": 1, "slug": "cities", "name": "Cities"}],
    "published_at": "2026-11-24T06:30:00Z"
}]}))]
#[allow(dead_code)]
pub struct RelatedList {
    data: Vec<ArticleSummary>,
}

/// Related articles
///
/// Public articles related to this one, for a "more stories" box: those
/// sharing the most tags with it first, the newer first among equals
/// (looked for among the newest 200 articles of each of its tags); when
/// fewer than `per_page` share a tag, the newest other articles fill the
/// list. Never the article itself.
#[utoipa::path(
    operation_id = "listRelatedArticles",
    tag = "articles",
    params(
        ("slug" = String, Path, description = "The article's slug.", example = "its-too-late-now-to-wait-for-the-perfect-tram-plan"),
        RelatedParams
    ),
    responses(
        (status = 200, description = "Related articles, best first.", body = RelatedList,
         headers(("ETag" = String), ("Cache-Control" = String), ("Surrogate-Key" = String))),
        (status = 304, response = crate::http::openapi::NotModified),
    )
)]
#[get("/articles/{slug}/related")]
pub async fn related_articles(
    state: web::Data<AppState>,
    req: HttpRequest,
    slug: web::Path<String>,
    query: Query<RelatedParams>,
) -> Result<HttpResponse, AppError> {
    let mut errors = Errors::default();
    let fields = FieldSet::parse(query.0.fields.as_deref(), &mut errors.0);
    let per_page = query.0.per_page.unwrap_or(RELATED_DEFAULT);
    if !(1..=RELATED_MAX).contains(&per_page) {
        errors
            .0
            .push(FieldError::new("per_page", format!("must be 1–{RELATED_MAX}")));
    }
    errors.finish()?;
    let slug = known_slug(slug.into_inner())?;
    let (id, views) = crate::service::articles::related(&state.db, slug.clone(), per_page as usize)
        .await?
        .ok_or_else(|| AppError::not_found(format!("No published article has the slug `{slug}`.")))?;
    // Any article write can change the box (a new article with its tags),
    // as it can a list; and the article itself (its tags).
    let keys = crate::service::keys::related(id, views.iter().map(|v| v.article.id));
    let data = views
        .into_iter()
        .map(|v| fields.shape(ArticleResponse::new(v, &state.config.site_urls)))
        .collect();
    let body = serde_json::to_vec(&RelatedBody { data }).map_err(AppError::internal)?;
    let response = conditional::cached_bytes(
        &req,
        StatusCode::OK,
        body,
        CachePolicy::Public {
            max_age: state.config.cache_max_age_seconds,
        },
        &[],
    );
    Ok(conditional::with_keys(response, keys))
}
