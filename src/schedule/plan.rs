//! The schedules the daemon follows: the configured `[schedule.*]`, or without any the seed's
//! plan (section 8.1's crontab: the nightly full at 02:00, the 4-hourly incremental, the 09:00
//! verify, the Sunday clean-up), plus the weekly drill and the minutely monitor.

use super::{CronExpr, JobKind, ModeSetting, Percent, Schedule, ScheduleError};
use crate::config::{Config, SourceKind};

/// Which sources a plan entry takes.
#[derive(Clone, Copy)]
enum Cover {
    None,
    All,
    Files,
}

/// The seed's plan: name, cron, job, sources, read-data %.
const SEED_PLAN: [(&str, &str, JobKind, Cover, Option<f64>); 6] = [
    ("nightly", "0 2 * * *", JobKind::Run, Cover::All, None),
    ("files", "0 */4 * * *", JobKind::Backup, Cover::Files, None),
    (
        "verify",
        "0 9 * * *",
        JobKind::Verify,
        Cover::None,
        Some(5.0),
    ),
    ("forget", "0 3 * * 0", JobKind::Forget, Cover::None, None),
    ("drill", "0 4 * * 0", JobKind::Drill, Cover::All, None),
    ("monitor", "* * * * *", JobKind::Monitor, Cover::None, None),
];

/// The schedules to follow: the configured ones (in name order), or `default_plan` when the
/// config has no `[schedule]`. Fails only for a config `config check` refuses.
pub fn effective(config: &Config) -> Result<Vec<Schedule>, ScheduleError> {
    if config.schedule.is_empty() {
        return Ok(default_plan(config));
    }
    config
        .schedule
        .iter()
        .map(|(name, s)| {
            let cron = CronExpr::parse(&s.cron).map_err(|e| ScheduleError::Invalid {
                name: name.clone(),
                reason: e.to_string(),
            })?;
            let sources = match (&s.sources, s.job.takes_sources()) {
                (_, false) => Vec::new(),
                (Some(list), true) => list.clone(),
                (None, true) => config.source.keys().cloned().collect(),
            };
            Ok(Schedule {
                name: name.clone(),
                cron,
                job: s.job,
                sources,
                mode: s.mode(),
                read_data: s.read_data,
                timeout: s.timeout.map(|t| t.0),
                default: false,
            })
        })
        .collect()
}

/// The seed's plan for this config's sources: `run` at 02:00 daily, the files sources every
/// 4 h (left out when there are none), `verify` reading 5 % at 09:00, `forget` with prune on
/// Sundays at 03:00, `drill` on Sundays at 04:00, `monitor` every minute. All load-aware, none
/// with a timeout.
pub fn default_plan(config: &Config) -> Vec<Schedule> {
    let all: Vec<String> = config.source.keys().cloned().collect();
    let files: Vec<String> = config
        .source
        .iter()
        .filter(|(_, s)| s.kind == SourceKind::Files)
        .map(|(n, _)| n.clone())
        .collect();
    SEED_PLAN
        .iter()
        .filter(|(_, _, _, cover, _)| !matches!(cover, Cover::Files) || !files.is_empty())
        .map(|&(name, cron, job, cover, read_data)| Schedule {
            name: name.into(),
            cron: CronExpr::parse(cron).expect("the seed's plan parses"),
            job,
            sources: match cover {
                Cover::None => Vec::new(),
                Cover::All => all.clone(),
                Cover::Files => files.clone(),
            },
            mode: ModeSetting::Auto,
            read_data: read_data.map(Percent),
            timeout: None,
            default: true,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::check;
    use std::time::Duration;

    const SOURCES: &str = r#"
[repository.local]
url = "/backup/dx"

[source.datax]
kind = "files"
root = "/opt/datax"

[source.shop]
kind = "mysql"
host = "db1"
user = "backup"
"#;

    fn names(v: &[Schedule]) -> Vec<(&str, &str, Vec<&str>)> {
        v.iter()
            .map(|s| {
                let sources = s.sources.iter().map(String::as_str).collect();
                (s.name.as_str(), s.cron.as_str(), sources)
            })
            .collect()
    }

    #[test]
    fn without_schedules_the_seed_plan_is_followed() {
        let plan = effective(&check(SOURCES).unwrap()).unwrap();
        assert_eq!(
            names(&plan),
            [
                ("nightly", "0 2 * * *", vec!["datax", "shop"]),
                ("files", "0 */4 * * *", vec!["datax"]),
                ("verify", "0 9 * * *", vec![]),
                ("forget", "0 3 * * 0", vec![]),
                ("drill", "0 4 * * 0", vec!["datax", "shop"]),
                ("monitor", "* * * * *", vec![]),
            ]
        );
        assert!(plan
            .iter()
            .all(|s| s.default && s.mode == ModeSetting::Auto));
        assert_eq!(plan[2].read_data, Some(Percent(5.0)));
        assert_eq!(plan[3].job, JobKind::Forget);
    }

    #[test]
    fn without_files_sources_there_is_no_files_schedule() {
        let text = SOURCES.replace(
            "[source.datax]\nkind = \"files\"\nroot = \"/opt/datax\"\n",
            "",
        );
        let plan = effective(&check(&text).unwrap()).unwrap();
        assert!(plan.iter().all(|s| s.name != "files"), "{:?}", names(&plan));
    }

    #[test]
    fn configured_schedules_replace_the_plan() {
        let text = format!(
            "{SOURCES}
[schedule.nightly]
cron = \"30 1 * * *\"
job = \"backup\"
sources = [\"shop\"]
mode = \"light\"
timeout = \"6h\"

[schedule.check]
cron = \"0 0 9 * * 1\"
job = \"verify\"
read-data = \"2.5%\"

[schedule.all]
cron = \"0 5 * * *\"
job = \"run\"
"
        );
        let plan = effective(&check(&text).unwrap()).unwrap();
        assert_eq!(
            names(&plan),
            [
                ("all", "0 5 * * *", vec!["datax", "shop"]),
                ("check", "0 0 9 * * 1", vec![]),
                ("nightly", "30 1 * * *", vec!["shop"]),
            ]
        );
        let nightly = &plan[2];
        assert_eq!(nightly.mode, ModeSetting::Light);
        assert_eq!(nightly.timeout, Some(Duration::from_secs(6 * 3600)));
        assert!(!nightly.default);
        assert_eq!(plan[1].read_data, Some(Percent(2.5)));
        assert_eq!(plan[0].mode, ModeSetting::Auto);
    }
}
