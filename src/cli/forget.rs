//! `dxbackup forget [--prune] [--dry-run]`

use clap::Args;
use serde::Serialize;

use super::{print_json, Ctx, Exit};
use crate::repo::{Policy, Repo, RetentionDecision};
use crate::source::mysql::chain::BinlogChains;

#[derive(Debug, Args)]
pub struct ForgetArgs {
    /// Also delete the data only the forgotten snapshots used
    #[arg(long)]
    pub prune: bool,
    /// Print what would be kept and removed, and why; change nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Only this repository [default: all configured]
    #[arg(long)]
    pub repo: Option<String>,
}

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

pub fn run(ctx: &Ctx, args: &ForgetArgs) -> anyhow::Result<Exit> {
    let names: Vec<String> = match &args.repo {
        Some(r) => vec![r.clone()],
        None => ctx.config.repository.keys().cloned().collect(),
    };
    let mut outcomes = Vec::new();
    for name in names {
        let repo = Repo::open(&ctx.spec(&name)?)?;
        outcomes.push(apply_retention(ctx, &repo, args.prune, args.dry_run)?);
    }
    if ctx.global.json {
        print_json(&outcomes)?;
    } else {
        for o in &outcomes {
            print(o, true);
        }
    }
    Ok(Exit::Ok)
}

/// Applies the repository's retention (its own `[repository.X.retention]` or `[retention]`).
pub fn apply_retention(
    ctx: &Ctx,
    repo: &Repo,
    prune: bool,
    dry_run: bool,
) -> anyhow::Result<ForgetOutcome> {
    let rules = ctx.retention_of(&repo.name);
    let policy = Policy {
        rules: &rules,
        dependents: &BinlogChains,
    };
    let now = jiff::Zoned::now();
    let decisions = repo.retention_plan(policy, &now)?;
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

pub fn print(o: &ForgetOutcome, detail: bool) {
    if detail {
        let rows: Vec<Vec<String>> = o
            .decisions
            .iter()
            .map(|d| {
                let s = &d.snapshot;
                vec![
                    if d.keep { "keep" } else { "remove" }.to_string(),
                    s.short_id().to_string(),
                    s.time
                        .to_zoned(jiff::tz::TimeZone::system())
                        .strftime("%Y-%m-%d %H:%M:%S")
                        .to_string(),
                    s.source.clone().unwrap_or_else(|| "-".into()),
                    s.kind.clone().unwrap_or_else(|| "-".into()),
                    d.reasons.join(", "),
                ]
            })
            .collect();
        super::table::print(
            &["fate", "id", "time", "source", "kind", "why"],
            &[false; 6],
            &rows,
        );
    }
    let verb = if o.dry_run { "would remove" } else { "removed" };
    println!(
        "{}: keep {}, {verb} {}{}",
        o.repository,
        o.decisions.len() - o.removed(),
        o.removed(),
        if o.pruned { ", pruned unused data" } else { "" }
    );
}
