//! The world-touching half of a remote repository's config: credentials from the
//! `access-key-file` or the environment, the SSH key's path. Secrets go into `Password`s and
//! are never logged or printed.

use std::path::Path;
use std::time::Duration;

use anyhow::{bail, Context as _};

use super::super::{BucketService, Config, Location, RepositoryConfig};
use crate::repo::{Password, RemoteOptions};

/// The environment variables holding a bucket service's key id and secret.
pub fn credential_env(service: BucketService) -> (&'static str, &'static str) {
    match service {
        BucketService::S3 => ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"),
        BucketService::Oss => (
            "ALIBABA_CLOUD_ACCESS_KEY_ID",
            "ALIBABA_CLOUD_ACCESS_KEY_SECRET",
        ),
        BucketService::Cos => ("TENCENTCLOUD_SECRET_ID", "TENCENTCLOUD_SECRET_KEY"),
    }
}

pub fn options(
    config: &Config,
    name: &str,
    r: &RepositoryConfig,
    location: &Location,
) -> anyhow::Result<RemoteOptions> {
    let mut opts = RemoteOptions {
        endpoint: r.endpoint.clone(),
        region: r.region.clone(),
        path_style: r.path_style,
        known_hosts: r.known_hosts.into(),
        ..RemoteOptions::default()
    };
    if let Some(t) = r.timeout {
        opts.timeout = t.0;
    }
    if let Some(n) = r.retries {
        opts.retries = n as usize;
    }
    opts.timeout = opts.timeout.max(Duration::from_secs(1));
    if let Some(key) = &r.ssh_key {
        let key = config.resolve_path(key);
        if !key.is_file() {
            bail!(
                "repository `{name}`: ssh-key {} does not exist; fix repository.{name}.ssh-key",
                key.display()
            );
        }
        opts.ssh_key = Some(key);
    }
    if let Some(service) = location.bucket_service() {
        opts.credentials = Some(match &r.access_key_file {
            Some(file) => read_key_file(name, &config.resolve_path(file))?,
            None => from_env(name, service)?,
        });
    }
    Ok(opts)
}

/// `KEY_ID:SECRET` on one line, or the id on the first line and the secret on the second.
fn read_key_file(name: &str, file: &Path) -> anyhow::Result<(String, Password)> {
    let text = std::fs::read_to_string(file).with_context(|| {
        format!(
            "repository `{name}`: cannot read access-key-file {}",
            file.display()
        )
    })?;
    parse_key_file(&text).with_context(|| {
        format!(
            "repository `{name}`: access-key-file {} must hold KEY_ID:SECRET, or the id and the secret on two lines",
            file.display()
        )
    })
}

fn parse_key_file(text: &str) -> anyhow::Result<(String, Password)> {
    let mut lines = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'));
    let (id, secret) = match (lines.next(), lines.next()) {
        (Some(first), None) => first.split_once(':').unwrap_or((first, "")),
        (Some(first), Some(second)) => (first, second),
        _ => ("", ""),
    };
    if id.trim().is_empty() || secret.trim().is_empty() {
        bail!("key id or secret missing");
    }
    Ok((id.trim().to_string(), Password::new(secret.trim())))
}

fn from_env(name: &str, service: BucketService) -> anyhow::Result<(String, Password)> {
    let (id_var, secret_var) = credential_env(service);
    let get = |v: &str| std::env::var(v).ok().filter(|s| !s.is_empty());
    match (get(id_var), get(secret_var)) {
        (Some(id), Some(secret)) => Ok((id, Password::new(secret))),
        _ => bail!(
            "repository `{name}` has no credentials: set access-key-file in [repository.{name}], or {id_var} and {secret_var} in the environment"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case::one_line("AKID:s3cr3t\n", "AKID")]
    #[case::two_lines("AKID\ns3cr3t\n", "AKID")]
    #[case::comments_and_blanks("# bucket keys\n\nAKID\n  s3cr3t  \n", "AKID")]
    fn key_files(#[case] text: &str, #[case] id: &str) {
        let (got, secret) = parse_key_file(text).unwrap();
        assert_eq!(got, id);
        assert_eq!(secret.expose(), "s3cr3t");
    }

    #[rstest]
    #[case("")]
    #[case("AKID\n")]
    #[case("AKID:\n")]
    #[case(":secret\n")]
    fn bad_key_files(#[case] text: &str) {
        assert!(parse_key_file(text).is_err());
    }
}
