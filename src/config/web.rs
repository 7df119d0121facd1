//! `[web]`: where the daemon serves the dashboard, its JSON API and `/metrics`, and the file
//! holding the token that opens them. Without the section no server runs; with it the token
//! file is required (there is no anonymous dashboard), and the address stays on loopback
//! unless another is written here.

use std::net::SocketAddr;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::{is_removed, Config, Problem};

/// Where the dashboard listens unless `listen` says otherwise: this machine only.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8420";

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct WebConfig {
    /// `IP:PORT`; default 127.0.0.1:8420.
    pub listen: Option<String>,
    /// A file (mode 0600) whose first line is the token; `dxbackup web token` writes one.
    pub token_file: Option<PathBuf>,
}

impl WebConfig {
    /// The address to bind; `validate` guarantees it parses for a loaded config.
    pub fn listen(&self) -> Result<SocketAddr, String> {
        let text = self.listen.as_deref().unwrap_or(DEFAULT_LISTEN);
        text.parse()
            .map_err(|e| format!("`{text}` is not an address: {e}"))
    }
}

pub fn validate(config: &Config, problems: &mut Vec<Problem>) {
    let Some(web) = &config.web else { return };
    if let Err(e) = web.listen() {
        problems.push(
            Problem::new("web.listen", e)
                .hint("write IP:PORT, e.g. \"127.0.0.1:8420\" or \"0.0.0.0:8420\""),
        );
    }
    match &web.token_file {
        None => problems.push(
            Problem::new(
                "web",
                "missing field `token-file`: the dashboard needs a token",
            )
            .hint("token-file = \"/etc/dxbackup/web.token\", then 'dxbackup web token' creates it"),
        ),
        Some(p) if p.as_os_str().is_empty() => {
            problems.push(Problem::new("web.token-file", "must not be empty"))
        }
        Some(_) => {}
    }
}

/// The `<removed>` token file of a stored config, with what to put there.
pub fn removed(config: &Config, problems: &mut Vec<Problem>, why: &str) {
    let removed = config
        .web
        .as_ref()
        .and_then(|w| w.token_file.as_ref())
        .is_some_and(is_removed);
    if removed {
        problems.push(Problem::new(
            "web.token-file",
            format!(
                "{why}; point it at the dashboard's token file ('dxbackup web token' creates one)"
            ),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::super::check;

    const REPO: &str = "[repository.r]\nurl = \"/tmp/r\"\npassword-file = \"pw\"\n";

    #[test]
    fn listen_defaults_to_loopback_and_the_token_file_is_required() {
        let c = check(&format!("{REPO}[web]\ntoken-file = \"web.token\"\n")).unwrap();
        let web = c.web.unwrap();
        assert_eq!(web.listen().unwrap().to_string(), "127.0.0.1:8420");
        let problems = check(&format!("{REPO}[web]\nlisten = \"localhost\"\n")).unwrap_err();
        let keys: Vec<_> = problems.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(keys, ["web", "web.listen"], "{problems:?}");
        assert!(check(REPO).unwrap().web.is_none(), "no [web], no server");
    }

    #[test]
    fn the_stored_config_removes_the_token_file_and_says_what_to_supply() {
        let text = format!(
            "{REPO}[web]\nlisten = \"0.0.0.0:9000\"\ntoken-file = \"/etc/secret/web.token\"\n"
        );
        let stored = super::super::stored_text(&check(&text).unwrap());
        assert!(!stored.contains("/etc/secret"), "{stored}");
        let back = check(&stored).unwrap();
        assert_eq!(
            back.web.as_ref().unwrap().listen.as_deref(),
            Some("0.0.0.0:9000")
        );
        let problems = super::super::removed_secrets(&back, true);
        let keys: Vec<_> = problems.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(keys, ["web.token-file"], "{problems:?}");
    }
}
