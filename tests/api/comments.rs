//! Reader comments: posting under each moderation mode, the public thread,
//! anti-abuse rules, and the editors' moderation routes.

use broadsheet::db::articles::{self, ArticleChanges};
use serde_json::{Value, json};

use crate::support::{TestApp, TestResponse};
use crate::{backend_tests, backend_tests_with};

const EMAIL: &str = "reader.one@example.com";

/// A published article by a fresh author: `(article id, slug)`.
async fn article(app: &TestApp, title: &str) -> (i64, String) {
    let author = app
        .create_editor(
            &format!("{}@example.com", broadsheet::domain::slug::slugify(title)),
            "author",
        )
        .await;
    app.create_article(author, title, "published").await
}

fn comment(name: &str, email: &str, body: &str) -> Value {
    json!({"author_name": name, "author_email": email, "body": body})
}

async fn post(app: &TestApp, slug: &str, body: Value) -> TestResponse {
    app.post(&format!("/api/v1/articles/{slug}/comments"))
        .json(body)
        .send()
        .await
}

async fn public_list(app: &TestApp, slug: &str) -> Vec<Value> {
    let res = app.get(&format!("/api/v1/articles/{slug}/comments")).send().await;
    res.assert_status(200);
    assert!(
        !res.text().contains("@example.com"),
        "email in public list: {}",
        res.text()
    );
    res.json()["data"].as_array().unwrap().clone()
}

async fn comment_count(app: &TestApp, article_id: i64) -> i64 {
    app.parts
        .state
        .db
        .read(move |c| Ok(articles::find(c, article_id)?.expect("article").comment_count))
        .await
        .unwrap()
}

async fn change_article(app: &TestApp, id: i64, changes: ArticleChanges) {
    app.parts
        .state
        .db
        .write(move |c| Ok(articles::update(c, id, &changes)?))
        .await
        .unwrap();
}

async fn editor(app: &TestApp) -> String {
    app.token_for("moderator@example.com", "editor").await
}

async fn set_status(app: &TestApp, token: &str, id: i64, status: &str) -> TestResponse {
    app.patch(&format!("/api/v1/admin/comments/{id}"))
        .bearer(token)
        .json(json!({"status": status}))
        .send()
        .await
}

fn id_of(res: &TestResponse) -> i64 {
    res.json()["id"].as_i64().expect("comment id")
}

fn ids(items: &[Value]) -> Vec<i64> {
    items.iter().map(|c| c["id"].as_i64().unwrap()).collect()
}

async fn held_for_moderation_by_default_and_published_on_approval(app: TestApp) {
    let (article_id, slug) = article(&app, "Bus lanes work").await;
    let res = post(
        &app,
        &slug,
        json!({"author_name": "  Ana Ruiz ", "author_email": "Ana.Ruiz@Example.com",
               "author_url": "https://ana.example.org", "body": "Well argued.\n\nBut late."}),
    )
    .await;
    res.assert_status(202);
    assert!(res.header("location").is_none());
    assert_eq!(res.header("cache-control"), Some("no-store"));
    let text = res.text();
    assert!(
        !text.contains("ana.ruiz") && !text.contains("Ana.Ruiz") && !text.contains("author_email"),
        "{text}"
    );
    let created = res.json();
    assert_eq!(created["status"], "pending");
    assert_eq!(created["author_name"], "Ana Ruiz");
    assert_eq!(created["author_url"], "https://ana.example.org");
    assert_eq!(created["article_id"], article_id);
    assert_eq!(created["parent_id"], Value::Null);
    assert_eq!(created["body_html"], "<p>Well argued.</p>\n<p>But late.</p>");
    let id = created["id"].as_i64().unwrap();

    assert!(public_list(&app, &slug).await.is_empty());
    assert_eq!(comment_count(&app, article_id).await, 0);

    let token = editor(&app).await;
    let queue = app
        .get("/api/v1/admin/comments?status=pending")
        .bearer(&token)
        .send()
        .await;
    queue.assert_status(200);
    assert_eq!(queue.header("cache-control"), Some("no-store"));
    let queue = queue.json();
    assert_eq!(queue["data"][0]["id"], id);
    assert_eq!(queue["data"][0]["author_email"], "ana.ruiz@example.com");

    let approved = set_status(&app, &token, id, "approved").await;
    approved.assert_status(200);
    assert_eq!(approved.json()["status"], "approved");
    assert_eq!(approved.header("cache-control"), Some("no-store"));
    let thread = public_list(&app, &slug).await;
    assert_eq!(ids(&thread), vec![id]);
    assert_eq!(thread[0]["status"], "approved");
    assert!(thread[0].get("author_email").is_none());
    assert_eq!(comment_count(&app, article_id).await, 1);
}

async fn moderation_none_publishes_at_once_with_location(app: TestApp) {
    let (article_id, slug) = article(&app, "Parks matter").await;
    let res = post(&app, &slug, comment("Tom", EMAIL, "Agreed.")).await;
    res.assert_status(201);
    assert!(
        !res.text().contains(EMAIL) && !res.text().contains("author_email"),
        "{}",
        res.text()
    );
    let id = id_of(&res);
    assert_eq!(res.json()["status"], "approved");
    let location = res.header("location").expect("Location").to_string();
    assert_eq!(location, format!("/api/v1/articles/{slug}/comments/{id}"));
    let got = app.get(&location).send().await;
    got.assert_status(200);
    assert_eq!(got.json()["id"], id);
    assert!(!got.text().contains(EMAIL));
    assert!(got.header("cache-control").unwrap().starts_with("public"));
    assert_eq!(comment_count(&app, article_id).await, 1);
    assert_eq!(ids(&public_list(&app, &slug).await), vec![id]);
}

/// Keys of a JSON object, sorted: the shape of an answer.
fn keys(value: &Value) -> Vec<String> {
    let mut keys: Vec<String> = value.as_object().unwrap().keys().cloned().collect();
    keys.sort();
    keys
}

/// Under `first_time`, trust comes from the trust token of an approved
/// comment, never from a typed email; and the answer is `202` of one shape
/// either way, so it tells nobody whether an address has commented before.
async fn first_time_trusts_a_token_not_a_typed_email(app: TestApp) {
    let (article_id, slug) = article(&app, "Trust me").await;
    let first = post(&app, &slug, comment("Ana", EMAIL, "First words.")).await;
    first.assert_status(202);
    let trust = first.json()["trust_token"].as_str().unwrap().to_string();
    assert!(!trust.contains(EMAIL));
    let with_token = |email: &str, text: &str| {
        let mut c = comment("Ana", email, text);
        c["trust_token"] = json!(trust);
        c
    };
    // Before approval the token vouches for nothing.
    let early = post(&app, &slug, with_token(EMAIL, "Too early.")).await;
    early.assert_status(202);
    assert_eq!(early.json()["status"], "pending");
    let token = editor(&app).await;
    set_status(&app, &token, id_of(&first), "approved")
        .await
        .assert_status(200);

    // Knowing the email is not enough: same answer as a stranger's.
    let impostor = post(&app, &slug, comment("Mallory", EMAIL, "It's me, Ana.")).await;
    impostor.assert_status(202);
    assert_eq!(impostor.json()["status"], "pending");
    let stranger = post(&app, &slug, comment("Bo", "bo@example.com", "Hello.")).await;
    stranger.assert_status(202);
    assert_eq!(keys(&impostor.json()), keys(&stranger.json()));
    assert!(impostor.header("location").is_none());
    // The token is bound to its email.
    let borrowed = post(&app, &slug, with_token("bo@example.com", "Borrowed.")).await;
    assert_eq!(borrowed.json()["status"], "pending");
    let forged = trust.replace(&format!("ct1.{}.", id_of(&first)), "ct1.999999.");
    let mut c = comment("Ana", EMAIL, "Forged.");
    c["trust_token"] = json!(forged);
    assert_eq!(post(&app, &slug, c).await.json()["status"], "pending");

    // With the token (whatever the email's case): published, still 202.
    let again = post(&app, &slug, with_token(&EMAIL.to_uppercase(), "More words.")).await;
    again.assert_status(202);
    assert_eq!(again.json()["status"], "approved");
    assert_eq!(keys(&again.json()), keys(&stranger.json()));
    assert_eq!(comment_count(&app, article_id).await, 2);

    // Withdrawing the approved comment withdraws the trust.
    set_status(&app, &token, id_of(&first), "spam")
        .await
        .assert_status(200);
    let after = post(&app, &slug, with_token(EMAIL, "Still me.")).await;
    assert_eq!(after.json()["status"], "pending");
}

/// Bidirectional override and isolate characters reorder what a reader
/// sees (`\u{202e}` turns `gpj.exe` into `exe.jpg`): refused in comment
/// bodies, author names and URLs.
async fn bidi_controls_in_comments_are_refused(app: TestApp) {
    let (_, slug) = article(&app, "Mirror writing").await;
    post(&app, &slug, comment("Ana", EMAIL, "See \u{202e}gpj.exe"))
        .await
        .invalid_field("body");
    post(&app, &slug, comment("\u{2067}Ana\u{2069}", EMAIL, "Hello."))
        .await
        .invalid_field("author_name");
    let mut c = comment("Ana", EMAIL, "Hello.");
    c["author_url"] = json!("https://example.com/\u{202e}fdp.exe");
    post(&app, &slug, c).await.invalid_field("author_url");
    // Right-to-left text with its marks is fine.
    post(&app, &slug, comment("\u{200f}שלום", EMAIL, "\u{200f}שלום עולם"))
        .await
        .assert_status(202);
}

async fn every_comment_waits_under_moderation_all(app: TestApp) {
    let (_, slug) = article(&app, "Everyone waits").await;
    let first = post(&app, &slug, comment("Ana", EMAIL, "First.")).await;
    let token = editor(&app).await;
    set_status(&app, &token, id_of(&first), "approved")
        .await
        .assert_status(200);
    // A known author still waits when every comment is moderated.
    post(&app, &slug, comment("Ana", EMAIL, "Second."))
        .await
        .assert_status(202);
}

async fn thread_is_oldest_first_paged_cursored_and_cacheable(app: TestApp) {
    let (_, slug) = article(&app, "Long thread").await;
    let mut posted = Vec::new();
    for i in 0..5 {
        let res = post(
            &app,
            &slug,
            comment(&format!("R{i}"), EMAIL, &format!("Comment {i}")),
        )
        .await;
        res.assert_status(201);
        posted.push(id_of(&res));
    }
    let base = format!("/api/v1/articles/{slug}/comments");

    let page = app.get(&format!("{base}?per_page=2&page=2")).send().await;
    page.assert_status(200);
    let body = page.json();
    assert_eq!(ids(body["data"].as_array().unwrap()), posted[2..4].to_vec());
    assert_eq!(body["meta"]["total"], 5);
    assert_eq!(body["meta"]["total_pages"], 3);
    assert_eq!(body["links"]["next"], format!("{base}?per_page=2&page=3"));
    assert!(page.header("link").unwrap().contains("rel=\"next\""));
    assert_eq!(page.header("cache-control"), Some("public, max-age=60"));
    let etag = page.header("etag").expect("ETag").to_string();
    let again = app
        .get(&format!("{base}?per_page=2&page=2"))
        .header("if-none-match", &etag)
        .send()
        .await;
    again.assert_status(304);
    assert!(again.body.is_empty());

    // Cursor mode walks the whole thread in order, stable under new posts.
    let mut seen = Vec::new();
    let mut url = format!("{base}?per_page=2&cursor=");
    let mut pages = 0;
    loop {
        let res = app.get(&url).send().await;
        res.assert_status(200);
        let body = res.json();
        seen.extend(ids(body["data"].as_array().unwrap()));
        if pages == 0 {
            // Posted after the walk started: it comes last, nothing repeats.
            let late = post(&app, &slug, comment("Late", EMAIL, "Late comment")).await;
            posted.push(id_of(&late));
        }
        pages += 1;
        match body["meta"]["next_cursor"].as_str() {
            Some(cursor) => url = format!("{base}?per_page=2&cursor={cursor}"),
            None => break,
        }
        assert!(pages < 10, "cursor walk does not end");
    }
    assert_eq!(seen, posted);

    app.get(&format!("{base}?cursor=garbage"))
        .send()
        .await
        .invalid_field("cursor");
    app.get(&format!("{base}?per_page=0"))
        .send()
        .await
        .invalid_field("per_page");
    app.get(&format!("{base}?sort=new"))
        .send()
        .await
        .invalid_field("sort");
}

async fn replies_carry_parent_id_and_nest_to_the_depth_limit(app: TestApp) {
    let (_, slug) = article(&app, "Nesting").await;
    let root = id_of(&post(&app, &slug, comment("A", EMAIL, "root")).await);
    let mut reply =
        json!({"author_name": "B", "author_email": "b@example.com", "body": "level 1", "parent_id": root});
    let res = post(&app, &slug, reply.clone()).await;
    res.assert_status(201);
    assert_eq!(res.json()["parent_id"], root);
    assert_eq!(res.json()["depth"], 1);
    let level1 = id_of(&res);
    reply["parent_id"] = json!(level1);
    reply["body"] = json!("level 2");
    let level2 = id_of(&post(&app, &slug, reply.clone()).await);
    // COMMENT_MAX_DEPTH=2: a reply at depth 3 is refused.
    reply["parent_id"] = json!(level2);
    post(&app, &slug, reply.clone()).await.invalid_field("parent_id");

    let thread = public_list(&app, &slug).await;
    assert_eq!(ids(&thread), vec![root, level1, level2]);
    assert_eq!(thread[2]["parent_id"], level1);
    assert_eq!(thread[2]["depth"], 2);
}

async fn replies_must_answer_a_published_comment_of_the_same_article(app: TestApp) {
    let (_, slug) = article(&app, "One").await;
    let (_, other_slug) = article(&app, "Two").await;
    let elsewhere = id_of(&post(&app, &other_slug, comment("A", EMAIL, "on two")).await);
    let mut reply = comment("B", "b@example.com", "reply");
    reply["parent_id"] = json!(elsewhere);
    let body = post(&app, &slug, reply.clone()).await.invalid_field("parent_id");
    assert!(!body.to_string().contains(EMAIL));

    reply["parent_id"] = json!(987_654);
    post(&app, &slug, reply.clone()).await.invalid_field("parent_id");

    // A comment the public cannot see cannot be replied to either.
    let token = editor(&app).await;
    let held = id_of(&post(&app, &slug, comment("C", EMAIL, "to be spam")).await);
    set_status(&app, &token, held, "spam").await.assert_status(200);
    reply["parent_id"] = json!(held);
    post(&app, &slug, reply).await.invalid_field("parent_id");
}

async fn honeypot_marks_spam_but_answers_like_a_pending_comment(app: TestApp) {
    let (article_id, slug) = article(&app, "Bots welcome").await;
    let mut bot = comment("Cheap Pills", "bot@example.com", "Great post");
    bot["nickname"] = json!("pills4u");
    let res = post(&app, &slug, bot).await;
    res.assert_status(202);
    assert!(res.header("location").is_none());
    let caught = res.json();
    assert_eq!(caught["status"], "pending");
    assert!(!res.text().contains("spam"), "{}", res.text());

    // Same shape as an honest comment that is held.
    let honest = post(
        &app,
        &slug,
        comment(
            "Ana",
            EMAIL,
            "https://a.example https://b.example https://c.example",
        ),
    )
    .await;
    honest.assert_status(202);
    let keys = |v: &Value| {
        let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        k.sort();
        k
    };
    assert_eq!(keys(&caught), keys(&honest.json()));

    assert!(public_list(&app, &slug).await.is_empty());
    assert_eq!(comment_count(&app, article_id).await, 0);
    let token = editor(&app).await;
    let spam = app
        .get("/api/v1/admin/comments?status=spam")
        .bearer(&token)
        .send()
        .await
        .json();
    assert_eq!(
        ids(spam["data"].as_array().unwrap()),
        vec![caught["id"].as_i64().unwrap()]
    );

    // An empty honeypot is a person.
    let mut person = comment("Bo", "bo@example.com", "Hi");
    person["nickname"] = json!("");
    post(&app, &slug, person).await.assert_status(201);
}

async fn link_heavy_comments_are_held_even_without_moderation(app: TestApp) {
    let (article_id, slug) = article(&app, "Links").await;
    let three = "See https://a.example, http://b.example and www.c.example";
    let res = post(&app, &slug, comment("Ana", EMAIL, three)).await;
    res.assert_status(202);
    assert_eq!(res.json()["status"], "pending");
    let two = "See https://a.example and https://b.example/x";
    let ok = post(&app, &slug, comment("Ana", EMAIL, two)).await;
    ok.assert_status(201);
    assert_eq!(
        ok.json()["body_html"],
        "<p>See <a href=\"https://a.example\" rel=\"nofollow ugc noopener\">https://a.example</a> and \
         <a href=\"https://b.example/x\" rel=\"nofollow ugc noopener\">https://b.example/x</a></p>"
    );
    assert_eq!(comment_count(&app, article_id).await, 1);
}

async fn posting_is_rate_limited_per_client_ip(app: TestApp) {
    let (_, slug) = article(&app, "Limits").await;
    let url = format!("/api/v1/articles/{slug}/comments");
    for i in 0..2 {
        app.post(&url)
            .peer("203.0.113.5:4000")
            .json(comment("A", EMAIL, &format!("n{i}")))
            .send()
            .await
            .assert_status(202);
    }
    let limited = app
        .post(&url)
        .peer("203.0.113.5:4001")
        .json(comment("A", EMAIL, "one too many"))
        .send()
        .await;
    limited.problem(429, "rate_limited");
    let wait: u64 = limited
        .header("retry-after")
        .expect("Retry-After")
        .parse()
        .unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    // Invalid attempts count too: the quota is taken before the body is read.
    app.post(&url)
        .peer("203.0.113.5:4002")
        .json(json!({}))
        .send()
        .await
        .problem(429, "rate_limited");
    // Another address has its own quota; reading is never limited.
    app.post(&url)
        .peer("198.51.100.7:4000")
        .json(comment("B", "b@example.com", "hello"))
        .send()
        .await
        .assert_status(202);
    for _ in 0..5 {
        app.get(&url)
            .peer("203.0.113.5:4003")
            .send()
            .await
            .assert_status(200);
    }
}

async fn closed_unpublished_and_missing_articles_refuse_comments(app: TestApp) {
    let (closed_id, closed) = article(&app, "Closed").await;
    change_article(
        &app,
        closed_id,
        ArticleChanges {
            comments_enabled: Some(false),
            ..Default::default()
        },
    )
    .await;
    let res = post(&app, &closed, comment("A", EMAIL, "hello")).await;
    res.problem(403, "comments_disabled");
    // Existing comments of a closed article stay readable.
    app.get(&format!("/api/v1/articles/{closed}/comments"))
        .send()
        .await
        .assert_status(200);

    let author = app.create_editor("drafter@example.com", "author").await;
    let (_, draft) = app.create_article(author, "A draft", "draft").await;
    post(&app, &draft, comment("A", EMAIL, "hello"))
        .await
        .problem(404, "not_found");
    app.get(&format!("/api/v1/articles/{draft}/comments"))
        .send()
        .await
        .problem(404, "not_found");

    let (scheduled_id, scheduled) = app.create_article(author, "Tomorrow", "published").await;
    change_article(
        &app,
        scheduled_id,
        ArticleChanges {
            published_at: Some(Some(broadsheet::domain::date::now() + chrono::Duration::days(1))),
            ..Default::default()
        },
    )
    .await;
    post(&app, &scheduled, comment("A", EMAIL, "hello"))
        .await
        .problem(404, "not_found");

    let (archived_id, archived) = app.create_article(author, "Old news", "published").await;
    change_article(
        &app,
        archived_id,
        ArticleChanges {
            status: Some(broadsheet::domain::article::ArticleStatus::Archived),
            ..Default::default()
        },
    )
    .await;
    post(&app, &archived, comment("A", EMAIL, "hello"))
        .await
        .problem(404, "not_found");

    post(&app, "no-such-article", comment("A", EMAIL, "hello"))
        .await
        .problem(404, "not_found");
}

async fn comment_count_follows_approve_unapprove_and_delete(app: TestApp) {
    let (article_id, slug) = article(&app, "Counting").await;
    let token = editor(&app).await;
    let a = id_of(&post(&app, &slug, comment("A", EMAIL, "a")).await);
    let b = id_of(&post(&app, &slug, comment("B", EMAIL, "b")).await);
    set_status(&app, &token, a, "approved").await.assert_status(200);
    set_status(&app, &token, b, "approved").await.assert_status(200);
    assert_eq!(comment_count(&app, article_id).await, 2);
    // Approving twice counts once.
    set_status(&app, &token, b, "approved").await.assert_status(200);
    assert_eq!(comment_count(&app, article_id).await, 2);
    set_status(&app, &token, b, "spam").await.assert_status(200);
    assert_eq!(comment_count(&app, article_id).await, 1);
    set_status(&app, &token, b, "trash").await.assert_status(200);
    assert_eq!(comment_count(&app, article_id).await, 1);
    set_status(&app, &token, a, "pending").await.assert_status(200);
    assert_eq!(comment_count(&app, article_id).await, 0);
    set_status(&app, &token, a, "approved").await.assert_status(200);
    assert_eq!(comment_count(&app, article_id).await, 1);

    // Deleting an unapproved comment leaves the count; an approved one lowers it.
    app.delete(&format!("/api/v1/admin/comments/{b}"))
        .bearer(&token)
        .send()
        .await
        .assert_status(204);
    assert_eq!(comment_count(&app, article_id).await, 1);
    let deleted = app
        .delete(&format!("/api/v1/admin/comments/{a}"))
        .bearer(&token)
        .send()
        .await;
    deleted.assert_status(204);
    assert!(deleted.body.is_empty());
    assert_eq!(comment_count(&app, article_id).await, 0);
    app.get(&format!("/api/v1/admin/comments/{a}"))
        .bearer(&token)
        .send()
        .await
        .problem(404, "not_found");
    app.delete(&format!("/api/v1/admin/comments/{a}"))
        .bearer(&token)
        .send()
        .await
        .problem(404, "not_found");
}

async fn concurrent_moderation_keeps_the_count_exact(app: TestApp) {
    let (article_id, slug) = article(&app, "Races").await;
    let token = editor(&app).await;
    let a = id_of(&post(&app, &slug, comment("A", EMAIL, "a")).await);
    let b = id_of(&post(&app, &slug, comment("B", EMAIL, "b")).await);
    let patch_a = || set_status(&app, &token, a, "approved");
    let bulk = || {
        app.post("/api/v1/admin/comments/bulk")
            .bearer(&token)
            .json(json!({"ids": [a, b], "status": "approved"}))
            .send()
    };
    let delete_b = app
        .delete(&format!("/api/v1/admin/comments/{b}"))
        .bearer(&token)
        .send();
    let (patches, bulks, deleted) = futures_util::future::join3(
        futures_util::future::join_all([patch_a(), patch_a(), patch_a(), patch_a()]),
        futures_util::future::join_all([bulk(), bulk(), bulk()]),
        delete_b,
    )
    .await;
    for res in patches.iter().chain(bulks.iter()) {
        res.assert_status(200);
    }
    deleted.assert_status(204);
    // Whatever the interleaving: a approved, b gone.
    assert_eq!(comment_count(&app, article_id).await, 1);
    assert_eq!(ids(&public_list(&app, &slug).await), vec![a]);
}

async fn deleting_a_comment_with_replies_keeps_a_tombstone(app: TestApp) {
    let (article_id, slug) = article(&app, "Tombstones").await;
    let token = editor(&app).await;
    let mut parent_body = comment("Ana Ruiz", EMAIL, "The parent's words");
    parent_body["author_url"] = json!("https://ana.example.org");
    let parent = id_of(&post(&app, &slug, parent_body).await);
    let mut reply = comment("Tom", "tom@example.com", "A reply");
    reply["parent_id"] = json!(parent);
    let child = id_of(&post(&app, &slug, reply).await);
    assert_eq!(comment_count(&app, article_id).await, 2);

    app.delete(&format!("/api/v1/admin/comments/{parent}"))
        .bearer(&token)
        .send()
        .await
        .assert_status(204);
    assert_eq!(comment_count(&app, article_id).await, 1);

    let thread = public_list(&app, &slug).await;
    assert_eq!(ids(&thread), vec![parent, child]);
    assert_eq!(thread[0]["removed"], true);
    assert_eq!(thread[0]["author_name"], Value::Null);
    assert_eq!(thread[0]["author_url"], Value::Null);
    assert_eq!(thread[0]["body"], "");
    assert_eq!(thread[0]["body_html"], "");
    assert_eq!(thread[1]["parent_id"], parent);
    assert_eq!(thread[1]["removed"], false);

    // The personal data is gone from the database, not only hidden.
    let admin_view = app
        .get(&format!("/api/v1/admin/comments/{parent}"))
        .bearer(&token)
        .send()
        .await;
    admin_view.assert_status(200);
    assert!(!admin_view.text().contains("ana"), "{}", admin_view.text());
    assert_eq!(admin_view.json()["author_email"], Value::Null);
    // A tombstone cannot be edited back to life.
    set_status(&app, &token, parent, "pending")
        .await
        .problem(409, "conflict");

    // When its last reply goes, the tombstone goes too.
    app.delete(&format!("/api/v1/admin/comments/{child}"))
        .bearer(&token)
        .send()
        .await
        .assert_status(204);
    assert!(public_list(&app, &slug).await.is_empty());
    app.get(&format!("/api/v1/admin/comments/{parent}"))
        .bearer(&token)
        .send()
        .await
        .problem(404, "not_found");
    assert_eq!(comment_count(&app, article_id).await, 0);
}

async fn authors_cannot_moderate_and_strangers_are_unauthorized(app: TestApp) {
    let (_, slug) = article(&app, "Guarded").await;
    let id = id_of(&post(&app, &slug, comment("A", EMAIL, "hello")).await);
    let author = app.token_for("writer@example.com", "author").await;
    let routes = [
        app.get("/api/v1/admin/comments").bearer(&author).send().await,
        app.get(&format!("/api/v1/admin/comments/{id}"))
            .bearer(&author)
            .send()
            .await,
        set_status(&app, &author, id, "approved").await,
        app.post("/api/v1/admin/comments/bulk")
            .bearer(&author)
            .json(json!({"ids": [id], "status": "approved"}))
            .send()
            .await,
        app.delete(&format!("/api/v1/admin/comments/{id}"))
            .bearer(&author)
            .send()
            .await,
    ];
    for res in routes {
        res.problem(403, "forbidden");
    }
    let anonymous = app.get("/api/v1/admin/comments").send().await;
    anonymous.problem(401, "unauthorized");
    assert!(anonymous.header("www-authenticate").is_some());
    // Nothing changed.
    let admin = app.admin_token().await;
    let got = app
        .get(&format!("/api/v1/admin/comments/{id}"))
        .bearer(&admin)
        .send()
        .await;
    assert_eq!(got.json()["status"], "pending");
}

async fn patch_honours_if_match_and_corrects_the_body(app: TestApp) {
    let (_, slug) = article(&app, "Edits").await;
    let id = id_of(&post(&app, &slug, comment("A", EMAIL, "Teh typo")).await);
    let token = editor(&app).await;
    let got = app
        .get(&format!("/api/v1/admin/comments/{id}"))
        .bearer(&token)
        .send()
        .await;
    got.assert_status(200);
    assert_eq!(got.header("cache-control"), Some("no-store"));
    assert_eq!(got.json()["author_email"], EMAIL);
    let etag = got.header("etag").unwrap().to_string();

    let fixed = app
        .patch(&format!("/api/v1/admin/comments/{id}"))
        .bearer(&token)
        .header("if-match", &etag)
        .json(json!({"body": "The <b>fix</b>\nsecond line"}))
        .send()
        .await;
    fixed.assert_status(200);
    let body = fixed.json();
    assert_eq!(body["body"], "The <b>fix</b>\nsecond line");
    assert_eq!(
        body["body_html"],
        "<p>The &lt;b&gt;fix&lt;/b&gt;<br>\nsecond line</p>"
    );
    assert_eq!(body["status"], "pending");
    let new_etag = fixed.header("etag").unwrap().to_string();
    assert_ne!(new_etag, etag);

    // Another editor still holding the old tag is stopped.
    app.patch(&format!("/api/v1/admin/comments/{id}"))
        .bearer(&token)
        .header("if-match", &etag)
        .json(json!({"status": "approved"}))
        .send()
        .await
        .problem(412, "precondition_failed");
    let still = app
        .get(&format!("/api/v1/admin/comments/{id}"))
        .bearer(&token)
        .send()
        .await;
    assert_eq!(still.json()["status"], "pending");
    app.patch(&format!("/api/v1/admin/comments/{id}"))
        .bearer(&token)
        .header("if-match", &new_etag)
        .json(json!({"status": "approved"}))
        .send()
        .await
        .assert_status(200);

    app.patch(&format!("/api/v1/admin/comments/{id}"))
        .bearer(&token)
        .json(json!({}))
        .send()
        .await
        .invalid_field("status");
    app.patch(&format!("/api/v1/admin/comments/{id}"))
        .bearer(&token)
        .json(json!({"status": "deleted"}))
        .send()
        .await
        .invalid_field("status");
    app.patch(&format!("/api/v1/admin/comments/{id}"))
        .bearer(&token)
        .json(json!({"body": "  "}))
        .send()
        .await
        .invalid_field("body");
    app.patch(&format!("/api/v1/admin/comments/{id}"))
        .bearer(&token)
        .json(json!({"author_email": "x@example.com"}))
        .send()
        .await
        .invalid_field("author_email");
    app.patch("/api/v1/admin/comments/999999")
        .bearer(&token)
        .json(json!({"status": "approved"}))
        .send()
        .await
        .problem(404, "not_found");
}

async fn bulk_moderation_reports_what_changed(app: TestApp) {
    let (article_id, slug) = article(&app, "Bulk").await;
    let (other_id, other) = article(&app, "Bulk two").await;
    let token = editor(&app).await;
    let a = id_of(&post(&app, &slug, comment("A", EMAIL, "a")).await);
    let b = id_of(&post(&app, &slug, comment("B", EMAIL, "b")).await);
    let c = id_of(&post(&app, &other, comment("C", EMAIL, "c")).await);
    set_status(&app, &token, a, "approved").await.assert_status(200);

    let res = app
        .post("/api/v1/admin/comments/bulk")
        .bearer(&token)
        .json(json!({"ids": [a, b, c, b, 999_999], "status": "approved"}))
        .send()
        .await;
    res.assert_status(200);
    assert_eq!(res.header("cache-control"), Some("no-store"));
    assert_eq!(
        res.json(),
        json!({"status": "approved", "changed": 2, "missing": [999_999]})
    );
    assert_eq!(comment_count(&app, article_id).await, 2);
    assert_eq!(comment_count(&app, other_id).await, 1);

    let res = app
        .post("/api/v1/admin/comments/bulk")
        .bearer(&token)
        .json(json!({"ids": [a, c], "status": "spam"}))
        .send()
        .await;
    assert_eq!(res.json()["changed"], 2);
    assert_eq!(comment_count(&app, article_id).await, 1);
    assert_eq!(comment_count(&app, other_id).await, 0);
    assert_eq!(ids(&public_list(&app, &slug).await), vec![b]);

    // spam -> trash moves status without touching counts.
    let res = app
        .post("/api/v1/admin/comments/bulk")
        .bearer(&token)
        .json(json!({"ids": [a, b, c], "status": "trash"}))
        .send()
        .await;
    assert_eq!(res.json()["changed"], 3);
    assert_eq!(comment_count(&app, article_id).await, 0);

    app.post("/api/v1/admin/comments/bulk")
        .bearer(&token)
        .json(json!({"ids": [], "status": "spam"}))
        .send()
        .await
        .invalid_field("ids");
    let too_many: Vec<i64> = (1..=101).collect();
    app.post("/api/v1/admin/comments/bulk")
        .bearer(&token)
        .json(json!({"ids": too_many, "status": "spam"}))
        .send()
        .await
        .invalid_field("ids");
    app.post("/api/v1/admin/comments/bulk")
        .bearer(&token)
        .json(json!({"ids": [a], "status": "gone"}))
        .send()
        .await
        .invalid_field("status");
    app.post("/api/v1/admin/comments/bulk")
        .bearer(&token)
        .json(json!({"ids": ["a"], "status": "spam"}))
        .send()
        .await
        .invalid_field("ids[0]");
}

async fn invalid_comments_are_422_naming_the_field(app: TestApp) {
    let (article_id, slug) = article(&app, "Validation").await;
    let cases = [
        (comment("A", EMAIL, ""), "body"),
        (comment("A", EMAIL, " \n\n "), "body"),
        (comment("A", EMAIL, &"x".repeat(5001)), "body"),
        (comment("", EMAIL, "hi"), "author_name"),
        (comment(&"n".repeat(101), EMAIL, "hi"), "author_name"),
        (comment("A", "not-an-email", "hi"), "author_email"),
        (comment("A", "a@b", "hi"), "author_email"),
        (json!({"author_email": EMAIL, "body": "hi"}), "author_name"),
        (
            json!({"author_name": "A", "author_email": EMAIL, "body": "hi", "author_url": "javascript:alert(1)"}),
            "author_url",
        ),
        (
            json!({"author_name": "A", "author_email": EMAIL, "body": "hi", "author_url": "example.com"}),
            "author_url",
        ),
        (
            json!({"author_name": "A", "author_email": EMAIL, "body": "hi", "status": "approved"}),
            "status",
        ),
        (
            json!({"author_name": "A", "author_email": EMAIL, "body": "hi", "parent_id": "one"}),
            "parent_id",
        ),
        (
            json!({"author_name": "A", "author_email": EMAIL, "body": "hi", "parent_id": 0}),
            "parent_id",
        ),
        (
            json!({"author_name": "A", "author_email": EMAIL, "body": 5}),
            "body",
        ),
    ];
    for (body, field) in cases {
        let res = post(&app, &slug, body.clone()).await;
        let problem = res.invalid_field(field);
        // Not even a bad address is echoed back.
        assert!(!problem.to_string().contains(EMAIL), "{problem}");
    }
    // Every bad field is named at once.
    let res = post(
        &app,
        &slug,
        json!({"author_name": " ", "author_email": "x", "body": ""}),
    )
    .await;
    let problem = res.invalid_field("body");
    assert_eq!(problem["errors"].as_array().unwrap().len(), 3, "{problem}");

    // Malformed JSON and wrong media types are problems too, never a 500.
    app.post(&format!("/api/v1/articles/{slug}/comments"))
        .body("application/json", "{\"author_name\": ")
        .send()
        .await
        .problem(400, "malformed_json");
    app.post(&format!("/api/v1/articles/{slug}/comments"))
        .body("text/plain", "hello")
        .send()
        .await
        .problem(415, "unsupported_media_type");

    // Exactly 5,000 characters is fine; a blank URL means none.
    let res = post(
        &app,
        &slug,
        json!({"author_name": "A", "author_email": EMAIL, "body": "é".repeat(5000), "author_url": " "}),
    )
    .await;
    res.assert_status(202);
    assert_eq!(res.json()["author_url"], Value::Null);
    assert_eq!(comment_count(&app, article_id).await, 0);
}

async fn script_payloads_come_back_inert(app: TestApp) {
    let (_, slug) = article(&app, "Scripts").await;
    let payload = "<script>alert('pwned')</script>\n<img src=x onerror=alert(1)> javascript:alert(2)";
    let res = post(&app, &slug, comment("<b>Mallory</b>", EMAIL, payload)).await;
    res.assert_status(201);
    let created = res.json();
    // The text is kept as typed; the HTML is escaped and links nothing.
    assert_eq!(created["body"], payload);
    assert_eq!(created["author_name"], "<b>Mallory</b>");
    let html = created["body_html"].as_str().unwrap();
    assert_eq!(
        html,
        "<p>&lt;script&gt;alert(&#39;pwned&#39;)&lt;/script&gt;<br>\n&lt;img src=x onerror=alert(1)&gt; javascript:alert(2)</p>"
    );
    let thread = public_list(&app, &slug).await;
    assert_eq!(thread[0]["body_html"], html);
    assert_eq!(res.header("content-type"), Some("application/json"));
}

async fn moderation_queue_filters_searches_and_is_newest_first(app: TestApp) {
    let (article_id, slug) = article(&app, "Queue one").await;
    let (other_id, other) = article(&app, "Queue two").await;
    let token = editor(&app).await;
    let a = id_of(
        &post(
            &app,
            &slug,
            comment("Ana Ruiz", "ana@example.com", "About the BUDGET"),
        )
        .await,
    );
    let b = id_of(&post(&app, &slug, comment("Bo", "bo@example.net", "50% off_sale")).await);
    let c = id_of(&post(&app, &other, comment("Cy", "cy@example.com", "Nothing here")).await);
    set_status(&app, &token, c, "approved").await.assert_status(200);

    let list = |query: &str| {
        let url = format!("/api/v1/admin/comments{query}");
        let token = token.clone();
        let app = &app;
        async move {
            let res = app.get(&url).bearer(&token).send().await;
            res.assert_status(200);
            ids(res.json()["data"].as_array().unwrap())
        }
    };
    assert_eq!(list("").await, vec![c, b, a]);
    assert_eq!(list("?status=pending").await, vec![b, a]);
    assert_eq!(list("?status=approved").await, vec![c]);
    assert_eq!(list(&format!("?article_id={article_id}")).await, vec![b, a]);
    assert_eq!(
        list(&format!("?article_id={other_id}&status=pending")).await,
        Vec::<i64>::new()
    );
    assert_eq!(list("?q=budget").await, vec![a]);
    assert_eq!(list("?q=ANA%20RUIZ").await, vec![a]);
    assert_eq!(list("?q=example.net").await, vec![b]);
    // LIKE wildcards are searched for literally.
    assert_eq!(list("?q=50%25").await, vec![b]);
    assert_eq!(list("?q=_").await, vec![b]);
    assert_eq!(list("?q=%25").await, vec![b]);

    let page = app
        .get("/api/v1/admin/comments?per_page=2&cursor=")
        .bearer(&token)
        .send()
        .await
        .json();
    assert_eq!(ids(page["data"].as_array().unwrap()), vec![c, b]);
    let cursor = page["meta"]["next_cursor"].as_str().unwrap();
    let rest = app
        .get(&format!("/api/v1/admin/comments?per_page=2&cursor={cursor}"))
        .bearer(&token)
        .send()
        .await
        .json();
    assert_eq!(ids(rest["data"].as_array().unwrap()), vec![a]);
    assert_eq!(rest["meta"]["next_cursor"], Value::Null);

    let bad = |query: &'static str, field: &'static str| {
        let token = token.clone();
        let app = &app;
        async move {
            app.get(&format!("/api/v1/admin/comments{query}"))
                .bearer(&token)
                .send()
                .await
                .invalid_field(field);
        }
    };
    bad("?status=deleted", "status").await;
    bad("?article_id=abc", "article_id").await;
    bad("?page=1&cursor=", "page").await;
    bad("?colour=red", "colour").await;
}

async fn demo_comments_seed_a_thread_and_a_pending_comment(app: TestApp) {
    let (first_id, first) = article(&app, "Demo one").await;
    let (second_id, second) = article(&app, "Demo two").await;
    app.parts
        .state
        .db
        .write(move |conn| broadsheet::demo::seed_comments(conn, &[first_id, second_id]))
        .await
        .unwrap();
    let thread = public_list(&app, &first).await;
    assert_eq!(thread.len(), 3);
    assert!(
        thread.iter().any(|c| c["parent_id"] == thread[0]["id"]),
        "a threaded reply"
    );
    assert_eq!(comment_count(&app, first_id).await, 3);
    assert_eq!(public_list(&app, &second).await.len(), 1);
    assert_eq!(comment_count(&app, second_id).await, 1);
    let token = editor(&app).await;
    let pending = app
        .get("/api/v1/admin/comments?status=pending")
        .bearer(&token)
        .send()
        .await
        .json();
    assert_eq!(pending["data"].as_array().unwrap().len(), 1);
    // No articles, nothing to do.
    app.parts
        .state
        .db
        .write(|conn| broadsheet::demo::seed_comments(conn, &[]))
        .await
        .unwrap();
}

async fn the_spec_documents_every_comment_route_without_public_emails(app: TestApp) {
    let spec = app.get("/api/v1/openapi.json").send().await.json();
    let operations: Vec<(String, String, Value)> = spec["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .unwrap()
                .iter()
                .map(move |(method, op)| (path.clone(), method.clone(), op.clone()))
        })
        .collect();
    let find = |id: &str| {
        operations
            .iter()
            .find(|(_, _, op)| op["operationId"] == id)
            .unwrap_or_else(|| panic!("operation {id} missing"))
            .clone()
    };
    for (id, tag, secured) in [
        ("listComments", "comments", false),
        ("getComment", "comments", false),
        ("createComment", "comments", false),
        ("listAdminComments", "admin-comments", true),
        ("getAdminComment", "admin-comments", true),
        ("updateComment", "admin-comments", true),
        ("bulkModerateComments", "admin-comments", true),
        ("deleteComment", "admin-comments", true),
    ] {
        let (_, _, op) = find(id);
        assert_eq!(op["tags"][0], tag, "{id}");
        // Public operations state `security: []` (no token), so look for
        // the bearer requirement rather than for the key.
        let bearer = op["security"]
            .as_array()
            .is_some_and(|s| s.iter().any(|r| r.get("bearerAuth").is_some()));
        assert_eq!(bearer, secured, "{id}");
    }
    assert_eq!(find("createComment").0, "/api/v1/articles/{slug}/comments");
    assert_eq!(find("bulkModerateComments").0, "/api/v1/admin/comments/bulk");
    let create = find("createComment").2;
    for status in ["201", "202", "403", "404", "422", "429"] {
        assert!(create["responses"][status].is_object(), "createComment {status}");
    }
    let schemas = &spec["components"]["schemas"];
    assert!(schemas["CommentResponse"]["properties"]["author_email"].is_null());
    assert!(schemas["AdminCommentResponse"]["properties"]["author_email"].is_object());
    let honeypot = schemas["CreateCommentRequest"]["properties"]["nickname"]["description"]
        .as_str()
        .unwrap();
    assert!(honeypot.contains("bots fill it"), "{honeypot}");
}

backend_tests!(
    held_for_moderation_by_default_and_published_on_approval,
    every_comment_waits_under_moderation_all,
    replies_must_answer_a_published_comment_of_the_same_article,
    closed_unpublished_and_missing_articles_refuse_comments,
    comment_count_follows_approve_unapprove_and_delete,
    authors_cannot_moderate_and_strangers_are_unauthorized,
    patch_honours_if_match_and_corrects_the_body,
    bulk_moderation_reports_what_changed,
    invalid_comments_are_422_naming_the_field,
    moderation_queue_filters_searches_and_is_newest_first,
    demo_comments_seed_a_thread_and_a_pending_comment,
    the_spec_documents_every_comment_route_without_public_emails,
);

backend_tests_with!(
    [("COMMENT_MODERATION", "none")],
    moderation_none_publishes_at_once_with_location,
    thread_is_oldest_first_paged_cursored_and_cacheable,
    honeypot_marks_spam_but_answers_like_a_pending_comment,
    link_heavy_comments_are_held_even_without_moderation,
    concurrent_moderation_keeps_the_count_exact,
    deleting_a_comment_with_replies_keeps_a_tombstone,
    script_payloads_come_back_inert,
);

backend_tests_with!(
    [("COMMENT_MODERATION", "first_time")],
    first_time_trusts_a_token_not_a_typed_email,
);

backend_tests!(bidi_controls_in_comments_are_refused);

backend_tests_with!(
    [("COMMENT_MODERATION", "none"), ("COMMENT_MAX_DEPTH", "2")],
    replies_carry_parent_id_and_nest_to_the_depth_limit,
);

backend_tests_with!(
    [("RATE_LIMIT_COMMENTS_PER_MINUTE", "2")],
    posting_is_rate_limited_per_client_ip,
);
