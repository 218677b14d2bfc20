//! `Idempotency-Key` on POST and PATCH: a retry gets the first answer back
//! and does nothing again; the same key with another request is a 422; a
//! retry while the first still runs is a 409 (or, once it finished, the
//! replay); keys are per client and expire.

use diesel::prelude::*;
use serde_json::{Value, json};

use crate::backend_tests;
use crate::support::{TestApp, TestResponse};

const KEY: &str = "6f1c3b1e-3a52-4b7e-9f0e-1a2b3c4d5e6f";

fn comment(body: &str) -> Value {
    json!({"author_name": "Ada", "author_email": "ada@example.com", "body": body})
}

async fn post_comment(app: &TestApp, slug: &str, key: &str, peer: &str, body: Value) -> TestResponse {
    app.post(&format!("/api/v1/articles/{slug}/comments"))
        .header("idempotency-key", key)
        .peer(peer)
        .json(body)
        .send()
        .await
}

/// Comments of every status on the article, as the moderators see them.
async fn comment_count(app: &TestApp, token: &str, id: i64) -> i64 {
    let res = app
        .get(&format!("/api/v1/admin/comments?article_id={id}&per_page=100"))
        .bearer(token)
        .send()
        .await;
    res.assert_status(200);
    res.json()["data"].as_array().unwrap().len() as i64
}

async fn a_retried_comment_is_answered_once_and_stored_once(app: TestApp) {
    let token = app.admin_token().await;
    let author = app.create_editor("au@example.com", "author").await;
    let (id, slug) = app.create_article(author, "Retries", "published").await;
    let peer = "198.51.100.7:4000";
    let first = post_comment(&app, &slug, KEY, peer, comment("Once only.")).await;
    assert!(first.status.is_success(), "{}", first.text());
    assert_eq!(first.header("idempotent-replayed"), None);
    let retry = post_comment(&app, &slug, KEY, peer, comment("Once only.")).await;
    assert_eq!(retry.status, first.status);
    assert_eq!(retry.header("idempotent-replayed"), Some("true"));
    // The same answer, less its secret (the reader's trust token is never
    // stored; see secrets_and_transient_answers_are_not_kept).
    let mut expected = first.json();
    expected.as_object_mut().unwrap().remove("trust_token");
    assert_eq!(retry.json(), expected);
    assert_eq!(retry.header("content-type"), first.header("content-type"));
    assert_eq!(comment_count(&app, &token, id).await, 1);

    // The same key with another body: refused, nothing written.
    post_comment(&app, &slug, KEY, peer, comment("Something else."))
        .await
        .problem(422, "idempotency_key_reused");
    assert_eq!(comment_count(&app, &token, id).await, 1);
    // Keys are per client: another reader's identical key is theirs.
    let other = post_comment(&app, &slug, KEY, "203.0.113.9:4000", comment("Once only.")).await;
    assert!(other.status.is_success());
    assert_eq!(other.header("idempotent-replayed"), None);
    assert_eq!(comment_count(&app, &token, id).await, 2);

    // A refused request is an answer too: the retry gets the same 422.
    let bad = post_comment(&app, &slug, "k-bad", peer, json!({"author_name": "Ada"})).await;
    bad.assert_status(422);
    let again = post_comment(&app, &slug, "k-bad", peer, json!({"author_name": "Ada"})).await;
    again.assert_status(422);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));

    // A malformed key is refused before anything runs.
    for bad_key in ["x".repeat(256), "with space".to_string()] {
        post_comment(&app, &slug, &bad_key, peer, comment("Nope."))
            .await
            .invalid_field("Idempotency-Key");
    }
    assert_eq!(comment_count(&app, &token, id).await, 2);
}

async fn an_editors_key_outlives_their_access_token(app: TestApp) {
    let first_token = app.token_for("ed@example.com", "editor").await;
    let create = |token: String| {
        let app = &app;
        async move {
            app.post("/api/v1/admin/articles")
                .bearer(&token)
                .header("idempotency-key", KEY)
                .json(json!({"title": "Created once", "status": "draft"}))
                .send()
                .await
        }
    };
    let first = create(first_token.clone()).await;
    first.assert_status(201);
    // Signed in again (a new access token): the same editor, the same key.
    let second_token = app.login("ed@example.com").await["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let retry = create(second_token).await;
    retry.assert_status(201);
    assert_eq!(retry.header("idempotent-replayed"), Some("true"));
    assert_eq!(retry.header("location"), first.header("location"));
    assert_eq!(retry.json()["id"], first.json()["id"]);
    let list = app
        .get("/api/v1/admin/articles?q=created+once")
        .bearer(&first_token)
        .send()
        .await
        .json();
    assert_eq!(list["data"].as_array().unwrap().len(), 1);

    // A replayed PATCH does not apply again over a later edit.
    let id = first.json()["id"].as_i64().unwrap();
    let path = format!("/api/v1/admin/articles/{id}");
    let patch = |title: &'static str, key: Option<&'static str>| {
        let (app, token, path) = (&app, first_token.clone(), path.clone());
        async move {
            let mut req = app.patch(&path).bearer(&token).json(json!({"title": title}));
            if let Some(key) = key {
                req = req.header("idempotency-key", key);
            }
            req.send().await
        }
    };
    patch("Edit A", Some("patch-key-1")).await.assert_status(200);
    patch("Edit B", None).await.assert_status(200);
    let replayed = patch("Edit A", Some("patch-key-1")).await;
    assert_eq!(replayed.header("idempotent-replayed"), Some("true"));
    assert_eq!(replayed.json()["title"], "Edit A");
    let now = app.get(&path).bearer(&first_token).send().await.json();
    assert_eq!(now["title"], "Edit B", "the retry must not apply the edit again");
}

async fn concurrent_retries_make_one_comment(app: TestApp) {
    let token = app.admin_token().await;
    let author = app.create_editor("au@example.com", "author").await;
    let (id, slug) = app.create_article(author, "Racing", "published").await;
    let peer = "198.51.100.8:4000";
    let (a, b, c) = futures_util::future::join3(
        post_comment(&app, &slug, KEY, peer, comment("Racing retries.")),
        post_comment(&app, &slug, KEY, peer, comment("Racing retries.")),
        post_comment(&app, &slug, KEY, peer, comment("Racing retries.")),
    )
    .await;
    let mut ran = 0;
    for res in [&a, &b, &c] {
        match (res.status.as_u16(), res.header("idempotent-replayed")) {
            (409, _) => assert_eq!(res.json()["code"], "idempotency_key_in_use"),
            (200..=299, Some("true")) => {}
            (200..=299, None) => ran += 1,
            (status, _) => panic!("unexpected {status}: {}", res.text()),
        }
    }
    assert_eq!(ran, 1, "exactly one of the retries ran");
    assert_eq!(comment_count(&app, &token, id).await, 1);
}

async fn keys_live_in_the_database_and_expire(app: TestApp) {
    let token = app.admin_token().await;
    let author = app.create_editor("au@example.com", "author").await;
    let (id, slug) = app.create_article(author, "Expiry", "published").await;
    let peer = "198.51.100.9:4000";
    post_comment(&app, &slug, KEY, peer, comment("Kept a day."))
        .await
        .assert_status(202);
    use broadsheet::db::schema::idempotency_keys as keys;
    let stored: Vec<(String, Option<i32>)> = app
        .parts
        .state
        .db
        .read(|conn| Ok(keys::table.select((keys::client, keys::status)).load(conn)?))
        .await
        .unwrap();
    assert_eq!(stored, vec![("ip:198.51.100.9".to_string(), Some(202))]);
    // Past its expiry the key is free again: the request runs anew.
    let past = broadsheet::domain::date::now() - chrono::Duration::hours(25);
    app.parts
        .state
        .db
        .write(move |conn| {
            Ok(diesel::update(keys::table)
                .set(keys::expires_at.eq(past))
                .execute(conn)?)
        })
        .await
        .unwrap();
    let fresh = post_comment(&app, &slug, KEY, peer, comment("Kept a day.")).await;
    fresh.assert_status(202);
    assert_eq!(fresh.header("idempotent-replayed"), None);
    assert_eq!(comment_count(&app, &token, id).await, 2);
}

backend_tests!(
    a_retried_comment_is_answered_once_and_stored_once,
    an_editors_key_outlives_their_access_token,
    concurrent_retries_make_one_comment,
    keys_live_in_the_database_and_expire,
);

/// Stored answers never hold a secret, answers a retry may change are not
/// kept, and a browser on an allowed origin may send the header.
async fn secrets_and_transient_answers_are_not_kept(app: TestApp) {
    use broadsheet::db::schema::idempotency_keys as keys;
    let author = app.create_editor("au@example.com", "author").await;
    let (_, slug) = app.create_article(author, "Secrets", "published").await;
    let peer = "198.51.100.10:4000";
    let first = post_comment(&app, &slug, "k-secret", peer, comment("Keep my token.")).await;
    first.assert_status(202);
    assert!(first.json()["trust_token"].is_string(), "{}", first.text());
    let replay = post_comment(&app, &slug, "k-secret", peer, comment("Keep my token.")).await;
    assert_eq!(replay.header("idempotent-replayed"), Some("true"));
    assert!(replay.json().get("trust_token").is_none(), "{}", replay.text());
    assert_eq!(replay.json()["id"], first.json()["id"]);
    let bodies: Vec<String> = app
        .parts
        .state
        .db
        .read(|conn| Ok(keys::table.select(keys::body).load(conn)?))
        .await
        .unwrap();
    assert!(bodies.iter().all(|b| !b.contains("trust_token")), "{bodies:?}");

    // Over the share limit (1 a minute here): the 429 is not kept, so the
    // key is free for the retry after Retry-After.
    let share = |key: &'static str| {
        let app = &app;
        let path = format!("/api/v1/articles/{slug}/shares");
        async move {
            app.post(&path)
                .header("idempotency-key", key)
                .peer(peer)
                .json(json!({"channel": "email"}))
                .send()
                .await
        }
    };
    share("share-1").await.assert_status(202);
    let limited = share("share-2").await;
    limited.problem(429, "rate_limited");
    assert!(limited.header("retry-after").is_some());
    let kept: Vec<String> = app
        .parts
        .state
        .db
        .read(|conn| Ok(keys::table.select(keys::key).load(conn)?))
        .await
        .unwrap();
    assert!(
        kept.contains(&"share-1".to_string()) && !kept.contains(&"share-2".to_string()),
        "{kept:?}"
    );

    // Requests no route takes, or an editor route refuses for want of a
    // token, cost no key.
    for (path, status) in [("/api/v1/nowhere", 404), ("/api/v1/admin/articles", 401)] {
        let res = app
            .post(path)
            .header("idempotency-key", "k-nowhere")
            .peer(peer)
            .json(json!({"title": "x"}))
            .send()
            .await;
        assert_eq!(res.status.as_u16(), status, "{path}");
    }
    let kept: Vec<String> = app
        .parts
        .state
        .db
        .read(|conn| Ok(keys::table.select(keys::key).load(conn)?))
        .await
        .unwrap();
    assert!(!kept.contains(&"k-nowhere".to_string()), "{kept:?}");

    // A preflight from an allowed origin may carry the header.
    let preflight = app
        .request(
            actix_web::http::Method::OPTIONS,
            &format!("/api/v1/articles/{slug}/comments"),
        )
        .header("origin", "https://www.example.com")
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "content-type, idempotency-key")
        .send()
        .await;
    let allowed = preflight
        .header("access-control-allow-headers")
        .unwrap_or("")
        .to_ascii_lowercase();
    assert!(allowed.contains("idempotency-key"), "{allowed}");
}

/// The preconditions are part of the request: a retry with a new
/// `If-Match` is a new request (a new key), and an own-profile edit keeps
/// its answer like any PATCH.
async fn preconditions_are_part_of_the_request(app: TestApp) {
    let token = app.token_for("ed@example.com", "editor").await;
    let created = app
        .post("/api/v1/admin/articles")
        .bearer(&token)
        .json(json!({"title": "Preconditions"}))
        .send()
        .await;
    let path = format!("/api/v1/admin/articles/{}", created.json()["id"]);
    let patch = |etag: &'static str| {
        let (app, token, path) = (&app, token.clone(), path.clone());
        async move {
            app.patch(&path)
                .bearer(&token)
                .header("idempotency-key", "pre-1")
                .header("if-match", etag)
                .json(json!({"title": "Edited"}))
                .send()
                .await
        }
    };
    patch("\"stale\"").await.problem(412, "precondition_failed");
    patch("\"other\"").await.problem(422, "idempotency_key_reused");
    let me = |bio: &'static str| {
        let (app, token) = (&app, token.clone());
        async move {
            app.patch("/api/v1/auth/me")
                .bearer(&token)
                .header("idempotency-key", "me-1")
                .json(json!({"bio": bio}))
                .send()
                .await
        }
    };
    me("First bio.").await.assert_status(200);
    let again = me("First bio.").await;
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
}

crate::backend_tests_with!(
    [
        ("RATE_LIMIT_SHARES_PER_MINUTE", "1"),
        ("CORS_ALLOWED_ORIGINS", "https://www.example.com")
    ],
    secrets_and_transient_answers_are_not_kept
);

backend_tests!(preconditions_are_part_of_the_request);
