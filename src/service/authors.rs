//! Authors as the public sees them: every editor with at least one visible
//! article (published, `published_at` past), by name, with their public
//! profile and the count of those articles. An editor with nothing
//! published yet has no public author page. Profiles are changed through
//! `service::editors` (by the editor themself, or an admin).

use crate::db::{self, Db};
use crate::error::AppError;

/// The read model of the author routes: the public profile and the count.
pub use crate::db::authors::AuthorView;

/// One page of authors.
pub struct AuthorPage {
    pub items: Vec<AuthorView>,
    /// Page mode only: how many authors there are in all.
    pub total: Option<i64>,
    /// Whether more follow the page.
    pub has_more: bool,
}

/// A page of authors by name then id, `per_page` long: after the keyset
/// position `after` (name, id) in cursor mode, or from `offset` with the
/// total in page mode. Two statements (the page, its counts), three in
/// page mode.
pub async fn list_page(
    db: &Db,
    after: Option<(String, i64)>,
    offset: i64,
    per_page: i64,
    page_mode: bool,
) -> Result<AuthorPage, AppError> {
    db.read_public(move |conn| {
        let now = crate::domain::date::now();
        let after = after.as_ref().map(|(name, id)| (name.as_str(), *id));
        let mut rows = db::authors::list_visible(conn, now, after, offset, per_page + 1)?;
        let has_more = rows.len() as i64 > per_page;
        rows.truncate(per_page as usize);
        let items = db::authors::with_counts(conn, rows, now)?;
        let total = match page_mode {
            true => Some(db::authors::count_visible(conn, now)?),
            false => None,
        };
        Ok(AuthorPage {
            items,
            total,
            has_more,
        })
    })
    .await
}

/// The author at `slug`, if an article of theirs is visible now.
pub async fn get_public(db: &Db, slug: String) -> Result<Option<AuthorView>, AppError> {
    db.read_public(move |conn| {
        Ok(db::authors::find_visible_by_slug(
            conn,
            &slug,
            crate::domain::date::now(),
        )?)
    })
    .await
}
