//! Tags: management, attachment through article writes, public counts.

use serde_json::json;

use crate::backend_tests;
use crate::support::TestApp;

async fn tags_are_managed_by_editors(app: TestApp) {
    let editor = app.token_for("ed@example.com", "editor").await;
    let author = app.token_for("au@example.com", "author").await;
    let res = app
        .post("/api/v1/admin/tags")
        .bearer(&editor)
        .json(json!({"name": "Climate Policy", "description": "Heat, law and money."}))
        .send()
        .await;
    res.assert_status(201);
    let tag = res.json();
    let id = tag["id"].as_i64().unwrap();
    assert_eq!(tag["slug"], "climate-policy");
    assert_eq!(
        res.header("location"),
        Some(format!("/api/v1/admin/tags/{id}").as_str())
    );

    app.post("/api/v1/admin/tags")
        .bearer(&editor)
        .json(json!({"name": "Climate Policy"}))
        .send()
        .await
        .problem(409, "conflict");
    app.post("/api/v1/admin/tags")
        .bearer(&author)
        .json(json!({"name": "Mine"}))
        .send()
        .await
        .problem(403, "forbidden");
    app.post("/api/v1/admin/tags")
        .bearer(&editor)
        .json(json!({"name": ""}))
        .send()
        .await
        .invalid_field("name");
    app.post("/api/v1/admin/tags")
        .bearer(&editor)
        .json(json!({"name": "x", "slug": "Bad Slug"}))
        .send()
        .await
        .invalid_field("slug");

    let got = app
        .get(&format!("/api/v1/admin/tags/{id}"))
        .bearer(&editor)
        .send()
        .await;
    let etag = got.header("etag").unwrap().to_string();
    let renamed = app
        .patch(&format!("/api/v1/admin/tags/{id}"))
        .bearer(&editor)
        .header("if-match", &etag)
        .json(json!({"name": "Climate", "slug": "climate", "description": null}))
        .send()
        .await;
    renamed.assert_status(200);
    assert_eq!(renamed.json()["slug"], "climate");
    assert!(renamed.json()["description"].is_null());
    app.patch(&format!("/api/v1/admin/tags/{id}"))
        .bearer(&editor)
        .header("if-match", &etag)
        .json(json!({"name": "Stale"}))
        .send()
        .await
        .problem(412, "precondition_failed");

    // Public once a published article carries it.
    app.get("/api/v1/tags/climate")
        .send()
        .await
        .problem(404, "not_found");
    app.post("/api/v1/admin/articles")
        .bearer(&editor)
        .json(json!({"title": "Heat", "status": "published", "tags": ["climate"]}))
        .send()
        .await
        .assert_status(201);
    let public = app.get("/api/v1/tags/climate").send().await;
    public.assert_status(200);
    assert_eq!(public.json()["name"], "Climate");
    app.get("/api/v1/tags/climate-policy")
        .send()
        .await
        .problem(404, "not_found");
}

async fn article_writes_create_and_reuse_tags_and_counts_are_public_only(app: TestApp) {
    let editor = app.token_for("ed@example.com", "editor").await;
    let published = app
        .post("/api/v1/admin/articles")
        .bearer(&editor)
        .json(json!({"title": "One", "status": "published", "tags": ["Urban Life", "housing"]}))
        .send()
        .await
        .json();
    app.post("/api/v1/admin/articles")
        .bearer(&editor)
        .json(json!({"title": "Two", "tags": ["urban-life"]}))
        .send()
        .await
        .assert_status(201);
    let future = (chrono::Utc::now() + chrono::Duration::days(2)).to_rfc3339();
    app.post("/api/v1/admin/articles")
        .bearer(&editor)
        .json(
            json!({"title": "Three", "status": "published", "published_at": future, "tags": ["Urban life"]}),
        )
        .send()
        .await
        .assert_status(201);

    let tags = app.get("/api/v1/tags").send().await;
    tags.assert_status(200);
    assert!(tags.header("etag").is_some());
    let body = tags.json();
    assert_eq!(
        body["meta"]["total"], 2,
        "names and slugs of one tag are one tag: {body}"
    );
    let urban = body["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["slug"] == "urban-life")
        .unwrap();
    assert_eq!(urban["name"], "Urban Life");
    assert_eq!(
        urban["article_count"], 1,
        "only the visible article counts publicly"
    );
    let admin = app.get("/api/v1/admin/tags").bearer(&editor).send().await.json();
    let urban = admin["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["slug"] == "urban-life")
        .unwrap();
    assert_eq!(urban["article_count"], 3);

    // A tag whose slug is not its name's is still found by name.
    let custom = app
        .post("/api/v1/admin/tags")
        .bearer(&editor)
        .json(json!({"name": "Opinion", "slug": "comment-is-free"}))
        .send()
        .await
        .json();
    let tagged = app
        .post("/api/v1/admin/articles")
        .bearer(&editor)
        .json(json!({"title": "Four", "tags": ["Opinion", "comment-is-free"]}))
        .send()
        .await;
    tagged.assert_status(201);
    assert_eq!(
        tagged.json()["tags"],
        json!([{"id": custom["id"], "slug": "comment-is-free", "name": "Opinion"}])
    );

    // Deleting a tag detaches it.
    let housing = body["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["slug"] == "housing")
        .unwrap();
    let housing_id = housing["id"].as_i64().unwrap();
    app.delete(&format!("/api/v1/admin/tags/{housing_id}"))
        .bearer(&editor)
        .send()
        .await
        .assert_status(204);
    let article = app.get("/api/v1/articles/one").send().await.json();
    let slugs: Vec<&str> = article["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["slug"].as_str().unwrap())
        .collect();
    assert_eq!(slugs, vec!["urban-life"]);
    assert_eq!(published["tags"].as_array().unwrap().len(), 2);
    app.delete(&format!("/api/v1/admin/tags/{housing_id}"))
        .bearer(&editor)
        .send()
        .await
        .problem(404, "not_found");

    // Replacing tags on update.
    let id = published["id"].as_i64().unwrap();
    let updated = app
        .patch(&format!("/api/v1/admin/articles/{id}"))
        .bearer(&editor)
        .json(json!({"tags": []}))
        .send()
        .await
        .json();
    assert_eq!(updated["tags"], json!([]));
}

backend_tests!(
    tags_are_managed_by_editors,
    article_writes_create_and_reuse_tags_and_counts_are_public_only,
);

async fn tag_pages_follow_every_status_and_time_change(app: TestApp) {
    let editor = app.token_for("ed@example.com", "editor").await;
    let mut ids = Vec::new();
    for i in 0..5 {
        let at = (chrono::Utc::now() - chrono::Duration::minutes(10 + i)).to_rfc3339();
        let a = app
            .post("/api/v1/admin/articles")
            .bearer(&editor)
            .json(json!({"title": format!("Tagged {i}"), "status": "published", "published_at": at, "tags": ["beat"]}))
            .send()
            .await
            .json();
        ids.push(a["id"].as_i64().unwrap());
    }
    let page_ids = |body: &serde_json::Value| -> Vec<i64> {
        body["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["id"].as_i64().unwrap())
            .collect()
    };
    let all = app.get("/api/v1/articles?tag=beat").send().await.json();
    assert_eq!(page_ids(&all), ids);
    assert_eq!(all["meta"]["total"], 5);

    // Cursor mode walks the tag in order.
    let first = app
        .get("/api/v1/articles?tag=beat&per_page=2&cursor=")
        .send()
        .await
        .json();
    assert_eq!(page_ids(&first), ids[..2].to_vec());
    let next = first["links"]["next"].as_str().unwrap().to_string();
    assert_eq!(page_ids(&app.get(&next).send().await.json()), ids[2..4].to_vec());
    let oldest = app
        .get("/api/v1/articles?tag=beat&sort=published_at&per_page=1")
        .send()
        .await
        .json();
    assert_eq!(page_ids(&oldest), vec![ids[4]]);

    // Unpublishing, archiving, rescheduling and untagging all leave the page.
    let patch = |id: i64, body: serde_json::Value| {
        app.patch(&format!("/api/v1/admin/articles/{id}"))
            .bearer(&editor)
            .json(body)
            .send()
    };
    patch(ids[0], json!({"status": "draft"})).await.assert_status(200);
    patch(ids[1], json!({"status": "archived"}))
        .await
        .assert_status(200);
    let later = (chrono::Utc::now() + chrono::Duration::days(1)).to_rfc3339();
    patch(ids[2], json!({"published_at": later}))
        .await
        .assert_status(200);
    patch(ids[3], json!({"tags": ["other"]})).await.assert_status(200);
    let left = app.get("/api/v1/articles?tag=beat").send().await.json();
    assert_eq!(page_ids(&left), vec![ids[4]]);
    assert_eq!(left["meta"]["total"], 1);

    // …and coming back returns it to its place.
    patch(ids[0], json!({"status": "published"}))
        .await
        .assert_status(200);
    let back = app.get("/api/v1/articles?tag=beat").send().await.json();
    assert_eq!(page_ids(&back), vec![ids[0], ids[4]]);
    let window = app
        .get("/api/v1/articles?tag=beat&to=2000-01-01")
        .send()
        .await
        .json();
    assert_eq!(window["meta"]["total"], 0);
    app.get("/api/v1/articles?tag=no-such-tag").send().await.json()["meta"]["total"]
        .as_i64()
        .map(|n| assert_eq!(n, 0))
        .unwrap();
}

backend_tests!(tag_pages_follow_every_status_and_time_change);

fn slugs(body: &serde_json::Value) -> Vec<String> {
    body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["slug"].as_str().unwrap().to_string())
        .collect()
}

/// A draft's or a scheduled article's new tag is not public until an
/// article carrying it is visible (issue: "Acme Globex merger embargo").
async fn tags_of_drafts_and_scheduled_articles_stay_private(app: TestApp) {
    let editor = app.token_for("ed@example.com", "editor").await;
    let draft = app
        .post("/api/v1/admin/articles")
        .bearer(&editor)
        .json(json!({"title": "Embargoed", "tags": ["Acme Globex merger embargo"]}))
        .send()
        .await
        .json();
    let future = (chrono::Utc::now() + chrono::Duration::days(2)).to_rfc3339();
    app.post("/api/v1/admin/articles")
        .bearer(&editor)
        .json(
            json!({"title": "Later", "status": "published", "published_at": future, "tags": ["Launch day"]}),
        )
        .send()
        .await
        .assert_status(201);
    app.post("/api/v1/admin/tags")
        .bearer(&editor)
        .json(json!({"name": "Unused"}))
        .send()
        .await
        .assert_status(201);
    app.post("/api/v1/admin/articles")
        .bearer(&editor)
        .json(json!({"title": "Out now", "status": "published", "tags": ["Visible"]}))
        .send()
        .await
        .assert_status(201);

    let public = app.get("/api/v1/tags").send().await.json();
    assert_eq!(slugs(&public), vec!["visible"], "{public}");
    assert_eq!(public["meta"]["total"], 1);
    for hidden in ["acme-globex-merger-embargo", "launch-day", "unused"] {
        app.get(&format!("/api/v1/tags/{hidden}"))
            .send()
            .await
            .problem(404, "not_found");
    }
    let admin = app.get("/api/v1/admin/tags").bearer(&editor).send().await.json();
    assert_eq!(admin["meta"]["total"], 4, "editors see every tag: {admin}");

    // Publishing the draft makes its tag public.
    let id = draft["id"].as_i64().unwrap();
    app.patch(&format!("/api/v1/admin/articles/{id}"))
        .bearer(&editor)
        .json(json!({"status": "published"}))
        .send()
        .await
        .assert_status(200);
    let tag = app.get("/api/v1/tags/acme-globex-merger-embargo").send().await;
    tag.assert_status(200);
    assert_eq!(tag.json()["article_count"], 1);
}

/// Only editors create tags: an author naming an unknown tag in an article
/// write gets a 422 on `tags`, on create and on update, and nothing is
/// created; existing tags are theirs to use.
async fn authors_may_only_use_existing_tags(app: TestApp) {
    let editor = app.token_for("ed@example.com", "editor").await;
    let author = app.token_for("au@example.com", "author").await;
    app.post("/api/v1/admin/tags")
        .bearer(&editor)
        .json(json!({"name": "Cities"}))
        .send()
        .await
        .assert_status(201);
    app.post("/api/v1/admin/articles")
        .bearer(&author)
        .json(json!({"title": "New beat", "tags": ["Cities", "Brand new"]}))
        .send()
        .await
        .invalid_field("tags");
    let mine = app
        .post("/api/v1/admin/articles")
        .bearer(&author)
        .json(json!({"title": "Old beat", "tags": ["cities"]}))
        .send()
        .await;
    mine.assert_status(201);
    let id = mine.json()["id"].as_i64().unwrap();
    app.patch(&format!("/api/v1/admin/articles/{id}"))
        .bearer(&author)
        .json(json!({"tags": ["Cities", "Also new"]}))
        .send()
        .await
        .invalid_field("tags");
    let admin = app.get("/api/v1/admin/tags").bearer(&editor).send().await.json();
    assert_eq!(slugs(&admin), vec!["cities"], "an author created a tag: {admin}");
    // An editor's article write still creates tags.
    app.patch(&format!("/api/v1/admin/articles/{id}"))
        .bearer(&editor)
        .json(json!({"tags": ["Cities", "Also new"]}))
        .send()
        .await
        .assert_status(200);
}

/// A Cyrillic `С` in "Cities" would make a second tag that looks the same:
/// names mixing scripts, and names with bidirectional controls, are 422.
async fn tag_names_mixing_scripts_or_with_bidi_controls_are_refused(app: TestApp) {
    let editor = app.token_for("ed@example.com", "editor").await;
    let lookalike = "\u{421}ities";
    app.post("/api/v1/admin/tags")
        .bearer(&editor)
        .json(json!({"name": lookalike}))
        .send()
        .await
        .invalid_field("name");
    app.post("/api/v1/admin/tags")
        .bearer(&editor)
        .json(json!({"name": "Cit\u{202e}ies"}))
        .send()
        .await
        .invalid_field("name");
    app.post("/api/v1/admin/articles")
        .bearer(&editor)
        .json(json!({"title": "Lookalike", "tags": ["Parks", lookalike]}))
        .send()
        .await
        .invalid_field("tags[1]");
    let tag = app
        .post("/api/v1/admin/tags")
        .bearer(&editor)
        .json(json!({"name": "Города"}))
        .send()
        .await;
    tag.assert_status(201);
    let id = tag.json()["id"].as_i64().unwrap();
    app.patch(&format!("/api/v1/admin/tags/{id}"))
        .bearer(&editor)
        .json(json!({"name": "Гoрода"}))
        .send()
        .await
        .invalid_field("name");
}

backend_tests!(
    tags_of_drafts_and_scheduled_articles_stay_private,
    authors_may_only_use_existing_tags,
    tag_names_mixing_scripts_or_with_bidi_controls_are_refused,
);
