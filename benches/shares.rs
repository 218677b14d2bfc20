//! Share events at volume: `cargo bench --bench shares` (not a test; never
//! part of `cargo test`). See docs/BENCHMARKS.md for results and options.
//!
//! For each backend (SQLite, then PostgreSQL):
//! 1. makes a fresh database and an admin with the real binary
//!    (`broadsheet editor create`, which also migrates);
//! 2. bulk-seeds `BENCH_ARTICLES` articles and `BENCH_EVENTS` share events
//!    over the last 365 days with plain SQL (no HTTP), then fills
//!    `share_counts`, `share_daily`, `share_daily_totals` and
//!    `articles.share_count` from the events with GROUP BY, so the counters
//!    are exactly consistent;
//! 3. starts the release server (rate limits and de-duplication off) and
//!    drives it with wrk: POST shares from `BENCH_CONNECTIONS` connections
//!    for `BENCH_SECONDS`, then single-connection latency of the stats and
//!    counts routes;
//! 4. times the most-shared list: over HTTP when `/api/v1/articles` exists
//!    on this build, else the same query (`db::articles::list`, sort
//!    `-share_count`, 20 rows, plus author/tag embedding) in-process;
//! 5. checks every counter against a COUNT over the events.
//!
//! Settings (environment): `BENCH_BACKENDS` (default `sqlite,postgres`),
//! `BENCH_EVENTS` (10000000), `BENCH_ARTICLES` (100000), `BENCH_SECONDS`
//! (20), `BENCH_CONNECTIONS` (32), `BENCH_WRK_THREADS` (2), `BENCH_ADDR`
//! (127.0.0.1:18081), `BENCH_DIR` (target/bench-shares), `BENCH_PG_URL`
//! (postgres://postgres@127.0.0.1:5432/broadsheet_bench; the database is
//! dropped and recreated), `BENCH_REUSE=1` (skip seeding when the database
//! is already seeded), `BENCH_BATCH_MAX` (passed as `SHARE_BATCH_MAX`),
//! `BENCH_HOT=N` (90% of presses on articles 1..=N instead of uniform).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use broadsheet::db::DbConnection;
use broadsheet::domain::article::{ArticleSort, ListFilter, Order};
use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection, QueryableByName, RunQueryDsl, SqliteConnection};

type Error = Box<dyn std::error::Error>;

const ADMIN_EMAIL: &str = "bench@example.com";
const ADMIN_PASSWORD: &str = "bench passphrase 1234";
const JWT_SECRET: &str = "bench-secret-bench-secret-bench-secret-0123";

struct Settings {
    events: u64,
    articles: u64,
    seconds: u64,
    connections: u64,
    wrk_threads: u64,
    addr: String,
    dir: PathBuf,
    pg_url: String,
    reuse: bool,
    batch_max: Option<String>,
    hot: u64,
}

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name)
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| default.to_string())
}

fn env_num(name: &str, default: u64) -> Result<u64, Error> {
    env_or(name, &default.to_string())
        .parse()
        .map_err(|_| format!("{name} must be a whole number").into())
}

fn main() -> Result<(), Error> {
    // `cargo bench` passes `--bench`; nothing else is expected.
    let settings = Settings {
        events: env_num("BENCH_EVENTS", 10_000_000)?,
        articles: env_num("BENCH_ARTICLES", 100_000)?,
        seconds: env_num("BENCH_SECONDS", 20)?,
        connections: env_num("BENCH_CONNECTIONS", 32)?,
        wrk_threads: env_num("BENCH_WRK_THREADS", 2)?,
        addr: env_or("BENCH_ADDR", "127.0.0.1:18081"),
        dir: PathBuf::from(env_or(
            "BENCH_DIR",
            concat!(env!("CARGO_MANIFEST_DIR"), "/target/bench-shares"),
        )),
        pg_url: env_or(
            "BENCH_PG_URL",
            "postgres://postgres@127.0.0.1:5432/broadsheet_bench",
        ),
        reuse: env_or("BENCH_REUSE", "0") == "1",
        batch_max: std::env::var("BENCH_BATCH_MAX").ok().filter(|v| !v.is_empty()),
        hot: env_num("BENCH_HOT", 0)?,
    };
    if Command::new("wrk").arg("--version").output().is_err() {
        return Err("wrk is needed: apt-get install wrk".into());
    }
    std::fs::create_dir_all(&settings.dir)?;
    println!("# Shares benchmark");
    println!("machine: {}", machine());
    println!(
        "events: {}, articles: {}, load: {} connections × {} s (wrk, {} threads), presses {}",
        settings.events,
        settings.articles,
        settings.connections,
        settings.seconds,
        settings.wrk_threads,
        match settings.hot {
            0 => "uniform over all articles".to_string(),
            n => format!("90% on articles 1..={n}, 10% uniform"),
        }
    );
    for backend in env_or("BENCH_BACKENDS", "sqlite,postgres").split(',') {
        match backend.trim() {
            "sqlite" => run(&settings, Backend::Sqlite)?,
            "postgres" => run(&settings, Backend::Postgres)?,
            other => return Err(format!("unknown backend `{other}` in BENCH_BACKENDS").into()),
        }
    }
    Ok(())
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Backend {
    Sqlite,
    Postgres,
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let load = load.split_whitespace().take(3).collect::<Vec<_>>().join(" ");
    format!("{cores} cores, {cpu}; load average before the run: {load}")
}

fn database_url(s: &Settings, backend: Backend) -> String {
    match backend {
        Backend::Sqlite => format!("sqlite://{}/shares.db", s.dir.display()),
        Backend::Postgres => s.pg_url.clone(),
    }
}

fn connect(url: &str) -> Result<DbConnection, Error> {
    Ok(match url.strip_prefix("sqlite://") {
        Some(path) => DbConnection::Sqlite(SqliteConnection::establish(path)?),
        None => DbConnection::Pg(PgConnection::establish(url)?),
    })
}

#[derive(QueryableByName)]
struct Number {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

fn scalar(conn: &mut DbConnection, sql: &str) -> Result<i64, Error> {
    Ok(diesel::sql_query(sql).get_result::<Number>(conn)?.n)
}

fn run(s: &Settings, backend: Backend) -> Result<(), Error> {
    println!("\n## {backend:?}\n");
    let url = database_url(s, backend);
    let seeded = s.reuse
        && connect(&url)
            .ok()
            .and_then(|mut c| scalar(&mut c, "SELECT COUNT(*) AS n FROM articles").ok())
            .is_some_and(|n| n >= s.articles as i64);
    if seeded {
        println!("reusing the seeded database (BENCH_REUSE=1)");
    } else {
        reset(s, backend, &url)?;
        create_admin(&url)?;
        let started = Instant::now();
        seed(s, backend, &url)?;
        println!(
            "seeded {} events over {} articles in {:.1} s (bulk SQL)",
            s.events,
            s.articles,
            started.elapsed().as_secs_f64()
        );
    }
    let mut conn = connect(&url)?;
    let before_max = scalar(&mut conn, "SELECT COALESCE(MAX(id), 0) AS n FROM share_events")?;

    let server = Server::start(s, &url)?;
    let token = server.login()?;
    let lua = s.dir.join("post_share.lua");
    std::fs::write(&lua, post_script(s.articles, s.hot))?;
    let base = format!("http://{}", s.addr);

    // Warm-up: caches, connections, the writer thread.
    wrk(s, &["-d", "3s", "-s", lua.to_str().unwrap_or_default(), &base])?;
    let before = scalar(&mut conn, "SELECT COALESCE(MAX(id), 0) AS n FROM share_events")?;
    let out = wrk(
        s,
        &[
            "-d",
            &format!("{}s", s.seconds),
            "-s",
            lua.to_str().unwrap_or_default(),
            &base,
        ],
    )?;
    let recorded = scalar(
        &mut conn,
        &format!("SELECT COUNT(*) AS n FROM share_events WHERE id > {before}"),
    )?;
    println!("### POST /api/v1/articles/{{slug}}/shares\n");
    println!("```\n{}```", out.raw);
    println!(
        "-> {:.0} shares/s acknowledged (wrk), {} acknowledged, {} new rows in share_events, non-2xx: {}",
        out.rps, out.requests, recorded, out.non_2xx
    );

    let auth = format!("Authorization: Bearer {token}");
    let single = |path: &str, header: Option<&str>| -> Result<WrkOutput, Error> {
        let url = format!("{base}{path}");
        // A generous timeout, so a slow report is measured, not dropped.
        let mut args = vec!["-t", "1", "-c", "1", "-d", "10s", "--timeout", "30s"];
        if let Some(h) = header {
            args.extend(["-H", h]);
        }
        args.push(&url);
        wrk_raw(&args)
    };
    for (label, path, header) in [
        (
            "stats group_by=day, last 30 days",
            "/api/v1/admin/shares/stats?group_by=day",
            Some(auth.as_str()),
        ),
        (
            "stats group_by=channel, last 30 days",
            "/api/v1/admin/shares/stats?group_by=channel",
            Some(auth.as_str()),
        ),
        (
            "stats group_by=article, last 30 days, top 100",
            "/api/v1/admin/shares/stats?group_by=article",
            Some(auth.as_str()),
        ),
        (
            "public counts of the most shared article",
            "/api/v1/articles/bench-article-1/shares",
            None,
        ),
        (
            "editor list, cursor mode, first page",
            "/api/v1/admin/shares?cursor=&per_page=20",
            Some(auth.as_str()),
        ),
    ] {
        let out = single(path, header)?;
        println!(
            "GET {path} ({label}): p50 {} p90 {} p99 {} max {}, {:.0} req/s on one connection, non-2xx: {}",
            out.p50, out.p90, out.p99, out.max, out.rps, out.non_2xx
        );
    }

    let list_path = "/api/v1/articles?sort=-share_count";
    let status = server.get_status(list_path)?;
    if status == 200 {
        let out = single(list_path, None)?;
        println!(
            "GET {list_path}: p50 {} p90 {} p99 {} max {} (HTTP)",
            out.p50, out.p90, out.p99, out.max
        );
    } else {
        println!(
            "GET {list_path} answers {status} on this build (the route is not on this branch yet); timing the same query in-process:"
        );
        let timings = time_most_shared(&mut conn, 500)?;
        println!(
            "most-shared list (db::articles::list, -share_count, 20 rows with authors and tags, published & visible): p50 {:.2} ms p90 {:.2} ms p99 {:.2} ms max {:.2} ms over {} runs",
            timings.0, timings.1, timings.2, timings.3, 500
        );
    }
    drop(server);

    let events = scalar(&mut conn, "SELECT COUNT(*) AS n FROM share_events")?;
    let counts = scalar(
        &mut conn,
        "SELECT CAST(COALESCE(SUM(count), 0) AS BIGINT) AS n FROM share_counts",
    )?;
    let daily = scalar(
        &mut conn,
        "SELECT CAST(COALESCE(SUM(count), 0) AS BIGINT) AS n FROM share_daily",
    )?;
    let totals = scalar(
        &mut conn,
        "SELECT CAST(COALESCE(SUM(count), 0) AS BIGINT) AS n FROM share_daily_totals",
    )?;
    let articles = scalar(
        &mut conn,
        "SELECT CAST(COALESCE(SUM(share_count), 0) AS BIGINT) AS n FROM articles",
    )?;
    println!(
        "\nconsistency: events {events}, share_counts {counts}, share_daily {daily}, share_daily_totals {totals}, articles.share_count {articles} -> {}",
        if [counts, daily, totals, articles].iter().all(|n| *n == events) {
            "all equal"
        } else {
            "MISMATCH"
        }
    );
    println!("events added by this run: {}", events - before_max.min(events));
    Ok(())
}

fn reset(s: &Settings, backend: Backend, url: &str) -> Result<(), Error> {
    match backend {
        Backend::Sqlite => {
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(s.dir.join(format!("shares.db{suffix}")));
            }
        }
        Backend::Postgres => {
            let (admin_url, name) = url
                .rsplit_once('/')
                .map(|(base, name)| (format!("{base}/postgres"), name.to_string()))
                .ok_or("BENCH_PG_URL needs a database name")?;
            let mut admin = PgConnection::establish(&admin_url)?;
            // Separate statements: a multi-statement string runs as one
            // transaction, where DROP DATABASE is refused.
            admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))?;
            admin.batch_execute(&format!("CREATE DATABASE {name}"))?;
        }
    }
    Ok(())
}

fn binary() -> &'static str {
    env!("CARGO_BIN_EXE_broadsheet")
}

fn create_admin(url: &str) -> Result<(), Error> {
    let mut child = Command::new(binary())
        .args([
            "editor",
            "create",
            "--email",
            ADMIN_EMAIL,
            "--name",
            "Bench Admin",
            "--role",
            "admin",
            "--password-stdin",
        ])
        .env("DATABASE_URL", url)
        .env("JWT_SECRET", JWT_SECRET)
        .env("DEMO_CONTENT", "false")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()?;
    child
        .stdin
        .take()
        .ok_or("no stdin")?
        .write_all(format!("{ADMIN_PASSWORD}\n").as_bytes())?;
    if !child.wait()?.success() {
        return Err("`broadsheet editor create` failed".into());
    }
    Ok(())
}

/// The channel mix of the seed: whatsapp and facebook lead, `other` is rare.
const CHANNEL_CASE: &str = "CASE WHEN c < 20 THEN 'whatsapp' WHEN c < 38 THEN 'facebook' \
    WHEN c < 54 THEN 'x' WHEN c < 68 THEN 'email' WHEN c < 80 THEN 'copy_link' \
    WHEN c < 88 THEN 'linkedin' WHEN c < 93 THEN 'reddit' WHEN c < 97 THEN 'telegram' \
    ELSE 'other' END";

fn seed(s: &Settings, backend: Backend, url: &str) -> Result<(), Error> {
    let mut conn = connect(url)?;
    let (a, e) = (s.articles, s.events);
    // Article `1 + r²/A` for uniform r: a few very popular articles, a long
    // tail, every article shared. 2% of articles are archived (withdrawn
    // after being shared), so the public list must skip them.
    let step = |label: &str, conn: &mut DbConnection, sql: &str| -> Result<(), Error> {
        let t = Instant::now();
        conn.batch_execute(sql)?;
        println!("  {label}: {:.1} s", t.elapsed().as_secs_f64());
        Ok(())
    };
    match backend {
        Backend::Sqlite => {
            step(
                "pragmas",
                &mut conn,
                "PRAGMA journal_mode = WAL; PRAGMA synchronous = OFF; \
                 PRAGMA cache_size = -262144; PRAGMA temp_store = MEMORY;",
            )?;
            step(
                "articles",
                &mut conn,
                &format!(
                    "WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < {a}) \
                     INSERT INTO articles (slug, title, excerpt, excerpt_custom, body_markdown, body_html, \
                       status, author_id, word_count, reading_time_minutes, comments_enabled, \
                       comment_count, share_count, published_at, created_at, updated_at) \
                     SELECT 'bench-article-' || n, 'Bench article ' || n, 'Excerpt of article ' || n, 0, \
                       'Body of bench article ' || n, '<p>Body of bench article ' || n || '</p>', \
                       CASE WHEN n % 50 = 0 THEN 'archived' ELSE 'published' END, \
                       (SELECT MIN(id) FROM editors), 5, 1, 1, 0, 0, \
                       datetime('now', '-' || (n % 400) || ' days'), \
                       datetime('now', '-400 days'), datetime('now', '-400 days') FROM seq;"
                ),
            )?;
            step(
                "events",
                &mut conn,
                &format!(
                    "DROP INDEX share_events_article; DROP INDEX share_events_created; \
                     WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < {e}) \
                     INSERT INTO share_events (article_id, channel, created_at) \
                     SELECT 1 + (r * r) / {a}, {CHANNEL_CASE}, \
                       datetime(unixepoch('now') - age, 'unixepoch') \
                     FROM (SELECT abs(random()) % {a} AS r, abs(random()) % 100 AS c, \
                                  abs(random()) % 31536000 AS age FROM seq);"
                ),
            )?;
            step(
                "event indexes",
                &mut conn,
                "CREATE INDEX share_events_article ON share_events (article_id, created_at, id); \
                 CREATE INDEX share_events_created ON share_events (created_at, id);",
            )?;
            step(
                "counters and rollups",
                &mut conn,
                "INSERT INTO share_counts (article_id, channel, count) \
                   SELECT article_id, channel, COUNT(*) FROM share_events GROUP BY article_id, channel; \
                 INSERT INTO share_daily (day, article_id, channel, count) \
                   SELECT date(created_at), article_id, channel, COUNT(*) FROM share_events \
                   GROUP BY article_id, date(created_at), channel; \
                 INSERT INTO share_daily_totals (day, channel, count) \
                   SELECT day, channel, SUM(count) FROM share_daily GROUP BY day, channel; \
                 UPDATE articles SET share_count = COALESCE((SELECT SUM(count) FROM share_counts \
                   WHERE share_counts.article_id = articles.id), 0);",
            )?;
            step("analyze", &mut conn, "ANALYZE; PRAGMA wal_checkpoint(TRUNCATE);")?;
        }
        Backend::Postgres => {
            step(
                "articles",
                &mut conn,
                &format!(
                    "SET session_replication_role = replica; \
                     INSERT INTO articles (slug, title, excerpt, excerpt_custom, body_markdown, body_html, \
                       status, author_id, word_count, reading_time_minutes, comments_enabled, \
                       comment_count, share_count, published_at, created_at, updated_at) \
                     SELECT 'bench-article-' || n, 'Bench article ' || n, 'Excerpt of article ' || n, false, \
                       'Body of bench article ' || n, '<p>Body of bench article ' || n || '</p>', \
                       CASE WHEN n % 50 = 0 THEN 'archived' ELSE 'published' END, \
                       (SELECT MIN(id) FROM editors), 5, 1, true, 0, 0, \
                       date_trunc('second', now() AT TIME ZONE 'UTC') - make_interval(days => (n % 400)::int), \
                       date_trunc('second', now() AT TIME ZONE 'UTC') - interval '400 days', \
                       date_trunc('second', now() AT TIME ZONE 'UTC') - interval '400 days' \
                     FROM generate_series(1, {a}) AS n;"
                ),
            )?;
            step(
                "events",
                &mut conn,
                &format!(
                    "SET session_replication_role = replica; \
                     DROP INDEX share_events_article; DROP INDEX share_events_created; \
                     INSERT INTO share_events (article_id, channel, created_at) \
                     SELECT 1 + (r * r) / {a}, {CHANNEL_CASE}, \
                       date_trunc('second', now() AT TIME ZONE 'UTC') - make_interval(secs => age) \
                     FROM (SELECT floor(random() * {a})::bigint AS r, floor(random() * 100)::int AS c, \
                                  floor(random() * 31536000)::int AS age \
                           FROM generate_series(1, {e})) AS s;"
                ),
            )?;
            step(
                "event indexes",
                &mut conn,
                "SET maintenance_work_mem = '512MB'; \
                 CREATE INDEX share_events_article ON share_events (article_id, created_at, id); \
                 CREATE INDEX share_events_created ON share_events (created_at, id);",
            )?;
            step(
                "counters and rollups",
                &mut conn,
                "SET session_replication_role = replica; SET work_mem = '256MB'; \
                 INSERT INTO share_counts (article_id, channel, count) \
                   SELECT article_id, channel, COUNT(*) FROM share_events GROUP BY article_id, channel; \
                 INSERT INTO share_daily (day, article_id, channel, count) \
                   SELECT created_at::date, article_id, channel, COUNT(*) FROM share_events \
                   GROUP BY article_id, created_at::date, channel; \
                 INSERT INTO share_daily_totals (day, channel, count) \
                   SELECT day, channel, SUM(count) FROM share_daily GROUP BY day, channel; \
                 UPDATE articles SET share_count = c.n FROM \
                   (SELECT article_id, SUM(count) AS n FROM share_counts GROUP BY article_id) AS c \
                   WHERE c.article_id = articles.id; \
                 UPDATE article_status_counts SET count = \
                   (SELECT COUNT(*) FROM articles WHERE articles.status = article_status_counts.status); \
                 INSERT INTO article_embeds SELECT * FROM article_embeds_live \
                   ON CONFLICT (article_id) DO NOTHING;",
            )?;
            step("vacuum analyze", &mut conn, "VACUUM ANALYZE;")?;
        }
    }
    Ok(())
}

/// wrk's Lua: a POST of a random channel to a random seeded article
/// (uniform over all of them), or with `hot` > 0, 90% of presses to
/// articles 1..=hot (the seed's most shared) and 10% uniform.
fn post_script(articles: u64, hot: u64) -> String {
    let hot = if hot == 0 { articles } else { hot.min(articles) };
    let hot_share = if hot == articles { 0 } else { 90 };
    format!(
        r#"local channels = {{"email", "facebook", "x", "linkedin", "whatsapp", "telegram", "reddit", "copy_link", "other"}}
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
function setup(thread)
  thread:set("seed", math.random(1, 1000000))
end
function init(args)
  math.randomseed(seed or os.time())
end
request = function()
  local n = math.random(1, {articles})
  if math.random(1, 100) <= {hot_share} then n = math.random(1, {hot}) end
  -- archived articles (every 50th) answer 404: skip them
  if n % 50 == 0 then n = n - 1 end
  local c = channels[math.random(1, #channels)]
  return wrk.format(nil, "/api/v1/articles/bench-article-" .. n .. "/shares", nil, '{{"channel":"' .. c .. '"}}')
end
"#
    )
}

struct WrkOutput {
    raw: String,
    rps: f64,
    requests: u64,
    non_2xx: u64,
    p50: String,
    p90: String,
    p99: String,
    max: String,
}

fn wrk(s: &Settings, args: &[&str]) -> Result<WrkOutput, Error> {
    let threads = s.wrk_threads.to_string();
    let connections = s.connections.to_string();
    let mut all = vec!["-t", &threads, "-c", &connections, "--latency"];
    all.extend_from_slice(args);
    wrk_raw(&all)
}

fn wrk_raw(args: &[&str]) -> Result<WrkOutput, Error> {
    let mut all: Vec<&str> = args.to_vec();
    if !all.contains(&"--latency") {
        all.insert(0, "--latency");
    }
    let out = Command::new("wrk").args(&all).output()?;
    let raw = String::from_utf8_lossy(&out.stdout).into_owned();
    if !out.status.success() {
        return Err(format!("wrk failed: {raw}{}", String::from_utf8_lossy(&out.stderr)).into());
    }
    let field = |prefix: &str| -> Option<String> {
        raw.lines()
            .map(str::trim)
            .find(|l| l.starts_with(prefix))
            .and_then(|l| l[prefix.len()..].split_whitespace().next())
            .map(str::to_string)
    };
    let requests = raw
        .lines()
        .find(|l| l.contains("requests in"))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    let max = raw
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("Latency"))
        .and_then(|l| l.split_whitespace().nth(3))
        .unwrap_or("?")
        .to_string();
    Ok(WrkOutput {
        rps: field("Requests/sec:").and_then(|v| v.parse().ok()).unwrap_or(0.0),
        requests,
        non_2xx: field("Non-2xx or 3xx responses:")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0),
        p50: field("50%").unwrap_or_default(),
        p90: field("90%").unwrap_or_default(),
        p99: field("99%").unwrap_or_default(),
        max,
        raw,
    })
}

fn time_most_shared(conn: &mut DbConnection, runs: usize) -> Result<(f64, f64, f64, f64), Error> {
    let mut millis = Vec::with_capacity(runs);
    for _ in 0..runs {
        let started = Instant::now();
        let filter = ListFilter {
            visible_at: Some(broadsheet::domain::date::now()),
            ..ListFilter::default()
        };
        let views = broadsheet::db::articles::list(
            conn,
            &filter,
            Order::Public(ArticleSort::MostShared),
            None,
            0,
            20,
        )?;
        millis.push(started.elapsed().as_secs_f64() * 1000.0);
        if views.len() != 20 {
            return Err(format!("expected 20 articles, got {}", views.len()).into());
        }
    }
    millis.sort_by(f64::total_cmp);
    let at = |q: f64| millis[((millis.len() as f64 - 1.0) * q) as usize];
    Ok((at(0.5), at(0.9), at(0.99), at(1.0)))
}

/// The release server, stopped when dropped.
struct Server {
    child: Child,
    addr: String,
}

impl Server {
    fn start(s: &Settings, url: &str) -> Result<Server, Error> {
        let mut cmd = Command::new(binary());
        cmd.arg("serve")
            .env("DATABASE_URL", url)
            .env("BIND_ADDR", &s.addr)
            .env("JWT_SECRET", JWT_SECRET)
            .env("DEMO_CONTENT", "false")
            .env("RATE_LIMIT_SHARES_PER_MINUTE", "0")
            .env("RATE_LIMIT_LOGIN_PER_MINUTE", "0")
            .env("SHARE_DEDUP_SECONDS", "0")
            // One access-log line per request would measure the terminal.
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null());
        if let Some(n) = &s.batch_max {
            cmd.env("SHARE_BATCH_MAX", n);
        }
        let server = Server {
            child: cmd.spawn()?,
            addr: s.addr.clone(),
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if server.get_status("/readyz").is_ok_and(|s| s == 200) {
                return Ok(server);
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        Err("the server did not become ready within 60 s".into())
    }

    fn http(&self, request: &str) -> Result<String, Error> {
        let mut stream = TcpStream::connect(&self.addr)?;
        stream.write_all(request.as_bytes())?;
        let mut response = String::new();
        stream.read_to_string(&mut response)?;
        Ok(response)
    }

    fn get_status(&self, path: &str) -> Result<u16, Error> {
        let response = self.http(&format!(
            "GET {path} HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n"
        ))?;
        Ok(response
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0))
    }

    fn login(&self) -> Result<String, Error> {
        let body = serde_json::json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}).to_string();
        let response = self.http(&format!(
            "POST /api/v1/auth/login HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ))?;
        let json = response
            .split("\r\n\r\n")
            .nth(1)
            .ok_or("no body in the login response")?;
        let value: serde_json::Value = serde_json::from_str(json)?;
        value["access_token"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| format!("login failed: {response}").into())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
