//! Use cases: validated input in, one transaction per operation, rows out.
//! Handlers call these; these call the query functions in `db`.

pub mod articles;
pub mod authors;
pub mod changes;
pub mod comments;
pub mod editors;
pub mod feeds;
pub mod idempotency;
pub mod keys;
pub mod previews;
pub mod render;
pub mod search;
pub mod shares;
pub mod sitemaps;
pub mod tags;
pub mod tokens;
pub mod webhooks;
