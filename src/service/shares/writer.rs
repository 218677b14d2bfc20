//! The writer thread: takes waiting presses in batches and records each
//! batch in one transaction (see the module docs of `service::shares`).

use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::sync::mpsc;

use chrono::NaiveDateTime;
use tokio::sync::oneshot;

use super::not_public;
use crate::db::shares::NewShareEvent;
use crate::db::{self, Db, DbConnection};
use crate::domain::change::Action;
use crate::domain::share::{ChannelTally, ShareChannel};
use crate::error::AppError;
use crate::service::keys;

/// A press waiting for the writer, with where to send its answer.
pub(super) struct Job {
    pub slug: String,
    pub channel: ShareChannel,
    pub at: NaiveDateTime,
    pub reply: oneshot::Sender<Result<ChannelTally, AppError>>,
}

pub(super) fn writer_loop(db: Db, queue: mpsc::Receiver<Job>, batch_max: usize) {
    while let Ok(first) = queue.recv() {
        let mut jobs = vec![first];
        while jobs.len() < batch_max {
            match queue.try_recv() {
                Ok(job) => jobs.push(job),
                Err(_) => break,
            }
        }
        // A panic drops this batch's reply senders (those requests get a
        // 500) but must not take the thread, and with it every later share.
        let _ = std::panic::catch_unwind(AssertUnwindSafe(|| commit_batch(&db, jobs)));
    }
}

fn commit_batch(db: &Db, jobs: Vec<Job>) {
    let presses: Vec<(String, ShareChannel, NaiveDateTime)> =
        jobs.iter().map(|j| (j.slug.clone(), j.channel, j.at)).collect();
    let results = match db.write_blocking(|conn| record_batch(conn, &presses)) {
        Ok(results) => results,
        Err(e) if presses.len() == 1 => vec![Err(e)],
        Err(e) => {
            tracing::warn!(error = %e, size = presses.len(), "share batch failed; retrying its presses one by one");
            presses
                .iter()
                .map(|p| {
                    db.write_blocking(|conn| record_batch(conn, std::slice::from_ref(p)))
                        .and_then(|mut r| r.remove(0))
                })
                .collect()
        }
    };
    for (job, result) in jobs.into_iter().zip(results) {
        // The client may have gone; its share is recorded all the same.
        let _ = job.reply.send(result);
    }
}

/// Records presses in the caller's transaction; one result per press, in
/// order: the article's fresh counts, or `404` when it is not public.
pub(super) fn record_batch(
    conn: &mut DbConnection,
    presses: &[(String, ShareChannel, NaiveDateTime)],
) -> Result<Vec<Result<ChannelTally, AppError>>, AppError> {
    let now = crate::domain::date::now();
    let mut slugs: Vec<&str> = presses.iter().map(|(slug, _, _)| slug.as_str()).collect();
    slugs.sort_unstable();
    slugs.dedup();
    let mut ids: HashMap<&str, Option<i64>> = slugs.iter().map(|s| (*s, None)).collect();
    for chunk in slugs.chunks(500) {
        for (id, slug) in db::articles::visible_ids_by_slug(conn, chunk, now)? {
            if let Some(entry) = ids.get_mut(slug.as_str()) {
                *entry = Some(id);
            }
        }
    }
    let events: Vec<NewShareEvent> = presses
        .iter()
        .filter_map(|(slug, channel, at)| {
            ids[slug.as_str()].map(|article_id| NewShareEvent {
                article_id,
                channel: *channel,
                created_at: *at,
            })
        })
        .collect();
    db::shares::record(conn, &events)?;
    let mut found: Vec<i64> = ids.values().flatten().copied().collect();
    found.sort_unstable();
    keys::shares_written(conn, &found, Action::Created)?;
    let tallies = tallies(db::shares::counts_for(conn, &found)?);
    Ok(presses
        .iter()
        .map(|(slug, _, _)| match ids[slug.as_str()] {
            Some(id) => Ok(tallies.get(&id).copied().unwrap_or_default()),
            None => Err(not_public(slug)),
        })
        .collect())
}

pub(super) fn tallies(rows: Vec<(i64, ShareChannel, i64)>) -> HashMap<i64, ChannelTally> {
    let mut out: HashMap<i64, ChannelTally> = HashMap::new();
    for (article_id, channel, n) in rows {
        out.entry(article_id).or_default().add(channel, n);
    }
    out
}
