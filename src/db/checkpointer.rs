//! SQLite checkpoints off the write path.
//!
//! In WAL mode a commit appends pages to the WAL; a checkpoint copies them
//! back into the database file and fsyncs both. SQLite's default runs the
//! checkpoint inside the commit that crosses the threshold, so one request
//! in every few hundred waited for megabytes of random writes and two fsyncs
//! while every other writer queued behind it (the share benchmark's latency
//! split in two: p50 4 ms, p75 28 ms). Here a thread with a connection of its
//! own copies the WAL back shortly after writes, and the writer connection
//! turns automatic checkpoints off. Durability does not depend on
//! checkpoints: a committed transaction is in the WAL and is replayed after
//! a crash.
//!
//! Two passes, because SQLite restarts the WAL from its start only when a
//! write begins with every frame already copied back. A checkpoint running
//! beside a busy writer never sees that moment (the writer has appended
//! more by the time it ends), so the WAL would grow for as long as the load
//! lasts (504 MB after 1.6 s of back-to-back writes in the test below), and
//! with it the disk used and the WAL index every read searches. The first
//! pass copies what is there without blocking anyone;
//! the second holds the writer's lock and copies only what was appended
//! meanwhile, so the next write can restart the WAL.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::Duration;

use diesel::connection::SimpleConnection;

use super::{ConnectionSettings, DbConnection, WriterConn};

/// How long after a write the WAL is copied back: short enough that the WAL
/// stays a few megabytes under the heaviest write load measured, long
/// enough that a burst of commits shares one checkpoint.
const INTERVAL: Duration = Duration::from_millis(200);

/// Never waits for readers or the writer; copies what it can.
const CHECKPOINT: &str = "PRAGMA wal_checkpoint(PASSIVE);";

/// Keeps the checkpoint thread running; it stops when this is dropped.
pub struct Checkpointer {
    _stop: mpsc::Sender<()>,
}

/// Starts the thread; `None` when it cannot be started (the caller then keeps
/// SQLite's automatic checkpoints).
pub fn start(
    settings: &ConnectionSettings,
    writer: WriterConn,
    writes: Arc<AtomicU64>,
) -> Option<Checkpointer> {
    let (stop, stopped) = mpsc::channel::<()>();
    let settings = settings.clone();
    // Read here, not in the thread: a write made before the new thread is
    // first scheduled must still count as one to checkpoint.
    let checkpointed = writes.load(Ordering::Acquire);
    let spawned = std::thread::Builder::new()
        .name("sqlite-checkpoint".into())
        .spawn(move || run(settings, writer, writes, checkpointed, stopped));
    match spawned {
        Ok(_) => Some(Checkpointer { _stop: stop }),
        Err(e) => {
            tracing::error!(error = %e, "cannot start the SQLite checkpoint thread; the writer checkpoints instead");
            None
        }
    }
}

fn run(
    settings: ConnectionSettings,
    writer: WriterConn,
    writes: Arc<AtomicU64>,
    mut checkpointed: u64,
    stopped: mpsc::Receiver<()>,
) {
    let mut conn: Option<DbConnection> = None;
    loop {
        match stopped.recv_timeout(INTERVAL) {
            Err(RecvTimeoutError::Timeout) => {}
            // Every `Db` handle is gone.
            Ok(()) | Err(RecvTimeoutError::Disconnected) => return,
        }
        let generation = writes.load(Ordering::Acquire);
        if generation == checkpointed {
            continue;
        }
        if conn.is_none() {
            conn = settings
                .establish()
                .inspect_err(|e| tracing::warn!(error = %e, "checkpoint thread cannot open the database"))
                .ok();
        }
        let Some(c) = conn.as_mut() else { continue };
        let passes = c.batch_execute(CHECKPOINT).and_then(|()| {
            let _writes_wait = writer.lock();
            c.batch_execute(CHECKPOINT)
        });
        match passes {
            Ok(()) => checkpointed = generation,
            Err(e) => {
                // Retried after the next interval on a fresh connection; the
                // WAL only grows meanwhile, nothing is lost.
                tracing::warn!(error = %e, "SQLite checkpoint failed");
                conn = None;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use diesel::connection::SimpleConnection;
    use std::time::Instant;

    /// The writer never checkpoints (its automatic checkpoints are off), and
    /// a checkpoint beside a writer that never pauses cannot let the WAL
    /// restart, so without the second pass under the writer's lock the WAL
    /// would hold every page written here.
    #[test]
    fn the_wal_restarts_under_sustained_writes() {
        let dir = tempfile::tempdir().unwrap();
        let (db, _) = super::super::test_sqlite_db(dir.path());
        let write = |sql: &'static str| db.write_blocking(|conn| Ok(conn.batch_execute(sql)?)).unwrap();
        write("CREATE TABLE blobs (b BLOB)");
        // 100 KB transactions back to back, for several checkpoint
        // intervals; the table itself stays one row.
        let started = Instant::now();
        let mut written = 0u64;
        while started.elapsed() < super::INTERVAL * 8 || written < 20_000_000 {
            write(
                "INSERT INTO blobs VALUES (randomblob(100000)); \
                 DELETE FROM blobs WHERE rowid < (SELECT max(rowid) FROM blobs);",
            );
            written += 100_000;
        }
        let wal = std::fs::metadata(dir.path().join("test.db-wal")).unwrap().len();
        assert!(
            wal < written / 2,
            "the WAL grew to {wal} bytes for {written} bytes written in {:?}",
            started.elapsed()
        );
    }
}
