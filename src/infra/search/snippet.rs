//! Highlighted snippets: a result's text around the terms its search
//! matched, HTML-escaped, each match in `<mark>`.
//!
//! A snippet is made when an answer is served, from the text the database
//! holds, so it tokenizes every result's whole body each time. Stemming
//! was most of that cost (the English stemmer, about 11% of all CPU under
//! the search mix), and it grows with the body's length. So a word is
//! stemmed only when it could match: when its first letter is the first
//! letter of a term to highlight. The English stemmer rewrites a word's
//! end; at its start it only drops an apostrophe (which cannot occur: the
//! tokenizer splits at apostrophes) and lowers a `Y` (folding can make
//! one: `ʏ` folds to `Y`), so letters are compared in lower case. A word
//! whose first letter starts no term then stems to no term either; it is
//! blanked, not stemmed. The highlights are exactly those of the index's
//! own analyzer (a test compares them).

use std::collections::BTreeMap;

use tantivy::schema::Field;
use tantivy::snippet::{Snippet, SnippetGenerator};
use tantivy::tokenizer::{
    Language, RawTokenizer, Stemmer, TextAnalyzer, Token, TokenFilter, TokenStream, Tokenizer,
};

use super::schema;

/// Longest snippet, in characters.
const SNIPPET_CHARS: usize = 200;

/// The index terms a search matched, with their weights: what its
/// snippets highlight.
#[derive(Clone, Default)]
pub struct Highlight(pub(super) BTreeMap<String, f32>);

/// Makes the snippets of one answer (built once for all its results).
pub struct Snippets {
    generator: SnippetGenerator,
}

impl Snippets {
    /// `field` only names the generator's field: the text is given.
    pub(super) fn new(highlight: &Highlight, field: Field) -> Snippets {
        let initials: Vec<char> = highlight
            .0
            .keys()
            .filter_map(|t| t.chars().next())
            .map(|c| c.to_ascii_lowercase())
            .collect();
        let analyzer = schema::folded_builder()
            .filter(StemCandidates { initials })
            .build();
        Snippets {
            generator: SnippetGenerator::new(highlight.0.clone(), analyzer, field, SNIPPET_CHARS),
        }
    }

    /// `text` around its best matches, HTML-escaped, each match in
    /// `<mark>`; `None` when nothing in it matched.
    pub fn of(&self, text: &str) -> Option<String> {
        marked(self.generator.snippet(text))
    }
}

/// A snippet as HTML, each match in `<mark>`; `None` without a match.
fn marked(mut snippet: Snippet) -> Option<String> {
    if snippet.highlighted().is_empty() {
        return None;
    }
    snippet.set_snippet_prefix_postfix("<mark>", "</mark>");
    Some(snippet.to_html())
}

/// The token filter that stems a (lower-cased, folded) token only when its
/// first letter is in `initials`, and blanks it otherwise (see the module
/// documentation). A blank token matches no term and costs the snippet
/// generator's lookup nothing.
#[derive(Clone)]
struct StemCandidates {
    initials: Vec<char>,
}

impl TokenFilter for StemCandidates {
    type Tokenizer<T: Tokenizer> = StemCandidatesFilter<T>;

    fn transform<T: Tokenizer>(self, inner: T) -> StemCandidatesFilter<T> {
        StemCandidatesFilter {
            initials: self.initials,
            inner,
            // The stemmer of the index's analyzer, one word at a time.
            stemmer: TextAnalyzer::builder(RawTokenizer::default())
                .filter(Stemmer::new(Language::English))
                .build(),
        }
    }
}

#[derive(Clone)]
struct StemCandidatesFilter<T> {
    initials: Vec<char>,
    inner: T,
    stemmer: TextAnalyzer,
}

impl<T: Tokenizer> Tokenizer for StemCandidatesFilter<T> {
    type TokenStream<'a> = StemCandidatesStream<'a, T::TokenStream<'a>>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> Self::TokenStream<'a> {
        StemCandidatesStream {
            tail: self.inner.token_stream(text),
            initials: &self.initials,
            stemmer: &mut self.stemmer,
        }
    }
}

struct StemCandidatesStream<'a, S> {
    tail: S,
    initials: &'a [char],
    stemmer: &'a mut TextAnalyzer,
}

impl<S: TokenStream> TokenStream for StemCandidatesStream<'_, S> {
    fn advance(&mut self) -> bool {
        if !self.tail.advance() {
            return false;
        }
        let token = self.tail.token_mut();
        let candidate = token
            .text
            .chars()
            .next()
            .is_some_and(|c| self.initials.contains(&c.to_ascii_lowercase()));
        if candidate {
            let mut stemmed = self.stemmer.token_stream(&token.text);
            let stem = stemmed.advance().then(|| stemmed.token().text.clone());
            drop(stemmed);
            if let Some(stem) = stem {
                token.text = stem;
            }
        } else {
            token.text.clear();
        }
        true
    }

    fn token(&self) -> &Token {
        self.tail.token()
    }

    fn token_mut(&mut self) -> &mut Token {
        self.tail.token_mut()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The snippet the index's own analyzer makes (every word stemmed).
    fn with_full_analyzer(highlight: &Highlight, text: &str) -> Option<String> {
        let (_, fields) = schema::schema();
        let generator = SnippetGenerator::new(
            highlight.0.clone(),
            schema::analyzer(),
            fields.body,
            SNIPPET_CHARS,
        );
        marked(generator.snippet(text))
    }

    fn highlight(words: &[&str]) -> Highlight {
        Highlight(
            words
                .iter()
                .filter_map(|w| schema::word_forms(w))
                .map(|(stem, _)| (stem, 1.0))
                .collect(),
        )
    }

    #[test]
    fn highlights_are_those_of_the_full_analyzer() {
        let text = "Skies darkened as the Dying tram lines, bombings and BOMBED depots \
                    lay idle; the council's Café voted. Yesterday's diplomacy failed, \
                    yet the diplomats tried: early, gently, only once. Über-rich \
                    <script>alert(1)</script> trams & buses ran on Tramway 7. A ʏoyo fell.";
        let (_, fields) = schema::schema();
        for query in [
            &["tram"][..],
            &["bombing", "skies"],
            &["dying", "early", "gently", "only"],
            &["cafe", "uber"],
            &["diplomacy", "yesterday"],
            &["script", "alert"],
            &["7", "bus"],
            &["yoyo"],
            &["absent"],
        ] {
            let h = highlight(query);
            let fast = Snippets::new(&h, fields.body).of(text);
            assert_eq!(fast, with_full_analyzer(&h, text), "query {query:?}");
        }
        let h = highlight(&["bombing", "tram"]);
        let snippet = Snippets::new(&h, fields.body).of(text).unwrap();
        assert!(snippet.contains("<mark>bombings</mark>") && snippet.contains("<mark>BOMBED</mark>"));
        let snippet = Snippets::new(&highlight(&["script"]), fields.body)
            .of(text)
            .unwrap();
        assert!(
            snippet.contains("&lt;/<mark>script</mark>&gt;") && !snippet.contains("<script"),
            "escaped: {snippet}"
        );
        assert_eq!(Snippets::new(&highlight(&["absent"]), fields.body).of(text), None);
    }
}
