//! `broadsheet backup PATH` (SQLite): a copy taken while the server runs and
//! share presses keep committing is a consistent database: restored (a
//! server started on the copy) it serves the articles written before, and
//! every counter in it matches the rows it counts. Quiet when its output is
//! not a terminal; never overwrites; refuses PostgreSQL with a pointer to
//! pg_dump.

use std::process::{Command, Output};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::json;

use crate::support::{Backend, Sql, TestEnv, base_vars, create_article};

fn run_backup(database_url: &str, target: &std::path::Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_broadsheet"))
        .arg("backup")
        .arg(target)
        .env_clear()
        .envs(base_vars(database_url))
        .output()
        .expect("run broadsheet backup")
}

#[test]
fn a_backup_taken_while_writing_restores_consistent() {
    let env = TestEnv::new(Backend::Sqlite).expect("SQLite");
    let server = env.start(&[]);
    let mut admin = server.admin();
    let slugs: Vec<String> = (0..3)
        .map(|i| {
            create_article(&mut admin, &format!("Backed up {i}"), &["kept"])["slug"]
                .as_str()
                .unwrap()
                .into()
        })
        .collect();

    // Share presses commit all through the backup.
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (stop, mut client, slug) = (stop.clone(), server.client(), slugs[0].clone());
        std::thread::spawn(move || {
            let mut pressed = 0;
            while !stop.load(Ordering::Relaxed) {
                let reply = client
                    .post(
                        &format!("/api/v1/articles/{slug}/shares"),
                        &json!({"channel": "other"}),
                    )
                    .expect("share");
                assert_eq!(reply.status, 202, "{}", reply.text());
                pressed += 1;
            }
            pressed
        })
    };
    std::thread::sleep(std::time::Duration::from_millis(200));
    let target = env.dir.path().join("copy.db");
    let out = run_backup(env.url(), &target);
    stop.store(true, Ordering::Relaxed);
    let pressed = writer.join().expect("writer");
    assert!(
        out.status.success(),
        "backup failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stdout.is_empty() && out.stderr.is_empty(),
        "not quiet when piped: {out:?}"
    );
    assert!(pressed > 0);

    // The copy is a whole database: its counters match its rows.
    let copy_url = format!("sqlite://{}", target.display());
    assert_eq!(Sql::open(&copy_url).counter_violations(), Vec::<String>::new());
    // Restored: a server on the copy serves what was written before.
    let restored = env.start_on(&copy_url, &[]);
    let mut reader = restored.client();
    for (i, slug) in slugs.iter().enumerate() {
        let reply = reader.get(&format!("/api/v1/articles/{slug}")).unwrap();
        assert_eq!(reply.status, 200, "{}", reply.text());
        assert_eq!(reply.json()["title"], format!("Backed up {i}"));
    }
    let shares = reader
        .get(&format!("/api/v1/articles/{}/shares", slugs[0]))
        .unwrap()
        .json();
    let total = shares["total"].as_i64().expect("total");
    assert!(
        (1..=pressed).contains(&total),
        "{total} of {pressed} presses in the copy"
    );

    // Never over an existing file.
    let again = run_backup(env.url(), &target);
    assert!(!again.status.success());
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("exists"),
        "{again:?}"
    );
}

#[test]
fn backup_of_postgres_points_to_pg_dump() {
    let Some(env) = TestEnv::new(Backend::Postgres) else {
        return;
    };
    let out = run_backup(env.url(), &env.dir.path().join("nope.db"));
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("pg_dump"),
        "{out:?}"
    );
}
