//! Point-in-time restores of a physical full (`driver = "mariabackup"`): the stream extracted
//! and prepared into a data directory, the binlogs replayed into a private throwaway server on
//! it, then that directory served on a free port or moved into a stopped server's place.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context as _;
use serde::Serialize;

use super::super::dbarchive;
use super::{Plan, RestoreDbOutcome, RestoreDbRequest};
use crate::catalog::{RunEnd, RunStatus};
use crate::job::Site;
use crate::repo::{Reader, Snapshot};
use crate::source::mysql::physical::restore::{self as phys, Access, Sandbox};
use crate::source::mysql::physical::{Position, POSITION_FILE, STREAM_FILE};
use crate::source::mysql::replay::{self, Chain, Until};

/// Where a physical restore left its data directory.
#[derive(Debug, Clone, Serialize)]
pub struct Placed {
    pub datadir: PathBuf,
    /// `--serve`: the throwaway server left running.
    pub port: Option<u16>,
    pub pid: Option<u32>,
    pub socket: Option<PathBuf>,
    /// `--force`: where the data directory's previous contents were moved.
    pub moved_aside: Option<PathBuf>,
}

/// Whether a full snapshot is a physical one (its description says which tool made it).
pub fn is_physical(s: &Snapshot) -> bool {
    s.description
        .as_deref()
        .and_then(|d| serde_json::from_str::<serde_json::Value>(d).ok())
        .is_some_and(|v| v["driver"] == "mariabackup")
}

/// The copy's point and the figures' point, as stored beside the stream.
pub fn position(reader: &Reader, full: &Snapshot) -> anyhow::Result<Position> {
    let entries = reader.entries(full, None)?;
    let entry = entries
        .iter()
        .find(|e| e.path.as_os_str() == POSITION_FILE)
        .with_context(|| format!("snapshot {} lacks {POSITION_FILE}", full.short_id()))?;
    Ok(serde_json::from_slice(&reader.read_to_vec(entry)?)?)
}

/// Extracts and prepares `full` into `dir`, then starts a private server on it and replays
/// `chain`'s binlogs to `until`. The caller compares, serves or stops it.
pub fn prepare_sandbox(
    reader: &Reader,
    snaps: &[Snapshot],
    chain: &Chain,
    until: &Until,
    dir: &Path,
    run_dir: &Path,
) -> anyhow::Result<Sandbox> {
    let full = super::chain_full(snaps, chain)?;
    let entries = reader.entries(full, None)?;
    let stream = entries
        .iter()
        .find(|e| e.path.as_os_str() == STREAM_FILE)
        .with_context(|| format!("snapshot {} holds no {STREAM_FILE}", full.short_id()))?;
    let t = Instant::now();
    phys::extract(dir, |w| {
        let mut w = w;
        reader
            .write_file(stream, &mut w)
            .map_err(std::io::Error::other)
    })?;
    tracing::info!(secs = t.elapsed().as_secs_f64(), "physical full extracted");
    let t = Instant::now();
    phys::prepare(dir)?;
    tracing::info!(secs = t.elapsed().as_secs_f64(), "physical full prepared");
    // Binlogs are rebuilt before the server starts: a damaged part fails with nothing running.
    let tmp = tempfile::Builder::new()
        .prefix("dxbackup-binlogs-")
        .tempdir()?;
    let binlogs = dbarchive::extract(reader, snaps, &chain.binlogs, tmp.path())?;
    let sandbox = Sandbox::start(dir, run_dir, Access::Private)?;
    let start = chain.full.binlog.as_ref().map_or(4, |c| c.position);
    sandbox.replay(binlogs, start, until)?;
    Ok(sandbox)
}

pub fn restore(
    site: &Site,
    req: &RestoreDbRequest,
    plan: &Plan,
    target: &Path,
) -> anyhow::Result<RestoreDbOutcome> {
    let started = Instant::now();
    let catalog = site.catalog()?;
    let run_id = catalog.start_run("restore-db", Some(&req.source), Some(&plan.repo.name))?;
    let result = place(req, plan, target);
    catalog.finish_run(
        run_id,
        &RunEnd {
            status: if result.is_ok() {
                RunStatus::Ok
            } else {
                RunStatus::Failed
            },
            snapshot_id: Some(plan.chain.full.snapshot.clone()),
            error: result.as_ref().err().map(|e| format!("{e:#}")),
            duration: started.elapsed(),
            metrics: None,
        },
    )?;
    let (placed, tables) = result?;
    Ok(RestoreDbOutcome {
        chain: plan.chain.clone(),
        source_database: String::new(),
        database: String::new(),
        server: placed.port.map_or_else(
            || target.display().to_string(),
            |p| format!("127.0.0.1:{p}"),
        ),
        tables,
        row_counts_checked: false,
        duration_secs: started.elapsed().as_secs_f64(),
        connections: None,
        physical: Some(placed),
    })
}

fn place(
    req: &RestoreDbRequest,
    plan: &Plan,
    target: &Path,
) -> anyhow::Result<(Placed, Vec<(String, u64)>)> {
    let reader = plan.repo.reader()?;
    let full = super::chain_full(&plan.snaps, &plan.chain)?;
    let pos = position(&reader, full)?;
    let occupied = target.exists() && std::fs::read_dir(target)?.next().is_some();
    if req.serve && occupied {
        anyhow::bail!(
            "{} is not empty: --serve restores into a new data directory; name one that does not exist",
            target.display()
        );
    }
    // With --force the files are prepared beside the target (one file system: a rename).
    let work = if req.serve {
        target.to_path_buf()
    } else {
        let parent = target.parent().unwrap_or(Path::new("/"));
        tempfile::Builder::new()
            .prefix(".dxbackup-restore-")
            .tempdir_in(parent)?
            .keep()
    };
    let run_dir = tempfile::Builder::new()
        .prefix("dxbackup-mariadbd-")
        .tempdir()?;
    let result = (|| {
        let sandbox = prepare_sandbox(
            &reader,
            &plan.snaps,
            &plan.chain,
            &req.until,
            &work,
            run_dir.path(),
        )?;
        let server = sandbox.server();
        let mut tables = Vec::new();
        for db in &pos.databases {
            for (t, n) in replay::row_counts(&server, db, crate::source::mysql::connections(8))? {
                tables.push((format!("{db}.{t}"), n));
            }
        }
        sandbox.shutdown()?;
        Ok::<_, anyhow::Error>(tables)
    })();
    let tables = match result {
        Ok(t) => t,
        Err(e) => {
            // Nothing half-restored stays behind: the folder is ours (new or scratch).
            let _ = std::fs::remove_dir_all(&work);
            return Err(e);
        }
    };
    if req.serve {
        let port = phys::free_port()?;
        let served = tempfile::Builder::new()
            .prefix("dxbackup-serve-")
            .tempdir()?
            .keep();
        let sandbox = Sandbox::start(&work, &served, Access::Serve(port))?;
        let socket = sandbox.socket.clone();
        let pid = sandbox.detach();
        return Ok((
            Placed {
                datadir: work,
                port: Some(port),
                pid: Some(pid),
                socket: Some(socket),
                moved_aside: None,
            },
            tables,
        ));
    }
    let aside = phys::install(&work, target)?;
    let _ = std::fs::remove_dir_all(&work);
    Ok((
        Placed {
            datadir: target.to_path_buf(),
            port: None,
            pid: None,
            socket: None,
            moved_aside: aside.exists().then_some(aside),
        },
        tables,
    ))
}
