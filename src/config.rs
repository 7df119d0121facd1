//! The `dxbackup.toml` model: serde-only structs, a pure `parse` that reports every problem at
//! once with `FILE:LINE:COL`, and `validate` for the rules serde cannot express.
//!
//! Parsing is split per entry (each `[repository.X]`, `[source.X]`, ...) and retried past each
//! failing key (`parse`), so no mistake hides another; `serde_path_to_error` names the failing
//! key and `locate` turns that key path back into a line and column of the original text.

mod alert;
mod locate;
mod parse;
mod problem;
mod resolve;
mod schedule;
mod stored;
mod suggest;
mod validate;
mod web;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize};

pub use crate::repo::{BucketService, Location, LocationError};
pub use alert::{AlertConfig, AlertKind, MinSeverity, MonitorConfig, Tls};
pub use locate::locate_sorted;
pub use problem::{ConfigError, Problem};
pub use resolve::credential_env;
pub use schedule::{JobKind, LoadConfig, ModeSetting, Percent, ScheduleConfig};
pub use stored::{is_removed, removed_secrets, stored_text, REMOVED};
pub use validate::validate;
pub use web::{WebConfig, DEFAULT_LISTEN};

/// Where `find` looks when no `--config` is given, after `$DXBACKUP_CONFIG`.
pub const DEFAULT_PATHS: [&str; 2] = ["./dxbackup.toml", "/etc/dxbackup/dxbackup.toml"];

/// The whole configuration, after parsing and validation.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Config {
    /// The file it came from; relative paths inside are resolved against its folder. Not a
    /// key of the file, so never written into the copy stored in snapshots.
    #[serde(skip)]
    pub path: PathBuf,
    pub host: Option<String>,
    pub repository: BTreeMap<String, RepositoryConfig>,
    pub source: BTreeMap<String, SourceConfig>,
    pub tier: BTreeMap<String, TierConfig>,
    pub retention: RetentionConfig,
    pub stats: StatsConfig,
    /// Empty: the daemon follows the seed's plan (`crate::schedule::effective`).
    pub schedule: BTreeMap<String, ScheduleConfig>,
    pub load: LoadConfig,
    /// `[alert.NAME]`: where findings are told.
    pub alert: BTreeMap<String, AlertConfig>,
    pub monitor: MonitorConfig,
    /// `[web]`: the dashboard the daemon serves; none without the section.
    pub web: Option<WebConfig>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RepositoryConfig {
    /// A local path, `sftp://USER@HOST[:PORT]/PATH`, or `s3://`, `oss://`, `cos://` +
    /// `BUCKET/PREFIX`.
    pub url: String,
    #[serde(default)]
    pub primary: bool,
    pub password_file: Option<PathBuf>,
    /// Run through `sh -c`; its first stdout line is the password.
    pub password_command: Option<String>,
    #[serde(default)]
    pub medium: Medium,
    #[serde(default)]
    pub offsite: bool,
    #[serde(default)]
    pub auto_init: bool,
    /// zstd level of a new repository, -7..=22. 1 matches restic's default ("auto"): on a
    /// 2-core machine level 3 made first backups ~15 % slower for ~3 % less space.
    #[serde(default = "default_compression")]
    pub compression: i32,
    /// Overrides `[retention]` for this repository.
    pub retention: Option<RetentionConfig>,
    /// Buckets: the service's URL (`https://oss-cn-hangzhou.aliyuncs.com`,
    /// `http://127.0.0.1:9000`); derived from `region` when missing.
    pub endpoint: Option<String>,
    pub region: Option<String>,
    /// S3: `ENDPOINT/BUCKET/KEY` addressing instead of `BUCKET.ENDPOINT/KEY`; defaults to on
    /// when `endpoint` is set (MinIO, Ceph and most S3-compatible servers need it).
    pub path_style: Option<bool>,
    /// Buckets: a file (mode 0600) holding `KEY_ID:SECRET`, or the two on separate lines.
    /// Without it, the environment: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (s3),
    /// ALIBABA_CLOUD_ACCESS_KEY_ID/ALIBABA_CLOUD_ACCESS_KEY_SECRET (oss),
    /// TENCENTCLOUD_SECRET_ID/TENCENTCLOUD_SECRET_KEY (cos).
    pub access_key_file: Option<PathBuf>,
    /// SFTP: the private key to log in with (key authentication only, no passwords).
    pub ssh_key: Option<PathBuf>,
    /// SFTP: host key checking against `~/.ssh/known_hosts`.
    #[serde(default)]
    pub known_hosts: KnownHosts,
    /// Remote repositories: how long one request may stall before it is retried.
    pub timeout: Option<HumanDuration>,
    /// Remote repositories: retries of a failed request, with exponential backoff (default 5).
    pub retries: Option<u32>,
}

impl RepositoryConfig {
    /// The parsed `url`; `validate` guarantees it parses for a loaded config.
    pub fn location(&self) -> Result<Location, LocationError> {
        Location::parse(&self.url)
    }
}

/// SSH host key checking, as OpenSSH's `StrictHostKeyChecking` (the strategies OpenDAL offers).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum KnownHosts {
    /// The host key must already be in known_hosts (`yes`).
    #[default]
    Strict,
    /// Trust on first use: unknown keys are added, changed keys refused (`accept-new`).
    Add,
    /// No checking at all (`no`): only for throwaway test servers.
    Accept,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Medium {
    #[default]
    Disk,
    Nas,
    Cloud,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SourceKind {
    Files,
    Mysql,
}

/// One `[source.NAME]`. Keys of the other kind are refused by `validate`, which names them.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct SourceConfig {
    pub kind: SourceKind,
    #[serde(default = "default_tier")]
    pub tier: String,
    // files
    /// The DataX home (or any folder) to protect.
    pub root: Option<PathBuf>,
    /// Paths relative to `root`, anchored there; globs allowed. A folder takes its whole subtree.
    pub include: Option<Vec<String>>,
    /// gitignore-like: a pattern without an inner `/` matches at any depth.
    pub exclude: Option<Vec<String>>,
    // mysql
    pub host: Option<String>,
    pub port: Option<u16>,
    pub socket: Option<PathBuf>,
    pub user: Option<String>,
    pub password_file: Option<PathBuf>,
    /// Name of an environment variable holding the password.
    pub password_env: Option<String>,
    pub databases: Option<Databases>,
    pub driver: Option<Driver>,
    /// When a physical full's table figures (what drills compare with) are taken.
    pub figures: Option<FiguresAt>,
    pub binlog: Option<bool>,
    pub binlog_flush: Option<HumanDuration>,
    /// `HOST:PORT` (or a socket path) of the server drills restore into; defaults to the source.
    pub restore_server: Option<String>,
}

impl SourceConfig {
    pub fn include(&self) -> Vec<String> {
        self.include.clone().unwrap_or_else(default_include)
    }
    pub fn exclude(&self) -> Vec<String> {
        self.exclude.clone().unwrap_or_else(default_exclude)
    }
    pub fn binlog_flush(&self) -> Duration {
        self.binlog_flush.map_or(Duration::from_secs(5), |d| d.0)
    }
}

/// `databases = ["a", "b"]` or `databases = "all"` (every user database).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Databases {
    All,
    List(Vec<String>),
}

/// Written back as it is read: `"all"` or the list (a derived untagged unit would be a TOML
/// unit, which cannot be written, and the stored config would be lost).
impl Serialize for Databases {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::All => s.serialize_str("all"),
            Self::List(v) => v.serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for Databases {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            One(String),
            List(Vec<String>),
        }
        match Raw::deserialize(d)? {
            Raw::One(s) if s == "all" => Ok(Self::All),
            Raw::One(s) => Err(serde::de::Error::custom(format!(
                "expected \"all\" or a list of names, got \"{s}\" (write [\"{s}\"])"
            ))),
            Raw::List(v) => Ok(Self::List(v)),
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Driver {
    /// `mariadb-dump` / `mysqldump`, one consistent stream.
    #[default]
    Dump,
    /// `mydumper`, parallel, for big databases.
    Mydumper,
    /// `mariabackup --backup --stream=mbstream`: a physical copy of the whole server, restored
    /// by extracting and preparing a data directory (minutes become seconds for big
    /// databases). Runs on the database host: it reads the data files.
    Mariabackup,
}

/// When the table figures of a physical full (`driver = "mariabackup"`) are taken from the
/// source: they are what a drill compares the restored copy with.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FiguresAt {
    /// Right after the copy, stored with the backup: drills compare without the source, but
    /// the backup reads every table once more (TPC-H SF 1, 2 cores: 10.5 s against 6.9 s for
    /// the copy alone).
    #[default]
    Backup,
    /// By each drill, on the source at that moment, the copy restored and the archived
    /// binlogs replayed up to the figures' point: the backup is the copy alone, and the drill
    /// also proves the chain; it needs the source and a running binlog archiver.
    Drill,
}

/// What a DataX home needs kept: configuration, jobs, plugins (users swap JDBC drivers into
/// `plugin/*/libs/`), the operator's scripts and hooks.
pub fn default_include() -> Vec<String> {
    ["conf/", "job/", "plugin/", "script/", "hook/"]
        .map(String::from)
        .to_vec()
}

/// Logs and scratch are re-creatable and large; heap dumps are huge.
pub fn default_exclude() -> Vec<String> {
    ["/log/", "/log_perf/", "/tmp/", "*.hprof"]
        .map(String::from)
        .to_vec()
}

fn default_compression() -> i32 {
    1
}

fn default_tier() -> String {
    "important".into()
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct TierConfig {
    pub rto: HumanDuration,
    pub rpo: HumanDuration,
}

/// The seed's RTO/RPO table (section 7.1): critical < 1h / 15m, important < 4h / 1h,
/// general < 24h / 1 day.
pub fn default_tiers() -> BTreeMap<String, TierConfig> {
    let t = |rto: u64, rpo: u64| TierConfig {
        rto: HumanDuration(Duration::from_secs(rto)),
        rpo: HumanDuration(Duration::from_secs(rpo)),
    };
    BTreeMap::from([
        ("critical".into(), t(3600, 900)),
        ("important".into(), t(4 * 3600, 3600)),
        ("general".into(), t(24 * 3600, 24 * 3600)),
    ])
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RetentionConfig {
    pub keep_last: Option<u32>,
    pub keep_hourly: Option<u32>,
    pub keep_daily: Option<u32>,
    pub keep_weekly: Option<u32>,
    pub keep_monthly: Option<u32>,
    pub keep_yearly: Option<u32>,
}

impl RetentionConfig {
    pub fn is_empty(&self) -> bool {
        self == &Self::default()
    }

    /// The storage engine's form of these rules.
    pub fn keep_rules(&self) -> crate::repo::KeepRules {
        crate::repo::KeepRules {
            keep_last: self.keep_last,
            keep_hourly: self.keep_hourly,
            keep_daily: self.keep_daily,
            keep_weekly: self.keep_weekly,
            keep_monthly: self.keep_monthly,
            keep_yearly: self.keep_yearly,
        }
    }
}

impl From<KnownHosts> for crate::repo::HostKeys {
    fn from(k: KnownHosts) -> Self {
        match k {
            KnownHosts::Strict => Self::Strict,
            KnownHosts::Add => Self::AddNew,
            KnownHosts::Accept => Self::Accept,
        }
    }
}

/// Thresholds for the seed's performance warnings (section 8.2: average over an hour, or
/// under 10 MB/s).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct StatsConfig {
    #[serde(default = "default_warn_duration")]
    pub warn_avg_duration: HumanDuration,
    #[serde(default = "default_warn_mbps")]
    pub warn_min_mb_per_s: f64,
    /// Runs that read less than this are too small for a meaningful MB/s figure.
    #[serde(default = "default_min_bytes")]
    pub speed_min_bytes: u64,
}

impl Default for StatsConfig {
    fn default() -> Self {
        Self {
            warn_avg_duration: default_warn_duration(),
            warn_min_mb_per_s: default_warn_mbps(),
            speed_min_bytes: default_min_bytes(),
        }
    }
}

fn default_warn_duration() -> HumanDuration {
    HumanDuration(Duration::from_secs(3600))
}
fn default_warn_mbps() -> f64 {
    10.0
}
fn default_min_bytes() -> u64 {
    64 << 20
}

/// A duration written as humans do (`15m`, `4h`, `1day`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct HumanDuration(pub Duration);

impl<'de> Deserialize<'de> for HumanDuration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        humantime::parse_duration(&s)
            .map(HumanDuration)
            .map_err(|e| {
                serde::de::Error::custom(format!(
                    "bad duration `{s}`: {e} (try \"15m\", \"4h\", \"1day\")"
                ))
            })
    }
}

impl Serialize for HumanDuration {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&humantime::format_duration(self.0))
    }
}

impl fmt::Display for HumanDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", humantime::format_duration(self.0))
    }
}

/// The config file to use: the flag, then `$DXBACKUP_CONFIG`, then the default paths.
pub fn find(flag: Option<&Path>) -> Result<PathBuf, ConfigError> {
    if let Some(p) = flag {
        return Ok(p.to_path_buf());
    }
    if let Some(p) = std::env::var_os("DXBACKUP_CONFIG").filter(|p| !p.is_empty()) {
        return Ok(PathBuf::from(p));
    }
    DEFAULT_PATHS
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
        .ok_or(ConfigError::NotFound)
}

/// Reads, parses and validates a config file; every problem is reported at once.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let mut config = check(&text).map_err(|problems| ConfigError::Invalid {
        path: path.to_path_buf(),
        problems,
    })?;
    config.path = path.to_path_buf();
    Ok(config)
}

/// Parses the text of a config file: pure, no file system access. `Err` holds what serde
/// found wrong, every problem of every entry, located and in line order.
pub fn parse(text: &str) -> Result<Config, Vec<Problem>> {
    let parsed = parse::parse_lenient(text).map_err(|p| vec![p])?;
    if parsed.problems.is_empty() {
        return Ok(parsed.config);
    }
    let mut problems = parsed.problems;
    locate::locate_sorted(text, &mut problems);
    Err(problems)
}

/// `parse`, then `validate` even when parsing found problems, so one run reports them all:
/// what serde found and what the rules find, without a mistake reported twice.
pub fn check(text: &str) -> Result<Config, Vec<Problem>> {
    let parsed = parse::parse_lenient(text).map_err(|p| vec![p])?;
    let found = parse::weigh(validate(&parsed.config), &parsed);
    let mut problems = parsed.problems;
    problems.extend(found);
    if problems.is_empty() {
        return Ok(parsed.config);
    }
    locate::locate_sorted(text, &mut problems);
    Err(problems)
}

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;
