//! `dxbackup copy [--to NAME]...`: sends the primary's new snapshots to the other
//! repositories. `run` does the same after its backups, through [`copy_all`].

use std::time::Instant;

use clap::Args;
use serde::Serialize;

use super::{bytes, mb_per_s, print_json, Ctx, Exit};
use crate::catalog::{Catalog, CopyEnd, RunStatus};
use crate::repo::Repo;

#[derive(Debug, Args)]
pub struct CopyArgs {
    /// Only this target (repeatable) [default: every repository except the primary]
    #[arg(long, value_name = "NAME")]
    pub to: Vec<String>,
}

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
    pub fn exit(&self) -> Exit {
        if self.status == RunStatus::Ok {
            Exit::Ok
        } else {
            Exit::Warning
        }
    }

    pub fn print(&self) {
        if let Some(e) = &self.error {
            println!("{}: copy FAILED: {e}", self.repository);
            println!("  the next `dxbackup run` or `dxbackup copy` resumes it");
            return;
        }
        println!(
            "{}: copied {} from {}, {} in {:.1} s, {:.1} MB/s; {} already there{}",
            self.repository,
            super::count(self.copied.len(), "snapshot", "snapshots"),
            self.from,
            bytes(self.bytes),
            self.duration_secs,
            self.mb_per_s,
            self.present,
            if self.not_wanted > 0 {
                format!(", {} left out by its retention", self.not_wanted)
            } else {
                String::new()
            }
        );
    }
}

pub fn run(ctx: &Ctx, args: &CopyArgs) -> anyhow::Result<Exit> {
    let targets = ctx.targets();
    for t in &args.to {
        anyhow::ensure!(
            targets.contains(&t.as_str()),
            "`{t}` is not a copy target; targets are the repositories other than the primary `{}`: {}",
            ctx.primary().0,
            if targets.is_empty() { "none configured".to_string() } else { targets.join(", ") }
        );
    }
    let chosen: Vec<&str> = if args.to.is_empty() {
        targets
    } else {
        targets
            .into_iter()
            .filter(|t| args.to.iter().any(|a| a == t))
            .collect()
    };
    anyhow::ensure!(
        !chosen.is_empty(),
        "nothing to copy to: add a second [repository.NAME] (the primary `{}` is the source)",
        ctx.primary().0
    );
    let primary = ctx.open_primary()?;
    let catalog = ctx.catalog()?;
    let outcomes = copy_all(ctx, &primary, &catalog, &chosen);
    if ctx.global.json {
        print_json(&outcomes)?;
    } else {
        outcomes.iter().for_each(CopyOutcome::print);
    }
    Ok(outcomes
        .iter()
        .map(CopyOutcome::exit)
        .max()
        .unwrap_or(Exit::Ok))
}

/// Copies to each target in turn; a failing target is reported and the others still get
/// their copy.
pub fn copy_all(
    ctx: &Ctx,
    primary: &Repo,
    catalog: &Catalog,
    targets: &[&str],
) -> Vec<CopyOutcome> {
    targets
        .iter()
        .map(|t| copy_one(ctx, primary, catalog, t))
        .collect()
}

fn copy_one(ctx: &Ctx, primary: &Repo, catalog: &Catalog, target: &str) -> CopyOutcome {
    let start = Instant::now();
    let run_id = catalog.start_copy(&primary.name, target);
    let result = copy_inner(ctx, primary, catalog, target);
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
    ctx: &Ctx,
    primary: &Repo,
    catalog: &Catalog,
    target: &str,
) -> anyhow::Result<(Repo, crate::repo::CopyResult)> {
    let spec = ctx.spec(target)?;
    let auto_init = ctx.config.repository[target].auto_init;
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
    let rules = ctx.retention_of(target);
    let policy = crate::repo::Policy {
        rules: &rules,
        dependents: &crate::source::mysql::chain::BinlogChains,
    };
    let result = primary.copy_to(&repo, policy, &jiff::Zoned::now())?;
    Ok((repo, result))
}
