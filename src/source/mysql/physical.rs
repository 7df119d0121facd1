//! Physical fulls (`driver = "mariabackup"`): `mariabackup --backup --stream=mbstream` streamed
//! from the tool straight into the repository as one file (no copy on the source host), the
//! password through the private option file. The backup's consistent point (binlog file,
//! position, GTID) is what mariabackup recorded under its backup locks, read from its
//! `--extra-lsndir` once it exited.
//!
//! Table figures for drills: a physical copy has no SQL snapshot to count in, so once the
//! copy is done the figures are taken in a consistent-snapshot transaction whose binlog
//! coordinates are known (`binlog_snapshot_file`/`_position`). A drill restores the copy,
//! replays the archived binlogs up to those coordinates, and compares. What it costs the
//! source: the copy's I/O (mariabackup reads every data file), a few seconds of backup locks
//! at its end (DDL and, briefly, commits wait), and one read of every table for the figures.
//! With `figures = "drill"` the backup is the copy alone and each drill takes the figures
//! (the same read of every table, at drill time, off the backup's clock).

pub mod relay;
pub mod restore;

use std::io::Read;
use std::path::Path;
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex, OnceLock};

use mysql::prelude::Queryable;
use serde::{Deserialize, Serialize};

use super::dump::{checks, resolve_databases, Coordinates, TableCheck};
use super::{spawn_tool, DefaultsFile, MysqlError, Result, Server};
use crate::config::Databases;

/// `position.json` and `tables.json`, computed once after the copy (or why they could not be).
type Figures = std::result::Result<(Vec<u8>, Vec<u8>), String>;

/// The stream's name inside the snapshot.
pub const STREAM_FILE: &str = "mariabackup.mbstream";
/// Where the figures were taken, beside the stream: read once the copy is stored.
pub const POSITION_FILE: &str = "position.json";

/// The copy's consistent point and the figures' own point.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Position {
    /// Unix seconds, taken once mariabackup exited: at or after its consistent point, so a
    /// target before it never picks this full (which may hold later events).
    pub at: i64,
    /// mariabackup's consistent point: where binlog replay starts.
    pub binlog: Option<Coordinates>,
    pub gtid: Option<String>,
    /// The consistent snapshot the table figures were taken in.
    pub checks_at: Option<Coordinates>,
    pub databases: Vec<String>,
    pub server_version: String,
}

/// A running physical backup: store `stream`, then `position` and `tables` (in that order),
/// then call `finish`.
pub struct RunningCopy {
    child: Arc<Mutex<Child>>,
    stderr: Option<std::thread::JoinHandle<String>>,
    lsn_dir: tempfile::TempDir,
    shared: Arc<Mutex<Shared>>,
    _defaults: DefaultsFile,
    _target: tempfile::TempDir,
}

#[derive(Default)]
struct Shared {
    position: Position,
    error: Option<String>,
}

pub struct CopyStreams {
    pub stream: Box<dyn Read + Send>,
    pub position: Box<dyn Read + Send>,
    pub tables: Box<dyn Read + Send>,
}

/// Starts mariabackup; `databases` names what the figures cover (the copy is the whole
/// server: a physical backup cannot leave databases out and stay restorable alone). Without
/// `figures` the copy is stored with none (`checks_at` unset, no tables): drills take them.
pub fn start(
    server: &Server,
    databases: &Databases,
    take_figures: bool,
) -> Result<(RunningCopy, CopyStreams)> {
    let mut conn = server.connect()?;
    let (_, version) = server.flavor(&mut conn)?;
    let dbs = resolve_databases(server, &mut conn, databases)?;
    drop(conn);
    let io = |what: &str| {
        let context = what.to_string();
        move |source| MysqlError::Io { context, source }
    };
    let target = tempfile::Builder::new()
        .prefix("dxbackup-mariabackup-")
        .tempdir()
        .map_err(io("cannot create mariabackup's scratch folder"))?;
    let lsn_dir = tempfile::Builder::new()
        .prefix("dxbackup-lsn-")
        .tempdir()
        .map_err(io("cannot create mariabackup's info folder"))?;
    let defaults = server.defaults_file()?;
    let mut cmd = server.tool("mariabackup", &defaults);
    cmd.args(["--backup", "--stream=mbstream"])
        .arg(format!("--target-dir={}", target.path().display()))
        .arg(format!("--extra-lsndir={}", lsn_dir.path().display()));
    let (mut child, stderr) =
        spawn_tool(&mut cmd, Stdio::null(), Stdio::piped()).map_err(|e| match e {
            MysqlError::Io { source, .. } => MysqlError::Io {
                context: "cannot run mariabackup (install the mariadb-backup package)".into(),
                source,
            },
            other => other,
        })?;
    let stdout = child.stdout.take().expect("piped");
    let shared = Arc::new(Mutex::new(Shared {
        position: Position {
            databases: dbs.clone(),
            server_version: version,
            ..Position::default()
        },
        ..Shared::default()
    }));
    let child = Arc::new(Mutex::new(child));
    let running = RunningCopy {
        child: child.clone(),
        stderr: Some(stderr),
        lsn_dir,
        shared: shared.clone(),
        _defaults: defaults,
        _target: target,
    };
    let lsn = running.lsn_dir.path().to_path_buf();
    // Both files come from one computation after the copy, whichever the archiver reads first
    // (it reads several files at once): the other waits for it.
    let figures: OnceLock<Figures> = OnceLock::new();
    let compute = {
        let (shared, server) = (shared.clone(), server.clone());
        move |which: usize| -> std::io::Result<Vec<u8>> {
            let f = figures.get_or_init(|| {
                after_copy(&shared, &child, &lsn, &server, &dbs, take_figures)
                    .map_err(|e| e.to_string())
            });
            match f {
                Ok((position, tables)) => Ok(if which == 0 {
                    position.clone()
                } else {
                    tables.clone()
                }),
                Err(e) => Err(std::io::Error::other(e.clone())),
            }
        }
    };
    let compute = Arc::new(compute);
    let position = Lazy::new({
        let c = compute.clone();
        move || c(0)
    });
    let tables = Lazy::new(move || compute(1));
    let streams = CopyStreams {
        stream: Box::new(stdout),
        position: Box::new(position),
        tables: Box::new(tables),
    };
    Ok((running, streams))
}

/// Runs when the stream has been read to its end: waits for mariabackup, reads its point,
/// then takes the figures in a consistent snapshot. Returns `position.json`'s bytes.
fn after_copy(
    shared: &Mutex<Shared>,
    child: &Mutex<Child>,
    lsn: &Path,
    server: &Server,
    dbs: &[String],
    take_figures: bool,
) -> std::io::Result<(Vec<u8>, Vec<u8>)> {
    let status = child.lock().expect("child lock").wait()?;
    let mut s = shared.lock().expect("shared lock");
    if !status.success() {
        s.error = Some(format!("mariabackup exited with {status}"));
        return Err(std::io::Error::other(format!(
            "mariabackup exited with {status}"
        )));
    }
    let info = std::fs::read_to_string(lsn.join("xtrabackup_info")).unwrap_or_default();
    let (binlog, gtid) = parse_binlog_pos(&info);
    s.position.at = jiff::Timestamp::now().as_second();
    s.position.binlog = binlog;
    s.position.gtid = gtid;
    drop(s);
    let (checks_at, tables) = if take_figures {
        checks_in_snapshot(server, dbs).map_err(std::io::Error::other)?
    } else {
        (None, vec![])
    };
    let mut s = shared.lock().expect("shared lock");
    s.position.checks_at = checks_at;
    let position = serde_json::to_vec_pretty(&s.position).map_err(std::io::Error::other)?;
    let tables = serde_json::to_vec_pretty(&tables).map_err(std::io::Error::other)?;
    Ok((position, tables))
}

/// Row counts and `CHECKSUM TABLE` in one consistent snapshot, with the binlog coordinates of
/// that snapshot (MariaDB's `binlog_snapshot_*` status). On several connections when their
/// snapshots can be shown to be one: the figures read every row, and on one connection the
/// server's other cores wait (on SF 1 this pass is most of the backup's time after the copy).
pub fn checks_in_snapshot(
    server: &Server,
    dbs: &[String],
) -> Result<(Option<Coordinates>, Vec<TableCheck>)> {
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get().clamp(1, 4));
    if workers > 1 {
        if let Some((at, conns)) = shared_snapshot(server, workers)? {
            tracing::info!(
                "table figures on {} connections sharing one snapshot at {}:{}",
                conns.len(),
                at.file,
                at.position
            );
            return Ok((Some(at), checks::table_checks_shared(server, conns, dbs)?));
        }
        tracing::info!("table figures on one connection: binary logging is off, or commits kept landing between the snapshots of several");
    }
    let mut conn = isolated(server)?;
    let at = begin_snapshot(server, &mut conn)?;
    Ok((at, checks::table_checks_shared(server, vec![conn], dbs)?))
}

/// `n` connections whose consistent snapshots are the same one, with its coordinates. Two
/// snapshots at the same binlog position saw the same commits (MariaDB takes the position and
/// the read view together, commits held off), so equal positions prove one snapshot; a commit
/// between two of them moves the position, and after a few tries the caller uses one
/// connection. The snapshots are started back to back on connections already open, so the
/// window for a commit is a few round trips. No lock is taken on the source.
fn shared_snapshot(server: &Server, n: usize) -> Result<Option<(Coordinates, Vec<mysql::Conn>)>> {
    let mut conns = (0..n)
        .map(|_| isolated(server))
        .collect::<Result<Vec<_>>>()?;
    // The snapshots start back to back (one round trip apart) and their points are read only
    // then, so a commit has the shortest window to land between two. Each try costs a few
    // round trips; under thousands of commits a second most still match.
    for _ in 0..200 {
        for conn in &mut conns {
            conn.query_drop("START TRANSACTION WITH CONSISTENT SNAPSHOT")
                .map_err(server.query_err("START TRANSACTION WITH CONSISTENT SNAPSHOT"))?;
        }
        let points = conns
            .iter_mut()
            .map(|conn| snapshot_point(server, conn))
            .collect::<Result<Vec<_>>>()?;
        match points.first().cloned().flatten() {
            Some(at) if points.iter().all(|p| p.as_ref() == Some(&at)) => {
                return Ok(Some((at, conns)));
            }
            // Binary logging off: nothing proves two snapshots equal.
            None => return Ok(None),
            Some(_) => {
                for conn in &mut conns {
                    conn.query_drop("COMMIT")
                        .map_err(server.query_err("COMMIT"))?;
                }
            }
        }
    }
    Ok(None)
}

/// A connection whose transactions read at REPEATABLE READ (what a consistent snapshot needs).
fn isolated(server: &Server) -> Result<mysql::Conn> {
    let mut conn = server.connect()?;
    conn.query_drop("SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        .map_err(server.query_err("setting the isolation level"))?;
    Ok(conn)
}

/// Starts a consistent-snapshot transaction on `conn`; returns the snapshot's binlog position.
fn begin_snapshot(server: &Server, conn: &mut mysql::Conn) -> Result<Option<Coordinates>> {
    conn.query_drop("START TRANSACTION WITH CONSISTENT SNAPSHOT")
        .map_err(server.query_err("START TRANSACTION WITH CONSISTENT SNAPSHOT"))?;
    snapshot_point(server, conn)
}

/// The binlog position of the connection's consistent snapshot.
fn snapshot_point(server: &Server, conn: &mut mysql::Conn) -> Result<Option<Coordinates>> {
    let rows: Vec<(String, String)> = conn
        .query("SHOW STATUS LIKE 'binlog_snapshot_%'")
        .map_err(server.query_err("reading the snapshot's binlog position"))?;
    let get = |k: &str| {
        rows.iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(k))
            .map(|r| r.1.clone())
    };
    Ok(
        match (get("binlog_snapshot_file"), get("binlog_snapshot_position")) {
            (Some(f), Some(p)) if !f.is_empty() => Some(Coordinates {
                file: f,
                position: p.parse().unwrap_or(0),
            }),
            _ => None,
        },
    )
}

impl RunningCopy {
    /// The copy's point and figures, once everything was stored; an exit other than success
    /// (or a stream cut short) is an error carrying mariabackup's stderr.
    pub fn finish(mut self) -> Result<Position> {
        let status = self
            .child
            .lock()
            .expect("child lock")
            .wait()
            .map_err(|source| MysqlError::Io {
                context: "cannot wait for mariabackup".into(),
                source,
            })?;
        let stderr = self
            .stderr
            .take()
            .and_then(|h| h.join().ok())
            .unwrap_or_default();
        let s = self.shared.lock().expect("shared lock");
        let completed = stderr.contains("completed OK!");
        if !status.success() || !completed || s.error.is_some() {
            return Err(MysqlError::tool(
                "mariabackup",
                s.error.clone().unwrap_or_else(|| status.to_string()),
                &stderr,
            ));
        }
        if s.position.binlog.is_none() && s.position.gtid.is_none() {
            tracing::warn!("mariabackup recorded no binlog position (binary logging off?): this full cannot be rolled forward");
        }
        Ok(s.position.clone())
    }

    /// Stops a copy whose stream will not be read (the backup failed elsewhere).
    pub fn abort(self) {
        let mut c = self.child.lock().expect("child lock");
        let _ = c.kill();
        let _ = c.wait();
    }
}

/// `binlog_pos = filename 'mysql-bin.000001', position '1470', GTID of the last change '0-1-7'`
pub fn parse_binlog_pos(info: &str) -> (Option<Coordinates>, Option<String>) {
    let Some(line) = info
        .lines()
        .find(|l| l.trim_start().starts_with("binlog_pos"))
    else {
        return (None, None);
    };
    let quoted: Vec<&str> = line.split('\'').skip(1).step_by(2).collect();
    let file = quoted.first().filter(|f| !f.is_empty());
    let pos = quoted.get(1).and_then(|p| p.parse::<u64>().ok());
    let gtid = quoted
        .get(2)
        .filter(|g| !g.is_empty())
        .map(|g| g.to_string());
    let coords = match (file, pos) {
        (Some(f), Some(p)) => Some(Coordinates {
            file: f.to_string(),
            position: p,
        }),
        _ => None,
    };
    (coords, gtid)
}

/// A reader whose bytes are made the first time it is read: the archiver reads the streams
/// in order, so this runs once the stream before it has ended.
struct Lazy<F> {
    make: Option<F>,
    data: std::io::Cursor<Vec<u8>>,
}

impl<F: FnOnce() -> std::io::Result<Vec<u8>>> Lazy<F> {
    fn new(make: F) -> Self {
        Self {
            make: Some(make),
            data: std::io::Cursor::new(Vec::new()),
        }
    }
}

impl<F: FnOnce() -> std::io::Result<Vec<u8>>> Read for Lazy<F> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if let Some(make) = self.make.take() {
            self.data = std::io::Cursor::new(make()?);
        }
        self.data.read(buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_mariabackups_point() {
        let info = "tool_name = mariabackup\nbinlog_pos = filename 'mysql-bin.000001', position '1470', GTID of the last change '0-1-7'\ninnodb_from_lsn = 0\n";
        let (c, g) = parse_binlog_pos(info);
        assert_eq!(
            c,
            Some(Coordinates {
                file: "mysql-bin.000001".into(),
                position: 1470
            })
        );
        assert_eq!(g.as_deref(), Some("0-1-7"));
        assert_eq!(parse_binlog_pos("tool_name = mariabackup\n"), (None, None));
        let no_gtid = "binlog_pos = filename 'b.000002', position '4', GTID of the last change ''";
        assert_eq!(parse_binlog_pos(no_gtid).1, None);
    }
}
