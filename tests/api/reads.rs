//! Uncached public reads: how many statements each costs, and that the
//! leaner queries behind them (joined pages, lists without bodies) still
//! answer with what the rows say.

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
/// page holds: the article page two (the article joined to its author, its
/// tags), a list page its rows, authors and tags (plus the total in page
/// mode), a tag page the same after looking up the tag, a thread or a share
/// count the article's id and what was asked.
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
    assert_eq!(statements(&app, "/api/v1/articles/tram-story-1").await, 2);
    assert_eq!(statements(&app, "/api/v1/articles?per_page=5").await, 4);
    assert_eq!(statements(&app, "/api/v1/articles?per_page=5&cursor=").await, 3);
    assert_eq!(
        statements(&app, "/api/v1/articles?tag=cities&per_page=5&cursor=").await,
        4
    );
    assert_eq!(
        statements(&app, "/api/v1/articles/tram-story-1/comments?cursor=").await,
        2
    );
    assert_eq!(statements(&app, "/api/v1/articles/tram-story-1/shares").await, 2);
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

backend_tests_with!(
    [("RESPONSE_CACHE_BYTES", "0")],
    each_read_costs_a_fixed_number_of_statements,
    lists_carry_the_real_bodies_when_asked,
);
