//! The demo content `cargo run` loads into a fresh database.

use crate::backend_tests_with;
use crate::support::TestApp;

async fn demo_content_is_loaded_once_and_reads_like_a_news_site(app: TestApp) {
    let home = app.get("/api/v1/articles").send().await.json();
    let titles: Vec<&str> = home["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles.len(), 12, "published demo articles: {titles:?}");
    assert!(titles[0].starts_with("It's too late now"));
    let slug = home["data"][0]["slug"].as_str().unwrap().to_string();
    let article = app.get(&format!("/api/v1/articles/{slug}")).send().await.json();
    assert!(article["subtitle"].is_string());
    assert!(
        article["body_html"]
            .as_str()
            .unwrap()
            .contains("<figure class=\"pull-quote\">"),
        "a pull quote"
    );
    assert_eq!(article["pull_quotes"].as_array().unwrap().len(), 1);
    let image = &article["featured_image"];
    assert!(
        image["url"].is_string() && !image["alt"].as_str().unwrap().is_empty(),
        "{image}"
    );
    assert!(image["width"].is_u64() && image["caption"].is_string(), "{image}");
    // Enough for every page a frontend builds.
    let authors: std::collections::BTreeSet<&str> = home["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["author"]["slug"].as_str().unwrap())
        .collect();
    assert!(authors.len() >= 2, "{authors:?}");
    let featured = app.get("/api/v1/articles?featured=true").send().await.json();
    assert!(featured["data"].as_array().unwrap().len() >= 3, "{featured}");
    let related = app
        .get(&format!("/api/v1/articles/{slug}/related?per_page=4"))
        .send()
        .await
        .json();
    let related = related["data"].as_array().unwrap();
    assert_eq!(related.len(), 4);
    assert!(
        related[0]["tags"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["slug"] == "transport" || t["slug"] == "cities"),
        "{related:?}"
    );
    assert!(!article["tags"].as_array().unwrap().is_empty());
    assert!(
        article["comment_count"].as_i64().unwrap() >= 2,
        "demo comments: {article}"
    );
    let thread = app
        .get(&format!("/api/v1/articles/{slug}/comments"))
        .send()
        .await
        .json();
    let comments = thread["data"].as_array().unwrap();
    assert!(
        comments.iter().any(|c| c["parent_id"].is_i64()),
        "one threaded reply: {thread}"
    );
    assert!(
        article["share_count"].as_i64().unwrap() > 0,
        "demo shares: {article}"
    );
    let shares = app
        .get(&format!("/api/v1/articles/{slug}/shares"))
        .send()
        .await
        .json();
    assert_eq!(shares["total"], article["share_count"]);
    let tags = app.get("/api/v1/tags").send().await.json();
    assert!(tags["meta"]["total"].as_i64().unwrap() >= 6);

    // Seeding again is a no-op: the database is not empty any more.
    broadsheet::demo::seed_if_empty(&app.parts.state.db, &app.parts.state.renderer, None)
        .await
        .unwrap();
    let again = app.get("/api/v1/articles").send().await.json();
    assert_eq!(again["meta"]["total"], 12);

    // The demo admin can sign in with the password from the environment.
    let res = app
        .post("/api/v1/auth/login")
        .json(serde_json::json!({"email": broadsheet::demo::DEMO_ADMIN_EMAIL, "password": "demo admin password"}))
        .send()
        .await;
    res.assert_status(200);
}

backend_tests_with!(
    [
        ("DEMO_CONTENT", "true"),
        ("DEMO_ADMIN_PASSWORD", "demo admin password")
    ],
    demo_content_is_loaded_once_and_reads_like_a_news_site
);
