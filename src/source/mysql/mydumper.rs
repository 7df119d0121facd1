//! Full backups with mydumper: tables dumped on parallel connections into a spool folder, then
//! stored; restored with myloader on parallel connections. For databases whose restore time
//! matters more than a spool's disk space.
//!
//! Consistency: as for a dump, we hold `FLUSH TABLES WITH READ LOCK` and open our own consistent
//! snapshot, then start mydumper with `--no-locks --trx-consistency-only`, so its threads open
//! their snapshots while our lock still holds every commit back. Only when mydumper logs that all
//! its transactions are started do we unlock. Its own `metadata` must then show the binlog
//! position we read under the lock; a mismatch fails the backup.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::Duration;

use mysql::prelude::Queryable;

use super::dump::checks::{self, Pending};
use super::dump::{consistent_point, Coordinates, DumpInfo, LOCK_TIMEOUT_SECS};
use super::{DefaultsFile, MysqlError, Result, Server};
use crate::config::Databases;

pub const TOOL: &str = "mydumper";
const LOADER: &str = "myloader";
/// What mydumper logs (at -v 3) once every thread holds its snapshot: 0.10 says the first;
/// any thread dumping a table or schema (which only happens after that) counts too, so another
/// wording in another version cannot keep our global read lock for the whole timeout.
const STARTED: [&str; 3] = ["Transactions started", "dumping data for", "dumping schema"];
/// Rows per file of a big table (mydumper `--rows`).
const CHUNK_ROWS: u64 = 500_000;

/// A running mydumper: `finish` waits for it.
pub struct RunningMydumper {
    pub info: DumpInfo,
    child: Child,
    log: std::thread::JoinHandle<String>,
    checks: Arc<Pending>,
    spool: PathBuf,
    _defaults: DefaultsFile,
}

impl Server {
    /// Connection flags for mydumper/myloader: they take host, port and user from argv (0.10
    /// ignores them in option files); the password stays in the option file.
    fn mydumper_tool(&self, name: &str, defaults: &DefaultsFile) -> Command {
        let mut c = Command::new(name);
        c.arg(format!("--defaults-file={}", defaults.path.display()));
        c.args(["--user", &self.user]);
        match (&self.socket, &self.host) {
            (Some(s), _) => {
                c.arg("--socket").arg(s);
            }
            (None, h) => {
                c.args(["--host", h.as_deref().unwrap_or("127.0.0.1")]);
                c.args(["--port", &self.port.to_string()]);
            }
        }
        c
    }
}

/// Starts mydumper on `databases` into `spool` (an empty private folder).
pub fn start(
    server: &Server,
    databases: &Databases,
    spool: &Path,
    threads: usize,
) -> Result<RunningMydumper> {
    private_spool(spool)?;
    let (mut conn, info) = consistent_point(server, databases, |_| TOOL)?;
    let defaults = server.defaults_file()?;
    let mut cmd = server.mydumper_tool(TOOL, &defaults);
    private_files(&mut cmd);
    cmd.arg("--outputdir").arg(spool);
    cmd.args(["--threads", &threads.max(1).to_string()]);
    cmd.args(["--no-locks", "--trx-consistency-only", "--verbose", "3"]);
    cmd.args(["--routines", "--events", "--triggers"]);
    // Big tables in chunks, so that myloader loads one table on several connections.
    cmd.args(["--rows", &CHUNK_ROWS.to_string()]);
    let pattern = info
        .databases
        .iter()
        .map(|d| regex_escape(d))
        .collect::<Vec<_>>()
        .join("|");
    cmd.args(["--regex", &format!("^({pattern})\\.")]);
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|source| MysqlError::Io {
            context: format!("cannot run {TOOL} (install mydumper)"),
            source,
        })?;
    let (started_tx, started_rx) = mpsc::channel();
    let stderr = child.stderr.take().expect("piped");
    let log = std::thread::spawn(move || watch_log(stderr, started_tx));
    let started = started_rx.recv_timeout(Duration::from_secs(u64::from(LOCK_TIMEOUT_SECS)));
    if started.is_err() {
        let _ = child.kill();
        let _ = child.wait();
        return Err(MysqlError::tool(
            TOOL,
            "stopped before its transactions started",
            &log.join().unwrap_or_default(),
        ));
    }
    if let Err(e) = conn.query_drop("UNLOCK TABLES") {
        // Our snapshot is gone with the connection: the dump would have no figures to match.
        let _ = child.kill();
        let _ = child.wait();
        return Err(server.query_err("UNLOCK TABLES")(e));
    }
    let pending = checks::spawn(server.clone(), conn, info.databases.clone());
    Ok(RunningMydumper {
        info,
        child,
        log,
        checks: pending,
        spool: spool.to_path_buf(),
        _defaults: defaults,
    })
}

/// The spool holds every row of the dump: only we may enter it, whatever the umask made it.
fn private_spool(spool: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(spool, std::fs::Permissions::from_mode(0o700)).map_err(|source| {
        MysqlError::Io {
            context: format!("cannot make the spool folder {} private", spool.display()),
            source,
        }
    })
}

/// mydumper creates its files as the umask says (0644 under the usual 022): it runs under
/// umask 077, so every table it writes is 0600.
fn private_files(cmd: &mut Command) {
    use std::os::unix::process::CommandExt;
    // SAFETY: the closure runs in the forked child before exec; umask(2) is async-signal-safe,
    // allocates nothing and cannot fail.
    unsafe {
        cmd.pre_exec(|| {
            libc::umask(0o077);
            Ok(())
        });
    }
}

fn started_line(line: &str) -> bool {
    STARTED.iter().any(|s| line.contains(s))
}

/// Keeps the log's errors and warnings (the first ones) and its last lines, for errors; says
/// when the transactions are started.
fn watch_log(stderr: impl Read, started: mpsc::Sender<()>) -> String {
    const KEEP: usize = 50;
    let mut problems = Vec::new();
    let mut tail = std::collections::VecDeque::with_capacity(KEEP);
    for line in BufReader::new(stderr).lines() {
        let Ok(line) = line else { break };
        if started_line(&line) {
            let _ = started.send(());
        }
        if line.contains("CRITICAL") || line.contains("WARNING") {
            if problems.len() < KEEP {
                problems.push(line);
            }
        } else {
            if tail.len() == KEEP {
                tail.pop_front();
            }
            tail.push_back(line);
        }
    }
    problems.extend(tail);
    problems.join("\n")
}

impl RunningMydumper {
    /// Waits for mydumper and the table figures; checks its snapshot was ours.
    pub fn finish(mut self) -> Result<DumpInfo> {
        let status = self.child.wait().map_err(|source| MysqlError::Io {
            context: format!("cannot wait for {TOOL}"),
            source,
        })?;
        let log = self.log.join().unwrap_or_default();
        if !status.success() || log.contains("CRITICAL") {
            return Err(MysqlError::tool(TOOL, status.to_string(), &log));
        }
        let metadata = std::fs::read_to_string(self.spool.join("metadata")).map_err(|source| {
            MysqlError::Io {
                context: format!("{TOOL} wrote no metadata file (cut short?)"),
                source,
            }
        })?;
        let theirs = parse_metadata(&metadata);
        if let Some(ours) = &self.info.binlog {
            if theirs.as_ref() != Some(ours) {
                return Err(MysqlError::Invalid(format!(
                    "{TOOL}'s snapshot is at {theirs:?}, ours at {}:{}: the backup would not be consistent",
                    ours.file, ours.position
                )));
            }
        }
        self.info.tables = self.checks.wait().map_err(checks::failed)?;
        Ok(self.info)
    }

    pub fn abort(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The binlog coordinates in mydumper's `metadata` (`Log:` and `Pos:` under SHOW MASTER STATUS).
fn parse_metadata(text: &str) -> Option<Coordinates> {
    let mut lines = text
        .lines()
        .skip_while(|l| !l.starts_with("SHOW MASTER STATUS"));
    lines.next()?;
    let mut file = None;
    let mut position = None;
    for l in lines {
        let l = l.trim();
        if let Some(v) = l.strip_prefix("Log:") {
            file = Some(v.trim().to_string());
        } else if let Some(v) = l.strip_prefix("Pos:") {
            position = v.trim().parse().ok();
        } else if l.is_empty() {
            break;
        }
    }
    Some(Coordinates {
        file: file?,
        position: position?,
    })
}

fn regex_escape(s: &str) -> String {
    s.chars()
        .flat_map(|c| {
            let special = "\\.^$|?*+()[]{}".contains(c);
            special
                .then_some('\\')
                .into_iter()
                .chain(std::iter::once(c))
        })
        .collect()
}

/// Loads a mydumper folder's `source_db` into `into` (existing tables replaced) with myloader,
/// unlogged (myloader leaves the binlog off unless told otherwise).
pub fn load(
    server: &Server,
    dir: &Path,
    source_db: &str,
    into: &str,
    threads: usize,
) -> Result<()> {
    let defaults = server.defaults_file()?;
    let mut cmd = server.mydumper_tool(LOADER, &defaults);
    cmd.arg("--directory").arg(dir);
    cmd.args([
        "--source-db",
        source_db,
        "--database",
        into,
        "--overwrite-tables",
    ]);
    cmd.args(["--threads", &threads.max(1).to_string(), "--verbose", "2"]);
    let (mut child, stderr) = super::spawn_tool(&mut cmd, Stdio::null(), Stdio::null())?;
    let status = child.wait().map_err(|source| MysqlError::Io {
        context: format!("cannot wait for {LOADER}"),
        source,
    })?;
    let err = stderr.join().unwrap_or_default();
    if !status.success() || err.contains("CRITICAL") {
        return Err(MysqlError::tool(LOADER, status.to_string(), &err));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_coordinates_are_read() {
        let text = "Started dump at: 2026-11-25 13:47:55\nSHOW MASTER STATUS:\n\tLog: mysql-bin.000003\n\tPos: 342\n\tGTID:0-1-13\n\nFinished dump at: 2026-11-25 13:48:04\n";
        assert_eq!(
            parse_metadata(text),
            Some(Coordinates {
                file: "mysql-bin.000003".into(),
                position: 342
            })
        );
        assert_eq!(parse_metadata("Started dump at: x\n"), None);
    }

    #[test]
    fn the_start_is_seen_in_mydumper_0_10_log_lines() {
        for line in [
            "** Message: 13:47:55.914: Transactions started, unlocking tables",
            "** Message: 13:47:55.940: Thread 2 dumping data for `tpch`.`lineitem`",
            "** Message: 13:47:55.914: Thread 2 dumping schema create for `tpch`",
        ] {
            assert!(started_line(line), "{line}");
        }
        for line in [
            "** Message: 13:47:55.911: Started dump at: 2026-11-25 13:47:55",
            "** Message: 13:47:55.913: Thread 1 connected using MySQL connection ID 7",
        ] {
            assert!(!started_line(line), "{line}");
        }
    }

    #[test]
    fn the_spool_and_what_mydumper_writes_there_are_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let spool = dir.path().join("spool");
        std::fs::create_dir(&spool).unwrap();
        std::fs::set_permissions(&spool, std::fs::Permissions::from_mode(0o755)).unwrap();
        private_spool(&spool).unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&spool), 0o700);
        // Whatever the test's own umask, a file the tool creates is 0600.
        let mut cmd = Command::new("sh");
        cmd.arg("-c")
            .arg("umask; : > \"$1\"")
            .arg("sh")
            .arg(spool.join("t.sql"));
        private_files(&mut cmd);
        let out = cmd.output().unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "0077");
        assert_eq!(mode(&spool.join("t.sql")), 0o600);
    }

    #[test]
    fn database_names_are_escaped_for_the_regex() {
        assert_eq!(regex_escape("a.b$c"), "a\\.b\\$c");
        assert_eq!(regex_escape("shop_2"), "shop_2");
    }
}
