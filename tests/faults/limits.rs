//! Rate limits shared through Redis (`REDIS_URL`): two real instances on
//! one database and one Redis give a client the limit once, and when Redis
//! cannot answer, shares fail open (counted in the instance) and sign-in
//! fails closed (`503`), bounded by `REDIS_TIMEOUT_MS`, logged and counted.
//!
//! Needs Redis at `TEST_REDIS_URL` (`redis://127.0.0.1:6379`); without one
//! the tests print `SKIPPED (no Redis)` and pass, unless `REQUIRE_REDIS=1`
//! (`.ci/run` sets it), where they fail. Every test has its own key prefix,
//! so parallel runs never share a count.

use std::net::TcpListener;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::support::{ADMIN_EMAIL, Backend, Client, Reply, Server, TestEnv, create_article};

/// The Redis to use, or `None` (announced) when there is none and none is required.
fn redis_url() -> Option<String> {
    let url = std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let addr = url
        .trim_start_matches("redis://")
        .split('/')
        .next()
        .unwrap_or("")
        .to_string();
    let reachable = std::net::ToSocketAddrs::to_socket_addrs(&addr)
        .ok()
        .and_then(|mut a| a.next())
        .is_some_and(|a| std::net::TcpStream::connect_timeout(&a, Duration::from_secs(2)).is_ok());
    if reachable {
        return Some(url);
    }
    assert!(
        std::env::var("REQUIRE_REDIS").as_deref() != Ok("1"),
        "REQUIRE_REDIS=1 but no Redis answers at {url}"
    );
    eprintln!("SKIPPED (no Redis at {url})");
    None
}

/// A key prefix no other test run uses.
fn unique_prefix(test: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("broadsheet-test:{test}:{}:{nanos}:", std::process::id())
}

/// `"share";r=2;t=30` → 2.
fn remaining(reply: &Reply) -> u32 {
    let header = reply
        .header("ratelimit")
        .unwrap_or_else(|| panic!("no RateLimit: {}", reply.text()));
    header
        .split(';')
        .find_map(|p| p.strip_prefix("r="))
        .and_then(|r| r.parse().ok())
        .unwrap_or_else(|| panic!("RateLimit without r=: {header}"))
}

fn share(client: &mut Client, slug: &str) -> Reply {
    client
        .post(
            &format!("/api/v1/articles/{slug}/shares"),
            &json!({"channel": "other"}),
        )
        .expect("share")
}

fn wrong_login(client: &mut Client) -> Reply {
    client
        .post(
            "/api/v1/auth/login",
            &json!({"email": ADMIN_EMAIL, "password": "not the password"}),
        )
        .expect("login")
}

fn shared_limits_hold_once_across_instances(backend: Backend) {
    let Some(redis) = redis_url() else { return };
    let Some(env) = TestEnv::new(backend) else { return };
    let prefix = unique_prefix("once");
    let settings = [
        ("REDIS_URL", redis.as_str()),
        ("REDIS_KEY_PREFIX", prefix.as_str()),
        ("RATE_LIMIT_SHARES_PER_MINUTE", "4"),
        ("RATE_LIMIT_LOGIN_PER_MINUTE", "3"),
    ];
    let a = env.start(&settings);
    let b = env.start(&settings);
    // The admin's sign-in (on A) is the first of the address's 3.
    let slug = create_article(&mut a.admin(), "Counted once", &[])["slug"]
        .as_str()
        .unwrap()
        .to_string();
    let mut clients = [a.client(), b.client()];

    // Alternating A, B, A, B: one count, the quota of 4 spent once.
    for (i, expected_left) in [3, 2, 1, 0].into_iter().enumerate() {
        let reply = share(&mut clients[i % 2], &slug);
        assert_eq!(reply.status, 202, "share {i}: {}", reply.text());
        assert_eq!(remaining(&reply), expected_left, "share {i}");
        assert_eq!(reply.header("ratelimit-policy"), Some("\"share\";q=4;w=60"));
    }
    for client in &mut clients {
        let refused = share(client, &slug);
        assert_eq!(refused.status, 429, "{}", refused.text());
        assert_eq!(remaining(&refused), 0);
        let wait: u64 = refused
            .header("retry-after")
            .expect("Retry-After")
            .parse()
            .unwrap();
        assert!((1..=15).contains(&wait), "Retry-After {wait}");
    }

    // Sign-in: 2 left after the admin's; B then A get them, then both refuse.
    assert_eq!(wrong_login(&mut clients[1]).status, 401);
    assert_eq!(wrong_login(&mut clients[0]).status, 401);
    for client in &mut clients {
        let refused = wrong_login(client);
        assert_eq!(refused.status, 429, "{}", refused.text());
    }
}

/// A port that accepts connections and never answers (the listener is
/// never accepted from): a Redis that hangs. Kept open by the caller.
fn black_hole() -> (TcpListener, String) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("redis://{}", listener.local_addr().unwrap());
    (listener, url)
}

/// A port nothing listens on.
fn closed_port() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("redis://{}", listener.local_addr().unwrap());
    drop(listener);
    url
}

/// Shares fail open, still limited by the instance; sign-in fails closed.
fn check_outage_rules(server: &Server, slug: &str, token: &str) {
    let mut client = server.client();
    let read = client.get(&format!("/api/v1/articles/{slug}")).expect("read");
    assert_eq!(read.status, 200, "{}", read.text());
    for i in 0..2 {
        let reply = share(&mut client, slug);
        assert_eq!(reply.status, 202, "share {i} with Redis out: {}", reply.text());
    }
    let third = share(&mut client, slug);
    assert_eq!(
        third.status,
        429,
        "the instance's own count still limits: {}",
        third.text()
    );

    let began = Instant::now();
    let login = wrong_login(&mut client);
    let took = began.elapsed();
    assert_eq!(login.status, 503, "sign-in with Redis out: {}", login.text());
    assert_eq!(login.json()["code"], "unavailable");
    assert!(
        took < Duration::from_secs(3),
        "sign-in took {took:?} with REDIS_TIMEOUT_MS=300"
    );
    // A signed-in editor's routes do not depend on it.
    let mut admin = server.client().with_token(token);
    assert_eq!(admin.get("/api/v1/admin/articles").unwrap().status, 200);

    let metrics = client.get("/metrics").expect("metrics").text();
    let count = |outcome: &str, policy: &str| -> f64 {
        metrics
            .lines()
            .filter(|l| l.starts_with("broadsheet_rate_limit_store_failures_total"))
            .filter(|l| {
                l.contains(&format!("outcome=\"{outcome}\"")) && l.contains(&format!("policy=\"{policy}\""))
            })
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum()
    };
    assert_eq!(count("local", "share"), 3.0, "{metrics}");
    assert_eq!(count("refused", "login"), 1.0, "{metrics}");
    let log = server.log();
    assert!(
        log.contains("rate-limit store unavailable"),
        "no log line:\n{log}"
    );
}

fn unreachable_store_fails_open_for_shares_and_closed_for_sign_in(backend: Backend) {
    let Some(env) = TestEnv::new(backend) else { return };
    // An instance without Redis signs the admin in and writes the article.
    let plain = env.start(&[]);
    let mut admin = plain.admin();
    let token = admin.token.clone().expect("token");
    let slug = create_article(&mut admin, "Outage rules", &[])["slug"]
        .as_str()
        .unwrap()
        .to_string();
    let (_hole, hanging) = black_hole();
    for url in [closed_port(), hanging] {
        let server = env.start(&[
            ("REDIS_URL", url.as_str()),
            ("REDIS_TIMEOUT_MS", "300"),
            ("RATE_LIMIT_SHARES_PER_MINUTE", "2"),
            ("RATE_LIMIT_LOGIN_PER_MINUTE", "5"),
        ]);
        check_outage_rules(&server, &slug, &token);
    }
}

crate::fault_tests!(
    shared_limits_hold_once_across_instances,
    unreachable_store_fails_open_for_shares_and_closed_for_sign_in
);
