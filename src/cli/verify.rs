//! `dxbackup verify [--read-data[=PCT]]`

use clap::Args;
use serde::Serialize;

use super::{print_json, Ctx, Exit};
use std::collections::BTreeSet;

use crate::repo::{Finding, Level, Repo, Snapshot};
use crate::source::mysql::chain::{self, describe};

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// Also read and hash the data: all of it, or PCT percent of the packs chosen at random
    #[arg(long, value_name = "PCT", num_args = 0..=1, default_missing_value = "100")]
    pub read_data: Option<f64>,
    /// Only this repository [default: all configured]
    #[arg(long)]
    pub repo: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct VerifyOutcome {
    pub repository: String,
    pub read_data_pct: Option<f64>,
    pub errors: usize,
    pub warnings: usize,
    pub findings: Vec<Finding>,
}

impl VerifyOutcome {
    pub fn exit(&self) -> Exit {
        if self.errors > 0 {
            Exit::Error
        } else if self.warnings > 0 {
            Exit::Warning
        } else {
            Exit::Ok
        }
    }
}

pub fn run(ctx: &Ctx, args: &VerifyArgs) -> anyhow::Result<Exit> {
    if let Some(p) = args.read_data {
        anyhow::ensure!(
            p > 0.0 && p <= 100.0,
            "--read-data takes a percentage in (0, 100], got {p}"
        );
    }
    let names: Vec<String> = match &args.repo {
        Some(r) => vec![r.clone()],
        None => ctx.config.repository.keys().cloned().collect(),
    };
    let catalog = ctx.catalog()?;
    let mut outcomes = Vec::new();
    for name in names {
        let repo = Repo::open(&ctx.spec(&name)?)?;
        let o = verify_repo(&repo, args.read_data)?;
        let texts: Vec<String> = o.findings.iter().map(|f| f.message.clone()).collect();
        catalog.record_verification(None, &name, o.read_data_pct, o.errors, o.warnings, &texts)?;
        outcomes.push(o);
    }
    if ctx.global.json {
        print_json(&outcomes)?;
    } else {
        for o in &outcomes {
            print(o);
        }
    }
    Ok(outcomes
        .iter()
        .map(VerifyOutcome::exit)
        .max()
        .unwrap_or(Exit::Ok))
}

/// Checks one repository; `pct` = Some(100) reads everything.
pub fn verify_repo(repo: &Repo, pct: Option<f64>) -> anyhow::Result<VerifyOutcome> {
    let read = pct.map(|p| (p < 100.0).then_some(p));
    let mut findings = repo.check(read)?;
    findings.extend(chain_findings(&repo.snapshots()?));
    Ok(VerifyOutcome {
        repository: repo.name.clone(),
        read_data_pct: pct,
        errors: findings.iter().filter(|f| f.level == Level::Error).count(),
        warnings: findings
            .iter()
            .filter(|f| f.level == Level::Warning)
            .count(),
        findings,
    })
}

/// Every hole in the binlog chains of the mysql sources this repository holds: data a
/// point-in-time restore needs that is not there (forgotten, or never stored).
pub fn chain_findings(snaps: &[Snapshot]) -> Vec<Finding> {
    let sources: BTreeSet<&str> = snaps
        .iter()
        .filter(|s| s.kind.as_deref() == Some(describe::FULL_KIND))
        .filter_map(|s| s.source.as_deref())
        .collect();
    sources
        .into_iter()
        .flat_map(|source| {
            let h = chain::health(
                &describe::fulls(snaps, source),
                &describe::coverage(snaps, source),
            );
            h.holes.into_iter().map(move |hole| Finding {
                level: Level::Error,
                message: format!("source `{source}`: the binlog chain is broken: {hole}"),
            })
        })
        .collect()
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
