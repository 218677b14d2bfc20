//! Editor authentication: password hashing, access JWTs and rotating refresh
//! tokens. Pure functions over bytes and strings; storage lives in `db`.

pub mod backoff;
pub mod jwt;
pub mod password;
pub mod refresh;
pub mod session;

use crate::domain::Role;

/// The editor a valid access token names, as loaded from the database for
/// this request.
#[derive(Debug, Clone)]
pub struct CurrentEditor {
    pub id: i64,
    pub role: Role,
}
