//! Webhook delivery across process failures and instances: a delivery
//! queued in the database survives a kill -9 of the instance that was
//! sending it, and with two instances on one database each event reaches
//! the receiver once (the dispatcher's locked position enqueues it once,
//! the claim sends it once).

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::{Backend, Client, Sql, TestEnv, create_article, free_port};

/// Loopback receivers are allowed here, and retries come every second.
const SETTINGS: [(&str, &str); 2] = [
    ("WEBHOOK_ALLOW_PRIVATE_TARGETS", "true"),
    ("WEBHOOK_RETRY_SCHEDULE", "1,1,1,1,1,1,1,1,1,1"),
];

/// A receiver answering 200 to every POST, keeping `(webhook-id, body)`.
struct Receiver {
    got: Arc<Mutex<Vec<(String, Value)>>>,
    stop: Arc<AtomicBool>,
}

impl Receiver {
    fn start(port: u16) -> Receiver {
        let listener = TcpListener::bind(("127.0.0.1", port)).expect("receiver port");
        listener.set_nonblocking(true).expect("nonblocking");
        let got = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (g, s) = (got.clone(), stop.clone());
        std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        stream.set_nonblocking(false).ok();
                        stream.set_read_timeout(Some(Duration::from_secs(5))).ok();
                        if let Some(message) = read_post(&stream) {
                            g.lock().unwrap().push(message);
                        }
                        let mut stream = stream;
                        let _ = stream.write_all(
                            b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok",
                        );
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        Receiver { got, stop }
    }

    /// The article ids of the `article.published` events received, with
    /// how many times each message id came.
    fn published(&self) -> (Vec<i64>, HashMap<String, usize>) {
        let got = self.got.lock().unwrap();
        let mut ids = Vec::new();
        let mut times = HashMap::new();
        for (id, body) in got.iter() {
            *times.entry(id.clone()).or_insert(0) += 1;
            if body["type"] == "article.published" {
                ids.push(body["data"]["id"].as_i64().expect("article id"));
            }
        }
        (ids, times)
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

fn read_post(stream: &std::net::TcpStream) -> Option<(String, Value)> {
    let mut reader = BufReader::new(stream);
    let (mut length, mut id) = (0usize, String::new());
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).ok()?;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            match name.trim().to_ascii_lowercase().as_str() {
                "content-length" => length = value.trim().parse().ok()?,
                "webhook-id" => id = value.trim().to_string(),
                _ => {}
            }
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some((id, serde_json::from_slice(&body).ok()?))
}

fn subscribe(admin: &mut Client, port: u16) {
    let reply = admin
        .post(
            "/api/v1/admin/webhooks",
            &json!({"url": format!("http://127.0.0.1:{port}/hook"), "events": ["article.published"]}),
        )
        .expect("create webhook");
    assert_eq!(reply.status, 201, "{}", reply.text());
}

fn wait_for(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !done() {
        assert!(Instant::now() < deadline, "{what}: not within {limit:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn a_kill_9_loses_no_queued_delivery(backend: Backend) {
    let Some(env) = TestEnv::new(backend) else {
        return;
    };
    let port = free_port(); // nothing listens yet: the receiver is down
    let mut a = env.start(&SETTINGS);
    let mut admin = a.admin();
    subscribe(&mut admin, port);
    let ids: Vec<i64> = (0..5)
        .map(|i| {
            create_article(&mut admin, &format!("Queued {i}"), &[])["id"]
                .as_i64()
                .unwrap()
        })
        .collect();
    let mut sql = Sql::open(env.url());
    wait_for(
        "five deliveries queued and tried",
        Duration::from_secs(30),
        || sql.scalar("SELECT COUNT(*) AS n FROM webhook_deliveries WHERE attempts > 0") >= 5,
    );
    assert_eq!(
        sql.scalar("SELECT COUNT(*) AS n FROM webhook_deliveries WHERE status = 'delivered'"),
        0,
        "nothing can have been delivered to a closed port"
    );
    a.kill9();
    let receiver = Receiver::start(port);
    let _b = env.start(&SETTINGS);
    // A delivery the killed instance had claimed waits out its lease (30 s).
    wait_for(
        "every queued event delivered after the restart",
        Duration::from_secs(90),
        || {
            let (mut got, _) = receiver.published();
            got.sort_unstable();
            got.dedup();
            got == ids
        },
    );
}

fn two_instances_deliver_each_event_once(backend: Backend) {
    let Some(env) = TestEnv::new(backend) else {
        return;
    };
    let port = free_port();
    let receiver = Receiver::start(port);
    let a = env.start(&SETTINGS);
    let b = env.start(&SETTINGS);
    let mut admins = [a.admin(), b.admin()];
    subscribe(&mut admins[0], port);
    let mut ids = Vec::new();
    for i in 0..20 {
        let article = create_article(&mut admins[i % 2], &format!("Twice served {i}"), &[]);
        ids.push(article["id"].as_i64().unwrap());
    }
    ids.sort_unstable();
    wait_for("twenty events received", Duration::from_secs(30), || {
        receiver.published().0.len() >= 20
    });
    // Both dispatchers and both senders have polled many times since.
    std::thread::sleep(Duration::from_secs(2));
    let (mut got, times) = receiver.published();
    got.sort_unstable();
    assert_eq!(got, ids, "each article's event exactly once");
    assert!(times.values().all(|n| *n == 1), "a message sent twice: {times:?}");
}

#[test]
fn a_kill_9_loses_no_queued_delivery_sqlite() {
    a_kill_9_loses_no_queued_delivery(Backend::Sqlite);
}

#[test]
fn a_kill_9_loses_no_queued_delivery_postgres() {
    a_kill_9_loses_no_queued_delivery(Backend::Postgres);
}

#[test]
fn two_instances_deliver_each_event_once_sqlite() {
    two_instances_deliver_each_event_once(Backend::Sqlite);
}

#[test]
fn two_instances_deliver_each_event_once_postgres() {
    two_instances_deliver_each_event_once(Backend::Postgres);
}
