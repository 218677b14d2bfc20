//! The rolling upgrade's expand step, tested: during a roll, the new
//! release's migrations run while instances of the old release still serve
//! (and may restart). This test takes the binary under test as the *old*
//! release and applies, beneath it, what an additive ("expand") migration
//! of the next release does: a nullable column, a column with a default, a
//! new table, an index, and the migration's row in
//! `__diesel_schema_migrations` (a version this binary does not know). The
//! running instance must go on answering every read and write, and a
//! restarted one must start (its own migration run ignores the unknown
//! version) and serve. Then the negative control: a "contract" change made
//! too early (a column the old release reads, renamed) breaks the running
//! instance, so the test can tell the two kinds apart.
//!
//! What it proves: the current code's queries name their columns and do
//! not depend on the absence of columns, tables or migration rows, on both
//! backends. What it does not: that an arbitrary future migration is
//! additive; docs/DEPLOY.md says which kinds are, for review.

use serde_json::json;

use crate::support::{Backend, Client, Sql, TestEnv, create_article};

/// The next release's expand migration, per backend.
fn expand(backend: Backend) -> &'static str {
    match backend {
        Backend::Postgres => {
            "ALTER TABLE articles ADD COLUMN reading_level TEXT; \
             ALTER TABLE tags ADD COLUMN colour TEXT NOT NULL DEFAULT ''; \
             CREATE TABLE article_notes (id BIGSERIAL PRIMARY KEY, \
                article_id BIGINT NOT NULL REFERENCES articles (id) ON DELETE CASCADE, note TEXT NOT NULL); \
             CREATE INDEX articles_reading_level ON articles (reading_level); \
             INSERT INTO __diesel_schema_migrations (version) VALUES ('20270101000099');"
        }
        Backend::Sqlite => {
            "ALTER TABLE articles ADD COLUMN reading_level TEXT; \
             ALTER TABLE tags ADD COLUMN colour TEXT NOT NULL DEFAULT ''; \
             CREATE TABLE article_notes (id INTEGER PRIMARY KEY, \
                article_id BIGINT NOT NULL REFERENCES articles (id) ON DELETE CASCADE, note TEXT NOT NULL); \
             CREATE INDEX articles_reading_level ON articles (reading_level); \
             INSERT INTO __diesel_schema_migrations (version) VALUES ('20270101000099');"
        }
    }
}

/// Writes and reads of every kind; each must succeed.
fn exercise(admin: &mut Client, reader: &mut Client, label: &str) {
    let article = create_article(
        admin,
        &format!("Written {label}"),
        &["roll", &format!("tag-{label}")],
    );
    let (id, slug) = (
        article["id"].as_i64().unwrap(),
        article["slug"].as_str().unwrap().to_string(),
    );
    let steps: [(&str, String, Option<serde_json::Value>); 8] = [
        (
            "PATCH",
            format!("/api/v1/admin/articles/{id}"),
            Some(json!({"subtitle": "edited"})),
        ),
        (
            "POST",
            format!("/api/v1/articles/{slug}/comments"),
            Some(json!({"author_name": "R", "author_email": "r@example.com", "body": "During the roll."})),
        ),
        (
            "POST",
            format!("/api/v1/articles/{slug}/shares"),
            Some(json!({"channel": "other"})),
        ),
        ("GET", format!("/api/v1/articles/{slug}"), None),
        ("GET", "/api/v1/articles?tag=roll".into(), None),
        ("GET", "/api/v1/tags".into(), None),
        ("GET", format!("/api/v1/articles/{slug}/comments"), None),
        ("GET", "/api/v1/feeds/rss".into(), None),
    ];
    for (method, path, body) in steps {
        let client = if method == "PATCH" {
            &mut *admin
        } else {
            &mut *reader
        };
        let reply = client.request(method, &path, body.as_ref()).expect("answer");
        assert!(
            reply.is_success(),
            "{label}: {method} {path}: {} {}",
            reply.status,
            reply.text()
        );
    }
}

fn old_release_serves_after_the_next_releases_expand_migration(backend: Backend) {
    let Some(env) = TestEnv::new(backend) else {
        return;
    };
    let old = env.start(&[]);
    let (mut admin, mut reader) = (old.admin(), old.client());
    exercise(&mut admin, &mut reader, "before");

    Sql::open(env.url()).execute(expand(backend));
    exercise(&mut admin, &mut reader, "after");
    let earlier = reader.get("/api/v1/articles/written-before").unwrap();
    assert_eq!(earlier.status, 200, "{}", earlier.text());

    // An old instance restarting mid-roll: its start-up migration run sees
    // a version it does not know, and must start anyway.
    let restarted = env.start(&[]);
    exercise(&mut restarted.admin(), &mut restarted.client(), "restarted");

    // Negative control: contracting too early (renaming a column the old
    // release writes) breaks it.
    let rename = "ALTER TABLE articles RENAME COLUMN subtitle TO standfirst;";
    Sql::open(env.url()).execute(rename);
    let reply = admin
        .post(
            "/api/v1/admin/articles",
            &json!({"title": "After the contract", "body_markdown": "x", "subtitle": "s"}),
        )
        .unwrap();
    assert!(
        reply.status >= 500,
        "the early contract did not break the old release: {}",
        reply.status
    );
}

crate::fault_tests!(old_release_serves_after_the_next_releases_expand_migration);
