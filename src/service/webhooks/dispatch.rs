//! The dispatcher: change log → outbox. A read builds one delivery per
//! matching active endpoint for the settled rows after the stored position;
//! one write transaction then locks the position (`FOR UPDATE` on
//! PostgreSQL, so one instance dispatches at a time; SQLite has one
//! writer), checks it has not moved since the read, inserts the deliveries
//! and stores the new position. A crash before the commit leaves both as
//! they were; after it, both moved: no enqueue is lost or made twice.

use chrono::NaiveDateTime;
use serde_json::{Value, json};

use super::{Presenter, message_id, new_delivery};
use crate::db::changes::{self, ChangeRow, Position};
use crate::db::webhooks::{self as store, EndpointRow};
use crate::db::{self, Db, DbConnection};
use crate::domain::change::{Action, Entity};
use crate::domain::{date, webhook};
use crate::error::AppError;

/// Change rows read per transaction.
const BATCH: i64 = 500;
/// Deliveries queued per transaction, at most (one change's fan-out may
/// pass it). Each is a row with its payload; on SQLite the transaction
/// holds the only writer, so a burst of changes times many endpoints is
/// queued in short transactions that editors' writes can go between.
const QUEUE_BUDGET: usize = 100;

/// What one call did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Dispatched {
    /// Deliveries queued.
    pub queued: usize,
    /// It stopped at its budget with changes still waiting: call again.
    pub more: bool,
}
/// The largest `data` sent whole; past it the article's bodies
/// (`body`, `body_html`, `body_text`) are left out and `truncated` is set.
pub const MAX_DATA_BYTES: usize = 64 * 1024;

/// Turns the settled changes after the position into deliveries, up to
/// [`QUEUE_BUDGET`] of them. Does nothing (and writes nothing) when no
/// endpoint is active or no change is waiting.
///
/// Two steps, so that the writer is held only to insert: the payloads are
/// built in a read (on SQLite the one writer would otherwise wait on every
/// article rendered for them, and editors' writes with it), then one write
/// transaction locks the position and checks it is still the one read and
/// that the endpoints are as the read saw them, inserts the deliveries and
/// stores the new position.
pub fn dispatch_once(db: &Db, present: &dyn Presenter) -> Result<Dispatched, AppError> {
    let Some(plan) = db.read_blocking(|conn| plan(conn, present))? else {
        return Ok(Dispatched::default());
    };
    db.write_blocking(move |conn| {
        if store::lock_position(conn)? != plan.from {
            // Another instance's dispatcher queued these meanwhile; this
            // one waits for its next poll rather than race it again.
            return Ok(Dispatched::default());
        }
        // An endpoint turned off and on again since the read (a later
        // `active_since`), given other events, or gone: plan afresh, so
        // none is sent what it no longer wants.
        let current = store::active_endpoints(conn)?;
        let same = |id: i64| {
            let then = plan.endpoints.iter().find(|e| e.id == id);
            let now = current.iter().find(|e| e.id == id);
            matches!((then, now), (Some(a), Some(b)) if a.active_since == b.active_since && a.events == b.events)
        };
        if !plan.deliveries.iter().all(|(id, _, _)| same(*id)) {
            return Ok(Dispatched {
                queued: 0,
                more: true,
            });
        }
        let now = date::now();
        let queued = plan.deliveries.len();
        for (endpoint, event, body) in plan.deliveries {
            store::insert_delivery(conn, &new_delivery(endpoint, message_id(), event, body, now))?;
        }
        store::set_position(conn, plan.to)?;
        Ok(Dispatched {
            queued,
            more: plan.more,
        })
    })
}

/// What one dispatch queues: from the position read to the one after the
/// last change it covers, and the deliveries `(endpoint, event, body)`.
struct Plan {
    from: Position,
    to: Position,
    /// The active endpoints as the read saw them.
    endpoints: Vec<EndpointRow>,
    deliveries: Vec<(i64, &'static str, String)>,
    more: bool,
}

/// Reads the changes after the position and builds their deliveries;
/// `None` when no endpoint is active or nothing is waiting.
fn plan(conn: &mut DbConnection, present: &dyn Presenter) -> Result<Option<Plan>, AppError> {
    if !store::any_active(conn)? {
        return Ok(None);
    }
    let from = store::position(conn)?;
    let rows = changes::read_settled(conn, from, BATCH)?;
    if rows.is_empty() {
        return Ok(None);
    }
    let endpoints = store::active_endpoints(conn)?;
    let now = date::now();
    let mut plan = Plan {
        from,
        to: from,
        endpoints: Vec::new(),
        deliveries: Vec::new(),
        more: rows.len() as i64 == BATCH,
    };
    for row in &rows {
        if plan.deliveries.len() >= QUEUE_BUDGET {
            plan.more = true;
            break;
        }
        plan.to = row.position();
        let Some(event) = webhook::event_for(row.entity, row.action, row.public) else {
            continue;
        };
        let targets: Vec<&EndpointRow> = endpoints
            .iter()
            .filter(|e| e.active_since <= row.changed_at)
            .filter(|e| e.events.split_whitespace().any(|x| x == event))
            .collect();
        if targets.is_empty() {
            continue;
        }
        let data = data_for(conn, present, row, now)?;
        let keys: Vec<String> = row
            .keys()
            .into_iter()
            .filter(|k| k.public())
            .map(|k| k.to_string())
            .collect();
        let body = envelope(event, row.changed_at, data, &keys);
        for endpoint in targets {
            plan.deliveries.push((endpoint.id, event, body.clone()));
        }
    }
    plan.endpoints = endpoints;
    Ok(Some(plan))
}

/// The body sent: `{type, timestamp, data, surrogate_keys}`.
pub fn envelope(event: &str, at: NaiveDateTime, data: Value, keys: &[String]) -> String {
    let data = bounded(data);
    json!({
        "type": event,
        "timestamp": at.and_utc().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "data": data,
        "surrogate_keys": keys,
    })
    .to_string()
}

/// `data`, without the article bodies when it is too large.
fn bounded(mut data: Value) -> Value {
    if data.to_string().len() <= MAX_DATA_BYTES {
        return data;
    }
    if let Some(object) = data.as_object_mut() {
        for field in ["body", "body_html", "body_text", "pull_quotes"] {
            object.remove(field);
        }
        object.insert("truncated".into(), Value::Bool(true));
    }
    data
}

/// The entity as the public API shows it now; `{id, slug}` when the
/// public can no longer see it (deleted, unpublished, or changed since).
fn data_for(
    conn: &mut DbConnection,
    present: &dyn Presenter,
    row: &ChangeRow,
    now: NaiveDateTime,
) -> Result<Value, AppError> {
    let gone = json!({"id": row.entity_id, "slug": row.slug});
    if row.action == Action::Deleted || row.action == Action::Unpublished {
        return Ok(gone);
    }
    Ok(match row.entity {
        Entity::Article => match db::articles::find(conn, row.entity_id)? {
            Some(article) if article.is_visible(now) => present.article(db::articles::view(conn, article)?),
            _ => gone,
        },
        Entity::Comment => match db::comments::find(conn, row.entity_id)? {
            Some(comment) if comment.is_counted() => present.comment(comment),
            _ => json!({"id": row.entity_id}),
        },
        Entity::Tag => match db::tags::find(conn, row.entity_id)? {
            Some(tag) => {
                let views = crate::service::tags::with_counts(conn, vec![tag], true)?;
                views.into_iter().next().map_or(gone, |v| present.tag(v))
            }
            None => gone,
        },
        _ => gone,
    })
}
