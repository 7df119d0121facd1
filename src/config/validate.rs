//! Rules across keys that serde cannot express: one primary repository, one password source,
//! known tiers, compilable globs, names usable as tags.

use super::{Config, Problem};
use crate::source::files::Filter;

/// Every semantic problem of a parsed config (empty when it is usable).
pub fn validate(config: &Config) -> Vec<Problem> {
    let mut problems = Vec::new();
    repositories(config, &mut problems);
    for (name, src) in &config.source {
        let key = format!("source.{name}");
        check_name(&key, name, &mut problems);
        if !config.tier.contains_key(&src.tier) {
            let known: Vec<_> = config.tier.keys().map(String::as_str).collect();
            problems.push(
                Problem::new(
                    format!("{key}.tier"),
                    format!("unknown tier `{}`", src.tier),
                )
                .hint(format!(
                    "use one of {} or define [tier.{}]",
                    known.join(", "),
                    src.tier
                )),
            );
        }
        if src.include.is_empty() {
            problems.push(
                Problem::new(
                    format!("{key}.include"),
                    "is empty, nothing would be backed up",
                )
                .hint(
                    "remove the key to use the DataX defaults (conf/ job/ plugin/ script/ hook/)",
                ),
            );
        }
        if let Err(e) = Filter::new(&src.include, &src.exclude) {
            problems.push(Problem::new(format!("{key}.{}", e.key()), e.to_string()));
        }
    }
    for (name, tier) in &config.tier {
        if tier.rpo.0.is_zero() || tier.rto.0.is_zero() {
            problems.push(Problem::new(
                format!("tier.{name}"),
                "rto and rpo must be greater than zero",
            ));
        }
    }
    if config.stats.warn_min_mb_per_s < 0.0 {
        problems.push(Problem::new(
            "stats.warn-min-mb-per-s",
            "must not be negative",
        ));
    }
    problems
}

fn repositories(config: &Config, problems: &mut Vec<Problem>) {
    if config.repository.is_empty() {
        problems.push(Problem::new("repository", "no repository configured").hint(
            "add [repository.local] with url = \"/backup/dxbackup\" and password-file = \"...\"",
        ));
    }
    let primaries: Vec<_> = config
        .repository
        .iter()
        .filter(|(_, r)| r.primary)
        .map(|(n, _)| n.as_str())
        .collect();
    if config.repository.len() > 1 && primaries.len() != 1 {
        let msg = if primaries.is_empty() {
            "several repositories but none has primary = true".to_string()
        } else {
            format!("several repositories are primary: {}", primaries.join(", "))
        };
        problems.push(
            Problem::new("repository", msg)
                .hint("mark exactly one with primary = true; the others receive copies"),
        );
    }
    for (name, repo) in &config.repository {
        let key = format!("repository.{name}");
        check_name(&key, name, problems);
        if repo.password_file.is_some() && repo.password_command.is_some() {
            problems.push(
                Problem::new(&key, "both password-file and password-command are set")
                    .hint("keep one; DXBACKUP_PASSWORD in the environment is the third way"),
            );
        }
        if repo.url.trim().is_empty() {
            problems.push(Problem::new(format!("{key}.url"), "is empty"));
        } else if let Some((scheme, _)) = repo.url.split_once("://") {
            problems.push(
                Problem::new(format!("{key}.url"), format!("`{scheme}://` repositories are not supported by this build"))
                    .hint("use a local path (a NAS mount works); SFTP and S3-family targets come with the targets feature"),
            );
        }
    }
}

fn check_name(key: &str, name: &str, problems: &mut Vec<Problem>) {
    let ok = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !ok {
        problems.push(
            Problem::new(
                key,
                format!("name `{name}` may only hold letters, digits, `-` and `_`"),
            )
            .hint("names become snapshot tags such as source:NAME"),
        );
    }
}
