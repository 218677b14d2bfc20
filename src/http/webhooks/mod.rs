//! Webhook endpoints (`/api/v1/admin/webhooks`), admins only (API tokens:
//! `editors:admin`). The signing secret is shown at creation and rotation
//! only. What is sent, when and how: docs/API.md, "Webhooks".

pub mod shapes;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, delete, get, patch, post, web};

use crate::error::AppError;
use crate::http::conditional::{self, CachePolicy, NoStore};
use crate::http::extract::{Auth, Json, guard};
use crate::http::pagination;
use crate::http::query::Query;
use crate::service::webhooks as service;
use crate::state::AppState;
use shapes::{
    CreateWebhookRequest, CreatedWebhookResponse, DeliveryList, DeliveryResponse, RotatedSecretResponse,
    UpdateWebhookRequest, WebhookList, WebhookListParams, WebhookResponse,
};

/// Registers the webhook routes (inside the admin scope).
pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list_webhooks)
        .service(create_webhook)
        .service(get_webhook)
        .service(update_webhook)
        .service(delete_webhook)
        .service(test_webhook)
        .service(rotate_webhook_secret)
        .service(list_webhook_deliveries)
        .service(redeliver_webhook);
}

/// List webhook endpoints
///
/// Every endpoint, newest first, without secrets.
#[utoipa::path(
    operation_id = "listWebhooks",
    tag = "admin-webhooks",
    security(("bearerAuth" = [])),
    params(WebhookListParams),
    responses((status = 200, description = "A page of endpoints.", body = WebhookList,
               headers(("Link" = String), ("Cache-Control" = String))))
)]
#[get("/webhooks")]
pub async fn list_webhooks(
    _auth: Auth<guard::Admin>,
    state: web::Data<AppState>,
    req: HttpRequest,
    params: Query<WebhookListParams>,
) -> Result<HttpResponse, AppError> {
    let paging = params.0.paging()?;
    let (rows, total) = service::list(&state.db, paging.offset(), paging.per_page() as i64).await?;
    let data: Vec<WebhookResponse> = rows.into_iter().map(WebhookResponse::from).collect();
    let body = pagination::page_of(&req, &paging, data, Some(total), None);
    let mut builder = HttpResponse::Ok();
    builder.no_store();
    Ok(pagination::list_response(builder, &body))
}

/// Create a webhook endpoint
///
/// Events are POSTed to `url`, signed per the Standard Webhooks
/// specification with the `secret` in this answer (shown once). A `url`
/// that is not http(s), or an unknown event, is `422` naming it.
#[utoipa::path(
    operation_id = "createWebhook",
    tag = "admin-webhooks",
    security(("bearerAuth" = [])),
    request_body = CreateWebhookRequest,
    responses((status = 201, description = "The endpoint, with its secret (shown once).",
               body = CreatedWebhookResponse,
               headers(("Location" = String), ("Cache-Control" = String))))
)]
#[post("/webhooks")]
pub async fn create_webhook(
    _auth: Auth<guard::Admin>,
    state: web::Data<AppState>,
    body: Json<CreateWebhookRequest>,
) -> Result<HttpResponse, AppError> {
    let input = shapes::validate_create(body.0)?;
    let mut row = service::create(&state.db, input).await?;
    let secret = std::mem::take(&mut row.secret);
    let webhook = WebhookResponse::from(row);
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, format!("/api/v1/admin/webhooks/{}", webhook.id)))
        .no_store()
        .json(CreatedWebhookResponse { secret, webhook }))
}

/// Get a webhook endpoint
///
/// Without its secret; `disabled_reason` says why the server turned it off.
#[utoipa::path(
    operation_id = "getWebhook",
    tag = "admin-webhooks",
    security(("bearerAuth" = [])),
    params(("id" = i64, Path, description = "Endpoint id.", minimum = 1)),
    responses(
        (status = 200, description = "The endpoint.", body = WebhookResponse,
         headers(("ETag" = String, description = "Send as `If-Match` on PATCH."), ("Cache-Control" = String))),
        (status = 304, response = crate::http::openapi::NotModified),
    )
)]
#[get("/webhooks/{id}")]
pub async fn get_webhook(
    _auth: Auth<guard::Admin>,
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let row = service::get(&state.db, id.into_inner()).await?;
    conditional::json_ok(&req, &WebhookResponse::from(row), CachePolicy::NoStore)
}

/// Update a webhook endpoint
///
/// `active: true` turns a disabled endpoint on again.
#[utoipa::path(
    operation_id = "updateWebhook",
    tag = "admin-webhooks",
    security(("bearerAuth" = [])),
    params(
        ("id" = i64, Path, description = "Endpoint id.", minimum = 1),
        ("If-Match" = Option<String>, Header, description = "ETag from the last GET; 412 if it is stale.",
         example = "\"9f2c1a7b3d4e5f60\""),
    ),
    request_body = UpdateWebhookRequest,
    responses(
        (status = 200, description = "The endpoint.", body = WebhookResponse,
         headers(("ETag" = String, description = "The new ETag, for the next `If-Match`."), ("Cache-Control" = String))),
        (status = 412, response = crate::http::openapi::PreconditionFailed),
    )
)]
#[patch("/webhooks/{id}")]
pub async fn update_webhook(
    _auth: Auth<guard::Admin>,
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<i64>,
    body: Json<UpdateWebhookRequest>,
) -> Result<HttpResponse, AppError> {
    let patch = shapes::validate_update(body.0)?;
    let if_match = conditional::if_match(&req);
    let row = service::update(&state.db, id.into_inner(), patch, move |current| {
        let etag = conditional::etag_of_json(&WebhookResponse::from(current.clone()))?;
        conditional::check_if_match(if_match.as_deref(), &etag)
    })
    .await?;
    conditional::json_ok(&req, &WebhookResponse::from(row), CachePolicy::NoStore)
}

/// Delete a webhook endpoint
///
/// With its deliveries and their log; nothing more is sent to it.
#[utoipa::path(
    operation_id = "deleteWebhook",
    tag = "admin-webhooks",
    security(("bearerAuth" = [])),
    params(("id" = i64, Path, description = "Endpoint id.", minimum = 1)),
    responses((status = 204, description = "Deleted."))
)]
#[delete("/webhooks/{id}")]
pub async fn delete_webhook(
    _auth: Auth<guard::Admin>,
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    service::delete(&state.db, id.into_inner()).await?;
    Ok(HttpResponse::NoContent().no_store().finish())
}

/// Send a test ping
///
/// Queues a `ping` event to the endpoint (whatever events it asked for);
/// its delivery shows in the delivery log. An inactive endpoint is `409`.
#[utoipa::path(
    operation_id = "testWebhook",
    tag = "admin-webhooks",
    security(("bearerAuth" = [])),
    params(("id" = i64, Path, description = "Endpoint id.", minimum = 1)),
    responses((status = 202, description = "Queued.", body = DeliveryResponse))
)]
#[post("/webhooks/{id}/test")]
pub async fn test_webhook(
    _auth: Auth<guard::Admin>,
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let delivery = service::test(&state.db, id.into_inner()).await?;
    let log = service::DeliveryLog {
        delivery,
        attempts: Vec::new(),
    };
    Ok(HttpResponse::Accepted()
        .no_store()
        .json(DeliveryResponse::from(log)))
}

/// Rotate the signing secret
///
/// A new secret, shown this once; the old one stops at once (deliveries
/// still pending are signed with the new one).
#[utoipa::path(
    operation_id = "rotateWebhookSecret",
    tag = "admin-webhooks",
    security(("bearerAuth" = [])),
    params(("id" = i64, Path, description = "Endpoint id.", minimum = 1)),
    responses((status = 200, description = "The new secret.", body = RotatedSecretResponse))
)]
#[post("/webhooks/{id}/rotate-secret")]
pub async fn rotate_webhook_secret(
    _auth: Auth<guard::Admin>,
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let row = service::rotate_secret(&state.db, id.into_inner()).await?;
    Ok(HttpResponse::Ok()
        .no_store()
        .json(RotatedSecretResponse { secret: row.secret }))
}

/// List an endpoint's deliveries
///
/// Newest first, each with the payload sent and every attempt (status,
/// duration, error, the first 1 KB of the answer), newest first.
#[utoipa::path(
    operation_id = "listWebhookDeliveries",
    tag = "admin-webhooks",
    security(("bearerAuth" = [])),
    params(("id" = i64, Path, description = "Endpoint id.", minimum = 1), WebhookListParams),
    responses((status = 200, description = "A page of deliveries.", body = DeliveryList,
               headers(("Link" = String), ("Cache-Control" = String))))
)]
#[get("/webhooks/{id}/deliveries")]
pub async fn list_webhook_deliveries(
    _auth: Auth<guard::Admin>,
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<i64>,
    params: Query<WebhookListParams>,
) -> Result<HttpResponse, AppError> {
    let paging = params.0.paging()?;
    let (logs, total) = service::deliveries(
        &state.db,
        id.into_inner(),
        paging.offset(),
        paging.per_page() as i64,
    )
    .await?;
    let data: Vec<DeliveryResponse> = logs.into_iter().map(DeliveryResponse::from).collect();
    let body = pagination::page_of(&req, &paging, data, Some(total), None);
    let mut builder = HttpResponse::Ok();
    builder.no_store();
    Ok(pagination::list_response(builder, &body))
}

/// Redeliver
///
/// Queues the delivery's payload again, due now, as a new delivery with
/// the same `webhook-id` (receivers de-duplicate on it). An inactive
/// endpoint is `409`: activate it first.
#[utoipa::path(
    operation_id = "redeliverWebhook",
    tag = "admin-webhooks",
    security(("bearerAuth" = [])),
    params(
        ("id" = i64, Path, description = "Endpoint id.", minimum = 1),
        ("delivery_id" = i64, Path, description = "Delivery id.", minimum = 1)
    ),
    responses((status = 202, description = "Queued.", body = DeliveryResponse))
)]
#[post("/webhooks/{id}/deliveries/{delivery_id}/redeliver")]
pub async fn redeliver_webhook(
    _auth: Auth<guard::Admin>,
    state: web::Data<AppState>,
    path: web::Path<(i64, i64)>,
) -> Result<HttpResponse, AppError> {
    let (id, delivery_id) = path.into_inner();
    let delivery = service::redeliver(&state.db, id, delivery_id).await?;
    let log = service::DeliveryLog {
        delivery,
        attempts: Vec::new(),
    };
    Ok(HttpResponse::Accepted()
        .no_store()
        .json(DeliveryResponse::from(log)))
}
