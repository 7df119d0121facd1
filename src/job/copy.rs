//! Copies: the primary's new snapshots sent to the other repositories, each target on its
//! own (one failing does not stop the next), recorded in the catalog. `run` does the same after
//! its backups, through [`copy_all`].

use std::time::Instant;

use serde::Serialize;

use super::Site;
use crate::catalog::{Catalog, CopyEnd, RunStatus};
use crate::repo::Repo;
use crate::status::Level;
use crate::units::mb_per_s;

/// One target's copy, as printed and as `--json`.
#[derive(Serialize)]
pub struct CopyOutcome {
    pub repository: String,
    pub from: String,
    pub status: RunStatus,
    /// Ids of the snapshots sent this time, oldest first.
    pub copied: Vec<String>,
    /// Snapshots the target already had.
    pub present: usize,
    /// Snapshots the target's retention would remove, so not sent.
    pub not_wanted: usize,
    pub bytes: u64,
    pub duration_secs: f64,
    pub mb_per_s: f64,
    pub error: Option<String>,
    /// The target, still open, for retention after the copy.
    #[serde(skip)]
    pub repo: Option<Repo>,
}

impl CopyOutcome {
    /// A failed target is a warning: the backups stand and the next copy catches up.
    pub fn level(&self) -> Level {
        if self.status == RunStatus::Ok {
            Level::Ok
        } else {
            Level::Warning
        }
    }
}

/// The copy targets named (all when none), checked against the config.
pub fn chosen_targets<'a>(site: &'a Site, names: &[String]) -> anyhow::Result<Vec<&'a str>> {
    let targets = site.targets();
    for t in names {
        anyhow::ensure!(
            targets.contains(&t.as_str()),
            "`{t}` is not a copy target; targets are the repositories other than the primary `{}`: {}",
            site.primary().0,
            if targets.is_empty() { "none configured".to_string() } else { targets.join(", ") }
        );
    }
    let chosen: Vec<&str> = if names.is_empty() {
        targets
    } else {
        targets
            .into_iter()
            .filter(|t| names.iter().any(|a| a == t))
            .collect()
    };
    anyhow::ensure!(
        !chosen.is_empty(),
        "nothing to copy to: add a second [repository.NAME] (the primary `{}` is the source)",
        site.primary().0
    );
    Ok(chosen)
}

/// `dxbackup copy`: the primary's new snapshots to the named targets (or all).
pub fn copy(site: &Site, names: &[String]) -> anyhow::Result<Vec<CopyOutcome>> {
    let chosen = chosen_targets(site, names)?;
    let primary = site.open_primary()?;
    let catalog = site.catalog()?;
    Ok(copy_all(site, &primary, &catalog, &chosen))
}

/// Copies to each target in turn; a failing target is reported and the others still get
/// their copy.
pub fn copy_all(
    site: &Site,
    primary: &Repo,
    catalog: &Catalog,
    targets: &[&str],
) -> Vec<CopyOutcome> {
    targets
        .iter()
        .map(|t| copy_one(site, primary, catalog, t))
        .collect()
}

fn copy_one(site: &Site, primary: &Repo, catalog: &Catalog, target: &str) -> CopyOutcome {
    let start = Instant::now();
    // A copy the catalog does not know of would leave status and the 3-2-1 check blind to it.
    let run_id = catalog.start_copy(&primary.name, target);
    let result = match &run_id {
        Ok(_) => copy_inner(site, primary, catalog, target),
        Err(e) => Err(anyhow::anyhow!(
            "cannot record the start of the copy in the catalog ({e}); nothing was copied, as status and alerts would not know of it: fix the state directory (disk space, permissions), then copy again"
        )),
    };
    let duration = start.elapsed();
    let mut outcome = CopyOutcome {
        repository: target.to_string(),
        from: primary.name.clone(),
        status: RunStatus::Ok,
        copied: vec![],
        present: 0,
        not_wanted: 0,
        bytes: 0,
        duration_secs: duration.as_secs_f64(),
        mb_per_s: 0.0,
        error: None,
        repo: None,
    };
    match result {
        Ok((repo, r)) => {
            outcome.copied = r.copied.iter().map(|s| s.id.clone()).collect();
            outcome.present = r.present;
            outcome.not_wanted = r.not_wanted;
            outcome.bytes = r.bytes;
            outcome.mb_per_s = mb_per_s(r.bytes, r.duration.as_secs_f64());
            outcome.repo = Some(repo);
        }
        Err(e) => {
            tracing::warn!(target, "copy failed: {e:#}");
            outcome.status = RunStatus::Failed;
            outcome.error = Some(format!("{e:#}"));
        }
    }
    if let Ok(id) = run_id {
        let end = CopyEnd {
            status: outcome.status,
            error: outcome.error.clone(),
            duration,
            snapshots: outcome.copied.len() as u64,
            bytes: outcome.bytes,
        };
        if let Err(e) = catalog.finish_copy(id, &end) {
            tracing::warn!("cannot record copy: {e}");
        }
    }
    outcome
}

fn copy_inner(
    site: &Site,
    primary: &Repo,
    catalog: &Catalog,
    target: &str,
) -> anyhow::Result<(Repo, crate::repo::CopyResult)> {
    let spec = site.spec(target)?;
    let auto_init = site.config.repository[target].auto_init;
    let repo = if auto_init && !Repo::exists(&spec)? {
        tracing::info!(repository = target, "initializing copy target");
        Repo::init(&spec)?.0
    } else {
        Repo::open(&spec)?
    };
    if catalog.copy_broken_since_success(target).unwrap_or(false) {
        // Packs a cut-off copy wrote are indexed, so this copy does not send them again.
        tracing::info!(
            repository = target,
            "indexing what the interrupted copy left"
        );
        if let Err(e) = repo.recover_interrupted() {
            tracing::warn!("{e}");
        }
    }
    tracing::info!(from = %primary.name, to = target, "copy started");
    let rules = site.retention_of(target);
    let result = primary.copy_to(&repo, site.policy(&rules), &jiff::Zoned::now())?;
    Ok((repo, result))
}
