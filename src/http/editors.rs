//! `/api/v1/admin/editors`: editor accounts, admins only.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, delete, get, patch, post, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::credentials;
use crate::domain::password;
use crate::domain::{Role, slug, text};
use crate::error::AppError;
use crate::http::authors::{ProfileFields, SocialHandles, SocialRequest, validate_profile};
use crate::http::conditional::{self, CachePolicy, NoStore};
use crate::http::extract::{Auth, Errors, Json, Query, guard};
use crate::http::pagination::list_schema;
use crate::http::pagination::{self, Paging};
use crate::service::editors::{self as service, EditorPatch, EditorRow, NewEditorInput};
use crate::state::AppState;

/// An editor account. The email and role are shown on editor routes only;
/// the profile (name, bio, avatar, website, social handles) is public on
/// the author routes once the editor has published.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": 1, "email": "ada@example.com", "name": "Ada Byron", "slug": "ada-byron",
    "bio": "Opinion editor.", "avatar_url": "https://broadsheet.test/avatars/ada-byron.jpg",
    "website": null, "social": {"twitter": "adabyron", "bluesky": null, "mastodon": null},
    "role": "editor", "active": true,
    "created_at": "2026-11-24T09:30:00Z"
}))]
pub struct EditorResponse {
    pub id: i64,
    pub email: String,
    pub name: String,
    /// Public address of the editor's author page.
    pub slug: String,
    #[schema(required = true)]
    pub bio: Option<String>,
    /// The editor's picture: an absolute http(s) URL.
    #[schema(required = true)]
    pub avatar_url: Option<String>,
    /// The editor's own site: an absolute http(s) URL.
    #[schema(required = true)]
    pub website: Option<String>,
    pub social: SocialHandles,
    pub role: Role,
    /// A deactivated editor cannot sign in; existing tokens stop working.
    pub active: bool,
    pub created_at: DateTime<Utc>,
}

impl From<EditorRow> for EditorResponse {
    fn from(row: EditorRow) -> Self {
        EditorResponse {
            id: row.id,
            email: row.email,
            name: row.name,
            slug: row.slug,
            bio: row.bio,
            avatar_url: row.avatar_url,
            website: row.website,
            social: SocialHandles {
                twitter: row.twitter,
                bluesky: row.bluesky,
                mastodon: row.mastodon,
            },
            role: row.role,
            active: row.active,
            created_at: row.created_at.and_utc(),
        }
    }
}

list_schema!(EditorList, EditorResponse, "A page of editors.", {
    "data": [{
        "id": 1, "email": "ada@example.com", "name": "Ada Byron", "slug": "ada-byron",
        "bio": "Opinion editor.", "avatar_url": null, "website": null,
        "social": {"twitter": null, "bluesky": null, "mastodon": null},
        "role": "editor", "active": true,
        "created_at": "2026-11-24T09:30:00Z"
    }],
    "meta": {"page": 1, "per_page": 20, "total": 1, "total_pages": 1},
    "links": {"self": "/api/v1/admin/editors", "next": null, "prev": null}
});

/// A new editor account.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "email": "ada@example.com", "name": "Ada Byron", "role": "editor",
    "password": "a long passphrase of words"
}))]
pub struct CreateEditorRequest {
    /// Unique; compared case-insensitively.
    #[schema(format = Email, max_length = 254)]
    pub email: String,
    /// Display name, 1–100 characters.
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
    /// 12–256 characters, not one character repeated.
    #[schema(min_length = 12, max_length = 256, format = Password)]
    pub password: String,
    pub role: Role,
    /// Up to 2,000 characters.
    #[schema(max_length = 2000)]
    pub bio: Option<String>,
    /// Address of the author page; made from the name when left out.
    #[schema(pattern = "^[a-z0-9]+(-[a-z0-9]+)*$", max_length = 120)]
    pub slug: Option<String>,
}

/// Changes to an editor; omitted fields stay as they are, `null` clears a
/// profile field (but `name`).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"role": "admin"}))]
pub struct UpdateEditorRequest {
    /// Unique; compared case-insensitively.
    #[schema(format = Email, max_length = 254)]
    #[serde(default, deserialize_with = "crate::http::extract::not_null")]
    #[schema(nullable = false)]
    pub email: Option<String>,
    /// Display name, 1–100 characters; cannot be `null`.
    #[serde(default, deserialize_with = "crate::http::extract::double_option")]
    #[schema(value_type = String, min_length = 1, max_length = 100)]
    pub name: Option<Option<String>>,
    /// Up to 2,000 characters; `null` clears the bio.
    #[serde(default, deserialize_with = "crate::http::extract::double_option")]
    #[schema(value_type = Option<String>, max_length = 2000)]
    pub bio: Option<Option<String>>,
    /// The editor's picture: an absolute http(s) URL, at most 2,048
    /// characters; `null` clears it.
    #[serde(default, deserialize_with = "crate::http::extract::double_option")]
    #[schema(value_type = Option<String>, max_length = 2048)]
    pub avatar_url: Option<Option<String>>,
    /// The editor's own site: an absolute http(s) URL, at most 2,048
    /// characters; `null` clears it.
    #[serde(default, deserialize_with = "crate::http::extract::double_option")]
    #[schema(value_type = Option<String>, max_length = 2048)]
    pub website: Option<Option<String>>,
    /// Social handles to change; `null` clears all three.
    #[serde(default, deserialize_with = "crate::http::extract::double_option")]
    #[schema(value_type = Option<SocialRequest>)]
    pub social: Option<Option<SocialRequest>>,
    /// A new role; the last active admin cannot be demoted (409).
    #[serde(default, deserialize_with = "crate::http::extract::not_null")]
    #[schema(nullable = false)]
    pub role: Option<Role>,
    /// `false` disables sign-in and revokes the editor's refresh tokens.
    #[serde(default, deserialize_with = "crate::http::extract::not_null")]
    #[schema(nullable = false)]
    pub active: Option<bool>,
    /// A new password (12–256 characters); revokes refresh tokens.
    #[schema(min_length = 12, max_length = 256, format = Password)]
    #[serde(default, deserialize_with = "crate::http::extract::not_null")]
    #[schema(nullable = false)]
    pub password: Option<String>,
}

/// A single-use password reset token, shown once.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "reset_token": "Zm9vYmFyYmF6cXV4cXV1eGNvcmdlZ3JhdWx0Z2FycGx5",
    "expires_at": "2026-12-07T09:30:00Z"
}))]
pub struct PasswordResetResponse {
    /// Give it to the editor through a channel you trust; they send it to
    /// `POST /auth/password-reset` with a new password. Only a hash is
    /// stored, so it cannot be shown again.
    pub reset_token: String,
    /// When the token stops working (24 hours after issue).
    pub expires_at: DateTime<Utc>,
}

/// Paging of the editor list (oldest first).
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct EditorListParams {
    /// Page number, from 1.
    #[param(minimum = 1, maximum = 100000)]
    pub page: Option<u32>,
    /// Items per page, 1–100.
    #[param(minimum = 1, maximum = 100, default = 20)]
    pub per_page: Option<u32>,
}

fn validate_create(body: CreateEditorRequest) -> Result<NewEditorInput, AppError> {
    let mut errors = Errors::default();
    let email = text::email("email", &body.email, &mut errors.0);
    let name = text::required("name", &body.name, 100, &mut errors.0);
    let bio = text::optional("bio", body.bio.as_deref(), 2000, &mut errors.0);
    if let Err(e) = password::check_rules(&body.password) {
        errors.0.push(crate::error::FieldError::new("password", e));
    }
    if let Some(s) = &body.slug
        && let Err(e) = slug::validate(s)
    {
        errors.0.push(crate::error::FieldError::new("slug", e));
    }
    errors.finish()?;
    Ok(NewEditorInput {
        email,
        name,
        slug: body.slug,
        bio,
        role: body.role,
        password: body.password,
    })
}

fn validate_update(body: UpdateEditorRequest) -> Result<EditorPatch, AppError> {
    let mut errors = Errors::default();
    let profile = ProfileFields {
        name: body.name,
        bio: body.bio,
        avatar_url: body.avatar_url,
        website: body.website,
        social: body.social,
    };
    let patch = EditorPatch {
        email: body.email.map(|e| text::email("email", &e, &mut errors.0)),
        profile: validate_profile(profile, &mut errors.0),
        role: body.role,
        active: body.active,
        password: body.password,
    };
    if let Some(p) = &patch.password
        && let Err(e) = password::check_rules(p)
    {
        errors.0.push(crate::error::FieldError::new("password", e));
    }
    errors.finish()?;
    Ok(patch)
}

/// List editors
///
/// Every editor account, active or not, oldest first. Admins only.
#[utoipa::path(
    operation_id = "listEditors",
    tag = "admin-editors",
    security(("bearerAuth" = [])),
    params(EditorListParams),
    responses(
        (status = 200, description = "A page of editors, oldest first.", body = EditorList,
         headers(("Link" = String), ("Cache-Control" = String))),
    )
)]
#[get("/editors")]
pub async fn list_editors(
    _auth: Auth<guard::Admin>,
    state: web::Data<AppState>,
    req: HttpRequest,
    params: Query<EditorListParams>,
) -> Result<HttpResponse, AppError> {
    let mut errors = Errors::default();
    let paging = Paging::from_params(params.0.page, params.0.per_page, None, &mut errors.0);
    errors.finish()?;
    let (offset, limit) = (paging.offset(), paging.per_page() as i64);
    let (rows, total) = service::list(&state.db, offset, limit).await?;
    let data: Vec<EditorResponse> = rows.into_iter().map(EditorResponse::from).collect();
    let body = pagination::page_of(&req, &paging, data, Some(total), None);
    let mut builder = HttpResponse::Ok();
    builder.no_store();
    Ok(pagination::list_response(builder, &body))
}

/// Get an editor
///
/// Admins only. The `ETag` is what `If-Match` on PATCH expects.
#[utoipa::path(
    operation_id = "getEditor",
    tag = "admin-editors",
    security(("bearerAuth" = [])),
    params(("id" = i64, Path, description = "Editor id.", minimum = 1, example = 1)),
    responses(
        (status = 200, description = "The editor.", body = EditorResponse,
         headers(("ETag" = String, description = "Send as `If-Match` on PATCH."), ("Cache-Control" = String))),
        (status = 304, response = crate::http::openapi::NotModified),
    )
)]
#[get("/editors/{id}")]
pub async fn get_editor(
    _auth: Auth<guard::Admin>,
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let row = service::get(&state.db, id)
        .await?
        .ok_or_else(|| AppError::not_found(format!("No editor has id {id}.")))?;
    conditional::json_ok(&req, &EditorResponse::from(row), CachePolicy::NoStore)
}

/// Create an editor
///
/// Admins only. The new editor signs in with the password given here.
#[utoipa::path(
    operation_id = "createEditor",
    tag = "admin-editors",
    security(("bearerAuth" = [])),
    request_body = CreateEditorRequest,
    responses(
        (status = 201, description = "Created.", body = EditorResponse,
         headers(("Location" = String, description = "URL of the new editor."), ("Cache-Control" = String))),
        (status = 409, response = crate::http::openapi::Conflict),
    )
)]
#[post("/editors")]
pub async fn create_editor(
    _auth: Auth<guard::Admin>,
    state: web::Data<AppState>,
    body: Json<CreateEditorRequest>,
) -> Result<HttpResponse, AppError> {
    let input = validate_create(body.0)?;
    let row = service::create(&state.db, input).await?;
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, format!("/api/v1/admin/editors/{}", row.id)))
        .no_store()
        .json(EditorResponse::from(row)))
}

/// Update an editor
///
/// An admin cannot demote or deactivate the last active admin (409).
/// Send the `ETag` from the last GET as `If-Match` to avoid overwriting
/// someone else's change (412 when stale).
#[utoipa::path(
    operation_id = "updateEditor",
    tag = "admin-editors",
    security(("bearerAuth" = [])),
    params(
        ("id" = i64, Path, description = "Editor id.", minimum = 1, example = 1),
        ("If-Match" = Option<String>, Header, description = "ETag from the last GET; 412 if it is stale.",
         example = "\"9f2c1a7b3d4e5f60\""),
    ),
    request_body = UpdateEditorRequest,
    responses(
        (status = 200, description = "Updated.", body = EditorResponse,
         headers(("ETag" = String, description = "The new ETag, for the next `If-Match`."), ("Cache-Control" = String))),
        (status = 409, response = crate::http::openapi::Conflict),
        (status = 412, response = crate::http::openapi::PreconditionFailed),
    )
)]
#[patch("/editors/{id}")]
pub async fn update_editor(
    _auth: Auth<guard::Admin>,
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<i64>,
    body: Json<UpdateEditorRequest>,
) -> Result<HttpResponse, AppError> {
    let patch = validate_update(body.0)?;
    let if_match = conditional::if_match(&req);
    let row = service::update(&state.db, id.into_inner(), patch, move |current| {
        let etag = conditional::etag_of_json(&EditorResponse::from(current.clone()))?;
        conditional::check_if_match(if_match.as_deref(), &etag)
    })
    .await?;
    conditional::json_ok(&req, &EditorResponse::from(row), CachePolicy::NoStore)
}

/// Delete an editor
///
/// Refused (409) for the last active admin and for editors who wrote
/// articles (deactivate those instead).
#[utoipa::path(
    operation_id = "deleteEditor",
    tag = "admin-editors",
    security(("bearerAuth" = [])),
    params(("id" = i64, Path, description = "Editor id.", minimum = 1, example = 1)),
    responses(
        (status = 204, description = "Deleted."),
        (status = 409, response = crate::http::openapi::Conflict),
    )
)]
#[delete("/editors/{id}")]
pub async fn delete_editor(
    _auth: Auth<guard::Admin>,
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    service::delete(&state.db, id.into_inner()).await?;
    Ok(HttpResponse::NoContent().no_store().finish())
}

/// Issue a password reset token
///
/// Admins only. Returns a single-use token, valid for 24 hours, with which
/// the editor sets a new password at `POST /auth/password-reset`. Issuing a
/// new token voids the editor's earlier ones. No email is sent.
#[utoipa::path(
    operation_id = "createPasswordReset",
    tag = "admin-editors",
    security(("bearerAuth" = [])),
    params(("id" = i64, Path, description = "Editor id.", minimum = 1, example = 1)),
    responses(
        (status = 201, description = "The reset token (shown once).", body = PasswordResetResponse,
         headers(("Cache-Control" = String))),
    )
)]
#[post("/editors/{id}/password-reset")]
pub async fn create_password_reset(
    _auth: Auth<guard::Admin>,
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let reset = credentials::issue_reset(&state.db, id.into_inner()).await?;
    Ok(HttpResponse::Created().no_store().json(PasswordResetResponse {
        reset_token: reset.token,
        expires_at: reset.expires_at.and_utc(),
    }))
}

/// Unlock an editor's sign-in
///
/// Admins only. Clears the sign-in backoff of the editor's email address,
/// so the next sign-in is verified at once.
#[utoipa::path(
    operation_id = "unlockEditor",
    tag = "admin-editors",
    security(("bearerAuth" = [])),
    params(("id" = i64, Path, description = "Editor id.", minimum = 1, example = 1)),
    responses(
        (status = 204, description = "Unlocked (also when nothing was locked)."),
    )
)]
#[post("/editors/{id}/unlock")]
pub async fn unlock_editor(
    _auth: Auth<guard::Admin>,
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    credentials::unlock(&state.db, id.into_inner()).await?;
    Ok(HttpResponse::NoContent().no_store().finish())
}
