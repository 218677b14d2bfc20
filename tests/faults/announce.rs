//! Scheduled publication with several instances: every instance's change
//! follower looks for articles whose `published_at` has passed, and each
//! such article gets exactly one `published` change in the log (and so one
//! entry in the sync feed, one webhook), whichever instance claims it.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::support::{Backend, Sql, TestEnv};

const ARTICLES: usize = 12;

fn two_instances_announce_each_scheduled_article_once(backend: Backend) {
    let Some(env) = TestEnv::new(backend) else {
        return;
    };
    let a = env.start(&[]);
    let b = env.start(&[]);
    let mut admin = a.admin();
    let head = b.client().get("/api/v1/changes").unwrap().json()["meta"]["next_cursor"]
        .as_str()
        .unwrap()
        .to_string();
    // All due in the same second, so both followers find them at once.
    let at = chrono::Utc::now() + chrono::TimeDelta::seconds(2);
    let mut ids = Vec::new();
    for i in 0..ARTICLES {
        let reply = admin
            .post(
                "/api/v1/admin/articles",
                &json!({"title": format!("Due {i}"), "body_markdown": "x", "status": "published", "published_at": at.to_rfc3339()}),
            )
            .unwrap();
        assert_eq!(reply.status, 201, "{}", reply.text());
        ids.push(reply.json()["id"].as_i64().unwrap());
    }
    let mut sql = Sql::open(env.url());
    let published = |sql: &mut Sql| {
        sql.scalar(
            "SELECT COUNT(*) AS n FROM changes WHERE entity = 'article' AND action = 'published' AND public",
        )
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while (published(&mut sql) as usize) < ARTICLES {
        assert!(Instant::now() < deadline, "not announced 30 s after their time");
        std::thread::sleep(Duration::from_millis(50));
    }
    // Stored times are whole seconds: the article went public at `at`
    // truncated.
    let late = chrono::Utc::now() - chrono::SubsecRound::trunc_subsecs(at, 0);
    eprintln!("{backend:?}: {ARTICLES} articles announced {late} after their time");
    // Both followers have looked several times since.
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(published(&mut sql) as usize, ARTICLES, "each announced once");
    for id in &ids {
        let n = sql.scalar(&format!(
            "SELECT COUNT(*) AS n FROM changes WHERE entity_id = {id} AND action = 'published'"
        ));
        assert_eq!(n, 1, "article {id}");
    }
    // Both instances took part or one did: either way the feed on the
    // other shows each once.
    let mut reader = a.client();
    let mut seen = Vec::new();
    let mut cursor = head;
    let deadline = Instant::now() + Duration::from_secs(30);
    while seen.len() < ARTICLES {
        assert!(Instant::now() < deadline, "the feed shows {seen:?}");
        let page = reader
            .get(&format!("/api/v1/changes?since={cursor}&per_page=100"))
            .unwrap()
            .json();
        for e in page["data"].as_array().unwrap() {
            assert_eq!(e["action"], "published");
            seen.push(e["id"].as_i64().unwrap());
        }
        cursor = page["meta"]["next_cursor"].as_str().unwrap().to_string();
        std::thread::sleep(Duration::from_millis(50));
    }
    seen.sort_unstable();
    assert_eq!(seen, ids);
}

#[test]
fn two_instances_announce_each_scheduled_article_once_sqlite() {
    two_instances_announce_each_scheduled_article_once(Backend::Sqlite);
}

#[test]
fn two_instances_announce_each_scheduled_article_once_postgres() {
    two_instances_announce_each_scheduled_article_once(Backend::Postgres);
}
