//! The list filters that take lists of values: `tag=a,b` (any of them),
//! `tags_all=a,b` (every one), `exclude=12,some-slug`. Shared by the public
//! and the editor lists, so both read them the same way.

use crate::domain::slug;
use crate::error::FieldError;

/// Most tags in one filter.
pub const TAGS_MAX: usize = 10;
/// Most articles `exclude` may name.
pub const EXCLUDE_MAX: usize = 50;

/// A comma-separated list of tag slugs. A slug that is well formed but
/// names no tag matches no article (an empty page, never an error: a tag
/// page cached by a CDN must not turn into an error when the tag is
/// renamed); a malformed one is a 422.
pub fn tag_slugs(field: &'static str, value: Option<&str>, errors: &mut Vec<FieldError>) -> Vec<String> {
    let items = split(value);
    if items.len() > TAGS_MAX {
        errors.push(FieldError::new(
            field,
            format!("may name at most {TAGS_MAX} tags"),
        ));
        return vec![];
    }
    for item in &items {
        if let Err(e) = slug::validate(item) {
            errors.push(FieldError::new(field, format!("`{item}`: {e}")));
        }
    }
    items
}

/// `exclude`: article ids and slugs, comma separated.
pub fn exclude(value: Option<&str>, errors: &mut Vec<FieldError>) -> (Vec<i64>, Vec<String>) {
    let items = split(value);
    if items.len() > EXCLUDE_MAX {
        errors.push(FieldError::new(
            "exclude",
            format!("may name at most {EXCLUDE_MAX} articles"),
        ));
        return (vec![], vec![]);
    }
    let (mut ids, mut slugs) = (vec![], vec![]);
    for item in items {
        match item.parse::<i64>() {
            Ok(id) if id > 0 => ids.push(id),
            _ => match slug::validate(&item) {
                Ok(()) => slugs.push(item),
                Err(e) => errors.push(FieldError::new(
                    "exclude",
                    format!("`{item}` is neither an article id nor a slug: {e}"),
                )),
            },
        }
    }
    (ids, slugs)
}

/// The non-empty items of a comma-separated list, trimmed, without repeats.
fn split(value: Option<&str>) -> Vec<String> {
    let mut items: Vec<String> = Vec::new();
    for item in value
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        if !items.iter().any(|i| i == item) {
            items.push(item.to_string());
        }
    }
    items
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_are_split_checked_and_deduplicated() {
        let mut errors = vec![];
        assert_eq!(
            tag_slugs("tag", Some("transport, cities,,transport"), &mut errors),
            vec!["transport", "cities"]
        );
        assert!(errors.is_empty());
        tag_slugs("tag", Some("ok,Not A Slug"), &mut errors);
        assert_eq!(errors.len(), 1);
        let many = (0..11).map(|i| format!("t{i}")).collect::<Vec<_>>().join(",");
        tag_slugs("tags_all", Some(&many), &mut errors);
        assert_eq!(errors.len(), 2);
        let mut errors = vec![];
        assert_eq!(
            exclude(Some("12,its-late,7"), &mut errors),
            (vec![12, 7], vec!["its-late".to_string()])
        );
        exclude(Some("-3"), &mut errors);
        exclude(Some("<script>"), &mut errors);
        assert_eq!(errors.len(), 2);
    }
}
