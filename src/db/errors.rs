//! What database errors mean to the rest of the service: `503` for "cannot
//! serve right now" (timeouts, a restarting server, a full disk), `404` for
//! a row that is not there, `500` for everything else.

use diesel::result::{DatabaseErrorKind, Error as DieselError};

use crate::error::AppError;

impl From<DieselError> for AppError {
    fn from(e: DieselError) -> Self {
        match &e {
            DieselError::NotFound => AppError::not_found("The resource does not exist."),
            DieselError::DatabaseError(
                DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand,
                _,
            )
            | DieselError::BrokenTransactionManager => AppError::Unavailable(e.to_string()),
            DieselError::DatabaseError(_, info) if is_unavailable_message(info.message()) => {
                AppError::Unavailable(e.to_string())
            }
            _ => AppError::Internal(format!("database error: {e}")),
        }
    }
}

impl From<diesel::r2d2::Error> for AppError {
    fn from(e: diesel::r2d2::Error) -> Self {
        AppError::Unavailable(e.to_string())
    }
}

/// The database error inside `e`, as the `AppError` it means; `e` back
/// when it carries none. For writers whose callbacks can only fail with an
/// `io::Error` (the sitemaps' XML writer), which carry a query's error
/// inside one.
pub fn carried_in_io(e: std::io::Error) -> Result<AppError, std::io::Error> {
    if !e.get_ref().is_some_and(|inner| inner.is::<DieselError>()) {
        return Err(e);
    }
    match e.into_inner().map(|inner| inner.downcast::<DieselError>()) {
        Some(Ok(database)) => Ok(AppError::from(*database)),
        _ => Ok(AppError::internal("a database error inside an I/O error")),
    }
}

/// Errors that mean "the database cannot serve right now" rather than a bug:
/// timeouts, a locked or full SQLite file, a PostgreSQL shutting down.
fn is_unavailable_message(message: &str) -> bool {
    const MARKERS: [&str; 12] = [
        "file is not a database",
        "database disk image is malformed",
        "statement timeout",
        "database is locked",
        "disk is full",
        "disk I/O error",
        "unable to open database file",
        "terminating connection",
        "the database system is shutting down",
        "the database system is starting up",
        "server closed the connection",
        // A hot-standby replica cancelled a read whose rows its replay
        // had to remove.
        "conflict with recovery",
    ];
    MARKERS.iter().any(|m| message.contains(m))
}

/// True when `e` is a unique-constraint violation (for retry-with-new-slug).
pub fn is_unique_violation(e: &DieselError) -> bool {
    matches!(
        e,
        DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)
    )
}

#[cfg(test)]
mod io_tests {
    use super::*;

    #[test]
    fn a_database_error_carried_in_an_io_error_keeps_what_it_is() {
        let lost = std::io::Error::other(DieselError::BrokenTransactionManager);
        assert!(matches!(carried_in_io(lost), Ok(AppError::Unavailable(_))));
        let writing = std::io::Error::new(std::io::ErrorKind::WriteZero, "short write");
        let back = carried_in_io(writing).expect_err("no database error inside");
        assert_eq!(back.kind(), std::io::ErrorKind::WriteZero);
    }
}
