//! Editor authentication, at the service level: password hashing, access
//! JWTs and rotating refresh tokens (pure functions over bytes and strings),
//! and the use cases built on them (`session`: sign-in, refresh, logout and
//! the editor a token names; `credentials`: password change, reset tokens,
//! unlock), which own their transactions. Storage lives in `db`.

pub mod backoff;
pub mod credentials;
pub mod jwt;
pub mod password;
pub mod refresh;
pub mod session;

use crate::domain::Role;
use crate::domain::scope::{Scope, ScopeSet};

/// The editor a valid access token or API token names, as loaded from the
/// database for this request.
#[derive(Debug, Clone)]
pub struct CurrentEditor {
    pub id: i64,
    pub role: Role,
    /// `None` for a password session (a JWT): everything the role allows.
    /// `Some` for an API token: only routes of these scopes, and never the
    /// routes that manage credentials.
    pub scopes: Option<ScopeSet>,
}

impl CurrentEditor {
    /// Whether this request may create tags, also implicitly by naming a
    /// new one in an article: editors and admins, and an API token only
    /// with `tags:write` (`articles:write` alone uses existing tags).
    pub fn may_create_tags(&self) -> bool {
        self.role.includes(Role::Editor) && self.scopes.is_none_or(|s| s.contains(Scope::TagsWrite))
    }
}
