//! What a frontend builds pages from: absolute URLs, SEO fields and their
//! fallbacks, the feature image with alt text, pull quotes, the plain-text
//! body, multi-tag and exclusion filters, featured articles, and related
//! articles.

use serde_json::{Value, json};

use crate::backend_tests_with;
use crate::support::{TestApp, create_article as create};

const SITE: &str = "https://news.example.com";

async fn public(app: &TestApp, path: &str) -> Value {
    let res = app.get(path).send().await;
    res.assert_status(200);
    res.json()
}

fn slugs(list: &Value) -> Vec<String> {
    list["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["slug"].as_str().unwrap().to_string())
        .collect()
}

/// Creates each `(title, tags, hours ago, status)` as the admin; returns
/// how an offset in hours is written as the API's time (the same `now`).
async fn create_dated(app: &TestApp, rows: Vec<(&str, Vec<&str>, i64, &str)>) -> impl Fn(i64) -> String {
    let token = app.admin_token().await;
    let now = chrono::Utc::now();
    let at = move |hours: i64| {
        (now - chrono::Duration::hours(hours)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    };
    for (title, tags, hours, status) in rows {
        create(
            app,
            &token,
            json!({"title": title, "tags": tags, "status": status, "published_at": at(hours)}),
        )
        .await;
    }
    at
}

/// The slugs of every page of a cursor walk from `first`, following
/// `links.next`; fails when there are more than `most`.
async fn cursor_slugs(app: &TestApp, first: &str, most: usize) -> Vec<String> {
    let mut seen = Vec::new();
    let mut next = Some(first.to_string());
    while let Some(path) = next.take() {
        let page = public(app, &path).await;
        seen.extend(slugs(&page));
        next = page["links"]["next"].as_str().map(str::to_string);
        assert!(
            seen.len() <= most,
            "cursor pages from {first} did not end: {seen:?}"
        );
    }
    seen
}

async fn articles_carry_urls_seo_images_and_pull_quotes(app: TestApp) {
    let token = app.admin_token().await;
    let body = "Opening paragraph.\n\n> [!PULLQUOTE]\n> The best tram is the one that runs.\n\n> A plain quotation.\n\nClosing *paragraph*.";
    let a = create(
        &app,
        &token,
        json!({
            "title": "Trams now", "body_markdown": body, "status": "published", "featured": true,
            "featured_image": {"url": "https://img.example.com/tram.jpg", "alt": "A tram in the rain",
                               "caption": "Line 4", "credit": "Photo: A. Ruiz", "width": 1600, "height": 900},
            "meta_description": "Why the city should build the tram it can afford.",
        }),
    )
    .await;
    let page = public(&app, "/api/v1/articles/trams-now").await;
    assert_eq!(page["url"], format!("{SITE}/trams-now/"));
    assert_eq!(page["canonical_url"], page["url"]);
    assert_eq!(page["featured"], true);
    assert_eq!(page["featured_image"]["alt"], "A tram in the rain");
    assert_eq!(page["featured_image"]["width"], 1600);
    assert_eq!(page["featured_image_url"], "https://img.example.com/tram.jpg");
    assert_eq!(page["og_image_url"], "https://img.example.com/tram.jpg");
    // Fallbacks: meta title → title; OG title → meta title; OG
    // description → the editor's meta description.
    assert_eq!(page["meta_title"], "Trams now");
    assert_eq!(page["og_title"], "Trams now");
    assert_eq!(
        page["og_description"],
        "Why the city should build the tram it can afford."
    );
    assert_eq!(
        page["pull_quotes"],
        json!(["The best tram is the one that runs."])
    );
    let html = page["body_html"].as_str().unwrap();
    assert!(html.contains("<figure class=\"pull-quote\">"), "{html}");
    assert_eq!(html.matches("<blockquote>").count(), 2, "{html}");
    assert!(page.get("body_text").is_none(), "body_text only on request");
    assert!(page["author"]["name"].as_str().is_some());

    let text = public(&app, "/api/v1/articles/trams-now?fields=id,body_text").await;
    assert_eq!(
        text,
        json!({"id": a["id"], "body_text": "Opening paragraph.\n\nA plain quotation.\n\nClosing paragraph."})
    );
    let list = public(&app, "/api/v1/articles?fields=slug,body_text,url").await;
    assert_eq!(list["data"][0]["body_text"], text["body_text"]);
    assert_eq!(list["data"][0]["url"], page["url"]);
    let default_list = public(&app, "/api/v1/articles").await;
    assert!(default_list["data"][0].get("body_text").is_none());
    assert_eq!(default_list["data"][0]["pull_quotes"], page["pull_quotes"]);

    // Overrides, then `null` goes back to the fallback, which follows edits.
    let id = a["id"].as_i64().unwrap();
    let path = format!("/api/v1/admin/articles/{id}");
    let res = app
        .patch(&path)
        .bearer(&token)
        .json(json!({"meta_title": "Trams | The Paper", "canonical_url": "https://other.example.org/trams"}))
        .send()
        .await;
    res.assert_status(200);
    let page = public(&app, "/api/v1/articles/trams-now").await;
    assert_eq!(page["meta_title"], "Trams | The Paper");
    assert_eq!(page["og_title"], "Trams | The Paper");
    assert_eq!(page["canonical_url"], "https://other.example.org/trams");
    app.patch(&path)
        .bearer(&token)
        .json(json!({"meta_title": null, "title": "Trams today", "featured_image": null}))
        .send()
        .await
        .assert_status(200);
    let page = public(&app, "/api/v1/articles/trams-now").await;
    assert_eq!(page["meta_title"], "Trams today");
    assert_eq!(page["canonical_url"], "https://other.example.org/trams");
    assert_eq!(page["featured_image"], Value::Null);
    assert_eq!(page["og_image_url"], Value::Null);
}

async fn image_alt_text_is_required_and_old_fields_are_refused(app: TestApp) {
    let token = app.admin_token().await;
    let post = |body: Value| {
        app.post("/api/v1/admin/articles")
            .bearer(&token)
            .json(body)
            .send()
    };
    post(json!({"title": "a", "featured_image": {"url": "https://img.example.com/a.jpg"}}))
        .await
        .invalid_field("featured_image.alt");
    post(json!({"title": "a", "featured_image": {"url": "javascript:alert(1)", "alt": "x"}}))
        .await
        .invalid_field("featured_image.url");
    post(json!({"title": "a", "featured_image": {"url": "https://i.example.com/a.jpg", "alt": "x", "width": 0}}))
        .await
        .invalid_field("featured_image.width");
    post(json!({"title": "a", "featured_image_url": "https://img.example.com/a.jpg"}))
        .await
        .invalid_field("featured_image_url");
    post(json!({"title": "a", "canonical_url": "ftp://x.example.com/"}))
        .await
        .invalid_field("canonical_url");
    post(json!({"title": "a", "meta_title": "x".repeat(301)}))
        .await
        .invalid_field("meta_title");
    // A wrong type is named by its field too.
    post(json!({"title": "a", "meta_title": 7}))
        .await
        .invalid_field("meta_title");
    post(json!({"title": "a", "featured_image": {"url": "https://i.example.com/a.jpg", "alt": "x", "width": "wide"}}))
        .await
        .invalid_field("featured_image.width");
    // A decorative image says so with an explicit empty alt.
    let a = create(
        &app,
        &token,
        json!({"title": "Decor", "featured_image": {"url": "https://img.example.com/d.jpg", "alt": ""}}),
    )
    .await;
    assert_eq!(a["featured_image"]["alt"], "");
    assert_eq!(a["featured_image"]["caption"], Value::Null);
}

async fn lists_filter_by_several_tags_exclusions_featured_and_edit_time(app: TestApp) {
    let token = app.admin_token().await;
    let mut made = Vec::new();
    for (title, tags, featured) in [
        ("Tram one", vec!["Transport", "Cities"], false),
        ("Bus two", vec!["Transport"], true),
        ("Park three", vec!["Cities"], false),
        ("Budget four", vec!["Economy"], true),
    ] {
        let a = create(
            &app,
            &token,
            json!({"title": title, "tags": tags, "featured": featured, "status": "published"}),
        )
        .await;
        made.push(a);
    }
    let list = |q: &str| {
        let path = format!("/api/v1/articles?{q}");
        let app = &app;
        async move { public(app, &path).await }
    };
    let mut any = slugs(&list("tag=transport,cities").await);
    any.sort();
    assert_eq!(any, vec!["bus-two", "park-three", "tram-one"]);
    assert_eq!(slugs(&list("tags_all=transport,cities").await), vec!["tram-one"]);
    assert_eq!(slugs(&list("tag=no-such-tag").await), Vec::<String>::new());
    assert_eq!(
        slugs(&list("tag=transport&exclude=tram-one").await),
        vec!["bus-two"]
    );
    let id = made[1]["id"].as_i64().unwrap();
    assert_eq!(
        slugs(&list(&format!("tag=transport&exclude={id},tram-one")).await),
        Vec::<String>::new()
    );
    let mut featured = slugs(&list("featured=true").await);
    featured.sort();
    assert_eq!(featured, vec!["budget-four", "bus-two"]);
    assert_eq!(
        list("featured=false&per_page=100&page=1").await["meta"]["total"],
        2
    );
    for bad in [
        "tag=Not%20A%20Slug",
        "tags_all=a,,%3Cb%3E",
        "exclude=%3Cscript%3E",
        "featured=maybe",
        "updated_since=soon",
    ] {
        let res = app.get(&format!("/api/v1/articles?{bad}")).send().await;
        assert_eq!(res.status, 422, "{bad}: {}", res.text());
    }

    // Most recently edited first, and only what changed since a time.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let since = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let park = made[2]["id"].as_i64().unwrap();
    app.patch(&format!("/api/v1/admin/articles/{park}"))
        .bearer(&token)
        .json(json!({"subtitle": "Edited"}))
        .send()
        .await
        .assert_status(200);
    let recent = list("sort=-updated_at").await;
    assert_eq!(slugs(&recent)[0], "park-three");
    let since = list(&format!(
        "updated_since={}&sort=-updated_at",
        since.replace('+', "%2B")
    ))
    .await;
    assert_eq!(slugs(&since), vec!["park-three"]);
    // Cursor mode walks the edit order too.
    let first = list("sort=-updated_at&cursor=&per_page=2").await;
    let next = first["meta"]["next_cursor"].as_str().unwrap().to_string();
    let second = list(&format!("sort=-updated_at&per_page=2&cursor={next}")).await;
    let mut all = slugs(&first);
    all.extend(slugs(&second));
    assert_eq!(all.len(), 4);
    assert_eq!(all[0], "park-three");
}

async fn related_articles_share_tags_first_then_recency(app: TestApp) {
    let token = app.admin_token().await;
    let now = chrono::Utc::now();
    let at = |hours: i64| {
        (now - chrono::Duration::hours(hours)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    };
    for (title, tags, hours) in [
        ("Base", vec!["Transport", "Cities", "Climate"], 1),
        ("Two shared old", vec!["Transport", "Cities"], 50),
        ("Two shared new", vec!["Cities", "Climate"], 10),
        ("One shared", vec!["Transport"], 2),
        ("None shared newest", vec!["Sport"], 0),
        ("None shared old", vec!["Sport"], 90),
    ] {
        create(
            &app,
            &token,
            json!({"title": title, "tags": tags, "status": "published", "published_at": at(hours)}),
        )
        .await;
    }
    create(
        &app,
        &token,
        json!({"title": "Draft shared", "tags": ["Transport", "Cities", "Climate"]}),
    )
    .await;
    let related = public(&app, "/api/v1/articles/base/related?per_page=5").await;
    assert_eq!(
        slugs(&related),
        vec![
            "two-shared-new",
            "two-shared-old",
            "one-shared",
            "none-shared-newest",
            "none-shared-old"
        ]
    );
    assert!(related["data"][0].get("body_html").is_none());
    let two = public(&app, "/api/v1/articles/base/related?per_page=2&fields=slug,url").await;
    assert_eq!(
        two["data"],
        json!([
            {"slug": "two-shared-new", "url": format!("{SITE}/two-shared-new/")},
            {"slug": "two-shared-old", "url": format!("{SITE}/two-shared-old/")}
        ])
    );
    let res = app.get("/api/v1/articles/base/related").send().await;
    let etag = res.header("etag").unwrap().to_string();
    let again = app
        .get("/api/v1/articles/base/related")
        .header("if-none-match", &etag)
        .send()
        .await;
    assert_eq!(again.status, 304);
    app.get("/api/v1/articles/draft-shared/related")
        .send()
        .await
        .problem(404, "not_found");
    app.get("/api/v1/articles/base/related?per_page=101")
        .send()
        .await
        .invalid_field("per_page");
}

/// Several tags at once are read along one tag's index entries (the
/// rarest: `db::articles::list`): every listed article carries every tag,
/// whichever is named first, in date order, counted, paged by cursor, with
/// a time window, and without drafts or articles scheduled for later.
async fn lists_of_several_tags_at_once_walk_one_tag_and_probe_the_others(app: TestApp) {
    let at = create_dated(
        &app,
        vec![
            (
                "All three old",
                vec!["Transport", "Cities", "Economy"],
                30,
                "published",
            ),
            ("Two new", vec!["Cities", "Transport"], 1, "published"),
            ("Two mid", vec!["Transport", "Cities"], 5, "published"),
            ("Transport only", vec!["Transport"], 2, "published"),
            ("Cities only", vec!["Cities"], 3, "published"),
            ("Economy and cities", vec!["Economy", "Cities"], 4, "published"),
            ("Draft with both", vec!["Transport", "Cities"], 0, "draft"),
            ("Later with both", vec!["Transport", "Cities"], -48, "published"),
        ],
    )
    .await;
    let list = |q: String| {
        let app = &app;
        async move { public(app, &format!("/api/v1/articles?{q}")).await }
    };
    let both = vec!["two-new", "two-mid", "all-three-old"];
    for (q, expected) in [
        ("tags_all=transport,cities", both.clone()),
        ("tags_all=cities,transport", both.clone()),
        ("tag=cities&tags_all=transport", both.clone()),
        ("tags_all=transport,cities,economy", vec!["all-three-old"]),
        (
            "tags_all=economy,cities",
            vec!["economy-and-cities", "all-three-old"],
        ),
        // The rarer tag named second (walked, though the rows are the same
        // whichever tag is: the choice is tested in `db::articles::list`).
        (
            "tags_all=cities,economy",
            vec!["economy-and-cities", "all-three-old"],
        ),
        (
            "tag=cities&tags_all=economy",
            vec!["economy-and-cities", "all-three-old"],
        ),
        ("tags_all=transport,no-such-tag", vec![]),
        // Any of several: counted once each from the tag index.
        (
            "tag=transport,economy",
            vec![
                "two-new",
                "transport-only",
                "economy-and-cities",
                "two-mid",
                "all-three-old",
            ],
        ),
        (
            "tags_all=transport,cities&sort=published_at",
            vec!["all-three-old", "two-mid", "two-new"],
        ),
    ] {
        let page = list(format!("{q}&per_page=10&page=1")).await;
        assert_eq!(slugs(&page), expected, "{q}");
        assert_eq!(page["meta"]["total"], expected.len(), "{q}");
    }
    // A time window, and cursor mode across pages of one.
    let from = at(6);
    let windowed = list(format!("tags_all=transport,cities&from={}", urlencoding(&from))).await;
    assert_eq!(slugs(&windowed), ["two-new", "two-mid"]);
    let seen = cursor_slugs(
        &app,
        "/api/v1/articles?tags_all=cities,transport&per_page=1&cursor=",
        3,
    )
    .await;
    assert_eq!(seen, both);
}

/// Pages of any of several tags (`tag=a,b`) merge each tag's index
/// entries (`db::articles::list`): a tag that fills the first pages, a tie
/// on the publication time across the tags, an article with both once,
/// page after page (so each tag must give `offset + limit` entries),
/// cursor pages both ways, a time window, an unknown tag among them, and
/// neither drafts nor scheduled articles.
async fn pages_of_any_of_several_tags_merge_each_tags_entries(app: TestApp) {
    let at = create_dated(
        &app,
        vec![
            ("Politics six", vec!["Politics"], 6, "published"),
            ("Science ten", vec!["Science"], 10, "published"),
            ("Politics five", vec!["Politics"], 5, "published"),
            ("Both eight", vec!["Science", "Politics"], 8, "published"),
            ("Politics four", vec!["Politics"], 4, "published"),
            ("Science three", vec!["Science"], 3, "published"),
            ("Politics three", vec!["Politics"], 3, "published"),
            ("Politics two", vec!["Politics"], 2, "published"),
            ("Politics one", vec!["Politics"], 1, "published"),
            ("Science draft", vec!["Science"], 0, "draft"),
            ("Politics later", vec!["Politics"], -5, "published"),
        ],
    )
    .await;
    let list = |q: String| {
        let app = &app;
        async move { public(app, &format!("/api/v1/articles?{q}")).await }
    };
    // The tie at three hours: the later id (created later) first.
    let newest_first = [
        "politics-one",
        "politics-two",
        "politics-three",
        "science-three",
        "politics-four",
        "politics-five",
        "politics-six",
        "both-eight",
        "science-ten",
    ];
    let mut oldest_first = newest_first.to_vec();
    oldest_first.reverse();
    for tags in ["politics,science", "science,politics"] {
        for page in 1..=5 {
            let got = list(format!("tag={tags}&per_page=2&page={page}")).await;
            let from = (page - 1) * 2;
            let want = &newest_first[from.min(9)..(from + 2).min(9)];
            assert_eq!(slugs(&got), want, "{tags}, page {page}");
            assert_eq!(got["meta"]["total"], 9, "{tags}");
        }
        for (sort, want) in [("", &newest_first[..]), ("&sort=published_at", &oldest_first[..])] {
            let first = format!("/api/v1/articles?tag={tags}&per_page=3{sort}&cursor=");
            assert_eq!(cursor_slugs(&app, &first, 9).await, want, "{tags}{sort}");
        }
    }
    let to = list(format!("tag=politics,science&to={}", urlencoding(&at(4)))).await;
    assert_eq!(slugs(&to), newest_first[4..]);
    let from = list(format!(
        "tag=politics,science&from={}&sort=published_at",
        urlencoding(&at(3))
    ))
    .await;
    assert_eq!(
        slugs(&from),
        ["science-three", "politics-three", "politics-two", "politics-one"]
    );
    let unknown = list("tag=no-such-tag,science".into()).await;
    assert_eq!(slugs(&unknown), ["science-three", "both-eight", "science-ten"]);
    assert_eq!(unknown["meta"]["total"], 3);
}

fn urlencoding(s: &str) -> String {
    s.replace('+', "%2B").replace(':', "%3A")
}

backend_tests_with!(
    [("SITE_URL", "https://news.example.com")],
    articles_carry_urls_seo_images_and_pull_quotes,
    image_alt_text_is_required_and_old_fields_are_refused,
    lists_filter_by_several_tags_exclusions_featured_and_edit_time,
    lists_of_several_tags_at_once_walk_one_tag_and_probe_the_others,
    pages_of_any_of_several_tags_merge_each_tags_entries,
    related_articles_share_tags_first_then_recency,
);
