//! Feeds and sitemaps, the pure part: the settings they are written with,
//! the stable ids of feed entries, the image types of enclosures, and the
//! arithmetic of sitemap files. No I/O.
//!
//! - **Entry ids** are `tag:` URIs (RFC 4151) made of `SITE_URL`'s host,
//!   the day the article was created and its numeric id:
//!   `tag:news.example.com,2026-11-23:article:42`. Unlike the article's
//!   address they survive a change of slug (or of `ARTICLE_URL_TEMPLATE`),
//!   so a reader never shows an edited article twice.
//! - **Sitemap files** hold [`SITEMAP_URLS_PER_FILE`] addresses each (the
//!   protocol's limit), public articles by id ascending: an article keeps
//!   its file as others are published (new ids come last); an article
//!   unpublished or deleted moves the later ones back by one place.

use chrono::NaiveDateTime;

/// What feeds are written with: `SITE_TITLE`, `SITE_LANGUAGE`,
/// `FEED_FULL_CONTENT`, `FEED_ITEMS`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedSettings {
    /// The site's name: the feeds' title and the Google News publication.
    pub title: String,
    /// The site's language (ISO 639 code, optionally with a region).
    pub language: String,
    /// Entries carry the sanitised body as content (else the excerpt only).
    pub full_content: bool,
    /// Entries per feed, 1–100.
    pub items: u32,
}

impl Default for FeedSettings {
    fn default() -> Self {
        FeedSettings {
            title: "Broadsheet".into(),
            language: "en".into(),
            full_content: false,
            items: 20,
        }
    }
}

/// The most entries a feed may be set to carry.
pub const MAX_FEED_ITEMS: u32 = 100;

/// Addresses per sitemap file: the sitemap protocol's limit.
pub const SITEMAP_URLS_PER_FILE: i64 = 50_000;

/// The Google News sitemap lists articles published this many days back.
pub const NEWS_DAYS: i64 = 2;

/// And at most this many of them (Google News' limit per sitemap).
pub const NEWS_MAX_URLS: i64 = 1_000;

/// How many article sitemap files `public` articles fill: at least one,
/// so the index always names a file (an empty one while nothing is public).
pub fn sitemap_files(public: i64) -> i64 {
    ((public.max(0) + SITEMAP_URLS_PER_FILE - 1) / SITEMAP_URLS_PER_FILE).max(1)
}

/// How many public articles (in id order) come before file `n` (from 1).
pub fn rows_before_file(n: i64) -> i64 {
    (n - 1) * SITEMAP_URLS_PER_FILE
}

/// Reads the `n` of `articles-{n}.xml`: a whole number from 1, written
/// without sign or leading zeros (so each file has one address).
pub fn parse_file_number(text: &str) -> Option<i64> {
    let first = text.bytes().next()?;
    if !(b'1'..=b'9').contains(&first) || text.len() > 9 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// The `tag:` URI of an article (see the module documentation).
pub fn entry_id(host: &str, created_at: NaiveDateTime, article_id: i64) -> String {
    format!(
        "tag:{host},{}:article:{article_id}",
        created_at.format("%Y-%m-%d")
    )
}

/// The media type of an image from its address' extension; `None` when
/// it does not say (the enclosure is then left out rather than mistyped).
pub fn image_type(url: &str) -> Option<&'static str> {
    let path = url.split(['?', '#']).next().unwrap_or_default();
    let extension = path.rsplit_once('.')?.1.to_ascii_lowercase();
    Some(match extension.as_str() {
        "jpg" | "jpeg" => "image/jpeg",
        "png" => "image/png",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "avif" => "image/avif",
        "svg" => "image/svg+xml",
        _ => return None,
    })
}

/// Checks `SITE_LANGUAGE`: `en`, `pt-br`, `zh-TW` (2–3 letters, optionally
/// a region of 2–4 letters or 3 digits).
pub fn valid_language(code: &str) -> bool {
    let mut parts = code.split('-');
    let language = parts.next().unwrap_or_default();
    let region = parts.next();
    (2..=3).contains(&language.len())
        && language.bytes().all(|b| b.is_ascii_alphabetic())
        && parts.next().is_none()
        && region.is_none_or(|r| {
            ((2..=4).contains(&r.len()) && r.bytes().all(|b| b.is_ascii_alphabetic()))
                || (r.len() == 3 && r.bytes().all(|b| b.is_ascii_digit()))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sitemap_files_are_paged_at_fifty_thousand() {
        assert_eq!(sitemap_files(0), 1);
        assert_eq!(sitemap_files(1), 1);
        assert_eq!(sitemap_files(50_000), 1);
        assert_eq!(sitemap_files(50_001), 2);
        assert_eq!(sitemap_files(1_000_000), 20);
        assert_eq!(sitemap_files(1_000_001), 21);
        assert_eq!(rows_before_file(1), 0);
        assert_eq!(rows_before_file(20), 950_000);
    }

    #[test]
    fn file_numbers_are_canonical() {
        assert_eq!(parse_file_number("1"), Some(1));
        assert_eq!(parse_file_number("20"), Some(20));
        for bad in ["0", "01", "-1", "+1", "abc", "1.5", "", "9999999999", " 1"] {
            assert_eq!(parse_file_number(bad), None, "{bad}");
        }
    }

    #[test]
    fn entry_ids_and_image_types() {
        let at = NaiveDateTime::parse_from_str("2026-11-23T16:02:11", "%Y-%m-%dT%H:%M:%S").unwrap();
        assert_eq!(
            entry_id("news.example.com", at, 42),
            "tag:news.example.com,2026-11-23:article:42"
        );
        assert_eq!(image_type("https://i.example/a.JPG?w=10"), Some("image/jpeg"));
        assert_eq!(image_type("https://i.example/a.webp"), Some("image/webp"));
        assert_eq!(image_type("https://i.example/image"), None);
    }

    #[test]
    fn languages() {
        for good in ["en", "de", "pt-br", "zh-TW", "es-419", "haw"] {
            assert!(valid_language(good), "{good}");
        }
        for bad in ["", "e", "english", "en_US", "en-", "en-us-x", "12"] {
            assert!(!valid_language(bad), "{bad}");
        }
    }
}
