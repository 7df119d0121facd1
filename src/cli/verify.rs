//! `dxbackup verify [--read-data[=PCT]]`

use clap::Args;

use super::{exit_of, print_json, Ctx, Exit};
use crate::job::verify::{verify, VerifyOutcome};
use crate::repo::Level;

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// Also read and hash the data: all of it, or PCT percent of the packs chosen at random
    #[arg(long, value_name = "PCT", num_args = 0..=1, default_missing_value = "100")]
    pub read_data: Option<f64>,
    /// Only this repository [default: all configured]
    #[arg(long)]
    pub repo: Option<String>,
}

pub fn run(ctx: &Ctx, args: &VerifyArgs) -> anyhow::Result<Exit> {
    let outcomes = verify(ctx, args.repo.as_deref(), args.read_data)?;
    if ctx.global.json {
        print_json(&outcomes)?;
    } else {
        outcomes.iter().for_each(print);
    }
    Ok(exit_of(
        outcomes
            .iter()
            .map(VerifyOutcome::level)
            .max()
            .unwrap_or(crate::status::Level::Ok),
    ))
}

pub fn print(o: &VerifyOutcome) {
    let what = match o.read_data_pct {
        None => "structure".to_string(),
        Some(p) if p >= 100.0 => "structure and all data".to_string(),
        Some(p) => format!("structure and {p}% of the data"),
    };
    for f in &o.findings {
        let level = match f.level {
            Level::Error => "error",
            Level::Warning => "warning",
            Level::Info => "note",
        };
        println!("  {level}: {}", f.message);
    }
    let verdict = if o.errors > 0 {
        "DAMAGED"
    } else if o.warnings > 0 {
        "ok with warnings"
    } else {
        "ok"
    };
    println!(
        "{}: verified {what}: {verdict} ({} errors, {} warnings)",
        o.repository, o.errors, o.warnings
    );
}
