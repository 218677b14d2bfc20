//! Editor authentication: password hashing, access JWTs and rotating refresh
//! tokens. Pure functions over bytes and strings; storage lives in `db`.

pub mod jwt;
pub mod password;
pub mod refresh;
pub mod session;
