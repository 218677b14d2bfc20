//! One search's walk over its matches, at a bounded cost whatever the
//! query: ranking, the total and the facet counts.
//!
//! A common word in a large archive matches most of it (at 1M articles,
//! hundreds of thousands of matches): scoring and counting every one costs
//! tens of milliseconds of CPU per search, which caps a 2-core instance
//! at a few dozen searches a second. So each segment of the index is cut
//! into [`SLICES`] equal ranges of documents, and at most a share of
//! [`BUDGET`] matches is visited, spread evenly over the slices (a window
//! of the same length in each slice, at a pseudo-random place in it: see
//! [`sample`]):
//!
//! - when no slice reaches its share, every match was visited: the total,
//!   the facets and the ranking are **exact** (the usual case for a query
//!   that narrows: at most about 4,000 matches);
//! - otherwise each slice's counts are scaled by how much of it was
//!   visited (a stratified sample: estimates of the total and of every
//!   facet, reported with `exact: false`), and the ranking is made over the
//!   **newest** matches, the budget's worth of them (documents are added
//!   in time order, so the newest are at the end of each segment): with
//!   recency a factor of the score, that is where the best results of a
//!   very broad query are.
//!
//! A caller that shows no counts (suggestions, `q=` on lists) runs the
//! ranking pass alone ([`Wanted::Ranking`]): every match of a segment
//! whose matches fit its share, else its newest share, as a counted
//! search's ranking pass does; half the cost of a broad query. Filters nearly every document
//! passes (published, public by now) are checked per match from the
//! columns ([`Admit`]), not as query clauses.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use tantivy::query::{EnableScoring, Query, Weight};
use tantivy::{DocAddress, DocId, DocSet, Score, Searcher, SegmentReader, TERMINATED};

use super::columns::SegmentColumns;
use super::facets::Tally;
use crate::domain::search::recency_for_age;

/// Matches a search visits at most in each of its two passes.
pub const BUDGET: u64 = 4_096;
/// The same for a suggestion, which must answer in a few milliseconds
/// while the reader types.
pub const SUGGEST_BUDGET: u64 = 1_024;
/// Equal ranges of documents each segment is sampled in: many and short,
/// so that a facet that changes with time (the year) is sampled all
/// through the archive. Each window costs a seek of every term the query
/// stands for (a skip-list walk and one block decoded per term, with the
/// union of `union::AnyOf`), so fewer slices would be cheaper, at the
/// price of a coarser sample.
pub const SLICES: u32 = 256;

pub struct Scan {
    /// The best `limit` matches, best first.
    pub top: Vec<(Score, DocAddress)>,
    /// Empty unless counts were wanted.
    pub tally: Tally,
    /// Every match was visited.
    pub exact: bool,
}

/// What a scan is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wanted {
    /// The best matches, and the total and facets of all (the search
    /// page): both passes.
    RankingAndCounts,
    /// The best matches only (suggestions, `q=` on lists): the ranking
    /// pass alone, which sees every match when there are fewer than its
    /// share.
    Ranking,
}

/// A match in the ranking heap (a min-heap on the score).
struct Ranked(Score, DocAddress);

impl PartialEq for Ranked {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Ranked {}
impl PartialOrd for Ranked {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Ranked {
    // Reversed: the heap's top is the worst kept match. Ties: the newer
    // (higher) document wins.
    fn cmp(&self, other: &Self) -> Ordering {
        other.0.total_cmp(&self.0).then_with(|| other.1.cmp(&self.1))
    }
}

struct Top {
    heap: BinaryHeap<Ranked>,
    limit: usize,
}

impl Top {
    fn new(limit: usize) -> Top {
        Top {
            heap: BinaryHeap::with_capacity(limit.min(10_000) + 1),
            limit,
        }
    }

    fn push(&mut self, score: Score, address: DocAddress) {
        if self.limit == 0 {
            return;
        }
        if self.heap.len() < self.limit {
            self.heap.push(Ranked(score, address));
        } else if let Some(worst) = self.heap.peek()
            && score > worst.0
        {
            self.heap.pop();
            self.heap.push(Ranked(score, address));
        }
    }

    fn sorted(self) -> Vec<(Score, DocAddress)> {
        let mut all: Vec<Ranked> = self.heap.into_vec();
        all.sort();
        all.into_iter().map(|r| (r.0, r.1)).collect()
    }
}

/// What a match must also pass, checked on each document the query
/// yields, from its columns. For the filters nearly every document passes
/// (published, and by now): as query clauses they cost a seek into a
/// posting list as long as the archive, and a range scan of a column that
/// is opened again for every scorer, per match.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Admit {
    /// The status's code (`schema::status_code`).
    pub status: Option<u64>,
    /// Published at or before (Unix seconds).
    pub until: Option<i64>,
}

/// What a segment needs to score and count a match.
struct Segment<'a> {
    ord: u32,
    reader: &'a SegmentReader,
    columns: &'a SegmentColumns,
    admit: Admit,
    now: i64,
    /// Matches this segment may visit per pass.
    share: u64,
}

impl Segment<'_> {
    /// When a document the query yields is a match (not deleted, and
    /// admitted), its publication time (read once: it also scores).
    fn admitted(&self, doc: DocId) -> Option<i64> {
        if self
            .reader
            .alive_bitset()
            .is_some_and(|alive| !alive.is_alive(doc))
        {
            return None;
        }
        if let Some(status) = self.admit.status
            && self.columns.status.first(doc) != Some(status)
        {
            return None;
        }
        // Every document has one (`schema::document`).
        let published = self.columns.published.first(doc).unwrap_or(self.now);
        self.admit
            .until
            .is_none_or(|until| published <= until)
            .then_some(published)
    }

    fn score(&self, published: i64, relevance: Score) -> Score {
        relevance * recency_for_age(self.now - published)
    }
}

/// How a scan walks: what it admits, what it keeps and how far it goes.
#[derive(Clone, Copy, Debug)]
pub struct Walk {
    pub admit: Admit,
    /// Recency is measured from here (Unix seconds).
    pub now: i64,
    /// The best this many are kept.
    pub limit: usize,
    /// Matches visited at most per pass.
    pub budget: u64,
    pub wanted: Wanted,
}

/// Walks the matches of `query` that `walk.admit` lets through (see the
/// module documentation), visiting about `walk.budget` of them per pass;
/// keeps the best `walk.limit`, scored by relevance × recency. `columns`
/// are those of `searcher`'s segments, in its order.
pub fn scan(
    searcher: &Searcher,
    columns: &[std::sync::Arc<SegmentColumns>],
    query: &dyn Query,
    walk: Walk,
) -> tantivy::Result<Scan> {
    let Walk {
        admit,
        now,
        limit,
        budget,
        wanted,
    } = walk;
    let weight = query.weight(EnableScoring::enabled_from_searcher(searcher))?;
    let all_docs: u64 = searcher
        .segment_readers()
        .iter()
        .map(|s| u64::from(s.max_doc()))
        .sum();
    let mut top = Top::new(limit);
    let mut tally = Tally::default();
    let mut exact = true;
    let mut segments = Vec::new();
    // A counted search shares its budget out by segment size, each share
    // at least what the sampling pass estimates from (about 16 matches a
    // slice). The ranking pass alone gives every segment the whole budget
    // (a suggestion's is its own): shares by size would leave the small,
    // newest segments of fresh articles a handful of matches each, and
    // they hold what recency ranks first.
    for (ord, reader) in searcher.segment_readers().iter().enumerate() {
        let share = match wanted {
            Wanted::RankingAndCounts => {
                (budget * u64::from(reader.max_doc()) / all_docs.max(1)).max(u64::from(SLICES) * 16)
            }
            Wanted::Ranking => budget,
        }
        .max(limit as u64);
        let segment = Segment {
            ord: ord as u32,
            reader,
            columns: &columns[ord],
            admit,
            now,
            share,
        };
        exact &= match wanted {
            // Once a segment missed a match, the ranking pass ranks: the
            // next ones' samples need not score.
            Wanted::RankingAndCounts => {
                let ranked = if exact { Some(&mut top) } else { None };
                sample(&*weight, &segment, ranked, &mut tally)?
            }
            Wanted::Ranking => newest(&*weight, &segment, &mut top)?,
        };
        segments.push(segment);
    }
    if !exact && wanted == Wanted::RankingAndCounts {
        top = Top::new(limit);
        for segment in &segments {
            newest(&*weight, segment, &mut top)?;
        }
    }
    Ok(Scan {
        top: top.sorted(),
        tally,
        exact,
    })
}

/// The stratified pass over one segment: every match in a window of each
/// slice, counted with the weight of the slice the window stands for.
///
/// - **The window's length** is set before each slice from the recent
///   density of matches in the slices before it (each slice's counting
///   half as much as the next one's), so that a window holds about
///   `share / SLICES` matches: a word that becomes common late in the
///   archive is met with short windows a few slices later, not after as
///   many matches as the empty years before held documents. The first
///   slice is walked whole.
/// - **Its place** in each slice is pseudo-random ([`window_start`]),
///   wrapping round the slice's end: every document of a slice is in its
///   window with the same chance, `window / slice`, whatever part of the
///   slice a word appears in (a window at each slice's start under-counted
///   a word that appears part-way through one).
/// - **The count:** when every match was seen (no window was cut short,
///   and none of a slice's matches lay outside its window), each counts
///   once and the result is exact. Otherwise each window's matches count
///   `slice / window` times, the same weight whether or not its slice held
///   matches elsewhere: with the length fixed before the slice is looked
///   at, that estimate is unbiased.
/// - **Its cost** stays bounded: a window holding eight times the expected
///   matches is cut short and estimated from its density (biased where
///   matches cluster, but only where the density changed eightfold from
///   one slice to the next).
///
/// True when every match was seen.
///
/// Its matches are scored into `top` when given, until one is missed.
fn sample(
    weight: &dyn Weight,
    segment: &Segment,
    mut top: Option<&mut Top>,
    tally: &mut Tally,
) -> tantivy::Result<bool> {
    let max_doc = segment.reader.max_doc();
    if max_doc == 0 {
        return Ok(true);
    }
    let slice_len = max_doc.div_ceil(SLICES);
    let cap = (segment.share / u64::from(SLICES)).max(1);
    let (mut seen_docs, mut seen_matches) = (0.0f64, 0.0f64);
    let mut scorer = weight.scorer(segment.reader, 1.0)?;
    let mut missed = false;
    // The matches kept, and for each window where its matches end in
    // `kept` and the weight they carry unless every match was seen.
    let mut kept: Vec<DocId> = Vec::new();
    let mut windows: Vec<(usize, f64)> = Vec::new();
    for slice in 0..SLICES {
        let (start, end) = (slice * slice_len, ((slice + 1) * slice_len).min(max_doc));
        if start >= end || scorer.doc() == TERMINATED {
            break;
        }
        let len = end - start;
        let wanted = if slice == 0 || seen_matches < 0.5 {
            len
        } else {
            (cap as f64 * seen_docs / seen_matches)
                .ceil()
                .clamp(1.0, f64::from(len)) as u32
        };
        let at = window_start(segment.ord, slice, len);
        // The window in document order: the part wrapped round to the
        // slice's start, then the part from `at`; each with the end of
        // the gap after it (documents of the slice outside the window).
        let wrapped = (at + wanted).saturating_sub(len);
        let pieces = [
            (start, start + wrapped, start + at),
            (start + at, (start + at + wanted).min(end), end),
        ];
        let before = kept.len();
        let most = before as u64 + cap * 8;
        let mut covered = 0;
        for (from, until, gap_end) in pieces {
            // Once a match is missed, the ranking pass ranks: this one
            // only counts, and need not score.
            let ranked = if missed { None } else { top.as_deref_mut() };
            let reached = visit(&mut *scorer, segment, from, until, most, ranked, &mut kept);
            covered += reached - from;
            if reached < until {
                missed = true;
                break;
            }
            // A match in the gap was not seen.
            let mut doc = scorer.doc();
            while doc < gap_end && segment.admitted(doc).is_none() {
                doc = scorer.advance();
            }
            missed |= doc < gap_end;
        }
        windows.push((kept.len(), f64::from(len) / f64::from(covered.max(1))));
        seen_docs = seen_docs / 2.0 + f64::from(covered);
        seen_matches = seen_matches / 2.0 + (kept.len() - before) as f64;
    }
    let mut from = 0;
    for (until, weight_of_each) in windows {
        let weight_of_each = if missed { weight_of_each } else { 1.0 };
        tally.add_docs(segment.columns, &kept[from..until], weight_of_each);
        from = until;
    }
    Ok(!missed)
}

/// Keeps the matches in `from..until` (scored into `top`, when given)
/// until `kept` holds `most`; leaves the scorer on the first match at or
/// after `from` that it did not keep. Returns the document the walk
/// stopped before.
fn visit(
    scorer: &mut dyn tantivy::query::Scorer,
    segment: &Segment,
    from: DocId,
    until: DocId,
    most: u64,
    mut top: Option<&mut Top>,
    kept: &mut Vec<DocId>,
) -> DocId {
    let mut doc = scorer.doc();
    if doc < from {
        doc = scorer.seek(from);
    }
    while doc < until {
        if let Some(published) = segment.admitted(doc) {
            if let Some(top) = top.as_deref_mut() {
                top.push(
                    segment.score(published, scorer.score()),
                    DocAddress::new(segment.ord, doc),
                );
            }
            kept.push(doc);
            if kept.len() as u64 >= most {
                scorer.advance();
                return doc + 1;
            }
        }
        doc = scorer.advance();
    }
    until
}

/// Where slice `slice` of segment `segment` starts its window: one of
/// `places` offsets, pseudo-random (splitmix64), the same for every search
/// on the same segments (a search's estimates do not change from one page
/// to the next; a commit that renumbers segments may move them).
fn window_start(segment: u32, slice: u32, places: u32) -> u32 {
    let mut z = (u64::from(segment) << 32 | u64::from(slice)).wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z % u64::from(places.max(1))) as u32
}

/// The ranking pass of a broad query over one segment: its newest `share`
/// matches, found in windows going back from the end, each sized by the
/// density of matches seen so far, and at most twice as long as all the
/// windows before it plus `share` documents: the end of a segment may
/// hold none (drafts, dated by their creation, sort after every published
/// article; a date filter may leave out the newest), and a guess from an
/// empty window must not be the whole segment. True when it walked the
/// whole segment: every match was ranked.
fn newest(weight: &dyn Weight, segment: &Segment, top: &mut Top) -> tantivy::Result<bool> {
    let max_doc = segment.reader.max_doc();
    let mut end = max_doc;
    let (mut found, mut visited) = (0u64, 0u64);
    let mut kept = Vec::new();
    while end > 0 && found < segment.share {
        let density = if visited == 0 {
            1.0
        } else {
            (found as f64 / visited as f64).max(0.001)
        };
        let guess = ((segment.share - found) as f64 / density * 1.1) as u64 + 64;
        let wanted = guess.min(2 * visited + segment.share);
        let start = end.saturating_sub(wanted.min(u64::from(u32::MAX)) as u32);
        // A fresh scorer: this window is before the last one.
        let mut scorer = weight.scorer(segment.reader, 1.0)?;
        kept.clear();
        visit(
            &mut *scorer,
            segment,
            start,
            end,
            u64::MAX,
            Some(&mut *top),
            &mut kept,
        );
        found += kept.len() as u64;
        visited += u64::from(end - start);
        end = start;
    }
    Ok(end == 0)
}

#[cfg(test)]
mod tests;
