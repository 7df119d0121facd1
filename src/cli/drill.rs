//! `dxbackup drill [SOURCE...]`: prove each backup restores, and measure how long it takes.

use clap::Args;

use super::{print_json, Ctx, Exit};
use crate::job::drill::drill;

#[derive(Debug, Args)]
pub struct DrillArgs {
    /// Sources to drill [default: all]
    pub sources: Vec<String>,
}

pub fn run(ctx: &Ctx, args: &DrillArgs) -> anyhow::Result<Exit> {
    let outcomes = drill(ctx, &args.sources)?;
    if ctx.global.json {
        print_json(&outcomes)?;
    } else {
        for o in &outcomes {
            for d in &o.detail {
                println!("  {d}");
            }
            let tier = ctx
                .config
                .source
                .get(&o.source)
                .map(|s| s.tier.clone())
                .unwrap_or_default();
            let target = ctx
                .config
                .tier
                .get(&tier)
                .map(|t| t.rto.to_string())
                .unwrap_or_default();
            println!(
                "{}: drill {} in {:.1} s (RTO target {target}, tier {tier})",
                o.source,
                if o.ok { "passed" } else { "FAILED" },
                o.rto_secs
            );
        }
    }
    Ok(if outcomes.iter().all(|o| o.ok) {
        Exit::Ok
    } else {
        Exit::Error
    })
}
