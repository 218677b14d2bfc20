//! What a personal API token may do: a set of scopes, each naming a family
//! of editor routes. A token never holds more than its editor's role allows
//! ([`allowed_for`]); a password session (a JWT) is not limited by scopes
//! at all, only by the role.

use std::fmt;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::domain::Role;

/// One permission of an API token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema)]
pub enum Scope {
    /// Read articles (every status) and tags on editor routes.
    #[serde(rename = "articles:read")]
    ArticlesRead,
    /// Create, edit, delete and preview articles.
    #[serde(rename = "articles:write")]
    ArticlesWrite,
    /// Moderate comments and remove share events.
    #[serde(rename = "comments:moderate")]
    CommentsModerate,
    /// Read share events and statistics.
    #[serde(rename = "shares:read")]
    SharesRead,
    /// Create, edit and delete tags.
    #[serde(rename = "tags:write")]
    TagsWrite,
    /// Manage editor accounts and every editor's API tokens.
    #[serde(rename = "editors:admin")]
    EditorsAdmin,
}

impl Scope {
    pub const ALL: [Scope; 6] = [
        Scope::ArticlesRead,
        Scope::ArticlesWrite,
        Scope::CommentsModerate,
        Scope::SharesRead,
        Scope::TagsWrite,
        Scope::EditorsAdmin,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::ArticlesRead => "articles:read",
            Scope::ArticlesWrite => "articles:write",
            Scope::CommentsModerate => "comments:moderate",
            Scope::SharesRead => "shares:read",
            Scope::TagsWrite => "tags:write",
            Scope::EditorsAdmin => "editors:admin",
        }
    }

    pub fn parse(s: &str) -> Option<Scope> {
        Scope::ALL.into_iter().find(|scope| scope.as_str() == s)
    }

    /// The lowest role that may hold this scope.
    pub fn min_role(self) -> Role {
        match self {
            Scope::ArticlesRead | Scope::ArticlesWrite | Scope::SharesRead => Role::Author,
            Scope::CommentsModerate | Scope::TagsWrite => Role::Editor,
            Scope::EditorsAdmin => Role::Admin,
        }
    }

    fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A set of scopes, in [`Scope::ALL`] order; stored space separated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct ScopeSet(u8);

impl ScopeSet {
    pub fn contains(self, scope: Scope) -> bool {
        self.0 & scope.bit() != 0
    }

    pub fn insert(&mut self, scope: Scope) {
        self.0 |= scope.bit();
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Whether every scope of `self` is in `other`.
    pub fn is_subset(self, other: ScopeSet) -> bool {
        self.0 & !other.0 == 0
    }

    pub fn iter(self) -> impl Iterator<Item = Scope> {
        Scope::ALL.into_iter().filter(move |s| self.contains(*s))
    }

    /// The stored form: `articles:read articles:write`; parsed back by
    /// [`ScopeSet::parse`] (which also takes commas).
    pub fn to_stored(self) -> String {
        self.iter().map(Scope::as_str).collect::<Vec<_>>().join(" ")
    }

    /// Parses space- or comma-separated scopes; `None` on an unknown one.
    pub fn parse(s: &str) -> Option<ScopeSet> {
        let mut set = ScopeSet::default();
        for word in s.split([' ', ',']).filter(|w| !w.is_empty()) {
            set.insert(Scope::parse(word)?);
        }
        Some(set)
    }
}

impl FromIterator<Scope> for ScopeSet {
    fn from_iter<I: IntoIterator<Item = Scope>>(iter: I) -> Self {
        let mut set = ScopeSet::default();
        for scope in iter {
            set.insert(scope);
        }
        set
    }
}

/// Every scope an editor of `role` may give a token: authors
/// `articles:read`, `articles:write`, `shares:read`; editors also
/// `comments:moderate` and `tags:write`; admins also `editors:admin`.
pub fn allowed_for(role: Role) -> ScopeSet {
    Scope::ALL
        .into_iter()
        .filter(|s| role.includes(s.min_role()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_round_trip_and_follow_the_role() {
        for scope in Scope::ALL {
            assert_eq!(Scope::parse(scope.as_str()), Some(scope));
            let json = serde_json::to_string(&scope).unwrap();
            assert_eq!(json, format!("\"{}\"", scope.as_str()));
        }
        let all: ScopeSet = Scope::ALL.into_iter().collect();
        assert_eq!(ScopeSet::parse(&all.to_stored()), Some(all));
        assert_eq!(
            ScopeSet::parse("shares:read,articles:read").map(ScopeSet::to_stored),
            Some("articles:read shares:read".into())
        );
        assert_eq!(ScopeSet::parse("articles:read root"), None);
        assert_eq!(
            allowed_for(Role::Author).to_stored(),
            "articles:read articles:write shares:read"
        );
        assert_eq!(
            allowed_for(Role::Editor).to_stored(),
            "articles:read articles:write comments:moderate shares:read tags:write"
        );
        assert_eq!(allowed_for(Role::Admin), all);
        assert!(allowed_for(Role::Author).is_subset(allowed_for(Role::Editor)));
        assert!(!allowed_for(Role::Editor).is_subset(allowed_for(Role::Author)));
    }
}
