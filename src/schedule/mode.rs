//! The seed's smart scheduler (section 8.1): the load average at the start of a backup picks
//! how much it does, and a database full put off by load runs anyway once it has waited
//! `max-defer`.
//!
//! - normal: the job as configured;
//! - light: files sources and binlog archiving; database fulls wait for a normal slot;
//! - minimal: `conf/` and `job/` of the files sources only (what a DataX home cannot be
//!   rebuilt without).

use std::time::Duration;

use jiff::Timestamp;
use serde::Serialize;

use super::elapsed;
use crate::config::{LoadConfig, ModeSetting};

/// How much a backup does, once chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    Normal,
    Light,
    Minimal,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Normal => "normal",
            Self::Light => "light",
            Self::Minimal => "minimal",
        }
    }

    /// Database fulls run now; otherwise ask `defer_full`.
    pub fn backs_up_databases(self) -> bool {
        self == Self::Normal
    }

    /// The binlogs of mysql sources are stored up to now.
    pub fn archives_binlogs(self) -> bool {
        self != Self::Minimal
    }
}

impl std::fmt::Display for Mode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What minimal mode keeps of a DataX home: its configuration and its jobs.
pub const MINIMAL_INCLUDE: [&str; 2] = ["conf/", "job/"];

/// The include patterns of a files source in `mode`, given its configured ones. Minimal keeps
/// the configured patterns under `conf/` and `job/` (a narrower `job/*.json` stays narrow),
/// or both folders whole when none is.
pub fn include_for(mode: Mode, configured: &[String]) -> Vec<String> {
    if mode != Mode::Minimal {
        return configured.to_vec();
    }
    let kept: Vec<String> = configured
        .iter()
        .filter(|p| {
            let p = p.trim_start_matches('/');
            MINIMAL_INCLUDE
                .iter()
                .any(|dir| p.starts_with(dir) || Some(p) == dir.strip_suffix('/'))
        })
        .cloned()
        .collect();
    if kept.is_empty() {
        MINIMAL_INCLUDE.map(String::from).to_vec()
    } else {
        kept
    }
}

/// The mode of one run and why, recorded with the run and shown by `stats` and `status`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModeChoice {
    pub mode: Mode,
    pub reason: String,
}

/// The mode of a run starting now. `load_1m`: the 1-minute load average (`None`: it could
/// not be read, and the run is normal: a backup is not cut short on a guess); `cores`: online
/// CPUs (0 counts as 1). `auto` compares the load per core with `[load]`: below
/// `light-above` normal, below `minimal-above` light, else minimal.
pub fn choose_mode(
    setting: ModeSetting,
    load_1m: Option<f64>,
    cores: usize,
    load: &LoadConfig,
) -> ModeChoice {
    let fixed = match setting {
        ModeSetting::Auto => None,
        ModeSetting::Normal => Some(Mode::Normal),
        ModeSetting::Light => Some(Mode::Light),
        ModeSetting::Minimal => Some(Mode::Minimal),
    };
    if let Some(mode) = fixed {
        return ModeChoice {
            mode,
            reason: format!("mode = \"{mode}\" in the schedule"),
        };
    }
    let Some(total) = load_1m.filter(|l| l.is_finite() && *l >= 0.0) else {
        return ModeChoice {
            mode: Mode::Normal,
            reason: "load average unknown: normal".into(),
        };
    };
    let cores = cores.max(1);
    let per_core = total / cores as f64;
    let (mode, rule) = if per_core < load.light_above {
        (
            Mode::Normal,
            format!("below light-above {}", load.light_above),
        )
    } else if per_core < load.minimal_above {
        (
            Mode::Light,
            format!(
                "at or above light-above {}, below minimal-above {}",
                load.light_above, load.minimal_above
            ),
        )
    } else {
        (
            Mode::Minimal,
            format!("at or above minimal-above {}", load.minimal_above),
        )
    };
    ModeChoice {
        mode,
        reason: format!(
            "load {total:.2} on {cores} cores is {per_core:.2} per core, {rule}: {mode}"
        ),
    }
}

/// Whether a database full runs in this run.
#[derive(Debug, Clone, PartialEq)]
pub enum Deferral {
    /// Normal mode: run it.
    Run,
    /// Put it off to a later normal slot, at the latest `until` (then it runs anyway). The
    /// loop records when the deferral began and passes it back as `deferred_since`.
    Defer { until: Timestamp },
    /// Not normal, but it may wait no longer: run it, and record `reason` with the run.
    RunAnyway { reason: String },
}

/// Whether a database full runs now in `mode`. `last_full`: when the source's last full
/// succeeded (`None`: it has none, so it is not put off: there is nothing to restore yet).
/// `deferred_since`: when this full was first put off (`None`: it has not been). It waits at
/// most `max_defer` from then; a `max_defer` of zero never defers.
pub fn defer_full(
    mode: Mode,
    last_full: Option<Timestamp>,
    deferred_since: Option<Timestamp>,
    now: Timestamp,
    max_defer: Duration,
) -> Deferral {
    if mode.backs_up_databases() {
        return Deferral::Run;
    }
    if last_full.is_none() {
        return Deferral::RunAnyway {
            reason: format!("no full backup yet: running it in {mode} mode"),
        };
    }
    let Some(since) = deferred_since else {
        if max_defer.is_zero() {
            return Deferral::RunAnyway {
                reason: format!(
                    "max-defer is 0s, a full is never put off: running it in {mode} mode"
                ),
            };
        }
        return Deferral::Defer {
            until: add(now, max_defer),
        };
    };
    let waited = elapsed(since, now);
    if waited >= max_defer {
        return Deferral::RunAnyway {
            reason: format!(
                "put off by load since {since} ({}), max-defer {}: running it in {mode} mode",
                humantime::format_duration(Duration::from_secs(waited.as_secs())),
                humantime::format_duration(max_defer),
            ),
        };
    }
    Deferral::Defer {
        until: add(since, max_defer),
    }
}

/// `t + d`, saturating at the end of time.
fn add(t: Timestamp, d: Duration) -> Timestamp {
    jiff::SignedDuration::try_from(d)
        .ok()
        .and_then(|d| t.checked_add(d).ok())
        .unwrap_or(Timestamp::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[rstest]
    // The seed's figures, per core: below 1.0 normal, below 3.0 light, else minimal.
    #[case::idle_2(0.5, 2, Mode::Normal)]
    #[case::busy_2(1.99, 2, Mode::Normal)]
    #[case::at_light_2(2.0, 2, Mode::Light)]
    #[case::below_minimal_2(5.9, 2, Mode::Light)]
    #[case::at_minimal_2(6.0, 2, Mode::Minimal)]
    // A raw load of 6 is busy for 2 cores, light work for 16.
    #[case::same_load_16(6.0, 16, Mode::Normal)]
    #[case::at_light_16(16.0, 16, Mode::Light)]
    #[case::below_minimal_16(47.9, 16, Mode::Light)]
    #[case::at_minimal_16(48.0, 16, Mode::Minimal)]
    #[case::no_cores_counts_one(1.5, 0, Mode::Light)]
    fn auto_mode_follows_the_load_per_core(
        #[case] load: f64,
        #[case] cores: usize,
        #[case] want: Mode,
    ) {
        let c = choose_mode(ModeSetting::Auto, Some(load), cores, &LoadConfig::default());
        assert_eq!(c.mode, want, "{}", c.reason);
        assert!(c.reason.ends_with(&format!(": {want}")), "{}", c.reason);
    }

    #[test]
    fn the_reason_names_the_figures() {
        let c = choose_mode(ModeSetting::Auto, Some(4.2), 2, &LoadConfig::default());
        assert_eq!(
            c.reason,
            "load 4.20 on 2 cores is 2.10 per core, at or above light-above 1, below minimal-above 3: light"
        );
    }

    #[rstest]
    #[case::fixed_normal(
        ModeSetting::Normal,
        Some(99.0),
        Mode::Normal,
        "mode = \"normal\" in the schedule"
    )]
    #[case::fixed_minimal(
        ModeSetting::Minimal,
        Some(0.0),
        Mode::Minimal,
        "mode = \"minimal\" in the schedule"
    )]
    #[case::unknown_load(ModeSetting::Auto, None, Mode::Normal, "load average unknown: normal")]
    #[case::nonsense_load(
        ModeSetting::Auto,
        Some(f64::NAN),
        Mode::Normal,
        "load average unknown: normal"
    )]
    fn fixed_modes_and_unknown_load(
        #[case] setting: ModeSetting,
        #[case] load: Option<f64>,
        #[case] want: Mode,
        #[case] reason: &str,
    ) {
        let c = choose_mode(setting, load, 4, &LoadConfig::default());
        assert_eq!((c.mode, c.reason.as_str()), (want, reason));
    }

    #[test]
    fn custom_thresholds_apply() {
        let load = LoadConfig {
            light_above: 0.5,
            minimal_above: 0.8,
            ..LoadConfig::default()
        };
        let mode = |l| choose_mode(ModeSetting::Auto, Some(l), 2, &load).mode;
        assert_eq!(
            [mode(0.9), mode(1.0), mode(1.6)],
            [Mode::Normal, Mode::Light, Mode::Minimal]
        );
    }

    const H: u64 = 3600;

    fn t(hours: i64) -> Timestamp {
        let base: Timestamp = "2026-06-10T02:00:00Z".parse().unwrap();
        base.checked_add(jiff::SignedDuration::from_hours(hours))
            .unwrap()
    }

    #[rstest]
    #[case::normal_runs(Mode::Normal, Some(t(-48)), Some(t(-30)), Deferral::Run)]
    // Light, first time: put off for at most max-defer from now.
    #[case::first_deferral(Mode::Light, Some(t(-24)), None, Deferral::Defer { until: t(24) })]
    #[case::still_within(Mode::Light, Some(t(-48)), Some(t(-23)), Deferral::Defer { until: t(1) })]
    #[case::minimal_defers_too(Mode::Minimal, Some(t(-48)), Some(t(-1)), Deferral::Defer { until: t(23) })]
    fn fulls_are_deferred_within_the_limit(
        #[case] mode: Mode,
        #[case] last_full: Option<Timestamp>,
        #[case] since: Option<Timestamp>,
        #[case] want: Deferral,
    ) {
        let max = Duration::from_secs(24 * H);
        assert_eq!(defer_full(mode, last_full, since, t(0), max), want);
    }

    #[rstest]
    #[case::limit_reached(Some(t(-48)), Some(t(-24)), 24 * H, "put off by load since 2026-06-09T02:00:00Z (1day), max-defer 1day: running it in light mode")]
    #[case::past_limit(Some(t(-48)), Some(t(-30)), 24 * H, "put off by load since 2026-06-08T20:00:00Z (1day 6h), max-defer 1day: running it in light mode")]
    #[case::zero_never_defers(Some(t(-48)), None, 0, "max-defer is 0s, a full is never put off: running it in light mode")]
    #[case::zero_after_deferral(Some(t(-48)), Some(t(-1)), 0, "put off by load since 2026-06-10T01:00:00Z (1h), max-defer 0s: running it in light mode")]
    #[case::no_full_yet(None, None, 24 * H, "no full backup yet: running it in light mode")]
    fn a_full_runs_anyway_and_says_why(
        #[case] last_full: Option<Timestamp>,
        #[case] since: Option<Timestamp>,
        #[case] max_secs: u64,
        #[case] reason: &str,
    ) {
        let got = defer_full(
            Mode::Light,
            last_full,
            since,
            t(0),
            Duration::from_secs(max_secs),
        );
        assert_eq!(
            got,
            Deferral::RunAnyway {
                reason: reason.into()
            }
        );
    }

    #[rstest]
    #[case::normal_keeps_all(Mode::Normal, &["conf/", "job/", "plugin/"], &["conf/", "job/", "plugin/"])]
    #[case::light_keeps_all(Mode::Light, &["conf/", "plugin/"], &["conf/", "plugin/"])]
    #[case::minimal_narrows(Mode::Minimal, &["conf/", "job/", "plugin/", "script/"], &["conf/", "job/"])]
    #[case::minimal_keeps_narrow(Mode::Minimal, &["/job/*.json", "plugin/"], &["/job/*.json"])]
    #[case::minimal_bare_folder(Mode::Minimal, &["conf", "hook/"], &["conf"])]
    #[case::minimal_default(Mode::Minimal, &["data/"], &["conf/", "job/"])]
    fn includes_per_mode(#[case] mode: Mode, #[case] configured: &[&str], #[case] want: &[&str]) {
        assert_eq!(include_for(mode, &strings(configured)), strings(want));
    }

    #[test]
    fn what_each_mode_does() {
        let does = |m: Mode| (m.backs_up_databases(), m.archives_binlogs());
        assert_eq!(does(Mode::Normal), (true, true));
        assert_eq!(does(Mode::Light), (false, true));
        assert_eq!(does(Mode::Minimal), (false, false));
    }
}
