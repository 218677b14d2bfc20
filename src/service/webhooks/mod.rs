//! Webhooks: endpoints an admin registers, fed from the change log.
//!
//! - [`dispatch`] turns settled change-log rows into deliveries, one per
//!   matching active endpoint, and moves its position in the same
//!   transaction (a crash neither loses nor repeats an enqueue).
//! - [`worker`] claims due deliveries (a lease; `FOR UPDATE SKIP LOCKED` on
//!   PostgreSQL), signs and sends them off the request path, records each
//!   attempt, retries on the schedule and disables an endpoint that fails
//!   a whole schedule.
//! - This module: the admin use cases (CRUD, test ping, secret rotation,
//!   delivery log, redelivery).
//!
//! The signing secret is kept as the receiver got it (`whsec_…`), in the
//! database: the server must sign with it, so it cannot be hashed like a
//! token; whoever reads the database can forge webhooks (see docs/API.md).

pub mod dispatch;
pub mod worker;

use chrono::NaiveDateTime;

use crate::db::{self, Db, DbConnection};
use crate::domain::{date, webhook};
use crate::error::AppError;

pub use crate::db::webhooks::{AttemptRow, DeliveryRow, EndpointRow};
pub use crate::service::articles::ArticleView;
pub use crate::service::comments::CommentRow;
pub use crate::service::tags::TagView;

/// How the public API shows an entity, supplied by the HTTP layer (which
/// owns the public shapes), so that a payload is what a reader of the API
/// would see.
pub trait Presenter: Send + Sync {
    fn article(&self, view: ArticleView) -> serde_json::Value;
    fn comment(&self, row: CommentRow) -> serde_json::Value;
    fn tag(&self, view: TagView) -> serde_json::Value;
}

/// A validated new endpoint.
pub struct NewEndpointInput {
    pub url: String,
    pub events: Vec<String>,
    pub description: Option<String>,
    pub active: bool,
}

/// A validated change (`None`: unchanged).
#[derive(Default)]
pub struct EndpointPatch {
    pub url: Option<String>,
    pub events: Option<Vec<String>>,
    pub description: Option<Option<String>>,
    pub active: Option<bool>,
}

/// A delivery with its attempts, newest first.
pub struct DeliveryLog {
    pub delivery: DeliveryRow,
    pub attempts: Vec<AttemptRow>,
}

fn no_endpoint(id: i64) -> AppError {
    AppError::not_found(format!("No webhook endpoint has id {id}."))
}

fn fresh_secret() -> String {
    webhook::new_secret(rand::random())
}

/// A new message id (`webhook-id`): the same for every attempt of it.
pub fn message_id() -> String {
    format!("msg_{}", uuid::Uuid::new_v4().simple())
}

pub async fn create(db: &Db, input: NewEndpointInput) -> Result<EndpointRow, AppError> {
    db.write(move |conn| {
        let now = date::now();
        let new = db::webhooks::NewEndpoint {
            url: input.url,
            events: webhook::join_events(&input.events),
            description: input.description,
            active: input.active,
            secret: fresh_secret(),
            active_since: now,
            created_at: now,
            updated_at: now,
        };
        if new.active {
            skip_idle_backlog(conn)?;
        }
        Ok(db::webhooks::insert_endpoint(conn, &new)?)
    })
    .await
}

/// Before the first endpoint turns active: moves the dispatcher's position
/// to the log's settled head. It stays put while no endpoint is active (the
/// dispatcher idles and writes nothing), and every change before now is
/// older than the endpoint's `active_since`, so none would be sent; without
/// this the first endpoint of a long-running site would wait while months
/// of log were read past.
fn skip_idle_backlog(conn: &mut DbConnection) -> Result<(), AppError> {
    // The lock first: two "first" endpoints created at once wait here in
    // turn, and the second then sees the first as active and moves
    // nothing (else it could move past changes meant for the first).
    let at = db::webhooks::lock_position(conn)?;
    if db::webhooks::any_active(conn)? {
        return Ok(());
    }
    let head = db::changes::head(conn)?;
    if head > at {
        db::webhooks::set_position(conn, head)?;
    }
    Ok(())
}

pub async fn list(db: &Db, offset: i64, limit: i64) -> Result<(Vec<EndpointRow>, i64), AppError> {
    db.read(move |conn| Ok(db::webhooks::list_endpoints(conn, offset, limit)?))
        .await
}

pub async fn get(db: &Db, id: i64) -> Result<EndpointRow, AppError> {
    db.read(move |conn| db::webhooks::find_endpoint(conn, id)?.ok_or_else(|| no_endpoint(id)))
        .await
}

/// Applies `patch`. Turning an endpoint on again clears its disabled
/// reason; it receives changes committed from then on.
/// `check` sees the endpoint as it is (the HTTP layer's `If-Match`).
pub async fn update(
    db: &Db,
    id: i64,
    patch: EndpointPatch,
    check: impl FnOnce(&EndpointRow) -> Result<(), AppError> + Send + 'static,
) -> Result<EndpointRow, AppError> {
    db.write(move |conn| {
        let current = db::webhooks::find_endpoint(conn, id)?.ok_or_else(|| no_endpoint(id))?;
        check(&current)?;
        let now = date::now();
        let reactivated = patch.active == Some(true) && !current.active;
        let mut changes = db::webhooks::EndpointChanges {
            url: patch.url,
            events: patch.events.map(|e| webhook::join_events(&e)),
            description: patch.description,
            active: patch.active,
            updated_at: Some(now),
            ..Default::default()
        };
        if reactivated {
            skip_idle_backlog(conn)?;
            changes.active_since = Some(now);
            changes.disabled_reason = Some(None);
            changes.disabled_at = Some(None);
        }
        Ok(db::webhooks::update_endpoint(conn, id, &changes)?)
    })
    .await
}

pub async fn delete(db: &Db, id: i64) -> Result<(), AppError> {
    db.write(move |conn| match db::webhooks::delete_endpoint(conn, id)? {
        0 => Err(no_endpoint(id)),
        _ => Ok(()),
    })
    .await
}

/// A new secret; deliveries still pending are signed with it.
pub async fn rotate_secret(db: &Db, id: i64) -> Result<EndpointRow, AppError> {
    db.write(move |conn| {
        db::webhooks::find_endpoint(conn, id)?.ok_or_else(|| no_endpoint(id))?;
        let changes = db::webhooks::EndpointChanges {
            secret: Some(fresh_secret()),
            updated_at: Some(date::now()),
            ..Default::default()
        };
        Ok(db::webhooks::update_endpoint(conn, id, &changes)?)
    })
    .await
}

/// Queues a `ping` to the endpoint (whatever events it asked for).
pub async fn test(db: &Db, id: i64) -> Result<DeliveryRow, AppError> {
    db.write(move |conn| {
        let endpoint = db::webhooks::find_endpoint(conn, id)?.ok_or_else(|| no_endpoint(id))?;
        if !endpoint.active {
            return Err(AppError::Conflict(
                "The endpoint is not active: turn it on (PATCH active=true) to test it.".into(),
            ));
        }
        let now = date::now();
        let data = serde_json::json!({"endpoint_id": id, "message": "ping from Broadsheet"});
        let body = dispatch::envelope("ping", now, data, &[]);
        Ok(db::webhooks::insert_delivery(
            conn,
            &new_delivery(id, message_id(), "ping", body, now),
        )?)
    })
    .await
}

pub(crate) fn new_delivery(
    endpoint_id: i64,
    message_id: String,
    event: &str,
    payload: String,
    now: NaiveDateTime,
) -> db::webhooks::NewDelivery {
    db::webhooks::NewDelivery {
        endpoint_id,
        message_id,
        event: event.to_string(),
        payload,
        status: db::webhooks::PENDING,
        attempts: 0,
        next_attempt_at: now,
        created_at: now,
        updated_at: now,
    }
}

/// A page of the endpoint's deliveries, newest first, with their attempts.
pub async fn deliveries(
    db: &Db,
    id: i64,
    offset: i64,
    limit: i64,
) -> Result<(Vec<DeliveryLog>, i64), AppError> {
    db.read(move |conn| {
        db::webhooks::find_endpoint(conn, id)?.ok_or_else(|| no_endpoint(id))?;
        let (rows, total) = db::webhooks::list_deliveries(conn, id, offset, limit)?;
        let ids: Vec<i64> = rows.iter().map(|d| d.id).collect();
        let mut attempts = db::webhooks::attempts_of(conn, &ids)?;
        let logs = rows
            .into_iter()
            .map(|delivery| {
                let (mine, rest) = attempts.drain(..).partition(|a| a.delivery_id == delivery.id);
                attempts = rest;
                DeliveryLog {
                    delivery,
                    attempts: mine,
                }
            })
            .collect();
        Ok((logs, total))
    })
    .await
}

/// Queues the delivery's payload again as a new delivery with the same
/// message id (receivers de-duplicate on `webhook-id`), due now.
pub async fn redeliver(db: &Db, id: i64, delivery_id: i64) -> Result<DeliveryRow, AppError> {
    db.write(move |conn| {
        let endpoint = db::webhooks::find_endpoint(conn, id)?.ok_or_else(|| no_endpoint(id))?;
        if !endpoint.active {
            // Queued now, it would go out unannounced on reactivation.
            return Err(AppError::Conflict(format!(
                "Webhook endpoint {id} is not active: activate it first (PATCH active: true)."
            )));
        }
        let old = db::webhooks::find_delivery(conn, id, delivery_id)?.ok_or_else(|| {
            AppError::not_found(format!("Webhook endpoint {id} has no delivery {delivery_id}."))
        })?;
        let new = new_delivery(id, old.message_id, &old.event, old.payload, date::now());
        Ok(db::webhooks::insert_delivery(conn, &new)?)
    })
    .await
}

/// How long the delivery log keeps a finished delivery (delivered, or
/// failed for good) and its attempts.
pub const KEEP_FINISHED: chrono::TimeDelta = chrono::TimeDelta::days(30);

/// Deletes the finished deliveries older than [`KEEP_FINISHED`] at `now`,
/// in batches; returns how many went. Run by the poller every few minutes.
pub fn purge_finished(db: &Db, now: chrono::NaiveDateTime) -> Result<usize, AppError> {
    let before = now - KEEP_FINISHED;
    let mut total = 0;
    loop {
        let gone = db.write_blocking(move |conn| Ok(db::webhooks::purge_finished(conn, before, 1_000)?))?;
        total += gone;
        if gone < 1_000 {
            return Ok(total);
        }
    }
}
