//! Public article routes: the home page, tag and author pages, search, and
//! the article page. Only visible articles (published, `published_at` past).

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, get, web};
use serde::Deserialize;
use utoipa::IntoParams;

use super::{
    ArticleField, ArticleList, ArticleResponse, FieldSet, filters, parse_bound, parse_query_text, parse_sort,
};
use crate::domain::article::{ArticleSort, ListFilter, Order};
use crate::domain::change::KeySet;
use crate::error::{AppError, FieldError};
use crate::http::conditional::{self, CachePolicy};
use crate::http::extract::{Errors, known_slug};
use crate::http::pagination::{self, Paging};
use crate::http::query::Query;
use crate::state::AppState;

/// Filters, order and paging of the public article list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ArticleListParams {
    /// Only articles with any of these tags: slugs, comma separated (up to
    /// 10). A tag that does not exist matches nothing (an empty page, not
    /// an error); a malformed slug is a 422.
    #[param(example = "transport,cities")]
    pub tag: Option<String>,
    /// Only articles with every one of these tags (slugs, comma separated,
    /// up to 10).
    #[param(example = "transport,cities")]
    pub tags_all: Option<String>,
    /// Leave out these articles: ids or slugs, comma separated (up to 50),
    /// e.g. the article a "more stories" box sits under.
    #[param(example = "its-too-late-now-to-wait-for-the-perfect-tram-plan")]
    pub exclude: Option<String>,
    /// `true`: only editors' picks; `false`: only the others.
    pub featured: Option<bool>,
    /// Only articles edited at or after this time (RFC 3339 or a date),
    /// e.g. to refresh an offline copy; with `sort=-updated_at`.
    #[param(example = "2026-11-24T09:30:00Z")]
    pub updated_since: Option<String>,
    /// Only articles by this author (their slug).
    #[param(example = "marta-okafor")]
    pub author: Option<String>,
    /// Full-text search over title, subtitle and body (1–200 characters,
    /// with a letter or digit), the engine of `/search` (typos, prefixes,
    /// accents, word forms); results are ranked by relevance unless `sort`
    /// says otherwise. The list holds the 1,000 best matches, and the other
    /// filters narrow those (`meta.total` is at most 1,000): `/search` has
    /// no such bound, and adds snippets and facets.
    #[param(max_length = 200, example = "tram")]
    pub q: Option<String>,
    /// Published at or after: an RFC 3339 time or a date `YYYY-MM-DD`
    /// (its start, UTC), in the years 1970–9999.
    #[param(
        pattern = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}([Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2}))?$",
        example = "2026-11-01"
    )]
    pub from: Option<String>,
    /// Published at or before: an RFC 3339 time or a date `YYYY-MM-DD`
    /// (the whole day, UTC), in the years 1970–9999. Not before `from`.
    #[param(
        pattern = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}([Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2}))?$",
        example = "2026-11-30"
    )]
    pub to: Option<String>,
    /// Order: `-published_at` (newest first, the default), `published_at`,
    /// `-share_count` (most shared), `-comment_count` (most discussed),
    /// `-updated_at` (most recently edited), or `relevance` (the default
    /// with `q`; needs `q`; page mode only).
    #[param(inline, value_type = Option<ArticleSort>, example = "-published_at")]
    pub sort: Option<String>,
    /// Page mode: page number, from 1 (without `page` or `cursor`, the
    /// first page in page mode). Not with `cursor`.
    #[param(minimum = 1, maximum = 100000)]
    pub page: Option<u32>,
    /// Items per page, 1–100.
    #[param(minimum = 1, maximum = 100, default = 20)]
    pub per_page: Option<u32>,
    /// Cursor mode: empty (`cursor=`) for the first page, then the
    /// `meta.next_cursor` of the page before. Opaque; not with `page`.
    #[param(max_length = 512, example = "")]
    pub cursor: Option<String>,
    /// The fields to return, comma-separated (`fields=id,slug,title`).
    /// Default: every field but `body_markdown` and `body_html`.
    #[param(
        style = Form,
        explode = false,
        min_items = 1,
        value_type = Option<Vec<ArticleField>>,
        example = json!(["id", "slug", "title", "excerpt", "tags"])
    )]
    pub fields: Option<String>,
}

/// List published articles
///
/// The home page (newest first), a tag page (`tag=`), an author page
/// (`author=`), search results (`q=`) or a most-shared box
/// (`sort=-share_count`). Page mode (`page`) or cursor mode (`cursor=`, for
/// infinite scroll: stable while new articles are published). List items
/// leave out `body_markdown` and `body_html` unless `fields` asks for them.
#[utoipa::path(
    operation_id = "listArticles",
    tag = "articles",
    params(ArticleListParams),
    responses(
        (status = 200, description = "A page of articles.", body = ArticleList,
         headers(("ETag" = String), ("Cache-Control" = String), ("Link" = String), ("Surrogate-Key" = String))),
        (status = 304, response = crate::http::openapi::NotModified),
    )
)]
#[get("/articles")]
pub async fn list_articles(
    state: web::Data<AppState>,
    req: HttpRequest,
    params: Query<ArticleListParams>,
) -> Result<HttpResponse, AppError> {
    let p = params.0;
    let mut errors = Errors::default();
    let paging = Paging::from_params(p.page, p.per_page, p.cursor.as_deref(), &mut errors.0);
    let q = parse_query_text(p.q.as_deref(), &mut errors.0);
    let sort = parse_sort(p.sort.as_deref(), q.is_some(), &mut errors.0);
    let fields = FieldSet::parse(p.fields.as_deref(), &mut errors.0);
    let from = p
        .from
        .as_deref()
        .and_then(|v| parse_bound("from", v, false, &mut errors.0));
    let to =
        p.to.as_deref()
            .and_then(|v| parse_bound("to", v, true, &mut errors.0));
    if let (Some(f), Some(t)) = (from, to)
        && f > t
    {
        errors.0.push(FieldError::new("to", "must not be before `from`"));
    }
    let tags_any = filters::tag_slugs("tag", p.tag.as_deref(), &mut errors.0);
    let tags_all = filters::tag_slugs("tags_all", p.tags_all.as_deref(), &mut errors.0);
    let (exclude_ids, exclude_slugs) = filters::exclude(p.exclude.as_deref(), &mut errors.0);
    let updated_since = p
        .updated_since
        .as_deref()
        .and_then(|v| parse_bound("updated_since", v, false, &mut errors.0));
    errors.finish()?;
    let filter = ListFilter {
        visible_at: Some(crate::domain::date::now()),
        tags_any,
        tags_all,
        exclude_ids,
        exclude_slugs,
        featured: p.featured,
        updated_since,
        author_slug: p.author.filter(|a| !a.is_empty()),
        query: q.clone(),
        published_from: from,
        published_to: to,
        ..Default::default()
    };
    let (body, keys) = super::load_list(&state, &req, filter, Order::Public(sort), &paging, fields).await?;
    if q.is_some() {
        // Not kept by our cache, no surrogate keys: see `http::search`.
        return pagination::cached_list_response(
            &req,
            &body,
            CachePolicy::Public {
                max_age: state.config.cache_max_age_seconds,
            },
        );
    }
    public_list_response(&req, &state, &body, keys)
}

/// A list answer for the public: cacheable, with ETag and `Link`.
pub fn public_list_response<T: serde::Serialize>(
    req: &HttpRequest,
    state: &AppState,
    body: &pagination::ListBody<T>,
    keys: KeySet,
) -> Result<HttpResponse, AppError> {
    let response = pagination::cached_list_response(
        req,
        body,
        CachePolicy::Public {
            max_age: state.config.cache_max_age_seconds,
        },
    )?;
    Ok(conditional::with_keys(response, keys))
}

/// Which fields the article page carries.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ArticleParams {
    /// The fields to return, comma-separated (`fields=id,title,body_text`).
    /// Default: every field but `body_text`.
    #[param(
        style = Form,
        explode = false,
        min_items = 1,
        value_type = Option<Vec<ArticleField>>,
        example = json!(["id", "title", "body_text"])
    )]
    pub fields: Option<String>,
}

/// Get a published article
///
/// The article page. Draft, archived and scheduled articles are 404 here.
/// `fields=` narrows it (and is the only way to get `body_text`).
#[utoipa::path(
    operation_id = "getArticle",
    tag = "articles",
    params(
        ("slug" = String, Path, description = "The article's slug.", example = "its-too-late-now-to-wait-for-the-perfect-tram-plan"),
        ArticleParams
    ),
    responses(
        (status = 200, description = "The article: all of it, or with `fields` only those fields.",
         body = crate::http::articles::response::ArticleRead,
         headers(
            ("ETag" = String),
            ("Surrogate-Key" = String),
            ("Last-Modified" = String, description = "When the article was last edited."),
            ("Cache-Control" = String)
         )),
        (status = 304, response = crate::http::openapi::NotModified),
    )
)]
#[get("/articles/{slug}")]
pub async fn get_article(
    state: web::Data<AppState>,
    req: HttpRequest,
    slug: web::Path<String>,
    query: Query<ArticleParams>,
) -> Result<HttpResponse, AppError> {
    let mut errors = Errors::default();
    let fields = FieldSet::parse_one(query.0.fields.as_deref(), &mut errors.0);
    errors.finish()?;
    let slug = known_slug(slug.into_inner())?;
    let view = crate::service::articles::get_visible(&state.db, slug.clone())
        .await?
        .ok_or_else(|| AppError::not_found(format!("No published article has the slug `{slug}`.")))?;
    let last_modified =
        header::HttpDate::from(std::time::SystemTime::from(view.article.updated_at.and_utc()));
    let keys = crate::service::keys::article(&view);
    let article = fields.shape(ArticleResponse::new(view, &state.config.site_urls));
    let body = serde_json::to_vec(&article).map_err(AppError::internal)?;
    let extra = [(
        header::LAST_MODIFIED,
        HeaderValue::from_str(&last_modified.to_string()).map_err(AppError::internal)?,
    )];
    let response = conditional::cached_bytes(
        &req,
        StatusCode::OK,
        body,
        CachePolicy::Public {
            max_age: state.config.cache_max_age_seconds,
        },
        &extra,
    );
    Ok(conditional::with_keys(response, keys))
}
