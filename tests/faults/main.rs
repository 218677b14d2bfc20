//! Fault tests: the real `broadsheet` binary, started as a child process on
//! its own database, killed with SIGKILL, cut off from PostgreSQL, and
//! stopped with SIGTERM under load. Each test runs on SQLite and on
//! PostgreSQL (`TEST_DATABASE_URL`); the outage test on PostgreSQL only, and
//! the replica tests, which also start a streaming replica of it.

mod support;

mod announce;
mod backup;
mod durability;
mod instances;
mod limits;
mod outage;
mod pooler;
mod replicas;
mod search;
mod shutdown;
mod upgrade;
mod webhooks;
