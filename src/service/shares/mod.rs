//! "Send this to a friend": recording share events and counts. One job per
//! file: the writer thread (`writer.rs`), the de-duplication memory
//! (`dedup.rs`), the editor list (`list.rs`), statistics (`stats.rs`) and
//! deletes (`delete.rs`). Demo data lives in `crate::demo`.
//!
//! Write path (group commit). Every public share goes to one writer thread
//! per process. The thread takes whatever presses are waiting (up to
//! `SHARE_BATCH_MAX`, default 1024; 1 turns batching off), records them in one transaction (one multi-row insert of
//! events, one upsert per counter table, one read of the fresh counts) and
//! only after the commit answers each waiting request. Under load many
//! presses share one commit; an idle server commits each press at once, so
//! batching adds no waiting. An acknowledged share is always committed
//! (`tests/faults` kills the server mid-stream and finds every one). A press
//! not committed within the database call deadline is answered `503`.
//! SQLite has one writer anyway; on PostgreSQL it turns N commits (N
//! fsyncs) into one.
//!
//! If a batch fails as a whole (say an article was deleted between lookup
//! and insert on PostgreSQL), its presses are retried one by one, so one bad
//! press fails alone.
//!
//! De-duplication (`SHARE_DEDUP_SECONDS`, 0 = off): the same client pressing
//! the same button on the same article twice within the window is answered
//! `202` with the unchanged counts and not recorded again. The client is
//! recognised by a SHA-256 of a random per-process salt, the IP, the user
//! agent, the article slug and the channel. Only that hash is kept, in
//! memory, and the salt is replaced every window, so after two windows a
//! hash cannot be linked to anything, not even by this process. The memory
//! is bounded: a generation holds at most `dedup::MAX_REMEMBERED` hashes and
//! starts the next one early when full, so at most twice that are kept.

mod dedup;
mod delete;
mod list;
mod stats;
mod writer;

use std::net::IpAddr;
use std::sync::mpsc;
use std::time::Duration;

use tokio::sync::oneshot;

use crate::db::{self, Db};
use crate::domain::share::{ChannelTally, ShareChannel};
use crate::error::AppError;

/// The read model the share use cases return (see docs/ARCHITECTURE.md:
/// service re-exports the rows it hands to `http`).
pub use crate::db::shares::ShareEventRow;
pub use delete::{delete_matching, delete_one};
pub use list::{EventPage, ListQuery, list};
pub use stats::{Stats, StatsQuery, StatsRow, Viewer, stats};

use dedup::Dedup;
use writer::{Job, record_batch, tallies, writer_loop};

/// One button press, validated.
#[derive(Debug, Clone)]
pub struct Press {
    pub slug: String,
    pub channel: ShareChannel,
    /// For de-duplication only: hashed, never stored.
    pub client_ip: IpAddr,
    /// For de-duplication only: hashed, never stored.
    pub user_agent: Vec<u8>,
}

/// What recording a press did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    /// Recorded; the counts include it.
    New(ChannelTally),
    /// The same press was recorded moments ago; the counts are unchanged.
    Duplicate(ChannelTally),
}

/// The share write path: the writer thread's queue and the de-duplication
/// memory. One per process, in `AppState`.
pub struct Shares {
    db: Db,
    queue: Option<mpsc::Sender<Job>>,
    dedup: Option<Dedup>,
}

impl Shares {
    /// Starts the writer thread; it ends by itself when `Shares` is dropped.
    pub fn new(db: Db, dedup_window: Duration, batch_max: usize) -> Shares {
        let (tx, rx) = mpsc::channel::<Job>();
        let writer_db = db.clone();
        let queue = match std::thread::Builder::new()
            .name("share-writer".into())
            .spawn(move || writer_loop(writer_db, rx, batch_max.max(1)))
        {
            Ok(_) => Some(tx),
            Err(e) => {
                // Still correct without it, one transaction per press.
                tracing::error!(error = %e, "cannot start the share writer thread; shares are not batched");
                None
            }
        };
        Shares {
            db,
            queue,
            dedup: (!dedup_window.is_zero()).then(|| Dedup::new(dedup_window)),
        }
    }

    /// Records a press, unless it repeats one of the same client within the
    /// de-duplication window. `404` when the article is not public.
    pub async fn record(&self, press: Press) -> Result<Recorded, AppError> {
        let key = self.dedup.as_ref().map(|d| {
            let key = d.key(&press);
            let repeat = d.check_and_mark(&key);
            (d, key, repeat)
        });
        if let Some((_, _, true)) = key {
            let (_, counts) = counts(&self.db, press.slug).await?;
            return Ok(Recorded::Duplicate(counts));
        }
        let result = self.commit(press.slug, press.channel).await;
        if let (Err(_), Some((dedup, key, _))) = (&result, key) {
            // Not recorded, so a retry must not be taken for a repeat.
            dedup.forget(&key);
        }
        result.map(Recorded::New)
    }

    async fn commit(&self, slug: String, channel: ShareChannel) -> Result<ChannelTally, AppError> {
        let at = crate::domain::date::now();
        let Some(queue) = &self.queue else {
            return self
                .db
                .write(move |conn| record_batch(conn, &[(slug, channel, at)]).map(|mut r| r.remove(0)))
                .await?;
        };
        let (reply, answer) = oneshot::channel();
        queue
            .send(Job {
                slug,
                channel,
                at,
                reply,
            })
            .map_err(|_| AppError::internal("the share writer thread has stopped"))?;
        // The same bound as every other database call: when the writer is
        // stuck on a database that went silent, this press gets its `503`
        // in time; it may still be recorded once the writer gets through.
        let deadline = self.db.call_deadline();
        match actix_web::rt::time::timeout(deadline, answer).await {
            Ok(reply) => {
                reply.map_err(|_| AppError::internal("the share writer dropped a press (it panicked)"))?
            }
            Err(_) => Err(AppError::Unavailable(format!(
                "the share writer did not commit within {deadline:?}"
            ))),
        }
    }
}

fn not_public(slug: &str) -> AppError {
    AppError::not_found(format!("No published article has the slug `{slug}`."))
}

/// The share counts of a public article.
pub async fn counts(db: &Db, slug: String) -> Result<(i64, ChannelTally), AppError> {
    db.read_public(move |conn| {
        let id = db::articles::find_visible_id_by_slug(conn, &slug, crate::domain::date::now())?
            .ok_or_else(|| not_public(&slug))?;
        let tally = tallies(db::shares::counts_for(conn, &[id])?)
            .remove(&id)
            .unwrap_or_default();
        Ok((id, tally))
    })
    .await
}
