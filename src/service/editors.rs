//! Editor accounts: creation, changes and removal, with the rules that keep
//! at least one active admin in place.

use crate::auth::password;
use crate::db::editors::{EditorChanges, NewEditor};
use crate::db::{self, Db, DbConnection};
use crate::domain::change::Action;
use crate::domain::{Role, slug};
use crate::error::AppError;
use crate::service::keys;

/// An editor account as stored (the password hash stays below `http`).
pub use crate::db::editors::EditorRow;

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
    pub profile: ProfilePatch,
    pub role: Option<Role>,
    pub active: Option<bool>,
    pub password: Option<String>,
}

/// A validated change of the public profile (the author page, and the
/// author embedded in articles): what an editor may change of their own
/// account, and an admin of anyone's. `None` leaves a field alone,
/// `Some(None)` clears it.
#[derive(Default)]
pub struct ProfilePatch {
    pub name: Option<String>,
    pub bio: Option<Option<String>>,
    pub avatar_url: Option<Option<String>>,
    pub website: Option<Option<String>>,
    pub twitter: Option<Option<String>>,
    pub bluesky: Option<Option<String>>,
    pub mastodon: Option<Option<String>>,
}

impl ProfilePatch {
    /// Whether it changes what the author routes show.
    fn touches_author(&self) -> bool {
        self.touches_embedded()
            || self.bio.is_some()
            || self.website.is_some()
            || self.twitter.is_some()
            || self.bluesky.is_some()
            || self.mastodon.is_some()
    }

    /// Whether it changes the author embedded in articles (name, avatar).
    fn touches_embedded(&self) -> bool {
        self.name.is_some() || self.avatar_url.is_some()
    }
}

/// Editor `id`, if there is one.
pub async fn get(db: &Db, id: i64) -> Result<Option<EditorRow>, AppError> {
    db.read(move |conn| Ok(db::editors::find(conn, id)?)).await
}

/// A page of editors, oldest first, and the total count.
pub async fn list(db: &Db, offset: i64, limit: i64) -> Result<(Vec<EditorRow>, i64), AppError> {
    db.read(move |conn| Ok(db::editors::list(conn, offset, limit)?))
        .await
}

pub async fn create(db: &Db, input: NewEditorInput) -> Result<EditorRow, AppError> {
    let password_hash = password::hash_off_thread(input.password.clone()).await?;
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
    let now = crate::domain::date::now();
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
        Some(p) => Some(password::hash_off_thread(p.clone()).await?),
        None => None,
    };
    let may_demote = patch.role.is_some_and(|r| r != Role::Admin) || patch.active == Some(false);
    let renames = patch.profile.touches_embedded();
    db.write(move |conn| {
        // Before any row lock: a new name or picture rewrites the author's
        // stored embeds, which waits for the article writes in flight.
        if renames {
            db::articles::lock_embeds_for_rename(conn)?;
        }
        // The admins are locked before the editor is read, so the rule
        // below sees what concurrent demotions committed.
        let admins = if may_demote {
            db::editors::lock_active_admins(conn)?
        } else {
            Vec::new()
        };
        let current = db::editors::find(conn, id)?
            .ok_or_else(|| AppError::not_found(format!("No editor has id {id}.")))?;
        check(&current)?;
        let now = crate::domain::date::now();
        if admins == [id] {
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
            db::password_resets::delete_for_editor(conn, id)?;
        }
        // The profile is public (the author routes; name and avatar also
        // in every article embedding the author); email, role and password
        // are not shown to the public. Deactivating hides nothing public
        // either.
        if patch.profile.touches_author() {
            keys::author_written(conn, id, Action::Updated, patch.profile.touches_embedded())?;
        }
        let changes = editor_changes(patch, password_hash, now);
        Ok(db::editors::update(conn, id, &changes)?)
    })
    .await
}

/// The signed-in editor changes their own public profile (`PATCH
/// /auth/me`): only profile fields, only their own account.
pub async fn update_own_profile(
    db: &Db,
    actor_id: i64,
    profile: ProfilePatch,
    check: impl FnOnce(&EditorRow) -> Result<(), AppError> + Send + 'static,
) -> Result<EditorRow, AppError> {
    let patch = EditorPatch {
        profile,
        ..Default::default()
    };
    update(db, actor_id, patch, check).await
}

fn editor_changes(
    patch: EditorPatch,
    password_hash: Option<String>,
    now: chrono::NaiveDateTime,
) -> EditorChanges {
    let p = patch.profile;
    EditorChanges {
        email: patch.email,
        name: p.name,
        bio: p.bio,
        role: patch.role,
        active: patch.active,
        password_hash,
        updated_at: Some(now),
        avatar_url: p.avatar_url,
        website: p.website,
        twitter: p.twitter,
        bluesky: p.bluesky,
        mastodon: p.mastodon,
    }
}

pub async fn delete(db: &Db, id: i64) -> Result<(), AppError> {
    db.write(move |conn| {
        // Locked first, as in `update`.
        let admins = db::editors::lock_active_admins(conn)?;
        if db::editors::find(conn, id)?.is_none() {
            return Err(AppError::not_found(format!("No editor has id {id}.")));
        }
        if admins == [id] {
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
        keys::author_written(conn, id, Action::Deleted, true)?;
        Ok(())
    })
    .await
}
