//! The sampling and ranking passes on small built indexes: exact counts,
//! unbiased estimates where matches cluster, the newest ranked first.

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
    index_where(n, says_tram, 1)
}

/// `n` articles as in [`index`], those for which `tram` holds saying
/// "tram", in `segments` segments of equal size (in order, as the
/// index is built: one indexing thread).
fn index_where(n: i64, tram: fn(i64) -> bool, segments: i64) -> (Index, schema::Fields) {
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
            body: if tram(i) {
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
        if (i + 1) % (n / segments) == 0 {
            writer.commit().unwrap();
        }
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

/// 120,000 articles in four segments; "tram" ever more likely through
/// each slice of each segment (in none of a slice's first documents,
/// in nearly all its last), as if the sampling's slices were seasons:
/// windows at each slice's start would see too few of them.
fn ever_more_through_each_slice(i: i64) -> bool {
    let slice_len = 30_000u32.div_ceil(SLICES) as i64;
    let place = (i % 30_000) % slice_len;
    let mut z = (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z ^= z >> 29;
    ((z % slice_len as u64) as i64) < place
}

#[test]
fn a_word_that_clusters_within_slices_is_estimated_without_bias() {
    let (index, fields) = index_where(120_000, ever_more_through_each_slice, 4);
    let searcher = index.reader().unwrap().searcher();
    assert_eq!(searcher.segment_readers().len(), 4);
    let now = 4_000_000_000;
    let scan = scan(&searcher, &tram(&fields), now, 5, BUDGET).unwrap();
    let want = (0..120_000).filter(|i| ever_more_through_each_slice(*i)).count() as f64;
    assert!(!scan.exact, "some 60,000 matches are more than the budget");
    let total = scan.tally.total() as f64;
    assert!((total - want).abs() / want < 0.06, "estimate {total} of {want}");
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
    let (index, fields) = index_where(120_000, late, 1);
    let searcher = index.reader().unwrap().searcher();
    let scan = scan(&searcher, &tram(&fields), 4_000_000_000, 5, BUDGET).unwrap();
    let want = (0..120_000).filter(|i| late(*i)).count() as f64;
    assert!(!scan.exact);
    let total = scan.tally.total() as f64;
    assert!((total - want).abs() / want < 0.05, "estimate {total} of {want}");
}
