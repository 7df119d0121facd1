//! The repositories as last observed (`report::observe`): every snapshot each one listed,
//! stored whole, so the dashboard and the report read what a repository holds from here and
//! never open one per page view. Replaced wholesale on each observation: forgotten snapshots
//! leave with it.

use rusqlite::params;

use super::{Catalog, Result};
use crate::repo::{Snapshot, Summary};

/// What a repository holds per source: its snapshot count and newest time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeldBy {
    pub repository: String,
    pub source: String,
    pub snapshots: u64,
    pub newest: jiff::Timestamp,
}

const COLUMNS: &str = "id, time_ms, host, source, kind, tags, paths, description, summary";

impl Catalog {
    /// Replaces what `repository` was last seen to hold by `snaps`.
    pub fn replace_observed_snapshots(&self, repository: &str, snaps: &[Snapshot]) -> Result<()> {
        let tx = self.write_tx()?;
        tx.execute(
            "DELETE FROM observed_snapshots WHERE repository = ?1",
            [repository],
        )
        .map_err(|e| self.sql(e))?;
        {
            let mut stmt = tx
                .prepare(
                    "INSERT OR REPLACE INTO observed_snapshots (repository, id, time_ms, host, source, kind, tags, paths, description, summary)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                )
                .map_err(|e| self.sql(e))?;
            for s in snaps {
                stmt.execute(params![
                    repository,
                    s.id,
                    s.time.as_millisecond(),
                    s.host,
                    s.source,
                    s.kind,
                    serde_json::to_string(&s.tags).unwrap_or_default(),
                    serde_json::to_string(&s.paths).unwrap_or_default(),
                    s.description,
                    s.summary
                        .as_ref()
                        .and_then(|m| serde_json::to_string(m).ok()),
                ])
                .map_err(|e| self.sql(e))?;
            }
        }
        tx.commit().map_err(|e| self.sql(e))
    }

    /// What `repository` was last seen to hold, oldest first: of one source, and of some
    /// kinds (`files`, `mysql-full`, `binlog`), or all.
    pub fn observed_snapshots(
        &self,
        repository: &str,
        source: Option<&str>,
        kinds: &[&str],
    ) -> Result<Vec<Snapshot>> {
        let kinds_json = serde_json::to_string(kinds).unwrap_or_default();
        let mut stmt = self
            .conn
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM observed_snapshots WHERE repository = ?1
                   AND (?2 IS NULL OR source = ?2)
                   AND (?3 = '[]' OR kind IN (SELECT value FROM json_each(?3)))
                 ORDER BY time_ms, id"
            ))
            .map_err(|e| self.sql(e))?;
        stmt.query_map(params![repository, source, kinds_json], row_to_snapshot)
            .and_then(Iterator::collect)
            .map_err(|e| self.sql(e))
    }

    /// Per repository and source, how many snapshots of `kinds` it holds and the newest one.
    pub fn observed_holdings(&self, kinds: &[&str]) -> Result<Vec<HeldBy>> {
        let kinds_json = serde_json::to_string(kinds).unwrap_or_default();
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT repository, source, COUNT(*), MAX(time_ms) FROM observed_snapshots
                 WHERE source IS NOT NULL AND kind IN (SELECT value FROM json_each(?1))
                 GROUP BY repository, source ORDER BY repository, source",
            )
            .map_err(|e| self.sql(e))?;
        stmt.query_map([kinds_json], |r| {
            Ok(HeldBy {
                repository: r.get(0)?,
                source: r.get(1)?,
                snapshots: r.get::<_, i64>(2)?.max(0) as u64,
                newest: jiff::Timestamp::from_millisecond(r.get(3)?).unwrap_or_default(),
            })
        })
        .and_then(Iterator::collect)
        .map_err(|e| self.sql(e))
    }
}

fn row_to_snapshot(r: &rusqlite::Row<'_>) -> rusqlite::Result<Snapshot> {
    let list = |s: String| serde_json::from_str::<Vec<String>>(&s).unwrap_or_default();
    let summary: Option<String> = r.get(8)?;
    Ok(Snapshot {
        id: r.get(0)?,
        time: jiff::Timestamp::from_millisecond(r.get(1)?).unwrap_or_default(),
        host: r.get(2)?,
        source: r.get(3)?,
        kind: r.get(4)?,
        tags: list(r.get(5)?),
        paths: list(r.get(6)?),
        description: r.get(7)?,
        summary: summary.as_deref().and_then(summary_of),
    })
}

/// `Summary` as stored (its serialized form: the storage module gives it no `Deserialize`).
fn summary_of(text: &str) -> Option<Summary> {
    let v: serde_json::Value = serde_json::from_str(text).ok()?;
    let u = |k: &str| v[k].as_u64().unwrap_or(0);
    Some(Summary {
        files_new: u("files_new"),
        files_changed: u("files_changed"),
        files_unmodified: u("files_unmodified"),
        bytes_processed: u("bytes_processed"),
        data_added: u("data_added"),
        data_added_packed: u("data_added_packed"),
        duration_secs: v["duration_secs"].as_f64().unwrap_or(0.0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snap(id: &str, secs: i64, source: &str, kind: &str) -> Snapshot {
        Snapshot {
            id: id.into(),
            time: jiff::Timestamp::from_second(secs).unwrap(),
            host: "h".into(),
            tags: vec![format!("source:{source}"), format!("kind:{kind}")],
            paths: vec!["/x".into()],
            source: Some(source.into()),
            kind: Some(kind.into()),
            summary: Some(Summary {
                files_new: 1,
                files_changed: 2,
                files_unmodified: 3,
                bytes_processed: 4,
                data_added: 5,
                data_added_packed: 6,
                duration_secs: 1.5,
            }),
            description: Some("{\"at\":1}".into()),
        }
    }

    #[test]
    fn an_observation_replaces_the_last_and_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let c = Catalog::open(dir.path()).unwrap();
        let first = [
            snap("a1", 100, "datax", "files"),
            snap("b1", 50, "shop", "binlog"),
        ];
        c.replace_observed_snapshots("local", &first).unwrap();
        c.replace_observed_snapshots("nas", &first[..1]).unwrap();
        let all = c.observed_snapshots("local", None, &[]).unwrap();
        assert_eq!(
            all.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(),
            ["b1", "a1"]
        );
        let a = &all[1];
        assert_eq!(
            (a.summary.as_ref().unwrap().data_added_packed, a.tags.len()),
            (6, 2)
        );
        assert_eq!(a.description.as_deref(), Some("{\"at\":1}"));
        let files = c
            .observed_snapshots("local", Some("datax"), &["files"])
            .unwrap();
        assert_eq!(files.len(), 1);
        assert!(c
            .observed_snapshots("local", None, &["mysql-full"])
            .unwrap()
            .is_empty());

        // Forgotten in the repository, gone from the observation.
        c.replace_observed_snapshots("local", &[snap("a2", 200, "datax", "files")])
            .unwrap();
        let held = c.observed_holdings(&["files"]).unwrap();
        let t = |s| jiff::Timestamp::from_second(s).unwrap();
        assert_eq!(
            held.iter()
                .map(|h| (h.repository.as_str(), h.snapshots, h.newest))
                .collect::<Vec<_>>(),
            [("local", 1, t(200)), ("nas", 1, t(100))]
        );
    }
}
