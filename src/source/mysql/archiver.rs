//! The binlog archiver: a supervised `mariadb-binlog --read-from-remote-server --raw
//! --stop-never` writes byte-identical binlog files into a private spool folder; every flush
//! interval the bytes added since the last flush (whole events only) are handed to `store` as
//! parts. It outlives its server: a server that is down, restarting or unreachable is retried
//! with backoff for as long as it takes (every attempt logged), from the first file not yet
//! closed. Only what needs the user stops it: a file the server no longer has (a gap, never
//! skipped), refused credentials or privileges, binary logging off.

mod spool;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Child, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use mysql::prelude::Queryable;
use serde::{Deserialize, Serialize};

use super::binlog::{sequence, with_sequence, Segment};
use super::{spawn_tool, Flavor, MysqlError, Result, Server};

/// Bytes `offset..offset+data.len()` of a binlog file, and what the file holds up to there.
pub struct Part {
    pub segment: Segment,
    pub offset: u64,
    pub data: Vec<u8>,
}

/// What the archive already holds of one file (from the repository).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Archived {
    pub size: u64,
    pub closed: bool,
    /// Unix seconds of the file's first event after its format description: which file of
    /// that name it is (a `RESET MASTER` or a re-initialized server starts the names again).
    #[serde(default)]
    pub first_event: Option<i64>,
}

pub struct Archiver<'a> {
    pub server: &'a Server,
    /// The server's flavour; asked of the server at the first connection when unknown.
    pub flavor: Option<Flavor>,
    pub spool: PathBuf,
    pub flush: Duration,
    /// The file to start from when the archive holds nothing yet; unknown: the server's
    /// current binlog, asked at the first connection.
    pub first_file: Option<String>,
    /// Per file: what the archive holds.
    pub archived: BTreeMap<String, Archived>,
    /// The replica id the tool registers with; must differ from every real replica's.
    pub server_id: u32,
}

/// A reader that ran this long was a working connection: the backoff starts over after it.
const LASTED: Duration = Duration::from_secs(60);

/// How one connection to the server ended.
enum Ended {
    /// `stop` was set; the final flush is done.
    Stopped,
    /// The reader exited (the server went away, or the network did).
    ReaderExited {
        lasted: Duration,
        status: ExitStatus,
        stderr: String,
    },
}

impl Archiver<'_> {
    /// Runs until `stop` is set (then flushes once more and stops the reader), or until an
    /// error that waiting cannot cure (a gap, credentials, binary logging off, the repository).
    pub fn run(
        &mut self,
        stop: &AtomicBool,
        store: &mut dyn FnMut(Vec<Part>) -> anyhow::Result<()>,
    ) -> anyhow::Result<()> {
        self.prepare_spool()?;
        let mut backoff = Backoff::default();
        // Failed attempts in a row, and since when the server has been out of reach.
        let mut failures = 0u32;
        let mut down_since: Option<Instant> = None;
        while !stop.load(Ordering::Relaxed) {
            let (flavor, start) = match self.connect() {
                Ok(c) => c,
                Err(e) if retryable(&e) => {
                    failures += 1;
                    let since = *down_since.get_or_insert_with(Instant::now);
                    let wait = backoff.next_delay();
                    tracing::warn!(
                        "binlog archiver: attempt {failures} failed (server out of reach for {}): {e}; retrying in {}",
                        secs(since.elapsed()),
                        secs(wait)
                    );
                    sleep_or_stop(stop, wait);
                    continue;
                }
                Err(e) => return Err(e.into()),
            };
            if let Some(since) = down_since.take() {
                tracing::warn!(
                    "binlog archiver: connected to {} again after {failures} failed attempt(s) ({})",
                    self.server.describe(),
                    secs(since.elapsed())
                );
            }
            failures = 0;
            match self.session(flavor, &start, stop, store)? {
                Ended::Stopped => break,
                Ended::ReaderExited {
                    lasted,
                    status,
                    stderr,
                } => {
                    if lasted >= LASTED {
                        backoff = Backoff::default();
                    }
                    let wait = backoff.next_delay();
                    tracing::warn!(
                        "binlog archiver: the binlog reader stopped ({status}) after {}: {stderr}; reconnecting in {}",
                        secs(lasted),
                        secs(wait)
                    );
                    down_since = Some(Instant::now());
                    sleep_or_stop(stop, wait);
                }
            }
        }
        Ok(())
    }

    /// One connection: starts the reader at `start` and flushes every interval until the
    /// reader exits or `stop` is set.
    fn session(
        &mut self,
        flavor: Flavor,
        start: &str,
        stop: &AtomicBool,
        store: &mut dyn FnMut(Vec<Part>) -> anyhow::Result<()>,
    ) -> anyhow::Result<Ended> {
        tracing::info!(file = %start, "binlog archiver connecting");
        let started = Instant::now();
        self.forget_after(start)?;
        let mut reader = self.spawn(flavor, start)?;
        let mut scans: BTreeMap<String, Segment> = BTreeMap::new();
        loop {
            sleep_until(stop, self.flush, &mut reader.child);
            // Called every flush, parts or not: an empty call says the archive is current.
            let parts = self.collect(start, &mut scans)?;
            store(parts)?;
            self.clean_spool();
            if stop.load(Ordering::Relaxed) {
                reader.kill();
                return Ok(Ended::Stopped);
            }
            if let Ok(Some(status)) = reader.child.try_wait() {
                let stderr = reader.stderr.take().map(|h| h.join().unwrap_or_default());
                return Ok(Ended::ReaderExited {
                    lasted: started.elapsed(),
                    status,
                    stderr: stderr.unwrap_or_default(),
                });
            }
        }
    }

    /// Connects, learns what the first connection must (flavour, first file), and checks that
    /// the file to resume from is still on the server. Returns the flavour and that file.
    fn connect(&mut self) -> Result<(Flavor, String)> {
        let mut conn = self.server.connect_with(CONTROL_TIMEOUT)?;
        let flavor = match self.flavor {
            Some(f) => f,
            None => *self.flavor.insert(self.server.flavor(&mut conn)?.0),
        };
        if self.archived.is_empty() && self.first_file.is_none() {
            let status: Option<mysql::Row> = conn
                .query_first("SHOW MASTER STATUS")
                .map_err(self.server.query_err("SHOW MASTER STATUS"))?;
            let file: String = status.and_then(|r| r.get(0)).ok_or_else(|| {
                MysqlError::Invalid(format!(
                    "binary logging is off on {}: enable log_bin to archive binlogs",
                    self.server.describe()
                ))
            })?;
            tracing::info!(%file, "archiving from the server's current binlog");
            self.first_file = Some(file);
        }
        let start = self.resume_file();
        self.check_on_server(&mut conn, &start)?;
        Ok((flavor, start))
    }

    /// The first file not yet closed in the archive (its bytes are fetched again from the
    /// start, and only what is new is stored).
    fn resume_file(&self) -> String {
        match self.archived.iter().max_by_key(|(f, _)| sequence(f)) {
            None => self.first_file.clone().unwrap_or_default(),
            Some((f, a)) if a.closed => with_sequence(f, sequence(f).unwrap_or(0) + 1),
            Some((f, _)) => f.clone(),
        }
    }

    /// A file the archive needs that the server has purged is a hole in the chain.
    fn check_on_server(&self, conn: &mut mysql::Conn, file: &str) -> Result<()> {
        let logs: Vec<(String, u64)> = conn
            .query("SHOW BINARY LOGS")
            .map_err(self.server.query_err("SHOW BINARY LOGS"))?;
        if logs.iter().any(|(f, _)| f == file) {
            return Ok(());
        }
        let oldest = logs.first().map_or("none".to_string(), |l| l.0.clone());
        let newest_seq = logs.last().and_then(|l| sequence(&l.0));
        // Asking for the next file before the server rotated into it is not a gap.
        if newest_seq.is_some() && sequence(file) > newest_seq {
            return Err(MysqlError::Invalid(format!(
                "binlog {file} does not exist yet on {}; is binary logging still on?",
                self.server.describe()
            )));
        }
        Err(MysqlError::Invalid(format!(
            "gap: binlog {file} was purged from {} before it was archived (oldest there: {oldest}); \
             point-in-time restores cannot cross this gap: take a full backup now, and raise expire_logs_days/binlog_expire_logs_seconds",
            self.server.describe()
        )))
    }

    fn spawn(&self, flavor: Flavor, start: &str) -> Result<Reader> {
        let defaults = self.server.defaults_file()?;
        let mut prefix = self.spool.clone().into_os_string();
        prefix.push("/");
        let mut cmd = self.server.tool(flavor.binlog_tool(), &defaults);
        cmd.args(["--read-from-remote-server", "--raw", "--stop-never"])
            .arg(format!("--stop-never-slave-server-id={}", self.server_id))
            .arg("--result-file")
            .arg(&prefix)
            .arg(start);
        spool::private_files(&mut cmd);
        let (child, stderr) = spawn_tool(&mut cmd, Stdio::null(), Stdio::null())?;
        // The tool reads the option file at start; it may go once the tool has read it.
        std::thread::sleep(Duration::from_millis(300));
        drop(defaults);
        Ok(Reader {
            child,
            stderr: Some(stderr),
        })
    }
}

/// Timeouts of the archiver's own short queries: a server that hangs is retried, not waited
/// for an hour.
const CONTROL_TIMEOUT: Duration = Duration::from_secs(30);

/// The running reader; stopped whatever way its session ends (an error included).
struct Reader {
    child: Child,
    stderr: Option<std::thread::JoinHandle<String>>,
}

impl Reader {
    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Reader {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            self.kill();
        }
    }
}

/// Whether an error may go away by itself (a server restarting or shutting down, a network
/// down, too many connections) rather than needing the user.
fn retryable(e: &MysqlError) -> bool {
    let source = match e {
        MysqlError::Connect { error, .. } | MysqlError::Query { error, .. } => error,
        MysqlError::Tool { .. } | MysqlError::Io { .. } | MysqlError::Invalid(_) => return false,
    };
    match source {
        // Access denied (database, user, no password, privilege), account locked, auth
        // plugin, binary logging off: waiting does not change them.
        mysql::Error::MySqlError(m) => !matches!(
            m.code,
            1044 | 1045 | 1142 | 1227 | 1251 | 1381 | 1698 | 3118 | 4151
        ),
        _ => true,
    }
}

/// 1 s, doubling to at most 30 s between attempts.
#[derive(Debug)]
struct Backoff(Duration);

impl Default for Backoff {
    fn default() -> Self {
        Self(Duration::from_secs(1))
    }
}

impl Backoff {
    fn next_delay(&mut self) -> Duration {
        let d = self.0;
        self.0 = (d * 2).min(Duration::from_secs(30));
        d
    }
}

fn secs(d: Duration) -> String {
    format!("{}s", d.as_secs())
}

/// Sleeps `d` in small steps, waking early on stop.
fn sleep_or_stop(stop: &AtomicBool, d: Duration) {
    let end = Instant::now() + d;
    while Instant::now() < end && !stop.load(Ordering::Relaxed) {
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Sleeps `d` in small steps, waking early on stop or when the child exits.
fn sleep_until(stop: &AtomicBool, d: Duration, child: &mut Child) {
    let end = Instant::now() + d;
    while Instant::now() < end && !stop.load(Ordering::Relaxed) {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The name a stored part has inside its snapshot: `FILE@OFFSET`, sortable.
pub fn part_name(file: &str, offset: u64) -> String {
    format!("{file}@{offset:012}")
}

/// Splits `FILE@OFFSET`.
pub fn parse_part_name(name: &str) -> Option<(&str, u64)> {
    let (f, o) = name.rsplit_once('@')?;
    Some((f, o.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn part_names_sort_by_offset() {
        let a = part_name("bin.000001", 4);
        let b = part_name("bin.000001", 120_000);
        assert!(a < b);
        assert_eq!(parse_part_name(&b), Some(("bin.000001", 120_000)));
    }

    #[test]
    fn backoff_doubles_to_thirty_seconds() {
        let mut b = Backoff::default();
        let delays: Vec<u64> = (0..7).map(|_| b.next_delay().as_secs()).collect();
        assert_eq!(delays, [1, 2, 4, 8, 16, 30, 30]);
    }

    #[test]
    fn waiting_cures_a_server_away_but_not_the_user_s_mistakes() {
        let io = mysql::Error::IoError(std::io::Error::from(std::io::ErrorKind::ConnectionRefused));
        let refused = MysqlError::Connect {
            target: "t".into(),
            user: "u".into(),
            error: io,
        };
        assert!(retryable(&refused));
        let denied = MysqlError::Connect {
            target: "t".into(),
            user: "u".into(),
            error: mysql::Error::MySqlError(mysql::MySqlError {
                state: "28000".into(),
                message: "Access denied".into(),
                code: 1045,
            }),
        };
        assert!(!retryable(&denied));
        assert!(!retryable(&MysqlError::Invalid("gap: ...".into())));
    }
}
