//! Password change, admin-issued reset tokens, unlocking a backed-off
//! address, and the CLI commands for both.

use std::process::Command;

use serde_json::{Value, json};

use crate::support::{ADMIN_EMAIL, PASSWORD, TestApp, TestResponse, test_vars};
use crate::{backend_tests, backend_tests_with};

const EDITOR: &str = "ed@example.com";
const NEW_PASSWORD: &str = "a brand new passphrase";

async fn login(app: &TestApp, email: &str, password: &str) -> TestResponse {
    app.post("/api/v1/auth/login")
        .json(json!({"email": email, "password": password}))
        .send()
        .await
}

async fn refresh(app: &TestApp, token: &Value) -> TestResponse {
    app.post("/api/v1/auth/refresh")
        .json(json!({"refresh_token": token}))
        .send()
        .await
}

/// Five wrong passwords (the default threshold): the address is locked.
async fn lock_out(app: &TestApp, email: &str) {
    for _ in 0..5 {
        login(app, email, "wrong password!")
            .await
            .problem(401, "unauthorized");
    }
    login(app, email, PASSWORD).await.problem(429, "rate_limited");
}

// --- change your own password ---------------------------------------------------

async fn changing_the_password_ends_every_other_session(app: TestApp) {
    app.create_editor(EDITOR, "author").await;
    let phone = app.login(EDITOR).await;
    let laptop = app.login(EDITOR).await;
    let access = laptop["access_token"].as_str().unwrap();
    let change = |body: Value| app.post("/api/v1/auth/password").bearer(access).json(body).send();

    change(json!({"current_password": "not my password", "new_password": NEW_PASSWORD}))
        .await
        .invalid_field("current_password");
    change(json!({"current_password": PASSWORD, "new_password": "short"}))
        .await
        .invalid_field("new_password");
    app.post("/api/v1/auth/password")
        .json(json!({"current_password": PASSWORD, "new_password": NEW_PASSWORD}))
        .send()
        .await
        .problem(401, "unauthorized");

    let res = change(json!({"current_password": PASSWORD, "new_password": NEW_PASSWORD})).await;
    res.assert_status(200);
    assert_eq!(res.header("cache-control"), Some("no-store"));
    let fresh = res.json();
    // Every earlier session ends; this client goes on with the new pair.
    refresh(&app, &phone["refresh_token"])
        .await
        .problem(401, "unauthorized");
    refresh(&app, &laptop["refresh_token"])
        .await
        .problem(401, "unauthorized");
    refresh(&app, &fresh["refresh_token"]).await.assert_status(200);
    login(&app, EDITOR, PASSWORD).await.problem(401, "unauthorized");
    login(&app, EDITOR, NEW_PASSWORD).await.assert_status(200);
}

/// Guessing the current password with a stolen access token is held by
/// the same backoff as sign-in.
async fn guessing_the_current_password_is_backed_off(app: TestApp) {
    app.create_editor(EDITOR, "author").await;
    let access = app.login(EDITOR).await["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    for _ in 0..5 {
        app.post("/api/v1/auth/password")
            .bearer(&access)
            .json(json!({"current_password": "a wrong guess", "new_password": NEW_PASSWORD}))
            .send()
            .await
            .invalid_field("current_password");
    }
    app.post("/api/v1/auth/password")
        .bearer(&access)
        .json(json!({"current_password": PASSWORD, "new_password": NEW_PASSWORD}))
        .send()
        .await
        .problem(429, "rate_limited");
}

// --- reset tokens ---------------------------------------------------------------

async fn issue_reset(app: &TestApp, admin: &str, id: i64) -> TestResponse {
    app.post(&format!("/api/v1/admin/editors/{id}/password-reset"))
        .bearer(admin)
        .send()
        .await
}

async fn reset(app: &TestApp, token: &Value, new_password: &str) -> TestResponse {
    app.post("/api/v1/auth/password-reset")
        .json(json!({"reset_token": token, "new_password": new_password}))
        .send()
        .await
}

async fn a_reset_token_sets_a_password_once(app: TestApp) {
    let admin = app.admin_token().await;
    let id = app.create_editor(EDITOR, "editor").await;
    let session = app.login(EDITOR).await;
    lock_out(&app, EDITOR).await;

    let res = issue_reset(&app, &admin, id).await;
    res.assert_status(201);
    assert_eq!(res.header("cache-control"), Some("no-store"));
    let issued = res.json();
    let token = issued["reset_token"].clone();
    assert!(token.as_str().unwrap().len() >= 40);
    let expires = chrono::DateTime::parse_from_rfc3339(issued["expires_at"].as_str().unwrap()).unwrap();
    let hours = (expires.with_timezone(&chrono::Utc) - chrono::Utc::now()).num_minutes() as f64 / 60.0;
    assert!((23.0..=24.0).contains(&hours), "expires in {hours} h");

    reset(&app, &token, "short").await.invalid_field("new_password");
    reset(&app, &json!("made-up-token"), NEW_PASSWORD)
        .await
        .problem(401, "unauthorized");
    reset(&app, &token, NEW_PASSWORD).await.assert_status(204);
    // Single use.
    reset(&app, &token, "yet another passphrase")
        .await
        .problem(401, "unauthorized");
    // Sessions end, the backoff is lifted, the new password works.
    refresh(&app, &session["refresh_token"])
        .await
        .problem(401, "unauthorized");
    login(&app, EDITOR, NEW_PASSWORD).await.assert_status(200);
}

async fn a_newer_or_expired_reset_token_voids_the_old(app: TestApp) {
    let admin = app.admin_token().await;
    let id = app.create_editor(EDITOR, "editor").await;
    let first = issue_reset(&app, &admin, id).await.json()["reset_token"].clone();
    let second = issue_reset(&app, &admin, id).await.json()["reset_token"].clone();
    reset(&app, &first, NEW_PASSWORD)
        .await
        .problem(401, "unauthorized");

    // Expire the second one in storage.
    app.parts
        .state
        .db
        .write(|conn| {
            use broadsheet::db::schema::password_resets;
            use diesel::prelude::*;
            let past = broadsheet::domain::date::now() - chrono::Duration::minutes(1);
            diesel::update(password_resets::table)
                .set(password_resets::expires_at.eq(past))
                .execute(conn)?;
            Ok(())
        })
        .await
        .unwrap();
    reset(&app, &second, NEW_PASSWORD)
        .await
        .problem(401, "unauthorized");
    login(&app, EDITOR, PASSWORD).await.assert_status(200);
}

/// Two requests racing with one token: exactly one sets its password.
async fn a_reset_token_cannot_be_spent_twice_at_once(app: TestApp) {
    let admin = app.admin_token().await;
    let id = app.create_editor(EDITOR, "editor").await;
    let token = issue_reset(&app, &admin, id).await.json()["reset_token"].clone();
    let (a, b) = futures_util::future::join(
        reset(&app, &token, "first racing passphrase"),
        reset(&app, &token, "second racing passphrase"),
    )
    .await;
    let mut statuses = [a.status.as_u16(), b.status.as_u16()];
    statuses.sort();
    assert_eq!(statuses, [204, 401]);
}

async fn only_admins_issue_resets_and_unlock(app: TestApp) {
    let admin = app.admin_token().await;
    let editor = app.token_for(EDITOR, "editor").await;
    let id = app.create_editor("other@example.com", "author").await;
    for path in ["password-reset", "unlock"] {
        app.post(&format!("/api/v1/admin/editors/{id}/{path}"))
            .send()
            .await
            .problem(401, "unauthorized");
        app.post(&format!("/api/v1/admin/editors/{id}/{path}"))
            .bearer(&editor)
            .send()
            .await
            .problem(403, "forbidden");
        app.post(&format!("/api/v1/admin/editors/9999/{path}"))
            .bearer(&admin)
            .send()
            .await
            .problem(404, "not_found");
    }
}

// --- lock-out -------------------------------------------------------------------

async fn an_admin_unlocks_a_locked_address(app: TestApp) {
    let admin = app.admin_token().await;
    let id = app.create_editor(EDITOR, "editor").await;
    lock_out(&app, EDITOR).await;
    let res = app
        .post(&format!("/api/v1/admin/editors/{id}/unlock"))
        .bearer(&admin)
        .send()
        .await;
    res.assert_status(204);
    login(&app, EDITOR, PASSWORD).await.assert_status(200);
}

/// A client holding a live refresh token of the editor signs in through a
/// lock; the lock stays for everyone else; a wrong password on that path
/// revokes the token it came with, so a stolen token buys one guess.
async fn a_client_that_signed_in_before_is_not_locked_out(app: TestApp) {
    app.create_editor(EDITOR, "editor").await;
    let earlier = app.login(EDITOR).await["refresh_token"].clone();
    let other = app.login(EDITOR).await["refresh_token"].clone();
    lock_out(&app, EDITOR).await;
    let with_token = |password: &'static str, token: &Value| {
        app.post("/api/v1/auth/login")
            .json(json!({"email": EDITOR, "password": password, "refresh_token": token}))
            .send()
    };

    let signed_in = with_token(PASSWORD, &earlier).await;
    signed_in.assert_status(200);
    // The presented token is spent by that sign-in; the client goes on
    // with the pair it returned.
    let renewed = signed_in.json()["refresh_token"].clone();
    // The lock still holds for a sign-in without a token, or with a made-up one.
    login(&app, EDITOR, PASSWORD).await.problem(429, "rate_limited");
    with_token(PASSWORD, &json!("made-up"))
        .await
        .problem(429, "rate_limited");
    // A token of another editor does not open this one's lock.
    app.create_editor("someone@example.com", "author").await;
    let foreign = app.login("someone@example.com").await["refresh_token"].clone();
    with_token(PASSWORD, &foreign).await.problem(429, "rate_limited");

    // A wrong password with a token: 401, and that sign-in is revoked.
    with_token("a wrong guess!", &other)
        .await
        .problem(401, "unauthorized");
    refresh(&app, &other).await.problem(401, "unauthorized");
    with_token(PASSWORD, &other).await.problem(429, "rate_limited");
    // The other sign-in's pair was untouched by that.
    refresh(&app, &renewed).await.assert_status(200);
}

backend_tests!(
    changing_the_password_ends_every_other_session,
    guessing_the_current_password_is_backed_off,
    a_reset_token_sets_a_password_once,
    a_newer_or_expired_reset_token_voids_the_old,
    a_reset_token_cannot_be_spent_twice_at_once,
    only_admins_issue_resets_and_unlock,
    an_admin_unlocks_a_locked_address,
    a_client_that_signed_in_before_is_not_locked_out,
);

/// The reset endpoint is limited per client IP like sign-in.
async fn password_reset_is_rate_limited_per_ip(app: TestApp) {
    for _ in 0..3 {
        app.post("/api/v1/auth/password-reset")
            .peer("198.51.100.7:4000")
            .json(json!({"reset_token": "guess", "new_password": NEW_PASSWORD}))
            .send()
            .await
            .problem(401, "unauthorized");
    }
    let res = app
        .post("/api/v1/auth/password-reset")
        .peer("198.51.100.7:4000")
        .json(json!({"reset_token": "guess", "new_password": NEW_PASSWORD}))
        .send()
        .await;
    res.problem(429, "rate_limited");
    assert!(res.header("retry-after").is_some());
}

mod limited {
    use super::*;
    backend_tests_with!(
        [("RATE_LIMIT_LOGIN_PER_MINUTE", "3")],
        password_reset_is_rate_limited_per_ip
    );
}

// --- CLI ------------------------------------------------------------------------

fn cli(app: &TestApp, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_broadsheet"))
        .args(args)
        .env_clear()
        .envs(test_vars(app.db.url()))
        .env("RUST_LOG", "error")
        .output()
        .expect("runs");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "broadsheet {args:?}: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

async fn the_cli_unlocks_and_issues_reset_tokens(app: TestApp) {
    app.create_editor(ADMIN_EMAIL, "admin").await;
    lock_out(&app, ADMIN_EMAIL).await;
    let out = cli(&app, &["editor", "unlock", "--email", "Root@Example.com"]);
    assert!(out.contains(ADMIN_EMAIL), "{out}");
    login(&app, ADMIN_EMAIL, PASSWORD).await.assert_status(200);

    let out = cli(&app, &["editor", "reset-password", "--email", ADMIN_EMAIL]);
    let token = out
        .lines()
        .find_map(|l| l.strip_prefix("reset token: "))
        .unwrap_or_else(|| panic!("no token in {out}"));
    reset(&app, &json!(token), NEW_PASSWORD).await.assert_status(204);
    login(&app, ADMIN_EMAIL, NEW_PASSWORD).await.assert_status(200);
}

backend_tests!(the_cli_unlocks_and_issues_reset_tokens);
