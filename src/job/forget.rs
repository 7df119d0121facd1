//! Retention: each repository's keep rules applied (binlog parts following their fulls), the
//! forgotten snapshots deleted and, with prune, the data only they used.

use serde::Serialize;

use super::Site;
use crate::repo::{Repo, RetentionDecision};

#[derive(Debug, Serialize)]
pub struct ForgetOutcome {
    pub repository: String,
    pub dry_run: bool,
    pub pruned: bool,
    pub decisions: Vec<RetentionDecision>,
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
            let repo = Repo::open(&site.spec(name)?)?;
            apply_retention(site, &repo, prune, dry_run)
        })
        .collect()
}

/// Applies the repository's retention (its own `[repository.X.retention]` or `[retention]`).
pub fn apply_retention(
    site: &Site,
    repo: &Repo,
    prune: bool,
    dry_run: bool,
) -> anyhow::Result<ForgetOutcome> {
    let rules = site.retention_of(&repo.name);
    let now = jiff::Zoned::now();
    let decisions = repo.retention_plan(site.policy(&rules), &now)?;
    let doomed: Vec<String> = decisions
        .iter()
        .filter(|d| !d.keep)
        .map(|d| d.snapshot.id.clone())
        .collect();
    let pruned = prune && !dry_run;
    if !dry_run && (!doomed.is_empty() || prune) {
        repo.forget(&doomed, pruned)?;
    }
    Ok(ForgetOutcome {
        repository: repo.name.clone(),
        dry_run,
        pruned,
        decisions,
    })
}
