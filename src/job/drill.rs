//! Drills: prove each backup restores, and measure how long it takes.
//!
//! mysql: the latest full goes into a scratch database `dxb_drill_*` on the restore server and
//! every table's row count and `CHECKSUM TABLE` must equal the manifest's; then the binlog chain
//! is replayed on top, which must succeed; the scratch database is dropped. files: the latest
//! snapshot is restored into a temp folder and every file compared with the repository's bytes.
//! A physical full is prepared in a throwaway server and compared at the figures' binlog point:
//! the backup's own figures, or with `figures = "drill"` the source's, taken by the drill in a
//! consistent snapshot once the archive reaches that point.
//! The measured time is the RTO recorded in the catalog.

use std::time::Instant;

use anyhow::{bail, Context as _};
use mysql::prelude::Queryable;
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::restore_db::physical;
use super::{dbarchive, restore_db, Site};
use crate::catalog::DrillRecord;
use crate::config::{SourceConfig, SourceKind};
use crate::repo::Repo;
use crate::source::mysql::chain;
use crate::source::mysql::replay::{self, Until};
use crate::source::mysql::{dump, ident};

#[derive(Debug, Serialize)]
pub struct DrillOutcome {
    pub source: String,
    pub ok: bool,
    pub rto_secs: f64,
    pub snapshot: Option<String>,
    /// What was restored and compared, or what went wrong.
    pub detail: Vec<String>,
}

/// Drills the named sources (all when none), one after the other, each recorded.
pub fn drill(site: &Site, names: &[String]) -> anyhow::Result<Vec<DrillOutcome>> {
    let repo = site.open_primary()?;
    let catalog = site.catalog()?;
    let mut outcomes = Vec::new();
    for (name, src) in site.sources(names)? {
        let start = Instant::now();
        let mut detail = Vec::new();
        let result = match src.kind {
            SourceKind::Files => drill_files(&repo, name, &mut detail),
            SourceKind::Mysql => drill_mysql(site, &repo, name, src, &mut detail),
        };
        let rto = start.elapsed();
        let (ok, snapshot) = match result {
            Ok(s) => (true, Some(s)),
            Err(e) => {
                detail.push(format!("FAILED: {e:#}"));
                (false, None)
            }
        };
        catalog.record_drill(&DrillRecord {
            source: name.into(),
            at: jiff::Timestamp::now(),
            ok,
            rto_ms: rto.as_millis() as u64,
            snapshot_id: snapshot.clone(),
            detail: detail.join("\n"),
        })?;
        outcomes.push(DrillOutcome {
            source: name.into(),
            ok,
            rto_secs: rto.as_secs_f64(),
            snapshot,
            detail,
        });
    }
    // Also in the repository: the catalog is lost with the machine, the repository is not.
    let records = outcomes
        .iter()
        .map(|o| super::rto::RtoRecord {
            source: o.source.clone(),
            at: jiff::Timestamp::now(),
            how: "drill".into(),
            ok: o.ok,
            rto_secs: o.rto_secs,
            bytes: None,
            snapshot: o.snapshot.clone(),
            detail: o.detail.join("; "),
        })
        .collect();
    if let Err(e) = super::rto::add(site, &repo, records) {
        tracing::warn!("cannot record the drills' RTO in the repository: {e:#}");
    }
    Ok(outcomes)
}

fn drill_files(repo: &Repo, name: &str, detail: &mut Vec<String>) -> anyhow::Result<String> {
    let snap = repo.find_snapshot("latest", Some(name))?;
    let reader = repo.reader()?;
    let plan = crate::restore::plan(
        reader.entries(&snap, None)?,
        crate::restore::Mode::Full,
        &[],
    )?;
    let tmp = tempfile::Builder::new().prefix("dxb_drill_").tempdir()?;
    let report = crate::restore::apply(
        &reader,
        &plan,
        tmp.path(),
        2,
        &indicatif::ProgressBar::hidden(),
    );
    if let Some((p, e)) = report.failed.first() {
        bail!(
            "{} of {} files not restored, first {}: {e}",
            report.failed.len(),
            plan.file_count(),
            p.display()
        );
    }
    if plan.file_count() == 0 {
        bail!("the snapshot restored no file");
    }
    for e in &plan.files {
        let mut h = Sha256::new();
        reader.write_file(e, &mut HashWriter(&mut h))?;
        let restored = std::fs::read(tmp.path().join(&e.path))
            .with_context(|| format!("reading back {}", e.path.display()))?;
        if Sha256::digest(&restored) != h.finalize() {
            bail!(
                "{} differs from the snapshot after restore",
                e.path.display()
            );
        }
    }
    detail.push(format!(
        "restored {} files ({} bytes) of snapshot {} and compared each with the repository",
        report.files,
        report.bytes,
        snap.short_id()
    ));
    Ok(snap.id)
}

struct HashWriter<'a>(&'a mut Sha256);

impl std::io::Write for HashWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn drill_mysql(
    site: &Site,
    repo: &Repo,
    name: &str,
    src: &SourceConfig,
    detail: &mut Vec<String>,
) -> anyhow::Result<String> {
    let server = site.mysql_server(name, src, true)?;
    let snaps = repo.snapshots()?;
    let fulls = dbarchive::fulls(&snaps, name);
    let cover = dbarchive::coverage(&snaps, name);
    // A drill proves the whole window restorable, not only its newest end.
    let health = chain::health(&fulls, &cover);
    if let Some(h) = health.holes.first() {
        bail!(
            "the restore chain has {}: {h}",
            super::count(health.holes.len(), "hole", "holes")
        );
    }
    let chain = replay::plan(&fulls, &cover, &Until::Latest)?;
    let reader = repo.reader()?;
    let full = restore_db::chain_full(&snaps, &chain)?;
    let manifest = restore_db::full_manifest(&reader, full)?;
    let info = manifest
        .mysql
        .context("the full's manifest has no table figures")?;
    if physical::is_physical(full) {
        let pos = physical::position(&reader, full)?;
        if pos.checks_at.is_some() || !info.tables.is_empty() {
            let at = pos
                .checks_at
                .clone()
                .or(pos.binlog.clone())
                .context("the physical full records no binlog position to compare at")?;
            let figures = Figures {
                at,
                tables: info.tables,
                taken_now: false,
            };
            return drill_physical(
                &reader, &snaps, &fulls, &cover, &chain, &figures, &pos, detail,
            );
        }
        // figures = "drill": the backup stored none; take them from the source now.
        let (figures, snaps) = figures_now(site, repo, name, src, &pos.databases)?;
        let (fulls, cover) = (
            dbarchive::fulls(&snaps, name),
            dbarchive::coverage(&snaps, name),
        );
        let chain = replay::plan(&fulls, &cover, &Until::Latest)?;
        // The archive grew while it was waited for: an index that knows its new parts.
        let reader = repo.reader()?;
        return drill_physical(
            &reader, &snaps, &fulls, &cover, &chain, &figures, &pos, detail,
        );
    }
    let stamp = jiff::Timestamp::now().as_second();
    let tmp = tempfile::Builder::new()
        .prefix("dxbackup-drill-")
        .tempdir()?;
    let binlogs = dbarchive::extract(&reader, &snaps, &chain.binlogs, tmp.path())?;
    let mut restored_tables = 0;
    for db in &info.databases {
        let scratch = format!("dxb_drill_{stamp}_{}", sanitize(db));
        let result = (|| -> anyhow::Result<usize> {
            replay::check_privileges(&server, &scratch, !chain.binlogs.is_empty())?;
            replay::prepare_database(&server, &scratch, true)?;
            restore_db::play(
                &reader,
                &snaps,
                &chain,
                &server,
                db,
                &scratch,
                vec![],
                Until::Latest,
                None,
            )?;
            let compared = compare(&server, &scratch, db, &info.tables)?;
            if !binlogs.is_empty() {
                let chain_only = replay::Chain {
                    binlogs: chain.binlogs.clone(),
                    ..chain.clone()
                };
                replay_binlogs(&chain_only, &server, db, &scratch, binlogs.clone())?;
            }
            Ok(compared)
        })();
        let mut conn = server.connect()?;
        let _ = conn.query_drop(format!("DROP DATABASE IF EXISTS {}", ident(&scratch)));
        let n = result.with_context(|| format!("database {db}"))?;
        restored_tables += n;
        detail.push(format!(
            "{db}: {n} tables restored from full {} match the manifest (rows and CHECKSUM TABLE); {} binlog file(s) replayed on top",
            &chain.full.snapshot[..8],
            chain.binlogs.len()
        ));
    }
    if restored_tables == 0 {
        bail!("nothing was restored: the backup holds no table");
    }
    Ok(chain.full.snapshot)
}

/// Compares every table the backup recorded for `db` with what `restored` holds now (rows and
/// `CHECKSUM TABLE`); returns how many were compared.
fn compare(
    server: &crate::source::mysql::Server,
    restored: &str,
    db: &str,
    expected: &[dump::TableCheck],
) -> anyhow::Result<usize> {
    let workers = crate::source::mysql::connections(4);
    let got = dump::table_checks_parallel(server, restored, workers)?;
    let mut compared = 0;
    for t in expected.iter().filter(|t| t.database == db) {
        match got.iter().find(|g| g.table == t.table) {
            Some(g) if g.rows == t.rows && g.checksum == t.checksum => compared += 1,
            Some(g) => bail!(
                "table {db}.{}: restored {} rows checksum {:?}, the figures say {} rows checksum {:?}",
                t.table,
                g.rows,
                g.checksum,
                t.rows,
                t.checksum
            ),
            None => bail!("table {db}.{} missing after restore", t.table),
        }
    }
    Ok(compared)
}

/// Replays only the binlogs (the dump is already in `into`).
fn replay_binlogs(
    chain: &replay::Chain,
    server: &crate::source::mysql::Server,
    db: &str,
    into: &str,
    binlogs: Vec<std::path::PathBuf>,
) -> anyhow::Result<()> {
    let mut conn = server.connect()?;
    let (flavor, _) = server.flavor(&mut conn)?;
    let r = replay::Replay {
        server,
        flavor,
        source_db: db,
        into,
        binlogs,
        start_position: chain.full.binlog.as_ref().map_or(4, |c| c.position),
        until: Until::Latest,
    };
    replay::apply(&r, |_| Ok(()))?;
    Ok(())
}

fn sanitize(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .take(30)
        .collect()
}

/// What a physical drill compares with: table figures and the binlog point they were taken at.
struct Figures {
    at: dump::Coordinates,
    tables: Vec<dump::TableCheck>,
    /// Taken from the source by this drill (`figures = "drill"`), not stored with the backup.
    taken_now: bool,
}

/// `figures = "drill"`: the source's table figures now, in one consistent snapshot at a known
/// binlog point, and the repository's snapshots once the archive reaches that point (the
/// running archiver stores it within its flush interval; waited for, bounded).
fn figures_now(
    site: &Site,
    repo: &Repo,
    name: &str,
    src: &SourceConfig,
    databases: &[String],
) -> anyhow::Result<(Figures, Vec<crate::repo::Snapshot>)> {
    let server = site.mysql_server(name, src, false)?;
    let (at, tables) = crate::source::mysql::physical::checks_in_snapshot(&server, databases)
        .context("taking the table figures from the source (figures = \"drill\")")?;
    let at = at.context(
        "binary logging is off on the source: a drill with figures = \"drill\" replays the binlogs up to the figures' point",
    )?;
    let until = Until::Position(at.clone());
    let patience = src.binlog_flush() * 3 + std::time::Duration::from_secs(10);
    let deadline = Instant::now() + patience;
    loop {
        let snaps = repo.snapshots()?;
        let planned = replay::plan(
            &dbarchive::fulls(&snaps, name),
            &dbarchive::coverage(&snaps, name),
            &until,
        );
        match planned {
            Ok(_) => {
                let figures = Figures {
                    at,
                    tables,
                    taken_now: true,
                };
                return Ok((figures, snaps));
            }
            Err(e) if Instant::now() >= deadline => {
                return Err(anyhow::Error::new(e).context(format!(
                    "the figures were taken on the source at {}:{}, and after {}s the binlog archive does not reach it: is `dxbackup binlog {name}` (or the daemon) running?",
                    at.file,
                    at.position,
                    patience.as_secs()
                )))
            }
            Err(_) => std::thread::sleep(std::time::Duration::from_millis(500)),
        }
    }
}

/// A physical full: restored into a scratch data directory under a private throwaway server,
/// the binlogs replayed up to where the figures were taken and compared table by table, then
/// the rest of the chain replayed on top; everything removed after.
#[allow(clippy::too_many_arguments)]
fn drill_physical(
    reader: &crate::repo::Reader,
    snaps: &[crate::repo::Snapshot],
    fulls: &[chain::FullRef],
    cover: &chain::Coverage,
    latest: &chain::Chain,
    figures: &Figures,
    pos: &crate::source::mysql::physical::Position,
    detail: &mut Vec<String>,
) -> anyhow::Result<String> {
    let checks_at = &figures.at;
    let expected = &figures.tables;
    let until = Until::Position(checks_at.clone());
    let to_checks = replay::plan(fulls, cover, &until).with_context(|| {
        format!(
            "the figures were taken at {}:{}; the binlog archive must reach it",
            checks_at.file, checks_at.position
        )
    })?;
    anyhow::ensure!(
        to_checks.full.snapshot == latest.full.snapshot,
        "the figures' point {}:{} lies before the newest full's own point",
        checks_at.file,
        checks_at.position
    );
    let scratch = tempfile::Builder::new().prefix("dxb_drill_").tempdir()?;
    let run = tempfile::Builder::new()
        .prefix("dxb_drill_run_")
        .tempdir()?;
    let datadir = scratch.path().join("data");
    let sandbox =
        physical::prepare_sandbox(reader, snaps, &to_checks, &until, &datadir, run.path())?;
    let server = sandbox.server();
    let mut compared = 0;
    for db in &pos.databases {
        compared += compare(&server, db, db, expected)?;
    }
    if compared == 0 {
        bail!("nothing was compared: the backup's figures name no table");
    }
    // The rest of the chain on top, from where the figures were taken.
    let rest: Vec<chain::ChainFile> = latest
        .binlogs
        .iter()
        .filter(|f| {
            crate::source::mysql::binlog::sequence(&f.file)
                >= crate::source::mysql::binlog::sequence(&checks_at.file)
        })
        .cloned()
        .collect();
    if !rest.is_empty() {
        let tmp = tempfile::Builder::new()
            .prefix("dxbackup-binlogs-")
            .tempdir()?;
        let binlogs = dbarchive::extract(reader, snaps, &rest, tmp.path())?;
        sandbox.replay(binlogs, checks_at.position, &Until::Latest)?;
    }
    sandbox.shutdown()?;
    detail.push(format!(
        "physical full {} prepared and served in a throwaway server; {compared} tables match {} (rows and CHECKSUM TABLE) at {}:{}; {} binlog file(s) replayed",
        latest.full.short(),
        if figures.taken_now {
            "the source's figures taken by this drill"
        } else {
            "the backup's figures"
        },
        checks_at.file,
        checks_at.position,
        latest.binlogs.len()
    ));
    Ok(latest.full.snapshot.clone())
}
