//! Telling people: the `[alert.NAME]` channels behind one trait, each rendering a
//! [`Message`] its own way (mail text + HTML, DingTalk/WeCom markdown, Slack mrkdwn, JSON),
//! sent with retries and backoff inside the channel's `timeout`, every channel at once on its
//! own thread, so a channel that fails (SMTP refused, webhook 500, DNS) delays nothing by
//! more than its timeout and fails nothing: it is logged, recorded, and tried again next time.
//!
//! Secrets (SMTP passwords, robot URLs and signing secrets) are read from their files when a
//! channel is built and kept inside it: errors name the channel and the file, never a value,
//! and HTTP errors are stripped of their URL.

mod deliver;
mod email;
mod http;
pub mod render;

use std::path::{Path, PathBuf};
use std::time::Duration;

pub use deliver::{deliver, ping, Delivery, PingPhase};
pub use render::Message;

use crate::config::{AlertConfig, AlertKind, Config};

#[derive(Debug, thiserror::Error)]
pub enum AlertError {
    #[error("channel `{channel}`: cannot read its {what} {path}: {cause}; check that the file exists and that dxbackup may read it")]
    Secret {
        channel: String,
        what: &'static str,
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("channel `{channel}`: its {what} {path} is empty; write the value on the first line")]
    EmptySecret {
        channel: String,
        what: &'static str,
        path: PathBuf,
    },
    #[error("channel `{channel}`: {message}")]
    Setup { channel: String, message: String },
    #[error("channel `{channel}`: {message}")]
    Send { channel: String, message: String },
    #[error(
        "channel `{channel}`: no answer within {timeout:?}; check that the server is reachable"
    )]
    Timeout { channel: String, timeout: Duration },
}

/// A way of telling. `send` makes one attempt within `timeout`; retries are the caller's.
pub trait Channel: Send + Sync {
    fn name(&self) -> &str;
    fn kind(&self) -> AlertKind;
    fn send(&self, message: &Message, timeout: Duration) -> Result<(), AlertError>;
    /// A dead man's switch's ping (`/start`, `/fail`, or `""` for success); others ignore it.
    fn ping(&self, _suffix: &str, _timeout: Duration) -> Result<(), AlertError> {
        Ok(())
    }
}

/// A channel with its sending rules.
pub struct Configured {
    pub channel: Box<dyn Channel>,
    pub config: AlertConfig,
}

/// The first line of a secret file.
fn read_secret(channel: &str, what: &'static str, path: &Path) -> Result<String, AlertError> {
    let text = std::fs::read_to_string(path).map_err(|cause| AlertError::Secret {
        channel: channel.into(),
        what,
        path: path.to_path_buf(),
        cause,
    })?;
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#'));
    line.map(str::to_string)
        .ok_or_else(|| AlertError::EmptySecret {
            channel: channel.into(),
            what,
            path: path.to_path_buf(),
        })
}

/// The channel's URL: `url`, or the first line of `url-file`.
fn url_of(name: &str, a: &AlertConfig, config: &Config) -> Result<String, AlertError> {
    match (&a.url, &a.url_file) {
        (_, Some(f)) => read_secret(name, "url-file", &config.resolve_path(f)),
        (Some(u), None) if !crate::config::is_removed(u) => Ok(u.clone()),
        _ => Err(AlertError::Setup {
            channel: name.into(),
            message: "has no usable url; set url or url-file".into(),
        }),
    }
}

/// Builds one channel, reading its secrets: what `config check` proves works.
pub fn build(name: &str, a: &AlertConfig, config: &Config) -> Result<Box<dyn Channel>, AlertError> {
    let secret = |what: &'static str, p: &Option<PathBuf>| {
        p.as_ref()
            .map(|p| read_secret(name, what, &config.resolve_path(p)))
            .transpose()
    };
    Ok(match a.kind {
        AlertKind::Email => Box::new(email::Email::new(
            name,
            a,
            secret("password-file", &a.password_file)?,
            a.ca_file
                .as_ref()
                .map(|p| {
                    let p = config.resolve_path(p);
                    std::fs::read(&p).map_err(|cause| AlertError::Secret {
                        channel: name.into(),
                        what: "ca-file",
                        path: p,
                        cause,
                    })
                })
                .transpose()?,
        )?),
        kind => Box::new(http::Http::new(
            name,
            kind,
            a,
            url_of(name, a, config)?,
            secret("secret-file", &a.secret_file)?,
        )?),
    })
}

/// Every configured channel that could be built; the others are returned as errors (a
/// broken channel must not keep the working ones silent).
pub fn channels(config: &Config) -> (Vec<Configured>, Vec<AlertError>) {
    let mut ok = Vec::new();
    let mut bad = Vec::new();
    for (name, a) in &config.alert {
        match build(name, a, config) {
            Ok(channel) => ok.push(Configured {
                channel,
                config: a.clone(),
            }),
            Err(e) => bad.push(e),
        }
    }
    (ok, bad)
}
