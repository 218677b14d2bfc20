//! Feeds: the newest public articles of the site, of a tag or of an
//! author, as RSS 2.0, Atom or JSON Feed 1.1 (the formats are
//! `formats.rs`, written with maintained crates, never by hand).
//!
//! - `FEED_ITEMS` entries (default 20), newest first: the public list's
//!   own query (`articles::list_page`), so a feed shows what the home, tag
//!   or author page shows.
//! - Each entry: title, the article's address on the public site
//!   (`SiteUrls`), a stable `tag:` id (`domain::feed`), published and
//!   updated times, the author's name, the tags as categories, the excerpt
//!   as summary, the sanitised `body_html` as content when
//!   `FEED_FULL_CONTENT`, and the featured image.
//! - No self link: the API has no setting for its own public address, and
//!   the request's `Host` (or `X-Forwarded-Host`) is the client's to choose;
//!   a self link built from it would be kept by the response cache and
//!   served to everyone. The feed links to the site page it mirrors.
//! - An unknown tag or author, or one with no public article, is `404`,
//!   like their pages.

mod formats;

pub use formats::{atom, json_feed, rss};

use crate::db::{self, Db};
use crate::domain::article::{ArticleSort, Columns, ListFilter, Order};
use crate::domain::change::KeySet;
use crate::domain::feed::FeedSettings;
use crate::domain::url::SiteUrls;
use crate::error::AppError;
use crate::service::articles::{ArticleView, list_page};
use crate::service::keys;

/// Whose articles a feed carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FeedScope {
    /// Every public article: the home page.
    Home,
    /// One tag's, by slug.
    Tag(String),
    /// One author's, by slug.
    Author(String),
}

/// A feed's content, before it is written in a format.
pub struct Feed {
    /// `SITE_TITLE`, or `SITE_TITLE: <tag or author name>`.
    pub title: String,
    /// The site page this feed mirrors (home, tag or author page).
    pub link: String,
    pub description: String,
    /// Newest first.
    pub items: Vec<ArticleView>,
}

/// What the formats need besides the feed.
pub struct FeedContext<'a> {
    pub settings: &'a FeedSettings,
    pub site: &'a SiteUrls,
}

impl FeedContext<'_> {
    /// The host of `SITE_URL`, for the entries' `tag:` ids.
    fn host(&self) -> String {
        url::Url::parse(&self.site.home())
            .ok()
            .and_then(|u| u.host_str().map(str::to_string))
            .unwrap_or_else(|| "localhost".into())
    }
}

/// Loads the feed of `scope`, and the surrogate keys it is cached under:
/// `articles`, which every change to a public article (and every tag or
/// author rename) touches.
pub async fn load(
    db: &Db,
    settings: &FeedSettings,
    site: &SiteUrls,
    scope: FeedScope,
) -> Result<(Feed, KeySet), AppError> {
    let per_page = settings.items as usize;
    let columns = if settings.full_content {
        Columns::All
    } else {
        Columns::WithoutBodies
    };
    let (site_title, home) = (settings.title.clone(), site.home());
    let (tag_page, author_page) = match &scope {
        FeedScope::Tag(slug) => (site.tag(slug), String::new()),
        FeedScope::Author(slug) => (String::new(), site.author(slug)),
        FeedScope::Home => (String::new(), String::new()),
    };
    let feed = db
        .read_public(move |conn| {
            let now = crate::domain::date::now();
            let mut filter = ListFilter {
                visible_at: Some(now),
                columns,
                ..Default::default()
            };
            let (title, link, description) = match scope {
                FeedScope::Home => (
                    site_title.clone(),
                    home,
                    format!("The latest articles from {site_title}."),
                ),
                FeedScope::Tag(slug) => {
                    let tag = db::tags::find_visible_by_slug(conn, &slug, now)?
                        .ok_or_else(|| AppError::not_found(format!("No tag has the slug `{slug}`.")))?;
                    filter.tags_any = vec![slug];
                    let description = tag
                        .description
                        .unwrap_or_else(|| format!("The latest articles tagged {}.", tag.name));
                    (format!("{site_title}: {}", tag.name), tag_page, description)
                }
                FeedScope::Author(slug) => {
                    let author = db::feeds::visible_author_by_slug(conn, &slug, now)?
                        .ok_or_else(|| AppError::not_found(format!("No author has the slug `{slug}`.")))?;
                    filter.author_id = Some(author.id);
                    let description = format!("The latest articles by {}.", author.name);
                    (format!("{site_title}: {}", author.name), author_page, description)
                }
            };
            let newest = Order::Public(ArticleSort::NewestFirst);
            let page = list_page(conn, &filter, newest, None, 0, per_page, false)?;
            Ok(Feed {
                title,
                link,
                description,
                items: page.items,
            })
        })
        .await?;
    Ok((feed, keys::syndication()))
}
