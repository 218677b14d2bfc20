//! An author's public profile: the rules for its links and social handles.
//!
//! - `avatar_url` and `website` are absolute `http(s)` URLs with a host, no
//!   user name or password, at most [`MAX_URL_LEN`] characters, parsed with
//!   the WHATWG parser (`url` crate); stored as given, trimmed.
//! - `twitter` is a handle without the `@`: 1–15 letters, digits or `_`.
//! - `bluesky` is a handle without the `@`: a domain name such as
//!   `ada.bsky.social` (two labels at least), stored lower-cased.
//! - `mastodon` is `@user@host`: a user of letters, digits, `_`, `.` or `-`
//!   (up to 64), and a domain name.
//!
//! Blank values mean "none", like other optional text.

use ::url::Url;

use crate::domain::text::is_bidi_control;
use crate::error::FieldError;

/// The longest `avatar_url` or `website`.
pub const MAX_URL_LEN: usize = 2048;

/// The longest bio.
pub const MAX_BIO_LEN: usize = 2000;

fn blank_is_none(value: Option<&str>) -> Option<&str> {
    value.map(str::trim).filter(|v| !v.is_empty())
}

/// An absolute `http(s)` URL for a profile link, or `None` when blank.
pub fn link(field: &str, value: Option<&str>, errors: &mut Vec<FieldError>) -> Option<String> {
    let value = blank_is_none(value)?;
    let len = value.chars().count();
    if len > MAX_URL_LEN {
        errors.push(FieldError::new(
            field,
            format!("must be at most {MAX_URL_LEN} characters (it has {len})"),
        ));
        return None;
    }
    let clean = !value.chars().any(|c| {
        c.is_whitespace() || c.is_control() || is_bidi_control(c) || matches!(c, '\u{200e}' | '\u{200f}')
    });
    let parsed = Url::parse(value).ok().filter(|u| {
        matches!(u.scheme(), "http" | "https")
            && u.host_str().is_some_and(|h| !h.is_empty())
            && u.username().is_empty()
            && u.password().is_none()
    });
    if !clean || parsed.is_none() {
        errors.push(FieldError::new(
            field,
            "must be an absolute http:// or https:// URL with a host (and no user name or password)",
        ));
        return None;
    }
    Some(value.to_string())
}

/// A domain name: dot-separated labels of letters, digits and inner
/// hyphens, two labels at least, at most 253 characters.
fn is_domain(host: &str) -> bool {
    let labels: Vec<&str> = host.split('.').collect();
    host.len() <= 253
        && labels.len() >= 2
        && labels.iter().all(|l| {
            (1..=63).contains(&l.len())
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        })
        && !labels
            .last()
            .is_some_and(|tld| tld.bytes().all(|b| b.is_ascii_digit()))
}

/// An X (Twitter) handle without the `@`, or `None` when blank.
pub fn twitter(field: &str, value: Option<&str>, errors: &mut Vec<FieldError>) -> Option<String> {
    let value = blank_is_none(value)?;
    let ok = (1..=15).contains(&value.len()) && value.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if !ok {
        errors.push(FieldError::new(
            field,
            "must be a handle without the @: 1–15 letters, digits or underscores (ada_writes)",
        ));
        return None;
    }
    Some(value.to_string())
}

/// A Bluesky handle without the `@` (a domain name), lower-cased, or
/// `None` when blank.
pub fn bluesky(field: &str, value: Option<&str>, errors: &mut Vec<FieldError>) -> Option<String> {
    let value = blank_is_none(value)?;
    if !is_domain(value) {
        errors.push(FieldError::new(
            field,
            "must be a handle without the @, a domain name such as ada.bsky.social",
        ));
        return None;
    }
    Some(value.to_ascii_lowercase())
}

/// A Mastodon address `@user@host`, or `None` when blank.
pub fn mastodon(field: &str, value: Option<&str>, errors: &mut Vec<FieldError>) -> Option<String> {
    let value = blank_is_none(value)?;
    let ok = value
        .strip_prefix('@')
        .and_then(|rest| rest.split_once('@'))
        .is_some_and(|(user, host)| {
            (1..=64).contains(&user.len())
                && user
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
                && !user.starts_with(['.', '-'])
                && !user.ends_with(['.', '-'])
                && is_domain(host)
        });
    if !ok {
        errors.push(FieldError::new(
            field,
            "must be a Mastodon address @user@host, such as @ada@mastodon.social",
        ));
        return None;
    }
    Some(value.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(f: fn(&str, Option<&str>, &mut Vec<FieldError>) -> Option<String>, value: &str) -> bool {
        let mut errors = Vec::new();
        let got = f("x", Some(value), &mut errors);
        got.is_none() && errors.len() == 1 && errors[0].field == "x"
    }

    fn accepted(
        f: fn(&str, Option<&str>, &mut Vec<FieldError>) -> Option<String>,
        value: &str,
    ) -> Option<String> {
        let mut errors = Vec::new();
        let got = f("x", Some(value), &mut errors);
        assert!(errors.is_empty(), "{value:?}: {errors:?}");
        got
    }

    #[test]
    fn links_are_absolute_http_urls() {
        assert_eq!(
            accepted(link, " https://example.com/a.jpg ").as_deref(),
            Some("https://example.com/a.jpg")
        );
        assert_eq!(
            accepted(link, "http://example.com").as_deref(),
            Some("http://example.com")
        );
        assert_eq!(accepted(link, "   "), None);
        let long = format!("https://example.com/{}", "a".repeat(MAX_URL_LEN));
        for bad in [
            "javascript:alert(1)",
            "JavaScript:alert(1)",
            "data:image/png;base64,AAAA",
            "ftp://example.com/a",
            "//example.com/a",
            "/avatars/a.jpg",
            "https://",
            "https://user:pw@example.com/",
            "https://example.com/a b",
            "https://example.com/\u{202e}gpj.exe",
            long.as_str(),
        ] {
            assert!(refused(link, bad), "{bad:?}");
        }
    }

    #[test]
    fn handles() {
        assert_eq!(accepted(twitter, "ada_writes").as_deref(), Some("ada_writes"));
        for bad in ["@ada", "ada writes", "a-b", "abcdefghijklmnop", "ädä"] {
            assert!(refused(twitter, bad), "{bad:?}");
        }
        assert_eq!(
            accepted(bluesky, "Ada.bsky.social").as_deref(),
            Some("ada.bsky.social")
        );
        for bad in [
            "@ada.bsky.social",
            "ada",
            "ada..social",
            "-ada.social",
            "ada.social-",
            "a b.c",
        ] {
            assert!(refused(bluesky, bad), "{bad:?}");
        }
        assert_eq!(
            accepted(mastodon, "@ada@mastodon.social").as_deref(),
            Some("@ada@mastodon.social")
        );
        for bad in [
            "ada@mastodon.social",
            "@ada",
            "@ada@",
            "@@mastodon.social",
            "@ada@mastodon",
            "@a da@x.social",
            "@ada@x.social@y",
            "https://mastodon.social/@ada",
        ] {
            assert!(refused(mastodon, bad), "{bad:?}");
        }
    }
}
