//! `/search` and `/search/suggest` (issue: search): ranking, forgiveness
//! (typos, prefixes, accents, word forms), snippets, facets, filters,
//! freshness after every kind of write, and hostile queries.

use serde_json::{Value, json};

use crate::backend_tests;
use crate::support::{TestApp, create_article, urlencode};

async fn publish(app: &TestApp, token: &str, body: Value) -> Value {
    let mut body = body;
    body["status"] = json!("published");
    create_article(app, token, body).await
}

async fn search(app: &TestApp, query: &str) -> Value {
    let res = app.get(&format!("/api/v1/search?{query}")).send().await;
    res.assert_status(200);
    res.json()
}

fn titles(res: &Value) -> Vec<String> {
    res["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["title"].as_str().unwrap().to_string())
        .collect()
}

async fn found(app: &TestApp, q: &str) -> Vec<String> {
    titles(&search(app, &format!("q={}", urlencode(q))).await)
}

/// A word in the title beats the same word in the body; among equal
/// matches the newer comes first; drafts never appear.
async fn results_are_ranked_by_relevance_then_recency(app: TestApp) {
    let token = app.token_for("ed@example.com", "editor").await;
    publish(
        &app,
        &token,
        json!({"title": "Parks", "body_markdown": "A quiet piece. A tram passes once."}),
    )
    .await;
    publish(
        &app,
        &token,
        json!({"title": "Tram plans", "body_markdown": "The city votes."}),
    )
    .await;
    publish(&app, &token, json!({"title": "Old river", "body_markdown": "Barges on the river.", "published_at": "2020-01-01T00:00:00Z"})).await;
    publish(&app, &token, json!({"title": "New river", "body_markdown": "Barges on the river.", "published_at": "2026-11-01T00:00:00Z"})).await;
    create_article(
        &app,
        &token,
        json!({"title": "Tram draft", "body_markdown": "Not public.", "status": "draft"}),
    )
    .await;
    assert_eq!(found(&app, "tram").await, ["Tram plans", "Parks"]);
    assert_eq!(found(&app, "barges river").await, ["New river", "Old river"]);
    let res = search(&app, "q=tram").await;
    let scores: Vec<f64> = res["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["score"].as_f64().unwrap())
        .collect();
    assert!(scores[0] > scores[1], "{scores:?}");
    assert_eq!(res["meta"]["total"], 2);
}

/// Typos, prefixes, accents, case and word forms.
async fn search_forgives_typos_prefixes_accents_and_word_forms(app: TestApp) {
    let token = app.token_for("ed@example.com", "editor").await;
    publish(
        &app,
        &token,
        json!({"title": "The diplomacy of trams", "body_markdown": "Talks go on."}),
    )
    .await;
    publish(
        &app,
        &token,
        json!({"title": "A night in Alep", "body_markdown": "Streets at night."}),
    )
    .await;
    publish(
        &app,
        &token,
        json!({"title": "Opinion", "body_markdown": "The Café on the corner closed."}),
    )
    .await;
    publish(
        &app,
        &token,
        json!({"title": "After the bombing", "body_markdown": "A city counts."}),
    )
    .await;
    assert_eq!(
        found(&app, "diplomcy").await,
        ["The diplomacy of trams"],
        "one typo"
    );
    assert_eq!(
        found(&app, "dipolmacy").await,
        ["The diplomacy of trams"],
        "a swap"
    );
    assert!(found(&app, "dplmcy").await.is_empty(), "more than one typo");
    assert_eq!(found(&app, "diplo").await, ["The diplomacy of trams"], "prefix");
    assert!(
        found(&app, "diplo ").await.is_empty(),
        "a finished word is not a prefix"
    );
    assert_eq!(found(&app, "trams diplomacy").await, ["The diplomacy of trams"]);
    assert_eq!(found(&app, "ALEP").await, ["A night in Alep"]);
    assert_eq!(found(&app, "cafe").await, ["Opinion"], "accents fold");
    assert_eq!(found(&app, "CAFÉ").await, ["Opinion"]);
    assert_eq!(found(&app, "bombings").await, ["After the bombing"], "word forms");
    assert!(
        found(&app, "tram zeppelin").await.is_empty(),
        "every word must match"
    );
}

/// Snippets come from the body (else the standfirst, else the title), mark
/// every match, and are inert HTML whatever the article says.
async fn snippets_highlight_matches_and_are_html_safe(app: TestApp) {
    let token = app.token_for("ed@example.com", "editor").await;
    publish(
        &app,
        &token,
        json!({"title": "Council", "body_markdown": "Before. The tram budget: `<script>alert(1)</script>` & more. After."}),
    )
    .await;
    publish(
        &app,
        &token,
        json!({"title": "Ferries", "subtitle": "Why the ferry matters", "body_markdown": "Nothing here."}),
    )
    .await;
    let res = search(&app, "q=tram+budget").await;
    let snippet = res["data"][0]["snippet"].as_str().unwrap();
    assert!(
        snippet.contains("<mark>tram</mark> <mark>budget</mark>"),
        "{snippet}"
    );
    assert!(!snippet.contains("<script"), "{snippet}");
    assert!(
        snippet.contains("&lt;script&gt;"),
        "the text is escaped, not dropped: {snippet}"
    );
    assert!(snippet.contains("&amp; more"), "{snippet}");
    let res = search(&app, "q=ferry").await;
    let snippet = res["data"][0]["snippet"].as_str().unwrap();
    assert!(
        snippet.contains("<mark>ferry</mark>"),
        "from the standfirst: {snippet}"
    );
    // A typo's match is marked too.
    let res = search(&app, "q=budgett").await;
    assert!(
        res["data"][0]["snippet"]
            .as_str()
            .unwrap()
            .contains("<mark>budget</mark>")
    );
}

/// A body written before `body_text` existed (NULL there) is indexed and
/// snippeted from its Markdown turned to text: the link's words are found,
/// its address is not.
async fn bodies_without_stored_text_are_indexed_from_markdown(app: TestApp) {
    let token = app.token_for("ed@example.com", "editor").await;
    let a = publish(
        &app,
        &token,
        json!({"title": "Harbour", "body_markdown": "Read [the ferry report](https://example.com/zebrafish-notes) today."}),
    )
    .await;
    let id = a["id"].as_i64().unwrap();
    app.parts
        .state
        .db
        .write(move |conn| {
            use broadsheet::db::schema::articles;
            use diesel::prelude::*;
            diesel::update(articles::table.find(id))
                .set(articles::body_text.eq(None::<String>))
                .execute(conn)?;
            Ok(())
        })
        .await
        .unwrap();
    // An edit that leaves the body alone re-indexes the article.
    app.patch(&format!("/api/v1/admin/articles/{id}"))
        .bearer(&token)
        .json(json!({"title": "Harbour news"}))
        .send()
        .await
        .assert_status(200);
    let res = search(&app, "q=ferry").await;
    assert_eq!(titles(&res), ["Harbour news"]);
    let snippet = res["data"][0]["snippet"].as_str().unwrap();
    assert!(snippet.contains("<mark>ferry</mark> report"), "{snippet}");
    assert!(!snippet.contains("zebrafish"), "{snippet}");
    assert!(
        found(&app, "zebrafish").await.is_empty(),
        "a link's address is not text"
    );
}

/// Facets count every match (not only the page) by tag, author and year;
/// filters narrow both.
async fn facets_and_filters_cover_the_whole_result_set(app: TestApp) {
    let ed = app.token_for("ed@example.com", "editor").await;
    let ana = app.token_for("ana@example.com", "editor").await;
    let a = publish(
        &app,
        &ed,
        json!({"title": "Tram one", "tags": ["transit"], "published_at": "2025-03-01T00:00:00Z"}),
    )
    .await;
    publish(
        &app,
        &ed,
        json!({"title": "Tram two", "tags": ["transit", "city"], "published_at": "2026-03-01T00:00:00Z"}),
    )
    .await;
    let c = publish(
        &app,
        &ana,
        json!({"title": "Tram three", "tags": ["city"], "published_at": "2026-04-01T00:00:00Z"}),
    )
    .await;
    publish(&app, &ana, json!({"title": "Boats", "tags": ["city"]})).await;
    let res = search(&app, "q=tram&per_page=1").await;
    assert_eq!(res["data"].as_array().unwrap().len(), 1);
    assert_eq!(res["meta"]["total"], 3);
    assert_eq!(res["meta"]["total_pages"], 3);
    let facets = &res["meta"]["facets"];
    let count = |list: &Value, slug: &str| {
        list.as_array()
            .unwrap()
            .iter()
            .find(|e| e["slug"] == slug)
            .map(|e| e["count"].clone())
    };
    assert_eq!(count(&facets["tags"], "transit"), Some(json!(2)));
    assert_eq!(count(&facets["tags"], "city"), Some(json!(2)));
    let ed_slug = a["author"]["slug"].as_str().unwrap();
    let ana_slug = c["author"]["slug"].as_str().unwrap();
    assert_eq!(count(&facets["authors"], ed_slug), Some(json!(2)));
    assert_eq!(facets["authors"][0]["name"], a["author"]["name"]);
    assert_eq!(
        facets["years"],
        json!([{"year": 2026, "count": 2}, {"year": 2025, "count": 1}])
    );

    assert_eq!(titles(&search(&app, "q=tram&tag=transit").await).len(), 2);
    assert_eq!(titles(&search(&app, "q=tram&tag=transit,city").await).len(), 3);
    assert_eq!(
        titles(&search(&app, &format!("q=tram&author={ana_slug}")).await),
        ["Tram three"]
    );
    assert_eq!(titles(&search(&app, "q=tram&from=2026-01-01").await).len(), 2);
    assert_eq!(titles(&search(&app, "q=tram&to=2025-12-31").await), ["Tram one"]);
    let narrowed = search(&app, "q=tram&tag=transit").await;
    assert_eq!(count(&narrowed["meta"]["facets"]["tags"], "city"), Some(json!(1)));
    assert_eq!(search(&app, "q=tram&tag=no-such-tag").await["meta"]["total"], 0);
    assert_eq!(search(&app, "q=tram&author=nobody").await["meta"]["total"], 0);
}

/// Every kind of write is visible to the next search: publish, edit,
/// tag rename (names come from the database), unpublish, delete.
async fn search_is_current_after_every_kind_of_write(app: TestApp) {
    let token = app.token_for("ed@example.com", "editor").await;
    let started = std::time::Instant::now();
    let a = publish(
        &app,
        &token,
        json!({"title": "Zeppelins return", "tags": ["air"]}),
    )
    .await;
    assert_eq!(found(&app, "zeppelins").await, ["Zeppelins return"]);
    let id = a["id"].as_i64().unwrap();
    let path = format!("/api/v1/admin/articles/{id}");
    app.patch(&path)
        .bearer(&token)
        .json(json!({"title": "Airships return"}))
        .send()
        .await
        .assert_status(200);
    assert!(found(&app, "zeppelins").await.is_empty(), "the old title is gone");
    assert_eq!(found(&app, "airships").await, ["Airships return"]);
    app.patch(&path)
        .bearer(&token)
        .json(json!({"body_markdown": "Now about blimps."}))
        .send()
        .await
        .assert_status(200);
    assert_eq!(found(&app, "blimps").await, ["Airships return"]);
    let tag = app.get("/api/v1/tags/air").send().await.json();
    app.patch(&format!("/api/v1/admin/tags/{}", tag["id"]))
        .bearer(&token)
        .json(json!({"name": "Aviation"}))
        .send()
        .await
        .assert_status(200);
    let res = search(&app, "q=airships").await;
    assert_eq!(res["meta"]["facets"]["tags"][0]["name"], "Aviation");
    assert_eq!(res["data"][0]["tags"][0]["name"], "Aviation");
    app.patch(&path)
        .bearer(&token)
        .json(json!({"status": "draft"}))
        .send()
        .await
        .assert_status(200);
    assert!(found(&app, "airships").await.is_empty(), "unpublished");
    app.patch(&path)
        .bearer(&token)
        .json(json!({"status": "published"}))
        .send()
        .await
        .assert_status(200);
    assert_eq!(
        found(&app, "airships").await,
        ["Airships return"],
        "published again"
    );
    app.delete(&path).bearer(&token).send().await.assert_status(204);
    assert!(found(&app, "airships").await.is_empty(), "deleted");
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
}

/// A scheduled article is found once its time has come, not before.
async fn scheduled_articles_are_found_only_when_public(app: TestApp) {
    let token = app.token_for("ed@example.com", "editor").await;
    let soon = (chrono::Utc::now() + chrono::Duration::seconds(2))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    publish(
        &app,
        &token,
        json!({"title": "Embargoed budget", "published_at": soon}),
    )
    .await;
    assert!(found(&app, "embargoed").await.is_empty());
    tokio::time::sleep(std::time::Duration::from_millis(3100)).await;
    assert_eq!(found(&app, "embargoed").await, ["Embargoed budget"]);
}

/// Drafts, archived and scheduled articles are neither found nor counted
/// by the public's searches; editors find each by its status. The total,
/// the facets and the editors' lists come from the index alone; results,
/// suggestions and `q=` lists are also checked by the database when
/// served, so those assertions hold the whole answer, not the index.
async fn what_the_public_may_not_see_is_neither_found_nor_counted(app: TestApp) {
    let token = app.token_for("ed@example.com", "editor").await;
    let later =
        (chrono::Utc::now() + chrono::Duration::days(1)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    publish(
        &app,
        &token,
        json!({"title": "Tram public", "tags": ["city"], "published_at": "2025-05-01T00:00:00Z"}),
    )
    .await;
    for (title, status) in [("Tram draft", "draft"), ("Tram archived", "archived")] {
        create_article(
            &app,
            &token,
            json!({"title": title, "status": status, "tags": ["city", "hidden"]}),
        )
        .await;
    }
    publish(
        &app,
        &token,
        json!({"title": "Tram scheduled", "tags": ["city", "hidden"], "published_at": later}),
    )
    .await;

    let res = search(&app, "q=tram").await;
    assert_eq!(titles(&res), ["Tram public"]);
    assert_eq!(res["meta"]["total"], 1);
    assert_eq!(res["meta"]["total_exact"], true);
    let facets = &res["meta"]["facets"];
    assert_eq!(
        facets["tags"],
        json!([{"slug": "city", "name": "city", "count": 1}])
    );
    assert_eq!(facets["years"], json!([{"year": 2025, "count": 1}]));
    assert_eq!(facets["authors"][0]["count"], 1);
    let suggested = app.get("/api/v1/search/suggest?q=tra").send().await.json();
    let suggested: Vec<&str> = suggested["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["title"].as_str().unwrap())
        .collect();
    assert_eq!(suggested, ["Tram public"]);
    let listed = app.get("/api/v1/articles?q=tram").send().await.json();
    assert_eq!(titles(&listed), ["Tram public"]);
    assert_eq!(listed["meta"]["total"], 1);

    let admin = |status: &'static str| {
        let app = &app;
        let token = token.clone();
        async move {
            let res = app
                .get(&format!("/api/v1/admin/articles?q=tram&status={status}"))
                .bearer(&token)
                .send()
                .await
                .json();
            let mut found = titles(&res);
            found.sort();
            found
        }
    };
    assert_eq!(admin("draft").await, ["Tram draft"]);
    assert_eq!(admin("archived").await, ["Tram archived"]);
    // An editor's "published" includes what is scheduled.
    assert_eq!(admin("published").await, ["Tram public", "Tram scheduled"]);
}

/// Whatever is typed, the answer is a result or a 422, never a 500.
async fn hostile_queries_get_a_result_or_422(app: TestApp) {
    let token = app.token_for("ed@example.com", "editor").await;
    publish(&app, &token, json!({"title": "Trams", "body_markdown": "trams"})).await;
    for q in [
        "\"trams",
        "trams OR",
        "NEAR(trams)",
        "tram*",
        "' OR 1=1 --",
        "trams & | ! ~ ^ : +-",
        "title:trams",
        "a",
        "ü",
        "\u{200b}trams",
        "トラム",
        &"trams ".repeat(33),
    ] {
        let res = app
            .get(&format!("/api/v1/search?q={}", urlencode(q)))
            .send()
            .await;
        res.assert_status(200);
        let res = app
            .get(&format!("/api/v1/search/suggest?q={}", urlencode(q)))
            .send()
            .await;
        res.assert_status(200);
    }
    assert_eq!(
        found(&app, "\"trams\" -*").await,
        ["Trams"],
        "punctuation is not a word"
    );
    assert!(
        found(&app, "trams OR boats").await.is_empty(),
        "OR is a word like any other"
    );
    for query in [
        "q=",
        "q=%21%3F%2A",
        "",
        &format!("q={}", "a".repeat(201)),
        "q=x&page=0",
        "q=x&per_page=101",
        "q=x&bogus=1",
        "q=x&from=yesterday",
        "q=x&from=2026-02-01&to=2026-01-01",
    ] {
        let res = app.get(&format!("/api/v1/search?{query}")).send().await;
        assert_eq!(res.status.as_u16(), 422, "{query}: {}", res.text());
        assert_eq!(
            res.header("content-type"),
            Some("application/problem+json"),
            "{query}"
        );
    }
    app.get("/api/v1/search/suggest").send().await.invalid_field("q");
}

/// Suggestions: public titles matching what is typed so far, at most 8.
async fn suggestions_complete_titles(app: TestApp) {
    let token = app.token_for("ed@example.com", "editor").await;
    for i in 0..10 {
        publish(&app, &token, json!({"title": format!("Budget day {i}")})).await;
    }
    let a = publish(
        &app,
        &token,
        json!({"title": "Tram budget", "body_markdown": "x"}),
    )
    .await;
    create_article(
        &app,
        &token,
        json!({"title": "Tram budgeting draft", "status": "draft"}),
    )
    .await;
    publish(
        &app,
        &token,
        json!({"title": "Other", "body_markdown": "about the tram budget"}),
    )
    .await;
    let res = app.get("/api/v1/search/suggest?q=tram%20bud").send().await;
    res.assert_status(200);
    let body = res.json();
    assert_eq!(
        body["data"],
        json!([{"slug": a["slug"], "title": "Tram budget"}]),
        "titles only, public only"
    );
    let many = app.get("/api/v1/search/suggest?q=budg").send().await.json();
    assert_eq!(many["data"].as_array().unwrap().len(), 8);
}

/// `q=` on the article lists uses the same engine, editors' drafts
/// included on the editors' list.
async fn article_lists_search_with_the_same_engine(app: TestApp) {
    let token = app.token_for("ed@example.com", "editor").await;
    publish(&app, &token, json!({"title": "The diplomacy of trams"})).await;
    create_article(
        &app,
        &token,
        json!({"title": "Diplomacy draft", "status": "draft"}),
    )
    .await;
    let public = app.get("/api/v1/articles?q=diplomcy").send().await.json();
    assert_eq!(titles(&public), ["The diplomacy of trams"]);
    let admin = app
        .get("/api/v1/admin/articles?q=diplomacy&status=draft")
        .bearer(&token)
        .send()
        .await
        .json();
    assert_eq!(titles(&admin), ["Diplomacy draft"]);
}

/// A rebuild adds articles oldest first by date, not by id (the index
/// looks for a broad query's newest matches at its end): an archive
/// imported newest first must not be ranked from its oldest articles.
async fn a_rebuild_reads_the_archive_oldest_first(app: TestApp) {
    let token = app.token_for("ed@example.com", "editor").await;
    let mut ids = Vec::new();
    for (title, date) in [
        ("Newest", "2022-03-01T00:00:00Z"),
        ("Middle", "2021-03-01T00:00:00Z"),
        ("Oldest", "2020-03-01T00:00:00Z"),
    ] {
        let created = publish(&app, &token, json!({"title": title, "published_at": date})).await;
        ids.push(created["id"].as_i64().unwrap());
    }
    let draft = create_article(&app, &token, json!({"title": "Draft"})).await;
    let order = app
        .parts
        .state
        .db
        .read_blocking(|conn| Ok(broadsheet::db::articles::search_order(conn)?))
        .unwrap();
    let ours: Vec<i64> = order
        .into_iter()
        .filter(|id| ids.contains(id) || *id == draft["id"])
        .collect();
    // Oldest, Middle, Newest, then the draft, dated by its creation (now).
    assert_eq!(ours, vec![ids[2], ids[1], ids[0], draft["id"].as_i64().unwrap()]);
}

backend_tests!(
    a_rebuild_reads_the_archive_oldest_first,
    results_are_ranked_by_relevance_then_recency,
    search_forgives_typos_prefixes_accents_and_word_forms,
    snippets_highlight_matches_and_are_html_safe,
    bodies_without_stored_text_are_indexed_from_markdown,
    facets_and_filters_cover_the_whole_result_set,
    search_is_current_after_every_kind_of_write,
    scheduled_articles_are_found_only_when_public,
    what_the_public_may_not_see_is_neither_found_nor_counted,
    hostile_queries_get_a_result_or_422,
    suggestions_complete_titles,
    article_lists_search_with_the_same_engine,
);
