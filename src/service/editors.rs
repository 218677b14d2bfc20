//! Editor accounts: creation, changes and removal, with the rules that keep
//! at least one active admin in place.

use crate::auth::password;
use crate::db::editors::{EditorChanges, EditorRow, NewEditor};
use crate::db::{self, Db, DbConnection};
use crate::domain::{Role, slug};
use crate::error::AppError;

/// A validated new editor.
pub struct NewEditorInput {
    pub email: String,
    pub name: String,
    pub slug: Option<String>,
    pub bio: Option<String>,
    pub role: Role,
    pub password: String,
}

/// A validated change; `None` leaves a field alone.
#[derive(Default)]
pub struct EditorPatch {
    pub email: Option<String>,
    pub name: Option<String>,
    pub bio: Option<Option<String>>,
    pub role: Option<Role>,
    pub active: Option<bool>,
    pub password: Option<String>,
}

pub async fn create(db: &Db, input: NewEditorInput) -> Result<EditorRow, AppError> {
    let password_hash = actix_web::web::block(move || password::hash(&input.password).map(|h| (h, input)))
        .await?
        .map_err(AppError::internal)?;
    let (password_hash, input) = password_hash;
    db.write(move |conn| {
        insert_editor(
            conn,
            input.email,
            input.name,
            input.slug,
            input.bio,
            input.role,
            password_hash,
        )
    })
    .await
}

/// Inserts an editor whose password is already hashed (also used by the CLI
/// and the demo seeder).
pub fn insert_editor(
    conn: &mut DbConnection,
    email: String,
    name: String,
    wanted_slug: Option<String>,
    bio: Option<String>,
    role: Role,
    password_hash: String,
) -> Result<EditorRow, AppError> {
    if db::editors::email_taken(conn, &email, None)? {
        return Err(AppError::Conflict(format!(
            "An editor with the email {email} already exists."
        )));
    }
    let slug = match wanted_slug {
        Some(s) => {
            if db::editors::slug_taken(conn, &s)? {
                return Err(AppError::Conflict(format!(
                    "The slug `{s}` is taken by another editor."
                )));
            }
            s
        }
        None => unique_slug(conn, &name)?,
    };
    let now = db::now();
    Ok(db::editors::insert(
        conn,
        &NewEditor {
            email,
            name,
            slug,
            bio,
            role,
            active: true,
            password_hash,
            created_at: now,
            updated_at: now,
        },
    )?)
}

fn unique_slug(conn: &mut DbConnection, name: &str) -> Result<String, AppError> {
    let base = match slug::slugify(name) {
        s if s.is_empty() => "editor".to_string(),
        s => s,
    };
    for n in 1..1000 {
        let candidate = slug::candidate(&base, n);
        if !db::editors::slug_taken(conn, &candidate)? {
            return Ok(candidate);
        }
    }
    Err(AppError::Conflict(format!(
        "Too many editors are called `{name}`."
    )))
}

/// Applies `patch` to editor `id`. `check` sees the current row first (the
/// handler uses it for `If-Match`), inside the same transaction.
pub async fn update(
    db: &Db,
    id: i64,
    patch: EditorPatch,
    check: impl FnOnce(&EditorRow) -> Result<(), AppError> + Send + 'static,
) -> Result<EditorRow, AppError> {
    let password_hash = match &patch.password {
        Some(p) => {
            let p = p.clone();
            Some(
                actix_web::web::block(move || password::hash(&p))
                    .await?
                    .map_err(AppError::internal)?,
            )
        }
        None => None,
    };
    db.write(move |conn| {
        let current = db::editors::find(conn, id)?
            .ok_or_else(|| AppError::not_found(format!("No editor has id {id}.")))?;
        check(&current)?;
        let now = db::now();
        let stays_admin =
            patch.role.is_none_or(|r| r == Role::Admin) && patch.active.unwrap_or(current.active);
        if current.role == Role::Admin
            && current.active
            && !stays_admin
            && db::editors::count_active_admins(conn)? <= 1
        {
            return Err(AppError::Conflict(
                "This is the last active admin; make another editor an admin first.".into(),
            ));
        }
        if let Some(email) = &patch.email
            && db::editors::email_taken(conn, email, Some(id))?
        {
            return Err(AppError::Conflict(format!(
                "An editor with the email {email} already exists."
            )));
        }
        if password_hash.is_some() || patch.active == Some(false) {
            db::tokens::revoke_editor(conn, id, now)?;
        }
        let changes = EditorChanges {
            email: patch.email,
            name: patch.name,
            bio: patch.bio,
            role: patch.role,
            active: patch.active,
            password_hash,
            updated_at: Some(now),
        };
        Ok(db::editors::update(conn, id, &changes)?)
    })
    .await
}

pub async fn delete(db: &Db, id: i64) -> Result<(), AppError> {
    db.write(move |conn| {
        let current = db::editors::find(conn, id)?
            .ok_or_else(|| AppError::not_found(format!("No editor has id {id}.")))?;
        if current.role == Role::Admin && current.active && db::editors::count_active_admins(conn)? <= 1 {
            return Err(AppError::Conflict(
                "This is the last active admin and cannot be deleted.".into(),
            ));
        }
        let articles = db::editors::count_articles(conn, id)?;
        if articles > 0 {
            return Err(AppError::Conflict(format!(
                "This editor wrote {articles} article(s); deactivate the account (`active: false`) instead."
            )));
        }
        db::editors::delete(conn, id)?;
        Ok(())
    })
    .await
}
