//! `dxbackup run`: the main job.

use std::time::Instant;

use clap::Args;
use serde::Serialize;

use super::backup::{backup_one, SourceOutcome};
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

#[derive(Debug, Serialize)]
struct RunSummary {
    initialized: Vec<String>,
    backups: Vec<SourceOutcome>,
    retention: Option<ForgetOutcome>,
    verify: Option<VerifyOutcome>,
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
        if r.auto_init && !spec.url.contains("://") && !Repo::exists(&spec)? {
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
    let mut exit = backups
        .iter()
        .map(SourceOutcome::exit)
        .max()
        .unwrap_or(Exit::Ok);
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
    let summary = RunSummary {
        initialized,
        backups,
        retention,
        verify: Some(verify),
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
    println!(
        "run {}: {:.1} s",
        format!("{:?}", s.status).to_lowercase(),
        s.duration_secs
    );
}
