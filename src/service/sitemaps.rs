//! Sitemaps: an index (`sitemap.xml`) naming the article files and the
//! Google News file, each article file listing up to 50,000 public
//! articles in id order (`domain::feed`), and the Google News sitemap of
//! the last two days (at most 1,000 articles). Written with quick-xml's
//! writer, which escapes every text.
//!
//! - **Bounded memory.** An article file is written as it is read: 5,000
//!   rows of four columns at a time (`db::sitemap::chunk`), each chunk
//!   written out before the next is read. The file itself (about 5 MB at
//!   50,000 addresses of 100 bytes) is the largest thing held.
//! - **Addresses.** Articles are at `SiteUrls::article`. The index names the
//!   files under the public site (`SITE_URL` + `/sitemaps/articles-1.xml`,
//!   `/sitemaps/news.xml`): a sitemap may only list addresses of its own
//!   host, so the site serves these files (proxying `/sitemap.xml` and
//!   `/sitemaps/` to `/api/v1/sitemap.xml` and `/api/v1/sitemaps/`).
//! - **Freshness.** Every file is cached under `articles` (any change to a
//!   public article evicts it). The news file also ages by the clock: an
//!   article older than two days leaves it at the next change of any
//!   article, or when the cache entry goes; crawlers ignore the stale
//!   entries meanwhile.

use std::io::Write;

use chrono::{Duration, NaiveDateTime};
use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesText, Event};

use crate::db::{self, Db, DbConnection};
use crate::domain::article::ListFilter;
use crate::domain::change::KeySet;
use crate::domain::feed::{
    FeedSettings, NEWS_DAYS, NEWS_MAX_URLS, SITEMAP_URLS_PER_FILE, rows_before_file, sitemap_files,
};
use crate::domain::url::SiteUrls;
use crate::error::AppError;
use crate::service::keys;

/// The sitemap protocol's namespace.
pub const SITEMAP_NS: &str = "http://www.sitemaps.org/schemas/sitemap/0.9";
/// Google News' sitemap extension.
pub const NEWS_NS: &str = "http://www.google.com/schemas/sitemap-news/0.9";

/// Rows read per query while an article file is written.
const CHUNK: i64 = 5_000;

type XmlWriter = Writer<Vec<u8>>;

/// The XML writer's callbacks can only fail with `io::Error`, so database
/// errors travel inside one; they come out as what they are (a lost or
/// timed-out database is `Unavailable`: a `503`, and on a replica a retry
/// on the primary), anything else is a writing failure.
fn io_error(e: std::io::Error) -> AppError {
    match db::carried_in_io(e) {
        Ok(database) => database,
        Err(e) => AppError::internal(format!("writing a sitemap: {e}")),
    }
}

fn w3c(at: NaiveDateTime) -> String {
    at.and_utc().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn start(capacity: usize) -> Result<XmlWriter, AppError> {
    let mut writer = Writer::new(Vec::with_capacity(capacity));
    writer
        .write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))
        .map_err(io_error)?;
    writer.get_mut().write_all(b"\n").map_err(io_error)?;
    Ok(writer)
}

fn text_element(writer: &mut XmlWriter, name: &str, text: &str) -> std::io::Result<()> {
    writer
        .create_element(name)
        .write_text_content(BytesText::new(text))
        .map(|_| ())
}

/// `<loc>` and, when known, `<lastmod>`, inside an element `name`.
fn entry(
    writer: &mut XmlWriter,
    name: &str,
    loc: &str,
    lastmod: Option<NaiveDateTime>,
) -> Result<(), AppError> {
    writer
        .create_element(name)
        .write_inner_content(|w| {
            text_element(w, "loc", loc)?;
            if let Some(at) = lastmod {
                text_element(w, "lastmod", &w3c(at))?;
            }
            Ok(())
        })
        .map_err(io_error)?;
    Ok(())
}

/// The sitemap index: every article file with the latest edit among its
/// articles, then the news file.
pub async fn index(db: &Db, site: &SiteUrls) -> Result<(Vec<u8>, KeySet), AppError> {
    let home = site.home();
    let body = db
        .read_public(move |conn| {
            let now = crate::domain::date::now();
            let files = file_count(conn, now)?;
            let mut writer = start(256 + files as usize * 128)?;
            writer
                .create_element("sitemapindex")
                .with_attribute(("xmlns", SITEMAP_NS))
                .write_inner_content(|w| {
                    let mut after = Some(0);
                    for n in 1..=files {
                        // The last id of file n: computed in the database,
                        // without sending its rows.
                        let through = match after {
                            Some(a) if n < files => {
                                db::sitemap::id_after(conn, now, a, SITEMAP_URLS_PER_FILE - 1)
                                    .map_err(std::io::Error::other)?
                            }
                            _ => None,
                        };
                        let lastmod = match after {
                            Some(a) => db::sitemap::last_modified(conn, now, a, through)
                                .map_err(std::io::Error::other)?,
                            None => None,
                        };
                        let loc = format!("{home}sitemaps/articles-{n}.xml");
                        entry(w, "sitemap", &loc, lastmod).map_err(std::io::Error::other)?;
                        after = through;
                    }
                    let since = now - Duration::days(NEWS_DAYS);
                    let news = db::sitemap::published_since(conn, now, since, NEWS_MAX_URLS)
                        .map_err(std::io::Error::other)?;
                    let lastmod = news.iter().map(|(row, _)| row.updated_at).max();
                    entry(w, "sitemap", &format!("{home}sitemaps/news.xml"), lastmod)
                        .map_err(std::io::Error::other)?;
                    Ok(())
                })
                .map_err(io_error)?;
            Ok(writer.into_inner())
        })
        .await?;
    Ok((body, keys::syndication()))
}

/// How many article files the public articles fill (at least one).
fn file_count(conn: &mut DbConnection, now: NaiveDateTime) -> Result<i64, AppError> {
    let filter = ListFilter {
        visible_at: Some(now),
        ..Default::default()
    };
    Ok(sitemap_files(db::articles::count(conn, &filter)?))
}

/// Article file `n` (from 1); `None` past the last file.
pub async fn article_file(db: &Db, site: &SiteUrls, n: i64) -> Result<Option<(Vec<u8>, KeySet)>, AppError> {
    let site = site.clone();
    let body = db
        .read_public(move |conn| {
            let now = crate::domain::date::now();
            if n > file_count(conn, now)? {
                return Ok(None);
            }
            let after = match n {
                1 => 0,
                _ => match db::sitemap::id_after(conn, now, 0, rows_before_file(n) - 1)? {
                    Some(id) => id,
                    None => return Ok(None),
                },
            };
            write_article_file(conn, &site, now, after).map(Some)
        })
        .await?;
    Ok(body.map(|b| (b, keys::syndication())))
}

/// Writes the 50,000 public articles after id `after`, chunk by chunk.
fn write_article_file(
    conn: &mut DbConnection,
    site: &SiteUrls,
    now: NaiveDateTime,
    mut after: i64,
) -> Result<Vec<u8>, AppError> {
    // About 100 bytes an address: one allocation for a full file.
    let mut writer = start(SITEMAP_URLS_PER_FILE as usize * 110)?;
    writer
        .create_element("urlset")
        .with_attribute(("xmlns", SITEMAP_NS))
        .write_inner_content(|w| {
            let mut left = SITEMAP_URLS_PER_FILE;
            while left > 0 {
                let want = CHUNK.min(left);
                let rows = db::sitemap::chunk(conn, now, after, want).map_err(std::io::Error::other)?;
                for row in &rows {
                    let loc = site.article(&row.slug, row.published_at);
                    entry(w, "url", &loc, Some(row.updated_at)).map_err(std::io::Error::other)?;
                }
                left -= rows.len() as i64;
                match rows.last() {
                    Some(last) if rows.len() as i64 == want => after = last.id,
                    _ => break,
                }
            }
            Ok(())
        })
        .map_err(io_error)?;
    Ok(writer.into_inner())
}

/// The Google News sitemap: articles published in the last two days,
/// newest first, at most 1,000, with the publication's name and language.
pub async fn news(db: &Db, site: &SiteUrls, settings: &FeedSettings) -> Result<(Vec<u8>, KeySet), AppError> {
    let (site, name, language) = (site.clone(), settings.title.clone(), settings.language.clone());
    let body = db
        .read_public(move |conn| {
            let now = crate::domain::date::now();
            let since = now - Duration::days(NEWS_DAYS);
            let rows = db::sitemap::published_since(conn, now, since, NEWS_MAX_URLS)?;
            let mut writer = start(512 + rows.len() * 512)?;
            writer
                .create_element("urlset")
                .with_attributes([("xmlns", SITEMAP_NS), ("xmlns:news", NEWS_NS)])
                .write_inner_content(|w| {
                    for (row, title) in &rows {
                        w.create_element("url").write_inner_content(|w| {
                            text_element(w, "loc", &site.article(&row.slug, row.published_at))?;
                            w.create_element("news:news").write_inner_content(|w| {
                                w.create_element("news:publication").write_inner_content(|w| {
                                    text_element(w, "news:name", &name)?;
                                    text_element(w, "news:language", &language)
                                })?;
                                let published = row.published_at.unwrap_or(row.updated_at);
                                text_element(w, "news:publication_date", &w3c(published))?;
                                text_element(w, "news:title", title)
                            })?;
                            Ok(())
                        })?;
                    }
                    Ok(())
                })
                .map_err(io_error)?;
            Ok(writer.into_inner())
        })
        .await?;
    Ok((body, keys::syndication()))
}
