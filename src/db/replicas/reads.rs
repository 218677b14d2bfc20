//! The `Db` side of read replicas: attaching them, routing public reads,
//! and what `/readyz` and `/metrics` read.

use std::sync::Arc;
use std::time::Duration;

use super::{ReplicaSet, ReplicaStatus};
use crate::config::cluster::Pooler;
use crate::db::connection::{checkout, run_marking_broken};
use crate::db::{Backend, Db, DbConnection};
use crate::error::AppError;

impl Db {
    /// Serves public reads from the PostgreSQL replicas at `urls` (none:
    /// no change), keeping each in rotation while it lags at most
    /// `max_lag`, connecting to them as to the primary through `pooler`.
    /// Refused on SQLite.
    pub fn with_replicas(mut self, urls: &[String], max_lag: Duration, pooler: Pooler) -> Result<Db, String> {
        if urls.is_empty() {
            return Ok(self);
        }
        if self.backend != Backend::Postgres {
            return Err("read replicas need a PostgreSQL primary; SQLite has none".into());
        }
        let set = ReplicaSet::start(
            urls,
            max_lag,
            &self.pool,
            (self.timeout, pooler),
            self.queries.clone(),
        );
        for replica in &set.replicas {
            tracing::info!(replica = replica.index, name = %replica.name, "read replica configured");
        }
        self.replicas = Some(set);
        Ok(self)
    }

    /// [`Db::read`] for what the public may see (published articles, tags,
    /// authors, public comments, feeds): served by a replica in rotation
    /// that has replayed every write this instance made or has seen in the
    /// change log, else by the primary. Editors' reads use [`Db::read`]:
    /// they stay on the primary.
    ///
    /// A replica that fails mid-read (killed, cut off: `Unavailable`) is
    /// taken out of rotation and the read is made again on the primary, so
    /// a reader never sees the failure that the next health check (within
    /// 250 ms) would have found; unless the failure itself took over half
    /// the database timeout (a statement timeout), which is answered `503`. `f` is cloned for that second try; reads
    /// capture their parameters by value.
    pub async fn read_public<F, T>(&self, f: F) -> Result<T, AppError>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, AppError> + Clone + Send + 'static,
        T: Send + 'static,
    {
        let Some(replicas) = self.replicas.clone() else {
            return self.read(f).await;
        };
        let pool = self.pool.clone();
        let timeout = self.timeout;
        self.bounded(actix_web::web::block(move || {
            let started = std::time::Instant::now();
            if let Some((replica, mut conn)) = replicas.checkout() {
                let result = run_marking_broken(&mut conn, f.clone());
                if !matches!(result, Err(AppError::Unavailable(_))) {
                    return result;
                }
                replicas.read_failed(replica);
                // A read that failed slowly (a statement timeout on an
                // overloaded replica) is not made again: the request's
                // deadline is near, and the primary would run it for a
                // client that has gone.
                if started.elapsed() > timeout / 2 {
                    return result;
                }
            }
            let mut pooled = checkout(&pool, timeout)?;
            run_marking_broken(&mut pooled, f)
        }))
        .await
    }

    /// [`Db::read_public`] when `public`, else [`Db::read`]: for use cases
    /// that serve both the public and editors.
    pub async fn read_as<F, T>(&self, public: bool, f: F) -> Result<T, AppError>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, AppError> + Clone + Send + 'static,
        T: Send + 'static,
    {
        match public {
            true => self.read_public(f).await,
            false => self.read(f).await,
        }
    }

    /// Raises the replica fence to the primary's position now (nothing
    /// without replicas). The change follower calls it after reading
    /// change-log rows and before evicting their keys, so that no cache
    /// miss after the eviction is served by a replica that has not
    /// replayed them. Blocks: background threads only.
    pub fn fence_to_primary(&self) {
        if let Some(replicas) = &self.replicas {
            replicas.fence_to_primary();
        }
    }

    /// Each replica's state, lag and reads; empty without replicas.
    pub fn replica_status(&self) -> Vec<ReplicaStatus> {
        self.replicas.as_ref().map(|r| r.status()).unwrap_or_default()
    }

    /// Public reads the primary served while replicas were configured.
    pub fn public_reads_on_primary(&self) -> u64 {
        self.replicas.as_ref().map_or(0, |r| r.primary_reads())
    }

    /// Whether replicas are configured.
    pub fn has_replicas(&self) -> bool {
        self.replicas.is_some()
    }
}

// `Arc` keeps the set alive for the health threads' `Weak`s.
const _: fn(&Db) -> Option<&Arc<ReplicaSet>> = |db| db.replicas.as_ref();
