//! The HTTP layer, the top of the one road every request takes
//! (http → service → db → domain; docs/ARCHITECTURE.md, "Layers and the one
//! rule for each"): routes, extractors and response shapes. Handlers are
//! thin: they validate input, call a use case in `service` (or `auth`),
//! which owns the transaction and the authorisation, and shape the
//! response. Nothing here names `crate::db` or diesel; the response cache,
//! rate limits and metrics are infrastructure (`infra`) that this layer
//! uses. `tests/architecture.rs` holds these rules.
//!
//! Every route is registered in [`configure`], through utoipa-actix-web, so
//! the OpenAPI document is built from the very registrations that serve
//! requests.

pub mod articles;
pub mod auth;
pub mod authors;
pub mod body_deadline;
pub mod cache_middleware;
pub mod changes;
pub mod client;
pub mod comments;
pub mod conditional;
pub mod cursor;
pub mod editors;
pub mod extract;
pub mod feeds;
pub mod head;
pub mod health;
pub mod idempotency;
pub mod metrics;
pub mod openapi;
pub mod pagination;
pub mod previews;
pub mod query;
pub mod scopes;
pub mod search;
pub mod shares;
pub mod tags;
pub mod tokens;
pub mod webhooks;

use actix_web::dev::ResourceDef;
use actix_web::{HttpRequest, HttpResponse, middleware, web};
use utoipa::OpenApi;
use utoipa_actix_web::{AppExt, scope};

use crate::error::AppError;

/// Registers every route of the service.
pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(health::healthz)
        .service(health::readyz)
        .service(metrics::metrics)
        .service(
            scope::scope("/api/v1")
                .service(health::openapi_json)
                .service(auth::login)
                .service(auth::refresh)
                .service(auth::logout)
                .service(auth::me)
                .service(auth::update_me)
                .service(auth::change_password)
                .service(auth::reset_password)
                .service(tokens::list_my_tokens)
                .service(tokens::create_token)
                .service(tokens::revoke_my_token)
                .service(articles::public::list_articles)
                .service(articles::public::get_article)
                .service(articles::related::related_articles)
                .service(search::search)
                .service(search::suggest)
                .service(previews::get_preview)
                .service(tags::list_tags)
                .service(tags::get_tag)
                .service(authors::list_authors)
                .service(authors::get_author)
                .service(comments::list_comments)
                .service(comments::get_comment)
                .service(comments::create_comment)
                .service(shares::record_share)
                .service(shares::get_share_counts)
                .service(feeds::get_rss_feed)
                .service(feeds::get_atom_feed)
                .service(feeds::get_json_feed)
                .service(feeds::get_sitemap_index)
                .service(feeds::get_article_sitemap)
                .service(feeds::get_news_sitemap)
                .service(changes::list_changes)
                .service(
                    scope::scope("/admin")
                        .wrap(middleware::from_fn(extract::authenticate))
                        .service(articles::admin::list_admin_articles)
                        .service(articles::admin::create_article)
                        .service(articles::admin::get_admin_article)
                        .service(articles::admin::update_article)
                        .service(articles::admin::delete_article)
                        .service(previews::create_preview_link)
                        .service(previews::revoke_preview_links)
                        .service(tags::list_admin_tags)
                        .service(tags::create_tag)
                        .service(tags::get_admin_tag)
                        .service(tags::update_tag)
                        .service(tags::delete_tag)
                        .service(editors::list_editors)
                        .service(editors::create_editor)
                        .service(editors::get_editor)
                        .service(editors::update_editor)
                        .service(editors::delete_editor)
                        .service(editors::create_password_reset)
                        .service(editors::unlock_editor)
                        .service(tokens::list_all_tokens)
                        .service(tokens::revoke_token)
                        .configure(webhooks::configure)
                        .service(comments::list_admin_comments)
                        .service(comments::bulk_moderate_comments)
                        .service(comments::get_admin_comment)
                        .service(comments::update_comment)
                        .service(comments::delete_comment)
                        // Before `/shares/{id}`, so `stats` is never read as an id.
                        .service(shares::get_share_stats)
                        .service(shares::list_share_events)
                        .service(shares::delete_share_events)
                        .service(shares::delete_share_event),
                ),
        );
}

/// The OpenAPI document of [`configure`]'s routes, completed by
/// [`openapi::finish`]: what `broadsheet openapi` prints, what
/// `GET /api/v1/openapi.json` serves and what `openapi/openapi.json` holds.
pub fn api_spec() -> ApiDocument {
    ApiDocument(openapi::finish(&annotated_spec()))
}

/// The OpenAPI document as the route annotations alone write it, before
/// [`openapi::finish`]: what tests read to check who owns what.
pub fn annotated_spec() -> utoipa::openapi::OpenApi {
    let (_, spec) = actix_web::App::new()
        .into_utoipa_app()
        .openapi(openapi_root())
        .configure(configure)
        .split_for_parts();
    spec
}

/// The document's root ([`openapi::ApiDoc`]) with the schemas that
/// handlers name only inside query parameters (so utoipa does not collect
/// them). Added here, where routes are assembled, so that `openapi` itself
/// needs nothing from the handlers.
pub fn openapi_root() -> utoipa::openapi::OpenApi {
    use utoipa::ToSchema;
    let mut root = openapi::ApiDoc::openapi();
    let components = root.components.get_or_insert_with(Default::default);
    components.schemas.insert(
        articles::ArticleField::name().into_owned(),
        <articles::ArticleField as utoipa::PartialSchema>::schema(),
    );
    let (name, response) = <changes::CursorExpired as utoipa::ToResponse>::response();
    components.responses.insert(name.to_string(), response);
    root
}

/// The finished OpenAPI document, as JSON.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiDocument(pub serde_json::Value);

impl ApiDocument {
    pub fn to_json(&self) -> Result<String, serde_json::Error> {
        serde_json::to_string(&self.0)
    }

    pub fn to_pretty_json(&self) -> Result<String, serde_json::Error> {
        serde_json::to_string_pretty(&self.0)
    }
}

/// Which methods each documented path accepts, so an unmatched request can
/// be told `405` with `Allow` instead of `404`.
pub struct RouteTable(Vec<(ResourceDef, Vec<&'static str>)>);

impl RouteTable {
    pub fn from_spec(spec: &ApiDocument) -> Self {
        let no_paths = serde_json::Map::new();
        let paths = spec
            .0
            .get("paths")
            .and_then(|p| p.as_object())
            .unwrap_or(&no_paths);
        let routes = paths
            .iter()
            .map(|(path, item)| {
                let methods = ["GET", "POST", "PUT", "PATCH", "DELETE"]
                    .into_iter()
                    .filter(|m| item.get(m.to_ascii_lowercase()).is_some())
                    .collect();
                (ResourceDef::new(path.as_str()), methods)
            })
            .collect();
        RouteTable(routes)
    }

    /// Whether a documented route answers `method` at `path`.
    pub fn accepts(&self, method: &str, path: &str) -> bool {
        self.allowed(path)
            .is_some_and(|methods| methods.contains(&method))
    }

    fn allowed(&self, path: &str) -> Option<Vec<&'static str>> {
        let mut allowed: Vec<&'static str> = self
            .0
            .iter()
            .filter(|(def, _)| def.is_match(path))
            .flat_map(|(_, methods)| methods.iter().copied())
            .collect();
        if allowed.is_empty() {
            return None;
        }
        allowed.sort_unstable();
        allowed.dedup();
        Some(allowed)
    }
}

/// The answer to any request no route took: `405` when the path exists with
/// other methods, else `404`. Both as problem+json.
pub async fn fallback(req: HttpRequest, routes: web::Data<RouteTable>) -> Result<HttpResponse, AppError> {
    Err(match routes.allowed(req.path()) {
        Some(allow) => AppError::MethodNotAllowed { allow },
        None => AppError::not_found(format!(
            "Nothing lives at {}; see /docs for the routes.",
            req.path()
        )),
    })
}

/// Path parameters that do not parse (`/editors/abc`) name no resource.
pub fn path_error(err: actix_web::error::PathError, req: &HttpRequest) -> actix_web::Error {
    tracing::debug!(error = %err, "bad path parameter");
    AppError::not_found(format!("Nothing lives at {}.", req.path())).into()
}
