//! `GET /search` (ranked results with snippets and facets) and
//! `GET /search/suggest` (title completions for an autocomplete box).
//!
//! Search answers are `Cache-Control: public` for the usual max age but are
//! never kept by our own response cache and carry no surrogate keys: the
//! index catches up with a write within a second of its commit, and a page
//! cached in that second would miss the new article until the next edit.

use actix_web::{HttpRequest, HttpResponse, get, web};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::articles::{
    ArticleResponse, ArticleSummary, FieldSet, Shaped, filters, parse_bound, parse_query_text,
};
use crate::error::{AppError, FieldError};
use crate::http::conditional::CachePolicy;
use crate::http::extract::Errors;
use crate::http::pagination::{self, ListLinks, Paging};
use crate::http::query::Query;
use crate::service::search as service;
use crate::state::AppState;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SearchParams {
    /// What the reader typed (1–200 characters, with a letter or digit).
    /// Every word must match, in the title, standfirst or body; accents
    /// and case do not matter; English word forms match each other
    /// (`bombings` finds "bombing"); a word of five letters or more may
    /// carry one typo; the last word also matches longer words it starts
    /// (unless the query ends with a space). Quotes and operators are
    /// ordinary characters.
    #[param(required = true, min_length = 1, max_length = 200, example = "tram budgt")]
    pub q: Option<String>,
    /// Only articles with any of these tags (slugs, comma separated).
    #[param(example = "transport,cities")]
    pub tag: Option<String>,
    /// Only articles by this author (their slug).
    #[param(example = "marta-okafor")]
    pub author: Option<String>,
    /// Published at or after: RFC 3339 or `YYYY-MM-DD`.
    #[param(
        pattern = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}([Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2}))?$",
        example = "2026-01-01"
    )]
    pub from: Option<String>,
    /// Published at or before: RFC 3339 or `YYYY-MM-DD` (the whole day).
    #[param(
        pattern = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}([Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2}))?$",
        example = "2026-12-31"
    )]
    pub to: Option<String>,
    /// Page number, from 1: the first 10,000 results are served
    /// (`page × per_page` at most 10,000).
    #[param(minimum = 1, maximum = 10000)]
    pub page: Option<u32>,
    /// Results per page, 1–100.
    #[param(minimum = 1, maximum = 100, default = 20)]
    pub per_page: Option<u32>,
}

/// One result: the article's list fields, a snippet and its score.
#[derive(Serialize)]
pub struct SearchHit {
    #[serde(flatten)]
    article: Shaped,
    snippet: String,
    score: f32,
}

/// The spec's shape of [`SearchHit`].
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct SearchHitSchema {
    #[schema(inline)]
    #[serde(flatten)]
    article: ArticleSummary,
    /// The best passage of the body (else the standfirst, else the title),
    /// as HTML: the text escaped, every match in `<mark>`.
    #[schema(example = "…the council will vote on the <mark>tram</mark> <mark>budget</mark> in March…")]
    snippet: String,
    /// Relevance (BM25 over title ×3, standfirst ×1.5 and body) times
    /// recency (1 today, 0.75 at six months, towards 0.5 for old
    /// articles). Comparable within one answer only.
    score: f32,
}

/// A tag or author with how many results carry it.
#[derive(Serialize, ToSchema)]
pub struct FacetEntry {
    slug: String,
    name: String,
    count: u64,
}

/// A year of publication with how many results fall in it.
#[derive(Serialize, ToSchema)]
pub struct YearEntry {
    year: i32,
    count: u64,
}

/// Counts over every result (not only this page): the 20 largest tags and
/// authors, and every year, newest first.
#[derive(Serialize, ToSchema)]
pub struct SearchFacets {
    tags: Vec<FacetEntry>,
    authors: Vec<FacetEntry>,
    years: Vec<YearEntry>,
}

/// `meta` of a search answer: page mode, with the facets.
#[derive(Serialize, ToSchema)]
pub struct SearchMeta {
    /// The page number (from 1).
    #[schema(minimum = 1)]
    page: u32,
    /// Results per page (1–100, default 20).
    #[schema(minimum = 1, maximum = 100)]
    per_page: u32,
    /// How many articles match in all (an estimate when `total_exact` is
    /// false).
    total: i64,
    /// How many pages there are.
    total_pages: i64,
    /// `true`: `total` and `facets` count every match. `false`: the query
    /// matches more than about 4,000 articles, and they are estimates from
    /// an even sample of the whole result set (see the API guide).
    total_exact: bool,
    facets: SearchFacets,
}

/// A page of search results.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({
    "data": [{
        "id": 1, "slug": "its-too-late-now-to-wait-for-the-perfect-tram-plan",
        "title": "It's too late now to wait for the perfect tram plan",
        "excerpt": "For eleven years the council has studied a tram line…",
        "published_at": "2026-11-24T09:30:00Z",
        "snippet": "For eleven years the <mark>council</mark> has studied a <mark>tram</mark> line from the station…",
        "score": 4.21
    }],
    "meta": {
        "page": 1, "per_page": 20, "total": 1, "total_pages": 1, "total_exact": true,
        "facets": {
            "tags": [{"slug": "transport", "name": "Transport", "count": 1}],
            "authors": [{"slug": "marta-okafor", "name": "Marta Okafor", "count": 1}],
            "years": [{"year": 2026, "count": 1}]
        }
    },
    "links": {"self": "/api/v1/search?q=tram+councl", "next": null, "prev": null}
}))]
pub struct SearchResults {
    #[schema(value_type = Vec<SearchHitSchema>)]
    data: Vec<SearchHit>,
    meta: SearchMeta,
    links: ListLinks,
}

/// Search published articles
///
/// Ranked by relevance with recency as a factor: among equally good
/// matches the newer comes first. Each result has a highlighted snippet;
/// `meta.total` and `meta.facets` count every match. Page mode only.
#[utoipa::path(
    operation_id = "searchArticles",
    tag = "articles",
    params(SearchParams),
    responses(
        (status = 200, description = "A page of results.", body = SearchResults,
         headers(("ETag" = String), ("Cache-Control" = String), ("Link" = String))),
        (status = 304, response = crate::http::openapi::NotModified),
    )
)]
#[get("/search")]
pub async fn search(
    state: web::Data<AppState>,
    req: HttpRequest,
    params: Query<SearchParams>,
) -> Result<HttpResponse, AppError> {
    let p = params.0;
    let mut errors = Errors::default();
    let paging = Paging::from_params(p.page, p.per_page, None, &mut errors.0);
    let q = required_q(p.q.as_deref(), &mut errors.0);
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
    let tags = filters::tag_slugs("tag", p.tag.as_deref(), &mut errors.0);
    if paging.offset() + i64::from(paging.per_page()) > service::DEEPEST as i64 {
        errors.0.push(FieldError::new(
            "page",
            format!(
                "results beyond the first {} are not served; narrow the search",
                service::DEEPEST
            ),
        ));
    }
    errors.finish()?;
    let request = service::Request {
        q: q.unwrap_or_default(),
        tags,
        author: p.author.filter(|a| !a.is_empty()),
        from,
        to,
        offset: paging.offset().max(0) as usize,
        per_page: paging.per_page() as usize,
    };
    let results = service::search(&state.db, &state.search, request).await?;
    let fields = FieldSet::parse(None, &mut vec![]);
    let data = results
        .hits
        .into_iter()
        .map(|hit| SearchHit {
            article: fields.shape(ArticleResponse::new(hit.view, &state.config.site_urls)),
            snippet: hit.snippet,
            score: hit.score,
        })
        .collect();
    let page = pagination::page_of(&req, &paging, data, Some(results.total as i64), None);
    let facets = results.facets;
    let body = SearchResults {
        data: page.data,
        meta: SearchMeta {
            page: page.meta.page.unwrap_or(1),
            per_page: page.meta.per_page,
            total: page.meta.total.unwrap_or(0),
            total_pages: page.meta.total_pages.unwrap_or(0),
            total_exact: results.exact,
            facets: SearchFacets {
                tags: facets.tags.into_iter().map(entry).collect(),
                authors: facets.authors.into_iter().map(entry).collect(),
                years: facets
                    .years
                    .into_iter()
                    .map(|(year, count)| YearEntry { year, count })
                    .collect(),
            },
        },
        links: page.links,
    };
    answer(&req, &state, &body, pagination::link_value(&body.links))
}

fn entry(named: service::Named) -> FacetEntry {
    FacetEntry {
        slug: named.slug,
        name: named.name,
        count: named.count,
    }
}

/// `q` is required here (on `/articles` it is optional).
fn required_q(q: Option<&str>, errors: &mut Vec<FieldError>) -> Option<String> {
    let q = parse_query_text(q, errors);
    if q.is_none() && errors.iter().all(|e| e.field != "q") {
        errors.push(FieldError::new("q", "is required"));
    }
    q
}

fn answer<T: Serialize>(
    req: &HttpRequest,
    state: &AppState,
    body: &T,
    link: Option<actix_web::http::header::HeaderValue>,
) -> Result<HttpResponse, AppError> {
    pagination::cached_json_response(
        req,
        body,
        link,
        CachePolicy::Public {
            max_age: state.config.cache_max_age_seconds,
        },
    )
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SuggestParams {
    /// What the reader has typed so far (1–200 characters).
    #[param(required = true, min_length = 1, max_length = 200, example = "tram bud")]
    pub q: Option<String>,
}

/// A title completion: the article's slug and title.
#[derive(Serialize, ToSchema)]
pub struct Suggestion {
    #[schema(example = "its-too-late-now-to-wait-for-the-perfect-tram-plan")]
    slug: String,
    #[schema(example = "It's too late now to wait for the perfect tram plan")]
    title: String,
}

/// Title completions for an autocomplete box.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({"data": [{"slug": "its-too-late-now-to-wait-for-the-perfect-tram-plan", "title": "It's too late now to wait for the perfect tram plan"}]}))]
pub struct Suggestions {
    /// Up to 8, best first.
    data: Vec<Suggestion>,
}

/// Title completions
///
/// Up to eight published articles whose title matches what the reader has
/// typed so far, the last word as a prefix: for an autocomplete box.
#[utoipa::path(
    operation_id = "suggestArticles",
    tag = "articles",
    params(SuggestParams),
    responses(
        (status = 200, description = "Completions, best first.", body = Suggestions,
         headers(("ETag" = String), ("Cache-Control" = String))),
        (status = 304, response = crate::http::openapi::NotModified),
    )
)]
#[get("/search/suggest")]
pub async fn suggest(
    state: web::Data<AppState>,
    req: HttpRequest,
    params: Query<SuggestParams>,
) -> Result<HttpResponse, AppError> {
    let mut errors = Errors::default();
    let q = required_q(params.0.q.as_deref(), &mut errors.0);
    errors.finish()?;
    let found = service::suggest(&state.db, &state.search, q.unwrap_or_default()).await?;
    let body = Suggestions {
        data: found
            .into_iter()
            .map(|(slug, title)| Suggestion { slug, title })
            .collect(),
    };
    answer(&req, &state, &body, None)
}
