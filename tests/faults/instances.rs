//! Two real instances of the binary on one database, each with its own
//! response cache: a write on one stops being served by the other within
//! `SYNC_BOUND` (1 s), because each instance reads the change log. And an
//! instance that cannot read the log (its database connection cut, the
//! other instance still writing) empties and bypasses its cache: it may
//! fail, never serve what the log would have evicted.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::outage::through_proxy;
use crate::support::proxy::{Cut, Proxy};
use crate::support::{Backend, Client, Reply, TestEnv, create_article};

/// The bound the cache promises (`infra::response_cache::SYNC_BOUND`).
const BOUND: Duration = Duration::from_secs(1);

/// Reads `path` on `client` every 20 ms for `for_at_least`, and fails on any
/// answer that `stale` says is stale from a request that *began* more than
/// [`BOUND`] after `written`. Returns how long after `written` the first
/// non-stale answer's request began.
fn watch(
    client: &mut Client,
    path: &str,
    written: Instant,
    for_at_least: Duration,
    stale: impl Fn(&Reply) -> bool,
) -> Duration {
    let mut fresh_at = None;
    while written.elapsed() < for_at_least || fresh_at.is_none() {
        let began = Instant::now();
        let reply = client.get(path).expect("answer");
        if stale(&reply) {
            let late = began.duration_since(written);
            assert!(
                late <= BOUND,
                "{path}: stale answer from a request begun {late:?} after the write"
            );
        } else if fresh_at.is_none() {
            fresh_at = Some(began.saturating_duration_since(written));
        }
        assert!(
            written.elapsed() < Duration::from_secs(30),
            "{path} never became fresh"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    fresh_at.expect("fresh")
}

/// One unlabelled sample of `/metrics`.
fn metric(client: &mut Client, name: &str) -> f64 {
    let text = client.get("/metrics").unwrap().text();
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.trim().parse().ok())
        .unwrap_or_else(|| panic!("{name} not in /metrics:\n{text}"))
}

/// An editor's PATCH of article `id`; its answer must be `200`.
fn patch(admin: &mut Client, id: i64, body: serde_json::Value) {
    let reply = admin
        .request("PATCH", &format!("/api/v1/admin/articles/{id}"), Some(&body))
        .unwrap();
    assert_eq!(reply.status, 200, "{}", reply.text());
}

fn title(reply: &Reply) -> String {
    reply.json()["title"].as_str().unwrap_or_default().to_string()
}

fn edits_on_one_instance_reach_the_other(backend: Backend) {
    let Some(env) = TestEnv::new(backend) else {
        return;
    };
    let a = env.start(&[]);
    let b = env.start(&[]);
    // On PostgreSQL, a transaction left open (with a transaction id) for
    // the whole test, as a long batch job or a forgotten psql session
    // would: it holds back every settled read of the log, and B must
    // evict all the same.
    let _open_transaction = (backend == Backend::Postgres).then(|| {
        use diesel::{Connection, RunQueryDsl};
        let mut conn = diesel::PgConnection::establish(env.url()).expect("connect");
        diesel::sql_query("BEGIN").execute(&mut conn).expect("begin");
        diesel::sql_query("SELECT pg_current_xact_id()")
            .execute(&mut conn)
            .expect("take a transaction id");
        conn
    });
    let mut admin = a.admin();
    let article = create_article(&mut admin, "Two instances", &["Scale"]);
    let (id, slug) = (
        article["id"].as_i64().unwrap(),
        article["slug"].as_str().unwrap().to_string(),
    );
    let path = format!("/api/v1/articles/{slug}");
    let mut reader = b.client();
    // B caches the article, the list and the share counts. B may still be
    // applying A's creation from the log when it first reads (that evicts
    // what it just stored, or its store is refused as stale), so each path
    // is read until B answers it from its cache, within a few seconds.
    for p in [&path, &"/api/v1/articles".to_string(), &format!("{path}/shares")] {
        let began = Instant::now();
        loop {
            let before = metric(&mut reader, "broadsheet_response_cache_hits_total");
            for _ in 0..2 {
                assert_eq!(reader.get(p).unwrap().status, 200, "{p}");
            }
            if metric(&mut reader, "broadsheet_response_cache_hits_total") > before {
                break;
            }
            assert!(
                began.elapsed() < Duration::from_secs(5),
                "B never served {p} from its cache"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    patch(&mut admin, id, json!({"title": "Edited on A"}));
    let written = Instant::now();
    let took = watch(
        &mut reader,
        &path,
        written,
        BOUND + Duration::from_millis(300),
        |r| title(r) != "Edited on A",
    );
    eprintln!("{backend:?}: the edit reached B after {took:?}");
    watch(&mut reader, "/api/v1/articles", written, Duration::ZERO, |r| {
        r.json()["data"][0]["title"] != "Edited on A"
    });

    // A share press on A: B's exact counts route follows within the bound.
    let press = a
        .client()
        .post(&format!("{path}/shares"), &json!({"channel": "email"}))
        .unwrap();
    assert!(press.is_success(), "{}", press.text());
    let written = Instant::now();
    watch(
        &mut reader,
        &format!("{path}/shares"),
        written,
        Duration::ZERO,
        |r| r.json()["total"] != 1,
    );

    // A takedown: unpublished on A, gone from B within the bound.
    patch(&mut admin, id, json!({"status": "draft"}));
    let written = Instant::now();
    let took = watch(
        &mut reader,
        &path,
        written,
        BOUND + Duration::from_millis(300),
        |r| r.status != 404,
    );
    eprintln!("{backend:?}: the takedown reached B after {took:?}");
}

#[test]
fn edits_on_one_instance_reach_the_other_within_a_second_sqlite() {
    edits_on_one_instance_reach_the_other(Backend::Sqlite);
}

#[test]
fn edits_on_one_instance_reach_the_other_within_a_second_postgres() {
    edits_on_one_instance_reach_the_other(Backend::Postgres);
}

#[test]
fn an_instance_cut_off_from_the_change_log_serves_nothing_stale() {
    let Some(env) = TestEnv::new(Backend::Postgres) else {
        return;
    };
    let (upstream, proxied_url) = through_proxy(env.url());
    let proxy = Proxy::start(upstream);
    let a = env.start(&[]);
    let b = env.start_on(&proxied_url(proxy.addr), &[("DB_TIMEOUT_SECONDS", "1")]);
    let mut admin = a.admin();
    let article = create_article(&mut admin, "Cut off", &["Outages"]);
    let (id, slug) = (
        article["id"].as_i64().unwrap(),
        article["slug"].as_str().unwrap().to_string(),
    );
    let path = format!("/api/v1/articles/{slug}");
    let mut reader = b.client();
    for _ in 0..2 {
        assert_eq!(title(&reader.get(&path).unwrap()), "Cut off");
    }

    proxy.cut(Cut::Refuse);
    patch(&mut admin, id, json!({"title": "Changed while B was cut off"}));
    let written = Instant::now();
    // B cannot reach the database: past the bound it answers 503, never
    // the page it kept.
    watch(&mut reader, &path, written, Duration::from_secs(3), |r| {
        r.status == 200 && title(r) == "Cut off"
    });
    let metrics = reader.get("/metrics").unwrap().text();
    assert!(
        metrics.contains("broadsheet_change_log_in_sync 0"),
        "the lost log shows in /metrics:\n{metrics}"
    );

    proxy.restore();
    let back = Instant::now();
    loop {
        let reply = reader.get(&path).unwrap();
        if reply.status == 200 {
            assert_eq!(title(&reply), "Changed while B was cut off");
            break;
        }
        assert!(
            back.elapsed() < Duration::from_secs(20),
            "B did not recover:\n{}",
            b.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let log = b.log();
    assert!(log.contains("change log unreadable"), "the log says so:\n{log}");
    // Once back, B caches again.
    let deadline = Instant::now() + Duration::from_secs(10);
    while !reader
        .get("/metrics")
        .unwrap()
        .text()
        .contains("broadsheet_change_log_in_sync 1")
    {
        assert!(Instant::now() < deadline, "B never read the log again");
        std::thread::sleep(Duration::from_millis(100));
    }
}
