//! Articles: writing, the draft → published → archived workflow, and who
//! may touch what.
//!
//! - The body is rendered to sanitised HTML, and its excerpt, word count and
//!   reading time computed, once on write — never on read.
//! - `published_at` is set on first publish unless the editor gave one; a
//!   future `published_at` schedules the article.
//! - Authors may only read and change their own articles; editors and admins
//!   any.

use chrono::NaiveDateTime;

use crate::auth::CurrentEditor;
use crate::db::articles::{ArticleChanges, ArticleRow, NewArticle};
use crate::db::{self, Db, DbConnection};

/// The read model the article use cases return (see docs/ARCHITECTURE.md:
/// service re-exports the rows it hands to `http`).
pub use crate::db::articles::ArticleView;
use crate::domain::article::{After, ArticleSort, ArticleStatus, ListFilter, Order};
use crate::domain::presentation::{FeaturedImage, Seo, SeoChange};
use crate::domain::{Role, markdown, slug};
use crate::error::AppError;
use crate::service::render::{self, Renderer};
use crate::service::{keys, tags};

/// A validated new article.
pub struct NewArticleInput {
    pub title: String,
    pub subtitle: Option<String>,
    pub body_markdown: String,
    pub excerpt: Option<String>,
    pub slug: Option<String>,
    pub status: ArticleStatus,
    pub tags: Vec<String>,
    pub featured_image: Option<FeaturedImage>,
    pub featured: bool,
    pub seo: Seo,
    pub comments_enabled: bool,
    pub published_at: Option<NaiveDateTime>,
}

/// A validated change; `None` leaves a field alone, `Some(None)` clears it.
#[derive(Default)]
pub struct ArticlePatch {
    pub title: Option<String>,
    pub subtitle: Option<Option<String>>,
    pub body_markdown: Option<String>,
    pub excerpt: Option<Option<String>>,
    pub slug: Option<String>,
    pub status: Option<ArticleStatus>,
    pub tags: Option<Vec<String>>,
    pub featured_image: Option<Option<FeaturedImage>>,
    pub featured: Option<bool>,
    pub seo: SeoChange,
    pub comments_enabled: Option<bool>,
    pub published_at: Option<Option<NaiveDateTime>>,
}

/// What a body renders to.
struct Rendered {
    html: String,
    text: String,
    /// JSON array.
    pull_quotes: String,
    excerpt: String,
    word_count: i32,
    reading_time_minutes: i32,
}

impl From<render::Body> for Rendered {
    fn from(body: render::Body) -> Self {
        let words = body.word_count;
        Rendered {
            html: body.html,
            text: body.text,
            pull_quotes: serde_json::to_string(&body.pull_quotes).unwrap_or_else(|_| "[]".into()),
            excerpt: body.excerpt,
            word_count: words.min(i32::MAX as usize) as i32,
            reading_time_minutes: markdown::reading_time_minutes(words).min(i32::MAX as usize) as i32,
        }
    }
}

/// Authors may only touch their own articles. Another author's article
/// answers exactly as a missing id does, so an author cannot learn which
/// ids exist (no existence oracle).
pub fn authorize(actor: &CurrentEditor, row: &ArticleRow) -> Result<(), AppError> {
    if actor.role == Role::Author && row.author_id != actor.id {
        return Err(no_article(row.id));
    }
    Ok(())
}

fn no_article(id: i64) -> AppError {
    AppError::not_found(format!("No article has id {id}."))
}

/// The published article at `slug`, visible now (the public article page).
pub async fn get_visible(db: &Db, slug: String) -> Result<Option<ArticleView>, AppError> {
    let now = crate::domain::date::now();
    db.read_public(move |conn| Ok(db::articles::find_visible_view_by_slug(conn, &slug, now)?))
        .await
}

/// The articles related to the public article at `slug` (see
/// `db::articles::related` for the ranking), with authors and tags; `None`
/// when no public article has that slug.
pub async fn related(
    db: &Db,
    slug: String,
    limit: usize,
) -> Result<Option<(i64, Vec<ArticleView>)>, AppError> {
    let now = crate::domain::date::now();
    db.read_public(move |conn| {
        let Some(id) = db::articles::find_visible_id_by_slug(conn, &slug, now)? else {
            return Ok(None);
        };
        Ok(Some((id, db::articles::related(conn, id, now, limit)?)))
    })
    .await
}

pub async fn create(
    db: &Db,
    renderer: &Renderer,
    actor: CurrentEditor,
    input: NewArticleInput,
) -> Result<ArticleView, AppError> {
    let rendered = renderer
        .render(input.body_markdown.clone(), "body_markdown")
        .await?;
    let rendered = Rendered::from(rendered);
    db.write(move |conn| {
        let tag_ids = tags::find_or_create(conn, actor.may_create_tags(), &input.tags)?;
        let now = crate::domain::date::now();
        let published_at = input
            .published_at
            .or((input.status == ArticleStatus::Published).then_some(now));
        let exact = input.slug.is_some();
        let base = input.slug.unwrap_or_else(|| match slug::slugify(&input.title) {
            s if s.is_empty() => "article".to_string(),
            s => s,
        });
        let (featured_image_url, featured_image_meta) =
            input.featured_image.map(FeaturedImage::into_stored).unzip();
        let new = NewArticle {
            slug: base.clone(),
            title: input.title,
            subtitle: input.subtitle,
            excerpt_custom: input.excerpt.is_some(),
            excerpt: input.excerpt.unwrap_or(rendered.excerpt),
            body_markdown: input.body_markdown,
            body_html: rendered.html,
            status: input.status,
            author_id: actor.id,
            featured_image_url,
            featured_image_meta,
            featured: input.featured,
            seo: input.seo.to_stored(),
            pull_quotes: rendered.pull_quotes,
            body_text: Some(rendered.text),
            word_count: rendered.word_count,
            reading_time_minutes: rendered.reading_time_minutes,
            comments_enabled: input.comments_enabled,
            published_at,
            created_at: now,
            updated_at: now,
        };
        let row = db::articles::insert_unique(conn, new, exact)?.ok_or_else(|| slug_taken(&base))?;
        db::articles::set_tags(conn, &row, &tag_ids)?;
        let view = db::articles::view(conn, row)?;
        keys::article_written(conn, None, Some(&view), now)?;
        Ok(view)
    })
    .await
}

fn slug_taken(slug: &str) -> AppError {
    AppError::Conflict(format!(
        "The slug `{slug}` is used by another article; choose another or leave it out."
    ))
}

/// Loads article `id` for `actor` (404 when missing, and the same 404 for
/// another author's article).
pub fn load_for(conn: &mut DbConnection, actor: &CurrentEditor, id: i64) -> Result<ArticleView, AppError> {
    let row = db::articles::find(conn, id)?.ok_or_else(|| no_article(id))?;
    authorize(actor, &row)?;
    Ok(db::articles::view(conn, row)?)
}

/// Applies `patch` to article `id`. `check` sees the current article first,
/// in the same transaction (the handler compares `If-Match` there).
pub async fn update(
    db: &Db,
    renderer: &Renderer,
    actor: CurrentEditor,
    id: i64,
    patch: ArticlePatch,
    check: impl FnOnce(&ArticleView) -> Result<(), AppError> + Send + 'static,
) -> Result<ArticleView, AppError> {
    let rendered = match &patch.body_markdown {
        Some(body) => Some(Rendered::from(
            renderer.render(body.clone(), "body_markdown").await?,
        )),
        None => None,
    };
    db.write(move |conn| {
        let current = load_for(conn, &actor, id)?;
        check(&current)?;
        let article = &current.article;
        let now = crate::domain::date::now();

        if let Some(wanted) = &patch.slug
            && wanted != &article.slug
            && db::articles::slug_taken(conn, wanted, id)?
        {
            return Err(slug_taken(wanted));
        }

        let mut changes = ArticleChanges {
            slug: patch.slug,
            title: patch.title,
            subtitle: patch.subtitle,
            comments_enabled: patch.comments_enabled,
            featured: patch.featured,
            published_at: patch.published_at,
            status: patch.status,
            updated_at: Some(now),
            ..Default::default()
        };
        if let Some(image) = patch.featured_image {
            let (url, meta) = image.map(FeaturedImage::into_stored).unzip();
            changes.featured_image_url = Some(url);
            changes.featured_image_meta = Some(meta);
        }
        if !patch.seo.is_empty() {
            let mut seo = Seo::from_stored(&article.seo);
            seo.apply(patch.seo);
            changes.seo = Some(seo.to_stored());
        }
        set_body(
            &mut changes,
            article,
            rendered.as_ref(),
            patch.body_markdown,
            patch.excerpt,
        );
        // First publication stamps the time, unless one is given or kept.
        let publishing = patch.status == Some(ArticleStatus::Published);
        let has_time = match &changes.published_at {
            Some(given) => given.is_some(),
            None => article.published_at.is_some(),
        };
        if publishing && !has_time {
            changes.published_at = Some(Some(now));
        }

        let row = db::articles::update(conn, id, &changes)?;
        match &patch.tags {
            Some(names) => {
                let tag_ids = tags::find_or_create(conn, actor.may_create_tags(), names)?;
                db::articles::set_tags(conn, &row, &tag_ids)?;
            }
            None => db::articles::sync_tag_index(conn, &row)?,
        }
        let view = db::articles::view(conn, row)?;
        keys::article_written(conn, Some(&current), Some(&view), now)?;
        Ok(view)
    })
    .await
}

/// The body and excerpt part of an update: a new body brings its rendering,
/// and a derived (not custom) excerpt follows the body.
fn set_body(
    changes: &mut ArticleChanges,
    article: &ArticleRow,
    rendered: Option<&Rendered>,
    body_markdown: Option<String>,
    excerpt: Option<Option<String>>,
) {
    let derived_excerpt = match rendered {
        Some(r) => {
            changes.body_html = Some(r.html.clone());
            changes.body_text = Some(Some(r.text.clone()));
            changes.pull_quotes = Some(r.pull_quotes.clone());
            changes.word_count = Some(r.word_count);
            changes.reading_time_minutes = Some(r.reading_time_minutes);
            r.excerpt.clone()
        }
        None => markdown::excerpt(&markdown::plain_text(&article.body_markdown)),
    };
    changes.body_markdown = body_markdown;
    match excerpt {
        Some(Some(custom)) => {
            changes.excerpt = Some(custom);
            changes.excerpt_custom = Some(true);
        }
        Some(None) => {
            changes.excerpt = Some(derived_excerpt);
            changes.excerpt_custom = Some(false);
        }
        // A derived excerpt follows the body.
        None if !article.excerpt_custom && rendered.is_some() => changes.excerpt = Some(derived_excerpt),
        None => {}
    }
}

pub async fn delete(db: &Db, actor: CurrentEditor, id: i64) -> Result<(), AppError> {
    db.write(move |conn| {
        let row = db::articles::find(conn, id)?.ok_or_else(|| no_article(id))?;
        authorize(&actor, &row)?;
        let before = db::articles::view(conn, row)?;
        keys::article_written(conn, Some(&before), None, crate::domain::date::now())?;
        // The foreign keys take its comments and share events along; the
        // site-wide share rollups are not keyed by article and are adjusted here.
        db::shares::forget_article(conn, id)?;
        db::articles::delete(conn, id)?;
        Ok(())
    })
    .await
}

/// One page of a list.
pub struct Page {
    pub items: Vec<ArticleView>,
    /// Page mode only.
    pub total: Option<i64>,
    /// Whether rows follow this page.
    pub has_more: bool,
}

/// A page of articles with authors and tags embedded, in a constant number
/// of queries: the page (one more row than asked, to know if more follow)
/// with its authors and tags (`db::articles::list`; a page of several tags
/// first reads one short index range per tag, at most 10: to pick the
/// rarest required tag, once for the page and its total, or the page's
/// entries of each of any of them), and the total in page mode.
pub fn list_page(
    conn: &mut DbConnection,
    filter: &ListFilter,
    order: Order,
    after: Option<&After>,
    offset: i64,
    per_page: usize,
    with_total: bool,
) -> Result<Page, AppError> {
    if order == Order::Public(ArticleSort::Relevance) {
        let (mut items, total) =
            crate::service::search::ranked_page(conn, filter, offset.max(0) as usize, per_page + 1)?;
        let has_more = items.len() > per_page;
        items.truncate(per_page);
        return Ok(Page {
            items,
            total: Some(total),
            has_more,
        });
    }
    let filter = &*db::articles::rarest_tag_first(conn, filter)?;
    let mut items = db::articles::list(conn, filter, order, after, offset, per_page as i64 + 1)?;
    let has_more = items.len() > per_page;
    items.truncate(per_page);
    let total = if with_total {
        Some(db::articles::count(conn, filter)?)
    } else {
        None
    };
    Ok(Page {
        items,
        total,
        has_more,
    })
}
