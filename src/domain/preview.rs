//! Preview tokens: what one looks like, so a malformed one is turned away
//! without a database lookup.
//!
//! A token is `bsp_` (so secret scanners can recognise a leaked one) and
//! 32 random bytes in unpadded base64url (43 characters): 256 bits, never
//! guessed. Only its SHA-256 is stored.

/// The prefix of every preview token.
pub const PREFIX: &str = "bsp_";

/// Characters after the prefix: 32 bytes in unpadded base64url.
pub const RANDOM_LEN: usize = 43;

/// The whole token's length.
pub const TOKEN_LEN: usize = PREFIX.len() + RANDOM_LEN;

/// A token made of `random` (43 base64url characters).
pub fn token_from(random: &str) -> String {
    format!("{PREFIX}{random}")
}

/// Whether `token` has the shape of a preview token: the prefix and 43
/// base64url characters. Anything else can name no preview.
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
        assert!(is_well_formed(&token_from(&"-_9Z".repeat(11)[..RANDOM_LEN])));
        for bad in [
            String::new(),
            "bsp_".to_string(),
            format!("bsx_{}", "a".repeat(RANDOM_LEN)),
            token_from(&"a".repeat(RANDOM_LEN - 1)),
            token_from(&"a".repeat(RANDOM_LEN + 1)),
            token_from(&format!("{}=", "a".repeat(RANDOM_LEN - 1))),
            token_from(&format!("{}é", "a".repeat(RANDOM_LEN - 2))),
        ] {
            assert!(!is_well_formed(&bad), "{bad}");
        }
    }
}
