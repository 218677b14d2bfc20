//! Feeds (RSS 2.0, Atom, JSON Feed 1.1) and sitemaps, read back by parsers
//! someone else wrote: feed-rs for the three feed formats, roxmltree for
//! the sitemaps (with their namespaces).

use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use serde_json::{Value, json};

use crate::backend_tests_with;
use crate::support::{Backend, TestApp, TestResponse, create_article as create};

const SITE: &str = "https://news.example.com";
const SITEMAP_NS: &str = "http://www.sitemaps.org/schemas/sitemap/0.9";
const NEWS_NS: &str = "http://www.google.com/schemas/sitemap-news/0.9";

fn article_url(slug: &str) -> String {
    format!("{SITE}/{slug}/")
}

fn parse_feed(res: &TestResponse, content_type: &str) -> feed_rs::model::Feed {
    res.assert_status(200);
    assert_eq!(res.header("content-type"), Some(content_type));
    feed_rs::parser::parse(&res.body[..]).unwrap_or_else(|e| panic!("not a feed ({e}): {}", res.text()))
}

/// The three feeds of `query` (`""`, `"?tag=x"`), parsed.
async fn feeds(app: &TestApp, query: &str) -> Vec<(&'static str, feed_rs::model::Feed)> {
    let mut parsed = Vec::new();
    for (format, content_type) in [
        ("rss", "application/rss+xml; charset=utf-8"),
        ("atom", "application/atom+xml; charset=utf-8"),
        ("json", "application/feed+json; charset=utf-8"),
    ] {
        let res = app.get(&format!("/api/v1/feeds/{format}{query}")).send().await;
        parsed.push((format, parse_feed(&res, content_type)));
    }
    parsed
}

fn titles(feed: &feed_rs::model::Feed) -> Vec<String> {
    feed.entries
        .iter()
        .map(|e| e.title.as_ref().expect("a title").content.clone())
        .collect()
}

/// A newsroom: two authors, three public articles (one with an image),
/// a draft, a scheduled and an archived article.
async fn newsroom(app: &TestApp) -> (String, Vec<Value>) {
    let marta = app.token_for("marta.okafor@example.com", "editor").await;
    let jon = app.token_for("jon.reyes@example.com", "author").await;
    let mut public = Vec::new();
    public.push(
        create(
            app,
            &marta,
            json!({
                "title": "Trams at last", "body_markdown": "The **trams** are coming.\n\nSecond paragraph.",
                "status": "published", "tags": ["Cities", "Transport"],
                "featured_image": {"url": "https://images.example.com/tram.jpg", "alt": "A tram"}
            }),
        )
        .await,
    );
    public.push(
        create(
            app,
            &jon,
            json!({
                "title": "Budget <day> & night", "body_markdown": "Numbers & more numbers.",
                "status": "published", "tags": ["Transport"], "excerpt": "What the budget means."
            }),
        )
        .await,
    );
    public.push(
        create(
            app,
            &marta,
            json!({
                "title": "Parks", "body_markdown": "Green spaces.", "status": "published", "tags": ["Cities"]
            }),
        )
        .await,
    );
    create(
        app,
        &marta,
        json!({"title": "Draft", "body_markdown": "Not yet.", "status": "draft", "tags": ["Secret"]}),
    )
    .await;
    create(
        app,
        &marta,
        json!({
            "title": "Scheduled", "body_markdown": "Later.", "status": "published",
            "published_at": "2099-01-01T00:00:00Z", "tags": ["Cities"]
        }),
    )
    .await;
    let archived = create(
        app,
        &jon,
        json!({"title": "Old", "body_markdown": "Gone.", "status": "published"}),
    )
    .await;
    let id = archived["id"].as_i64().unwrap();
    let res = app
        .patch(&format!("/api/v1/admin/articles/{id}"))
        .bearer(&marta)
        .json(json!({"status": "archived"}))
        .send()
        .await;
    res.assert_status(200);
    // Newest first: all were published within the same second or so, and
    // ties go to the higher id.
    public.sort_by_key(|a| {
        (
            std::cmp::Reverse(a["published_at"].as_str().unwrap().to_string()),
            std::cmp::Reverse(a["id"].as_i64().unwrap()),
        )
    });
    (marta, public)
}

async fn feeds_carry_the_newest_public_articles(app: TestApp) {
    let (_, public) = newsroom(&app).await;
    let expected_titles: Vec<&str> = public.iter().map(|a| a["title"].as_str().unwrap()).collect();
    for (format, feed) in feeds(&app, "").await {
        assert_eq!(titles(&feed), expected_titles, "{format}");
        assert_eq!(feed.title.as_ref().unwrap().content, "Broadsheet", "{format}");
        assert!(
            feed.links.iter().any(|l| l.href == format!("{SITE}/")),
            "{format}: {:?}",
            feed.links
        );
        for (entry, article) in feed.entries.iter().zip(&public) {
            let slug = article["slug"].as_str().unwrap();
            let links: Vec<&str> = entry.links.iter().map(|l| l.href.as_str()).collect();
            assert!(links.contains(&article_url(slug).as_str()), "{format}: {links:?}");
            let created = &article["created_at"].as_str().unwrap()[..10];
            assert_eq!(
                entry.id,
                format!("tag:news.example.com,{created}:article:{}", article["id"]),
                "{format}"
            );
            let published = entry
                .published
                .expect("published")
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
            assert_eq!(published, article["published_at"].as_str().unwrap(), "{format}");
            if format != "rss" {
                let updated = entry
                    .updated
                    .expect("updated")
                    .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
                assert_eq!(updated, article["updated_at"].as_str().unwrap(), "{format}");
            }
            let author = entry.authors.first().and_then(|p| p.name.clone());
            assert_eq!(author.as_deref(), article["author"]["name"].as_str(), "{format}");
            let summary = entry.summary.as_ref().map(|s| s.content.as_str());
            assert_eq!(summary, article["excerpt"].as_str(), "{format}");
            let tags: BTreeSet<String> = article["tags"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t["name"].as_str().unwrap().to_string())
                .collect();
            let categories: BTreeSet<String> = entry
                .categories
                .iter()
                .map(|c| c.label.clone().unwrap_or_else(|| c.term.clone()))
                .collect();
            assert_eq!(categories, tags, "{format}");
            // Without FEED_FULL_CONTENT no entry carries the body.
            let body = entry
                .content
                .as_ref()
                .and_then(|c| c.body.clone())
                .unwrap_or_default();
            assert!(!body.contains("<p>"), "{format}: {body}");
        }
        // The featured image travels as an enclosure (RSS, Atom); feed-rs
        // does not read JSON Feed's `image` (checked below).
        if format == "json" {
            continue;
        }
        let with_image = &feed.entries[public.iter().position(|a| a["title"] == "Trams at last").unwrap()];
        let image = "https://images.example.com/tram.jpg";
        let has_image = with_image.media.iter().any(|m| {
            m.content
                .iter()
                .any(|c| c.url.as_ref().is_some_and(|u| u.as_str() == image))
        }) || with_image.links.iter().any(|l| l.href == image);
        assert!(
            has_image,
            "{format}: {:?} {:?}",
            with_image.media, with_image.links
        );
    }
    let json = app.get("/api/v1/feeds/json").send().await.json();
    assert_eq!(json["version"], "https://jsonfeed.org/version/1.1");
    assert_eq!(json["items"][0]["content_text"], public[0]["excerpt"]);
    let trams = json["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["title"] == "Trams at last")
        .unwrap();
    assert_eq!(trams["image"], "https://images.example.com/tram.jpg");
    // Titles are escaped by the writers, never spliced in.
    let rss = app.get("/api/v1/feeds/rss").send().await.text();
    assert!(rss.contains("Budget &lt;day&gt; &amp; night"), "{rss}");
}

async fn feeds_of_a_tag_or_an_author(app: TestApp) {
    let (_, public) = newsroom(&app).await;
    let with_tag = |tag: &str| -> Vec<&str> {
        public
            .iter()
            .filter(|a| a["tags"].as_array().unwrap().iter().any(|t| t["slug"] == tag))
            .map(|a| a["title"].as_str().unwrap())
            .collect()
    };
    for (format, feed) in feeds(&app, "?tag=cities").await {
        assert_eq!(titles(&feed), with_tag("cities"), "{format}");
        assert_eq!(feed.title.unwrap().content, "Broadsheet: Cities", "{format}");
        assert!(
            feed.links.iter().any(|l| l.href == format!("{SITE}/tag/cities/")),
            "{format}"
        );
    }
    for (format, feed) in feeds(&app, "?tag=transport").await {
        assert_eq!(titles(&feed), with_tag("transport"), "{format}");
    }
    let jon = public
        .iter()
        .find(|a| a["title"] == "Budget <day> & night")
        .unwrap();
    let jon_slug = jon["author"]["slug"].as_str().unwrap();
    for (format, feed) in feeds(&app, &format!("?author={jon_slug}")).await {
        // The archived article of the same author is not in it.
        assert_eq!(titles(&feed), ["Budget <day> & night"], "{format}");
        assert!(
            feed.links
                .iter()
                .any(|l| l.href == format!("{SITE}/author/{jon_slug}/")),
            "{format}"
        );
    }
    for format in ["rss", "atom", "json"] {
        let feed = |q: &str| app.get(&format!("/api/v1/feeds/{format}{q}")).send();
        // No such tag; a tag only a draft carries; no such author.
        feed("?tag=no-such-tag").await.problem(404, "not_found");
        feed("?tag=secret").await.problem(404, "not_found");
        feed("?author=nobody").await.problem(404, "not_found");
        // An editor with no public article has no feed either.
        feed("?author=root").await.problem(404, "not_found");
        feed("?tag=../x").await.problem(404, "not_found");
        feed(&format!("?tag=cities&author={jon_slug}"))
            .await
            .invalid_field("author");
        feed("?page=2").await.problem(422, "validation_failed");
        let empty = feed("?tag=").await;
        empty.assert_status(200);
    }
}

async fn feeds_are_cached_and_follow_edits(app: TestApp) {
    let (marta, _) = newsroom(&app).await;
    for format in ["rss", "atom", "json"] {
        let path = format!("/api/v1/feeds/{format}");
        let first = app.get(&path).send().await;
        first.assert_status(200);
        let etag = first.header("etag").expect("an ETag").to_string();
        assert!(
            first
                .header("cache-control")
                .unwrap()
                .starts_with("public, max-age=")
        );
        assert_eq!(first.header("surrogate-key"), Some("articles"));
        let again = app.get(&path).header("if-none-match", &etag).send().await;
        again.assert_status(304);
        assert!(again.body.is_empty());
        let cached = app.get(&path).send().await;
        assert_eq!(cached.header("etag"), Some(etag.as_str()));
    }
    let before = app.get("/api/v1/feeds/atom").send().await;
    create(
        &app,
        &marta,
        json!({"title": "Breaking", "body_markdown": "News.", "status": "published"}),
    )
    .await;
    let after = app.get("/api/v1/feeds/atom").send().await;
    assert_ne!(after.header("etag"), before.header("etag"));
    let feed = parse_feed(&after, "application/atom+xml; charset=utf-8");
    assert_eq!(titles(&feed)[0], "Breaking");
    app.get("/api/v1/feeds/atom")
        .header("if-none-match", before.header("etag").unwrap())
        .send()
        .await
        .assert_status(200);
}

async fn full_content_and_item_count_are_settings(app: TestApp) {
    let (_, public) = newsroom(&app).await;
    for (format, feed) in feeds(&app, "").await {
        assert_eq!(feed.entries.len(), 2, "{format}");
        for (entry, article) in feed.entries.iter().zip(&public) {
            let body = entry
                .content
                .as_ref()
                .and_then(|c| c.body.clone())
                .unwrap_or_default();
            assert_eq!(
                body.trim(),
                article["body_html"].as_str().unwrap().trim(),
                "{format}"
            );
        }
    }
    let json = app.get("/api/v1/feeds/json").send().await.json();
    assert_eq!(json["items"][0]["content_html"], public[0]["body_html"]);
    assert!(json["items"][0].get("content_text").is_none());
    assert_eq!(json["title"], "The Daily Tram");
    assert_eq!(json["language"], "de");
}

/// `<loc>` → `<lastmod>` of every entry (`url` or `sitemap`) of a sitemap.
fn sitemap_entries(res: &TestResponse, root: &str, entry: &str) -> BTreeMap<String, Option<String>> {
    res.assert_status(200);
    assert_eq!(res.header("content-type"), Some("application/xml; charset=utf-8"));
    let text = res.text();
    let doc = roxmltree::Document::parse(&text).unwrap_or_else(|e| panic!("not XML ({e}): {text}"));
    let top = doc.root_element();
    assert_eq!(top.tag_name().name(), root);
    assert_eq!(top.tag_name().namespace(), Some(SITEMAP_NS));
    let mut entries = BTreeMap::new();
    for node in top.children().filter(|n| n.is_element()) {
        assert_eq!(
            (node.tag_name().namespace(), node.tag_name().name()),
            (Some(SITEMAP_NS), entry)
        );
        let child = |name: &str| {
            node.children()
                .find(|c| c.tag_name().name() == name && c.tag_name().namespace() == Some(SITEMAP_NS))
                .and_then(|c| c.text())
                .map(str::to_string)
        };
        let loc = child("loc").expect("a <loc>");
        assert!(
            entries.insert(loc.clone(), child("lastmod")).is_none(),
            "{loc} twice"
        );
    }
    entries
}

async fn sitemaps_list_every_public_article(app: TestApp) {
    let (marta, public) = newsroom(&app).await;
    let old = create(
        &app,
        &marta,
        json!({
            "title": "Last week", "body_markdown": "Old news.", "status": "published",
            "published_at": "2026-01-01T08:00:00Z"
        }),
    )
    .await;
    let mut all_public = public.clone();
    all_public.push(old.clone());
    let index = sitemap_entries(
        &app.get("/api/v1/sitemap.xml").send().await,
        "sitemapindex",
        "sitemap",
    );
    let files = format!("{SITE}/sitemaps/articles-1.xml");
    let news = format!("{SITE}/sitemaps/news.xml");
    assert_eq!(index.keys().collect::<Vec<_>>(), [&files, &news]);
    let newest_edit = all_public
        .iter()
        .map(|a| a["updated_at"].as_str().unwrap())
        .max()
        .unwrap();
    assert_eq!(index[&files].as_deref(), Some(newest_edit));

    let urls = sitemap_entries(
        &app.get("/api/v1/sitemaps/articles-1.xml").send().await,
        "urlset",
        "url",
    );
    let expected: BTreeMap<String, Option<String>> = all_public
        .iter()
        .map(|a| {
            (
                article_url(a["slug"].as_str().unwrap()),
                a["updated_at"].as_str().map(str::to_string),
            )
        })
        .collect();
    assert_eq!(urls, expected);

    // Google News: the last two days only, with its own elements.
    let res = app.get("/api/v1/sitemaps/news.xml").send().await;
    let text = res.text();
    let entries = sitemap_entries(&res, "urlset", "url");
    let recent: BTreeSet<String> = public
        .iter()
        .map(|a| article_url(a["slug"].as_str().unwrap()))
        .collect();
    assert_eq!(entries.keys().cloned().collect::<BTreeSet<_>>(), recent);
    let doc = roxmltree::Document::parse(&text).unwrap();
    let news_items: Vec<_> = doc
        .descendants()
        .filter(|n| n.has_tag_name((NEWS_NS, "news")))
        .collect();
    assert_eq!(news_items.len(), public.len());
    for item in news_items {
        let text_of = |name: &str| {
            item.descendants()
                .find(|n| n.has_tag_name((NEWS_NS, name)))
                .and_then(|n| n.text())
                .unwrap_or_else(|| panic!("news:{name}"))
                .to_string()
        };
        assert_eq!(text_of("name"), "Broadsheet");
        assert_eq!(text_of("language"), "en");
        let article = public
            .iter()
            .find(|a| a["title"] == text_of("title").as_str())
            .expect("a public title");
        assert_eq!(
            text_of("publication_date"),
            article["published_at"].as_str().unwrap()
        );
    }

    // Cached, revalidated, evicted by a write.
    let first = app.get("/api/v1/sitemaps/articles-1.xml").send().await;
    let etag = first.header("etag").unwrap().to_string();
    app.get("/api/v1/sitemaps/articles-1.xml")
        .header("if-none-match", &etag)
        .send()
        .await
        .assert_status(304);
    let id = old["id"].as_i64().unwrap();
    app.delete(&format!("/api/v1/admin/articles/{id}"))
        .bearer(&marta)
        .send()
        .await
        .assert_status(204);
    let urls = sitemap_entries(
        &app.get("/api/v1/sitemaps/articles-1.xml").send().await,
        "urlset",
        "url",
    );
    assert_eq!(urls.len(), public.len());

    // Past the last file, or not a file number: 404 problems.
    for path in [
        "articles-2.xml",
        "articles-999.xml",
        "articles-0.xml",
        "articles-abc.xml",
        "articles-01.xml",
        "articles-.xml",
        "other.xml",
    ] {
        app.get(&format!("/api/v1/sitemaps/{path}"))
            .send()
            .await
            .problem(404, "not_found");
    }
    app.get("/api/v1/sitemap.xml?page=2")
        .send()
        .await
        .problem(422, "validation_failed");
    app.get("/api/v1/sitemaps/news.xml?x=1")
        .send()
        .await
        .problem(422, "validation_failed");
}

async fn sitemaps_are_valid_with_nothing_published(app: TestApp) {
    let index = sitemap_entries(
        &app.get("/api/v1/sitemap.xml").send().await,
        "sitemapindex",
        "sitemap",
    );
    assert_eq!(index.len(), 2);
    assert!(index.values().all(Option::is_none));
    let urls = sitemap_entries(
        &app.get("/api/v1/sitemaps/articles-1.xml").send().await,
        "urlset",
        "url",
    );
    assert!(urls.is_empty());
    for (format, feed) in feeds(&app, "").await {
        assert!(feed.entries.is_empty(), "{format}");
    }
}

/// Inserts `n` articles in one statement: every 1,000th a draft, the rest
/// published an hour ago and edited `i` seconds later.
async fn insert_many(app: &TestApp, author_id: i64, n: i64) {
    let sql = match app.backend {
        Backend::Sqlite => format!(
            "WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < {n})
             INSERT INTO articles (slug, title, excerpt, excerpt_custom, body_markdown, body_html, status,
                 author_id, word_count, reading_time_minutes, comments_enabled, published_at, created_at, updated_at)
             SELECT 'bulk-' || i, 'Bulk ' || i, 'x', 0, 'x', '<p>x</p>',
                 CASE WHEN i % 1000 = 0 THEN 'draft' ELSE 'published' END, {author_id}, 1, 1, 1,
                 datetime('now', '-3600 seconds'), datetime('now', '-3600 seconds'),
                 datetime('now', '-3600 seconds', '+' || (i % 3000) || ' seconds')
             FROM seq"
        ),
        Backend::Postgres => format!(
            "INSERT INTO articles (slug, title, excerpt, excerpt_custom, body_markdown, body_html, status,
                 author_id, word_count, reading_time_minutes, comments_enabled, published_at, created_at, updated_at)
             SELECT 'bulk-' || i, 'Bulk ' || i, 'x', false, 'x', '<p>x</p>',
                 CASE WHEN i % 1000 = 0 THEN 'draft' ELSE 'published' END, {author_id}, 1, 1, true,
                 date_trunc('second', now() AT TIME ZONE 'UTC') - interval '3600 seconds',
                 date_trunc('second', now() AT TIME ZONE 'UTC') - interval '3600 seconds',
                 date_trunc('second', now() AT TIME ZONE 'UTC') - interval '3600 seconds' + (i % 3000) * interval '1 second'
             FROM generate_series(1, {n}) AS i"
        ),
    };
    let postgres = app.backend == Backend::Postgres;
    app.parts
        .state
        .db
        .write(move |conn| {
            use diesel::RunQueryDsl;
            // PostgreSQL's row trigger would update the one counts row
            // 50,000 times in one transaction (each update slower than the
            // last): off for this statement, and the counts set after.
            if postgres {
                diesel::sql_query("SET LOCAL session_replication_role = replica").execute(conn)?;
            }
            diesel::sql_query(sql).execute(conn)?;
            if postgres {
                diesel::sql_query(
                    "UPDATE article_status_counts c SET count = \
                     (SELECT count(*) FROM articles a WHERE a.status = c.status)",
                )
                .execute(conn)?;
                diesel::sql_query("SET LOCAL session_replication_role = origin").execute(conn)?;
            }
            Ok(())
        })
        .await
        .expect("bulk insert");
}

/// 50,050 published articles fill two files: the first 50,000 by id, then
/// the rest; every public article is in exactly one of them, drafts in
/// none, and each file's `lastmod` in the index is its newest edit.
async fn sitemap_files_hold_fifty_thousand_each(app: TestApp) {
    let author = app.create_editor("bulk@example.com", "author").await;
    let started = Instant::now();
    insert_many(&app, author, 50_100).await;
    eprintln!(
        "{:?}: 50,100 articles inserted in {:?}",
        app.backend,
        started.elapsed()
    );
    let public = 50_100 - 50;
    let started = Instant::now();
    let res = app.get("/api/v1/sitemap.xml").send().await;
    eprintln!(
        "{:?}: sitemap.xml in {:?} uncached (debug build)",
        app.backend,
        started.elapsed()
    );
    let index = sitemap_entries(&res, "sitemapindex", "sitemap");
    let names: Vec<&String> = index.keys().collect();
    assert_eq!(
        names,
        [
            &format!("{SITE}/sitemaps/articles-1.xml"),
            &format!("{SITE}/sitemaps/articles-2.xml"),
            &format!("{SITE}/sitemaps/news.xml"),
        ]
    );
    let mut seen = BTreeSet::new();
    for n in [1, 2] {
        let started = Instant::now();
        let res = app
            .get(&format!("/api/v1/sitemaps/articles-{n}.xml"))
            .send()
            .await;
        let elapsed = started.elapsed();
        let urls = sitemap_entries(&res, "urlset", "url");
        eprintln!(
            "{:?}: articles-{n}.xml, {} URLs, {} bytes, {elapsed:?} uncached (debug build)",
            app.backend,
            urls.len(),
            res.body.len()
        );
        assert_eq!(urls.len(), if n == 1 { 50_000 } else { public - 50_000 });
        assert!(res.body.len() < 8 << 20, "{} bytes", res.body.len());
        let newest = urls.values().flatten().max().cloned();
        assert_eq!(
            index[&format!("{SITE}/sitemaps/articles-{n}.xml")],
            newest,
            "lastmod of file {n}"
        );
        for loc in urls.into_keys() {
            let i: i64 = loc
                .trim_start_matches(&format!("{SITE}/bulk-"))
                .trim_end_matches('/')
                .parse()
                .unwrap();
            assert!(i % 1000 != 0, "draft {i} listed");
            assert!(seen.insert(i), "{i} listed twice");
        }
    }
    assert_eq!(seen.len(), public);
    app.get("/api/v1/sitemaps/articles-3.xml")
        .send()
        .await
        .problem(404, "not_found");
}

backend_tests_with!(
    [("SITE_URL", "https://news.example.com")],
    feeds_carry_the_newest_public_articles,
    feeds_of_a_tag_or_an_author,
    feeds_are_cached_and_follow_edits,
    sitemaps_list_every_public_article,
    sitemaps_are_valid_with_nothing_published,
);

// The bulk insert of 50,100 articles may take longer than the harness' 3 s
// statement timeout on a busy machine.
backend_tests_with!(
    [
        ("SITE_URL", "https://news.example.com"),
        ("DB_TIMEOUT_SECONDS", "30")
    ],
    sitemap_files_hold_fifty_thousand_each,
);

backend_tests_with!(
    [
        ("SITE_URL", "https://news.example.com"),
        ("FEED_FULL_CONTENT", "true"),
        ("FEED_ITEMS", "2"),
        ("SITE_TITLE", "The Daily Tram"),
        ("SITE_LANGUAGE", "de"),
    ],
    full_content_and_item_count_are_settings,
);

/// The contract's names: clients call these operations by these ids at
/// these paths, with these media types.
#[test]
fn feed_and_sitemap_operations_keep_their_names() {
    let spec = broadsheet::http::api_spec().0;
    for (id, path, media) in [
        (
            "getRssFeed",
            "/api/v1/feeds/rss",
            "application/rss+xml; charset=utf-8",
        ),
        (
            "getAtomFeed",
            "/api/v1/feeds/atom",
            "application/atom+xml; charset=utf-8",
        ),
        (
            "getJsonFeed",
            "/api/v1/feeds/json",
            "application/feed+json; charset=utf-8",
        ),
        (
            "getSitemapIndex",
            "/api/v1/sitemap.xml",
            "application/xml; charset=utf-8",
        ),
        (
            "getArticleSitemap",
            "/api/v1/sitemaps/articles-{n}.xml",
            "application/xml; charset=utf-8",
        ),
        (
            "getNewsSitemap",
            "/api/v1/sitemaps/news.xml",
            "application/xml; charset=utf-8",
        ),
    ] {
        let op = &spec["paths"][path]["get"];
        assert_eq!(op["operationId"], id, "{path}");
        assert_eq!(op["tags"], json!(["feeds"]), "{id}");
        assert!(
            op["responses"]["200"]["content"][media].is_object(),
            "{id}: {media}"
        );
        assert!(op["responses"]["304"].is_object(), "{id}: 304");
    }
}
