//! [`AnyOf`]: the documents any of its queries matches, scored by the sum
//! of the scores of those that match, like a `BooleanQuery` of `Should`
//! clauses, but with a union that does not read ahead.
//!
//! Tantivy's own union (`BufferedUnionScorer`) decodes and scores every
//! clause over the next 4,096 document ids on each seek. That is the fastest way
//! through every match, and the slowest way to visit a few matches here
//! and there: the sampling pass of a broad search (`scan`) seeks to a few
//! hundred windows of a few dozen documents each, and with the buffered
//! union it decoded most of the index to do so (docs/BENCHMARKS.md,
//! "Search"). Here a seek moves each clause with its own skip list, and a
//! document is scored only when asked.

use tantivy::query::{EnableScoring, Explanation, Query, Scorer, Weight};
use tantivy::{DocId, DocSet, Score, SegmentReader, TERMINATED, TantivyError};

/// The union of its queries (see the module documentation).
#[derive(Debug)]
pub struct AnyOf(Vec<Box<dyn Query>>);

impl AnyOf {
    pub fn new(queries: Vec<Box<dyn Query>>) -> AnyOf {
        AnyOf(queries)
    }
}

impl Clone for AnyOf {
    fn clone(&self) -> AnyOf {
        AnyOf(self.0.iter().map(|q| q.box_clone()).collect())
    }
}

impl Query for AnyOf {
    fn weight(&self, enable_scoring: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        let weights = self
            .0
            .iter()
            .map(|q| q.weight(enable_scoring))
            .collect::<tantivy::Result<_>>()?;
        Ok(Box::new(AnyOfWeight(weights)))
    }

    fn query_terms<'a>(&'a self, visitor: &mut dyn FnMut(&'a tantivy::Term, bool)) {
        for query in &self.0 {
            query.query_terms(visitor);
        }
    }
}

struct AnyOfWeight(Vec<Box<dyn Weight>>);

impl Weight for AnyOfWeight {
    fn scorer(&self, reader: &SegmentReader, boost: Score) -> tantivy::Result<Box<dyn Scorer>> {
        let mut clauses = Vec::with_capacity(self.0.len());
        for weight in &self.0 {
            let scorer = weight.scorer(reader, boost)?;
            let doc = scorer.doc();
            if doc != TERMINATED {
                clauses.push(Clause { doc, scorer });
            }
        }
        let mut union = LinearUnion {
            clauses,
            doc: 0,
            max_doc: reader.max_doc(),
        };
        union.settle();
        Ok(Box::new(union))
    }

    fn explain(&self, reader: &SegmentReader, doc: DocId) -> tantivy::Result<Explanation> {
        let mut scorer = self.scorer(reader, 1.0)?;
        if scorer.seek(doc) != doc {
            return Err(TantivyError::InvalidArgument(format!(
                "document {doc} does not match"
            )));
        }
        let mut explanation = Explanation::new("AnyOf, sum of the matching clauses", scorer.score());
        for weight in &self.0 {
            if let Ok(detail) = weight.explain(reader, doc) {
                explanation.add_detail(detail);
            }
        }
        Ok(explanation)
    }
}

/// A clause of the union with its current document.
struct Clause {
    doc: DocId,
    scorer: Box<dyn Scorer>,
}

/// The clauses in a plain list: the union's document is the lowest of
/// theirs. A query has a few clauses per word (three fields; more for a
/// typo or a prefix, at most about 75), so a scan of the list costs less
/// than keeping a heap in order (measured: a heap spent a quarter of a
/// date-filtered search moving clauses in and out of it).
struct LinearUnion {
    clauses: Vec<Clause>,
    doc: DocId,
    /// The segment's size: no more can match.
    max_doc: u32,
}

impl LinearUnion {
    /// Drops the clauses that are done and takes the lowest document.
    fn settle(&mut self) -> DocId {
        self.clauses.retain(|c| c.doc != TERMINATED);
        self.doc = self.clauses.iter().map(|c| c.doc).min().unwrap_or(TERMINATED);
        self.doc
    }
}

impl DocSet for LinearUnion {
    fn advance(&mut self) -> DocId {
        let at = self.doc;
        for clause in &mut self.clauses {
            if clause.doc == at {
                clause.doc = clause.scorer.advance();
            }
        }
        self.settle()
    }

    fn seek(&mut self, target: DocId) -> DocId {
        if self.doc >= target {
            return self.doc;
        }
        for clause in &mut self.clauses {
            if clause.doc < target {
                clause.doc = clause.scorer.seek(target);
            }
        }
        self.settle()
    }

    fn doc(&self) -> DocId {
        self.doc
    }

    fn size_hint(&self) -> u32 {
        let hints = self.clauses.iter().map(|c| c.scorer.size_hint());
        hints.fold(0u32, u32::saturating_add).min(self.max_doc)
    }

    fn cost(&self) -> u64 {
        self.clauses.iter().map(|c| c.scorer.cost()).sum()
    }
}

impl Scorer for LinearUnion {
    fn score(&mut self) -> Score {
        let at = self.doc;
        let on_doc = self.clauses.iter_mut().filter(|c| c.doc == at);
        on_doc.map(|c| c.scorer.score()).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tantivy::collector::{Count, TopDocs};
    use tantivy::query::{BooleanQuery, Occur, TermQuery};
    use tantivy::schema::{IndexRecordOption, STORED, Schema, TEXT};
    use tantivy::{Index, IndexWriter, TantivyDocument, Term, doc};

    /// 3,000 documents over two fields, "a" in every second title, "b" in
    /// every third body, "c" in every fifth body.
    fn index() -> (Index, tantivy::schema::Field, tantivy::schema::Field) {
        let mut builder = Schema::builder();
        let title = builder.add_text_field("title", TEXT | STORED);
        let body = builder.add_text_field("body", TEXT);
        let index = Index::create_in_ram(builder.build());
        let mut writer: IndexWriter<TantivyDocument> = index.writer(15_000_000).unwrap();
        for i in 0..3_000u32 {
            let t = if i % 2 == 0 { "a x" } else { "x" };
            let mut b = String::from("y");
            if i % 3 == 0 {
                b.push_str(" b");
            }
            if i % 5 == 0 {
                b.push_str(" c c");
            }
            writer.add_document(doc!(title => t, body => b)).unwrap();
        }
        writer.commit().unwrap();
        (index, title, body)
    }

    fn term(field: tantivy::schema::Field, text: &str) -> Box<dyn Query> {
        Box::new(TermQuery::new(
            Term::from_field_text(field, text),
            IndexRecordOption::WithFreqs,
        ))
    }

    #[test]
    fn matches_and_scores_as_a_boolean_should() {
        let (index, title, body) = index();
        let searcher = index.reader().unwrap().searcher();
        let clauses = || vec![term(title, "a"), term(body, "b"), term(body, "c")];
        let ours = AnyOf::new(clauses());
        let theirs = BooleanQuery::new(clauses().into_iter().map(|q| (Occur::Should, q)).collect());
        let want = (0..3_000)
            .filter(|i| i % 2 == 0 || i % 3 == 0 || i % 5 == 0)
            .count();
        assert_eq!(searcher.search(&ours, &Count).unwrap(), want);
        assert_eq!(searcher.search(&theirs, &Count).unwrap(), want);
        let top = TopDocs::with_limit(3_000).order_by_score();
        let mut a = searcher.search(&ours, &top).unwrap();
        let mut b = searcher.search(&theirs, &top).unwrap();
        a.sort_by_key(|(_, d)| *d);
        b.sort_by_key(|(_, d)| *d);
        assert_eq!(a.len(), b.len());
        for ((sa, da), (sb, db)) in a.iter().zip(&b) {
            assert_eq!(da, db);
            assert!((sa - sb).abs() < 1e-4, "{da:?}: {sa} against {sb}");
        }
    }

    #[test]
    fn seeks_land_on_the_first_match_at_or_after_the_target() {
        let (index, _, body) = index();
        let searcher = index.reader().unwrap().searcher();
        let segment = &searcher.segment_readers()[0];
        let query = AnyOf::new(vec![term(body, "b"), term(body, "c")]);
        let weight = query
            .weight(EnableScoring::enabled_from_searcher(&searcher))
            .unwrap();
        let mut scorer = weight.scorer(segment, 1.0).unwrap();
        assert_eq!(scorer.doc(), 0);
        // From 1: 3 (b); from 4: 5 (c); from 2,996: 2,997 (b); past the
        // last match: terminated.
        for (target, want) in [(1, 3), (4, 5), (7, 9), (2_996, 2_997), (2_998, TERMINATED)] {
            assert_eq!(scorer.seek(target), want, "seek({target})");
            assert_eq!(scorer.doc(), want);
        }
    }
}
