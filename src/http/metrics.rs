//! `GET /metrics` (Prometheus text format; the metrics themselves are in
//! `infra::metrics`). On the public listener it is served only as
//! `infra::metrics::Exposure` allows; on the `METRICS_ADDR` listener, built
//! by [`metrics_app`], it is the only route.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::{App, Error, HttpRequest, HttpResponse, get, web};

use crate::error::AppError;
use crate::http::conditional::NoStore;
use crate::infra::metrics::{Metrics, PublicAccess};
use crate::state::AppState;

fn exposition(registry: &Metrics) -> Result<HttpResponse, AppError> {
    let text = registry.encode().map_err(AppError::internal)?;
    Ok(HttpResponse::Ok()
        .no_store()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(text))
}

fn bearer(req: &HttpRequest) -> Option<&str> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// Metrics
///
/// Prometheus text exposition of the instance's counters. Served on the
/// public listener only with `METRICS_TOKEN` as bearer token when that is
/// set, or in development when neither it nor `METRICS_ADDR` is set.
#[utoipa::path(
    operation_id = "getMetrics",
    tag = "operations",
    responses((status = 200, description = "Prometheus text format.", content_type = "text/plain", body = String))
)]
#[get("/metrics")]
pub async fn metrics(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    match state.metrics_exposure.public_access(bearer(&req)) {
        PublicAccess::Serve => exposition(&state.metrics),
        PublicAccess::NeedsToken => Err(AppError::Unauthorized(
            "Send the metrics token as `Authorization: Bearer <token>`.".into(),
        )),
        PublicAccess::Hidden => Err(AppError::not_found(format!(
            "Nothing lives at {}; see /docs for the routes.",
            req.path()
        ))),
    }
}

async fn metrics_only(registry: web::Data<std::sync::Arc<Metrics>>) -> Result<HttpResponse, AppError> {
    exposition(&registry)
}

async fn not_here() -> Result<HttpResponse, AppError> {
    Err(AppError::not_found("This listener serves only /metrics."))
}

/// The application of the `METRICS_ADDR` listener: `GET /metrics` and
/// nothing else. Whoever can reach that address may read it.
pub fn metrics_app(
    registry: std::sync::Arc<Metrics>,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = Error,
        InitError = (),
    >,
> {
    App::new()
        .app_data(web::Data::new(registry))
        .route("/metrics", web::get().to(metrics_only))
        .default_service(web::to(not_here))
}
