//! `dxbackup run`: the main job.

use std::time::Instant;

use clap::Args;
use serde::Serialize;

use super::backup::{backup_one, SourceOutcome};
use super::copy::{copy_all, CopyOutcome};
use super::forget::{apply_retention, ForgetOutcome};
use super::verify::{verify_repo, VerifyOutcome};
use super::{print_json, Ctx, Exit};
use crate::catalog::{RunEnd, RunStatus};
use crate::repo::Repo;

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Skip retention this time
    #[arg(long)]
    pub no_forget: bool,
}

#[derive(Serialize)]
struct RunSummary {
    initialized: Vec<String>,
    backups: Vec<SourceOutcome>,
    retention: Option<ForgetOutcome>,
    verify: Option<VerifyOutcome>,
    /// One entry per copy target: the copy, then that target's own retention.
    copies: Vec<CopyOutcome>,
    target_retention: Vec<ForgetOutcome>,
    duration_secs: f64,
    status: RunStatus,
}

pub fn run(ctx: &Ctx, args: &RunArgs) -> anyhow::Result<Exit> {
    let start = Instant::now();
    let catalog = ctx.catalog()?;
    let run_id = catalog.start_run("run", None, Some(ctx.primary().0))?;
    let result = run_inner(ctx, args, &catalog);
    let (exit, error) = match &result {
        Ok(s) => (s.1, None),
        Err(e) => (Exit::Error, Some(format!("{e:#}"))),
    };
    let status = match exit {
        Exit::Ok => RunStatus::Ok,
        Exit::Warning => RunStatus::Warning,
        Exit::Error => RunStatus::Failed,
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
    let (mut summary, exit) = result?;
    summary.duration_secs = start.elapsed().as_secs_f64();
    summary.status = status;
    if ctx.global.json {
        print_json(&summary)?;
    } else {
        print(&summary);
    }
    Ok(exit)
}

fn run_inner(
    ctx: &Ctx,
    args: &RunArgs,
    catalog: &crate::catalog::Catalog,
) -> anyhow::Result<(RunSummary, Exit)> {
    let mut initialized = Vec::new();
    for (name, r) in &ctx.config.repository {
        let spec = ctx.spec(name)?;
        // Targets are initialized by their copy, so an unreachable one cannot stop the backup.
        let is_primary = name == ctx.primary().0;
        if r.auto_init && is_primary && !Repo::exists(&spec)? {
            Repo::init(&spec)?;
            initialized.push(name.clone());
        }
    }
    let repo = ctx.open_primary()?;
    let backups: Vec<_> = ctx
        .config
        .source
        .iter()
        .map(|(name, src)| backup_one(ctx, &repo, catalog, name, src))
        .collect();
    let mut exit = super::backup::backups_exit(&backups);
    let retention = if args.no_forget || backups.iter().any(|b| b.snapshot.is_none()) {
        // Never thin out history on a run whose backup failed.
        None
    } else {
        let o = apply_retention(ctx, &repo, false, false)?;
        if o.removed() > 0 {
            repo.forget(&[], true)?;
        }
        Some(o)
    };
    let verify = verify_repo(&repo, None)?;
    let texts: Vec<String> = verify.findings.iter().map(|f| f.message.clone()).collect();
    catalog.record_verification(
        None,
        &repo.name,
        None,
        verify.errors,
        verify.warnings,
        &texts,
    )?;
    exit = exit.max(verify.exit());
    // Copies follow every backup; a target that fails is reported (exit 1) and caught up by
    // the next run, while the backups above stand.
    let mut copies = copy_all(ctx, &repo, catalog, &ctx.targets());
    exit = copies.iter().map(CopyOutcome::exit).fold(exit, Exit::max);
    let mut target_retention = Vec::new();
    if !args.no_forget {
        for c in &mut copies {
            let Some(target) = c.repo.take() else {
                continue;
            };
            match apply_retention(ctx, &target, false, false) {
                Ok(o) => {
                    if o.removed() > 0 {
                        if let Err(e) = target.forget(&[], true) {
                            tracing::warn!(repository = %target.name, "prune failed: {e}");
                            exit = exit.max(Exit::Warning);
                        }
                    }
                    target_retention.push(o);
                }
                Err(e) => {
                    tracing::warn!(repository = %target.name, "retention failed: {e:#}");
                    exit = exit.max(Exit::Warning);
                }
            }
        }
    }
    let summary = RunSummary {
        initialized,
        backups,
        retention,
        verify: Some(verify),
        copies,
        target_retention,
        duration_secs: 0.0,
        status: RunStatus::Running,
    };
    Ok((summary, exit))
}

fn print(s: &RunSummary) {
    for r in &s.initialized {
        println!("{r}: initialized");
    }
    s.backups.iter().for_each(SourceOutcome::print);
    if let Some(r) = &s.retention {
        super::forget::print(r, false);
    }
    if let Some(v) = &s.verify {
        super::verify::print(v);
    }
    s.copies.iter().for_each(CopyOutcome::print);
    for r in &s.target_retention {
        super::forget::print(r, false);
    }
    println!(
        "run {}: {:.1} s",
        format!("{:?}", s.status).to_lowercase(),
        s.duration_secs
    );
}
