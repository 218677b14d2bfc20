//! The index's fields and its one analyzer. Changing either means a new
//! [`SCHEMA_VERSION`]: an index written under another version is rebuilt
//! at start, never read with the wrong analyzer.

use tantivy::schema::{Field, IndexRecordOption, NumericOptions, Schema, TextFieldIndexing, TextOptions};
use tantivy::tokenizer::{
    AsciiFoldingFilter, Language, LowerCaser, RemoveLongFilter, SimpleTokenizer, Stemmer, TextAnalyzer,
    TextAnalyzerBuilder, TokenStream, Tokenizer,
};
use tantivy::{TantivyDocument, Term};

use crate::domain::article::ArticleStatus;
use crate::domain::search::SearchDocument;

/// Bumped whenever the fields, the analyzer or the order a build adds
/// documents in change (2: oldest first by date, not by id; 3: the
/// status a column too).
pub const SCHEMA_VERSION: u32 = 3;
/// The analyzer every text field is indexed and searched with.
pub const ANALYZER: &str = "broadsheet";
/// The same without the stemmer: what prefixes and typos are matched
/// against (a stem of a half-typed word is not a stem of anything).
const FOLDER: &str = "broadsheet_folded";

/// Tokens longer than this are dropped (base64 blobs, URLs pasted whole).
const LONGEST_TOKEN: usize = 40;

#[derive(Clone, Copy)]
pub struct Fields {
    pub id: Field,
    pub title: Field,
    pub standfirst: Field,
    pub body: Field,
    pub author: Field,
    pub tags: Field,
    /// `ArticleStatus` as [`status_code`].
    pub status: Field,
    /// Unix seconds (`SearchDocument::dated`).
    pub published: Field,
    pub year: Field,
}

impl Fields {
    /// The text fields with the weight a match in each carries: a word in
    /// the headline says more about the article than the same word deep in
    /// its body.
    pub fn weighted_text(&self) -> [(Field, f32); 3] {
        [(self.title, 3.0), (self.standfirst, 1.5), (self.body, 1.0)]
    }
}

pub fn schema() -> (Schema, Fields) {
    let mut builder = Schema::builder();
    // Positions are not kept: no phrase queries, and the index is about a
    // third smaller without them. Frequencies are, for BM25.
    let text = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(ANALYZER)
            .set_index_option(IndexRecordOption::WithFreqs),
    );
    let key = NumericOptions::default().set_indexed().set_fast();
    let fields = Fields {
        id: builder.add_u64_field("id", key.clone()),
        title: builder.add_text_field("title", text.clone()),
        standfirst: builder.add_text_field("standfirst", text.clone()),
        body: builder.add_text_field("body", text),
        status: builder.add_u64_field("status", key.clone()),
        author: builder.add_u64_field("author", key.clone()),
        tags: builder.add_u64_field("tags", key.clone()),
        published: builder.add_i64_field("published", key),
        year: builder.add_u64_field("year", NumericOptions::default().set_fast()),
    };
    (builder.build(), fields)
}

/// Lower case, accents folded (`Café` → `cafe`), English stems
/// (`bombings` → `bomb`).
pub fn analyzer() -> TextAnalyzer {
    folded_builder().filter(Stemmer::new(Language::English)).build()
}

fn folder() -> TextAnalyzer {
    folded_builder().build()
}

/// Words, lower case, accents folded: [`analyzer`] up to its stemmer
/// (the snippets' analyzer stems only some words: `snippet`).
pub fn folded_builder() -> TextAnalyzerBuilder<impl Tokenizer> {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(LONGEST_TOKEN))
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter)
}

pub fn register(index: &tantivy::Index) {
    index.tokenizers().register(ANALYZER, analyzer());
    index.tokenizers().register(FOLDER, folder());
}

/// The tokens `analyzer` makes of `text`.
fn tokens(mut analyzer: TextAnalyzer, text: &str) -> Vec<String> {
    let mut stream = analyzer.token_stream(text);
    let mut out = Vec::new();
    while stream.advance() {
        out.push(stream.token().text.clone());
    }
    out
}

/// A query word as the index stores it (`stem`) and as it was typed,
/// folded (`folded`); `None` for a word the analyzer drops.
pub fn word_forms(word: &str) -> Option<(String, String)> {
    let stem = tokens(analyzer(), word).into_iter().next()?;
    let folded = tokens(folder(), word).into_iter().next()?;
    Some((stem, folded))
}

pub fn id_term(fields: &Fields, id: i64) -> Term {
    Term::from_field_u64(fields.id, id as u64)
}

pub fn status_code(status: ArticleStatus) -> u64 {
    match status {
        ArticleStatus::Draft => 0,
        ArticleStatus::Published => 1,
        ArticleStatus::Archived => 2,
    }
}

pub fn document(fields: &Fields, doc: &SearchDocument) -> TantivyDocument {
    use chrono::Datelike;
    let mut out = TantivyDocument::default();
    out.add_u64(fields.id, doc.id as u64);
    out.add_text(fields.title, &doc.title);
    out.add_text(fields.standfirst, &doc.standfirst);
    out.add_text(fields.body, &doc.body);
    out.add_u64(fields.author, doc.author_id as u64);
    for tag in &doc.tag_ids {
        out.add_u64(fields.tags, *tag as u64);
    }
    out.add_u64(fields.status, status_code(doc.status));
    out.add_i64(fields.published, doc.dated.and_utc().timestamp());
    out.add_u64(fields.year, doc.dated.year().max(0) as u64);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_analyzer_folds_case_and_accents_and_stems() {
        assert_eq!(tokens(analyzer(), "Café BOMBINGS Alep"), ["cafe", "bomb", "alep"]);
        assert_eq!(
            word_forms("Diplomacy"),
            Some(("diplomaci".into(), "diplomacy".into()))
        );
        assert_eq!(word_forms(&"x".repeat(100)), None);
    }
}
