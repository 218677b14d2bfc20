//! A [`Feed`] written as RSS 2.0 (`rss`), Atom 1.0 (`atom_syndication`)
//! or JSON Feed 1.1 (serde). Pure functions of the feed and the settings:
//! equal inputs give equal bytes, so ETags are stable.
//!
//! Element by element:
//!
//! | | RSS 2.0 | Atom | JSON Feed 1.1 |
//! |---|---|---|---|
//! | id (`tag:` URI) | `guid isPermaLink="false"` | `id` | `id` |
//! | address | `link` | `link rel="alternate"` | `url` |
//! | author | `dc:creator` (RSS `author` must be an email; none is public) | `author/name`, `uri` | `authors[].name`, `url` |
//! | tags | `category` | `category term=slug label=name` | `tags` (names) |
//! | excerpt | `description` | `summary` | `summary` (and `content_text` without full content) |
//! | body (`FEED_FULL_CONTENT`) | `content:encoded` | `content type="html"` | `content_html` |
//! | featured image | `enclosure` (length 0: unknown) | `link rel="enclosure"` | `image` |
//!
//! An image whose address has no known image extension gets no RSS or
//! Atom enclosure (they need its type); JSON Feed's `image` needs none.

use chrono::{DateTime, FixedOffset, NaiveDateTime};
use serde::Serialize;

use super::{Feed, FeedContext};
use crate::domain::feed::{entry_id, image_type};
use crate::error::AppError;
use crate::service::articles::ArticleView;

fn fixed(at: NaiveDateTime) -> DateTime<FixedOffset> {
    at.and_utc().fixed_offset()
}

/// When the feed last changed: its newest edit (the epoch when empty, so
/// that the same empty feed has the same bytes).
fn feed_updated(feed: &Feed) -> NaiveDateTime {
    feed.items
        .iter()
        .map(|v| v.article.updated_at)
        .max()
        .unwrap_or_default()
}

fn article_url(ctx: &FeedContext<'_>, v: &ArticleView) -> String {
    ctx.site.article(&v.article.slug, v.article.published_at)
}

fn published(v: &ArticleView) -> NaiveDateTime {
    v.article.published_at.unwrap_or(v.article.created_at)
}

/// The feed as RSS 2.0.
pub fn rss(feed: &Feed, ctx: &FeedContext<'_>) -> Result<Vec<u8>, AppError> {
    use rss::extension::dublincore::DublinCoreExtension;
    let host = ctx.host();
    let items = feed
        .items
        .iter()
        .map(|v| {
            let a = &v.article;
            let enclosure = a.featured_image_url.as_ref().and_then(|url| {
                image_type(url).map(|mime| rss::Enclosure {
                    url: url.clone(),
                    length: "0".into(),
                    mime_type: mime.into(),
                })
            });
            rss::Item {
                title: Some(a.title.clone()),
                link: Some(article_url(ctx, v)),
                description: Some(a.excerpt.clone()),
                categories: v
                    .tags
                    .iter()
                    .map(|t| rss::Category {
                        name: t.name.clone(),
                        domain: Some(ctx.site.tag(&t.slug)),
                    })
                    .collect(),
                enclosure,
                guid: Some(rss::Guid {
                    value: entry_id(&host, a.created_at, a.id),
                    permalink: false,
                }),
                pub_date: Some(published(v).and_utc().to_rfc2822()),
                content: ctx.settings.full_content.then(|| a.body_html.clone()),
                dublin_core_ext: Some(DublinCoreExtension {
                    creators: vec![v.author.name.clone()],
                    ..Default::default()
                }),
                ..Default::default()
            }
        })
        .collect();
    let updated = (!feed.items.is_empty()).then(|| feed_updated(feed).and_utc().to_rfc2822());
    let channel = rss::Channel {
        title: feed.title.clone(),
        link: feed.link.clone(),
        description: feed.description.clone(),
        language: Some(ctx.settings.language.clone()),
        last_build_date: updated,
        generator: Some("Broadsheet".into()),
        items,
        ..Default::default()
    };
    channel.write_to(Vec::new()).map_err(AppError::internal)
}

fn atom_entry(ctx: &FeedContext<'_>, host: &str, v: &ArticleView) -> atom_syndication::Entry {
    use atom_syndication::{Category, Content, Entry, Link, Person, Text};
    let a = &v.article;
    let mut links = vec![Link {
        href: article_url(ctx, v),
        rel: "alternate".into(),
        mime_type: Some("text/html".into()),
        ..Default::default()
    }];
    if let Some(url) = &a.featured_image_url
        && let Some(mime) = image_type(url)
    {
        links.push(Link {
            href: url.clone(),
            rel: "enclosure".into(),
            mime_type: Some(mime.into()),
            ..Default::default()
        });
    }
    Entry {
        title: Text::plain(a.title.clone()),
        id: entry_id(host, a.created_at, a.id),
        updated: fixed(a.updated_at),
        published: Some(fixed(published(v))),
        authors: vec![Person {
            name: v.author.name.clone(),
            uri: Some(ctx.site.author(&v.author.slug)),
            ..Default::default()
        }],
        categories: v
            .tags
            .iter()
            .map(|t| Category {
                term: t.slug.clone(),
                label: Some(t.name.clone()),
                ..Default::default()
            })
            .collect(),
        links,
        summary: Some(Text::plain(a.excerpt.clone())),
        content: ctx.settings.full_content.then(|| Content {
            value: Some(a.body_html.clone()),
            content_type: Some("html".into()),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// The feed as Atom 1.0. Its `id` is the site page it mirrors.
pub fn atom(feed: &Feed, ctx: &FeedContext<'_>) -> Result<Vec<u8>, AppError> {
    use atom_syndication::{Generator, Link, Text};
    let host = ctx.host();
    let document = atom_syndication::Feed {
        title: Text::plain(feed.title.clone()),
        id: feed.link.clone(),
        updated: fixed(feed_updated(feed)),
        links: vec![Link {
            href: feed.link.clone(),
            rel: "alternate".into(),
            mime_type: Some("text/html".into()),
            ..Default::default()
        }],
        subtitle: Some(Text::plain(feed.description.clone())),
        generator: Some(Generator {
            value: "Broadsheet".into(),
            ..Default::default()
        }),
        lang: Some(ctx.settings.language.clone()),
        entries: feed.items.iter().map(|v| atom_entry(ctx, &host, v)).collect(),
        ..Default::default()
    };
    document.write_to(Vec::new()).map_err(AppError::internal)
}

/// JSON Feed 1.1 (<https://jsonfeed.org/version/1.1>).
#[derive(Serialize)]
struct JsonFeed<'a> {
    version: &'static str,
    title: &'a str,
    home_page_url: &'a str,
    description: &'a str,
    language: &'a str,
    items: Vec<JsonItem<'a>>,
}

#[derive(Serialize)]
struct JsonItem<'a> {
    id: String,
    url: String,
    title: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    content_html: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    content_text: Option<&'a str>,
    summary: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    image: Option<&'a str>,
    date_published: String,
    date_modified: String,
    authors: Vec<JsonAuthor<'a>>,
    tags: Vec<&'a str>,
}

#[derive(Serialize)]
struct JsonAuthor<'a> {
    name: &'a str,
    url: String,
}

/// The feed as JSON Feed 1.1. An item has `content_html` (the body) with
/// `FEED_FULL_CONTENT`, else `content_text` (the excerpt): the format
/// needs one of them.
pub fn json_feed(feed: &Feed, ctx: &FeedContext<'_>) -> Result<Vec<u8>, AppError> {
    let host = ctx.host();
    let full = ctx.settings.full_content;
    let rfc3339 = |at: NaiveDateTime| at.and_utc().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let items = feed
        .items
        .iter()
        .map(|v| {
            let a = &v.article;
            JsonItem {
                id: entry_id(&host, a.created_at, a.id),
                url: article_url(ctx, v),
                title: &a.title,
                content_html: full.then_some(a.body_html.as_str()),
                content_text: (!full).then_some(a.excerpt.as_str()),
                summary: &a.excerpt,
                image: a.featured_image_url.as_deref(),
                date_published: rfc3339(published(v)),
                date_modified: rfc3339(a.updated_at),
                authors: vec![JsonAuthor {
                    name: &v.author.name,
                    url: ctx.site.author(&v.author.slug),
                }],
                tags: v.tags.iter().map(|t| t.name.as_str()).collect(),
            }
        })
        .collect();
    let document = JsonFeed {
        version: "https://jsonfeed.org/version/1.1",
        title: &feed.title,
        home_page_url: &feed.link,
        description: &feed.description,
        language: &ctx.settings.language,
        items,
    };
    serde_json::to_vec(&document).map_err(AppError::internal)
}
