//! Restoring a snapshot into a folder: planned first (what it writes, what it would replace,
//! refused entries), then applied file by file through the repository's read path.

use std::path::{Path, PathBuf};

use indicatif::ProgressBar;
use serde::Serialize;

use super::Site;
use crate::repo::{Reader, Snapshot};
use crate::restore::{self, Mode, Overwrite, RestorePlan, RestoreReport};

/// What to restore, and how.
#[derive(Debug, Clone)]
pub struct RestoreRequest {
    /// Read from this repository instead of the primary (a copy target).
    pub repo: Option<String>,
    /// Snapshot id (prefix), `latest` or `latest:SOURCE`.
    pub snapshot: String,
    pub target: PathBuf,
    pub mode: Mode,
    pub only: Vec<String>,
    pub overwrite: Overwrite,
    pub threads: Option<usize>,
}

/// A planned restore, ready to apply.
pub struct Prepared {
    pub snapshot: Snapshot,
    pub plan: RestorePlan,
    reader: Reader,
}

impl Prepared {
    /// Whether applying would refuse (paths to replace that differ, without leave to).
    pub fn refuses(&self, target: &Path) -> bool {
        self.plan.refusal(target).is_some()
    }
}

#[derive(Debug, Serialize)]
pub struct RestoreOutcome {
    pub snapshot: String,
    pub target: PathBuf,
    pub report: RestoreReport,
    pub replaced: usize,
    pub kept: usize,
}

/// Plans the restore; a wrong target fails before the repository is even opened.
pub fn prepare(site: &Site, req: &RestoreRequest) -> anyhow::Result<Prepared> {
    restore::check_target(&req.target)?;
    let repo = site.open_repo(req.repo.as_deref())?;
    let snapshot = repo.find_snapshot(&req.snapshot, None)?;
    let reader = repo.reader()?;
    let mut plan = restore::plan(reader.entries(&snapshot, None)?, req.mode, &req.only)?;
    plan.resolve_existing(&req.target, req.overwrite);
    Ok(Prepared {
        snapshot,
        plan,
        reader,
    })
}

/// Applies a plan; a damaged file is reported in the outcome and skipped, the rest restored.
pub fn apply(
    req: &RestoreRequest,
    prepared: &Prepared,
    bar: &ProgressBar,
) -> anyhow::Result<RestoreOutcome> {
    if let Some(refusal) = prepared.plan.refusal(&req.target) {
        return Err(refusal.into());
    }
    restore::create_target(&req.target)?;
    let threads = req
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));
    let report = restore::apply(&prepared.reader, &prepared.plan, &req.target, threads, bar);
    Ok(RestoreOutcome {
        snapshot: prepared.snapshot.id.clone(),
        target: req.target.clone(),
        report,
        replaced: prepared.plan.overwrites.len(),
        kept: prepared.plan.kept.len(),
    })
}
