//! Point-in-time restores of a mysql source: the chain proven first (`plan`), then the full
//! and the binlogs played into the target database (`restore`), which a failure leaves as it
//! found it (a database it created is dropped).

use anyhow::{bail, Context as _};
use serde::Serialize;

pub mod physical;
mod until;

pub use until::parse_until;

use super::dbarchive;
use super::mysql_full::DUMP_FILE;
use super::Site;
use crate::catalog::{RunEnd, RunStatus};
use crate::config::SourceKind;
use crate::manifest::{Manifest, MANIFEST_FILE};
use crate::repo::{Reader, Repo, Snapshot};
use crate::source::mysql::mydumper;
use crate::source::mysql::replay::{self, Chain, Replay, Until};
use crate::source::mysql::Server;

/// What to restore, and where.
#[derive(Debug, Clone)]
pub struct RestoreDbRequest {
    pub source: String,
    pub into: String,
    /// Which database of the backup, when the source holds several.
    pub database: Option<String>,
    pub until: Until,
    /// Another server than the source's: `HOST:PORT` or a socket path.
    pub server: Option<String>,
    /// Replace a non-empty target database (or, with `datadir`, move the restored files
    /// into a stopped server's data directory).
    pub force: bool,
    /// A physical full: the data directory to restore into.
    pub datadir: Option<std::path::PathBuf>,
    /// A physical full: start a throwaway server on `datadir` and leave it running.
    pub serve: bool,
    /// Connections that load a logical full at once (None: the driver's default; 1: one
    /// session).
    pub jobs: Option<usize>,
}

/// A restore's chain, proven, with what is needed to play it.
pub struct Plan {
    pub chain: Chain,
    pub server: Server,
    pub(crate) repo: Repo,
    pub(crate) snaps: Vec<Snapshot>,
}

#[derive(Debug, Serialize)]
pub struct RestoreDbOutcome {
    pub chain: Chain,
    pub source_database: String,
    pub database: String,
    pub server: String,
    /// Row count per restored table.
    pub tables: Vec<(String, u64)>,
    /// Without binlogs on top, the restored rows were compared with the full's figures.
    pub row_counts_checked: bool,
    pub duration_secs: f64,
    /// A logical restore: the connections that loaded the full at once.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connections: Option<usize>,
    /// A physical restore: where the data directory is and how to reach it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub physical: Option<physical::Placed>,
}

/// Proves the chain to the target, or refuses, naming what is missing and the latest time
/// that can be restored exactly, whichever kind of full it starts from. Touches nothing.
pub fn plan_chain(site: &Site, req: &RestoreDbRequest) -> anyhow::Result<Plan> {
    let (name, src) = site.source(&req.source)?;
    if src.kind != SourceKind::Mysql {
        bail!(
            "source `{name}` is a files source, not a mysql source; restore it with 'dxbackup restore latest:{name} --target DIR'"
        );
    }
    if req.datadir.is_none() {
        replay::check_database_name(&req.into)?;
    }
    let mut server = site.mysql_server(name, src, false)?;
    if let Some(s) = &req.server {
        retarget(&mut server, s)?;
    }
    let repo = site.open_primary()?;
    let snaps = repo.snapshots()?;
    let chain = replay::plan(
        &dbarchive::fulls(&snaps, name),
        &dbarchive::coverage(&snaps, name),
        &req.until,
    )?;
    Ok(Plan {
        chain,
        server,
        repo,
        snaps,
    })
}

impl Plan {
    /// Whether the chain starts from a physical full (mariabackup).
    pub fn is_physical(&self) -> bool {
        chain_full(&self.snaps, &self.chain).is_ok_and(physical::is_physical)
    }
}

/// Proves the chain to the target, or refuses, naming what is missing and the latest time
/// that can be restored exactly; then checks `req` restores its kind of full.
pub fn plan(site: &Site, req: &RestoreDbRequest) -> anyhow::Result<Plan> {
    let plan = plan_chain(site, req)?;
    let chain = &plan.chain;
    match (plan.is_physical(), &req.datadir) {
        (true, None) => bail!(
            "full {} is a physical backup (mariabackup): restore it with --datadir DIR --serve (a throwaway server on a free port) or --datadir DIR --force (into a stopped server's data directory)",
            chain.full.short()
        ),
        (false, Some(_)) => bail!(
            "full {} is a logical dump: restore it with --into DATABASE (--datadir is for physical backups, driver = \"mariabackup\")",
            chain.full.short()
        ),
        (true, Some(_)) if !req.serve && !req.force => bail!(
            "a physical restore needs --serve (start a throwaway server on the new data directory) or --force (move it into a stopped server's data directory)"
        ),
        _ => {}
    }
    Ok(plan)
}

/// The full snapshot `chain` starts from, among `snaps` (those it was planned from).
pub fn chain_full<'a>(snaps: &'a [Snapshot], chain: &Chain) -> anyhow::Result<&'a Snapshot> {
    snaps
        .iter()
        .find(|s| s.id == chain.full.snapshot)
        .context("full snapshot vanished")
}

/// The databases a logical full holds (a physical one holds the whole server: empty).
pub fn databases(plan: &Plan) -> anyhow::Result<Vec<String>> {
    let full = chain_full(&plan.snaps, &plan.chain)?;
    if physical::is_physical(full) {
        return Ok(Vec::new());
    }
    let manifest = full_manifest(&plan.repo.reader()?, full)?;
    Ok(manifest.mysql.map(|m| m.databases).unwrap_or_default())
}

/// Plays a proven chain into `req.into`, recorded in the catalog as a `restore-db` run.
pub fn restore(
    site: &Site,
    req: &RestoreDbRequest,
    plan: &Plan,
) -> anyhow::Result<RestoreDbOutcome> {
    let Plan {
        chain,
        server,
        repo,
        snaps,
    } = plan;
    if let Some(dir) = &req.datadir {
        return physical::restore(site, req, plan, dir);
    }
    let reader = repo.reader()?;
    let full = chain_full(snaps, chain)?;
    let manifest = full_manifest(&reader, full)?;
    let dbs = manifest
        .mysql
        .as_ref()
        .map(|m| m.databases.clone())
        .unwrap_or_default();
    let source_db = match (&req.database, dbs.as_slice()) {
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
    let catalog = site.catalog()?;
    let run_id = catalog.start_run("restore-db", Some(&req.source), Some(&repo.name))?;
    let result = play_into(
        &reader, snaps, chain, server, &source_db, &req.into, req.force, req.jobs,
    );
    let end = RunEnd {
        status: if result.is_ok() {
            RunStatus::Ok
        } else {
            RunStatus::Failed
        },
        snapshot_id: Some(chain.full.snapshot.clone()),
        error: result.as_ref().err().map(|e| format!("{e:#}")),
        duration: started.elapsed(),
        metrics: None,
    };
    catalog.finish_run(run_id, &end)?;
    let tables = result?;
    // Without binlogs on top, the restored rows must be the full's, table by table.
    let row_counts_checked = chain.binlogs.is_empty();
    if row_counts_checked {
        check_against_manifest(&manifest, &source_db, &tables)?;
    }
    Ok(RestoreDbOutcome {
        chain: chain.clone(),
        source_database: source_db,
        database: req.into.clone(),
        server: server.describe(),
        tables,
        row_counts_checked,
        duration_secs: started.elapsed().as_secs_f64(),
        connections: req.jobs,
        physical: None,
    })
}

/// Restores into `--into`; a failure drops the database if this restore created it, and says
/// so plainly if it was an existing one (then incomplete).
#[allow(clippy::too_many_arguments)]
fn play_into(
    reader: &Reader,
    snaps: &[Snapshot],
    chain: &Chain,
    server: &Server,
    source_db: &str,
    into: &str,
    force: bool,
    jobs: Option<usize>,
) -> anyhow::Result<Vec<(String, u64)>> {
    replay::check_privileges(server, into, !chain.binlogs.is_empty())?;
    let tmp = tempfile::Builder::new()
        .prefix("dxbackup-binlogs-")
        .tempdir()?;
    // Rebuilt before the database is touched: a damaged part fails here, with nothing written.
    let files = dbarchive::extract(reader, snaps, &chain.binlogs, tmp.path())?;
    let target = replay::prepare_database(server, into, force)?;
    let result = play(
        reader,
        snaps,
        chain,
        server,
        source_db,
        into,
        files,
        chain.until.clone(),
        jobs,
    )
    .and_then(|()| {
        let jobs = jobs.unwrap_or_else(|| crate::source::mysql::connections(8));
        Ok(replay::row_counts(server, into, jobs)?)
    });
    result.map_err(|e| match replay::abandon(server, into, target) {
        Ok(note) => e.context(note),
        Err(drop_err) => e.context(format!(
            "the restore failed and dropping `{}` failed too ({drop_err}): drop it by hand",
            into
        )),
    })
}

/// Streams the full's dump section and the binlogs into `into`, the full loaded on `jobs`
/// connections at once (None: the driver's default).
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
    jobs: Option<usize>,
) -> anyhow::Result<()> {
    let full = chain_full(snaps, chain)?;
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
        let threads = jobs.unwrap_or_else(|| crate::source::mysql::connections(8));
        mydumper::load(server, tmp.path(), source_db, into, threads)?;
        if !r.binlogs.is_empty() {
            replay::apply(&r, |_| Ok(()))?;
        }
        return Ok(());
    };
    let jobs = jobs.unwrap_or_else(replay::parallel::default_jobs);
    replay::parallel::load(&r, jobs, |w| {
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
