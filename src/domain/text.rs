//! Validation of free text fields, shared by every resource.

use crate::error::FieldError;

/// Trims `value` and checks it is 1..=max characters with no control
/// characters other than newlines and tabs (NUL would be refused by
/// PostgreSQL; the rest is never wanted in content).
pub fn required(field: &str, value: &str, max: usize, errors: &mut Vec<FieldError>) -> String {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        errors.push(FieldError::new(field, "must not be empty"));
    } else if trimmed.chars().all(is_invisible) {
        errors.push(FieldError::new(field, INVISIBLE));
    } else {
        check(field, trimmed, max, errors);
    }
    trimmed.to_string()
}

/// Like [`required`], for an optional field: blank becomes `None`.
pub fn optional(
    field: &str,
    value: Option<&str>,
    max: usize,
    errors: &mut Vec<FieldError>,
) -> Option<String> {
    let trimmed = value.map(str::trim).filter(|v| !v.is_empty())?;
    if trimmed.chars().all(is_invisible) {
        errors.push(FieldError::new(field, INVISIBLE));
    }
    check(field, trimmed, max, errors);
    Some(trimmed.to_string())
}

const INVISIBLE: &str = "must contain something visible, not only invisible or direction-changing characters";

/// Characters that show nothing by themselves: whitespace, zero-width
/// characters, bidirectional controls, the byte order mark, soft hyphens.
/// A text made only of them looks blank (or reverses what follows).
pub fn is_invisible(c: char) -> bool {
    c.is_whitespace()
        || matches!(
            c,
            '\u{ad}'
                | '\u{34f}'
                | '\u{61c}'
                | '\u{115f}'
                | '\u{1160}'
                | '\u{17b4}'
                | '\u{17b5}'
                | '\u{180e}'
                | '\u{200b}'..='\u{200f}'
                | '\u{202a}'..='\u{202e}'
                | '\u{2060}'..='\u{206f}'
                | '\u{3164}'
                | '\u{fe00}'..='\u{fe0f}'
                | '\u{feff}'
                | '\u{ffa0}'
        )
}

/// Bidirectional embedding, override and isolate controls (U+202A–U+202E,
/// U+2066–U+2069). In a name, comment, tag or URL they reorder what
/// follows (`\u{202e}gpj.exe` shows as `exe.jpg`), so text fields refuse
/// them. The left-to-right and right-to-left marks (U+200E, U+200F) stay
/// allowed in text: they reorder nothing by themselves and right-to-left
/// writers need them. URLs refuse the marks too.
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

const BIDI: &str =
    "must not contain bidirectional override or isolate characters (U+202A–U+202E, U+2066–U+2069)";

/// Refuses a name that mixes scripts (Latin with a Cyrillic `С`), per
/// Unicode's mixed-script rule (UTS #39): combinations a language uses,
/// such as Japanese Han and Kana, count as one script.
pub fn single_script(field: &str, value: &str, errors: &mut Vec<FieldError>) {
    use unicode_security::MixedScript;
    if !value.is_single_script() {
        errors.push(FieldError::new(
            field,
            "must be written in one script (for example not Latin mixed with Cyrillic look-alikes)",
        ));
    }
}

fn check(field: &str, value: &str, max: usize, errors: &mut Vec<FieldError>) {
    let len = value.chars().count();
    if len > max {
        errors.push(FieldError::new(
            field,
            format!("must be at most {max} characters (it has {len})"),
        ));
    }
    if value
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t' && c != '\r')
    {
        errors.push(FieldError::new(field, "must not contain control characters"));
    }
    if value.chars().any(is_bidi_control) {
        errors.push(FieldError::new(field, BIDI));
    }
}

/// A plausible email address: one `@`, a dot in the domain, no spaces, at
/// most 254 characters. Lower-cased, since addresses are compared that way.
pub fn email(field: &str, value: &str, errors: &mut Vec<FieldError>) -> String {
    let value = value.trim().to_lowercase();
    let valid = value.len() <= 254
        && !value.chars().any(|c| c.is_whitespace() || c.is_control())
        && match value.split_once('@') {
            Some((local, domain)) => {
                !local.is_empty()
                    && !domain.contains('@')
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
            }
            None => false,
        };
    if !valid {
        errors.push(FieldError::new(
            field,
            "must be an email address such as name@example.com",
        ));
    }
    value
}

/// An absolute `http` or `https` URL of at most 2,000 characters.
pub fn http_url(field: &str, value: &str, errors: &mut Vec<FieldError>) -> String {
    let value = value.trim();
    let lower = value.to_ascii_lowercase();
    let valid = (lower.starts_with("https://") || lower.starts_with("http://"))
        && value.len() <= 2000
        && value.len() > "https://".len()
        && !value.chars().any(|c| {
            c.is_whitespace()
                || c.is_control()
                || is_bidi_control(c)
                || matches!(c, '\u{200e}' | '\u{200f}' | '"' | '<' | '>')
        });
    if !valid {
        errors.push(FieldError::new(
            field,
            "must be an absolute http:// or https:// URL",
        ));
    }
    value.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn required_text_is_trimmed_and_bounded() {
        let mut errors = vec![];
        assert_eq!(required("title", "  Hello  ", 10, &mut errors), "Hello");
        assert!(errors.is_empty());
        required("title", "   ", 10, &mut errors);
        required("title", "12345678901", 10, &mut errors);
        required("title", "nul\0byte", 10, &mut errors);
        assert_eq!(errors.len(), 3);
        assert!(errors.iter().all(|e| e.field == "title"));
    }

    #[test]
    fn emails_and_urls() {
        let mut errors = vec![];
        assert_eq!(email("e", " Ann@Example.COM ", &mut errors), "ann@example.com");
        assert!(errors.is_empty());
        for bad in ["", "ann", "ann@", "@x.com", "a b@x.com", "a@x", "a@@x.com"] {
            let mut errors = vec![];
            email("e", bad, &mut errors);
            assert_eq!(errors.len(), 1, "{bad:?}");
        }
        let mut errors = vec![];
        http_url("u", "https://example.com/a", &mut errors);
        assert!(errors.is_empty());
        for bad in ["javascript:alert(1)", "ftp://x", "https://", "https://a b"] {
            let mut errors = vec![];
            http_url("u", bad, &mut errors);
            assert_eq!(errors.len(), 1, "{bad:?}");
        }
    }

    #[test]
    fn invisible_only_text_is_empty() {
        for text in [
            "\u{200b}",
            "\u{202e}\u{202d}",
            " \u{feff} \u{200d} ",
            "\u{2066}\u{2069}",
            "\u{3164}",
        ] {
            let mut errors = Vec::new();
            required("title", text, 100, &mut errors);
            assert!(errors.iter().any(|e| e.message == INVISIBLE), "{text:?}");
            let mut errors = Vec::new();
            optional("subtitle", Some(text), 100, &mut errors);
            assert!(errors.iter().any(|e| e.message == INVISIBLE), "{text:?}");
        }
        let mut errors = Vec::new();
        required("title", "\u{200f}שלום", 100, &mut errors);
        assert!(errors.is_empty(), "right-to-left text with a mark is fine");
    }

    #[test]
    fn bidi_controls_are_refused_in_text_and_urls() {
        for text in ["Ann\u{202e}gpj.exe", "a\u{2066}b\u{2069}", "x\u{202a}y"] {
            let mut errors = Vec::new();
            required("author_name", text, 100, &mut errors);
            assert_eq!(errors.len(), 1, "{text:?}");
            assert!(errors[0].message.contains("bidirectional"));
        }
        let mut errors = Vec::new();
        http_url("author_url", "https://example.com/\u{202e}fdp.exe", &mut errors);
        http_url("author_url", "https://example.com/\u{200f}x", &mut errors);
        assert_eq!(errors.len(), 2);
    }

    #[test]
    fn tag_names_stay_in_one_script() {
        for ok in ["Cities", "Города", "東京タワー", "Covid-19", "São Paulo"] {
            let mut errors = Vec::new();
            single_script("name", ok, &mut errors);
            assert!(errors.is_empty(), "{ok}");
        }
        let mut errors = Vec::new();
        single_script("name", "\u{421}ities", &mut errors);
        assert_eq!(errors.len(), 1);
    }
}
