//! Sparse fieldsets (`?fields=`): which fields a list item carries, and
//! serialising an article with only those.

use serde::Serialize;

use super::ArticleResponse;
use crate::domain::article::{Columns, FIELDS, HEAVY_FIELDS, ON_REQUEST_FIELDS};
use crate::error::FieldError;

/// The fields a list item carries: a bit per entry of [`FIELDS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldSet(u64);

impl FieldSet {
    fn bit(name: &str) -> Option<u64> {
        FIELDS.iter().position(|f| *f == name).map(|i| 1 << i)
    }

    /// Every field but `left_out`.
    fn all_but(left_out: &[&str]) -> FieldSet {
        let out = left_out.iter().filter_map(|f| Self::bit(f)).fold(0, |a, b| a | b);
        FieldSet(((1u64 << FIELDS.len()) - 1) & !out)
    }

    /// Parses `?fields=` on the article page; without it, every field but
    /// those given only on request.
    pub fn parse_one(fields: Option<&str>, errors: &mut Vec<FieldError>) -> FieldSet {
        match fields {
            None => Self::all_but(&ON_REQUEST_FIELDS),
            Some(_) => Self::parse(fields, errors),
        }
    }

    fn has(self, name: &str) -> bool {
        Self::bit(name).is_some_and(|b| self.0 & b != 0)
    }

    /// Parses `?fields=`; without it, every field but the heavy bodies.
    pub fn parse(fields: Option<&str>, errors: &mut Vec<FieldError>) -> FieldSet {
        let Some(list) = fields else {
            return Self::all_but(&HEAVY_FIELDS);
        };
        let mut chosen = 0;
        for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            match Self::bit(name) {
                Some(bit) => chosen |= bit,
                None => errors.push(FieldError::new(
                    "fields",
                    format!(
                        "`{name}` is not an article field; use any of: {}",
                        FIELDS.join(", ")
                    ),
                )),
            }
        }
        if chosen == 0 && errors.is_empty() {
            errors.push(FieldError::new("fields", "must name at least one field"));
        }
        FieldSet(chosen)
    }

    /// The columns a list must load for these fields: the bodies only when
    /// one of them is asked for.
    pub fn columns(self) -> Columns {
        if HEAVY_FIELDS.iter().any(|f| self.has(f)) {
            Columns::All
        } else {
            Columns::WithoutBodies
        }
    }

    /// The article, to be serialised with only these fields.
    pub fn shape(self, article: ArticleResponse) -> Shaped {
        Shaped {
            article,
            fields: self,
        }
    }
}

/// An article serialised with only some of its fields, in the canonical
/// order, straight to the output (no intermediate JSON tree).
pub struct Shaped {
    article: ArticleResponse,
    fields: FieldSet,
}

impl Serialize for Shaped {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let a = &self.article;
        let mut map = serializer.serialize_map(Some(self.fields.0.count_ones() as usize))?;
        macro_rules! fields {
            ($($name:ident),*) => {
                $(if self.fields.has(stringify!($name)) {
                    map.serialize_entry(stringify!($name), &a.$name)?;
                })*
            };
        }
        fields!(id, slug, url, title, subtitle, excerpt, body_markdown, body_html);
        if self.fields.has("body_text") {
            map.serialize_entry("body_text", &a.body_text())?;
        }
        fields!(
            status,
            author,
            tags,
            featured_image,
            featured_image_url,
            featured,
            pull_quotes,
            meta_title,
            meta_description,
            og_title,
            og_description,
            og_image_url,
            canonical_url,
            reading_time_minutes,
            word_count,
            comments_enabled,
            comment_count,
            share_count,
            published_at,
            created_at,
            updated_at
        );
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_checked() {
        let mut errors = vec![];
        let set = FieldSet::parse(Some("title,id,title"), &mut errors);
        assert!(errors.is_empty());
        assert!(set.has("id") && set.has("title") && !set.has("slug"));
        FieldSet::parse(Some("id,password"), &mut errors);
        assert_eq!(errors.len(), 1);
        let default = FieldSet::parse(None, &mut vec![]);
        assert!(!default.has("body_html") && !default.has("body_markdown") && default.has("title"));
        assert!(default.has("updated_at") && !default.has("body_text"));
        let one = FieldSet::parse_one(None, &mut vec![]);
        assert!(one.has("body_html") && one.has("body_markdown") && !one.has("body_text"));
        let text = FieldSet::parse_one(Some("id,body_text"), &mut vec![]);
        assert!(text.has("body_text") && text.columns() == Columns::All);
    }
}
