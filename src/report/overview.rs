//! The overview: is every source inside its RPO right now, when was each last proven
//! restorable and how fast, which copies exist; the repositories with their free space and
//! days until full; the daemon's heartbeat, the next jobs, the monitor's open findings. Read
//! from the catalog and the last observation only.

use serde::Serialize;

use super::observe::{self, ObservedRepo};
use super::sources::{self, SourceRow};
use super::trend;
use crate::catalog::{Catalog, OpenFinding, RunStatus};
use crate::job::status::{daemon_state, level_of, DaemonState};
use crate::job::Site;
use crate::schedule;
use crate::status::Level;
use crate::targets::{self, RepoState};

#[derive(Debug, Serialize)]
pub struct Overview {
    pub host: String,
    pub generated_at: jiff::Timestamp,
    /// When the repositories were last looked at (`None`: never yet).
    pub observed_at: Option<jiff::Timestamp>,
    /// The worst of everything below (0 ok, 1 warning, 2 critical), as `status` would exit.
    pub level: Level,
    pub sources: Vec<SourceRow>,
    pub repositories: Vec<RepoRow>,
    #[serde(rename = "rule_3_2_1")]
    pub rule: targets::Verdict,
    pub daemon: DaemonState,
    pub next_jobs: Vec<NextJob>,
    /// The monitor's open findings, each since when.
    pub findings: Vec<OpenFinding>,
}

#[derive(Debug, Serialize)]
pub struct RepoRow {
    #[serde(flatten)]
    pub state: RepoState,
    pub observed_at: Option<jiff::Timestamp>,
    pub used_pct: Option<f64>,
    /// At the pace its disk filled over the last 30 days; `None`: not filling, or unknown.
    pub days_until_full: Option<f64>,
    pub last_verification: Option<LastVerification>,
}

#[derive(Debug, Serialize)]
pub struct LastVerification {
    pub at: jiff::Timestamp,
    pub errors: u64,
}

#[derive(Debug, Serialize)]
pub struct NextJob {
    pub schedule: String,
    pub job: &'static str,
    pub cron: String,
    pub next: Option<jiff::Timestamp>,
    pub last_status: Option<RunStatus>,
    pub last_at: Option<jiff::Timestamp>,
}

pub fn build(site: &Site, catalog: &Catalog, now: jiff::Timestamp) -> anyhow::Result<Overview> {
    let observed = observe::sources(site, catalog)?;
    let sources = sources::rows(site, catalog, &observed, now)?;
    let repos = observe::repositories(site, catalog)?;
    let states: Vec<RepoState> = repos
        .iter()
        .map(|(n, o)| observe::repo_state(site, catalog, n, o.as_ref()))
        .collect::<anyhow::Result<_>>()?;
    let rpo = site
        .config
        .source
        .values()
        .map(|s| sources::tier_of(site, s).rpo.0)
        .min();
    let rule = targets::evaluate(&states, rpo, now);
    let repositories = states
        .into_iter()
        .zip(&repos)
        .map(|(state, (_, o))| repo_row(catalog, state, o.as_ref(), now))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let daemon = daemon_state(catalog, now);
    let level = sources
        .iter()
        .map(|s| s.status.level)
        .fold(level_of(rule.severity), Level::max)
        .max(daemon.level);
    Ok(Overview {
        host: site.host(),
        generated_at: now,
        observed_at: observe::observed_at(catalog),
        level,
        sources,
        repositories,
        rule,
        daemon,
        next_jobs: next_jobs(site, catalog, now)?,
        findings: catalog.open_findings()?,
    })
}

fn repo_row(
    catalog: &Catalog,
    state: RepoState,
    o: Option<&ObservedRepo>,
    now: jiff::Timestamp,
) -> anyhow::Result<RepoRow> {
    let month = jiff::Timestamp::from_second(now.as_second() - 30 * 86400).unwrap_or_default();
    let samples: Vec<(i64, u64, u64)> = catalog
        .repo_samples(&state.name, month)?
        .iter()
        .filter_map(|s| Some((s.at.as_second(), s.total?.saturating_sub(s.free?), s.free?)))
        .collect();
    let last_verification = catalog
        .verifications_since(Some(&state.name), jiff::Timestamp::UNIX_EPOCH, 1)?
        .into_iter()
        .next()
        .map(|v| LastVerification {
            at: v.at,
            errors: v.errors,
        });
    Ok(RepoRow {
        observed_at: o.map(|o| o.at),
        used_pct: state.space.map(|s| s.used_pct()),
        days_until_full: trend::days_until_full(&samples),
        last_verification,
        state,
    })
}

/// Every schedule with its next slot and its last attempt, soonest first.
fn next_jobs(site: &Site, catalog: &Catalog, now: jiff::Timestamp) -> anyhow::Result<Vec<NextJob>> {
    let zoned = now.to_zoned(jiff::tz::TimeZone::system());
    let mut out = Vec::new();
    for s in schedule::effective(&site.config)? {
        let last = catalog.schedule_runs(Some(&s.name), 1)?.into_iter().next();
        out.push(NextJob {
            next: schedule::next_after(&s, &zoned).ok().map(|z| z.timestamp()),
            job: s.job.as_str(),
            cron: s.cron.to_string(),
            last_status: last.as_ref().map(|l| l.status),
            last_at: last.map(|l| l.started_at),
            schedule: s.name,
        });
    }
    out.sort_by_key(|j| j.next);
    Ok(out)
}
