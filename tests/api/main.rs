//! One test binary for the whole HTTP API. Every test runs against SQLite
//! and PostgreSQL (see `support::backend_tests!`).

mod support;

mod articles;
mod auth;
mod authors;
mod clients;
mod comments;
mod demo;
mod docs;
mod editors;
mod feeds;
mod freshness;
mod frontend;
mod health;
mod hostile;
mod idempotency;
mod infra;
mod migrations;
mod openapi;
mod passwords;
mod preview;
mod problems;
mod reads;
mod search;
mod security;
mod shares;
mod sync;
mod tags;
mod tokens;
mod webhooks;
