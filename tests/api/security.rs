//! Security controls: sign-in backoff, equal treatment of unknown and known
//! emails, refresh-token families, password rules, roles on every editor
//! route, security headers and CORS.

use std::rc::Rc;
use std::time::{Duration, Instant};

use actix_web::dev::Service;
use actix_web::http::Method;
use actix_web::test::TestRequest;
use serde_json::{Value, json};

use crate::support::{ADMIN_EMAIL, PASSWORD, TestApp, TestResponse, test_vars};
use crate::{backend_tests, backend_tests_with};

// --- sign-in backoff -----------------------------------------------------------

async fn login(app: &TestApp, email: &str, password: &str) -> TestResponse {
    app.post("/api/v1/auth/login")
        .json(json!({"email": email, "password": password}))
        .send()
        .await
}

/// The detail with its numbers taken out (the seconds left may differ by
/// one between two requests).
fn shape(problem: &Value) -> String {
    let detail: String = problem["detail"]
        .as_str()
        .unwrap_or("")
        .chars()
        .filter(|c| !c.is_ascii_digit())
        .collect();
    format!(
        "{} {} {} {detail}",
        problem["status"], problem["code"], problem["title"]
    )
}

/// With a threshold of 3: three failures answer 401, then 429 with
/// `Retry-After`, the same for an account and for an address without one;
/// the right password does not get through a lock.
async fn backoff_treats_every_address_alike(app: TestApp) {
    app.create_editor(ADMIN_EMAIL, "admin").await;
    let mut shapes = Vec::new();
    for email in [ADMIN_EMAIL, "nobody@example.com"] {
        let mut answers = Vec::new();
        for _ in 0..3 {
            let res = login(&app, email, "wrong password!").await;
            answers.push(shape(&res.problem(401, "unauthorized")));
        }
        let locked = login(&app, email, "wrong password!").await;
        let problem = locked.problem(429, "rate_limited");
        let retry: u64 = locked
            .header("retry-after")
            .and_then(|v| v.parse().ok())
            .expect("Retry-After in seconds");
        assert!((1..=2).contains(&retry), "first lock is 2 s, got {retry}");
        answers.push(shape(&problem));
        shapes.push(answers);
    }
    assert_eq!(
        shapes[0], shapes[1],
        "an address with an account and one without get the same answers"
    );
    // Locked even with the right password: guessing stops paying off.
    login(&app, ADMIN_EMAIL, PASSWORD)
        .await
        .problem(429, "rate_limited");
    // Other addresses are not affected.
    login(&app, "someone-else@example.com", "wrong password!")
        .await
        .problem(401, "unauthorized");
}

/// A successful sign-in forgets the streak.
async fn success_resets_the_backoff(app: TestApp) {
    app.create_editor(ADMIN_EMAIL, "admin").await;
    for _ in 0..2 {
        login(&app, ADMIN_EMAIL, "wrong password!")
            .await
            .problem(401, "unauthorized");
    }
    login(&app, ADMIN_EMAIL, PASSWORD).await.assert_status(200);
    for _ in 0..2 {
        login(&app, ADMIN_EMAIL, "wrong password!")
            .await
            .problem(401, "unauthorized");
    }
    login(&app, ADMIN_EMAIL, PASSWORD).await.assert_status(200);
}

/// The lock grows 2, 4, 8 … seconds up to the cap, and a streak that went
/// quiet is forgotten (driven with explicit times, straight on storage).
async fn backoff_grows_and_is_forgotten(app: TestApp) {
    use broadsheet::auth::backoff::Backoff;
    use broadsheet::db::DbConnection;
    use broadsheet::db::editors::{LoginAttempt, claim_login_attempt, login_locked_until};
    // Every attempt is counted before its password is checked; these all
    // fail, and each comes after the previous lock has run out.
    fn record_login_failure(
        conn: &mut DbConnection,
        key: &str,
        now: chrono::NaiveDateTime,
        reset: chrono::Duration,
        lock: impl Fn(i32) -> Option<i64>,
    ) -> diesel::QueryResult<i32> {
        claim_login_attempt(conn, key, now, reset, lock).map(|attempt| match attempt {
            LoginAttempt::Allowed(n) => n,
            LoginAttempt::Locked(_) => panic!("attempt refused while locked"),
        })
    }
    let backoff = Backoff::from_config(&app.parts.state.config);
    let reset = chrono::Duration::seconds(backoff.reset_after.as_secs() as i64);
    let start = broadsheet::domain::date::now();
    let locks = app
        .parts
        .state
        .db
        .write(move |conn| {
            let mut locks = Vec::new();
            let mut now = start;
            for _ in 0..12 {
                let failures = record_login_failure(conn, "k", now, reset, |n| backoff.lock_seconds(n))?;
                let lock = login_locked_until(conn, "k", now)?.map(|t| (t - now).num_seconds());
                locks.push((failures, lock));
                // The next attempt comes once the lock has run out.
                now += chrono::Duration::seconds(lock.unwrap_or(1));
            }
            // Quiet for the reset time: a new streak.
            now += reset;
            let failures = record_login_failure(conn, "k", now, reset, |n| backoff.lock_seconds(n))?;
            locks.push((
                failures,
                login_locked_until(conn, "k", now)?.map(|t| (t - now).num_seconds()),
            ));
            Ok(locks)
        })
        .await
        .unwrap();
    assert_eq!(
        locks,
        vec![
            (1, None),
            (2, None),
            (3, Some(2)),
            (4, Some(4)),
            (5, Some(8)),
            (6, Some(16)),
            (7, Some(32)),
            (8, Some(64)),
            (9, Some(128)),
            (10, Some(256)),
            (11, Some(300)),
            (12, Some(300)),
            (1, None),
        ]
    );
}

/// Two instances on one database share the count.
async fn backoff_is_shared_between_instances(app: TestApp) {
    let mut vars = test_vars(app.db.url());
    vars.insert("LOGIN_BACKOFF_AFTER_FAILURES".into(), "3".into());
    let config = broadsheet::config::Config::from_lookup(|k| vars.get(k).cloned()).unwrap();
    let other = broadsheet::server::prepare(config).await.unwrap();
    let other = Rc::new(actix_web::test::init_service(broadsheet::build_app(other)).await);
    let on_other = |body: Value| {
        let other = other.clone();
        async move {
            let req = TestRequest::post()
                .uri("/api/v1/auth/login")
                .set_json(body)
                .to_request();
            other.call(req).await.unwrap().status().as_u16()
        }
    };
    let email = "shared@example.com";
    login(&app, email, "wrong password!")
        .await
        .problem(401, "unauthorized");
    assert_eq!(
        on_other(json!({"email": email, "password": "wrong password!"})).await,
        401
    );
    login(&app, email, "wrong password!")
        .await
        .problem(401, "unauthorized");
    assert_eq!(
        on_other(json!({"email": email, "password": "wrong password!"})).await,
        429
    );
}

backend_tests_with!(
    [
        ("LOGIN_BACKOFF_AFTER_FAILURES", "3"),
        ("LOGIN_BACKOFF_MAX_SECONDS", "300")
    ],
    backoff_treats_every_address_alike,
    success_resets_the_backoff,
    backoff_grows_and_is_forgotten,
    backoff_is_shared_between_instances,
);

// --- unknown email vs wrong password --------------------------------------------

/// The password verifications done so far (the `/metrics` counter).
pub(crate) async fn verifications(app: &TestApp) -> u64 {
    let text = app.get("/metrics").send().await.text();
    text.lines()
        .find_map(|l| l.strip_prefix("broadsheet_password_verifications_total "))
        .and_then(|v| v.trim().parse().ok())
        .expect("password verification counter in /metrics")
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

/// An unknown email costs one argon2 verification, like a wrong password:
/// same answer, same work, and (loosely) the same time. Without the dummy
/// verification an unknown email answers in well under a millisecond
/// against tens of milliseconds, far outside the bound.
async fn unknown_email_costs_the_same_as_a_wrong_password(app: TestApp) {
    app.create_editor(ADMIN_EMAIL, "admin").await;
    let mut wrong_times = Vec::new();
    let mut unknown_times = Vec::new();
    for round in 0..7 {
        for (email, times) in [
            (ADMIN_EMAIL, &mut wrong_times),
            ("nobody@example.com", &mut unknown_times),
        ] {
            let before = verifications(&app).await;
            let started = Instant::now();
            let res = login(&app, email, "wrong password!").await;
            let elapsed = started.elapsed();
            let after = verifications(&app).await;
            let problem = res.problem(401, "unauthorized");
            assert_eq!(
                problem["detail"], "The email or password is wrong.",
                "{email}: the same words either way"
            );
            assert_eq!(after - before, 1, "{email}: exactly one argon2 verification");
            // The first round warms up the dummy hash.
            if round > 0 {
                times.push(elapsed);
            }
        }
    }
    let (wrong, unknown) = (median(wrong_times), median(unknown_times));
    let ratio = unknown.as_secs_f64() / wrong.as_secs_f64();
    assert!(
        (0.33..=3.0).contains(&ratio),
        "unknown email {unknown:?} vs wrong password {wrong:?} (ratio {ratio:.2})"
    );
}

backend_tests_with!(
    [("LOGIN_BACKOFF_AFTER_FAILURES", "0")],
    unknown_email_costs_the_same_as_a_wrong_password
);

// --- refresh tokens -------------------------------------------------------------

/// Reusing a spent refresh token revokes its own sign-in only; other
/// sign-ins of the same editor keep working. Logout ends a family too.
async fn refresh_reuse_revokes_only_its_family(app: TestApp) {
    let app = &app;
    app.create_editor(ADMIN_EMAIL, "admin").await;
    let phone = app.login(ADMIN_EMAIL).await["refresh_token"]
        .as_str()
        .unwrap()
        .to_string();
    let laptop = app.login(ADMIN_EMAIL).await["refresh_token"]
        .as_str()
        .unwrap()
        .to_string();
    let refresh = move |token: String| async move {
        app.post("/api/v1/auth/refresh")
            .json(json!({"refresh_token": token}))
            .send()
            .await
    };
    let rotated = refresh(phone.clone()).await;
    rotated.assert_status(200);
    let phone2 = rotated.json()["refresh_token"].as_str().unwrap().to_string();
    // The stolen copy of the spent token is replayed: the phone family dies.
    refresh(phone).await.problem(401, "unauthorized");
    refresh(phone2).await.problem(401, "unauthorized");
    // The laptop's sign-in is another family and lives on.
    let laptop_res = refresh(laptop).await;
    laptop_res.assert_status(200);
    let laptop2 = laptop_res.json()["refresh_token"].as_str().unwrap().to_string();
    app.post("/api/v1/auth/logout")
        .json(json!({"refresh_token": laptop2}))
        .send()
        .await
        .assert_status(204);
    refresh(laptop2).await.problem(401, "unauthorized");
    // Garbage is refused the same way, never a 5xx.
    for junk in ["", "x", "' OR 1=1 --", &"A".repeat(5000)] {
        refresh(junk.to_string()).await.problem(401, "unauthorized");
    }
}

// --- password rules ---------------------------------------------------------------

const WEAK_PASSWORDS: [&str; 5] = ["", "short", "elevenchars", "aaaaaaaaaaaaaaaaaaaa", "            "];

async fn weak_passwords_are_refused_naming_the_field(app: TestApp) {
    let token = app.admin_token().await;
    let author = app.create_editor("author@example.com", "author").await;
    let too_long = "ab".repeat(200);
    for weak in WEAK_PASSWORDS.iter().copied().chain([too_long.as_str()]) {
        let res = app
            .post("/api/v1/admin/editors")
            .bearer(&token)
            .json(json!({"email": "new@example.com", "name": "New", "role": "author", "password": weak}))
            .send()
            .await;
        res.invalid_field("password");
        let res = app
            .patch(&format!("/api/v1/admin/editors/{author}"))
            .bearer(&token)
            .json(json!({"password": weak}))
            .send()
            .await;
        res.invalid_field("password");
    }
    // The author's password did not change.
    app.login("author@example.com").await;
}

/// Streaks of addresses nobody signs in with are purged once quiet for the
/// reset time (at the next successful sign-in), so made-up addresses cannot
/// grow the table for ever; a streak still within the window stays.
async fn quiet_login_failure_streaks_are_purged(app: TestApp) {
    use broadsheet::auth::backoff::Backoff;
    use broadsheet::db::editors::claim_login_attempt;
    use broadsheet::db::schema::login_failures;
    use diesel::prelude::*;
    app.create_editor(ADMIN_EMAIL, "admin").await;
    let backoff = Backoff::from_config(&app.parts.state.config);
    let reset = chrono::Duration::seconds(backoff.reset_after.as_secs() as i64);
    let now = broadsheet::domain::date::now();
    let streaks = |conn: &mut broadsheet::db::DbConnection| -> diesel::QueryResult<Vec<String>> {
        login_failures::table
            .select(login_failures::email_hash)
            .order(login_failures::email_hash)
            .load(conn)
    };
    app.parts
        .state
        .db
        .write(move |conn| {
            for key in ["made-up-1", "made-up-2"] {
                claim_login_attempt(conn, key, now - reset * 2, reset, |_| None)?;
            }
            claim_login_attempt(conn, "recent", now, reset, |_| None)?;
            Ok(())
        })
        .await
        .unwrap();
    let before = app
        .parts
        .state
        .db
        .read(move |conn| Ok(streaks(conn)?))
        .await
        .unwrap();
    assert_eq!(before, ["made-up-1", "made-up-2", "recent"]);
    app.post("/api/v1/auth/login")
        .json(serde_json::json!({"email": ADMIN_EMAIL, "password": PASSWORD}))
        .send()
        .await
        .assert_status(200);
    let after = app
        .parts
        .state
        .db
        .read(move |conn| Ok(streaks(conn)?))
        .await
        .unwrap();
    assert_eq!(after, ["recent"]);
}

backend_tests!(
    refresh_reuse_revokes_only_its_family,
    quiet_login_failure_streaks_are_purged,
    weak_passwords_are_refused_naming_the_field
);

// --- roles on every editor route ------------------------------------------------------

/// The lowest role of every operation under `/api/v1/admin`. An operation
/// in the document but not here fails the test: a new editor route must be
/// placed in this table on purpose.
const MIN_ROLE: [(&str, &str); 39] = [
    ("listAdminArticles", "author"),
    ("createArticle", "author"),
    ("getAdminArticle", "author"),
    ("updateArticle", "author"),
    ("deleteArticle", "author"),
    ("createPreviewLink", "author"),
    ("revokePreviewLinks", "author"),
    ("listAdminTags", "author"),
    ("getAdminTag", "author"),
    ("createTag", "editor"),
    ("updateTag", "editor"),
    ("deleteTag", "editor"),
    ("listAdminComments", "editor"),
    ("getAdminComment", "editor"),
    ("updateComment", "editor"),
    ("deleteComment", "editor"),
    ("bulkModerateComments", "editor"),
    ("listShareEvents", "editor"),
    ("deleteShareEvents", "editor"),
    ("deleteShareEvent", "editor"),
    ("getShareStats", "author"),
    ("listEditors", "admin"),
    ("createEditor", "admin"),
    ("getEditor", "admin"),
    ("updateEditor", "admin"),
    ("deleteEditor", "admin"),
    ("createPasswordReset", "admin"),
    ("unlockEditor", "admin"),
    ("listAllTokens", "admin"),
    ("revokeToken", "admin"),
    ("listWebhooks", "admin"),
    ("createWebhook", "admin"),
    ("getWebhook", "admin"),
    ("updateWebhook", "admin"),
    ("deleteWebhook", "admin"),
    ("testWebhook", "admin"),
    ("rotateWebhookSecret", "admin"),
    ("listWebhookDeliveries", "admin"),
    ("redeliverWebhook", "admin"),
];

fn rank(role: &str) -> u8 {
    match role {
        "author" => 1,
        "editor" => 2,
        "admin" => 3,
        other => panic!("unknown role {other}"),
    }
}

/// Every `/api/v1/admin/*` operation of the generated document × every
/// role: anonymous and a bad token 401 (`WWW-Authenticate`), a role below
/// the operation's 403 `forbidden`, its role or higher neither. Requests
/// carry an id that does not exist and an empty body, so nothing changes.
async fn every_admin_operation_checks_every_role(app: TestApp) {
    let spec = broadsheet::http::api_spec().0;
    let mut tokens = vec![
        ("anonymous", None),
        ("garbage token", Some("not.a.jwt".to_string())),
    ];
    let mut own_article = 0;
    for role in ["author", "editor", "admin"] {
        let email = format!("{role}@example.com");
        let id = app.create_editor(&email, role).await;
        if role == "author" {
            own_article = app
                .create_article(id, "The author's own piece", "published")
                .await
                .0;
        }
        let token = app.login(&email).await["access_token"]
            .as_str()
            .unwrap()
            .to_string();
        tokens.push((role, Some(token)));
    }
    let mut seen = Vec::new();
    let mut failures = Vec::new();
    for (path, item) in spec["paths"].as_object().unwrap() {
        if !path.starts_with("/api/v1/admin") {
            continue;
        }
        for (method, op) in item.as_object().unwrap() {
            let Ok(method) = Method::from_bytes(method.to_uppercase().as_bytes()) else {
                continue;
            };
            if !["GET", "POST", "PUT", "PATCH", "DELETE"].contains(&method.as_str()) {
                continue;
            }
            let id = op["operationId"].as_str().unwrap().to_string();
            let Some((_, min)) = MIN_ROLE.iter().find(|(op_id, _)| *op_id == id) else {
                failures.push(format!(
                    "{id} ({method} {path}) is not in MIN_ROLE: decide who may call it"
                ));
                continue;
            };
            seen.push(id.clone());
            let mut uri = path.replace("{id}", "987654");
            if id == "getShareStats" {
                // Authors must name an article of their own.
                uri.push_str(&format!("?article_id={own_article}"));
            }
            for (who, token) in &tokens {
                let mut req = app.request(method.clone(), &uri);
                if let Some(token) = token {
                    req = req.bearer(token);
                }
                if matches!(method.as_str(), "POST" | "PATCH") {
                    req = req.json(json!({}));
                }
                let res = req.send().await;
                let status = res.status.as_u16();
                let code = serde_json::from_slice::<Value>(&res.body)
                    .ok()
                    .and_then(|b| b["code"].as_str().map(str::to_string))
                    .unwrap_or_default();
                let name = format!("{id} ({method} {uri}) as {who}");
                match token {
                    None => {
                        if status != 401 || code != "unauthorized" || res.header("www-authenticate").is_none()
                        {
                            failures.push(format!(
                                "{name}: expected 401 with WWW-Authenticate, got {status} {code}"
                            ));
                        }
                    }
                    Some(_) if *who == "garbage token" => {
                        if status != 401 || code != "unauthorized" {
                            failures.push(format!("{name}: expected 401, got {status} {code}"));
                        }
                    }
                    Some(_) if rank(who) < rank(min) => {
                        if status != 403 || code != "forbidden" {
                            failures.push(format!(
                                "{name}: expected 403 forbidden (needs {min}), got {status} {code}: {}",
                                res.text()
                            ));
                        }
                    }
                    Some(_) => {
                        if matches!(status, 401 | 403) || status >= 500 {
                            failures.push(format!(
                                "{name}: allowed role refused or failed: {status} {}",
                                res.text()
                            ));
                        }
                    }
                }
            }
        }
    }
    for (id, _) in MIN_ROLE {
        if !seen.iter().any(|s| s == id) {
            failures.push(format!("{id} is in MIN_ROLE but not in the document"));
        }
    }
    assert!(
        failures.is_empty(),
        "role checks:\n  - {}",
        failures.join("\n  - ")
    );
}

backend_tests!(every_admin_operation_checks_every_role);

// --- headers and CORS -------------------------------------------------------------

const JSON_CSP: &str = "default-src 'none'; frame-ancestors 'none'";

fn assert_security_headers(res: &TestResponse, what: &str, docs: bool) {
    assert_eq!(res.header("x-content-type-options"), Some("nosniff"), "{what}");
    assert_eq!(res.header("referrer-policy"), Some("no-referrer"), "{what}");
    assert_eq!(res.header("x-frame-options"), Some("DENY"), "{what}");
    let csp = res
        .header("content-security-policy")
        .unwrap_or_else(|| panic!("{what}: no CSP"));
    if docs {
        assert!(csp.starts_with("default-src 'self'"), "{what}: {csp}");
        assert!(csp.contains("frame-ancestors 'none'"), "{what}: {csp}");
        assert!(!csp.contains("unsafe-eval"), "{what}: {csp}");
        assert!(
            !csp.split(';')
                .any(|d| d.contains("script-src") && d.contains("unsafe-inline")),
            "{what}: {csp}"
        );
    } else {
        assert_eq!(csp, JSON_CSP, "{what}");
    }
}

async fn security_headers_on_every_kind_of_response(app: TestApp) {
    let token = app.admin_token().await;
    let cases: Vec<(&str, Method, &str, bool, Option<&str>)> = vec![
        ("200 json", Method::GET, "/api/v1/articles", false, None),
        ("200 healthz", Method::GET, "/healthz", false, None),
        ("200 readyz", Method::GET, "/readyz", false, None),
        ("200 metrics", Method::GET, "/metrics", false, None),
        ("200 openapi", Method::GET, "/api/v1/openapi.json", false, None),
        (
            "200 editor route",
            Method::GET,
            "/api/v1/admin/articles",
            false,
            Some(&token),
        ),
        ("401", Method::GET, "/api/v1/admin/articles", false, None),
        ("404 api", Method::GET, "/api/v1/articles/nope", false, None),
        ("404 unknown", Method::GET, "/wp-login.php", false, None),
        ("405", Method::DELETE, "/api/v1/articles", false, None),
        ("415", Method::POST, "/api/v1/auth/login", false, None),
        ("docs redirect", Method::GET, "/docs", true, None),
        ("docs page", Method::GET, "/docs/", true, None),
        (
            "docs script",
            Method::GET,
            "/docs/swagger-initializer.js",
            true,
            None,
        ),
        ("docs 404", Method::GET, "/docs/nothing-here.js", true, None),
    ];
    for (what, method, path, docs, token) in cases {
        let mut req = app.request(method, path);
        if let Some(token) = token {
            req = req.bearer(token);
        }
        let res = req.send().await;
        assert_security_headers(&res, &format!("{what} {path} ({})", res.status), docs);
    }
    // An error answered as problem+json, with the JSON policy.
    let res = app.get("/api/v1/articles?page=0").send().await;
    res.problem(422, "validation_failed");
    assert_security_headers(&res, "422", false);
}

backend_tests!(security_headers_on_every_kind_of_response);

const ALLOWED: &str = "https://www.example.com";
const EVIL: &str = "https://evil.example.net";

async fn cors_answers_only_configured_origins(app: TestApp) {
    let app = &app;
    let token = app.admin_token().await;
    // Simple requests, public and editor, success and error.
    for (path, token) in [
        ("/api/v1/articles", None),
        ("/api/v1/admin/articles", Some(token.as_str())),
        ("/api/v1/admin/articles", None),
        ("/api/v1/nowhere", None),
    ] {
        let mut allowed = app.get(path).header("origin", ALLOWED);
        let mut evil = app.get(path).header("origin", EVIL);
        if let Some(token) = token {
            allowed = allowed.bearer(token);
            evil = evil.bearer(token);
        }
        let res = allowed.send().await;
        assert_eq!(res.header("access-control-allow-origin"), Some(ALLOWED), "{path}");
        assert_eq!(
            res.header("access-control-allow-credentials"),
            Some("true"),
            "{path}"
        );
        assert!(
            res.header("vary")
                .is_some_and(|v| v.to_ascii_lowercase().contains("origin")),
            "{path}: Vary: Origin"
        );
        let res = evil.send().await;
        assert!(res.status.as_u16() < 500, "{path}: {}", res.status);
        assert_eq!(res.header("access-control-allow-origin"), None, "{path}");
        assert_eq!(res.header("access-control-allow-credentials"), None, "{path}");
        assert_security_headers(&res, "cross-origin from a foreign site", false);
    }
    // Preflights.
    let preflight = move |origin: &'static str, method: &'static str, headers: &'static str| {
        app.request(Method::OPTIONS, "/api/v1/admin/articles")
            .header("origin", origin)
            .header("access-control-request-method", method)
            .header("access-control-request-headers", headers)
            .send()
    };
    let res = preflight(ALLOWED, "PATCH", "authorization, content-type, if-match").await;
    assert!(res.status.is_success(), "allowed preflight: {}", res.status);
    assert_eq!(res.header("access-control-allow-origin"), Some(ALLOWED));
    assert_eq!(res.header("access-control-allow-credentials"), Some("true"));
    let methods = res
        .header("access-control-allow-methods")
        .unwrap_or("")
        .to_ascii_uppercase();
    assert!(methods.contains("PATCH"), "{methods}");
    let headers = res
        .header("access-control-allow-headers")
        .unwrap_or("")
        .to_ascii_lowercase();
    assert!(
        headers.contains("authorization") && headers.contains("if-match"),
        "{headers}"
    );
    assert_eq!(res.header("access-control-max-age"), Some("3600"));

    for (what, origin, method, headers) in [
        ("foreign origin", EVIL, "PATCH", "authorization"),
        (
            "look-alike origin",
            "https://www.example.com.evil.net",
            "GET",
            "authorization",
        ),
        (
            "scheme downgrade",
            "http://www.example.com",
            "GET",
            "authorization",
        ),
        ("null origin", "null", "GET", "authorization"),
    ] {
        let res = preflight(origin, method, headers).await;
        assert!(res.status.as_u16() < 500, "{what}: {}", res.status);
        if !res.status.is_success() {
            res.problem(400, "bad_request");
        }
        assert_eq!(res.header("access-control-allow-origin"), None, "{what}");
        assert_eq!(res.header("access-control-allow-credentials"), None, "{what}");
        assert_security_headers(&res, what, false);
    }
    // An allowed origin asking for a method or header that is not allowed.
    for (what, method, headers) in [
        ("method PUT", "PUT", "authorization"),
        ("header x-evil", "GET", "x-evil"),
    ] {
        let res = preflight(ALLOWED, method, headers).await;
        assert!(res.status.as_u16() < 500, "{what}: {}", res.status);
        if !res.status.is_success() {
            res.problem(400, "bad_request");
        }
        let granted = res
            .header("access-control-allow-methods")
            .unwrap_or("")
            .to_ascii_uppercase();
        let granted_headers = res
            .header("access-control-allow-headers")
            .unwrap_or("")
            .to_ascii_lowercase();
        assert!(
            !res.status.is_success() || (!granted.contains("PUT") && !granted_headers.contains("x-evil")),
            "{what}: granted {granted} / {granted_headers}"
        );
    }
}

backend_tests_with!(
    [("CORS_ALLOWED_ORIGINS", "https://www.example.com")],
    cors_answers_only_configured_origins
);

/// A subdomain pattern (preview deployments) lets in one label under the
/// domain, with the same scheme and port, and nothing else.
async fn cors_patterns_admit_one_subdomain_label(app: TestApp) {
    for (origin, allowed) in [
        ("https://pr-42.preview.example.com", true),
        ("https://www.example.com", true),
        ("https://a.b.preview.example.com", false),
        ("https://preview.example.com", false),
        ("http://pr-42.preview.example.com", false),
        ("https://pr-42.preview.example.com.evil.net", false),
        ("null", false),
    ] {
        let res = app.get("/api/v1/articles").header("origin", origin).send().await;
        res.assert_status(200);
        let expected = allowed.then_some(origin);
        assert_eq!(res.header("access-control-allow-origin"), expected, "{origin}");
        let preflight = app
            .request(Method::OPTIONS, "/api/v1/admin/articles")
            .header("origin", origin)
            .header("access-control-request-method", "PATCH")
            .send()
            .await;
        assert_eq!(
            preflight.header("access-control-allow-origin"),
            expected,
            "preflight {origin}"
        );
    }
}

backend_tests_with!(
    [(
        "CORS_ALLOWED_ORIGINS",
        "https://www.example.com, https://*.preview.example.com"
    )],
    cors_patterns_admit_one_subdomain_label
);

/// With no origins configured, no response carries CORS headers at all,
/// and never `*`.
async fn cors_is_closed_by_default(app: TestApp) {
    for origin in [ALLOWED, EVIL, "null"] {
        let res = app.get("/api/v1/articles").header("origin", origin).send().await;
        res.assert_status(200);
        assert_eq!(res.header("access-control-allow-origin"), None);
        assert_eq!(res.header("access-control-allow-credentials"), None);
        let res = app
            .request(Method::OPTIONS, "/api/v1/articles")
            .header("origin", origin)
            .header("access-control-request-method", "GET")
            .send()
            .await;
        assert!(res.status.as_u16() < 500);
        assert_eq!(res.header("access-control-allow-origin"), None);
    }
}

backend_tests!(cors_is_closed_by_default);

/// An author asking for another author's article by id (GET, PATCH,
/// DELETE) gets exactly the answer a missing id gets: no existence oracle.
async fn another_authors_article_answers_like_a_missing_one(app: TestApp) {
    let editor = app.token_for("ed@example.com", "editor").await;
    let author = app.token_for("au@example.com", "author").await;
    let theirs = app
        .post("/api/v1/admin/articles")
        .bearer(&editor)
        .json(json!({"title": "The desk's draft"}))
        .send()
        .await
        .json()["id"]
        .as_i64()
        .unwrap();
    let missing = theirs + 1000;
    for method in [Method::GET, Method::PATCH, Method::DELETE] {
        let ask = |id: i64| {
            let mut req = app
                .request(method.clone(), &format!("/api/v1/admin/articles/{id}"))
                .bearer(&author);
            if method == Method::PATCH {
                req = req.json(json!({"title": "Mine now"}));
            }
            req.send()
        };
        let (a, b) = (ask(theirs).await, ask(missing).await);
        let (mut a_body, mut b_body) = (a.problem(404, "not_found"), b.problem(404, "not_found"));
        // The detail names the id asked for; with it taken out, identical.
        for (body, id) in [(&mut a_body, theirs), (&mut b_body, missing)] {
            let detail = body["detail"].as_str().unwrap().replace(&id.to_string(), "ID");
            body["detail"] = json!(detail);
            body.as_object_mut().unwrap().remove("instance");
        }
        assert_eq!(a_body, b_body, "{method}");
        assert_eq!(a.header("content-type"), b.header("content-type"));
    }
    // Still there, untouched.
    let got = app
        .get(&format!("/api/v1/admin/articles/{theirs}"))
        .bearer(&editor)
        .send()
        .await;
    assert_eq!(got.json()["title"], "The desk's draft");
}

backend_tests!(another_authors_article_answers_like_a_missing_one);
