//! `dxbackup binlog SOURCE`: the continuous binlog archiver, in the foreground.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use clap::Args;
use mysql::prelude::Queryable;

use super::backup::{manifest, meta_files};
use super::dbarchive::{self, BinlogDescription, PartInfo};
use super::{Ctx, Exit};
use crate::catalog::BinlogPartRecord;
use crate::config::SourceKind;
use crate::repo::{BackupRequest, Content, Stream};
use crate::source::mysql::archiver::{part_name, Archiver, Part};

#[derive(Debug, Args)]
pub struct BinlogArgs {
    /// The mysql source whose binlogs to archive
    pub source: String,
    /// Stop after this long (e.g. `10m`) instead of running until interrupted
    #[arg(long, value_parser = humantime::parse_duration)]
    pub duration: Option<Duration>,
}

static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    STOP.store(true, Ordering::Relaxed);
}

pub fn run(ctx: &Ctx, args: &BinlogArgs) -> anyhow::Result<Exit> {
    let (name, src) = ctx.sources(std::slice::from_ref(&args.source))?.remove(0);
    if src.kind != SourceKind::Mysql {
        bail!("source `{name}` is not a mysql source");
    }
    if src.binlog == Some(false) {
        bail!("source `{name}` has binlog = false; set binlog = true to archive its binlogs");
    }
    let server = ctx.mysql_server(name, src, false)?;
    let mut conn = server.connect()?;
    let (flavor, _) = server.flavor(&mut conn)?;
    let repo = ctx.open_primary()?;
    let catalog = ctx.catalog()?;
    let snaps = repo.snapshots()?;
    let parts = dbarchive::parts(&snaps, name);
    let first_file = match dbarchive::fulls(&snaps, name)
        .last()
        .and_then(|f| f.binlog.clone())
    {
        Some(c) => c.file,
        None => {
            let status: Option<(String, u64)> = conn
                .query_first("SHOW MASTER STATUS")
                .map_err(server.query_err("SHOW MASTER STATUS"))?
                .map(|r: mysql::Row| (r.get(0).unwrap_or_default(), r.get(1).unwrap_or_default()));
            let (file, _) = status.context(
                "binary logging is off on the server: enable log_bin to archive binlogs",
            )?;
            tracing::warn!("no full backup of `{name}` yet: archiving from the current binlog {file}; run 'dxbackup backup {name}'");
            file
        }
    };
    drop(conn);
    unsafe {
        libc::signal(libc::SIGINT, on_signal as *const () as libc::sighandler_t);
        libc::signal(libc::SIGTERM, on_signal as *const () as libc::sighandler_t);
    }
    if let Some(d) = args.duration {
        std::thread::spawn(move || {
            std::thread::sleep(d);
            STOP.store(true, Ordering::Relaxed);
        });
    }
    let mut archiver = Archiver {
        server: &server,
        flavor,
        spool: ctx.state_dir.join("binlog").join(name),
        flush: src.binlog_flush(),
        first_file,
        archived: dbarchive::archived(&parts),
        server_id: 1_000_000 + (std::process::id() % 1_000_000),
    };
    let base = manifest(ctx, name, "binlog", src);
    let mut stored = 0usize;
    let mut store = |parts: Vec<Part>| -> anyhow::Result<()> {
        let t0 = Instant::now();
        let key = format!("binlog-current:{name}");
        if parts.is_empty() {
            catalog.set_meta(&key, &jiff::Timestamp::now().to_string())?;
            return Ok(());
        }
        let infos: Vec<PartInfo> = parts
            .iter()
            .map(|p| PartInfo {
                file: p.segment.file.clone(),
                offset: p.offset,
                len: p.data.len() as u64,
                first_event: p.segment.first_event.map(i64::from),
                last_event: p.segment.last_event.map(i64::from),
                first_gtid: p.segment.first_gtid,
                last_gtid: p.segment.last_gtid,
                closed: p.segment.closed,
            })
            .collect();
        let mut m = base.clone();
        m.binlog = Some(parts.iter().map(|p| p.segment.clone()).collect());
        let streams: Vec<Stream> = parts
            .into_iter()
            .map(|p| {
                let size = p.data.len() as u64;
                Stream::sized(
                    part_name(&p.segment.file, p.offset),
                    size,
                    std::io::Cursor::new(p.data),
                )
            })
            .collect();
        let req = BackupRequest {
            source: name.into(),
            kind: "binlog".into(),
            tier: src.tier.clone(),
            host: ctx.host(),
            content: Content::streams(format!("/binlog/{name}"), streams),
            meta_files: meta_files(ctx, &m),
            meta_mtime: ctx.config_mtime,
            description: Some(serde_json::to_string(&BinlogDescription {
                parts: infos.clone(),
            })?),
        };
        let snap = repo.backup(&req)?.snapshot;
        for p in &infos {
            catalog.record_binlog_part(
                &repo.name,
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
        }
        stored += infos.len();
        catalog.set_meta(&key, &jiff::Timestamp::now().to_string())?;
        Ok(())
    };
    let result = archiver.run(&STOP, &mut store);
    if !ctx.global.quiet {
        println!("{name}: stored {stored} binlog part(s)");
    }
    result.map(|()| Exit::Ok)
}
