//! What editors send to create and change an article, and its validation.

use chrono::{DateTime, NaiveDateTime, SubsecRound, Utc};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::domain::article::ArticleStatus;
use crate::domain::presentation::{FeaturedImage, Seo, SeoChange};
use crate::domain::{date, slug, text};
use crate::error::{AppError, FieldError};
use crate::http::extract::Errors;
use crate::service::articles::{ArticlePatch, NewArticleInput};

pub const TITLE_MAX: usize = 300;
pub const SUBTITLE_MAX: usize = 300;
pub const EXCERPT_MAX: usize = 1_000;
pub const BODY_MAX: usize = 200_000;
pub const TAGS_MAX: usize = 20;
pub const TAG_NAME_MAX: usize = 50;
pub const ALT_MAX: usize = 1_000;
pub const CAPTION_MAX: usize = 500;
pub const CREDIT_MAX: usize = 200;
pub const IMAGE_SIDE_MAX: u32 = 100_000;
pub const META_TITLE_MAX: usize = 300;
pub const META_DESCRIPTION_MAX: usize = 1_000;

/// A feature image as sent.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "url": "https://images.example.com/tram.jpg",
    "alt": "A tram waiting at a stop in the rain",
    "caption": "Line 4 at Market Square", "credit": "Photo: Ana Ruiz",
    "width": 1600, "height": 900
}))]
pub struct FeaturedImageInput {
    /// An absolute http(s) URL, up to 2,000 characters.
    #[schema(format = "uri", max_length = 2000)]
    pub url: String,
    /// Required: what the image shows, up to 1,000 characters; `""` marks
    /// a decorative image (it must be sent explicitly).
    #[schema(max_length = 1000)]
    pub alt: Option<String>,
    #[schema(max_length = 500)]
    pub caption: Option<String>,
    #[schema(max_length = 200)]
    pub credit: Option<String>,
    /// Pixels, 1–100,000.
    #[schema(minimum = 1, maximum = 100000)]
    pub width: Option<u32>,
    #[schema(minimum = 1, maximum = 100000)]
    pub height: Option<u32>,
}

/// SEO and social-card overrides as sent, in create and update alike
/// (`None`: absent, `Some(None)`: null). The request structs declare the six
/// fields themselves rather than flattening one struct into both: through
/// `#[serde(flatten)]` a wrong type (`"meta_title": 7`) could no longer be
/// reported under its field's name.
#[derive(Debug, Default)]
pub struct SeoInput {
    pub meta_title: Option<Option<String>>,
    pub meta_description: Option<Option<String>>,
    pub og_title: Option<Option<String>>,
    pub og_description: Option<Option<String>>,
    pub og_image_url: Option<Option<String>>,
    pub canonical_url: Option<Option<String>>,
}

/// A new article. Only `title` is required.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "title": "It's too late now",
    "subtitle": "Why the city should stop waiting for the perfect tram plan",
    "body_markdown": "Every year the plan gets better…\n\n> The best tram is the one that runs.",
    "tags": ["Cities", "transport"],
    "status": "draft"
}))]
pub struct CreateArticleRequest {
    /// The headline, 1–300 characters (trimmed; no control characters).
    #[schema(min_length = 1, max_length = 300)]
    pub title: String,
    /// The standfirst, up to 300 characters.
    #[schema(max_length = 300)]
    pub subtitle: Option<String>,
    /// The body in Markdown, up to 200,000 characters. Rendered to
    /// sanitised HTML (`body_html`) on save.
    #[schema(max_length = 200000)]
    pub body_markdown: Option<String>,
    /// Up to 1,000 characters; derived from the body when left out.
    #[schema(max_length = 1000)]
    pub excerpt: Option<String>,
    /// Lowercase letters, digits and single hyphens, up to 120 characters;
    /// made from the title when left out (a clash then gets `-2`, `-3`, …).
    /// A given slug that is taken is a 409.
    #[schema(pattern = "^[a-z0-9]+(-[a-z0-9]+)*$", max_length = 120)]
    pub slug: Option<String>,
    /// Defaults to `draft`.
    pub status: Option<ArticleStatus>,
    /// Tag names or slugs, up to 20, each 1–50 characters; unknown ones are
    /// created when an editor or admin writes (an author may only name
    /// existing tags: 422 otherwise).
    #[schema(schema_with = tag_names)]
    pub tags: Option<Vec<String>>,
    /// The feature image: `url` and `alt` required.
    pub featured_image: Option<FeaturedImageInput>,
    /// Deprecated and refused (422): send `featured_image` with its alt text.
    #[schema(deprecated, value_type = Option<String>)]
    pub featured_image_url: Option<serde_json::Value>,
    /// An editors' pick. Defaults to false.
    pub featured: Option<bool>,
    /// Up to 300 characters; `null` goes back to the fallback (`title`).
    #[serde(default, deserialize_with = "crate::http::extract::double_option")]
    #[schema(value_type = Option<String>, max_length = 300)]
    pub meta_title: Option<Option<String>>,
    /// Up to 1,000 characters; fallback `excerpt`.
    #[serde(default, deserialize_with = "crate::http::extract::double_option")]
    #[schema(value_type = Option<String>, max_length = 1000)]
    pub meta_description: Option<Option<String>>,
    /// Up to 300 characters; fallback `meta_title`.
    #[serde(default, deserialize_with = "crate::http::extract::double_option")]
    #[schema(value_type = Option<String>, max_length = 300)]
    pub og_title: Option<Option<String>>,
    /// Up to 1,000 characters; fallback `meta_description`.
    #[serde(default, deserialize_with = "crate::http::extract::double_option")]
    #[schema(value_type = Option<String>, max_length = 1000)]
    pub og_description: Option<Option<String>>,
    /// Absolute http(s) URL; fallback the feature image.
    #[serde(default, deserialize_with = "crate::http::extract::double_option")]
    #[schema(value_type = Option<String>, format = "uri", max_length = 2000)]
    pub og_image_url: Option<Option<String>>,
    /// Absolute http(s) URL; fallback the article's own `url`.
    #[serde(default, deserialize_with = "crate::http::extract::double_option")]
    #[schema(value_type = Option<String>, format = "uri", max_length = 2000)]
    pub canonical_url: Option<Option<String>>,
    /// Defaults to true.
    pub comments_enabled: Option<bool>,
    /// When it goes public. Set to now on first publish when left out; a
    /// future time schedules the article. Years 1970–9999.
    pub published_at: Option<DateTime<Utc>>,
}

/// Changes to an article; omitted fields stay as they are, `null` clears a
/// nullable field (`excerpt: null` goes back to the derived excerpt).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"status": "published", "published_at": "2026-11-24T09:30:00Z"}))]
pub struct UpdateArticleRequest {
    /// The headline, 1–300 characters.
    #[schema(min_length = 1, max_length = 300)]
    #[serde(default, deserialize_with = "crate::http::extract::not_null")]
    #[schema(nullable = false)]
    pub title: Option<String>,
    /// The standfirst, up to 300 characters; `null` clears it.
    #[serde(default, deserialize_with = "crate::http::extract::double_option")]
    #[schema(value_type = Option<String>, max_length = 300)]
    pub subtitle: Option<Option<String>>,
    /// The body in Markdown, up to 200,000 characters.
    #[schema(max_length = 200000)]
    #[serde(default, deserialize_with = "crate::http::extract::not_null")]
    #[schema(nullable = false)]
    pub body_markdown: Option<String>,
    /// Up to 1,000 characters; `null` goes back to the derived excerpt.
    #[serde(default, deserialize_with = "crate::http::extract::double_option")]
    #[schema(value_type = Option<String>, max_length = 1000)]
    pub excerpt: Option<Option<String>>,
    /// A new slug (the old address stops working); 409 when taken.
    #[schema(pattern = "^[a-z0-9]+(-[a-z0-9]+)*$", max_length = 120)]
    #[serde(default, deserialize_with = "crate::http::extract::not_null")]
    #[schema(nullable = false)]
    pub slug: Option<String>,
    /// Publish (`published`), withdraw (`archived`) or return to `draft`.
    #[serde(default, deserialize_with = "crate::http::extract::not_null")]
    #[schema(nullable = false)]
    pub status: Option<ArticleStatus>,
    /// Replaces the tags: names or slugs, up to 20.
    #[schema(schema_with = tag_names)]
    #[serde(default, deserialize_with = "crate::http::extract::not_null")]
    #[schema(nullable = false)]
    pub tags: Option<Vec<String>>,
    /// Replaces the feature image (`url` and `alt` required); `null`
    /// removes it.
    #[serde(default, deserialize_with = "crate::http::extract::double_option")]
    #[schema(value_type = Option<FeaturedImageInput>)]
    pub featured_image: Option<Option<FeaturedImageInput>>,
    /// Deprecated and refused (422): send `featured_image`.
    #[schema(deprecated, value_type = Option<String>)]
    pub featured_image_url: Option<serde_json::Value>,
    /// An editors' pick.
    #[serde(default, deserialize_with = "crate::http::extract::not_null")]
    #[schema(nullable = false)]
    pub featured: Option<bool>,
    /// Up to 300 characters; `null` goes back to the fallback (`title`).
    #[serde(default, deserialize_with = "crate::http::extract::double_option")]
    #[schema(value_type = Option<String>, max_length = 300)]
    pub meta_title: Option<Option<String>>,
    /// Up to 1,000 characters; fallback `excerpt`.
    #[serde(default, deserialize_with = "crate::http::extract::double_option")]
    #[schema(value_type = Option<String>, max_length = 1000)]
    pub meta_description: Option<Option<String>>,
    /// Up to 300 characters; fallback `meta_title`.
    #[serde(default, deserialize_with = "crate::http::extract::double_option")]
    #[schema(value_type = Option<String>, max_length = 300)]
    pub og_title: Option<Option<String>>,
    /// Up to 1,000 characters; fallback `meta_description`.
    #[serde(default, deserialize_with = "crate::http::extract::double_option")]
    #[schema(value_type = Option<String>, max_length = 1000)]
    pub og_description: Option<Option<String>>,
    /// Absolute http(s) URL; fallback the feature image.
    #[serde(default, deserialize_with = "crate::http::extract::double_option")]
    #[schema(value_type = Option<String>, format = "uri", max_length = 2000)]
    pub og_image_url: Option<Option<String>>,
    /// Absolute http(s) URL; fallback the article's own `url`.
    #[serde(default, deserialize_with = "crate::http::extract::double_option")]
    #[schema(value_type = Option<String>, format = "uri", max_length = 2000)]
    pub canonical_url: Option<Option<String>>,
    /// Whether readers may post comments.
    #[serde(default, deserialize_with = "crate::http::extract::not_null")]
    #[schema(nullable = false)]
    pub comments_enabled: Option<bool>,
    /// When it goes (or went) public; a future time schedules it. `null`
    /// unsets it (set again on the next publish). Years 1970–9999.
    #[serde(default, deserialize_with = "crate::http::extract::double_option")]
    #[schema(value_type = Option<DateTime<Utc>>)]
    pub published_at: Option<Option<DateTime<Utc>>>,
}

/// `tags` in an article write: up to 20 names or slugs, 1–50 characters
/// each, with a letter or digit.
fn tag_names() -> utoipa::openapi::schema::Array {
    use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, SchemaType, Type};
    ArrayBuilder::new()
        .schema_type(SchemaType::from_iter([Type::Array, Type::Null]))
        .description(Some(
            "Tag names or slugs, up to 20, each 1–50 characters with a letter or digit, \
             in one script; unknown ones are created when an editor or admin writes \
             (an author may only name existing tags). In a PATCH the list replaces the tags.",
        ))
        .items(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .min_length(Some(1))
                .max_length(Some(TAG_NAME_MAX)),
        )
        .max_items(Some(TAGS_MAX))
        .examples([serde_json::json!(["Cities", "transport"])])
        .build()
}

fn validate_title(value: &str, errors: &mut Vec<FieldError>) -> String {
    text::required("title", value, TITLE_MAX, errors)
}

fn validate_body(value: &str, errors: &mut Vec<FieldError>) -> String {
    if value.chars().count() > BODY_MAX {
        errors.push(FieldError::new(
            "body_markdown",
            format!("must be at most {BODY_MAX} characters"),
        ));
    }
    if value.contains('\0') {
        errors.push(FieldError::new(
            "body_markdown",
            "must not contain NUL characters",
        ));
    }
    value.to_string()
}

fn validate_slug(value: &str, errors: &mut Vec<FieldError>) -> String {
    if let Err(e) = slug::validate(value) {
        errors.push(FieldError::new("slug", e));
    }
    value.to_string()
}

fn validate_tags(values: &[String], errors: &mut Vec<FieldError>) -> Vec<String> {
    if values.len() > TAGS_MAX {
        errors.push(FieldError::new(
            "tags",
            format!("may hold at most {TAGS_MAX} tags"),
        ));
    }
    values
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let field = format!("tags[{i}]");
            let name = text::required(&field, v, TAG_NAME_MAX, errors);
            if !name.is_empty() && slug::slugify(&name).is_empty() {
                errors.push(FieldError::new(&field, "must contain a letter or digit"));
            }
            text::single_script(&field, &name, errors);
            name
        })
        .collect()
}

/// `featured_image`: a URL and explicit alt text ("" for decoration).
fn validate_image(image: FeaturedImageInput, errors: &mut Vec<FieldError>) -> FeaturedImage {
    let url = text::http_url("featured_image.url", &image.url, errors);
    let alt = match image.alt.as_deref().map(str::trim) {
        None => {
            errors.push(FieldError::new(
                "featured_image.alt",
                "is required with an image: describe it, or send \"\" for a decorative image",
            ));
            None
        }
        Some("") => Some(String::new()),
        Some(alt) => text::optional("featured_image.alt", Some(alt), ALT_MAX, errors),
    };
    for (field, side) in [
        ("featured_image.width", image.width),
        ("featured_image.height", image.height),
    ] {
        if side.is_some_and(|s| s == 0 || s > IMAGE_SIDE_MAX) {
            errors.push(FieldError::new(
                field,
                format!("must be 1–{IMAGE_SIDE_MAX} pixels"),
            ));
        }
    }
    FeaturedImage {
        url,
        alt,
        caption: text::optional(
            "featured_image.caption",
            image.caption.as_deref(),
            CAPTION_MAX,
            errors,
        ),
        credit: text::optional(
            "featured_image.credit",
            image.credit.as_deref(),
            CREDIT_MAX,
            errors,
        ),
        width: image.width,
        height: image.height,
    }
}

/// `featured_image_url` is read-only from this version on.
fn refuse_old_image_field(given: &Option<serde_json::Value>, errors: &mut Vec<FieldError>) {
    if given.is_some() {
        errors.push(FieldError::new(
            "featured_image_url",
            "is deprecated and read-only: send `featured_image` as {url, alt, …} (alt text is required)",
        ));
    }
}

/// The SEO fields of a create or update body.
macro_rules! seo_input {
    ($body:expr) => {
        SeoInput {
            meta_title: $body.meta_title,
            meta_description: $body.meta_description,
            og_title: $body.og_title,
            og_description: $body.og_description,
            og_image_url: $body.og_image_url,
            canonical_url: $body.canonical_url,
        }
    };
}

/// The SEO overrides: each a change (`null` clears it; blank clears too).
fn validate_seo(seo: SeoInput, errors: &mut Vec<FieldError>) -> SeoChange {
    let mut plain = |field: &str, value: Option<Option<String>>, max: usize| {
        value.map(|v| text::optional(field, v.as_deref(), max, errors))
    };
    let meta_title = plain("meta_title", seo.meta_title, META_TITLE_MAX);
    let meta_description = plain("meta_description", seo.meta_description, META_DESCRIPTION_MAX);
    let og_title = plain("og_title", seo.og_title, META_TITLE_MAX);
    let og_description = plain("og_description", seo.og_description, META_DESCRIPTION_MAX);
    let mut url = |field: &str, value: Option<Option<String>>| {
        value.map(|v| {
            v.filter(|u| !u.trim().is_empty())
                .map(|u| text::http_url(field, &u, errors))
        })
    };
    SeoChange {
        og_image_url: url("og_image_url", seo.og_image_url),
        canonical_url: url("canonical_url", seo.canonical_url),
        meta_title,
        meta_description,
        og_title,
        og_description,
    }
}

/// `published_at`, range-checked (years 1970–9999) like every date input,
/// in whole seconds.
fn validate_published_at(t: DateTime<Utc>, errors: &mut Vec<FieldError>) -> NaiveDateTime {
    if let Err(e) = date::check_utc("published_at", t) {
        errors.push(e);
    }
    t.naive_utc().trunc_subsecs(0)
}

pub fn validate_create(body: CreateArticleRequest) -> Result<NewArticleInput, AppError> {
    let mut e = Errors::default();
    refuse_old_image_field(&body.featured_image_url, &mut e.0);
    let input = NewArticleInput {
        title: validate_title(&body.title, &mut e.0),
        subtitle: text::optional("subtitle", body.subtitle.as_deref(), SUBTITLE_MAX, &mut e.0),
        body_markdown: validate_body(body.body_markdown.as_deref().unwrap_or(""), &mut e.0),
        excerpt: text::optional("excerpt", body.excerpt.as_deref(), EXCERPT_MAX, &mut e.0),
        slug: body.slug.as_deref().map(|s| validate_slug(s, &mut e.0)),
        status: body.status.unwrap_or(ArticleStatus::Draft),
        tags: validate_tags(body.tags.as_deref().unwrap_or(&[]), &mut e.0),
        featured_image: body.featured_image.map(|i| validate_image(i, &mut e.0)),
        featured: body.featured.unwrap_or(false),
        seo: {
            let mut seo = Seo::default();
            seo.apply(validate_seo(seo_input!(body), &mut e.0));
            seo
        },
        comments_enabled: body.comments_enabled.unwrap_or(true),
        published_at: body.published_at.map(|t| validate_published_at(t, &mut e.0)),
    };
    e.finish()?;
    Ok(input)
}

pub fn validate_update(body: UpdateArticleRequest) -> Result<ArticlePatch, AppError> {
    let mut e = Errors::default();
    refuse_old_image_field(&body.featured_image_url, &mut e.0);
    let patch = ArticlePatch {
        title: body.title.as_deref().map(|t| validate_title(t, &mut e.0)),
        subtitle: body
            .subtitle
            .map(|s| text::optional("subtitle", s.as_deref(), SUBTITLE_MAX, &mut e.0)),
        body_markdown: body.body_markdown.as_deref().map(|b| validate_body(b, &mut e.0)),
        excerpt: body
            .excerpt
            .map(|x| text::optional("excerpt", x.as_deref(), EXCERPT_MAX, &mut e.0)),
        slug: body.slug.as_deref().map(|s| validate_slug(s, &mut e.0)),
        status: body.status,
        tags: body.tags.as_deref().map(|t| validate_tags(t, &mut e.0)),
        featured_image: body
            .featured_image
            .map(|i| i.map(|i| validate_image(i, &mut e.0))),
        featured: body.featured,
        seo: validate_seo(seo_input!(body), &mut e.0),
        comments_enabled: body.comments_enabled,
        published_at: body
            .published_at
            .map(|p| p.map(|t| validate_published_at(t, &mut e.0))),
    };
    e.finish()?;
    Ok(patch)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seo_fields_sit_beside_the_others_and_unknown_fields_are_refused() {
        let body: UpdateArticleRequest = serde_json::from_value(
            serde_json::json!({"title": "T", "meta_title": "M", "canonical_url": null}),
        )
        .unwrap();
        assert_eq!(body.meta_title, Some(Some("M".into())));
        assert_eq!(body.canonical_url, Some(None));
        assert_eq!(body.og_title, None);
        assert!(serde_json::from_value::<UpdateArticleRequest>(serde_json::json!({"titel": "T"})).is_err());
        assert!(
            serde_json::from_value::<CreateArticleRequest>(serde_json::json!({"title": "T", "x": 1}))
                .is_err()
        );
    }
}
