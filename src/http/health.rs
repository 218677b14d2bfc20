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
    /// On `/readyz` when read replicas are configured
    /// (`DATABASE_REPLICA_URLS`): each one's standing. A replica out of
    /// rotation does not make the instance unready (public reads go to the
    /// others or the primary).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replicas: Option<Vec<ReplicaHealth>>,
}

/// One read replica's standing, from its last health check.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"index": 1, "state": "healthy", "in_rotation": true, "lag_seconds": 0.0}))]
pub struct ReplicaHealth {
    /// Its place in `DATABASE_REPLICA_URLS`, from 1 (addresses are not shown).
    pub index: usize,
    /// `starting` (not checked yet), `healthy`, `lagging` (more than
    /// `REPLICA_MAX_LAG_SECONDS` behind) or `down` (no answer, or not a replica).
    #[schema(example = "healthy")]
    pub state: &'static str,
    /// Whether public reads may go to it (only when `healthy`).
    pub in_rotation: bool,
    /// How far behind the primary it was at the last check, in seconds;
    /// null before a check succeeded.
    pub lag_seconds: Option<f64>,
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
        replicas: None,
    })
}

/// Readiness
///
/// `200` when the database answers a query within `DB_TIMEOUT_SECONDS`,
/// `503` otherwise: take this instance out of the load balancer. With read
/// replicas, also each replica's state and lag (for information: readiness
/// depends on the primary only).
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
    let replicas = state.db.has_replicas().then(|| {
        state
            .db
            .replica_status()
            .into_iter()
            .map(|r| ReplicaHealth {
                index: r.index,
                state: r.state.label(),
                in_rotation: r.in_rotation(),
                lag_seconds: r.lag_seconds,
            })
            .collect()
    });
    Ok(HttpResponse::Ok().no_store().json(HealthResponse {
        status: "ok",
        database: Some(state.db.backend().name()),
        replicas,
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
