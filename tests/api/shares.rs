//! Share events: the public button and counts, the editor list, deletes and
//! statistics, and the invariant that every counter and rollup equals a
//! count over the events.

use std::collections::BTreeMap;

use broadsheet::db::schema::{articles, share_counts, share_daily, share_daily_totals, share_events};
use broadsheet::db::shares::NewShareEvent;
use chrono::{Days, NaiveDate, NaiveDateTime, TimeDelta, Utc};
use diesel::prelude::*;
use serde_json::{Value, json};

use crate::support::{Backend, TestApp};
use crate::{backend_tests, backend_tests_with};

const CHANNELS: [&str; 9] = [
    "email",
    "facebook",
    "x",
    "linkedin",
    "whatsapp",
    "telegram",
    "reddit",
    "copy_link",
    "other",
];

fn shares_of(slug: &str) -> String {
    format!("/api/v1/articles/{slug}/shares")
}

async fn share(app: &TestApp, slug: &str, channel: &str) -> crate::support::TestResponse {
    app.post(&shares_of(slug))
        .json(json!({ "channel": channel }))
        .send()
        .await
}

/// A published article by writer@example.com (an author, created on first
/// use): `(author_id, article_id, slug)`.
async fn published(app: &TestApp, title: &str) -> (i64, i64, String) {
    let existing = app
        .parts
        .state
        .db
        .read(|conn| {
            Ok(broadsheet::db::editors::find_by_email(
                conn,
                "writer@example.com",
            )?)
        })
        .await
        .unwrap();
    let author = match existing {
        Some(e) => e.id,
        None => app.create_editor("writer@example.com", "author").await,
    };
    let (id, slug) = app.create_article(author, title, "published").await;
    (author, id, slug)
}

/// Events written straight through the storage layer, at chosen times.
async fn record_at(app: &TestApp, events: Vec<(i64, &str, NaiveDateTime)>) {
    let events: Vec<NewShareEvent> = events
        .into_iter()
        .map(|(article_id, channel, created_at)| NewShareEvent {
            article_id,
            channel: broadsheet::domain::share::ShareChannel::parse(channel).expect("a channel"),
            created_at,
        })
        .collect();
    app.parts
        .state
        .db
        .write(move |conn| Ok(broadsheet::db::shares::record(conn, &events)?))
        .await
        .unwrap();
}

fn today() -> NaiveDate {
    Utc::now().date_naive()
}

fn noon(day: NaiveDate) -> NaiveDateTime {
    day.and_hms_opt(12, 0, 0).unwrap()
}

/// Every counter and rollup compared with the events themselves; returns
/// the number of events.
async fn assert_counters_match_events(app: &TestApp) -> i64 {
    app.parts
        .state
        .db
        .read(|conn| {
            let events: Vec<(i64, String, NaiveDateTime)> = share_events::table
                .select((
                    share_events::article_id,
                    share_events::channel,
                    share_events::created_at,
                ))
                .load(conn)?;
            let counted: i64 = share_events::table.count().get_result(conn)?;
            assert_eq!(counted, events.len() as i64);

            let mut by_channel: BTreeMap<(i64, String), i64> = BTreeMap::new();
            let mut daily: BTreeMap<(i64, NaiveDate, String), i64> = BTreeMap::new();
            let mut totals: BTreeMap<(NaiveDate, String), i64> = BTreeMap::new();
            let mut per_article: BTreeMap<i64, i64> = BTreeMap::new();
            for (a, c, at) in &events {
                *by_channel.entry((*a, c.clone())).or_default() += 1;
                *daily.entry((*a, at.date(), c.clone())).or_default() += 1;
                *totals.entry((at.date(), c.clone())).or_default() += 1;
                *per_article.entry(*a).or_default() += 1;
            }
            let grouped: Vec<(i64, String, i64)> = share_events::table
                .group_by((share_events::article_id, share_events::channel))
                .select((
                    share_events::article_id,
                    share_events::channel,
                    diesel::dsl::sql::<diesel::sql_types::BigInt>("CAST(COUNT(*) AS BIGINT)"),
                ))
                .load(conn)?;
            let grouped: BTreeMap<(i64, String), i64> =
                grouped.into_iter().map(|(a, c, n)| ((a, c), n)).collect();
            assert_eq!(grouped, by_channel, "COUNT(*) per article and channel");

            let stored: Vec<(i64, String, i64)> = share_counts::table
                .select((
                    share_counts::article_id,
                    share_counts::channel,
                    share_counts::count,
                ))
                .load(conn)?;
            let stored: BTreeMap<(i64, String), i64> =
                stored.into_iter().map(|(a, c, n)| ((a, c), n)).collect();
            assert_eq!(stored, by_channel, "share_counts");

            let stored: Vec<(i64, NaiveDate, String, i64)> = share_daily::table
                .select((
                    share_daily::article_id,
                    share_daily::day,
                    share_daily::channel,
                    share_daily::count,
                ))
                .load(conn)?;
            let stored: BTreeMap<(i64, NaiveDate, String), i64> =
                stored.into_iter().map(|(a, d, c, n)| ((a, d, c), n)).collect();
            assert_eq!(stored, daily, "share_daily");

            let stored: Vec<(NaiveDate, String, i64)> = share_daily_totals::table
                .select((
                    share_daily_totals::day,
                    share_daily_totals::channel,
                    share_daily_totals::count,
                ))
                .load(conn)?;
            let stored: BTreeMap<(NaiveDate, String), i64> =
                stored.into_iter().map(|(d, c, n)| ((d, c), n)).collect();
            assert_eq!(stored, totals, "share_daily_totals");

            let stored: Vec<(i64, i64)> = articles::table
                .select((articles::id, articles::share_count))
                .load(conn)?;
            for (id, n) in stored {
                assert_eq!(
                    n,
                    per_article.get(&id).copied().unwrap_or(0),
                    "articles.share_count of {id}"
                );
            }
            Ok(counted)
        })
        .await
        .unwrap()
}

fn by_channel(body: &Value) -> BTreeMap<String, i64> {
    body["by_channel"]
        .as_object()
        .expect("by_channel object")
        .iter()
        .map(|(k, v)| (k.clone(), v.as_i64().unwrap()))
        .collect()
}

async fn every_channel_is_accepted_and_counted(app: TestApp) {
    let (_, _, slug) = published(&app, "Cities after cars").await;
    let empty = app.get(&shares_of(&slug)).send().await;
    empty.assert_status(200);
    let body = empty.json();
    assert_eq!(body["total"], 0);
    assert_eq!(
        by_channel(&body).len(),
        CHANNELS.len(),
        "every channel listed: {body}"
    );
    assert!(by_channel(&body).values().all(|n| *n == 0));

    for (i, channel) in CHANNELS.iter().enumerate() {
        let res = share(&app, &slug, channel).await;
        res.assert_status(202);
        assert_eq!(res.header("cache-control"), Some("no-store"));
        let body = res.json();
        assert_eq!(body["total"], i as i64 + 1, "{channel}: {body}");
        assert_eq!(body["by_channel"][channel], 1, "{channel}: {body}");
    }
    share(&app, &slug, "whatsapp").await.assert_status(202);

    let res = app.get(&shares_of(&slug)).send().await;
    res.assert_status(200);
    assert_eq!(res.header("cache-control"), Some("public, max-age=60"));
    let body = res.json();
    assert_eq!(body["total"], 10);
    assert_eq!(body["by_channel"]["whatsapp"], 2);
    assert_eq!(body["by_channel"]["copy_link"], 1);
    let etag = res.header("etag").unwrap().to_string();
    let again = app
        .get(&shares_of(&slug))
        .header("if-none-match", &etag)
        .send()
        .await;
    again.assert_status(304);
    assert_eq!(assert_counters_match_events(&app).await, 10);
}

async fn unknown_channels_and_bad_bodies_are_refused(app: TestApp) {
    let (_, _, slug) = published(&app, "On bridges").await;
    let body = share(&app, &slug, "myspace").await.invalid_field("channel");
    let message = body["errors"][0]["message"].as_str().unwrap();
    for channel in CHANNELS {
        assert!(message.contains(channel), "`{channel}` missing from: {message}");
    }
    share(&app, &slug, "Email").await.invalid_field("channel");
    share(&app, &slug, "").await.invalid_field("channel");
    app.post(&shares_of(&slug))
        .json(json!({}))
        .send()
        .await
        .invalid_field("channel");
    app.post(&shares_of(&slug))
        .json(json!({"channel": 3}))
        .send()
        .await
        .invalid_field("channel");
    app.post(&shares_of(&slug))
        .json(json!({"channel": "x", "email": "reader@example.com"}))
        .send()
        .await
        .invalid_field("email");
    app.post(&shares_of(&slug))
        .body("application/json", "{")
        .send()
        .await
        .problem(400, "malformed_json");
    app.post(&shares_of(&slug))
        .body("text/plain", "channel=x")
        .send()
        .await
        .problem(415, "unsupported_media_type");
    // Unknown channel on a missing article: the body is judged first.
    share(&app, "no-such-article", "myspace")
        .await
        .invalid_field("channel");
    assert_eq!(assert_counters_match_events(&app).await, 0);
}

async fn articles_the_public_cannot_see_are_404(app: TestApp) {
    let author = app.create_editor("writer@example.com", "author").await;
    let (_, draft) = app.create_article(author, "A draft", "draft").await;
    let (_, archived) = app.create_article(author, "Old news", "archived").await;
    let (scheduled_id, scheduled) = app.create_article(author, "Tomorrow's piece", "published").await;
    app.parts
        .state
        .db
        .write(move |conn| {
            let future = broadsheet::domain::date::now() + TimeDelta::days(1);
            let changes = broadsheet::db::articles::ArticleChanges {
                published_at: Some(Some(future)),
                ..Default::default()
            };
            Ok(broadsheet::db::articles::update(conn, scheduled_id, &changes)?)
        })
        .await
        .unwrap();
    for slug in [
        draft.as_str(),
        archived.as_str(),
        scheduled.as_str(),
        "never-written",
    ] {
        share(&app, slug, "email").await.problem(404, "not_found");
        app.get(&shares_of(slug)).send().await.problem(404, "not_found");
    }
    assert_eq!(assert_counters_match_events(&app).await, 0);
}

async fn counters_never_drift_under_concurrent_shares(app: TestApp) {
    let (_, _, hot) = published(&app, "The hot take").await;
    let (_, _, other) = published(&app, "The quiet one").await;
    // 300 presses on two articles, plus 10 on an article that does not
    // exist: those ride in the same batches and must fail alone.
    let presses: Vec<(String, &str)> = (0..310)
        .map(|i| match i {
            300.. => ("gone".to_string(), "x"),
            _ if i % 5 == 0 => (other.clone(), CHANNELS[i % CHANNELS.len()]),
            _ => (hot.clone(), CHANNELS[i % CHANNELS.len()]),
        })
        .collect();
    let requests = presses.iter().map(|(slug, channel)| share(&app, slug, channel));
    let responses = futures_util::future::join_all(requests).await;
    let accepted = responses.iter().filter(|r| r.status.as_u16() == 202).count();
    let missing = responses.iter().filter(|r| r.status.as_u16() == 404).count();
    assert_eq!((accepted, missing), (300, 10));
    // Every answer includes its own press, so the largest total is the final one.
    let hot_max = responses
        .iter()
        .filter(|r| r.status.as_u16() == 202)
        .map(|r| r.json()["total"].as_i64().unwrap())
        .max()
        .unwrap();
    assert_eq!(hot_max, 240);
    assert_eq!(assert_counters_match_events(&app).await, 300);
    let body = app.get(&shares_of(&hot)).send().await.json();
    assert_eq!(body["total"], 240);
}

async fn stats_group_and_zero_fill(app: TestApp) {
    let editor = app.token_for("desk@example.com", "editor").await;
    let (_, a, a_slug) = published(&app, "Article A").await;
    let (_, b, _) = published(&app, "Article B").await;
    let t = today();
    let d = |n: u64| t - Days::new(n);
    record_at(
        &app,
        vec![
            (a, "email", noon(t)),
            (a, "email", noon(t)),
            (a, "x", noon(d(2))),
            (b, "x", noon(t)),
            (b, "whatsapp", noon(d(3))),
            // Outside the ranges asked for below.
            (a, "facebook", noon(d(40))),
        ],
    )
    .await;
    let range = format!("from={}&to={}", d(3), t);

    let res = app
        .get(&format!("/api/v1/admin/shares/stats?group_by=day&{range}"))
        .bearer(&editor)
        .send()
        .await;
    res.assert_status(200);
    assert_eq!(res.header("cache-control"), Some("no-store"));
    let body = res.json();
    assert_eq!(body["group_by"], "day");
    assert_eq!(body["from"], d(3).to_string());
    assert_eq!(body["to"], t.to_string());
    assert_eq!(body["total"], 5);
    let days: Vec<(String, i64)> = body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["key"].as_str().unwrap().to_string(),
                r["count"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        days,
        vec![
            (d(3).to_string(), 1),
            (d(2).to_string(), 1),
            (d(1).to_string(), 0),
            (t.to_string(), 3)
        ]
    );

    let body = app
        .get(&format!("/api/v1/admin/shares/stats?group_by=channel&{range}"))
        .bearer(&editor)
        .send()
        .await
        .json();
    let data = body["data"].as_array().unwrap();
    assert_eq!(data.len(), CHANNELS.len(), "every channel listed: {body}");
    assert_eq!(data[0]["key"], "email");
    assert_eq!(data[0]["count"], 2);
    assert_eq!(data[1]["key"], "x");
    assert_eq!(data[1]["count"], 2);
    assert!(data.iter().any(|r| r["key"] == "facebook" && r["count"] == 0));
    assert_eq!(body["total"], 5);

    let body = app
        .get(&format!("/api/v1/admin/shares/stats?group_by=article&{range}"))
        .bearer(&editor)
        .send()
        .await
        .json();
    let data = body["data"].as_array().unwrap();
    assert_eq!(data.len(), 2);
    assert_eq!(data[0]["key"], a.to_string());
    assert_eq!(data[0]["count"], 3);
    assert_eq!(data[0]["slug"], a_slug);
    assert_eq!(data[0]["title"], "Article A");
    assert_eq!(data[1]["key"], b.to_string());

    // One article, one channel; and the default range (last 30 days).
    let body = app
        .get(&format!(
            "/api/v1/admin/shares/stats?group_by=day&article_id={a}&channel=email&{range}"
        ))
        .bearer(&editor)
        .send()
        .await
        .json();
    assert_eq!(body["total"], 2);
    assert_eq!(body["data"].as_array().unwrap().len(), 4);
    let body = app
        .get("/api/v1/admin/shares/stats")
        .bearer(&editor)
        .send()
        .await
        .json();
    assert_eq!(body["group_by"], "day");
    assert_eq!(body["data"].as_array().unwrap().len(), 30);
    assert_eq!(body["to"], t.to_string());
    assert_eq!(body["total"], 5, "the share 40 days ago is outside: {body}");
    let wide = app
        .get(&format!(
            "/api/v1/admin/shares/stats?group_by=channel&from={}",
            d(60)
        ))
        .bearer(&editor)
        .send()
        .await
        .json();
    assert_eq!(wide["total"], 6);
}

async fn stats_parameters_are_validated(app: TestApp) {
    let editor = app.token_for("desk@example.com", "editor").await;
    let stats = |q: &str| format!("/api/v1/admin/shares/stats?{q}");
    let cases = [
        ("from=2026-03-02&to=2026-03-01", "to"),
        ("from=2026-13-01", "from"),
        ("from=yesterday", "from"),
        ("to=2026-02-30", "to"),
        ("from=2024-01-01&to=2025-01-01", "from"),
        ("group_by=week", "group_by"),
        ("article_id=abc", "article_id"),
        ("article_id=-4", "article_id"),
        ("channel=fax", "channel"),
        ("limit=0", "limit"),
        ("limit=lots", "limit"),
        ("bogus=1", "bogus"),
    ];
    for (query, field) in cases {
        let res = app.get(&stats(query)).bearer(&editor).send().await;
        assert_eq!(res.status.as_u16(), 422, "{query}: {}", res.text());
        res.invalid_field(field);
    }
    // A full leap year is allowed.
    app.get(&stats("group_by=day&from=2024-01-01&to=2024-12-31"))
        .bearer(&editor)
        .send()
        .await
        .assert_status(200);
}

async fn deletes_take_events_off_every_counter(app: TestApp) {
    let editor = app.token_for("desk@example.com", "editor").await;
    let (_, a, a_slug) = published(&app, "Article A").await;
    let (_, b, b_slug) = published(&app, "Article B").await;
    let t = today();
    let yesterday = t - Days::new(1);
    record_at(
        &app,
        vec![
            (a, "email", noon(yesterday)),
            (a, "x", noon(yesterday)),
            (a, "x", noon(t)),
            (b, "x", noon(t)),
            (b, "reddit", noon(t)),
        ],
    )
    .await;
    let list = app
        .get(&format!("/api/v1/admin/shares?article_id={a}&channel=x"))
        .bearer(&editor)
        .send()
        .await
        .json();
    let ids: Vec<i64> = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids.len(), 2);

    let res = app
        .delete(&format!("/api/v1/admin/shares/{}", ids[0]))
        .bearer(&editor)
        .send()
        .await;
    res.assert_status(204);
    assert_eq!(res.header("cache-control"), Some("no-store"));
    app.delete(&format!("/api/v1/admin/shares/{}", ids[0]))
        .bearer(&editor)
        .send()
        .await
        .problem(404, "not_found");
    app.delete("/api/v1/admin/shares/not-a-number")
        .bearer(&editor)
        .send()
        .await
        .problem(404, "not_found");
    let counts = app.get(&shares_of(&a_slug)).send().await.json();
    assert_eq!(counts["total"], 2);
    assert_eq!(counts["by_channel"]["x"], 1);
    assert_eq!(assert_counters_match_events(&app).await, 4);

    // Nothing to delete without a filter.
    for query in ["", "?", "?article_id=&from=&to="] {
        app.delete(&format!("/api/v1/admin/shares{query}"))
            .bearer(&editor)
            .send()
            .await
            .invalid_field("article_id");
    }
    app.delete("/api/v1/admin/shares?from=soon")
        .bearer(&editor)
        .send()
        .await
        .invalid_field("from");

    // By day and channel: yesterday's remaining `x` of A.
    let res = app
        .delete(&format!(
            "/api/v1/admin/shares?from={yesterday}&to={yesterday}&channel=x"
        ))
        .bearer(&editor)
        .send()
        .await;
    res.assert_status(200);
    assert_eq!(res.json(), json!({"deleted": 1}));
    // By article: everything of B.
    let res = app
        .delete(&format!("/api/v1/admin/shares?article_id={b}"))
        .bearer(&editor)
        .send()
        .await;
    assert_eq!(res.json(), json!({"deleted": 2}));
    let counts = app.get(&shares_of(&b_slug)).send().await.json();
    assert_eq!(counts["total"], 0);
    assert!(by_channel(&counts).values().all(|n| *n == 0));
    let stats = app
        .get("/api/v1/admin/shares/stats?group_by=channel")
        .bearer(&editor)
        .send()
        .await
        .json();
    assert_eq!(stats["total"], 1);
    assert_eq!(assert_counters_match_events(&app).await, 1);
}

/// Channels are read through one typed mapping: a stored channel this code
/// does not know (left by a newer version, or a hand edit) fails the
/// request with a 500 instead of being counted as `other`.
async fn an_unknown_stored_channel_fails_loudly(app: TestApp) {
    let (_, id, slug) = published(&app, "Odd channel").await;
    share(&app, &slug, "x").await.assert_status(202);
    app.get(&shares_of(&slug)).send().await.assert_status(200);
    app.parts
        .state
        .db
        .write(move |conn| {
            diesel::update(share_counts::table.filter(share_counts::article_id.eq(id)))
                .set(share_counts::channel.eq("myspace"))
                .execute(conn)?;
            // A write by hand says what it changed, as the service's do, so
            // the cached counts go.
            use broadsheet::domain::change::{Action, Change, Entity, Key};
            let change = Change::new(Entity::Share, id, Action::Updated, [Key::Shares(id)]);
            broadsheet::db::changes::record(conn, &change, broadsheet::domain::date::now())?;
            Ok(())
        })
        .await
        .unwrap();
    app.get(&shares_of(&slug))
        .send()
        .await
        .problem(500, "internal_error");
}

/// An event-list cursor is refused by the article and comment lists, and
/// theirs by the event list: each cursor is bound to its own list.
async fn cursors_of_other_lists_are_refused(app: TestApp) {
    let editor = app.token_for("desk@example.com", "editor").await;
    let (_, a, _) = published(&app, "Article A").await;
    published(&app, "Article B").await;
    let at = noon(today() - Days::new(1));
    record_at(&app, vec![(a, "x", at), (a, "email", at)]).await;
    let events = app
        .get("/api/v1/admin/shares?cursor=&per_page=1")
        .bearer(&editor)
        .send()
        .await
        .json();
    let cursor = events["meta"]["next_cursor"].as_str().unwrap().to_string();
    app.get(&format!("/api/v1/admin/shares?cursor={cursor}&per_page=1"))
        .bearer(&editor)
        .send()
        .await
        .assert_status(200);
    for list in ["/api/v1/admin/comments", "/api/v1/admin/articles"] {
        app.get(&format!("{list}?cursor={cursor}"))
            .bearer(&editor)
            .send()
            .await
            .invalid_field("cursor");
    }
    app.get(&format!("/api/v1/articles?cursor={cursor}"))
        .send()
        .await
        .invalid_field("cursor");
    let articles = app.get("/api/v1/articles?cursor=&per_page=1").send().await.json();
    let article_cursor = articles["meta"]["next_cursor"].as_str().unwrap().to_string();
    app.get(&format!("/api/v1/admin/shares?cursor={article_cursor}"))
        .bearer(&editor)
        .send()
        .await
        .invalid_field("cursor");
}

async fn the_event_list_pages_by_cursor_and_by_page(app: TestApp) {
    let editor = app.token_for("desk@example.com", "editor").await;
    let (_, a, _) = published(&app, "Article A").await;
    let (_, b, _) = published(&app, "Article B").await;
    let base = noon(today() - Days::new(2));
    let mut events = Vec::new();
    for i in 0..25 {
        // Pairs share a timestamp, so the id must break ties.
        let at = base + TimeDelta::minutes(i / 2);
        events.push((if i % 3 == 0 { b } else { a }, CHANNELS[i as usize % 9], at));
    }
    record_at(&app, events).await;

    let mut seen: Vec<(String, i64)> = Vec::new();
    let mut url = "/api/v1/admin/shares?cursor=&per_page=7".to_string();
    loop {
        let res = app.get(&url).bearer(&editor).send().await;
        res.assert_status(200);
        assert_eq!(res.header("cache-control"), Some("no-store"));
        let body = res.json();
        for e in body["data"].as_array().unwrap() {
            assert!(e.get("ip").is_none() && e.get("user_agent").is_none());
            seen.push((
                e["created_at"].as_str().unwrap().to_string(),
                e["id"].as_i64().unwrap(),
            ));
        }
        match body["links"]["next"].as_str() {
            Some(next) => url = next.to_string(),
            None => {
                assert!(body["meta"]["next_cursor"].is_null());
                break;
            }
        }
    }
    assert_eq!(seen.len(), 25);
    let mut sorted = seen.clone();
    sorted.sort_by(|x, y| y.cmp(x));
    assert_eq!(seen, sorted, "newest first, ties by id");

    let body = app
        .get("/api/v1/admin/shares?per_page=10&page=3")
        .bearer(&editor)
        .send()
        .await
        .json();
    assert_eq!(body["meta"]["total"], 25);
    assert_eq!(body["meta"]["total_pages"], 3);
    assert_eq!(body["data"].as_array().unwrap().len(), 5);

    let body = app
        .get(&format!("/api/v1/admin/shares?article_id={b}"))
        .bearer(&editor)
        .send()
        .await
        .json();
    assert_eq!(body["meta"]["total"], 9);
    assert!(
        body["data"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["article_id"] == b)
    );
    let body = app
        .get("/api/v1/admin/shares?channel=email")
        .bearer(&editor)
        .send()
        .await
        .json();
    assert_eq!(body["meta"]["total"], 3);
    // An instant range is counted over the events, not the rollups.
    let from = (base + TimeDelta::minutes(10)).and_utc().to_rfc3339();
    let body = app
        .get(&format!("/api/v1/admin/shares?from={}", from.replace('+', "%2B")))
        .bearer(&editor)
        .send()
        .await
        .json();
    assert_eq!(body["meta"]["total"], 5);
    let body = app
        .get(&format!("/api/v1/admin/shares?to={}", today() - Days::new(3)))
        .bearer(&editor)
        .send()
        .await
        .json();
    assert_eq!(body["meta"]["total"], 0);

    for (query, field) in [
        ("cursor=bogus", "cursor"),
        ("cursor=&page=2", "page"),
        ("per_page=500", "per_page"),
        ("channel=pigeon", "channel"),
        ("to=2026-01-01&from=2026-02-01", "to"),
    ] {
        app.get(&format!("/api/v1/admin/shares?{query}"))
            .bearer(&editor)
            .send()
            .await
            .invalid_field(field);
    }
}

async fn editor_routes_need_a_token_and_the_right_role(app: TestApp) {
    let (_, own, _) = published(&app, "Mine").await;
    let other_author = app.create_editor("someone@example.com", "author").await;
    let (theirs, _) = app.create_article(other_author, "Theirs", "published").await;
    for (method, path) in [
        ("GET", "/api/v1/admin/shares"),
        ("GET", "/api/v1/admin/shares/stats"),
        ("DELETE", "/api/v1/admin/shares/1"),
        ("DELETE", "/api/v1/admin/shares?article_id=1"),
    ] {
        let req = match method {
            "GET" => app.get(path),
            _ => app.delete(path),
        };
        let res = req.send().await;
        res.problem(401, "unauthorized");
        assert!(res.header("www-authenticate").unwrap().starts_with("Bearer"));
    }
    let author = app.login("writer@example.com").await["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    app.get("/api/v1/admin/shares")
        .bearer(&author)
        .send()
        .await
        .problem(403, "forbidden");
    app.delete("/api/v1/admin/shares/1")
        .bearer(&author)
        .send()
        .await
        .problem(403, "forbidden");
    app.delete(&format!("/api/v1/admin/shares?article_id={own}"))
        .bearer(&author)
        .send()
        .await
        .problem(403, "forbidden");
    // Authors see the statistics of their own articles only.
    app.get(&format!(
        "/api/v1/admin/shares/stats?article_id={own}&group_by=channel"
    ))
    .bearer(&author)
    .send()
    .await
    .assert_status(200);
    app.get(&format!("/api/v1/admin/shares/stats?article_id={theirs}"))
        .bearer(&author)
        .send()
        .await
        .problem(403, "forbidden");
    app.get("/api/v1/admin/shares/stats")
        .bearer(&author)
        .send()
        .await
        .problem(403, "forbidden");
    app.get("/api/v1/admin/shares/stats?article_id=999999")
        .bearer(&author)
        .send()
        .await
        .problem(403, "forbidden");
}

async fn share_events_hold_no_personal_data(app: TestApp) {
    let (_, _, slug) = published(&app, "Privacy matters").await;
    app.post(&shares_of(&slug))
        .peer("203.0.113.7:5555")
        .header("user-agent", "Mozilla/5.0 (Reader Phone)")
        .json(json!({"channel": "email"}))
        .send()
        .await
        .assert_status(202);
    let backend = app.backend;
    let (columns, dump) = app
        .parts
        .state
        .db
        .read(move |conn| {
            #[derive(QueryableByName)]
            struct Column {
                #[diesel(sql_type = diesel::sql_types::Text)]
                name: String,
            }
            let sql = match backend {
                Backend::Sqlite => "SELECT name FROM pragma_table_info('share_events') ORDER BY cid",
                Backend::Postgres => {
                    "SELECT column_name::text AS name FROM information_schema.columns \
                     WHERE table_name = 'share_events' ORDER BY ordinal_position"
                }
            };
            let columns: Vec<Column> = diesel::sql_query(sql).load(conn)?;
            let rows: Vec<(i64, i64, String, NaiveDateTime)> = share_events::table
                .select((
                    share_events::id,
                    share_events::article_id,
                    share_events::channel,
                    share_events::created_at,
                ))
                .load(conn)?;
            Ok((
                columns.into_iter().map(|c| c.name).collect::<Vec<_>>(),
                format!("{rows:?}"),
            ))
        })
        .await
        .unwrap();
    assert_eq!(columns, ["id", "article_id", "channel", "created_at"]);
    assert!(
        !dump.contains("203.0.113.7") && !dump.contains("Mozilla"),
        "{dump}"
    );
}

async fn rate_limit_answers_429_with_retry_after(app: TestApp) {
    let (_, _, slug) = published(&app, "Limited").await;
    // RateLimit-Policy and RateLimit (draft-ietf-httpapi-ratelimit-headers)
    // warn before the 429: one left, then none.
    for left in [1, 0] {
        let res = app
            .post(&shares_of(&slug))
            .peer("198.51.100.1:1000")
            .json(json!({"channel": "x"}))
            .send()
            .await;
        res.assert_status(202);
        assert_eq!(res.header("ratelimit-policy"), Some("\"share\";q=2;w=60"));
        let standing = res.header("ratelimit").unwrap();
        assert!(
            standing.starts_with(&format!("\"share\";r={left};t=")),
            "{standing}"
        );
        let reset: u64 = standing.rsplit("t=").next().unwrap().parse().unwrap();
        assert!((1..=60).contains(&reset), "{standing}");
    }
    let res = app
        .post(&shares_of(&slug))
        .peer("198.51.100.1:1001")
        .json(json!({"channel": "email"}))
        .send()
        .await;
    res.problem(429, "rate_limited");
    let wait: u64 = res.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    assert!(res.header("ratelimit").unwrap().starts_with("\"share\";r=0;t="));
    assert!(res.header("ratelimit-policy").is_some());
    // Another client is not affected, and reading counts is never limited.
    app.post(&shares_of(&slug))
        .peer("198.51.100.2:1000")
        .json(json!({"channel": "x"}))
        .send()
        .await
        .assert_status(202);
    for _ in 0..5 {
        app.get(&shares_of(&slug))
            .peer("198.51.100.1:1000")
            .send()
            .await
            .assert_status(200);
    }
    assert_eq!(assert_counters_match_events(&app).await, 3);
}

async fn a_repeated_press_within_the_window_counts_once(app: TestApp) {
    let (_, _, slug) = published(&app, "Deduplicated").await;
    let press = |peer: &'static str, ua: &'static str, channel: &'static str| {
        app.post(&shares_of(&slug))
            .peer(peer)
            .header("user-agent", ua)
            .json(json!({ "channel": channel }))
            .send()
    };
    let first = press("192.0.2.1:1", "Phone", "whatsapp").await;
    first.assert_status(202);
    assert_eq!(first.json()["total"], 1);
    // Same client, same button, another source port: a repeat.
    let repeat = press("192.0.2.1:2", "Phone", "whatsapp").await;
    repeat.assert_status(202);
    assert_eq!(repeat.json(), first.json());
    // Anything different is a new press.
    assert_eq!(press("192.0.2.1:1", "Phone", "email").await.json()["total"], 2);
    assert_eq!(
        press("192.0.2.1:1", "Laptop", "whatsapp").await.json()["total"],
        3
    );
    assert_eq!(press("192.0.2.2:1", "Phone", "whatsapp").await.json()["total"], 4);
    // A press that failed (no such article) is not remembered.
    share(&app, "missing", "x").await.problem(404, "not_found");
    assert_eq!(assert_counters_match_events(&app).await, 4);
}

async fn forget_article_and_demo_seed_keep_counters_consistent(app: TestApp) {
    let (_, a, _) = published(&app, "Article A").await;
    let (_, b, _) = published(&app, "Article B").await;
    let (_, c, _) = published(&app, "Article C").await;
    let ids = vec![a, b, c];
    app.parts
        .state
        .db
        .write(move |conn| broadsheet::demo::seed_shares(conn, &ids))
        .await
        .unwrap();
    let seeded = assert_counters_match_events(&app).await;
    assert!(seeded >= 6, "{seeded}");
    let editor = app.token_for("desk@example.com", "editor").await;
    let stats = app
        .get("/api/v1/admin/shares/stats?group_by=day")
        .bearer(&editor)
        .send()
        .await
        .json();
    assert_eq!(
        stats["total"], seeded,
        "the demo spread lies within the last 30 days"
    );

    let before_b: i64 = app.get(&shares_of("article-b")).send().await.json()["total"]
        .as_i64()
        .unwrap();
    app.parts
        .state
        .db
        .write(move |conn| {
            broadsheet::db::shares::forget_article(conn, b)?;
            // Idempotent.
            broadsheet::db::shares::forget_article(conn, b)?;
            Ok(())
        })
        .await
        .unwrap();
    assert_eq!(assert_counters_match_events(&app).await, seeded - before_b);
    // And the article can go without leaving anything behind in the totals.
    app.parts
        .state
        .db
        .write(move |conn| Ok(broadsheet::db::articles::delete(conn, b)?))
        .await
        .unwrap();
    assert_eq!(assert_counters_match_events(&app).await, seeded - before_b);
}

backend_tests!(
    every_channel_is_accepted_and_counted,
    unknown_channels_and_bad_bodies_are_refused,
    articles_the_public_cannot_see_are_404,
    counters_never_drift_under_concurrent_shares,
    stats_group_and_zero_fill,
    stats_parameters_are_validated,
    deletes_take_events_off_every_counter,
    the_event_list_pages_by_cursor_and_by_page,
    cursors_of_other_lists_are_refused,
    an_unknown_stored_channel_fails_loudly,
    editor_routes_need_a_token_and_the_right_role,
    share_events_hold_no_personal_data,
    forget_article_and_demo_seed_keep_counters_consistent,
);

backend_tests_with!(
    [("RATE_LIMIT_SHARES_PER_MINUTE", "2")],
    rate_limit_answers_429_with_retry_after
);

backend_tests_with!(
    [("SHARE_DEDUP_SECONDS", "60")],
    a_repeated_press_within_the_window_counts_once
);

async fn deleting_an_article_takes_its_shares_out_of_the_site_totals(app: TestApp) {
    let editor = app.token_for("ed@example.com", "editor").await;
    let make = |title: &str| {
        app.post("/api/v1/admin/articles")
            .bearer(&editor)
            .json(json!({"title": title, "status": "published"}))
            .send()
    };
    let keep = make("Kept").await.json();
    let gone = make("Gone").await.json();
    for slug in ["kept", "gone", "gone"] {
        app.post(&format!("/api/v1/articles/{slug}/shares"))
            .json(json!({"channel": "email"}))
            .send()
            .await
            .assert_status(202);
    }
    let stats = || {
        app.get("/api/v1/admin/shares/stats?group_by=channel")
            .bearer(&editor)
            .send()
    };
    assert_eq!(stats().await.json()["total"], 3);
    let id = gone["id"].as_i64().unwrap();
    app.delete(&format!("/api/v1/admin/articles/{id}"))
        .bearer(&editor)
        .send()
        .await
        .assert_status(204);
    assert_eq!(stats().await.json()["total"], 1);
    let kept = app.get("/api/v1/articles/kept").send().await.json();
    assert_eq!(kept["share_count"], 1);
    assert_eq!(keep["slug"], "kept");
}

backend_tests!(deleting_an_article_takes_its_shares_out_of_the_site_totals);
