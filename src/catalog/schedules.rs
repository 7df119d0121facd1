//! What the daemon did with each schedule's slots: every attempt (with its mode and why),
//! every skip, every retry, kept apart from success; and the mode a run was made in.

use rusqlite::params;
use serde::Serialize;

use super::{process_alive, Catalog, Result, RunStatus};

/// One slot of one schedule, as attempted or skipped.
#[derive(Debug, Clone, Serialize)]
pub struct ScheduleRun {
    pub id: i64,
    pub schedule: String,
    pub job: String,
    /// The slot's instant.
    pub slot: jiff::Timestamp,
    /// 1 for the first try, 2.. for retries.
    pub attempt: u32,
    /// The slot was run late (missed while the daemon was down, or the machine asleep).
    pub catch_up: bool,
    pub started_at: jiff::Timestamp,
    pub finished_at: Option<jiff::Timestamp>,
    /// running, ok, warning, failed, interrupted, skipped.
    pub status: RunStatus,
    pub mode: Option<String>,
    pub mode_reason: Option<String>,
    /// The error, or why it was skipped.
    pub error: Option<String>,
    /// The job's log file.
    pub log: Option<String>,
}

/// The start of an attempt.
#[derive(Debug, Clone)]
pub struct ScheduleRunStart<'a> {
    pub schedule: &'a str,
    pub job: &'a str,
    pub slot: jiff::Timestamp,
    pub attempt: u32,
    pub catch_up: bool,
    pub mode: Option<&'a str>,
    pub mode_reason: Option<&'a str>,
    pub log: Option<&'a str>,
}

/// How an attempt ended.
#[derive(Debug, Clone)]
pub struct ScheduleRunEnd {
    pub status: RunStatus,
    pub error: Option<String>,
}

const COLUMNS: &str = "id, schedule, job, slot, attempt, catch_up, started_at, finished_at, status, mode, mode_reason, error, log";

impl Catalog {
    /// Records an attempt of a slot (status `running`, the caller's pid); returns its id.
    pub fn start_schedule_run(&self, s: &ScheduleRunStart<'_>) -> Result<i64> {
        self.conn
            .execute(
                "INSERT INTO schedule_runs (schedule, job, slot, attempt, catch_up, host, pid, started_at, status, mode, mode_reason, log)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'running', ?9, ?10, ?11)",
                params![
                    s.schedule,
                    s.job,
                    s.slot.to_string(),
                    s.attempt,
                    s.catch_up,
                    crate::host_name(),
                    std::process::id(),
                    jiff::Timestamp::now().to_string(),
                    s.mode,
                    s.mode_reason,
                    s.log,
                ],
            )
            .map_err(|e| self.sql(e))?;
        Ok(self.conn.last_insert_rowid())
    }

    pub fn finish_schedule_run(&self, id: i64, end: &ScheduleRunEnd) -> Result<()> {
        self.conn
            .execute(
                "UPDATE schedule_runs SET finished_at = ?2, status = ?3, error = ?4 WHERE id = ?1",
                params![
                    id,
                    jiff::Timestamp::now().to_string(),
                    end.status.as_str(),
                    end.error
                ],
            )
            .map_err(|e| self.sql(e))?;
        Ok(())
    }

    /// Records a slot that was not run, and why.
    pub fn record_schedule_skip(
        &self,
        schedule: &str,
        job: &str,
        slot: jiff::Timestamp,
        reason: &str,
    ) -> Result<()> {
        let id = self.start_schedule_run(&ScheduleRunStart {
            schedule,
            job,
            slot,
            attempt: 0,
            catch_up: false,
            mode: None,
            mode_reason: None,
            log: None,
        })?;
        self.finish_schedule_run(
            id,
            &ScheduleRunEnd {
                status: RunStatus::Skipped,
                error: Some(reason.to_string()),
            },
        )
    }

    /// The latest slot of `schedule` that was run or skipped: `schedule::due`'s memory.
    pub fn last_slot_handled(&self, schedule: &str) -> Result<Option<jiff::Timestamp>> {
        let slots: Vec<String> = self
            .conn
            .prepare("SELECT slot FROM schedule_runs WHERE schedule = ?1 ORDER BY id DESC LIMIT 50")
            .and_then(|mut s| {
                s.query_map([schedule], |r| r.get(0))
                    .and_then(Iterator::collect)
            })
            .map_err(|e| self.sql(e))?;
        Ok(slots
            .iter()
            .filter_map(|s| s.parse::<jiff::Timestamp>().ok())
            .max())
    }

    /// The newest attempts of `schedule` (or of every schedule), newest first.
    pub fn schedule_runs(&self, schedule: Option<&str>, last: usize) -> Result<Vec<ScheduleRun>> {
        let mut stmt = self
            .conn
            .prepare(&format!(
                "SELECT {COLUMNS} FROM schedule_runs WHERE (?1 IS NULL OR schedule = ?1) ORDER BY id DESC LIMIT ?2"
            ))
            .map_err(|e| self.sql(e))?;
        stmt.query_map(params![schedule, last as i64], row_to_schedule_run)
            .and_then(Iterator::collect)
            .map_err(|e| self.sql(e))
    }

    /// Records the mode a run was made in, and why.
    pub fn set_run_mode(&self, run_id: i64, mode: &str, reason: &str) -> Result<()> {
        self.conn
            .execute(
                "UPDATE runs SET mode = ?2, mode_reason = ?3 WHERE id = ?1",
                params![run_id, mode, reason],
            )
            .map_err(|e| self.sql(e))?;
        Ok(())
    }

    /// Attempts left `running` by a daemon that no longer exists: it was killed.
    pub(super) fn mark_orphan_schedule_runs(&self) -> Result<()> {
        let host = crate::host_name();
        let rows: Vec<(i64, i64)> = self
            .conn
            .prepare("SELECT id, pid FROM schedule_runs WHERE status = 'running' AND host = ?1")
            .and_then(|mut s| {
                s.query_map([&host], |r| Ok((r.get(0)?, r.get(1)?)))
                    .and_then(Iterator::collect)
            })
            .map_err(|e| self.sql(e))?;
        for (id, pid) in rows {
            if !process_alive(pid) {
                self.conn
                    .execute(
                        "UPDATE schedule_runs SET status = 'interrupted', finished_at = ?2, error = 'the daemon ended before the job finished (killed or crashed)' WHERE id = ?1",
                        params![id, jiff::Timestamp::now().to_string()],
                    )
                    .map_err(|e| self.sql(e))?;
            }
        }
        Ok(())
    }

    /// Marks this process's own attempts still `running` as interrupted (a daemon stopping).
    pub fn interrupt_my_schedule_runs(&self, why: &str) -> Result<()> {
        self.conn
            .execute(
                "UPDATE schedule_runs SET status = 'interrupted', finished_at = ?3, error = ?2 WHERE status = 'running' AND host = ?4 AND pid = ?1",
                params![
                    std::process::id(),
                    why,
                    jiff::Timestamp::now().to_string(),
                    crate::host_name()
                ],
            )
            .map_err(|e| self.sql(e))?;
        Ok(())
    }
}

fn row_to_schedule_run(r: &rusqlite::Row<'_>) -> rusqlite::Result<ScheduleRun> {
    let ts = |s: Option<String>| s.and_then(|s| s.parse::<jiff::Timestamp>().ok());
    Ok(ScheduleRun {
        id: r.get(0)?,
        schedule: r.get(1)?,
        job: r.get(2)?,
        slot: ts(r.get(3)?).unwrap_or_default(),
        attempt: r.get(4)?,
        catch_up: r.get(5)?,
        started_at: ts(r.get(6)?).unwrap_or_default(),
        finished_at: ts(r.get(7)?),
        status: RunStatus::parse(&r.get::<_, String>(8)?),
        mode: r.get(9)?,
        mode_reason: r.get(10)?,
        error: r.get(11)?,
        log: r.get(12)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attempts_skips_and_the_last_slot_handled() {
        let dir = tempfile::tempdir().unwrap();
        let c = Catalog::open(dir.path()).unwrap();
        assert_eq!(c.last_slot_handled("nightly").unwrap(), None);
        let slot: jiff::Timestamp = "2026-12-01T02:00:00Z".parse().unwrap();
        let id = c
            .start_schedule_run(&ScheduleRunStart {
                schedule: "nightly",
                job: "run",
                slot,
                attempt: 1,
                catch_up: true,
                mode: Some("light"),
                mode_reason: Some("load 1.5 per core"),
                log: None,
            })
            .unwrap();
        c.finish_schedule_run(
            id,
            &ScheduleRunEnd {
                status: RunStatus::Failed,
                error: Some("boom".into()),
            },
        )
        .unwrap();
        let later: jiff::Timestamp = "2026-12-02T02:00:00Z".parse().unwrap();
        c.record_schedule_skip("nightly", "run", later, "its previous run is still running")
            .unwrap();
        assert_eq!(c.last_slot_handled("nightly").unwrap(), Some(later));
        let runs = c.schedule_runs(Some("nightly"), 10).unwrap();
        assert_eq!(runs.len(), 2);
        assert_eq!(runs[0].status, RunStatus::Skipped);
        assert_eq!(runs[1].status, RunStatus::Failed);
        assert_eq!(runs[1].mode.as_deref(), Some("light"));
        assert!(runs[1].catch_up);
    }
}
