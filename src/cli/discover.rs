//! `dxbackup discover DATAX_HOME`: the databases behind the jobs, and the config to protect
//! the MySQL ones.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use clap::Args;
use serde::Serialize;

use super::{print_json, Exit};
use crate::datax::{parse_job, propose, DbKind, MysqlServer, Role};

#[derive(Debug, Args)]
pub struct DiscoverArgs {
    /// A DataX home (its job/ folder is read) or any folder of job JSON files
    pub datax_home: PathBuf,
}

/// One database endpoint and the jobs that use it.
#[derive(Debug, Serialize)]
pub struct Found {
    /// From the URL, or the plugin when it names the engine (`doriswriter`).
    pub kind: DbKind,
    pub host: String,
    pub port: Option<String>,
    pub database: Option<String>,
    /// `job/file.json (reader)` entries.
    pub jobs: Vec<String>,
    /// Some JDBC URL of it, credentials masked.
    pub jdbc_url: String,
}

pub fn run(global: &super::GlobalArgs, args: &DiscoverArgs) -> anyhow::Result<Exit> {
    let (found, problems) = discover(&args.datax_home)?;
    if global.json {
        print_json(&serde_json::json!({ "endpoints": found, "unreadable": problems }))?;
        return Ok(Exit::Ok);
    }
    // Every line but the proposed blocks is a comment: the whole output pastes into a config.
    println!(
        "# Databases the jobs under {} read and write (passwords masked):",
        args.datax_home.display()
    );
    for f in &found {
        println!(
            "# {} {}:{} / {}  ({})",
            f.kind,
            f.host,
            f.port.as_deref().unwrap_or("-"),
            f.database.as_deref().unwrap_or("-"),
            f.jdbc_url
        );
        for j in &f.jobs {
            println!("#     used by {j}");
        }
        if mysql_protocol_only(f.kind) {
            println!("#     a {} server speaking the MySQL protocol, not a MySQL server to dump with binlogs: no source proposed", f.kind);
        }
    }
    for p in &problems {
        println!("# skipped {p}");
    }
    let servers = mysql_servers(&found);
    if !servers.is_empty() {
        println!("\n{}", propose(&servers).trim_end());
    }
    Ok(if problems.is_empty() {
        Exit::Ok
    } else {
        Exit::Warning
    })
}

/// Engines reached through `jdbc:mysql://` that are no MySQL server.
fn mysql_protocol_only(kind: DbKind) -> bool {
    matches!(
        kind,
        DbKind::Doris | DbKind::Starrocks | DbKind::Selectdb | DbKind::Oceanbase
    )
}

/// The MySQL and MariaDB endpoints grouped by server, each database with its jobs.
fn mysql_servers(found: &[Found]) -> Vec<MysqlServer> {
    let mut servers: BTreeMap<(String, Option<String>), MysqlServer> = BTreeMap::new();
    for f in found.iter().filter(|f| f.kind.is_mysql_server()) {
        servers
            .entry((f.host.clone(), f.port.clone()))
            .or_insert_with(|| MysqlServer {
                host: f.host.clone(),
                port: f.port.clone(),
                databases: Vec::new(),
            })
            .databases
            .push((f.database.clone(), f.jobs.clone()));
    }
    servers.into_values().collect()
}

/// Reads every job under `home` (its `job/` folder when there is one).
pub fn discover(home: &Path) -> anyhow::Result<(Vec<Found>, Vec<String>)> {
    let dir = if home.join("job").is_dir() {
        home.join("job")
    } else {
        home.to_path_buf()
    };
    anyhow::ensure!(dir.is_dir(), "{} is not a folder", dir.display());
    let mut by_endpoint: BTreeMap<(String, String, Option<String>, Option<String>), Found> =
        BTreeMap::new();
    let mut problems = Vec::new();
    for e in walkdir::WalkDir::new(&dir).sort_by_file_name() {
        let e = e?;
        if !e.file_type().is_file() || e.path().extension().is_none_or(|x| x != "json") {
            continue;
        }
        let rel = e
            .path()
            .strip_prefix(home)
            .unwrap_or(e.path())
            .display()
            .to_string();
        let text = std::fs::read_to_string(e.path())?;
        let job = match parse_job(&text) {
            Ok(j) => j,
            Err(err) => {
                problems.push(format!("{rel}: {err}"));
                continue;
            }
        };
        for ep in job.endpoints() {
            let (Some(url), Some(t)) = (&ep.jdbc_url, ep.target()) else {
                continue;
            };
            let key = (
                t.kind.to_string(),
                t.host.clone(),
                t.port.clone(),
                t.database.clone(),
            );
            let f = by_endpoint.entry(key).or_insert_with(|| Found {
                kind: t.kind,
                host: t.host.clone(),
                port: t.port.clone(),
                database: t.database.clone(),
                jobs: vec![],
                jdbc_url: mask_url(url),
            });
            let role = if ep.role == Role::Reader {
                "reader"
            } else {
                "writer"
            };
            let used = format!("{rel} ({role} {})", ep.plugin);
            if !f.jobs.contains(&used) {
                f.jobs.push(used);
            }
        }
    }
    Ok((by_endpoint.into_values().collect(), problems))
}

/// Credentials some users put in the URL itself (`?password=...`, `user:pw@`) are masked.
fn mask_url(url: &str) -> String {
    let mut out = String::new();
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let base = match (base.find("://"), base.find('@')) {
        (Some(s), Some(at)) if at > s && base[s + 3..at].contains(':') => {
            let user = base[s + 3..at].split(':').next().unwrap_or_default();
            format!("{}{user}:******{}", &base[..s + 3], &base[at..])
        }
        _ => base.to_string(),
    };
    out += &base;
    if let Some(q) = query {
        let masked: Vec<String> = q
            .split('&')
            .map(|kv| match kv.split_once('=') {
                Some((k, _)) if crate::datax::is_secret_key(k) || k.eq_ignore_ascii_case("pwd") => {
                    format!("{k}=******")
                }
                _ => kv.to_string(),
            })
            .collect();
        out += "?";
        out += &masked.join("&");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_credentials_in_urls() {
        assert_eq!(
            mask_url("jdbc:mysql://db.example:3306/shop?user=u&password=p&useSSL=false"),
            "jdbc:mysql://db.example:3306/shop?user=u&password=******&useSSL=false"
        );
        assert_eq!(
            mask_url("jdbc:postgresql://u:secret@pg.example/db"),
            "jdbc:postgresql://u:******@pg.example/db"
        );
    }

    #[test]
    fn finds_the_fixture_endpoints() {
        let home = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/datax-home");
        let (found, problems) = discover(&home).unwrap();
        assert!(problems.is_empty(), "{problems:?}");
        assert!(found.iter().any(|f| f.kind == DbKind::Mysql), "{found:?}");
        assert!(
            found
                .iter()
                .any(|f| f.database.as_deref().is_some_and(|d| d.contains("${"))),
            "placeholders stay visible: {found:?}"
        );
        let text = serde_json::to_string(&found).unwrap();
        assert!(!text.to_lowercase().contains("password\":"), "{text}");
    }
}
