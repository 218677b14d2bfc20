//! Bad input of every kind gets a 4xx problem+json, never a 500 or HTML.

use serde_json::json;

use crate::backend_tests;
use crate::support::TestApp;

async fn unknown_routes_and_wrong_methods(app: TestApp) {
    app.get("/api/v1/no-such-thing")
        .send()
        .await
        .problem(404, "not_found");
    app.get("/favicon.ico").send().await.problem(404, "not_found");
    let res = app.delete("/api/v1/auth/login").send().await;
    res.problem(405, "method_not_allowed");
    assert_eq!(res.header("allow"), Some("POST"));
    let admin = app.admin_token().await;
    let res = app.put("/api/v1/admin/editors/1").bearer(&admin).send().await;
    res.problem(405, "method_not_allowed");
    assert_eq!(res.header("allow"), Some("DELETE, GET, PATCH"));
    app.get("/api/v1/admin/editors/not-a-number")
        .bearer(&admin)
        .send()
        .await
        .problem(404, "not_found");
}

async fn malformed_bodies(app: TestApp) {
    let login = "/api/v1/auth/login";
    app.post(login)
        .body("application/json", "{")
        .send()
        .await
        .problem(400, "malformed_json");
    app.post(login)
        .body("application/json", "")
        .send()
        .await
        .problem(400, "malformed_json");
    app.post(login)
        .body("application/json", vec![0xff, 0xfe, 0x00])
        .send()
        .await
        .problem(400, "malformed_json");
    let deep = format!("{}{}", "[".repeat(5000), "]".repeat(5000));
    app.post(login)
        .body("application/json", deep)
        .send()
        .await
        .problem(400, "malformed_json");
    app.post(login)
        .body("text/plain", "{}")
        .send()
        .await
        .problem(415, "unsupported_media_type");
    app.post(login)
        .body("application/x-www-form-urlencoded", "email=a")
        .send()
        .await
        .problem(415, "unsupported_media_type");
    app.post(login)
        .json(json!({"email": 5, "password": "x"}))
        .send()
        .await
        .invalid_field("email");
    app.post(login)
        .json(json!({"email": "a@b.c"}))
        .send()
        .await
        .invalid_field("password");
    app.post(login)
        .json(json!({"email": "a@b.c", "password": "x", "admin": true}))
        .send()
        .await
        .invalid_field("admin");
    app.post(login)
        .json(json!({"email": "a\u{0}b@c.d", "password": "x"}))
        .send()
        .await
        .invalid_field("email");
    // application/*+json is JSON too.
    app.post(login)
        .body(
            "application/merge-patch+json",
            r#"{"email":"a@b.c","password":"wrong password"}"#,
        )
        .send()
        .await
        .problem(401, "unauthorized");
}

async fn oversized_bodies_are_413(app: TestApp) {
    let huge = format!(r#"{{"email":"a@b.c","password":"{}"}}"#, "x".repeat(1_100_000));
    app.post("/api/v1/auth/login")
        .body("application/json", huge)
        .send()
        .await
        .problem(413, "payload_too_large");
}

async fn smaller_body_limits_apply(app: TestApp) {
    let body = format!(r#"{{"email":"a@b.c","password":"{}"}}"#, "x".repeat(2000));
    app.post("/api/v1/auth/login")
        .body("application/json", body)
        .send()
        .await
        .problem(413, "payload_too_large");
}

backend_tests!(
    unknown_routes_and_wrong_methods,
    malformed_bodies,
    oversized_bodies_are_413
);

mod small_limit {
    use super::*;
    use crate::backend_tests_with;
    backend_tests_with!([("MAX_BODY_BYTES", "1024")], smaller_body_limits_apply);
}
