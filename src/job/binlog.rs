//! The continuous binlog archiver of one mysql source: the supervised reader's spool stored
//! part by part into the primary, each flush one snapshot, the heartbeat `status` reads
//! recorded every flush. Runs until cancelled (a final flush first) or a gap stops it.

mod synthetic;

use std::time::Instant;

use anyhow::bail;
use serde::Serialize;

use super::backup::{manifest, meta_files};
use super::dbarchive::{self, BinlogDescription, PartInfo};
use super::housekeep::Housekeeper;
use super::{Cancel, Site};
use crate::catalog::{BinlogPartRecord, Catalog};
use crate::config::{SourceConfig, SourceKind};
use crate::manifest::Manifest;
use crate::repo::{BackupRequest, Content, Repo, Stream};
use crate::source::mysql::archiver::{part_name, Archiver, Part};
pub use synthetic::{store_day, DayOptions, DaySummary};

/// What a run stored.
#[derive(Debug, Default, Serialize)]
pub struct Summary {
    pub source: String,
    pub parts: usize,
    pub bytes: u64,
    /// Where the archive ends: `FILE:OFFSET`.
    pub archived_to: Option<String>,
    /// The newest event stored (RFC 3339).
    pub last_event: Option<String>,
    pub last_snapshot: Option<String>,
    /// Closed files merged into one snapshot each, and part snapshots forgotten for them.
    pub merged_files: usize,
    pub parts_forgotten: usize,
    pub error: Option<String>,
}

/// One part just stored, for a progress line.
#[derive(Debug, Clone, Serialize)]
pub struct StoredPart {
    pub source: String,
    pub file: String,
    pub offset: u64,
    pub len: u64,
    pub closed: bool,
    pub last_event: Option<jiff::Timestamp>,
    pub snapshot: String,
}

/// Archives `name`'s binlogs until `cancel` (then flushes once more) or an error that waiting
/// cannot cure (a gap, refused credentials). `on_part` hears of each stored part. The summary
/// is returned with the error, if any.
pub fn archive(
    site: &Site,
    name: &str,
    cancel: &Cancel,
    on_part: &mut dyn FnMut(&StoredPart),
) -> anyhow::Result<(Summary, anyhow::Result<()>)> {
    let (name, src) = site.source(name)?;
    if src.kind != SourceKind::Mysql {
        bail!("source `{name}` is not a mysql source");
    }
    if src.binlog == Some(false) {
        bail!("source `{name}` has binlog = false; set binlog = true to archive its binlogs");
    }
    // Nothing here talks to the server: the archiver connects itself, and waits while it is down.
    let server = site.mysql_server(name, src, false)?;
    let repo = site.open_primary()?;
    let snaps = repo.snapshots()?;
    let parts = dbarchive::parts(&snaps, name);
    let first_file = dbarchive::fulls(&snaps, name)
        .last()
        .and_then(|f| f.binlog.clone())
        .map(|c| c.file);
    if first_file.is_none() && parts.is_empty() {
        tracing::warn!("no full backup of `{name}` yet: archiving from the server's current binlog; run 'dxbackup backup {name}'");
    }
    let mut archiver = Archiver {
        server: &server,
        flavor: None,
        spool: site.state_dir.join("binlog").join(name),
        flush: src.binlog_flush(),
        first_file,
        archived: dbarchive::archived(&parts),
        server_id: 1_000_000 + (std::process::id() % 1_000_000),
    };
    let mut storer = Storer {
        site,
        name,
        src,
        base: manifest(site, name, "binlog", src),
        catalog: site.catalog()?,
        repo: &repo,
        summary: Summary {
            source: name.into(),
            ..Summary::default()
        },
        on_part,
        housekeeper: Housekeeper::new(),
        housekeep_due: false,
        next_housekeep: Instant::now(),
    };
    let result = archiver.run(cancel.as_atomic(), &mut |parts| storer.store(parts));
    let mut summary = storer.summary;
    summary.error = result.as_ref().err().map(|e| format!("{e:#}"));
    Ok((summary, result))
}

/// Stores the parts of each flush in one snapshot and records the heartbeat `status` reads.
struct Storer<'a> {
    site: &'a Site,
    name: &'a str,
    src: &'a SourceConfig,
    base: Manifest,
    catalog: Catalog,
    repo: &'a Repo,
    summary: Summary,
    on_part: &'a mut dyn FnMut(&StoredPart),
    housekeeper: Housekeeper,
    /// A file closed since the last housekeeping that finished.
    housekeep_due: bool,
    next_housekeep: Instant,
}

impl Storer<'_> {
    fn store(&mut self, parts: Vec<Part>) -> anyhow::Result<()> {
        let name = self.name;
        let key = format!("binlog-current:{name}");
        if parts.is_empty() {
            self.catalog
                .set_meta(&key, &jiff::Timestamp::now().to_string())?;
            self.housekeep();
            return Ok(());
        }
        self.housekeep_due |= parts.iter().any(|p| p.segment.closed);
        let t0 = Instant::now();
        let (req, infos) = flush_request(self.site, name, self.src, &self.base, parts)?;
        let snap = self.repo.backup(&req)?.snapshot;
        for p in &infos {
            self.catalog.record_binlog_part(
                &self.repo.name,
                &BinlogPartRecord {
                    source: name.into(),
                    file: p.file.clone(),
                    offset: p.offset,
                    len: p.len,
                    first_event: p.first_event,
                    last_event: p.last_event,
                    last_gtid: p.last_gtid.map(|g| g.to_string()),
                    closed: p.closed,
                    snapshot_id: snap.id.clone(),
                    stored_at: jiff::Timestamp::now(),
                },
            )?;
            tracing::info!(file = %p.file, bytes = p.len, closed = p.closed, snapshot = %snap.short_id(), ms = t0.elapsed().as_millis() as u64, "binlog part stored");
            self.report(p, snap.short_id());
        }
        self.catalog
            .set_meta(&key, &jiff::Timestamp::now().to_string())?;
        self.housekeep();
        Ok(())
    }

    /// Once a file has closed: merges it, then forgets its parts if no other program holds a
    /// lock (else tries again 10 s later; the prune schedule catches up in any case). Between
    /// two flushes, holding no lock of ours: it can wait for nothing of its own. A failure is
    /// logged and retried 5 minutes later; it never stops the archiver.
    fn housekeep(&mut self) {
        if !self.housekeep_due || Instant::now() < self.next_housekeep {
            return;
        }
        let t0 = Instant::now();
        let name = self.name;
        let report = match self
            .housekeeper
            .prepare(self.site, self.repo, Some(name), true)
        {
            Ok(r) => r,
            Err(e) => return self.retry_housekeeping(&format!("{e:#}")),
        };
        self.summary.merged_files += report.merged.len();
        if !report.problems.is_empty() {
            return self.retry_housekeeping(&report.problems.join("; "));
        }
        let hk = &self.housekeeper;
        match self.repo.try_forget_with(&|s| hk.superseded_ids(s)) {
            Ok(Some(n)) => {
                self.housekeep_due = false;
                self.summary.parts_forgotten += n;
                tracing::info!(source = %name, merged = report.merged.len(), forgotten = n, ms = t0.elapsed().as_millis() as u64, "binlog housekeeping done");
            }
            Ok(None) => {
                tracing::info!(source = %name, "binlog housekeeping: another program holds a lock of the repository; forgetting the merged parts in 10 s");
                self.next_housekeep = Instant::now() + std::time::Duration::from_secs(10);
            }
            Err(e) => self.retry_housekeeping(&format!("{e:#}")),
        }
    }

    fn retry_housekeeping(&mut self, why: &str) {
        tracing::warn!(source = %self.name, "binlog housekeeping failed: {why}; trying again in 5 minutes");
        self.next_housekeep = Instant::now() + std::time::Duration::from_secs(300);
    }

    /// Counts the part and tells the caller.
    fn report(&mut self, p: &PartInfo, snapshot: &str) {
        let s = &mut self.summary;
        s.parts += 1;
        s.bytes += p.len;
        s.archived_to = Some(format!("{}:{}", p.file, p.offset + p.len));
        s.last_snapshot = Some(snapshot.into());
        let event = p
            .last_event
            .and_then(|t| jiff::Timestamp::from_second(t).ok());
        if let Some(t) = event {
            s.last_event = Some(t.to_string());
        }
        (self.on_part)(&StoredPart {
            source: self.name.to_string(),
            file: p.file.clone(),
            offset: p.offset,
            len: p.len,
            closed: p.closed,
            last_event: event,
            snapshot: snapshot.to_string(),
        });
    }
}

/// The snapshot of one flush: each part a file `FILE@OFFSET` in `/binlog/SOURCE`, the parts
/// described (what listing snapshots reads), the segments in the manifest.
pub(crate) fn flush_request(
    site: &Site,
    name: &str,
    src: &SourceConfig,
    base: &Manifest,
    parts: Vec<Part>,
) -> anyhow::Result<(BackupRequest, Vec<PartInfo>)> {
    let infos: Vec<PartInfo> = parts.iter().map(info).collect();
    let mut m = base.clone();
    m.binlog = Some(parts.iter().map(|p| p.segment.clone()).collect());
    let streams: Vec<Stream> = parts
        .into_iter()
        .map(|p| {
            let size = p.data.len() as u64;
            let path = part_name(&p.segment.file, p.offset);
            Stream::sized(path, size, std::io::Cursor::new(p.data))
        })
        .collect();
    let description = BinlogDescription {
        parts: infos.clone(),
        ..BinlogDescription::default()
    };
    let req = BackupRequest {
        source: name.into(),
        kind: "binlog".into(),
        tier: src.tier.clone(),
        host: site.host(),
        content: Content::streams(format!("/binlog/{name}"), streams),
        meta_files: meta_files(site, &m),
        meta_mtime: site.config_mtime,
        description: Some(serde_json::to_string(&description)?),
    };
    Ok((req, infos))
}

fn info(p: &Part) -> PartInfo {
    PartInfo {
        file: p.segment.file.clone(),
        offset: p.offset,
        len: p.data.len() as u64,
        first_event: p.segment.first_event.map(i64::from),
        last_event: p.segment.last_event.map(i64::from),
        first_gtid: p.segment.first_gtid,
        last_gtid: p.segment.last_gtid,
        closed: p.segment.closed,
    }
}
