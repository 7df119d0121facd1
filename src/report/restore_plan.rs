//! "Restore to a time", planned from the catalog: the chain `restore-db` would play (proven
//! by the same planner, or refused with the latest exact time), its bytes, the time past
//! drills suggest it takes, and the exact command to run. Only the plan: restoring stays a
//! command-line action, run by someone who has decided to.

use serde::Serialize;

use crate::catalog::Catalog;
use crate::config::SourceKind;
use crate::job::restore_db::parse_until;
use crate::job::{dbarchive, Site};
use crate::source::mysql::replay::{self, Chain};

#[derive(Debug, Serialize)]
pub struct RestorePlan {
    pub source: String,
    /// The target as asked (local time, `YYYY-MM-DD HH:MM:SS`), or empty: the latest.
    pub until: String,
    pub into: String,
    pub chain: Option<Chain>,
    /// Why there is no chain: what is missing, and the latest time that can be restored.
    pub refused: Option<String>,
    pub full_bytes: Option<u64>,
    pub binlog_bytes: u64,
    /// From the speed of past successful drills of this source.
    pub estimate_secs: Option<f64>,
    pub estimate_basis: String,
    pub command: String,
}

pub fn plan(
    site: &Site,
    catalog: &Catalog,
    source: &str,
    until: &str,
    into: Option<&str>,
) -> anyhow::Result<RestorePlan> {
    let (name, src) = site.source(source)?;
    anyhow::ensure!(
        src.kind == SourceKind::Mysql,
        "source `{name}` is a files source; restore it with 'dxbackup restore latest:{name} --target DIR'"
    );
    let into = match into.filter(|i| !i.is_empty()) {
        Some(i) => {
            replay::check_database_name(i)?;
            i.to_string()
        }
        None => default_into(name),
    };
    let target = parse_until((!until.trim().is_empty()).then_some(until), None, None)?;
    let snaps = catalog.observed_snapshots(site.primary().0, Some(name), &[])?;
    let planned = replay::plan(
        &dbarchive::fulls(&snaps, name),
        &dbarchive::coverage(&snaps, name),
        &target,
    );
    let (chain, refused) = match planned {
        Ok(c) => (Some(c), None),
        Err(e) => (None, Some(e.to_string())),
    };
    let full_bytes = chain
        .as_ref()
        .and_then(|c| full_size(&snaps, &c.full.snapshot));
    let binlog_bytes = chain
        .as_ref()
        .map_or(0, |c| c.binlogs.iter().map(|b| b.size).sum());
    let (estimate_secs, estimate_basis) = match &chain {
        Some(_) => estimate(
            catalog,
            &snaps,
            name,
            full_bytes.unwrap_or(0) + binlog_bytes,
        )?,
        None => (None, String::new()),
    };
    Ok(RestorePlan {
        command: command(site, name, &into, until.trim()),
        source: name.to_string(),
        until: until.trim().to_string(),
        into,
        chain,
        refused,
        full_bytes,
        binlog_bytes,
        estimate_secs,
        estimate_basis,
    })
}

fn full_size(snaps: &[crate::repo::Snapshot], id: &str) -> Option<u64> {
    snaps
        .iter()
        .find(|s| s.id == id)
        .and_then(|s| s.summary.as_ref())
        .map(|m| m.bytes_processed)
}

/// Bytes per second of the last successful drills (each restored a full whose size the
/// observation knows), applied to `bytes`; else their median time as it is.
fn estimate(
    catalog: &Catalog,
    snaps: &[crate::repo::Snapshot],
    name: &str,
    bytes: u64,
) -> anyhow::Result<(Option<f64>, String)> {
    let drills: Vec<_> = catalog
        .drills_since(Some(name), jiff::Timestamp::UNIX_EPOCH, 10)?
        .into_iter()
        .map(|(_, d)| d)
        .filter(|d| d.ok && d.rto_ms > 0)
        .collect();
    if drills.is_empty() {
        return Ok((
            None,
            "no successful drill yet: run 'dxbackup drill' to measure it".into(),
        ));
    }
    let mut rates: Vec<f64> = drills
        .iter()
        .filter_map(|d| {
            let size = full_size(snaps, d.snapshot_id.as_deref()?)?;
            Some(size as f64 / (d.rto_ms as f64 / 1000.0))
        })
        .filter(|r| *r > 0.0)
        .collect();
    rates.sort_by(f64::total_cmp);
    if let Some(rate) = rates.get(rates.len() / 2).filter(|_| bytes > 0) {
        return Ok((
            Some(bytes as f64 / rate),
            format!(
                "at {:.1} MB/s, the median speed of the last {}",
                rate / 1e6,
                crate::job::count(rates.len(), "drill", "drills")
            ),
        ));
    }
    let mut secs: Vec<f64> = drills.iter().map(|d| d.rto_ms as f64 / 1000.0).collect();
    secs.sort_by(f64::total_cmp);
    Ok((
        Some(secs[secs.len() / 2]),
        format!(
            "the median time of the last {}",
            crate::job::count(secs.len(), "drill", "drills")
        ),
    ))
}

/// `SOURCE_restored`, with what `--into` refuses replaced.
pub fn default_into(source: &str) -> String {
    let clean: String = source
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '_' | '$' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("{clean}_restored")
}

/// The command line to run, quoted for a POSIX shell.
fn command(site: &Site, name: &str, into: &str, until: &str) -> String {
    let mut parts = vec![
        "dxbackup".to_string(),
        "-c".into(),
        quote(&site.config.path.to_string_lossy()),
        "restore-db".into(),
        quote(name),
        "--into".into(),
        quote(into),
    ];
    if !until.is_empty() {
        parts.push("--until".into());
        parts.push(format!("\"{until}\""));
    }
    parts.join(" ")
}

fn quote(s: &str) -> String {
    let safe = |c: char| c.is_ascii_alphanumeric() || "/._-+=:,@".contains(c);
    if !s.is_empty() && s.chars().all(safe) {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_quoting() {
        assert_eq!(default_into("shop.db"), "shop_db_restored");
        assert_eq!(
            quote("/etc/dxbackup/dxbackup.toml"),
            "/etc/dxbackup/dxbackup.toml"
        );
        assert_eq!(quote("/tmp/my dir/x"), "'/tmp/my dir/x'");
        assert_eq!(quote("it's"), "'it'\\''s'");
    }
}
