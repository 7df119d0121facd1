//! The main job: init where `auto-init`, back up every source, apply retention (and prune),
//! verify the structure, copy to every target and apply its retention; one summary.

use std::time::Instant;

use serde::Serialize;

use super::backup::{backup_one, backups_level, BackupOptions, SourceOutcome};
use super::copy::{copy_all, CopyOutcome};
use super::forget::{apply_retention, ForgetOutcome};
use super::monitor::MonitorOptions;
use super::verify::{record, verify_repo, VerifyOutcome};
use super::Site;
use crate::alert::PingPhase;
use crate::catalog::{Catalog, RunEnd, RunStatus};
use crate::repo::Repo;
use crate::status::Level;

#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Skip retention this time.
    pub no_forget: bool,
    /// Only these sources [default: all].
    pub sources: Vec<String>,
    /// How much the backups do (the load-aware mode).
    pub backup: BackupOptions,
}

#[derive(Serialize)]
pub struct RunSummary {
    pub initialized: Vec<String>,
    pub backups: Vec<SourceOutcome>,
    pub retention: Option<ForgetOutcome>,
    pub verify: Option<VerifyOutcome>,
    /// One entry per copy target: the copy, then that target's own retention.
    pub copies: Vec<CopyOutcome>,
    pub target_retention: Vec<ForgetOutcome>,
    pub duration_secs: f64,
    pub status: RunStatus,
    /// The monitor after the run, with the alerts it sent (so cron users get them too); its
    /// findings and failed channels never change the run's level.
    pub alerts: Option<super::monitor::MonitorOutcome>,
    /// The worst of it all: ok, warning (a target failed, a source of several failed), or
    /// critical (every backup failed, the repository damaged).
    pub level: Level,
}

/// Runs the main job and records it in the catalog as one run.
pub fn run(site: &Site, opts: &RunOptions) -> anyhow::Result<RunSummary> {
    let start = Instant::now();
    let catalog = site.catalog()?;
    super::monitor::ping(site, "run", PingPhase::Start);
    let run_id = catalog.start_run("run", None, Some(site.primary().0))?;
    let result = run_inner(site, opts, &catalog);
    let (status, error) = match &result {
        Ok(s) => (run_status(s.level), None),
        Err(e) => (RunStatus::Failed, Some(format!("{e:#}"))),
    };
    catalog.finish_run(
        run_id,
        &RunEnd {
            status,
            snapshot_id: None,
            error,
            duration: start.elapsed(),
            metrics: None,
        },
    )?;
    let ok = matches!(status, RunStatus::Ok | RunStatus::Warning);
    super::monitor::ping(
        site,
        "run",
        if ok {
            PingPhase::Success
        } else {
            PingPhase::Fail
        },
    );
    // Whatever the run found is told now, a failed run too.
    let alerts = super::monitor::monitor(site, &MonitorOptions::default())
        .map_err(|e| tracing::warn!("the monitor after the run failed: {e:#}"))
        .ok();
    let mut summary = result?;
    summary.duration_secs = start.elapsed().as_secs_f64();
    summary.status = status;
    summary.alerts = alerts;
    Ok(summary)
}

/// What the catalog records for a job that ended at `level`.
pub fn run_status(level: Level) -> RunStatus {
    match level {
        Level::Ok => RunStatus::Ok,
        Level::Warning => RunStatus::Warning,
        Level::Critical => RunStatus::Failed,
    }
}

fn run_inner(site: &Site, opts: &RunOptions, catalog: &Catalog) -> anyhow::Result<RunSummary> {
    let mut initialized = Vec::new();
    for (name, r) in &site.config.repository {
        // Targets are initialized by their copy, so an unreachable one cannot stop the backup.
        if r.auto_init && name == site.primary().0 {
            let spec = site.spec(name)?;
            if !Repo::exists(&spec)? {
                Repo::init(&spec)?;
                initialized.push(name.clone());
            }
        }
    }
    let repo = site.open_primary()?;
    let backups: Vec<_> = site
        .sources(&opts.sources)?
        .into_iter()
        .map(|(name, src)| backup_one(site, &repo, catalog, name, src, &opts.backup))
        .collect();
    let mut level = backups_level(&backups);
    let failed = backups.iter().any(|b| b.status == RunStatus::Failed);
    let retention = if opts.no_forget || failed {
        // Never thin out history on a run whose backup failed.
        None
    } else {
        let o = apply_retention(site, &repo, false, false)?;
        if o.removed() > 0 {
            repo.forget(&[], true)?;
        }
        Some(o)
    };
    let verify = verify_repo(&repo, None)?;
    record(catalog, &verify)?;
    level = level.max(verify.level());
    // Copies follow every backup; a target that fails is reported (a warning) and caught up
    // by the next run, while the backups above stand.
    let mut copies = copy_all(site, &repo, catalog, &site.targets());
    level = copies
        .iter()
        .map(CopyOutcome::level)
        .fold(level, Level::max);
    let mut target_retention = Vec::new();
    if !opts.no_forget {
        for c in &mut copies {
            let Some(target) = c.repo.take() else {
                continue;
            };
            match apply_retention(site, &target, false, false) {
                Ok(o) => {
                    if o.removed() > 0 {
                        if let Err(e) = target.forget(&[], true) {
                            tracing::warn!(repository = %target.name, "prune failed: {e}");
                            level = level.max(Level::Warning);
                        }
                    }
                    target_retention.push(o);
                }
                Err(e) => {
                    tracing::warn!(repository = %target.name, "retention failed: {e:#}");
                    level = level.max(Level::Warning);
                }
            }
        }
    }
    Ok(RunSummary {
        initialized,
        backups,
        retention,
        verify: Some(verify),
        copies,
        target_retention,
        duration_secs: 0.0,
        status: RunStatus::Running,
        alerts: None,
        level,
    })
}
