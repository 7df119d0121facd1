//! `dxbackup copy [--to NAME]...`: sends the primary's new snapshots to the other
//! repositories.

use clap::Args;

use super::{bytes, count, exit_of, print_json, Ctx, Exit};
use crate::job::copy::{copy, CopyOutcome};
use crate::status::Level;

#[derive(Debug, Args)]
pub struct CopyArgs {
    /// Only this target (repeatable) [default: every repository except the primary]
    #[arg(long, value_name = "NAME")]
    pub to: Vec<String>,
}

pub fn run(ctx: &Ctx, args: &CopyArgs) -> anyhow::Result<Exit> {
    let outcomes = copy(ctx, &args.to)?;
    if ctx.global.json {
        print_json(&outcomes)?;
    } else {
        outcomes.iter().for_each(print);
    }
    Ok(exit_of(
        outcomes
            .iter()
            .map(CopyOutcome::level)
            .max()
            .unwrap_or(Level::Ok),
    ))
}

pub fn print(o: &CopyOutcome) {
    if let Some(e) = &o.error {
        println!("{}: copy FAILED: {e}", o.repository);
        println!("  the next `dxbackup run` or `dxbackup copy` resumes it");
        return;
    }
    println!(
        "{}: copied {} from {}, {} in {:.1} s, {:.1} MB/s; {} already there{}",
        o.repository,
        count(o.copied.len(), "snapshot", "snapshots"),
        o.from,
        bytes(o.bytes),
        o.duration_secs,
        o.mb_per_s,
        o.present,
        if o.not_wanted > 0 {
            format!(", {} left out by its retention", o.not_wanted)
        } else {
            String::new()
        }
    );
}
