//! One fresh database per test.
//!
//! - SQLite: a file in a temporary directory, deleted with it.
//! - PostgreSQL: a database cloned from a migrated template (`CREATE
//!   DATABASE … TEMPLATE`), dropped when the test ends. The template's name
//!   carries a hash of the migrations, so a changed migration builds a new
//!   one. Databases left by killed test processes are dropped at the next run.

use std::io::Write;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Once, OnceLock};

use diesel::{Connection, PgConnection, RunQueryDsl, sql_query};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Says on stderr that a PostgreSQL test did not run, so a machine without
/// PostgreSQL never passes that half silently; with `REQUIRE_POSTGRES=1`
/// (CI) the test fails instead.
pub fn report_skipped() {
    let name = std::thread::current().name().unwrap_or("?").to_string();
    refuse_skip_if(postgres_required(), &name);
    static BANNER: Once = Once::new();
    let mut stderr = std::io::stderr();
    BANNER.call_once(|| {
        let _ = writeln!(
            stderr,
            "\n*** PostgreSQL half SKIPPED: TEST_DATABASE_URL is not set. Set it (e.g. \
             TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test) to run every API test on PostgreSQL too. ***\n"
        );
    });
    let _ = writeln!(stderr, "SKIPPED (no PostgreSQL): {name}");
}

/// Fails the test `name` when skipping it is not allowed.
pub fn refuse_skip_if(required: bool, name: &str) {
    assert!(
        !required,
        "{name}: REQUIRE_POSTGRES=1 but TEST_DATABASE_URL is not set, so this PostgreSQL test \
         cannot run; set TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test"
    );
}

/// `REQUIRE_POSTGRES=1` (or `true`): a PostgreSQL half that cannot run fails.
pub fn postgres_required() -> bool {
    std::env::var("REQUIRE_POSTGRES").is_ok_and(|v| matches!(v.trim(), "1" | "true" | "yes"))
}

pub enum TestDb {
    Sqlite {
        url: String,
        _dir: tempfile::TempDir,
    },
    Postgres {
        url: String,
        name: String,
        admin_url: String,
    },
}

impl TestDb {
    pub fn url(&self) -> &str {
        match self {
            TestDb::Sqlite { url, .. } | TestDb::Postgres { url, .. } => url,
        }
    }

    /// A fresh database of `backend`; for PostgreSQL without
    /// `TEST_DATABASE_URL`, `None`, reported as skipped.
    pub fn for_backend(backend: Backend) -> Option<TestDb> {
        match backend {
            Backend::Sqlite => Some(TestDb::sqlite()),
            Backend::Postgres => {
                let db = TestDb::postgres();
                if db.is_none() {
                    report_skipped();
                }
                db
            }
        }
    }

    pub fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}/test.db", dir.path().display());
        TestDb::Sqlite { url, _dir: dir }
    }

    /// A new PostgreSQL database, or `None` when `TEST_DATABASE_URL` is unset.
    pub fn postgres() -> Option<TestDb> {
        let admin_url = std::env::var("TEST_DATABASE_URL")
            .ok()
            .filter(|u| !u.is_empty())?;
        let template = template(&admin_url);
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "bs_t_{}_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed),
            rand_suffix()
        );
        let mut conn = PgConnection::establish(&admin_url)
            .unwrap_or_else(|e| panic!("TEST_DATABASE_URL is set but PostgreSQL is unreachable: {e}"));
        // Several processes may clone at once; PostgreSQL serialises clones of
        // one template, retrying here covers the "being accessed" race.
        let mut attempts = 0;
        loop {
            match sql_query(format!("CREATE DATABASE {name} TEMPLATE {template}")).execute(&mut conn) {
                Ok(_) => break,
                Err(e) if attempts < 50 => {
                    attempts += 1;
                    let _ = e;
                    std::thread::sleep(std::time::Duration::from_millis(50));
                }
                Err(e) => panic!("cannot create test database: {e}"),
            }
        }
        Some(TestDb::Postgres {
            url: replace_db_name(&admin_url, &name),
            name,
            admin_url,
        })
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let TestDb::Postgres { name, admin_url, .. } = self
            && let Ok(mut conn) = PgConnection::establish(admin_url)
        {
            let _ = sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(&mut conn);
        }
    }
}

fn rand_suffix() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..8].to_string()
}

/// `postgres://u@h:5432/test?x=y` with the database name replaced.
pub fn replace_db_name(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (url, String::new()),
    };
    let scheme_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    let base = match base[scheme_end..].find('/') {
        Some(i) => &base[..scheme_end + i],
        None => base,
    };
    format!("{base}/{name}{query}")
}

/// Name of the migrated template database, created once per migration set.
fn template(admin_url: &str) -> String {
    static TEMPLATE: OnceLock<String> = OnceLock::new();
    TEMPLATE
        .get_or_init(|| {
            let name = format!("bs_tpl_{}", migrations_hash());
            let mut conn = PgConnection::establish(admin_url)
                .unwrap_or_else(|e| panic!("TEST_DATABASE_URL is set but PostgreSQL is unreachable: {e}"));
            sql_query("SELECT pg_advisory_lock(727272)")
                .execute(&mut conn)
                .expect("lock");
            drop_leftovers(&mut conn);
            #[derive(diesel::QueryableByName)]
            struct Exists {
                #[diesel(sql_type = diesel::sql_types::BigInt)]
                n: i64,
            }
            let exists: Exists = sql_query(format!(
                "SELECT count(*) AS n FROM pg_database WHERE datname = '{name}'"
            ))
            .get_result(&mut conn)
            .expect("query pg_database");
            if exists.n == 0 {
                let building = format!("{name}_building");
                let _ =
                    sql_query(format!("DROP DATABASE IF EXISTS {building} WITH (FORCE)")).execute(&mut conn);
                sql_query(format!("CREATE DATABASE {building}"))
                    .execute(&mut conn)
                    .expect("create template");
                broadsheet::db::migrate::run_pending(&replace_db_name(admin_url, &building))
                    .unwrap_or_else(|e| panic!("migrating the template failed: {e}"));
                sql_query(format!("ALTER DATABASE {building} RENAME TO {name}"))
                    .execute(&mut conn)
                    .expect("rename template");
            }
            sql_query("SELECT pg_advisory_unlock(727272)")
                .execute(&mut conn)
                .expect("unlock");
            name
        })
        .clone()
}

/// Drops test databases whose process is gone (killed runs). Templates are
/// left alone: another checkout (another branch, another migration set) may
/// be cloning its own at this moment.
fn drop_leftovers(conn: &mut PgConnection) {
    #[derive(diesel::QueryableByName)]
    struct Name {
        #[diesel(sql_type = diesel::sql_types::Text)]
        datname: String,
    }
    let names: Vec<Name> = sql_query("SELECT datname FROM pg_database WHERE datname LIKE 'bs\\_%'")
        .load(conn)
        .unwrap_or_default();
    for Name { datname } in names {
        let Some(rest) = datname.strip_prefix("bs_t_") else {
            continue;
        };
        let pid = rest.split('_').next().unwrap_or("");
        if !std::path::Path::new(&format!("/proc/{pid}")).exists() {
            let _ = sql_query(format!("DROP DATABASE IF EXISTS {datname} WITH (FORCE)")).execute(conn);
        }
    }
}

fn migrations_hash() -> String {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations/postgres");
    let mut entries: Vec<_> = walk(&dir);
    entries.sort();
    let mut all = Vec::new();
    for path in entries {
        // Relative names: the same migrations hash alike in every checkout.
        let relative = path.strip_prefix(&dir).unwrap_or(&path);
        all.extend_from_slice(relative.to_string_lossy().as_bytes());
        all.extend_from_slice(&std::fs::read(&path).unwrap_or_default());
    }
    format!("{:016x}", xxhash_rust::xxh3::xxh3_64(&all))
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Ok(read) = std::fs::read_dir(dir) {
        for entry in read.flatten() {
            let path = entry.path();
            if path.is_dir() {
                out.extend(walk(&path));
            } else {
                out.push(path);
            }
        }
    }
    out
}
