//! Every migration goes up, down and up again on both backends.

use crate::support::{TestDb, report_skipped};

fn up_down_up(url: &str) {
    let applied = broadsheet::db::migrate::run_pending(url).expect("up");
    assert!(applied.len() >= 4, "{applied:?}");
    broadsheet::db::migrate::revert_all(url).expect("down");
    let again = broadsheet::db::migrate::run_pending(url).expect("up again");
    assert_eq!(applied, again);
    assert!(
        broadsheet::db::migrate::run_pending(url)
            .expect("idempotent")
            .is_empty()
    );
}

#[test]
fn sqlite_migrations_go_up_down_up() {
    up_down_up(TestDb::sqlite().url());
}

#[test]
fn postgres_migrations_go_up_down_up() {
    let Some(db) = TestDb::postgres() else {
        report_skipped();
        return;
    };
    // A template clone starts migrated: take it all the way down first.
    broadsheet::db::migrate::revert_all(db.url()).expect("down from the template");
    up_down_up(db.url());
}
