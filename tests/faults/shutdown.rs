//! Graceful shutdown: SIGTERM (and SIGINT, Ctrl-C) under load. Keep-alive clients are reading and
//! writing, and slow clients are half-way through sending their request
//! bodies. Every request the server has started must get its full answer
//! (no reset, no cut-off reply), the process must exit 0 within
//! `SHUTDOWN_GRACE_SECONDS`, and every acknowledged write must be there
//! after a restart.
//!
//! A keep-alive connection is drained: after its current response the
//! server closes it, and a request that arrives on it after the signal is
//! not started (the connection closes without a byte of answer, the usual
//! HTTP signal that the request may be retried). The test allows exactly
//! that, and proves those requests were not carried out: the stored shares
//! and comments equal the acknowledged ones, no more.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::fault_tests;
use crate::support::{Backend, CLIENT_TIMEOUT, Conn, HttpError, Sql, TestEnv, create_article};

fault_tests!(
    sigterm_lets_in_flight_requests_finish,
    sigint_lets_in_flight_requests_finish
);

const GRACE: Duration = Duration::from_secs(10);
const FAST_CLIENTS: usize = 8;
const SLOW_CLIENTS: usize = 3;
/// A slow client sends its body in this many pieces, one every `SLOW_PAUSE`.
const SLOW_PIECES: usize = 10;
const SLOW_PAUSE: Duration = Duration::from_millis(200);

#[derive(Default)]
struct Outcome {
    requests: usize,
    failures: Vec<String>,
    /// Acknowledged comment ids.
    comments: Vec<i64>,
    /// Acknowledged share presses per slug.
    shares: HashMap<String, i64>,
    /// Requests the server closed the connection on without starting them:
    /// what, and the body a comment would have had.
    not_started: Vec<(&'static str, String)>,
}

fn sigterm_lets_in_flight_requests_finish(backend: Backend) {
    graceful_stop(backend, "TERM");
}

/// actix-server's own handler stops at once on SIGINT; the server handles
/// both signals itself.
fn sigint_lets_in_flight_requests_finish(backend: Backend) {
    graceful_stop(backend, "INT");
}

fn graceful_stop(backend: Backend, signal: &str) {
    let Some(env) = TestEnv::new(backend) else { return };
    let grace = GRACE.as_secs().to_string();
    let mut server = env.start(&[("SHUTDOWN_GRACE_SECONDS", &grace)]);
    let mut admin = server.admin();
    let token = admin.token.clone().expect("token");
    let slugs: Vec<String> = (0..2)
        .map(|i| {
            create_article(&mut admin, &format!("Shutdown {i}"), &["Shutdowns"])["slug"]
                .as_str()
                .expect("slug")
                .to_string()
        })
        .collect();
    admin.close();

    let outcome = Arc::new(Mutex::new(Outcome::default()));
    let stop = Arc::new(AtomicBool::new(false));
    let mut fast = Vec::new();
    for t in 0..FAST_CLIENTS {
        let mut client = server.client().with_token(&token);
        let (outcome, stop, slugs) = (outcome.clone(), stop.clone(), slugs.clone());
        fast.push(std::thread::spawn(move || {
            let mut i = t;
            while !stop.load(Ordering::SeqCst) {
                let slug = &slugs[i % slugs.len()];
                let (what, result) = match i % 5 {
                    0 => ("share", client.post(&format!("/api/v1/articles/{slug}/shares"), &json!({"channel": "x"}))),
                    1 => (
                        "comment",
                        client.post(
                            &format!("/api/v1/articles/{slug}/comments"),
                            &json!({"author_name": "Fast", "author_email": "fast@example.com", "body": format!("Fast {t}-{i}.")}),
                        ),
                    ),
                    2 => ("article", client.get(&format!("/api/v1/articles/{slug}"))),
                    3 => ("list", client.get("/api/v1/articles?per_page=5")),
                    _ => ("admin list", client.get("/api/v1/admin/articles?per_page=5")),
                };
                let body = format!("Fast {t}-{i}.");
                let mut o = outcome.lock().unwrap();
                o.requests += 1;
                match result {
                    Ok(r) if r.is_success() => match what {
                        "share" => *o.shares.entry(slug.clone()).or_default() += 1,
                        "comment" => o.comments.push(r.json()["id"].as_i64().expect("id")),
                        _ => {}
                    },
                    Ok(r) => o.failures.push(format!("{what}: {} {}", r.status, r.text())),
                    // Draining: the connection is closed cleanly, without a
                    // byte, instead of starting a request that arrived after
                    // the signal. Allowed then only, and such a request must
                    // not have been carried out (checked after the restart).
                    Err(HttpError::Closed { received: 0 }) if stop.load(Ordering::SeqCst) => {
                        o.not_started.push((what, body));
                    }
                    Err(e) => o.failures.push(format!("{what}: {e}")),
                }
                i += 1;
            }
            // Leaving closes the keep-alive connection.
        }));
    }
    std::thread::sleep(Duration::from_millis(800));

    // Slow clients: about two seconds to send one comment each.
    let slow: Vec<_> = (0..SLOW_CLIENTS)
        .map(|t| {
            let addr = server.addr;
            let slug = slugs[0].clone();
            std::thread::spawn(move || {
                let body = serde_json::to_vec(&json!({
                    "author_name": "Slow reader",
                    "author_email": "slow@example.com",
                    "body": format!("A slow comment {t}: {}", "words ".repeat(30)),
                }))
                .expect("json");
                let mut conn = Conn::open(addr, CLIENT_TIMEOUT).map_err(|e| e.to_string())?;
                let reply = conn
                    .send_paced(
                        "POST",
                        &format!("/api/v1/articles/{slug}/comments"),
                        &[("content-type", "application/json")],
                        &body,
                        SLOW_PIECES,
                        SLOW_PAUSE,
                    )
                    .map_err(|e| e.to_string())?;
                Ok::<_, String>((reply, Instant::now()))
            })
        })
        .collect();
    std::thread::sleep(SLOW_PAUSE * 3);

    // No request is sent after this point; every one sent before must finish.
    stop.store(true, Ordering::SeqCst);
    let signalled_at = Instant::now();
    server.signal(signal);
    for t in fast {
        t.join().expect("fast client");
    }
    let mut slow_comments = Vec::new();
    for t in slow {
        let (reply, done_at) = t
            .join()
            .expect("slow client")
            .unwrap_or_else(|e| panic!("slow request failed: {e}"));
        assert_eq!(reply.status, 201, "slow request: {}", reply.text());
        assert!(
            done_at > signalled_at,
            "the slow request was not in flight at the signal"
        );
        slow_comments.push(reply.json());
    }
    let status = server.wait_exit(GRACE + Duration::from_secs(20));
    let stopped_after = signalled_at.elapsed();
    let status = status.unwrap_or_else(|| panic!("still running {stopped_after:?} after the signal"));
    assert!(status.success(), "exit status {status:?}\n{}", server.log());
    assert!(
        stopped_after < GRACE,
        "exited {stopped_after:?} after the signal; grace is {GRACE:?}"
    );

    let outcome = Arc::try_unwrap(outcome)
        .ok()
        .expect("joined")
        .into_inner()
        .unwrap();
    assert!(
        outcome.failures.is_empty(),
        "{} of {} requests failed: {:?}",
        outcome.failures.len(),
        outcome.requests,
        outcome.failures
    );
    assert!(
        outcome.requests >= 50,
        "only {} requests before the signal",
        outcome.requests
    );
    eprintln!(
        "SIG{signal} ({backend:?}): {} fast requests answered, {} closed unstarted while draining, \
         {SLOW_CLIENTS} slow ones answered; exit 0 {stopped_after:?} after the signal",
        outcome.requests - outcome.not_started.len(),
        outcome.not_started.len()
    );

    // Acknowledged writes are there after a restart, and nothing else:
    // the requests closed unstarted were not carried out.
    let server = env.start(&[]);
    let mut client = server.client().with_token(&token);
    let slow_ids = slow_comments
        .iter()
        .map(|c: &Value| c["id"].as_i64().expect("id"));
    for id in outcome.comments.iter().copied().chain(slow_ids) {
        let r = client
            .get(&format!("/api/v1/admin/comments/{id}"))
            .expect("comment");
        assert_eq!(r.status, 200, "acknowledged comment {id} missing: {}", r.text());
    }
    let mut sql = Sql::open(env.url());
    let fast_comments = sql.scalar("SELECT COUNT(*) AS n FROM comments WHERE author_name = 'Fast'");
    assert_eq!(
        fast_comments,
        outcome.comments.len() as i64,
        "stored comments of the fast clients vs acknowledged; not started: {:?}",
        outcome.not_started
    );
    for slug in &slugs {
        let pressed = outcome.shares.get(slug).copied().unwrap_or(0);
        let total = client
            .get(&format!("/api/v1/articles/{slug}/shares"))
            .expect("counts")
            .json()["total"]
            .as_i64()
            .expect("total");
        assert_eq!(
            total, pressed,
            "{slug}: shares stored vs acknowledged; not started: {:?}",
            outcome.not_started
        );
    }
    let violations = sql.counter_violations();
    assert!(violations.is_empty(), "{violations:?}");
}
