//! The catalog: a SQLite database in the state directory that remembers every run (attempted
//! and finished kept apart), its metrics and every verification. `stats`, `status` and the
//! monitors read it; the repository stays the source of truth for what is stored.

use std::path::{Path, PathBuf};
use std::time::Duration;

mod private;
mod records;
mod schedules;
mod space;

pub use records::{BinlogPartRecord, DrillRecord};
mod copies;
mod history;
mod monitor;
mod observed;

use rusqlite::{params, Connection};
use serde::Serialize;

pub use copies::{CopyEnd, CopyRecord};
pub use history::{AttemptLog, RunFilter, VerificationRecord};
pub use monitor::{AlertSent, AlertState, OpenFinding, RepoSample, RunTotal};
pub use observed::HeldBy;
pub use schedules::{ScheduleRun, ScheduleRunEnd, ScheduleRunStart};

#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("cannot create state directory {path}: {cause}; pass --state-dir to use another")]
    StateDir {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("cannot make {path} private (mode 0600): {cause}; check who owns it")]
    Private {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("catalog {path}: {source}")]
    Sql {
        path: PathBuf,
        source: rusqlite::Error,
    },
    /// SQLite says `database or disk is full`, or an I/O error on a disk that has no room
    /// (a `-shm` that cannot grow): both are a full state directory.
    #[error("catalog {path}: no space left on device ({source}); free space on the disk of the state directory {}, then run again: the catalog keeps what it had", .path.parent().unwrap_or(Path::new("")).display())]
    Full {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error("catalog {path} has schema version {found}, newer than this dxbackup knows ({known}); upgrade dxbackup")]
    TooNew {
        path: PathBuf,
        found: i64,
        known: i64,
    },
}

type Result<T, E = CatalogError> = std::result::Result<T, E>;

/// Forward-only migrations; index + 1 is the schema version. Never edit or drop one.
const MIGRATIONS: &[&str] = &[
    r"
CREATE TABLE runs (
    id INTEGER PRIMARY KEY,
    command TEXT NOT NULL,
    source TEXT,
    repository TEXT,
    host TEXT NOT NULL,
    pid INTEGER NOT NULL,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    status TEXT NOT NULL,
    snapshot_id TEXT,
    error TEXT,
    duration_ms INTEGER,
    bytes_read INTEGER,
    bytes_added INTEGER,
    bytes_added_packed INTEGER,
    files_new INTEGER,
    files_changed INTEGER,
    files_unmodified INTEGER
);
CREATE INDEX runs_by_source ON runs(source, started_at);
CREATE TABLE verifications (
    id INTEGER PRIMARY KEY,
    run_id INTEGER REFERENCES runs(id),
    repository TEXT NOT NULL,
    at TEXT NOT NULL,
    read_data_pct REAL,
    errors INTEGER NOT NULL,
    warnings INTEGER NOT NULL,
    findings TEXT NOT NULL
);
",
    r"
CREATE TABLE binlog_parts (
    id INTEGER PRIMARY KEY,
    source TEXT NOT NULL,
    repository TEXT NOT NULL,
    file TEXT NOT NULL,
    offset INTEGER NOT NULL,
    len INTEGER NOT NULL,
    first_event INTEGER,
    last_event INTEGER,
    last_gtid TEXT,
    closed INTEGER NOT NULL,
    snapshot_id TEXT NOT NULL,
    stored_at TEXT NOT NULL
);
CREATE INDEX binlog_parts_by_source ON binlog_parts(source, id);
CREATE TABLE drills (
    id INTEGER PRIMARY KEY,
    source TEXT NOT NULL,
    at TEXT NOT NULL,
    ok INTEGER NOT NULL,
    rto_ms INTEGER NOT NULL,
    snapshot_id TEXT,
    detail TEXT NOT NULL
);
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
ALTER TABLE runs ADD COLUMN copy_from TEXT;
ALTER TABLE runs ADD COLUMN snapshots_copied INTEGER;
ALTER TABLE runs ADD COLUMN bytes_copied INTEGER;
CREATE INDEX runs_by_repository ON runs(repository, command, id);
",
    r"
ALTER TABLE runs ADD COLUMN mode TEXT;
ALTER TABLE runs ADD COLUMN mode_reason TEXT;
CREATE TABLE schedule_runs (
    id INTEGER PRIMARY KEY,
    schedule TEXT NOT NULL,
    job TEXT NOT NULL,
    slot TEXT NOT NULL,
    attempt INTEGER NOT NULL,
    catch_up INTEGER NOT NULL,
    host TEXT NOT NULL,
    pid INTEGER NOT NULL,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    status TEXT NOT NULL,
    mode TEXT,
    mode_reason TEXT,
    error TEXT,
    log TEXT
);
CREATE INDEX schedule_runs_by_schedule ON schedule_runs(schedule, id);
",
    r"
CREATE TABLE repo_samples (
    id INTEGER PRIMARY KEY,
    repository TEXT NOT NULL,
    at TEXT NOT NULL,
    reachable INTEGER NOT NULL,
    free_bytes INTEGER,
    total_bytes INTEGER,
    snapshots INTEGER,
    behind INTEGER
);
CREATE INDEX repo_samples_by_repository ON repo_samples(repository, at);
CREATE TABLE open_findings (
    key TEXT PRIMARY KEY,
    severity TEXT NOT NULL,
    since TEXT NOT NULL,
    message TEXT NOT NULL
);
CREATE TABLE alert_state (
    channel TEXT NOT NULL,
    finding TEXT NOT NULL,
    severity TEXT NOT NULL,
    sent_at TEXT NOT NULL,
    PRIMARY KEY (channel, finding)
);
CREATE TABLE alerts_sent (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    channel TEXT NOT NULL,
    finding TEXT NOT NULL,
    kind TEXT NOT NULL,
    severity TEXT NOT NULL,
    ok INTEGER NOT NULL,
    attempts INTEGER NOT NULL,
    error TEXT
);
",
    // The dashboard's and the report's view of the repositories (what `report::observe`
    // last listed), so no page view opens one; and the indexes their queries walk.
    r"
CREATE TABLE observed_snapshots (
    repository TEXT NOT NULL,
    id TEXT NOT NULL,
    time_ms INTEGER NOT NULL,
    host TEXT NOT NULL,
    source TEXT,
    kind TEXT,
    tags TEXT NOT NULL,
    paths TEXT NOT NULL,
    description TEXT,
    summary TEXT,
    PRIMARY KEY (repository, id)
);
CREATE INDEX observed_snapshots_by_source ON observed_snapshots(repository, source, time_ms);
CREATE INDEX drills_by_source ON drills(source, at);
CREATE INDEX verifications_by_repository ON verifications(repository, at);
CREATE INDEX runs_by_started ON runs(started_at);
",
    // The Runs page filtered by source and status (failures of one source): counted and
    // listed from the index, not by reading every run of the source.
    r"
CREATE INDEX runs_by_source_status ON runs(source, status, started_at);
",
];

/// How a run ended. `Running` is what an attempt looks like until it finishes; a run still
/// `Running` whose process is gone is marked `Interrupted` at the next start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RunStatus {
    Running,
    Ok,
    Warning,
    Failed,
    Interrupted,
    /// Not run: put off by load (a database full in light mode), or its slot skipped.
    Skipped,
}

impl RunStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::Ok => "ok",
            Self::Warning => "warning",
            Self::Failed => "failed",
            Self::Interrupted => "interrupted",
            Self::Skipped => "skipped",
        }
    }

    pub fn parse(s: &str) -> Self {
        match s {
            "running" => Self::Running,
            "ok" => Self::Ok,
            "warning" => Self::Warning,
            "interrupted" => Self::Interrupted,
            "skipped" => Self::Skipped,
            _ => Self::Failed,
        }
    }
}

/// Figures of one backup run.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Metrics {
    pub bytes_read: u64,
    pub bytes_added: u64,
    pub bytes_added_packed: u64,
    pub files_new: u64,
    pub files_changed: u64,
    pub files_unmodified: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct RunRecord {
    pub id: i64,
    pub command: String,
    pub source: Option<String>,
    pub repository: Option<String>,
    pub started_at: jiff::Timestamp,
    pub finished_at: Option<jiff::Timestamp>,
    pub status: RunStatus,
    pub snapshot_id: Option<String>,
    pub error: Option<String>,
    pub duration_ms: Option<u64>,
    pub metrics: Option<Metrics>,
    /// normal, light or minimal (backups), and why.
    pub mode: Option<String>,
    pub mode_reason: Option<String>,
}

impl RunRecord {
    pub fn duration(&self) -> Option<Duration> {
        self.duration_ms.map(Duration::from_millis)
    }
}

/// The end of a run, as recorded.
#[derive(Debug, Clone)]
pub struct RunEnd {
    pub status: RunStatus,
    pub snapshot_id: Option<String>,
    pub error: Option<String>,
    pub duration: Duration,
    pub metrics: Option<Metrics>,
}

pub struct Catalog {
    conn: Connection,
    path: PathBuf,
}

impl Catalog {
    /// Opens (creating and migrating as needed) `catalog.db` in `state_dir`.
    pub fn open(state_dir: &Path) -> Result<Self> {
        let path = private::prepare(state_dir)?;
        let sql = |source| CatalogError::of(&path, source);
        let conn = Connection::open(&path).map_err(sql)?;
        space::keep_wal_files(&conn).map_err(sql)?;
        conn.busy_timeout(Duration::from_secs(30)).map_err(sql)?;
        // Switching a new database to WAL needs it to itself, and SQLite does not busy-wait
        // for that: another process opening it at the same moment gets SQLITE_BUSY at once.
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        loop {
            match conn.pragma_update(None, "journal_mode", "WAL") {
                Err(e)
                    if e.sqlite_error_code() == Some(rusqlite::ErrorCode::DatabaseBusy)
                        && std::time::Instant::now() < deadline =>
                {
                    std::thread::sleep(Duration::from_millis(20));
                }
                r => break r.map_err(sql)?,
            }
        }
        conn.pragma_update(None, "foreign_keys", "ON")
            .map_err(sql)?;
        let cat = Self { conn, path };
        cat.migrate()?;
        cat.mark_orphans()?;
        cat.mark_orphan_schedule_runs()?;
        Ok(cat)
    }

    fn sql(&self, source: rusqlite::Error) -> CatalogError {
        CatalogError::of(&self.path, source)
    }

    /// A write transaction that takes the write lock at once. A deferred one that reads first
    /// and writes later fails with SQLITE_BUSY at once (no busy wait) when another process
    /// wrote in between, which is what a daemon, an archiver and a backup sharing one state
    /// directory do.
    fn write_tx(&self) -> Result<rusqlite::Transaction<'_>> {
        rusqlite::Transaction::new_unchecked(&self.conn, rusqlite::TransactionBehavior::Immediate)
            .map_err(|e| self.sql(e))
    }

    /// Brings the schema up to date. An up-to-date catalog (every open but the first) takes no
    /// lock. Otherwise the version is read again under the write lock: two processes opening
    /// a new catalog together (an archiver and a backup started at once) would both run the
    /// first migration, and the second would fail on "table runs already exists".
    fn migrate(&self) -> Result<()> {
        let known = MIGRATIONS.len() as i64;
        if self.schema_version(&self.conn)? == known {
            return Ok(());
        }
        let tx = self.write_tx()?;
        let version = self.schema_version(&tx)?;
        if version > known {
            return Err(CatalogError::TooNew {
                path: self.path.clone(),
                found: version,
                known,
            });
        }
        for (i, m) in MIGRATIONS.iter().enumerate().skip(version as usize) {
            tx.execute_batch(m).map_err(|e| self.sql(e))?;
            tx.pragma_update(None, "user_version", i as i64 + 1)
                .map_err(|e| self.sql(e))?;
        }
        tx.commit().map_err(|e| self.sql(e))
    }

    fn schema_version(&self, conn: &Connection) -> Result<i64> {
        conn.pragma_query_value(None, "user_version", |r| r.get(0))
            .map_err(|e| self.sql(e))
    }

    /// Runs left `running` by a process that no longer exists were killed: say so.
    fn mark_orphans(&self) -> Result<()> {
        let host = crate::host_name();
        let mut stmt = self
            .conn
            .prepare("SELECT id, pid FROM runs WHERE status = 'running' AND host = ?1")
            .map_err(|e| self.sql(e))?;
        let rows: Vec<(i64, i64)> = stmt
            .query_map([&host], |r| Ok((r.get(0)?, r.get(1)?)))
            .and_then(Iterator::collect)
            .map_err(|e| self.sql(e))?;
        for (id, pid) in rows {
            if !process_alive(pid) {
                self.conn
                    .execute(
                        "UPDATE runs SET status = 'interrupted', error = 'the process ended before the run finished (killed or crashed)' WHERE id = ?1",
                        [id],
                    )
                    .map_err(|e| self.sql(e))?;
            }
        }
        Ok(())
    }

    /// Whether a backup into `repository` was interrupted after its last successful one: its
    /// leftovers should be indexed before the next backup.
    pub fn interrupted_since_success(&self, repository: &str) -> Result<bool> {
        self.conn
            .query_row(
                "SELECT EXISTS(SELECT 1 FROM runs WHERE repository = ?1 AND status = 'interrupted' AND id >
                   COALESCE((SELECT MAX(id) FROM runs WHERE repository = ?1 AND command = 'backup'
                             AND status IN ('ok', 'warning')), 0))",
                [repository],
                |r| r.get(0),
            )
            .map_err(|e| self.sql(e))
    }

    /// Records that a run started; returns its id.
    pub fn start_run(
        &self,
        command: &str,
        source: Option<&str>,
        repository: Option<&str>,
    ) -> Result<i64> {
        self.conn
            .execute(
                "INSERT INTO runs (command, source, repository, host, pid, started_at, status)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'running')",
                params![
                    command,
                    source,
                    repository,
                    crate::host_name(),
                    std::process::id(),
                    jiff::Timestamp::now().to_string()
                ],
            )
            .map_err(|e| self.sql(e))?;
        Ok(self.conn.last_insert_rowid())
    }

    pub fn finish_run(&self, id: i64, end: &RunEnd) -> Result<()> {
        let m = end.metrics.clone();
        let m = m.as_ref();
        let int = |v: Option<u64>| v.map(|v| i64::try_from(v).unwrap_or(i64::MAX));
        self.conn
            .execute(
                "UPDATE runs SET finished_at = ?2, status = ?3, snapshot_id = ?4, error = ?5, duration_ms = ?6,
                 bytes_read = ?7, bytes_added = ?8, bytes_added_packed = ?9, files_new = ?10,
                 files_changed = ?11, files_unmodified = ?12 WHERE id = ?1",
                params![
                    id,
                    jiff::Timestamp::now().to_string(),
                    end.status.as_str(),
                    end.snapshot_id,
                    end.error,
                    int(Some(end.duration.as_millis() as u64)),
                    int(m.map(|m| m.bytes_read)),
                    int(m.map(|m| m.bytes_added)),
                    int(m.map(|m| m.bytes_added_packed)),
                    int(m.map(|m| m.files_new)),
                    int(m.map(|m| m.files_changed)),
                    int(m.map(|m| m.files_unmodified)),
                ],
            )
            .map_err(|e| self.sql(e))?;
        Ok(())
    }

    /// Runs of `command` (all commands when `None`), newest last, at most `last` of them.
    pub fn runs(
        &self,
        command: Option<&str>,
        source: Option<&str>,
        last: usize,
    ) -> Result<Vec<RunRecord>> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT id, command, source, repository, started_at, finished_at, status, snapshot_id, error,
                        duration_ms, bytes_read, bytes_added, bytes_added_packed, files_new, files_changed,
                        files_unmodified, mode, mode_reason
                 FROM runs WHERE (?1 IS NULL OR command = ?1) AND (?2 IS NULL OR source = ?2)
                 ORDER BY id DESC LIMIT ?3",
            )
            .map_err(|e| self.sql(e))?;
        let mut rows: Vec<RunRecord> = stmt
            .query_map(params![command, source, last as i64], row_to_run)
            .and_then(Iterator::collect)
            .map_err(|e| self.sql(e))?;
        rows.reverse();
        Ok(rows)
    }
}

fn row_to_run(r: &rusqlite::Row<'_>) -> rusqlite::Result<RunRecord> {
    let ts = |s: Option<String>| s.and_then(|s| s.parse::<jiff::Timestamp>().ok());
    let u = |v: Option<i64>| v.map(|v| v.max(0) as u64);
    let bytes_read: Option<i64> = r.get(10)?;
    let metrics = bytes_read.map(|_| -> rusqlite::Result<Metrics> {
        Ok(Metrics {
            bytes_read: u(r.get(10)?).unwrap_or(0),
            bytes_added: u(r.get(11)?).unwrap_or(0),
            bytes_added_packed: u(r.get(12)?).unwrap_or(0),
            files_new: u(r.get(13)?).unwrap_or(0),
            files_changed: u(r.get(14)?).unwrap_or(0),
            files_unmodified: u(r.get(15)?).unwrap_or(0),
        })
    });
    Ok(RunRecord {
        id: r.get(0)?,
        command: r.get(1)?,
        source: r.get(2)?,
        repository: r.get(3)?,
        started_at: ts(r.get(4)?).unwrap_or_default(),
        finished_at: ts(r.get(5)?),
        status: RunStatus::parse(&r.get::<_, String>(6)?),
        snapshot_id: r.get(7)?,
        error: r.get(8)?,
        duration_ms: u(r.get(9)?),
        metrics: metrics.transpose()?,
        mode: r.get(16)?,
        mode_reason: r.get(17)?,
    })
}

/// Whether process `pid` exists on this host.
pub fn process_alive(pid: i64) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    // Signal 0 checks existence; EPERM means it exists but belongs to someone else.
    // SAFETY: kill with signal 0 sends nothing; it only checks the pid.
    let rc = unsafe { libc::kill(pid, 0) };
    rc == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

#[cfg(test)]
mod tests;
