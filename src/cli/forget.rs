//! `dxbackup forget [--prune] [--dry-run]`

use clap::Args;

use super::{print_json, Ctx, Exit};
use crate::job::forget::{forget, ForgetOutcome};

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

pub fn run(ctx: &Ctx, args: &ForgetArgs) -> anyhow::Result<Exit> {
    let outcomes = forget(ctx, args.repo.as_deref(), args.prune, args.dry_run)?;
    if ctx.global.json {
        print_json(&outcomes)?;
    } else {
        for o in &outcomes {
            print(o, true);
        }
    }
    Ok(Exit::Ok)
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
