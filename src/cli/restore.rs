//! `dxbackup restore SNAP --target DIR [--mode full|fast|partial] [--only GLOB,...]
//! [--overwrite never|if-changed|always | --force] [--dry-run]`

use std::path::PathBuf;

use clap::Args;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::{bytes, print_json, Ctx, Exit};
use crate::job::restore::{self, RestoreRequest};
use crate::restore::{Mode, Overwrite, RestorePlan};

#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// Read from this repository instead of the primary (a copy target)
    #[arg(long, value_name = "NAME")]
    pub repo: Option<String>,
    /// Snapshot id (prefix), `latest` or `latest:SOURCE`
    pub snapshot: String,
    /// Folder to restore into (created if missing)
    #[arg(long)]
    pub target: PathBuf,
    #[arg(long, value_enum, default_value_t = Mode::Full)]
    pub mode: Mode,
    /// Comma-separated paths or globs relative to the source root (implies --mode partial)
    #[arg(long, value_delimiter = ',')]
    pub only: Vec<String>,
    /// Paths the target already holds: never (keep them), if-changed (replace those that
    /// differ), always (replace all) [default: refuse if any differs; keep identical ones]
    #[arg(long, value_enum, value_name = "WHEN")]
    pub overwrite: Option<Overwrite>,
    /// Same as --overwrite always
    #[arg(long, conflicts_with = "overwrite")]
    pub force: bool,
    /// Print the plan and what it would overwrite, write nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Parallel writers [default: number of CPUs]
    #[arg(long)]
    pub threads: Option<usize>,
}

impl RestoreArgs {
    fn overwrite(&self) -> Overwrite {
        if self.force {
            Overwrite::Always
        } else {
            self.overwrite.unwrap_or_default()
        }
    }
}

pub fn run(ctx: &Ctx, args: &RestoreArgs) -> anyhow::Result<Exit> {
    let req = RestoreRequest {
        repo: args.repo.clone(),
        snapshot: args.snapshot.clone(),
        target: args.target.clone(),
        mode: args.mode,
        only: args.only.clone(),
        overwrite: args.overwrite(),
        threads: args.threads,
    };
    let prepared = restore::prepare(ctx, &req)?;
    let (snap, plan) = (&prepared.snapshot, &prepared.plan);
    if args.dry_run {
        print_plan(ctx, args, snap, plan)?;
        return Ok(Exit::Ok);
    }
    let o = restore::apply(&req, &prepared, &progress_bar(ctx))?;
    let report = &o.report;
    if ctx.global.json {
        print_json(&o)?;
    } else {
        for (p, e) in &report.failed {
            println!("FAILED {}: {e}", p.display());
        }
        if let Some(t) = report.core_ready_after {
            println!("core (conf/, job/) usable after {:.2} s", t.as_secs_f64());
        }
        println!(
            "restored {} files ({}), {} folders, {} links from {} into {} in {:.2} s; {} replaced, {} kept, {} failed",
            report.files,
            bytes(report.bytes),
            report.dirs,
            report.links,
            snap.short_id(),
            args.target.display(),
            report.duration.as_secs_f64(),
            o.replaced,
            o.kept,
            report.failed.len()
        );
    }
    Ok(if report.failed.is_empty() {
        Exit::Ok
    } else {
        Exit::Warning
    })
}

/// The dry run: every file to write, then every existing path it would replace.
fn print_plan(
    ctx: &Ctx,
    args: &RestoreArgs,
    snap: &crate::repo::Snapshot,
    plan: &RestorePlan,
) -> anyhow::Result<()> {
    let refuses = plan.refusal(&args.target).is_some();
    if ctx.global.json {
        let files: Vec<_> = plan.files.iter().map(|e| &e.path).collect();
        return print_json(&serde_json::json!({
            "snapshot": snap.id,
            "plan": plan,
            "files": files,
            "refuses": refuses,
        }));
    }
    for e in &plan.files {
        println!("{:>10}  {}", bytes(e.size()), e.path.display());
    }
    for p in &plan.overwrites {
        println!("overwrite   {}", p.display());
    }
    println!(
        "would restore {} files ({}), {} folders, {} links from {} into {} ({:?} mode); {} refused; \
         {} existing replaced, {} kept",
        plan.file_count(),
        bytes(plan.total_bytes),
        plan.dirs.len(),
        plan.links.len(),
        snap.short_id(),
        args.target.display(),
        plan.mode,
        plan.refused.len(),
        plan.overwrites.len(),
        plan.kept.len()
    );
    if refuses {
        println!(
            "a restore would refuse: {} differ from the snapshot; \
             pass --overwrite if-changed, --overwrite never or --force",
            super::count(plan.overwrites.len(), "existing path", "existing paths")
        );
    }
    Ok(())
}

fn progress_bar(ctx: &Ctx) -> ProgressBar {
    use std::io::IsTerminal;
    if ctx.global.quiet || ctx.global.json || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr()).with_style(
        ProgressStyle::with_template(
            "restoring {bar:30} {bytes}/{total_bytes} {decimal_bytes_per_sec} eta {eta}",
        )
        .expect("static template"),
    )
}
