//! `[schedule.NAME]` and `[load]`: what the daemon runs when, and how the load average picks
//! the mode of a backup (the seed's "smart scheduler": normal, light, minimal).
//!
//! Only the model and its rules live here; evaluating a schedule against a clock is
//! `crate::schedule`, which parses the cron expression the same way `check` does below.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize};

use super::{suggest, validate::check_name, Config, HumanDuration, Problem};
use crate::schedule::CronExpr;

/// One `[schedule.NAME]`: a job, when it runs, and on what.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ScheduleConfig {
    /// 5 fields, or 6 with seconds first; evaluated in the machine's local time.
    pub cron: String,
    pub job: JobKind,
    /// Jobs that take sources (`run`, `backup`, `drill`): these only; default every source.
    pub sources: Option<Vec<String>>,
    /// `run` and `backup`: how the load picks what is backed up; default `auto`.
    pub mode: Option<ModeSetting>,
    /// `verify`: the share of packs read and hashed; default none (structure only).
    pub read_data: Option<Percent>,
    /// A job running longer is cancelled safely and reported; default no limit.
    pub timeout: Option<HumanDuration>,
}

impl ScheduleConfig {
    pub fn mode(&self) -> ModeSetting {
        self.mode.unwrap_or_default()
    }
}

/// What a schedule runs: the command of the same name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum JobKind {
    /// Back up, apply retention, verify, copy to the targets.
    Run,
    Backup,
    Copy,
    Verify,
    /// Restore into a sandbox and compare: the measured RTO.
    Drill,
    /// Apply retention, then prune (the seed's weekly clean-up).
    Forget,
    /// Freshness, integrity and space checks, with alerts.
    Monitor,
    Report,
}

impl JobKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Run => "run",
            Self::Backup => "backup",
            Self::Copy => "copy",
            Self::Verify => "verify",
            Self::Drill => "drill",
            Self::Forget => "forget",
            Self::Monitor => "monitor",
            Self::Report => "report",
        }
    }

    /// Whether `sources` means anything for it.
    pub fn takes_sources(self) -> bool {
        matches!(self, Self::Run | Self::Backup | Self::Drill)
    }

    /// Whether it makes snapshots of its sources: what freshness is judged by, and what the
    /// load-aware `mode` shapes.
    pub fn backs_up(self) -> bool {
        matches!(self, Self::Run | Self::Backup)
    }
}

impl fmt::Display for JobKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `mode = ...` of a schedule: a fixed mode, or `auto` to let the load average choose.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ModeSetting {
    #[default]
    Auto,
    Normal,
    Light,
    Minimal,
}

/// A share written `"5%"` (or the bare number 5): restic's `--read-data-subset`. `validate`
/// keeps it in (0, 100].
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct Percent(pub f64);

impl<'de> Deserialize<'de> for Percent {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Text(String),
            Number(f64),
        }
        let bad = |s: &str| {
            serde::de::Error::custom(format!(
                "bad percentage `{s}`: write it as \"5%\" (a share of the packs)"
            ))
        };
        match Raw::deserialize(d)? {
            Raw::Number(f) => Ok(Self(f)),
            Raw::Text(s) => {
                let n = s.trim().strip_suffix('%').unwrap_or(&s).trim();
                n.parse().map(Self).map_err(|_| bad(&s))
            }
        }
    }
}

impl Serialize for Percent {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl fmt::Display for Percent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}%", self.0)
    }
}

/// `[load]`: the thresholds of the load-aware mode, per core of the 1-minute load average
/// (the seed's scheduler compared the raw load with 1.0 and 3.0; per core, the same figures
/// mean the same on a 2-core VM and a 16-core server).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct LoadConfig {
    /// At or above this, `auto` is `light`.
    #[serde(default = "default_light_above")]
    pub light_above: f64,
    /// At or above this, `auto` is `minimal`.
    #[serde(default = "default_minimal_above")]
    pub minimal_above: f64,
    /// How long a database full may be put off by load before it runs anyway.
    #[serde(default = "default_max_defer")]
    pub max_defer: HumanDuration,
}

impl Default for LoadConfig {
    fn default() -> Self {
        Self {
            light_above: default_light_above(),
            minimal_above: default_minimal_above(),
            max_defer: default_max_defer(),
        }
    }
}

fn default_light_above() -> f64 {
    1.0
}
fn default_minimal_above() -> f64 {
    3.0
}
fn default_max_defer() -> HumanDuration {
    HumanDuration(Duration::from_secs(24 * 3600))
}

/// The rules of `[schedule.*]` and `[load]` that serde cannot express.
pub fn validate(config: &Config, problems: &mut Vec<Problem>) {
    for (name, s) in &config.schedule {
        let key = format!("schedule.{name}");
        check_name(&key, name, problems);
        if let Err(e) = CronExpr::parse(&s.cron) {
            problems.push(Problem::new(format!("{key}.cron"), e.to_string()).hint(
                "minute hour day-of-month month day-of-week, e.g. \"0 2 * * *\" (02:00 daily); \
                 6 fields put seconds first",
            ));
        }
        sources(&key, s, config, problems);
        let misplaced = |k: &str, set: bool, applies: &str| {
            set.then(|| {
                Problem::new(
                    format!("{key}.{k}"),
                    format!("has no meaning for job = \"{}\"", s.job),
                )
                .hint(format!("{k} applies to {applies}; remove it"))
            })
        };
        let verify = s.job == JobKind::Verify;
        problems.extend(misplaced(
            "mode",
            s.mode.is_some() && !s.job.backs_up(),
            "run, backup",
        ));
        problems.extend(misplaced(
            "read-data",
            s.read_data.is_some() && !verify,
            "verify",
        ));
        if let Some(p) = s.read_data.filter(|p| !(p.0 > 0.0 && p.0 <= 100.0)) {
            problems.push(
                Problem::new(
                    format!("{key}.read-data"),
                    format!("{p} is not a share of the packs: it must be above 0% and at most 100%"),
                )
                .hint("\"5%\" reads a twentieth of the packs each time; remove the key to check the structure only"),
            );
        }
        if s.timeout.is_some_and(|t| t.0.is_zero()) {
            problems.push(
                Problem::new(format!("{key}.timeout"), "must be greater than zero")
                    .hint("remove the key for no limit, or write e.g. \"6h\""),
            );
        }
    }
    load(&config.load, problems);
}

fn sources(key: &str, s: &ScheduleConfig, config: &Config, problems: &mut Vec<Problem>) {
    let Some(names) = &s.sources else {
        return;
    };
    let key = format!("{key}.sources");
    if !s.job.takes_sources() {
        problems.push(
            Problem::new(&key, format!("has no meaning for job = \"{}\"", s.job))
                .hint("sources applies to run, backup, drill; remove it"),
        );
        return;
    }
    if names.is_empty() {
        problems.push(
            Problem::new(&key, "is empty: the schedule would do nothing")
                .hint("remove the key to take every source"),
        );
    }
    let known: Vec<String> = config.source.keys().cloned().collect();
    for name in names.iter().filter(|n| !config.source.contains_key(*n)) {
        let p = Problem::new(&key, format!("unknown source `{name}`"));
        problems.push(match suggest::nearest(name, &known) {
            Some(k) => p.hint(format!("did you mean `{k}`?")),
            None if known.is_empty() => p.hint("define it as [source.NAME] first"),
            None => p.hint(format!("the sources are {}", known.join(", "))),
        });
    }
}

fn load(l: &LoadConfig, problems: &mut Vec<Problem>) {
    let per_core = "a load average per core: 1.0 means every core busy";
    if !(l.light_above.is_finite() && l.light_above > 0.0) {
        problems.push(
            Problem::new("load.light-above", "must be greater than zero")
                .hint(format!("{per_core}; the default is 1.0")),
        );
    } else if !(l.minimal_above.is_finite() && l.minimal_above > l.light_above) {
        problems.push(
            Problem::new(
                "load.minimal-above",
                format!("must be above light-above ({})", l.light_above),
            )
            .hint(format!("{per_core}; the default is 3.0")),
        );
    }
}

#[cfg(test)]
mod tests;
