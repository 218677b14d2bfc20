//! The root of the OpenAPI document. Paths and their schemas are collected
//! from the route registrations in `http::configure` (utoipa-actix-web), so a
//! route cannot exist without its spec; this file adds what is global: info,
//! tags, the `bearerAuth` scheme, the reusable problem responses, and
//! [`finish`], which writes down what holds for every route (security,
//! `X-Request-Id`, standard header schemas, the shared error responses,
//! `If-None-Match`).
//!
//! Who writes which error response: [`shared_responses`] owns those that
//! follow from an operation's shape (`401`/`403` for a token and a role,
//! `404` for a path parameter, `400`/`413`/`415`/`422` for a query or body,
//! `500`, `503`); an annotation lists only what its own operation adds
//! (`304`, `409`, `412`, `429`, a sign-in's `401`, `CommentsDisabled`).
//! tests/api/openapi.rs fails when an annotation restates a shared one.
//!
//! Conventions every `#[utoipa::path]` follows (tests/api/openapi.rs checks
//! them on the generated document, so they cover new routes too):
//! - `operation_id` in camelCase, a summary line and a description;
//! - one tag by resource (`articles`, `admin-articles`, …);
//! - editor routes `security(("bearerAuth" = []))`;
//! - every error response of its own by reference to a response below
//!   (`response = crate::http::openapi::Conflict`), problem+json;
//! - cacheable GETs: `ETag` on the `200` and `304` by `NotModified`;
//!   lists: `Link`; creates: `201` with `Location`.

use serde_json::{Map, Value, json};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi, ToResponse};

use crate::error::{FieldError, Problem};
use crate::http::scopes::Access;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Broadsheet API",
        version = "1.0.0",
        description = "Headless content API for a news site's opinion pages: articles, tags, \
comments and share events.\n\n\
**Errors** are `application/problem+json` (RFC 9457) with a stable machine `code` \
(`validation_failed` adds `errors: [{field, message}]`); bad input is always a `4xx`.\n\n\
**Editor routes** (`/api/v1/admin/…`, `/api/v1/auth/me`) need `Authorization: Bearer <JWT>` \
from `POST /api/v1/auth/login`, or `Authorization: Bearer bst_…`, a personal API token \
(`POST /api/v1/auth/tokens`) limited to its scopes: each admin operation names the one it \
needs in its `security`. Public routes need nothing.\n\n\
**Lists** are `{data, meta, links}` with a `Link` header, in page mode (`page`, `per_page` \
≤ 100) or cursor mode (`cursor=` to start, then `meta.next_cursor`).\n\n\
**Caching**: public GETs send a strong `ETag` and `Cache-Control: public, max-age=N`; \
`If-None-Match` answers `304`. `PATCH` honours `If-Match` (`412` when stale).\n\n\
**Every response** carries `X-Request-Id` (yours, echoed, when you send one).",
        license(name = "MIT", identifier = "MIT")
    ),
    servers((url = "/", description = "This server")),
    modifiers(&SecurityAddon),
    components(
        schemas(Problem, FieldError),
        responses(BadRequest, Unauthorized, Forbidden, CommentsDisabled, NotFound, Conflict,
                  PreconditionFailed, PayloadTooLarge, UnsupportedMediaType, Invalid, RateLimited,
                  InternalError, Unavailable, NotModified)
    ),
    tags(
        (name = "articles", description = "Published articles: the home page, tag pages, search and the article page."),
        (name = "tags", description = "Topic tags."),
        (name = "authors", description = "Authors with published articles, and each editor's own public profile."),
        (name = "comments", description = "The \"Leave a Reply\" thread under an article."),
        (name = "shares", description = "\"Send this to a friend\": share events and counts."),
        (name = "feeds", description = "RSS, Atom and JSON feeds of the newest articles, and sitemaps for search engines."),
        (name = "auth", description = "Editor sign-in with short-lived access tokens and rotating refresh tokens."),
        (name = "admin-articles", description = "Editor routes for articles in every status."),
        (name = "admin-tags", description = "Editor routes for tags."),
        (name = "admin-comments", description = "Moderation of comments."),
        (name = "admin-shares", description = "Raw share events and share statistics."),
        (name = "admin-editors", description = "Editor accounts (admins only)."),
        (name = "admin-tokens", description = "Every editor's API tokens (admins only)."),
        (name = "admin-webhooks", description = "Signed webhooks to other systems (admins only)."),
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
                    .description(Some(
                        "An access token (a JWT) from `POST /api/v1/auth/login` or `/auth/refresh`, \
                         or a personal API token (`bst_…`) from `POST /api/v1/auth/tokens`. An API \
                         token works only on operations whose `security` names one of its scopes \
                         (and on `GET /auth/me`); it never manages credentials.",
                    ))
                    .build(),
            ),
        );
    }
}

/// The request is malformed: the body is not valid JSON, or the query string
/// is longer than 4,096 bytes.
#[derive(ToResponse)]
#[response(
    content_type = "application/problem+json",
    example = json!({
        "type": "urn:broadsheet:problem:malformed_json", "title": "Bad request", "status": 400,
        "detail": "The body is not valid JSON: EOF while parsing an object at line 1 column 1.",
        "code": "malformed_json"
    })
)]
#[allow(dead_code)]
pub struct BadRequest(Problem);

/// No valid access token was sent (`WWW-Authenticate: Bearer`).
#[derive(ToResponse)]
#[response(
    content_type = "application/problem+json",
    headers(("WWW-Authenticate" = String, description = "Always `Bearer realm=\"broadsheet\"`.")),
    example = json!({
        "type": "urn:broadsheet:problem:unauthorized", "title": "Unauthorized", "status": 401,
        "detail": "This route needs `Authorization: Bearer <access token>`; get one from POST /api/v1/auth/login.",
        "code": "unauthorized"
    })
)]
#[allow(dead_code)]
pub struct Unauthorized(Problem);

/// The token is valid but the editor's role does not allow this
/// (`forbidden`), or it is an API token without the scope this operation
/// names, or used where only a password session will do
/// (`insufficient_scope`).
#[derive(ToResponse)]
#[response(
    content_type = "application/problem+json",
    example = json!({
        "type": "urn:broadsheet:problem:forbidden", "title": "Forbidden", "status": 403,
        "detail": "This needs the admin role or higher; you are editor.", "code": "forbidden"
    })
)]
#[allow(dead_code)]
pub struct Forbidden(Problem);

/// Comments are closed on this article (code `comments_disabled`).
#[derive(ToResponse)]
#[response(
    content_type = "application/problem+json",
    example = json!({
        "type": "urn:broadsheet:problem:comments_disabled", "title": "Forbidden", "status": 403,
        "detail": "Comments are closed on `its-too-late-now`.", "code": "comments_disabled"
    })
)]
#[allow(dead_code)]
pub struct CommentsDisabled(Problem);

/// No such resource (or not visible to the public).
#[derive(ToResponse)]
#[response(
    content_type = "application/problem+json",
    example = json!({
        "type": "urn:broadsheet:problem:not_found", "title": "Not found", "status": 404,
        "detail": "No published article has the slug `its-too-late-now`.", "code": "not_found"
    })
)]
#[allow(dead_code)]
pub struct NotFound(Problem);

/// The request conflicts with the current state (for example a taken email).
#[derive(ToResponse)]
#[response(
    content_type = "application/problem+json",
    example = json!({
        "type": "urn:broadsheet:problem:conflict", "title": "Conflict", "status": 409,
        "detail": "The slug `its-too-late-now` is taken.", "code": "conflict"
    })
)]
#[allow(dead_code)]
pub struct Conflict(Problem);

/// `If-Match` did not match the current `ETag`: someone else changed it.
#[derive(ToResponse)]
#[response(
    content_type = "application/problem+json",
    example = json!({
        "type": "urn:broadsheet:problem:precondition_failed", "title": "Precondition failed",
        "status": 412,
        "detail": "The resource changed since you read it (its ETag is now \"9f2c1a7b3d4e5f60\"); GET it again and reapply your change.",
        "code": "precondition_failed"
    })
)]
#[allow(dead_code)]
pub struct PreconditionFailed(Problem);

/// The body is larger than `MAX_BODY_BYTES`.
#[derive(ToResponse)]
#[response(
    content_type = "application/problem+json",
    example = json!({
        "type": "urn:broadsheet:problem:payload_too_large", "title": "Payload too large",
        "status": 413, "detail": "The request body is larger than the limit of 1048576 bytes.",
        "code": "payload_too_large"
    })
)]
#[allow(dead_code)]
pub struct PayloadTooLarge(Problem);

/// The body is not sent as `application/json`.
#[derive(ToResponse)]
#[response(
    content_type = "application/problem+json",
    example = json!({
        "type": "urn:broadsheet:problem:unsupported_media_type", "title": "Unsupported media type",
        "status": 415, "detail": "Send the body as JSON with `Content-Type: application/json`.",
        "code": "unsupported_media_type"
    })
)]
#[allow(dead_code)]
pub struct UnsupportedMediaType(Problem);

/// Validation failed; `errors` names each field and what is wrong with it.
#[derive(ToResponse)]
#[response(
    content_type = "application/problem+json",
    example = json!({
        "type": "urn:broadsheet:problem:validation_failed", "title": "Validation failed",
        "status": 422, "detail": "The request has 2 invalid fields.", "code": "validation_failed",
        "errors": [
            {"field": "title", "message": "must not be empty"},
            {"field": "per_page", "message": "must be between 1 and 100"}
        ]
    })
)]
#[allow(dead_code)]
pub struct Invalid(Problem);

/// Too many requests from this client; wait `Retry-After` seconds.
#[derive(ToResponse)]
#[response(
    content_type = "application/problem+json",
    headers(
        ("Retry-After" = u64, description = "Seconds to wait before retrying."),
        ("RateLimit-Policy" = String, description = "The quota that was used up."),
        ("RateLimit" = String, description = "Nothing left (`r=0`) and the seconds until the quota is whole.")
    ),
    example = json!({
        "type": "urn:broadsheet:problem:rate_limited", "title": "Too many requests", "status": 429,
        "detail": "Too many login requests from this address; retry later.", "code": "rate_limited"
    })
)]
#[allow(dead_code)]
pub struct RateLimited(Problem);

/// An unexpected fault. The body is generic; the cause is logged with this
/// response's `X-Request-Id`, so quote it when you report the problem.
#[derive(ToResponse)]
#[response(
    content_type = "application/problem+json",
    example = json!({
        "type": "urn:broadsheet:problem:internal_error", "title": "Internal server error",
        "status": 500,
        "detail": "An unexpected error occurred; it has been logged with this request's id.",
        "code": "internal_error"
    })
)]
#[allow(dead_code)]
pub struct InternalError(Problem);

/// The database is unreachable or too slow; retry after `Retry-After` seconds.
#[derive(ToResponse)]
#[response(
    content_type = "application/problem+json",
    headers(("Retry-After" = u64, description = "Seconds to wait before retrying.")),
    example = json!({
        "type": "urn:broadsheet:problem:unavailable", "title": "Service unavailable", "status": 503,
        "detail": "The service cannot reach its database right now; retry shortly.",
        "code": "unavailable"
    })
)]
#[allow(dead_code)]
pub struct Unavailable(Problem);

/// Not modified: the `If-None-Match` you sent names the current
/// representation, so keep using your cached copy. No body.
#[derive(ToResponse)]
#[response(headers(
    ("ETag" = String, description = "The current entity tag (the one you sent)."),
    ("Cache-Control" = String, description = "As on the `200`.")
))]
#[allow(dead_code)]
pub struct NotModified;

/// Operations answered from memory, without the database: they never
/// answer `503`.
const SERVED_WITHOUT_DATABASE: [&str; 3] = ["healthz", "getOpenApi", "getMetrics"];

/// Operations that declare no query parameter but refuse any
/// (`extract::NoParams`, so junk queries are not cached as new pages): they
/// answer `422` for a parameter and `400` for an over-long query.
const QUERY_REFUSED: [&str; 7] = [
    "getArticle",
    "getTag",
    "getComment",
    "getShareCounts",
    "getSitemapIndex",
    "getArticleSitemap",
    "getNewsSitemap",
];

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// The response headers this API sends, each with one schema and whether it
/// is always present on a response that documents it. Header names are
/// matched case-insensitively and written as here.
fn standard_header(name: &str) -> Option<(&'static str, bool, &'static str, Value)> {
    let known = [
        (
            "X-Request-Id",
            true,
            "This request's id: the client's own `X-Request-Id` when it sent a sane one \
             (1–128 visible ASCII characters), else a new UUID. Every log line of the request \
             carries it; quote it when reporting a problem.",
            json!({"type": "string", "minLength": 1, "maxLength": 128,
                   "example": "0f6c2a47-5a5e-4d0e-9a43-2b1f1f7d8c11"}),
        ),
        (
            "ETag",
            true,
            "Strong entity tag of this representation (a hash of the body, equal on every \
             instance): send it as `If-None-Match` to revalidate, or as `If-Match` on `PATCH`.",
            json!({"type": "string", "pattern": "^\"[0-9a-f]{16}\"$", "example": "\"9f2c1a7b3d4e5f60\""}),
        ),
        (
            "Cache-Control",
            true,
            "`public, max-age=N` (`CACHE_MAX_AGE_SECONDS`) on public reads, `no-store` on editor \
             routes and errors.",
            json!({"type": "string", "example": "public, max-age=60"}),
        ),
        (
            "Surrogate-Key",
            false,
            "The surrogate keys this response was built from, space separated (`article:<id>`, \
             `articles`, `tag:<id>`, `tags`, `author:<id>`, `authors`, `comments:<article id>`, \
             `shares:<article id>`), for a CDN to purge by; under 1 KB. Named by \
             `SURROGATE_KEY_HEADER` (`Cache-Tag`, comma separated, or `xkey`; absent when `off`).",
            json!({"type": "string", "maxLength": 1024, "example": "article:42 tag:3 author:7"}),
        ),
        (
            "Last-Modified",
            true,
            "When the resource was last changed (HTTP date).",
            json!({"type": "string", "example": "Tue, 24 Nov 2026 09:30:00 GMT"}),
        ),
        (
            "Link",
            false,
            "RFC 8288 links to the neighbouring pages (`rel=\"next\"`, `rel=\"prev\"`); absent \
             when there are none. The same URLs as `links` in the body.",
            json!({"type": "string",
                   "example": "</api/v1/articles?page=3>; rel=\"next\", </api/v1/articles?page=1>; rel=\"prev\""}),
        ),
        (
            "Location",
            true,
            "The URL of the created resource.",
            json!({"type": "string", "format": "uri-reference", "example": "/api/v1/admin/articles/42"}),
        ),
        (
            "Retry-After",
            true,
            "Seconds to wait before retrying.",
            json!({"type": "integer", "minimum": 1, "example": 5}),
        ),
        (
            "WWW-Authenticate",
            true,
            "The authentication scheme to use.",
            json!({"type": "string", "example": "Bearer realm=\"broadsheet\""}),
        ),
    ];
    known
        .into_iter()
        .find(|(known, ..)| known.eq_ignore_ascii_case(name))
        .or_else(|| rate_limit_header(name))
}

/// The headers of rate-limited routes and of idempotent retries (see
/// `finish_operation`).
fn rate_limit_header(name: &str) -> Option<(&'static str, bool, &'static str, Value)> {
    let known = [
        (
            "Idempotent-Replayed",
            false,
            "`true` when this is the stored answer to an earlier request with the same \
             `Idempotency-Key`: nothing was done again.",
            json!({"type": "string", "enum": ["true"]}),
        ),
        (
            "RateLimit-Policy",
            false,
            "The client's quota on this route (draft-ietf-httpapi-ratelimit-headers): \
             `\"name\";q=<requests>;w=<seconds>`. Absent when the limit is off.",
            json!({"type": "string", "example": "\"comment\";q=5;w=60"}),
        ),
        (
            "RateLimit",
            false,
            "What is left of the quota and the seconds until it is whole again: \
             `\"name\";r=<remaining>;t=<seconds>`. Slow down before `r` reaches 0. \
             Absent when the limit is off.",
            json!({"type": "string", "example": "\"comment\";r=4;t=12"}),
        ),
    ];
    known
        .into_iter()
        .find(|(known, ..)| known.eq_ignore_ascii_case(name))
}

/// Gives every documented response header its standard name, schema and
/// presence, keeping a description the annotation wrote; adds `X-Request-Id`.
fn finish_response(response: &mut Value) {
    let Some(response) = response.as_object_mut() else {
        return;
    };
    let headers = response
        .entry("headers")
        .or_insert_with(|| json!({}))
        .as_object_mut()
        .map(std::mem::take)
        .unwrap_or_default();
    let mut finished = Map::new();
    let request_id = ("X-Request-Id".to_string(), json!({}));
    for (name, header) in headers.into_iter().chain([request_id]) {
        let Some((canonical, required, default_description, schema)) = standard_header(&name) else {
            finished.insert(name, header);
            continue;
        };
        let description = header
            .get("description")
            .and_then(Value::as_str)
            .unwrap_or(default_description)
            .to_string();
        finished.insert(
            canonical.to_string(),
            json!({"description": description, "required": required, "schema": schema}),
        );
    }
    response.insert("headers".into(), Value::Object(finished));
}

/// The `Idempotency-Key` parameter of every POST and PATCH that keeps its
/// answer for retries.
fn idempotency_key() -> Value {
    json!({
        "name": "Idempotency-Key",
        "in": "header",
        "required": false,
        "description": "A unique key per request (a UUID): a retry with the same key and the same \
            body gets the first answer back (`Idempotent-Replayed: true`) and does nothing again. \
            The same key with another request is a `422 idempotency_key_reused`; while the first \
            still runs, `409 idempotency_key_in_use`. Kept `IDEMPOTENCY_KEY_TTL_HOURS` (24) per \
            editor, or per client address without a token.",
        "schema": {"type": "string", "minLength": 1, "maxLength": crate::service::idempotency::KEY_MAX,
                   "example": "6f1c3b1e-3a52-4b7e-9f0e-1a2b3c4d5e6f"}
    })
}

/// A keyed retry can be told the key is in use (409) or was used for
/// another request (422); a replayed success says so in a header.
fn idempotent_responses(responses: &mut Vec<(String, Value)>) {
    for (status, name) in [("409", "Conflict"), ("422", "Invalid")] {
        if !responses.iter().any(|(s, _)| s == status) {
            responses.push((status.to_string(), response_ref(name)));
        }
    }
    responses.sort_by(|(a, _), (b, _)| a.cmp(b));
    for (status, response) in responses.iter_mut() {
        if status.starts_with('2')
            && let Some(headers) = response
                .as_object_mut()
                .map(|r| r.entry("headers").or_insert_with(|| json!({})))
                .and_then(Value::as_object_mut)
        {
            headers.insert("Idempotent-Replayed".into(), json!({}));
        }
    }
}

/// The `If-None-Match` parameter of every GET that can answer `304`.
fn if_none_match() -> Value {
    json!({
        "name": "If-None-Match",
        "in": "header",
        "description": "The `ETag` of your cached copy: when it is still current the answer \
                        is `304 Not Modified` with no body.",
        "required": false,
        "schema": {"type": "string", "example": "\"9f2c1a7b3d4e5f60\""}
    })
}

/// `$ref` to a reusable response of this file.
fn response_ref(name: &str) -> Value {
    json!({"$ref": format!("#/components/responses/{name}")})
}

/// A parameter is sent or left out, never `null`: `Option<T>` in an
/// annotation means "not required", not a nullable type. And the paging
/// parameters every list shares (`http::pagination`) get their limits and
/// defaults, written once.
fn finish_parameter(parameter: &mut Value) {
    use crate::http::pagination::{DEFAULT_PER_PAGE, MAX_CURSOR_LEN, MAX_PAGE, MAX_PER_PAGE};
    if let Some(types) = parameter.pointer_mut("/schema/type")
        && let Some(list) = types.as_array()
    {
        let non_null: Vec<Value> = list.iter().filter(|t| *t != "null").cloned().collect();
        if let [single] = non_null.as_slice() {
            *types = single.clone();
        }
    }
    if parameter["in"] != "query" {
        return;
    }
    let limits = match parameter["name"].as_str() {
        // No `default`: generated clients send defaults on every call, and
        // `page=1` beside `cursor=` is a 422 (without either, a list is in
        // page mode from page 1 anyway).
        Some("page") => json!({"minimum": 1, "maximum": MAX_PAGE}),
        Some("per_page") => json!({"minimum": 1, "maximum": MAX_PER_PAGE, "default": DEFAULT_PER_PAGE}),
        Some("cursor") => json!({"maxLength": MAX_CURSOR_LEN}),
        _ => return,
    };
    if let (Some(schema), Some(limits)) = (
        parameter.get_mut("schema").and_then(Value::as_object_mut),
        limits.as_object(),
    ) {
        for (key, value) in limits {
            schema.entry(key.clone()).or_insert_with(|| value.clone());
        }
    }
}

/// Completes the document built from the route annotations with what is
/// true of every route, so that no handler can forget it:
///
/// - public operations say `security: []` (no token) explicitly;
/// - the error responses shared by every operation of a shape
///   ([`shared_responses`]): annotations never restate them;
/// - every `304` is [`NotModified`], and every GET that can answer it takes
///   `If-None-Match`;
/// - `page`, `per_page` and `cursor` carry the limits of `http::pagination`;
/// - every response documents `X-Request-Id`, and the standard headers
///   (`ETag`, `Link`, `Location`, `Retry-After`, …) one schema each.
pub fn finish(spec: &utoipa::openapi::OpenApi) -> Value {
    let mut doc = serde_json::to_value(spec).unwrap_or_default();
    if let Some(responses) = doc
        .pointer_mut("/components/responses")
        .and_then(Value::as_object_mut)
    {
        responses.values_mut().for_each(finish_response);
    }
    let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else {
        return doc;
    };
    for (path, item) in paths.iter_mut() {
        let Some(item) = item.as_object_mut() else {
            continue;
        };
        for (method, op) in item.iter_mut() {
            let Some(op) = op.as_object_mut().filter(|_| METHODS.contains(&method.as_str())) else {
                continue;
            };
            finish_operation(path, method, op);
        }
    }
    doc
}

/// Where a route needs a role: every route under it declares its minimum
/// role in its signature (`Auth<guard::…>`), which answers `403`.
const ROLE_CHECKED: &str = "/api/v1/admin/";

/// The error responses this document gives an operation from its shape
/// alone, as `(status, response)`: the one owner of the answers of the
/// shared extractors and middleware. Annotations list only what their
/// operation adds (`304`, `409`, `412`, `429`, a sign-in's `401`, …).
///
/// - `401` where a token is needed (`extract::authenticate`), and `403`
///   where a role is too ([`ROLE_CHECKED`]);
/// - `404` where the path names a resource (a path parameter that does not
///   parse names none);
/// - `400` and `422` where there is a query string (`extract::Query`),
///   including the routes that refuse any ([`QUERY_REFUSED`]);
/// - `400`, `413`, `415` and `422` where there is a JSON body
///   (`extract::Json`);
/// - `500` everywhere, `503` wherever the database is read.
pub fn shared_responses(
    path: &str,
    method: &str,
    op: &Map<String, Value>,
) -> Vec<(&'static str, &'static str)> {
    let id = op.get("operationId").and_then(Value::as_str).unwrap_or_default();
    let secured = op
        .get("security")
        .and_then(Value::as_array)
        .is_some_and(|s| s.iter().any(|r| r.get("bearerAuth").is_some()));
    let located = |place: &str| {
        op.get("parameters")
            .and_then(Value::as_array)
            .is_some_and(|p| p.iter().any(|p| p["in"] == place))
    };
    let mut shared = Vec::new();
    if secured {
        shared.push(("401", "Unauthorized"));
        let refuses_tokens = crate::http::scopes::required(method, path) == Access::PasswordSession;
        if path.starts_with(ROLE_CHECKED) || refuses_tokens {
            shared.push(("403", "Forbidden"));
        }
    }
    if located("path") {
        shared.push(("404", "NotFound"));
    }
    if located("query") || QUERY_REFUSED.contains(&id) {
        shared.extend([("400", "BadRequest"), ("422", "Invalid")]);
    }
    if op.contains_key("requestBody") {
        shared.extend([
            ("400", "BadRequest"),
            ("413", "PayloadTooLarge"),
            ("415", "UnsupportedMediaType"),
            ("422", "Invalid"),
        ]);
    }
    shared.push(("500", "InternalError"));
    if !SERVED_WITHOUT_DATABASE.contains(&id) {
        shared.push(("503", "Unavailable"));
    }
    shared.sort_unstable();
    shared.dedup();
    shared
}

fn finish_operation(path: &str, method: &str, op: &mut Map<String, Value>) {
    op.entry("security").or_insert_with(|| json!([]));
    let secured = op["security"]
        .as_array()
        .is_some_and(|s| s.iter().any(|r| r.get("bearerAuth").is_some()));
    if let (true, Access::Scope(scope)) = (secured, crate::http::scopes::required(method, path)) {
        // The scope an API token needs here (OpenAPI 3.1 lets a non-OAuth
        // scheme list the roles it requires); password sessions need none.
        op.insert("security".into(), json!([{"bearerAuth": [scope.as_str()]}]));
    }
    let shared = shared_responses(path, method, op);
    let mut responses: Vec<(String, Value)> = op
        .get_mut("responses")
        .and_then(Value::as_object_mut)
        .map(std::mem::take)
        .unwrap_or_default()
        .into_iter()
        .collect();
    for (status, name) in shared {
        // An annotation may answer a shared status its own way.
        if !responses.iter().any(|(s, _)| s == status) {
            responses.push((status.to_string(), response_ref(name)));
        }
    }
    responses.sort_by(|(a, _), (b, _)| a.cmp(b));
    // A rate-limited route tells the client where it stands on every
    // answer, so it can slow down before the 429.
    let limited = responses.iter().any(|(s, _)| s == "429");
    if limited {
        for (status, response) in &mut responses {
            if status.starts_with('2')
                && let Some(r) = response.as_object_mut()
            {
                let headers = r.entry("headers").or_insert_with(|| json!({}));
                if let Some(h) = headers.as_object_mut() {
                    h.insert("RateLimit-Policy".into(), json!({}));
                    h.insert("RateLimit".into(), json!({}));
                }
            }
        }
    }
    let idempotent = matches!(method, "post" | "patch") && !crate::http::idempotency::carries_secret(path);
    if idempotent {
        idempotent_responses(&mut responses);
    }
    let mut conditional = false;
    for (status, response) in &mut responses {
        if status == "304" {
            *response = response_ref("NotModified");
            conditional = method == "get";
        } else if response.get("$ref").is_none() {
            finish_response(response);
        }
    }
    op.insert("responses".into(), Value::Object(responses.into_iter().collect()));

    let mut parameters = op
        .get_mut("parameters")
        .and_then(Value::as_array_mut)
        .map(std::mem::take)
        .unwrap_or_default();
    parameters.iter_mut().for_each(finish_parameter);
    if idempotent {
        parameters.push(idempotency_key());
    }
    let has_if_none_match = parameters.iter().any(|p| {
        p["name"]
            .as_str()
            .is_some_and(|n| n.eq_ignore_ascii_case("if-none-match"))
    });
    if conditional && !has_if_none_match {
        parameters.push(if_none_match());
    }
    if !parameters.is_empty() {
        op.insert("parameters".into(), Value::Array(parameters));
    }
}
