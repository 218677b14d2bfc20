//! The sync feed, `GET /api/v1/changes`: every public action appears (a
//! scheduled article going public too, exactly once), private ones do not;
//! pages, collapsing and caching; bad cursors are `422`, purged ones `410
//! cursor_expired` (exactly: a cursor past every purged change stays
//! good); and a reader following the feed under concurrent writers whose
//! transactions commit out of order never skips a change.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use broadsheet::db::changes;
use serde_json::{Value, json};

use crate::support::{TestApp, create_article as create};
use crate::{backend_tests, backend_tests_with};

/// `(id, slug, action)` of a page's entries.
type Entry = (i64, String, String);

fn entries(page: &Value) -> Vec<Entry> {
    page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["id"].as_i64().unwrap(),
                e["slug"].as_str().unwrap().to_string(),
                e["action"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

async fn head(app: &TestApp) -> String {
    let res = app.get("/api/v1/changes").send().await;
    res.assert_status(200);
    let page = res.json();
    assert_eq!(page["data"], json!([]), "no `since`: an empty page");
    assert_eq!(page["meta"]["has_more"], false);
    page["meta"]["next_cursor"].as_str().unwrap().to_string()
}

/// Follows the feed from `cursor`, one change per page (so nothing is
/// collapsed), until at least `want` entries came (a
/// settled read on PostgreSQL may lag behind other databases'
/// transactions on the server), then once more to be sure nothing else
/// does; returns them and the cursor after them.
async fn follow(app: &TestApp, cursor: &str, want: usize) -> (Vec<Entry>, String) {
    let mut cursor = cursor.to_string();
    let mut seen = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let res = app
            .get(&format!("/api/v1/changes?since={cursor}&per_page=1"))
            .send()
            .await;
        res.assert_status(200);
        let page = res.json();
        seen.extend(entries(&page));
        cursor = page["meta"]["next_cursor"].as_str().unwrap().to_string();
        if page["meta"]["has_more"] == true {
            continue;
        }
        if seen.len() >= want {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "only {seen:?} after 20 s, wanted {want}"
        );
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    }
    (seen, cursor)
}

async fn patch(app: &TestApp, token: &str, id: i64, body: Value) -> Value {
    let res = app
        .patch(&format!("/api/v1/admin/articles/{id}"))
        .bearer(token)
        .json(body)
        .send()
        .await;
    res.assert_status(200);
    res.json()
}

fn entry(id: i64, slug: &str, action: &str) -> Entry {
    (id, slug.to_string(), action.to_string())
}

async fn every_public_action_appears_and_private_ones_do_not(app: TestApp) {
    let token = app.token_for("sync@example.com", "editor").await;
    let mut cursor = head(&app).await;

    // A draft written and edited: nothing. Then a publication: one entry.
    let draft = create(&app, &token, json!({"title": "Draft only", "body_markdown": "x"})).await;
    patch(
        &app,
        &token,
        draft["id"].as_i64().unwrap(),
        json!({"title": "Draft still"}),
    )
    .await;
    let a = create(
        &app,
        &token,
        json!({"title": "Alpha", "body_markdown": "x", "status": "published"}),
    )
    .await;
    let a_id = a["id"].as_i64().unwrap();
    let (got, next) = follow(&app, &cursor, 1).await;
    assert_eq!(got, [entry(a_id, "alpha", "published")]);
    cursor = next;

    // An edit of a public article, renaming it: `updated` with the new slug.
    patch(&app, &token, a_id, json!({"slug": "alpha-two"})).await;
    let (got, next) = follow(&app, &cursor, 1).await;
    assert_eq!(got, [entry(a_id, "alpha-two", "updated")]);
    cursor = next;

    // A scheduled article written and edited before its time: nothing; at
    // its time, `published`, once, dated when it went public.
    let at = chrono::Utc::now() + chrono::TimeDelta::milliseconds(1500);
    let s = create(
        &app,
        &token,
        json!({"title": "Scheduled", "body_markdown": "x", "status": "published", "published_at": at.to_rfc3339()}),
    )
    .await;
    let s_id = s["id"].as_i64().unwrap();
    patch(&app, &token, s_id, json!({"title": "Scheduled, edited"})).await;
    let (got, next) = follow(&app, &cursor, 1).await;
    let seen_at = chrono::Utc::now();
    assert_eq!(got, [entry(s_id, "scheduled", "published")]);
    assert!(
        seen_at - at < chrono::TimeDelta::seconds(3),
        "announced {} after its time",
        seen_at - at
    );
    cursor = next;

    // Unpublished: the tombstone. Deleted: another, with the old slug.
    patch(&app, &token, a_id, json!({"status": "draft"})).await;
    let b = create(
        &app,
        &token,
        json!({"title": "Beta", "body_markdown": "x", "status": "published"}),
    )
    .await;
    let b_id = b["id"].as_i64().unwrap();
    let (got, next) = follow(&app, &cursor, 2).await;
    assert_eq!(
        got,
        [
            entry(a_id, "alpha-two", "removed"),
            entry(b_id, "beta", "published")
        ]
    );
    cursor = next;
    app.delete(&format!("/api/v1/admin/articles/{b_id}"))
        .bearer(&token)
        .send()
        .await
        .assert_status(204);
    // A draft deleted: nothing.
    app.delete(&format!("/api/v1/admin/articles/{}", draft["id"]))
        .bearer(&token)
        .send()
        .await
        .assert_status(204);
    let (got, next) = follow(&app, &cursor, 1).await;
    assert_eq!(got, [entry(b_id, "beta", "removed")]);

    // The scheduled one's change is dated at its `published_at`, and the
    // log holds exactly one `published` row for it.
    let rows = read_all(&app).await;
    let published: Vec<_> = rows
        .iter()
        .filter(|r| r.entity_id == s_id && r.action.as_str() == "published")
        .collect();
    assert_eq!(published.len(), 1, "announced once");
    let changed_at = published[0]
        .changed_at
        .and_utc()
        .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true);
    assert_eq!(
        changed_at,
        s["published_at"].as_str().unwrap(),
        "dated when it went public"
    );
    let (rest, _) = follow(&app, &next, 0).await;
    assert_eq!(rest, [], "nothing more");
}

async fn read_all(app: &TestApp) -> Vec<changes::ChangeRow> {
    app.parts
        .state
        .db
        .read(|conn| {
            Ok(changes::read_committed_after(
                conn,
                changes::Position::default(),
                10_000,
            )?)
        })
        .await
        .unwrap()
}

/// Rescheduling: moved to the future, a public article is removed; when
/// the new time comes it is published again (once); moved back to the past
/// by an edit, the edit itself publishes it, and the announcer does not
/// again.
async fn rescheduled_articles_come_and_go_once_each(app: TestApp) {
    let token = app.token_for("resched@example.com", "editor").await;
    let cursor = head(&app).await;
    let a = create(
        &app,
        &token,
        json!({"title": "Moving", "body_markdown": "x", "status": "published"}),
    )
    .await;
    let id = a["id"].as_i64().unwrap();
    let soon = chrono::Utc::now() + chrono::TimeDelta::milliseconds(1200);
    patch(&app, &token, id, json!({"published_at": soon.to_rfc3339()})).await;
    let (got, cursor) = follow(&app, &cursor, 3).await;
    assert_eq!(
        got,
        [
            entry(id, "moving", "published"),
            entry(id, "moving", "removed"),
            entry(id, "moving", "published")
        ]
    );
    let later = chrono::Utc::now() + chrono::TimeDelta::hours(1);
    patch(&app, &token, id, json!({"published_at": later.to_rfc3339()})).await;
    let past = chrono::Utc::now() - chrono::TimeDelta::hours(1);
    patch(&app, &token, id, json!({"published_at": past.to_rfc3339()})).await;
    let (got, cursor) = follow(&app, &cursor, 2).await;
    assert_eq!(
        got,
        [entry(id, "moving", "removed"), entry(id, "moving", "published")]
    );
    // Long enough for the announcer to have looked several times.
    actix_web::rt::time::sleep(Duration::from_millis(800)).await;
    let (got, _) = follow(&app, &cursor, 0).await;
    assert_eq!(got, [], "announced by the edit, not again by the announcer");
}

/// Pages: `per_page`, `has_more`, `Link`; a full page is cacheable, the
/// last one revalidates (`304`); several changes of an article in one page
/// are one entry, at its last change.
async fn pages_collapse_and_cache(app: TestApp) {
    let token = app.token_for("pages@example.com", "editor").await;
    let start = head(&app).await;
    let mut ids = Vec::new();
    for i in 0..5 {
        let a = create(
            &app,
            &token,
            json!({"title": format!("Paged {i}"), "body_markdown": "x", "status": "published"}),
        )
        .await;
        ids.push(a["id"].as_i64().unwrap());
    }
    patch(&app, &token, ids[0], json!({"title": "Paged zero"})).await;
    // Wait until all six are readable.
    let (all, _) = follow(&app, &start, 6).await;
    assert_eq!(all.len(), 6);

    let first = app
        .get(&format!("/api/v1/changes?since={start}&per_page=2"))
        .send()
        .await;
    first.assert_status(200);
    assert_eq!(first.header("cache-control"), Some("public, max-age=60"));
    let page = first.json();
    assert_eq!(page["meta"]["has_more"], true);
    assert_eq!(page["meta"]["per_page"], 2);
    let next = page["meta"]["next_cursor"].as_str().unwrap().to_string();
    assert_eq!(
        page["links"]["next"],
        format!("/api/v1/changes?per_page=2&since={next}")
    );
    assert!(first.header("link").unwrap().contains("rel=\"next\""));
    assert_eq!(entries(&page).len(), 2);

    // One page holding all six changes: article 0 once, last, `published`
    // (published then edited in the same page is still news of it).
    let whole = app
        .get(&format!("/api/v1/changes?since={start}&per_page=6"))
        .send()
        .await;
    whole.assert_status(200);
    let got: Vec<(i64, String)> = entries(&whole.json())
        .into_iter()
        .map(|(id, _, action)| (id, action))
        .collect();
    let mut want: Vec<(i64, String)> = ids[1..].iter().map(|id| (*id, "published".to_string())).collect();
    want.push((ids[0], "published".to_string()));
    assert_eq!(got, want);

    // The last page: revalidated, and `304` while nothing happens.
    let last = app
        .get(&format!("/api/v1/changes?since={start}&per_page=100"))
        .send()
        .await;
    assert_eq!(last.header("cache-control"), Some("public, no-cache"));
    assert_eq!(last.json()["meta"]["has_more"], false);
    assert_eq!(last.json()["links"]["next"], Value::Null);
    let etag = last.header("etag").unwrap().to_string();
    let again = app
        .get(&format!("/api/v1/changes?since={start}&per_page=100"))
        .header("if-none-match", &etag)
        .send()
        .await;
    again.assert_status(304);
}

async fn bad_cursors_are_refused(app: TestApp) {
    let good = head(&app).await;
    assert_eq!(head(&app).await, good, "the head moves only with the feed");
    for since in ["junk", "MnxjaGFuZ2Vz", &format!("{good}x")] {
        app.get(&format!("/api/v1/changes?since={since}"))
            .send()
            .await
            .invalid_field("since");
    }
    // A cursor of another list is not a feed cursor.
    let token = app.token_for("cursors@example.com", "editor").await;
    for i in 0..2 {
        create(
            &app,
            &token,
            json!({"title": format!("C{i}"), "body_markdown": "x", "status": "published"}),
        )
        .await;
    }
    let list = app.get("/api/v1/articles?cursor=&per_page=1").send().await.json();
    let other = list["meta"]["next_cursor"].as_str().unwrap();
    app.get(&format!("/api/v1/changes?since={other}"))
        .send()
        .await
        .invalid_field("since");
    let long = "A".repeat(600);
    app.get(&format!("/api/v1/changes?since={long}"))
        .send()
        .await
        .invalid_field("since");
    for per_page in ["0", "101", "x"] {
        let res = app
            .get(&format!("/api/v1/changes?per_page={per_page}"))
            .send()
            .await;
        assert_eq!(res.status.as_u16(), 422, "{}", res.text());
    }
    let res = app.get("/api/v1/changes?cursor=").send().await;
    assert_eq!(res.status.as_u16(), 422, "unknown parameter: {}", res.text());
}

/// A cutoff past every change made so far (times are whole seconds).
fn soon() -> chrono::NaiveDateTime {
    broadsheet::domain::date::now() + chrono::TimeDelta::seconds(2)
}

/// Purges as the follower makes them (`changes::purge`), with a cutoff of
/// `before`.
async fn purge(app: &TestApp, before: chrono::NaiveDateTime) {
    app.parts
        .state
        .db
        .write(move |conn| Ok(changes::purge(conn, before, before, 100_000)?))
        .await
        .unwrap();
}

async fn expired_cursors_are_gone_exactly(app: TestApp) {
    let token = app.token_for("expiry@example.com", "editor").await;
    let c0 = head(&app).await;
    // Changes the feed never shows (a draft, a share) purged: every cursor
    // stays good.
    create(&app, &token, json!({"title": "Hidden", "body_markdown": "x"})).await;
    purge(&app, soon()).await;
    app.get(&format!("/api/v1/changes?since={c0}"))
        .send()
        .await
        .assert_status(200);

    let a = create(
        &app,
        &token,
        json!({"title": "Old news", "body_markdown": "x", "status": "published"}),
    )
    .await;
    let b = create(
        &app,
        &token,
        json!({"title": "Older news", "body_markdown": "x", "status": "published"}),
    )
    .await;
    let (got, c2) = follow(&app, &c0, 2).await;
    assert_eq!(got.len(), 2);
    let one = app
        .get(&format!("/api/v1/changes?since={c0}&per_page=1"))
        .send()
        .await
        .json();
    assert_eq!(entries(&one)[0].0, a["id"].as_i64().unwrap());
    let c1 = one["meta"]["next_cursor"].as_str().unwrap().to_string();

    // Both purged: a cursor before either of them is gone; one after both
    // missed nothing and stays good.
    purge(&app, soon()).await;
    for cursor in [&c0, &c1] {
        let res = app.get(&format!("/api/v1/changes?since={cursor}")).send().await;
        let problem = res.problem(410, "cursor_expired");
        assert!(
            problem["detail"].as_str().unwrap().contains("resync"),
            "{problem}"
        );
    }
    let fine = app.get(&format!("/api/v1/changes?since={c2}")).send().await;
    fine.assert_status(200);
    assert_eq!(fine.json()["data"], json!([]));
    // And after a new change it goes on from there.
    patch(
        &app,
        &token,
        b["id"].as_i64().unwrap(),
        json!({"title": "Newer news"}),
    )
    .await;
    let (got, _) = follow(&app, &c2, 1).await;
    assert_eq!(got, [entry(b["id"].as_i64().unwrap(), "older-news", "updated")]);
}

/// Writers whose transactions overlap and commit out of id order (a
/// PostgreSQL transaction id taken before or after the change's id), and a
/// client following the feed over HTTP all along with small pages: it ends
/// with every change, each once.
async fn a_sync_client_never_skips_a_change_that_commits_late(app: TestApp) {
    use broadsheet::domain::change::{Action, Change, Entity, Key};
    const WRITERS: i64 = 6;
    const EACH: i64 = 15;
    let mut cursor = head(&app).await;
    let db = app.parts.state.db.clone();
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let db = db.clone();
            std::thread::spawn(move || {
                for i in 0..EACH {
                    let n = w * 100 + i + 1;
                    db.write_blocking(|conn| {
                        if n % 2 == 0
                            && let broadsheet::db::DbConnection::Pg(pg) = conn
                        {
                            use diesel::RunQueryDsl;
                            diesel::sql_query("SELECT pg_current_xact_id()").execute(pg)?;
                        }
                        std::thread::sleep(Duration::from_millis((n % 3) as u64));
                        let change = Change::new(Entity::Article, n, Action::Updated, [Key::Article(n)])
                            .public(true)
                            .slug(format!("article-{n}"));
                        changes::record(conn, &change, broadsheet::domain::date::now())?;
                        std::thread::sleep(Duration::from_millis(((n * 7) % 5) as u64));
                        Ok(())
                    })
                    .unwrap();
                }
            })
        })
        .collect();
    let mut seen = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while seen.len() < (WRITERS * EACH) as usize && Instant::now() < deadline {
        let page = app
            .get(&format!("/api/v1/changes?since={cursor}&per_page=7"))
            .send()
            .await
            .json();
        seen.extend(entries(&page).into_iter().map(|(id, _, _)| id));
        cursor = page["meta"]["next_cursor"].as_str().unwrap().to_string();
        actix_web::rt::time::sleep(Duration::from_millis(2)).await;
    }
    for w in writers {
        w.join().unwrap();
    }
    actix_web::rt::time::sleep(Duration::from_millis(200)).await;
    let page = app
        .get(&format!("/api/v1/changes?since={cursor}&per_page=100"))
        .send()
        .await
        .json();
    seen.extend(entries(&page).into_iter().map(|(id, _, _)| id));
    let unique: BTreeSet<i64> = seen.iter().copied().collect();
    assert_eq!(unique.len(), seen.len(), "a change read twice");
    let expected: BTreeSet<i64> = (0..WRITERS)
        .flat_map(|w| (0..EACH).map(move |i| w * 100 + i + 1))
        .collect();
    assert_eq!(unique, expected, "a change was skipped");
}

backend_tests!(
    every_public_action_appears_and_private_ones_do_not,
    rescheduled_articles_come_and_go_once_each,
    pages_collapse_and_cache,
    bad_cursors_are_refused,
    expired_cursors_are_gone_exactly,
);

mod concurrent {
    use super::*;
    // Many connections, so that the writers' transactions really overlap
    // on PostgreSQL (SQLite runs one write at a time, in id order).
    backend_tests_with!(
        [("DB_POOL_SIZE", "10")],
        a_sync_client_never_skips_a_change_that_commits_late
    );
}
