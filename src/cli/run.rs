//! `dxbackup run`: the main job.

use clap::Args;

use super::backup::ModeArg;
use super::{exit_of, print_json, Ctx, Exit};
use crate::job::run::{run as run_job, RunOptions, RunSummary};

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Skip retention this time
    #[arg(long)]
    pub no_forget: bool,
    /// Only these sources [default: all]
    #[arg(long = "source", value_name = "NAME")]
    pub sources: Vec<String>,
    /// How much the backups do (see `backup --help`)
    #[arg(long, value_enum, default_value_t = ModeArg::Normal)]
    pub mode: ModeArg,
}

pub fn run(ctx: &Ctx, args: &RunArgs) -> anyhow::Result<Exit> {
    let summary = run_job(
        ctx,
        &RunOptions {
            no_forget: args.no_forget,
            sources: args.sources.clone(),
            backup: args.mode.options(ctx),
        },
    )?;
    if ctx.global.json {
        print_json(&summary)?;
    } else {
        print(&summary);
    }
    Ok(exit_of(summary.level))
}

fn print(s: &RunSummary) {
    for r in &s.initialized {
        println!("{r}: initialized");
    }
    s.backups.iter().for_each(super::backup::print);
    if let Some(r) = &s.retention {
        super::forget::print(r, false);
    }
    if let Some(v) = &s.verify {
        super::verify::print(v);
    }
    s.copies.iter().for_each(super::copy::print);
    for r in &s.target_retention {
        super::forget::print(r, false);
    }
    for d in s.alerts.iter().flat_map(|a| &a.deliveries) {
        match &d.error {
            None => println!("alerted {}", d.channel),
            Some(e) => println!(
                "alert to {} FAILED (the run is not affected): {e}",
                d.channel
            ),
        }
    }
    println!(
        "run {}: {:.1} s",
        format!("{:?}", s.status).to_lowercase(),
        s.duration_secs
    );
}
