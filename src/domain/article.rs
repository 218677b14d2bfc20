//! Article workflow and visibility rules.

use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Where an article is in its life. `draft`: being written, never public.
/// `published`: public from `published_at` on (a future `published_at`
/// schedules it). `archived`: withdrawn from the public site.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ArticleStatus {
    Draft,
    Published,
    Archived,
}

impl ArticleStatus {
    pub const ALL: [ArticleStatus; 3] = [
        ArticleStatus::Draft,
        ArticleStatus::Published,
        ArticleStatus::Archived,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            ArticleStatus::Draft => "draft",
            ArticleStatus::Published => "published",
            ArticleStatus::Archived => "archived",
        }
    }

    pub fn parse(s: &str) -> Option<ArticleStatus> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }

    /// Whether the public may see an article with this status published
    /// at `published_at`, at `now`: published, and its time has come. The
    /// rule as Rust checks it; `db::articles::visible_at` says it in SQL.
    pub fn is_public_at(self, published_at: Option<NaiveDateTime>, now: NaiveDateTime) -> bool {
        self == ArticleStatus::Published && published_at.is_some_and(|p| p <= now)
    }
}

/// Public list orders. `Relevance` exists only with a search query.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub enum ArticleSort {
    #[serde(rename = "-published_at")]
    NewestFirst,
    #[serde(rename = "published_at")]
    OldestFirst,
    #[serde(rename = "-share_count")]
    MostShared,
    #[serde(rename = "-comment_count")]
    MostCommented,
    #[serde(rename = "-updated_at")]
    RecentlyUpdated,
    #[serde(rename = "relevance")]
    Relevance,
}

impl ArticleSort {
    pub const ALL: [ArticleSort; 6] = [
        ArticleSort::NewestFirst,
        ArticleSort::OldestFirst,
        ArticleSort::MostShared,
        ArticleSort::MostCommented,
        ArticleSort::RecentlyUpdated,
        ArticleSort::Relevance,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ArticleSort::NewestFirst => "-published_at",
            ArticleSort::OldestFirst => "published_at",
            ArticleSort::MostShared => "-share_count",
            ArticleSort::MostCommented => "-comment_count",
            ArticleSort::RecentlyUpdated => "-updated_at",
            ArticleSort::Relevance => "relevance",
        }
    }

    pub fn parse(s: &str) -> Option<ArticleSort> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

/// Every field of an article, for `?fields=` validation, in the order
/// they are written.
pub const FIELDS: [&str; 30] = [
    "id",
    "slug",
    "url",
    "title",
    "subtitle",
    "excerpt",
    "body_markdown",
    "body_html",
    "body_text",
    "status",
    "author",
    "tags",
    "featured_image",
    "featured_image_url",
    "featured",
    "pull_quotes",
    "meta_title",
    "meta_description",
    "og_title",
    "og_description",
    "og_image_url",
    "canonical_url",
    "reading_time_minutes",
    "word_count",
    "comments_enabled",
    "comment_count",
    "share_count",
    "published_at",
    "created_at",
    "updated_at",
];

/// Fields a list item leaves out unless `?fields=` asks for them: the
/// bodies, most of a row's bytes.
pub const HEAVY_FIELDS: [&str; 3] = ["body_markdown", "body_html", "body_text"];

/// Fields the article page leaves out unless asked for: the plain-text
/// body repeats the body in another form.
pub const ON_REQUEST_FIELDS: [&str; 1] = ["body_text"];

// Query shapes: what a list asks of `db`, plain data the use cases build
// from a request (no diesel here, so `http` can name them too).

/// What a list asks for. `status` `None` means every status.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    /// Public lists: only articles visible at this time.
    pub visible_at: Option<NaiveDateTime>,
    pub status: Option<ArticleStatus>,
    pub author_id: Option<i64>,
    pub author_slug: Option<String>,
    /// Articles with any of these tags (slugs); empty: no tag filter.
    pub tags_any: Vec<String>,
    /// Articles with every one of these tags.
    pub tags_all: Vec<String>,
    /// Never these articles (the "more stories" box leaves out its own).
    pub exclude_ids: Vec<i64>,
    pub exclude_slugs: Vec<String>,
    /// Only editors' picks (`Some(true)`) or only the others.
    pub featured: Option<bool>,
    /// Only articles edited at or after this time.
    pub updated_since: Option<NaiveDateTime>,
    /// A reader's search: the service asks the search engine and narrows
    /// the list to its matches (`only_ids`); the database never sees it.
    pub query: Option<String>,
    /// Only these articles.
    pub only_ids: Option<Vec<i64>>,
    pub published_from: Option<NaiveDateTime>,
    pub published_to: Option<NaiveDateTime>,
    /// Which columns the rows carry (not which rows match).
    pub columns: Columns,
}

impl ListFilter {
    /// The tags of a plain tag page (nothing but tags and a time window
    /// filter it): a tag whose index entries may be walked, and the other
    /// tags each of its articles must also carry (`tags_all`). A page of
    /// several tags is walked along one of them (`db` walks the rarest): a
    /// tag's entries are in time order, so the walk stops at the page's
    /// end, and at worst (tags that seldom meet) it costs one probe per
    /// entry of that tag.
    pub fn tag_index(&self) -> Option<(&str, &[String])> {
        if !self.only_tags_and_time() {
            return None;
        }
        match (self.tags_any.as_slice(), self.tags_all.as_slice()) {
            ([tag], all) => Some((tag, all)),
            ([], [first, rest @ ..]) => Some((first, rest)),
            _ => None,
        }
    }

    /// The tags of a plain page of any of several tags (nothing else but a
    /// time window filters it): its count, and its pages in time order,
    /// read each tag's entries of the tag index.
    pub fn any_of_tags(&self) -> Option<&[String]> {
        (self.only_tags_and_time() && self.tags_all.is_empty() && self.tags_any.len() > 1)
            .then_some(self.tags_any.as_slice())
    }

    /// Nothing but tags, visibility and a time window filters the list.
    fn only_tags_and_time(&self) -> bool {
        self.status.is_none()
            && self.author_id.is_none()
            && self.author_slug.is_none()
            && self.query.is_none()
            && self.only_ids.is_none()
            && self.exclude_ids.is_empty()
            && self.exclude_slugs.is_empty()
            && self.featured.is_none()
            && self.updated_since.is_none()
    }

    /// True when something beyond visibility, a status and the search
    /// query narrows the list.
    pub fn narrowed(&self) -> bool {
        self.author_id.is_some()
            || self.author_slug.is_some()
            || !self.tags_any.is_empty()
            || !self.tags_all.is_empty()
            || !self.exclude_ids.is_empty()
            || !self.exclude_slugs.is_empty()
            || self.featured.is_some()
            || self.updated_since.is_some()
            || self.published_from.is_some()
            || self.published_to.is_some()
            || self.only_ids.is_some()
    }

    /// True when something the search index does not apply (it applies
    /// visibility, a status, the author, tags (any of them) and dates)
    /// narrows the list.
    pub fn narrowed_beyond_search(&self) -> bool {
        // The index dates an article never published by its creation; the
        // editors' list (`visible_at` unset) filters dates on publication.
        let dated =
            self.visible_at.is_none() && (self.published_from.is_some() || self.published_to.is_some());
        dated
            || !self.tags_all.is_empty()
            || !self.exclude_ids.is_empty()
            || !self.exclude_slugs.is_empty()
            || self.featured.is_some()
            || self.updated_since.is_some()
    }

    /// True when nothing but visibility or a status filters the list.
    pub fn only_status(&self) -> bool {
        !self.narrowed() && self.query.is_none()
    }
}

/// The columns an article list loads. The two bodies are most of a row's
/// bytes and list items leave them out unless `?fields=` names one, so a
/// list loads them only then; rows loaded without them carry empty bodies,
/// which nothing may serialise.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Columns {
    #[default]
    All,
    WithoutBodies,
}

/// Where a cursor-mode page starts: after the row with these keys.
#[derive(Debug, Clone, PartialEq)]
pub enum After {
    Published(NaiveDateTime, i64),
    Count(i64, i64),
    Updated(NaiveDateTime, i64),
}

/// The order of an article list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// Public sorts.
    Public(ArticleSort),
    /// Editor lists: most recently updated first.
    RecentlyUpdated,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(any: &[&str], all: &[&str]) -> ListFilter {
        ListFilter {
            tags_any: any.iter().map(|t| t.to_string()).collect(),
            tags_all: all.iter().map(|t| t.to_string()).collect(),
            ..ListFilter::default()
        }
    }

    #[test]
    fn tag_pages_walk_the_given_tag_else_the_first_of_all() {
        let walked = |f: &ListFilter| f.tag_index().map(|(t, also)| (t.to_string(), also.to_vec()));
        assert_eq!(walked(&tags(&["a"], &[])), Some(("a".into(), vec![])));
        assert_eq!(
            walked(&tags(&[], &["a", "b", "c"])),
            Some(("a".into(), vec!["b".into(), "c".into()]))
        );
        assert_eq!(
            walked(&tags(&["x"], &["a", "b"])),
            Some(("x".into(), vec!["a".into(), "b".into()]))
        );
        assert_eq!(walked(&tags(&["a", "b"], &[])), None, "any of several");
        assert_eq!(walked(&tags(&[], &[])), None);
        let narrowed = ListFilter {
            featured: Some(true),
            ..tags(&[], &["a", "b"])
        };
        assert_eq!(walked(&narrowed), None, "another filter");
        let windowed = ListFilter {
            published_from: chrono::DateTime::from_timestamp(0, 0).map(|t| t.naive_utc()),
            ..tags(&[], &["a", "b"])
        };
        assert!(walked(&windowed).is_some(), "a time window is the index's");
    }

    #[test]
    fn only_plain_lists_of_several_tags_count_from_the_tag_index() {
        assert_eq!(
            tags(&["a", "b"], &[]).any_of_tags(),
            Some(&["a".to_string(), "b".to_string()][..])
        );
        assert_eq!(tags(&["a"], &[]).any_of_tags(), None, "one tag: its own page");
        assert_eq!(tags(&["a", "b"], &["c"]).any_of_tags(), None);
        let searched = ListFilter {
            query: Some("tram".into()),
            ..tags(&["a", "b"], &[])
        };
        assert_eq!(searched.any_of_tags(), None);
    }
}
