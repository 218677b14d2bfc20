//! `/api/v1/auth`: sign in, rotate tokens, sign out, who am I.

use actix_web::{HttpRequest, HttpResponse, get, post, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::session::{self, Issued};
use crate::db;
use crate::error::AppError;
use crate::http::editors::EditorResponse;
use crate::http::extract::{Auth, Json, guard};
use crate::http::limits::client_ip;
use crate::http::no_store;
use crate::state::AppState;

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
/// with `Retry-After` for a growing time.
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
    state
        .limits
        .login
        .check(client_ip(&req, &state.config.trusted_proxies))?;
    let LoginRequest { email, password } = body.0;
    let issued = session::login(&state, email, password).await?;
    Ok(no_store(HttpResponse::Ok()).json(TokenResponse::from(issued)))
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
    let issued = session::refresh(&state, body.0.refresh_token).await?;
    Ok(no_store(HttpResponse::Ok()).json(TokenResponse::from(issued)))
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
    session::logout(&state, body.0.refresh_token).await?;
    Ok(no_store(HttpResponse::NoContent()).finish())
}

/// The signed-in editor
///
/// Who the access token belongs to, with their role: what an editing app
/// shows in its corner and uses to decide which screens to offer.
#[utoipa::path(
    operation_id = "getMe",
    tag = "auth",
    security(("bearerAuth" = [])),
    responses(
        (status = 200, description = "The editor the access token belongs to.", body = EditorResponse,
         headers(("Cache-Control" = String))),
    )
)]
#[get("/auth/me")]
pub async fn me(state: web::Data<AppState>, auth: Auth<guard::Author>) -> Result<HttpResponse, AppError> {
    let id = auth.id;
    let editor = state
        .db
        .read(move |conn| Ok(db::editors::find(conn, id)?))
        .await?
        .ok_or_else(|| AppError::Unauthorized("The editor no longer exists.".into()))?;
    Ok(no_store(HttpResponse::Ok()).json(EditorResponse::from(editor)))
}
