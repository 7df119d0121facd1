//! The catalog read back for people: runs filtered by source, kind, status and period (the
//! dashboard's Runs page and the report), one run by id, drills and verifications over a
//! period, and the daemon attempt a run belongs to (whose log holds its lines).

use rusqlite::{params, OptionalExtension};
use serde::Serialize;

use super::{row_to_run, Catalog, DrillRecord, Result, RunRecord};

/// The columns `row_to_run` reads, in its order.
const RUN_COLUMNS: &str =
    "id, command, source, repository, started_at, finished_at, status, snapshot_id, error,
    duration_ms, bytes_read, bytes_added, bytes_added_packed, files_new, files_changed,
    files_unmodified, mode, mode_reason";

/// Which runs to list; `None` means any.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunFilter {
    pub source: Option<String>,
    /// The command: backup, run, copy, restore-db.
    pub command: Option<String>,
    pub status: Option<String>,
    pub since: Option<jiff::Timestamp>,
    pub until: Option<jiff::Timestamp>,
    pub limit: usize,
    pub offset: usize,
}

/// One verification of one repository.
#[derive(Debug, Clone, Serialize)]
pub struct VerificationRecord {
    pub id: i64,
    pub repository: String,
    pub at: jiff::Timestamp,
    pub read_data_pct: Option<f64>,
    pub errors: u64,
    pub warnings: u64,
    pub findings: Vec<String>,
}

fn ts(t: Option<jiff::Timestamp>) -> Option<String> {
    t.map(|t| t.to_string())
}

impl Catalog {
    /// The runs `f` selects, newest first, and how many it selects in all. Only the given
    /// conditions reach the SQL (an `?1 IS NULL OR ...` form would keep SQLite from using
    /// `runs_by_source` and scan every run).
    pub fn runs_filtered(&self, f: &RunFilter) -> Result<(Vec<RunRecord>, usize)> {
        let since = ts(f.since);
        let until = ts(f.until);
        let conditions = [
            ("source = ?", f.source.as_ref()),
            ("command = ?", f.command.as_ref()),
            ("status = ?", f.status.as_ref()),
            ("started_at >= ?", since.as_ref()),
            ("started_at < ?", until.as_ref()),
        ];
        let (mut sql, mut args) = (Vec::new(), Vec::new());
        for (cond, value) in conditions {
            if let Some(v) = value {
                sql.push(cond);
                args.push(v.as_str());
            }
        }
        let filter = if sql.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", sql.join(" AND "))
        };
        let total: i64 = self
            .conn
            .prepare_cached(&format!("SELECT COUNT(*) FROM runs {filter}"))
            .and_then(|mut s| s.query_row(rusqlite::params_from_iter(&args), |r| r.get(0)))
            .map_err(|e| self.sql(e))?;
        // By a source: along `runs_by_source`; else the newest ids (given at start).
        let order = if f.source.is_some() {
            "started_at DESC, id DESC"
        } else {
            "id DESC"
        };
        let (limit, offset) = (f.limit.to_string(), f.offset.to_string());
        args.extend([limit.as_str(), offset.as_str()]);
        let mut stmt = self
            .conn
            .prepare_cached(&format!(
                "SELECT {RUN_COLUMNS} FROM runs {filter} ORDER BY {order} LIMIT CAST(? AS INTEGER) OFFSET CAST(? AS INTEGER)"
            ))
            .map_err(|e| self.sql(e))?;
        let rows = stmt
            .query_map(rusqlite::params_from_iter(&args), row_to_run)
            .and_then(Iterator::collect)
            .map_err(|e| self.sql(e))?;
        Ok((rows, total.max(0) as usize))
    }

    pub fn run_by_id(&self, id: i64) -> Result<Option<RunRecord>> {
        self.conn
            .query_row(
                &format!("SELECT {RUN_COLUMNS} FROM runs WHERE id = ?1"),
                [id],
                row_to_run,
            )
            .optional()
            .map_err(|e| self.sql(e))
    }

    /// A source's runs of `command` started since `since`, oldest first: the charts' points.
    pub fn source_runs_since(
        &self,
        source: &str,
        command: &str,
        since: jiff::Timestamp,
    ) -> Result<Vec<RunRecord>> {
        let mut stmt = self
            .conn
            .prepare_cached(&format!(
                "SELECT {RUN_COLUMNS} FROM runs WHERE source = ?1 AND started_at >= ?2 AND command = ?3
                 ORDER BY started_at, id"
            ))
            .map_err(|e| self.sql(e))?;
        stmt.query_map(params![source, since.to_string(), command], row_to_run)
            .and_then(Iterator::collect)
            .map_err(|e| self.sql(e))
    }

    /// A source's newest run of `command` (of any outcome, or only a finished success).
    pub fn last_source_run(
        &self,
        source: &str,
        command: &str,
        ok_only: bool,
    ) -> Result<Option<RunRecord>> {
        self.conn
            .prepare_cached(&format!(
                "SELECT {RUN_COLUMNS} FROM runs WHERE source = ?1 AND command = ?2
                   AND (?3 = 0 OR status IN ('ok', 'warning'))
                 ORDER BY started_at DESC, id DESC LIMIT 1"
            ))
            .and_then(|mut s| {
                s.query_row(params![source, command, ok_only], row_to_run)
                    .optional()
            })
            .map_err(|e| self.sql(e))
    }

    /// Drills (of one source, or all) since `since`, newest first, at most `limit`.
    pub fn drills_since(
        &self,
        source: Option<&str>,
        since: jiff::Timestamp,
        limit: usize,
    ) -> Result<Vec<(i64, DrillRecord)>> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT id, source, at, ok, rto_ms, snapshot_id, detail FROM drills
                 WHERE (?1 IS NULL OR source = ?1) AND at >= ?2 ORDER BY at DESC, id DESC LIMIT ?3",
            )
            .map_err(|e| self.sql(e))?;
        stmt.query_map(params![source, since.to_string(), limit as i64], |r| {
            Ok((
                r.get(0)?,
                DrillRecord {
                    source: r.get(1)?,
                    at: r.get::<_, String>(2)?.parse().unwrap_or_default(),
                    ok: r.get(3)?,
                    rto_ms: r.get::<_, i64>(4)?.max(0) as u64,
                    snapshot_id: r.get(5)?,
                    detail: r.get(6)?,
                },
            ))
        })
        .and_then(Iterator::collect)
        .map_err(|e| self.sql(e))
    }

    /// Verifications (of one repository, or all) since `since`, newest first.
    pub fn verifications_since(
        &self,
        repository: Option<&str>,
        since: jiff::Timestamp,
        limit: usize,
    ) -> Result<Vec<VerificationRecord>> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT id, repository, at, read_data_pct, errors, warnings, findings FROM verifications
                 WHERE (?1 IS NULL OR repository = ?1) AND at >= ?2 ORDER BY at DESC, id DESC LIMIT ?3",
            )
            .map_err(|e| self.sql(e))?;
        stmt.query_map(params![repository, since.to_string(), limit as i64], |r| {
            let findings: String = r.get(6)?;
            Ok(VerificationRecord {
                id: r.get(0)?,
                repository: r.get(1)?,
                at: r.get::<_, String>(2)?.parse().unwrap_or_default(),
                read_data_pct: r.get(3)?,
                errors: r.get::<_, i64>(4)?.max(0) as u64,
                warnings: r.get::<_, i64>(5)?.max(0) as u64,
                findings: serde_json::from_str(&findings).unwrap_or_default(),
            })
        })
        .and_then(Iterator::collect)
        .map_err(|e| self.sql(e))
    }

    /// When each successful backup of `source` became restorable (its end) and the data
    /// it holds is as of (its start), unix seconds: those in `[since, until)` and the last
    /// one before `since`.
    pub fn backup_points(
        &self,
        source: &str,
        since: jiff::Timestamp,
        until: jiff::Timestamp,
    ) -> Result<Vec<(i64, i64)>> {
        self.points(
            "SELECT finished_at, started_at FROM runs WHERE source = ?1 AND command = 'backup'
               AND status IN ('ok', 'warning') AND finished_at IS NOT NULL",
            "started_at",
            source,
            since,
            until,
        )
    }

    /// When each binlog part of `source` was stored and the time of its last event, as
    /// `backup_points`.
    pub fn binlog_points(
        &self,
        source: &str,
        since: jiff::Timestamp,
        until: jiff::Timestamp,
    ) -> Result<Vec<(i64, i64)>> {
        self.points(
            "SELECT stored_at, last_event FROM binlog_parts WHERE source = ?1 AND last_event IS NOT NULL",
            "stored_at",
            source,
            since,
            until,
        )
    }

    fn points(
        &self,
        select: &str,
        time: &str,
        source: &str,
        since: jiff::Timestamp,
        until: jiff::Timestamp,
    ) -> Result<Vec<(i64, i64)>> {
        let secs = |v: rusqlite::types::Value| match v {
            rusqlite::types::Value::Integer(i) => Some(i),
            rusqlite::types::Value::Text(t) => {
                t.parse::<jiff::Timestamp>().ok().map(|t| t.as_second())
            }
            _ => None,
        };
        let mut out = Vec::new();
        for sql in [
            format!("{select} AND {time} < ?2 ORDER BY {time} DESC LIMIT 1"),
            format!("{select} AND {time} >= ?2 AND {time} < ?3 ORDER BY {time}"),
        ] {
            let mut stmt = self.conn.prepare_cached(&sql).map_err(|e| self.sql(e))?;
            let pair = |r: &rusqlite::Row<'_>| Ok((r.get(0)?, r.get(1)?));
            let rows: Vec<(rusqlite::types::Value, rusqlite::types::Value)> = if sql.contains("?3")
            {
                stmt.query_map(params![source, since.to_string(), until.to_string()], pair)
                    .and_then(Iterator::collect)
            } else {
                stmt.query_map(params![source, since.to_string()], pair)
                    .and_then(Iterator::collect)
            }
            .map_err(|e| self.sql(e))?;
            out.extend(
                rows.into_iter()
                    .filter_map(|(a, p)| Some((secs(a)?, secs(p)?))),
            );
        }
        Ok(out)
    }

    /// Something that changes whenever a run starts or ends, or a drill or verification is
    /// recorded: the dashboard looks at the repositories again then. Cheap (index reads).
    pub fn change_marker(&self) -> Result<String> {
        self.conn
            .query_row(
                "SELECT COALESCE((SELECT group_concat(id || status) FROM (SELECT id, status FROM runs ORDER BY id DESC LIMIT 20)), '')
                   || ':' || COALESCE((SELECT MAX(id) FROM drills), 0)
                   || ':' || COALESCE((SELECT MAX(id) FROM verifications), 0)",
                [],
                |r| r.get(0),
            )
            .map_err(|e| self.sql(e))
    }

    /// The newest binlog part's id: the archive grew.
    pub fn binlog_marker(&self) -> Result<i64> {
        self.conn
            .query_row("SELECT COALESCE(MAX(id), 0) FROM binlog_parts", [], |r| {
                r.get(0)
            })
            .map_err(|e| self.sql(e))
    }

    /// The log of the daemon's attempt that was running at `at` (of `job`, when given): it
    /// holds the lines of the runs that attempt made. `None` for a run started by hand.
    pub fn attempt_log_at(
        &self,
        at: jiff::Timestamp,
        job: Option<&str>,
    ) -> Result<Option<AttemptLog>> {
        self.conn
            .query_row(
                "SELECT schedule, log FROM schedule_runs WHERE started_at <= ?1 AND log IS NOT NULL
                   AND (finished_at IS NULL OR finished_at >= ?1) AND (?2 IS NULL OR job = ?2)
                 ORDER BY started_at DESC LIMIT 1",
                params![at.to_string(), job],
                |r| {
                    Ok(AttemptLog {
                        schedule: r.get(0)?,
                        log: r.get(1)?,
                    })
                },
            )
            .optional()
            .map_err(|e| self.sql(e))
    }
}

/// The log file of one daemon attempt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AttemptLog {
    pub schedule: String,
    pub log: String,
}

#[cfg(test)]
mod tests {
    use super::super::{RunEnd, RunStatus};
    use super::*;

    #[test]
    fn runs_are_filtered_and_counted() {
        let dir = tempfile::tempdir().unwrap();
        let c = Catalog::open(dir.path()).unwrap();
        let end = |status| RunEnd {
            status,
            snapshot_id: None,
            error: None,
            duration: std::time::Duration::from_secs(2),
            metrics: None,
        };
        for (src, status) in [
            ("datax", RunStatus::Ok),
            ("shop", RunStatus::Failed),
            ("datax", RunStatus::Failed),
        ] {
            let id = c.start_run("backup", Some(src), Some("local")).unwrap();
            c.finish_run(id, &end(status)).unwrap();
        }
        c.start_run("run", None, Some("local")).unwrap();
        let f = RunFilter {
            status: Some("failed".into()),
            limit: 1,
            ..RunFilter::default()
        };
        let (rows, total) = c.runs_filtered(&f).unwrap();
        assert_eq!((rows.len(), total), (1, 2));
        assert_eq!(rows[0].source.as_deref(), Some("datax"), "newest first");
        let all = RunFilter {
            limit: 10,
            ..RunFilter::default()
        };
        assert_eq!(c.runs_filtered(&all).unwrap().1, 4);
        let cmd = RunFilter {
            command: Some("run".into()),
            limit: 10,
            ..RunFilter::default()
        };
        let (rows, _) = c.runs_filtered(&cmd).unwrap();
        assert_eq!(rows[0].status, RunStatus::Running);
        assert!(c.run_by_id(rows[0].id).unwrap().is_some());
        let last = c.last_source_run("datax", "backup", true).unwrap().unwrap();
        assert_eq!(last.status, RunStatus::Ok);
        let since = jiff::Timestamp::UNIX_EPOCH;
        assert_eq!(
            c.source_runs_since("datax", "backup", since).unwrap().len(),
            2
        );
    }
}
