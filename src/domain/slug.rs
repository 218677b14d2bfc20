//! Slugs: the public address of articles, tags and authors.
//!
//! A slug is 1–120 characters of `a-z`, `0-9` and single inner hyphens.
//! [`slugify`] makes one from a title: accents are folded to ASCII
//! (`Café` → `cafe`), apostrophes and other punctuation are dropped
//! (`It's` → `its`), and runs of spaces, hyphens, underscores and slashes
//! become one hyphen.

pub const MAX_LEN: usize = 120;

/// Turns a title into a slug; empty when the title has no letters or digits.
pub fn slugify(title: &str) -> String {
    let ascii = deunicode::deunicode(title).to_ascii_lowercase();
    let mut slug = String::with_capacity(ascii.len());
    let mut pending_hyphen = false;
    for c in ascii.chars() {
        if c.is_ascii_alphanumeric() {
            if pending_hyphen && !slug.is_empty() {
                slug.push('-');
            }
            pending_hyphen = false;
            slug.push(c);
        } else if c.is_whitespace() || matches!(c, '-' | '_' | '/' | '\\' | '|' | '+' | '&') {
            pending_hyphen = true;
        }
        // Any other punctuation ("'", ",", "!", ".", quotes…) is dropped.
    }
    truncate(slug)
}

/// Cuts a slug to [`MAX_LEN`] at a hyphen when possible, leaving room for a
/// `-N` suffix.
fn truncate(slug: String) -> String {
    let limit = MAX_LEN - 8;
    if slug.len() <= limit {
        return slug;
    }
    let cut = &slug[..limit];
    match cut.rfind('-') {
        Some(i) if i > limit / 2 => cut[..i].to_string(),
        _ => cut.trim_end_matches('-').to_string(),
    }
}

/// Checks a slug given by a client; the error says what is wrong.
pub fn validate(slug: &str) -> Result<(), String> {
    if slug.is_empty() {
        return Err("must not be empty".into());
    }
    if slug.len() > MAX_LEN {
        return Err(format!("must be at most {MAX_LEN} characters"));
    }
    if !slug
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        return Err("may contain only lowercase letters a-z, digits and hyphens".into());
    }
    if slug.starts_with('-') || slug.ends_with('-') || slug.contains("--") {
        return Err("must not start or end with a hyphen or contain two in a row".into());
    }
    Ok(())
}

/// `base`, `base-2`, `base-3`, …: the n-th candidate for a unique slug.
pub fn candidate(base: &str, n: u32) -> String {
    if n <= 1 {
        base.to_string()
    } else {
        format!("{base}-{n}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_become_slugs() {
        assert_eq!(slugify("It's too late now"), "its-too-late-now");
        assert_eq!(
            slugify("Café au lait, s'il vous plaît!"),
            "cafe-au-lait-sil-vous-plait"
        );
        assert_eq!(slugify("  Hello --  World  "), "hello-world");
        assert_eq!(slugify("U.S. policy: a 2026 review"), "us-policy-a-2026-review");
        assert_eq!(slugify("Rock & roll / jazz_fusion"), "rock-roll-jazz-fusion");
        assert_eq!(slugify("Zürich's Straße"), "zurichs-strasse");
        assert_eq!(slugify("!!!"), "");
    }

    #[test]
    fn long_titles_are_cut_below_the_limit() {
        let title = "word ".repeat(60);
        let slug = slugify(&title);
        assert!(slug.len() <= MAX_LEN - 8, "{}", slug.len());
        assert!(validate(&slug).is_ok());
    }

    #[test]
    fn validation_rejects_bad_slugs() {
        assert!(validate("good-slug-2").is_ok());
        for bad in [
            "",
            "Bad",
            "has space",
            "-lead",
            "trail-",
            "dou--ble",
            "../etc",
            "caf\u{e9}",
        ] {
            assert!(validate(bad).is_err(), "{bad:?} should be rejected");
        }
        assert!(validate(&"a".repeat(MAX_LEN + 1)).is_err());
    }

    #[test]
    fn candidates_count_from_two() {
        assert_eq!(candidate("a", 1), "a");
        assert_eq!(candidate("a", 2), "a-2");
        assert_eq!(candidate("a", 10), "a-10");
    }

    mod properties {
        use super::super::*;
        use proptest::prelude::*;

        /// Titles mixing ASCII, accents, scripts, punctuation, invisible
        /// and bidi characters.
        fn title() -> impl Strategy<Value = String> {
            prop_oneof![
                any::<String>(),
                "[a-zA-Z0-9 ,.'!?&/_-]{0,200}",
                "[a-z\\u{e0}-\\u{ff}\\u{400}-\\u{45f} \\u{200b}\\u{202e}\\u{feff}-]{0,80}",
            ]
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(256))]

            #[test]
            fn slugs_follow_the_grammar(input in title()) {
                let slug = slugify(&input);
                prop_assert!(slug.is_empty() || validate(&slug).is_ok(), "{:?} -> {:?}", input, slug);
                prop_assert!(slug.len() <= MAX_LEN - 8);
            }

            #[test]
            fn slugify_is_idempotent(input in title()) {
                let once = slugify(&input);
                prop_assert_eq!(slugify(&once), once.clone());
            }

            #[test]
            fn input_with_a_letter_or_digit_gives_a_slug(
                before in any::<String>(),
                alnum in "[a-zA-Z0-9]",
                after in any::<String>(),
            ) {
                let input = format!("{before}{alnum}{after}");
                prop_assert!(!slugify(&input).is_empty(), "{:?}", input);
            }

            #[test]
            fn candidates_stay_valid(input in title(), n in 1u32..100_000) {
                let base = slugify(&input);
                prop_assume!(!base.is_empty());
                prop_assert!(validate(&candidate(&base, n)).is_ok());
            }
        }
    }
}
