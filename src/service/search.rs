//! Search use cases: the search page with snippets and facets, the
//! autocomplete box, and `q=` on article lists. The index
//! (`infra::search`) picks and ranks the matches; everything a result
//! shows, and whether it may still be shown, is read from the database.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::NaiveDateTime;

use crate::db::articles::ArticleView;
use crate::db::{self, Db, DbConnection};
use crate::domain::article::{Columns, ListFilter};
use crate::domain::markdown;
use crate::domain::search::{self as rules, FacetCounts, SearchFilter};
use crate::error::AppError;
use crate::infra::search::{Hits, SearchIndex, Snippets};

/// `q=` on an article list ranks this many of the best matches; other
/// filters and sorts apply to them. `/search` has no such bound.
pub const LIST_WINDOW: usize = 1000;
/// Results a search serves at most (the last page's end): a reader never
/// pages further, and ranking deeper would cost every broad query.
pub const DEEPEST: usize = 10_000;
/// Facet entries per kind (the largest counts).
pub const FACET_LIMIT: usize = 20;

/// The engine and what bounds its use: searches at once (one per core: a
/// search is CPU work) and how long one waits for its turn.
#[derive(Clone)]
pub struct Engine {
    pub index: Arc<SearchIndex>,
    pub slots: Arc<tokio::sync::Semaphore>,
    pub wait: Duration,
}

impl Engine {
    /// Runs `f` on the index off the async workers, once a slot is free and
    /// the index has caught up with this instance's writes (waiting at most
    /// a second).
    async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&SearchIndex) -> Result<T, AppError> + Send + 'static,
    ) -> Result<T, AppError> {
        let slot = self.slots.clone().acquire_owned();
        let _slot = actix_web::rt::time::timeout(self.wait, slot)
            .await
            .map_err(|_| AppError::Unavailable("every search slot stayed busy".into()))?
            .map_err(AppError::internal)?;
        let index = self.index.clone();
        actix_web::web::block(move || {
            index.catch_up(Duration::from_secs(1));
            f(&index)
        })
        .await
        .map_err(AppError::internal)?
    }
}

/// A `/search` request, its slugs not yet resolved.
pub struct Request {
    pub q: String,
    pub tags: Vec<String>,
    pub author: Option<String>,
    pub from: Option<NaiveDateTime>,
    pub to: Option<NaiveDateTime>,
    pub offset: usize,
    pub per_page: usize,
}

pub struct Hit {
    pub view: ArticleView,
    /// HTML: escaped text, matches in `<mark>`.
    pub snippet: String,
    pub score: f32,
}

/// A facet entry: a tag or an author with its count.
pub struct Named {
    pub slug: String,
    pub name: String,
    pub count: u64,
}

#[derive(Default)]
pub struct Facets {
    pub tags: Vec<Named>,
    pub authors: Vec<Named>,
    pub years: Vec<(i32, u64)>,
}

pub struct Results {
    pub hits: Vec<Hit>,
    pub total: u64,
    /// `total` and the facets are counts, not estimates.
    pub exact: bool,
    pub facets: Facets,
}

/// `/search`: a page of public matches with snippets, and the total and
/// facets of every match.
pub async fn search(db: &Db, engine: &Engine, request: Request) -> Result<Results, AppError> {
    let now = crate::domain::date::now();
    let words = rules::words(&request.q);
    let resolved = resolve(db, true, request.tags.clone(), request.author.clone()).await?;
    let Some((tag_ids, author_id)) = resolved else {
        return Ok(Results {
            hits: vec![],
            total: 0,
            exact: true,
            facets: Facets::default(),
        });
    };
    let filter = SearchFilter {
        tag_ids,
        author_id,
        from: request.from,
        to: request.to,
        ..SearchFilter::public(now)
    };
    let (offset, per_page) = (request.offset, request.per_page);
    let hits = engine
        .run(move |index| index.search(&words, &filter, offset, per_page))
        .await?;
    let index = engine.index.clone();
    db.read_public(move |conn| present(conn, &index, hits, now)).await
}

/// Tag ids (empty: no tag filter) and the author's id.
type Resolved = (Vec<i64>, Option<i64>);

/// The tag and author filters as ids; `None` when one names nothing (so
/// nothing can match). Without either, no database round trip. `public`
/// picks [`Db::read_as`]'s connection.
async fn resolve(
    db: &Db,
    public: bool,
    tags: Vec<String>,
    author: Option<String>,
) -> Result<Option<Resolved>, AppError> {
    if tags.is_empty() && author.is_none() {
        return Ok(Some((vec![], None)));
    }
    db.read_as(public, move |conn| resolve_ids(conn, &tags, author.as_deref()))
        .await
}

fn resolve_ids(
    conn: &mut DbConnection,
    tags: &[String],
    author: Option<&str>,
) -> Result<Option<Resolved>, AppError> {
    let tag_ids = if tags.is_empty() {
        vec![]
    } else {
        let ids = db::tags::ids_by_slugs(conn, tags)?;
        if ids.is_empty() {
            return Ok(None);
        }
        ids
    };
    let author_id = match author {
        None => None,
        Some(slug) => match db::authors::id_by_slug(conn, slug)? {
            Some(id) => Some(id),
            None => return Ok(None),
        },
    };
    Ok(Some((tag_ids, author_id)))
}

/// The page's articles (those still public), their snippets, and the
/// facets with names.
fn present(
    conn: &mut DbConnection,
    index: &SearchIndex,
    hits: Hits,
    now: NaiveDateTime,
) -> Result<Results, AppError> {
    let ids: Vec<i64> = hits.ids.iter().map(|(id, _)| *id).collect();
    let views = load_in_order(conn, &ids, Some(now), Columns::All)?;
    let scores: HashMap<i64, f32> = hits.ids.iter().copied().collect();
    let snippets = index.snippets(&hits.highlight);
    let items = views
        .into_iter()
        .map(|view| {
            let snippet = snippet(&snippets, &view);
            let score = scores.get(&view.article.id).copied().unwrap_or(0.0);
            Hit { view, snippet, score }
        })
        .collect();
    Ok(Results {
        hits: items,
        total: hits.total,
        exact: hits.exact,
        facets: name_facets(conn, hits.facets)?,
    })
}

/// The articles `ids` visible at `visible_at` (any, when `None`), in the
/// order of `ids`, with authors and tags.
fn load_in_order(
    conn: &mut DbConnection,
    ids: &[i64],
    visible_at: Option<NaiveDateTime>,
    columns: Columns,
) -> Result<Vec<ArticleView>, AppError> {
    let mut views = db::articles::by_ids(conn, ids, columns)?;
    if let Some(now) = visible_at {
        views.retain(|view| view.article.is_visible(now));
    }
    Ok(views)
}

/// Sorts `items` into the order of `ids` (the index's ranking).
fn sort_as<T>(ids: &[i64], items: &mut [T], id: impl Fn(&T) -> i64) {
    let rank: HashMap<i64, usize> = ids.iter().enumerate().map(|(i, id)| (*id, i)).collect();
    items.sort_by_key(|item| rank.get(&id(item)).copied().unwrap_or(usize::MAX));
}

/// The body's best passage, else the standfirst's, else the title's; an
/// article that matched only through a typo the text no longer has (an
/// edit the index has not seen yet) gets its excerpt, escaped.
fn snippet(snippets: &Snippets, view: &ArticleView) -> String {
    let a = &view.article;
    let body = match &a.body_text {
        Some(text) => std::borrow::Cow::Borrowed(text.as_str()),
        None => std::borrow::Cow::Owned(markdown::plain_text(&a.body_markdown)),
    };
    [&*body, a.subtitle.as_deref().unwrap_or(""), a.title.as_str()]
        .into_iter()
        .find_map(|text| snippets.of(text))
        .unwrap_or_else(|| ammonia::clean_text(&a.excerpt))
}

fn name_facets(conn: &mut DbConnection, counts: FacetCounts) -> Result<Facets, AppError> {
    let tag_ids: Vec<i64> = counts.tags.iter().map(|(id, _)| *id).collect();
    let author_ids: Vec<i64> = counts.authors.iter().map(|(id, _)| *id).collect();
    let tags: HashMap<i64, (String, String)> = db::tags::names(conn, &tag_ids)?
        .into_iter()
        .map(|(id, slug, name)| (id, (slug, name)))
        .collect();
    let authors: HashMap<i64, (String, String)> = db::authors::names(conn, &author_ids)?
        .into_iter()
        .map(|(id, slug, name)| (id, (slug, name)))
        .collect();
    // A tag deleted since the index saw its articles is left out.
    let named = |pairs: Vec<(i64, u64)>, names: &HashMap<i64, (String, String)>| -> Vec<Named> {
        pairs
            .into_iter()
            .filter_map(|(id, count)| {
                let (slug, name) = names.get(&id)?.clone();
                Some(Named { slug, name, count })
            })
            .take(FACET_LIMIT)
            .collect()
    };
    Ok(Facets {
        tags: named(counts.tags, &tags),
        authors: named(counts.authors, &authors),
        years: counts.years,
    })
}

/// Up to eight `(slug, title)` of public articles whose title matches what
/// the reader has typed so far.
pub async fn suggest(db: &Db, engine: &Engine, q: String) -> Result<Vec<(String, String)>, AppError> {
    let now = crate::domain::date::now();
    let words = rules::words(&q);
    let ids = engine
        .run(move |index| index.suggest(&words, &SearchFilter::public(now), rules::SUGGESTIONS))
        .await?;
    if ids.is_empty() {
        return Ok(vec![]);
    }
    db.read_public(move |conn| {
        let mut titles = db::articles::suggestion_titles(conn, &ids, now)?;
        sort_as(&ids, &mut titles, |(id, _, _)| *id);
        Ok(titles.into_iter().map(|(_, slug, title)| (slug, title)).collect())
    })
    .await
}

/// `q=` on an article list: the filter narrowed to the best
/// [`LIST_WINDOW`] matches, in rank order (`only_ids`). Visibility, status,
/// author, tags (any of them) and dates are applied by the index; the
/// list's other filters by the database, over those matches.
pub async fn narrow(db: &Db, engine: &Engine, mut filter: ListFilter) -> Result<ListFilter, AppError> {
    let Some(q) = filter.query.clone() else {
        return Ok(filter);
    };
    let now = crate::domain::date::now();
    // On the primary: editors' lists narrow here too.
    let resolved = resolve(db, false, filter.tags_any.clone(), filter.author_slug.clone()).await?;
    let Some((tag_ids, author_id)) = resolved else {
        filter.only_ids = Some(vec![]);
        return Ok(filter);
    };
    let search = SearchFilter {
        tag_ids,
        author_id: author_id.or(filter.author_id),
        from: filter.published_from,
        to: filter.published_to,
        visible_at: filter.visible_at,
        status: filter.status,
        ..SearchFilter::public(now)
    };
    let words = rules::words(&q);
    let ids = engine
        .run(move |index| index.rank(&words, &search, LIST_WINDOW))
        .await?;
    filter.only_ids = Some(ids);
    Ok(filter)
}

/// A relevance-ordered page of a list narrowed by [`narrow`]: the matches
/// that pass the database's filters, in rank order; and how many pass.
pub fn ranked_page(
    conn: &mut DbConnection,
    filter: &ListFilter,
    offset: usize,
    limit: usize,
) -> Result<(Vec<ArticleView>, i64), AppError> {
    let ranked = filter.only_ids.clone().unwrap_or_default();
    // The index applied visibility, status and the author id; only other
    // filters need the database (and the page load checks visibility).
    let kept: Vec<i64> = if filter.narrowed_beyond_search() {
        let passing: std::collections::HashSet<i64> = db::articles::ids(conn, filter)?.into_iter().collect();
        ranked.into_iter().filter(|id| passing.contains(id)).collect()
    } else {
        ranked
    };
    let page: Vec<i64> = kept.iter().skip(offset).take(limit).copied().collect();
    let views = load_in_order(conn, &page, filter.visible_at, filter.columns)?;
    Ok((views, kept.len() as i64))
}
