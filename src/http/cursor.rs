//! The one keyset cursor codec, used by every list with cursor mode
//! (articles, comments, share events, authors).
//!
//! A cursor is the keyset position after the last item of a page (a sort
//! key and the item id, the tie-breaker), bound to the list and the order
//! it was issued for. It is opaque to clients; inside it is
//! `base64url(version "2" | list | order | key | id, check)` where `check`
//! is the first 8 bytes of a SHA-256 of the rest.
//!
//! Invariants:
//! - a cursor is accepted only by the list and order that issued it (a
//!   comments cursor on the articles list, or a `-share_count` cursor on
//!   `-published_at`, is refused with a `422` naming `cursor`);
//! - a changed byte fails the check and is refused. The check is not a
//!   secret: a client that forges a well-formed cursor reaches a position
//!   that page mode reaches anyway, and every part is parsed into a typed
//!   value (time, integer) before it becomes a bound query parameter;
//! - version 1 cursors (`c1:` inside, no list, no check) are refused: a
//!   client that held one starts again with `cursor=`, as after any bad cursor.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::NaiveDateTime;
use sha2::{Digest, Sha256};

use crate::error::FieldError;

/// Longer `cursor` values are not cursors this API issued.
pub const MAX_CURSOR_LEN: usize = 512;

const VERSION: &str = "2";
const CHECK_LEN: usize = 8;
use crate::domain::date::POSITION_FORMAT as TIME_FORMAT;

/// Which list, in which order, a cursor belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scope {
    /// The list, e.g. `articles`, `comments`, `share-events`.
    pub list: &'static str,
    /// The order, e.g. `-published_at`.
    pub order: &'static str,
}

/// A sort key a cursor can carry.
pub trait Key: Sized {
    fn to_text(&self) -> String;
    fn from_text(text: &str) -> Option<Self>;
}

impl Key for NaiveDateTime {
    fn to_text(&self) -> String {
        self.format(TIME_FORMAT).to_string()
    }
    fn from_text(text: &str) -> Option<Self> {
        // In range too: a year PostgreSQL cannot store would be a 500.
        crate::domain::date::parse_position_time(text)
    }
}

impl Key for i64 {
    fn to_text(&self) -> String {
        self.to_string()
    }
    fn from_text(text: &str) -> Option<Self> {
        // `i64::from_str` takes a leading `+`; the codec never writes one.
        (!text.starts_with('+')).then(|| text.parse().ok()).flatten()
    }
}

impl Key for String {
    // Text (an author's name) with the codec's separator `|` and the escape
    // character `%` escaped, so any name round-trips. A control character
    // (NUL would fail on PostgreSQL) never comes from a name we store, so a
    // forged cursor holding one is refused. A cursor over `MAX_CURSOR_LEN`
    // is refused too: names are at most 100 characters, which fit unless
    // nearly all of them take four bytes in UTF-8 (emoji).
    fn to_text(&self) -> String {
        self.replace('%', "%25").replace('|', "%7C")
    }
    fn from_text(text: &str) -> Option<Self> {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(i) = rest.find('%') {
            out.push_str(&rest[..i]);
            out.push(match rest.get(i..i + 3)? {
                "%25" => '%',
                "%7C" => '|',
                _ => return None,
            });
            rest = &rest[i + 3..];
        }
        out.push_str(rest);
        (!out.chars().any(char::is_control)).then_some(out)
    }
}

/// The position after an item: its sort key, then its id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Keyset<K> {
    pub key: K,
    pub id: i64,
}

fn check(payload: &[u8]) -> [u8; CHECK_LEN] {
    let digest = Sha256::new()
        .chain_update(b"broadsheet cursor\0")
        .chain_update(payload)
        .finalize();
    let mut out = [0u8; CHECK_LEN];
    out.copy_from_slice(&digest[..CHECK_LEN]);
    out
}

/// The opaque cursor for `at` in `scope`.
pub fn encode<K: Key>(scope: Scope, at: &Keyset<K>) -> String {
    let payload = format!(
        "{VERSION}|{}|{}|{}|{}",
        scope.list,
        scope.order,
        at.key.to_text(),
        at.id
    );
    let mut bytes = payload.into_bytes();
    let tag = check(&bytes);
    bytes.extend_from_slice(&tag);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Why a cursor was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CursorError {
    /// Not a cursor this API issued, or one that was changed.
    Malformed,
    /// A genuine cursor of another list or order.
    OtherScope,
}

impl CursorError {
    /// The `422` field error a handler reports.
    pub fn field_error(self) -> FieldError {
        match self {
            CursorError::Malformed => FieldError::new(
                "cursor",
                "is not a cursor this API issued; start again with an empty `cursor=`",
            ),
            CursorError::OtherScope => FieldError::new(
                "cursor",
                "is not a cursor of this list and order; start again with an empty `cursor=`",
            ),
        }
    }
}

/// The position inside `cursor`, if it was issued for `scope`.
pub fn decode<K: Key>(scope: Scope, cursor: &str) -> Result<Keyset<K>, CursorError> {
    use CursorError::Malformed;
    if cursor.len() > MAX_CURSOR_LEN {
        return Err(Malformed);
    }
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| Malformed)?;
    let split = bytes.len().checked_sub(CHECK_LEN).ok_or(Malformed)?;
    let (payload, tag) = bytes.split_at(split);
    if check(payload) != tag {
        return Err(Malformed);
    }
    let text = std::str::from_utf8(payload).map_err(|_| Malformed)?;
    let mut parts = text.split('|');
    let mut next = || parts.next().ok_or(Malformed);
    let (version, list, order, key, id) = (next()?, next()?, next()?, next()?, next()?);
    if version != VERSION || parts.next().is_some() {
        return Err(Malformed);
    }
    if list != scope.list || order != scope.order {
        return Err(CursorError::OtherScope);
    }
    let key = K::from_text(key).ok_or(Malformed)?;
    let id = i64::from_text(id).ok_or(Malformed)?;
    Ok(Keyset { key, id })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const ARTICLES: Scope = Scope {
        list: "articles",
        order: "-published_at",
    };
    const SHARED: Scope = Scope {
        list: "articles",
        order: "-share_count",
    };
    const COMMENTS: Scope = Scope {
        list: "comments",
        order: "created_at",
    };

    const AUTHORS: Scope = Scope {
        list: "authors",
        order: "name",
    };

    #[test]
    fn text_keys_escape_the_separator_and_refuse_control_characters() {
        let at = Keyset {
            key: "50% | Ada|Byron %7C".to_string(),
            id: 3,
        };
        assert_eq!(decode(AUTHORS, &encode(AUTHORS, &at)), Ok(at));
        let nul = Keyset {
            key: "a\0b".to_string(),
            id: 3,
        };
        assert_eq!(
            decode::<String>(AUTHORS, &encode(AUTHORS, &nul)),
            Err(CursorError::Malformed)
        );
        assert_eq!(String::from_text("a%2"), None);
        assert_eq!(String::from_text("a%41"), None);
    }

    fn time(secs: i64) -> NaiveDateTime {
        chrono::DateTime::from_timestamp(secs, 0).unwrap().naive_utc()
    }

    #[test]
    fn cursors_are_bound_to_list_and_order() {
        let at = Keyset {
            key: time(1_800_000_000),
            id: 42,
        };
        let cursor = encode(ARTICLES, &at);
        assert_eq!(decode(ARTICLES, &cursor), Ok(at));
        assert_eq!(
            decode::<NaiveDateTime>(COMMENTS, &cursor),
            Err(CursorError::OtherScope)
        );
        assert_eq!(decode::<i64>(SHARED, &cursor), Err(CursorError::OtherScope));
    }

    #[test]
    fn old_and_foreign_cursors_are_refused() {
        for text in [
            &b"c1:p|2026-01-01T00:00:00|1"[..],
            b"2|articles|-published_at|2026-01-01T00:00:00|1",
            b"",
        ] {
            let cursor = URL_SAFE_NO_PAD.encode(text);
            assert_eq!(
                decode::<NaiveDateTime>(ARTICLES, &cursor),
                Err(CursorError::Malformed)
            );
        }
        assert_eq!(decode::<i64>(ARTICLES, "!!"), Err(CursorError::Malformed));
        let long = "A".repeat(MAX_CURSOR_LEN + 1);
        assert_eq!(decode::<i64>(ARTICLES, &long), Err(CursorError::Malformed));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn time_positions_round_trip(secs in 0i64..4_102_444_800, id in any::<i64>()) {
            let at = Keyset { key: time(secs), id };
            let cursor = encode(ARTICLES, &at);
            prop_assert!(cursor.len() <= MAX_CURSOR_LEN);
            prop_assert!(cursor.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
            prop_assert_eq!(decode(ARTICLES, &cursor), Ok(at));
        }

        #[test]
        fn count_positions_round_trip(count in any::<i64>(), id in any::<i64>()) {
            let at = Keyset { key: count, id };
            prop_assert_eq!(decode(SHARED, &encode(SHARED, &at)), Ok(at));
        }

        /// Any change to the bytes of a cursor is caught by the check.
        #[test]
        fn tampered_cursors_are_refused(id in any::<i64>(), index in any::<prop::sample::Index>(), flip in 1u8..=255) {
            let cursor = encode(ARTICLES, &Keyset { key: time(1_800_000_000), id });
            let mut bytes = URL_SAFE_NO_PAD.decode(&cursor).unwrap();
            let i = index.index(bytes.len());
            bytes[i] ^= flip;
            let tampered = URL_SAFE_NO_PAD.encode(bytes);
            prop_assert_eq!(decode::<NaiveDateTime>(ARTICLES, &tampered), Err(CursorError::Malformed));
        }

        #[test]
        fn text_positions_round_trip(name in any::<String>().prop_filter("no control characters", |n| !n.chars().any(char::is_control)), id in any::<i64>()) {
            let at = Keyset { key: name, id };
            prop_assert_eq!(decode(AUTHORS, &encode(AUTHORS, &at)), Ok(at));
        }

        #[test]
        fn any_string_decodes_without_panicking(cursor in any::<String>()) {
            let _ = decode::<NaiveDateTime>(ARTICLES, &cursor);
            let _ = decode::<i64>(SHARED, &cursor);
        }
    }
}
