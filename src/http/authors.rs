//! Authors: the public author list and author pages, and the profile
//! fields an editor changes (their own with `PATCH /auth/me`, anyone's as
//! an admin with `PATCH /admin/editors/{id}`). An author is public while at
//! least one of their articles is visible; the email and role never are.

use actix_web::{HttpRequest, HttpResponse, get, web};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::domain::profile::{self, MAX_BIO_LEN};
use crate::domain::text;
use crate::domain::url::SiteUrls;
use crate::error::{AppError, FieldError};
use crate::http::articles::public::public_list_response;
use crate::http::conditional::{self, CachePolicy};
use crate::http::cursor::{Keyset, Scope};
use crate::http::extract::{Errors, NoParams, known_slug};
use crate::http::pagination::{self, Paging, list_schema};
use crate::http::query::Query;
use crate::service::authors::{self as service, AuthorView};
use crate::service::editors::ProfilePatch;
use crate::service::keys;
use crate::state::AppState;

/// An author's social handles, each null when not given.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({
    "twitter": "martaokafor", "bluesky": "marta.bsky.social", "mastodon": "@marta@mastodon.social"
}))]
pub struct SocialHandles {
    /// X (Twitter) handle, without the `@`.
    #[schema(required = true)]
    pub twitter: Option<String>,
    /// Bluesky handle, without the `@` (a domain name).
    #[schema(required = true)]
    pub bluesky: Option<String>,
    /// Mastodon address, `@user@host`.
    #[schema(required = true)]
    pub mastodon: Option<String>,
}

/// An author: the public profile of an editor with published articles.
/// Never their email or role.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": 2, "slug": "marta-okafor", "name": "Marta Okafor",
    "bio": "Marta writes about cities, transport and the people who run them.",
    "avatar_url": "https://broadsheet.test/avatars/marta-okafor.jpg",
    "website": "https://martaokafor.example.com/",
    "social": {"twitter": "martaokafor", "bluesky": "marta.bsky.social", "mastodon": "@marta@mastodon.social"},
    "article_count": 14,
    "url": "https://news.example.com/author/marta-okafor/"
}))]
pub struct AuthorResponse {
    pub id: i64,
    /// Public address: `/api/v1/authors/{slug}`; list their articles with
    /// `GET /api/v1/articles?author={slug}`.
    pub slug: String,
    pub name: String,
    #[schema(required = true)]
    pub bio: Option<String>,
    /// The author's picture: an absolute http(s) URL.
    #[schema(required = true)]
    pub avatar_url: Option<String>,
    /// The author's own site: an absolute http(s) URL.
    #[schema(required = true)]
    pub website: Option<String>,
    pub social: SocialHandles,
    /// The author's published articles that are visible now.
    pub article_count: i64,
    /// The author's page on the public site (`SITE_URL` + `/author/{slug}/`).
    pub url: String,
}

impl AuthorResponse {
    pub fn new(view: AuthorView, urls: &SiteUrls) -> Self {
        let a = view.author;
        AuthorResponse {
            url: urls.author(&a.slug),
            id: a.id,
            slug: a.slug,
            name: a.name,
            bio: a.bio,
            avatar_url: a.avatar_url,
            website: a.website,
            social: SocialHandles {
                twitter: a.twitter,
                bluesky: a.bluesky,
                mastodon: a.mastodon,
            },
            article_count: view.article_count,
        }
    }
}

list_schema!(AuthorList, AuthorResponse, "A page of authors.", {
    "data": [{
        "id": 2, "slug": "marta-okafor", "name": "Marta Okafor",
        "bio": "Marta writes about cities, transport and the people who run them.",
        "avatar_url": "https://broadsheet.test/avatars/marta-okafor.jpg",
        "website": null,
        "social": {"twitter": "martaokafor", "bluesky": null, "mastodon": null},
        "article_count": 14,
        "url": "https://news.example.com/author/marta-okafor/"
    }],
    "meta": {"page": 1, "per_page": 20, "total": 1, "total_pages": 1},
    "links": {"self": "/api/v1/authors", "next": null, "prev": null}
});

/// Paging of the author list (by name, then id).
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuthorListParams {
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
}

/// Changes to the social handles: omitted ones stay as they are, `null`
/// (or an empty string) clears one.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"twitter": "martaokafor", "mastodon": null}))]
pub struct SocialRequest {
    /// X (Twitter) handle without the `@`: 1–15 letters, digits or `_`.
    #[serde(default, deserialize_with = "crate::http::extract::double_option")]
    #[schema(value_type = Option<String>, pattern = "^[A-Za-z0-9_]{1,15}$", example = "martaokafor")]
    pub twitter: Option<Option<String>>,
    /// Bluesky handle without the `@`: a domain name such as `ada.bsky.social`.
    #[serde(default, deserialize_with = "crate::http::extract::double_option")]
    #[schema(value_type = Option<String>, max_length = 253, example = "marta.bsky.social")]
    pub bluesky: Option<Option<String>>,
    /// Mastodon address `@user@host`.
    #[serde(default, deserialize_with = "crate::http::extract::double_option")]
    #[schema(value_type = Option<String>, pattern = "^@[^@]+@[^@]+$", example = "@marta@mastodon.social")]
    pub mastodon: Option<Option<String>>,
}

/// The profile fields of a PATCH body, as sent: absent leaves a field
/// alone, `null` clears it (except `name`, which every editor has).
pub struct ProfileFields {
    pub name: Option<Option<String>>,
    pub bio: Option<Option<String>>,
    pub avatar_url: Option<Option<String>>,
    pub website: Option<Option<String>>,
    pub social: Option<Option<SocialRequest>>,
}

/// Checks the profile fields; problems go to `errors`, each naming its
/// field (`social.twitter` for a handle).
pub fn validate_profile(fields: ProfileFields, errors: &mut Vec<FieldError>) -> ProfilePatch {
    let name = match fields.name {
        Some(None) => {
            errors.push(FieldError::new(
                "name",
                "must not be null: every editor has a name",
            ));
            None
        }
        Some(Some(n)) => Some(text::required("name", &n, 100, errors)),
        None => None,
    };
    // `social: null` clears every handle.
    let (twitter, bluesky, mastodon) = match fields.social {
        None => (None, None, None),
        Some(None) => (Some(None), Some(None), Some(None)),
        Some(Some(s)) => (s.twitter, s.bluesky, s.mastodon),
    };
    ProfilePatch {
        name,
        bio: fields
            .bio
            .map(|b| text::optional("bio", b.as_deref(), MAX_BIO_LEN, errors)),
        avatar_url: fields
            .avatar_url
            .map(|v| profile::link("avatar_url", v.as_deref(), errors)),
        website: fields
            .website
            .map(|v| profile::link("website", v.as_deref(), errors)),
        twitter: twitter.map(|v| profile::twitter("social.twitter", v.as_deref(), errors)),
        bluesky: bluesky.map(|v| profile::bluesky("social.bluesky", v.as_deref(), errors)),
        mastodon: mastodon.map(|v| profile::mastodon("social.mastodon", v.as_deref(), errors)),
    }
}

/// The cursor scope of the author list.
const SCOPE: Scope = Scope {
    list: "authors",
    order: "name",
};

/// List authors
///
/// Every author with at least one published article (visible now), by
/// name then id, with the number of such articles. Editors with only
/// drafts, scheduled or archived articles are not listed. Page mode
/// (`page`) or cursor mode (`cursor=`).
#[utoipa::path(
    operation_id = "listAuthors",
    tag = "authors",
    params(AuthorListParams),
    responses(
        (status = 200, description = "A page of authors.", body = AuthorList,
         headers(("ETag" = String), ("Cache-Control" = String), ("Link" = String), ("Surrogate-Key" = String))),
        (status = 304, response = crate::http::openapi::NotModified),
    )
)]
#[get("/authors")]
pub async fn list_authors(
    state: web::Data<AppState>,
    req: HttpRequest,
    params: Query<AuthorListParams>,
) -> Result<HttpResponse, AppError> {
    let p = params.0;
    let mut errors = Errors::default();
    let paging = Paging::from_params(p.page, p.per_page, p.cursor.as_deref(), &mut errors.0);
    let after = paging.keyset::<String>(SCOPE, &mut errors.0);
    errors.finish()?;
    let page = service::list_page(
        &state.db,
        after.map(|k| (k.key, k.id)),
        paging.offset(),
        paging.per_page() as i64,
        !paging.is_cursor(),
    )
    .await?;
    let last = page.items.last().map(|v| Keyset {
        key: v.author.name.clone(),
        id: v.author.id,
    });
    let next = paging.next_cursor(SCOPE, page.has_more, last);
    let urls = &state.config.site_urls;
    let data: Vec<AuthorResponse> = page
        .items
        .into_iter()
        .map(|v| AuthorResponse::new(v, urls))
        .collect();
    let body = pagination::page_of(&req, &paging, data, page.total, next);
    public_list_response(&req, &state, &body, keys::author_list())
}

/// Get an author
///
/// The author page's header: name, bio, picture, links and how many
/// published articles they have. List the articles with
/// `GET /api/v1/articles?author={slug}`. An editor with nothing published
/// yet is 404 here.
#[utoipa::path(
    operation_id = "getAuthor",
    tag = "authors",
    params(("slug" = String, Path, description = "The author's slug.", example = "marta-okafor")),
    responses(
        (status = 200, description = "The author.", body = AuthorResponse,
         headers(("ETag" = String), ("Cache-Control" = String), ("Surrogate-Key" = String))),
        (status = 304, response = crate::http::openapi::NotModified),
    )
)]
#[get("/authors/{slug}")]
pub async fn get_author(
    state: web::Data<AppState>,
    req: HttpRequest,
    slug: web::Path<String>,
    _query: Query<NoParams>,
) -> Result<HttpResponse, AppError> {
    let slug = known_slug(slug.into_inner())?;
    let view = service::get_public(&state.db, slug.clone())
        .await?
        .ok_or_else(|| {
            AppError::not_found(format!(
                "No author with published articles has the slug `{slug}`."
            ))
        })?;
    let keys = keys::author(view.author.id);
    let response = conditional::json_ok(
        &req,
        &AuthorResponse::new(view, &state.config.site_urls),
        CachePolicy::Public {
            max_age: state.config.cache_max_age_seconds,
        },
    )?;
    Ok(conditional::with_keys(response, keys))
}
