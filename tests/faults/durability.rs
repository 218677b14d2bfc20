//! Durability under `kill -9`: several clients write articles (with tags),
//! comments and shares as fast as the server takes them; the server is
//! killed mid-stream and started again on the same database. Every write
//! that was acknowledged with a `2xx` must be there, exactly as
//! acknowledged, and nothing may be half-written: every article has all its
//! tags, and every counter equals the rows it counts.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::fault_tests;
use crate::support::{Backend, Server, Sql, TestEnv, create_article};

fault_tests!(acknowledged_writes_survive_kill_9);

const CHANNELS: [&str; 4] = ["email", "x", "whatsapp", "copy_link"];

#[derive(Default)]
struct Acked {
    /// The create responses.
    articles: Vec<Value>,
    /// `(comment, slug of its article)`.
    comments: Vec<(Value, String)>,
    /// Acknowledged presses per slug, and the highest total a `202` showed.
    shares: HashMap<String, (i64, i64)>,
    /// Answers that were neither a `2xx` nor a broken connection after the
    /// kill: failures of their own.
    unexpected: Vec<String>,
}

fn acknowledged_writes_survive_kill_9(backend: Backend) {
    let Some(env) = TestEnv::new(backend) else { return };
    let mut server = env.start(&[]);
    let mut admin = server.admin();
    let token = admin.token.clone().expect("token");
    let targets: Vec<String> = (0..3)
        .map(|i| {
            create_article(&mut admin, &format!("Target {i}"), &["Targets"])["slug"]
                .as_str()
                .expect("slug")
                .to_string()
        })
        .collect();

    let acked = Arc::new(Mutex::new(Acked::default()));
    let killed = Arc::new(AtomicBool::new(false));
    let mut threads = Vec::new();
    for writer in 0..2 {
        let mut client = server.client().with_token(&token);
        let (acked, killed) = (acked.clone(), killed.clone());
        threads.push(std::thread::spawn(move || {
            for i in 0.. {
                let body = json!({
                    "title": format!("Durable {writer}-{i}"),
                    "subtitle": format!("Written by writer {writer}"),
                    "body_markdown": format!("Paragraph {i}.\n\n> Quote {writer}.\n\nEnd."),
                    "tags": ["Durability", format!("Writer {writer}"), format!("Batch {}", i % 4)],
                    "status": "published",
                });
                let done = record(
                    &acked,
                    &killed,
                    client.post("/api/v1/admin/articles", &body),
                    201,
                    |a, v| a.articles.push(v),
                );
                if done {
                    break;
                }
            }
        }));
    }
    for writer in 0..2 {
        let mut client = server.client();
        let (acked, killed, targets) = (acked.clone(), killed.clone(), targets.clone());
        threads.push(std::thread::spawn(move || {
            for i in 0.. {
                let slug = targets[i % targets.len()].clone();
                let body = json!({
                    "author_name": format!("Reader {writer}"),
                    "author_email": format!("reader{writer}@example.com"),
                    "body": format!("Comment {i} from reader {writer}."),
                });
                let path = format!("/api/v1/articles/{slug}/comments");
                let done = record(&acked, &killed, client.post(&path, &body), 201, |a, v| {
                    a.comments.push((v, slug))
                });
                if done {
                    break;
                }
            }
        }));
    }
    for writer in 0..3 {
        let mut client = server.client();
        let (acked, killed, targets) = (acked.clone(), killed.clone(), targets.clone());
        threads.push(std::thread::spawn(move || {
            for i in 0.. {
                let slug = targets[(i + writer) % targets.len()].clone();
                let path = format!("/api/v1/articles/{slug}/shares");
                let body = json!({"channel": CHANNELS[i % CHANNELS.len()]});
                let done = record(&acked, &killed, client.post(&path, &body), 202, |a, v| {
                    let entry = a.shares.entry(slug).or_default();
                    entry.0 += 1;
                    entry.1 = entry.1.max(v["total"].as_i64().unwrap_or(0));
                });
                if done {
                    break;
                }
            }
        }));
    }

    // Kill once every kind of write has been acknowledged a good many
    // times, while all of them are still streaming in.
    let started = Instant::now();
    loop {
        let (articles, comments, shares) = {
            let a = acked.lock().unwrap();
            (
                a.articles.len(),
                a.comments.len(),
                a.shares.values().map(|s| s.0).sum::<i64>(),
            )
        };
        if articles >= 15 && comments >= 30 && shares >= 60 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "too few writes acknowledged: {articles} articles, {comments} comments, {shares} shares\n{}",
            server.log()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    killed.store(true, Ordering::SeqCst);
    server.kill9();
    for t in threads {
        t.join().expect("writer thread");
    }
    let acked = Arc::try_unwrap(acked)
        .ok()
        .expect("threads done")
        .into_inner()
        .unwrap();
    assert!(
        acked.unexpected.is_empty(),
        "unexpected answers: {:?}\n{}",
        acked.unexpected,
        server.log()
    );

    let server = env.start(&[]);
    check_articles(&server, &token, &acked.articles);
    check_comments(&server, &token, &acked.comments);
    check_shares(&server, &acked.shares);

    let mut sql = Sql::open(env.url());
    let violations = sql.counter_violations();
    assert!(
        violations.is_empty(),
        "counters disagree with their rows: {violations:?}"
    );
    // Half-written articles, acknowledged or not: every article the writers
    // created has its three tags.
    let partial = sql.scalar(
        "SELECT COUNT(*) AS n FROM articles a WHERE a.title LIKE 'Durable %' AND \
         (SELECT COUNT(*) FROM article_tags t WHERE t.article_id = a.id) <> 3",
    );
    assert_eq!(partial, 0, "articles without all their tags");
    // The change log commits with its write or not at all: every article
    // the writers created (acknowledged or not) has its change row.
    let unlogged = sql.scalar(
        "SELECT COUNT(*) AS n FROM articles a WHERE a.title LIKE 'Durable %' AND NOT EXISTS \
         (SELECT 1 FROM changes c WHERE c.entity = 'article' AND c.entity_id = a.id)",
    );
    assert_eq!(unlogged, 0, "articles whose creation the change log lacks");

    // And the restarted server takes writes again.
    let reply = server
        .client()
        .post(
            &format!("/api/v1/articles/{}/shares", targets[0]),
            &json!({"channel": "other"}),
        )
        .expect("share after restart");
    assert_eq!(reply.status, 202, "{}", reply.text());
}

/// Files one answer; returns true when the writer should stop (the server
/// is gone).
fn record(
    acked: &Mutex<Acked>,
    killed: &AtomicBool,
    result: Result<crate::support::Reply, crate::support::HttpError>,
    expected: u16,
    keep: impl FnOnce(&mut Acked, Value),
) -> bool {
    match result {
        Ok(reply) if reply.status == expected => {
            keep(&mut acked.lock().unwrap(), reply.json());
            false
        }
        // Answered, but not as expected: a failure unless the kill raced it.
        Ok(reply) => {
            if !killed.load(Ordering::SeqCst) {
                let mut a = acked.lock().unwrap();
                a.unexpected.push(format!("{} {}", reply.status, reply.text()));
            }
            true
        }
        Err(e) => {
            if !killed.load(Ordering::SeqCst) {
                acked
                    .lock()
                    .unwrap()
                    .unexpected
                    .push(format!("before the kill: {e}"));
            }
            true
        }
    }
}

fn check_articles(server: &Server, token: &str, articles: &[Value]) {
    let mut client = server.client().with_token(token);
    for created in articles {
        let id = created["id"].as_i64().expect("id");
        let reply = client
            .get(&format!("/api/v1/admin/articles/{id}"))
            .expect("get article");
        assert_eq!(
            reply.status,
            200,
            "acknowledged article {id} is missing: {}",
            reply.text()
        );
        let stored = reply.json();
        assert_eq!(&stored, created, "article {id} differs from what its 201 said");
        let names: Vec<&str> = stored["tags"]
            .as_array()
            .expect("tags")
            .iter()
            .map(|t| t["name"].as_str().unwrap())
            .collect();
        assert_eq!(names.len(), 3, "article {id} tags: {names:?}");
        let slug = stored["slug"].as_str().expect("slug");
        let public = client
            .get(&format!("/api/v1/articles/{slug}"))
            .expect("public article");
        assert_eq!(
            public.status,
            200,
            "published article {slug} not public: {}",
            public.text()
        );
    }
}

fn check_comments(server: &Server, token: &str, comments: &[(Value, String)]) {
    let mut client = server.client().with_token(token);
    for (created, _) in comments {
        let id = created["id"].as_i64().expect("id");
        let reply = client
            .get(&format!("/api/v1/admin/comments/{id}"))
            .expect("get comment");
        assert_eq!(
            reply.status,
            200,
            "acknowledged comment {id} is missing: {}",
            reply.text()
        );
        let stored = reply.json();
        for field in [
            "article_id",
            "author_name",
            "body",
            "body_html",
            "status",
            "created_at",
        ] {
            assert_eq!(stored[field], created[field], "comment {id}: {field}");
        }
        assert_eq!(stored["status"], "approved");
    }
    // The moderation list has them too, and the public thread counts them.
    let listed = client
        .get("/api/v1/admin/comments?per_page=1")
        .expect("admin comments")
        .json();
    let total = listed["meta"]["total"].as_i64().expect("total");
    assert!(
        total >= comments.len() as i64,
        "admin list has {total} comments, {} acknowledged",
        comments.len()
    );
}

fn check_shares(server: &Server, shares: &HashMap<String, (i64, i64)>) {
    let mut client = server.client();
    for (slug, (pressed, highest_total)) in shares {
        let reply = client
            .get(&format!("/api/v1/articles/{slug}/shares"))
            .expect("share counts");
        assert_eq!(reply.status, 200, "{}", reply.text());
        let total = reply.json()["total"].as_i64().expect("total");
        assert!(
            total >= *pressed && total >= *highest_total,
            "{slug}: {total} shares stored, {pressed} acknowledged, a 202 showed {highest_total}"
        );
        let article = client
            .get(&format!("/api/v1/articles/{slug}"))
            .expect("article")
            .json();
        assert_eq!(
            article["share_count"].as_i64(),
            Some(total),
            "{slug}: share_count"
        );
    }
}
