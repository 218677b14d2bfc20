//! Request extractors that turn every kind of bad input into a precise
//! problem+json instead of actix's plain-text errors:
//!
//! - [`Json`]: `Content-Type` must be JSON (415), the body at most
//!   `MAX_BODY_BYTES` (413), syntactically valid UTF-8 JSON (400
//!   `malformed_json`), and of the right shape (422 naming the field: wrong
//!   types, missing or unknown fields). Strings may not hold NUL.
//! - [`Query`]: the same for query strings, 422 naming the parameter.
//! - [`Auth`]: the signed-in editor (put there by [`authenticate`]) holding
//!   at least the role the handler declares, else 403.

use std::marker::PhantomData;

use actix_web::body::MessageBody;
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::Next;
use actix_web::{FromRequest, HttpMessage, HttpRequest, web};
use futures_util::StreamExt;
use futures_util::future::LocalBoxFuture;
use serde::de::DeserializeOwned;

pub use crate::auth::CurrentEditor;
use crate::domain::Role;
use crate::error::{AppError, FieldError};
use crate::state::AppState;

/// A JSON request body of type `T`.
pub struct Json<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for Json<T> {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let limit = req
            .app_data::<web::Data<AppState>>()
            .map(|s| s.config.max_body_bytes)
            .unwrap_or(1 << 20);
        let content_type_ok = is_json_content_type(req);
        let declared_length = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        let mut payload = payload.take();
        Box::pin(async move {
            if !content_type_ok {
                return Err(AppError::UnsupportedMediaType(
                    "Send the body as JSON with `Content-Type: application/json`.".into(),
                ));
            }
            if declared_length.is_some_and(|n| n > limit) {
                return Err(AppError::PayloadTooLarge { limit });
            }
            let mut body = web::BytesMut::new();
            while let Some(chunk) = payload.next().await {
                let chunk =
                    chunk.map_err(|e| AppError::bad_request(format!("The body could not be read: {e}")))?;
                if body.len() + chunk.len() > limit {
                    return Err(AppError::PayloadTooLarge { limit });
                }
                body.extend_from_slice(&chunk);
            }
            parse_json(&body).map(Json)
        })
    }
}

fn is_json_content_type(req: &HttpRequest) -> bool {
    match req.mime_type() {
        Ok(Some(mime)) => {
            mime.type_() == "application"
                && (mime.subtype() == "json" || mime.suffix().is_some_and(|s| s == "json"))
        }
        _ => false,
    }
}

/// Parses a JSON body into `T`, mapping each failure to the right problem.
pub fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, AppError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(AppError::BadRequest {
            code: "malformed_json",
            detail: "The request body is empty; send a JSON object.".into(),
        });
    }
    // Parse to a tree first: a syntax error is a 400, and strings can be
    // checked for NUL (which PostgreSQL cannot store) before typing.
    let value: serde_json::Value = serde_json::from_slice(body).map_err(|e| AppError::BadRequest {
        code: "malformed_json",
        detail: format!("The body is not valid JSON: {e}."),
    })?;
    if !value.is_object() {
        return Err(AppError::field("body", "must be a JSON object"));
    }
    if let Some(path) = find_nul(&value, String::new()) {
        return Err(AppError::field(
            display_path(&path),
            "must not contain NUL characters",
        ));
    }
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let message = e.inner().to_string();
        field_error(&path, &message)
    })
}

/// Turns a serde error at `path` into a field error. Unknown fields are named
/// by serde only in the message, so they are pulled out of it.
pub(super) fn field_error(path: &str, message: &str) -> AppError {
    if let Some(rest) = message.strip_prefix("unknown field `")
        && let Some((name, _)) = rest.split_once('`')
    {
        // serde_path_to_error's path already ends with the unknown key.
        let field = if path == "." || path.is_empty() {
            name.to_string()
        } else {
            display_path(path)
        };
        return AppError::field(field, "is not a known field");
    }
    if let Some(rest) = message.strip_prefix("missing field `")
        && let Some((name, _)) = rest.split_once('`')
    {
        let field = if path == "." || path.is_empty() {
            name.to_string()
        } else {
            format!("{}.{name}", display_path(path))
        };
        return AppError::field(field, "is required");
    }
    let field = if path == "." || path.is_empty() {
        "body".to_string()
    } else {
        display_path(path)
    };
    AppError::field(field, message.to_string())
}

fn display_path(path: &str) -> String {
    path.trim_start_matches('.').to_string()
}

fn find_nul(value: &serde_json::Value, path: String) -> Option<String> {
    match value {
        serde_json::Value::String(s) if s.contains('\0') => {
            Some(if path.is_empty() { "body".into() } else { path })
        }
        serde_json::Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, v)| find_nul(v, format!("{path}[{i}]"))),
        serde_json::Value::Object(map) => map.iter().find_map(|(k, v)| {
            if k.contains('\0') {
                return Some(if path.is_empty() {
                    "body".into()
                } else {
                    path.clone()
                });
            }
            let child = if path.is_empty() {
                k.clone()
            } else {
                format!("{path}.{k}")
            };
            find_nul(v, child)
        }),
        _ => None,
    }
}

/// The `{slug}` of a public path, if it could name anything. A value that
/// breaks the slug grammar (traversal, NUL, invisible or look-alike
/// characters, upper case, over-long) is a 404 at once: no database round
/// trip, and PostgreSQL is never sent a NUL it would fail on.
pub fn known_slug(slug: String) -> Result<String, AppError> {
    match crate::domain::slug::validate(&slug) {
        Ok(()) => Ok(slug),
        Err(_) => Err(AppError::not_found(
            "No resource has this slug; slugs are lowercase letters, digits and hyphens.",
        )),
    }
}

/// The query of a route that reads none. Any parameter is refused with the
/// same `422` as an unknown list parameter: otherwise `?x=1`, `?x=2`, ...
/// would each be answered (and kept by the response cache) as a new page.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoParams {}

/// Middleware for every editor route: a missing, malformed, expired or
/// foreign token, or an editor that no longer exists or was deactivated, is
/// `401` with `WWW-Authenticate: Bearer` before any handler (or body parsing)
/// runs; an API token without the route's scope (`http::scopes`) is `403
/// insufficient_scope`, as early.
pub async fn authenticate(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody + 'static>, actix_web::Error> {
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
        return Ok(req
            .error_response(AppError::internal("application state missing"))
            .map_into_right_body());
    };
    let authenticated = authenticate_header(&state, req.headers().get(header::AUTHORIZATION))
        .await
        .and_then(|editor| {
            crate::http::scopes::check(&editor, req.method().as_str(), req.match_info().as_str())?;
            Ok(editor)
        });
    match authenticated {
        Ok(editor) => {
            req.extensions_mut().insert(editor);
            next.call(req).await.map(ServiceResponse::map_into_left_body)
        }
        // Answered here as a response, not passed up as an error, so the
        // outer middleware (security headers, CORS) still applies to it.
        Err(error) => Ok(req.error_response(error).map_into_right_body()),
    }
}

pub async fn authenticate_header(
    state: &AppState,
    header_value: Option<&header::HeaderValue>,
) -> Result<CurrentEditor, AppError> {
    let value = header_value.ok_or_else(|| {
        AppError::Unauthorized(
            "This route needs `Authorization: Bearer <access token>`; get one from POST /api/v1/auth/login."
                .into(),
        )
    })?;
    let token = value
        .to_str()
        .ok()
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim().to_string())
        .filter(|token| !token.is_empty())
        .ok_or_else(|| {
            AppError::Unauthorized("The Authorization header must be `Bearer <access token>`.".into())
        })?;
    if crate::domain::api_token::looks_like_api_token(&token) {
        crate::service::tokens::authenticate(&state.db, &token).await
    } else {
        crate::auth::session::authenticate(&state.db, &state.jwt, &token).await
    }
}

/// The lowest role a route accepts; declared in the handler's signature as
/// `Auth<guard::Editor>`.
pub trait MinRole {
    const ROLE: Role;
}

pub mod guard {
    use super::{MinRole, Role};

    /// Any signed-in editor (admin, editor or author).
    pub struct Author;
    /// Editors and admins.
    pub struct Editor;
    /// Admins only.
    pub struct Admin;

    impl MinRole for Author {
        const ROLE: Role = Role::Author;
    }
    impl MinRole for Editor {
        const ROLE: Role = Role::Editor;
    }
    impl MinRole for Admin {
        const ROLE: Role = Role::Admin;
    }
}

/// The signed-in editor, holding at least role `R`.
pub struct Auth<R: MinRole> {
    pub editor: CurrentEditor,
    _role: PhantomData<R>,
}

impl<R: MinRole> std::ops::Deref for Auth<R> {
    type Target = CurrentEditor;
    fn deref(&self) -> &CurrentEditor {
        &self.editor
    }
}

impl<R: MinRole> FromRequest for Auth<R> {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Self, AppError>>;

    /// Uses the editor [`authenticate`] stored for this request; on a route
    /// outside the guarded scope (`/auth/…`) it authenticates by itself,
    /// and checks an API token's access to the route (`http::scopes`).
    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let known = req.extensions().get::<CurrentEditor>().cloned();
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let header_value = req.headers().get(header::AUTHORIZATION).cloned();
        let method = req.method().clone();
        let path = req.match_info().as_str().to_string();
        Box::pin(async move {
            let editor = match (known, state) {
                (Some(editor), _) => editor,
                (None, Some(state)) => {
                    let editor = authenticate_header(&state, header_value.as_ref()).await?;
                    crate::http::scopes::check(&editor, method.as_str(), &path)?;
                    editor
                }
                (None, None) => return Err(AppError::internal("application state missing")),
            };
            if !editor.role.includes(R::ROLE) {
                return Err(AppError::forbidden(format!(
                    "This needs the {} role or higher; you are {}.",
                    R::ROLE.as_str(),
                    editor.role.as_str()
                )));
            }
            Ok(Auth {
                editor,
                _role: PhantomData,
            })
        })
    }
}

/// Collects field errors; `finish` turns a non-empty list into a 422.
#[derive(Default)]
pub struct Errors(pub Vec<FieldError>);

impl Errors {
    pub fn finish(self) -> Result<(), AppError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(AppError::Validation(self.0))
        }
    }
}

/// For PATCH fields where `null` means "clear" and absence means "keep":
/// absent → `None`, `null` → `Some(None)`, value → `Some(Some(v))`.
pub fn double_option<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    <Option<T> as serde::Deserialize>::deserialize(deserializer).map(Some)
}

/// For a PATCH field that cannot be null: absent keeps the value (with
/// `#[serde(default)]`), a value sets it, and an explicit `null` is a 422
/// naming the field, instead of being read as "absent" and ignored.
pub fn not_null<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    match <Option<T> as serde::Deserialize>::deserialize(deserializer)? {
        Some(value) => Ok(Some(value)),
        None => Err(serde::de::Error::custom(
            "must not be null (leave it out to keep the current value)",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        title: String,
        count: Option<u32>,
    }

    fn field_of(e: AppError) -> (String, String) {
        match e {
            AppError::Validation(errors) => (errors[0].field.clone(), errors[0].message.clone()),
            other => panic!("expected validation error, got {other:?}"),
        }
    }

    #[test]
    fn json_errors_name_the_field() {
        assert!(parse_json::<Body>(br#"{"title":"x"}"#).is_ok());
        assert_eq!(
            field_of(parse_json::<Body>(br#"{"title":"x","extra":1}"#).unwrap_err()).0,
            "extra"
        );
        assert_eq!(
            field_of(parse_json::<Body>(br#"{"count":1}"#).unwrap_err()).0,
            "title"
        );
        assert_eq!(
            field_of(parse_json::<Body>(br#"{"title":"x","count":"many"}"#).unwrap_err()).0,
            "count"
        );
        assert_eq!(
            field_of(parse_json::<Body>(br#"{"title":"a\u0000b"}"#).unwrap_err()).0,
            "title"
        );
        assert_eq!(field_of(parse_json::<Body>(br#"[1,2]"#).unwrap_err()).0, "body");
    }

    #[test]
    fn syntax_errors_are_bad_requests() {
        for body in [&b"{"[..], b"", b"   ", b"{\"title\": }", b"\xff\xfe"] {
            match parse_json::<Body>(body) {
                Err(AppError::BadRequest { code, .. }) => assert_eq!(code, "malformed_json"),
                other => panic!("{body:?}: {other:?}"),
            }
        }
        let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        assert!(matches!(
            parse_json::<Body>(deep.as_bytes()),
            Err(AppError::BadRequest { .. })
        ));
    }
}
