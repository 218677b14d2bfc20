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

/// `000030_sync_feed` marks every article already public as announced, so
/// the announcer never announces one late; scheduled articles and drafts
/// are left to it (and to their next publishing write).
fn sync_feed_migration_marks_public_articles_announced(url: &str) {
    use diesel::connection::SimpleConnection;
    use diesel::{Connection, QueryableByName, RunQueryDsl};
    use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};
    const SQLITE: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
    const POSTGRES: EmbeddedMigrations = embed_migrations!("migrations/postgres");
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Text)]
        slug: String,
    }
    let postgres = url.starts_with("postgres");
    let (hour_ago, two_hours_ago, in_an_hour, t) = if postgres {
        (
            "now() AT TIME ZONE 'utc' - interval '1 hour'",
            "now() AT TIME ZONE 'utc' - interval '2 hours'",
            "now() AT TIME ZONE 'utc' + interval '1 hour'",
            "true",
        )
    } else {
        (
            "datetime('now', '-1 hour')",
            "datetime('now', '-2 hours')",
            "datetime('now', '+1 hour')",
            "1",
        )
    };
    let inserts = format!(
        "INSERT INTO editors (id, email, name, slug, role, active, password_hash, created_at, updated_at)
             VALUES (900, 'm@example.com', 'M', 'm', 'editor', {t}, 'x', {two_hours_ago}, {two_hours_ago});
         INSERT INTO articles (slug, title, excerpt, excerpt_custom, body_markdown, body_html, status,
             author_id, word_count, reading_time_minutes, comments_enabled, published_at, created_at, updated_at)
         VALUES
             ('public', 'P', 'x', {t}, 'x', 'x', 'published', 900, 1, 1, {t}, {hour_ago}, {two_hours_ago}, {hour_ago}),
             ('scheduled', 'S', 'x', {t}, 'x', 'x', 'published', 900, 1, 1, {t}, {in_an_hour}, {two_hours_ago}, {hour_ago}),
             ('draft', 'D', 'x', {t}, 'x', 'x', 'draft', 900, 1, 1, {t}, NULL, {two_hours_ago}, {hour_ago});"
    );
    let query = "SELECT slug FROM articles WHERE announced_at IS NOT NULL ORDER BY slug";
    let announced: Vec<String> = if postgres {
        let mut conn = diesel::PgConnection::establish(url).unwrap();
        // Down to just before it (later migrations first).
        while !conn
            .revert_last_migration(POSTGRES)
            .unwrap()
            .to_string()
            .ends_with("000030")
        {}
        conn.batch_execute(&inserts).unwrap();
        broadsheet::db::migrate::run_pending(url).unwrap();
        diesel::sql_query(query).load::<Row>(&mut conn).unwrap()
    } else {
        let path = url.strip_prefix("sqlite://").unwrap_or(url);
        let mut conn = diesel::SqliteConnection::establish(path).unwrap();
        // Down to just before it (later migrations first).
        while !conn
            .revert_last_migration(SQLITE)
            .unwrap()
            .to_string()
            .ends_with("000030")
        {}
        conn.batch_execute(&inserts).unwrap();
        broadsheet::db::migrate::run_pending(url).unwrap();
        diesel::sql_query(query).load::<Row>(&mut conn).unwrap()
    }
    .into_iter()
    .map(|r| r.slug)
    .collect();
    assert_eq!(announced, ["public"]);
}

#[test]
fn sqlite_sync_feed_migration_marks_public_articles_announced() {
    let db = TestDb::sqlite();
    broadsheet::db::migrate::run_pending(db.url()).unwrap();
    sync_feed_migration_marks_public_articles_announced(db.url());
}

#[test]
fn postgres_sync_feed_migration_marks_public_articles_announced() {
    let Some(db) = TestDb::postgres() else {
        report_skipped();
        return;
    };
    sync_feed_migration_marks_public_articles_announced(db.url());
}
