//! `dxbackup binlog SOURCE`: the continuous binlog archiver, in the foreground. It starts
//! whether or not the server is up (it waits for it), stops cleanly on SIGTERM/SIGINT (a final
//! flush, then the reader is stopped) and prints one line per stored part: on stdout, or on
//! stderr with `--json`, whose one document on stdout is the summary at the end.

use std::time::{Duration, Instant};

use anyhow::bail;
use clap::Args;
use serde::Serialize;

use super::backup::{manifest, meta_files};
use super::dbarchive::{self, BinlogDescription, PartInfo};
use super::{bytes, print_json, signals, Ctx, Exit};
use crate::catalog::{BinlogPartRecord, Catalog};
use crate::config::{SourceConfig, SourceKind};
use crate::manifest::Manifest;
use crate::repo::{BackupRequest, Content, Repo, Stream};
use crate::source::mysql::archiver::{part_name, Archiver, Part};

#[derive(Debug, Args)]
pub struct BinlogArgs {
    /// The mysql source whose binlogs to archive
    pub source: String,
    /// Stop after this long (e.g. `10m`) instead of running until interrupted
    #[arg(long, value_parser = humantime::parse_duration)]
    pub duration: Option<Duration>,
}

/// What a run stored, as `--json` prints it at the end.
#[derive(Debug, Default, Serialize)]
struct Summary {
    source: String,
    parts: usize,
    bytes: u64,
    /// Where the archive ends: `FILE:OFFSET`.
    archived_to: Option<String>,
    /// The newest event stored (RFC 3339).
    last_event: Option<String>,
    last_snapshot: Option<String>,
    error: Option<String>,
}

pub fn run(ctx: &Ctx, args: &BinlogArgs) -> anyhow::Result<Exit> {
    let (name, src) = ctx.sources(std::slice::from_ref(&args.source))?.remove(0);
    if src.kind != SourceKind::Mysql {
        bail!("source `{name}` is not a mysql source");
    }
    if src.binlog == Some(false) {
        bail!("source `{name}` has binlog = false; set binlog = true to archive its binlogs");
    }
    // Nothing here talks to the server: the archiver connects itself, and waits while it is down.
    let server = ctx.mysql_server(name, src, false)?;
    let repo = ctx.open_primary()?;
    let snaps = repo.snapshots()?;
    let parts = dbarchive::parts(&snaps, name);
    let first_file = dbarchive::fulls(&snaps, name)
        .last()
        .and_then(|f| f.binlog.clone())
        .map(|c| c.file);
    if first_file.is_none() && parts.is_empty() {
        tracing::warn!("no full backup of `{name}` yet: archiving from the server's current binlog; run 'dxbackup backup {name}'");
    }
    let stop = signals::cooperative_stop();
    if let Some(d) = args.duration {
        let stop = stop.clone();
        std::thread::spawn(move || {
            std::thread::sleep(d);
            stop.set();
        });
    }
    let mut archiver = Archiver {
        server: &server,
        flavor: None,
        spool: ctx.state_dir.join("binlog").join(name),
        flush: src.binlog_flush(),
        first_file,
        archived: dbarchive::archived(&parts),
        server_id: 1_000_000 + (std::process::id() % 1_000_000),
    };
    let mut storer = Storer {
        ctx,
        name,
        src,
        base: manifest(ctx, name, "binlog", src),
        catalog: ctx.catalog()?,
        repo: &repo,
        summary: Summary {
            source: name.into(),
            ..Summary::default()
        },
    };
    let result = archiver.run(stop.as_atomic(), &mut |parts| storer.store(parts));
    let mut summary = storer.summary;
    if ctx.global.json {
        // The error goes into the one document (and on stderr), not into a second one.
        summary.error = result.as_ref().err().map(|e| format!("{e:#}"));
        print_json(&summary)?;
        if let Some(e) = &summary.error {
            eprintln!("error: {e}");
            return Ok(Exit::Error);
        }
        return Ok(Exit::Ok);
    }
    if !ctx.global.quiet {
        println!(
            "{name}: stored {}, {}",
            super::count(summary.parts, "binlog part", "binlog parts"),
            bytes(summary.bytes)
        );
    }
    result.map(|()| Exit::Ok)
}

/// Stores the parts of each flush in one snapshot and records the heartbeat `status` reads.
struct Storer<'a> {
    ctx: &'a Ctx,
    name: &'a str,
    src: &'a SourceConfig,
    base: Manifest,
    catalog: Catalog,
    repo: &'a Repo,
    summary: Summary,
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
            host: self.ctx.host(),
            content: Content::streams(format!("/binlog/{name}"), streams),
            meta_files: meta_files(self.ctx, &m),
            meta_mtime: self.ctx.config_mtime,
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

    /// One line per stored part, so that a user sees the archiver working.
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
        if self.ctx.global.quiet {
            return;
        }
        let line = format!(
            "{}: {} {}..{} ({}{}), last event {}, snapshot {snapshot}",
            self.name,
            p.file,
            p.offset,
            p.offset + p.len,
            bytes(p.len),
            if p.closed { ", closed" } else { "" },
            event.map_or("none".into(), |t| t
                .to_zoned(jiff::tz::TimeZone::system())
                .strftime("%Y-%m-%d %H:%M:%S")
                .to_string()),
        );
        // stdout holds nothing but the one JSON document under --json. A closed stdout or
        // stderr must not stop the archiving (no `println!` panic).
        use std::io::Write;
        let _ = if self.ctx.global.json {
            writeln!(std::io::stderr(), "{line}")
        } else {
            writeln!(std::io::stdout(), "{line}")
        };
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
