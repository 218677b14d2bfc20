//! Feeds and sitemaps: public reads in XML (and JSON Feed), cached and
//! ETag'd like the JSON reads. The content is built by `service::feeds`
//! and `service::sitemaps`; here: parameters, media types, cache headers.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, web};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::domain::change::KeySet;
use crate::error::{AppError, FieldError};
use crate::http::conditional::{self, CachePolicy};
use crate::http::extract::{NoParams, known_slug};
use crate::http::query::Query;
use crate::service::feeds::{self as service, FeedContext, FeedScope};
use crate::service::sitemaps;
use crate::state::AppState;

const RSS: &str = "application/rss+xml; charset=utf-8";
const ATOM: &str = "application/atom+xml; charset=utf-8";
const JSON_FEED: &str = "application/feed+json; charset=utf-8";
const XML: &str = "application/xml; charset=utf-8";

/// Whose articles a feed carries: the whole site by default.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct FeedParams {
    /// Only articles with this tag (its slug); `404` when no published
    /// article has it. Not with `author`.
    #[param(pattern = "^[a-z0-9]+(-[a-z0-9]+)*$", max_length = 120, example = "cities")]
    pub tag: Option<String>,
    /// Only articles by this author (their slug); `404` when they have no
    /// published article. Not with `tag`.
    #[param(
        pattern = "^[a-z0-9]+(-[a-z0-9]+)*$",
        max_length = 120,
        example = "marta-okafor"
    )]
    pub author: Option<String>,
}

impl FeedParams {
    fn scope(self) -> Result<FeedScope, AppError> {
        let tag = self.tag.filter(|t| !t.is_empty());
        let author = self.author.filter(|a| !a.is_empty());
        match (tag, author) {
            (Some(_), Some(_)) => Err(AppError::Validation(vec![FieldError::new(
                "author",
                "a feed is of one tag or one author: give `tag` or `author`, not both",
            )])),
            (Some(tag), None) => Ok(FeedScope::Tag(known_slug(tag)?)),
            (None, Some(author)) => Ok(FeedScope::Author(known_slug(author)?)),
            (None, None) => Ok(FeedScope::Home),
        }
    }
}

/// A public answer of `content_type`: ETag, `304`, `Cache-Control`, and
/// the surrogate keys the response cache keeps it under.
fn public_body(
    req: &HttpRequest,
    state: &AppState,
    body: Vec<u8>,
    content_type: &'static str,
    keys: KeySet,
) -> HttpResponse {
    let policy = CachePolicy::Public {
        max_age: state.config.cache_max_age_seconds,
    };
    let response = conditional::cached_body(req, StatusCode::OK, body, content_type, policy, &[]);
    conditional::with_keys(response, keys)
}

type Format = fn(&service::Feed, &FeedContext<'_>) -> Result<Vec<u8>, AppError>;

async fn feed(
    state: &AppState,
    req: &HttpRequest,
    params: FeedParams,
    format: Format,
    content_type: &'static str,
) -> Result<HttpResponse, AppError> {
    let scope = params.scope()?;
    let config = &state.config;
    let (feed, keys) = service::load(&state.db, &config.feeds, &config.site_urls, scope).await?;
    let ctx = FeedContext {
        settings: &config.feeds,
        site: &config.site_urls,
    };
    let body = format(&feed, &ctx)?;
    Ok(public_body(req, state, body, content_type, keys))
}

/// Get the RSS feed
///
/// RSS 2.0 of the newest published articles (`FEED_ITEMS`, default 20):
/// the whole site, one tag (`tag=`) or one author (`author=`). Each item
/// has the article's address on the public site, a `guid` that is a
/// stable `tag:` URI (not a permalink: it survives a change of slug), the
/// excerpt as `description`, the author as `dc:creator`, tags as
/// `category`, the featured image as `enclosure`, and the sanitised body
/// as `content:encoded` when `FEED_FULL_CONTENT` is on.
#[utoipa::path(
    operation_id = "getRssFeed",
    tag = "feeds",
    params(FeedParams),
    responses(
        (status = 200, description = "The feed.", content_type = "application/rss+xml; charset=utf-8", body = String,
         headers(("ETag" = String), ("Cache-Control" = String), ("Surrogate-Key" = String)),
         example = "<?xml version=\"1.0\" encoding=\"utf-8\"?><rss version=\"2.0\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\"><channel><title>Broadsheet</title>…</channel></rss>"),
        (status = 304, response = crate::http::openapi::NotModified),
        (status = 404, response = crate::http::openapi::NotFound),
    )
)]
#[get("/feeds/rss")]
pub async fn get_rss_feed(
    state: web::Data<AppState>,
    req: HttpRequest,
    params: Query<FeedParams>,
) -> Result<HttpResponse, AppError> {
    feed(&state, &req, params.0, service::rss, RSS).await
}

/// Get the Atom feed
///
/// Atom 1.0 of the newest published articles, like the RSS feed: the
/// whole site, one tag (`tag=`) or one author (`author=`). Entry ids are
/// stable `tag:` URIs; `summary` is the excerpt, `content` (HTML) the
/// sanitised body when `FEED_FULL_CONTENT` is on; the featured image is a
/// `link rel="enclosure"`. The feed's `id` is the site page it mirrors.
#[utoipa::path(
    operation_id = "getAtomFeed",
    tag = "feeds",
    params(FeedParams),
    responses(
        (status = 200, description = "The feed.", content_type = "application/atom+xml; charset=utf-8", body = String,
         headers(("ETag" = String), ("Cache-Control" = String), ("Surrogate-Key" = String)),
         example = "<?xml version=\"1.0\"?><feed xmlns=\"http://www.w3.org/2005/Atom\">…</feed>"),
        (status = 304, response = crate::http::openapi::NotModified),
        (status = 404, response = crate::http::openapi::NotFound),
    )
)]
#[get("/feeds/atom")]
pub async fn get_atom_feed(
    state: web::Data<AppState>,
    req: HttpRequest,
    params: Query<FeedParams>,
) -> Result<HttpResponse, AppError> {
    feed(&state, &req, params.0, service::atom, ATOM).await
}

/// Get the JSON feed
///
/// JSON Feed 1.1 of the newest published articles, like the RSS feed:
/// the whole site, one tag (`tag=`) or one author (`author=`). Item ids
/// are stable `tag:` URIs; `content_html` is the sanitised body when
/// `FEED_FULL_CONTENT` is on, else `content_text` is the excerpt.
#[utoipa::path(
    operation_id = "getJsonFeed",
    tag = "feeds",
    params(FeedParams),
    responses(
        (status = 200, description = "The feed.", content_type = "application/feed+json; charset=utf-8",
         body = Object,
         headers(("ETag" = String), ("Cache-Control" = String), ("Surrogate-Key" = String)),
         example = json!({
            "version": "https://jsonfeed.org/version/1.1", "title": "Broadsheet",
            "home_page_url": "https://news.example.com/", "description": "The latest articles from Broadsheet.",
            "language": "en",
            "items": [{
                "id": "tag:news.example.com,2026-11-23:article:1",
                "url": "https://news.example.com/its-too-late-now/", "title": "It's too late now",
                "content_text": "Every year the plan gets better…", "summary": "Every year the plan gets better…",
                "date_published": "2026-11-24T09:30:00Z", "date_modified": "2026-11-24T09:30:00Z",
                "authors": [{"name": "Marta Okafor", "url": "https://news.example.com/author/marta-okafor/"}],
                "tags": ["Cities"]
            }]
         })),
        (status = 304, response = crate::http::openapi::NotModified),
        (status = 404, response = crate::http::openapi::NotFound),
    )
)]
#[get("/feeds/json")]
pub async fn get_json_feed(
    state: web::Data<AppState>,
    req: HttpRequest,
    params: Query<FeedParams>,
) -> Result<HttpResponse, AppError> {
    feed(&state, &req, params.0, service::json_feed, JSON_FEED).await
}

/// Get the sitemap index
///
/// The sitemap index for search engines: one file per 50,000 published
/// articles (at least one), each with the latest edit among its articles
/// as `lastmod`, then the Google News sitemap. The files are named under
/// the public site (`SITE_URL/sitemaps/…`), which serves them by proxying
/// `/api/v1/sitemaps/`.
#[utoipa::path(
    operation_id = "getSitemapIndex",
    tag = "feeds",
    responses(
        (status = 200, description = "The sitemap index.", content_type = "application/xml; charset=utf-8", body = String,
         headers(("ETag" = String), ("Cache-Control" = String), ("Surrogate-Key" = String)),
         example = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<sitemapindex xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\"><sitemap><loc>https://news.example.com/sitemaps/articles-1.xml</loc><lastmod>2026-11-24T09:30:00Z</lastmod></sitemap><sitemap><loc>https://news.example.com/sitemaps/news.xml</loc></sitemap></sitemapindex>"),
        (status = 304, response = crate::http::openapi::NotModified),
    )
)]
#[get("/sitemap.xml")]
pub async fn get_sitemap_index(
    state: web::Data<AppState>,
    req: HttpRequest,
    _query: Query<NoParams>,
) -> Result<HttpResponse, AppError> {
    let (body, keys) = sitemaps::index(&state.db, &state.config.site_urls).await?;
    Ok(public_body(&req, &state, body, XML, keys))
}

/// Get an article sitemap
///
/// File `n` (from 1) of the article sitemaps: the `n`-th 50,000 published
/// articles in id order (an article keeps its file as new ones are
/// published), each with its address on the public site and its last
/// edit. A number past the last file, or not a number, is `404`.
#[utoipa::path(
    operation_id = "getArticleSitemap",
    tag = "feeds",
    params(("n" = String, Path, description = "The file's number, from 1.", pattern = "^[1-9][0-9]{0,8}$", example = "1")),
    responses(
        (status = 200, description = "Up to 50,000 article addresses.", content_type = "application/xml; charset=utf-8", body = String,
         headers(("ETag" = String), ("Cache-Control" = String), ("Surrogate-Key" = String)),
         example = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\"><url><loc>https://news.example.com/its-too-late-now/</loc><lastmod>2026-11-24T09:30:00Z</lastmod></url></urlset>"),
        (status = 304, response = crate::http::openapi::NotModified),
    )
)]
#[get("/sitemaps/articles-{n}.xml")]
pub async fn get_article_sitemap(
    state: web::Data<AppState>,
    req: HttpRequest,
    n: web::Path<String>,
    _query: Query<NoParams>,
) -> Result<HttpResponse, AppError> {
    let missing = || AppError::not_found(format!("There is no sitemap file {}.", req.path()));
    let n = crate::domain::feed::parse_file_number(&n).ok_or_else(missing)?;
    let (body, keys) = sitemaps::article_file(&state.db, &state.config.site_urls, n)
        .await?
        .ok_or_else(missing)?;
    Ok(public_body(&req, &state, body, XML, keys))
}

/// Get the Google News sitemap
///
/// The articles published in the last two days, newest first, at most
/// 1,000 (Google News' limits), with the publication's name
/// (`SITE_TITLE`) and language (`SITE_LANGUAGE`).
#[utoipa::path(
    operation_id = "getNewsSitemap",
    tag = "feeds",
    responses(
        (status = 200, description = "The Google News sitemap.", content_type = "application/xml; charset=utf-8", body = String,
         headers(("ETag" = String), ("Cache-Control" = String), ("Surrogate-Key" = String)),
         example = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\" xmlns:news=\"http://www.google.com/schemas/sitemap-news/0.9\"><url><loc>https://news.example.com/its-too-late-now/</loc><news:news><news:publication><news:name>Broadsheet</news:name><news:language>en</news:language></news:publication><news:publication_date>2026-11-24T09:30:00Z</news:publication_date><news:title>It's too late now</news:title></news:news></url></urlset>"),
        (status = 304, response = crate::http::openapi::NotModified),
    )
)]
#[get("/sitemaps/news.xml")]
pub async fn get_news_sitemap(
    state: web::Data<AppState>,
    req: HttpRequest,
    _query: Query<NoParams>,
) -> Result<HttpResponse, AppError> {
    let (body, keys) = sitemaps::news(&state.db, &state.config.site_urls, &state.config.feeds).await?;
    Ok(public_body(&req, &state, body, XML, keys))
}
