//! Verification: each repository's structure (and, with `read_data`, its data) checked, and
//! the binlog chains of its mysql sources walked for holes; every result recorded.

use std::collections::BTreeSet;

use serde::Serialize;

use super::Site;
use crate::catalog::Catalog;
use crate::repo::{Finding, Level as FindingLevel, Repo, Snapshot};
use crate::source::mysql::chain::{self, describe};
use crate::status::Level;

#[derive(Debug, Serialize)]
pub struct VerifyOutcome {
    pub repository: String,
    pub read_data_pct: Option<f64>,
    pub errors: usize,
    pub warnings: usize,
    pub findings: Vec<Finding>,
}

impl VerifyOutcome {
    /// Damage is critical, warnings are warnings.
    pub fn level(&self) -> Level {
        if self.errors > 0 {
            Level::Critical
        } else if self.warnings > 0 {
            Level::Warning
        } else {
            Level::Ok
        }
    }
}

/// Verifies the named repository, or every configured one; `pct` = Some(100) reads all data.
pub fn verify(
    site: &Site,
    repo: Option<&str>,
    pct: Option<f64>,
) -> anyhow::Result<Vec<VerifyOutcome>> {
    if let Some(p) = pct {
        anyhow::ensure!(
            p > 0.0 && p <= 100.0,
            "--read-data takes a percentage in (0, 100], got {p}"
        );
    }
    let names: Vec<String> = match repo {
        Some(r) => vec![r.to_string()],
        None => site.config.repository.keys().cloned().collect(),
    };
    let catalog = site.catalog()?;
    let mut outcomes = Vec::new();
    for name in names {
        let repo = site.open(&name)?;
        let o = verify_repo(&repo, pct)?;
        record(&catalog, &o)?;
        outcomes.push(o);
    }
    Ok(outcomes)
}

/// Records a verification in the catalog.
pub fn record(catalog: &Catalog, o: &VerifyOutcome) -> anyhow::Result<()> {
    let texts: Vec<String> = o.findings.iter().map(|f| f.message.clone()).collect();
    catalog.record_verification(
        None,
        &o.repository,
        o.read_data_pct,
        o.errors,
        o.warnings,
        &texts,
    )?;
    Ok(())
}

/// Checks one repository; `pct` = Some(100) reads everything.
pub fn verify_repo(repo: &Repo, pct: Option<f64>) -> anyhow::Result<VerifyOutcome> {
    let read = pct.map(|p| (p < 100.0).then_some(p));
    let mut findings = repo.check(read)?;
    findings.extend(chain_findings(&repo.snapshots()?));
    Ok(VerifyOutcome {
        repository: repo.name.clone(),
        read_data_pct: pct,
        errors: findings
            .iter()
            .filter(|f| f.level == FindingLevel::Error)
            .count(),
        warnings: findings
            .iter()
            .filter(|f| f.level == FindingLevel::Warning)
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
                level: FindingLevel::Error,
                message: format!("source `{source}`: the binlog chain is broken: {hole}"),
            })
        })
        .collect()
}
