//! A reader's words turned into an index query. The query is not parsed
//! by a query language: each word is looked up as the terms it may stand
//! for (its stem; with one typo; as the start of a longer word), found in
//! the index's own term dictionaries, and those terms are ordinary BM25
//! term queries. So a typo or a prefix is scored like any match (a little
//! lower), the snippet highlights exactly what matched, and nothing a
//! reader types can be an operator.

use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;

use tantivy::query::{BooleanQuery, BoostQuery, FuzzyTermQuery, Occur, Query, RangeQuery, TermQuery};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::{Searcher, Term};

use super::scan::Admit;
use super::schema::{Fields, status_code, word_forms};
use super::union::AnyOf;
use crate::domain::article::ArticleStatus;
use crate::domain::search::{SearchFilter, Word};

/// Weight of a term that is the word's own stem, one typo away from it,
/// or a longer word it starts.
const EXACT: f32 = 1.0;
const PREFIXED: f32 = 0.6;
const TYPO: f32 = 0.4;
/// Terms a typo or a prefix expands to, per word and field: the most
/// frequent ones. `ab` as a prefix may stand for thousands of words.
const MAX_EXPANSIONS: usize = 24;
/// The share of the index a status must hold to be checked on each match
/// rather than as a query clause (see [`filtered`]).
const PER_MATCH_SHARE: f64 = 0.5;

/// A planned search: the query, and the terms to highlight with their
/// weight (the snippet generator's input).
pub struct Plan {
    pub query: Box<dyn Query>,
    pub highlight: BTreeMap<String, f32>,
}

/// The terms of `field` that `word` stands for, with their weight and
/// whether a dictionary holds them.
fn expand(searcher: &Searcher, field: Field, word: &Word) -> tantivy::Result<Vec<(String, f32, bool)>> {
    let Some((stem, folded)) = word_forms(&word.text) else {
        return Ok(vec![]);
    };
    let mut found: HashMap<String, (f32, u64)> = HashMap::new();
    // The word's own stem sorts first: its count is set high until a
    // dictionary is seen to hold it.
    found.insert(stem.clone(), (EXACT, u64::MAX));
    let mut stem_known = false;
    let mut automata = Vec::new();
    if word.fuzzy {
        let typo = FuzzyTermQuery::new(Term::from_field_text(field, &stem), 1, true);
        automata.push((typo.automaton()?, TYPO));
    }
    if word.prefix {
        let distance = u8::from(word.fuzzy);
        let prefix = FuzzyTermQuery::new_prefix(Term::from_field_text(field, &folded), distance, true);
        automata.push((prefix.automaton()?, PREFIXED));
    }
    for (automaton, weight) in &automata {
        for segment in searcher.segment_readers() {
            let inverted = segment.inverted_index(field)?;
            let mut stream = inverted.terms().search(automaton).into_stream()?;
            while stream.advance() {
                let Ok(text) = std::str::from_utf8(stream.key()) else {
                    continue;
                };
                stem_known |= text == stem;
                let entry = found.entry(text.to_string()).or_insert((*weight, 0));
                entry.0 = entry.0.max(*weight);
                entry.1 = entry.1.saturating_add(u64::from(stream.value().doc_freq));
            }
        }
    }
    let mut terms: Vec<(String, (f32, u64))> = found.into_iter().collect();
    // The word itself first, then the most frequent expansions.
    terms.sort_by(|a, b| b.1.1.cmp(&a.1.1).then_with(|| a.0.cmp(&b.0)));
    terms.truncate(MAX_EXPANSIONS + 1);
    Ok(terms
        .into_iter()
        .map(|(t, (w, _))| {
            let known = t != stem || stem_known;
            (t, w, known)
        })
        .collect())
}

/// The query for `words` over `fields` (title, standfirst, body, each
/// weighted): every word must match in some field, through one of its
/// terms. `None` when a word stands for nothing in the index, so nothing
/// can match.
pub fn plan(
    searcher: &Searcher,
    words: &[Word],
    text_fields: &[(Field, f32)],
) -> tantivy::Result<Option<Plan>> {
    let mut musts: Vec<(Occur, Box<dyn Query>)> = Vec::new();
    let mut highlight = BTreeMap::new();
    for word in words {
        // A word the analyzer drops (over 40 bytes: a pasted URL) is not
        // asked for.
        if word_forms(&word.text).is_none() {
            continue;
        }
        let mut shoulds: Vec<Box<dyn Query>> = Vec::new();
        for (field, field_weight) in text_fields {
            for (text, weight, known) in expand(searcher, *field, word)? {
                let term = Term::from_field_text(*field, &text);
                // Expansions come from the dictionaries; the word itself
                // may be in none.
                if !known && searcher.doc_freq(&term)? == 0 {
                    continue;
                }
                let query = TermQuery::new(term, IndexRecordOption::WithFreqs);
                shoulds.push(Box::new(BoostQuery::new(Box::new(query), field_weight * weight)));
                let best = highlight.entry(text).or_insert(0.0f32);
                *best = best.max(weight);
            }
        }
        if shoulds.is_empty() {
            return Ok(None);
        }
        musts.push((Occur::Must, Box::new(AnyOf::new(shoulds))));
    }
    if musts.is_empty() {
        return Ok(None);
    }
    Ok(Some(Plan {
        query: Box::new(BooleanQuery::new(musts)),
        highlight,
    }))
}

/// `query` narrowed by `filter`: the query's clauses, and what a match
/// must pass besides, checked per document (see [`Admit`]).
///
/// - Checked per document: the filters nearly every document passes. The
///   published status, when at least [`PER_MATCH_SHARE`] of the index is
///   published (so a walk visits at most about twice the matches it
///   counts), and public by now (scheduled articles are few).
/// - Clauses, which skip what they leave out: those that narrow (another
///   status, a date range, author, tags), and the published status of an
///   index that is mostly drafts or archive.
pub fn filtered(
    searcher: &Searcher,
    fields: &Fields,
    query: Box<dyn Query>,
    filter: &SearchFilter,
) -> tantivy::Result<(Box<dyn Query>, Admit)> {
    let seconds = |t: chrono::NaiveDateTime| t.and_utc().timestamp();
    let mut clauses: Vec<(Occur, Box<dyn Query>)> = vec![(Occur::Must, query)];
    let mut admit = Admit {
        status: None,
        until: filter.visible_at.map(seconds),
    };
    let status = filter
        .visible_at
        .map(|_| ArticleStatus::Published)
        .or(filter.status);
    if let Some(status) = status {
        let term = Term::from_field_u64(fields.status, status_code(status));
        let share = searcher.doc_freq(&term)? as f64 / searcher.num_docs().max(1) as f64;
        if status == ArticleStatus::Published && share >= PER_MATCH_SHARE {
            admit.status = Some(status_code(status));
        } else {
            clauses.push((Occur::Must, constant(term)));
        }
    }
    if filter.to.is_some() || filter.from.is_some() {
        let bound = |t: Option<chrono::NaiveDateTime>| {
            t.map_or(Bound::Unbounded, |t| {
                Bound::Included(Term::from_field_i64(fields.published, seconds(t)))
            })
        };
        let range = RangeQuery::new(bound(filter.from), bound(filter.to));
        clauses.push((Occur::Must, Box::new(BoostQuery::new(Box::new(range), 0.0))));
    }
    if let Some(author) = filter.author_id {
        clauses.push((
            Occur::Must,
            constant(Term::from_field_u64(fields.author, author as u64)),
        ));
    }
    if !filter.tag_ids.is_empty() {
        let any: Vec<Box<dyn Query>> = filter
            .tag_ids
            .iter()
            .map(|id| constant(Term::from_field_u64(fields.tags, *id as u64)))
            .collect();
        clauses.push((Occur::Must, Box::new(AnyOf::new(any))));
    }
    Ok((Box::new(BooleanQuery::new(clauses)), admit))
}

/// A filter clause: it must match, and adds nothing to the score.
fn constant(term: Term) -> Box<dyn Query> {
    Box::new(BoostQuery::new(
        Box::new(TermQuery::new(term, IndexRecordOption::Basic)),
        0.0,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::search::SearchDocument;
    use crate::infra::search::columns::ColumnCache;
    use crate::infra::search::scan::{BUDGET, Walk, Wanted, scan};
    use tantivy::query::AllQuery;
    use tantivy::{Index, IndexWriter, TantivyDocument};

    /// An index of articles of these statuses.
    fn index_of(statuses: &[ArticleStatus]) -> (Index, Fields) {
        let (schema_def, fields) = crate::infra::search::schema::schema();
        let index = Index::create_in_ram(schema_def);
        crate::infra::search::schema::register(&index);
        let mut writer: IndexWriter<TantivyDocument> = index.writer_with_num_threads(1, 15_000_000).unwrap();
        for (i, status) in statuses.iter().enumerate() {
            let doc = SearchDocument {
                id: i as i64,
                title: "A tram".into(),
                standfirst: String::new(),
                body: String::new(),
                status: *status,
                author_id: 1,
                tag_ids: vec![],
                dated: chrono::DateTime::from_timestamp(1_000, 0).unwrap().naive_utc(),
            };
            writer
                .add_document(crate::infra::search::schema::document(&fields, &doc))
                .unwrap();
        }
        writer.commit().unwrap();
        (index, fields)
    }

    #[test]
    fn the_published_status_is_checked_per_match_only_where_most_are_published() {
        use ArticleStatus::{Archived, Draft, Published};
        let now = chrono::DateTime::from_timestamp(2_000, 0).unwrap().naive_utc();
        for (statuses, per_match) in [
            (&[Published, Published, Published, Draft][..], true),
            (&[Published, Draft, Archived, Draft][..], false),
        ] {
            let (index, fields) = index_of(statuses);
            let searcher = index.reader().unwrap().searcher();
            let (query, admit) =
                filtered(&searcher, &fields, Box::new(AllQuery), &SearchFilter::public(now)).unwrap();
            let published = status_code(Published);
            assert_eq!(admit.status, per_match.then_some(published), "{statuses:?}");
            assert_eq!(admit.until, Some(2_000));
            // Either way, a public search finds only the published.
            let columns = ColumnCache::default().of(&searcher).unwrap();
            let walk = Walk {
                admit,
                now: 2_000,
                limit: 10,
                budget: BUDGET,
                wanted: Wanted::RankingAndCounts,
            };
            let scan = scan(&searcher, &columns, &*query, walk).unwrap();
            let want = statuses.iter().filter(|s| **s == Published).count();
            assert_eq!(scan.top.len(), want, "{statuses:?}");
            assert_eq!(scan.tally.total(), want as u64);
        }
        // Another status is always a clause.
        let (index, fields) = index_of(&[Published, Published, Published, Draft]);
        let searcher = index.reader().unwrap().searcher();
        let drafts = SearchFilter {
            visible_at: None,
            status: Some(Draft),
            ..SearchFilter::public(now)
        };
        let (_, admit) = filtered(&searcher, &fields, Box::new(AllQuery), &drafts).unwrap();
        assert_eq!(admit, Admit::default());
    }
}
