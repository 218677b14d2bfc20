//! Preview links: an editor makes an unguessable, expiring link to an
//! article in any status (`POST /admin/articles/{id}/preview`), anyone with
//! it reads the article as it will appear (`GET /preview/{token}`), and
//! the editor can revoke them all (`DELETE /admin/articles/{id}/preview`).
//!
//! A preview is never cached anywhere: `no-store` (so neither the
//! response cache nor a CDN keeps it; the cache middleware does not even
//! look these paths up), no surrogate keys, and `X-Robots-Tag: noindex`.
//! Every token that does not work is the same 404.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, delete, get, post, web};
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::AppError;
use crate::http::articles::public::ArticleParams;
use crate::http::articles::{ArticleResponse, FieldSet};
use crate::http::conditional::{self, CachePolicy, NoStore};
use crate::http::extract::{Auth, Errors, guard};
use crate::http::query::Query;
use crate::service::previews as service;
use crate::state::AppState;

/// `X-Robots-Tag`: search engines must not index a preview.
const X_ROBOTS_TAG: HeaderName = HeaderName::from_static("x-robots-tag");

/// A new preview link. The token is shown once: only its hash is stored.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "token": "bsp_q3JvYWRzaGVldC1wcmV2aWV3LXRva2VuLWV4YW1wbGU",
    "url": "https://news.example.com/preview/bsp_q3JvYWRzaGVldC1wcmV2aWV3LXRva2VuLWV4YW1wbGU",
    "api_url": "/api/v1/preview/bsp_q3JvYWRzaGVldC1wcmV2aWV3LXRva2VuLWV4YW1wbGU",
    "expires_at": "2026-12-14T09:30:00Z"
}))]
pub struct PreviewLinkResponse {
    /// The secret: `bsp_` and 43 base64url characters. Anyone who has it
    /// can read the article until it expires or is revoked.
    #[schema(min_length = 47, max_length = 47, pattern = "^bsp_[A-Za-z0-9_-]{43}$")]
    pub token: String,
    /// The public site's preview page for it: `SITE_URL` + `/preview/{token}`.
    pub url: String,
    /// The API route that returns the article for it.
    pub api_url: String,
    /// When the link stops working (`PREVIEW_TTL_DAYS` after creation).
    pub expires_at: DateTime<Utc>,
}

/// Create a preview link
///
/// An unguessable link that shows this article, as it is at the time it is
/// read, to anyone who has it: a draft, a scheduled or archived piece, or
/// a published one. It works until `expires_at` (`PREVIEW_TTL_DAYS`, 7 by
/// default), until revoked, or until the article is deleted. Authors may
/// make links for their own articles only.
#[utoipa::path(
    operation_id = "createPreviewLink",
    tag = "admin-articles",
    security(("bearerAuth" = [])),
    params(("id" = i64, Path, description = "Article id.", minimum = 1, example = 1)),
    responses(
        (status = 201, description = "The link (its token is shown once).", body = PreviewLinkResponse,
         headers(
            ("Location" = String, description = "The preview's API route (`api_url`)."),
            ("Cache-Control" = String)
         )),
    )
)]
#[post("/articles/{id}/preview")]
pub async fn create_preview_link(
    auth: Auth<guard::Author>,
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let ttl = chrono::Duration::days(i64::from(state.config.preview_ttl_days));
    let link = service::create(&state.db, auth.editor.clone(), id.into_inner(), ttl).await?;
    let api_url = format!("/api/v1/preview/{}", link.token);
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, api_url.clone()))
        .no_store()
        .json(PreviewLinkResponse {
            url: state.config.site_urls.preview(&link.token),
            api_url,
            token: link.token,
            expires_at: link.expires_at.and_utc(),
        }))
}

/// Revoke an article's preview links
///
/// Every preview link of the article stops working at once (also when it
/// has none). Authors may revoke links of their own articles only.
#[utoipa::path(
    operation_id = "revokePreviewLinks",
    tag = "admin-articles",
    security(("bearerAuth" = [])),
    params(("id" = i64, Path, description = "Article id.", minimum = 1, example = 1)),
    responses(
        (status = 204, description = "Revoked."),
    )
)]
#[delete("/articles/{id}/preview")]
pub async fn revoke_preview_links(
    auth: Auth<guard::Author>,
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    service::revoke_all(&state.db, auth.editor.clone(), id.into_inner()).await?;
    Ok(HttpResponse::NoContent().no_store().finish())
}

/// Preview an article
///
/// The article a preview link shows, as it is now and as it will appear
/// once published: the same shape as `GET /articles/{slug}`, in any status
/// (a published article shows its current version). Never cached
/// (`no-store`) and never indexed (`X-Robots-Tag: noindex`). An unknown,
/// malformed, expired or revoked token, or one whose article was deleted,
/// is the same 404.
#[utoipa::path(
    operation_id = "getPreview",
    tag = "articles",
    params(
        ("token" = String, Path, description = "The preview token (`token` of the created link).",
         example = "bsp_q3JvYWRzaGVldC1wcmV2aWV3LXRva2VuLWV4YW1wbGU"),
        ArticleParams
    ),
    responses(
        (status = 200, description = "The article.", body = crate::http::articles::ArticleRead,
         headers(
            ("ETag" = String),
            ("Cache-Control" = String, description = "`no-store`: no cache may keep a preview."),
            ("X-Robots-Tag" = String, description = "`noindex`: search engines must not index a preview.")
         )),
        (status = 304, response = crate::http::openapi::NotModified),
    )
)]
#[get("/preview/{token}")]
pub async fn get_preview(
    state: web::Data<AppState>,
    req: HttpRequest,
    token: web::Path<String>,
    query: Query<ArticleParams>,
) -> Result<HttpResponse, AppError> {
    let mut errors = Errors::default();
    let fields = FieldSet::parse_one(query.0.fields.as_deref(), &mut errors.0);
    errors.finish()?;
    let view = service::get(&state.db, &token).await?.ok_or_else(|| {
        AppError::not_found("No preview has this token; it may have expired or been revoked.")
    })?;
    let article = fields.shape(ArticleResponse::new(view, &state.config.site_urls));
    let body = serde_json::to_vec(&article).map_err(AppError::internal)?;
    let extra = [(X_ROBOTS_TAG, HeaderValue::from_static("noindex"))];
    Ok(conditional::cached_bytes(
        &req,
        StatusCode::OK,
        body,
        CachePolicy::NoStore,
        &extra,
    ))
}
