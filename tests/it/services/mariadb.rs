//! `MariaDb::shared()` is a throwaway `mariadbd` with its own data directory, port and binlog.
//! It is started from a thread that lives as long as the test process and gets
//! `PR_SET_PDEATHSIG`, so the server dies with the test binary however it ends.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, Instant};

use super::free_port;
use crate::util::require_tool;

pub struct MariaDb {
    pub port: u16,
    pub socket: PathBuf,
    pub dir: PathBuf,
    child: Mutex<Option<Child>>,
    /// Tests share the server; one that restarts it takes it for itself.
    lock: RwLock<()>,
}

/// The user the tests back up with: a real password, over TCP.
pub const USER: &str = "dxb";
pub const USER_PASSWORD: &str = "S3cret-pw-for-tests!";

impl MariaDb {
    /// The shared server, or `None` (test skipped) when MariaDB is not installed outside CI.
    pub fn shared() -> Option<&'static MariaDb> {
        static DB: OnceLock<Option<MariaDb>> = OnceLock::new();
        DB.get_or_init(|| {
            if !require_tool("mariadbd")
                || !require_tool("mariadb-dump")
                || !require_tool("mariadb-binlog")
            {
                return None;
            }
            Some(Self::start())
        })
        .as_ref()
    }

    fn start() -> MariaDb {
        let dir = std::env::temp_dir().join(format!("dxbackup-it-mariadb-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let out = Command::new("mariadb-install-db")
            .args([
                "--no-defaults",
                "--auth-root-authentication-method=normal",
                "--skip-test-db",
            ])
            .arg(format!("--datadir={}", dir.join("data").display()))
            .output()
            .expect("mariadb-install-db");
        assert!(
            out.status.success(),
            "mariadb-install-db: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let port = free_port();
        let db = MariaDb {
            port,
            socket: dir.join("sock"),
            dir: dir.clone(),
            child: Mutex::new(None),
            lock: RwLock::new(()),
        };
        db.spawn();
        db.sql(&format!(
            "CREATE USER '{USER}'@'%' IDENTIFIED BY '{USER_PASSWORD}'; GRANT ALL ON *.* TO '{USER}'@'%' WITH GRANT OPTION; \
             CREATE USER '{USER}'@'localhost' IDENTIFIED BY '{USER_PASSWORD}'; GRANT ALL ON *.* TO '{USER}'@'localhost';"
        ));
        db
    }

    /// Held by every test using the server while it runs.
    pub fn share(&self) -> RwLockReadGuard<'_, ()> {
        self.lock.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Held by a test that stops or restarts the server.
    pub fn exclusive(&self) -> RwLockWriteGuard<'_, ()> {
        self.lock.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Starts (or restarts) `mariadbd` on the same data directory and port.
    pub fn spawn(&self) {
        let (tx, rx) = std::sync::mpsc::channel();
        let args = self.server_args();
        // The spawning thread lives forever: PDEATHSIG fires when the test process ends.
        std::thread::spawn(move || {
            let mut cmd = Command::new("mariadbd");
            cmd.args(&args).stdout(Stdio::null()).stderr(Stdio::null());
            // SAFETY: the closure runs in the forked child before exec and only calls
            // prctl(2), which is async-signal-safe.
            unsafe {
                cmd.pre_exec(|| {
                    libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                    Ok(())
                });
            }
            tx.send(cmd.spawn().expect("spawn mariadbd")).unwrap();
            loop {
                std::thread::park();
            }
        });
        *self.child.lock().unwrap() = Some(rx.recv().unwrap());
        self.wait_ready();
    }

    fn server_args(&self) -> Vec<String> {
        let d = &self.dir;
        vec![
            "--no-defaults".into(),
            format!("--datadir={}", d.join("data").display()),
            format!("--port={}", self.port),
            "--bind-address=127.0.0.1".into(),
            format!("--socket={}", self.socket.display()),
            format!("--pid-file={}", d.join("pid").display()),
            format!("--log-bin={}", d.join("data/mysql-bin").display()),
            "--server-id=1".into(),
            "--binlog-format=ROW".into(),
            "--user=root".into(),
            "--innodb-buffer-pool-size=128M".into(),
            "--innodb-flush-log-at-trx-commit=2".into(),
            "--event-scheduler=OFF".into(),
            format!("--log-error={}", d.join("error.log").display()),
        ]
    }

    fn wait_ready(&self) {
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(60) {
            if self.try_sql("SELECT 1").is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        panic!(
            "mariadbd did not start; see {}",
            self.dir.join("error.log").display()
        );
    }

    /// Kills the server hard (a crash), to be started again with `spawn`.
    pub fn kill(&self) {
        if let Some(mut c) = self.child.lock().unwrap().take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Runs SQL as root over the socket; panics with the client's message on failure.
    pub fn sql(&self, sql: &str) -> String {
        self.try_sql(sql)
            .unwrap_or_else(|e| panic!("SQL failed: {e}\n{sql}"))
    }

    pub fn try_sql(&self, sql: &str) -> Result<String, String> {
        let out = Command::new("mariadb")
            .args([
                "--no-defaults",
                "-uroot",
                "-N",
                "-B",
                "--default-character-set=utf8mb4",
            ])
            .arg(format!("--socket={}", self.socket.display()))
            .arg("-e")
            .arg(sql)
            .output()
            .map_err(|e| e.to_string())?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).into_owned())
        }
    }

    /// `CHECKSUM TABLE` and row count of every base table of a database, by table name.
    pub fn fingerprint(&self, db: &str) -> Vec<String> {
        let tables = self.sql(&format!(
            "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA='{db}' AND TABLE_TYPE='BASE TABLE' ORDER BY 1"
        ));
        tables
            .lines()
            .map(|t| {
                let sum = self.sql(&format!("CHECKSUM TABLE `{db}`.`{t}`"));
                let sum = sum.split('\t').nth(1).unwrap_or_default().to_string();
                let rows = self.sql(&format!("SELECT COUNT(*) FROM `{db}`.`{t}`"));
                format!("{t} rows={rows} checksum={sum}")
            })
            .collect()
    }

    /// A `[source.NAME]` block reaching this server over TCP with a password file.
    pub fn source_toml(&self, name: &str, dbs: &str, password_file: &Path) -> String {
        format!(
            "[source.{name}]\nkind = \"mysql\"\nhost = \"127.0.0.1\"\nport = {}\nuser = \"{USER}\"\npassword-file = \"{}\"\ndatabases = {dbs}\ntier = \"critical\"\nbinlog-flush = \"1s\"\n",
            self.port,
            password_file.display()
        )
    }
}
