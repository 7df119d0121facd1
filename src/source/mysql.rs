//! MySQL/MariaDB sources: how to reach a server (a query connection, and client tools that
//! take the password from a private option file, never argv), which tool names its flavour
//! uses, and the pieces built on that: consistent full dumps, the binlog archive and
//! point-in-time restores.

pub mod archiver;
pub mod binlog;
pub mod chain;
pub mod dump;
pub mod mydumper;
pub mod physical;
pub mod replay;
mod stderr;

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use mysql::prelude::Queryable;
use mysql::{Conn, OptsBuilder};

#[derive(Debug, thiserror::Error)]
pub enum MysqlError {
    // The driver's error is shown through `cause()`, not as an error source: its Display
    // wraps the server's message in Rust debug syntax, and `{:#}` would print it twice.
    #[error("cannot connect to {target} as `{user}`: {}; check host/port/socket, the user and its password", cause(.error))]
    Connect {
        target: String,
        user: String,
        error: mysql::Error,
    },
    #[error("{what} on {target}: {}", cause(.error))]
    Query {
        target: String,
        what: String,
        error: mysql::Error,
    },
    #[error("{tool} failed ({status}): {stderr}")]
    Tool {
        tool: String,
        status: String,
        stderr: String,
    },
    #[error("{context}: {source}")]
    Io {
        context: String,
        source: std::io::Error,
    },
    #[error("{0}")]
    Invalid(String),
}

pub type Result<T, E = MysqlError> = std::result::Result<T, E>;

/// The server's own words (`ERROR 1045 (28000): Access denied ...`), or the driver's.
fn cause(e: &mysql::Error) -> String {
    match e {
        mysql::Error::MySqlError(m) => format!("ERROR {} ({}): {}", m.code, m.state, m.message),
        mysql::Error::IoError(io) => io.to_string(),
        other => other.to_string(),
    }
}

/// Where a server is and who we are on it.
#[derive(Clone)]
pub struct Server {
    pub host: Option<String>,
    pub port: u16,
    pub socket: Option<PathBuf>,
    pub user: String,
    pub password: Option<String>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Server({})", self.describe())
    }
}

/// MariaDB and MySQL ship differently named tools and flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Flavor {
    MariaDb,
    MySql,
}

impl Flavor {
    pub fn from_version(version: &str) -> Self {
        if version.to_ascii_lowercase().contains("mariadb") {
            Self::MariaDb
        } else {
            Self::MySql
        }
    }
    pub fn dump_tool(self) -> &'static str {
        match self {
            Self::MariaDb => "mariadb-dump",
            Self::MySql => "mysqldump",
        }
    }
    pub fn binlog_tool(self) -> &'static str {
        match self {
            Self::MariaDb => "mariadb-binlog",
            Self::MySql => "mysqlbinlog",
        }
    }
    pub fn client_tool(self) -> &'static str {
        match self {
            Self::MariaDb => "mariadb",
            Self::MySql => "mysql",
        }
    }
    /// `--master-data` was renamed `--source-data` in MySQL 8.0.26; MariaDB keeps the old name.
    pub fn source_data_flag(self) -> &'static str {
        match self {
            Self::MariaDb => "--master-data=2",
            Self::MySql => "--source-data=2",
        }
    }
    pub fn gtid_variable(self) -> &'static str {
        match self {
            Self::MariaDb => "@@gtid_binlog_pos",
            Self::MySql => "@@gtid_executed",
        }
    }
}

/// A 0600 option file holding the credentials, removed on drop: how client tools get the
/// password without it ever appearing in a process's argv or environment.
pub struct DefaultsFile {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

impl DefaultsFile {
    /// The argument that must come first on the tool's command line.
    pub fn arg(&self) -> String {
        format!("--defaults-extra-file={}", self.path.display())
    }
}

impl Server {
    pub fn describe(&self) -> String {
        match (&self.socket, &self.host) {
            (Some(s), _) => format!("socket {}", s.display()),
            (None, Some(h)) => format!("{h}:{}", self.port),
            (None, None) => format!("localhost:{}", self.port),
        }
    }

    /// A query connection with timeouts, utf8mb4.
    pub fn connect(&self) -> Result<Conn> {
        self.connect_with(Duration::from_secs(3600))
    }

    /// A connection whose reads (and writes) give up after `timeout`: for short queries to a
    /// server that may hang.
    pub fn connect_with(&self, timeout: Duration) -> Result<Conn> {
        let mut opts = OptsBuilder::new()
            .user(Some(self.user.clone()))
            .pass(self.password.clone())
            .tcp_connect_timeout(Some(Duration::from_secs(10)))
            .read_timeout(Some(timeout))
            .write_timeout(Some(timeout.min(Duration::from_secs(600))))
            .init(vec!["SET NAMES utf8mb4"]);
        opts = match (&self.socket, &self.host) {
            (Some(s), _) => opts.socket(Some(s.to_string_lossy().into_owned())),
            (None, h) => opts
                .ip_or_hostname(Some(h.clone().unwrap_or_else(|| "127.0.0.1".into())))
                .tcp_port(self.port)
                .prefer_socket(false),
        };
        Conn::new(opts).map_err(|error| MysqlError::Connect {
            target: self.describe(),
            user: self.user.clone(),
            error,
        })
    }

    pub fn query_err(
        &self,
        what: impl Into<String>,
    ) -> impl FnOnce(mysql::Error) -> MysqlError + '_ {
        let what = what.into();
        move |error| MysqlError::Query {
            target: self.describe(),
            what,
            error,
        }
    }

    /// The server's flavour, asked of the server itself.
    pub fn flavor(&self, conn: &mut Conn) -> Result<(Flavor, String)> {
        let version: String = conn
            .query_first("SELECT VERSION()")
            .map_err(self.query_err("reading the version"))?
            .unwrap_or_default();
        Ok((Flavor::from_version(&version), version))
    }

    /// Writes the private option file for client tools.
    pub fn defaults_file(&self) -> Result<DefaultsFile> {
        let io = |context: &str| {
            let context = context.to_string();
            move |source| MysqlError::Io { context, source }
        };
        let dir = tempfile::Builder::new()
            .prefix("dxbackup-my-")
            .tempdir()
            .map_err(io("cannot create a private temp folder"))?;
        let path = dir.path().join("client.cnf");
        let mut text = String::from("[client]\n");
        text += &format!("user={}\n", quote(&self.user));
        if let Some(pw) = &self.password {
            text += &format!("password={}\n", quote(pw));
        }
        match (&self.socket, &self.host) {
            (Some(s), _) => text += &format!("socket={}\n", quote(&s.to_string_lossy())),
            (None, h) => {
                text += &format!(
                    "host={}\nport={}\nprotocol=TCP\n",
                    quote(h.as_deref().unwrap_or("127.0.0.1")),
                    self.port
                )
            }
        }
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
            .map_err(io("cannot write the client option file"))?;
        f.write_all(text.as_bytes())
            .map_err(io("cannot write the client option file"))?;
        Ok(DefaultsFile { _dir: dir, path })
    }

    /// A client tool with the credentials already supplied.
    pub fn tool(&self, name: &str, defaults: &DefaultsFile) -> Command {
        let mut c = Command::new(name);
        c.arg(defaults.arg());
        c
    }
}

/// Option-file quoting: double quotes, with backslash and quote escaped.
fn quote(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// Connections to use at once for parallel work on a server: one per CPU here, at most `max`.
pub fn connections(max: usize) -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get().min(max))
}

/// Backtick-quotes an identifier for SQL.
pub fn ident(s: &str) -> String {
    format!("`{}`", s.replace('`', "``"))
}

/// Databases a server-wide backup never includes: they are the server's own.
pub const SYSTEM_DATABASES: [&str; 4] =
    ["mysql", "information_schema", "performance_schema", "sys"];

/// Reads a password from a file (first line) or an environment variable.
pub fn read_password(file: Option<&Path>, env: Option<&str>) -> Result<Option<String>> {
    if let Some(f) = file {
        let text = std::fs::read_to_string(f).map_err(|source| MysqlError::Io {
            context: format!("cannot read password-file {}", f.display()),
            source,
        })?;
        return Ok(Some(text.lines().next().unwrap_or_default().to_string()));
    }
    if let Some(var) = env {
        return std::env::var(var).map(Some).map_err(|_| {
            MysqlError::Invalid(format!(
                "environment variable {var} (password-env) is not set"
            ))
        });
    }
    Ok(None)
}

/// Starts a client tool with its stderr captured (for the error message if it fails). The tool
/// gets SIGKILL when the thread that started it ends (Linux's parent-death signal follows the
/// spawning thread, not the process): start it from the thread that waits for it, so that no
/// tool outlives us however we end (a signal, a panic, SIGKILL).
pub fn spawn_tool(
    cmd: &mut Command,
    stdin: Stdio,
    stdout: Stdio,
) -> Result<(std::process::Child, std::thread::JoinHandle<String>)> {
    let tool = cmd.get_program().to_string_lossy().into_owned();
    die_with_parent(cmd);
    crate::repo::user_state_home_for(cmd);
    let mut child = cmd
        .stdin(stdin)
        .stdout(stdout)
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|source| MysqlError::Io {
            context: format!("cannot run {tool} (install the MariaDB/MySQL client)"),
            source,
        })?;
    let stderr = capture_stderr(&mut child);
    Ok((child, stderr))
}

/// Asks the kernel to SIGKILL the child when its parent thread dies.
pub(crate) fn die_with_parent(cmd: &mut Command) {
    use std::os::unix::process::CommandExt;
    let parent = std::process::id() as libc::pid_t;
    // SAFETY: the closure runs in the forked child before exec and calls only
    // async-signal-safe functions (prctl, getppid); it allocates nothing and takes no lock.
    unsafe {
        cmd.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            // We may have died between fork and prctl: then nobody would ever signal the child.
            if libc::getppid() != parent {
                // (An OS error code: building a message would allocate after fork.)
                return Err(std::io::Error::from_raw_os_error(libc::ESRCH));
            }
            Ok(())
        });
    }
}

/// Captures a child's stderr (bounded) on a thread, for error messages.
pub fn capture_stderr(child: &mut std::process::Child) -> std::thread::JoinHandle<String> {
    let stderr = child.stderr.take();
    std::thread::spawn(move || {
        use std::io::Read;
        let mut buf = Vec::new();
        if let Some(mut e) = stderr {
            let mut chunk = [0u8; 8192];
            while let Ok(n) = e.read(&mut chunk) {
                if n == 0 {
                    break;
                }
                // Keep the tail: the last lines say what went wrong.
                buf.extend_from_slice(&chunk[..n]);
                if buf.len() > 64 * 1024 {
                    buf.drain(..buf.len() - 64 * 1024);
                }
            }
        }
        String::from_utf8_lossy(&buf).trim().to_string()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn option_file_quoting() {
        assert_eq!(quote(r#"a"b\c"#), r#""a\"b\\c""#);
        assert_eq!(ident("we`ird"), "`we``ird`");
    }

    #[test]
    fn flavors() {
        assert_eq!(
            Flavor::from_version("10.11.19-MariaDB-0+deb12u1-log"),
            Flavor::MariaDb
        );
        assert_eq!(Flavor::from_version("8.0.36"), Flavor::MySql);
        assert_eq!(Flavor::MySql.source_data_flag(), "--source-data=2");
    }

    #[test]
    fn defaults_file_is_private_and_holds_the_password() {
        use std::os::unix::fs::PermissionsExt;
        let s = Server {
            host: Some("db.example".into()),
            port: 3307,
            socket: None,
            user: "backup".into(),
            password: Some("p\"w".into()),
        };
        let f = s.defaults_file().unwrap();
        let meta = std::fs::metadata(&f.path).unwrap();
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
        let text = std::fs::read_to_string(&f.path).unwrap();
        assert!(
            text.contains("password=\"p\\\"w\"") && text.contains("port=3307"),
            "{text}"
        );
        let path = f.path.clone();
        drop(f);
        assert!(!path.exists(), "removed on drop");
    }
}
