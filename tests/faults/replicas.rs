//! Read replicas for real: a streaming replica of the test PostgreSQL
//! (`support::standby`), the binary started with `DATABASE_REPLICA_URLS`
//! pointing at it. Routing (public reads on the replica, editors' reads
//! not), read-your-writes, the replica taken out of rotation when it lags
//! past `REPLICA_MAX_LAG_SECONDS` (replay paused) and put back when it
//! catches up, and the response-cache hazard: a miss right after an
//! eviction must never be filled from a replica that has not replayed the
//! change. PostgreSQL only; SQLite refuses the setting at start.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::standby::Standby;
use crate::support::{Backend, Client, Server, Sql, TestEnv, create_article};

/// The value of the first `/metrics` sample whose line starts with
/// `prefix` (name and labels).
fn metric(client: &mut Client, prefix: &str) -> f64 {
    let text = client.get("/metrics").expect("metrics").text();
    text.lines()
        .find(|l| l.starts_with(prefix))
        .and_then(|l| l.rsplit(' ').next()?.parse().ok())
        .unwrap_or_else(|| panic!("{prefix} not in /metrics:\n{text}"))
}

fn replica_reads(client: &mut Client) -> f64 {
    metric(client, "broadsheet_replica_reads_total{replica=\"1\"}")
}

fn fallback_reads(client: &mut Client) -> f64 {
    metric(client, "broadsheet_replica_fallback_reads_total")
}

/// The first replica as `/readyz` shows it.
fn replica(client: &mut Client) -> Value {
    let reply = client.get("/readyz").expect("readyz");
    assert_eq!(reply.status, 200, "{}", reply.text());
    reply.json()["replicas"][0].clone()
}

/// Polls `/readyz` until the replica is in `state`; returns when.
fn wait_for_state(client: &mut Client, state: &str, limit: Duration) -> Instant {
    let deadline = Instant::now() + limit;
    loop {
        let seen = replica(client);
        if seen["state"] == state {
            assert_eq!(seen["in_rotation"], state == "healthy", "{seen}");
            return Instant::now();
        }
        assert!(
            Instant::now() < deadline,
            "replica not {state} after {limit:?}: {seen}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn title(client: &mut Client, path: &str) -> String {
    let reply = client.get(path).expect("answer");
    assert_eq!(reply.status, 200, "{path}: {}", reply.text());
    reply.json()["title"].as_str().unwrap_or_default().to_string()
}

fn patch_title(admin: &mut Client, id: i64, title: &str) {
    let reply = admin
        .request(
            "PATCH",
            &format!("/api/v1/admin/articles/{id}"),
            Some(&json!({"title": title})),
        )
        .expect("patch");
    assert_eq!(reply.status, 200, "{}", reply.text());
}

fn start_with_replica(env: &TestEnv, standby: &Standby, max_lag: &str, cache: bool) -> Server {
    let mut vars = vec![
        ("DATABASE_REPLICA_URLS", standby.url.as_str()),
        ("REPLICA_MAX_LAG_SECONDS", max_lag),
    ];
    if !cache {
        vars.push(("RESPONSE_CACHE_BYTES", "0"));
    }
    env.start(&vars)
}

#[test]
fn public_reads_go_to_a_replica_in_rotation_and_leave_it_while_it_lags() {
    let Some(env) = TestEnv::new(Backend::Postgres) else {
        return;
    };
    let Some(standby) = Standby::start(env.url()) else {
        return;
    };
    // Cache off: every public GET reads the database.
    let server = start_with_replica(&env, &standby, "2", false);
    let (mut public, mut admin) = (server.client(), server.admin());
    wait_for_state(&mut public, "healthy", Duration::from_secs(30));

    // Read your writes: the article just created is there on the next read.
    let article = create_article(&mut admin, "Replicated", &["replicas"]);
    let id = article["id"].as_i64().expect("id");
    let path = format!("/api/v1/articles/{}", article["slug"].as_str().expect("slug"));
    assert_eq!(title(&mut public, &path), "Replicated");

    // Routing: public reads on the replica, editors' reads on the primary.
    let before = replica_reads(&mut public);
    for _ in 0..20 {
        assert_eq!(title(&mut public, &path), "Replicated");
    }
    let on_replica = replica_reads(&mut public) - before;
    assert!(
        on_replica >= 15.0,
        "{on_replica} of 20 public reads on the replica"
    );
    let before = replica_reads(&mut public);
    for _ in 0..5 {
        assert_eq!(
            admin.get(&format!("/api/v1/admin/articles/{id}")).unwrap().status,
            200
        );
    }
    assert_eq!(
        replica_reads(&mut public),
        before,
        "editors' reads stay on the primary"
    );

    // The replica really answers them: with replay paused, a change made
    // behind the service's back (no change-log row: nothing raises this
    // instance's fence) is on the primary only, and the public read shows
    // the replica's copy.
    standby.pause_replay();
    let mut primary = Sql::open(env.url());
    let behind_the_back = Instant::now();
    primary.scalar(&format!(
        "WITH u AS (UPDATE articles SET title = 'Changed behind the service' WHERE id = {id} RETURNING id) \
         SELECT COUNT(*) AS n FROM u"
    ));
    assert_eq!(
        title(&mut public, &path),
        "Replicated",
        "served by the paused replica"
    );
    assert!(
        behind_the_back.elapsed() < Duration::from_secs(2),
        "too slow to prove anything"
    );

    // An editor's edit through the service is seen on the next public read
    // although the replica has not replayed it: that read goes to the primary.
    let fallback = fallback_reads(&mut public);
    patch_title(&mut admin, id, "Edited while the replica is paused");
    assert_eq!(title(&mut public, &path), "Edited while the replica is paused");
    assert!(
        fallback_reads(&mut public) > fallback,
        "the read after the edit fell back to the primary"
    );

    // Out of rotation once it lags more than 2 s, not before.
    let out = wait_for_state(&mut public, "lagging", Duration::from_secs(20));
    let after = out.duration_since(behind_the_back);
    assert!(
        after >= Duration::from_secs(2),
        "taken out after {after:?}, before the bound"
    );
    let lag = replica(&mut public)["lag_seconds"].as_f64().expect("lag");
    assert!(lag >= 2.0, "lag {lag}");
    assert_eq!(
        metric(
            &mut public,
            "broadsheet_replica_in_rotation{replica=\"1\",state=\"lagging\"}"
        ),
        0.0
    );
    assert!(metric(&mut public, "broadsheet_replica_lag_seconds{replica=\"1\"}") >= 2.0);
    let before = replica_reads(&mut public);
    for _ in 0..5 {
        assert_eq!(title(&mut public, &path), "Edited while the replica is paused");
    }
    assert_eq!(
        replica_reads(&mut public),
        before,
        "no reads on a lagging replica"
    );

    // Failback: replay resumed, it catches up and serves again.
    standby.resume_replay();
    wait_for_state(&mut public, "healthy", Duration::from_secs(20));
    assert_eq!(
        metric(
            &mut public,
            "broadsheet_replica_in_rotation{replica=\"1\",state=\"healthy\"}"
        ),
        1.0
    );
    let before = replica_reads(&mut public);
    for _ in 0..10 {
        assert_eq!(title(&mut public, &path), "Edited while the replica is paused");
    }
    assert!(
        replica_reads(&mut public) - before >= 8.0,
        "reads back on the replica"
    );

    // The replica cuts every connection (as a restart or a network cut
    // does): the reads that find their connection dead are made again on
    // the primary, never answered 503, and the replica leaves the rotation
    // until its check finds it answering.
    let fallback = fallback_reads(&mut public);
    let cut = standby.sql().scalar(
        "SELECT COUNT(*) AS n FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()) t",
    );
    assert!(cut >= 1, "the service's replica connections were cut ({cut})");
    for _ in 0..10 {
        assert_eq!(title(&mut public, &path), "Edited while the replica is paused");
    }
    assert!(
        fallback_reads(&mut public) > fallback,
        "the read on a cut connection was made again on the primary"
    );
    wait_for_state(&mut public, "healthy", Duration::from_secs(20));
}

/// The hazard: an eviction (this instance's write, or another's through
/// the change log) followed by a miss served by a replica that has not
/// replayed the change would store the old page, and no later eviction
/// would remove it. The replica stays in rotation all along here (a bound
/// of 60 s), paused, so only the fence keeps the old page out.
#[test]
fn a_cache_miss_after_an_eviction_is_never_filled_from_a_lagging_replica() {
    let Some(env) = TestEnv::new(Backend::Postgres) else {
        return;
    };
    let Some(standby) = Standby::start(env.url()) else {
        return;
    };
    let a = start_with_replica(&env, &standby, "60", true);
    let b = start_with_replica(&env, &standby, "60", true);
    let (mut on_a, mut on_b, mut admin) = (a.client(), b.client(), a.admin());
    wait_for_state(&mut on_a, "healthy", Duration::from_secs(30));
    wait_for_state(&mut on_b, "healthy", Duration::from_secs(30));
    let article = create_article(&mut admin, "Before the pause", &[]);
    let id = article["id"].as_i64().expect("id");
    let path = format!("/api/v1/articles/{}", article["slug"].as_str().expect("slug"));
    // Both caches hold the page (B's once its follower has seen the create).
    let deadline = Instant::now() + Duration::from_secs(10);
    while on_b.get(&path).unwrap().status != 200 {
        assert!(Instant::now() < deadline, "B never saw the article");
        std::thread::sleep(Duration::from_millis(50));
    }
    for client in [&mut on_a, &mut on_b] {
        assert_eq!(title(client, &path), "Before the pause");
        assert_eq!(title(client, &path), "Before the pause");
    }

    standby.pause_replay();
    patch_title(&mut admin, id, "After the pause");
    let written = Instant::now();
    // A evicted at commit: every read from now on is the edit. B: within
    // the change log's bound (1 s), then never the old page again.
    let mut b_fresh_at = None;
    while written.elapsed() < Duration::from_secs(4) {
        assert_eq!(title(&mut on_a, &path), "After the pause", "A after its own edit");
        let began = written.elapsed();
        match title(&mut on_b, &path).as_str() {
            "After the pause" => {
                b_fresh_at.get_or_insert(began);
            }
            stale => assert!(
                b_fresh_at.is_none() && began <= Duration::from_secs(1),
                "B served {stale:?} {began:?} after the edit (fresh since {b_fresh_at:?})"
            ),
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    assert!(b_fresh_at.is_some(), "B never showed the edit");
    // The replica was in rotation (and behind) all along.
    for client in [&mut on_a, &mut on_b] {
        let seen = replica(client);
        assert_eq!(seen["in_rotation"], true, "{seen}");
    }
    standby.resume_replay();
}

/// SQLite has no replicas: the setting stops the start with a message
/// naming it, rather than being ignored.
#[test]
fn sqlite_refuses_replicas_at_start() {
    let dir = tempfile::tempdir().expect("dir");
    let mut child = Command::new(env!("CARGO_BIN_EXE_broadsheet"))
        .env_clear()
        .env("DATABASE_URL", format!("sqlite://{}/x.db", dir.path().display()))
        .env("DATABASE_REPLICA_URLS", "postgres://postgres@127.0.0.1:1/replica")
        .env("BIND_ADDR", "127.0.0.1:0")
        .env("DEMO_CONTENT", "false")
        .current_dir(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start broadsheet");
    let deadline = Instant::now() + Duration::from_secs(30);
    while child.try_wait().expect("wait").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the server started with replicas on SQLite");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().expect("output");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!out.status.success(), "{text}");
    assert!(
        text.contains("DATABASE_REPLICA_URLS") && text.contains("SQLite"),
        "{text}"
    );
}
