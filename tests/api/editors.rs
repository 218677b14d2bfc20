//! Admin management of editor accounts.

use serde_json::json;

use crate::backend_tests;
use crate::support::TestApp;

async fn admin_creates_reads_updates_and_deletes_an_editor(app: TestApp) {
    let admin = app.admin_token().await;
    let res = app
        .post("/api/v1/admin/editors")
        .bearer(&admin)
        .json(json!({"email": "Ada@Example.com", "name": "Ada Byron", "role": "editor", "password": "a long passphrase"}))
        .send()
        .await;
    res.assert_status(201);
    let created = res.json();
    let id = created["id"].as_i64().unwrap();
    assert_eq!(
        res.header("location"),
        Some(format!("/api/v1/admin/editors/{id}").as_str())
    );
    assert_eq!(created["email"], "ada@example.com");
    assert_eq!(created["slug"], "ada-byron");
    assert_eq!(created["role"], "editor");
    assert_eq!(created["active"], true);

    let got = app
        .get(&format!("/api/v1/admin/editors/{id}"))
        .bearer(&admin)
        .send()
        .await;
    got.assert_status(200);
    assert_eq!(got.header("cache-control"), Some("no-store"));
    let etag = got.header("etag").unwrap().to_string();

    let updated = app
        .patch(&format!("/api/v1/admin/editors/{id}"))
        .bearer(&admin)
        .header("if-match", &etag)
        .json(json!({"bio": "Writes about cities.", "role": "author"}))
        .send()
        .await;
    updated.assert_status(200);
    assert_eq!(updated.json()["bio"], "Writes about cities.");
    assert_eq!(updated.json()["role"], "author");

    // The old ETag is stale now.
    app.patch(&format!("/api/v1/admin/editors/{id}"))
        .bearer(&admin)
        .header("if-match", &etag)
        .json(json!({"name": "Someone else"}))
        .send()
        .await
        .problem(412, "precondition_failed");

    // null clears the bio.
    let cleared = app
        .patch(&format!("/api/v1/admin/editors/{id}"))
        .bearer(&admin)
        .json(json!({"bio": null}))
        .send()
        .await;
    assert!(cleared.json()["bio"].is_null());

    // The new editor can sign in with the password the admin set.
    let login = app
        .post("/api/v1/auth/login")
        .json(json!({"email": "ada@example.com", "password": "a long passphrase"}))
        .send()
        .await;
    login.assert_status(200);

    app.delete(&format!("/api/v1/admin/editors/{id}"))
        .bearer(&admin)
        .send()
        .await
        .assert_status(204);
    app.get(&format!("/api/v1/admin/editors/{id}"))
        .bearer(&admin)
        .send()
        .await
        .problem(404, "not_found");
}

async fn list_is_paged(app: TestApp) {
    let admin = app.admin_token().await;
    for i in 0..4 {
        app.create_editor(&format!("e{i}@example.com"), "author").await;
    }
    let res = app
        .get("/api/v1/admin/editors?per_page=2&page=2")
        .bearer(&admin)
        .send()
        .await;
    res.assert_status(200);
    let body = res.json();
    assert_eq!(body["data"].as_array().unwrap().len(), 2);
    assert_eq!(body["meta"]["total"], 5);
    assert_eq!(body["meta"]["total_pages"], 3);
    assert_eq!(body["links"]["next"], "/api/v1/admin/editors?per_page=2&page=3");
    assert_eq!(body["links"]["prev"], "/api/v1/admin/editors?per_page=2&page=1");
    assert!(res.header("link").unwrap().contains("rel=\"next\""));
    app.get("/api/v1/admin/editors?per_page=101")
        .bearer(&admin)
        .send()
        .await
        .invalid_field("per_page");
    app.get("/api/v1/admin/editors?page=0")
        .bearer(&admin)
        .send()
        .await
        .invalid_field("page");
    app.get("/api/v1/admin/editors?page=-3")
        .bearer(&admin)
        .send()
        .await
        .invalid_field("page");
}

async fn the_last_admin_cannot_be_demoted_deactivated_or_deleted(app: TestApp) {
    let admin = app.admin_token().await;
    let me = app.get("/api/v1/auth/me").bearer(&admin).send().await.json();
    let id = me["id"].as_i64().unwrap();
    for change in [json!({"role": "editor"}), json!({"active": false})] {
        app.patch(&format!("/api/v1/admin/editors/{id}"))
            .bearer(&admin)
            .json(change)
            .send()
            .await
            .problem(409, "conflict");
    }
    app.delete(&format!("/api/v1/admin/editors/{id}"))
        .bearer(&admin)
        .send()
        .await
        .problem(409, "conflict");

    // With a second admin, the first may step down.
    let second = app.create_editor("second@example.com", "admin").await;
    app.patch(&format!("/api/v1/admin/editors/{id}"))
        .bearer(&admin)
        .json(json!({"role": "editor"}))
        .send()
        .await
        .assert_status(200);
    // …and now the second is the last one.
    let second_token = app.login("second@example.com").await["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    app.delete(&format!("/api/v1/admin/editors/{second}"))
        .bearer(&second_token)
        .send()
        .await
        .problem(409, "conflict");
}

async fn create_validates_every_field(app: TestApp) {
    let admin = app.admin_token().await;
    let res = app
        .post("/api/v1/admin/editors")
        .bearer(&admin)
        .json(json!({"email": "not-an-email", "name": " ", "role": "editor", "password": "short"}))
        .send()
        .await;
    let body = res.invalid_field("email");
    let fields: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert!(
        fields.contains(&"name") && fields.contains(&"password"),
        "{fields:?}"
    );

    app.post("/api/v1/admin/editors")
        .bearer(&admin)
        .json(json!({"email": "a@example.com", "name": "A", "role": "overlord", "password": "a long passphrase"}))
        .send()
        .await
        .invalid_field("role");

    app.post("/api/v1/admin/editors")
        .bearer(&admin)
        .json(json!({"email": "root@example.com", "name": "Dup", "role": "editor", "password": "a long passphrase"}))
        .send()
        .await
        .problem(409, "conflict");
}

/// The active admins, read straight from storage (no admin token needed,
/// which matters when none is left).
async fn active_admins(app: &TestApp) -> Vec<i64> {
    let (rows, _) = broadsheet::service::editors::list(&app.parts.state.db, 0, 1000)
        .await
        .unwrap();
    rows.into_iter()
        .filter(|r| r.role == broadsheet::domain::Role::Admin && r.active)
        .map(|r| r.id)
        .collect()
}

/// Two admins demote (or deactivate) each other at the same moment, round
/// after round: one change goes through, the other is refused, and one
/// admin is always left. On PostgreSQL, with the count of admins read
/// without a lock, both changes went through and no admin was left.
async fn two_admins_demoting_each_other_leave_one(app: TestApp) {
    let mut survivor = (
        app.create_editor("first@example.com", "admin").await,
        app.login("first@example.com").await["access_token"]
            .as_str()
            .unwrap()
            .to_string(),
    );
    for round in 0..12 {
        let email = format!("admin{round}@example.com");
        let newcomer = (
            app.create_editor(&email, "admin").await,
            app.login(&email).await["access_token"]
                .as_str()
                .unwrap()
                .to_string(),
        );
        let change = if round % 2 == 0 {
            json!({"role": "editor"})
        } else {
            json!({"active": false})
        };
        let demote = |actor: &(i64, String), target: &(i64, String)| {
            app.patch(&format!("/api/v1/admin/editors/{}", target.0))
                .bearer(&actor.1)
                .json(change.clone())
                .send()
        };
        let (a, b) =
            futures_util::future::join(demote(&survivor, &newcomer), demote(&newcomer, &survivor)).await;
        let admins = active_admins(&app).await;
        assert_eq!(admins.len(), 1, "round {round}: admins left {admins:?}");
        let statuses = [a.status.as_u16(), b.status.as_u16()];
        assert_eq!(
            statuses.iter().filter(|s| **s == 200).count(),
            1,
            "round {round}: {statuses:?}"
        );
        // A refused change is 409 (last admin), or 403 / 401 when its actor
        // was already demoted / deactivated when its request was authorised.
        assert!(
            statuses.iter().all(|s| [200, 401, 403, 409].contains(s)),
            "{statuses:?}"
        );
        if admins[0] == newcomer.0 {
            survivor = newcomer;
        }
    }
}

backend_tests!(
    admin_creates_reads_updates_and_deletes_an_editor,
    list_is_paged,
    the_last_admin_cannot_be_demoted_deactivated_or_deleted,
    create_validates_every_field,
    two_admins_demoting_each_other_leave_one,
);
