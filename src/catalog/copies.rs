//! Copies to secondary repositories, as runs with `command = 'copy'` and `repository` = the
//! target: what `status` reports as a target's last successful copy, and what tells the next
//! copy that the previous one was cut off.

use std::time::Duration;

use rusqlite::{params, OptionalExtension};
use serde::Serialize;

use super::{Catalog, Result, RunStatus};

/// The end of one copy, as recorded.
#[derive(Debug, Clone)]
pub struct CopyEnd {
    pub status: RunStatus,
    pub error: Option<String>,
    pub duration: Duration,
    pub snapshots: u64,
    pub bytes: u64,
}

/// A finished copy.
#[derive(Debug, Clone, Serialize)]
pub struct CopyRecord {
    pub target: String,
    pub from: Option<String>,
    pub finished_at: jiff::Timestamp,
    pub status: RunStatus,
    pub snapshots: u64,
    pub bytes: u64,
    pub duration_ms: u64,
    pub error: Option<String>,
}

impl Catalog {
    /// Records that a copy from `from` to `target` started; returns its run id.
    pub fn start_copy(&self, from: &str, target: &str) -> Result<i64> {
        let id = self.start_run("copy", None, Some(target))?;
        self.conn
            .execute(
                "UPDATE runs SET copy_from = ?2 WHERE id = ?1",
                params![id, from],
            )
            .map_err(|e| self.sql(e))?;
        Ok(id)
    }

    pub fn finish_copy(&self, id: i64, end: &CopyEnd) -> Result<()> {
        let int = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
        self.conn
            .execute(
                "UPDATE runs SET finished_at = ?2, status = ?3, error = ?4, duration_ms = ?5,
                 snapshots_copied = ?6, bytes_copied = ?7 WHERE id = ?1",
                params![
                    id,
                    jiff::Timestamp::now().to_string(),
                    end.status.as_str(),
                    end.error,
                    int(end.duration.as_millis() as u64),
                    int(end.snapshots),
                    int(end.bytes),
                ],
            )
            .map_err(|e| self.sql(e))?;
        Ok(())
    }

    /// The newest finished copy to `target`; with `ok_only`, the newest successful one.
    pub fn last_copy(&self, target: &str, ok_only: bool) -> Result<Option<CopyRecord>> {
        self.conn
            .query_row(
                "SELECT repository, copy_from, finished_at, status, COALESCE(snapshots_copied, 0),
                        COALESCE(bytes_copied, 0), COALESCE(duration_ms, 0), error
                 FROM runs WHERE command = 'copy' AND repository = ?1 AND finished_at IS NOT NULL
                   AND (?2 = 0 OR status IN ('ok', 'warning'))
                 ORDER BY id DESC LIMIT 1",
                params![target, ok_only],
                |r| {
                    let at: String = r.get(2)?;
                    Ok(CopyRecord {
                        target: r.get(0)?,
                        from: r.get(1)?,
                        finished_at: at.parse().unwrap_or_default(),
                        status: RunStatus::parse(&r.get::<_, String>(3)?),
                        snapshots: r.get::<_, i64>(4)?.max(0) as u64,
                        bytes: r.get::<_, i64>(5)?.max(0) as u64,
                        duration_ms: r.get::<_, i64>(6)?.max(0) as u64,
                        error: r.get(7)?,
                    })
                },
            )
            .optional()
            .map_err(|e| self.sql(e))
    }

    /// Whether a copy to `target` failed or was killed after its last successful one: the
    /// packs it wrote should be indexed before copying again, so they are not sent twice.
    pub fn copy_broken_since_success(&self, target: &str) -> Result<bool> {
        self.conn
            .query_row(
                "SELECT EXISTS(SELECT 1 FROM runs WHERE command = 'copy' AND repository = ?1
                   AND status IN ('failed', 'interrupted') AND id >
                   COALESCE((SELECT MAX(id) FROM runs WHERE command = 'copy' AND repository = ?1
                             AND status IN ('ok', 'warning')), 0))",
                [target],
                |r| r.get(0),
            )
            .map_err(|e| self.sql(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn end(status: RunStatus, snapshots: u64) -> CopyEnd {
        CopyEnd {
            status,
            error: (status == RunStatus::Failed).then(|| "connection refused".into()),
            duration: Duration::from_millis(250),
            snapshots,
            bytes: snapshots * 1000,
        }
    }

    #[test]
    fn copies_are_recorded_per_target() {
        let dir = tempfile::tempdir().unwrap();
        let cat = Catalog::open(dir.path()).unwrap();
        assert!(cat.last_copy("nas", false).unwrap().is_none());
        assert!(!cat.copy_broken_since_success("nas").unwrap());

        let a = cat.start_copy("local", "nas").unwrap();
        cat.finish_copy(a, &end(RunStatus::Ok, 3)).unwrap();
        let b = cat.start_copy("local", "nas").unwrap();
        cat.finish_copy(b, &end(RunStatus::Failed, 0)).unwrap();
        let c = cat.start_copy("local", "cloud").unwrap();
        cat.finish_copy(c, &end(RunStatus::Ok, 1)).unwrap();

        let ok = cat.last_copy("nas", true).unwrap().unwrap();
        assert_eq!(
            (ok.snapshots, ok.bytes, ok.status),
            (3, 3000, RunStatus::Ok)
        );
        assert_eq!(ok.from.as_deref(), Some("local"));
        let last = cat.last_copy("nas", false).unwrap().unwrap();
        assert_eq!(last.status, RunStatus::Failed);
        assert_eq!(last.error.as_deref(), Some("connection refused"));
        assert!(cat.copy_broken_since_success("nas").unwrap());
        assert!(!cat.copy_broken_since_success("cloud").unwrap());

        let d = cat.start_copy("local", "nas").unwrap();
        cat.finish_copy(d, &end(RunStatus::Ok, 0)).unwrap();
        assert!(!cat.copy_broken_since_success("nas").unwrap());
    }
}
