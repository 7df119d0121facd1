//! One row per source, as the overview and the report show it: the `status` verdict (exposure
//! against the tier's RPO, last drill against its RTO) computed from the catalog and the
//! last observation, the newest run, and which repositories hold a copy of it, how old.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;

use super::observe::{ObservedHole, ObservedSource};
use crate::catalog::{Catalog, HeldBy, RunRecord};
use crate::config::{Medium, SourceConfig, SourceKind, TierConfig};
use crate::job::Site;
use crate::status::{evaluate, Drill, Facts, Verdict};

/// The RPO bar: green, amber from 80 % of the RPO, red past it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Bar {
    Ok,
    Amber,
    Red,
}

impl Bar {
    pub fn of(rpo_used: Option<f64>) -> Self {
        match rpo_used {
            None => Self::Red,
            Some(u) if u > 1.0 => Self::Red,
            Some(u) if u >= 0.8 => Self::Amber,
            Some(_) => Self::Ok,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Amber => "amber",
            Self::Red => "red",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct SourceRow {
    pub name: String,
    pub kind: &'static str,
    pub tier: String,
    pub rpo_secs: u64,
    pub rto_secs: u64,
    /// What `status` says: exposure, level, notes, last backup and drill.
    pub status: Verdict,
    /// The exposure as a share of the RPO (1.0: at the RPO); `None` without any backup.
    pub rpo_used: Option<f64>,
    pub bar: Bar,
    pub last_run: Option<RunBrief>,
    pub last_drill: Option<DrillBrief>,
    /// The repositories holding a backup of it (3-2-1 per source), freshest first.
    pub copies: Vec<SourceCopy>,
    /// mysql: the restorable window (unix seconds) and the holes in it.
    pub window: Option<(i64, i64)>,
    pub holes: Vec<ObservedHole>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RunBrief {
    pub id: i64,
    pub at: jiff::Timestamp,
    pub status: crate::catalog::RunStatus,
    pub mode: Option<String>,
    pub duration_secs: Option<f64>,
    pub error: Option<String>,
}

impl From<&RunRecord> for RunBrief {
    fn from(r: &RunRecord) -> Self {
        Self {
            id: r.id,
            at: r.started_at,
            status: r.status,
            mode: r.mode.clone(),
            duration_secs: r.duration().map(|d| d.as_secs_f64()),
            error: r.error.clone(),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct DrillBrief {
    pub at: jiff::Timestamp,
    pub ok: bool,
    pub rto_secs: f64,
    /// Restored within the tier's RTO.
    pub within_rto: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct SourceCopy {
    pub repository: String,
    pub medium: Medium,
    pub offsite: bool,
    pub snapshots: u64,
    pub newest: jiff::Timestamp,
    pub age_secs: u64,
}

/// The tier of a source (an unknown one falls back to `important`, as `status` does).
pub fn tier_of(site: &Site, src: &SourceConfig) -> TierConfig {
    site.config
        .tier
        .get(&src.tier)
        .cloned()
        .unwrap_or_else(|| crate::config::default_tiers()["important"].clone())
}

/// Every configured source's row, in config order.
pub fn rows(
    site: &Site,
    catalog: &Catalog,
    observed: &BTreeMap<String, ObservedSource>,
    now: jiff::Timestamp,
) -> anyhow::Result<Vec<SourceRow>> {
    let held = catalog.observed_holdings(&["files", "mysql-full"])?;
    site.config
        .source
        .iter()
        .map(|(name, src)| row(site, catalog, name, src, observed.get(name), &held, now))
        .collect()
}

pub fn row(
    site: &Site,
    catalog: &Catalog,
    name: &str,
    src: &SourceConfig,
    observed: Option<&ObservedSource>,
    held: &[HeldBy],
    now: jiff::Timestamp,
) -> anyhow::Result<SourceRow> {
    let tier = tier_of(site, src);
    let o = observed.cloned().unwrap_or_default();
    let last_drill = catalog.last_drill(name)?;
    let status = evaluate(
        facts(catalog, name, src, &o, last_drill.as_ref())?,
        &tier,
        now,
    );
    let rpo_used = status
        .exposure_secs
        .map(|e| e as f64 / tier.rpo.0.as_secs_f64().max(1.0));
    let mut copies: Vec<SourceCopy> = held
        .iter()
        .filter(|h| h.source == name)
        .filter_map(|h| {
            let cfg = site.config.repository.get(&h.repository)?;
            Some(SourceCopy {
                repository: h.repository.clone(),
                medium: cfg.medium,
                offsite: cfg.offsite,
                snapshots: h.snapshots,
                newest: h.newest,
                age_secs: now.duration_since(h.newest).as_secs().max(0) as u64,
            })
        })
        .collect();
    copies.sort_by_key(|c| c.age_secs);
    Ok(SourceRow {
        name: name.to_string(),
        kind: kind_name(src.kind),
        tier: src.tier.clone(),
        rpo_secs: tier.rpo.0.as_secs(),
        rto_secs: tier.rto.0.as_secs(),
        rpo_used,
        bar: Bar::of(rpo_used),
        last_run: catalog
            .last_source_run(name, "backup", false)?
            .as_ref()
            .map(RunBrief::from),
        last_drill: last_drill.map(|d| DrillBrief {
            at: d.at,
            ok: d.ok,
            rto_secs: d.rto_ms as f64 / 1000.0,
            within_rto: d.ok && Duration::from_millis(d.rto_ms) <= tier.rto.0,
        }),
        copies,
        window: o.window,
        holes: o.holes,
        status,
    })
}

/// The facts `status` judges, from the observation and the catalog: the archiver's
/// heartbeat and the drills are live, the snapshots as last observed.
fn facts(
    catalog: &Catalog,
    name: &str,
    src: &SourceConfig,
    o: &ObservedSource,
    drill: Option<&crate::catalog::DrillRecord>,
) -> anyhow::Result<Facts> {
    let heartbeat = match src.kind {
        SourceKind::Files => None,
        SourceKind::Mysql => catalog
            .meta(&format!("binlog-current:{name}"))?
            .and_then(|t| t.parse::<jiff::Timestamp>().ok()),
    };
    // As `status`: an archiver is expected with `binlog = true`, or unset once one reported.
    let expected = src.kind == SourceKind::Mysql && src.binlog.unwrap_or(heartbeat.is_some());
    let ts = |t: i64| jiff::Timestamp::from_second(t).ok();
    Ok(Facts {
        source: name.to_string(),
        kind: kind_name(src.kind).into(),
        tier: src.tier.clone(),
        last_backup: o.last_backup,
        archive_current: heartbeat,
        last_binlog_event: o.window.and_then(|w| ts(w.1)),
        window: o.window.and_then(|(a, b)| Some((ts(a)?, ts(b)?))),
        holes: o.holes.iter().map(|h| h.text.clone()).collect(),
        binlog_flush: expected.then(|| src.binlog_flush()),
        last_drill: drill.map(|d| Drill {
            at: d.at,
            ok: d.ok,
            rto: Duration::from_millis(d.rto_ms),
        }),
    })
}

pub fn kind_name(k: SourceKind) -> &'static str {
    match k {
        SourceKind::Files => "files",
        SourceKind::Mysql => "mysql",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bar_turns_amber_at_80_percent_and_red_past_the_target() {
        let bars: Vec<Bar> = [Some(0.5), Some(0.8), Some(1.0), Some(1.01), None]
            .into_iter()
            .map(Bar::of)
            .collect();
        assert_eq!(bars, [Bar::Ok, Bar::Amber, Bar::Amber, Bar::Red, Bar::Red]);
    }
}
