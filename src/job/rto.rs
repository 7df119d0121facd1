//! Measured recovery times kept in the repository itself, not only in the catalog: after a
//! disaster the catalog is gone with the machine, and `recover` estimates its plan from what
//! the drills (and earlier recoveries) measured. Each write is one small snapshot (source
//! `_rto`, kind `rto`) holding the whole table, the newest of them being the truth; restic
//! reads it as any snapshot (`restic dump latest --tag kind:rto /dxbackup/rto/rto.json`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::Site;
use crate::manifest::Manifest;
use crate::repo::{BackupRequest, Content, Reader, Repo, Stream};

/// The pseudo-source and kind of the records' snapshots.
pub const RTO_SOURCE: &str = "_rto";
pub const RTO_KIND: &str = "rto";
const DIR: &str = "/dxbackup/rto";
const FILE: &str = "rto.json";
/// Records kept per source.
const KEEP: usize = 20;

/// One measured recovery.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RtoRecord {
    pub source: String,
    pub at: jiff::Timestamp,
    /// `drill` or `recover`.
    pub how: String,
    pub ok: bool,
    pub rto_secs: f64,
    /// Bytes restored, when known (an estimate for a bigger backup scales with them).
    pub bytes: Option<u64>,
    pub snapshot: Option<String>,
    /// What was compared or restored.
    pub detail: String,
}

/// Every source's recent records, newest last.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RtoBook {
    pub records: BTreeMap<String, Vec<RtoRecord>>,
}

impl RtoBook {
    /// The newest successful measurement of `source`.
    pub fn last_ok(&self, source: &str) -> Option<&RtoRecord> {
        self.records.get(source)?.iter().rev().find(|r| r.ok)
    }
}

/// The newest book in the repository (empty when there is none).
pub fn read(repo: &Repo, reader: &Reader) -> anyhow::Result<RtoBook> {
    let Ok(snap) = repo.find_snapshot("latest", Some(RTO_SOURCE)) else {
        return Ok(RtoBook::default());
    };
    let path = format!("{DIR}/{FILE}");
    match reader.file(&snap, &path)? {
        Some(data) => Ok(serde_json::from_slice(&data)?),
        None => Ok(RtoBook::default()),
    }
}

/// Adds `new` to the book and stores it as a new snapshot.
pub fn add(site: &Site, repo: &Repo, new: Vec<RtoRecord>) -> anyhow::Result<()> {
    let reader = repo.reader()?;
    let mut book = read(repo, &reader)?;
    for r in new {
        let v = book.records.entry(r.source.clone()).or_default();
        v.push(r);
        let excess = v.len().saturating_sub(KEEP);
        v.drain(..excess);
    }
    let data = serde_json::to_vec_pretty(&book)?;
    let manifest = Manifest {
        format: 1,
        dxbackup_version: env!("CARGO_PKG_VERSION").into(),
        source: RTO_SOURCE.into(),
        kind: RTO_KIND.into(),
        tier: "general".into(),
        host: site.host(),
        config_digest: site.config_digest.clone(),
        files: None,
        mysql: None,
        binlog: None,
    };
    let size = data.len() as u64;
    let req = BackupRequest {
        source: RTO_SOURCE.into(),
        kind: RTO_KIND.into(),
        tier: "general".into(),
        host: site.host(),
        content: Content::streams(
            DIR,
            vec![Stream::sized(FILE, size, std::io::Cursor::new(data))],
        ),
        meta_files: super::backup::meta_files(site, &manifest),
        meta_mtime: site.config_mtime,
        description: None,
    };
    repo.backup(&req)?;
    Ok(())
}
