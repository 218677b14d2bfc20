//! Personal API tokens: what one looks like, so a malformed one is turned
//! away without a database lookup, and what of it may be shown.
//!
//! A token is `bst_` (so secret scanners can recognise a leaked one) and
//! 32 random bytes in unpadded base64url (43 characters): 256 bits, never
//! guessed. Only its SHA-256 is stored, with a display prefix: `bst_` and
//! the next [`DISPLAY_LEN`] characters, which name the token to its owner
//! without helping anyone guess the remaining 35 (210 bits).

/// The prefix of every API token.
pub const PREFIX: &str = "bst_";

/// Characters after the prefix: 32 bytes in unpadded base64url.
pub const RANDOM_LEN: usize = 43;

/// The whole token's length.
pub const TOKEN_LEN: usize = PREFIX.len() + RANDOM_LEN;

/// Random characters kept, after `bst_`, in the shown prefix.
pub const DISPLAY_LEN: usize = 8;

/// The longest lifetime a token may be given: one year.
pub const MAX_LIFETIME_DAYS: i64 = 366;

/// A token made of `random` (43 base64url characters).
pub fn token_from(random: &str) -> String {
    format!("{PREFIX}{random}")
}

/// What may be shown of `token`: `bst_` and its next 8 characters.
pub fn display_prefix(token: &str) -> String {
    token.chars().take(PREFIX.len() + DISPLAY_LEN).collect()
}

/// Whether a bearer value is meant as an API token (rather than a JWT).
pub fn looks_like_api_token(value: &str) -> bool {
    value.starts_with(PREFIX)
}

/// Whether `token` has the shape of an API token: the prefix and 43
/// base64url characters. Anything else can name no token.
pub fn is_well_formed(token: &str) -> bool {
    token.len() == TOKEN_LEN
        && token.starts_with(PREFIX)
        && token[PREFIX.len()..]
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_token_shape_is_well_formed() {
        let good = token_from(&"a".repeat(RANDOM_LEN));
        assert!(is_well_formed(&good));
        assert_eq!(display_prefix(&good), "bst_aaaaaaaa");
        for bad in [
            String::new(),
            "bst_".to_string(),
            format!("bsp_{}", "a".repeat(RANDOM_LEN)),
            token_from(&"a".repeat(RANDOM_LEN - 1)),
            token_from(&"a".repeat(RANDOM_LEN + 1)),
            token_from(&format!("{}=", "a".repeat(RANDOM_LEN - 1))),
        ] {
            assert!(!is_well_formed(&bad), "{bad}");
        }
    }
}
