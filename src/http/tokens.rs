//! Personal API tokens: `/api/v1/auth/tokens` (an editor's own, with a
//! password session only) and `/api/v1/admin/tokens` (every editor's,
//! admins only). The secret is shown once, in the answer to the create.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, delete, get, post, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::domain::scope::{Scope, ScopeSet};
use crate::domain::{api_token, date, text};
use crate::error::{AppError, FieldError};
use crate::http::conditional::NoStore;
use crate::http::extract::{Auth, Errors, Json, guard};
use crate::http::pagination::{self, Paging, list_schema};
use crate::http::query::Query;
use crate::service::tokens::{self as service, ApiTokenRow, NewToken};
use crate::state::AppState;

/// A new API token.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "name": "nightly moderation script",
    "scopes": ["articles:read", "comments:moderate"],
    "expires_at": "2027-06-30T00:00:00Z"
}))]
pub struct CreateTokenRequest {
    /// What the token is for, 1–100 characters.
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
    /// At least one; never more than your role allows.
    #[schema(value_type = Vec<Scope>, min_items = 1)]
    pub scopes: Vec<String>,
    /// When the token stops working: in the future, at most 366 days
    /// ahead. Left out: it works until revoked.
    #[serde(default)]
    pub expires_at: Option<DateTime<Utc>>,
}

/// An API token (never its secret).
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": 3, "name": "nightly moderation script",
    "scopes": ["articles:read", "comments:moderate"], "prefix": "bst_q3JvYWRz",
    "created_at": "2026-12-07T09:30:00Z", "expires_at": "2027-06-30T00:00:00Z",
    "last_used_at": "2026-12-08T02:00:00Z"
}))]
pub struct ApiTokenResponse {
    pub id: i64,
    pub name: String,
    pub scopes: Vec<Scope>,
    /// `bst_` and the token's next 8 characters: enough to tell tokens
    /// apart, not to use one.
    pub prefix: String,
    pub created_at: DateTime<Utc>,
    /// `null`: works until revoked.
    #[schema(required = true)]
    pub expires_at: Option<DateTime<Utc>>,
    /// The last use, to the minute (`null`: never used).
    #[schema(required = true)]
    pub last_used_at: Option<DateTime<Utc>>,
}

impl From<ApiTokenRow> for ApiTokenResponse {
    fn from(row: ApiTokenRow) -> Self {
        ApiTokenResponse {
            id: row.id,
            name: row.name,
            scopes: row.scopes.iter().collect(),
            prefix: row.prefix,
            created_at: row.created_at.and_utc(),
            expires_at: row.expires_at.map(|t| t.and_utc()),
            last_used_at: row.last_used_at.map(|t| t.and_utc()),
        }
    }
}

/// A new API token: the secret, shown this once, and its details.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "token": "bst_q3JvYWRzaGVldC1hcGktdG9rZW4tZXhhbXBsZS0xMjM",
    "id": 3, "name": "nightly moderation script",
    "scopes": ["articles:read", "comments:moderate"], "prefix": "bst_q3JvYWRz",
    "created_at": "2026-12-07T09:30:00Z", "expires_at": "2027-06-30T00:00:00Z",
    "last_used_at": null
}))]
pub struct CreatedTokenResponse {
    /// The secret: `bst_` and 43 base64url characters. Send it as
    /// `Authorization: Bearer <token>`. Only its hash is stored: it cannot
    /// be shown again.
    #[schema(min_length = 47, max_length = 47, pattern = "^bst_[A-Za-z0-9_-]{43}$")]
    pub token: String,
    pub id: i64,
    pub name: String,
    pub scopes: Vec<Scope>,
    /// `bst_` and the token's next 8 characters.
    pub prefix: String,
    pub created_at: DateTime<Utc>,
    #[schema(required = true)]
    pub expires_at: Option<DateTime<Utc>>,
    /// Always `null` on a new token.
    #[schema(required = true)]
    pub last_used_at: Option<DateTime<Utc>>,
}

/// An API token with its editor, as admins see it (never its secret).
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": 3, "editor_id": 2, "editor_name": "Ada Byron", "name": "nightly moderation script",
    "scopes": ["articles:read", "comments:moderate"], "prefix": "bst_q3JvYWRz",
    "created_at": "2026-12-07T09:30:00Z", "expires_at": null, "last_used_at": null
}))]
pub struct AdminApiTokenResponse {
    pub id: i64,
    /// The editor the token acts as.
    pub editor_id: i64,
    pub editor_name: String,
    pub name: String,
    pub scopes: Vec<Scope>,
    /// `bst_` and the token's next 8 characters.
    pub prefix: String,
    pub created_at: DateTime<Utc>,
    #[schema(required = true)]
    pub expires_at: Option<DateTime<Utc>>,
    #[schema(required = true)]
    pub last_used_at: Option<DateTime<Utc>>,
}

impl AdminApiTokenResponse {
    fn new(row: ApiTokenRow, editor_name: String) -> Self {
        let token = ApiTokenResponse::from(row.clone());
        AdminApiTokenResponse {
            id: token.id,
            editor_id: row.editor_id,
            editor_name,
            name: token.name,
            scopes: token.scopes,
            prefix: token.prefix,
            created_at: token.created_at,
            expires_at: token.expires_at,
            last_used_at: token.last_used_at,
        }
    }
}

list_schema!(ApiTokenList, ApiTokenResponse, "A page of your API tokens.", {
    "data": [{
        "id": 3, "name": "nightly moderation script",
        "scopes": ["articles:read", "comments:moderate"], "prefix": "bst_q3JvYWRz",
        "created_at": "2026-12-07T09:30:00Z", "expires_at": null, "last_used_at": null
    }],
    "meta": {"page": 1, "per_page": 20, "total": 1, "total_pages": 1},
    "links": {"self": "/api/v1/auth/tokens", "next": null, "prev": null}
});

list_schema!(AdminApiTokenList, AdminApiTokenResponse, "A page of every editor's API tokens.", {
    "data": [{
        "id": 3, "editor_id": 2, "editor_name": "Ada Byron", "name": "nightly moderation script",
        "scopes": ["articles:read", "comments:moderate"], "prefix": "bst_q3JvYWRz",
        "created_at": "2026-12-07T09:30:00Z", "expires_at": null, "last_used_at": null
    }],
    "meta": {"page": 1, "per_page": 20, "total": 1, "total_pages": 1},
    "links": {"self": "/api/v1/admin/tokens", "next": null, "prev": null}
});

/// Paging of a token list (newest first).
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct TokenListParams {
    /// Page number, from 1.
    #[param(minimum = 1, maximum = 100000)]
    pub page: Option<u32>,
    /// Items per page, 1–100.
    #[param(minimum = 1, maximum = 100, default = 20)]
    pub per_page: Option<u32>,
}

impl TokenListParams {
    fn paging(&self) -> Result<Paging, AppError> {
        let mut errors = Errors::default();
        let paging = Paging::from_params(self.page, self.per_page, None, &mut errors.0);
        errors.finish()?;
        Ok(paging)
    }
}

fn validate_create(body: CreateTokenRequest) -> Result<NewToken, AppError> {
    let mut errors = Errors::default();
    let name = text::required("name", &body.name, 100, &mut errors.0);
    let mut scopes = ScopeSet::default();
    for value in &body.scopes {
        match Scope::parse(value) {
            Some(scope) => scopes.insert(scope),
            None => errors.0.push(FieldError::new(
                "scopes",
                format!("`{value}` is not a scope (see the Scope schema)"),
            )),
        }
    }
    if body.scopes.is_empty() {
        errors
            .0
            .push(FieldError::new("scopes", "must name at least one scope"));
    }
    let now = Utc::now();
    let expires_at = match body.expires_at.map(|t| date::check_utc("expires_at", t)) {
        Some(Err(e)) => {
            errors.0.push(e);
            None
        }
        Some(Ok(t)) if t <= now => {
            errors
                .0
                .push(FieldError::new("expires_at", "must be in the future"));
            None
        }
        Some(Ok(t)) if t > now + chrono::Duration::days(api_token::MAX_LIFETIME_DAYS) => {
            errors.0.push(FieldError::new(
                "expires_at",
                format!("must be at most {} days ahead", api_token::MAX_LIFETIME_DAYS),
            ));
            None
        }
        Some(Ok(t)) => Some(t.naive_utc()),
        None => None,
    };
    errors.finish()?;
    Ok(NewToken {
        name,
        scopes,
        expires_at,
    })
}

/// List your API tokens
///
/// The signed-in editor's API tokens that are not revoked (expired ones
/// included), newest first, with their scopes and last use; never the
/// secrets. Needs a password session: an API token cannot list tokens.
#[utoipa::path(
    operation_id = "listMyTokens",
    tag = "auth",
    security(("bearerAuth" = [])),
    params(TokenListParams),
    responses(
        (status = 200, description = "A page of your tokens, newest first.", body = ApiTokenList,
         headers(("Link" = String), ("Cache-Control" = String))),
    )
)]
#[get("/auth/tokens")]
pub async fn list_my_tokens(
    auth: Auth<guard::Author>,
    state: web::Data<AppState>,
    req: HttpRequest,
    params: Query<TokenListParams>,
) -> Result<HttpResponse, AppError> {
    let paging = params.0.paging()?;
    let (offset, limit) = (paging.offset(), paging.per_page() as i64);
    let (rows, total) = service::list_own(&state.db, auth.id, offset, limit).await?;
    let data: Vec<ApiTokenResponse> = rows.into_iter().map(ApiTokenResponse::from).collect();
    let body = pagination::page_of(&req, &paging, data, Some(total), None);
    let mut builder = HttpResponse::Ok();
    builder.no_store();
    Ok(pagination::list_response(builder, &body))
}

/// Create an API token
///
/// A long-lived credential for scripts: send it as `Authorization: Bearer
/// <token>` on editor routes instead of signing in. It can do what its
/// scopes name and your role allows, nothing more, and never manage
/// credentials (tokens, password, profile). The secret is in this answer
/// only. Scopes beyond your role, or none, are `422` naming `scopes`.
/// Needs a password session: an API token cannot make tokens.
#[utoipa::path(
    operation_id = "createToken",
    tag = "auth",
    security(("bearerAuth" = [])),
    request_body = CreateTokenRequest,
    responses(
        (status = 201, description = "The token (its secret is shown once).", body = CreatedTokenResponse,
         headers(
            ("Location" = String, description = "The token's address (`DELETE` revokes it)."),
            ("Cache-Control" = String)
         )),
    )
)]
#[post("/auth/tokens")]
pub async fn create_token(
    auth: Auth<guard::Author>,
    state: web::Data<AppState>,
    body: Json<CreateTokenRequest>,
) -> Result<HttpResponse, AppError> {
    let new = validate_create(body.0)?;
    let created = service::create(&state.db, auth.editor.clone(), new).await?;
    let row = ApiTokenResponse::from(created.row);
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, format!("/api/v1/auth/tokens/{}", row.id)))
        .no_store()
        .json(CreatedTokenResponse {
            token: created.token,
            id: row.id,
            name: row.name,
            scopes: row.scopes,
            prefix: row.prefix,
            created_at: row.created_at,
            expires_at: row.expires_at,
            last_used_at: row.last_used_at,
        }))
}

/// Revoke one of your API tokens
///
/// The token stops working at once. Another editor's token, or one already
/// revoked, is `404`. Needs a password session.
#[utoipa::path(
    operation_id = "revokeMyToken",
    tag = "auth",
    security(("bearerAuth" = [])),
    params(("id" = i64, Path, description = "Token id.", minimum = 1, example = 3)),
    responses(
        (status = 204, description = "Revoked."),
    )
)]
#[delete("/auth/tokens/{id}")]
pub async fn revoke_my_token(
    auth: Auth<guard::Author>,
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    service::revoke(&state.db, id.into_inner(), Some(auth.id)).await?;
    Ok(HttpResponse::NoContent().no_store().finish())
}

/// List every API token
///
/// Admins only: every editor's unrevoked tokens, newest first, with the
/// editor they act as; never the secrets.
#[utoipa::path(
    operation_id = "listAllTokens",
    tag = "admin-tokens",
    security(("bearerAuth" = [])),
    params(TokenListParams),
    responses(
        (status = 200, description = "A page of tokens, newest first.", body = AdminApiTokenList,
         headers(("Link" = String), ("Cache-Control" = String))),
    )
)]
#[get("/tokens")]
pub async fn list_all_tokens(
    _auth: Auth<guard::Admin>,
    state: web::Data<AppState>,
    req: HttpRequest,
    params: Query<TokenListParams>,
) -> Result<HttpResponse, AppError> {
    let paging = params.0.paging()?;
    let (offset, limit) = (paging.offset(), paging.per_page() as i64);
    let (rows, total) = service::list_all(&state.db, offset, limit).await?;
    let data: Vec<AdminApiTokenResponse> = rows
        .into_iter()
        .map(|(row, editor_name)| AdminApiTokenResponse::new(row, editor_name))
        .collect();
    let body = pagination::page_of(&req, &paging, data, Some(total), None);
    let mut builder = HttpResponse::Ok();
    builder.no_store();
    Ok(pagination::list_response(builder, &body))
}

/// Revoke any API token
///
/// Admins only: the token stops working at once, whoever it belongs to.
/// An unknown or already revoked id is `404`.
#[utoipa::path(
    operation_id = "revokeToken",
    tag = "admin-tokens",
    security(("bearerAuth" = [])),
    params(("id" = i64, Path, description = "Token id.", minimum = 1, example = 3)),
    responses(
        (status = 204, description = "Revoked."),
    )
)]
#[delete("/tokens/{id}")]
pub async fn revoke_token(
    _auth: Auth<guard::Admin>,
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    service::revoke(&state.db, id.into_inner(), None).await?;
    Ok(HttpResponse::NoContent().no_store().finish())
}
