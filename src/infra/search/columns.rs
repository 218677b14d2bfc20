//! The index's columns (fast fields) of each segment, opened once per
//! segment and kept while the segment lives. Opening a column parses its
//! header, and a 1M-document column's codec reads the metadata of
//! thousands of blocks: done per search, it was a tenth of a search's CPU
//! at 1M articles (docs/BENCHMARKS.md, "Search", sixth pass).

use std::sync::{Arc, Mutex};

use tantivy::columnar::Column;
use tantivy::index::SegmentId;
use tantivy::{Searcher, SegmentReader};

/// One segment's columns.
pub struct SegmentColumns {
    pub id: Column<u64>,
    pub status: Column<u64>,
    pub published: Column<i64>,
    pub author: Column<u64>,
    pub tags: Column<u64>,
    pub year: Column<u64>,
}

impl SegmentColumns {
    fn open(segment: &SegmentReader) -> tantivy::Result<SegmentColumns> {
        let fast = segment.fast_fields();
        Ok(SegmentColumns {
            id: fast.u64("id")?,
            status: fast.u64("status")?,
            published: fast.i64("published")?,
            author: fast.u64("author")?,
            tags: fast.u64("tags")?,
            year: fast.u64("year")?,
        })
    }
}

/// The columns of the segments searches currently see. A segment is
/// immutable (deletes aside, which columns do not show), so its columns
/// stay valid for as long as it is searched.
#[derive(Default)]
pub struct ColumnCache {
    cached: Mutex<Cached>,
}

#[derive(Default)]
struct Cached {
    segments: Vec<(SegmentId, Arc<SegmentColumns>)>,
    /// The newest searcher generation seen: only its segments are kept.
    newest: u64,
}

impl ColumnCache {
    /// The columns of each of `searcher`'s segments, in its order. Those
    /// not cached are opened outside the lock: a search never waits for
    /// another's opening.
    pub fn of(&self, searcher: &Searcher) -> tantivy::Result<Vec<Arc<SegmentColumns>>> {
        let readers = searcher.segment_readers();
        let found: Vec<Option<Arc<SegmentColumns>>> = {
            let cached = self.cached.lock().unwrap_or_else(|e| e.into_inner());
            readers
                .iter()
                .map(|reader| {
                    let id = reader.segment_id();
                    cached
                        .segments
                        .iter()
                        .find(|(s, _)| *s == id)
                        .map(|(_, c)| c.clone())
                })
                .collect()
        };
        let mut out = Vec::with_capacity(readers.len());
        let mut opened = Vec::new();
        for (reader, found) in readers.iter().zip(found) {
            let columns = match found {
                Some(columns) => columns,
                None => {
                    let columns = Arc::new(SegmentColumns::open(reader)?);
                    opened.push((reader.segment_id(), columns.clone()));
                    columns
                }
            };
            out.push(columns);
        }
        if !opened.is_empty() {
            let mut cached = self.cached.lock().unwrap_or_else(|e| e.into_inner());
            for (id, columns) in opened {
                if !cached.segments.iter().any(|(s, _)| *s == id) {
                    cached.segments.push((id, columns));
                }
            }
            // Segments merged away are forgotten, by the newest searcher
            // only: a search still on an older one (during a reload)
            // must not drop the current segments' columns.
            let generation = searcher.generation().generation_id();
            if generation >= cached.newest {
                cached.newest = generation;
                cached
                    .segments
                    .retain(|(id, _)| readers.iter().any(|r| r.segment_id() == *id));
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::article::ArticleStatus;
    use crate::domain::search::SearchDocument;
    use crate::infra::search::schema;
    use tantivy::{Index, IndexWriter, TantivyDocument};

    fn add(writer: &mut IndexWriter<TantivyDocument>, fields: &schema::Fields, id: i64) {
        let doc = SearchDocument {
            id,
            title: format!("Article {id}"),
            standfirst: String::new(),
            body: "a tram passes".into(),
            status: ArticleStatus::Published,
            author_id: 7,
            tag_ids: vec![3, 4],
            dated: chrono::DateTime::from_timestamp(1_000_000 + id, 0)
                .unwrap()
                .naive_utc(),
        };
        writer.add_document(schema::document(fields, &doc)).unwrap();
    }

    #[test]
    fn columns_are_opened_once_per_segment_and_forgotten_with_it() {
        let (schema_def, fields) = schema::schema();
        let index = Index::create_in_ram(schema_def);
        schema::register(&index);
        let mut writer: IndexWriter<TantivyDocument> = index.writer_with_num_threads(1, 15_000_000).unwrap();
        add(&mut writer, &fields, 1);
        writer.commit().unwrap();
        let reader = index.reader().unwrap();
        let cache = ColumnCache::default();

        let first = cache.of(&reader.searcher()).unwrap();
        let again = cache.of(&reader.searcher()).unwrap();
        assert_eq!(first.len(), 1);
        assert!(Arc::ptr_eq(&first[0], &again[0]), "opened again");
        assert_eq!(first[0].id.first(0), Some(1));
        assert_eq!(
            first[0].status.first(0),
            Some(schema::status_code(ArticleStatus::Published))
        );
        assert_eq!(first[0].published.first(0), Some(1_000_001));
        assert_eq!(first[0].author.first(0), Some(7));
        assert_eq!(first[0].tags.values_for_doc(0).collect::<Vec<_>>(), [3, 4]);

        // A second segment: the first one's columns are kept.
        add(&mut writer, &fields, 2);
        writer.commit().unwrap();
        reader.reload().unwrap();
        let two = cache.of(&reader.searcher()).unwrap();
        assert_eq!(two.len(), 2);
        assert!(two.iter().any(|c| Arc::ptr_eq(c, &first[0])));

        // Merged into one: the old segments are forgotten.
        let before_merge = reader.searcher();
        let ids = index.searchable_segment_ids().unwrap();
        writer.merge(&ids).wait().unwrap();
        writer.commit().unwrap();
        reader.reload().unwrap();
        let merged = cache.of(&reader.searcher()).unwrap();
        assert_eq!(merged.len(), 1);
        assert_eq!(cache.cached.lock().unwrap().segments.len(), 1);
        assert!(!Arc::ptr_eq(&merged[0], &first[0]));

        // A search still on the searcher from before the merge opens its
        // segments again, and does not evict the merged one's columns.
        assert_eq!(cache.of(&before_merge).unwrap().len(), 2);
        let current = cache.of(&reader.searcher()).unwrap();
        assert!(
            Arc::ptr_eq(&current[0], &merged[0]),
            "evicted by an older searcher"
        );
    }
}
