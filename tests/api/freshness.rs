//! Freshness under writes: surrogate keys on every public response, the
//! change log, evictions by key (a share press leaves the article and the
//! lists cached, an edit does not), counters that catch up within
//! `COUNTS_MAX_LAG_SECONDS`, scheduled articles on time, and readers of the
//! change log that never skip a change that commits late.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use broadsheet::db::changes::{self, Position};
use serde_json::{Value, json};

use crate::support::TestApp;
use crate::{backend_tests, backend_tests_with};

async fn publish(app: &TestApp, token: &str, title: &str, tags: &[&str]) -> Value {
    let res = app
        .post("/api/v1/admin/articles")
        .bearer(token)
        .json(json!({"title": title, "body_markdown": "Some words.", "tags": tags, "status": "published"}))
        .send()
        .await;
    res.assert_status(201);
    res.json()
}

fn keys(res: &crate::support::TestResponse) -> BTreeSet<String> {
    res.header("surrogate-key")
        .unwrap_or_default()
        .split(' ')
        .filter(|k| !k.is_empty())
        .map(str::to_string)
        .collect()
}

fn set(keys: &[String]) -> BTreeSet<String> {
    keys.iter().cloned().collect()
}

async fn every_public_response_names_its_keys(app: TestApp) {
    let token = app.token_for("keys@example.com", "editor").await;
    let many: Vec<String> = (0..20).map(|i| format!("Topic number {i}")).collect();
    let many: Vec<&str> = many.iter().map(String::as_str).collect();
    let article = publish(&app, &token, "Keyed", &many).await;
    let (id, author) = (
        article["id"].as_i64().unwrap(),
        article["author"]["id"].as_i64().unwrap(),
    );
    let tag = article["tags"][0]["id"].as_i64().unwrap();
    let tag_slug = article["tags"][0]["slug"].as_str().unwrap().to_string();
    let comment = app
        .post("/api/v1/articles/keyed/comments")
        .json(json!({"author_name": "Ana", "author_email": "ana@example.com", "body": "Hello."}))
        .send()
        .await;
    assert!(comment.status.is_success(), "{}", comment.text());

    let page = app.get("/api/v1/articles/keyed").send().await;
    let mut expected = vec![format!("article:{id}"), format!("author:{author}")];
    expected.extend(
        article["tags"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| format!("tag:{}", t["id"])),
    );
    assert_eq!(keys(&page), set(&expected));
    assert!(
        page.header("surrogate-key").unwrap().len() <= 1024,
        "20 tags stay under 1 KB"
    );
    let etag = page.header("etag").unwrap().to_string();
    let not_modified = app
        .get("/api/v1/articles/keyed")
        .header("if-none-match", &etag)
        .send()
        .await;
    not_modified.assert_status(304);
    assert_eq!(keys(&not_modified), set(&expected), "a 304 names them too");

    let cases = [
        ("/api/v1/articles".to_string(), vec!["articles".to_string()]),
        (
            "/api/v1/articles?tag=".to_string() + &tag_slug,
            vec!["articles".to_string()],
        ),
        ("/api/v1/tags".to_string(), vec!["tags".to_string()]),
        (
            format!("/api/v1/tags/{tag_slug}"),
            vec![format!("tag:{tag}"), "tags".to_string()],
        ),
        (
            "/api/v1/articles/keyed/comments".to_string(),
            vec![format!("article:{id}"), format!("comments:{id}")],
        ),
        (
            "/api/v1/articles/keyed/shares".to_string(),
            vec![format!("article:{id}"), format!("shares:{id}")],
        ),
    ];
    for (path, want) in cases {
        let res = app.get(&path).send().await;
        res.assert_status(200);
        assert_eq!(keys(&res), set(&want), "{path}");
    }
    // Counters are never sent to CDNs, nor are editor routes keyed.
    let list = app.get("/api/v1/articles").send().await;
    assert!(!list.header("surrogate-key").unwrap().contains("counts:"));
    let admin = app
        .get(&format!("/api/v1/admin/articles/{id}"))
        .bearer(&token)
        .send()
        .await;
    assert_eq!(admin.header("surrogate-key"), None);
}

async fn cloudflare_gets_comma_separated_cache_tags(app: TestApp) {
    let token = app.token_for("cf@example.com", "editor").await;
    let article = publish(&app, &token, "Tagged for the edge", &["Edge"]).await;
    let res = app.get("/api/v1/articles/tagged-for-the-edge").send().await;
    assert_eq!(res.header("surrogate-key"), None);
    let value = res.header("cache-tag").expect("cache-tag");
    assert!(value.contains(&format!("article:{},", article["id"])), "{value}");
    assert!(!value.contains(' '), "{value}");
}

async fn a_share_press_leaves_the_article_and_lists_cached(app: TestApp) {
    let token = app.token_for("press@example.com", "editor").await;
    let stats = app.parts.state.cache.stats();
    let app = &app;
    let token = &token;
    let seen = app
        .with_cache_in_sync(|run| {
            let stats = stats.clone();
            async move {
                let slug = publish(app, token, &format!("Pressed {run}"), &["Presses"]).await["slug"]
                    .as_str()
                    .unwrap()
                    .to_string();
                let article = format!("/api/v1/articles/{slug}");
                let shares = format!("{article}/shares");
                for path in [&article, "/api/v1/articles", &shares] {
                    app.get(path).send().await.assert_status(200);
                }
                let press = app.post(&shares).json(json!({"channel": "email"})).send().await;
                assert!(press.status.is_success(), "{}", press.text());

                let hits = stats.hits();
                let page = app.get(&article).send().await.json();
                let list = app.get("/api/v1/articles").send().await.json();
                let lists_kept = stats.hits() - hits;
                let counts = app.get(&shares).send().await;
                let counts_kept = stats.hits() - hits - lists_kept;

                // A comment held for moderation changes nothing the public sees.
                let comment = app
                    .post(&format!("{article}/comments"))
                    .json(json!({"author_name": "Bo", "author_email": "bo@example.com", "body": "Held."}))
                    .send()
                    .await;
                assert!(comment.status.is_success(), "{}", comment.text());
                assert_eq!(comment.json()["status"], "pending");
                let before = stats.hits();
                app.get(&article).send().await.assert_status(200);
                let article_kept = stats.hits() - before;
                (page, list, counts.json(), [lists_kept, counts_kept, article_kept])
            }
        })
        .await;
    let (page, list, counts, [lists_kept, counts_kept, article_kept]) = seen;
    assert_eq!(lists_kept, 2, "the article and the list are still cached");
    assert_eq!(page["share_count"], 0, "its counter lags (by design)");
    assert_eq!(list["data"][0]["share_count"], 0);
    assert_eq!(counts_kept, 0, "the counts route was evicted");
    assert_eq!(counts["total"], 1, "and is exact");
    assert_eq!(article_kept, 1, "the article is still cached");
}

async fn counters_catch_up_within_the_lag(app: TestApp) {
    let token = app.token_for("lag@example.com", "editor").await;
    publish(&app, &token, "Lagging", &[]).await;
    publish(&app, &token, "Leading", &[]).await;
    let ranked = || async {
        let list = app.get("/api/v1/articles?sort=-share_count").send().await.json();
        list["data"][0]["slug"].as_str().unwrap().to_string()
    };
    assert_eq!(ranked().await, "leading", "the newest first among equals");
    app.get("/api/v1/articles/lagging")
        .send()
        .await
        .assert_status(200);
    app.post("/api/v1/articles/lagging/shares")
        .json(json!({"channel": "x"}))
        .send()
        .await
        .assert_status(202);
    let pressed = Instant::now();
    loop {
        let page = app.get("/api/v1/articles/lagging").send().await.json();
        // The counter, and the order of the most-shared list.
        if page["share_count"] == 1 && ranked().await == "lagging" {
            break;
        }
        // COUNTS_MAX_LAG_SECONDS=1, with half a second for a loaded machine.
        assert!(pressed.elapsed() < Duration::from_millis(1500), "still {page}");
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn editorial_changes_show_on_the_next_read(app: TestApp) {
    let admin = app.admin_token().await;
    let article = publish(&app, &admin, "Fresh", &["Old name"]).await;
    let id = article["id"].as_i64().unwrap();
    let tag = article["tags"][0]["id"].as_i64().unwrap();
    let author = article["author"]["id"].as_i64().unwrap();
    let read = || async { app.get("/api/v1/articles/fresh").send().await };
    let list = || async { app.get("/api/v1/articles").send().await.json() };
    for _ in 0..2 {
        read().await.assert_status(200);
        list().await;
    }

    app.patch(&format!("/api/v1/admin/tags/{tag}"))
        .bearer(&admin)
        .json(json!({"name": "New name"}))
        .send()
        .await
        .assert_status(200);
    assert_eq!(read().await.json()["tags"][0]["name"], "New name");
    assert_eq!(list().await["data"][0]["tags"][0]["name"], "New name");

    app.patch(&format!("/api/v1/admin/editors/{author}"))
        .bearer(&admin)
        .json(json!({"name": "Renamed Author"}))
        .send()
        .await
        .assert_status(200);
    assert_eq!(read().await.json()["author"]["name"], "Renamed Author");
    assert_eq!(list().await["data"][0]["author"]["name"], "Renamed Author");

    let comment = app
        .post("/api/v1/articles/fresh/comments")
        .json(json!({"author_name": "Cy", "author_email": "cy@example.com", "body": "Approve me."}))
        .send()
        .await
        .json();
    let thread = || async { app.get("/api/v1/articles/fresh/comments").send().await.json() };
    assert_eq!(thread().await["data"].as_array().unwrap().len(), 0);
    app.patch(&format!("/api/v1/admin/comments/{}", comment["id"]))
        .bearer(&admin)
        .json(json!({"status": "approved"}))
        .send()
        .await
        .assert_status(200);
    assert_eq!(
        thread().await["data"].as_array().unwrap().len(),
        1,
        "moderation shows at once"
    );

    app.patch(&format!("/api/v1/admin/articles/{id}"))
        .bearer(&admin)
        .json(json!({"status": "draft"}))
        .send()
        .await
        .assert_status(200);
    read().await.assert_status(404);
    assert_eq!(
        list().await["data"].as_array().unwrap().len(),
        0,
        "a takedown leaves the lists at once"
    );
    app.get("/api/v1/articles/fresh/comments")
        .send()
        .await
        .assert_status(404);
}

async fn scheduled_articles_appear_on_time(app: TestApp) {
    let token = app.token_for("sched@example.com", "editor").await;
    let at = chrono::Utc::now() + chrono::TimeDelta::milliseconds(1500);
    let res = app
        .post("/api/v1/admin/articles")
        .bearer(&token)
        .json(json!({"title": "Later", "status": "published", "published_at": at.to_rfc3339()}))
        .send()
        .await;
    res.assert_status(201);
    let count = || async {
        app.get("/api/v1/articles").send().await.json()["data"]
            .as_array()
            .unwrap()
            .len()
    };
    assert_eq!(count().await, 0);
    assert_eq!(count().await, 0, "cached while it waits");
    loop {
        let n = count().await;
        let late = chrono::Utc::now() - at;
        if n == 1 {
            break;
        }
        assert!(
            late < chrono::TimeDelta::milliseconds(1000),
            "still hidden {late} after its time"
        );
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn read_all(app: &TestApp) -> Vec<changes::ChangeRow> {
    app.parts
        .state
        .db
        // Every committed row in id order (a settled read may wait for
        // transactions of other test databases on the same server).
        .read(|conn| Ok(changes::read_committed_after(conn, Position::default(), 10_000)?))
        .await
        .unwrap()
}

async fn every_write_records_its_change(app: TestApp) {
    let token = app.token_for("log@example.com", "editor").await;
    let before = read_all(&app).await.len();
    let article = publish(&app, &token, "Logged", &["Logs"]).await;
    let id = article["id"].as_i64().unwrap();
    // A refused write records nothing: its transaction rolled back.
    app.patch(&format!("/api/v1/admin/articles/{id}"))
        .bearer(&token)
        .header("if-match", "\"stale\"")
        .json(json!({"title": "Nope"}))
        .send()
        .await
        .assert_status(412);
    app.post("/api/v1/articles/logged/shares")
        .json(json!({"channel": "email"}))
        .send()
        .await
        .assert_status(202);
    let rows = read_all(&app).await;
    let new: Vec<_> = rows[before..]
        .iter()
        .map(|r| (r.entity.as_str(), r.action.as_str(), r.keys.clone()))
        .collect();
    assert_eq!(
        new,
        [
            (
                "article",
                "published",
                format!("article:{id} articles tags authors")
            ),
            ("share", "created", format!("shares:{id} counts:{id} rankings")),
        ]
    );
}

/// Writers that take ids in one order and commit in another, and a reader
/// polling all along: the reader ends with every committed change, once.
async fn readers_never_skip_a_change_that_commits_late(app: TestApp) {
    use broadsheet::domain::change::{Action, Change, Entity, Key};
    const WRITERS: i64 = 6;
    const EACH: i64 = 15;
    let db = app.parts.state.db.clone();
    let reader = {
        let db = db.clone();
        std::thread::spawn(move || {
            let mut position = Position::default();
            let mut seen = Vec::new();
            // Until every change is read or long after the writers are
            // done: a change the position passed before it committed would
            // never come. (An empty read proves nothing on PostgreSQL: a
            // transaction of any other database on the server holds rows
            // back until it ends.)
            let deadline = Instant::now() + Duration::from_secs(30);
            while seen.len() < (WRITERS * EACH) as usize && Instant::now() < deadline {
                let rows = db
                    .read_blocking(move |conn| Ok(changes::read_settled(conn, position, 50)?))
                    .unwrap();
                for row in &rows {
                    position = row.position();
                    seen.push(row.entity_id);
                }
                std::thread::sleep(Duration::from_millis(1));
            }
            // And nothing more after that.
            std::thread::sleep(Duration::from_millis(200));
            let rows = db
                .read_blocking(move |conn| Ok(changes::read_settled(conn, position, 50)?))
                .unwrap();
            seen.extend(rows.iter().map(|r| r.entity_id));
            seen
        })
    };
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let db = db.clone();
            std::thread::spawn(move || {
                for i in 0..EACH {
                    let n = w * 100 + i + 1;
                    db.write_blocking(|conn| {
                        // Some transactions take their PostgreSQL id before
                        // their change's id, so the two orders differ too.
                        if n % 2 == 0
                            && let broadsheet::db::DbConnection::Pg(pg) = conn
                        {
                            use diesel::RunQueryDsl;
                            diesel::sql_query("SELECT pg_current_xact_id()").execute(pg)?;
                        }
                        // Hold the transaction open around the insert, for
                        // different times, so ids commit out of order.
                        std::thread::sleep(Duration::from_millis((n % 3) as u64));
                        let change = Change::new(Entity::Article, n, Action::Updated, [Key::Article(n)]);
                        changes::record(conn, &change, broadsheet::domain::date::now())?;
                        std::thread::sleep(Duration::from_millis(((n * 7) % 5) as u64));
                        Ok(())
                    })
                    .unwrap();
                }
            })
        })
        .collect();
    for w in writers {
        w.join().unwrap();
    }
    let seen = reader.join().unwrap();
    let unique: BTreeSet<i64> = seen.iter().copied().collect();
    assert_eq!(unique.len(), seen.len(), "a change read twice");
    let expected: BTreeSet<i64> = (0..WRITERS)
        .flat_map(|w| (0..EACH).map(move |i| w * 100 + i + 1))
        .collect();
    assert_eq!(unique, expected, "a change was skipped");
}

async fn metrics_show_evictions_by_cause(app: TestApp) {
    let token = app.token_for("m@example.com", "editor").await;
    let article = publish(&app, &token, "Measured", &[]).await;
    app.get("/api/v1/articles/measured").send().await;
    app.get("/api/v1/articles/measured").send().await;
    app.patch(&format!("/api/v1/admin/articles/{}", article["id"]))
        .bearer(&token)
        .json(json!({"title": "Measured again"}))
        .send()
        .await
        .assert_status(200);
    let text = app.get("/metrics").send().await.text();
    for line in [
        "broadsheet_response_cache_evictions_total{cause=\"local_write\"} 1",
        "broadsheet_response_cache_evictions_total{cause=\"other_instance\"} 0",
        "broadsheet_response_cache_hit_ratio 0.5",
        "broadsheet_change_log_in_sync 1",
    ] {
        assert!(text.contains(line), "{line} missing:\n{text}");
    }
}

backend_tests!(
    every_public_response_names_its_keys,
    editorial_changes_show_on_the_next_read,
    scheduled_articles_appear_on_time,
    every_write_records_its_change,
    metrics_show_evictions_by_cause,
);

mod concurrent {
    use super::*;
    // Many connections, so that the writers' transactions really overlap
    // on PostgreSQL (SQLite runs one write at a time, in id order).
    backend_tests_with!(
        [("DB_POOL_SIZE", "10")],
        readers_never_skip_a_change_that_commits_late
    );
}

mod lag {
    use super::*;
    backend_tests_with!(
        [("COUNTS_MAX_LAG_SECONDS", "1")],
        counters_catch_up_within_the_lag
    );
}

mod lagging {
    use super::*;
    backend_tests_with!(
        [("COUNTS_MAX_LAG_SECONDS", "10")],
        a_share_press_leaves_the_article_and_lists_cached_under_the_default_lag
    );
    async fn a_share_press_leaves_the_article_and_lists_cached_under_the_default_lag(app: TestApp) {
        super::a_share_press_leaves_the_article_and_lists_cached(app).await
    }
}

mod cloudflare {
    use super::*;
    backend_tests_with!(
        [("SURROGATE_KEY_HEADER", "Cache-Tag")],
        cloudflare_gets_comma_separated_cache_tags
    );
}
