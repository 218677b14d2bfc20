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

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use tantivy::columnar::ColumnValues;
use tantivy::query::{EnableScoring, Query, Weight};
use tantivy::{DocAddress, DocId, DocSet, Score, Searcher, SegmentReader, TERMINATED};

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
    pub tally: Tally,
    /// Every match was visited.
    pub exact: bool,
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

/// What a segment needs to score and count a match.
struct Segment<'a> {
    ord: u32,
    reader: &'a SegmentReader,
    published: std::sync::Arc<dyn ColumnValues<i64>>,
    now: i64,
    /// Matches this segment may visit per pass.
    share: u64,
}

impl Segment<'_> {
    fn alive(&self, doc: DocId) -> bool {
        self.reader.alive_bitset().is_none_or(|alive| alive.is_alive(doc))
    }

    fn score(&self, doc: DocId, relevance: Score) -> Score {
        relevance * recency_for_age(self.now - self.published.get_val(doc))
    }
}

/// Walks `query`'s matches (see the module documentation), visiting about
/// `budget` of them per pass; keeps the best `limit`, scored by relevance ×
/// recency as of `now` (Unix seconds).
pub fn scan(
    searcher: &Searcher,
    query: &dyn Query,
    now: i64,
    limit: usize,
    budget: u64,
) -> tantivy::Result<Scan> {
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
    for (ord, reader) in searcher.segment_readers().iter().enumerate() {
        let share = (budget * u64::from(reader.max_doc()) / all_docs.max(1))
            .max(u64::from(SLICES) * 16)
            .max(limit as u64);
        let published = reader.fast_fields().i64("published")?.first_or_default_col(now);
        let segment = Segment {
            ord: ord as u32,
            reader,
            published,
            now,
            share,
        };
        exact &= sample(&*weight, &segment, &mut top, &mut tally)?;
        segments.push(segment);
    }
    if !exact {
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
fn sample(weight: &dyn Weight, segment: &Segment, top: &mut Top, tally: &mut Tally) -> tantivy::Result<bool> {
    let max_doc = segment.reader.max_doc();
    if max_doc == 0 {
        return Ok(true);
    }
    let slice_len = max_doc.div_ceil(SLICES);
    let cap = (segment.share / u64::from(SLICES)).max(1);
    let (mut seen_docs, mut seen_matches) = (0.0f64, 0.0f64);
    let mut scorer = weight.scorer(segment.reader, 1.0)?;
    let columns = tally.columns(segment.reader)?;
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
            let reached = visit(&mut *scorer, segment, from, until, most, top, &mut kept);
            covered += reached - from;
            if reached < until {
                missed = true;
                break;
            }
            // A match in the gap (deleted documents aside) was not seen.
            let mut doc = scorer.doc();
            while doc < gap_end && !segment.alive(doc) {
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
        tally.add_docs(&columns, &kept[from..until], weight_of_each);
        from = until;
    }
    Ok(!missed)
}

/// Scores and keeps the matches in `from..until` until `kept` holds
/// `most`; leaves the scorer on the first match at or after `from` that
/// it did not keep. Returns the document the walk stopped before.
fn visit(
    scorer: &mut dyn tantivy::query::Scorer,
    segment: &Segment,
    from: DocId,
    until: DocId,
    most: u64,
    top: &mut Top,
    kept: &mut Vec<DocId>,
) -> DocId {
    let mut doc = scorer.doc();
    if doc < from {
        doc = scorer.seek(from);
    }
    while doc < until {
        if segment.alive(doc) {
            top.push(
                segment.score(doc, scorer.score()),
                DocAddress::new(segment.ord, doc),
            );
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
/// empty window must not be the whole segment.
fn newest(weight: &dyn Weight, segment: &Segment, top: &mut Top) -> tantivy::Result<()> {
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
        visit(&mut *scorer, segment, start, end, u64::MAX, top, &mut kept);
        found += kept.len() as u64;
        visited += u64::from(end - start);
        end = start;
    }
    Ok(())
}

#[cfg(test)]
mod tests;
