//! The continuous binlog archiver of one mysql source: the supervised reader's spool stored
//! part by part into the primary, each flush one snapshot, the heartbeat `status` reads
//! recorded every flush. Runs until cancelled (a final flush first) or a gap stops it.

use std::time::Instant;

use anyhow::bail;
use serde::Serialize;

use super::backup::{manifest, meta_files};
use super::dbarchive::{self, BinlogDescription, PartInfo};
use super::{Cancel, Site};
use crate::catalog::{BinlogPartRecord, Catalog};
use crate::config::{SourceConfig, SourceKind};
use crate::manifest::Manifest;
use crate::repo::{BackupRequest, Content, Repo, Stream};
use crate::source::mysql::archiver::{part_name, Archiver, Part};

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
}

impl Storer<'_> {
    fn store(&mut self, parts: Vec<Part>) -> anyhow::Result<()> {
        let name = self.name;
        let key = format!("binlog-current:{name}");
        if parts.is_empty() {
            self.catalog
                .set_meta(&key, &jiff::Timestamp::now().to_string())?;
            return Ok(());
        }
        let t0 = Instant::now();
        let infos: Vec<PartInfo> = parts.iter().map(info).collect();
        let mut m = self.base.clone();
        m.binlog = Some(parts.iter().map(|p| p.segment.clone()).collect());
        let streams: Vec<Stream> = parts
            .into_iter()
            .map(|p| {
                let size = p.data.len() as u64;
                let path = part_name(&p.segment.file, p.offset);
                Stream::sized(path, size, std::io::Cursor::new(p.data))
            })
            .collect();
        let req = BackupRequest {
            source: name.into(),
            kind: "binlog".into(),
            tier: self.src.tier.clone(),
            host: self.site.host(),
            content: Content::streams(format!("/binlog/{name}"), streams),
            meta_files: meta_files(self.site, &m),
            meta_mtime: self.site.config_mtime,
            description: Some(serde_json::to_string(&BinlogDescription {
                parts: infos.clone(),
            })?),
        };
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
        Ok(())
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
