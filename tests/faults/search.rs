//! The search index beside the database (`SEARCH_INDEX_DIR`) under faults:
//! killed with SIGKILL it reopens and catches up from the change log with
//! what other instances wrote meanwhile; a damaged index is rebuilt by
//! itself; two processes never share one directory.

use std::time::{Duration, Instant};

use crate::fault_tests;
use crate::support::{Backend, Server, TestEnv, create_article};

fault_tests!(the_index_survives_kill_9_catches_up_and_rebuilds_itself);

/// `meta.total` of `/search?q=`, once it equals `want` (or the last one
/// seen after five seconds).
fn total_becomes(server: &Server, q: &str, want: i64) -> i64 {
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut client = server.client();
    loop {
        let reply = client.get(&format!("/api/v1/search?q={q}")).expect("search");
        let total = if reply.status == 200 {
            reply.json()["meta"]["total"].as_i64().unwrap_or(-1)
        } else {
            -1
        };
        if total == want || Instant::now() >= deadline {
            return total;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn the_index_survives_kill_9_catches_up_and_rebuilds_itself(backend: Backend) {
    let Some(env) = TestEnv::new(backend) else { return };
    let dir = env.dir.path().join("search-index");
    let dir = dir.to_str().expect("utf-8 path");
    let on_disk = [("SEARCH_INDEX_DIR", dir)];

    let mut first = env.start(&on_disk);
    create_article(&mut first.admin(), "Zeppelin one", &[]);
    assert_eq!(total_becomes(&first, "zeppelin", 1), 1);
    first.kill9();

    // Written while the instance is down, by another one.
    let other = env.start(&[]);
    create_article(&mut other.admin(), "Zeppelin two", &[]);
    drop(other);

    let mut again = env.start(&on_disk);
    assert_eq!(
        total_becomes(&again, "zeppelin", 2),
        2,
        "caught up from the change log"
    );

    // A second process on the same directory refuses to start.
    let second = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| env.start(&on_disk)));
    assert!(second.is_err(), "two instances shared one index directory");

    // Damaged: the index's metadata gone. Rebuilt from the database.
    again.kill9();
    // The index of this schema version is in its own subdirectory (`vN`),
    // the only one here.
    let versions: Vec<_> = std::fs::read_dir(dir)
        .expect("index directory")
        .map(|entry| entry.expect("entry").path())
        .filter(|path| path.join("meta.json").exists())
        .collect();
    assert_eq!(versions.len(), 1, "{versions:?}");
    std::fs::remove_file(versions[0].join("meta.json")).expect("remove meta.json");
    let rebuilt = env.start(&on_disk);
    assert_eq!(total_becomes(&rebuilt, "zeppelin", 2), 2, "rebuilt");
}
