//! Counts by tag, author and year over a search's matches, read from the
//! index's columns (fast fields), never from stored documents. Counts are
//! weighted: a match visited as a sample of a slice stands for that many
//! (see `scan`).

use std::collections::HashMap;

use tantivy::columnar::Column;
use tantivy::{DocId, SegmentReader};

use crate::domain::search::FacetCounts;

/// How many matches, and their facet counts (estimates when sampled).
#[derive(Default)]
pub struct Tally {
    pub matches: f64,
    tags: HashMap<u64, f64>,
    authors: HashMap<u64, f64>,
    years: HashMap<u64, f64>,
}

/// A segment's facet columns.
pub struct Columns {
    author: Column<u64>,
    tags: Column<u64>,
    year: Column<u64>,
}

impl Tally {
    pub fn columns(&self, segment: &SegmentReader) -> tantivy::Result<Columns> {
        let fast = segment.fast_fields();
        Ok(Columns {
            author: fast.u64("author")?,
            tags: fast.u64("tags")?,
            year: fast.u64("year")?,
        })
    }

    /// Counts `docs`, each standing for `weight` matches.
    pub fn add_docs(&mut self, columns: &Columns, docs: &[DocId], weight: f64) {
        for &doc in docs {
            self.matches += weight;
            if let Some(author) = columns.author.first(doc) {
                *self.authors.entry(author).or_default() += weight;
            }
            if let Some(year) = columns.year.first(doc) {
                *self.years.entry(year).or_default() += weight;
            }
            for tag in columns.tags.values_for_doc(doc) {
                *self.tags.entry(tag).or_default() += weight;
            }
        }
    }

    /// The number of matches, rounded.
    pub fn total(&self) -> u64 {
        self.matches.round() as u64
    }

    /// Largest counts first (ties: lowest id), years newest first.
    pub fn counts(self) -> FacetCounts {
        fn sorted(map: HashMap<u64, f64>) -> Vec<(i64, u64)> {
            let mut out: Vec<(i64, u64)> = map
                .into_iter()
                .map(|(k, n)| (k as i64, n.round() as u64))
                .filter(|(_, n)| *n > 0)
                .collect();
            out.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
            out
        }
        let mut years: Vec<(i32, u64)> = sorted(self.years)
            .into_iter()
            .map(|(y, n)| (y as i32, n))
            .collect();
        years.sort_by_key(|(year, _)| std::cmp::Reverse(*year));
        FacetCounts {
            tags: sorted(self.tags),
            authors: sorted(self.authors),
            years,
        }
    }
}
