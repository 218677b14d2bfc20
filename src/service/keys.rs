//! Freshness in one place: the surrogate keys each public representation
//! is built from (read side), and the change each write records with the
//! keys it touches (write side). The two halves must agree; they live
//! side by side so that one review sees both. Key meanings:
//! `domain::change`.

use chrono::NaiveDateTime;

use crate::db::articles::ArticleView;
use crate::db::articles::announce::Due;
use crate::db::{self, DbConnection};
use crate::domain::article::ArticleStatus;
use crate::domain::change::{Action, Change, Entity, Key, KeySet};
use crate::error::AppError;

// ----------------------------------------------------------------------
// Read side

/// An article page: the article, who wrote it, its tags' names, its counters.
pub fn article(view: &ArticleView) -> KeySet {
    let id = view.article.id;
    KeySet::new(
        [Key::Article(id), Key::Author(view.author.id), Key::Counts(id)]
            .into_iter()
            .chain(view.tags.iter().map(|t| Key::Tag(t.id))),
    )
}

/// An article list (home, tag or author page, search): any public article
/// change may enter or leave it; its items' counters lag, and so does its
/// order when it is `ranked` by a counter.
pub fn article_list(ids: impl IntoIterator<Item = i64>, ranked: bool) -> KeySet {
    let rankings = ranked.then_some(Key::Rankings);
    KeySet::new(
        std::iter::once(Key::Articles)
            .chain(rankings)
            .chain(ids.into_iter().map(Key::Counts)),
    )
}

/// The related articles of article `id`: like a list (any article write
/// can change it), and the article itself (its tags).
pub fn related(id: i64, ids: impl IntoIterator<Item = i64>) -> KeySet {
    KeySet::new(
        [Key::Articles, Key::Article(id)]
            .into_iter()
            .chain(ids.into_iter().map(Key::Counts)),
    )
}

/// A feed or sitemap: which public articles exist, with their titles,
/// addresses, times, tag and author names. Every change to a public
/// article, and every tag or author rename, touches `articles`; feeds and
/// sitemaps show no counters, so no `counts:` keys.
pub fn syndication() -> KeySet {
    KeySet::new([Key::Articles])
}

/// The tag list: names and article counts.
pub fn tag_list() -> KeySet {
    KeySet::new([Key::Tags])
}

/// One tag: its own fields, and its article count (which moves with
/// article changes, that touch `tags`).
pub fn tag(id: i64) -> KeySet {
    KeySet::new([Key::Tag(id), Key::Tags])
}

/// The author list: profiles and article counts.
pub fn author_list() -> KeySet {
    KeySet::new([Key::Authors])
}

/// One author's page: their profile (`author:<id>`, which their articles
/// carry too), and their article count (which moves with article changes,
/// that touch `authors`).
pub fn author(id: i64) -> KeySet {
    KeySet::new([Key::Author(id), Key::Authors])
}

/// An article's comment thread, or one comment of it (gone with the
/// article, too).
pub fn comments(article_id: i64) -> KeySet {
    KeySet::new([Key::Article(article_id), Key::Comments(article_id)])
}

/// An article's share counts: exact.
pub fn shares(article_id: i64) -> KeySet {
    KeySet::new([Key::Article(article_id), Key::Shares(article_id)])
}

// ----------------------------------------------------------------------
// Write side

fn record(conn: &mut DbConnection, change: Change) -> Result<(), AppError> {
    db::changes::record(conn, &change, crate::domain::date::now())?;
    Ok(())
}

/// An article created (`before` None), changed, or deleted (`after` None).
/// A change the public never saw (a draft edited) touches only the
/// article's own key.
///
/// It also keeps the article's `announced_at` (see
/// `db::articles::announce`), read under the row lock so that this write
/// and the announcer take turns: the write that makes an article public
/// records its `published` change and marks it announced (so the announcer
/// never announces it again); one that takes it out of view clears it; an
/// announced article whose status and `published_at` this write leaves
/// alone stays public, whatever this instance's clock says.
pub fn article_written(
    conn: &mut DbConnection,
    before: Option<&ArticleView>,
    after: Option<&ArticleView>,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    let Some(id) = after.or(before).map(|v| v.article.id) else {
        return Ok(());
    };
    let announced = db::articles::announce::lock(conn, id)?.flatten();
    let untouched = |b: &ArticleView, a: &ArticleView| {
        a.article.status == ArticleStatus::Published && a.article.published_at == b.article.published_at
    };
    let was = before.is_some_and(|v| v.article.is_visible(now)) || announced.is_some();
    let is = after.is_some_and(|a| {
        a.article.is_visible(now) || (announced.is_some() && before.is_some_and(|b| untouched(b, a)))
    });
    let action = match (before, after) {
        (None, _) if is => Action::Published,
        (None, _) => Action::Created,
        (_, None) => Action::Deleted,
        // Public by its clock but not announced yet: this write announces it.
        _ if is && announced.is_none() => Action::Published,
        _ => Action::of_article(was, is),
    };
    if after.is_some() {
        let wanted = if is { announced.or(Some(now)) } else { None };
        if wanted != announced {
            db::articles::announce::set(conn, id, wanted)?;
        }
    }
    // Lists are keyed by status, not by the clock: a scheduled article is
    // one edit away from the lists however close its `published_at` is.
    let listed = |v: Option<&ArticleView>| v.is_some_and(|v| v.article.status == ArticleStatus::Published);
    let mut keys = vec![Key::Article(id)];
    if was || is || listed(before) || listed(after) {
        keys.extend([Key::Articles, Key::Tags, Key::Authors]);
    }
    let slug = after
        .or(before)
        .map(|v| v.article.slug.clone())
        .unwrap_or_default();
    record(
        conn,
        Change::new(Entity::Article, id, action, keys)
            .public(was || is)
            .slug(slug),
    )
}

/// A scheduled article went public and the announcer claimed it
/// (`db::articles::announce::claim_due`): the change a publication
/// records, with the same keys, dated when it went public (its
/// `published_at`), not when the announcer saw it.
pub fn article_announced(conn: &mut DbConnection, due: &Due, now: NaiveDateTime) -> Result<(), AppError> {
    let id = due.id;
    let change = Change::new(
        Entity::Article,
        id,
        Action::Published,
        [Key::Article(id), Key::Articles, Key::Tags, Key::Authors],
    )
    .public(true)
    .slug(due.slug.clone());
    db::changes::record(conn, &change, due.published_at.unwrap_or(now))?;
    Ok(())
}

/// A tag created, renamed or re-described, or deleted: every article
/// showing its name and every list embedding those articles.
pub fn tag_written(conn: &mut DbConnection, id: i64, slug: &str, action: Action) -> Result<(), AppError> {
    let keys = match action {
        Action::Created => vec![Key::Tags],
        _ => vec![Key::Tag(id), Key::Tags, Key::Articles],
    };
    record(
        conn,
        Change::new(Entity::Tag, id, action, keys).public(true).slug(slug),
    )
}

/// An editor's public profile changed (what the author routes show), or
/// the editor went. `embedded` when the name or avatar changed, which every
/// article of theirs, and every list showing one, embeds.
pub fn author_written(
    conn: &mut DbConnection,
    id: i64,
    action: Action,
    embedded: bool,
) -> Result<(), AppError> {
    let mut keys = vec![Key::Author(id), Key::Authors];
    if embedded {
        keys.push(Key::Articles);
    }
    record(conn, Change::new(Entity::Editor, id, action, keys).public(true))
}

/// A comment appeared, changed status or went. `visible` when the public
/// thread changed (an approved comment came or went); the article's
/// `comment_count` follows within the counters' lag either way.
pub fn comment_written(
    conn: &mut DbConnection,
    id: i64,
    article_id: i64,
    action: Action,
    visible: bool,
) -> Result<(), AppError> {
    let mut keys = vec![Key::Counts(article_id), Key::Rankings];
    if visible {
        keys.push(Key::Comments(article_id));
    }
    record(
        conn,
        Change::new(Entity::Comment, id, action, keys).public(visible),
    )
}

/// Share presses on these articles: their counts routes at once, the
/// counters in bodies and lists within the lag. One row per article per
/// batch, however many presses.
pub fn shares_written(conn: &mut DbConnection, article_ids: &[i64], action: Action) -> Result<(), AppError> {
    for id in article_ids {
        record(
            conn,
            Change::new(
                Entity::Share,
                *id,
                action,
                [Key::Shares(*id), Key::Counts(*id), Key::Rankings],
            )
            .public(true),
        )?;
    }
    Ok(())
}
