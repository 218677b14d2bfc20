//! Harness for the fault tests: the real `broadsheet` binary as a child
//! process on a free port and its own database, a minimal HTTP client
//! ([`http`]), a TCP proxy that can cut the database off ([`proxy`]), and
//! direct SQL checks of the stored invariants.

#[path = "../../api/support/db.rs"]
pub mod db;
pub mod http;
pub mod pgbouncer;
pub mod proxy;
#[path = "../../api/support/settings.rs"]
pub mod settings;
pub mod standby;

use std::io::Write;
use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use diesel::{Connection, PgConnection, RunQueryDsl, SqliteConnection, sql_query};
use serde_json::{Value, json};

pub use db::{Backend, TestDb};
pub use http::{Client, Conn, HttpError, Reply};

pub const ADMIN_EMAIL: &str = "faults@example.com";
pub const PASSWORD: &str = "a long fault-test passphrase";
const JWT_SECRET: &str = "fault-test-secret-fault-test-secret-0123";

/// Generous on a loaded two-core machine; no assertion depends on it
/// being short.
pub const CLIENT_TIMEOUT: Duration = Duration::from_secs(30);

/// A test's database and scratch directory (server logs, the SQLite file),
/// with an admin created through the command line.
pub struct TestEnv {
    pub db: TestDb,
    pub dir: tempfile::TempDir,
    starts: AtomicU32,
}

impl TestEnv {
    /// `None`, announced as `SKIPPED (no PostgreSQL)`, for PostgreSQL when
    /// `TEST_DATABASE_URL` is unset (a failure with `REQUIRE_POSTGRES=1`).
    pub fn new(backend: Backend) -> Option<TestEnv> {
        let db = TestDb::for_backend(backend)?;
        let env = TestEnv {
            db,
            dir: tempfile::tempdir().expect("temp dir"),
            starts: AtomicU32::new(0),
        };
        env.create_admin(env.db.url());
        Some(env)
    }

    pub fn url(&self) -> &str {
        self.db.url()
    }

    /// `broadsheet editor create --role admin --password-stdin`.
    fn create_admin(&self, database_url: &str) {
        let mut child = Command::new(env!("CARGO_BIN_EXE_broadsheet"))
            .args([
                "editor",
                "create",
                "--email",
                ADMIN_EMAIL,
                "--name",
                "Fault Tester",
            ])
            .args(["--role", "admin", "--password-stdin"])
            .env_clear()
            .envs(base_vars(database_url))
            .current_dir(self.dir.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run broadsheet editor create");
        writeln!(child.stdin.take().expect("stdin"), "{PASSWORD}").expect("write password");
        let out = child.wait_with_output().expect("editor create");
        assert!(
            out.status.success(),
            "editor create failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Starts the server on `database_url` (the test's own, or a proxy in
    /// front of it) with `extra` settings. Panics when a key of `extra` is
    /// not a setting (the server would ignore it; see `settings`).
    pub fn start_on(&self, database_url: &str, extra: &[(&str, &str)]) -> Server {
        let vars = base_vars(database_url)
            .into_iter()
            .chain(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())))
            .collect();
        let overrides: Vec<&str> = extra.iter().map(|(k, _)| *k).collect();
        settings::assert_known(&vars, &overrides);
        for _ in 0..3 {
            let n = self.starts.fetch_add(1, Ordering::Relaxed);
            let log = self.dir.path().join(format!("server-{n}.log"));
            let port = free_port();
            let addr: SocketAddr = format!("127.0.0.1:{port}").parse().expect("addr");
            let file = std::fs::File::create(&log).expect("log file");
            let child = Command::new(env!("CARGO_BIN_EXE_broadsheet"))
                .env_clear()
                .envs(base_vars(database_url))
                .env("BIND_ADDR", addr.to_string())
                .envs(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())))
                .current_dir(self.dir.path())
                .stdin(Stdio::null())
                .stdout(file.try_clone().expect("log file"))
                .stderr(file)
                .spawn()
                .expect("start broadsheet");
            let mut server = Server { child, addr, log };
            match server.wait_until_up() {
                Ok(()) => return server,
                // Another process took the port between our probe and its bind.
                Err(log) if log.contains("cannot listen") => continue,
                Err(log) => panic!("the server did not start:\n{log}"),
            }
        }
        panic!("no free port after three tries");
    }

    pub fn start(&self, extra: &[(&str, &str)]) -> Server {
        self.start_on(self.url(), extra)
    }
}

/// Settings every child process gets: a fixed secret (tokens survive a
/// restart), no demo content, no rate limits, no de-duplication of shares,
/// comments approved at once (so they are counted), warnings only.
pub fn base_vars(database_url: &str) -> Vec<(String, String)> {
    [
        ("DATABASE_URL", database_url),
        ("JWT_SECRET", JWT_SECRET),
        ("DEMO_CONTENT", "false"),
        ("RATE_LIMIT_COMMENTS_PER_MINUTE", "0"),
        ("RATE_LIMIT_SHARES_PER_MINUTE", "0"),
        ("RATE_LIMIT_LOGIN_PER_MINUTE", "0"),
        ("SHARE_DEDUP_SECONDS", "0"),
        ("COMMENT_MODERATION", "none"),
        ("COMMENT_MAX_LINKS", "100"),
        ("WORKERS", "2"),
        ("RUST_LOG", "warn"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port()
}

/// The server process.
pub struct Server {
    child: Child,
    pub addr: SocketAddr,
    log: PathBuf,
}

impl Server {
    fn wait_until_up(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(90);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return Err(self.log());
            }
            if let Ok(reply) = self.client().get("/healthz")
                && reply.status == 200
            {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err(format!("not up after 90 s:\n{}", self.log()))
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn client(&self) -> Client {
        Client::new(self.addr, CLIENT_TIMEOUT)
    }

    /// SIGKILL: no chance to flush, finish or say goodbye.
    pub fn kill9(&mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("reap");
    }

    /// Sends a signal by name (`TERM`, `INT`).
    pub fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args([&format!("-{name}"), &self.pid().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -{name} failed");
    }

    /// Waits up to `limit` for the process to exit.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + limit;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// A client signed in as the admin.
    pub fn admin(&self) -> Client {
        let mut client = self.client();
        let reply = client
            .post(
                "/api/v1/auth/login",
                &json!({"email": ADMIN_EMAIL, "password": PASSWORD}),
            )
            .expect("login");
        assert_eq!(reply.status, 200, "login: {}", reply.text());
        let token = reply.json()["access_token"].as_str().expect("token").to_string();
        client.with_token(&token)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Creates a published article with tags through the API; returns it.
pub fn create_article(admin: &mut Client, title: &str, tags: &[&str]) -> Value {
    let reply = admin
        .post(
            "/api/v1/admin/articles",
            &json!({
                "title": title,
                "subtitle": format!("Standfirst of {title}"),
                "body_markdown": format!("First paragraph of {title}.\n\n> A pull quote.\n\nLast paragraph."),
                "tags": tags,
                "status": "published",
            }),
        )
        .expect("create article");
    assert_eq!(reply.status, 201, "create article: {}", reply.text());
    reply.json()
}

/// Direct SQL on the test's database, for invariants the API does not show.
pub enum Sql {
    Pg(PgConnection),
    Sqlite(SqliteConnection),
}

#[derive(diesel::QueryableByName)]
struct Scalar {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

impl Sql {
    pub fn open(url: &str) -> Sql {
        if url.starts_with("postgres") {
            Sql::Pg(PgConnection::establish(url).expect("connect to PostgreSQL"))
        } else {
            let path = url.strip_prefix("sqlite://").unwrap_or(url);
            Sql::Sqlite(SqliteConnection::establish(path).expect("open SQLite"))
        }
    }

    /// One `BIGINT` named `n`.
    pub fn scalar(&mut self, sql: &str) -> i64 {
        let row: Scalar = match self {
            Sql::Pg(c) => sql_query(sql).get_result(c),
            Sql::Sqlite(c) => sql_query(sql).get_result(c),
        }
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
        row.n
    }

    /// Runs statements that return nothing (DDL, inserts).
    pub fn execute(&mut self, sql: &str) {
        use diesel::connection::SimpleConnection;
        match self {
            Sql::Pg(c) => c.batch_execute(sql),
            Sql::Sqlite(c) => c.batch_execute(sql),
        }
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }

    /// Every counter the service keeps beside the rows it counts, checked
    /// against a count of those rows; returns the violations, by name.
    pub fn counter_violations(&mut self) -> Vec<String> {
        const CHECKS: [(&str, &str); 6] = [
            (
                "articles.share_count = number of share_events",
                "SELECT COUNT(*) AS n FROM articles a WHERE a.share_count <> \
                 (SELECT COUNT(*) FROM share_events e WHERE e.article_id = a.id)",
            ),
            (
                "articles.share_count = sum of share_counts",
                "SELECT COUNT(*) AS n FROM articles a WHERE a.share_count <> \
                 (SELECT COALESCE(SUM(c.count), 0) FROM share_counts c WHERE c.article_id = a.id)",
            ),
            (
                "share_counts = events per (article, channel)",
                "SELECT COUNT(*) AS n FROM share_counts c WHERE c.count <> (SELECT COUNT(*) FROM share_events e \
                 WHERE e.article_id = c.article_id AND e.channel = c.channel)",
            ),
            (
                "sum of share_daily = number of events",
                "SELECT CAST(ABS((SELECT COALESCE(SUM(count), 0) FROM share_daily) - \
                 (SELECT COUNT(*) FROM share_events)) AS BIGINT) AS n",
            ),
            (
                "sum of share_daily_totals = number of events",
                "SELECT CAST(ABS((SELECT COALESCE(SUM(count), 0) FROM share_daily_totals) - \
                 (SELECT COUNT(*) FROM share_events)) AS BIGINT) AS n",
            ),
            (
                "articles.comment_count = approved comments",
                "SELECT COUNT(*) AS n FROM articles a WHERE a.comment_count <> (SELECT COUNT(*) FROM comments c \
                 WHERE c.article_id = a.id AND c.status = 'approved' AND NOT c.removed)",
            ),
        ];
        CHECKS
            .iter()
            .filter_map(|(name, sql)| {
                let n = self.scalar(sql);
                (n != 0).then(|| format!("{name}: {n} violation(s)"))
            })
            .collect()
    }
}

/// Runs `f` against SQLite and PostgreSQL as `name::sqlite` and
/// `name::postgres`.
#[macro_export]
macro_rules! fault_tests {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[test]
                fn sqlite() {
                    super::$name($crate::support::Backend::Sqlite)
                }
                #[test]
                fn postgres() {
                    super::$name($crate::support::Backend::Postgres)
                }
            }
        )*
    };
}
