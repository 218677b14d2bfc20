//! What a reader's search means, before any engine sees it: the words of
//! the query, which of them may be misspelt or still being typed, and how
//! recency weighs on relevance. Pure; the engine is `infra::search`.

use chrono::NaiveDateTime;

use crate::domain::article::ArticleStatus;

/// Words of a query the engine looks at; the rest are ignored (a pasted
/// paragraph must not cost a thousand term lookups).
pub const MAX_WORDS: usize = 12;
/// A word this long or longer matches with one typo (an insertion,
/// deletion, substitution or swap of two letters): `diplomcy` finds
/// "diplomacy". Shorter words must be spelt right: with one edit allowed,
/// `tram` would also find "team", "trap" and "cram".
pub const FUZZY_MIN_CHARS: usize = 5;
/// The last word is matched as a prefix (search-as-you-type) from this
/// many characters: a single letter would match a good part of the
/// dictionary.
pub const PREFIX_MIN_CHARS: usize = 2;
/// Recency: a match's relevance is multiplied by
/// `RECENCY_FLOOR + (1 - RECENCY_FLOOR) × 2^(−age / RECENCY_HALF_LIFE_DAYS)`,
/// so today's article counts fully, one from half a year ago three
/// quarters, and an old one half: the recent wins among equally relevant
/// matches, and a much better old match still beats a weak new one.
pub const RECENCY_HALF_LIFE_DAYS: f32 = 180.0;
pub const RECENCY_FLOOR: f32 = 0.5;
/// Suggestions an autocomplete box gets.
pub const SUGGESTIONS: usize = 8;

/// One word of a query as the reader typed it (case and accents kept: the
/// engine folds them with the same analyzer as the index).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Word {
    pub text: String,
    /// Still being typed: also matches longer words that start with it.
    pub prefix: bool,
    /// May carry one typo.
    pub fuzzy: bool,
}

/// The words of `q`: letters and digits, split at everything else (so
/// operators, quotes and punctuation mean nothing), at most
/// [`MAX_WORDS`]. The last word is a prefix unless the reader ended the
/// query with a space or punctuation (they finished typing it).
pub fn words(q: &str) -> Vec<Word> {
    let finished = q.chars().last().is_none_or(|c| !c.is_alphanumeric());
    let raw: Vec<&str> = q
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .take(MAX_WORDS)
        .collect();
    let last = raw.len().saturating_sub(1);
    raw.iter()
        .enumerate()
        .map(|(i, w)| {
            let chars = w.chars().count();
            Word {
                text: (*w).to_string(),
                prefix: i == last && !finished && chars >= PREFIX_MIN_CHARS,
                fuzzy: chars >= FUZZY_MIN_CHARS && !w.chars().all(|c| c.is_ascii_digit()),
            }
        })
        .collect()
}

/// The factor recency puts on a match published `age_seconds` ago (see
/// [`RECENCY_HALF_LIFE_DAYS`]); the engine computes it per match from
/// stored seconds, without building dates. A date in the future counts
/// as today.
pub fn recency_for_age(age_seconds: i64) -> f32 {
    let age_days = age_seconds.max(0) as f32 / 86_400.0;
    RECENCY_FLOOR + (1.0 - RECENCY_FLOOR) * (-age_days / RECENCY_HALF_LIFE_DAYS).exp2()
}

/// What the index holds of one article (every status: editors search
/// their drafts too). Tags and the author are ids: their names are read
/// from the database when a result is shown, so a rename never waits for
/// the index.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchDocument {
    pub id: i64,
    pub title: String,
    pub standfirst: String,
    pub body: String,
    pub status: ArticleStatus,
    pub author_id: i64,
    pub tag_ids: Vec<i64>,
    /// Its publication time; for an article never published, its
    /// creation (what recency then weighs).
    pub dated: NaiveDateTime,
}

impl SearchDocument {
    /// [`SearchDocument::dated`] from an article's publication and
    /// creation times.
    pub fn date(published: Option<NaiveDateTime>, created: NaiveDateTime) -> NaiveDateTime {
        published.unwrap_or(created)
    }
}

/// Counts over a whole result set, by id; `service::search` names them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FacetCounts {
    pub tags: Vec<(i64, u64)>,
    pub authors: Vec<(i64, u64)>,
    pub years: Vec<(i32, u64)>,
}

/// The search's narrowing, by id (slugs resolved by the service).
#[derive(Debug, Clone, PartialEq)]
pub struct SearchFilter {
    /// Articles with any of these tags; empty: no tag filter.
    pub tag_ids: Vec<i64>,
    pub author_id: Option<i64>,
    /// Publication time bounds (inclusive).
    pub from: Option<NaiveDateTime>,
    pub to: Option<NaiveDateTime>,
    /// Only articles public at this time (the public's searches).
    pub visible_at: Option<NaiveDateTime>,
    pub status: Option<ArticleStatus>,
    /// What recency is measured from.
    pub now: NaiveDateTime,
}

impl SearchFilter {
    /// What the public may find at `now`.
    pub fn public(now: NaiveDateTime) -> SearchFilter {
        SearchFilter {
            tag_ids: vec![],
            author_id: None,
            from: None,
            to: None,
            visible_at: Some(now),
            status: None,
            now,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operators_quotes_and_punctuation_are_not_words() {
        let w: Vec<String> = words("\"tram\" AND -budget* (NEAR/2) ")
            .into_iter()
            .map(|w| w.text)
            .collect();
        assert_eq!(w, ["tram", "AND", "budget", "NEAR", "2"]);
        assert!(words("?!…").is_empty());
    }

    #[test]
    fn only_the_last_unfinished_word_is_a_prefix() {
        let w = words("tram diplo");
        assert_eq!((w[0].prefix, w[1].prefix), (false, true));
        assert!(!words("tram diplo ").last().unwrap().prefix);
        assert!(
            !words("tram d").last().unwrap().prefix,
            "one letter is not a prefix"
        );
    }

    #[test]
    fn long_words_may_carry_a_typo_short_ones_and_numbers_not() {
        let w = words("tram diplomcy Café 20260");
        assert_eq!(
            w.iter().map(|w| w.fuzzy).collect::<Vec<_>>(),
            [false, true, false, false]
        );
    }

    #[test]
    fn the_query_is_bounded() {
        assert_eq!(words(&"word ".repeat(500)).len(), MAX_WORDS);
    }

    #[test]
    fn recency_halves_at_most_and_prefers_the_recent() {
        let days = |n: i64| n * 86_400;
        assert!((recency_for_age(0) - 1.0).abs() < 1e-6);
        assert!((recency_for_age(days(180)) - 0.75).abs() < 1e-3);
        assert!(recency_for_age(days(1000)) > RECENCY_FLOOR);
        assert!(recency_for_age(days(1000)) < recency_for_age(days(100)));
        assert!(
            (recency_for_age(-days(1000)) - 1.0).abs() < 1e-6,
            "future counts as today"
        );
    }
}
