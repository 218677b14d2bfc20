//! `/api/v1/auth`: sign in, rotate tokens, sign out, who am I and my
//! profile, change or reset a password. Handlers call the use cases in
//! `auth` and `service`.

use actix_web::{HttpRequest, HttpResponse, get, patch, post, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::backoff::Backoff;
use crate::auth::credentials;
use crate::auth::session::{self, Credentials, Issued, Issuer};
use crate::error::AppError;
use crate::http::authors::{ProfileFields, SocialRequest, validate_profile};
use crate::http::conditional::{self, CachePolicy, NoStore};
use crate::http::editors::EditorResponse;
use crate::http::extract::{Auth, Errors, Json, guard};
use crate::service;
use crate::state::AppState;

fn issuer(state: &AppState) -> Issuer<'_> {
    Issuer {
        jwt: &state.jwt,
        refresh_ttl: state.config.refresh_token_ttl,
    }
}

/// Credentials of an editor.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"email": "admin@example.com", "password": "correct horse battery staple"}))]
pub struct LoginRequest {
    /// The editor's email address (case does not matter).
    pub email: String,
    /// The editor's password.
    #[schema(format = Password)]
    pub password: String,
    /// Optional: the refresh token this client holds from an earlier
    /// sign-in of the same editor. While it is live, the sign-in is not held
    /// by the per-address backoff (a wrong password then revokes that
    /// token's sign-in instead).
    #[serde(default)]
    pub refresh_token: Option<String>,
}

/// A change of the signed-in editor's own password.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"current_password": "correct horse battery staple", "new_password": "a new long passphrase"}))]
pub struct ChangePasswordRequest {
    /// The password the editor signs in with now.
    #[schema(format = Password)]
    pub current_password: String,
    /// 12–256 characters, not one character repeated.
    #[schema(min_length = 12, max_length = 256, format = Password)]
    pub new_password: String,
}

/// A new password set with a reset token from an admin.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"reset_token": "Zm9vYmFyYmF6cXV4cXV1eGNvcmdlZ3JhdWx0Z2FycGx5", "new_password": "a new long passphrase"}))]
pub struct ResetPasswordRequest {
    /// The single-use token from `POST /admin/editors/{id}/password-reset`.
    pub reset_token: String,
    /// 12–256 characters, not one character repeated.
    #[schema(min_length = 12, max_length = 256, format = Password)]
    pub new_password: String,
}

/// Changes to the signed-in editor's own public profile; omitted fields
/// stay as they are, `null` clears one (but `name`).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "bio": "Marta writes about cities, transport and the people who run them.",
    "avatar_url": "https://broadsheet.test/avatars/marta-okafor.jpg",
    "website": null,
    "social": {"mastodon": "@marta@mastodon.social"}
}))]
pub struct UpdateMeRequest {
    /// Display name, 1–100 characters; cannot be `null`.
    #[serde(default, deserialize_with = "crate::http::extract::double_option")]
    #[schema(value_type = String, min_length = 1, max_length = 100)]
    pub name: Option<Option<String>>,
    /// Up to 2,000 characters; `null` clears it.
    #[serde(default, deserialize_with = "crate::http::extract::double_option")]
    #[schema(value_type = Option<String>, max_length = 2000)]
    pub bio: Option<Option<String>>,
    /// Your picture: an absolute http(s) URL, at most 2,048 characters;
    /// `null` clears it.
    #[serde(default, deserialize_with = "crate::http::extract::double_option")]
    #[schema(value_type = Option<String>, max_length = 2048)]
    pub avatar_url: Option<Option<String>>,
    /// Your own site: an absolute http(s) URL, at most 2,048 characters;
    /// `null` clears it.
    #[serde(default, deserialize_with = "crate::http::extract::double_option")]
    #[schema(value_type = Option<String>, max_length = 2048)]
    pub website: Option<Option<String>>,
    /// Social handles to change; `null` clears all three.
    #[serde(default, deserialize_with = "crate::http::extract::double_option")]
    #[schema(value_type = Option<SocialRequest>)]
    pub social: Option<Option<SocialRequest>>,
}

/// A refresh token, to rotate or revoke.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"refresh_token": "3q2-7wAAAAB2Yk1xZ0xqRkJ0cGZ0b2tlbg"}))]
pub struct RefreshRequest {
    /// The refresh token from the last login or refresh.
    pub refresh_token: String,
}

/// A new token pair.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "access_token": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxIn0.sig",
    "token_type": "Bearer",
    "expires_in": 900,
    "refresh_token": "3q2-7wAAAAB2Yk1xZ0xqRkJ0cGZ0b2tlbg",
    "refresh_expires_in": 2592000
}))]
pub struct TokenResponse {
    /// Send as `Authorization: Bearer <access_token>` on editor routes.
    pub access_token: String,
    /// Always `Bearer`.
    #[schema(value_type = String, pattern = "^Bearer$", example = "Bearer")]
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: u64,
    /// Single-use: trade it at `/auth/refresh` for a new pair. Using it a
    /// second time revokes every token of this sign-in.
    pub refresh_token: String,
    /// Seconds until the refresh token expires.
    pub refresh_expires_in: u64,
}

impl From<Issued> for TokenResponse {
    fn from(i: Issued) -> Self {
        TokenResponse {
            access_token: i.access_token,
            token_type: "Bearer",
            expires_in: i.expires_in,
            refresh_token: i.refresh_token,
            refresh_expires_in: i.refresh_expires_in,
        }
    }
}

/// Sign in
///
/// Trades an editor's email and password for an access token (a short-lived
/// JWT) and a refresh token. Limited per client IP (`RATE_LIMIT_LOGIN_PER_MINUTE`);
/// after `LOGIN_BACKOFF_AFTER_FAILURES` failures in a row for one email
/// address (with or without an account) further attempts for it get `429`
/// with `Retry-After` for a growing time. A client that sends the live
/// refresh token of an earlier sign-in of the same editor is not held by
/// that backoff.
#[utoipa::path(
    operation_id = "login",
    tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Signed in.", body = TokenResponse, headers(("Cache-Control" = String))),
        (status = 401, response = crate::http::openapi::Unauthorized),
        (status = 429, response = crate::http::openapi::RateLimited),
    )
)]
#[post("/auth/login")]
pub async fn login(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: Json<LoginRequest>,
) -> Result<HttpResponse, AppError> {
    crate::http::client::limit(&req, &state.limits.login, &state.config.trusted_proxies).await?;
    let LoginRequest {
        email,
        password,
        refresh_token,
    } = body.0;
    let credentials = Credentials {
        email,
        password,
        refresh_token,
    };
    let issued = session::login(
        &state.db,
        issuer(&state),
        Backoff::from_config(&state.config),
        || state.metrics.password_verified(),
        credentials,
    )
    .await?;
    Ok(HttpResponse::Ok().no_store().json(TokenResponse::from(issued)))
}

/// Rotate tokens
///
/// Spends a refresh token and returns a new pair. The old refresh token
/// stops working; presenting it again revokes the whole sign-in.
#[utoipa::path(
    operation_id = "refreshToken",
    tag = "auth",
    request_body = RefreshRequest,
    responses(
        (status = 200, description = "A new token pair.", body = TokenResponse, headers(("Cache-Control" = String))),
        (status = 401, response = crate::http::openapi::Unauthorized),
    )
)]
#[post("/auth/refresh")]
pub async fn refresh(
    state: web::Data<AppState>,
    body: Json<RefreshRequest>,
) -> Result<HttpResponse, AppError> {
    let issued = session::refresh(&state.db, issuer(&state), body.0.refresh_token).await?;
    Ok(HttpResponse::Ok().no_store().json(TokenResponse::from(issued)))
}

/// Sign out
///
/// Revokes the refresh token and every token rotated from the same sign-in.
/// Access tokens already issued stay valid until they expire (minutes).
#[utoipa::path(
    operation_id = "logout",
    tag = "auth",
    request_body = RefreshRequest,
    responses(
        (status = 204, description = "Signed out (also when the token was unknown)."),
    )
)]
#[post("/auth/logout")]
pub async fn logout(
    state: web::Data<AppState>,
    body: Json<RefreshRequest>,
) -> Result<HttpResponse, AppError> {
    session::logout(&state.db, body.0.refresh_token).await?;
    Ok(HttpResponse::NoContent().no_store().finish())
}

/// The signed-in editor
///
/// Who the access token belongs to, with their role and profile: what an
/// editing app shows in its corner and uses to decide which screens to
/// offer. The `ETag` is what `If-Match` on `PATCH /auth/me` expects.
#[utoipa::path(
    operation_id = "getMe",
    tag = "auth",
    security(("bearerAuth" = [])),
    responses(
        (status = 200, description = "The editor the access token belongs to.", body = EditorResponse,
         headers(("ETag" = String, description = "Send as `If-Match` on PATCH."), ("Cache-Control" = String))),
        (status = 304, response = crate::http::openapi::NotModified),
    )
)]
#[get("/auth/me")]
pub async fn me(
    state: web::Data<AppState>,
    req: HttpRequest,
    auth: Auth<guard::Author>,
) -> Result<HttpResponse, AppError> {
    let editor = service::editors::get(&state.db, auth.id)
        .await?
        .ok_or_else(|| AppError::Unauthorized("The editor no longer exists.".into()))?;
    conditional::json_ok(&req, &EditorResponse::from(editor), CachePolicy::NoStore)
}

/// Update your profile
///
/// The signed-in editor (any role) changes their own public profile: name,
/// bio, picture, website and social handles, shown on the author routes
/// once they have published and (name and picture) on their articles, at
/// once. Email, role and password are not changed here. Send the `ETag` of
/// `GET /auth/me` as `If-Match` to get 412 instead of overwriting a change
/// made meanwhile.
#[utoipa::path(
    operation_id = "updateMe",
    tag = "authors",
    security(("bearerAuth" = [])),
    params(
        ("If-Match" = Option<String>, Header, description = "ETag from the last GET; 412 when stale.",
         example = "\"9f2c1a7b3d4e5f60\""),
    ),
    request_body = UpdateMeRequest,
    responses(
        (status = 200, description = "Updated.", body = EditorResponse,
         headers(("ETag" = String, description = "The new ETag, for the next `If-Match`."), ("Cache-Control" = String))),
        (status = 412, response = crate::http::openapi::PreconditionFailed),
    )
)]
#[patch("/auth/me")]
pub async fn update_me(
    state: web::Data<AppState>,
    req: HttpRequest,
    auth: Auth<guard::Author>,
    body: Json<UpdateMeRequest>,
) -> Result<HttpResponse, AppError> {
    let body = body.0;
    let mut errors = Errors::default();
    let fields = ProfileFields {
        name: body.name,
        bio: body.bio,
        avatar_url: body.avatar_url,
        website: body.website,
        social: body.social,
    };
    let profile = validate_profile(fields, &mut errors.0);
    errors.finish()?;
    let if_match = conditional::if_match(&req);
    let row = service::editors::update_own_profile(&state.db, auth.id, profile, move |current| {
        let etag = conditional::etag_of_json(&EditorResponse::from(current.clone()))?;
        conditional::check_if_match(if_match.as_deref(), &etag)
    })
    .await?;
    conditional::json_ok(&req, &EditorResponse::from(row), CachePolicy::NoStore)
}

/// Change your password
///
/// The signed-in editor sets a new password, giving the current one (which
/// counts toward the sign-in backoff of their address like a sign-in).
/// Every refresh token of the editor is revoked, so every other session
/// ends at its next refresh; this client gets a new token pair. Access
/// tokens already issued stay valid until they expire (minutes).
#[utoipa::path(
    operation_id = "changePassword",
    tag = "auth",
    security(("bearerAuth" = [])),
    request_body = ChangePasswordRequest,
    responses(
        (status = 200, description = "Changed; a new token pair for this client.", body = TokenResponse,
         headers(("Cache-Control" = String))),
        (status = 429, response = crate::http::openapi::RateLimited),
    )
)]
#[post("/auth/password")]
pub async fn change_password(
    state: web::Data<AppState>,
    auth: Auth<guard::Author>,
    body: Json<ChangePasswordRequest>,
) -> Result<HttpResponse, AppError> {
    let ChangePasswordRequest {
        current_password,
        new_password,
    } = body.0;
    let issued = credentials::change_password(
        &state.db,
        issuer(&state),
        Backoff::from_config(&state.config),
        || state.metrics.password_verified(),
        auth.id,
        current_password,
        new_password,
    )
    .await?;
    Ok(HttpResponse::Ok().no_store().json(TokenResponse::from(issued)))
}

/// Reset a password
///
/// Sets a new password with a single-use reset token that an admin issued.
/// The token is spent; every session of the editor ends and the sign-in
/// backoff of their address is lifted. Limited per client IP like sign-in
/// (`RATE_LIMIT_LOGIN_PER_MINUTE`).
#[utoipa::path(
    operation_id = "resetPassword",
    tag = "auth",
    request_body = ResetPasswordRequest,
    responses(
        (status = 204, description = "The new password is set; sign in with it."),
        (status = 401, response = crate::http::openapi::Unauthorized),
        (status = 429, response = crate::http::openapi::RateLimited),
    )
)]
#[post("/auth/password-reset")]
pub async fn reset_password(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: Json<ResetPasswordRequest>,
) -> Result<HttpResponse, AppError> {
    crate::http::client::limit(&req, &state.limits.login, &state.config.trusted_proxies).await?;
    let ResetPasswordRequest {
        reset_token,
        new_password,
    } = body.0;
    credentials::reset_password(&state.db, reset_token, new_password).await?;
    Ok(HttpResponse::NoContent().no_store().finish())
}
