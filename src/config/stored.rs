//! The copy of the config stored in every snapshot, where a bare-metal restore starts.
//!
//! It must be a config `config check` accepts once the user supplies what was taken out: every
//! key the user wrote is written back, nothing is added that the parser rejects, and where a
//! secret's source was, `<removed>` stands, which `config check` names with what to supply.

use std::ffi::OsStr;
use std::path::PathBuf;

use super::{Config, Problem, SourceKind};

/// What stands where a secret's source was.
pub const REMOVED: &str = "<removed>";

/// Whether a path or command is the `<removed>` of a stored config.
pub fn is_removed(value: impl AsRef<OsStr>) -> bool {
    value.as_ref() == REMOVED
}

/// Said first, so whoever restores from this file knows what it lacks.
const HEADER: &str =
    "# The config of this backup, stored by dxbackup in the snapshot. Where <removed>\n\
# stands, supply the secret's source again; `dxbackup -c THIS_FILE config check` names each.\n\n";

const WHY: &str = "removed when this config was stored in the snapshot";

/// The config as TOML with the sources of secrets (password files and commands, bucket keys,
/// SSH keys) replaced by `<removed>`: it tells how the backups were made, not how to unlock
/// them.
pub fn stored_text(config: &Config) -> String {
    let mut c = config.clone();
    let removed = || Some(PathBuf::from(REMOVED));
    for r in c.repository.values_mut() {
        if r.password_file.is_some() {
            r.password_file = removed();
        }
        if r.password_command.is_some() {
            r.password_command = Some(REMOVED.into());
        }
        if r.access_key_file.is_some() {
            r.access_key_file = removed();
        }
        if r.ssh_key.is_some() {
            r.ssh_key = removed();
        }
    }
    for s in c.source.values_mut() {
        if s.password_file.is_some() {
            s.password_file = removed();
        }
    }
    for a in c.alert.values_mut() {
        remove_alert_secrets(a);
    }
    if let Some(t) = c.web.as_mut().and_then(|w| w.token_file.as_mut()) {
        *t = PathBuf::from(REMOVED);
    }
    // Serialization cannot fail for these types (tests serialize every example); should it
    // ever, the snapshot says so rather than storing an empty file.
    match toml::to_string(&c) {
        Ok(text) => format!("{HEADER}{text}"),
        Err(e) => format!("# the config could not be stored: {e}\n"),
    }
}

/// An alert channel's secrets and where they come from: the SMTP password file, the robot's
/// signing secret, every URL (robots, Slack and ping URLs are their own keys), header values
/// (an `Authorization` header).
fn remove_alert_secrets(a: &mut super::AlertConfig) {
    let removed = || Some(PathBuf::from(REMOVED));
    if a.password_file.is_some() {
        a.password_file = removed();
    }
    if a.secret_file.is_some() {
        a.secret_file = removed();
    }
    if a.url_file.is_some() {
        a.url_file = removed();
    }
    if a.url.is_some() {
        a.url = Some(REMOVED.into());
    }
    for v in a.headers.iter_mut().flat_map(|h| h.values_mut()) {
        *v = REMOVED.into();
    }
}

/// One problem per `<removed>` key of a stored config, saying what to put there.
/// `env_password`: DXBACKUP_PASSWORD is set, which unlocks a repository whose password source
/// was removed.
pub fn removed_secrets(config: &Config, env_password: bool) -> Vec<Problem> {
    let mut problems = Vec::new();
    let mut removed = |key: String, supply: String| {
        problems.push(Problem::new(key, format!("{WHY}; {supply}")));
    };
    for (name, r) in &config.repository {
        let key = |k: &str| format!("repository.{name}.{k}");
        if !env_password && r.password_file.as_ref().is_some_and(is_removed) {
            removed(
                key("password-file"),
                "point it at the file holding the repository password, or set DXBACKUP_PASSWORD"
                    .into(),
            );
        }
        if !env_password && r.password_command.as_ref().is_some_and(is_removed) {
            removed(
                key("password-command"),
                "write the command that prints the repository password, or set DXBACKUP_PASSWORD"
                    .into(),
            );
        }
        if r.access_key_file.as_ref().is_some_and(is_removed) {
            removed(
                key("access-key-file"),
                "point it at the file holding the bucket's KEY_ID:SECRET, or delete the line to take the keys from the environment".into(),
            );
        }
        if r.ssh_key.as_ref().is_some_and(is_removed) {
            removed(
                key("ssh-key"),
                "point it at the private key that logs in to the server, or delete the line to use ssh's own".into(),
            );
        }
    }
    for (name, a) in &config.alert {
        let key = |k: &str| format!("alert.{name}.{k}");
        let files = [
            (
                "password-file",
                &a.password_file,
                "point it at the file holding the SMTP password",
            ),
            (
                "secret-file",
                &a.secret_file,
                "point it at the file holding the robot's signing secret (SEC...)",
            ),
            (
                "url-file",
                &a.url_file,
                "point it at the file holding the channel's URL",
            ),
        ];
        for (k, v, what) in files {
            if v.as_ref().is_some_and(is_removed) {
                removed(key(k), what.into());
            }
        }
        if a.url.as_ref().is_some_and(is_removed) {
            removed(
                key("url"),
                "write the channel's URL, or use url-file".into(),
            );
        }
        let headers = a.headers.iter().flatten().filter(|(_, v)| is_removed(v));
        for (h, _) in headers {
            removed(
                key(&format!("headers.{h}")),
                "write the header's value".into(),
            );
        }
    }
    for (name, s) in &config.source {
        if s.kind == SourceKind::Mysql && s.password_file.as_ref().is_some_and(is_removed) {
            let user = s.user.as_deref().unwrap_or("backup");
            removed(
                format!("source.{name}.password-file"),
                format!("point it at the file holding the MySQL password of `{user}`, or replace it by password-env = \"VARIABLE\""),
            );
        }
    }
    super::web::removed(config, &mut problems, WHY);
    problems
}

#[cfg(test)]
mod tests {
    use super::super::{check, parse};
    use super::*;
    use std::path::Path;

    /// Every kind of key a user writes, secrets included.
    const FULL: &str = r#"
host = "etl-01"

[repository.local]
url = "/backup/dx"
primary = true
password-file = "/etc/dxbackup/pw"
medium = "disk"
auto-init = true
compression = 3

[repository.local.retention]
keep-daily = 3

[repository.nas]
url = "sftp://backup@nas:22/srv/dx"
password-command = "pass show dx"
ssh-key = "/etc/dxbackup/id_ed25519"
known-hosts = "add"
medium = "nas"
timeout = "120s"
retries = 3

[repository.cloud]
url = "s3://bucket/prefix"
endpoint = "http://127.0.0.1:9000"
path-style = true
access-key-file = "/etc/dxbackup/s3.keys"
medium = "cloud"
offsite = true

[source.datax]
kind = "files"
root = "/opt/datax"
include = ["conf/", "job/*.json"]
exclude = ["*.hprof"]
tier = "gold"

[source.shop]
kind = "mysql"
host = "db1"
port = 3307
user = "backup"
password-file = "/etc/dxbackup/shop.password"
databases = "all"
driver = "mydumper"
binlog = true
binlog-flush = "10s"
restore-server = "127.0.0.1:3308"
tier = "critical"

[source.dw]
kind = "mysql"
socket = "/run/mysqld/mysqld.sock"
user = "backup"
password-env = "DW_PASSWORD"
databases = ["dw", "crm"]

[tier.gold]
rto = "2h"
rpo = "30m"

[retention]
keep-last = 10
keep-hourly = 24
keep-yearly = 3

[stats]
warn-avg-duration = "2h"
warn-min-mb-per-s = 5.5
speed-min-bytes = 1048576

[schedule.nightly]
cron = "0 2 * * *"
job = "run"
sources = ["datax", "shop"]
mode = "light"
timeout = "6h"

[schedule.check]
cron = "0 0 9 * * 1"
job = "verify"
read-data = "2.5%"

[load]
light-above = 0.8
minimal-above = 2.5
max-defer = "12h"

[alert.mail]
kind = "email"
host = "smtp.example.com"
user = "dx"
password-file = "/etc/dxbackup/smtp.pw"
from = "dx@example.com"
to = ["ops@example.com"]

[alert.ding]
kind = "dingtalk"
url = "https://oapi.dingtalk.com/robot/send?access_token=tok"
secret-file = "/etc/dxbackup/ding.secret"

[alert.hook]
kind = "webhook"
url-file = "/etc/dxbackup/hook.url"
headers = { Authorization = "Bearer tok" }

[monitor]
grace = "30m"
space-critical = 95.0
"#;

    const SECRETS: [&str; 10] = [
        "repository.local.password-file",
        "repository.nas.password-command",
        "repository.nas.ssh-key",
        "repository.cloud.access-key-file",
        "source.shop.password-file",
        "alert.mail.password-file",
        "alert.ding.url",
        "alert.ding.secret-file",
        "alert.hook.url-file",
        "alert.hook.headers.Authorization",
    ];

    /// Every leaf key of a TOML document, dotted, with its value.
    fn leaves(prefix: &str, v: &toml::Value, out: &mut Vec<(String, toml::Value)>) {
        match v {
            toml::Value::Table(t) => {
                for (k, v) in t {
                    let key = if prefix.is_empty() {
                        k.clone()
                    } else {
                        format!("{prefix}.{k}")
                    };
                    leaves(&key, v, out);
                }
            }
            _ => out.push((prefix.to_string(), v.clone())),
        }
    }

    fn stored_of(text: &str) -> String {
        stored_text(&parse(text).unwrap())
    }

    #[test]
    fn the_stored_config_keeps_every_key_and_parses_back() {
        let stored = stored_of(FULL);
        let config = check(&stored).unwrap_or_else(|p| panic!("{p:?}\n{stored}"));
        assert_eq!(
            stored_text(&config),
            stored,
            "reading it back changes nothing"
        );
        let doc: toml::Value = toml::from_str(&stored).unwrap();
        let mut original = Vec::new();
        leaves("", &toml::from_str(FULL).unwrap(), &mut original);
        let mut kept = Vec::new();
        leaves("", &doc, &mut kept);
        for (key, value) in &original {
            let (_, now) = kept
                .iter()
                .find(|(k, _)| k == key)
                .unwrap_or_else(|| panic!("{key} lost:\n{stored}"));
            if SECRETS.contains(&key.as_str()) {
                assert_eq!(now.as_str(), Some(REMOVED), "{key}");
            } else if value
                .as_str()
                .is_some_and(|s| humantime::parse_duration(s).is_ok())
            {
                assert_eq!(
                    humantime::parse_duration(now.as_str().unwrap()).ok(),
                    humantime::parse_duration(value.as_str().unwrap()).ok(),
                    "{key}"
                );
            } else {
                assert_eq!(now, value, "{key}");
            }
        }
        assert!(
            !stored.contains("/etc/dxbackup")
                && !stored.contains("pass show")
                && !stored.contains("tok"),
            "{stored}"
        );
    }

    #[test]
    fn every_removed_key_is_named_with_what_to_supply() {
        let config = parse(&stored_of(FULL)).unwrap();
        let problems = removed_secrets(&config, false);
        let keys: Vec<_> = problems.iter().map(|p| p.key.as_str()).collect();
        let mut want = SECRETS.to_vec();
        want.sort();
        let mut got = keys.clone();
        got.sort();
        assert_eq!(got, want);
        let pw = &problems[problems.iter().position(|p| p.key == SECRETS[0]).unwrap()];
        assert_eq!(
        pw.message,
        "removed when this config was stored in the snapshot; point it at the file holding the repository password, or set DXBACKUP_PASSWORD"
    );
        // DXBACKUP_PASSWORD supplies the repository passwords, not the other secrets.
        let keys: Vec<_> = removed_secrets(&config, true)
            .into_iter()
            .map(|p| p.key)
            .collect();
        assert_eq!(keys.len(), 8, "{keys:?}");
        assert!(removed_secrets(&parse(FULL).unwrap(), false).is_empty());
    }

    #[test]
    fn the_examples_are_stored_usably() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "toml") {
                let stored = stored_text(&super::super::load(&path).unwrap());
                check(&stored).unwrap_or_else(|p| panic!("{}: {p:?}\n{stored}", path.display()));
                assert!(!stored.contains("path ="), "{stored}");
            }
        }
    }
}
