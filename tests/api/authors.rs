//! Authors: the public list and pages (only editors with visible
//! articles), profile edits by the editor themself and by admins, and the
//! freshness of every cached read that shows a profile.

use serde_json::{Value, json};

use crate::support::{TestApp, create_article as write};
use crate::{backend_tests, backend_tests_with};

/// Writes an article through the API (so the change log sees it) and
/// returns it.
async fn editor_id(app: &TestApp, token: &str) -> i64 {
    app.get("/api/v1/auth/me").bearer(token).send().await.json()["id"]
        .as_i64()
        .unwrap()
}

/// No key named `email` or `role` anywhere in `value`.
fn assert_no_account_fields(value: &Value) {
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                assert!(key != "email" && key != "role", "`{key}` is public: {value}");
                assert_no_account_fields(v);
            }
        }
        Value::Array(items) => items.iter().for_each(assert_no_account_fields),
        _ => {}
    }
    assert!(
        !value.to_string().contains("@example.com"),
        "an email is public: {value}"
    );
}

async fn only_authors_with_visible_articles_are_public(app: TestApp) {
    let ann = app.token_for("ann@example.com", "author").await;
    let bob = app.token_for("bob@example.com", "author").await;
    let cy = app.token_for("cy@example.com", "editor").await;
    let future = (chrono::Utc::now() + chrono::Duration::days(2)).to_rfc3339();
    write(&app, &ann, json!({"title": "Ann one", "status": "published"})).await;
    write(&app, &ann, json!({"title": "Ann draft"})).await;
    write(
        &app,
        &ann,
        json!({"title": "Ann later", "status": "published", "published_at": future}),
    )
    .await;
    write(&app, &ann, json!({"title": "Ann gone", "status": "archived"})).await;
    let bob_draft = write(&app, &bob, json!({"title": "Bob draft"})).await;
    write(
        &app,
        &bob,
        json!({"title": "Bob later", "status": "published", "published_at": future}),
    )
    .await;
    write(&app, &cy, json!({"title": "Cy one", "status": "published"})).await;
    write(&app, &cy, json!({"title": "Cy two", "status": "published"})).await;

    let list = app.get("/api/v1/authors").send().await;
    list.assert_status(200);
    assert_eq!(list.header("surrogate-key"), Some("authors"));
    assert!(list.header("etag").is_some());
    assert!(list.header("cache-control").unwrap().starts_with("public"));
    let body = list.json();
    assert_no_account_fields(&body);
    assert_eq!(body["meta"]["total"], 2, "{body}");
    let names: Vec<&str> = body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["ann", "cy"], "by name; bob has nothing visible");
    assert_eq!(
        body["data"][0]["article_count"], 1,
        "drafts, scheduled, archived excluded"
    );
    assert_eq!(body["data"][1]["article_count"], 2);
    let ann_public = &body["data"][0];
    assert_eq!(ann_public["slug"], "ann");
    assert!(
        ann_public["url"].as_str().unwrap().ends_with("/author/ann/"),
        "{ann_public}"
    );
    for field in ["bio", "avatar_url", "website"] {
        assert!(
            ann_public[field].is_null(),
            "{field} present and null: {ann_public}"
        );
    }
    assert_eq!(
        ann_public["social"],
        json!({"twitter": null, "bluesky": null, "mastodon": null})
    );

    let page = app.get("/api/v1/authors/ann").send().await;
    page.assert_status(200);
    assert_no_account_fields(&page.json());
    assert_eq!(page.json(), *ann_public, "the page and the list agree");
    let id = ann_public["id"].as_i64().unwrap();
    assert_eq!(
        page.header("surrogate-key"),
        Some(format!("author:{id} authors").as_str())
    );
    app.get("/api/v1/authors/bob")
        .send()
        .await
        .problem(404, "not_found");
    app.get("/api/v1/authors/nobody")
        .send()
        .await
        .problem(404, "not_found");
    app.get("/api/v1/authors/Not%20A%20Slug")
        .send()
        .await
        .problem(404, "not_found");
    app.get("/api/v1/authors/ann?x=1").send().await.invalid_field("x");

    // Publishing Bob's draft makes him public, on the list already cached.
    let id = bob_draft["id"].as_i64().unwrap();
    app.patch(&format!("/api/v1/admin/articles/{id}"))
        .bearer(&bob)
        .json(json!({"status": "published"}))
        .send()
        .await
        .assert_status(200);
    let body = app.get("/api/v1/authors").send().await.json();
    assert_eq!(body["meta"]["total"], 3, "{body}");
    assert_eq!(body["data"][1]["name"], "bob");
    assert_eq!(body["data"][1]["article_count"], 1);
    app.get("/api/v1/authors/bob").send().await.assert_status(200);

    // Unpublishing takes the count down, and the author out with the last.
    app.patch(&format!("/api/v1/admin/articles/{id}"))
        .bearer(&bob)
        .json(json!({"status": "draft"}))
        .send()
        .await
        .assert_status(200);
    app.get("/api/v1/authors/bob")
        .send()
        .await
        .problem(404, "not_found");
    assert_eq!(app.get("/api/v1/authors").send().await.json()["meta"]["total"], 2);
}

async fn lists_page_by_cursor_and_answer_304(app: TestApp) {
    for who in ["dee", "abe", "cat", "bea"] {
        let token = app.token_for(&format!("{who}@example.com"), "author").await;
        write(
            &app,
            &token,
            json!({"title": format!("By {who}"), "status": "published"}),
        )
        .await;
    }
    let mut names = Vec::new();
    let mut path = "/api/v1/authors?per_page=3&cursor=".to_string();
    loop {
        let res = app.get(&path).send().await;
        res.assert_status(200);
        let body = res.json();
        assert!(body["meta"].get("total").is_none(), "{body}");
        for a in body["data"].as_array().unwrap() {
            names.push(a["name"].as_str().unwrap().to_string());
        }
        match body["meta"]["next_cursor"].as_str() {
            Some(next) => {
                assert!(res.header("link").unwrap().contains("rel=\"next\""));
                path = body["links"]["next"].as_str().unwrap().to_string();
                assert!(path.contains(next) || path.contains("cursor="), "{path}");
            }
            None => break,
        }
    }
    assert_eq!(names, ["abe", "bea", "cat", "dee"]);

    let pages = app.get("/api/v1/authors?per_page=3&page=2").send().await.json();
    assert_eq!(pages["meta"]["total"], 4);
    assert_eq!(pages["data"][0]["name"], "dee");

    // A cursor of another list, or a made-up one, is a 422 naming `cursor`.
    let articles = app.get("/api/v1/articles?per_page=1&cursor=").send().await.json();
    let foreign = articles["meta"]["next_cursor"].as_str().unwrap().to_string();
    app.get(&format!("/api/v1/authors?cursor={foreign}"))
        .send()
        .await
        .invalid_field("cursor");
    app.get("/api/v1/authors?cursor=bogus")
        .send()
        .await
        .invalid_field("cursor");
    app.get("/api/v1/authors?page=1&cursor=")
        .send()
        .await
        .invalid_field("page");
    app.get("/api/v1/authors?sort=name")
        .send()
        .await
        .invalid_field("sort");

    for path in ["/api/v1/authors", "/api/v1/authors/abe"] {
        let first = app.get(path).send().await;
        let etag = first.header("etag").unwrap().to_string();
        let again = app.get(path).header("if-none-match", &etag).send().await;
        again.assert_status(304);
        assert_eq!(again.header("etag"), Some(etag.as_str()));
        assert!(again.body.is_empty());
    }
}

async fn an_editor_edits_their_own_profile_and_every_read_shows_it_at_once(app: TestApp) {
    let ann = app.token_for("ann@example.com", "author").await;
    let article = write(&app, &ann, json!({"title": "Night trams", "status": "published"})).await;
    assert!(article["author"]["avatar_url"].is_null());
    let slug = article["slug"].as_str().unwrap().to_string();
    let reads = [
        "/api/v1/authors/ann".to_string(),
        "/api/v1/authors".to_string(),
        format!("/api/v1/articles/{slug}"),
        "/api/v1/articles".to_string(),
        "/api/v1/articles?author=ann".to_string(),
    ];
    // Twice each: the second is served by the response cache.
    for path in reads.iter().chain(reads.iter()) {
        app.get(path).send().await.assert_status(200);
    }

    let me = app.get("/api/v1/auth/me").send().await;
    me.problem(401, "unauthorized");
    let me = app.get("/api/v1/auth/me").bearer(&ann).send().await;
    let etag = me.header("etag").unwrap().to_string();
    let avatar = "https://broadsheet.test/avatars/ann.jpg";
    let res = app
        .patch("/api/v1/auth/me")
        .bearer(&ann)
        .header("if-match", &etag)
        .json(json!({
            "name": "Ann Lee",
            "bio": "Ann writes about trams.",
            "avatar_url": avatar,
            "website": "https://ann.example.org/",
            "social": {"twitter": "ann_lee", "bluesky": "Ann.bsky.social", "mastodon": "@ann@mastodon.social"}
        }))
        .send()
        .await;
    res.assert_status(200);
    assert_eq!(res.header("cache-control"), Some("no-store"));
    let edited = res.json();
    assert_eq!(edited["name"], "Ann Lee");
    assert_eq!(edited["role"], "author", "the role is untouched");
    assert_eq!(edited["social"]["bluesky"], "ann.bsky.social");
    app.patch("/api/v1/auth/me")
        .bearer(&ann)
        .header("if-match", &etag)
        .json(json!({"bio": "Stale."}))
        .send()
        .await
        .problem(412, "precondition_failed");

    let page = app.get("/api/v1/authors/ann").send().await.json();
    assert_eq!(page["name"], "Ann Lee", "{page}");
    assert_eq!(page["bio"], "Ann writes about trams.");
    assert_eq!(page["avatar_url"], avatar);
    assert_eq!(page["website"], "https://ann.example.org/");
    assert_eq!(
        page["social"],
        json!({"twitter": "ann_lee", "bluesky": "ann.bsky.social", "mastodon": "@ann@mastodon.social"})
    );
    assert_eq!(app.get("/api/v1/authors").send().await.json()["data"][0], page);
    let expected = json!({"id": page["id"], "slug": "ann", "name": "Ann Lee", "avatar_url": avatar});
    let article = app.get(&format!("/api/v1/articles/{slug}")).send().await.json();
    assert_eq!(article["author"], expected, "the article page");
    for list in ["/api/v1/articles", "/api/v1/articles?author=ann"] {
        let body = app.get(list).send().await.json();
        assert_eq!(body["data"][0]["author"], expected, "{list}");
    }

    // `null` clears a field; absent fields stay.
    let res = app
        .patch("/api/v1/auth/me")
        .bearer(&ann)
        .json(json!({"bio": null, "avatar_url": null, "social": {"twitter": null}}))
        .send()
        .await;
    res.assert_status(200);
    let page = app.get("/api/v1/authors/ann").send().await.json();
    assert!(page["bio"].is_null() && page["avatar_url"].is_null(), "{page}");
    assert!(page["social"]["twitter"].is_null());
    assert_eq!(page["social"]["bluesky"], "ann.bsky.social", "untouched");
    assert_eq!(page["website"], "https://ann.example.org/", "untouched");
    assert_eq!(page["name"], "Ann Lee", "untouched");
    let article = app.get(&format!("/api/v1/articles/{slug}")).send().await.json();
    assert!(
        article["author"].get("avatar_url").is_some_and(Value::is_null),
        "{article}"
    );
    let res = app
        .patch("/api/v1/auth/me")
        .bearer(&ann)
        .json(json!({"social": null}))
        .send()
        .await;
    assert_eq!(
        res.json()["social"],
        json!({"twitter": null, "bluesky": null, "mastodon": null})
    );
}

async fn admins_edit_any_profile_and_no_one_else_does(app: TestApp) {
    let admin = app.admin_token().await;
    let ann = app.token_for("ann@example.com", "author").await;
    let bob = app.token_for("bob@example.com", "author").await;
    let ed = app.token_for("ed@example.com", "editor").await;
    let ann_id = editor_id(&app, &ann).await;
    let article = write(&app, &ann, json!({"title": "Bus lanes", "status": "published"})).await;
    let slug = article["slug"].as_str().unwrap().to_string();
    app.get("/api/v1/authors/ann").send().await.assert_status(200);
    app.get(&format!("/api/v1/articles/{slug}"))
        .send()
        .await
        .assert_status(200);

    let res = app
        .patch(&format!("/api/v1/admin/editors/{ann_id}"))
        .bearer(&admin)
        .json(json!({"avatar_url": "https://cdn.example.net/ann.png", "social": {"mastodon": "@ann@example.social"}}))
        .send()
        .await;
    res.assert_status(200);
    assert_eq!(res.json()["avatar_url"], "https://cdn.example.net/ann.png");
    let page = app.get("/api/v1/authors/ann").send().await.json();
    assert_eq!(page["avatar_url"], "https://cdn.example.net/ann.png");
    assert_eq!(page["social"]["mastodon"], "@ann@example.social");
    let article = app.get(&format!("/api/v1/articles/{slug}")).send().await.json();
    assert_eq!(article["author"]["avatar_url"], "https://cdn.example.net/ann.png");

    for token in [&bob, &ed, &ann] {
        app.patch(&format!("/api/v1/admin/editors/{ann_id}"))
            .bearer(token)
            .json(json!({"bio": "Not mine to write."}))
            .send()
            .await
            .problem(403, "forbidden");
    }
    app.patch(&format!("/api/v1/admin/editors/{ann_id}"))
        .bearer(&admin)
        .json(json!({"name": null}))
        .send()
        .await
        .invalid_field("name");
    app.patch(&format!("/api/v1/admin/editors/{ann_id}"))
        .bearer(&admin)
        .json(json!({"website": "javascript:alert(1)"}))
        .send()
        .await
        .invalid_field("website");
    // PATCH /auth/me changes no one else, and nothing but the profile.
    app.patch("/api/v1/auth/me")
        .bearer(&bob)
        .json(json!({"role": "admin"}))
        .send()
        .await
        .invalid_field("role");
    let page = app.get("/api/v1/authors/ann").send().await.json();
    assert!(page["bio"].is_null(), "{page}");
}

async fn bad_profiles_are_422s_naming_the_field(app: TestApp) {
    let ann = app.token_for("ann@example.com", "author").await;
    let before = app.get("/api/v1/auth/me").bearer(&ann).send().await.json();
    let long_url = format!("https://example.com/{}", "a".repeat(2048));
    for (body, field) in [
        (json!({"name": null}), "name"),
        (json!({"name": "   "}), "name"),
        (json!({"avatar_url": "not a url"}), "avatar_url"),
        (json!({"avatar_url": "javascript:alert(1)"}), "avatar_url"),
        (json!({"avatar_url": "/avatars/ann.jpg"}), "avatar_url"),
        (json!({"avatar_url": long_url}), "avatar_url"),
        (json!({"avatar_url": 7}), "avatar_url"),
        (json!({"website": "ftp://example.com/"}), "website"),
        (json!({"website": "https://user:pw@example.com/"}), "website"),
        (json!({"bio": "x".repeat(2001)}), "bio"),
        (json!({"social": {"twitter": "@ann"}}), "social.twitter"),
        (
            json!({"social": {"twitter": "far_too_long_a_handle"}}),
            "social.twitter",
        ),
        (
            json!({"social": {"bluesky": "@ann.bsky.social"}}),
            "social.bluesky",
        ),
        (json!({"social": {"bluesky": "ann"}}), "social.bluesky"),
        (
            json!({"social": {"mastodon": "ann@mastodon.social"}}),
            "social.mastodon",
        ),
        (json!({"social": {"facebook": "ann"}}), "social.facebook"),
        (json!({"email": "new@example.com"}), "email"),
    ] {
        let res = app
            .patch("/api/v1/auth/me")
            .bearer(&ann)
            .json(body.clone())
            .send()
            .await;
        assert_eq!(res.status.as_u16(), 422, "{body}: {}", res.text());
        res.invalid_field(field);
    }
    let ok = app
        .patch("/api/v1/auth/me")
        .bearer(&ann)
        .json(json!({"bio": "x".repeat(2000), "avatar_url": format!("https://example.com/{}", "a".repeat(2000))}))
        .send()
        .await;
    ok.assert_status(200);
    let after = app.get("/api/v1/auth/me").bearer(&ann).send().await.json();
    assert_eq!(after["name"], before["name"]);
    assert_eq!(after["bio"].as_str().unwrap().len(), 2000);
}

/// Statements each author read runs, whatever the page holds (the
/// response cache is off here): the author page one, a list its authors
/// and their counts (plus the total in page mode).
async fn author_reads_cost_a_fixed_number_of_statements(app: TestApp) {
    for who in ["ann", "bob", "cy"] {
        let token = app.token_for(&format!("{who}@example.com"), "author").await;
        write(
            &app,
            &token,
            json!({"title": format!("By {who}"), "status": "published"}),
        )
        .await;
        write(
            &app,
            &token,
            json!({"title": format!("Also by {who}"), "status": "published"}),
        )
        .await;
    }
    let db = &app.parts.state.db;
    for (path, expected) in [
        ("/api/v1/authors/bob", 1),
        ("/api/v1/authors?cursor=", 2),
        ("/api/v1/authors", 3),
        ("/api/v1/articles/by-bob", 1),
    ] {
        let before = db.work_query_count();
        let res = app.get(path).send().await;
        res.assert_status(200);
        assert_eq!(db.work_query_count() - before, expected, "{path}");
    }
}

async fn demo_authors_have_a_bio_and_a_picture(app: TestApp) {
    let body = app.get("/api/v1/authors").send().await.json();
    let authors = body["data"].as_array().unwrap();
    assert!(!authors.is_empty(), "{body}");
    for a in authors {
        assert!(a["bio"].as_str().is_some_and(|b| !b.is_empty()), "{a}");
        let avatar = a["avatar_url"].as_str().unwrap();
        assert_eq!(
            avatar,
            format!(
                "https://broadsheet.test/avatars/{}.jpg",
                a["slug"].as_str().unwrap()
            )
        );
    }
    let home = app.get("/api/v1/articles").send().await.json();
    assert!(home["data"][0]["author"]["avatar_url"].is_string(), "{home}");
}

/// The count an author's page and the list show, against the number of
/// their articles the public article list finds, through every way an
/// article enters or leaves public view (the counts are kept by triggers,
/// minus the scheduled: see `db::authors`).
async fn article_counts_follow_every_status_and_time_change(app: TestApp) {
    let ann = app.token_for("ann@example.com", "author").await;
    let counts = |expected: i64| {
        let app = &app;
        async move {
            let listed = app.get("/api/v1/articles?author=ann").send().await.json()["meta"]["total"]
                .as_i64()
                .unwrap();
            assert_eq!(listed, expected, "the article list");
            let page = app.get("/api/v1/authors/ann").send().await;
            let authors = app.get("/api/v1/authors").send().await.json();
            if expected == 0 {
                page.problem(404, "not_found");
                assert_eq!(authors["meta"]["total"], 0, "{authors}");
            } else {
                page.assert_status(200);
                assert_eq!(page.json()["article_count"], expected, "the author page");
                assert_eq!(authors["data"][0]["article_count"], expected, "{authors}");
            }
        }
    };
    let patch = |id: i64, body: Value| {
        let (app, ann) = (&app, &ann);
        async move {
            app.patch(&format!("/api/v1/admin/articles/{id}"))
                .bearer(ann)
                .json(body)
                .send()
                .await
                .assert_status(200);
        }
    };
    let id = |v: Value| v["id"].as_i64().unwrap();
    let one = id(write(&app, &ann, json!({"title": "One", "status": "published"})).await);
    counts(1).await;
    let soon = (chrono::Utc::now() + chrono::Duration::seconds(2)).to_rfc3339();
    let two = id(write(
        &app,
        &ann,
        json!({"title": "Two", "status": "published", "published_at": soon}),
    )
    .await);
    counts(1).await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let page = app.get("/api/v1/authors/ann").send().await.json();
        if page["article_count"] == 2 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the scheduled article never counted: {page}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    counts(2).await;
    let three = id(write(&app, &ann, json!({"title": "Three"})).await);
    counts(2).await;
    patch(three, json!({"status": "published"})).await;
    counts(3).await;
    patch(one, json!({"status": "archived"})).await;
    counts(2).await;
    let later = (chrono::Utc::now() + chrono::Duration::days(1)).to_rfc3339();
    patch(two, json!({"published_at": later})).await;
    counts(1).await;
    patch(one, json!({"status": "published"})).await;
    counts(2).await;
    for gone in [one, three] {
        app.delete(&format!("/api/v1/admin/articles/{gone}"))
            .bearer(&ann)
            .send()
            .await
            .assert_status(204);
    }
    counts(0).await;
}

backend_tests!(
    only_authors_with_visible_articles_are_public,
    lists_page_by_cursor_and_answer_304,
    an_editor_edits_their_own_profile_and_every_read_shows_it_at_once,
    admins_edit_any_profile_and_no_one_else_does,
    bad_profiles_are_422s_naming_the_field,
);

backend_tests_with!(
    [("RESPONSE_CACHE_BYTES", "0")],
    author_reads_cost_a_fixed_number_of_statements,
    article_counts_follow_every_status_and_time_change
);

backend_tests_with!(
    [
        ("DEMO_CONTENT", "true"),
        ("DEMO_ADMIN_PASSWORD", "demo admin password")
    ],
    demo_authors_have_a_bio_and_a_picture
);
