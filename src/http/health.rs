//! Operations routes: liveness, readiness and the OpenAPI document.

use actix_web::http::header;
use actix_web::{HttpResponse, get, web};
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::AppError;
use crate::http::conditional::NoStore;
use crate::state::AppState;

/// The spec, serialised once at start, served by `GET /api/v1/openapi.json`.
#[derive(Clone)]
pub struct SpecJson(pub web::Bytes);

/// Health of the process or of its dependencies.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"status": "ok"}))]
pub struct HealthResponse {
    /// `ok` when healthy.
    pub status: &'static str,
    /// The database backend in use (`sqlite` or `postgres`), on `/readyz`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database: Option<&'static str>,
}

/// Liveness
///
/// Answers as long as the process serves HTTP; does not touch the database.
#[utoipa::path(
    operation_id = "healthz",
    tag = "operations",
    responses((status = 200, description = "The process is up.", body = HealthResponse, headers(("Cache-Control" = String))))
)]
#[get("/healthz")]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().no_store().json(HealthResponse {
        status: "ok",
        database: None,
    })
}

/// Readiness
///
/// `200` when the database answers a query within `DB_TIMEOUT_SECONDS`,
/// `503` otherwise: take this instance out of the load balancer.
#[utoipa::path(
    operation_id = "readyz",
    tag = "operations",
    responses(
        (status = 200, description = "Ready to serve.", body = HealthResponse, headers(("Cache-Control" = String))),
    )
)]
#[get("/readyz")]
pub async fn readyz(state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    state.db.ping().await?;
    Ok(HttpResponse::Ok().no_store().json(HealthResponse {
        status: "ok",
        database: Some(state.db.backend().name()),
    }))
}

/// The OpenAPI document
///
/// This API's OpenAPI 3.1 description, as JSON: generate a typed client
/// from it, or browse it at `/docs/`. The same document as
/// `openapi/openapi.json` in the repository.
#[utoipa::path(
    operation_id = "getOpenApi",
    tag = "operations",
    responses((status = 200, description = "The OpenAPI 3.1 document.", content_type = "application/json", body = Object,
               headers(("Cache-Control" = String, description = "`public, max-age=300`.")),
               example = json!({"openapi": "3.1.0", "info": {"title": "Broadsheet API", "version": "1.0.0"}, "paths": {}})))
)]
#[get("/openapi.json")]
pub async fn openapi_json(spec: web::Data<SpecJson>) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
        .content_type("application/json")
        .body(spec.0.clone())
}
