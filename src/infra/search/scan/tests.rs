//! The sampling and ranking passes on small built indexes: exact counts,
//! unbiased estimates where matches cluster, the newest ranked first.

use super::*;
use crate::domain::article::ArticleStatus;
use crate::domain::search::SearchDocument;
use crate::infra::search::columns::ColumnCache;
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
    index_where(n, says_tram, |i| i % 4, &[n])
}

/// Articles as in [`index`], those for which `tram` holds saying "tram",
/// article `i` with tag `tag(i)`, in segments of the given sizes (in
/// order, as the index is built: one indexing thread). Sizes that differ
/// keep the segments' numbering, and so the sample, the same every run.
fn index_where(n: i64, tram: fn(i64) -> bool, tag: fn(i64) -> i64, sizes: &[i64]) -> (Index, schema::Fields) {
    build(n, tram_or_bus(tram), tag, |_| ArticleStatus::Published, sizes)
}

/// The body "a tram passes" where `tram` holds, else "a bus passes".
fn tram_or_bus(tram: fn(i64) -> bool) -> impl Fn(i64) -> &'static str {
    move |i| if tram(i) { "a tram passes" } else { "a bus passes" }
}

/// Articles as in [`index_where`], article `i` saying `body(i)`, of status
/// `status(i)`.
fn build(
    n: i64,
    body: impl Fn(i64) -> &'static str,
    tag: fn(i64) -> i64,
    status: fn(i64) -> ArticleStatus,
    sizes: &[i64],
) -> (Index, schema::Fields) {
    assert_eq!(sizes.iter().sum::<i64>(), n);
    let mut commits: Vec<i64> = sizes
        .iter()
        .scan(0, |end, size| {
            *end += size;
            Some(*end)
        })
        .collect();
    commits.reverse();
    let (schema_def, fields) = schema::schema();
    let index = Index::create_in_ram(schema_def);
    schema::register(&index);
    let mut writer: IndexWriter<TantivyDocument> = index.writer_with_num_threads(1, 50_000_000).unwrap();
    let start = NaiveDate::from_ymd_opt(2000, 1, 1)
        .unwrap()
        .and_hms_opt(0, 0, 0)
        .unwrap();
    for i in 0..n {
        let doc = SearchDocument {
            id: i + 1,
            title: format!("Article {i}"),
            standfirst: String::new(),
            body: body(i).into(),
            status: status(i),
            author_id: 1,
            tag_ids: vec![tag(i)],
            dated: start + Duration::days(i),
        };
        writer.add_document(schema::document(&fields, &doc)).unwrap();
        if commits.last() == Some(&(i + 1)) {
            commits.pop();
            writer.commit().unwrap();
        }
    }
    writer.commit().unwrap();
    (index, fields)
}

/// The best 5, counting every match, as a search does.
fn walk(admit: Admit, now: i64) -> Walk {
    Walk {
        admit,
        now,
        limit: 5,
        budget: BUDGET,
        wanted: Wanted::RankingAndCounts,
    }
}

/// The best 5 of a walk that only ranks, within `budget`.
fn ranking(now: i64, budget: u64) -> Walk {
    Walk {
        budget,
        wanted: Wanted::Ranking,
        ..walk(Admit::default(), now)
    }
}

/// Every match of `query` counted, none left out by [`Admit`]; the best 5.
fn scan_all(searcher: &Searcher, query: &dyn Query, now: i64) -> tantivy::Result<Scan> {
    let columns = ColumnCache::default().of(searcher)?;
    scan(searcher, &columns, query, walk(Admit::default(), now))
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
    let scan = scan_all(&searcher, &tram(&fields), now).unwrap();
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
    let scan = scan_all(&searcher, &tram(&fields), now).unwrap();
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

/// Four segments of different sizes, 120,000 articles in all.
const SIZES: [i64; 4] = [36_000, 32_000, 28_000, 24_000];

/// Where article `i` is in the slices of its segment: its place in its
/// slice and the slice's length.
fn place_in_slice(i: i64) -> (i64, i64) {
    let (mut start, mut k) = (0, 0);
    while i >= start + SIZES[k] {
        start += SIZES[k];
        k += 1;
    }
    let slice_len = (SIZES[k] as u32).div_ceil(SLICES) as i64;
    ((i - start) % slice_len, slice_len)
}

fn hash(i: i64) -> u64 {
    let mut z = (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z ^= z >> 29;
    z
}

/// "tram" ever more likely through each slice of each segment (in none
/// of a slice's first documents, in nearly all its last), as if the
/// sampling's slices were seasons: windows at each slice's start would see
/// too few of them.
fn ever_more_through_each_slice(i: i64) -> bool {
    let (place, slice_len) = place_in_slice(i);
    ((hash(i) % slice_len as u64) as i64) < place
}

#[test]
fn a_word_that_clusters_within_slices_is_estimated_without_bias() {
    let (index, fields) = index_where(120_000, ever_more_through_each_slice, |i| i % 4, &SIZES);
    let searcher = index.reader().unwrap().searcher();
    assert_eq!(searcher.segment_readers().len(), 4);
    let now = 4_000_000_000;
    let scan = scan_all(&searcher, &tram(&fields), now).unwrap();
    let want = (0..120_000).filter(|i| ever_more_through_each_slice(*i)).count() as f64;
    assert!(!scan.exact, "some 60,000 matches are more than the budget");
    let total = scan.tally.total() as f64;
    assert!((total - want).abs() / want < 0.06, "estimate {total} of {want}");
}

/// Slices alternate: every third article says "tram" in one (tags 0 to
/// 3), a single article in the middle of the next does (tag 9).
fn alternating(i: i64) -> bool {
    let (place, slice_len) = place_in_slice(i);
    let slice = i / slice_len;
    if slice % 2 == 0 {
        says_tram(i)
    } else {
        place == slice_len / 2
    }
}

#[test]
fn a_slice_whose_few_matches_lie_outside_its_window_still_counts() {
    // A lone match is inside its slice's short window only sometimes: it
    // must then stand for the slice, not for itself alone.
    let tag = |i| {
        if alternating(i) && (i / place_in_slice(i).1) % 2 == 1 {
            9
        } else {
            i % 4
        }
    };
    let (index, fields) = index_where(120_000, alternating, tag, &SIZES);
    let searcher = index.reader().unwrap().searcher();
    let scan = scan_all(&searcher, &tram(&fields), 4_000_000_000).unwrap();
    let want = (0..120_000).filter(|i| alternating(*i) && tag(*i) == 9).count() as f64;
    assert!(!scan.exact);
    let counts = scan.tally.counts();
    let lone = counts.tags.iter().find(|(t, _)| *t == 9).map_or(0, |(_, n)| *n) as f64;
    // Measured: 535 of 510; counting a window's matches once whenever its
    // slice held none outside it (the earlier rule) gave 369.
    assert!((lone - want).abs() / want < 0.15, "tag 9: {lone} of {want}");
}

#[test]
fn window_places_cover_the_slice_evenly() {
    // Over many slices, each quarter of a slice gets about a quarter
    // of the windows' starts.
    let mut quarters = [0u32; 4];
    for slice in 0..4_000 {
        quarters[(window_start(0, slice, 1_000) / 250) as usize] += 1;
    }
    for n in quarters {
        assert!((900..=1_100).contains(&n), "{quarters:?}");
    }
}

#[test]
fn a_word_common_only_in_the_second_half_is_estimated_closely() {
    // As a date filter makes a query: nothing in the first half.
    fn late(i: i64) -> bool {
        i >= 60_000 && says_tram(i)
    }
    let (index, fields) = index_where(120_000, late, |i| i % 4, &[120_000]);
    let searcher = index.reader().unwrap().searcher();
    let scan = scan_all(&searcher, &tram(&fields), 4_000_000_000).unwrap();
    let want = (0..120_000).filter(|i| late(*i)).count() as f64;
    assert!(!scan.exact);
    let total = scan.tally.total() as f64;
    assert!((total - want).abs() / want < 0.05, "estimate {total} of {want}");
}

/// Whether article `i` of [`mixed_status`] is public at day `now_day`:
/// every fifth a draft, every seventh archived, those after `now_day`
/// scheduled.
fn public(i: i64, now_day: i64) -> bool {
    i % 5 != 0 && i % 7 != 0 && i <= now_day
}

/// The status of article `i` as [`public`] describes it (scheduled
/// articles are published, dated after now).
fn mixed_status(i: i64) -> ArticleStatus {
    if i % 5 == 0 {
        ArticleStatus::Draft
    } else if i % 7 == 0 {
        ArticleStatus::Archived
    } else {
        ArticleStatus::Published
    }
}

#[test]
fn only_admitted_matches_are_counted_and_ranked() {
    // Small: every match visited, the count exact; large: sampled, and
    // the ranking pass walks back past the scheduled articles at the end.
    for n in [3_000, 120_000] {
        let (index, fields) = build(n, tram_or_bus(says_tram), |i| i % 4, mixed_status, &[n]);
        let searcher = index.reader().unwrap().searcher();
        // The newest public tram article is published at `now` itself:
        // it is public, and comes first.
        let now_day = (0..=n - 100)
            .rev()
            .find(|i| says_tram(*i) && public(*i, *i))
            .unwrap();
        // Article `i` is dated `i` days after the first (`build`).
        let now = (NaiveDate::from_ymd_opt(2000, 1, 1)
            .unwrap()
            .and_hms_opt(0, 0, 0)
            .unwrap()
            + Duration::days(now_day))
        .and_utc()
        .timestamp();
        let admit = Admit {
            status: Some(schema::status_code(ArticleStatus::Published)),
            until: Some(now),
        };
        let columns = ColumnCache::default().of(&searcher).unwrap();
        let scan = scan(&searcher, &columns, &tram(&fields), walk(admit, now)).unwrap();
        let want = (0..n).filter(|i| says_tram(*i) && public(*i, now_day)).count() as f64;
        let total = scan.tally.total() as f64;
        assert_eq!(scan.exact, n == 3_000);
        if scan.exact {
            assert_eq!(total, want, "{n}: counted");
        } else {
            assert!(
                (total - want).abs() / want < 0.03,
                "{n}: estimate {total} of {want}"
            );
        }
        // The best five are the newest public tram articles (article `i`
        // has id `i + 1`).
        let ids: Vec<i64> = scan
            .top
            .iter()
            .map(|(_, a)| columns[a.segment_ord as usize].id.first(a.doc_id).unwrap() as i64 - 1)
            .collect();
        let newest: Vec<i64> = (0..n)
            .rev()
            .filter(|i| says_tram(*i) && public(*i, now_day))
            .take(5)
            .collect();
        assert_eq!(ids, newest, "{n}");
        assert_eq!(ids[0], now_day, "the article published at now");
    }
}

#[test]
fn ranking_alone_ranks_as_a_counted_search_does() {
    // Narrow (every match seen either way) and broad (the newest ranked),
    // in one segment and in four.
    let cases: [(i64, &[i64]); 4] = [
        (3_000, &[3_000]),
        (120_000, &[120_000]),
        (3_000, &[1_000, 900, 600, 500]),
        (120_000, &SIZES),
    ];
    for (n, sizes) in cases {
        let (index, fields) = index_where(n, says_tram, |i| i % 4, sizes);
        let searcher = index.reader().unwrap().searcher();
        let now = (n + 1) * 86_400 + 946_684_800;
        let columns = ColumnCache::default().of(&searcher).unwrap();
        let counted = scan(&searcher, &columns, &tram(&fields), walk(Admit::default(), now)).unwrap();
        let ranked = scan(&searcher, &columns, &tram(&fields), ranking(now, BUDGET)).unwrap();
        assert_eq!(ranked.top.len(), 5);
        assert_eq!(ranked.top, counted.top, "{n} in {sizes:?}");
        assert_eq!(ranked.exact, n == 3_000);
        assert_eq!(counted.exact, n == 3_000);
        assert_eq!(ranked.tally.total(), 0, "nothing counted");
    }
}

#[test]
fn a_suggestion_walks_its_own_budget_not_a_searchs() {
    // About 2,000 matches: more than a suggestion's budget, fewer than a
    // search's.
    let n = 6_000;
    let (index, fields) = index(n);
    let searcher = index.reader().unwrap().searcher();
    let now = (n + 1) * 86_400 + 946_684_800;
    let columns = ColumnCache::default().of(&searcher).unwrap();
    let search = scan(&searcher, &columns, &tram(&fields), ranking(now, BUDGET)).unwrap();
    let suggest = scan(&searcher, &columns, &tram(&fields), ranking(now, SUGGEST_BUDGET)).unwrap();
    assert!(search.exact, "every match fits a search's budget");
    assert!(
        !suggest.exact,
        "a suggestion walks its own budget, not a search's"
    );
    // Equal text scores: the newest matches are the best, and both find them.
    let newest: Vec<DocId> = (0..n)
        .rev()
        .filter(|i| says_tram(*i))
        .take(5)
        .map(|i| i as DocId)
        .collect();
    let docs = |scan: &Scan| scan.top.iter().map(|(_, a)| a.doc_id).collect::<Vec<_>>();
    assert_eq!(docs(&search), newest);
    assert_eq!(docs(&suggest), newest);
}

#[test]
fn a_ranking_walk_gives_each_segment_its_whole_budget() {
    // An archive of 20,000 and a fresh segment of 1,000 (about 330
    // matches, fewer than a suggestion's budget). In the fresh segment, 200
    // days before its newest, one article says "tram" thirty times: its
    // relevance outweighs its age, and it ranks first. A share by segment
    // size (1,024 × 1,000 / 21,000: 48 matches) would stop short of it.
    let n = 21_000;
    let strong = n - 200;
    let body = |i: i64| match i {
        _ if i == strong => {
            "tram tram tram tram tram tram tram tram tram tram tram tram tram tram tram \
                             tram tram tram tram tram tram tram tram tram tram tram tram tram tram tram"
        }
        _ if says_tram(i) => "a tram passes",
        _ => "a bus passes",
    };
    let (index, fields) = build(n, body, |i| i % 4, |_| ArticleStatus::Published, &[20_000, 1_000]);
    let searcher = index.reader().unwrap().searcher();
    assert_eq!(searcher.segment_readers().len(), 2);
    let now = (n + 1) * 86_400 + 946_684_800;
    let columns = ColumnCache::default().of(&searcher).unwrap();
    let everything = scan(&searcher, &columns, &tram(&fields), ranking(now, n as u64)).unwrap();
    let suggest = scan(&searcher, &columns, &tram(&fields), ranking(now, SUGGEST_BUDGET)).unwrap();
    assert!(everything.exact);
    let first = &everything.top[0].1;
    assert_eq!(
        searcher.segment_reader(first.segment_ord).max_doc(),
        1_000,
        "the strong match is in the fresh segment"
    );
    assert_eq!(first.doc_id, (strong - 20_000) as DocId);
    assert_eq!(suggest.top, everything.top);
}
