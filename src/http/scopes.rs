//! What an API token needs for each route: the one mapping from a request
//! (method and path) to the scope it requires. The `authenticate`
//! middleware and the `Auth` extractor enforce it for API-token requests
//! ([`check`]); `openapi::finish` writes each admin operation's scope into
//! its `security` from the same function, so the document and the server
//! cannot disagree. Password sessions (JWTs) are not limited by scopes.
//!
//! | routes | scope |
//! |---|---|
//! | `GET /admin/articles…` | `articles:read` |
//! | `POST`/`PATCH`/`DELETE /admin/articles…` (previews included) | `articles:write` |
//! | `/admin/comments…` | `comments:moderate` |
//! | `GET /admin/shares…` | `shares:read` |
//! | `DELETE /admin/shares…` (reader-made data, removed by moderators) | `comments:moderate` |
//! | `GET /admin/tags…` | `articles:read` |
//! | `POST`/`PATCH`/`DELETE /admin/tags…` | `tags:write` |
//! | `/admin/editors…`, `/admin/tokens…`, `/admin/webhooks…` | `editors:admin` |
//! | `GET /auth/me` | none: any token |
//! | anything else (`/auth/tokens`, `/auth/password`, `PATCH /auth/me`, unknown paths) | a password session |

use crate::auth::CurrentEditor;
use crate::domain::scope::Scope;
use crate::error::AppError;

/// What a route asks of an API token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Any working token.
    AnyToken,
    /// A token holding this scope.
    Scope(Scope),
    /// No token at all: only a password session (credential management,
    /// and any route this table does not know).
    PasswordSession,
}

const ADMIN: &str = "/api/v1/admin/";

/// The access `method` (any case) on `path` (the full path, as routed)
/// needs from an API token.
pub fn required(method: &str, path: &str) -> Access {
    let read = method.eq_ignore_ascii_case("GET") || method.eq_ignore_ascii_case("HEAD");
    if let Some(rest) = path.strip_prefix(ADMIN) {
        let family = rest.split('/').next().unwrap_or_default();
        let scope = match (family, read) {
            ("articles", true) | ("tags", true) => Scope::ArticlesRead,
            ("articles", false) => Scope::ArticlesWrite,
            ("comments", _) => Scope::CommentsModerate,
            ("shares", true) => Scope::SharesRead,
            ("shares", false) => Scope::CommentsModerate,
            ("tags", false) => Scope::TagsWrite,
            ("editors", _) | ("tokens", _) | ("webhooks", _) => Scope::EditorsAdmin,
            _ => return Access::PasswordSession,
        };
        return Access::Scope(scope);
    }
    if read && path == "/api/v1/auth/me" {
        return Access::AnyToken;
    }
    Access::PasswordSession
}

/// Refuses an API-token request outside its scopes with `403
/// insufficient_scope`; password sessions pass.
pub fn check(editor: &CurrentEditor, method: &str, path: &str) -> Result<(), AppError> {
    let Some(scopes) = editor.scopes else {
        return Ok(());
    };
    match required(method, path) {
        Access::AnyToken => Ok(()),
        Access::Scope(scope) if scopes.contains(scope) => Ok(()),
        Access::Scope(scope) => Err(AppError::Forbidden {
            code: "insufficient_scope",
            detail: format!(
                "This API token lacks the scope `{scope}` that {} {path} needs.",
                method.to_ascii_uppercase()
            ),
        }),
        Access::PasswordSession => Err(crate::service::tokens::password_session_needed()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_admin_family_maps_to_one_scope() {
        let cases = [
            (
                "GET",
                "/api/v1/admin/articles",
                Access::Scope(Scope::ArticlesRead),
            ),
            (
                "PATCH",
                "/api/v1/admin/articles/7",
                Access::Scope(Scope::ArticlesWrite),
            ),
            (
                "POST",
                "/api/v1/admin/articles/7/preview",
                Access::Scope(Scope::ArticlesWrite),
            ),
            ("GET", "/api/v1/admin/tags/3", Access::Scope(Scope::ArticlesRead)),
            ("DELETE", "/api/v1/admin/tags/3", Access::Scope(Scope::TagsWrite)),
            (
                "GET",
                "/api/v1/admin/comments",
                Access::Scope(Scope::CommentsModerate),
            ),
            (
                "GET",
                "/api/v1/admin/shares/stats",
                Access::Scope(Scope::SharesRead),
            ),
            (
                "DELETE",
                "/api/v1/admin/shares",
                Access::Scope(Scope::CommentsModerate),
            ),
            ("GET", "/api/v1/admin/editors", Access::Scope(Scope::EditorsAdmin)),
            (
                "DELETE",
                "/api/v1/admin/tokens/1",
                Access::Scope(Scope::EditorsAdmin),
            ),
            ("GET", "/api/v1/admin/%65ditors", Access::PasswordSession),
            ("GET", "/api/v1/auth/me", Access::AnyToken),
            ("PATCH", "/api/v1/auth/me", Access::PasswordSession),
            ("POST", "/api/v1/auth/tokens", Access::PasswordSession),
            ("GET", "/api/v1/auth/tokens", Access::PasswordSession),
            ("POST", "/api/v1/auth/password", Access::PasswordSession),
        ];
        for (method, path, access) in cases {
            assert_eq!(required(method, path), access, "{method} {path}");
        }
    }
}
