//! Tags: explicit management, the public lists, and the find-or-create
//! used by article writes.
//!
//! Rules:
//! - Only editors and admins create tags (here or through `POST
//!   /admin/tags`); an author may only name existing ones.
//! - The public routes show a tag only while at least one visible article
//!   (published, `published_at` past) carries it: a draft's or a scheduled
//!   article's new tag would otherwise announce it early.

use crate::db::tags::{NewTag, TagChanges, TagRow};
use crate::db::{self, Db, DbConnection};
use crate::domain::change::Action;
use crate::domain::slug;
use crate::error::AppError;
use crate::service::keys;

/// A tag with its article count.
pub struct TagView {
    pub tag: TagRow,
    pub article_count: i64,
}

/// A validated new tag.
pub struct NewTagInput {
    pub name: String,
    pub slug: Option<String>,
    pub description: Option<String>,
}

/// A validated change; `None` leaves a field alone.
#[derive(Default)]
pub struct TagPatch {
    pub name: Option<String>,
    pub slug: Option<String>,
    pub description: Option<Option<String>>,
}

/// The tags named by `names_or_slugs`, in order, created when new if
/// the caller `may_create` tags (an editor or admin, with a token holding
/// `tags:write` when it is a token: `CurrentEditor::may_create_tags`; else
/// an unknown tag is a 422 on `tags`). An entry matches an existing tag by
/// slug, so `Climate Policy` and `climate-policy` are the same tag.
/// Duplicates are dropped.
pub fn find_or_create(
    conn: &mut DbConnection,
    may_create: bool,
    names_or_slugs: &[String],
) -> Result<Vec<i64>, AppError> {
    let mut ids: Vec<i64> = Vec::with_capacity(names_or_slugs.len());
    for entry in names_or_slugs {
        let tag_slug = slug::slugify(entry);
        // A tag given a custom slug is still found by its name.
        let id = match db::tags::find_clash(conn, &tag_slug, entry, None)? {
            Some(tag) => tag.id,
            None if !may_create => {
                return Err(AppError::field(
                    "tags",
                    format!(
                        "`{entry}` is not an existing tag; only editors create tags (an API token \
                         needs `tags:write`)"
                    ),
                ));
            }
            None => {
                let now = crate::domain::date::now();
                db::tags::insert_or_find(
                    conn,
                    &NewTag {
                        slug: tag_slug,
                        name: entry.clone(),
                        description: None,
                        created_at: now,
                        updated_at: now,
                    },
                )?
                .id
            }
        };
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    Ok(ids)
}

/// Attaches counts (visible articles only when `public`) to `rows`.
pub fn with_counts(
    conn: &mut DbConnection,
    rows: Vec<TagRow>,
    public: bool,
) -> Result<Vec<TagView>, AppError> {
    let ids: Vec<i64> = rows.iter().map(|t| t.id).collect();
    let counts = db::tags::article_counts(conn, &ids, public.then(crate::domain::date::now))?;
    Ok(rows
        .into_iter()
        .map(|tag| {
            let article_count = counts.iter().find(|(id, _)| *id == tag.id).map_or(0, |(_, n)| *n);
            TagView { tag, article_count }
        })
        .collect())
}

/// A page of tags by name with counts, and the total: for the public only
/// tags with a visible article (and visible counts), for editors all.
pub async fn list_page(
    db: &Db,
    offset: i64,
    limit: i64,
    public: bool,
) -> Result<(Vec<TagView>, i64), AppError> {
    db.read_as(public, move |conn| {
        let (rows, total) = match public {
            true => db::tags::list_visible(conn, crate::domain::date::now(), offset, limit)?,
            false => db::tags::list(conn, offset, limit)?,
        };
        Ok((with_counts(conn, rows, public)?, total))
    })
    .await
}

/// The tag at `slug` with its visible count, if a visible article has it.
pub async fn get_public(db: &Db, slug: String) -> Result<Option<TagView>, AppError> {
    db.read_public(move |conn| {
        match db::tags::find_visible_by_slug(conn, &slug, crate::domain::date::now())? {
            Some(tag) => Ok(with_counts(conn, vec![tag], true)?.pop()),
            None => Ok(None),
        }
    })
    .await
}

/// Tag `id` with its count over every status (404 when missing).
pub async fn get_admin(db: &Db, id: i64) -> Result<TagView, AppError> {
    db.read(move |conn| match db::tags::find(conn, id)? {
        Some(tag) => Ok(with_counts(conn, vec![tag], false)?.pop()),
        None => Ok(None),
    })
    .await?
    .ok_or_else(|| AppError::not_found(format!("No tag has id {id}.")))
}

pub async fn create(db: &Db, input: NewTagInput) -> Result<TagView, AppError> {
    db.write(move |conn| {
        let tag_slug = input.slug.unwrap_or_else(|| slug::slugify(&input.name));
        if tag_slug.is_empty() {
            return Err(AppError::field("name", "must contain a letter or digit"));
        }
        if let Some(existing) = db::tags::find_clash(conn, &tag_slug, &input.name, None)? {
            return Err(AppError::Conflict(format!(
                "The tag `{}` (id {}) already has this name or slug.",
                existing.name, existing.id
            )));
        }
        let now = crate::domain::date::now();
        let tag = db::tags::insert(
            conn,
            &NewTag {
                slug: tag_slug,
                name: input.name,
                description: input.description,
                created_at: now,
                updated_at: now,
            },
        )?;
        keys::tag_written(conn, tag.id, &tag.slug, Action::Created)?;
        Ok(TagView {
            tag,
            article_count: 0,
        })
    })
    .await
}

pub async fn update(
    db: &Db,
    id: i64,
    patch: TagPatch,
    check: impl FnOnce(&TagView) -> Result<(), AppError> + Send + 'static,
) -> Result<TagView, AppError> {
    db.write(move |conn| {
        let current =
            db::tags::find(conn, id)?.ok_or_else(|| AppError::not_found(format!("No tag has id {id}.")))?;
        let current = with_counts(conn, vec![current], false)?.remove(0);
        check(&current)?;
        let new_name = patch.name.clone().unwrap_or_else(|| current.tag.name.clone());
        let new_slug = patch.slug.clone().unwrap_or_else(|| current.tag.slug.clone());
        if let Some(existing) = db::tags::find_clash(conn, &new_slug, &new_name, Some(id))? {
            return Err(AppError::Conflict(format!(
                "The tag `{}` (id {}) already has this name or slug.",
                existing.name, existing.id
            )));
        }
        let changes = TagChanges {
            slug: patch.slug,
            name: patch.name,
            description: patch.description,
            updated_at: Some(crate::domain::date::now()),
        };
        let tag = db::tags::update(conn, id, &changes)?;
        keys::tag_written(conn, id, &tag.slug, Action::Updated)?;
        Ok(with_counts(conn, vec![tag], false)?.remove(0))
    })
    .await
}

pub async fn delete(db: &Db, id: i64) -> Result<(), AppError> {
    let deleted = db
        .write(move |conn| {
            let Some(tag) = db::tags::find(conn, id)? else {
                return Ok(0);
            };
            let deleted = db::tags::delete(conn, id)?;
            if deleted > 0 {
                keys::tag_written(conn, id, &tag.slug, Action::Deleted)?;
            }
            Ok(deleted)
        })
        .await?;
    if deleted == 0 {
        return Err(AppError::not_found(format!("No tag has id {id}.")));
    }
    Ok(())
}
