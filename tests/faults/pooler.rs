//! Behind PgBouncer in transaction pooling mode (`DATABASE_POOLER=
//! transaction`): a real PgBouncer 1.18 (no prepared statements in that
//! mode) with two server connections, an instance with six connections to
//! it, and the write and read paths under concurrent load: sign-in,
//! articles, comments, share presses (the group-commit writer), lists and
//! pages, each answered `2xx`. Then the change follower: an edit made by a
//! second instance connected directly reaches the pooled instance's cache
//! through the change log it reads via PgBouncer.
//!
//! Needs PostgreSQL (`TEST_DATABASE_URL`) and the `pgbouncer` binary;
//! without it `SKIPPED (no pgbouncer …)`, a failure with
//! `REQUIRE_PGBOUNCER=1` (set by `.ci/run`, which installs it).

use std::time::{Duration, Instant};

use serde_json::json;

use crate::support::pgbouncer::PgBouncer;
use crate::support::{Backend, Server, TestEnv, create_article};

/// Host and port of the test PostgreSQL, from its URL.
fn upstream(url: &str) -> (String, u16) {
    let rest = url.split_once("://").unwrap().1;
    let authority = rest.split('/').next().unwrap();
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    match host_port.rsplit_once(':') {
        Some((h, p)) => (h.to_string(), p.parse().unwrap()),
        None => (host_port.to_string(), 5432),
    }
}

/// Four clients at once, each: sign in, write an article, comment on it,
/// press share, edit it, read it and the lists. Every answer must be `2xx`.
fn mixed_load(server: &Server) {
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let server_addr = server.addr;
            let admin = server.admin();
            std::thread::spawn(move || {
                let mut admin = admin;
                let mut reader = crate::support::Client::new(server_addr, crate::support::CLIENT_TIMEOUT);
                for i in 0..6 {
                    let article = create_article(&mut admin, &format!("Pooled {t}-{i}"), &["pooled"]);
                    let (id, slug) = (article["id"].as_i64().unwrap(), article["slug"].as_str().unwrap().to_string());
                    let writes = [
                        (
                            "POST",
                            format!("/api/v1/articles/{slug}/comments"),
                            json!({"author_name": "R", "author_email": "r@example.com", "body": "Through the pooler."}),
                        ),
                        ("POST", format!("/api/v1/articles/{slug}/shares"), json!({"channel": "other"})),
                        ("PATCH", format!("/api/v1/admin/articles/{id}"), json!({"subtitle": format!("edit {i}")})),
                    ];
                    for (method, path, body) in writes {
                        let client = if method == "PATCH" { &mut admin } else { &mut reader };
                        let reply = client.request(method, &path, Some(&body)).expect("write");
                        assert!(reply.is_success(), "{method} {path}: {} {}", reply.status, reply.text());
                    }
                    for path in [
                        format!("/api/v1/articles/{slug}"),
                        "/api/v1/articles?per_page=5".to_string(),
                        "/api/v1/articles?tag=pooled".to_string(),
                        format!("/api/v1/articles/{slug}/comments"),
                        format!("/api/v1/articles/{slug}/shares"),
                        "/api/v1/feeds/rss".to_string(),
                        "/api/v1/authors".to_string(),
                    ] {
                        let reply = reader.get(&path).expect("read");
                        assert!(reply.is_success(), "GET {path}: {} {}", reply.status, reply.text());
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("a client thread failed");
    }
}

#[test]
fn serves_reads_writes_and_the_change_follower_through_pgbouncer_in_transaction_mode() {
    let Some(env) = TestEnv::new(Backend::Postgres) else {
        return;
    };
    let (host, port) = upstream(env.url());
    let Some(bouncer) = PgBouncer::start(&host, port) else {
        return;
    };
    let pooled_url = bouncer.url_for(env.url());
    // Started through PgBouncer: its migrations (none pending) run there too.
    let pooled = env.start_on(
        &pooled_url,
        &[
            ("DATABASE_POOLER", "transaction"),
            ("DB_POOL_SIZE", "6"),
            ("WORKERS", "4"),
            ("RESPONSE_CACHE_BYTES", "8388608"),
        ],
    );
    mixed_load(&pooled);
    assert!(
        !pooled.log().contains("ERROR"),
        "errors in the pooled instance's log:\n{}",
        pooled.log()
    );

    // The change follower reads the log through PgBouncer: an edit by a
    // directly connected instance reaches the pooled instance's cache.
    let direct = env.start(&[]);
    let mut admin = direct.admin();
    let article = create_article(&mut admin, "Followed through the pooler", &[]);
    let (id, slug) = (
        article["id"].as_i64().unwrap(),
        article["slug"].as_str().unwrap().to_string(),
    );
    let mut reader = pooled.client();
    let path = format!("/api/v1/articles/{slug}");
    assert_eq!(
        reader.get(&path).unwrap().json()["title"],
        "Followed through the pooler"
    );
    // Now in the pooled instance's cache (kept up to 60 s but for the log).
    let reply = admin
        .request(
            "PATCH",
            &format!("/api/v1/admin/articles/{id}"),
            Some(&json!({"title": "Seen through the pooler"})),
        )
        .unwrap();
    assert_eq!(reply.status, 200, "{}", reply.text());
    let edited = Instant::now();
    loop {
        if reader.get(&path).unwrap().json()["title"] == "Seen through the pooler" {
            break;
        }
        assert!(
            edited.elapsed() < Duration::from_secs(10),
            "the pooled instance never saw the edit"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        edited.elapsed() < Duration::from_secs(3),
        "took {:?}",
        edited.elapsed()
    );
    drop((pooled, direct));
    let log = bouncer.log();
    assert!(!log.contains("prepared statement"), "PgBouncer log:\n{log}");
}
