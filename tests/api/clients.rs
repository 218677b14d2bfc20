//! What generated clients and scripts send: repeated list parameters,
//! repeated scalars, explicit nulls in a PATCH.

use serde_json::json;

use crate::backend_tests;
use crate::support::TestApp;

async fn list_parameters_may_repeat_and_scalars_may_not(app: TestApp) {
    let token = app.admin_token().await;
    for title in ["One", "Two"] {
        app.post("/api/v1/admin/articles")
            .bearer(&token)
            .json(json!({"title": title, "status": "published", "tags": ["Transport"]}))
            .send()
            .await
            .assert_status(201);
    }
    let exploded = app.get("/api/v1/articles?fields=id&fields=slug").send().await;
    exploded.assert_status(200);
    let joined = app.get("/api/v1/articles?fields=id,slug").send().await;
    assert_eq!(exploded.json()["data"], joined.json()["data"]);
    let item = exploded.json()["data"][0].clone();
    assert_eq!(item.as_object().unwrap().len(), 2, "{item}");
    let two_tags = app
        .get("/api/v1/articles?tag=transport&tag=no-such-tag")
        .send()
        .await;
    assert_eq!(two_tags.json()["data"].as_array().unwrap().len(), 2);
    app.get("/api/v1/articles?page=1&page=2")
        .send()
        .await
        .invalid_field("page");
    app.get("/api/v1/articles?per_page=5&sort=-published_at&per_page=6")
        .send()
        .await
        .invalid_field("per_page");
}

async fn null_is_refused_where_a_field_cannot_be_null(app: TestApp) {
    let token = app.admin_token().await;
    let created = app
        .post("/api/v1/admin/articles")
        .bearer(&token)
        .json(json!({"title": "Nullable", "subtitle": "A standfirst", "tags": ["Cities"]}))
        .send()
        .await;
    created.assert_status(201);
    let id = created.json()["id"].as_i64().unwrap();
    let path = format!("/api/v1/admin/articles/{id}");
    for field in [
        "title",
        "status",
        "body_markdown",
        "tags",
        "slug",
        "featured",
        "comments_enabled",
    ] {
        app.patch(&path)
            .bearer(&token)
            .json(json!({ field: null }))
            .send()
            .await
            .invalid_field(field);
    }
    // A field that can be cleared is cleared by null.
    let cleared = app
        .patch(&path)
        .bearer(&token)
        .json(json!({"subtitle": null}))
        .send()
        .await;
    cleared.assert_status(200);
    assert_eq!(cleared.json()["subtitle"], serde_json::Value::Null);
    assert_eq!(cleared.json()["title"], "Nullable");
    let tag = app
        .get("/api/v1/admin/tags?per_page=1")
        .bearer(&token)
        .send()
        .await
        .json();
    let tag_id = tag["data"][0]["id"].as_i64().unwrap();
    app.patch(&format!("/api/v1/admin/tags/{tag_id}"))
        .bearer(&token)
        .json(json!({"name": null}))
        .send()
        .await
        .invalid_field("name");
}

backend_tests!(
    list_parameters_may_repeat_and_scalars_may_not,
    null_is_refused_where_a_field_cannot_be_null,
);
