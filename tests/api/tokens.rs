//! Personal API tokens: made with a password session, shown once, stored
//! as a hash, limited to their scopes and their editor's role, refused the
//! moment they expire, are revoked or their editor is disabled or deleted.

use diesel::prelude::*;
use serde_json::{Value, json};

use crate::backend_tests;
use crate::support::{ADMIN_EMAIL, TestApp, TestResponse};

async fn create(app: &TestApp, session: &str, body: Value) -> TestResponse {
    app.post("/api/v1/auth/tokens")
        .bearer(session)
        .json(body)
        .send()
        .await
}

/// Makes a token with `scopes` and returns the created body.
async fn token(app: &TestApp, session: &str, scopes: &[&str]) -> Value {
    let res = create(app, session, json!({"name": "script", "scopes": scopes})).await;
    res.assert_status(201);
    res.json()
}

fn secret(created: &Value) -> &str {
    created["token"].as_str().expect("token")
}

/// The stored rows of `api_tokens`, as (id, token_hash, prefix, last_used_at set).
async fn stored(app: &TestApp) -> Vec<(i64, String, String, bool)> {
    use broadsheet::db::schema::api_tokens::dsl::*;
    app.parts
        .state
        .db
        .read(|conn| {
            let rows: Vec<(i64, String, String, Option<chrono::NaiveDateTime>)> = api_tokens
                .order(id)
                .select((id, token_hash, prefix, last_used_at))
                .load(conn)?;
            Ok(rows
                .into_iter()
                .map(|(i, h, p, used)| (i, h, p, used.is_some()))
                .collect())
        })
        .await
        .unwrap()
}

fn sha256_hex(s: &str) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(s.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

async fn a_token_is_shown_once_stored_as_a_hash_and_limited_to_its_scopes(app: TestApp) {
    let session = app.admin_token().await;
    let expires = (chrono::Utc::now() + chrono::Duration::days(30))
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    let res = create(
        &app,
        &session,
        json!({"name": "nightly reader", "scopes": ["articles:read"], "expires_at": expires}),
    )
    .await;
    res.assert_status(201);
    assert_eq!(res.header("cache-control"), Some("no-store"));
    let created = res.json();
    let bst = secret(&created).to_string();
    assert!(bst.starts_with("bst_") && bst.len() == 47, "{bst}");
    assert_eq!(created["prefix"], bst[..12]);
    assert_eq!(created["scopes"], json!(["articles:read"]));
    assert_eq!(created["last_used_at"], Value::Null);
    assert_eq!(
        res.header("location"),
        Some(format!("/api/v1/auth/tokens/{}", created["id"]).as_str())
    );

    // The database holds the hash and the prefix, never the token.
    let rows = stored(&app).await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].1, sha256_hex(&bst));
    assert_eq!(rows[0].2, &bst[..12]);
    assert!(!rows[0].3, "not used yet");

    // Allowed: its scope, and who am I.
    app.get("/api/v1/admin/articles")
        .bearer(&bst)
        .send()
        .await
        .assert_status(200);
    let me = app.get("/api/v1/auth/me").bearer(&bst).send().await;
    me.assert_status(200);
    assert_eq!(me.json()["email"], ADMIN_EMAIL);
    // Outside its scopes: 403 naming the scope, before the body is read.
    let body = app
        .post("/api/v1/admin/articles")
        .bearer(&bst)
        .json(json!({"title": "Nope"}))
        .send()
        .await
        .problem(403, "insufficient_scope");
    assert!(
        body["detail"].as_str().unwrap().contains("articles:write"),
        "{body}"
    );
    for path in [
        "/api/v1/admin/editors",
        "/api/v1/admin/comments",
        "/api/v1/admin/tokens",
    ] {
        app.get(path)
            .bearer(&bst)
            .send()
            .await
            .problem(403, "insufficient_scope");
    }
    // Never credentials: no token minting, listing, password or profile.
    let body = create(&app, &bst, json!({"name": "child", "scopes": ["articles:read"]}))
        .await
        .problem(403, "insufficient_scope");
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("sign in with a password"),
        "{body}"
    );
    app.get("/api/v1/auth/tokens")
        .bearer(&bst)
        .send()
        .await
        .problem(403, "insufficient_scope");
    app.delete(&format!("/api/v1/auth/tokens/{}", created["id"]))
        .bearer(&bst)
        .send()
        .await
        .problem(403, "insufficient_scope");
    app.patch("/api/v1/auth/me")
        .bearer(&bst)
        .json(json!({"bio": "x"}))
        .send()
        .await
        .problem(403, "insufficient_scope");
    app.post("/api/v1/auth/password")
        .bearer(&bst)
        .json(json!({"current_password": "a", "new_password": "b"}))
        .send()
        .await
        .problem(403, "insufficient_scope");
    assert_eq!(stored(&app).await.len(), 1, "no token was made with a token");

    // Used: last_used_at is recorded; the list shows the prefix, not the token.
    let list = app.get("/api/v1/auth/tokens").bearer(&session).send().await;
    list.assert_status(200);
    let list = list.json();
    assert_eq!(list["meta"]["total"], 1);
    let item = &list["data"][0];
    assert_eq!(item["prefix"], &bst[..12]);
    assert!(
        item.get("token").is_none() && !list.to_string().contains(&bst),
        "{list}"
    );
    assert!(item["last_used_at"].is_string(), "{item}");
    assert_eq!(item["expires_at"], expires);
    assert!(stored(&app).await[0].3);

    // A JWT session is not limited by scopes.
    app.post("/api/v1/admin/articles")
        .bearer(&session)
        .json(json!({"title": "Still fine", "body_markdown": "Yes."}))
        .send()
        .await
        .assert_status(201);
}

async fn scopes_beyond_the_role_and_bad_expiries_are_refused(app: TestApp) {
    let author = app.token_for("author@example.com", "author").await;
    for scopes in [
        json!(["tags:write"]),
        json!(["comments:moderate"]),
        json!(["editors:admin"]),
        json!([]),
        json!(["root"]),
    ] {
        create(&app, &author, json!({"name": "s", "scopes": scopes}))
            .await
            .invalid_field("scopes");
    }
    let in_two_years = (chrono::Utc::now() + chrono::Duration::days(800)).to_rfc3339();
    for expires in ["2020-01-01T00:00:00Z", in_two_years.as_str()] {
        create(
            &app,
            &author,
            json!({"name": "s", "scopes": ["articles:read"], "expires_at": expires}),
        )
        .await
        .invalid_field("expires_at");
    }
    create(&app, &author, json!({"name": " ", "scopes": ["articles:read"]}))
        .await
        .invalid_field("name");
    let created = token(&app, &author, &["articles:read", "articles:write", "shares:read"]).await;
    assert_eq!(
        created["scopes"],
        json!(["articles:read", "articles:write", "shares:read"])
    );
    // The role still applies at each use: an author's token on editor routes.
    let editor = app.token_for("editor@example.com", "editor").await;
    let created = token(&app, &editor, &["comments:moderate", "tags:write"]).await;
    app.get("/api/v1/admin/comments")
        .bearer(secret(&created))
        .send()
        .await
        .assert_status(200);
    assert!(stored(&app).await.len() == 2);

    // Naming a new tag in an article creates it: that needs tags:write too.
    let writer = token(&app, &editor, &["articles:write"]).await;
    let article = |tag: &str| json!({"title": format!("On {tag}"), "body_markdown": "Text.", "tags": [tag]});
    app.post("/api/v1/admin/articles")
        .bearer(secret(&writer))
        .json(article("Brand new"))
        .send()
        .await
        .invalid_field("tags");
    let tagger = token(&app, &editor, &["articles:write", "tags:write"]).await;
    app.post("/api/v1/admin/articles")
        .bearer(secret(&tagger))
        .json(article("Brand new"))
        .send()
        .await
        .assert_status(201);

    // The secret is never kept by the Idempotency-Key store: a retry with
    // the same key makes (and shows) another token.
    let retry = || {
        app.post("/api/v1/auth/tokens")
            .bearer(&editor)
            .header("idempotency-key", "5b0c8a9e-4a65-4a52-9a51-2d6f0f6c1e11")
            .json(json!({"name": "retried", "scopes": ["articles:read"]}))
            .send()
    };
    let (first, second) = (retry().await, retry().await);
    assert!(second.header("idempotent-replayed").is_none());
    assert_ne!(first.json()["token"], second.json()["token"]);
}

async fn expired_revoked_and_disabled_tokens_are_refused_at_once(app: TestApp) {
    let admin = app.admin_token().await;
    let editor_id = app.create_editor("ed@example.com", "editor").await;
    let editor = app.login("ed@example.com").await["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let use_it = |bst: String| {
        let app = &app;
        async move { app.get("/api/v1/admin/articles").bearer(&bst).send().await }
    };

    // Expired (set in the past in the database).
    let expiring = token(&app, &editor, &["articles:read"]).await;
    use_it(secret(&expiring).into()).await.assert_status(200);
    let token_id = expiring["id"].as_i64().unwrap();
    app.parts
        .state
        .db
        .write(move |conn| {
            use broadsheet::db::schema::api_tokens;
            let past = broadsheet::domain::date::now() - chrono::Duration::seconds(1);
            diesel::update(api_tokens::table.find(token_id))
                .set(api_tokens::expires_at.eq(Some(past)))
                .execute(conn)?;
            Ok(())
        })
        .await
        .unwrap();
    use_it(secret(&expiring).into())
        .await
        .problem(401, "unauthorized");

    // Revoked by its owner; twice is 404.
    let revoked = token(&app, &editor, &["articles:read"]).await;
    let path = format!("/api/v1/auth/tokens/{}", revoked["id"]);
    app.delete(&path).bearer(&editor).send().await.assert_status(204);
    use_it(secret(&revoked).into()).await.problem(401, "unauthorized");
    app.delete(&path)
        .bearer(&editor)
        .send()
        .await
        .problem(404, "not_found");
    // Malformed and unknown tokens: the same 401.
    use_it("bst_nope".into()).await.problem(401, "unauthorized");
    use_it(format!("bst_{}", "A".repeat(43)))
        .await
        .problem(401, "unauthorized");

    // The editor deactivated: out at once; active again: back.
    let live = token(&app, &editor, &["articles:read"]).await;
    use_it(secret(&live).into()).await.assert_status(200);
    let editor_path = format!("/api/v1/admin/editors/{editor_id}");
    for (active, status) in [(false, 401), (true, 200)] {
        app.patch(&editor_path)
            .bearer(&admin)
            .json(json!({"active": active}))
            .send()
            .await
            .assert_status(200);
        use_it(secret(&live).into()).await.assert_status(status);
    }
    // Deleted: out, and its rows gone with it.
    app.delete(&editor_path)
        .bearer(&admin)
        .send()
        .await
        .assert_status(204);
    use_it(secret(&live).into()).await.problem(401, "unauthorized");
    assert!(
        stored(&app).await.is_empty(),
        "the editor's tokens went with them"
    );
}

async fn admins_list_and_revoke_everyones_tokens(app: TestApp) {
    let admin = app.admin_token().await;
    let alice = app.token_for("alice@example.com", "editor").await;
    let bob = app.token_for("bob@example.com", "author").await;
    let alices = token(&app, &alice, &["articles:read"]).await;
    let bobs = token(&app, &bob, &["articles:read"]).await;

    // Bob cannot see or revoke Alice's token: the same 404 as a missing one.
    let list = app.get("/api/v1/auth/tokens").bearer(&bob).send().await.json();
    assert_eq!(list["meta"]["total"], 1);
    assert_eq!(list["data"][0]["id"], bobs["id"]);
    app.delete(&format!("/api/v1/auth/tokens/{}", alices["id"]))
        .bearer(&bob)
        .send()
        .await
        .problem(404, "not_found");
    // Only admins list everyone's.
    app.get("/api/v1/admin/tokens")
        .bearer(&alice)
        .send()
        .await
        .problem(403, "forbidden");

    let res = app.get("/api/v1/admin/tokens").bearer(&admin).send().await;
    res.assert_status(200);
    let all = res.json();
    assert_eq!(all["meta"]["total"], 2);
    let names: Vec<&str> = all["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["editor_name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["bob", "alice"], "newest first");
    assert!(all["data"][0]["editor_id"].is_i64());
    assert!(!all.to_string().contains(secret(&alices)) && !all.to_string().contains(secret(&bobs)));

    // An admin's token with editors:admin manages tokens on admin routes.
    let admins = token(&app, &admin, &["editors:admin"]).await;
    let path = format!("/api/v1/admin/tokens/{}", alices["id"]);
    app.delete(&path)
        .bearer(secret(&admins))
        .send()
        .await
        .assert_status(204);
    app.get("/api/v1/admin/articles")
        .bearer(secret(&alices))
        .send()
        .await
        .problem(401, "unauthorized");
    app.delete(&path)
        .bearer(&admin)
        .send()
        .await
        .problem(404, "not_found");
    app.get("/api/v1/admin/articles")
        .bearer(secret(&bobs))
        .send()
        .await
        .assert_status(200);
}

backend_tests!(
    a_token_is_shown_once_stored_as_a_hash_and_limited_to_its_scopes,
    scopes_beyond_the_role_and_bad_expiries_are_refused,
    expired_revoked_and_disabled_tokens_are_refused_at_once,
    admins_list_and_revoke_everyones_tokens,
);
