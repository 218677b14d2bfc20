//! The article as the API shows it: the resource (`ArticleResponse`), a
//! list item's schema (`ArticleSummary`, any subset of the same fields) and
//! what it embeds. Fallbacks (SEO fields) and absolute addresses (`url`)
//! are applied here, when read, so they follow every edit.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::domain::article::ArticleStatus;
use crate::domain::presentation::{FeaturedImage, Seo, SeoSource};
use crate::domain::url::SiteUrls;
use crate::http::pagination;
use crate::service::articles::ArticleView;

/// The author of an article.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({
    "id": 2, "slug": "marta-okafor", "name": "Marta Okafor",
    "avatar_url": "https://broadsheet.test/avatars/marta-okafor.jpg"
}))]
pub struct AuthorSummary {
    pub id: i64,
    /// Address of the author's page: `/api/v1/authors/{slug}`.
    pub slug: String,
    pub name: String,
    /// The author's picture: an absolute http(s) URL, or null.
    #[schema(required = true)]
    pub avatar_url: Option<String>,
}

/// A tag as embedded in an article.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({"id": 3, "slug": "cities", "name": "Cities"}))]
pub struct TagSummary {
    pub id: i64,
    pub slug: String,
    pub name: String,
}

/// An article, with its author and tags.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({
    "id": 1, "slug": "its-too-late-now", "url": "https://news.example.com/its-too-late-now/",
    "title": "It's too late now",
    "subtitle": "Why the city should stop waiting for the perfect tram plan",
    "excerpt": "Every year the plan gets better and the trams get further away…",
    "body_markdown": "Every year the plan gets better…\n\n> [!PULLQUOTE]\n> The best tram is the one that runs.",
    "body_html": "<p>Every year the plan gets better…</p>\n<figure class=\"pull-quote\">\n<blockquote>\n<p>The best tram is the one that runs.</p>\n</blockquote>\n</figure>\n",
    "status": "published", "author": {"id": 2, "slug": "marta-okafor", "name": "Marta Okafor", "avatar_url": null},
    "tags": [{"id": 3, "slug": "cities", "name": "Cities"}],
    "featured_image": {"url": "https://images.example.com/tram.jpg", "alt": "A tram at a stop in the rain",
                       "caption": "Line 4 at Market Square", "credit": "Photo: Ana Ruiz", "width": 1600, "height": 900},
    "featured_image_url": "https://images.example.com/tram.jpg",
    "featured": true,
    "pull_quotes": ["The best tram is the one that runs."],
    "meta_title": "It's too late now", "meta_description": "Every year the plan gets better and the trams get further away…",
    "og_title": "It's too late now", "og_description": "Every year the plan gets better and the trams get further away…",
    "og_image_url": "https://images.example.com/tram.jpg", "canonical_url": "https://news.example.com/its-too-late-now/",
    "reading_time_minutes": 4, "word_count": 712, "comments_enabled": true,
    "comment_count": 12, "share_count": 87,
    "published_at": "2026-11-24T09:30:00Z", "created_at": "2026-11-23T16:02:11Z",
    "updated_at": "2026-11-24T09:30:00Z"
}))]
pub struct ArticleResponse {
    pub id: i64,
    /// API address: `/api/v1/articles/{slug}`.
    pub slug: String,
    /// The article's absolute address on the public site (`SITE_URL` and
    /// `ARTICLE_URL_TEMPLATE`).
    #[schema(format = "uri")]
    pub url: String,
    /// The headline.
    pub title: String,
    /// The standfirst: one line under the headline.
    #[schema(required = true)]
    pub subtitle: Option<String>,
    /// A short summary: given by the editor, or the start of the body.
    pub excerpt: String,
    /// The body as written, in Markdown.
    pub body_markdown: String,
    /// The body rendered to HTML and sanitised (no scripts, event handlers
    /// or `javascript:` URLs); safe to insert into a page.
    pub body_html: String,
    pub status: ArticleStatus,
    pub author: AuthorSummary,
    /// In the order the editor gave them.
    pub tags: Vec<TagSummary>,
    /// The feature image with its alt text and size, or null.
    #[schema(required = true)]
    pub featured_image: Option<FeaturedImage>,
    /// Deprecated: `featured_image.url`. Readable for this version only;
    /// not accepted in writes.
    #[schema(deprecated)]
    #[schema(required = true)]
    pub featured_image_url: Option<String>,
    /// An editors' pick (`featured=true` filters for these).
    pub featured: bool,
    /// The body's pull quotes (`> [!PULLQUOTE]` blocks), in order.
    pub pull_quotes: Vec<String>,
    /// `<title>` and search-result title: the editor's, else `title`.
    pub meta_title: String,
    /// Meta description: the editor's, else `excerpt`.
    pub meta_description: String,
    /// Open Graph (and, by fallback, Twitter card) title: the editor's,
    /// else `meta_title`.
    pub og_title: String,
    /// Open Graph description: the editor's, else `meta_description`.
    pub og_description: String,
    /// Open Graph image: the editor's, else the feature image's URL.
    #[schema(format = "uri")]
    #[schema(required = true)]
    pub og_image_url: Option<String>,
    /// The editor's canonical URL (syndicated copies), else `url`.
    #[schema(format = "uri")]
    pub canonical_url: String,
    /// At 200 words a minute, rounded up.
    pub reading_time_minutes: i32,
    pub word_count: i32,
    /// Whether readers may post comments.
    pub comments_enabled: bool,
    /// Approved comments.
    pub comment_count: i64,
    /// Recorded share events.
    pub share_count: i64,
    /// When the article went (or goes) public; null for a draft never published.
    #[schema(required = true)]
    pub published_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Only through `fields=body_text` (see [`ArticleResponse::body_text`]).
    #[serde(skip)]
    pub body_text: Option<String>,
}

impl ArticleResponse {
    pub fn new(view: ArticleView, urls: &SiteUrls) -> Self {
        let a = view.article;
        let url = urls.article(&a.slug, a.published_at);
        let image =
            FeaturedImage::from_stored(a.featured_image_url.as_deref(), a.featured_image_meta.as_deref());
        let seo = Seo::from_stored(&a.seo).resolve(&SeoSource {
            title: &a.title,
            excerpt: &a.excerpt,
            image_url: a.featured_image_url.as_deref(),
            url: &url,
        });
        ArticleResponse {
            id: a.id,
            slug: a.slug,
            url,
            featured_image: image,
            featured: a.featured,
            pull_quotes: serde_json::from_str(&a.pull_quotes).unwrap_or_default(),
            meta_title: seo.meta_title,
            meta_description: seo.meta_description,
            og_title: seo.og_title,
            og_description: seo.og_description,
            og_image_url: seo.og_image_url,
            canonical_url: seo.canonical_url,
            body_text: a.body_text,
            title: a.title,
            subtitle: a.subtitle,
            excerpt: a.excerpt,
            body_markdown: a.body_markdown,
            body_html: a.body_html,
            status: a.status,
            author: AuthorSummary {
                id: view.author.id,
                slug: view.author.slug,
                name: view.author.name,
                avatar_url: view.author.avatar_url,
            },
            tags: view
                .tags
                .into_iter()
                .map(|t| TagSummary {
                    id: t.id,
                    slug: t.slug,
                    name: t.name,
                })
                .collect(),
            featured_image_url: a.featured_image_url,
            reading_time_minutes: a.reading_time_minutes,
            word_count: a.word_count,
            comments_enabled: a.comments_enabled,
            comment_count: a.comment_count,
            share_count: a.share_count,
            published_at: a.published_at.map(|t| t.and_utc()),
            created_at: a.created_at.and_utc(),
            updated_at: a.updated_at.and_utc(),
        }
    }

    /// The plain-text body: as stored, or for a body written before it
    /// was stored, derived from the Markdown now (only when asked for).
    pub fn body_text(&self) -> String {
        match &self.body_text {
            Some(text) => text.clone(),
            None => crate::domain::markdown::plain_text(&self.body_markdown),
        }
    }
}

/// An article in a list. Every field of an article may appear: by default
/// all but `body_markdown` and `body_html`; with `?fields=a,b` only those.
/// A field that is sent is never null unless it can be null in the full
/// article (`subtitle`, `featured_image`, `featured_image_url`,
/// `og_image_url`, `published_at`).
#[derive(ToSchema)]
#[schema(example = json!({
    "id": 1, "slug": "its-too-late-now", "url": "https://news.example.com/its-too-late-now/",
    "title": "It's too late now",
    "subtitle": "Why the city should stop waiting for the perfect tram plan",
    "excerpt": "Every year the plan gets better and the trams get further away…",
    "status": "published", "author": {"id": 2, "slug": "marta-okafor", "name": "Marta Okafor", "avatar_url": null},
    "tags": [{"id": 3, "slug": "cities", "name": "Cities"}],
    "featured_image": {"url": "https://images.example.com/tram.jpg", "alt": "A tram at a stop in the rain",
                       "caption": "Line 4 at Market Square", "credit": "Photo: Ana Ruiz", "width": 1600, "height": 900},
    "featured_image_url": "https://images.example.com/tram.jpg",
    "featured": true,
    "pull_quotes": ["The best tram is the one that runs."],
    "meta_title": "It's too late now", "meta_description": "Every year the plan gets better and the trams get further away…",
    "og_title": "It's too late now", "og_description": "Every year the plan gets better and the trams get further away…",
    "og_image_url": "https://images.example.com/tram.jpg", "canonical_url": "https://news.example.com/its-too-late-now/",
    "reading_time_minutes": 4, "word_count": 712, "comments_enabled": true,
    "comment_count": 12, "share_count": 87,
    "published_at": "2026-11-24T09:30:00Z", "created_at": "2026-11-23T16:02:11Z",
    "updated_at": "2026-11-24T09:30:00Z"
}))]
#[allow(dead_code)]
pub struct ArticleSummary {
    #[schema(nullable = false)]
    pub id: Option<i64>,
    #[schema(nullable = false)]
    pub slug: Option<String>,
    #[schema(format = "uri", nullable = false)]
    pub url: Option<String>,
    #[schema(nullable = false)]
    pub title: Option<String>,
    pub subtitle: Option<String>,
    #[schema(nullable = false)]
    pub excerpt: Option<String>,
    #[schema(nullable = false)]
    pub body_markdown: Option<String>,
    #[schema(nullable = false)]
    pub body_html: Option<String>,
    #[schema(nullable = false)]
    pub status: Option<ArticleStatus>,
    #[schema(nullable = false)]
    pub author: Option<AuthorSummary>,
    #[schema(nullable = false)]
    pub tags: Option<Vec<TagSummary>>,
    pub featured_image: Option<FeaturedImage>,
    /// Deprecated: `featured_image.url`.
    #[schema(deprecated)]
    pub featured_image_url: Option<String>,
    #[schema(nullable = false)]
    pub featured: Option<bool>,
    #[schema(nullable = false)]
    pub pull_quotes: Option<Vec<String>>,
    #[schema(nullable = false)]
    pub meta_title: Option<String>,
    #[schema(nullable = false)]
    pub meta_description: Option<String>,
    #[schema(nullable = false)]
    pub og_title: Option<String>,
    #[schema(nullable = false)]
    pub og_description: Option<String>,
    pub og_image_url: Option<String>,
    #[schema(nullable = false)]
    pub canonical_url: Option<String>,
    /// The body as plain text (blocks separated by a blank line, pull
    /// quotes left out): for native apps, snippets and text-to-speech.
    /// Only when `fields` names it.
    #[schema(nullable = false)]
    pub body_text: Option<String>,
    #[schema(nullable = false)]
    pub reading_time_minutes: Option<i32>,
    #[schema(nullable = false)]
    pub word_count: Option<i32>,
    #[schema(nullable = false)]
    pub comments_enabled: Option<bool>,
    #[schema(nullable = false)]
    pub comment_count: Option<i64>,
    #[schema(nullable = false)]
    pub share_count: Option<i64>,
    pub published_at: Option<DateTime<Utc>>,
    #[schema(nullable = false)]
    pub created_at: Option<DateTime<Utc>>,
    #[schema(nullable = false)]
    pub updated_at: Option<DateTime<Utc>>,
}

pagination::list_schema!(ArticleList, ArticleSummary, "A page of articles.", {
    "data": [{
        "id": 1, "slug": "its-too-late-now", "url": "https://news.example.com/its-too-late-now/",
    "title": "It's too late now",
        "subtitle": "Why the city should stop waiting for the perfect tram plan",
        "excerpt": "Every year the plan gets better and the trams get further away…",
        "tags": [{"id": 3, "slug": "cities", "name": "Cities"}],
        "published_at": "2026-11-24T09:30:00Z"
    }],
    "meta": {"page": 1, "per_page": 20, "total": 1, "total_pages": 1},
    "links": {"self": "/api/v1/articles?fields=id,slug,title,subtitle,excerpt,tags,published_at", "next": null, "prev": null}
});

/// A field of an article, as named in `?fields=`.
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
#[allow(dead_code)]
pub enum ArticleField {
    Id,
    Slug,
    Url,
    Title,
    Subtitle,
    Excerpt,
    BodyMarkdown,
    BodyHtml,
    BodyText,
    Status,
    Author,
    Tags,
    FeaturedImage,
    FeaturedImageUrl,
    Featured,
    PullQuotes,
    MetaTitle,
    MetaDescription,
    OgTitle,
    OgDescription,
    OgImageUrl,
    CanonicalUrl,
    ReadingTimeMinutes,
    WordCount,
    CommentsEnabled,
    CommentCount,
    ShareCount,
    PublishedAt,
    CreatedAt,
    UpdatedAt,
}

/// The article page as documented: the whole article, or with `?fields=a,b`
/// only those fields. OpenAPI cannot tie a response shape to a query
/// parameter, so `anyOf` says both: `ArticleResponse` (every property
/// required) without `fields`, `ArticleSummary` (any subset, as in a list)
/// with it. Documenting only `ArticleResponse` made generated clients fail to
/// parse a narrowed read (openapi-python-client raised `KeyError`) and
/// schemathesis report the `fields` example as a schema violation.
#[allow(dead_code)]
pub struct ArticleRead;

impl utoipa::PartialSchema for ArticleRead {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{AnyOfBuilder, Ref};
        AnyOfBuilder::new()
            .item(Ref::from_schema_name(ArticleResponse::name()))
            .item(Ref::from_schema_name(ArticleSummary::name()))
            .description(Some(
                "An article: the whole `ArticleResponse`, or with `?fields=a,b` an \
                 `ArticleSummary` with only those fields.",
            ))
            // (The whole article's example is on `ArticleResponse`.)
            .examples([serde_json::json!({
                "id": 1, "title": "It's too late now",
                "body_text": "Every year the plan gets better and the trams get further away."
            })])
            .into()
    }
}

impl ToSchema for ArticleRead {
    fn schemas(schemas: &mut Vec<(String, utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>)>) {
        use utoipa::PartialSchema;
        schemas.push((ArticleResponse::name().into(), ArticleResponse::schema()));
        <ArticleResponse as ToSchema>::schemas(schemas);
        schemas.push((ArticleSummary::name().into(), ArticleSummary::schema()));
        <ArticleSummary as ToSchema>::schemas(schemas);
    }
}
