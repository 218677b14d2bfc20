//! Preview links: an editor shows an unpublished article to someone
//! without an account, for a while, revocably; the preview is never cached
//! or indexed, and every token that does not work is the same 404.

use serde_json::{Value, json};

use crate::backend_tests;
use crate::support::{TestApp, TestResponse};

const AUTHOR: &str = "author@example.com";
const OTHER: &str = "other@example.com";

/// An author's id and access token.
async fn author(app: &TestApp, email: &str) -> (i64, String) {
    let id = app.create_editor(email, "author").await;
    let token = app.login(email).await["access_token"]
        .as_str()
        .expect("token")
        .to_string();
    (id, token)
}

async fn create_link(app: &TestApp, token: &str, article: i64) -> TestResponse {
    app.post(&format!("/api/v1/admin/articles/{article}/preview"))
        .bearer(token)
        .send()
        .await
}

/// Creates a link and returns its body.
async fn link(app: &TestApp, token: &str, article: i64) -> Value {
    let res = create_link(app, token, article).await;
    res.assert_status(201);
    res.json()
}

async fn revoke(app: &TestApp, token: &str, article: i64) -> TestResponse {
    app.delete(&format!("/api/v1/admin/articles/{article}/preview"))
        .bearer(token)
        .send()
        .await
}

async fn preview(app: &TestApp, link: &Value) -> TestResponse {
    app.get(link["api_url"].as_str().expect("api_url")).send().await
}

/// The one answer for every preview that does not work; its detail names
/// no reason, so nobody learns whether a token ever existed.
fn assert_gone(res: &TestResponse) {
    let body = res.problem(404, "not_found");
    assert_eq!(
        body["detail"],
        "No preview has this token; it may have expired or been revoked."
    );
    assert_eq!(res.header("cache-control"), Some("no-store"));
}

async fn a_preview_shows_the_draft_as_it_is_now(app: TestApp) {
    let (id, token) = author(&app, AUTHOR).await;
    let (article, slug) = app.create_article(id, "Night bus", "draft").await;

    let res = create_link(&app, &token, article).await;
    res.assert_status(201);
    assert_eq!(res.header("cache-control"), Some("no-store"));
    let created = res.json();
    let secret = created["token"].as_str().unwrap();
    assert!(secret.starts_with("bsp_"), "{secret}");
    assert_eq!(secret.len(), 47, "bsp_ and 32 random bytes in base64url");
    assert!(
        secret[4..]
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    );
    assert_eq!(created["api_url"], format!("/api/v1/preview/{secret}"));
    assert_eq!(res.header("location"), created["api_url"].as_str());
    assert_eq!(created["url"], format!("http://localhost:3000/preview/{secret}"));
    let expires = chrono::DateTime::parse_from_rfc3339(created["expires_at"].as_str().unwrap()).unwrap();
    let days = (expires.with_timezone(&chrono::Utc) - chrono::Utc::now()).num_minutes() as f64 / 1440.0;
    assert!((6.99..=7.0).contains(&days), "expires in {days} days");
    // A second link is another secret.
    assert_ne!(link(&app, &token, article).await["token"], created["token"]);

    let shown = preview(&app, &created).await;
    shown.assert_status(200);
    assert_eq!(shown.header("cache-control"), Some("no-store"));
    assert_eq!(shown.header("x-robots-tag"), Some("noindex"));
    assert!(shown.header("surrogate-key").is_none(), "no surrogate keys");
    assert!(shown.header("etag").is_some());
    let body = shown.json();
    assert_eq!(
        (body["id"].as_i64(), &body["title"]),
        (Some(article), &json!("Night bus"))
    );
    assert_eq!(body["status"], "draft");
    // The public still cannot see it.
    app.get(&format!("/api/v1/articles/{slug}"))
        .send()
        .await
        .problem(404, "not_found");

    // Edits show at once.
    app.patch(&format!("/api/v1/admin/articles/{article}"))
        .bearer(&token)
        .json(json!({"title": "Night bus, revised", "body_markdown": "A new *first* paragraph."}))
        .send()
        .await
        .assert_status(200);
    let body = preview(&app, &created).await.json();
    assert_eq!(body["title"], "Night bus, revised");
    assert!(
        body["body_html"].as_str().unwrap().contains("<em>first</em>"),
        "{body}"
    );
    let narrowed = app
        .get(&format!(
            "{}?fields=id,title",
            created["api_url"].as_str().unwrap()
        ))
        .send()
        .await;
    assert_eq!(
        narrowed.json(),
        json!({"id": article, "title": "Night bus, revised"})
    );

    // Once published, the link still works and shows what the public sees.
    let slug = app
        .patch(&format!("/api/v1/admin/articles/{article}"))
        .bearer(&token)
        .json(json!({"status": "published"}))
        .send()
        .await
        .json()["slug"]
        .as_str()
        .unwrap()
        .to_string();
    let public = app.get(&format!("/api/v1/articles/{slug}")).send().await;
    public.assert_status(200);
    assert_eq!(preview(&app, &created).await.json(), public.json());
}

async fn revoking_ends_every_link_at_once(app: TestApp) {
    let (id, token) = author(&app, AUTHOR).await;
    let (article, _) = app.create_article(id, "Scheduled piece", "draft").await;
    let (first, second) = (
        link(&app, &token, article).await,
        link(&app, &token, article).await,
    );
    // Read twice each: had anything kept the answer, the reads after the
    // revocation would still get it.
    for l in [&first, &second, &first, &second] {
        preview(&app, l).await.assert_status(200);
    }
    revoke(&app, &token, article).await.assert_status(204);
    for l in [&first, &second] {
        assert_gone(&preview(&app, l).await);
    }
    // Revoking nothing is fine; a new link works again.
    revoke(&app, &token, article).await.assert_status(204);
    let third = link(&app, &token, article).await;
    preview(&app, &third).await.assert_status(200);
    assert_gone(&preview(&app, &first).await);
}

async fn expired_links_and_deleted_articles_show_nothing(app: TestApp) {
    let (id, token) = author(&app, AUTHOR).await;
    let (article, _) = app.create_article(id, "Soon", "draft").await;
    let expiring = link(&app, &token, article).await;
    preview(&app, &expiring).await.assert_status(200);
    app.parts
        .state
        .db
        .write(|conn| {
            use broadsheet::db::schema::preview_links;
            use diesel::prelude::*;
            let past = broadsheet::domain::date::now() - chrono::Duration::seconds(1);
            diesel::update(preview_links::table)
                .set(preview_links::expires_at.eq(past))
                .execute(conn)?;
            Ok(())
        })
        .await
        .unwrap();
    assert_gone(&preview(&app, &expiring).await);

    let (doomed, _) = app.create_article(id, "Doomed", "draft").await;
    let l = link(&app, &token, doomed).await;
    preview(&app, &l).await.assert_status(200);
    app.delete(&format!("/api/v1/admin/articles/{doomed}"))
        .bearer(&token)
        .send()
        .await
        .assert_status(204);
    assert_gone(&preview(&app, &l).await);
    create_link(&app, &token, doomed).await.problem(404, "not_found");
}

async fn a_deactivated_editors_links_stop_working(app: TestApp) {
    let admin = app.admin_token().await;
    let (id, _) = author(&app, AUTHOR).await;
    let (article, _) = app.create_article(id, "Shown by an editor", "archived").await;
    let editor_id = app.create_editor("editor@example.com", "editor").await;
    let editor = app.login("editor@example.com").await["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    // Editors may show any article, archived ones too.
    let l = link(&app, &editor, article).await;
    preview(&app, &l).await.assert_status(200);
    app.patch(&format!("/api/v1/admin/editors/{editor_id}"))
        .bearer(&admin)
        .json(json!({"active": false}))
        .send()
        .await
        .assert_status(200);
    assert_gone(&preview(&app, &l).await);
}

async fn authors_make_links_only_for_their_own_articles(app: TestApp) {
    let (id, _) = author(&app, AUTHOR).await;
    let (_, other) = author(&app, OTHER).await;
    let (article, _) = app.create_article(id, "Mine", "draft").await;
    // Another author's article is exactly a missing one.
    let theirs = create_link(&app, &other, article).await.problem(404, "not_found");
    let missing = create_link(&app, &other, 987_654).await.problem(404, "not_found");
    assert_eq!(
        theirs["detail"]
            .as_str()
            .unwrap()
            .replace(&article.to_string(), "N"),
        missing["detail"].as_str().unwrap().replace("987654", "N")
    );
    revoke(&app, &other, article).await.problem(404, "not_found");
    app.post(&format!("/api/v1/admin/articles/{article}/preview"))
        .send()
        .await
        .problem(401, "unauthorized");
    app.delete(&format!("/api/v1/admin/articles/{article}/preview"))
        .send()
        .await
        .problem(401, "unauthorized");
}

async fn only_a_hash_of_the_token_is_stored(app: TestApp) {
    let (id, token) = author(&app, AUTHOR).await;
    let (article, _) = app.create_article(id, "Secret", "draft").await;
    let secret = link(&app, &token, article).await["token"]
        .as_str()
        .unwrap()
        .to_string();
    let rows: Vec<(i64, String, i64)> = app
        .parts
        .state
        .db
        .read(|conn| {
            use broadsheet::db::schema::preview_links::dsl::*;
            use diesel::prelude::*;
            Ok(preview_links
                .select((article_id, token_hash, created_by))
                .load(conn)?)
        })
        .await
        .unwrap();
    assert_eq!(
        rows,
        vec![(article, broadsheet::auth::refresh::digest(&secret), id)]
    );
    assert!(
        !rows[0].1.contains(&secret[4..]),
        "the token itself is not stored"
    );
}

async fn malformed_tokens_are_the_same_404(app: TestApp) {
    let (id, token) = author(&app, AUTHOR).await;
    let (article, _) = app.create_article(id, "Target", "draft").await;
    let good = link(&app, &token, article).await["token"]
        .as_str()
        .unwrap()
        .to_string();
    let long = format!("bsp_{}", "a".repeat(5000));
    let unknown = format!("bsp_{}", "A".repeat(43));
    let near_miss = format!("{}x", &good[..46]);
    let paths = [
        "x",
        "bsp_",
        long.as_str(),
        unknown.as_str(),
        near_miss.as_str(),
        &good.to_uppercase(),
        "bsp_%00%00",
        "..%2F..%2Fetc%2Fpasswd",
        "bsp_%C3%A9t%C3%A9",
        "bsp_'%20OR%201=1--",
        "%F0%9F%92%A5",
        "%ZZ",
    ];
    for token in paths {
        let res = app.get(&format!("/api/v1/preview/{token}")).send().await;
        assert_eq!(res.status.as_u16(), 404, "{token}: {}", res.text());
        assert_gone(&res);
    }
    // The real one still works.
    preview(&app, &json!({"api_url": format!("/api/v1/preview/{good}")}))
        .await
        .assert_status(200);
}

backend_tests!(
    a_preview_shows_the_draft_as_it_is_now,
    revoking_ends_every_link_at_once,
    expired_links_and_deleted_articles_show_nothing,
    a_deactivated_editors_links_stop_working,
    authors_make_links_only_for_their_own_articles,
    only_a_hash_of_the_token_is_stored,
    malformed_tokens_are_the_same_404,
);
