//! `dxbackup restore-db SOURCE --into DB [--until T | --until-gtid G | --until-position F:P]`

use anyhow::{bail, Context as _};
use clap::Args;

use super::dbarchive;
use super::mysql_full::DUMP_FILE;
use super::{bytes, print_json, Ctx, Exit};
use crate::manifest::{Manifest, MANIFEST_FILE};
use crate::repo::{Reader, Snapshot};
use crate::source::mysql::chain::local;
use crate::source::mysql::dump::Coordinates;
use crate::source::mysql::mydumper;
use crate::source::mysql::replay::{self, Chain, Replay, Until};
use crate::source::mysql::Server;

#[derive(Debug, Args)]
pub struct RestoreDbArgs {
    /// The mysql source to restore from
    pub source: String,
    /// Database to restore into (created; an existing non-empty one needs --force)
    #[arg(long)]
    pub into: String,
    /// Which database of the backup, when the source holds several
    #[arg(long)]
    pub database: Option<String>,
    /// Restore to this local time, every transaction of that second included
    #[arg(long, value_name = "YYYY-MM-DD HH:MM:SS", conflicts_with_all = ["until_gtid", "until_position"])]
    pub until: Option<String>,
    /// Restore up to and including this GTID (MariaDB), e.g. 0-1-1234
    #[arg(long, value_name = "GTID", conflicts_with = "until_position")]
    pub until_gtid: Option<String>,
    /// Restore up to this binlog position, e.g. mysql-bin.000042:1337
    #[arg(long, value_name = "FILE:POS")]
    pub until_position: Option<String>,
    /// Restore into another server than the source's, HOST:PORT or a socket path
    #[arg(long)]
    pub server: Option<String>,
    /// Replace a non-empty target database
    #[arg(long)]
    pub force: bool,
    /// Print the chain, change nothing
    #[arg(long)]
    pub dry_run: bool,
}

pub fn run(ctx: &Ctx, args: &RestoreDbArgs) -> anyhow::Result<Exit> {
    let (name, src) = ctx.sources(std::slice::from_ref(&args.source))?.remove(0);
    if src.kind != crate::config::SourceKind::Mysql {
        bail!(
            "source `{name}` is a files source, not a mysql source; restore it with 'dxbackup restore latest:{name} --target DIR'"
        );
    }
    replay::check_database_name(&args.into)?;
    let mut server = ctx.mysql_server(name, src, false)?;
    if let Some(s) = &args.server {
        retarget(&mut server, s)?;
    }
    let until = parse_until(args)?;
    let repo = ctx.open_primary()?;
    let snaps = repo.snapshots()?;
    // Proven or refused: a chain that cannot reach the target is an error naming what is
    // missing and the latest time that can be restored exactly.
    let chain = replay::plan(
        &dbarchive::fulls(&snaps, name),
        &dbarchive::coverage(&snaps, name),
        &until,
    )?;
    if args.dry_run {
        if ctx.global.json {
            print_json(&chain)?;
        } else {
            print_chain(&chain);
        }
        return Ok(Exit::Ok);
    }
    if !ctx.global.json {
        print_chain(&chain);
    }
    let reader = repo.reader()?;
    let full = snaps
        .iter()
        .find(|s| s.id == chain.full.snapshot)
        .context("full snapshot vanished")?;
    let manifest = full_manifest(&reader, full)?;
    let dbs = manifest
        .mysql
        .as_ref()
        .map(|m| m.databases.clone())
        .unwrap_or_default();
    let source_db = match (&args.database, dbs.as_slice()) {
        (Some(d), _) if dbs.contains(d) => d.clone(),
        (Some(d), _) => bail!(
            "database `{d}` is not in this backup; it holds {}",
            dbs.join(", ")
        ),
        (None, [one]) => one.clone(),
        (None, _) => bail!(
            "the backup holds several databases ({}); pick one with --database",
            dbs.join(", ")
        ),
    };
    let started = std::time::Instant::now();
    let catalog = ctx.catalog()?;
    let run_id = catalog.start_run("restore-db", Some(name), Some(&repo.name))?;
    let result = restore(&reader, &snaps, &chain, &server, &source_db, args);
    let end = crate::catalog::RunEnd {
        status: if result.is_ok() {
            crate::catalog::RunStatus::Ok
        } else {
            crate::catalog::RunStatus::Failed
        },
        snapshot_id: Some(chain.full.snapshot.clone()),
        error: result.as_ref().err().map(|e| format!("{e:#}")),
        duration: started.elapsed(),
        metrics: None,
    };
    catalog.finish_run(run_id, &end)?;
    let counts = result?;
    // Without binlogs on top, the restored rows must be the full's, table by table.
    let checked = chain.binlogs.is_empty();
    if checked {
        check_against_manifest(&manifest, &source_db, &counts)?;
    }
    if ctx.global.json {
        print_json(&serde_json::json!({
            "chain": chain,
            "database": args.into,
            "tables": counts,
            "row_counts_checked": checked,
            "duration_secs": started.elapsed().as_secs_f64(),
        }))?;
    } else {
        for (t, n) in &counts {
            println!("  {t}: {n} rows");
        }
        println!(
            "restored `{source_db}` into `{}` on {} in {:.1} s ({} tables)",
            args.into,
            server.describe(),
            started.elapsed().as_secs_f64(),
            counts.len()
        );
        if checked {
            println!("row counts match the backup's manifest");
        }
    }
    Ok(Exit::Ok)
}

/// Restores into `--into`; a failure drops the database if this restore created it, and says
/// so plainly if it was an existing one (then incomplete).
fn restore(
    reader: &Reader,
    snaps: &[Snapshot],
    chain: &Chain,
    server: &Server,
    source_db: &str,
    args: &RestoreDbArgs,
) -> anyhow::Result<Vec<(String, u64)>> {
    replay::check_privileges(server, &args.into, !chain.binlogs.is_empty())?;
    let tmp = tempfile::Builder::new()
        .prefix("dxbackup-binlogs-")
        .tempdir()?;
    // Rebuilt before the database is touched: a damaged part fails here, with nothing written.
    let files = dbarchive::extract(reader, snaps, &chain.binlogs, tmp.path())?;
    let target = replay::prepare_database(server, &args.into, args.force)?;
    let result = play(
        reader,
        snaps,
        chain,
        server,
        source_db,
        &args.into,
        files,
        chain.until.clone(),
    )
    .and_then(|()| Ok(replay::row_counts(server, &args.into)?));
    result.map_err(|e| match replay::abandon(server, &args.into, target) {
        Ok(note) => e.context(note),
        Err(drop_err) => e.context(format!(
            "the restore failed and dropping `{}` failed too ({drop_err}): drop it by hand",
            args.into
        )),
    })
}

/// Streams the full's dump section and the binlogs into `into`.
#[allow(clippy::too_many_arguments)]
pub fn play(
    reader: &Reader,
    snaps: &[Snapshot],
    chain: &Chain,
    server: &Server,
    source_db: &str,
    into: &str,
    binlogs: Vec<std::path::PathBuf>,
    until: Until,
) -> anyhow::Result<()> {
    let full = snaps
        .iter()
        .find(|s| s.id == chain.full.snapshot)
        .context("full snapshot vanished")?;
    let entries = reader.entries(full, None)?;
    let mut conn = server.connect()?;
    let (flavor, _) = server.flavor(&mut conn)?;
    drop(conn);
    let r = Replay {
        server,
        flavor,
        source_db,
        into,
        binlogs,
        start_position: chain.full.binlog.as_ref().map_or(4, |c| c.position),
        until,
    };
    let Some(dump) = entries.iter().find(|e| e.path.as_os_str() == DUMP_FILE) else {
        // A mydumper folder: loaded in parallel first, then the binlogs in one session.
        let tmp = super::mysql_full::unpack_mydumper(reader, full, &entries)?;
        let threads = crate::source::mysql::connections(8);
        mydumper::load(server, tmp.path(), source_db, into, threads)?;
        if !r.binlogs.is_empty() {
            replay::apply(&r, |_| Ok(()))?;
        }
        return Ok(());
    };
    replay::apply(&r, |w| {
        let mut w = w;
        reader
            .write_file(dump, &mut w)
            .map_err(std::io::Error::other)
    })?;
    Ok(())
}

/// A full's manifest, with the table figures stored beside its dump read in.
pub fn full_manifest(reader: &Reader, full: &Snapshot) -> anyhow::Result<Manifest> {
    let data = reader
        .meta_file(full, MANIFEST_FILE)?
        .with_context(|| format!("snapshot {} has no manifest", full.short_id()))?;
    let mut m = Manifest::from_json(&data)?;
    if let Some(info) = m.mysql.as_mut() {
        if let Some(path) = info.tables_file.clone() {
            let data = reader.file(full, &path)?.with_context(|| {
                format!(
                    "snapshot {} lacks {path}, the table figures of its dump",
                    full.short_id()
                )
            })?;
            info.tables = serde_json::from_slice(&data)
                .with_context(|| format!("{path} in snapshot {} is damaged", full.short_id()))?;
        }
    }
    Ok(m)
}

fn check_against_manifest(m: &Manifest, db: &str, counts: &[(String, u64)]) -> anyhow::Result<()> {
    let Some(info) = &m.mysql else { return Ok(()) };
    for t in info.tables.iter().filter(|t| t.database == db) {
        let got = counts.iter().find(|(n, _)| *n == t.table).map(|c| c.1);
        if got != Some(t.rows) {
            bail!(
                "table `{}`: {} rows restored, the backup recorded {}",
                t.table,
                got.unwrap_or(0),
                t.rows
            );
        }
    }
    Ok(())
}

fn parse_until(args: &RestoreDbArgs) -> anyhow::Result<Until> {
    if let Some(t) = &args.until {
        let dt: jiff::civil::DateTime = t
            .trim()
            .parse()
            .with_context(|| format!("--until `{t}`: use YYYY-MM-DD HH:MM:SS"))?;
        let z = dt.to_zoned(jiff::tz::TimeZone::system())?;
        return Ok(Until::Time(z.timestamp().as_second()));
    }
    if let Some(g) = &args.until_gtid {
        return Ok(Until::Gtid(g.parse().map_err(anyhow::Error::msg)?));
    }
    if let Some(p) = &args.until_position {
        let (file, pos) = p
            .rsplit_once(':')
            .context("--until-position takes FILE:POS")?;
        return Ok(Until::Position(Coordinates {
            file: file.into(),
            position: pos
                .parse()
                .context("--until-position: POS must be a number")?,
        }));
    }
    Ok(Until::Latest)
}

fn retarget(server: &mut Server, s: &str) -> anyhow::Result<()> {
    if s.starts_with('/') {
        server.socket = Some(s.into());
        return Ok(());
    }
    let (h, p) = s.rsplit_once(':').unwrap_or((s, "3306"));
    server.socket = None;
    server.host = Some(h.into());
    server.port = p
        .parse()
        .with_context(|| format!("--server `{s}`: use HOST:PORT"))?;
    Ok(())
}

pub fn print_chain(c: &Chain) {
    let coords = c
        .full
        .binlog
        .as_ref()
        .map_or("no binlog coordinates".into(), |b| {
            format!("{}:{}", b.file, b.position)
        });
    println!(
        "full {} taken {} ({coords}, GTID {})",
        c.full.short(),
        local(c.full.at),
        c.full.gtid.as_deref().unwrap_or("-")
    );
    for b in &c.binlogs {
        println!(
            "  + {} ({} in {}, events {} .. {}{})",
            b.file,
            bytes(b.size),
            super::count(b.parts.len(), "part", "parts"),
            b.first_event.map(local).unwrap_or_default(),
            b.last_event.map(local).unwrap_or_default(),
            if b.closed { "" } else { ", the archive's end" }
        );
    }
    let stop = match &c.until {
        Until::Latest => format!("the last archived event, {}", local(c.reaches)),
        Until::Time(t) => format!("{} (inclusive)", local(*t)),
        Until::Gtid(g) => format!("GTID {g} (inclusive)"),
        Until::Position(p) => format!("{}:{}", p.file, p.position),
    };
    println!("stops at {stop}");
}
