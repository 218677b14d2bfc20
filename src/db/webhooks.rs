//! Webhook endpoints, the delivery outbox and its attempts, and the
//! dispatcher's position in the change log (`service::webhooks` says how
//! they are used).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::DbConnection;
use super::changes::Position;
use super::schema::{webhook_attempts, webhook_deliveries, webhook_dispatch, webhook_endpoints};

pub const PENDING: &str = "pending";
pub const DELIVERED: &str = "delivered";
pub const FAILED: &str = "failed";

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = webhook_endpoints)]
pub struct EndpointRow {
    pub id: i64,
    pub url: String,
    pub events: String,
    pub description: Option<String>,
    pub active: bool,
    pub secret: String,
    pub active_since: NaiveDateTime,
    pub disabled_reason: Option<String>,
    pub disabled_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = webhook_endpoints)]
pub struct NewEndpoint {
    pub url: String,
    pub events: String,
    pub description: Option<String>,
    pub active: bool,
    pub secret: String,
    pub active_since: NaiveDateTime,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// Fields an update sets (`None`: unchanged).
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = webhook_endpoints)]
pub struct EndpointChanges {
    pub url: Option<String>,
    pub events: Option<String>,
    pub description: Option<Option<String>>,
    pub active: Option<bool>,
    pub secret: Option<String>,
    pub active_since: Option<NaiveDateTime>,
    pub disabled_reason: Option<Option<String>>,
    pub disabled_at: Option<Option<NaiveDateTime>>,
    pub updated_at: Option<NaiveDateTime>,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = webhook_deliveries)]
pub struct DeliveryRow {
    pub id: i64,
    pub endpoint_id: i64,
    pub message_id: String,
    pub event: String,
    pub payload: String,
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at: NaiveDateTime,
    pub lease_until: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = webhook_deliveries)]
pub struct NewDelivery {
    pub endpoint_id: i64,
    pub message_id: String,
    pub event: String,
    pub payload: String,
    pub status: &'static str,
    pub attempts: i32,
    pub next_attempt_at: NaiveDateTime,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = webhook_attempts)]
pub struct AttemptRow {
    #[diesel(skip_insertion)]
    pub id: i64,
    pub delivery_id: i64,
    pub attempted_at: NaiveDateTime,
    pub status_code: Option<i32>,
    pub duration_ms: i64,
    pub error: Option<String>,
    pub response_body: Option<String>,
}

pub fn insert_endpoint(conn: &mut DbConnection, new: &NewEndpoint) -> QueryResult<EndpointRow> {
    diesel::insert_into(webhook_endpoints::table)
        .values(new)
        .get_result(conn)
}

pub fn list_endpoints(
    conn: &mut DbConnection,
    offset: i64,
    limit: i64,
) -> QueryResult<(Vec<EndpointRow>, i64)> {
    let rows = webhook_endpoints::table
        .order(webhook_endpoints::id.desc())
        .offset(offset)
        .limit(limit)
        .select(EndpointRow::as_select())
        .load(conn)?;
    let total = webhook_endpoints::table.count().get_result(conn)?;
    Ok((rows, total))
}

pub fn find_endpoint(conn: &mut DbConnection, id: i64) -> QueryResult<Option<EndpointRow>> {
    webhook_endpoints::table
        .find(id)
        .select(EndpointRow::as_select())
        .first(conn)
        .optional()
}

pub fn update_endpoint(
    conn: &mut DbConnection,
    id: i64,
    changes: &EndpointChanges,
) -> QueryResult<EndpointRow> {
    diesel::update(webhook_endpoints::table.find(id))
        .set(changes)
        .get_result(conn)
}

pub fn delete_endpoint(conn: &mut DbConnection, id: i64) -> QueryResult<usize> {
    diesel::delete(webhook_endpoints::table.find(id)).execute(conn)
}

/// The endpoints that receive events now.
pub fn active_endpoints(conn: &mut DbConnection) -> QueryResult<Vec<EndpointRow>> {
    webhook_endpoints::table
        .filter(webhook_endpoints::active.eq(true))
        .select(EndpointRow::as_select())
        .load(conn)
}

/// Whether any endpoint is active (the dispatcher idles otherwise).
pub fn any_active(conn: &mut DbConnection) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        webhook_endpoints::table.filter(webhook_endpoints::active.eq(true)),
    ))
    .get_result(conn)
}

/// The dispatcher's position, locked until the transaction ends on
/// PostgreSQL (a second dispatcher waits here); SQLite has one writer.
pub fn lock_position(conn: &mut DbConnection) -> QueryResult<Position> {
    let query = webhook_dispatch::table
        .find(1)
        .select((webhook_dispatch::tx, webhook_dispatch::change_id));
    let (tx, id) = match conn {
        DbConnection::Pg(pg) => query.for_update().first::<(i64, i64)>(pg)?,
        DbConnection::Sqlite(_) => query.first::<(i64, i64)>(conn)?,
    };
    Ok(Position { tx, id })
}

/// The position without a lock.
pub fn position(conn: &mut DbConnection) -> QueryResult<Position> {
    let (tx, id) = webhook_dispatch::table
        .find(1)
        .select((webhook_dispatch::tx, webhook_dispatch::change_id))
        .first::<(i64, i64)>(conn)?;
    Ok(Position { tx, id })
}

pub fn set_position(conn: &mut DbConnection, at: Position) -> QueryResult<()> {
    diesel::update(webhook_dispatch::table.find(1))
        .set((
            webhook_dispatch::tx.eq(at.tx),
            webhook_dispatch::change_id.eq(at.id),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn insert_delivery(conn: &mut DbConnection, new: &NewDelivery) -> QueryResult<DeliveryRow> {
    diesel::insert_into(webhook_deliveries::table)
        .values(new)
        .get_result(conn)
}

/// Claims up to `limit` due deliveries of active endpoints until
/// `lease_until`: pending, due, and not leased (or the lease ran out: the
/// instance that held it died). PostgreSQL skips rows another instance is
/// claiming at this moment (`FOR UPDATE SKIP LOCKED`); SQLite's single
/// writer makes the select and update one atomic step.
pub fn claim_due(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    lease_until: NaiveDateTime,
    limit: i64,
) -> QueryResult<Vec<DeliveryRow>> {
    use webhook_deliveries as d;
    let active = webhook_endpoints::table
        .filter(webhook_endpoints::active.eq(true))
        .select(webhook_endpoints::id);
    let due = d::table
        .filter(d::status.eq(PENDING))
        .filter(d::next_attempt_at.le(now))
        .filter(d::lease_until.is_null().or(d::lease_until.le(now)))
        .filter(d::endpoint_id.eq_any(active))
        .order(d::next_attempt_at)
        .limit(limit)
        .select(d::id);
    let ids: Vec<i64> = match conn {
        DbConnection::Pg(pg) => due.for_update().skip_locked().load(pg)?,
        DbConnection::Sqlite(_) => due.load(conn)?,
    };
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    diesel::update(d::table.filter(d::id.eq_any(&ids)))
        .set(d::lease_until.eq(lease_until))
        .get_results(conn)
}

/// Whether any delivery of an active endpoint is due (a read, so an idle
/// worker takes no write lock).
pub fn any_due(conn: &mut DbConnection, now: NaiveDateTime) -> QueryResult<bool> {
    use webhook_deliveries as d;
    let active = webhook_endpoints::table
        .filter(webhook_endpoints::active.eq(true))
        .select(webhook_endpoints::id);
    diesel::select(diesel::dsl::exists(
        d::table
            .filter(d::status.eq(PENDING))
            .filter(d::next_attempt_at.le(now))
            .filter(d::lease_until.is_null().or(d::lease_until.le(now)))
            .filter(d::endpoint_id.eq_any(active)),
    ))
    .get_result(conn)
}

/// Gives back a claim not acted on (its sender is stopping, or too little
/// of the lease is left for an attempt), so that it is due again now
/// rather than when the lease runs out; only while that claim still holds.
pub fn release_lease(conn: &mut DbConnection, id: i64, lease: NaiveDateTime) -> QueryResult<usize> {
    use webhook_deliveries as d;
    diesel::update(d::table.filter(d::id.eq(id)).filter(d::lease_until.eq(lease)))
        .set(d::lease_until.eq(None::<NaiveDateTime>))
        .execute(conn)
}

/// Records an attempt and the delivery's new state: `status`, the
/// attempts made, and when the next is due (kept for a finished one).
pub fn finish_attempt(
    conn: &mut DbConnection,
    attempt: &AttemptRow,
    lease: Option<NaiveDateTime>,
    status: &str,
    attempts: i32,
    next: NaiveDateTime,
) -> QueryResult<bool> {
    use webhook_deliveries as d;
    diesel::insert_into(webhook_attempts::table)
        .values(attempt)
        .execute(conn)?;
    // Only while the claim that made this attempt still holds the delivery:
    // an attempt that outlived its lease (another claimer has it now) is
    // logged above but changes nothing, so a late failure cannot undo a
    // success or count attempts twice.
    let Some(lease) = lease else { return Ok(false) };
    let updated = diesel::update(
        d::table
            .find(attempt.delivery_id)
            .filter(d::status.eq(PENDING))
            .filter(d::lease_until.eq(lease)),
    )
    .set((
        d::status.eq(status),
        d::attempts.eq(attempts),
        d::lease_until.eq(None::<NaiveDateTime>),
        d::updated_at.eq(attempt.attempted_at),
        d::next_attempt_at.eq(next),
    ))
    .execute(conn)?;
    Ok(updated == 1)
}

/// Whether any attempt to the endpoint answered 2xx after the first
/// attempt of `delivery_id` (attempt ids grow with time; timestamps are
/// whole seconds).
pub fn succeeded_since_first_attempt(
    conn: &mut DbConnection,
    endpoint_id: i64,
    delivery_id: i64,
) -> QueryResult<bool> {
    use webhook_attempts as a;
    let first: Option<i64> = a::table
        .filter(a::delivery_id.eq(delivery_id))
        .select(diesel::dsl::min(a::id))
        .first(conn)?;
    let deliveries = webhook_deliveries::table
        .filter(webhook_deliveries::endpoint_id.eq(endpoint_id))
        .select(webhook_deliveries::id);
    diesel::select(diesel::dsl::exists(
        a::table
            .filter(a::delivery_id.eq_any(deliveries))
            .filter(a::id.gt(first.unwrap_or(0)))
            .filter(a::status_code.between(200, 299)),
    ))
    .get_result(conn)
}

/// A page of an endpoint's deliveries, newest first, and the total.
pub fn list_deliveries(
    conn: &mut DbConnection,
    endpoint_id: i64,
    offset: i64,
    limit: i64,
) -> QueryResult<(Vec<DeliveryRow>, i64)> {
    use webhook_deliveries as d;
    let rows = d::table
        .filter(d::endpoint_id.eq(endpoint_id))
        .order(d::id.desc())
        .offset(offset)
        .limit(limit)
        .select(DeliveryRow::as_select())
        .load(conn)?;
    let total = d::table
        .filter(d::endpoint_id.eq(endpoint_id))
        .count()
        .get_result(conn)?;
    Ok((rows, total))
}

/// The attempts of these deliveries, newest first.
pub fn attempts_of(conn: &mut DbConnection, delivery_ids: &[i64]) -> QueryResult<Vec<AttemptRow>> {
    webhook_attempts::table
        .filter(webhook_attempts::delivery_id.eq_any(delivery_ids))
        .order(webhook_attempts::id.desc())
        .select(AttemptRow::as_select())
        .load(conn)
}

pub fn find_delivery(conn: &mut DbConnection, endpoint_id: i64, id: i64) -> QueryResult<Option<DeliveryRow>> {
    webhook_deliveries::table
        .find(id)
        .filter(webhook_deliveries::endpoint_id.eq(endpoint_id))
        .select(DeliveryRow::as_select())
        .first(conn)
        .optional()
}

/// Deliveries waiting to be sent (metrics).
pub fn queue_depth(conn: &mut DbConnection) -> QueryResult<i64> {
    webhook_deliveries::table
        .filter(webhook_deliveries::status.eq(PENDING))
        .count()
        .get_result(conn)
}

/// Deletes up to `limit` finished deliveries (delivered, or failed for
/// good) last touched before `before`, with their attempts; returns how
/// many deliveries went. Pending ones are never touched.
pub fn purge_finished(conn: &mut DbConnection, before: NaiveDateTime, limit: i64) -> QueryResult<usize> {
    use webhook_deliveries as d;
    let ids: Vec<i64> = d::table
        .filter(d::status.ne(PENDING))
        .filter(d::updated_at.lt(before))
        .order(d::id)
        .limit(limit)
        .select(d::id)
        .load(conn)?;
    if ids.is_empty() {
        return Ok(0);
    }
    // Explicitly, not by the foreign key's cascade: SQLite applies it only
    // with `foreign_keys` on.
    diesel::delete(webhook_attempts::table.filter(webhook_attempts::delivery_id.eq_any(&ids)))
        .execute(conn)?;
    diesel::delete(d::table.filter(d::id.eq_any(&ids))).execute(conn)
}
