//! Absolute public addresses of articles, tags and authors on the site a
//! frontend builds (`SITE_URL` + a path), not of the API's own routes. One
//! place, so the `url` fields, feeds and sitemaps can never disagree.

use ::url::Url;

/// Where the public site lives and how its pages are addressed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SiteUrls {
    /// `SITE_URL` without a trailing slash, e.g. `https://news.example.com`
    /// or `https://example.com/news`.
    base: String,
    /// `ARTICLE_URL_TEMPLATE`: a path with `{slug}` (and optionally
    /// `{year}`, `{month}`, `{day}` of publication), e.g. `/{slug}/`.
    article_template: String,
}

/// Why a `SITE_URL` or `ARTICLE_URL_TEMPLATE` was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UrlSettingError(pub String);

impl SiteUrls {
    pub const DEFAULT_SITE_URL: &'static str = "http://localhost:3000";
    pub const DEFAULT_ARTICLE_TEMPLATE: &'static str = "/{slug}/";

    /// Checks both settings: an absolute `http(s)` URL with no query or
    /// fragment, and a template that starts with `/`, names `{slug}` and no
    /// placeholder we do not fill.
    pub fn new(site_url: &str, article_template: &str) -> Result<SiteUrls, UrlSettingError> {
        let parsed =
            Url::parse(site_url).map_err(|e| UrlSettingError(format!("`{site_url}` is not a URL: {e}")))?;
        if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
            return Err(UrlSettingError(format!(
                "`{site_url}` must be an http(s) URL with a host"
            )));
        }
        if parsed.query().is_some() || parsed.fragment().is_some() {
            return Err(UrlSettingError(format!(
                "`{site_url}` must not have a query or fragment"
            )));
        }
        let template = article_template.trim();
        if !template.starts_with('/') || !template.contains("{slug}") {
            return Err(UrlSettingError(format!(
                "`{template}` must start with `/` and contain `{{slug}}`"
            )));
        }
        let unknown = ["{slug}", "{year}", "{month}", "{day}"]
            .iter()
            .fold(template.to_string(), |t, p| t.replace(p, ""));
        if unknown.contains('{') || unknown.contains('}') {
            return Err(UrlSettingError(format!(
                "`{template}` may only use {{slug}}, {{year}}, {{month}} and {{day}}"
            )));
        }
        Ok(SiteUrls {
            base: parsed.as_str().trim_end_matches('/').to_string(),
            article_template: template.to_string(),
        })
    }

    /// The site's home page, with a trailing slash.
    pub fn home(&self) -> String {
        format!("{}/", self.base)
    }

    /// An article's page. `published` fills `{year}`/`{month}`/`{day}`
    /// (a draft without a date uses today's: its address is provisional).
    pub fn article(&self, slug: &str, published: Option<chrono::NaiveDateTime>) -> String {
        let mut path = self.article_template.replace("{slug}", slug);
        if path.contains('{') {
            let at = published.unwrap_or_else(|| chrono::Utc::now().naive_utc());
            path = path
                .replace("{year}", &at.format("%Y").to_string())
                .replace("{month}", &at.format("%m").to_string())
                .replace("{day}", &at.format("%d").to_string());
        }
        format!("{}{path}", self.base)
    }

    /// A tag's page: `/tag/{slug}/`.
    pub fn tag(&self, slug: &str) -> String {
        format!("{}/tag/{slug}/", self.base)
    }

    /// An author's page: `/author/{slug}/`.
    pub fn author(&self, slug: &str) -> String {
        format!("{}/author/{slug}/", self.base)
    }

    /// The site's preview page for a preview token: `/preview/{token}`. The
    /// frontend serves it by reading `GET /api/v1/preview/{token}`.
    pub fn preview(&self, token: &str) -> String {
        format!("{}/preview/{token}", self.base)
    }
}

impl Default for SiteUrls {
    fn default() -> Self {
        SiteUrls::new(Self::DEFAULT_SITE_URL, Self::DEFAULT_ARTICLE_TEMPLATE).expect("the defaults are valid")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> chrono::NaiveDateTime {
        chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S").unwrap()
    }

    #[test]
    fn builds_addresses_from_the_settings() {
        let urls = SiteUrls::new("https://news.example.com/", "/{slug}/").unwrap();
        assert_eq!(urls.home(), "https://news.example.com/");
        assert_eq!(urls.article("tram", None), "https://news.example.com/tram/");
        assert_eq!(urls.tag("cities"), "https://news.example.com/tag/cities/");
        assert_eq!(urls.author("marta"), "https://news.example.com/author/marta/");
        assert_eq!(urls.preview("bsp_x"), "https://news.example.com/preview/bsp_x");
        let dated = SiteUrls::new("https://example.com/news", "/{year}/{month}/{day}/{slug}").unwrap();
        assert_eq!(
            dated.article("tram", Some(at("2026-03-04T10:00:00"))),
            "https://example.com/news/2026/03/04/tram"
        );
    }

    #[test]
    fn refuses_bad_settings() {
        for (site, template) in [
            ("news.example.com", "/{slug}/"),
            ("ftp://example.com", "/{slug}/"),
            ("https://example.com/?a=1", "/{slug}/"),
            ("https://example.com", "{slug}"),
            ("https://example.com", "/articles/"),
            ("https://example.com", "/{slug}/{id}/"),
        ] {
            assert!(SiteUrls::new(site, template).is_err(), "{site} {template}");
        }
    }
}
