//! A real PgBouncer for the tests, in transaction pooling mode, in front of
//! the test PostgreSQL: its configuration in a temporary directory, a free
//! port, `auth_type = trust`, two server connections per database (so that
//! every client's statements are spread over shared server connections),
//! stopped on drop. PgBouncer refuses to run as root, so as root it runs as
//! the `postgres` user (`runuser`).

use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct PgBouncer {
    child: Child,
    pub port: u16,
    dir: tempfile::TempDir,
}

/// Where Debian puts it, or the `PATH`.
fn binary() -> Option<String> {
    [
        "/usr/sbin/pgbouncer",
        "/usr/bin/pgbouncer",
        "/usr/local/bin/pgbouncer",
    ]
    .into_iter()
    .find(|p| std::path::Path::new(p).exists())
    .map(str::to_string)
    .or_else(|| {
        let out = Command::new("sh")
            .args(["-c", "command -v pgbouncer"])
            .output()
            .ok()?;
        let path = String::from_utf8(out.stdout).ok()?.trim().to_string();
        (!path.is_empty()).then_some(path)
    })
}

impl PgBouncer {
    /// `None`, announced as `SKIPPED (no pgbouncer)`, when the binary is
    /// missing; a failure then if `REQUIRE_PGBOUNCER=1` (`.ci/run` installs
    /// it and sets that).
    pub fn start(upstream_host: &str, upstream_port: u16) -> Option<PgBouncer> {
        let Some(binary) = binary() else {
            assert!(
                std::env::var("REQUIRE_PGBOUNCER").as_deref() != Ok("1"),
                "REQUIRE_PGBOUNCER=1 but no pgbouncer binary (apt-get install pgbouncer)"
            );
            eprintln!("SKIPPED (no pgbouncer binary; apt-get install pgbouncer)");
            return None;
        };
        let dir = tempfile::tempdir().expect("temp dir");
        // Readable and writable by the `postgres` user it may run as.
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).expect("chmod");
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let d = dir.path().display();
        let config = format!(
            "[databases]\n* = host={upstream_host} port={upstream_port}\n\n[pgbouncer]\n\
             listen_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n\
             auth_type = trust\nauth_file = {d}/userlist.txt\n\
             pool_mode = transaction\ndefault_pool_size = 2\nmax_client_conn = 200\n\
             server_reset_query =\nignore_startup_parameters = extra_float_digits\n\
             logfile = {d}/pgbouncer.log\npidfile = {d}/pgbouncer.pid\n"
        );
        std::fs::write(dir.path().join("pgbouncer.ini"), config).expect("config");
        std::fs::write(dir.path().join("userlist.txt"), "\"postgres\" \"\"\n").expect("userlist");
        let ini = dir.path().join("pgbouncer.ini").display().to_string();
        let as_root = Command::new("id")
            .arg("-u")
            .output()
            .map(|o| o.stdout == b"0\n")
            .unwrap_or(false);
        let mut command = if as_root {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--", &binary, &ini]);
            c
        } else {
            let mut c = Command::new(&binary);
            c.arg(&ini);
            c
        };
        let child = command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start pgbouncer");
        let mut bouncer = PgBouncer { child, port, dir };
        bouncer.wait_until_listening();
        Some(bouncer)
    }

    fn wait_until_listening(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("pgbouncer exited ({status}):\n{}", self.log());
            }
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("pgbouncer not listening after 20 s:\n{}", self.log());
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("pgbouncer.log")).unwrap_or_default()
    }

    /// `url` (a `postgres://` URL of the upstream) with host and port
    /// replaced by PgBouncer's.
    pub fn url_for(&self, url: &str) -> String {
        let (scheme, rest) = url.split_once("://").expect("a URL");
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        let user = authority
            .rsplit_once('@')
            .map(|(u, _)| format!("{u}@"))
            .unwrap_or_default();
        format!("{scheme}://{user}127.0.0.1:{}/{path}", self.port)
    }
}

impl Drop for PgBouncer {
    fn drop(&mut self) {
        // PgBouncer itself (its pid file), and `runuser` in front of it.
        let pid = std::fs::read_to_string(self.dir.path().join("pgbouncer.pid")).unwrap_or_default();
        for pid in [pid.trim().to_string(), self.child.id().to_string()] {
            if !pid.is_empty() {
                let _ = Command::new("kill")
                    .args(["-TERM", &pid])
                    .stderr(Stdio::null())
                    .status();
            }
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
