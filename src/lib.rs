//! Broadsheet: a headless content API for a news site's opinion pages.
//!
//! Layers, outermost first:
//! - [`http`]: routes, extractors, response shapes (actix-web + utoipa);
//! - [`service`] and [`auth`]: use cases and sign-in rules;
//! - [`infra`]: response cache, rate limits, client addresses, metrics;
//! - [`domain`]: pure rules and value types;
//! - [`db`]: storage, the only place that speaks SQL (diesel, SQLite or
//!   PostgreSQL chosen at run time).
//!
//! [`build_app`] assembles the application for the server and for the
//! in-process tests alike.

pub mod auth;
pub mod config;
pub mod db;
pub mod demo;
pub mod domain;
pub mod error;
pub mod http;
pub mod infra;
pub mod server;
pub mod service;
pub mod state;
pub mod telemetry;

use actix_cors::Cors;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::{self, Next};
use actix_web::{App, Error, web};
use utoipa_actix_web::AppExt;
use utoipa_swagger_ui::SwaggerUi;

use crate::config::Config;
use crate::http::RouteTable;
use crate::http::health::SpecJson;
use crate::state::AppState;

/// What `build_app` needs besides the state: computed once per process.
#[derive(Clone)]
pub struct AppParts {
    pub state: web::Data<AppState>,
    pub spec: SpecJson,
    pub routes: web::Data<RouteTable>,
    /// The webhook threads; they stop when the last copy goes.
    pub webhooks: std::sync::Arc<service::webhooks::worker::Running>,
}

impl AppParts {
    pub fn new(state: AppState) -> Self {
        let spec = http::api_spec();
        let routes = web::Data::new(RouteTable::from_spec(&spec));
        let spec = SpecJson(web::Bytes::from(spec.to_json().unwrap_or_default()));
        let webhooks = std::sync::Arc::new(service::webhooks::worker::start(
            state.db.clone(),
            state.config.webhooks.clone(),
            std::sync::Arc::new(http::webhooks::shapes::PublicShapes(
                state.config.site_urls.clone(),
            )),
            state.metrics.webhooks.clone(),
        ));
        AppParts {
            state: web::Data::new(state),
            spec,
            routes,
            webhooks,
        }
    }
}

/// The whole application: routes, error mapping, and middleware.
pub fn build_app(
    parts: AppParts,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = Error,
        InitError = (),
    >,
> {
    let config = parts.state.config.clone();
    let (app, _) = App::new()
        .into_utoipa_app()
        .openapi(http::openapi_root())
        .configure(http::configure)
        .split_for_parts();
    app.app_data(parts.state)
        .app_data(web::Data::new(parts.spec))
        .app_data(parts.routes)
        .app_data(web::PathConfig::default().error_handler(http::path_error))
        .service(web::redirect("/docs", "/docs/"))
        .service(SwaggerUi::new("/docs/{_:.*}").config(docs_config()))
        .default_service(web::to(http::fallback))
        .wrap(middleware::from_fn(http::idempotency::idempotency))
        .wrap(middleware::from_fn(http::cache_middleware::public_response_cache))
        .wrap(middleware::Compress::default())
        .wrap(middleware::from_fn(http::head::head_as_get))
        .wrap(middleware::from_fn(http::body_deadline::body_deadline))
        .wrap(cors(&config))
        .wrap(middleware::from_fn(security_headers))
        .wrap(middleware::from_fn(telemetry::request_context))
}

/// The `/docs/` page: Swagger UI over this server's own document, fully
/// offline (the files are vendored; the online spec validator is off, so the
/// page never calls out), without the URL bar of the standalone layout.
fn docs_config() -> utoipa_swagger_ui::Config<'static> {
    utoipa_swagger_ui::Config::new(["/api/v1/openapi.json"])
        .use_base_layout()
        .validator_url("none")
        .display_operation_id(true)
        .display_request_duration(true)
        .filter(true)
        .persist_authorization(false)
}

/// Cross-origin access for the configured origins only. Requests from other
/// origins are served without CORS headers, so browsers keep them out.
fn cors(config: &Config) -> Cors {
    let mut cors = Cors::default()
        .allowed_methods(["GET", "POST", "PATCH", "DELETE"])
        .allowed_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::IF_MATCH,
            header::IF_NONE_MATCH,
            header::HeaderName::from_static("idempotency-key"),
            header::HeaderName::from_static("x-request-id"),
        ])
        .expose_headers([
            header::ETAG,
            header::LINK,
            header::LOCATION,
            header::RETRY_AFTER,
            header::HeaderName::from_static("ratelimit"),
            header::HeaderName::from_static("ratelimit-policy"),
            header::HeaderName::from_static("idempotent-replayed"),
            header::HeaderName::from_static("x-request-id"),
        ])
        .max_age(3600)
        .block_on_origin_mismatch(false);
    let allowed = config.cors_allowed_origins.clone();
    if !allowed.is_empty() {
        cors = cors.allowed_origin_fn(move |origin, _| {
            origin
                .to_str()
                .is_ok_and(|o| allowed.iter().any(|rule| rule.matches(o)))
        });
    }
    if !config.cors_allowed_origins.is_empty() {
        cors = cors.supports_credentials();
    }
    cors
}

/// Security headers on every response, errors included. The API never
/// serves HTML except the `/docs` page, which gets a policy allowing its own
/// scripts and styles (files only: no inline script, no eval).
///
/// Also the last word on CORS: a response without
/// `Access-Control-Allow-Origin` (the origin is not configured) carries no
/// other `Access-Control-*` header either, so credentials are only ever
/// offered to a configured origin.
async fn security_headers(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody + 'static>, Error> {
    let is_docs = req.path().starts_with("/docs");
    match next.call(req).await {
        Ok(response) => {
            let mut response = if needs_problem_body(&response) {
                // A plain-text error from a middleware (CORS refusing a
                // preflight): the same status as a problem document.
                let (request, res) = response.into_parts();
                let status = res.status();
                let encoded = res.headers().contains_key(header::CONTENT_ENCODING);
                let text = actix_web::body::to_bytes(res.into_body())
                    .await
                    .ok()
                    .filter(|_| !encoded)
                    .map(|b| String::from_utf8_lossy(&b).trim().to_string())
                    .unwrap_or_default();
                ServiceResponse::new(request, problem_for(status, text)).map_into_right_body()
            } else {
                response.map_into_left_body()
            };
            let status = response.status();
            apply_security_headers(response.headers_mut(), status, is_docs);
            let standing = actix_web::HttpMessage::extensions(response.request())
                .get::<infra::rate_limit::Standing>()
                .cloned();
            if let Some(standing) = standing {
                for (name, value) in http::client::rate_limit_headers(&standing) {
                    if let Ok(value) = header::HeaderValue::from_str(&value) {
                        response.headers_mut().insert(name, value);
                    }
                }
            }
            Ok(response)
        }
        // An error from an inner middleware (CORS refusing a preflight)
        // travels up as `Err`: it is given its problem response here, with
        // these headers, and `request_context` passes that response on.
        Err(error) => {
            let mut response = problem_response(&error);
            let status = response.status();
            apply_security_headers(response.headers_mut(), status, is_docs);
            Err(actix_web::error::InternalError::from_response(error.to_string(), response).into())
        }
    }
}

fn apply_security_headers(headers: &mut header::HeaderMap, status: StatusCode, is_docs: bool) {
    if status.is_client_error() || status.is_server_error() {
        // Errors are about this request at this moment: never kept.
        headers.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static(http::conditional::NO_STORE),
        );
    }
    if !headers.contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN) {
        let cors: Vec<_> = headers
            .keys()
            .filter(|name| name.as_str().starts_with("access-control-"))
            .cloned()
            .collect();
        for name in cors {
            headers.remove(name);
        }
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    let csp = if is_docs {
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; \
         connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
    } else {
        "default-src 'none'; frame-ancestors 'none'"
    };
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(csp));
}

/// The problem+json answer to an error that is not ours (a middleware's
/// plain-text error), keeping its status class.
fn problem_response(error: &Error) -> actix_web::HttpResponse {
    use actix_web::ResponseError;
    if let Some(ours) = error.as_error::<error::AppError>() {
        return ours.error_response();
    }
    problem_for(error.as_response_error().status_code(), error.to_string())
}

/// An error status whose body is not a problem document.
fn needs_problem_body<B>(response: &ServiceResponse<B>) -> bool {
    let status = response.status();
    (status.is_client_error() || status.is_server_error())
        && response
            .headers()
            .get(header::CONTENT_TYPE)
            .is_none_or(|v| v.as_bytes() != error::PROBLEM_JSON.as_bytes())
}

fn problem_for(status: StatusCode, detail: String) -> actix_web::HttpResponse {
    use actix_web::ResponseError;
    let detail = if detail.is_empty() {
        status.canonical_reason().unwrap_or("Refused").to_string()
    } else {
        detail
    };
    let problem = match status.as_u16() {
        401 => error::AppError::Unauthorized(detail),
        403 => error::AppError::forbidden(detail),
        404 => error::AppError::not_found(detail),
        400..=499 => error::AppError::bad_request(detail),
        _ => error::AppError::internal(detail),
    };
    problem.error_response()
}
