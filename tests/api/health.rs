//! Liveness, readiness and the request id.

use crate::backend_tests;
use crate::support::{Backend, TestApp, TestDb};

async fn healthz_and_readyz_answer(app: TestApp) {
    let res = app.get("/healthz").send().await;
    res.assert_status(200);
    assert_eq!(res.json()["status"], "ok");
    let ready = app.get("/readyz").send().await;
    ready.assert_status(200);
    let expected = match app.backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    };
    assert_eq!(ready.json()["database"], expected);
}

async fn readyz_is_503_when_the_database_is_gone(app: TestApp) {
    app.get("/readyz").send().await.assert_status(200);
    match &app.db {
        TestDb::Postgres { name, admin_url, .. } => {
            use diesel::{Connection, RunQueryDsl};
            let mut conn = diesel::PgConnection::establish(admin_url).unwrap();
            diesel::sql_query(format!("DROP DATABASE {name} WITH (FORCE)"))
                .execute(&mut conn)
                .unwrap();
        }
        TestDb::Sqlite { url, .. } => {
            // Overwrite the file with garbage: every new transaction fails.
            let path = broadsheet::db::sqlite_path(url);
            std::fs::write(path, vec![0xA5u8; 64 * 1024]).unwrap();
            let _ = std::fs::remove_file(format!("{path}-wal"));
            let _ = std::fs::remove_file(format!("{path}-shm"));
        }
    }
    let started = std::time::Instant::now();
    let res = app.get("/readyz").send().await;
    res.problem(503, "unavailable");
    assert!(res.header("retry-after").is_some());
    assert!(started.elapsed().as_secs() < 10, "readyz must not hang");
    // The rest of the API says so too, as problem+json.
    app.get("/healthz").send().await.assert_status(200);
}

async fn request_ids_are_echoed_or_made(app: TestApp) {
    let res = app.get("/healthz").header("x-request-id", "abc-123").send().await;
    assert_eq!(res.header("x-request-id"), Some("abc-123"));
    let res = app.get("/healthz").send().await;
    assert_eq!(res.header("x-request-id").map(str::len), Some(36));
    // Insane ids are replaced, not echoed.
    let long = "x".repeat(300);
    let res = app.get("/healthz").header("x-request-id", &long).send().await;
    assert_ne!(res.header("x-request-id"), Some(long.as_str()));
    // Errors carry the id as well.
    let res = app.get("/nowhere").header("x-request-id", "err-1").send().await;
    assert_eq!(res.header("x-request-id"), Some("err-1"));
    let res = app
        .get("/api/v1/admin/editors")
        .header("x-request-id", "err-2")
        .send()
        .await;
    assert_eq!(res.header("x-request-id"), Some("err-2"));
}

async fn security_headers_are_on_every_response(app: TestApp) {
    for path in [
        "/healthz",
        "/nowhere",
        "/api/v1/admin/editors",
        "/api/v1/openapi.json",
    ] {
        let res = app.get(path).send().await;
        assert_eq!(res.header("x-content-type-options"), Some("nosniff"), "{path}");
        assert_eq!(res.header("referrer-policy"), Some("no-referrer"), "{path}");
        assert!(res.header("content-security-policy").is_some(), "{path}");
    }
}

async fn metrics_count_requests_by_route(app: TestApp) {
    app.get("/healthz").send().await.assert_status(200);
    app.get("/api/v1/articles/nothing-here")
        .send()
        .await
        .assert_status(404);
    let res = app.get("/metrics").send().await;
    res.assert_status(200);
    assert!(res.header("content-type").unwrap().starts_with("text/plain"));
    let text = res.text();
    assert!(
        text.contains(r#"broadsheet_http_requests_total{method="GET",route="/healthz",status="200"} 1"#),
        "{text}"
    );
    assert!(
        text.contains(
            r#"broadsheet_http_requests_total{method="GET",route="/api/v1/articles/{slug}",status="404"} 1"#
        ),
        "{text}"
    );
    assert!(text.contains("broadsheet_http_request_duration_seconds_bucket"));
    assert!(text.contains("broadsheet_db_statements_total"));
    assert!(text.contains("broadsheet_response_cache_hits_total"));
}

backend_tests!(
    metrics_count_requests_by_route,
    healthz_and_readyz_answer,
    readyz_is_503_when_the_database_is_gone,
    request_ids_are_echoed_or_made,
    security_headers_are_on_every_response,
);
