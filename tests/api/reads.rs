//! Uncached public reads: how many statements each costs, and that the
//! leaner queries behind them (joined pages, lists without bodies) still
//! answer with what the rows say.

use broadsheet::db::Backend;
use serde_json::{Value, json};

use crate::backend_tests_with;
use crate::support::TestApp;

async fn publish(app: &TestApp, token: &str, title: &str, minutes_ago: i64, tags: &[&str]) -> Value {
    let at = (chrono::Utc::now() - chrono::Duration::minutes(minutes_ago)).to_rfc3339();
    let res = app
        .post("/api/v1/admin/articles")
        .bearer(token)
        .json(json!({
            "title": title,
            "status": "published",
            "published_at": at,
            "tags": tags,
            "body_markdown": format!("The body of {title}.\n\n> A pull quote of {title}.\n\nThe end."),
        }))
        .send()
        .await;
    res.assert_status(201);
    res.json()
}

/// Statements a GET of `path` runs (the response cache is off here).
async fn statements(app: &TestApp, path: &str) -> u64 {
    let db = &app.parts.state.db;
    let before = db.work_query_count();
    app.get(path).send().await.assert_status(200);
    db.work_query_count() - before
}

/// Each public read runs a fixed, small number of statements whatever the
/// page holds: the article page one (the article with its stored author
/// and tags, `article_embeds`, read by subqueries); a list page one for
/// its rows with their stored authors and tags on SQLite, two on
/// PostgreSQL (its rows, then the page's stored embeds: per-row subqueries
/// cost PostgreSQL more than the round trip, see
/// `db::articles::embedded`), plus the total in page mode; a tag page the
/// same (the tag's id a subquery); a thread or a share count the article's
/// id and what was asked.
async fn each_read_costs_a_fixed_number_of_statements(app: TestApp) {
    let token = app.token_for("ed@example.com", "editor").await;
    for i in 0..6 {
        publish(
            &app,
            &token,
            &format!("Tram story {i}"),
            60 + i,
            &["cities", "transport"],
        )
        .await;
    }
    let page = match app.parts.state.db.backend() {
        Backend::Sqlite => 1,
        Backend::Postgres => 2,
    };
    assert_eq!(statements(&app, "/api/v1/articles/tram-story-1").await, 1);
    assert_eq!(statements(&app, "/api/v1/articles?per_page=5").await, page + 1);
    assert_eq!(
        statements(&app, "/api/v1/articles?per_page=5&cursor=").await,
        page
    );
    assert_eq!(
        statements(&app, "/api/v1/articles?tag=cities&per_page=5&cursor=").await,
        page
    );
    assert_eq!(
        statements(&app, "/api/v1/articles?tag=cities&per_page=5").await,
        page + 1
    );
    // Several tags: a short read of each to pick the rarest (once for the
    // page and its total), or each tag's entries of a page of any of them.
    assert_eq!(
        statements(
            &app,
            "/api/v1/articles?tags_all=cities,transport&per_page=5&cursor="
        )
        .await,
        2 + page
    );
    assert_eq!(
        statements(&app, "/api/v1/articles?tags_all=cities,transport&per_page=5").await,
        2 + page + 1
    );
    assert_eq!(
        statements(&app, "/api/v1/articles?tag=cities,transport&per_page=5&cursor=").await,
        2 + page
    );
    assert_eq!(
        statements(&app, "/api/v1/articles/tram-story-1/comments?cursor=").await,
        2
    );
    assert_eq!(statements(&app, "/api/v1/articles/tram-story-1/shares").await, 2);
}

/// A list reads its page with the limit written into the statement on
/// PostgreSQL, rounded up to one of a few sizes (`db::generic_plan`): pages of sizes
/// on either side of a rounding are whole, in order, and end where the
/// list ends, on both backends; and on PostgreSQL, once a statement has
/// run a few times on a connection, it runs on one generic plan instead of
/// being planned at every run (what the limit and the published status in
/// the text, and the opaque bounds, are for): the home list, a cursor page
/// and a tag's page.
async fn pages_of_every_size_are_whole_and_planned_once(app: TestApp) {
    let token = app.token_for("ed@example.com", "editor").await;
    for i in 0..12 {
        publish(&app, &token, &format!("Ferry story {i}"), 12 - i, &["harbour"]).await;
    }
    let newest_first: Vec<String> = (0..12).rev().map(|i| format!("ferry-story-{i}")).collect();
    for list in ["/api/v1/articles", "/api/v1/articles?tag=harbour"] {
        let join = if list.contains('?') { '&' } else { '?' };
        for per_page in [1, 4, 5, 6, 10, 19, 20, 21] {
            let mut seen = Vec::new();
            let mut next = Some(format!("{list}{join}per_page={per_page}&cursor="));
            while let Some(path) = next.take() {
                let page = app.get(&path).send().await.json();
                let items = page["data"].as_array().unwrap();
                seen.extend(items.iter().map(|a| a["slug"].as_str().unwrap().to_string()));
                next = page["links"]["next"].as_str().map(str::to_string);
                if next.is_some() {
                    assert_eq!(items.len(), per_page, "{path}");
                }
                assert!(seen.len() <= 12, "{path}: pages did not end");
            }
            assert_eq!(seen, newest_first, "{list} by {per_page}");
            let first = app
                .get(&format!("{list}{join}per_page={per_page}&page=1"))
                .send()
                .await
                .json();
            assert_eq!(first["data"].as_array().unwrap().len(), per_page.min(12));
            assert_eq!(first["meta"]["total"], 12);
        }
    }
    if app.parts.state.db.backend() != Backend::Postgres {
        return;
    }
    // Statistics, as a real database has them: the planner then knows that
    // every published row is past (`published_at <= now`) when it plans
    // for the values, and costs a generic plan that cannot know it dearer
    // unless the bound is opaque to both.
    app.parts
        .state
        .db
        .write_blocking(|conn| {
            use diesel::RunQueryDsl;
            // 2,000 more published articles like the first, tagged alike:
            // enough rows that a plan's cost tells the two guesses apart.
            diesel::sql_query(
                "DO $$ DECLARE cols text; BEGIN \
                 SELECT string_agg(quote_ident(column_name), ',') INTO cols \
                 FROM information_schema.columns WHERE table_name = 'articles' \
                 AND column_name NOT IN ('id', 'slug') AND is_generated = 'NEVER'; \
                 EXECUTE format('INSERT INTO articles (slug, %s) SELECT ''bulk-'' || g, %s \
                 FROM articles, generate_series(1, 2000) g WHERE slug = ''ferry-story-0''', cols, cols); \
                 INSERT INTO article_tags (article_id, tag_id, position, published_at) \
                 SELECT a.id, t.tag_id, t.position, a.published_at FROM articles a, article_tags t \
                 WHERE a.slug LIKE 'bulk-%' AND t.article_id = \
                 (SELECT id FROM articles WHERE slug = 'ferry-story-0'); END $$",
            )
            .execute(conn)?;
            // A tenth of them drafts or archived: published is then 90% of
            // the rows, which a bound status (one of three) cannot know.
            diesel::sql_query(
                "UPDATE articles SET status = CASE WHEN id % 20 = 0 THEN 'draft' ELSE 'archived' END \
                 WHERE slug LIKE 'bulk-%' AND id % 10 = 0",
            )
            .execute(conn)?;
            diesel::sql_query("ANALYZE articles, article_tags").execute(conn)?;
            Ok(())
        })
        .unwrap();
    // One connection (DB_POOL_SIZE=1), so every run below is on it. The
    // home list's first page, a cursor page further on, a tag's page, and
    // the home list in page mode (the same page, and its visible count).
    let second = app.get("/api/v1/articles?per_page=5&cursor=").send().await.json();
    let further = second["links"]["next"].as_str().unwrap().to_string();
    let lists = [
        "/api/v1/articles?per_page=20&cursor=".to_string(),
        further,
        "/api/v1/articles?tag=harbour&per_page=20&cursor=".to_string(),
        "/api/v1/articles?per_page=20".to_string(),
    ];
    #[derive(diesel::QueryableByName, Debug)]
    struct Plans {
        #[diesel(sql_type = diesel::sql_types::Text)]
        statement: String,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        generic_plans: i64,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        custom_plans: i64,
    }
    let plans = || -> std::collections::BTreeMap<String, (i64, i64)> {
        let rows: Vec<Plans> = app
            .parts
            .state
            .db
            .read_blocking(|conn| {
                use diesel::RunQueryDsl;
                Ok(diesel::sql_query(
                    "SELECT statement, generic_plans, custom_plans FROM pg_prepared_statements \
                     WHERE statement LIKE '%FROM %\"articles\"%LIMIT _%' \
                     OR statement LIKE '%article_status_counts%'",
                )
                .load(conn)?)
            })
            .unwrap();
        rows.into_iter()
            .map(|p| (p.statement, (p.generic_plans, p.custom_plans)))
            .collect()
    };
    // Ten runs each first: PostgreSQL plans the first five for their values,
    // and its average of them still holds the plans made before the new
    // statistics. Then ten more, which must all run on the generic plan.
    let run_all = || async {
        for _ in 0..10 {
            for list in &lists {
                app.get(list).send().await.assert_status(200);
            }
        }
    };
    run_all().await;
    let before = plans();
    run_all().await;
    let after = plans();
    let ran: Vec<(&String, i64, i64)> = after
        .iter()
        .map(|(statement, (generic, custom))| {
            let (g0, c0) = before.get(statement).copied().unwrap_or((0, 0));
            (statement, generic - g0, custom - c0)
        })
        .filter(|(_, generic, custom)| generic + custom >= 10)
        .collect();
    // The three list statements and the count.
    assert_eq!(ran.len(), 4, "the lists' statements: {after:#?}");
    for (statement, generic, custom) in ran {
        if !statement.contains("article_status_counts") {
            // The statement's own limit, last: a number, not `$n`.
            let limit = statement.rsplit_once(" LIMIT ").map(|(_, l)| l);
            assert!(
                limit.is_some_and(|l| l.parse::<i64>().is_ok()),
                "a bound limit: {statement}"
            );
        }
        // Ten runs, or twenty for the home list's first page (the same
        // statement in both modes): every one on the generic plan.
        assert!(
            custom == 0 && generic >= 10,
            "planned at runs ({generic} generic plans, {custom} custom): {statement}"
        );
    }
}

/// Lists load the bodies only when `fields` names one; when it does, every
/// list shape (home, tag page, author page, search) carries the stored
/// bodies, the same as the article page, and the tag page keeps its order.
async fn lists_carry_the_real_bodies_when_asked(app: TestApp) {
    let token = app.token_for("ed@example.com", "editor").await;
    let mut newest_first = Vec::new();
    for i in 0..4 {
        let a = publish(&app, &token, &format!("Night bus {i}"), 30 + i, &["transport"]).await;
        newest_first.push(a);
    }
    let author = newest_first[0]["author"]["slug"].as_str().unwrap().to_string();
    let lists = [
        "/api/v1/articles?per_page=10".to_string(),
        "/api/v1/articles?per_page=10&cursor=".to_string(),
        "/api/v1/articles?tag=transport&per_page=10&cursor=".to_string(),
        "/api/v1/articles?tag=transport&per_page=10".to_string(),
        format!("/api/v1/articles?author={author}&per_page=10"),
        "/api/v1/articles?q=night+bus&per_page=10".to_string(),
    ];
    for list in &lists {
        let plain = app.get(list).send().await.json();
        let items = plain["data"].as_array().unwrap();
        assert_eq!(items.len(), 4, "{list}: {plain}");
        for item in items {
            assert!(
                item.get("body_html").is_none() && item.get("body_markdown").is_none(),
                "{list}"
            );
            assert!(item["title"].as_str().unwrap().starts_with("Night bus"), "{list}");
        }
        let with_bodies = app
            .get(&format!("{list}&fields=id,slug,body_markdown,body_html"))
            .send()
            .await
            .json();
        for item in with_bodies["data"].as_array().unwrap() {
            let slug = item["slug"].as_str().unwrap();
            let page = app.get(&format!("/api/v1/articles/{slug}")).send().await.json();
            assert_eq!(item["body_markdown"], page["body_markdown"], "{list}");
            assert_eq!(item["body_html"], page["body_html"], "{list}");
            assert!(page["body_html"].as_str().unwrap().contains("<blockquote>"));
        }
    }
    let tag_page = app
        .get("/api/v1/articles?tag=transport&per_page=10&cursor=")
        .send()
        .await
        .json();
    let got: Vec<&Value> = tag_page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| &a["id"])
        .collect();
    let want: Vec<&Value> = newest_first.iter().map(|a| &a["id"]).collect();
    assert_eq!(got, want, "tag page order");
    assert_eq!(tag_page["data"][0]["tags"][0]["slug"], "transport");
    assert_eq!(tag_page["data"][0]["author"]["slug"], author.as_str());
}

/// The article `id` as `answer` shows it: the answer itself (an article
/// page) or the item of its `data` list with that id.
fn find(answer: &Value, id: i64) -> Option<Value> {
    if answer["id"] == id {
        return Some(answer.clone());
    }
    answer["data"]
        .as_array()?
        .iter()
        .find(|item| item["id"] == id)
        .cloned()
}

/// The slugs of an article's tags, in its order.
fn tag_slugs(article: &Value) -> Vec<&str> {
    article["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["slug"].as_str().unwrap())
        .collect()
}

/// Every read shape that shows article `id` (`slug`, by `author`), each
/// as `(label, answer)`; a shape that does not show it answers `None`.
async fn read_everywhere(app: &TestApp, id: i64, slug: &str, author: &str) -> Vec<(String, Option<Value>)> {
    let paths = [
        format!("/api/v1/articles/{slug}"),
        "/api/v1/articles?per_page=10".to_string(),
        "/api/v1/articles?per_page=10&cursor=".to_string(),
        "/api/v1/articles?tag=ports&per_page=10&cursor=".to_string(),
        "/api/v1/articles?tag=ports&per_page=10".to_string(),
        format!("/api/v1/articles?author={author}&per_page=10"),
        "/api/v1/articles/quay-neighbour/related?per_page=5".to_string(),
        "/api/v1/search?q=harbour".to_string(),
        "/api/v1/articles?q=harbour&per_page=10".to_string(),
    ];
    let mut out = Vec::new();
    for path in paths {
        let res = app.get(&path).send().await;
        let shown = match res.status.as_u16() {
            200 => find(&res.json(), id),
            404 => None,
            other => panic!("{path}: {other} {}", res.text()),
        };
        out.push((path, shown));
    }
    out
}

/// Asserts `check` of article `id` in every read shape.
async fn everywhere(
    app: &TestApp,
    id: i64,
    slug: &str,
    author: &str,
    what: &str,
    check: impl Fn(&Value) -> bool,
) {
    for (path, shown) in read_everywhere(app, id, slug, author).await {
        let shown = shown.unwrap_or_else(|| panic!("{path} does not show the article ({what})"));
        assert!(check(&shown), "{path}, {what}: {shown}");
    }
}

/// Every field a reader sees, edited, then read back through every read
/// shape (article page, lists in both modes, tag and author pages,
/// related articles, search) with the response cache off: the author and
/// tags each read embeds come from the stored copy (`article_embeds`),
/// which the write that changed them rewrote, never from an older one.
async fn every_edit_reads_back_through_every_read_shape(app: TestApp) {
    let admin = app.admin_token().await;
    let article = publish(&app, &admin, "Harbour plan", 5, &["Ports", "Budget"]).await;
    publish(&app, &admin, "Quay neighbour", 10, &["Ports"]).await;
    let id = article["id"].as_i64().unwrap();
    let slug = article["slug"].as_str().unwrap().to_string();
    let author_id = article["author"]["id"].as_i64().unwrap();
    let author = article["author"]["slug"].as_str().unwrap().to_string();
    let budget = article["tags"][1]["id"].as_i64().unwrap();
    everywhere(&app, id, &slug, &author, "as published", |a| {
        a["title"] == "Harbour plan" && a["tags"][0]["slug"] == "ports" && a["tags"][1]["slug"] == "budget"
    })
    .await;

    let patch = |body: Value| {
        let app = &app;
        let admin = &admin;
        async move {
            let res = app
                .patch(&format!("/api/v1/admin/articles/{id}"))
                .bearer(admin)
                .json(body)
                .send()
                .await;
            res.assert_status(200);
        }
    };
    patch(json!({"title": "Harbour plan revised", "subtitle": "A new standfirst"})).await;
    everywhere(&app, id, &slug, &author, "title and standfirst", |a| {
        a["title"] == "Harbour plan revised" && a["subtitle"] == "A new standfirst"
    })
    .await;
    patch(json!({"body_markdown": "A harbour body, rewritten."})).await;
    let page = app.get(&format!("/api/v1/articles/{slug}")).send().await.json();
    assert_eq!(page["body_markdown"], "A harbour body, rewritten.");
    assert!(
        page["body_html"].as_str().unwrap().contains("rewritten"),
        "{page}"
    );

    // Tags replaced and reordered.
    patch(json!({"tags": ["Budget", "Ports", "Quays"]})).await;
    everywhere(&app, id, &slug, &author, "tags in their new order", |a| {
        tag_slugs(a) == ["budget", "ports", "quays"]
    })
    .await;

    // A tag renamed: no write touches the article. The name carries what
    // JSON must escape (quotes, a backslash, a control character) and
    // what it must not mangle (accents, an emoji).
    let tag_name = "Spending \"&\" \\ caf\u{e9}s\t\u{1f68b}";
    app.patch(&format!("/api/v1/admin/tags/{budget}"))
        .bearer(&admin)
        .json(json!({"name": tag_name}))
        .send()
        .await
        .assert_status(200);
    everywhere(&app, id, &slug, &author, "the tag's new name", |a| {
        a["tags"][0]["id"] == budget && a["tags"][0]["name"] == tag_name && a["tags"][0]["slug"] == "budget"
    })
    .await;
    // Its slug changed, then another of the article's tags deleted: the
    // article itself is not written either time.
    app.patch(&format!("/api/v1/admin/tags/{budget}"))
        .bearer(&admin)
        .json(json!({"slug": "spending"}))
        .send()
        .await
        .assert_status(200);
    let page = app.get(&format!("/api/v1/articles/{slug}")).send().await.json();
    let quays = page["tags"][2]["id"].as_i64().unwrap();
    assert_eq!(page["tags"][2]["slug"], "quays", "{page}");
    app.delete(&format!("/api/v1/admin/tags/{quays}"))
        .bearer(&admin)
        .send()
        .await
        .assert_status(204);
    everywhere(
        &app,
        id,
        &slug,
        &author,
        "a tag's new slug, another tag deleted",
        |a| tag_slugs(a) == ["spending", "ports"],
    )
    .await;

    // The author renamed and given a picture: neither.
    let author_name = "Ren\u{e9}e \"Q\" O'Brien \\ \u{1f4f0}";
    let avatar = "https://example.com/avatars/renee.jpg";
    let renamed = app
        .patch(&format!("/api/v1/admin/editors/{author_id}"))
        .bearer(&admin)
        .json(json!({"name": author_name, "avatar_url": avatar}))
        .send()
        .await;
    renamed.assert_status(200);
    let author = renamed.json()["slug"].as_str().unwrap_or(&author).to_string();
    everywhere(&app, id, &slug, &author, "the author's new name", |a| {
        a["author"]["id"] == author_id
            && a["author"]["name"] == author_name
            && a["author"]["avatar_url"] == avatar
            && a["author"]["slug"] == author.as_str()
    })
    .await;

    // No tags at all: an empty list, not null, in every shape that does
    // not find the article by a tag (the tag page and related articles).
    patch(json!({"tags": []})).await;
    for (path, shown) in read_everywhere(&app, id, &slug, &author).await {
        if path.contains("tag=") || path.contains("/related") {
            continue;
        }
        let shown = shown.unwrap_or_else(|| panic!("{path} does not show the article (no tags)"));
        assert_eq!(shown["tags"], json!([]), "{path}");
    }
    patch(json!({"tags": ["Ports"]})).await;

    // Counters: the response cache is off, so the next read shows them.
    app.post(&format!("/api/v1/articles/{slug}/shares"))
        .json(json!({"channel": "email"}))
        .send()
        .await
        .assert_status(202);
    let pressed = std::time::Instant::now();
    loop {
        let all = read_everywhere(&app, id, &slug, &author).await;
        if all
            .iter()
            .all(|(_, a)| a.as_ref().is_some_and(|a| a["share_count"] == 1))
        {
            break;
        }
        assert!(
            pressed.elapsed() < std::time::Duration::from_secs(2),
            "share counts after {:?}: {all:?}",
            pressed.elapsed()
        );
        actix_web::rt::time::sleep(std::time::Duration::from_millis(100)).await;
    }

    // Unpublished: gone from every shape.
    patch(json!({"status": "draft"})).await;
    for (path, shown) in read_everywhere(&app, id, &slug, &author).await {
        assert!(shown.is_none(), "{path} still shows a draft: {shown:?}");
    }
}

/// Stored embeds against the rows they come from, under concurrent
/// writes: tag renames, author renames, article tag edits, and articles
/// created (and some deleted) race each other (on PostgreSQL in parallel transactions; SQLite has one writer),
/// every write succeeds, and afterwards every stored embed is what the
/// rows say now (`article_embeds` equals the view `article_embeds_live`
/// that builds it from them).
async fn stored_embeds_survive_racing_renames_and_edits(app: TestApp) {
    let admin = app.admin_token().await;
    let mut ids = Vec::new();
    for i in 0..6 {
        let a = publish(
            &app,
            &admin,
            &format!("Race {i}"),
            5 + i,
            &["Alpha", "Beta", "Gamma"],
        )
        .await;
        ids.push(a["id"].as_i64().unwrap());
    }
    let page = app.get("/api/v1/articles/race-0").send().await.json();
    let tag_ids: Vec<i64> = page["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_i64().unwrap())
        .collect();
    let author = page["author"]["id"].as_i64().unwrap();
    let mut writes = Vec::new();
    for round in 0..8 {
        for (k, tag) in tag_ids.iter().enumerate() {
            let (app, admin) = (&app, &admin);
            writes.push(Box::pin(async move {
                app.patch(&format!("/api/v1/admin/tags/{tag}"))
                    .bearer(admin)
                    .json(json!({"name": format!("Tag {k} round {round}")}))
                    .send()
                    .await
            })
                as std::pin::Pin<Box<dyn std::future::Future<Output = _>>>);
        }
        for (k, id) in ids.iter().enumerate() {
            let (app, admin) = (&app, &admin);
            let order = if (round + k) % 2 == 0 {
                json!(["alpha", "gamma"])
            } else {
                json!(["gamma", "beta", "alpha"])
            };
            writes.push(Box::pin(async move {
                app.patch(&format!("/api/v1/admin/articles/{id}"))
                    .bearer(admin)
                    .json(json!({"tags": order}))
                    .send()
                    .await
            }));
        }
        // An article created with the tags, and one deleted.
        let (app, admin) = (&app, &admin);
        writes.push(Box::pin(async move {
            let res = app
                .post("/api/v1/admin/articles")
                .bearer(admin)
                .json(
                    json!({"title": format!("Race new {round}"), "status": "published",
                             "tags": ["beta", "alpha"], "body_markdown": "A body."}),
                )
                .send()
                .await;
            res.assert_status(201);
            let id = res.json()["id"].as_i64().unwrap();
            if round % 2 == 0 {
                app.delete(&format!("/api/v1/admin/articles/{id}"))
                    .bearer(admin)
                    .send()
                    .await
                    .assert_status(204);
            }
            app.get(&format!("/api/v1/admin/articles/{id}"))
                .bearer(admin)
                .send()
                .await
        }));
        writes.push(Box::pin(async move {
            app.patch(&format!("/api/v1/admin/editors/{author}"))
                .bearer(admin)
                .json(json!({"name": format!("Author round {round}")}))
                .send()
                .await
        }));
    }
    for res in futures_util::future::join_all(writes).await {
        // 404: an article created and deleted in the race.
        assert!(
            matches!(res.status.as_u16(), 200 | 404),
            "{} {}",
            res.status,
            res.text()
        );
    }
    #[derive(diesel::QueryableByName)]
    struct Stale {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let stale = app
        .parts
        .state
        .db
        .read(|conn| {
            use diesel::RunQueryDsl;
            Ok(diesel::sql_query(
                "SELECT count(*) AS n FROM article_embeds_live AS l \
                 LEFT JOIN article_embeds AS e ON e.article_id = l.article_id \
                 WHERE e.article_id IS NULL OR e.author IS DISTINCT FROM l.author \
                 OR e.tags IS DISTINCT FROM l.tags",
            )
            .get_result::<Stale>(conn)?)
        })
        .await
        .unwrap();
    assert_eq!(stale.n, 0, "stored embeds that differ from the rows");
    // And the reads show the names the tags and the author have now
    // (whichever write committed last).
    let author_slug = page["author"]["slug"].as_str().unwrap();
    let author_now = app
        .get(&format!("/api/v1/authors/{author_slug}"))
        .send()
        .await
        .json();
    let mut tag_now = std::collections::HashMap::new();
    for slug in ["alpha", "beta", "gamma"] {
        let tag = app.get(&format!("/api/v1/tags/{slug}")).send().await.json();
        tag_now.insert(slug.to_string(), tag["name"].clone());
    }
    let shown = app
        .get("/api/v1/articles?per_page=10&cursor=")
        .send()
        .await
        .json();
    for item in shown["data"].as_array().unwrap() {
        assert_eq!(item["author"]["name"], author_now["name"], "{item}");
        for tag in item["tags"].as_array().unwrap() {
            assert_eq!(tag["name"], tag_now[tag["slug"].as_str().unwrap()], "{item}");
        }
    }
}

backend_tests_with!(
    [("RESPONSE_CACHE_BYTES", "0"), ("DB_POOL_SIZE", "1")],
    pages_of_every_size_are_whole_and_planned_once,
);

backend_tests_with!(
    [("RESPONSE_CACHE_BYTES", "0")],
    each_read_costs_a_fixed_number_of_statements,
    lists_carry_the_real_bodies_when_asked,
    every_edit_reads_back_through_every_read_shape,
    stored_embeds_survive_racing_renames_and_edits,
);
