//! The root of the OpenAPI document. Paths and their schemas are collected
//! from the route registrations in `http::configure` (utoipa-actix-web), so a
//! route cannot exist without its spec; this file adds what is global: info,
//! tags, the `bearerAuth` scheme and the reusable problem responses.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi, ToResponse};

use crate::error::{FieldError, Problem};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Broadsheet API",
        version = "1.0.0",
        description = "Headless content API for a news site's opinion pages: articles, tags, \
comments and share events.\n\n\
Errors are `application/problem+json` (RFC 9457) with a stable `code`. Public GETs are \
cacheable (`ETag`, `Cache-Control`); editor routes need `Authorization: Bearer <JWT>` from \
`POST /api/v1/auth/login`.",
        license(name = "MIT", identifier = "MIT")
    ),
    servers((url = "/", description = "This server")),
    modifiers(&SecurityAddon),
    components(
        schemas(Problem, FieldError),
        responses(BadRequest, Unauthorized, Forbidden, CommentsDisabled, NotFound, Conflict, PreconditionFailed,
                  PayloadTooLarge, UnsupportedMediaType, Invalid, RateLimited, Unavailable)
    ),
    tags(
        (name = "articles", description = "Published articles: the home page, tag pages, search and the article page."),
        (name = "tags", description = "Topic tags."),
        (name = "comments", description = "The \"Leave a Reply\" thread under an article."),
        (name = "shares", description = "\"Send this to a friend\": share events and counts."),
        (name = "auth", description = "Editor sign-in with short-lived access tokens and rotating refresh tokens."),
        (name = "admin-articles", description = "Editor routes for articles in every status."),
        (name = "admin-tags", description = "Editor routes for tags."),
        (name = "admin-comments", description = "Moderation of comments."),
        (name = "admin-shares", description = "Raw share events and share statistics."),
        (name = "admin-editors", description = "Editor accounts (admins only)."),
        (name = "operations", description = "Health, readiness, metrics and this document.")
    )
)]
pub struct ApiDoc;

struct SecurityAddon;

impl Modify for SecurityAddon {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearerAuth",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "Access token from `POST /api/v1/auth/login` or `/auth/refresh`.",
                    ))
                    .build(),
            ),
        );
    }
}

/// The request is malformed (for example the body is not valid JSON).
#[derive(ToResponse)]
#[response(content_type = "application/problem+json")]
#[allow(dead_code)]
pub struct BadRequest(Problem);

/// No valid access token was sent (`WWW-Authenticate: Bearer`).
#[derive(ToResponse)]
#[response(
    content_type = "application/problem+json",
    headers(("WWW-Authenticate" = String, description = "Always `Bearer realm=\"broadsheet\"`."))
)]
#[allow(dead_code)]
pub struct Unauthorized(Problem);

/// The token is valid but the editor's role does not allow this.
#[derive(ToResponse)]
#[response(content_type = "application/problem+json")]
#[allow(dead_code)]
pub struct Forbidden(Problem);

/// Comments are closed on this article (code `comments_disabled`).
#[derive(ToResponse)]
#[response(content_type = "application/problem+json")]
#[allow(dead_code)]
pub struct CommentsDisabled(Problem);

/// No such resource (or not visible to the public).
#[derive(ToResponse)]
#[response(content_type = "application/problem+json")]
#[allow(dead_code)]
pub struct NotFound(Problem);

/// The request conflicts with the current state (for example a taken email).
#[derive(ToResponse)]
#[response(content_type = "application/problem+json")]
#[allow(dead_code)]
pub struct Conflict(Problem);

/// `If-Match` did not match the current `ETag`: someone else changed it.
#[derive(ToResponse)]
#[response(content_type = "application/problem+json")]
#[allow(dead_code)]
pub struct PreconditionFailed(Problem);

/// The body is larger than `MAX_BODY_BYTES`.
#[derive(ToResponse)]
#[response(content_type = "application/problem+json")]
#[allow(dead_code)]
pub struct PayloadTooLarge(Problem);

/// The body is not sent as `application/json`.
#[derive(ToResponse)]
#[response(content_type = "application/problem+json")]
#[allow(dead_code)]
pub struct UnsupportedMediaType(Problem);

/// Validation failed; `errors` names each field and what is wrong with it.
#[derive(ToResponse)]
#[response(content_type = "application/problem+json")]
#[allow(dead_code)]
pub struct Invalid(Problem);

/// Too many requests from this client; wait `Retry-After` seconds.
#[derive(ToResponse)]
#[response(
    content_type = "application/problem+json",
    headers(("Retry-After" = u64, description = "Seconds to wait before retrying."))
)]
#[allow(dead_code)]
pub struct RateLimited(Problem);

/// The database is unreachable; retry after `Retry-After` seconds.
#[derive(ToResponse)]
#[response(
    content_type = "application/problem+json",
    headers(("Retry-After" = u64, description = "Seconds to wait before retrying."))
)]
#[allow(dead_code)]
pub struct Unavailable(Problem);
