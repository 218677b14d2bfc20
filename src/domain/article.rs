//! Article workflow and visibility rules.

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

    pub fn as_str(self) -> &'static str {
        match self {
            ArticleStatus::Draft => "draft",
            ArticleStatus::Published => "published",
            ArticleStatus::Archived => "archived",
        }
    }

    pub fn parse(s: &str) -> Option<ArticleStatus> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
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
    #[serde(rename = "relevance")]
    Relevance,
}

impl ArticleSort {
    pub const ALL: [ArticleSort; 5] = [
        ArticleSort::NewestFirst,
        ArticleSort::OldestFirst,
        ArticleSort::MostShared,
        ArticleSort::MostCommented,
        ArticleSort::Relevance,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ArticleSort::NewestFirst => "-published_at",
            ArticleSort::OldestFirst => "published_at",
            ArticleSort::MostShared => "-share_count",
            ArticleSort::MostCommented => "-comment_count",
            ArticleSort::Relevance => "relevance",
        }
    }

    pub fn parse(s: &str) -> Option<ArticleSort> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

/// Every field of an article, for `?fields=` validation.
pub const FIELDS: [&str; 19] = [
    "id",
    "slug",
    "title",
    "subtitle",
    "excerpt",
    "body_markdown",
    "body_html",
    "status",
    "author",
    "tags",
    "featured_image_url",
    "reading_time_minutes",
    "word_count",
    "comments_enabled",
    "comment_count",
    "share_count",
    "published_at",
    "created_at",
    "updated_at",
];

/// Fields left out of public list items unless asked for.
pub const HEAVY_FIELDS: [&str; 2] = ["body_markdown", "body_html"];
