//! Rules across keys that serde cannot express: one primary repository, one password source,
//! usable URLs with only the keys their kind of location reads, known tiers, compilable globs,
//! names usable as tags.

use super::{
    BucketService, Config, Databases, KnownHosts, Location, Problem, RepositoryConfig,
    SourceConfig, SourceKind,
};
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
        match src.kind {
            SourceKind::Files => files_source(&key, src, &mut problems),
            SourceKind::Mysql => mysql_source(&key, src, &mut problems),
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
    super::schedule::validate(config, &mut problems);
    super::alert::validate(config, &mut problems);
    super::web::validate(config, &mut problems);
    problems
}

fn files_source(key: &str, src: &SourceConfig, problems: &mut Vec<Problem>) {
    if src.root.is_none() {
        problems.push(Problem::new(key, "missing field `root`").hint("root = \"/opt/datax\""));
    }
    if src.include.as_ref().is_some_and(Vec::is_empty) {
        problems.push(
            Problem::new(
                format!("{key}.include"),
                "is empty, nothing would be backed up",
            )
            .hint("remove the key to use the DataX defaults (conf/ job/ plugin/ script/ hook/)"),
        );
    }
    if let Err(e) = Filter::new(&src.include(), &src.exclude()) {
        problems.push(Problem::new(format!("{key}.{}", e.key()), e.to_string()));
    }
    let foreign = [
        ("host", src.host.is_some()),
        ("port", src.port.is_some()),
        ("socket", src.socket.is_some()),
        ("user", src.user.is_some()),
        ("password-file", src.password_file.is_some()),
        ("password-env", src.password_env.is_some()),
        ("databases", src.databases.is_some()),
        ("driver", src.driver.is_some()),
        ("figures", src.figures.is_some()),
        ("binlog", src.binlog.is_some()),
        ("binlog-flush", src.binlog_flush.is_some()),
        ("restore-server", src.restore_server.is_some()),
    ];
    not_for_kind(key, "files", &foreign, problems);
}

fn mysql_source(key: &str, src: &SourceConfig, problems: &mut Vec<Problem>) {
    if src.user.is_none() {
        problems.push(Problem::new(key, "missing field `user`").hint("user = \"backup\" (needs SELECT, RELOAD, LOCK TABLES, SHOW VIEW, EVENT, TRIGGER, REPLICATION CLIENT/SLAVE)"));
    }
    if src.host.is_none() && src.socket.is_none() {
        problems.push(Problem::new(key, "needs `host` (and `port`) or `socket`"));
    }
    let local = src.socket.is_some()
        || src
            .host
            .as_deref()
            .is_some_and(|h| matches!(h, "127.0.0.1" | "localhost" | "::1"));
    if src.driver == Some(super::Driver::Mariabackup) && !local {
        problems.push(
            Problem::new(
                format!("{key}.driver"),
                "driver = \"mariabackup\" copies the server's data files, so dxbackup must run on the database host",
            )
            .hint("connect through socket = \"...\" or host = \"127.0.0.1\" on that host, or use driver = \"dump\" from here"),
        );
    }
    if src.figures.is_some() && src.driver != Some(super::Driver::Mariabackup) {
        problems.push(
            Problem::new(
                format!("{key}.figures"),
                "is for physical fulls only: dump and mydumper fulls count their tables in the dump's own snapshot",
            )
            .hint("remove it, or set driver = \"mariabackup\""),
        );
    }
    if src.figures == Some(super::FiguresAt::Drill) && src.binlog != Some(true) {
        problems.push(
            Problem::new(
                format!("{key}.figures"),
                "figures = \"drill\" needs the binlog archive: the drill replays it up to where it takes the figures",
            )
            .hint("set binlog = true, or figures = \"backup\""),
        );
    }
    if src.password_file.is_some() && src.password_env.is_some() {
        problems.push(
            Problem::new(key, "both password-file and password-env are set").hint("keep one"),
        );
    }
    if matches!(&src.databases, Some(Databases::List(v)) if v.is_empty()) {
        problems.push(
            Problem::new(format!("{key}.databases"), "is empty")
                .hint("list databases or write databases = \"all\""),
        );
    }
    if src.binlog_flush.is_some_and(|d| d.0.is_zero()) {
        problems.push(Problem::new(
            format!("{key}.binlog-flush"),
            "must be greater than zero",
        ));
    }
    let foreign = [
        ("root", src.root.is_some()),
        ("include", src.include.is_some()),
        ("exclude", src.exclude.is_some()),
    ];
    not_for_kind(key, "mysql", &foreign, problems);
}

fn not_for_kind(key: &str, kind: &str, keys: &[(&str, bool)], problems: &mut Vec<Problem>) {
    for (k, _) in keys.iter().filter(|(_, set)| *set) {
        problems.push(
            Problem::new(
                format!("{key}.{k}"),
                format!("`{k}` is not a key of kind = \"{kind}\""),
            )
            .hint("check the source's kind, or remove the key"),
        );
    }
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
        if !(-7..=22).contains(&repo.compression) {
            problems.push(
                Problem::new(
                    format!("{key}.compression"),
                    "must be a zstd level from -7 to 22",
                )
                .hint("1 (the default) is fast; 3 to 9 trade speed for space"),
            );
        }
        check_name(&key, name, problems);
        if repo.password_file.is_some() && repo.password_command.is_some() {
            problems.push(
                Problem::new(&key, "both password-file and password-command are set")
                    .hint("keep one; DXBACKUP_PASSWORD in the environment is the third way"),
            );
        }
        if repo.url.trim().is_empty() {
            problems.push(Problem::new(format!("{key}.url"), "is empty"));
            continue;
        }
        match repo.location() {
            Ok(loc) => remote_keys(&key, repo, &loc, problems),
            Err(e) => problems.push(Problem::new(format!("{key}.url"), e.message).hint(e.hint)),
        }
    }
}

/// Each remote key belongs to one kind of location; a key that would be silently ignored is
/// a mistake worth reporting.
fn remote_keys(key: &str, repo: &RepositoryConfig, loc: &Location, problems: &mut Vec<Problem>) {
    let kind = match loc {
        Location::Local(_) => "a local path",
        Location::Sftp { .. } => "an sftp:// repository",
        Location::Bucket { .. } => "a bucket",
    };
    let mut misplaced = |set: bool, field: &str, belongs: &str| {
        if set {
            problems.push(
                Problem::new(
                    format!("{key}.{field}"),
                    format!("has no meaning for {kind}"),
                )
                .hint(format!("{field} applies to {belongs}; remove it")),
            );
        }
    };
    let bucket = loc.bucket_service().is_some();
    let sftp = loc.is_sftp();
    misplaced(
        !bucket && repo.endpoint.is_some(),
        "endpoint",
        "s3://, oss://, cos://",
    );
    misplaced(
        !bucket && repo.region.is_some(),
        "region",
        "s3://, oss://, cos://",
    );
    misplaced(
        !bucket && repo.access_key_file.is_some(),
        "access-key-file",
        "s3://, oss://, cos://",
    );
    misplaced(
        loc.bucket_service() != Some(BucketService::S3) && repo.path_style.is_some(),
        "path-style",
        "s3:// (oss and cos always use virtual-host addressing)",
    );
    misplaced(!sftp && repo.ssh_key.is_some(), "ssh-key", "sftp://");
    misplaced(
        !sftp && repo.known_hosts != KnownHosts::default(),
        "known-hosts",
        "sftp://",
    );
    misplaced(
        !loc.is_remote() && repo.timeout.is_some(),
        "timeout",
        "remote repositories",
    );
    misplaced(
        !loc.is_remote() && repo.retries.is_some(),
        "retries",
        "remote repositories",
    );
    if let Some(service) = loc.bucket_service() {
        if repo.endpoint.is_none() && repo.region.is_none() {
            problems.push(
                Problem::new(key, format!("a {service}:// repository needs endpoint or region"))
                    .hint(match service {
                        BucketService::S3 => "set region = \"us-east-1\" for AWS, or endpoint = \"http://HOST:PORT\" for an S3-compatible server",
                        BucketService::Oss => "set region = \"cn-hangzhou\" or endpoint = \"https://oss-cn-hangzhou.aliyuncs.com\"",
                        BucketService::Cos => "set region = \"ap-guangzhou\" or endpoint = \"https://cos.ap-guangzhou.myqcloud.com\"",
                    }),
            );
        }
        if let Some(e) = &repo.endpoint {
            if !(e.starts_with("http://") || e.starts_with("https://")) {
                problems.push(
                    Problem::new(
                        format!("{key}.endpoint"),
                        format!("`{e}` is not an http(s) URL"),
                    )
                    .hint("write it with its scheme, e.g. https://s3.example.com"),
                );
            }
        }
    }
    if repo.timeout.is_some_and(|t| t.0.is_zero()) {
        problems.push(Problem::new(
            format!("{key}.timeout"),
            "must be greater than zero",
        ));
    }
}

pub(super) fn check_name(key: &str, name: &str, problems: &mut Vec<Problem>) {
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
