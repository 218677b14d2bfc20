//! Bulk seeder for the benchmarks: fills an empty, migrated database with
//! editors, tags, articles, comments and share events straight through SQL
//! (batched inserts in large transactions, not HTTP), keeping every
//! maintained counter consistent with the rows it counts.
//!
//! cargo bench --bench seed -- --database-url sqlite://bench/data/1k.db --articles 1000 \
//!     --comments 5000 --shares 10000
//!
//! The data is deterministic (a fixed pseudo-random sequence), so two runs at
//! one size produce the same database.
//!
//! Secondary indexes (and SQLite's full-text trigger) are dropped for the
//! load and created again at the end from their own stored definitions, so
//! the schema stays exactly the migrations' while each index is built once,
//! sorted, instead of row by row at random places.

use std::collections::BTreeMap;
use std::time::Instant;

use broadsheet::db::schema::{
    article_tags, articles, comments, editors, share_counts, share_daily, share_daily_totals, share_events,
    tags,
};
use chrono::{Duration, NaiveDate, NaiveDateTime, SubsecRound, Utc};
use clap::Parser;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;

#[derive(Parser, Debug)]
struct Args {
    #[arg(long)]
    database_url: String,
    #[arg(long, default_value_t = 1000)]
    articles: usize,
    #[arg(long, default_value_t = 20)]
    tags: usize,
    #[arg(long, default_value_t = 5000)]
    comments: usize,
    #[arg(long, default_value_t = 10000)]
    shares: usize,
    /// Days the share events spread over, ending today.
    #[arg(long, default_value_t = 30)]
    share_days: i64,
    /// Ignored: `cargo bench` passes it.
    #[arg(long, hide = true)]
    bench: bool,
}

const WORDS: &[&str] = &[
    "tram",
    "budget",
    "council",
    "library",
    "housing",
    "river",
    "festival",
    "school",
    "bus",
    "park",
    "street",
    "rent",
    "energy",
    "climate",
    "market",
    "harbour",
    "museum",
    "bridge",
    "hospital",
    "station",
    "bicycle",
    "election",
    "tax",
    "water",
    "garden",
    "theatre",
    "football",
    "bakery",
    "winter",
    "summer",
    "night",
    "morning",
    "policy",
    "plan",
    "vote",
    "neighbour",
    "teacher",
    "doctor",
    "worker",
    "student",
    "family",
    "future",
    "history",
    "money",
    "time",
    "city",
    "town",
    "village",
    "road",
    "train",
];
const CHANNELS: &[&str] = &[
    "email",
    "facebook",
    "x",
    "linkedin",
    "whatsapp",
    "telegram",
    "reddit",
    "copy_link",
    "other",
];

/// A small deterministic generator (xorshift64*): fast, and the same every run.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn words(&mut self, n: usize) -> String {
        (0..n)
            .map(|_| WORDS[self.below(WORDS.len())])
            .collect::<Vec<_>>()
            .join(" ")
    }
}

enum Conn {
    Sqlite(SqliteConnection),
    Pg(PgConnection),
}

macro_rules! with_conn {
    ($conn:expr, $c:ident => $body:expr) => {
        match $conn {
            Conn::Sqlite($c) => $body,
            Conn::Pg($c) => $body,
        }
    };
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let started = Instant::now();
    broadsheet::db::migrate::run_pending(&args.database_url).map_err(|e| e.to_string())?;
    let mut conn = if args.database_url.starts_with("postgres") {
        Conn::Pg(PgConnection::establish(&args.database_url)?)
    } else {
        let mut c = SqliteConnection::establish(broadsheet::db::sqlite_path(&args.database_url))?;
        // Bulk load: durability is not needed while seeding.
        c.batch_execute("PRAGMA journal_mode = WAL; PRAGMA synchronous = OFF; PRAGMA cache_size = -200000;")?;
        Conn::Sqlite(c)
    };
    let existing: i64 = with_conn!(&mut conn, c => articles::table.count().get_result(c))?;
    if existing > 0 {
        return Err(format!("the database already has {existing} articles; seed an empty one").into());
    }
    let deferred = defer_indexes(&mut conn)?;
    let now = Utc::now().naive_utc().trunc_subsecs(0);
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);

    // Editors (their password hash is unusable: nobody signs in as them).
    let editor_count = 10;
    let editor_rows: Vec<_> = (1..=editor_count)
        .map(|i| {
            (
                editors::email.eq(format!("writer{i}@bench.test")),
                editors::name.eq(format!("Writer {i}")),
                editors::slug.eq(format!("writer-{i}")),
                editors::role.eq("author"),
                editors::active.eq(true),
                editors::password_hash.eq("!"),
                editors::created_at.eq(now),
                editors::updated_at.eq(now),
            )
        })
        .collect();
    with_conn!(&mut conn, c => diesel::insert_into(editors::table).values(&editor_rows).execute(c))?;
    let tag_rows: Vec<_> = (1..=args.tags)
        .map(|i| {
            (
                tags::slug.eq(format!("topic-{i}")),
                tags::name.eq(format!("Topic {i}")),
                tags::created_at.eq(now),
                tags::updated_at.eq(now),
            )
        })
        .collect();
    with_conn!(&mut conn, c => diesel::insert_into(tags::table).values(&tag_rows).execute(c))?;

    // Decide first how many comments and shares each article gets, so the
    // article rows carry their counters from the start.
    let mut approved_per_article = vec![0i64; args.articles];
    let mut comment_plan: Vec<(usize, bool)> = Vec::with_capacity(args.comments);
    for _ in 0..args.comments {
        // Skewed: a quarter of the comments go to the newest 1% of articles.
        let article = if rng.below(4) == 0 {
            rng.below(args.articles.div_ceil(100))
        } else {
            rng.below(args.articles)
        };
        let approved = rng.below(10) != 0;
        if approved {
            approved_per_article[article] += 1;
        }
        comment_plan.push((article, approved));
    }
    let mut shares_per_article = vec![0i64; args.articles];
    let mut share_plan: Vec<(usize, usize, i64, i64)> = Vec::with_capacity(args.shares);
    for _ in 0..args.shares {
        let article = if rng.below(3) == 0 {
            rng.below(args.articles.div_ceil(100))
        } else {
            rng.below(args.articles)
        };
        let channel = rng.below(CHANNELS.len());
        let day = rng.below(args.share_days as usize) as i64;
        let second = rng.below(86_400) as i64;
        shares_per_article[article] += 1;
        share_plan.push((article, channel, day, second));
    }

    // Articles: one a minute into the past, newest first by id order reversed.
    let t = Instant::now();
    let mut batch = Vec::with_capacity(1500);
    // What article_tags.published_at copies: published_at while published.
    let mut tag_index_time: Vec<Option<NaiveDateTime>> = Vec::with_capacity(args.articles);
    for i in 0..args.articles {
        let status = match i % 100 {
            0 => "draft",
            1 => "archived",
            _ => "published",
        };
        let title = format!("Article {} about the {}", i + 1, rng.words(3));
        let (first, quote, last) = (rng.words(30), rng.words(8), rng.words(20));
        let body = format!("{first}.\n\n> {quote}.\n\n{last}.");
        // What the Markdown renderer makes of this shape, without paying for
        // it a million times.
        let html = format!("<p>{first}.</p>\n<blockquote>\n<p>{quote}.</p>\n</blockquote>\n<p>{last}.</p>\n");
        let plain = format!("{first}. {quote}. {last}.");
        let words = plain.split_whitespace().count() as i32;
        let published_at = (status != "draft").then(|| now - Duration::minutes(i as i64 + 1));
        tag_index_time.push(if status == "published" { published_at } else { None });
        batch.push((
            articles::slug.eq(format!("article-{}", i + 1)),
            articles::title.eq(title),
            articles::subtitle.eq(Some(rng.words(10))),
            articles::excerpt.eq(plain.chars().take(200).collect::<String>()),
            articles::excerpt_custom.eq(false),
            articles::body_html.eq(html),
            articles::body_markdown.eq(body),
            articles::status.eq(status),
            articles::author_id.eq((i % editor_count) as i64 + 1),
            (
                articles::word_count.eq(words),
                articles::reading_time_minutes.eq(((words + 199) / 200).max(1)),
                articles::comments_enabled.eq(true),
                articles::comment_count.eq(approved_per_article[i]),
                articles::share_count.eq(shares_per_article[i]),
                articles::published_at.eq(published_at),
                articles::created_at.eq(published_at.unwrap_or(now)),
                articles::updated_at.eq(published_at.unwrap_or(now)),
            ),
        ));
        if batch.len() == 1500 || i + 1 == args.articles {
            with_conn!(&mut conn, c => c.transaction(|c| diesel::insert_into(articles::table).values(&batch).execute(c)))?;
            batch.clear();
        }
    }
    let max_id: Option<i64> =
        with_conn!(&mut conn, c => articles::table.select(diesel::dsl::max(articles::id)).first(c))?;
    assert_eq!(
        max_id,
        Some(args.articles as i64),
        "article ids must be 1..N in a fresh database"
    );
    eprintln!("articles: {} in {:.1}s", args.articles, t.elapsed().as_secs_f64());

    // One to three tags an article.
    let t = Instant::now();
    let mut links = Vec::with_capacity(6000);
    let mut link_count = 0;
    for (i, published_at) in tag_index_time.iter().enumerate() {
        let first = rng.below(args.tags);
        let n = 1 + rng.below(3);
        for k in 0..n {
            links.push((
                article_tags::article_id.eq(i as i64 + 1),
                article_tags::tag_id.eq(((first + k * 7) % args.tags) as i64 + 1),
                article_tags::position.eq(k as i32),
                article_tags::published_at.eq(*published_at),
            ));
        }
        if links.len() >= 6000 || i + 1 == args.articles {
            link_count += links.len();
            with_conn!(&mut conn, c => c.transaction(|c| diesel::insert_into(article_tags::table).values(&links).execute(c)))?;
            links.clear();
        }
    }
    eprintln!("article tags: {link_count} in {:.1}s", t.elapsed().as_secs_f64());

    // Comments, oldest first.
    let t = Instant::now();
    let mut batch = Vec::with_capacity(3000);
    for (n, (article, approved)) in comment_plan.iter().enumerate() {
        let length = 12 + rng.below(20);
        let text = rng.words(length);
        let at = now - Duration::seconds(rng.below(30 * 86_400) as i64);
        batch.push((
            comments::article_id.eq(*article as i64 + 1),
            comments::depth.eq(0),
            comments::author_name.eq(format!("Reader {}", n % 5000)),
            comments::author_email.eq(format!("reader{}@example.com", n % 5000)),
            comments::body_html.eq(format!("<p>{text}</p>")),
            comments::body.eq(text),
            comments::status.eq(if *approved { "approved" } else { "pending" }),
            comments::created_at.eq(at),
            comments::updated_at.eq(at),
        ));
        if batch.len() == 3000 || n + 1 == comment_plan.len() {
            with_conn!(&mut conn, c => c.transaction(|c| diesel::insert_into(comments::table).values(&batch).execute(c)))?;
            batch.clear();
        }
    }
    eprintln!("comments: {} in {:.1}s", args.comments, t.elapsed().as_secs_f64());

    // Share events and their counters and daily rollups.
    let t = Instant::now();
    let today = now.date();
    // Ordered as the counter tables' primary keys, so their B-trees are
    // filled front to back.
    let mut counts: BTreeMap<(usize, &str), i64> = BTreeMap::new();
    let mut daily: BTreeMap<(usize, NaiveDate, &str), i64> = BTreeMap::new();
    let mut totals: BTreeMap<(NaiveDate, &str), i64> = BTreeMap::new();
    let mut batch = Vec::with_capacity(10_000);
    for (n, (article, channel, day, second)) in share_plan.iter().enumerate() {
        let date = today - Duration::days(*day);
        let at: NaiveDateTime = date.and_hms_opt(0, 0, 0).unwrap_or(now) + Duration::seconds(*second);
        let name = CHANNELS[*channel];
        *counts.entry((*article, name)).or_default() += 1;
        *daily.entry((*article, date, name)).or_default() += 1;
        *totals.entry((date, name)).or_default() += 1;
        batch.push((
            share_events::article_id.eq(*article as i64 + 1),
            share_events::channel.eq(CHANNELS[*channel]),
            share_events::created_at.eq(at.min(now)),
        ));
        if batch.len() == 10_000 || n + 1 == share_plan.len() {
            with_conn!(&mut conn, c => c.transaction(|c| diesel::insert_into(share_events::table).values(&batch).execute(c)))?;
            batch.clear();
        }
    }
    let rows: Vec<_> = counts
        .into_iter()
        .map(|((a, ch), n)| {
            (
                share_counts::article_id.eq(a as i64 + 1),
                share_counts::channel.eq(ch),
                share_counts::count.eq(n),
            )
        })
        .collect();
    for chunk in rows.chunks(5_000) {
        with_conn!(&mut conn, c => c.transaction(|c| diesel::insert_into(share_counts::table).values(chunk).execute(c)))?;
    }
    let rows: Vec<_> = daily
        .into_iter()
        .map(|((a, d, ch), n)| {
            (
                share_daily::day.eq(d),
                share_daily::article_id.eq(a as i64 + 1),
                share_daily::channel.eq(ch),
                share_daily::count.eq(n),
            )
        })
        .collect();
    for chunk in rows.chunks(5_000) {
        with_conn!(&mut conn, c => c.transaction(|c| diesel::insert_into(share_daily::table).values(chunk).execute(c)))?;
    }
    let rows: Vec<_> = totals
        .into_iter()
        .map(|((d, ch), n)| {
            (
                share_daily_totals::day.eq(d),
                share_daily_totals::channel.eq(ch),
                share_daily_totals::count.eq(n),
            )
        })
        .collect();
    for chunk in rows.chunks(5_000) {
        with_conn!(&mut conn, c => c.transaction(|c| diesel::insert_into(share_daily_totals::table).values(chunk).execute(c)))?;
    }
    eprintln!(
        "share events: {} in {:.1}s",
        args.shares,
        t.elapsed().as_secs_f64()
    );

    let t = Instant::now();
    restore_indexes(&mut conn, &deferred)?;
    eprintln!("indexes in {:.1}s", t.elapsed().as_secs_f64());

    // On PostgreSQL, VACUUM too: it sets the visibility map that a live
    // database's autovacuum keeps set, without which every index-only
    // scan (a thread's comment count) reads the table's pages as well.
    let t = Instant::now();
    match &mut conn {
        Conn::Pg(c) => c.batch_execute("VACUUM (ANALYZE)")?,
        Conn::Sqlite(c) => c.batch_execute("ANALYZE")?,
    }
    eprintln!("vacuum and analyze in {:.1}s", t.elapsed().as_secs_f64());
    eprintln!("seeded in {:.1}s", started.elapsed().as_secs_f64());
    Ok(())
}

/// Sets the maintained per-status and per-author article counts from the
/// rows (the per-author rule is migration 000033's: published and dated).
const RECOUNT: &str = "UPDATE article_status_counts SET count = \
    (SELECT COUNT(*) FROM articles WHERE articles.status = article_status_counts.status); \
    DELETE FROM author_article_counts; \
    INSERT INTO author_article_counts (author_id, count) \
    SELECT author_id, COUNT(*) FROM articles \
    WHERE status = 'published' AND published_at IS NOT NULL GROUP BY author_id";

/// The tables the seeder fills.
const SEEDED_TABLES: &str = "'articles', 'article_tags', 'comments', 'share_events', 'share_counts', 'share_daily', 'share_daily_totals'";

#[derive(QueryableByName)]
struct Definition {
    #[diesel(sql_type = diesel::sql_types::Text)]
    name: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    sql: String,
}

/// Drops the seeded tables' secondary indexes (not those behind primary
/// keys or unique constraints: the seeder relies on those) and, on SQLite,
/// the triggers that index each new article for full-text search and keep
/// its stored embeds; returns the statements that create them again.
fn defer_indexes(conn: &mut Conn) -> Result<Vec<String>, Box<dyn std::error::Error>> {
    let deferred: Vec<Definition> = match conn {
        Conn::Sqlite(c) => diesel::sql_query(format!(
            "SELECT name, sql FROM sqlite_master WHERE sql IS NOT NULL AND tbl_name IN ({SEEDED_TABLES}) \
             AND (type = 'index' OR name = 'articles_fts_insert' OR name LIKE 'article\\_embeds\\_%' ESCAPE '\\')"
        ))
        .load(c)?,
        Conn::Pg(c) => {
            // Foreign keys are checked by triggers, row by row; the seeder
            // writes only ids it has just created.
            c.batch_execute("SET session_replication_role = replica; SET maintenance_work_mem = '512MB';")?;
            diesel::sql_query(format!(
                "SELECT indexname AS name, indexdef AS sql FROM pg_indexes \
                 WHERE schemaname = current_schema() AND tablename IN ({SEEDED_TABLES}) \
                 AND indexname NOT IN (SELECT conname FROM pg_constraint)"
            ))
            .load(c)?
        }
    };
    for d in &deferred {
        let kind = if d.name == "articles_fts_insert" || d.name.starts_with("article_embeds_") {
            "TRIGGER"
        } else {
            "INDEX"
        };
        with_conn!(conn, c => c.batch_execute(&format!("DROP {kind} {}", d.name)))?;
    }
    Ok(deferred.into_iter().map(|d| d.sql).collect())
}

/// Creates again what [`defer_indexes`] dropped, fills SQLite's
/// full-text index in one pass, and the stored embeds of every article
/// (their triggers were off on both backends) from their one definition,
/// the view `article_embeds_live`.
fn restore_indexes(conn: &mut Conn, deferred: &[String]) -> Result<(), Box<dyn std::error::Error>> {
    for sql in deferred {
        with_conn!(conn, c => c.batch_execute(sql))?;
    }
    if let Conn::Sqlite(c) = conn {
        c.batch_execute("INSERT INTO articles_fts (articles_fts) VALUES ('rebuild')")?;
    }
    // PostgreSQL's triggers were off (replica role): count afresh.
    with_conn!(conn, c => c.batch_execute(RECOUNT))?;
    with_conn!(conn, c => c.batch_execute(
        "DELETE FROM article_embeds; INSERT INTO article_embeds SELECT * FROM article_embeds_live"
    ))?;
    Ok(())
}
