//! Catalog records beyond runs: binlog parts, drills, small key/value facts.

use rusqlite::{params, OptionalExtension};
use serde::Serialize;

use super::{Catalog, Result};

/// One stored piece of a binlog file.
#[derive(Debug, Clone, Serialize)]
pub struct BinlogPartRecord {
    pub source: String,
    pub file: String,
    pub offset: u64,
    pub len: u64,
    pub first_event: Option<i64>,
    pub last_event: Option<i64>,
    pub last_gtid: Option<String>,
    pub closed: bool,
    pub snapshot_id: String,
    pub stored_at: jiff::Timestamp,
}

/// One restore drill.
#[derive(Debug, Clone, Serialize)]
pub struct DrillRecord {
    pub source: String,
    pub at: jiff::Timestamp,
    pub ok: bool,
    pub rto_ms: u64,
    pub snapshot_id: Option<String>,
    pub detail: String,
}

impl Catalog {
    pub fn record_binlog_part(&self, repository: &str, p: &BinlogPartRecord) -> Result<()> {
        self.conn
            .execute(
                "INSERT INTO binlog_parts (source, repository, file, offset, len, first_event, last_event, last_gtid,
                 closed, snapshot_id, stored_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                params![
                    p.source,
                    repository,
                    p.file,
                    p.offset as i64,
                    p.len as i64,
                    p.first_event,
                    p.last_event,
                    p.last_gtid,
                    p.closed,
                    p.snapshot_id,
                    p.stored_at.to_string()
                ],
            )
            .map_err(|e| self.sql(e))?;
        Ok(())
    }

    /// The newest stored binlog part of a source.
    pub fn last_binlog_part(&self, source: &str) -> Result<Option<BinlogPartRecord>> {
        self.conn
            .query_row(
                "SELECT source, file, offset, len, first_event, last_event, last_gtid, closed, snapshot_id, stored_at
                 FROM binlog_parts WHERE source = ?1 ORDER BY id DESC LIMIT 1",
                [source],
                |r| {
                    Ok(BinlogPartRecord {
                        source: r.get(0)?,
                        file: r.get(1)?,
                        offset: r.get::<_, i64>(2)? as u64,
                        len: r.get::<_, i64>(3)? as u64,
                        first_event: r.get(4)?,
                        last_event: r.get(5)?,
                        last_gtid: r.get(6)?,
                        closed: r.get(7)?,
                        snapshot_id: r.get(8)?,
                        stored_at: r.get::<_, String>(9)?.parse().unwrap_or_default(),
                    })
                },
            )
            .optional()
            .map_err(|e| self.sql(e))
    }

    pub fn set_meta(&self, key: &str, value: &str) -> Result<()> {
        self.conn
            .execute("INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = ?2", [key, value])
            .map_err(|e| self.sql(e))?;
        Ok(())
    }

    pub fn meta(&self, key: &str) -> Result<Option<String>> {
        self.conn
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()
            .map_err(|e| self.sql(e))
    }

    pub fn record_drill(&self, d: &DrillRecord) -> Result<()> {
        self.conn
            .execute(
                "INSERT INTO drills (source, at, ok, rto_ms, snapshot_id, detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![d.source, d.at.to_string(), d.ok, d.rto_ms as i64, d.snapshot_id, d.detail],
            )
            .map_err(|e| self.sql(e))?;
        Ok(())
    }

    /// The newest drill of a source.
    pub fn last_drill(&self, source: &str) -> Result<Option<DrillRecord>> {
        self.conn
            .query_row(
                "SELECT source, at, ok, rto_ms, snapshot_id, detail FROM drills WHERE source = ?1 ORDER BY id DESC LIMIT 1",
                [source],
                |r| {
                    Ok(DrillRecord {
                        source: r.get(0)?,
                        at: r.get::<_, String>(1)?.parse().unwrap_or_default(),
                        ok: r.get(2)?,
                        rto_ms: r.get::<_, i64>(3)? as u64,
                        snapshot_id: r.get(4)?,
                        detail: r.get(5)?,
                    })
                },
            )
            .optional()
            .map_err(|e| self.sql(e))
    }
}

impl Catalog {
    pub fn record_verification(
        &self,
        run_id: Option<i64>,
        repository: &str,
        read_data_pct: Option<f64>,
        errors: usize,
        warnings: usize,
        findings: &[String],
    ) -> Result<()> {
        self.conn
            .execute(
                "INSERT INTO verifications (run_id, repository, at, read_data_pct, errors, warnings, findings)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    run_id,
                    repository,
                    jiff::Timestamp::now().to_string(),
                    read_data_pct,
                    errors as i64,
                    warnings as i64,
                    serde_json::to_string(findings).unwrap_or_default()
                ],
            )
            .map_err(|e| self.sql(e))?;
        Ok(())
    }

    /// The newest verification of a repository: (time, errors).
    pub fn last_verification(&self, repository: &str) -> Result<Option<(String, i64)>> {
        self.conn
            .query_row(
                "SELECT at, errors FROM verifications WHERE repository = ?1 ORDER BY id DESC LIMIT 1",
                [repository],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(|e| self.sql(e))
    }
}
