//! Infrastructure under hostile input: metric labels, who may read
//! `/metrics`, the response cache when junk fills it, client addresses
//! behind proxies, slow bodies, and `HEAD`.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use actix_web::HttpServer;
use actix_web::http::Method;
use broadsheet::build_app;
use serde_json::json;

use crate::support::{ADMIN_EMAIL, TestApp};
use crate::{backend_tests, backend_tests_with};

/// Lines of the request counter in the exposition.
fn request_series(text: &str) -> usize {
    text.lines()
        .filter(|l| l.starts_with("broadsheet_http_requests_total{"))
        .count()
}

async fn invented_methods_and_paths_leave_metrics_small(app: TestApp) {
    for i in 0..150 {
        let method = Method::from_bytes(format!("X{}{i}", "Q".repeat(2000)).as_bytes()).unwrap();
        app.request(method, &format!("/probe/{i}/{}", "z".repeat(i)))
            .send()
            .await;
        app.get(&format!("/random-{i}")).send().await.assert_status(404);
    }
    let res = app.get("/metrics").send().await;
    res.assert_status(200);
    let text = res.text();
    // other+unmatched, GET+unmatched, and nothing per request.
    assert!(
        request_series(&text) <= 4,
        "{} series:\n{text}",
        request_series(&text)
    );
    assert!(text.len() < 20_000, "/metrics grew to {} bytes", text.len());
    assert!(text.contains(r#"method="other",route="unmatched""#), "{text}");
    assert!(!text.contains("QQQQ"), "a request's method became a label");
}

async fn metrics_are_hidden_in_production_without_a_token(app: TestApp) {
    let res = app.get("/metrics").send().await;
    res.problem(404, "not_found");
    assert!(!res.text().contains("broadsheet_"));
}

async fn metrics_token_opens_the_public_listener(app: TestApp) {
    app.get("/metrics").send().await.problem(401, "unauthorized");
    app.get("/metrics")
        .bearer("a-wrong-token-of-some-length")
        .send()
        .await
        .problem(401, "unauthorized");
    let res = app
        .get("/metrics")
        .bearer("metrics-token-0123456789")
        .send()
        .await;
    res.assert_status(200);
    assert!(res.text().contains("broadsheet_http_requests_total"));
}

async fn metrics_addr_moves_metrics_off_the_public_listener(app: TestApp) {
    app.get("/metrics").send().await.problem(404, "not_found");
    let metrics = app.parts.state.metrics.clone();
    let service = actix_web::test::init_service(broadsheet::http::metrics::metrics_app(metrics)).await;
    let req = actix_web::test::TestRequest::get().uri("/metrics").to_request();
    let res = actix_web::test::call_service(&service, req).await;
    assert_eq!(res.status(), 200);
    let body = actix_web::test::read_body(res).await;
    assert!(String::from_utf8_lossy(&body).contains("broadsheet_http_requests_total"));
    let req = actix_web::test::TestRequest::get()
        .uri("/api/v1/articles")
        .to_request();
    let res = actix_web::test::call_service(&service, req).await;
    assert_eq!(res.status(), 404);
}

async fn junk_query_variants_do_not_keep_real_pages_out(app: TestApp) {
    let author = app.create_editor("cache@example.com", "author").await;
    let stats = app.parts.state.cache.stats();
    let app = &app;
    let (size, kept, refused) = app
        .with_cache_in_sync(|run| {
            let stats = stats.clone();
            async move {
                let title = format!("Cached page {run}");
                let (_, slug) = app.create_article(author, &title, "published").await;
                let page = format!("/api/v1/articles/{slug}");
                // A page cached before the junk stays.
                app.get("/api/v1/articles").send().await.assert_status(200);
                for i in 0..50 {
                    // Parameters that change nothing visible (pages past the
                    // end), new ones each run: a run again must press the
                    // cache as hard as the first.
                    app.get(&format!("/api/v1/tags?page={}&per_page=100", 1000 + 50 * run + i))
                        .send()
                        .await
                        .assert_status(200);
                }
                let size = stats.size_bytes();
                let hits = stats.hits();
                app.get("/api/v1/articles").send().await.assert_status(200);
                let kept = stats.hits() - hits;
                // A page first asked for after the junk is kept too.
                app.get(&page).send().await.assert_status(200);
                app.get(&page).send().await.assert_status(200);
                (size, kept, stats.hits() - hits - kept)
            }
        })
        .await;
    assert!(size <= 32_768, "{size} bytes");
    assert_eq!(kept, 1, "the earlier page was evicted by junk");
    assert_eq!(refused, 1, "a real page was refused by a full cache");
}

/// Single-resource routes read no query, so any parameter is refused like
/// an unknown list parameter: else `?x=1`, `?x=2`, ... would each be a new
/// cached copy of the same page.
async fn routes_without_parameters_refuse_any_query(app: TestApp) {
    let author = app.create_editor("query@example.com", "author").await;
    let (_, slug) = app.create_article(author, "No parameters", "published").await;
    let article = format!("/api/v1/articles/{slug}");
    app.get(&article).send().await.assert_status(200);
    app.get(&format!("{article}?")).send().await.assert_status(200);
    for path in [
        article.clone(),
        format!("{article}/shares"),
        format!("{article}/comments/1"),
        "/api/v1/tags/any-tag".to_string(),
    ] {
        let body = app.get(&format!("{path}?x=1")).send().await.invalid_field("x");
        assert_eq!(
            body["errors"][0]["message"], "is not a known query parameter",
            "{path}"
        );
    }
}

async fn unparsable_forwarded_entries_do_not_pick_the_key(app: TestApp) {
    let attempt = |forwarded: String| {
        app.post("/api/v1/auth/login")
            .peer("10.0.0.1:5000")
            .header("x-forwarded-for", &forwarded)
            .json(json!({"email": ADMIN_EMAIL, "password": "not the password"}))
            .send()
    };
    // Each request forges a new left-most address; the proxy's own entry
    // carries a port. The key must be 203.0.113.8 every time.
    for i in 0..2 {
        attempt(format!("6.6.6.{i}, 203.0.113.8:4444"))
            .await
            .assert_status(401);
    }
    attempt("6.6.6.9, 203.0.113.8:4444".into())
        .await
        .problem(429, "rate_limited");
    // `unknown` stops at the last trusted hop (the proxy): its own bucket.
    attempt("7.7.7.7, unknown".into()).await.assert_status(401);
}

async fn ipv6_clients_share_their_64(app: TestApp) {
    let attempt = |peer: &'static str| {
        app.post("/api/v1/auth/login")
            .peer(peer)
            .json(json!({"email": ADMIN_EMAIL, "password": "not the password"}))
            .send()
    };
    attempt("[2001:db8:5::1]:4000").await.assert_status(401);
    attempt("[2001:db8:5::2]:4000").await.assert_status(401);
    attempt("[2001:db8:5::ffff:3]:4000")
        .await
        .problem(429, "rate_limited");
    attempt("[2001:db8:6::1]:4000").await.assert_status(401);
}

/// Writes `head`, then the body one byte every half second, and returns
/// the status line and how long the answer took.
fn trickle(addr: std::net::SocketAddr, head: String, body: &[u8]) -> (String, Duration) {
    let started = Instant::now();
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(Duration::from_millis(500))).unwrap();
    stream.write_all(head.as_bytes()).unwrap();
    let mut answer = Vec::new();
    for byte in body {
        if stream.write_all(std::slice::from_ref(byte)).is_err() {
            // Closed on us: the answer, if any, is waiting to be read.
            stream.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
            let _ = stream.read_to_end(&mut answer);
            break;
        }
        let mut buf = [0u8; 4096];
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                answer.extend_from_slice(&buf[..n]);
                break;
            }
            Err(_) => {} // nothing yet: the half-second pause
        }
        if started.elapsed() > Duration::from_secs(20) {
            break;
        }
    }
    let status = String::from_utf8_lossy(&answer)
        .lines()
        .next()
        .unwrap_or("")
        .to_string();
    (status, started.elapsed())
}

async fn a_trickled_body_is_cut_off(app: TestApp) {
    let parts = app.parts.clone();
    let server = HttpServer::new(move || build_app(parts.clone()))
        .workers(1)
        .disable_signals()
        .bind("127.0.0.1:0")
        .unwrap();
    let addr = server.addrs()[0];
    let server = server.run();
    let handle = server.handle();
    actix_web::rt::spawn(server);
    let body = json!({"email": ADMIN_EMAIL, "password": "x".repeat(40)}).to_string();
    let head = format!(
        "POST /api/v1/auth/login HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    let (status, took) = actix_web::rt::task::spawn_blocking(move || trickle(addr, head, body.as_bytes()))
        .await
        .unwrap();
    handle.stop(false).await;
    assert!(
        status.starts_with("HTTP/1.1 408"),
        "got `{status}` after {took:?}"
    );
    assert!(took < Duration::from_secs(6), "cut off only after {took:?}");
}

async fn head_answers_wherever_get_does(app: TestApp) {
    let author = app.create_editor("head@example.com", "author").await;
    let (_, slug) = app.create_article(author, "Head article", "published").await;
    let admin = app.admin_token().await;
    for path in [
        "/healthz".to_string(),
        "/api/v1/articles".to_string(),
        format!("/api/v1/articles/{slug}"),
        "/api/v1/tags".to_string(),
        "/api/v1/openapi.json".to_string(),
        "/api/v1/admin/articles".to_string(),
    ] {
        let get = app.get(&path).bearer(&admin).send().await;
        let head = app.request(Method::HEAD, &path).bearer(&admin).send().await;
        get.assert_status(200);
        head.assert_status(200);
        assert!(head.body.is_empty(), "{path}: HEAD has a body");
        for name in ["content-type", "etag", "cache-control"] {
            assert_eq!(head.header(name), get.header(name), "{path}: {name}");
        }
    }
    app.request(Method::HEAD, "/api/v1/nothing")
        .send()
        .await
        .assert_status(404);
}

backend_tests!(
    invented_methods_and_paths_leave_metrics_small,
    head_answers_wherever_get_does,
    routes_without_parameters_refuse_any_query,
);

backend_tests_with!(
    [("BROADSHEET_ENV", "production")],
    metrics_are_hidden_in_production_without_a_token,
);

backend_tests_with!(
    [
        ("BROADSHEET_ENV", "production"),
        ("METRICS_TOKEN", "metrics-token-0123456789")
    ],
    metrics_token_opens_the_public_listener,
);

backend_tests_with!(
    [("METRICS_ADDR", "127.0.0.1:0")],
    metrics_addr_moves_metrics_off_the_public_listener,
);

backend_tests_with!(
    [("RESPONSE_CACHE_BYTES", "32768")],
    junk_query_variants_do_not_keep_real_pages_out,
);

backend_tests_with!(
    [
        ("TRUSTED_PROXIES", "10.0.0.0/8"),
        ("RATE_LIMIT_LOGIN_PER_MINUTE", "2")
    ],
    unparsable_forwarded_entries_do_not_pick_the_key,
    ipv6_clients_share_their_64,
);

backend_tests_with!([("BODY_READ_TIMEOUT_SECONDS", "2")], a_trickled_body_is_cut_off,);
