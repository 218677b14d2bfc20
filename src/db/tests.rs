//! Unit tests of the database handle: backend choice, the SQLite writer,
//! statement counting, URL helpers.

use super::*;

#[test]
fn backend_comes_from_the_scheme_and_unknown_schemes_are_refused() {
    assert_eq!(Backend::from_url("sqlite://data/x.db"), Ok(Backend::Sqlite));
    assert_eq!(Backend::from_url("sqlite:x.db"), Ok(Backend::Sqlite));
    assert_eq!(Backend::from_url("data/x.db"), Ok(Backend::Sqlite));
    assert_eq!(Backend::from_url("postgres://u@h/db"), Ok(Backend::Postgres));
    assert_eq!(Backend::from_url("postgresql://u@h/db"), Ok(Backend::Postgres));
    assert!(Backend::from_url("mysql://u@h/db").is_err());
    assert!(Backend::from_url("postgress://u@h/db").is_err());
    assert!(Backend::from_url("").is_err());
}

/// The SQLite writer connection lives as long as the process: a write
/// that panics must not leave it inside a transaction.
#[test]
fn a_write_that_panics_leaves_the_sqlite_writer_usable() {
    let dir = tempfile::tempdir().unwrap();
    let (db, url) = test_sqlite_db(dir.path());
    db.write_blocking(|conn| Ok(conn.batch_execute("CREATE TABLE t (v TEXT)")?))
        .unwrap();
    let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        db.write_blocking(|conn| -> Result<(), AppError> {
            conn.batch_execute("INSERT INTO t VALUES ('rolled back')")?;
            panic!("a bug in a write");
        })
    }));
    assert!(panicked.is_err());
    db.write_blocking(|conn| Ok(conn.batch_execute("INSERT INTO t VALUES ('committed')")?))
        .unwrap();
    // Another connection sees only what was committed.
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Text)]
        v: String,
    }
    let mut other = SqliteConnection::establish(sqlite_path(&url)).unwrap();
    let rows: Vec<Row> = diesel::RunQueryDsl::load(diesel::sql_query("SELECT v FROM t"), &mut other).unwrap();
    let values: Vec<String> = rows.into_iter().map(|r| r.v).collect();
    assert_eq!(values, ["committed"]);
}

/// The checkpoint thread runs statements of its own shortly after each
/// write; a test that counts a request's queries must not see them.
#[test]
fn checkpoints_are_not_counted_as_work() {
    let dir = tempfile::tempdir().unwrap();
    let (db, _) = test_sqlite_db(dir.path());
    // Counted before the write: the checkpoint it wakes may run at any
    // moment after it, even before the next line of this test.
    let (all, work) = (db.query_count(), db.work_query_count());
    db.write_blocking(|conn| Ok(conn.batch_execute("CREATE TABLE t (v TEXT)")?))
        .unwrap();
    // BEGIN IMMEDIATE, the statement, COMMIT.
    assert_eq!(db.work_query_count() - work, 3);
    // Wait for the checkpoint thread (every 200 ms after a write), with
    // room for a loaded machine where it is scheduled late: every
    // statement beyond the write's own three is the checkpointer's.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while db.query_count() - all <= 3 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(db.query_count() - all > 3, "the checkpoint thread ran statements");
    assert_eq!(db.work_query_count() - work, 3, "none of them counted as work");
}

#[test]
fn sqlite_paths_are_stripped_of_their_scheme() {
    assert_eq!(sqlite_path("sqlite://data/x.db"), "data/x.db");
    assert_eq!(sqlite_path("sqlite:///tmp/x.db"), "/tmp/x.db");
    assert_eq!(sqlite_path("sqlite:x.db"), "x.db");
    assert_eq!(sqlite_path("x.db"), "x.db");
}

#[test]
fn libpq_timeouts_are_added_once() {
    let t = Duration::from_secs(3);
    let all = "connect_timeout=3&tcp_user_timeout=6000&keepalives=1&keepalives_idle=5\
               &keepalives_interval=2&keepalives_count=3";
    assert_eq!(
        with_libpq_timeouts("postgres://h/db", t),
        format!("postgres://h/db?{all}")
    );
    assert_eq!(
        with_libpq_timeouts("postgres://h/db?sslmode=disable", t),
        format!("postgres://h/db?sslmode=disable&{all}")
    );
    let own = with_libpq_timeouts("postgres://h/db?connect_timeout=9&tcp_user_timeout=100", t);
    assert!(own.starts_with("postgres://h/db?connect_timeout=9&tcp_user_timeout=100&keepalives=1"));
    assert_eq!(own.matches("connect_timeout=").count(), 1);
    assert_eq!(own.matches("tcp_user_timeout=").count(), 1);
}
