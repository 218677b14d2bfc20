//! Articles: editor writes, the workflow, public reads, lists, search,
//! pagination, caching.

use std::collections::HashSet;

use futures_util::future::join_all;
use serde_json::{Value, json};

use crate::backend_tests;
use crate::support::{TestApp, create_article as create, urlencode};

fn ids(body: &Value) -> Vec<i64> {
    body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_i64().unwrap())
        .collect()
}

async fn an_editor_drafts_publishes_edits_and_archives(app: TestApp) {
    let token = app.token_for("ed@example.com", "editor").await;
    let res = app
        .post("/api/v1/admin/articles")
        .bearer(&token)
        .json(json!({
            "title": "It's too late now",
            "subtitle": "Why the city should stop waiting",
            "body_markdown": "First paragraph about trams.\n\n> The best tram is the one that runs.\n\nLast words.",
            "tags": ["Cities", "transport", "cities"]
        }))
        .send()
        .await;
    res.assert_status(201);
    let draft = res.json();
    let id = draft["id"].as_i64().unwrap();
    assert_eq!(
        res.header("location"),
        Some(format!("/api/v1/admin/articles/{id}").as_str())
    );
    assert_eq!(draft["slug"], "its-too-late-now");
    assert_eq!(draft["status"], "draft");
    assert!(draft["published_at"].is_null());
    assert_eq!(draft["word_count"], 14);
    assert_eq!(draft["reading_time_minutes"], 1);
    assert!(draft["body_html"].as_str().unwrap().contains("<blockquote>"));
    assert!(
        draft["excerpt"]
            .as_str()
            .unwrap()
            .starts_with("First paragraph about trams.")
    );
    let tag_slugs: Vec<&str> = draft["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["slug"].as_str().unwrap())
        .collect();
    assert_eq!(
        tag_slugs,
        vec!["cities", "transport"],
        "duplicates dropped, order kept"
    );
    assert_eq!(
        draft["author"]["slug"],
        "ed-example-com".replace("-example-com", "")
    );

    // A draft is invisible to the public.
    app.get("/api/v1/articles/its-too-late-now")
        .send()
        .await
        .problem(404, "not_found");

    let res = app
        .patch(&format!("/api/v1/admin/articles/{id}"))
        .bearer(&token)
        .json(json!({"status": "published"}))
        .send()
        .await;
    res.assert_status(200);
    let published = res.json();
    assert!(
        published["published_at"].is_string(),
        "first publish stamps the time"
    );
    let public = app.get("/api/v1/articles/its-too-late-now").send().await;
    public.assert_status(200);
    assert_eq!(public.json()["title"], "It's too late now");
    assert!(public.header("last-modified").is_some());
    assert_eq!(public.header("cache-control"), Some("public, max-age=60"));

    // Editing the body re-renders and re-derives the excerpt.
    let edited = app
        .patch(&format!("/api/v1/admin/articles/{id}"))
        .bearer(&token)
        .json(json!({"body_markdown": "A **new** body.", "subtitle": null}))
        .send()
        .await
        .json();
    assert_eq!(edited["body_html"], "<p>A <strong>new</strong> body.</p>\n");
    assert_eq!(edited["excerpt"], "A new body.");
    assert!(edited["subtitle"].is_null());
    assert_eq!(
        edited["published_at"], published["published_at"],
        "re-saving keeps the time"
    );

    app.patch(&format!("/api/v1/admin/articles/{id}"))
        .bearer(&token)
        .json(json!({"status": "archived"}))
        .send()
        .await
        .assert_status(200);
    app.get("/api/v1/articles/its-too-late-now")
        .send()
        .await
        .problem(404, "not_found");

    app.delete(&format!("/api/v1/admin/articles/{id}"))
        .bearer(&token)
        .send()
        .await
        .assert_status(204);
    app.get(&format!("/api/v1/admin/articles/{id}"))
        .bearer(&token)
        .send()
        .await
        .problem(404, "not_found");
}

async fn slugs_are_unique_and_editor_slugs_checked(app: TestApp) {
    let token = app.token_for("ed@example.com", "editor").await;
    let a = create(&app, &token, json!({"title": "Café society, again!"})).await;
    let b = create(&app, &token, json!({"title": "Café society again"})).await;
    let c = create(&app, &token, json!({"title": "cafe SOCIETY again"})).await;
    assert_eq!(a["slug"], "cafe-society-again");
    assert_eq!(b["slug"], "cafe-society-again-2");
    assert_eq!(c["slug"], "cafe-society-again-3");
    let custom = create(&app, &token, json!({"title": "Anything", "slug": "my-own-slug"})).await;
    assert_eq!(custom["slug"], "my-own-slug");
    app.post("/api/v1/admin/articles")
        .bearer(&token)
        .json(json!({"title": "Other", "slug": "my-own-slug"}))
        .send()
        .await
        .problem(409, "conflict");
    for bad in ["Has Caps", "../etc/passwd", "trailing-", "", "ünïcode"] {
        app.post("/api/v1/admin/articles")
            .bearer(&token)
            .json(json!({"title": "Other", "slug": bad}))
            .send()
            .await
            .invalid_field("slug");
    }
}

async fn concurrent_creates_with_one_title_get_distinct_slugs(app: TestApp) {
    let token = app.token_for("ed@example.com", "editor").await;
    let requests = (0..8).map(|_| {
        app.post("/api/v1/admin/articles")
            .bearer(&token)
            .json(json!({"title": "Breaking: same headline"}))
            .send()
    });
    let responses = join_all(requests).await;
    let mut slugs = HashSet::new();
    for res in &responses {
        res.assert_status(201);
        slugs.insert(res.json()["slug"].as_str().unwrap().to_string());
    }
    assert_eq!(slugs.len(), 8, "{slugs:?}");
    assert!(slugs.contains("breaking-same-headline"));
    assert!(slugs.contains("breaking-same-headline-8"));
}

async fn bodies_are_sanitised(app: TestApp) {
    let token = app.token_for("ed@example.com", "editor").await;
    let article = create(
        &app,
        &token,
        json!({
            "title": "Sanitiser",
            "body_markdown": "<script>alert('x')</script>\n\n<img src=x onerror=\"alert(1)\">\n\n[click](javascript:alert(1))\n\n<a href=\"jAvAsCrIpT:alert(2)\" onclick=\"x()\">two</a>",
            "status": "published"
        }),
    )
    .await;
    let html = article["body_html"].as_str().unwrap().to_lowercase();
    assert!(!html.contains("<script"), "{html}");
    assert!(!html.contains("onerror") && !html.contains("onclick"), "{html}");
    assert!(!html.contains("javascript:"), "{html}");
    // The source is kept as written, for the editor.
    assert!(article["body_markdown"].as_str().unwrap().contains("<script>"));
    let public = app.get("/api/v1/articles/sanitiser").send().await.json();
    assert_eq!(public["body_html"], article["body_html"]);
}

async fn validation_names_the_fields(app: TestApp) {
    let token = app.token_for("ed@example.com", "editor").await;
    let post = |body: Value| {
        app.post("/api/v1/admin/articles")
            .bearer(&token)
            .json(body)
            .send()
    };
    post(json!({"title": ""})).await.invalid_field("title");
    post(json!({"title": "   "})).await.invalid_field("title");
    post(json!({"title": "x".repeat(301)}))
        .await
        .invalid_field("title");
    post(json!({"title": "ok", "status": "pending"}))
        .await
        .invalid_field("status");
    post(json!({"title": "ok", "colour": "red"}))
        .await
        .invalid_field("colour");
    post(json!({"title": "ok", "published_at": "tomorrow"}))
        .await
        .invalid_field("published_at");
    post(json!({"title": "ok", "tags": ["ok", ""]}))
        .await
        .invalid_field("tags[1]");
    post(json!({"title": "ok", "tags": vec!["t"; 21]}))
        .await
        .invalid_field("tags");
    post(json!({"title": "ok", "featured_image_url": "javascript:alert(1)"}))
        .await
        .invalid_field("featured_image_url");
    post(json!({"title": 42})).await.invalid_field("title");
    post(json!({})).await.invalid_field("title");
    // Nothing was created by any of these.
    let list = app
        .get("/api/v1/admin/articles")
        .bearer(&token)
        .send()
        .await
        .json();
    assert_eq!(list["meta"]["total"], 0);
}

async fn authors_touch_only_their_own_articles(app: TestApp) {
    let editor = app.token_for("ed@example.com", "editor").await;
    let author = app.token_for("au@example.com", "author").await;
    let other = app.token_for("other@example.com", "author").await;
    let mine = create(&app, &author, json!({"title": "Mine", "status": "published"})).await;
    let theirs = create(&app, &editor, json!({"title": "Theirs"})).await;
    let (mine_id, theirs_id) = (mine["id"].as_i64().unwrap(), theirs["id"].as_i64().unwrap());

    app.patch(&format!("/api/v1/admin/articles/{mine_id}"))
        .bearer(&author)
        .json(json!({"title": "Still mine"}))
        .send()
        .await
        .assert_status(200);
    app.patch(&format!("/api/v1/admin/articles/{theirs_id}"))
        .bearer(&author)
        .json(json!({"title": "Hijack"}))
        .send()
        .await
        .problem(404, "not_found");
    app.get(&format!("/api/v1/admin/articles/{theirs_id}"))
        .bearer(&author)
        .send()
        .await
        .problem(404, "not_found");
    app.delete(&format!("/api/v1/admin/articles/{mine_id}"))
        .bearer(&other)
        .send()
        .await
        .problem(404, "not_found");
    let list = app
        .get("/api/v1/admin/articles")
        .bearer(&author)
        .send()
        .await
        .json();
    assert_eq!(ids(&list), vec![mine_id]);
    // Editors may change anyone's.
    app.patch(&format!("/api/v1/admin/articles/{mine_id}"))
        .bearer(&editor)
        .json(json!({"title": "Edited by the desk"}))
        .send()
        .await
        .assert_status(200);
}

async fn a_scheduled_article_appears_by_itself(app: TestApp) {
    let token = app.token_for("ed@example.com", "editor").await;
    let soon = (chrono::Utc::now() + chrono::Duration::seconds(2)).to_rfc3339();
    let later = (chrono::Utc::now() + chrono::Duration::days(1)).to_rfc3339();
    create(
        &app,
        &token,
        json!({"title": "Soon", "status": "published", "published_at": soon}),
    )
    .await;
    create(
        &app,
        &token,
        json!({"title": "Tomorrow", "status": "published", "published_at": later}),
    )
    .await;
    // The last day a publication time can name (times are kept to the
    // second): still scheduled, and counted as such (the count's range
    // ends at that day's last instant, `db::articles::list`).
    create(
        &app,
        &token,
        json!({"title": "Far off", "status": "published", "published_at": "9999-12-31T23:59:59.999999Z"}),
    )
    .await;
    app.get("/api/v1/articles/soon")
        .send()
        .await
        .problem(404, "not_found");
    let list = app.get("/api/v1/articles").send().await.json();
    assert_eq!(list["meta"]["total"], 0);
    tokio_sleep(std::time::Duration::from_millis(3100)).await;
    app.get("/api/v1/articles/soon").send().await.assert_status(200);
    app.get("/api/v1/articles/tomorrow")
        .send()
        .await
        .problem(404, "not_found");
    let list = app.get("/api/v1/articles").send().await.json();
    assert_eq!(list["meta"]["total"], 1);
}

async fn tokio_sleep(d: std::time::Duration) {
    actix_web::rt::time::sleep(d).await;
}

async fn precondition_and_conditional_get(app: TestApp) {
    let token = app.token_for("ed@example.com", "editor").await;
    let article = create(
        &app,
        &token,
        json!({"title": "Two editors", "status": "published"}),
    )
    .await;
    let id = article["id"].as_i64().unwrap();
    let got = app
        .get(&format!("/api/v1/admin/articles/{id}"))
        .bearer(&token)
        .send()
        .await;
    let etag = got.header("etag").unwrap().to_string();
    assert_eq!(got.header("cache-control"), Some("no-store"));

    // Editor A saves with the fresh tag; editor B's tag is now stale.
    let a = app
        .patch(&format!("/api/v1/admin/articles/{id}"))
        .bearer(&token)
        .header("if-match", &etag)
        .json(json!({"title": "Two editors (A)"}))
        .send()
        .await;
    a.assert_status(200);
    let b = app
        .patch(&format!("/api/v1/admin/articles/{id}"))
        .bearer(&token)
        .header("if-match", &etag)
        .json(json!({"title": "Two editors (B)"}))
        .send()
        .await;
    b.problem(412, "precondition_failed");
    let now = app
        .get(&format!("/api/v1/admin/articles/{id}"))
        .bearer(&token)
        .send()
        .await;
    assert_eq!(now.json()["title"], "Two editors (A)");
    assert_eq!(
        Some(now.header("etag").unwrap()),
        a.header("etag"),
        "PATCH answers with the new tag"
    );

    // Public conditional GET.
    let public = app.get("/api/v1/articles/two-editors").send().await;
    let tag = public.header("etag").unwrap().to_string();
    let again = app
        .get("/api/v1/articles/two-editors")
        .header("if-none-match", &tag)
        .send()
        .await;
    again.assert_status(304);
    assert!(again.body.is_empty());
    assert_eq!(again.header("etag"), Some(tag.as_str()));
    // If-Modified-Since alone, against Last-Modified (the page is in the
    // response cache by now: a hit honours it as the handler does).
    let modified = public.header("last-modified").unwrap().to_string();
    let by_date = app
        .get("/api/v1/articles/two-editors")
        .header("if-modified-since", &modified)
        .send()
        .await;
    by_date.assert_status(304);
    assert!(by_date.body.is_empty());
    app.get("/api/v1/articles/two-editors")
        .header("if-modified-since", "Thu, 01 Jan 2015 00:00:00 GMT")
        .send()
        .await
        .assert_status(200);
    // If-None-Match takes precedence (RFC 9110 13.2.2): a stale tag with a
    // fresh date is a full answer.
    app.get("/api/v1/articles/two-editors")
        .header("if-none-match", "\"stale\"")
        .header("if-modified-since", &modified)
        .send()
        .await
        .assert_status(200);
    app.get("/api/v1/articles/two-editors")
        .header("if-modified-since", "not a date")
        .send()
        .await
        .assert_status(200);
    let list = app.get("/api/v1/articles").send().await;
    let list_tag = list.header("etag").unwrap().to_string();
    app.get("/api/v1/articles")
        .header("if-none-match", &list_tag)
        .send()
        .await
        .assert_status(304);
    // A change gives a new tag.
    app.patch(&format!("/api/v1/admin/articles/{id}"))
        .bearer(&token)
        .json(json!({"subtitle": "Now with a standfirst"}))
        .send()
        .await
        .assert_status(200);
    app.get("/api/v1/articles/two-editors")
        .header("if-none-match", &tag)
        .send()
        .await
        .assert_status(200);
}

async fn responses_are_compressed_on_request(app: TestApp) {
    let token = app.token_for("ed@example.com", "editor").await;
    let body = "A paragraph that repeats. ".repeat(200);
    create(
        &app,
        &token,
        json!({"title": "Long read", "body_markdown": body, "status": "published"}),
    )
    .await;
    for encoding in ["gzip", "br"] {
        let res = app
            .get("/api/v1/articles/long-read")
            .header("accept-encoding", encoding)
            .send()
            .await;
        res.assert_status(200);
        assert_eq!(res.header("content-encoding"), Some(encoding));
        assert!(res.body.len() < 2000, "{encoding}: {} bytes", res.body.len());
    }
}

backend_tests!(
    an_editor_drafts_publishes_edits_and_archives,
    slugs_are_unique_and_editor_slugs_checked,
    concurrent_creates_with_one_title_get_distinct_slugs,
    bodies_are_sanitised,
    validation_names_the_fields,
    authors_touch_only_their_own_articles,
    a_scheduled_article_appears_by_itself,
    precondition_and_conditional_get,
    responses_are_compressed_on_request,
);

/// Publishes `n` articles at one-minute steps into the past, newest first,
/// each with the tag `every` and, for even ones, `even`.
async fn publish_series(app: &TestApp, token: &str, n: usize, prefix: &str) -> Vec<i64> {
    let base = chrono::Utc::now() - chrono::Duration::hours(1);
    let mut ids = Vec::new();
    for i in 0..n {
        let at = (base - chrono::Duration::minutes(i as i64)).to_rfc3339();
        let mut tags = vec!["every"];
        if i % 2 == 0 {
            tags.push("even");
        }
        let a = create(
            app,
            token,
            json!({"title": format!("{prefix} {i}"), "status": "published", "published_at": at, "tags": tags}),
        )
        .await;
        ids.push(a["id"].as_i64().unwrap());
    }
    ids
}

async fn public_lists_filter_sort_and_page(app: TestApp) {
    let token = app.token_for("ed@example.com", "editor").await;
    let ids_newest_first = publish_series(&app, &token, 5, "Story").await;
    create(
        &app,
        &token,
        json!({"title": "Unpublished draft", "tags": ["every"]}),
    )
    .await;

    let home = app.get("/api/v1/articles").send().await;
    home.assert_status(200);
    let body = home.json();
    assert_eq!(ids(&body), ids_newest_first);
    assert_eq!(body["meta"]["total"], 5);
    let first = &body["data"][0];
    assert!(first.get("body_html").is_none() && first.get("body_markdown").is_none());
    assert!(
        first["tags"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["slug"] == "every")
    );
    assert_eq!(first["author"]["slug"], "ed");

    let oldest = app.get("/api/v1/articles?sort=published_at").send().await.json();
    let mut reversed = ids_newest_first.clone();
    reversed.reverse();
    assert_eq!(ids(&oldest), reversed);

    let even = app.get("/api/v1/articles?tag=even").send().await.json();
    assert_eq!(even["meta"]["total"], 3);
    let by_author = app.get("/api/v1/articles?author=ed").send().await.json();
    assert_eq!(by_author["meta"]["total"], 5);
    let nobody = app.get("/api/v1/articles?author=nobody").send().await.json();
    assert_eq!(nobody["meta"]["total"], 0);

    let page2 = app.get("/api/v1/articles?per_page=2&page=2").send().await;
    let body = page2.json();
    assert_eq!(ids(&body), ids_newest_first[2..4].to_vec());
    assert_eq!(body["meta"]["total_pages"], 3);
    assert_eq!(body["links"]["next"], "/api/v1/articles?per_page=2&page=3");
    assert_eq!(body["links"]["prev"], "/api/v1/articles?per_page=2&page=1");
    let link = page2.header("link").unwrap();
    assert!(
        link.contains("rel=\"next\"") && link.contains("rel=\"prev\""),
        "{link}"
    );

    let sparse = app
        .get("/api/v1/articles?fields=id,title,body_html&per_page=1")
        .send()
        .await
        .json();
    let item = sparse["data"][0].as_object().unwrap();
    let keys: Vec<&String> = item.keys().collect();
    assert_eq!(keys, vec!["id", "title", "body_html"]);

    // Time window.
    let from = (chrono::Utc::now() - chrono::Duration::seconds(62 * 60 + 30)).to_rfc3339();
    let window = app
        .get(&format!("/api/v1/articles?from={}", urlencode(&from)))
        .send()
        .await
        .json();
    assert_eq!(window["meta"]["total"], 3);
}

async fn list_parameters_are_validated(app: TestApp) {
    for (query, field) in [
        ("per_page=101", "per_page"),
        ("per_page=0", "per_page"),
        ("page=-1", "page"),
        ("page=abc", "page"),
        ("sort=popular", "sort"),
        ("sort=relevance", "sort"),
        ("from=yesterday", "from"),
        ("to=2026-02-30", "to"),
        ("from=2026-11-02&to=2026-11-01", "to"),
        ("cursor=%21%21notacursor", "cursor"),
        ("cursor=&page=2", "page"),
        ("fields=id,password", "fields"),
        ("colour=red", "colour"),
        ("q=%20%21%21%20", "q"),
    ] {
        let res = app.get(&format!("/api/v1/articles?{query}")).send().await;
        res.invalid_field(field);
    }
    // A cursor of another order is refused, not misread.
    let shared = app
        .get("/api/v1/articles?sort=-share_count&cursor=")
        .send()
        .await
        .json();
    assert!(shared["meta"]["next_cursor"].is_null());
    let forged = broadsheet::http::cursor::encode(
        broadsheet::http::cursor::Scope {
            list: "articles",
            order: "-share_count",
        },
        &broadsheet::http::cursor::Keyset { key: 5i64, id: 3 },
    );
    app.get(&format!("/api/v1/articles?cursor={forged}"))
        .send()
        .await
        .invalid_field("cursor");
    let relevance = app.get("/api/v1/articles?q=tram&cursor=").send().await;
    relevance.invalid_field("cursor");
}

/// Changes one character in the middle of a cursor.
fn tamper(cursor: &str) -> String {
    let mut chars: Vec<char> = cursor.chars().collect();
    let i = chars.len() / 2;
    chars[i] = if chars[i] == 'A' { 'B' } else { 'A' };
    chars.into_iter().collect()
}

/// A cursor belongs to the list and the order that issued it: used on
/// another order, on the editor list, or changed by one character, it is
/// refused with a `422` naming `cursor`, not misread as some position.
async fn cursors_are_bound_to_their_list_and_order(app: TestApp) {
    let token = app.token_for("ed@example.com", "editor").await;
    publish_series(&app, &token, 3, "Bound").await;
    let first = app.get("/api/v1/articles?per_page=1&cursor=").send().await.json();
    let cursor = first["meta"]["next_cursor"].as_str().unwrap().to_string();
    app.get(&format!("/api/v1/articles?per_page=1&cursor={cursor}"))
        .send()
        .await
        .assert_status(200);
    for other in ["sort=published_at", "sort=-share_count", "sort=-comment_count"] {
        app.get(&format!("/api/v1/articles?{other}&cursor={cursor}"))
            .send()
            .await
            .invalid_field("cursor");
    }
    app.get(&format!("/api/v1/admin/articles?cursor={cursor}"))
        .bearer(&token)
        .send()
        .await
        .invalid_field("cursor");
    let admin = app
        .get("/api/v1/admin/articles?per_page=1&cursor=")
        .bearer(&token)
        .send()
        .await
        .json();
    let admin_cursor = admin["meta"]["next_cursor"].as_str().unwrap().to_string();
    app.get(&format!("/api/v1/articles?cursor={admin_cursor}"))
        .send()
        .await
        .invalid_field("cursor");
    app.get(&format!("/api/v1/articles?cursor={}", tamper(&cursor)))
        .send()
        .await
        .invalid_field("cursor");
}

async fn cursor_paging_survives_new_articles(app: TestApp) {
    let token = app.token_for("ed@example.com", "editor").await;
    let original = publish_series(&app, &token, 7, "Old").await;
    let mut seen = Vec::new();
    let mut next = "/api/v1/articles?per_page=3&cursor=".to_string();
    let mut pages = 0;
    loop {
        let body = app.get(&next).send().await.json();
        seen.extend(ids(&body));
        pages += 1;
        if pages == 1 {
            // New articles are published while the reader scrolls.
            create(&app, &token, json!({"title": "Fresh one", "status": "published"})).await;
            create(&app, &token, json!({"title": "Fresh two", "status": "published"})).await;
        }
        match body["links"]["next"].as_str() {
            Some(link) => next = link.to_string(),
            None => break,
        }
    }
    assert_eq!(seen, original, "no duplicates, no gaps, in order");
    assert_eq!(pages, 3);
}

async fn most_shared_and_commented_sorts_use_counters(app: TestApp) {
    let token = app.token_for("ed@example.com", "editor").await;
    let ids_newest_first = publish_series(&app, &token, 3, "Counted").await;
    // Counters are maintained by the comment and share code; set them here.
    let (a, b) = (ids_newest_first[1], ids_newest_first[2]);
    app.parts
        .state
        .db
        .write(move |conn| {
            broadsheet::db::articles::add_to_share_count(conn, a, 5)?;
            broadsheet::db::articles::add_to_share_count(conn, b, 9)?;
            broadsheet::db::articles::add_to_comment_count(conn, a, 3)?;
            Ok(())
        })
        .await
        .unwrap();
    let shared = app.get("/api/v1/articles?sort=-share_count").send().await.json();
    assert_eq!(ids(&shared)[..2], [b, a]);
    assert_eq!(shared["data"][0]["share_count"], 9);
    let commented = app
        .get("/api/v1/articles?sort=-comment_count&per_page=1&cursor=")
        .send()
        .await
        .json();
    assert_eq!(ids(&commented), vec![a]);
    let next = commented["links"]["next"].as_str().unwrap().to_string();
    let rest = app.get(&next).send().await.json();
    assert_eq!(rest["data"].as_array().unwrap().len(), 1);
    assert_ne!(ids(&rest)[0], a);
}

async fn search_is_ranked_full_text(app: TestApp) {
    let token = app.token_for("ed@example.com", "editor").await;
    create(&app, &token, json!({"title": "Trams are back", "body_markdown": "The city votes on trams.", "status": "published", "tags": ["transit"]})).await;
    create(&app, &token, json!({"title": "Budget day", "subtitle": "Buses and trams compete", "body_markdown": "Money.", "status": "published"})).await;
    create(&app, &token, json!({"title": "Parks", "body_markdown": "A quiet piece on benches. A tram passes once.", "status": "published"})).await;
    create(
        &app,
        &token,
        json!({"title": "Trams draft", "body_markdown": "Not public.", "status": "draft"}),
    )
    .await;
    let res = app.get("/api/v1/articles?q=trams").send().await.json();
    let titles: Vec<&str> = res["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles.len(), 3, "{titles:?}");
    assert_eq!(
        titles[0], "Trams are back",
        "title matches rank first: {titles:?}"
    );
    assert!(!titles.contains(&"Trams draft"));
    // Operators and quotes in user input are harmless.
    for q in [
        "\"trams",
        "trams OR",
        "NEAR(trams)",
        "tram*",
        "' OR 1=1 --",
        "trams & | !",
    ] {
        let res = app
            .get(&format!("/api/v1/articles?q={}", urlencode(q)))
            .send()
            .await;
        res.assert_status(200);
    }
    // Other filters narrow the ranked results.
    let narrowed = app
        .get("/api/v1/articles?q=trams&tag=transit")
        .send()
        .await
        .json();
    assert_eq!(narrowed["meta"]["total"], 1);
    assert_eq!(narrowed["data"][0]["title"], "Trams are back");
    let page = app
        .get("/api/v1/articles?q=trams&per_page=2&page=2")
        .send()
        .await
        .json();
    assert_eq!(page["data"].as_array().unwrap().len(), 1);
    assert_eq!(page["meta"]["total"], 3);
    let none = app.get("/api/v1/articles?q=zeppelin").send().await.json();
    assert_eq!(none["meta"]["total"], 0);
    let sorted = app
        .get("/api/v1/articles?q=trams&sort=-published_at")
        .send()
        .await
        .json();
    assert_eq!(sorted["meta"]["total"], 3);
}

/// `meta.total` of the home list and of status-only editor lists comes from
/// counters kept by triggers: they must follow every create, status change
/// and delete, and leave out scheduled articles.
async fn page_totals_follow_every_status_change(app: TestApp) {
    let token = app.token_for("ed@example.com", "editor").await;
    let later = (chrono::Utc::now() + chrono::Duration::days(1)).to_rfc3339();
    let mut ids = Vec::new();
    for (title, status) in [
        ("D1", "draft"),
        ("D2", "draft"),
        ("P1", "published"),
        ("P2", "published"),
        ("P3", "published"),
        ("A1", "archived"),
    ] {
        let article = create(&app, &token, json!({"title": title, "status": status})).await;
        ids.push(article["id"].as_i64().unwrap());
    }
    create(
        &app,
        &token,
        json!({"title": "Tomorrow", "status": "published", "published_at": later}),
    )
    .await;
    let totals = || async {
        let public = app.get("/api/v1/articles").send().await.json()["meta"]["total"].clone();
        let mut by_status = Vec::new();
        for status in ["draft", "published", "archived"] {
            let res = app
                .get(&format!("/api/v1/admin/articles?status={status}"))
                .bearer(&token)
                .send()
                .await
                .json();
            by_status.push(res["meta"]["total"].as_i64().unwrap());
        }
        let all = app
            .get("/api/v1/admin/articles")
            .bearer(&token)
            .send()
            .await
            .json();
        (
            public.as_i64().unwrap(),
            by_status,
            all["meta"]["total"].as_i64().unwrap(),
        )
    };
    assert_eq!(totals().await, (3, vec![2, 4, 1], 7));

    // D1 published, P1 archived, A1 back to draft, D2 and P2 deleted.
    for (id, status) in [(ids[0], "published"), (ids[2], "archived"), (ids[5], "draft")] {
        app.patch(&format!("/api/v1/admin/articles/{id}"))
            .bearer(&token)
            .json(json!({"status": status}))
            .send()
            .await
            .assert_status(200);
    }
    for id in [ids[1], ids[3]] {
        app.delete(&format!("/api/v1/admin/articles/{id}"))
            .bearer(&token)
            .send()
            .await
            .assert_status(204);
    }
    // Visible: D1, P3. Drafts: A1. Published: D1, P3, Tomorrow. Archived: P1.
    assert_eq!(totals().await, (2, vec![1, 3, 1], 5));
}

async fn a_list_page_costs_a_constant_number_of_queries(app: TestApp) {
    let token = app.token_for("ed@example.com", "editor").await;
    publish_series(&app, &token, 2, "Few").await;
    let db = &app.parts.state.db;
    let before = db.work_query_count();
    app.get("/api/v1/articles?per_page=50")
        .send()
        .await
        .assert_status(200);
    let small = db.work_query_count() - before;
    publish_series(&app, &token, 12, "Many").await;
    let before = db.work_query_count();
    let body = app.get("/api/v1/articles?per_page=50").send().await.json();
    let large = db.work_query_count() - before;
    assert_eq!(body["data"].as_array().unwrap().len(), 14);
    assert_eq!(small, large, "queries for 2 articles: {small}, for 14: {large}");
    assert!(large <= 4, "{large} queries for one page");
    let before = db.work_query_count();
    app.get("/api/v1/articles?per_page=50&cursor=")
        .send()
        .await
        .assert_status(200);
    assert!(db.work_query_count() - before <= 3);
}

async fn admin_list_shows_every_status_with_filters(app: TestApp) {
    let token = app.token_for("ed@example.com", "editor").await;
    create(&app, &token, json!({"title": "D", "tags": ["x"]})).await;
    create(&app, &token, json!({"title": "P", "status": "published"})).await;
    create(
        &app,
        &token,
        json!({"title": "A", "status": "archived", "body_markdown": "about zebras"}),
    )
    .await;
    let all = app.get("/api/v1/admin/articles").bearer(&token).send().await;
    assert_eq!(all.header("cache-control"), Some("no-store"));
    assert_eq!(all.json()["meta"]["total"], 3);
    let drafts = app
        .get("/api/v1/admin/articles?status=draft")
        .bearer(&token)
        .send()
        .await
        .json();
    assert_eq!(drafts["data"][0]["title"], "D");
    let tagged = app
        .get("/api/v1/admin/articles?tag=x")
        .bearer(&token)
        .send()
        .await
        .json();
    assert_eq!(tagged["meta"]["total"], 1);
    let found = app
        .get("/api/v1/admin/articles?q=zebras")
        .bearer(&token)
        .send()
        .await
        .json();
    assert_eq!(found["data"][0]["title"], "A");
    app.get("/api/v1/admin/articles?status=gone")
        .bearer(&token)
        .send()
        .await
        .invalid_field("status");
    app.get("/api/v1/admin/articles")
        .send()
        .await
        .problem(401, "unauthorized");
}

backend_tests!(
    public_lists_filter_sort_and_page,
    list_parameters_are_validated,
    cursors_are_bound_to_their_list_and_order,
    cursor_paging_survives_new_articles,
    most_shared_and_commented_sorts_use_counters,
    search_is_ranked_full_text,
    page_totals_follow_every_status_change,
    admin_list_shows_every_status_with_filters,
);

/// Searches run at most one per core; one that cannot get a slot within
/// the database timeout is shed with a 503, like a request that cannot get
/// a connection, while other lists are served.
async fn searches_beyond_the_slots_wait_then_get_503(app: TestApp) {
    let token = app.token_for("ed@example.com", "editor").await;
    create(&app, &token, json!({"title": "Trams", "status": "published"})).await;
    let slots = app.parts.state.search.slots.clone();
    let held = slots
        .clone()
        .acquire_many_owned(slots.available_permits() as u32)
        .await
        .unwrap();
    let started = std::time::Instant::now();
    let res = app.get("/api/v1/articles?q=trams").send().await;
    res.problem(503, "unavailable");
    assert!(
        started.elapsed() >= std::time::Duration::from_secs(1),
        "it waited for a slot first"
    );
    app.get("/api/v1/articles").send().await.assert_status(200);
    drop(held);
    let found = app.get("/api/v1/articles?q=trams").send().await.json();
    assert_eq!(found["meta"]["total"], 1);
}

mod search_slots {
    use super::*;
    use crate::backend_tests_with;
    backend_tests_with!(
        [("DB_TIMEOUT_SECONDS", "1")],
        searches_beyond_the_slots_wait_then_get_503
    );
}

mod uncached {
    use super::*;
    use crate::backend_tests_with;
    // The handler's own queries, with no cache in front.
    backend_tests_with!(
        [("RESPONSE_CACHE_BYTES", "0")],
        a_list_page_costs_a_constant_number_of_queries
    );
}

async fn the_response_cache_serves_hits_and_never_stale_data(app: TestApp) {
    let token = app.token_for("ed@example.com", "editor").await;
    let article = create(&app, &token, json!({"title": "Cached", "status": "published"})).await;
    let id = article["id"].as_i64().unwrap();
    let cache = &app.parts.state.cache;

    let first = app.get("/api/v1/articles/cached").send().await;
    let hits = cache.stats().hits();
    let second = app.get("/api/v1/articles/cached").send().await;
    assert_eq!(
        cache.stats().hits(),
        hits + 1,
        "the second read is served from memory"
    );
    assert_eq!(first.body, second.body);
    assert_eq!(first.header("etag"), second.header("etag"));
    assert_eq!(second.header("cache-control"), Some("public, max-age=60"));
    assert!(second.header("last-modified").is_some());
    let tag = second.header("etag").unwrap().to_string();
    app.get("/api/v1/articles/cached")
        .header("if-none-match", &tag)
        .send()
        .await
        .assert_status(304);

    // A write is visible on the very next read.
    app.patch(&format!("/api/v1/admin/articles/{id}"))
        .bearer(&token)
        .json(json!({"title": "Cached, then changed"}))
        .send()
        .await
        .assert_status(200);
    let after = app.get("/api/v1/articles/cached").send().await;
    assert_eq!(after.json()["title"], "Cached, then changed");
    app.get("/api/v1/articles/cached")
        .header("if-none-match", &tag)
        .send()
        .await
        .assert_status(200);
    let list = app.get("/api/v1/articles").send().await.json();
    assert_eq!(list["data"][0]["title"], "Cached, then changed");

    // Editor reads are never cached.
    let hits = cache.stats().hits();
    app.get(&format!("/api/v1/admin/articles/{id}"))
        .bearer(&token)
        .send()
        .await
        .assert_status(200);
    app.get(&format!("/api/v1/admin/articles/{id}"))
        .bearer(&token)
        .send()
        .await
        .assert_status(200);
    assert_eq!(cache.stats().hits(), hits);
}

backend_tests!(the_response_cache_serves_hits_and_never_stale_data);
