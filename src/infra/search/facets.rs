//! Counts by tag, author and year over a search's matches, read from the
//! index's columns (fast fields), never from stored documents. Counts are
//! weighted: a match visited as a sample of a slice stands for that many
//! (see `scan`).

use std::collections::HashMap;

use tantivy::DocId;

use super::columns::SegmentColumns;
use crate::domain::search::FacetCounts;

/// How many matches, and their facet counts (estimates when sampled).
#[derive(Default)]
pub struct Tally {
    pub matches: f64,
    tags: Counts,
    authors: Counts,
    years: Counts,
}

/// Weighted counts by id. Tag and author ids, and years, are small
/// numbers: counted in a vector indexed by the id, the common case costs
/// an index, not a hash (hashing was a tenth of a broad search's CPU);
/// larger ids go to a map.
#[derive(Default)]
struct Counts {
    dense: Vec<f64>,
    sparse: HashMap<u64, f64>,
}

impl Counts {
    /// Ids below this are counted in the vector (at most 64 KiB of it).
    const DENSE: u64 = 8_192;

    fn add(&mut self, id: u64, weight: f64) {
        if id < Self::DENSE {
            let i = id as usize;
            if i >= self.dense.len() {
                self.dense.resize(i + 1, 0.0);
            }
            self.dense[i] += weight;
        } else {
            *self.sparse.entry(id).or_default() += weight;
        }
    }

    /// Each id with its count, rounded; none of zero.
    fn rounded(self) -> Vec<(i64, u64)> {
        self.dense
            .into_iter()
            .enumerate()
            .map(|(id, n)| (id as u64, n))
            .chain(self.sparse)
            .map(|(id, n)| (id as i64, n.round() as u64))
            .filter(|(_, n)| *n > 0)
            .collect()
    }
}

impl Tally {
    /// Counts `docs`, each standing for `weight` matches.
    pub fn add_docs(&mut self, columns: &SegmentColumns, docs: &[DocId], weight: f64) {
        for &doc in docs {
            self.matches += weight;
            if let Some(author) = columns.author.first(doc) {
                self.authors.add(author, weight);
            }
            if let Some(year) = columns.year.first(doc) {
                self.years.add(year, weight);
            }
            for tag in columns.tags.values_for_doc(doc) {
                self.tags.add(tag, weight);
            }
        }
    }

    /// The number of matches, rounded.
    pub fn total(&self) -> u64 {
        self.matches.round() as u64
    }

    /// Largest counts first (ties: lowest id), years newest first.
    pub fn counts(self) -> FacetCounts {
        fn sorted(counts: Counts) -> Vec<(i64, u64)> {
            let mut out = counts.rounded();
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_and_large_ids_are_counted_alike() {
        let mut counts = Counts::default();
        for (id, weight) in [
            (3, 1.0),
            (Counts::DENSE + 5, 2.5),
            (3, 1.5),
            (0, 0.2),
            (u64::MAX >> 1, 4.0),
        ] {
            counts.add(id, weight);
        }
        let mut got = counts.rounded();
        got.sort();
        // 0 rounds to nothing and is left out.
        assert_eq!(got, [(3, 3), (8_197, 3), ((u64::MAX >> 1) as i64, 4)]);
    }
}
