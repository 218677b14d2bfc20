//! Request and response shapes of the webhook routes, their validation,
//! and the [`Presenter`] that gives payloads the public API's shapes.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::domain::url::SiteUrls;
use crate::domain::webhook;
use crate::error::{AppError, FieldError};
use crate::http::articles::ArticleResponse;
use crate::http::comments::CommentResponse;
use crate::http::extract::{Errors, double_option};
use crate::http::pagination::{Paging, list_schema};
use crate::http::tags::TagResponse;
use crate::service::webhooks::{
    ArticleView, CommentRow, DeliveryLog, EndpointPatch, EndpointRow, NewEndpointInput, Presenter, TagView,
};

/// The public shapes, as `GET /api/v1/articles/{slug}` and friends answer.
pub struct PublicShapes(pub SiteUrls);

impl Presenter for PublicShapes {
    fn article(&self, view: ArticleView) -> serde_json::Value {
        serde_json::to_value(ArticleResponse::new(view, &self.0)).unwrap_or_default()
    }
    fn comment(&self, row: CommentRow) -> serde_json::Value {
        serde_json::to_value(CommentResponse::from(row)).unwrap_or_default()
    }
    fn tag(&self, view: TagView) -> serde_json::Value {
        serde_json::to_value(TagResponse::from(view)).unwrap_or_default()
    }
}

/// A new webhook endpoint.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "url": "https://hooks.example.com/broadsheet",
    "events": ["article.published", "article.updated", "article.unpublished", "article.deleted"],
    "description": "Rebuild the static site"
}))]
pub struct CreateWebhookRequest {
    /// Where events are POSTed: `http` or `https`, at most 2,000 characters.
    pub url: String,
    /// The events wanted (see the `WebhookEvent` list), at least one.
    #[schema(value_type = Vec<WebhookEvent>, min_items = 1)]
    pub events: Vec<String>,
    #[serde(default)]
    pub description: Option<String>,
    /// Default `true`.
    #[serde(default)]
    pub active: Option<bool>,
}

/// A change to a webhook endpoint; absent fields stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"active": true}))]
pub struct UpdateWebhookRequest {
    pub url: Option<String>,
    #[schema(value_type = Option<Vec<WebhookEvent>>)]
    pub events: Option<Vec<String>>,
    /// `null` clears it.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub description: Option<Option<String>>,
    /// `true` turns a disabled endpoint on again (and clears
    /// `disabled_reason`); it receives changes committed from then on.
    pub active: Option<bool>,
}

/// An event type.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum WebhookEvent {
    #[serde(rename = "article.published")]
    ArticlePublished,
    #[serde(rename = "article.updated")]
    ArticleUpdated,
    #[serde(rename = "article.unpublished")]
    ArticleUnpublished,
    #[serde(rename = "article.deleted")]
    ArticleDeleted,
    #[serde(rename = "comment.created")]
    CommentCreated,
    #[serde(rename = "comment.approved")]
    CommentApproved,
    #[serde(rename = "tag.created")]
    TagCreated,
    #[serde(rename = "tag.updated")]
    TagUpdated,
    #[serde(rename = "tag.deleted")]
    TagDeleted,
    #[serde(rename = "ping")]
    Ping,
}

/// A webhook endpoint (never its secret).
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": 1, "url": "https://hooks.example.com/broadsheet", "events": ["article.published"],
    "description": "Rebuild the static site", "active": true, "disabled_reason": null,
    "disabled_at": null, "created_at": "2026-12-08T09:00:00Z", "updated_at": "2026-12-08T09:00:00Z"
}))]
pub struct WebhookResponse {
    pub id: i64,
    pub url: String,
    #[schema(value_type = Vec<WebhookEvent>)]
    pub events: Vec<String>,
    #[schema(required = true)]
    pub description: Option<String>,
    pub active: bool,
    /// Why the server turned the endpoint off (a whole retry schedule
    /// failed), else `null`.
    #[schema(required = true)]
    pub disabled_reason: Option<String>,
    #[schema(required = true)]
    pub disabled_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<EndpointRow> for WebhookResponse {
    fn from(row: EndpointRow) -> Self {
        WebhookResponse {
            id: row.id,
            url: row.url,
            events: webhook::split_events(&row.events),
            description: row.description,
            active: row.active,
            disabled_reason: row.disabled_reason,
            disabled_at: row.disabled_at.map(|t| t.and_utc()),
            created_at: row.created_at.and_utc(),
            updated_at: row.updated_at.and_utc(),
        }
    }
}

/// A new endpoint with its signing secret, shown this once.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    "id": 1, "url": "https://hooks.example.com/broadsheet", "events": ["article.published"],
    "description": "Rebuild the static site", "active": true, "disabled_reason": null,
    "disabled_at": null, "created_at": "2026-12-08T09:00:00Z", "updated_at": "2026-12-08T09:00:00Z"
}))]
pub struct CreatedWebhookResponse {
    /// `whsec_` and the base64 of 32 random bytes: the key of the
    /// `webhook-signature` HMAC. Shown only here and on rotation.
    #[schema(pattern = "^whsec_[A-Za-z0-9+/=]+$")]
    pub secret: String,
    #[serde(flatten)]
    pub webhook: WebhookResponse,
}

/// A new signing secret, shown this once.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}))]
pub struct RotatedSecretResponse {
    pub secret: String,
}

/// One attempt to deliver.
#[derive(Debug, Serialize, ToSchema)]
pub struct AttemptResponse {
    pub attempted_at: DateTime<Utc>,
    /// The receiver's status; `null` when there was no answer.
    #[schema(required = true)]
    pub status_code: Option<i32>,
    pub duration_ms: i64,
    /// Why the attempt failed (refused target, timeout, status), else `null`.
    #[schema(required = true)]
    pub error: Option<String>,
    /// The first 1 KB of the answer.
    #[schema(required = true)]
    pub response_body: Option<String>,
}

/// A message to the endpoint and its attempts, newest first.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": 12, "message_id": "msg_2f1c9a0b7d3e4f5a8b6c1d2e3f4a5b6c", "event": "ping",
    "status": "delivered", "next_attempt_at": null, "created_at": "2026-12-08T09:00:00Z",
    "payload": {"type": "ping", "timestamp": "2026-12-08T09:00:00.000Z",
                "data": {"endpoint_id": 1, "message": "ping from Broadsheet"}, "surrogate_keys": []},
    "attempts": [{"attempted_at": "2026-12-08T09:00:01Z", "status_code": 204, "duration_ms": 41,
                  "error": null, "response_body": ""}]
}))]
pub struct DeliveryResponse {
    pub id: i64,
    /// The `webhook-id` header: the same on every attempt and redelivery.
    pub message_id: String,
    #[schema(value_type = WebhookEvent)]
    pub event: String,
    /// `pending` (retrying), `delivered`, or `failed` (schedule spent).
    pub status: String,
    /// When the next attempt is due (pending only).
    #[schema(required = true)]
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    /// The body sent, as JSON.
    #[schema(value_type = Object)]
    pub payload: serde_json::Value,
    pub attempts: Vec<AttemptResponse>,
}

impl From<DeliveryLog> for DeliveryResponse {
    fn from(log: DeliveryLog) -> Self {
        let d = log.delivery;
        DeliveryResponse {
            id: d.id,
            message_id: d.message_id,
            event: d.event,
            next_attempt_at: (d.status == "pending").then(|| d.next_attempt_at.and_utc()),
            status: d.status,
            created_at: d.created_at.and_utc(),
            payload: serde_json::from_str(&d.payload).unwrap_or_default(),
            attempts: log
                .attempts
                .into_iter()
                .map(|a| AttemptResponse {
                    attempted_at: a.attempted_at.and_utc(),
                    status_code: a.status_code,
                    duration_ms: a.duration_ms,
                    error: a.error,
                    response_body: a.response_body,
                })
                .collect(),
        }
    }
}

list_schema!(WebhookList, WebhookResponse, "A page of webhook endpoints, newest first.", {
    "data": [], "meta": {"page": 1, "per_page": 20, "total": 0, "total_pages": 0},
    "links": {"self": "/api/v1/admin/webhooks", "next": null, "prev": null}
});

list_schema!(DeliveryList, DeliveryResponse, "A page of deliveries, newest first.", {
    "data": [], "meta": {"page": 1, "per_page": 20, "total": 0, "total_pages": 0},
    "links": {"self": "/api/v1/admin/webhooks/1/deliveries", "next": null, "prev": null}
});

/// Paging of a webhook list (newest first).
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct WebhookListParams {
    /// Page number, from 1.
    #[param(minimum = 1, maximum = 100000)]
    pub page: Option<u32>,
    /// Items per page, 1–100.
    #[param(minimum = 1, maximum = 100, default = 20)]
    pub per_page: Option<u32>,
}

impl WebhookListParams {
    pub fn paging(&self) -> Result<Paging, AppError> {
        let mut errors = Errors::default();
        let paging = Paging::from_params(self.page, self.per_page, None, &mut errors.0);
        errors.finish()?;
        Ok(paging)
    }
}

fn check_url(url: &str, errors: &mut Vec<FieldError>) -> String {
    let url = url.trim();
    match url::Url::parse(url) {
        _ if url.len() > 2000 => errors.push(FieldError::new("url", "must be at most 2,000 characters")),
        Ok(parsed) if !matches!(parsed.scheme(), "http" | "https") => errors.push(FieldError::new(
            "url",
            format!("`{}` is not allowed: use http or https", parsed.scheme()),
        )),
        Ok(parsed) if parsed.host().is_none() => errors.push(FieldError::new("url", "must name a host")),
        Ok(parsed) if !parsed.username().is_empty() || parsed.password().is_some() => {
            errors.push(FieldError::new("url", "must not carry a user name or password"))
        }
        Ok(_) => {}
        Err(e) => errors.push(FieldError::new("url", format!("is not a URL: {e}"))),
    }
    url.to_string()
}

fn check_events(events: &[String], errors: &mut Vec<FieldError>) -> Vec<String> {
    if events.is_empty() {
        errors.push(FieldError::new("events", "must name at least one event"));
    }
    for event in events {
        if !webhook::is_event(event) {
            errors.push(FieldError::new(
                "events",
                format!(
                    "`{event}` is not an event; one of: {}",
                    webhook::EVENTS.join(", ")
                ),
            ));
        }
    }
    let mut events = events.to_vec();
    events.sort();
    events.dedup();
    events
}

fn check_description(text: Option<String>, errors: &mut Vec<FieldError>) -> Option<String> {
    let text = text.map(|t| t.trim().to_string()).filter(|t| !t.is_empty());
    if text.as_ref().is_some_and(|t| t.chars().count() > 500) {
        errors.push(FieldError::new("description", "must be at most 500 characters"));
    }
    text
}

pub fn validate_create(body: CreateWebhookRequest) -> Result<NewEndpointInput, AppError> {
    let mut errors = Errors::default();
    let url = check_url(&body.url, &mut errors.0);
    let events = check_events(&body.events, &mut errors.0);
    let description = check_description(body.description, &mut errors.0);
    errors.finish()?;
    Ok(NewEndpointInput {
        url,
        events,
        description,
        active: body.active.unwrap_or(true),
    })
}

pub fn validate_update(body: UpdateWebhookRequest) -> Result<EndpointPatch, AppError> {
    let mut errors = Errors::default();
    let url = body.url.map(|u| check_url(&u, &mut errors.0));
    let events = body.events.map(|e| check_events(&e, &mut errors.0));
    let description = body.description.map(|d| check_description(d, &mut errors.0));
    errors.finish()?;
    Ok(EndpointPatch {
        url,
        events,
        description,
        active: body.active,
    })
}
