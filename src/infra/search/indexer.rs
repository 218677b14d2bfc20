//! The thread that keeps an instance's index in step with the database.
//!
//! It reads the change log after the position its last commit recorded
//! (every [`POLL`], or at once when this instance wrote), reads the
//! current state of every article named there and writes it to the index
//! (or removes it, when it was deleted). Every status is indexed: editors
//! search their drafts; public searches filter. Reading the current
//! state makes a change applied twice, or out of order, harmless, so rows
//! committed but not yet settled (PostgreSQL) are applied early, as the
//! cache's follower does.
//!
//! Every index commit records the log position it covers and when; at
//! start an index whose record is missing, of another schema, ahead of the
//! database (another or a restored database) or older than the log's
//! retention is rebuilt from the articles table.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tantivy::indexer::{LogMergePolicy, NoMergePolicy};
use tantivy::{IndexWriter, TantivyDocument};

use super::SearchIndex;
use super::schema::{self, SCHEMA_VERSION};
use crate::db::changes::{self, ChangeRow, Position};
use crate::db::{Backend, Db};
use crate::domain::change::Entity;
use crate::error::AppError;

pub const POLL: Duration = Duration::from_millis(200);
/// Log rows read per query.
const BATCH: i64 = 1_000;
/// Articles read per query by a rebuild.
const BUILD_BATCH: usize = 2_000;
/// An archive up to this size is built before the server answers (well
/// under a second); a larger one in the background, searches answering
/// `503` meanwhile.
const BUILD_BEFORE_START: i64 = 20_000;
/// The writer's indexing memory: segments are flushed when it is full.
const WRITER_MEMORY: usize = 64 << 20;
/// The position is written to disk at least this often while the log moves
/// without touching articles (comments, shares).
const STAMP_EVERY: Duration = Duration::from_secs(30);

/// What a commit of the index records.
#[derive(Serialize, Deserialize)]
struct Stamp {
    version: u32,
    tx: i64,
    id: i64,
    /// Unix seconds.
    at: i64,
}

struct Indexer {
    db: Db,
    index: Weak<SearchIndex>,
    writer: IndexWriter<TantivyDocument>,
    fields: schema::Fields,
    /// `None`: the index must be rebuilt.
    position: Option<Position>,
    /// PostgreSQL: rows after the position applied before they settled.
    applied_early: HashSet<i64>,
    last_stamp: Instant,
    failing: bool,
}

/// Opens the index's writer and starts its thread. A small archive whose
/// index needs building is built before this returns.
pub fn start(
    db: Db,
    index: &Arc<SearchIndex>,
    retention_days: u32,
) -> Result<std::thread::JoinHandle<()>, String> {
    // One indexing thread: the build adds articles oldest first, and each
    // thread would make segments of its own share of them, every one
    // spanning the whole archive, so that no merge could put the newest at
    // the end (`scan` looks for them there). One merge thread (tantivy's
    // default is four per writer).
    let threads = 1;
    let options = tantivy::indexer::IndexWriterOptions::builder()
        .num_worker_threads(threads)
        .num_merge_threads(1)
        .memory_budget_per_thread(WRITER_MEMORY / threads)
        .build();
    let writer = index.index.writer_with_options(options).map_err(|e| {
        format!(
            "the search index is in use by another process (give each instance its own SEARCH_INDEX_DIR): {e}"
        )
    })?;
    let position = valid_stamp(&db, index, retention_days);
    if position.is_some() {
        index.ready.store(true, std::sync::atomic::Ordering::Release);
    }
    let mut indexer = Indexer {
        db: db.clone(),
        index: Arc::downgrade(index),
        writer,
        fields: index.fields,
        position,
        applied_early: HashSet::new(),
        last_stamp: Instant::now(),
        failing: false,
    };
    if indexer.position.is_none() && archive_size(&db).is_ok_and(|n| n <= BUILD_BEFORE_START) {
        indexer
            .rebuild(index)
            .map_err(|e| format!("building the search index: {e}"))?;
    }
    std::thread::Builder::new()
        .name("search-indexer".into())
        .spawn(move || indexer.run())
        .map_err(|e| format!("cannot start the search indexer: {e}"))
}

fn archive_size(db: &Db) -> Result<i64, AppError> {
    use crate::domain::article::{ArticleStatus, ListFilter};
    let filter = ListFilter {
        status: Some(ArticleStatus::Published),
        ..Default::default()
    };
    db.read_blocking(move |conn| Ok(crate::db::articles::count(conn, &filter)?))
}

/// The position the index's last commit covers, if it can be trusted.
fn valid_stamp(db: &Db, index: &SearchIndex, retention_days: u32) -> Option<Position> {
    let payload = index.index.load_metas().ok()?.payload?;
    let stamp: Stamp = serde_json::from_str(&payload).ok()?;
    let oldest = chrono::Utc::now().timestamp() - i64::from(retention_days) * 86_400 + 3_600;
    if stamp.version != SCHEMA_VERSION || stamp.at < oldest {
        return None;
    }
    let position = Position {
        tx: stamp.tx,
        id: stamp.id,
    };
    let head = db.read_blocking(|conn| Ok(changes::head(conn)?)).ok()?;
    (position <= head).then_some(position)
}

impl Indexer {
    fn run(mut self) {
        loop {
            let Some(index) = self.index.upgrade() else { return };
            let result = match self.position {
                None => {
                    index.lagging.store(true, std::sync::atomic::Ordering::Release);
                    self.rebuild(&index).map(|_| false)
                }
                Some(_) => self.follow(&index),
            };
            match result {
                Ok(true) => continue,
                Ok(false) => {
                    self.failing = false;
                    index.lagging.store(false, std::sync::atomic::Ordering::Release);
                }
                Err(e) => {
                    if !self.failing {
                        tracing::warn!(error = %e, "search index not updated; retrying");
                    }
                    self.failing = true;
                    // Searches stop waiting for it (`SearchIndex::catch_up`).
                    index.lagging.store(true, std::sync::atomic::Ordering::Release);
                }
            }
            let woken = index.woken.lock().unwrap_or_else(|e| e.into_inner());
            let (mut woken, _) = index
                .wake
                .wait_timeout_while(woken, POLL, |woken| !*woken)
                .unwrap_or_else(|e| e.into_inner());
            *woken = false;
        }
    }

    /// Builds the index from the articles table, then follows the log from
    /// the head read before the first article (changes made during the
    /// build are applied again after it, harmlessly).
    fn rebuild(&mut self, index: &SearchIndex) -> Result<(), AppError> {
        // No merges of the writer's own while it builds: its policy merges
        // segments largest first, which would shuffle the archive's dates
        // (and could race `merge_all` for the same segments).
        self.writer.set_merge_policy(Box::new(NoMergePolicy));
        let built = self.build(index);
        self.writer.set_merge_policy(Box::new(LogMergePolicy::default()));
        built
    }

    fn build(&mut self, index: &SearchIndex) -> Result<(), AppError> {
        let started = Instant::now();
        let written = index.written.load(std::sync::atomic::Ordering::Acquire);
        let head = self.db.read_blocking(|conn| Ok(changes::head(conn)?))?;
        self.writer.delete_all_documents().map_err(fault)?;
        let order = match self
            .db
            .read_blocking(|conn| Ok(crate::db::articles::search_order(conn)?))
        {
            Ok(order) => order,
            Err(e) => {
                let _ = self.writer.rollback();
                return Err(e);
            }
        };
        let (mut built, mut reported) = (0usize, Instant::now());
        for batch in order.chunks(BUILD_BATCH) {
            let ids = batch.to_vec();
            let docs = self
                .db
                .read_blocking(move |conn| Ok(crate::db::articles::search_documents(conn, &ids)?));
            let mut docs = match docs {
                Ok(docs) => docs,
                Err(e) => {
                    let _ = self.writer.rollback();
                    return Err(e);
                }
            };
            // The batch's own order (an article edited since the order was
            // read may have moved: it is added where it was).
            let place: HashMap<i64, usize> = batch.iter().enumerate().map(|(i, id)| (*id, i)).collect();
            docs.sort_by_key(|doc| place.get(&doc.id).copied());
            for doc in &docs {
                self.writer
                    .add_document(schema::document(&self.fields, doc))
                    .map_err(fault)?;
            }
            built += docs.len();
            if reported.elapsed() >= Duration::from_secs(10) {
                reported = Instant::now();
                let rate = built as f64 / started.elapsed().as_secs_f64();
                tracing::info!(
                    articles = built,
                    of = order.len(),
                    per_second = rate as u64,
                    "building the search index"
                );
            }
        }
        self.commit(index, head)?;
        self.merge_all(index)?;
        self.position = Some(head);
        self.applied_early.clear();
        index.ready.store(true, std::sync::atomic::Ordering::Release);
        index
            .applied
            .fetch_max(written, std::sync::atomic::Ordering::AcqRel);
        tracing::info!(
            articles = built,
            seconds = started.elapsed().as_secs_f64(),
            "search index built"
        );
        Ok(())
    }

    /// Merges every segment of a fresh build into one: a search pays per
    /// segment (term dictionaries walked for typos and prefixes, scorers
    /// set up), and a build leaves one per flush of the writer's memory.
    /// A merge lays its segments end to end in the order it is given, so
    /// they are given oldest first (by their earliest date): the merged
    /// segment keeps the build's date order.
    fn merge_all(&mut self, index: &SearchIndex) -> Result<(), AppError> {
        index.reader.reload().map_err(fault)?;
        let searcher = index.reader.searcher();
        let mut segments = Vec::new();
        for reader in searcher.segment_readers() {
            let earliest = reader
                .fast_fields()
                .i64("published")
                .map_err(fault)?
                .first_or_default_col(0)
                .min_value();
            segments.push((earliest, reader.segment_id()));
        }
        if segments.len() > 1 {
            segments.sort_by_key(|(earliest, _)| *earliest);
            let ids: Vec<_> = segments.into_iter().map(|(_, id)| id).collect();
            self.writer.merge(&ids).wait().map_err(fault)?;
            index.reader.reload().map_err(fault)?;
        }
        Ok(())
    }

    /// One read of the log; true when a full batch came (read on at once).
    fn follow(&mut self, index: &SearchIndex) -> Result<bool, AppError> {
        let Some(position) = self.position else {
            return Ok(false);
        };
        // Read before the log: every local write up to it is in what
        // follows.
        let written = index.written.load(std::sync::atomic::Ordering::Acquire);
        let early = self.db.backend() == Backend::Postgres;
        let (settled, committed) = self.db.read_blocking(move |conn| {
            let settled = changes::read_settled(conn, position, BATCH)?;
            let committed = if early {
                changes::read_committed_after(conn, position, BATCH)?
            } else {
                Vec::new()
            };
            Ok((settled, committed))
        })?;
        let mut ids = BTreeSet::new();
        // Rows applied early are marked only once the index has them: a
        // failed read or write below must leave them to the next poll.
        let mut early_rows = Vec::new();
        for row in &committed {
            if !self.applied_early.contains(&row.id) {
                take(row, &mut ids);
                early_rows.push(row.id);
            }
        }
        for row in &settled {
            if !self.applied_early.contains(&row.id) {
                take(row, &mut ids);
            }
        }
        let moved_to = settled.last().map(ChangeRow::position);
        let ids_empty = ids.is_empty();
        if !ids_empty {
            let ids: Vec<i64> = ids.into_iter().collect();
            if let Err(e) = self.apply(&ids) {
                // Nothing half-applied is committed later.
                let _ = self.writer.rollback();
                return Err(e);
            }
        }
        let to = moved_to.unwrap_or(position);
        if !ids_empty || (to != position && self.last_stamp.elapsed() >= STAMP_EVERY) {
            self.commit(index, to)?;
        }
        self.applied_early.extend(early_rows);
        for row in &settled {
            self.applied_early.remove(&row.id);
        }
        self.position = Some(to);
        // Read on at once only while the settled position moves: a full
        // window of committed rows behind a transaction that holds the
        // settled position back must not spin (the cache's follower reads
        // the same way).
        let full = settled.len() as i64 == BATCH || (committed.len() as i64 == BATCH && !settled.is_empty());
        if !full {
            index
                .applied
                .fetch_max(written, std::sync::atomic::Ordering::AcqRel);
        }
        Ok(full)
    }

    /// Writes the current state of the articles `ids` to the index (or
    /// removes them), uncommitted.
    fn apply(&mut self, ids: &[i64]) -> Result<(), AppError> {
        let lookup = ids.to_vec();
        let docs = self
            .db
            .read_blocking(move |conn| Ok(crate::db::articles::search_documents(conn, &lookup)?))?;
        for id in ids {
            self.writer.delete_term(schema::id_term(&self.fields, *id));
        }
        for doc in &docs {
            self.writer
                .add_document(schema::document(&self.fields, doc))
                .map_err(fault)?;
        }
        Ok(())
    }

    fn commit(&mut self, index: &SearchIndex, at: Position) -> Result<(), AppError> {
        let stamp = Stamp {
            version: SCHEMA_VERSION,
            tx: at.tx,
            id: at.id,
            at: chrono::Utc::now().timestamp(),
        };
        let mut prepared = self.writer.prepare_commit().map_err(fault)?;
        prepared.set_payload(&serde_json::to_string(&stamp).map_err(AppError::internal)?);
        prepared.commit().map_err(fault)?;
        index.reader.reload().map_err(fault)?;
        self.last_stamp = Instant::now();
        Ok(())
    }
}

/// Adds the article `row` names to `ids`. Other rows change nothing the
/// index holds (tag and author names are read when a result is shown);
/// a row with a key this version cannot read still names its entity.
fn take(row: &ChangeRow, ids: &mut BTreeSet<i64>) {
    if row.entity == Entity::Article {
        ids.insert(row.entity_id);
    }
}

fn fault(e: tantivy::TantivyError) -> AppError {
    AppError::internal(format!("search index: {e}"))
}
