//! "Send this to a friend": recording share events, counts, the editor list,
//! removal, statistics and demo data.
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
//! hash cannot be linked to anything, not even by this process.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::panic::AssertUnwindSafe;
use std::sync::Mutex;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use chrono::{NaiveDate, NaiveDateTime, TimeDelta};
use rand::{Rng, RngCore};
use sha2::{Digest, Sha256};
use tokio::sync::oneshot;

use crate::db::shares::{EventFilter, NewShareEvent, ShareEventRow, StatsFilter};
use crate::db::{self, Db, DbConnection};
use crate::domain::Role;
use crate::domain::share::{ChannelTally, DayRange, GroupBy, ShareChannel};
use crate::error::AppError;

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

struct Job {
    slug: String,
    channel: ShareChannel,
    at: NaiveDateTime,
    reply: oneshot::Sender<Result<ChannelTally, AppError>>,
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
            let counts = counts(&self.db, press.slug).await?;
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
        let at = db::now();
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

fn writer_loop(db: Db, queue: mpsc::Receiver<Job>, batch_max: usize) {
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
fn record_batch(
    conn: &mut DbConnection,
    presses: &[(String, ShareChannel, NaiveDateTime)],
) -> Result<Vec<Result<ChannelTally, AppError>>, AppError> {
    let now = db::now();
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
                channel: channel.as_str().to_string(),
                created_at: *at,
            })
        })
        .collect();
    db::shares::record(conn, &events)?;
    let mut found: Vec<i64> = ids.values().flatten().copied().collect();
    found.sort_unstable();
    let tallies = tallies(db::shares::counts_for(conn, &found)?);
    Ok(presses
        .iter()
        .map(|(slug, _, _)| match ids[slug.as_str()] {
            Some(id) => Ok(tallies.get(&id).copied().unwrap_or_default()),
            None => Err(not_public(slug)),
        })
        .collect())
}

fn tallies(rows: Vec<(i64, String, i64)>) -> HashMap<i64, ChannelTally> {
    let mut out: HashMap<i64, ChannelTally> = HashMap::new();
    for (article_id, channel, n) in rows {
        // A channel no longer offered still counts towards `total`.
        let channel = ShareChannel::parse(&channel).unwrap_or(ShareChannel::Other);
        out.entry(article_id).or_default().add(channel, n);
    }
    out
}

fn not_public(slug: &str) -> AppError {
    AppError::not_found(format!("No published article has the slug `{slug}`."))
}

/// The share counts of a public article.
pub async fn counts(db: &Db, slug: String) -> Result<ChannelTally, AppError> {
    db.read(move |conn| {
        let article =
            db::articles::find_visible_by_slug(conn, &slug, db::now())?.ok_or_else(|| not_public(&slug))?;
        Ok(tallies(db::shares::counts_for(conn, &[article.id])?)
            .remove(&article.id)
            .unwrap_or_default())
    })
    .await
}

/// Remembers recent presses as salted hashes; see the module docs.
struct Dedup {
    window: Duration,
    state: Mutex<Generations>,
}

struct Generation {
    salt: [u8; 32],
    started: Instant,
    seen: HashMap<u128, Instant>,
}

impl Generation {
    fn new() -> Generation {
        let mut salt = [0u8; 32];
        rand::rng().fill_bytes(&mut salt);
        Generation {
            salt,
            started: Instant::now(),
            seen: HashMap::new(),
        }
    }
}

struct Generations {
    current: Generation,
    previous: Generation,
}

/// A press as the de-duplication sees it; the clear values stay in the
/// request and are gone with it.
struct PressKey(Vec<u8>);

impl Dedup {
    fn new(window: Duration) -> Dedup {
        Dedup {
            window,
            state: Mutex::new(Generations {
                current: Generation::new(),
                previous: Generation::new(),
            }),
        }
    }

    fn key(&self, press: &Press) -> PressKey {
        let mut bytes = Vec::with_capacity(64 + press.user_agent.len() + press.slug.len());
        // Length-prefixed, so no two different presses join into the same bytes.
        for part in [
            press.client_ip.to_string().as_bytes(),
            &press.user_agent,
            press.slug.as_bytes(),
            press.channel.as_str().as_bytes(),
        ] {
            bytes.extend_from_slice(&(part.len() as u32).to_le_bytes());
            bytes.extend_from_slice(part);
        }
        PressKey(bytes)
    }

    fn hash(salt: &[u8; 32], key: &PressKey) -> u128 {
        let digest = Sha256::new().chain_update(salt).chain_update(&key.0).finalize();
        let mut first = [0u8; 16];
        first.copy_from_slice(&digest[..16]);
        u128::from_le_bytes(first)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Generations> {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        if now.duration_since(state.current.started) >= self.window {
            let stale = now.duration_since(state.current.started) >= 2 * self.window;
            state.previous = std::mem::replace(&mut state.current, Generation::new());
            if stale {
                state.previous = Generation::new();
            }
        }
        state
    }

    /// True when this press repeats one within the window; otherwise
    /// remembers it.
    fn check_and_mark(&self, key: &PressKey) -> bool {
        let mut state = self.lock();
        let now = Instant::now();
        let window = self.window;
        let recent = |seen: &HashMap<u128, Instant>, h: &u128| {
            seen.get(h).is_some_and(|t| now.duration_since(*t) < window)
        };
        let current = Self::hash(&state.current.salt, key);
        let previous = Self::hash(&state.previous.salt, key);
        if recent(&state.current.seen, &current) || recent(&state.previous.seen, &previous) {
            return true;
        }
        state.current.seen.insert(current, now);
        false
    }

    fn forget(&self, key: &PressKey) {
        let mut state = self.lock();
        let current = Self::hash(&state.current.salt, key);
        let previous = Self::hash(&state.previous.salt, key);
        state.current.seen.remove(&current);
        state.previous.seen.remove(&previous);
    }
}

/// A validated editor list request.
#[derive(Debug, Clone)]
pub struct ListQuery {
    pub filter: EventFilter,
    /// Cursor mode: start after this `(created_at, id)`; `None` in page mode
    /// or on the first cursor page.
    pub after: Option<(NaiveDateTime, i64)>,
    pub cursor_mode: bool,
    pub offset: i64,
    pub per_page: i64,
}

/// A page of events: the rows, the total (page mode) and where the next
/// cursor page starts (cursor mode, when there is more).
pub struct EventPage {
    pub rows: Vec<ShareEventRow>,
    pub total: Option<i64>,
    pub next: Option<String>,
}

/// The keyset position after `row`, as the text inside a cursor.
fn position_of(row: &ShareEventRow) -> String {
    format!("{}|{}", row.created_at.format("%Y-%m-%dT%H:%M:%S"), row.id)
}

/// The position inside a cursor; `None` when it is not one of ours.
pub fn parse_position(text: &str) -> Option<(NaiveDateTime, i64)> {
    let (at, id) = text.split_once('|')?;
    let at = crate::domain::date::parse_position_time(at)?;
    Some((at, id.parse().ok()?))
}

pub async fn list(db: &Db, q: ListQuery) -> Result<EventPage, AppError> {
    db.read(move |conn| {
        if q.cursor_mode {
            let mut rows = db::shares::list(conn, &q.filter, q.after, 0, q.per_page + 1)?;
            let more = rows.len() as i64 > q.per_page;
            rows.truncate(q.per_page as usize);
            let next = more.then(|| rows.last().map(position_of)).flatten();
            Ok(EventPage {
                rows,
                total: None,
                next,
            })
        } else {
            let rows = db::shares::list(conn, &q.filter, None, q.offset, q.per_page)?;
            let total = db::shares::count(conn, &q.filter)?;
            Ok(EventPage {
                rows,
                total: Some(total),
                next: None,
            })
        }
    })
    .await
}

/// Removes one event; `404` when there is none with that id.
pub async fn delete_one(db: &Db, id: i64) -> Result<(), AppError> {
    let filter = EventFilter {
        id: Some(id),
        ..EventFilter::default()
    };
    match db
        .write(move |conn| Ok(db::shares::delete_matching(conn, &filter)?))
        .await?
    {
        0 => Err(AppError::not_found(format!("No share event has id {id}."))),
        _ => Ok(()),
    }
}

/// Removes every event matching `filter` (which the handler made sure is
/// not empty); returns how many.
pub async fn delete_matching(db: &Db, filter: EventFilter) -> Result<u64, AppError> {
    db.write(move |conn| Ok(db::shares::delete_matching(conn, &filter)?))
        .await
}

/// A validated statistics request.
#[derive(Debug, Clone)]
pub struct StatsQuery {
    pub group_by: GroupBy,
    pub range: DayRange,
    pub article_id: Option<i64>,
    pub channel: Option<ShareChannel>,
    /// `group_by=article`: how many articles to list.
    pub limit: i64,
}

/// One group of the statistics.
#[derive(Debug, Clone)]
pub struct StatsRow {
    pub key: String,
    pub count: i64,
    /// `group_by=article`: the article's slug and title.
    pub article: Option<(String, String)>,
}

pub struct Stats {
    pub total: i64,
    pub rows: Vec<StatsRow>,
}

/// Who asks for statistics. Authors may see those of their own articles
/// only (an `article_id` they wrote); editors and admins see everything.
#[derive(Debug, Clone, Copy)]
pub struct Viewer {
    pub editor_id: i64,
    pub role: Role,
}

pub async fn stats(db: &Db, viewer: Viewer, q: StatsQuery) -> Result<Stats, AppError> {
    db.read(move |conn| {
        if !viewer.role.includes(Role::Editor) {
            let own = match q.article_id {
                Some(id) => db::articles::find(conn, id)?.is_some_and(|a| a.author_id == viewer.editor_id),
                None => false,
            };
            if !own {
                return Err(AppError::forbidden(
                    "Authors may see the statistics of their own articles only: pass the `article_id` of one.",
                ));
            }
        }
        let filter = StatsFilter {
            range: q.range,
            article_id: q.article_id,
            channel: q.channel.map(|c| c.as_str().to_string()),
        };
        let by_channel = db::shares::stats_by_channel(conn, &filter)?;
        let total = by_channel.iter().map(|(_, n)| n).sum();
        let rows = match q.group_by {
            GroupBy::Channel => {
                let found: BTreeMap<String, i64> = by_channel.into_iter().collect();
                let mut rows: Vec<StatsRow> = ShareChannel::ALL
                    .into_iter()
                    .filter(|c| q.channel.is_none_or(|only| only == *c))
                    .map(|c| StatsRow {
                        key: c.as_str().to_string(),
                        count: found.get(c.as_str()).copied().unwrap_or(0),
                        article: None,
                    })
                    .collect();
                // Stable: equal counts keep the canonical channel order.
                rows.sort_by_key(|r| std::cmp::Reverse(r.count));
                rows
            }
            GroupBy::Day => {
                let found: HashMap<NaiveDate, i64> =
                    db::shares::stats_by_day(conn, &filter)?.into_iter().collect();
                q.range
                    .days()
                    .map(|d| StatsRow {
                        key: d.format("%Y-%m-%d").to_string(),
                        count: found.get(&d).copied().unwrap_or(0),
                        article: None,
                    })
                    .collect()
            }
            GroupBy::Article => {
                let top = db::shares::stats_by_article(conn, &filter, q.limit)?;
                let ids: Vec<i64> = top.iter().map(|(id, _)| *id).collect();
                let labels: HashMap<i64, (String, String)> = db::shares::article_labels(conn, &ids)?
                    .into_iter()
                    .map(|(id, slug, title)| (id, (slug, title)))
                    .collect();
                top.into_iter()
                    .map(|(id, count)| StatsRow {
                        key: id.to_string(),
                        count,
                        article: labels.get(&id).cloned(),
                    })
                    .collect()
            }
        };
        Ok(Stats { total, rows })
    })
    .await
}

/// Demo content: a believable spread of shares over the last 30 days for
/// `article_ids` (more for the first ones, more on recent days), recorded
/// through [`db::shares::record`] so every counter and rollup follows.
pub fn seed_demo(conn: &mut DbConnection, article_ids: &[i64]) -> Result<(), AppError> {
    const WEIGHTS: [(ShareChannel, u32); 9] = [
        (ShareChannel::Email, 14),
        (ShareChannel::Facebook, 18),
        (ShareChannel::X, 16),
        (ShareChannel::Linkedin, 8),
        (ShareChannel::Whatsapp, 20),
        (ShareChannel::Telegram, 4),
        (ShareChannel::Reddit, 5),
        (ShareChannel::CopyLink, 12),
        (ShareChannel::Other, 3),
    ];
    let total_weight: u32 = WEIGHTS.iter().map(|(_, w)| w).sum();
    let mut rng = rand::rng();
    let now = db::now();
    let since_midnight = (now - now.date().and_time(chrono::NaiveTime::MIN)).num_seconds();
    let span_seconds = (29 * 86_400 + since_midnight) as f64;
    let mut events = Vec::new();
    for (rank, article_id) in article_ids.iter().enumerate() {
        let n = rng.random_range(3..=60) * 3 / (rank as i64 + 3).min(12) + 2;
        for _ in 0..n {
            let mut pick = rng.random_range(0..total_weight);
            let channel = WEIGHTS
                .iter()
                .find(|(_, w)| {
                    let hit = pick < *w;
                    pick = pick.saturating_sub(*w);
                    hit
                })
                .map_or(ShareChannel::Other, |(c, _)| *c);
            // Squaring a uniform draw puts more shares on recent days; the
            // oldest fall 29 days back, inside a default 30-day chart.
            let age: f64 = rng.random::<f64>().powi(2) * span_seconds;
            events.push(NewShareEvent {
                article_id: *article_id,
                channel: channel.as_str().to_string(),
                created_at: now - TimeDelta::seconds(age as i64),
            });
        }
    }
    Ok(db::shares::record(conn, &events)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn press(ip: &str, ua: &str, slug: &str, channel: ShareChannel) -> Press {
        Press {
            slug: slug.into(),
            channel,
            client_ip: ip.parse().unwrap(),
            user_agent: ua.as_bytes().to_vec(),
        }
    }

    #[test]
    fn dedup_tells_repeats_from_new_presses() {
        let d = Dedup::new(Duration::from_secs(60));
        let a = d.key(&press("10.0.0.1", "ua", "s", ShareChannel::Email));
        assert!(!d.check_and_mark(&a));
        assert!(d.check_and_mark(&a));
        for other in [
            press("10.0.0.2", "ua", "s", ShareChannel::Email),
            press("10.0.0.1", "ua2", "s", ShareChannel::Email),
            press("10.0.0.1", "ua", "t", ShareChannel::Email),
            press("10.0.0.1", "ua", "s", ShareChannel::X),
        ] {
            assert!(!d.check_and_mark(&d.key(&other)));
        }
        d.forget(&a);
        assert!(!d.check_and_mark(&a));
    }

    #[test]
    fn dedup_forgets_after_the_window_and_rotates_its_salt() {
        let d = Dedup::new(Duration::from_millis(50));
        let a = d.key(&press("10.0.0.1", "ua", "s", ShareChannel::Email));
        let salt = d.lock().current.salt;
        assert!(!d.check_and_mark(&a));
        std::thread::sleep(Duration::from_millis(60));
        // Rotated: the press now lives in the previous generation, and has
        // aged out of the window.
        assert!(!d.check_and_mark(&a));
        assert_ne!(d.lock().current.salt, salt);
        std::thread::sleep(Duration::from_millis(120));
        let state = d.lock();
        assert!(state.current.seen.is_empty() && state.previous.seen.is_empty());
    }

    #[test]
    fn positions_round_trip() {
        let row = ShareEventRow {
            id: 42,
            article_id: 1,
            channel: "x".into(),
            created_at: NaiveDateTime::parse_from_str("2026-11-24T09:30:00", "%Y-%m-%dT%H:%M:%S").unwrap(),
        };
        assert_eq!(parse_position(&position_of(&row)), Some((row.created_at, 42)));
        assert_eq!(parse_position("nonsense"), None);
        assert_eq!(parse_position("2026-11-24T09:30:00|x"), None);
    }
}
