//! `[alert.NAME]` channels and `[monitor]` thresholds: who is told about a finding, how, and
//! what counts as one.
//!
//! One flat table per channel with `kind` choosing the keys that apply (as `[source.*]`);
//! `validate` names a key of another kind. Secrets (an SMTP password, a robot's signing
//! secret, a URL holding a token) come from files or from `url` and never leave the process:
//! the stored config replaces them by `<removed>` (see `stored.rs`).

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{is_removed, validate::check_name, Config, HumanDuration, Problem};

/// One `[alert.NAME]`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct AlertConfig {
    pub kind: AlertKind,
    /// The least severe finding this channel is told about (default warning).
    pub min_severity: Option<MinSeverity>,
    /// How often an unchanged finding is told again (default `[monitor] repeat`, 24h).
    pub repeat: Option<HumanDuration>,
    /// Everything one message may take, retries included (default 10s).
    pub timeout: Option<HumanDuration>,
    /// Further attempts after a failed one, with backoff, within `timeout` (default 2).
    pub retries: Option<u32>,
    // email
    pub host: Option<String>,
    pub port: Option<u16>,
    pub tls: Option<Tls>,
    pub user: Option<String>,
    pub password_file: Option<PathBuf>,
    /// A PEM file of CA certificates to trust besides the system's (an internal mail relay).
    pub ca_file: Option<PathBuf>,
    pub from: Option<String>,
    pub to: Option<Vec<String>>,
    // HTTP channels
    pub url: Option<String>,
    /// A file whose first line is the URL: for URLs that carry their key.
    pub url_file: Option<PathBuf>,
    /// dingtalk: the robot's signing secret (`SEC...`).
    pub secret_file: Option<PathBuf>,
    /// webhook: GET, POST (default) or PUT.
    pub method: Option<String>,
    /// webhook: extra request headers.
    pub headers: Option<BTreeMap<String, String>>,
    /// webhook: the body, `{{field}}` replaced by the finding's fields; default: JSON.
    pub body: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AlertKind {
    Email,
    Dingtalk,
    Wecom,
    Slack,
    Webhook,
    /// A dead man's switch (healthchecks.io style): pinged per job, start, success, failure.
    Ping,
}

impl AlertKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Email => "email",
            Self::Dingtalk => "dingtalk",
            Self::Wecom => "wecom",
            Self::Slack => "slack",
            Self::Webhook => "webhook",
            Self::Ping => "ping",
        }
    }
}

impl fmt::Display for AlertKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum MinSeverity {
    #[default]
    Warning,
    Critical,
}

/// How the SMTP connection is secured.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Tls {
    /// Plain connection upgraded by STARTTLS, which must succeed (port 587).
    #[default]
    Starttls,
    /// TLS from the first byte (port 465).
    Tls,
    /// No encryption (a relay on localhost, port 25).
    None,
}

impl AlertConfig {
    pub fn min_severity(&self) -> MinSeverity {
        self.min_severity.unwrap_or_default()
    }
    pub fn timeout(&self) -> Duration {
        self.timeout.map_or(Duration::from_secs(10), |t| t.0)
    }
    pub fn retries(&self) -> u32 {
        self.retries.unwrap_or(2)
    }
    pub fn tls(&self) -> Tls {
        self.tls.unwrap_or_default()
    }
    pub fn port(&self) -> u16 {
        self.port.unwrap_or(match self.tls() {
            Tls::Starttls => 587,
            Tls::Tls => 465,
            Tls::None => 25,
        })
    }
}

/// `[monitor]`: the thresholds of the checks (the performance ones are `[stats]`).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct MonitorConfig {
    /// A scheduled source is late once its last success is older than its interval plus this.
    #[serde(default = "default_grace")]
    pub grace: HumanDuration,
    /// Used share of a repository's disk, in percent, that warns / is critical.
    #[serde(default = "default_space_warning")]
    pub space_warning: f64,
    #[serde(default = "default_space_critical")]
    pub space_critical: f64,
    /// A repository whose last verify is older than this warns.
    #[serde(default = "default_verify_max_age")]
    pub verify_max_age: HumanDuration,
    /// How many earlier runs of the same source and kind a run is compared with.
    #[serde(default = "default_anomaly_runs")]
    pub anomaly_runs: usize,
    /// How many robust deviations (median absolute deviation) from their median is an anomaly.
    #[serde(default = "default_anomaly_deviations")]
    pub anomaly_deviations: f64,
    /// How often an unchanged finding is told again, unless a channel says otherwise.
    #[serde(default = "default_repeat")]
    pub repeat: HumanDuration,
    /// A daemon whose heartbeat is older than this is reported as not running.
    #[serde(default = "default_daemon_silence")]
    pub daemon_silence: HumanDuration,
}

impl Default for MonitorConfig {
    fn default() -> Self {
        Self {
            grace: default_grace(),
            space_warning: default_space_warning(),
            space_critical: default_space_critical(),
            verify_max_age: default_verify_max_age(),
            anomaly_runs: default_anomaly_runs(),
            anomaly_deviations: default_anomaly_deviations(),
            repeat: default_repeat(),
            daemon_silence: default_daemon_silence(),
        }
    }
}

fn hours(h: u64) -> HumanDuration {
    HumanDuration(Duration::from_secs(h * 3600))
}
fn default_grace() -> HumanDuration {
    HumanDuration(Duration::from_secs(15 * 60))
}
fn default_space_warning() -> f64 {
    80.0
}
fn default_space_critical() -> f64 {
    90.0
}
fn default_verify_max_age() -> HumanDuration {
    hours(7 * 24)
}
fn default_anomaly_runs() -> usize {
    20
}
fn default_anomaly_deviations() -> f64 {
    3.0
}
fn default_repeat() -> HumanDuration {
    hours(24)
}
fn default_daemon_silence() -> HumanDuration {
    HumanDuration(Duration::from_secs(5 * 60))
}

/// The keys each kind reads besides the common ones.
fn keys_of(kind: AlertKind) -> &'static [&'static str] {
    match kind {
        AlertKind::Email => &[
            "host",
            "port",
            "tls",
            "user",
            "password-file",
            "ca-file",
            "from",
            "to",
        ],
        AlertKind::Dingtalk => &["url", "url-file", "secret-file"],
        AlertKind::Wecom | AlertKind::Slack | AlertKind::Ping => &["url", "url-file"],
        AlertKind::Webhook => &["url", "url-file", "method", "headers", "body"],
    }
}

/// The rules of `[alert.*]` and `[monitor]` that serde cannot express.
pub fn validate(config: &Config, problems: &mut Vec<Problem>) {
    for (name, a) in &config.alert {
        let key = format!("alert.{name}");
        check_name(&key, name, problems);
        channel(&key, a, problems);
    }
    monitor(&config.monitor, problems);
}

fn channel(key: &str, a: &AlertConfig, problems: &mut Vec<Problem>) {
    let set = [
        ("host", a.host.is_some()),
        ("port", a.port.is_some()),
        ("tls", a.tls.is_some()),
        ("user", a.user.is_some()),
        ("password-file", a.password_file.is_some()),
        ("ca-file", a.ca_file.is_some()),
        ("from", a.from.is_some()),
        ("to", a.to.is_some()),
        ("url", a.url.is_some()),
        ("url-file", a.url_file.is_some()),
        ("secret-file", a.secret_file.is_some()),
        ("method", a.method.is_some()),
        ("headers", a.headers.is_some()),
        ("body", a.body.is_some()),
    ];
    let own = keys_of(a.kind);
    for (k, _) in set.iter().filter(|(k, s)| *s && !own.contains(k)) {
        problems.push(
            Problem::new(
                format!("{key}.{k}"),
                format!("`{k}` is not a key of kind = \"{}\"", a.kind),
            )
            .hint(format!("kind = \"{}\" reads {}", a.kind, own.join(", "))),
        );
    }
    if a.timeout.is_some_and(|t| t.0.is_zero()) {
        problems.push(Problem::new(
            format!("{key}.timeout"),
            "must be greater than zero",
        ));
    }
    if a.repeat.is_some_and(|t| t.0.is_zero()) {
        problems.push(
            Problem::new(format!("{key}.repeat"), "must be greater than zero")
                .hint("\"24h\" repeats an unchanged finding once a day"),
        );
    }
    if a.kind == AlertKind::Email {
        email(key, a, problems);
        return;
    }
    match (&a.url, &a.url_file) {
        (None, None) => problems.push(
            Problem::new(key, "needs `url` or `url-file`")
                .hint("url-file keeps a URL that holds the robot's key out of the config"),
        ),
        (Some(_), Some(_)) => problems.push(
            Problem::new(key, "both url and url-file are set").hint("keep one"),
        ),
        (Some(u), None) if !is_removed(u) && !is_http(u) => problems.push(
            Problem::new(format!("{key}.url"), "is not an http(s) URL")
                .hint("write it with its scheme, e.g. https://oapi.dingtalk.com/robot/send?access_token=..."),
        ),
        _ => {}
    }
    if let Some(m) = &a.method {
        if !["GET", "POST", "PUT"].contains(&m.to_ascii_uppercase().as_str()) {
            problems.push(
                Problem::new(
                    format!("{key}.method"),
                    format!("`{m}` is not GET, POST or PUT"),
                )
                .hint("POST (the default) sends the body"),
            );
        }
    }
}

fn email(key: &str, a: &AlertConfig, problems: &mut Vec<Problem>) {
    if a.host.is_none() {
        problems
            .push(Problem::new(key, "missing field `host`").hint("host = \"smtp.example.com\""));
    }
    match &a.from {
        None => problems.push(
            Problem::new(key, "missing field `from`").hint("from = \"dxbackup@example.com\""),
        ),
        Some(f) if !is_address(f) => problems.push(
            Problem::new(
                format!("{key}.from"),
                format!("`{f}` is not a mail address"),
            )
            .hint("write it as NAME@DOMAIN, or \"Display Name <NAME@DOMAIN>\""),
        ),
        _ => {}
    }
    match &a.to {
        None => problems
            .push(Problem::new(key, "missing field `to`").hint("to = [\"ops@example.com\"]")),
        Some(to) if to.is_empty() => problems.push(
            Problem::new(format!("{key}.to"), "is empty: nobody would be told")
                .hint("list at least one address"),
        ),
        Some(to) => {
            for t in to.iter().filter(|t| !is_address(t)) {
                problems.push(Problem::new(
                    format!("{key}.to"),
                    format!("`{t}` is not a mail address"),
                ));
            }
        }
    }
    if a.user.is_some() != a.password_file.is_some() {
        problems.push(
            Problem::new(key, "user and password-file go together")
                .hint("set both to log in, or neither for a relay that needs no login"),
        );
    }
    if a.tls() == Tls::None && a.user.is_some() {
        problems.push(
            Problem::new(format!("{key}.tls"), "would send the password unencrypted")
                .hint("use tls = \"starttls\" or \"tls\" with a login"),
        );
    }
}

fn monitor(m: &MonitorConfig, problems: &mut Vec<Problem>) {
    let pct = |v: f64| v.is_finite() && v > 0.0 && v <= 100.0;
    if !pct(m.space_warning) {
        problems.push(Problem::new(
            "monitor.space-warning",
            "must be a percentage above 0 and at most 100",
        ));
    } else if !pct(m.space_critical) || m.space_critical < m.space_warning {
        problems.push(
            Problem::new(
                "monitor.space-critical",
                format!(
                    "must be at least space-warning ({}) and at most 100",
                    m.space_warning
                ),
            )
            .hint("the defaults are 80 and 90"),
        );
    }
    if !(m.anomaly_deviations.is_finite() && m.anomaly_deviations > 0.0) {
        problems.push(
            Problem::new("monitor.anomaly-deviations", "must be greater than zero")
                .hint("3.0 flags what lies three robust deviations from the median"),
        );
    }
    if m.anomaly_runs < 3 {
        problems.push(
            Problem::new("monitor.anomaly-runs", "must be at least 3")
                .hint("fewer runs say nothing about what is usual; the default is 20"),
        );
    }
    for (k, d) in [
        ("repeat", m.repeat),
        ("verify-max-age", m.verify_max_age),
        ("daemon-silence", m.daemon_silence),
    ] {
        if d.0.is_zero() {
            problems.push(Problem::new(
                format!("monitor.{k}"),
                "must be greater than zero",
            ));
        }
    }
}

fn is_http(u: &str) -> bool {
    u.starts_with("http://") || u.starts_with("https://")
}

/// `a@b` or `Name <a@b>`: what lettre parses as a mailbox.
fn is_address(s: &str) -> bool {
    s.parse::<lettre::message::Mailbox>().is_ok()
}

#[cfg(test)]
mod tests {
    use super::super::check;

    fn problems(extra: &str) -> Vec<String> {
        let text = format!("[repository.r]\nurl = \"/r\"\npassword-file = \"pw\"\n{extra}");
        match check(&text) {
            Ok(_) => Vec::new(),
            Err(p) => p
                .into_iter()
                .map(|p| format!("{}: {}", p.key, p.message))
                .collect(),
        }
    }

    #[test]
    fn channels_of_every_kind_parse() {
        let ok = problems(
            r#"
[alert.mail]
kind = "email"
host = "smtp.example.com"
tls = "tls"
user = "u"
password-file = "/etc/dxbackup/smtp.pw"
from = "dxbackup <dx@example.com>"
to = ["ops@example.com"]
min-severity = "critical"
repeat = "12h"

[alert.ding]
kind = "dingtalk"
url = "https://oapi.dingtalk.com/robot/send?access_token=abc"
secret-file = "/etc/dxbackup/ding.secret"

[alert.wecom]
kind = "wecom"
url-file = "/etc/dxbackup/wecom.url"

[alert.hook]
kind = "webhook"
url = "http://127.0.0.1:9/x"
method = "put"
headers = { Authorization = "Bearer x" }
body = "{{host}} {{key}}"

[alert.deadman]
kind = "ping"
url = "https://hc-ping.com/uuid"

[monitor]
grace = "30m"
space-warning = 70
space-critical = 85
"#,
        );
        assert!(ok.is_empty(), "{ok:?}");
    }

    #[test]
    fn mistakes_are_named() {
        let p = problems(
            r#"
[alert.mail]
kind = "email"
host = "smtp"
from = "not an address"
to = []
user = "u"
url = "http://x"

[alert.slack]
kind = "slack"

[alert.hook]
kind = "webhook"
url = "ftp://x"
method = "DELETE"

[monitor]
space-warning = 95
space-critical = 90
"#,
        );
        for want in [
            "alert.mail.url: `url` is not a key of kind = \"email\"",
            "alert.mail.from: `not an address` is not a mail address",
            "alert.mail.to: is empty: nobody would be told",
            "alert.mail: user and password-file go together",
            "alert.slack: needs `url` or `url-file`",
            "alert.hook.url: is not an http(s) URL",
            "alert.hook.method: `DELETE` is not GET, POST or PUT",
            "monitor.space-critical: must be at least space-warning (95) and at most 100",
        ] {
            assert!(p.iter().any(|x| x == want), "{want} not in {p:#?}");
        }
    }
}
