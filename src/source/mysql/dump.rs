//! A consistent full dump, streamed.
//!
//! How the manifest's figures match the dump exactly: we take `FLUSH TABLES WITH READ LOCK`
//! (with a lock timeout, so a long transaction cannot hang us), open our own
//! `START TRANSACTION WITH CONSISTENT SNAPSHOT`, read the binlog coordinates and GTID, then start
//! `mariadb-dump --single-transaction`. Only when the dump has printed its first database header
//! (it starts its own snapshot before that) do we unlock. No commit can happen while the global
//! read lock is held, so both snapshots see the same state; row counts and `CHECKSUM TABLE`
//! (which reads through the transaction's read view on InnoDB) are then computed in ours while
//! writes go on, on a thread, while the dump streams (see `checks`).

pub(super) mod checks;

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, ChildStdout, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mysql::prelude::Queryable;
use serde::{Deserialize, Serialize};

pub use self::checks::{table_checks, table_checks_parallel, TablesReader, TABLES_FILE};
use super::{spawn_tool, DefaultsFile, Flavor, MysqlError, Result, Server, SYSTEM_DATABASES};
use crate::config::Databases;

/// Binlog coordinates of a consistent point.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Coordinates {
    pub file: String,
    pub position: u64,
}

/// One table's figures at the dump's snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableCheck {
    pub database: String,
    pub table: String,
    pub rows: u64,
    pub checksum: Option<u64>,
}

/// What the manifest records about a full dump.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DumpInfo {
    /// Unix seconds of the consistent point (taken under the global read lock).
    pub at: i64,
    pub flavor: Flavor,
    pub server_version: String,
    pub tool: String,
    pub databases: Vec<String>,
    pub binlog: Option<Coordinates>,
    pub gtid: Option<String>,
    /// Empty in the manifest of a backup made while the figures were computed: they are in
    /// `tables_file` then (see `checks`); complete once read back (`with_tables`).
    pub tables: Vec<TableCheck>,
    /// Where in the snapshot the table figures are, when not in `tables`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tables_file: Option<String>,
}

/// A running dump: read `stream` to the end, then call `finish`.
pub struct RunningDump {
    pub info: DumpInfo,
    child: Child,
    stderr: std::thread::JoinHandle<String>,
    tail: Arc<Mutex<Vec<u8>>>,
    checks: Arc<checks::Pending>,
    _defaults: DefaultsFile,
}

/// The streams a dump stores: the dump itself, then its table figures.
pub struct DumpStreams {
    pub dump: Box<dyn Read + Send>,
    pub tables: TablesReader,
}

/// How long we wait for a lock or for the dump to start before giving up.
pub(super) const LOCK_TIMEOUT_SECS: u32 = 120;

/// Starts a consistent dump of `databases`; returns it with the streams to store, in this
/// order (the figures' reader waits for them; the dump's must be read meanwhile).
pub fn start(server: &Server, databases: &Databases) -> Result<(RunningDump, DumpStreams)> {
    let (mut conn, info) = consistent_point(server, databases, Flavor::dump_tool)?;
    let flavor = info.flavor;
    let defaults = server.defaults_file()?;
    let mut cmd = server.tool(flavor.dump_tool(), &defaults);
    cmd.args([
        "--single-transaction",
        "--routines",
        "--triggers",
        "--events",
        "--hex-blob",
        "--default-character-set=utf8mb4",
        "--quick",
    ]);
    if info.binlog.is_some() {
        cmd.arg(flavor.source_data_flag());
    }
    cmd.arg("--databases").args(&info.databases);
    let (mut child, stderr) = spawn_tool(&mut cmd, Stdio::null(), Stdio::piped())?;
    let mut stdout = BufReader::with_capacity(1 << 20, child.stdout.take().expect("piped"));
    let head = match read_until_started(&mut stdout) {
        Ok(h) => h,
        Err(e) => {
            let _ = child.kill();
            let _ = child.wait();
            let err = stderr.join().unwrap_or_default();
            return Err(MysqlError::tool(
                flavor.dump_tool(),
                format!("stopped before its first database ({e})"),
                &err,
            ));
        }
    };
    // The dump holds its own snapshot now: let writes go on.
    conn.query_drop("UNLOCK TABLES")
        .map_err(server.query_err("UNLOCK TABLES"))?;
    let pending = checks::spawn(server.clone(), conn, info.databases.clone());

    let tail = Arc::new(Mutex::new(Vec::new()));
    let stream = TailReader {
        inner: std::io::Cursor::new(head).chain(stdout),
        tail: tail.clone(),
    };
    let dump = RunningDump {
        info,
        child,
        stderr,
        tail,
        checks: pending.clone(),
        _defaults: defaults,
    };
    let streams = DumpStreams {
        dump: Box::new(stream),
        tables: TablesReader::new(pending),
    };
    Ok((dump, streams))
}

/// Takes a consistent point: the returned connection holds the global read lock and a
/// consistent snapshot (unlock it once the dump tool holds its own snapshots); the info has the
/// state's coordinates, `tool(flavor)` as its tool, and no table figures yet.
pub(super) fn consistent_point(
    server: &Server,
    databases: &Databases,
    tool: impl FnOnce(Flavor) -> &'static str,
) -> Result<(mysql::Conn, DumpInfo)> {
    let mut conn = server.connect()?;
    let (flavor, version) = server.flavor(&mut conn)?;
    let dbs = resolve_databases(server, &mut conn, databases)?;
    let q = |conn: &mut mysql::Conn, sql: &str| {
        conn.query_drop(sql)
            .map_err(server.query_err(sql.to_string()))
    };
    q(
        &mut conn,
        &format!("SET SESSION lock_wait_timeout = {LOCK_TIMEOUT_SECS}"),
    )?;
    q(&mut conn, "FLUSH TABLES WITH READ LOCK")?;
    q(
        &mut conn,
        "SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ",
    )?;
    q(&mut conn, "START TRANSACTION WITH CONSISTENT SNAPSHOT")?;
    let status: Option<mysql::Row> = conn
        .query_first("SHOW MASTER STATUS")
        .map_err(server.query_err("SHOW MASTER STATUS"))?;
    let binlog = status.and_then(|r| {
        Some(Coordinates {
            file: r.get::<String, _>(0)?,
            position: r.get::<u64, _>(1)?,
        })
    });
    let at = jiff::Timestamp::now().as_second();
    let gtid: Option<String> = conn
        .query_first(format!("SELECT {}", flavor.gtid_variable()))
        .map_err(server.query_err("reading the GTID position"))?;
    let info = DumpInfo {
        at,
        flavor,
        server_version: version,
        tool: tool(flavor).into(),
        databases: dbs,
        binlog,
        gtid: gtid.filter(|g| !g.is_empty()),
        tables: Vec::new(),
        tables_file: None,
    };
    Ok((conn, info))
}

impl RunningDump {
    /// Waits for the dump and the table figures; an exit other than success, or a stream
    /// without the tool's closing line (cut short), is an error carrying the tool's stderr.
    pub fn finish(mut self) -> Result<DumpInfo> {
        let status = self.child.wait().map_err(|source| MysqlError::Io {
            context: "cannot wait for the dump".into(),
            source,
        })?;
        let stderr = self.stderr.join().unwrap_or_default();
        let tail = self.tail.lock().expect("tail lock").clone();
        let completed = String::from_utf8_lossy(&tail).contains("-- Dump completed");
        if !status.success() || !completed {
            let what = if status.success() {
                "output cut short".to_string()
            } else {
                status.to_string()
            };
            return Err(MysqlError::tool(self.info.tool.clone(), what, &stderr));
        }
        self.info.tables = self.checks.wait().map_err(checks::failed)?;
        Ok(self.info)
    }

    /// Stops a dump whose stream will not be read (the backup failed elsewhere).
    pub fn abort(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Reads the dump's header up to its first database (printed after it started its snapshot).
fn read_until_started(r: &mut BufReader<ChildStdout>) -> std::io::Result<Vec<u8>> {
    let mut head = Vec::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(u64::from(LOCK_TIMEOUT_SECS));
    loop {
        let n = r.read_until(b'\n', &mut head)?;
        if n == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "no output",
            ));
        }
        let line = &head[head.len() - n..];
        if line.starts_with(b"-- Current Database:") || line.starts_with(b"CREATE DATABASE") {
            return Ok(head);
        }
        if std::time::Instant::now() > deadline || head.len() > 16 << 20 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "no database header",
            ));
        }
    }
}

/// Keeps the last bytes read, to tell a complete dump from one cut short.
struct TailReader<R> {
    inner: R,
    tail: Arc<Mutex<Vec<u8>>>,
}

impl<R: Read> Read for TailReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n > 0 {
            let mut t = self.tail.lock().expect("tail lock");
            t.extend_from_slice(&buf[..n]);
            if t.len() > 4096 {
                let cut = t.len() - 256;
                t.drain(..cut);
            }
        }
        Ok(n)
    }
}

/// `all` means every database but the server's own.
pub(super) fn resolve_databases(
    server: &Server,
    conn: &mut mysql::Conn,
    dbs: &Databases,
) -> Result<Vec<String>> {
    let present: Vec<String> = conn
        .query("SHOW DATABASES")
        .map_err(server.query_err("SHOW DATABASES"))?;
    let list = match dbs {
        Databases::All => present
            .into_iter()
            .filter(|d| !SYSTEM_DATABASES.contains(&d.as_str()))
            .collect::<Vec<_>>(),
        Databases::List(v) => {
            if let Some(missing) = v.iter().find(|d| !present.contains(d)) {
                return Err(MysqlError::Invalid(format!(
                    "database `{missing}` does not exist on {}; fix `databases` in the source",
                    server.describe()
                )));
            }
            v.clone()
        }
    };
    if list.is_empty() {
        return Err(MysqlError::Invalid(format!(
            "no user database on {} to back up",
            server.describe()
        )));
    }
    Ok(list)
}
