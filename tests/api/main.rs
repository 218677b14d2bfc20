//! One test binary for the whole HTTP API. Every test runs against SQLite
//! and PostgreSQL (see `support::backend_tests!`).

mod support;

mod auth;
mod editors;
mod health;
mod migrations;
mod problems;
mod shares;
