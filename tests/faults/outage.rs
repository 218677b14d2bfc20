//! A PostgreSQL outage, simulated with a proxy between the server and the
//! database (the real PostgreSQL keeps running for everyone else). Under
//! load the proxy is cut three ways (refused, blackholed, stalled; see
//! `support::proxy`) and restored. While it is cut, every request that needs
//! the database gets `503` problem+json `code: unavailable` — within the
//! database call deadline, never a hang, never a dropped connection — and
//! `/readyz` is `503`. Once it is restored the same server process serves
//! reads and writes again by itself.
//!
//! SQLite has no outage to simulate: the database is a file in the
//! process, with no connection that can be cut.

use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::support::proxy::{Cut, Proxy};
use crate::support::{Backend, Client, HttpError, Reply, TestEnv, create_article};

/// `DB_TIMEOUT_SECONDS` for this test. The server's deadline for one
/// database call is twice that plus a second (checkout, then statement).
const TIMEOUT_SECS: u64 = 1;
const CALL_DEADLINE_SECS: u64 = 2 * TIMEOUT_SECS + 1;
/// How long after sending its request a client may wait for the `503`:
/// the call deadline plus slack for a loaded machine.
const ANSWER_BOUND: Duration = Duration::from_secs(CALL_DEADLINE_SECS + 2);
/// Two call deadlines and a second: even when every request waits out the
/// whole deadline (a stalled database), each client's request in flight at
/// the cut ends within one deadline and its next one within the second, so
/// every client has a request that starts and ends inside the cut. (With 4 s,
/// a stalled cut once counted only 3 such requests on a loaded CI machine.)
const CUT_FOR: Duration = Duration::from_secs(2 * CALL_DEADLINE_SECS + 1);
/// Clients looping over [`mixed_request`] on keep-alive connections.
const LOAD_CLIENTS: usize = 6;

struct Sample {
    started: Instant,
    elapsed: Duration,
    what: &'static str,
    result: Result<Reply, String>,
}

#[test]
fn postgres_outage_answers_503_quickly_and_recovers() {
    let Some(env) = TestEnv::new(Backend::Postgres) else {
        return;
    };
    let (upstream, proxied_url) = through_proxy(env.url());
    let proxy = Proxy::start(upstream);
    let proxied_url = proxied_url(proxy.addr);
    let server = env.start_on(
        &proxied_url,
        &[
            ("DB_TIMEOUT_SECONDS", "1"),
            ("DB_POOL_SIZE", "4"),
            // Every request below must reach the database.
            ("RESPONSE_CACHE_BYTES", "0"),
        ],
    );
    let mut admin = server.admin();
    let token = admin.token.clone().expect("token");
    let slug = create_article(&mut admin, "Outage target", &["Outages"])["slug"]
        .as_str()
        .expect("slug")
        .to_string();

    for cut in [Cut::Refuse, Cut::Blackhole, Cut::Stall] {
        let samples = Arc::new(Mutex::new(Vec::<Sample>::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let threads: Vec<_> = (0..LOAD_CLIENTS)
            .map(|t| {
                let mut client = server.client().with_token(&token);
                let (samples, stop, slug) = (samples.clone(), stop.clone(), slug.clone());
                std::thread::spawn(move || {
                    let mut i = t;
                    while !stop.load(Ordering::SeqCst) {
                        let sample = mixed_request(&mut client, &slug, i);
                        samples.lock().unwrap().push(sample);
                        i += 1;
                    }
                })
            })
            .collect();

        std::thread::sleep(Duration::from_millis(500));
        let cut_at = Instant::now();
        proxy.cut(cut);
        std::thread::sleep(CUT_FOR);
        // While cut, the readiness probe says so (to a fresh client too).
        let ready = timed("readyz", || server.client().get("/readyz"));
        assert_unavailable(&ready, cut);
        let restored_at = Instant::now();
        proxy.restore();

        // Recovers by itself: /readyz turns 200 without a restart.
        let recovered = poll_ready(&server, Duration::from_secs(20)).unwrap_or_else(|| {
            panic!(
                "{cut:?}: /readyz not 200 within 20 s of the restore\n{}",
                server.log()
            )
        });
        stop.store(true, Ordering::SeqCst);
        for t in threads {
            t.join().expect("load thread");
        }
        let samples = Arc::try_unwrap(samples)
            .ok()
            .expect("joined")
            .into_inner()
            .unwrap();

        // Every answer, before, during and after: a 2xx or a 503 problem,
        // on time, over a connection that stayed usable.
        let mut slowest_503 = (Duration::ZERO, "none");
        for s in &samples {
            match &s.result {
                Err(e) => panic!("{cut:?}: {} got no HTTP answer: {e}", s.what),
                Ok(r) if r.is_success() => {}
                Ok(r) if r.is_unavailable_problem() => slowest_503 = slowest_503.max((s.elapsed, s.what)),
                Ok(r) => panic!("{cut:?}: {} answered {}: {}", s.what, r.status, r.text()),
            }
            assert!(
                s.elapsed <= ANSWER_BOUND,
                "{cut:?}: {} took {:?} (bound {ANSWER_BOUND:?})",
                s.what,
                s.elapsed
            );
        }
        // Requests sent and answered while the database was cut off: all
        // 503, and there were enough of them to mean something.
        let during: Vec<&Sample> = samples
            .iter()
            .filter(|s| {
                s.started >= cut_at + Duration::from_millis(100) && s.started + s.elapsed <= restored_at
            })
            .collect();
        assert!(
            during.len() >= 4,
            "{cut:?}: only {} requests during the cut",
            during.len()
        );
        for s in &during {
            assert_unavailable(s, cut);
        }

        // Reads and writes work again, on the same process.
        let mut client = server.client().with_token(&token);
        for i in 0..10 {
            let s = mixed_request(&mut client, &slug, i);
            let r = s
                .result
                .as_ref()
                .unwrap_or_else(|e| panic!("{cut:?}: after recovery {}: {e}", s.what));
            assert!(
                r.is_success(),
                "{cut:?}: after recovery {} answered {}: {}",
                s.what,
                r.status,
                r.text()
            );
        }
        eprintln!(
            "outage {cut:?}: {} requests, {} during the cut, slowest 503 {:?} ({}), /readyz 200 again {:?} after the restore",
            samples.len(),
            during.len(),
            slowest_503.0,
            slowest_503.1,
            recovered
        );
    }
}

/// One of five requests, by `i`: writes (share, comment), a public read, an
/// editor read, the readiness probe.
fn mixed_request(client: &mut Client, slug: &str, i: usize) -> Sample {
    match i % 5 {
        0 => timed("share", || {
            client.post(
                &format!("/api/v1/articles/{slug}/shares"),
                &json!({"channel": "email"}),
            )
        }),
        1 => timed("comment", || {
            client.post(
                &format!("/api/v1/articles/{slug}/comments"),
                &json!({"author_name": "Reader", "author_email": "r@example.com", "body": format!("Comment {i}.")}),
            )
        }),
        2 => timed("article", || client.get(&format!("/api/v1/articles/{slug}"))),
        3 => timed("admin comments", || {
            client.get("/api/v1/admin/comments?per_page=5")
        }),
        _ => timed("readyz", || client.get("/readyz")),
    }
}

fn timed(what: &'static str, f: impl FnOnce() -> Result<Reply, HttpError>) -> Sample {
    let started = Instant::now();
    let result = f().map_err(|e| e.to_string());
    Sample {
        started,
        elapsed: started.elapsed(),
        what,
        result,
    }
}

fn assert_unavailable(s: &Sample, cut: Cut) {
    match &s.result {
        Ok(r) => {
            assert!(
                r.is_unavailable_problem(),
                "{cut:?}: {} during the cut answered {}: {}",
                s.what,
                r.status,
                r.text()
            );
            assert!(
                r.header("retry-after").is_some(),
                "{cut:?}: 503 without Retry-After"
            );
        }
        Err(e) => panic!("{cut:?}: {} during the cut got no answer: {e}", s.what),
    }
    assert!(
        s.elapsed <= ANSWER_BOUND,
        "{cut:?}: {} took {:?}",
        s.what,
        s.elapsed
    );
}

fn poll_ready(server: &crate::support::Server, limit: Duration) -> Option<Duration> {
    let start = Instant::now();
    while start.elapsed() < limit {
        if server.client().get("/readyz").is_ok_and(|r| r.status == 200) {
            return Some(start.elapsed());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    None
}

/// The PostgreSQL address of `url`, and a function giving `url` with that
/// address replaced by another (the proxy's).
pub(crate) fn through_proxy(url: &str) -> (SocketAddr, impl Fn(SocketAddr) -> String + use<>) {
    let (scheme, rest) = url.split_once("://").expect("scheme");
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let (user, host_port) = match authority.rsplit_once('@') {
        Some((user, host)) => (format!("{user}@"), host),
        None => (String::new(), authority),
    };
    let host_port = if host_port.contains(':') {
        host_port.to_string()
    } else {
        format!("{host_port}:5432")
    };
    let upstream = host_port
        .to_socket_addrs()
        .expect("resolve PostgreSQL host")
        .next()
        .expect("an address");
    let (scheme, tail) = (scheme.to_string(), tail.to_string());
    (upstream, move |proxy: SocketAddr| {
        format!("{scheme}://{user}{proxy}{tail}")
    })
}
