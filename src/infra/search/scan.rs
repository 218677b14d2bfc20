//! One search's walk over its matches, at a bounded cost whatever the
//! query: ranking, the total and the facet counts.
//!
//! A common word in a large archive matches most of it (at 1M articles,
//! hundreds of thousands of matches): scoring and counting every one costs
//! tens of milliseconds of CPU per search, which caps a 2-core instance
//! at a few dozen searches a second. So each segment of the index is cut
//! into [`SLICES`] equal ranges of documents, and at most a share of
//! [`BUDGET`] matches is visited, spread evenly over the slices (the first
//! matches of each slice: with 256 slices, a few days of a large archive
//! each):
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
/// so that a facet that changes with time (the year) is sampled through
/// each range, not cut off after the start of it.
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

/// The stratified pass over one segment: every match in a window at the
/// start of each slice, counted with the weight of the slice the window
/// stands for. The window's length is set on the first slice (the
/// documents it takes to find `share / SLICES` matches), and is the same
/// for every slice: a systematic sample of the segment, whose estimates
/// are unbiased. A window is cut short (and estimated from its density) if
/// matches are much denser there, so the cost stays bounded. True when
/// every window covered its whole slice.
fn sample(weight: &dyn Weight, segment: &Segment, top: &mut Top, tally: &mut Tally) -> tantivy::Result<bool> {
    let max_doc = segment.reader.max_doc();
    if max_doc == 0 {
        return Ok(true);
    }
    let slice_len = max_doc.div_ceil(SLICES);
    let cap = (segment.share / u64::from(SLICES)).max(1);
    let mut scorer = weight.scorer(segment.reader, 1.0)?;
    let columns = tally.columns(segment.reader)?;
    let mut window: Option<u32> = None;
    let mut exact = true;
    let mut kept: Vec<DocId> = Vec::new();
    for slice in 0..SLICES {
        let (start, end) = (slice * slice_len, ((slice + 1) * slice_len).min(max_doc));
        if start >= end {
            break;
        }
        let mut doc = scorer.doc();
        if doc < start {
            doc = scorer.seek(start);
        }
        kept.clear();
        // The first slice looks for `cap` matches; the others take the
        // window that needed, stopping at four times as many.
        let (mut until, most) = match window {
            Some(w) => (start.saturating_add(w).min(end), cap * 4),
            None => (end, cap),
        };
        while doc < until {
            if segment.alive(doc) {
                top.push(
                    segment.score(doc, scorer.score()),
                    DocAddress::new(segment.ord, doc),
                );
                kept.push(doc);
                if kept.len() as u64 >= most {
                    until = doc + 1;
                    doc = scorer.advance();
                    break;
                }
            }
            doc = scorer.advance();
        }
        if window.is_none() {
            window = Some(until - start);
        }
        let covered = until - start;
        let weight_of_each = if covered < end - start && doc < end {
            exact = false;
            f64::from(end - start) / f64::from(covered)
        } else {
            1.0
        };
        tally.add_docs(&columns, &kept, weight_of_each);
        if doc == TERMINATED {
            break;
        }
    }
    Ok(exact)
}

/// The ranking pass of a broad query over one segment: its newest `share`
/// matches, found in windows going back from the end, each sized by the
/// density of matches seen so far.
fn newest(weight: &dyn Weight, segment: &Segment, top: &mut Top) -> tantivy::Result<()> {
    let max_doc = segment.reader.max_doc();
    let mut end = max_doc;
    let (mut found, mut visited) = (0u64, 0u64);
    while end > 0 && found < segment.share {
        let density = if visited == 0 {
            1.0
        } else {
            (found as f64 / visited as f64).max(0.001)
        };
        let wanted = ((segment.share - found) as f64 / density * 1.1) as u64 + 64;
        let start = end.saturating_sub(wanted.min(u64::from(u32::MAX)) as u32);
        let mut scorer = weight.scorer(segment.reader, 1.0)?;
        let mut doc = scorer.doc();
        if doc < start {
            doc = scorer.seek(start);
        }
        while doc < end {
            if segment.alive(doc) {
                top.push(
                    segment.score(doc, scorer.score()),
                    DocAddress::new(segment.ord, doc),
                );
                found += 1;
            }
            doc = scorer.advance();
        }
        visited += u64::from(end - start);
        end = start;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::article::ArticleStatus;
    use crate::domain::search::SearchDocument;
    use crate::infra::search::schema;
    use chrono::{Duration, NaiveDate};
    use tantivy::query::TermQuery;
    use tantivy::schema::IndexRecordOption;
    use tantivy::{Index, IndexWriter, TantivyDocument, Term};

    /// Whether article `i` says "tram": about one in three, scattered
    /// (splitmix64), as words are in real text.
    fn says_tram(i: i64) -> bool {
        let mut z = (i as u64).wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        (z ^ (z >> 31)).is_multiple_of(3)
    }

    /// `n` articles, one a day (the last is the newest); about one in three
    /// says "tram" ([`says_tram`]), and article `i` has tag `i % 4`.
    fn index(n: i64) -> (Index, schema::Fields) {
        let (schema_def, fields) = schema::schema();
        let index = Index::create_in_ram(schema_def);
        schema::register(&index);
        let mut writer: IndexWriter<TantivyDocument> = index.writer(50_000_000).unwrap();
        let start = NaiveDate::from_ymd_opt(2000, 1, 1)
            .unwrap()
            .and_hms_opt(0, 0, 0)
            .unwrap();
        for i in 0..n {
            let doc = SearchDocument {
                id: i + 1,
                title: format!("Article {i}"),
                standfirst: String::new(),
                body: if says_tram(i) {
                    "a tram passes".into()
                } else {
                    "a bus passes".into()
                },
                status: ArticleStatus::Published,
                author_id: 1,
                tag_ids: vec![i % 4],
                dated: start + Duration::days(i),
            };
            writer.add_document(schema::document(&fields, &doc)).unwrap();
        }
        writer.commit().unwrap();
        (index, fields)
    }

    fn tram(fields: &schema::Fields) -> TermQuery {
        TermQuery::new(
            Term::from_field_text(fields.body, "tram"),
            IndexRecordOption::WithFreqs,
        )
    }

    #[test]
    fn a_narrow_query_is_counted_exactly() {
        let (index, fields) = index(3_000);
        let searcher = index.reader().unwrap().searcher();
        let now = 4_000_000_000;
        let scan = scan(&searcher, &tram(&fields), now, 5, BUDGET).unwrap();
        let want = (0..3_000).filter(|i| says_tram(*i)).count() as u64;
        assert!(scan.exact);
        assert_eq!(scan.tally.total(), want);
        let tags = scan.tally.counts().tags;
        assert_eq!(tags.iter().map(|(_, n)| n).sum::<u64>(), want);
    }

    #[test]
    fn a_broad_query_is_estimated_from_an_even_sample_and_ranks_the_newest() {
        let (index, fields) = index(120_000);
        let searcher = index.reader().unwrap().searcher();
        // The day after the last article.
        let now = NaiveDate::from_ymd_opt(2000, 1, 1)
            .unwrap()
            .and_hms_opt(0, 0, 0)
            .unwrap()
            + Duration::days(120_001);
        let now = now.and_utc().timestamp();
        let scan = scan(&searcher, &tram(&fields), now, 5, BUDGET).unwrap();
        let want = (0..120_000).filter(|i| says_tram(*i)).count() as f64;
        assert!(!scan.exact, "some 40,000 matches are more than the budget");
        let total = scan.tally.total() as f64;
        assert!((total - want).abs() / want < 0.03, "estimate {total} of {want}");
        let counts = scan.tally.counts();
        assert_eq!(counts.tags.len(), 4);
        for (tag, n) in &counts.tags {
            // About every fourth tram article has each tag.
            assert!(
                (*n as f64 - want / 4.0).abs() / (want / 4.0) < 0.06,
                "tag {tag}: {n}"
            );
        }
        let years: u64 = counts.years.iter().map(|(_, n)| n).sum();
        assert!((years as f64 - want).abs() / want < 0.03);
        // Equal relevance: the newest matches come first.
        let newest = scan.top.first().unwrap().1;
        let ids = searcher
            .segment_reader(newest.segment_ord)
            .fast_fields()
            .u64("id")
            .unwrap();
        let newest_tram = (0..120_000).rev().find(|i| says_tram(*i)).unwrap() as u64 + 1;
        assert_eq!(ids.first(newest.doc_id), Some(newest_tram));
    }
}
