//! A streaming replica of the test PostgreSQL, started by a test: a base
//! backup (`pg_basebackup -R`, which writes the standby settings) into a
//! temporary directory, then a `postgres` process on a free port, run as
//! the `postgres` OS user. Stopped, and its directory removed, when the
//! [`Standby`] is dropped, on every exit path of the test (panics
//! included).
//!
//! Needs the server binaries (Debian: `/usr/lib/postgresql/<major>/bin`,
//! the major version of the primary) and a primary that accepts
//! replication connections from 127.0.0.1 (`pg_hba.conf`: `host
//! replication all 127.0.0.1/32 trust`, which `.ci/run` adds when
//! missing; `wal_level = replica` and `max_wal_senders > 0`, Debian's
//! defaults). Without the binaries or the rights to run them,
//! [`Standby::start`] says `SKIPPED` on stderr and returns `None`; with
//! `REQUIRE_REPLICA=1` (CI) it fails instead.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::Sql;

pub struct Standby {
    child: Child,
    dir: tempfile::TempDir,
    /// The test database's URL on the replica.
    pub url: String,
}

/// Host, port and database name of a `postgres://user@host:port/db` URL.
fn parts(url: &str) -> (String, u16, String) {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let rest = rest.rsplit_once('@').map_or(rest, |(_, r)| r);
    let (hostport, db) = rest.split_once('/').unwrap_or((rest, "postgres"));
    let db = db.split('?').next().unwrap_or(db).to_string();
    let (host, port) = hostport.rsplit_once(':').unwrap_or((hostport, "5432"));
    (host.to_string(), port.parse().expect("port"), db)
}

fn skip(why: &str) -> Option<Standby> {
    let required = std::env::var("REQUIRE_REPLICA").is_ok_and(|v| matches!(v.trim(), "1" | "true" | "yes"));
    assert!(
        !required,
        "REQUIRE_REPLICA=1 but the replica test cannot run: {why}"
    );
    eprintln!(
        "SKIPPED (no streaming replica: {why}): {}",
        std::thread::current().name().unwrap_or("?")
    );
    None
}

/// The server binaries of the primary's major version.
fn binaries(primary_url: &str) -> Result<PathBuf, String> {
    let major =
        Sql::open(primary_url).scalar("SELECT current_setting('server_version_num')::bigint / 10000 AS n");
    let bin = PathBuf::from(format!("/usr/lib/postgresql/{major}/bin"));
    for tool in ["pg_basebackup", "postgres"] {
        if !bin.join(tool).is_file() {
            return Err(format!(
                "{} is missing (Debian package postgresql-{major})",
                bin.join(tool).display()
            ));
        }
    }
    Ok(bin)
}

/// `id -u postgres`, `id -g postgres`.
fn postgres_ids() -> Result<(u32, u32), String> {
    let id = |flag: &str| -> Result<u32, String> {
        let out = Command::new("id")
            .args([flag, "postgres"])
            .output()
            .map_err(|e| e.to_string())?;
        String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse()
            .map_err(|_| "no `postgres` OS user".to_string())
    };
    Ok((id("-u")?, id("-g")?))
}

fn as_postgres(bin: &Path, tool: &str, ids: (u32, u32)) -> Command {
    let mut command = Command::new("setpriv");
    command
        .args([
            "--reuid",
            &ids.0.to_string(),
            "--regid",
            &ids.1.to_string(),
            "--clear-groups",
            "--",
        ])
        .arg(bin.join(tool));
    command
}

impl Standby {
    /// A replica of the server behind `primary_url` (a database URL of the
    /// test's), streaming, accepting read-only connections.
    pub fn start(primary_url: &str) -> Option<Standby> {
        let bin = match binaries(primary_url) {
            Ok(bin) => bin,
            Err(why) => return skip(&why),
        };
        let ids = match postgres_ids() {
            Ok(ids) => ids,
            Err(why) => return skip(&why),
        };
        // Root may run a process as `postgres`; anyone else cannot here.
        if current_uid() != 0 && current_uid() != ids.0 {
            return skip("the tests run neither as root nor as the postgres user");
        }
        let dir = tempfile::Builder::new()
            .prefix("bs-standby")
            .tempdir()
            .expect("temp dir");
        std::os::unix::fs::chown(dir.path(), Some(ids.0), Some(ids.1)).expect("chown");
        let data = dir.path().join("data");
        let (host, primary_port, db) = parts(primary_url);
        // One base backup at a time from this process, and a second try:
        // a backup's WAL stream was once cut ("terminating connection due
        // to administrator command") while another test's ran.
        static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());
        let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
        let backup = || {
            as_postgres(&bin, "pg_basebackup", ids)
                .args(["-h", &host, "-p", &primary_port.to_string(), "-U", "postgres"])
                .arg("-D")
                .arg(&data)
                .args(["-R", "-X", "stream", "-c", "fast", "--no-sync"])
                .output()
                .expect("run pg_basebackup")
        };
        let mut out = backup();
        for _ in 0..2 {
            if out.status.success() {
                break;
            }
            eprintln!(
                "pg_basebackup failed, trying again: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            let _ = std::fs::remove_dir_all(&data);
            out = backup();
        }
        assert!(
            out.status.success(),
            "pg_basebackup failed (does the primary's pg_hba.conf allow `host replication all 127.0.0.1/32`? \
             .ci/run adds it): {}",
            String::from_utf8_lossy(&out.stderr)
        );
        // Debian keeps the configuration outside the data directory.
        for (file, text) in [
            ("postgresql.conf", ""),
            ("pg_ident.conf", ""),
            (
                "pg_hba.conf",
                "local all all trust\nhost all all 127.0.0.1/32 trust\n",
            ),
        ] {
            let path = data.join(file);
            if file == "pg_hba.conf" || !path.exists() {
                std::fs::write(&path, text).expect("write config");
                std::os::unix::fs::chown(&path, Some(ids.0), Some(ids.1)).expect("chown");
            }
        }
        let port = super::free_port();
        let log = std::fs::File::create(dir.path().join("standby.log")).expect("log");
        let child = as_postgres(&bin, "postgres", ids)
            .arg("-D")
            .arg(&data)
            .args(["-p", &port.to_string(), "-c", "listen_addresses=127.0.0.1"])
            .arg("-c")
            .arg(format!("unix_socket_directories={}", dir.path().display()))
            .args([
                "-c",
                "hot_standby=on",
                "-c",
                "shared_buffers=16MB",
                "-c",
                "fsync=off",
            ])
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("start the standby postgres");
        let url = format!("postgres://postgres@127.0.0.1:{port}/{db}");
        let mut standby = Standby { child, dir, url };
        standby.wait_ready();
        Some(standby)
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("the standby exited ({status}):\n{}", self.log());
            }
            let ready = diesel::Connection::establish(&self.url)
                .ok()
                .map(|c| Sql::Pg(c).scalar("SELECT pg_is_in_recovery()::int::bigint AS n"));
            if ready == Some(1) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "standby not ready after 60 s:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("standby.log")).unwrap_or_default()
    }

    /// A connection to the test database on the replica.
    pub fn sql(&self) -> Sql {
        Sql::open(&self.url)
    }

    /// Stops replaying WAL (it keeps receiving it): the replica falls behind.
    pub fn pause_replay(&self) {
        self.sql()
            .scalar("SELECT 1::bigint AS n FROM (SELECT pg_wal_replay_pause()) p");
    }

    pub fn resume_replay(&self) {
        self.sql()
            .scalar("SELECT 1::bigint AS n FROM (SELECT pg_wal_replay_resume()) p");
    }
}

/// This process's user id, read from `/proc` (no `libc` in the tests).
fn current_uid() -> u32 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .and_then(|l| l.split_whitespace().next().map(str::to_string))
        })
        .and_then(|u| u.parse().ok())
        .unwrap_or(u32::MAX)
}

impl Drop for Standby {
    fn drop(&mut self) {
        // Immediate shutdown (SIGQUIT): nothing here is worth a checkpoint.
        let _ = Command::new("kill")
            .args(["-QUIT", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return; // `dir` is removed after this, as a field.
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
