//! The monitor: one pure evaluator behind `status`, `monitor`, the daemon's `monitor` job, the
//! alerts and the metrics. Facts (gathered by `job::monitor` from the catalog and the
//! repositories) and `now` in, findings out, each with a stable key (`freshness:shop`,
//! `space:local`), a severity and a sentence that says what to do.
//!
//! The checks of one source and of the repositories are `crate::status` and `crate::targets`
//! (what `status` always showed); this adds what the seed's monitor script checked
//! (`checks`), the performance rules and trend anomalies (`anomaly`), and keeps it all under
//! one key per subject (`merge`). Whom to tell is `state`.

pub mod anomaly;
mod checks;
pub mod state;

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::Serialize;

use crate::catalog::{RunRecord, ScheduleRun};
use crate::config::{MonitorConfig, StatsConfig};
use crate::schedule::Expectation;
use crate::status::{Level, Verdict};
use crate::targets::{self, Space};

/// One thing wrong, as told to people and machines.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    /// `CHECK:SUBJECT`, stable across runs: what alerts are de-duplicated by.
    pub key: String,
    pub severity: Level,
    /// The source, repository, schedule or rule concerned.
    pub subject: String,
    /// What is wrong and what to do, in one or a few sentences.
    pub message: String,
    /// Since when it has been open (from the catalog; `None` until first recorded).
    pub since: Option<Timestamp>,
}

impl Finding {
    pub fn new(check: &str, subject: &str, severity: Level, message: impl Into<String>) -> Self {
        Self {
            key: format!("{check}:{subject}"),
            severity,
            subject: subject.to_string(),
            message: message.into(),
            since: None,
        }
    }

    /// The check part of the key: `freshness` of `freshness:shop`.
    pub fn check(&self) -> &str {
        self.key.split(':').next().unwrap_or_default()
    }
}

/// The thresholds of every check.
#[derive(Debug, Clone, Default)]
pub struct Rules {
    pub monitor: MonitorConfig,
    pub stats: StatsConfig,
}

/// What is known of one source.
#[derive(Debug, Clone)]
pub struct SourceFacts {
    /// Its RPO/RTO verdict (`crate::status::evaluate`).
    pub verdict: Verdict,
    /// When its schedules expect a backup; `None` when no schedule backs it up.
    pub expected: Option<Expectation>,
    /// Its backup runs, newest last.
    pub runs: Vec<RunRecord>,
}

/// What is known of one repository beyond `status`'s state.
#[derive(Debug, Clone, Default)]
pub struct RepoFacts {
    pub name: String,
    pub space: Option<Space>,
    /// (time, used bytes) of the last 30 days, oldest first: the growth trend.
    pub used: Vec<(Timestamp, u64)>,
    /// The newest verification: time, errors, its findings (damaged packs named there).
    pub verify: Option<(Timestamp, u64, Vec<String>)>,
}

/// Everything the evaluator looks at.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    pub host: String,
    pub sources: Vec<SourceFacts>,
    pub repositories: Vec<RepoFacts>,
    /// The repositories and the 3-2-1 rule, as `crate::targets` judged them.
    pub targets: Option<targets::Verdict>,
    /// The newest attempt of each schedule.
    pub schedules: Vec<ScheduleRun>,
    /// The daemon's state when it ran here and is now silent: (level, what to do).
    pub daemon: Option<(Level, String)>,
}

/// The findings, worst first, and the level they add up to (Nagios: 0 ok, 1, 2).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Evaluation {
    pub level: Level,
    pub findings: Vec<Finding>,
}

/// Every check over `facts` at `now`.
pub fn evaluate(facts: &Facts, rules: &Rules, now: Timestamp) -> Evaluation {
    let mut found = Vec::new();
    for s in &facts.sources {
        let name = &s.verdict.facts.source;
        for (check, level, note) in &s.verdict.checks {
            found.push(Finding::new(check, name, *level, note.clone()));
        }
        found.extend(checks::schedule_lateness(s, &rules.monitor, now));
        found.extend(checks::last_backup_failed(s));
        found.extend(checks::performance(s, &rules.stats));
        found.extend(anomaly::check(s, &rules.monitor));
    }
    if let Some(t) = &facts.targets {
        // Space is judged below with the configured thresholds and the trend.
        let copies = t.findings.iter().filter(|f| !f.key.starts_with("space:"));
        found.extend(copies.map(|f| Finding {
            key: f.key.clone(),
            severity: crate::job::status::level_of(f.severity),
            subject: f.subject.clone(),
            message: f.message.clone(),
            since: None,
        }));
    }
    for r in &facts.repositories {
        found.extend(checks::integrity(r, &rules.monitor, now));
        found.extend(checks::space(r, &rules.monitor));
    }
    found.extend(facts.schedules.iter().filter_map(checks::schedule_run));
    if let Some((level, note)) = &facts.daemon {
        found.push(Finding::new("daemon", &facts.host, *level, note.clone()));
    }
    let findings = merge(found);
    Evaluation {
        level: findings
            .iter()
            .map(|f| f.severity)
            .max()
            .unwrap_or(Level::Ok),
        findings,
    }
}

/// One finding per key: the worst severity, the sentences joined (a drill both slow and
/// stale says both). Worst first, then by key, so the order is stable.
fn merge(found: Vec<Finding>) -> Vec<Finding> {
    let mut by_key: BTreeMap<String, Finding> = BTreeMap::new();
    for f in found {
        match by_key.get_mut(&f.key) {
            Some(g) => {
                g.severity = g.severity.max(f.severity);
                if !g.message.contains(&f.message) {
                    g.message = format!("{}; {}", g.message, f.message);
                }
            }
            None => {
                by_key.insert(f.key.clone(), f);
            }
        }
    }
    let mut out: Vec<Finding> = by_key
        .into_values()
        .filter(|f| f.severity > Level::Ok)
        .collect();
    out.sort_by(|a, b| b.severity.cmp(&a.severity).then(a.key.cmp(&b.key)));
    out
}

/// The Nagios exit code of a level: 0 ok, 1 warning, 2 critical.
pub fn nagios_code(level: Level) -> i32 {
    match level {
        Level::Ok => 0,
        Level::Warning => 1,
        Level::Critical => 2,
    }
}

#[cfg(test)]
mod tests;
