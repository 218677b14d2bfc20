//! How an article presents itself beyond its body: the feature image with
//! its metadata, and the SEO and social-card fields with their fallbacks.
//!
//! Both are stored as small JSON documents beside the row (columns
//! `featured_image_meta` and `seo`): no query filters or sorts by them, and
//! it keeps the articles table within the column count diesel's tables
//! are built for. What is stored is only what the editor set; fallbacks
//! are applied when read, so a later title edit moves every fallback with it.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The feature image of an article.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "url": "https://images.example.com/tram.jpg",
    "alt": "A tram waiting at a stop in the rain",
    "caption": "Line 4 at Market Square", "credit": "Photo: Ana Ruiz",
    "width": 1600, "height": 900
}))]
pub struct FeaturedImage {
    /// An absolute http(s) URL.
    pub url: String,
    /// Text for readers who cannot see the image. Required when an image is
    /// set; `""` marks a decorative image and must be given explicitly.
    /// `null` only on images set before alt text was required.
    #[schema(required = true)]
    pub alt: Option<String>,
    #[schema(required = true)]
    pub caption: Option<String>,
    /// Photographer or agency.
    #[schema(required = true)]
    pub credit: Option<String>,
    /// Intrinsic size in pixels, so a page can reserve the space (no layout
    /// shift).
    #[schema(required = true)]
    pub width: Option<u32>,
    #[schema(required = true)]
    pub height: Option<u32>,
}

/// What is stored beside `featured_image_url`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageMeta {
    pub alt: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caption: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credit: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
}

impl FeaturedImage {
    /// The URL column and the stored metadata.
    pub fn into_stored(self) -> (String, String) {
        let meta = ImageMeta {
            alt: self.alt,
            caption: self.caption,
            credit: self.credit,
            width: self.width,
            height: self.height,
        };
        (self.url, serde_json::to_string(&meta).unwrap_or_default())
    }

    /// The image as stored, if there is one. Metadata that does not parse
    /// (written by hand) reads as none rather than failing the article.
    pub fn from_stored(url: Option<&str>, meta: Option<&str>) -> Option<FeaturedImage> {
        let url = url?;
        let meta: ImageMeta = meta
            .and_then(|m| serde_json::from_str(m).ok())
            .unwrap_or_default();
        Some(FeaturedImage {
            url: url.to_string(),
            alt: meta.alt,
            caption: meta.caption,
            credit: meta.credit,
            width: meta.width,
            height: meta.height,
        })
    }
}

/// The SEO and social-card fields an editor set; `None` falls back.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Seo {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta_title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta_description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub og_title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub og_description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub og_image_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canonical_url: Option<String>,
}

/// The SEO and social-card fields as a page uses them, fallbacks applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedSeo {
    pub meta_title: String,
    pub meta_description: String,
    pub og_title: String,
    pub og_description: String,
    pub og_image_url: Option<String>,
    pub canonical_url: String,
}

/// What the fallbacks fall back to.
pub struct SeoSource<'a> {
    pub title: &'a str,
    pub excerpt: &'a str,
    pub image_url: Option<&'a str>,
    /// The article's own absolute address.
    pub url: &'a str,
}

impl Seo {
    /// Stored overrides; text that does not parse reads as none set.
    pub fn from_stored(stored: &str) -> Seo {
        serde_json::from_str(stored).unwrap_or_default()
    }

    pub fn to_stored(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "{}".to_string())
    }

    /// Applies a change: `Some(None)` clears an override, `None` keeps it.
    pub fn apply(&mut self, change: SeoChange) {
        let set = |field: &mut Option<String>, value: Option<Option<String>>| {
            if let Some(v) = value {
                *field = v;
            }
        };
        set(&mut self.meta_title, change.meta_title);
        set(&mut self.meta_description, change.meta_description);
        set(&mut self.og_title, change.og_title);
        set(&mut self.og_description, change.og_description);
        set(&mut self.og_image_url, change.og_image_url);
        set(&mut self.canonical_url, change.canonical_url);
    }

    /// The fields with fallbacks: meta title → title; meta description →
    /// excerpt; Open Graph title and description → the meta ones; Open
    /// Graph image → the feature image; canonical URL → the article's own.
    pub fn resolve(&self, source: &SeoSource<'_>) -> ResolvedSeo {
        let meta_title = self
            .meta_title
            .clone()
            .unwrap_or_else(|| source.title.to_string());
        let meta_description = self
            .meta_description
            .clone()
            .unwrap_or_else(|| source.excerpt.to_string());
        ResolvedSeo {
            og_title: self.og_title.clone().unwrap_or_else(|| meta_title.clone()),
            og_description: self
                .og_description
                .clone()
                .unwrap_or_else(|| meta_description.clone()),
            og_image_url: self
                .og_image_url
                .clone()
                .or_else(|| source.image_url.map(str::to_string)),
            canonical_url: self
                .canonical_url
                .clone()
                .unwrap_or_else(|| source.url.to_string()),
            meta_title,
            meta_description,
        }
    }
}

/// A change to the overrides (`None`: leave, `Some(None)`: clear).
#[derive(Debug, Clone, Default)]
pub struct SeoChange {
    pub meta_title: Option<Option<String>>,
    pub meta_description: Option<Option<String>>,
    pub og_title: Option<Option<String>>,
    pub og_description: Option<Option<String>>,
    pub og_image_url: Option<Option<String>>,
    pub canonical_url: Option<Option<String>>,
}

impl SeoChange {
    pub fn is_empty(&self) -> bool {
        [
            &self.meta_title,
            &self.meta_description,
            &self.og_title,
            &self.og_description,
            &self.og_image_url,
            &self.canonical_url,
        ]
        .iter()
        .all(|f| f.is_none())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source() -> SeoSource<'static> {
        SeoSource {
            title: "Title",
            excerpt: "Excerpt",
            image_url: Some("https://img.example.com/a.jpg"),
            url: "https://news.example.com/a/",
        }
    }

    #[test]
    fn fallbacks_follow_the_documented_chain() {
        let r = Seo::default().resolve(&source());
        assert_eq!(r.meta_title, "Title");
        assert_eq!(r.og_title, "Title");
        assert_eq!(r.meta_description, "Excerpt");
        assert_eq!(r.og_description, "Excerpt");
        assert_eq!(r.og_image_url.as_deref(), Some("https://img.example.com/a.jpg"));
        assert_eq!(r.canonical_url, "https://news.example.com/a/");
        let seo = Seo {
            meta_title: Some("Meta".into()),
            og_description: Some("OG".into()),
            ..Default::default()
        };
        let r = seo.resolve(&source());
        assert_eq!((r.meta_title.as_str(), r.og_title.as_str()), ("Meta", "Meta"));
        assert_eq!(
            (r.meta_description.as_str(), r.og_description.as_str()),
            ("Excerpt", "OG")
        );
    }

    #[test]
    fn stored_forms_round_trip_and_survive_garbage() {
        let mut seo = Seo::default();
        seo.apply(SeoChange {
            meta_title: Some(Some("M".into())),
            ..Default::default()
        });
        assert_eq!(Seo::from_stored(&seo.to_stored()), seo);
        seo.apply(SeoChange {
            meta_title: Some(None),
            ..Default::default()
        });
        assert_eq!(seo.to_stored(), "{}");
        assert_eq!(Seo::from_stored("not json"), Seo::default());
        let image = FeaturedImage {
            url: "https://i.example.com/x.jpg".into(),
            alt: Some(String::new()),
            caption: None,
            credit: Some("AP".into()),
            width: Some(10),
            height: Some(20),
        };
        let (url, meta) = image.clone().into_stored();
        assert_eq!(FeaturedImage::from_stored(Some(&url), Some(&meta)), Some(image));
        let legacy = FeaturedImage::from_stored(Some("https://i.example.com/y.jpg"), None).unwrap();
        assert_eq!(legacy.alt, None);
        assert_eq!(FeaturedImage::from_stored(None, Some(&meta)), None);
    }
}
