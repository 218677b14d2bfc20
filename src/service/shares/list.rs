//! The editor list of share events: page mode or keyset cursor mode.

use chrono::NaiveDateTime;

use crate::db::shares::ShareEventRow;
use crate::db::{self, Db};
use crate::domain::share::EventFilter;
use crate::error::AppError;

/// A validated editor list request.
#[derive(Debug, Clone)]
pub struct ListQuery {
    pub filter: EventFilter,
    /// Cursor mode: start after this `(created_at, id)`; `None` in page mode
    /// or on the first cursor page.
    pub after: Option<(NaiveDateTime, i64)>,
    pub cursor_mode: bool,
    pub offset: i64,
    pub per_page: i64,
}

/// A page of events: the rows, the total (page mode) and whether another
/// cursor page follows the last row (cursor mode).
pub struct EventPage {
    pub rows: Vec<ShareEventRow>,
    pub total: Option<i64>,
    pub has_more: bool,
}

pub async fn list(db: &Db, q: ListQuery) -> Result<EventPage, AppError> {
    db.read(move |conn| {
        if q.cursor_mode {
            let mut rows = db::shares::list(conn, &q.filter, q.after, 0, q.per_page + 1)?;
            let has_more = rows.len() as i64 > q.per_page;
            rows.truncate(q.per_page as usize);
            Ok(EventPage {
                rows,
                total: None,
                has_more,
            })
        } else {
            let rows = db::shares::list(conn, &q.filter, None, q.offset, q.per_page)?;
            let total = db::shares::count(conn, &q.filter)?;
            Ok(EventPage {
                rows,
                total: Some(total),
                has_more: false,
            })
        }
    })
    .await
}
