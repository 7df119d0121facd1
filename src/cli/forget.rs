//! `dxbackup forget [--prune] [--dry-run]`

use clap::Args;

use super::{print_json, Ctx, Exit};
use crate::job::forget::{forget, ForgetOutcome};
use crate::job::housekeep::HousekeepReport;

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
    print_housekeeping(&o.housekeeping);
    let verb = if o.dry_run { "would remove" } else { "removed" };
    println!(
        "{}: keep {}, {verb} {}{}",
        o.repository,
        o.decisions.len() - o.removed(),
        o.removed(),
        if o.pruned { ", pruned unused data" } else { "" }
    );
}

/// One line per closed binlog file merged (or to merge), and what went wrong.
fn print_housekeeping(h: &HousekeepReport) {
    for m in &h.merged {
        println!(
            "merged {} of `{}` ({}, {} parts) into snapshot {}, {} added",
            m.file,
            m.source,
            crate::units::bytes(m.size),
            m.parts,
            &m.snapshot[..8.min(m.snapshot.len())],
            crate::units::bytes(m.added_bytes)
        );
    }
    for f in &h.would_merge {
        println!("would merge binlog {f} into one snapshot");
    }
    for p in h.problems.iter().chain(&h.overlapping) {
        eprintln!("warning: binlog housekeeping: {p}");
    }
}
