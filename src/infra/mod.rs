//! Infrastructure shared by the use cases and the HTTP layer: the response
//! cache, per-client rate limits, who the client is, and metrics. None of it
//! knows about routes or actix: `http` holds the thin middleware and
//! handlers that put these to work, and `AppState` builds them.

pub mod change_follower;
pub mod client_ip;
pub mod metrics;
pub mod rate_limit;
pub mod response_cache;
pub mod search;
pub mod shared_limit;
pub mod webhook_sender;
