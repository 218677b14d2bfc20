//! Removing share events (bot clean-up); counters and rollups follow in
//! the same transaction (`db::shares::delete_matching`).

use crate::db::{self, Db, DbConnection};
use crate::domain::change::Action;
use crate::domain::share::EventFilter;
use crate::error::AppError;
use crate::service::keys;

/// Removes one event; `404` when there is none with that id.
pub async fn delete_one(db: &Db, id: i64) -> Result<(), AppError> {
    let filter = EventFilter {
        id: Some(id),
        ..EventFilter::default()
    };
    match db.write(move |conn| delete_recorded(conn, &filter)).await? {
        0 => Err(AppError::not_found(format!("No share event has id {id}."))),
        _ => Ok(()),
    }
}

/// Removes every event matching `filter` (which the handler made sure is
/// not empty); returns how many.
pub async fn delete_matching(db: &Db, filter: EventFilter) -> Result<u64, AppError> {
    db.write(move |conn| delete_recorded(conn, &filter)).await
}

/// Deletes the events and records a change for each article they were of.
fn delete_recorded(conn: &mut DbConnection, filter: &EventFilter) -> Result<u64, AppError> {
    let (deleted, articles) = db::shares::delete_matching(conn, filter)?;
    keys::shares_written(conn, &articles, Action::Deleted)?;
    Ok(deleted)
}
