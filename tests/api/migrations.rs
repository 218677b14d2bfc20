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
    use diesel::QueryableByName;
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
    let announced: Vec<String> = across_migration::<Row>(url, "000030", &inserts, query)
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

/// Takes the database at `url` (migrated) down to just before the
/// migration whose name ends with `suffix`, runs `setup` there, migrates
/// up again, and loads `query`.
fn across_migration<R>(url: &str, suffix: &str, setup: &str, query: &str) -> Vec<R>
where
    R: diesel::QueryableByName<diesel::pg::Pg> + diesel::QueryableByName<diesel::sqlite::Sqlite> + 'static,
{
    use diesel::connection::SimpleConnection;
    use diesel::{Connection, RunQueryDsl};
    use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};
    const SQLITE: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
    const POSTGRES: EmbeddedMigrations = embed_migrations!("migrations/postgres");
    if url.starts_with("postgres") {
        let mut conn = diesel::PgConnection::establish(url).unwrap();
        // Later migrations first.
        while !conn
            .revert_last_migration(POSTGRES)
            .unwrap()
            .to_string()
            .ends_with(suffix)
        {}
        conn.batch_execute(setup).unwrap();
        broadsheet::db::migrate::run_pending(url).unwrap();
        diesel::sql_query(query).load::<R>(&mut conn).unwrap()
    } else {
        let path = url.strip_prefix("sqlite://").unwrap_or(url);
        let mut conn = diesel::SqliteConnection::establish(path).unwrap();
        while !conn
            .revert_last_migration(SQLITE)
            .unwrap()
            .to_string()
            .ends_with(suffix)
        {}
        conn.batch_execute(setup).unwrap();
        broadsheet::db::migrate::run_pending(url).unwrap();
        diesel::sql_query(query).load::<R>(&mut conn).unwrap()
    }
}

/// `000034_article_embeds` stores the author and tags of every article
/// already there, as the JSON the API shows (tags in the article's order,
/// none as `[]`). That its triggers keep them from then on is
/// `tests/api/reads.rs`'s.
fn article_embeds_migration_fills_every_article(url: &str) {
    use diesel::QueryableByName;
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        article_id: i64,
        #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
        author: Option<String>,
        #[diesel(sql_type = diesel::sql_types::Text)]
        tags: String,
    }
    let t = if url.starts_with("postgres") { "true" } else { "1" };
    let setup = format!(
        "INSERT INTO editors (id, email, name, slug, role, active, password_hash, created_at, updated_at)
             VALUES (901, 'n@example.com', 'N \"Q\"', 'n', 'editor', {t}, 'x',
                     '2026-01-01 00:00:00', '2026-01-01 00:00:00');
         INSERT INTO tags (id, slug, name, created_at, updated_at) VALUES
             (801, 'ports', 'Ports', '2026-01-01 00:00:00', '2026-01-01 00:00:00'),
             (802, 'caf', 'Caf\u{e9}', '2026-01-01 00:00:00', '2026-01-01 00:00:00');
         INSERT INTO articles (id, slug, title, excerpt, excerpt_custom, body_markdown, body_html, status,
             author_id, word_count, reading_time_minutes, comments_enabled, published_at, created_at, updated_at)
         VALUES
             (701, 'tagged', 'T', 'x', {t}, 'x', 'x', 'draft', 901, 1, 1, {t}, NULL,
              '2026-01-01 00:00:00', '2026-01-01 00:00:00'),
             (702, 'bare', 'B', 'x', {t}, 'x', 'x', 'draft', 901, 1, 1, {t}, NULL,
              '2026-01-01 00:00:00', '2026-01-01 00:00:00');
         INSERT INTO article_tags (article_id, tag_id, position) VALUES (701, 802, 0), (701, 801, 1);"
    );
    let rows = across_migration::<Row>(
        url,
        "000034",
        &setup,
        "SELECT article_id, author, tags FROM article_embeds WHERE article_id IN (701, 702) ORDER BY article_id",
    );
    let json = |s: &str| serde_json::from_str::<serde_json::Value>(s).unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].article_id, 701);
    let author = serde_json::json!({"id": 901, "slug": "n", "name": "N \"Q\"", "avatar_url": null});
    assert_eq!(json(rows[0].author.as_deref().unwrap()), author);
    assert_eq!(
        json(&rows[0].tags),
        serde_json::json!([
            {"id": 802, "slug": "caf", "name": "Caf\u{e9}"},
            {"id": 801, "slug": "ports", "name": "Ports"}
        ])
    );
    assert_eq!(json(rows[1].author.as_deref().unwrap()), author);
    assert_eq!(json(&rows[1].tags), serde_json::json!([]));
}

#[test]
fn sqlite_article_embeds_migration_fills_every_article() {
    let db = TestDb::sqlite();
    broadsheet::db::migrate::run_pending(db.url()).unwrap();
    article_embeds_migration_fills_every_article(db.url());
}

#[test]
fn postgres_article_embeds_migration_fills_every_article() {
    let Some(db) = TestDb::postgres() else {
        report_skipped();
        return;
    };
    article_embeds_migration_fills_every_article(db.url());
}
