//! What the monitor remembers: each repository's free space and snapshot counts as last seen
//! (the metrics and the days-until-full trend read them, never the repository), the findings
//! open now and since when, per channel what was last told about each, and every message sent.

use rusqlite::{params, OptionalExtension};
use serde::Serialize;

use super::{Catalog, Result};

/// A repository as `status`, `monitor` or `run` saw it.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct RepoSample {
    pub repository: String,
    pub at: jiff::Timestamp,
    pub reachable: bool,
    pub free: Option<u64>,
    pub total: Option<u64>,
    pub snapshots: Option<u64>,
    pub behind: Option<u64>,
}

/// A finding open now, as the monitor last evaluated it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OpenFinding {
    pub key: String,
    pub severity: String,
    pub since: jiff::Timestamp,
    pub message: String,
}

/// What a channel was last told about one finding.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AlertState {
    pub channel: String,
    pub finding: String,
    pub severity: String,
    pub sent_at: jiff::Timestamp,
}

/// One message to one channel, and how it went.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AlertSent {
    pub at: jiff::Timestamp,
    pub channel: String,
    pub finding: String,
    /// alert, repeat, recovery, test, ping
    pub kind: String,
    pub severity: String,
    pub ok: bool,
    pub attempts: u32,
    pub error: Option<String>,
}

/// Samples closer together than this replace each other: a monitor every minute keeps one
/// row per repository per 10 minutes, plenty for a 30-day trend.
const SAMPLE_EVERY_SECS: i64 = 600;
/// Samples older than this are dropped.
const SAMPLE_KEEP_SECS: i64 = 90 * 86400;

fn ts(s: String) -> jiff::Timestamp {
    s.parse().unwrap_or_default()
}

fn int(v: Option<u64>) -> Option<i64> {
    v.map(|v| i64::try_from(v).unwrap_or(i64::MAX))
}

fn uint(v: Option<i64>) -> Option<u64> {
    v.map(|v| v.max(0) as u64)
}

impl Catalog {
    /// Records what was seen of a repository; a sample within 10 minutes of the previous one
    /// replaces it, so the newest is always current and the table stays small.
    pub fn record_repo_sample(&self, s: &RepoSample) -> Result<()> {
        let last: Option<(i64, String)> = self
            .conn
            .query_row(
                "SELECT id, at FROM repo_samples WHERE repository = ?1 ORDER BY id DESC LIMIT 1",
                [&s.repository],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(|e| self.sql(e))?;
        let recent = last.as_ref().is_some_and(|(_, at)| {
            (s.at.as_second() - ts(at.clone()).as_second()).abs() < SAMPLE_EVERY_SECS
        });
        let replace = last.filter(|_| recent).map(|(id, _)| id);
        self.conn
            .execute(
                "INSERT INTO repo_samples (id, repository, at, reachable, free_bytes, total_bytes, snapshots, behind)
                 VALUES (?8, ?1, ?2, ?3, ?4, ?5, ?6, ?7)
                 ON CONFLICT(id) DO UPDATE SET at = ?2, reachable = ?3, free_bytes = ?4,
                 total_bytes = ?5, snapshots = ?6, behind = ?7",
                params![
                    s.repository,
                    s.at.to_string(),
                    s.reachable,
                    int(s.free),
                    int(s.total),
                    int(s.snapshots),
                    int(s.behind),
                    replace
                ],
            )
        .map_err(|e| self.sql(e))?;
        let cutoff =
            jiff::Timestamp::from_second(s.at.as_second() - SAMPLE_KEEP_SECS).unwrap_or_default();
        self.conn
            .execute(
                "DELETE FROM repo_samples WHERE repository = ?1 AND at < ?2",
                params![s.repository, cutoff.to_string()],
            )
            .map_err(|e| self.sql(e))?;
        Ok(())
    }

    /// A repository's samples since `since`, oldest first.
    pub fn repo_samples(
        &self,
        repository: &str,
        since: jiff::Timestamp,
    ) -> Result<Vec<RepoSample>> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT repository, at, reachable, free_bytes, total_bytes, snapshots, behind
                 FROM repo_samples WHERE repository = ?1 AND at >= ?2 ORDER BY at",
            )
            .map_err(|e| self.sql(e))?;
        stmt.query_map(params![repository, since.to_string()], |r| {
            Ok(RepoSample {
                repository: r.get(0)?,
                at: ts(r.get(1)?),
                reachable: r.get(2)?,
                free: uint(r.get(3)?),
                total: uint(r.get(4)?),
                snapshots: uint(r.get(5)?),
                behind: uint(r.get(6)?),
            })
        })
        .and_then(Iterator::collect)
        .map_err(|e| self.sql(e))
    }

    /// The newest sample of a repository.
    pub fn last_repo_sample(&self, repository: &str) -> Result<Option<RepoSample>> {
        Ok(self
            .repo_samples(repository, jiff::Timestamp::UNIX_EPOCH)?
            .pop())
    }

    /// Replaces the open findings by `now_open`, keeping the `since` of those that stay.
    pub fn set_open_findings(&self, now_open: &[OpenFinding]) -> Result<()> {
        let tx = self.write_tx()?;
        let keys: Vec<&str> = now_open.iter().map(|f| f.key.as_str()).collect();
        for old in self.open_findings()? {
            if !keys.contains(&old.key.as_str()) {
                tx.execute("DELETE FROM open_findings WHERE key = ?1", [&old.key])
                    .map_err(|e| self.sql(e))?;
            }
        }
        for f in now_open {
            tx.execute(
                "INSERT INTO open_findings (key, severity, since, message) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT(key) DO UPDATE SET severity = ?2, message = ?4",
                params![f.key, f.severity, f.since.to_string(), f.message],
            )
            .map_err(|e| self.sql(e))?;
        }
        tx.commit().map_err(|e| self.sql(e))
    }

    pub fn open_findings(&self) -> Result<Vec<OpenFinding>> {
        let mut stmt = self
            .conn
            .prepare("SELECT key, severity, since, message FROM open_findings ORDER BY key")
            .map_err(|e| self.sql(e))?;
        stmt.query_map([], |r| {
            Ok(OpenFinding {
                key: r.get(0)?,
                severity: r.get(1)?,
                since: ts(r.get(2)?),
                message: r.get(3)?,
            })
        })
        .and_then(Iterator::collect)
        .map_err(|e| self.sql(e))
    }

    /// What every channel was last told, per finding.
    pub fn alert_states(&self) -> Result<Vec<AlertState>> {
        let mut stmt = self
            .conn
            .prepare("SELECT channel, finding, severity, sent_at FROM alert_state ORDER BY channel, finding")
            .map_err(|e| self.sql(e))?;
        stmt.query_map([], |r| {
            Ok(AlertState {
                channel: r.get(0)?,
                finding: r.get(1)?,
                severity: r.get(2)?,
                sent_at: ts(r.get(3)?),
            })
        })
        .and_then(Iterator::collect)
        .map_err(|e| self.sql(e))
    }

    /// A channel was told about `finding` at `severity`; `None` severity: it was told of the
    /// recovery, so nothing is remembered any more.
    pub fn set_alert_state(
        &self,
        channel: &str,
        finding: &str,
        severity: Option<&str>,
        at: jiff::Timestamp,
    ) -> Result<()> {
        match severity {
            Some(sev) => self.conn.execute(
                "INSERT INTO alert_state (channel, finding, severity, sent_at) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT(channel, finding) DO UPDATE SET severity = ?3, sent_at = ?4",
                params![channel, finding, sev, at.to_string()],
            ),
            None => self.conn.execute(
                "DELETE FROM alert_state WHERE channel = ?1 AND finding = ?2",
                params![channel, finding],
            ),
        }
        .map_err(|e| self.sql(e))?;
        Ok(())
    }

    pub fn record_alert_sent(&self, a: &AlertSent) -> Result<()> {
        self.conn
            .execute(
                "INSERT INTO alerts_sent (at, channel, finding, kind, severity, ok, attempts, error)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![
                    a.at.to_string(),
                    a.channel,
                    a.finding,
                    a.kind,
                    a.severity,
                    a.ok,
                    a.attempts,
                    a.error
                ],
            )
            .map_err(|e| self.sql(e))?;
        Ok(())
    }

    /// The newest messages sent, newest last.
    pub fn alerts_sent(&self, last: usize) -> Result<Vec<AlertSent>> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT at, channel, finding, kind, severity, ok, attempts, error FROM alerts_sent
                 ORDER BY id DESC LIMIT ?1",
            )
            .map_err(|e| self.sql(e))?;
        let mut rows: Vec<AlertSent> = stmt
            .query_map([last as i64], |r| {
                Ok(AlertSent {
                    at: ts(r.get(0)?),
                    channel: r.get(1)?,
                    finding: r.get(2)?,
                    kind: r.get(3)?,
                    severity: r.get(4)?,
                    ok: r.get(5)?,
                    attempts: r.get(6)?,
                    error: r.get(7)?,
                })
            })
            .and_then(Iterator::collect)
            .map_err(|e| self.sql(e))?;
        rows.reverse();
        Ok(rows)
    }

    /// Every verification of a repository's newest one: (time, errors, findings).
    pub fn last_verification_detail(
        &self,
        repository: &str,
    ) -> Result<Option<(jiff::Timestamp, u64, Vec<String>)>> {
        self.conn
            .query_row(
                "SELECT at, errors, findings FROM verifications WHERE repository = ?1 ORDER BY id DESC LIMIT 1",
                [repository],
                |r| {
                    let findings: String = r.get(2)?;
                    Ok((
                        ts(r.get(0)?),
                        r.get::<_, i64>(1)?.max(0) as u64,
                        serde_json::from_str(&findings).unwrap_or_default(),
                    ))
                },
            )
            .optional()
            .map_err(|e| self.sql(e))
    }
}

/// Per source and status, how many backup runs and the bytes they added: the counters of
/// the metrics.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunTotal {
    pub source: String,
    pub status: String,
    pub runs: u64,
    pub bytes_added: u64,
}

impl Catalog {
    pub fn backup_totals(&self) -> Result<Vec<RunTotal>> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT source, status, COUNT(*), COALESCE(SUM(bytes_added), 0) FROM runs
                 WHERE command = 'backup' AND source IS NOT NULL GROUP BY source, status ORDER BY source, status",
            )
            .map_err(|e| self.sql(e))?;
        stmt.query_map([], |r| {
            Ok(RunTotal {
                source: r.get(0)?,
                status: r.get(1)?,
                runs: r.get::<_, i64>(2)?.max(0) as u64,
                bytes_added: r.get::<_, i64>(3)?.max(0) as u64,
            })
        })
        .and_then(Iterator::collect)
        .map_err(|e| self.sql(e))
    }

    /// Per channel and result (true: sent), how many messages.
    pub fn alert_totals(&self) -> Result<Vec<(String, bool, u64)>> {
        let mut stmt = self
            .conn
            .prepare("SELECT channel, ok, COUNT(*) FROM alerts_sent GROUP BY channel, ok ORDER BY channel, ok")
            .map_err(|e| self.sql(e))?;
        stmt.query_map([], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get::<_, i64>(2)?.max(0) as u64))
        })
        .and_then(Iterator::collect)
        .map_err(|e| self.sql(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: i64) -> jiff::Timestamp {
        jiff::Timestamp::from_second(1_800_000_000 + s).unwrap()
    }

    #[test]
    fn samples_within_ten_minutes_replace_each_other() {
        let dir = tempfile::tempdir().unwrap();
        let c = Catalog::open(dir.path()).unwrap();
        let s = |t: i64, free: u64| RepoSample {
            repository: "local".into(),
            at: at(t),
            reachable: true,
            free: Some(free),
            total: Some(1000),
            snapshots: Some(3),
            behind: None,
        };
        c.record_repo_sample(&s(0, 900)).unwrap();
        c.record_repo_sample(&s(60, 800)).unwrap();
        c.record_repo_sample(&s(700, 700)).unwrap();
        let all = c.repo_samples("local", at(-1)).unwrap();
        assert_eq!(
            all.iter().map(|s| s.free).collect::<Vec<_>>(),
            [Some(800), Some(700)]
        );
        assert_eq!(
            c.last_repo_sample("local").unwrap().unwrap().free,
            Some(700)
        );
        assert!(c.last_repo_sample("nas").unwrap().is_none());
    }

    #[test]
    fn open_findings_keep_their_since() {
        let dir = tempfile::tempdir().unwrap();
        let c = Catalog::open(dir.path()).unwrap();
        let f = |k: &str, t: i64| OpenFinding {
            key: k.into(),
            severity: "warning".into(),
            since: at(t),
            message: "m".into(),
        };
        c.set_open_findings(&[f("a", 0), f("b", 0)]).unwrap();
        c.set_open_findings(&[f("a", 100), f("c", 100)]).unwrap();
        let open = c.open_findings().unwrap();
        assert_eq!(
            open.iter()
                .map(|f| (f.key.as_str(), f.since))
                .collect::<Vec<_>>(),
            [("a", at(0)), ("c", at(100))]
        );
    }
}
