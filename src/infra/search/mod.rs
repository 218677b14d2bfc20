//! The search engine: an embedded full-text index (Tantivy) beside the
//! database, one per instance, the same on SQLite and PostgreSQL. Chosen
//! over FTS5 and tsvector by measurement (docs/BENCHMARKS.md, "Search").
//!
//! - **What is in it:** every article (title, standfirst, body text), with
//!   its status, author, tags and publication time as columns: editors
//!   search their drafts, public searches filter. Tags and
//!   authors are ids: names come from the database when a result is shown.
//! - **Where:** `SEARCH_INDEX_DIR` (one directory per instance), or memory
//!   when unset: rebuilt at every start, fine for a small archive.
//! - **Always current:** [`indexer`] follows the change log like the cache
//!   does, and is woken at once by this instance's own writes; every
//!   commit of the index records its position in the log, so a crash or a
//!   `kill -9` resumes from there. An index missing, of another schema
//!   version (each has its own subdirectory), or older than the log's
//!   retention is rebuilt from the database by itself; searches answer
//!   `503` until the first build is done.
//! - **Never stale to a reader:** the index only picks *which* articles
//!   match; what a result shows (and whether it is still public) is read
//!   from the database.

mod columns;
mod facets;
mod indexer;
mod query;
mod scan;
mod schema;
mod snippet;
mod union;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Condvar, Mutex};

use tantivy::{DocAddress, Index, IndexReader, ReloadPolicy, Score};

pub use indexer::start;
pub use snippet::{Highlight, Snippets};

use crate::domain::search::{FacetCounts, SearchFilter, Word};
use crate::error::AppError;
use schema::Fields;

pub struct SearchIndex {
    index: Index,
    reader: IndexReader,
    fields: Fields,
    columns: columns::ColumnCache,
    /// The index answers: opened current, or its first build is done.
    ready: AtomicBool,
    /// Set by a local write; the indexer waits on it between polls.
    woken: Mutex<bool>,
    wake: Condvar,
    /// Writes this instance committed that recorded changes (counted as
    /// they wake the indexer), and how many of them the index has caught
    /// up with: every one up to `applied` is searchable.
    written: AtomicU64,
    applied: AtomicU64,
    /// The indexer is rebuilding or failing: searches do not wait for it.
    lagging: AtomicBool,
}

/// A page of matches, best first.
#[derive(Clone)]
pub struct Hits {
    /// Article ids with their score (relevance × recency).
    pub ids: Vec<(i64, f32)>,
    /// Every match, not only the page's.
    pub total: u64,
    /// `total` and `facets` are counts, not estimates (see `scan`).
    pub exact: bool,
    pub facets: FacetCounts,
    pub highlight: Highlight,
}

impl SearchIndex {
    /// Opens the index in `dir` (created when missing), or one in memory.
    pub fn open(dir: Option<&Path>) -> Result<SearchIndex, String> {
        let (schema, fields) = schema::schema();
        let index = match dir {
            None => Index::create_in_ram(schema.clone()),
            Some(dir) => {
                // One subdirectory per schema version: a newer version on
                // the same host builds its own, never touching an index
                // another process may have open.
                let dir = dir.join(format!("v{}", schema::SCHEMA_VERSION));
                let dir = dir.as_path();
                std::fs::create_dir_all(dir)
                    .map_err(|e| format!("SEARCH_INDEX_DIR {}: {e}", dir.display()))?;
                let directory = tantivy::directory::MmapDirectory::open(dir)
                    .map_err(|e| format!("SEARCH_INDEX_DIR {}: {e}", dir.display()))?;
                Index::open_or_create(directory, schema.clone()).map_err(|e| {
                    format!(
                        "SEARCH_INDEX_DIR {}: {e} (remove the directory: it is rebuilt from the database)",
                        dir.display()
                    )
                })?
            }
        };
        schema::register(&index);
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()
            .map_err(|e: tantivy::TantivyError| e.to_string())?;
        Ok(SearchIndex {
            index,
            reader,
            fields,
            columns: columns::ColumnCache::default(),
            ready: AtomicBool::new(false),
            woken: Mutex::new(false),
            wake: Condvar::new(),
            written: AtomicU64::new(0),
            applied: AtomicU64::new(0),
            lagging: AtomicBool::new(false),
        })
    }

    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Acquire)
    }

    /// A write on this instance committed: index it now, not at the next
    /// poll.
    pub fn wake(&self) {
        self.written.fetch_add(1, Ordering::AcqRel);
        if let Ok(mut woken) = self.woken.lock() {
            *woken = true;
            self.wake.notify_one();
        }
    }

    /// Waits (at most `patience`) until every write this instance committed
    /// before the search began is searchable: an editor who publishes and
    /// then searches on the same instance finds the article. Usually a few
    /// milliseconds: a local write wakes the indexer at once. No wait while
    /// the indexer rebuilds or fails.
    pub fn catch_up(&self, patience: std::time::Duration) {
        let target = self.written.load(Ordering::Acquire);
        let started = std::time::Instant::now();
        while self.applied.load(Ordering::Acquire) < target
            && !self.lagging.load(Ordering::Acquire)
            && started.elapsed() < patience
        {
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
    }

    fn not_ready() -> AppError {
        AppError::not_ready(
            "search_index_building",
            "The search index is being built; retry shortly.",
        )
    }

    /// The page `offset..offset + limit` of the matches of `words` that
    /// pass `filter`, ranked by relevance × recency, with the total and
    /// facet counts of every match. Empty when a word matches nothing.
    pub fn search(
        &self,
        words: &[Word],
        filter: &SearchFilter,
        offset: usize,
        limit: usize,
    ) -> Result<Hits, AppError> {
        let texts = self.fields.weighted_text();
        let wanted = scan::Wanted::RankingAndCounts;
        let Some(Scanned { ids, scan, highlight }) =
            self.scan(words, &texts, filter, offset + limit, scan::BUDGET, wanted)?
        else {
            return Ok(Hits {
                ids: vec![],
                total: 0,
                exact: true,
                facets: FacetCounts::default(),
                highlight: Highlight::default(),
            });
        };
        Ok(Hits {
            ids: ids.into_iter().skip(offset).collect(),
            total: scan.tally.total(),
            exact: scan.exact,
            facets: scan.tally.counts(),
            highlight: Highlight(highlight),
        })
    }

    /// The best `limit` matches of `words` that pass `filter`, as
    /// [`SearchIndex::search`] ranks them, without counting them all (`q=`
    /// on a list, which shows neither total nor facets of the search).
    pub fn rank(&self, words: &[Word], filter: &SearchFilter, limit: usize) -> Result<Vec<i64>, AppError> {
        let texts = self.fields.weighted_text();
        let found = self.scan(words, &texts, filter, limit, scan::BUDGET, scan::Wanted::Ranking)?;
        Ok(found.map(Scanned::article_ids).unwrap_or_default())
    }

    /// Up to `limit` public articles whose title matches `words` (the last
    /// one as a prefix), best first.
    pub fn suggest(&self, words: &[Word], filter: &SearchFilter, limit: usize) -> Result<Vec<i64>, AppError> {
        let title = [(self.fields.title, 1.0)];
        let found = self.scan(
            words,
            &title,
            filter,
            limit,
            scan::SUGGEST_BUDGET,
            scan::Wanted::Ranking,
        )?;
        Ok(found.map(Scanned::article_ids).unwrap_or_default())
    }

    /// The best `limit` matches of `words` in `texts` that pass `filter`,
    /// with the scan's counts; `None` when a word matches nothing.
    fn scan(
        &self,
        words: &[Word],
        texts: &[(tantivy::schema::Field, f32)],
        filter: &SearchFilter,
        limit: usize,
        budget: u64,
        wanted: scan::Wanted,
    ) -> Result<Option<Scanned>, AppError> {
        if !self.is_ready() {
            return Err(Self::not_ready());
        }
        let searcher = self.reader.searcher();
        let Some(plan) = query::plan(&searcher, words, texts).map_err(fault)? else {
            return Ok(None);
        };
        let (query, admit) = query::filtered(&searcher, &self.fields, plan.query, filter).map_err(fault)?;
        let now = filter.now.and_utc().timestamp();
        let columns = self.columns.of(&searcher).map_err(fault)?;
        let walk = scan::Walk {
            admit,
            now,
            limit,
            budget,
            wanted,
        };
        let mut scan = scan::scan(&searcher, &columns, &*query, walk).map_err(fault)?;
        let ids = article_ids(&columns, std::mem::take(&mut scan.top).into_iter());
        Ok(Some(Scanned {
            ids,
            scan,
            highlight: plan.highlight,
        }))
    }

    /// The snippets of an answer whose search highlighted `highlight`.
    pub fn snippets(&self, highlight: &Highlight) -> Snippets {
        Snippets::new(highlight, self.fields.body)
    }
}

/// What [`SearchIndex::scan`] found.
struct Scanned {
    /// The best matches' article ids, best first, with their scores.
    ids: Vec<(i64, f32)>,
    scan: scan::Scan,
    /// The terms to highlight, with their weights.
    highlight: BTreeMap<String, f32>,
}

impl Scanned {
    fn article_ids(self) -> Vec<i64> {
        self.ids.into_iter().map(|(id, _)| id).collect()
    }
}

/// The article ids of `docs`, with their scores.
fn article_ids(
    columns: &[std::sync::Arc<columns::SegmentColumns>],
    docs: impl Iterator<Item = (Score, DocAddress)>,
) -> Vec<(i64, f32)> {
    docs.filter_map(|(score, address)| {
        let id = columns[address.segment_ord as usize].id.first(address.doc_id)?;
        Some((id as i64, score))
    })
    .collect()
}

fn fault(e: tantivy::TantivyError) -> AppError {
    AppError::internal(format!("search index: {e}"))
}
