//! Retention: each repository's keep rules applied (binlog parts following their fulls, closed
//! binlog files merged first), the forgotten snapshots deleted and, with prune, the data only
//! they used.

use serde::Serialize;

use std::collections::HashMap;

use super::housekeep::{HousekeepReport, Housekeeper};
use super::Site;
use crate::repo::{Repo, RetentionDecision, Snapshot};

#[derive(Debug, Serialize)]
pub struct ForgetOutcome {
    pub repository: String,
    pub dry_run: bool,
    pub pruned: bool,
    pub decisions: Vec<RetentionDecision>,
    pub housekeeping: HousekeepReport,
}

impl ForgetOutcome {
    pub fn removed(&self) -> usize {
        self.decisions.iter().filter(|d| !d.keep).count()
    }
}

/// `dxbackup forget`: the named repository, or every configured one.
pub fn forget(
    site: &Site,
    repo: Option<&str>,
    prune: bool,
    dry_run: bool,
) -> anyhow::Result<Vec<ForgetOutcome>> {
    let names: Vec<String> = match repo {
        Some(r) => vec![r.to_string()],
        None => site.config.repository.keys().cloned().collect(),
    };
    names
        .iter()
        .map(|name| {
            let repo = site.open(name)?;
            apply_retention(site, &repo, prune, dry_run)
        })
        .collect()
}

/// Applies the repository's retention (its own `[repository.X.retention]` or `[retention]`),
/// binlog housekeeping first: closed binlog files merged (on the primary) and the part
/// snapshots the verified merges hold forgotten with what the keep rules remove.
pub fn apply_retention(
    site: &Site,
    repo: &Repo,
    prune: bool,
    dry_run: bool,
) -> anyhow::Result<ForgetOutcome> {
    let mut hk = Housekeeper::new();
    let housekeeping = if dry_run {
        hk.preview(repo)?
    } else {
        hk.prepare(site, repo, None, repo.name == site.primary().0)?
    };
    let rules = site.retention_of(&repo.name);
    let now = jiff::Zoned::now();
    let mut decisions = repo.retention_plan(site.policy(&rules), &now)?;
    let doomed: Vec<String> = decisions
        .iter()
        .filter(|d| !d.keep)
        .map(|d| d.snapshot.id.clone())
        .collect();
    mark_superseded(&hk, &mut decisions);
    let pruned = prune && !dry_run;
    let removed = decisions.iter().any(|d| !d.keep);
    if !dry_run && (removed || prune) {
        // What housekeeping forgets is decided again under the exclusive lock.
        repo.forget_with(&doomed, &|snaps| hk.superseded_ids(snaps), pruned)?;
    }
    Ok(ForgetOutcome {
        repository: repo.name.clone(),
        dry_run,
        pruned,
        decisions,
        housekeeping,
    })
}

/// Binlog snapshots the keep rules keep but whose bytes are all in verified merged snapshots.
fn mark_superseded(hk: &Housekeeper, decisions: &mut [RetentionDecision]) {
    let snaps: Vec<Snapshot> = decisions.iter().map(|d| d.snapshot.clone()).collect();
    let by: HashMap<String, Vec<String>> = hk
        .superseded(&snaps)
        .into_iter()
        .map(|s| (s.snapshot, s.by))
        .collect();
    for d in decisions.iter_mut().filter(|d| d.keep) {
        if let Some(by) = by.get(&d.snapshot.id) {
            let short: Vec<&str> = by.iter().map(|b| &b[..8.min(b.len())]).collect();
            d.keep = false;
            d.reasons = vec![format!("binlog: merged into {}", short.join(", "))];
        }
    }
}
