//! `dxbackup recover --from URL --password-file F ...`: disaster recovery on a fresh machine.
//! Runs without a config file: everything comes from the repository and the flags.

use std::io::IsTerminal;
use std::path::PathBuf;

use clap::Args;

use super::{bytes, print_json, Exit, GlobalArgs};
use crate::job::recover::{self, Part, RecoverMode, RecoverPlan, RecoverRequest, SourceResult};
use crate::restore::Overwrite;

#[derive(Debug, Args)]
pub struct RecoverArgs {
    /// The repository to recover from (the off-site copy): s3://BUCKET/PATH, sftp://..., a folder
    #[arg(long, value_name = "URL")]
    pub from: String,
    /// The repository's password, in a file
    #[arg(long, value_name = "FILE")]
    pub password_file: PathBuf,
    /// S3/OSS/COS keys: a file with the access key id on its first line, the secret on the second
    #[arg(long, value_name = "FILE")]
    pub access_key_file: Option<PathBuf>,
    #[arg(long)]
    pub region: Option<String>,
    /// The object store's endpoint (S3-compatible services, a local test server)
    #[arg(long, value_name = "URL")]
    pub endpoint: Option<String>,
    /// Recover the state at this second (local time) [default: the latest]
    #[arg(long, value_name = "YYYY-MM-DD HH:MM:SS")]
    pub until: Option<String>,
    /// fast: conf/ and job/ and the most critical databases first; full: everything;
    /// partial: what --only names
    #[arg(long, value_enum, default_value_t = RecoverMode::Full)]
    pub mode: RecoverMode,
    /// With --mode partial: conf, job, script, plugin, data (every database), db:SOURCE,
    /// files:SOURCE (comma-separated)
    #[arg(long, value_delimiter = ',')]
    pub only: Vec<Part>,
    /// Where the DataX home goes [default: where it was]
    #[arg(long, value_name = "DIR")]
    pub datax_home: Option<PathBuf>,
    /// Another files source's folder [default: where it was]
    #[arg(long = "root", value_name = "NAME=DIR", value_parser = parse_root)]
    pub roots: Vec<(String, PathBuf)>,
    /// Physical fulls (mariabackup): the stopped server's data directory to install into (its
    /// contents are moved aside), or with --serve a new one served by a throwaway server
    #[arg(long, value_name = "DIR", conflicts_with = "into_server")]
    pub mysql_datadir: Option<PathBuf>,
    /// With --mysql-datadir: start a throwaway mariadbd on it and leave it running
    #[arg(long, requires = "mysql_datadir")]
    pub serve: bool,
    /// Logical fulls: the running server to load the databases into, HOST:PORT or a socket
    #[arg(long, value_name = "HOST:PORT")]
    pub into_server: Option<String>,
    /// The password of the server's user, in a file (the user is the source's)
    #[arg(long, value_name = "FILE")]
    pub mysql_password_file: Option<PathBuf>,
    /// Write a config for this host (the repository, the sources where they were restored)
    #[arg(long, value_name = "FILE")]
    pub write_config: Option<PathBuf>,
    /// Replace existing files and non-empty databases
    #[arg(long)]
    pub force: bool,
    /// Connections that load a logical full at once [default: one per core]
    #[arg(long, value_name = "N")]
    pub jobs: Option<usize>,
    /// Print the plan and the estimate, change nothing
    #[arg(long)]
    pub dry_run: bool,
}

fn parse_root(s: &str) -> Result<(String, PathBuf), String> {
    let (n, d) = s.split_once('=').ok_or("use NAME=DIR")?;
    Ok((n.into(), d.into()))
}

pub fn run(global: &GlobalArgs, args: &RecoverArgs) -> anyhow::Result<Exit> {
    if args.mode == RecoverMode::Partial && args.only.is_empty() {
        anyhow::bail!("--mode partial needs --only, e.g. --only conf,job,db:shop");
    }
    if args.mode != RecoverMode::Partial && !args.only.is_empty() {
        anyhow::bail!("--only goes with --mode partial");
    }
    let req = RecoverRequest {
        from: args.from.clone(),
        password_file: args.password_file.clone(),
        access_key_file: args.access_key_file.clone(),
        region: args.region.clone(),
        endpoint: args.endpoint.clone(),
        until: args.until.clone(),
        mode: args.mode,
        only: args.only.clone(),
        datax_home: args.datax_home.clone(),
        roots: args.roots.clone(),
        mysql_datadir: args.mysql_datadir.clone(),
        serve: args.serve,
        into_server: args.into_server.clone(),
        mysql_password_file: args.mysql_password_file.clone(),
        state_dir: global
            .state_dir
            .clone()
            .unwrap_or_else(super::context::default_state_dir),
        write_config: args.write_config.clone(),
        overwrite: if args.force {
            Overwrite::Always
        } else {
            Overwrite::default()
        },
        jobs: args.jobs,
        dry_run: args.dry_run,
    };
    let prepared = recover::prepare(&req)?;
    if !global.json {
        print_plan(&prepared.plan);
    }
    if args.dry_run {
        if global.json {
            print_json(&serde_json::json!({ "plan": prepared.plan, "dry_run": true }))?;
        } else {
            println!("dry run: nothing was written");
        }
        return Ok(if prepared.plan.refused.is_empty() {
            Exit::Ok
        } else {
            Exit::Warning
        });
    }
    let live = !global.json && !global.quiet && std::io::stderr().is_terminal();
    let on_done = |r: &SourceResult| {
        if live {
            eprintln!("  {} {}", if r.ok { "done" } else { "FAILED" }, r.source);
        }
    };
    let outcome = recover::execute(&prepared, &on_done)?;
    if global.json {
        print_json(&serde_json::json!({ "plan": prepared.plan, "outcome": outcome }))?;
    } else {
        print_outcome(&outcome);
    }
    Ok(if outcome.ok { Exit::Ok } else { Exit::Warning })
}

fn print_plan(p: &RecoverPlan) {
    println!(
        "recovery plan ({:?} mode) from {}, config of snapshot {}{}",
        p.mode,
        p.repository,
        &p.config_from[..8.min(p.config_from.len())],
        p.until
            .as_ref()
            .map_or(String::new(), |u| format!(", to {u}"))
    );
    for s in &p.steps {
        let est = match (s.estimate_secs, &s.estimate_from) {
            (Some(e), Some(from)) => format!("~{e:.0} s (from the {from})"),
            _ => "no drill recorded".into(),
        };
        let what = match &s.chain {
            Some(c) => format!(
                "full {} + {} binlog file(s)",
                c.full.short(),
                c.binlogs.len()
            ),
            None => format!("snapshot {}", &s.snapshot[..8.min(s.snapshot.len())]),
        };
        println!(
            "  {}{} [{} tier, RTO {}]: {what} of {}, {} -> {}; {est}",
            if s.first { "* " } else { "  " },
            s.source,
            s.tier,
            human(s.rto_target_secs),
            s.snapshot_time,
            bytes(s.bytes),
            s.target
        );
    }
    for r in &p.refused {
        println!("  ! {}: {}", r.source, r.error);
    }
    if let Some(e) = p.estimate_secs {
        println!("estimated time: ~{e:.0} s (files and databases side by side)");
    }
}

fn print_outcome(o: &recover::RecoverOutcome) {
    for r in &o.results {
        if r.ok {
            println!(
                "  ok      {}: usable after {:.1} s ({} RTO {}): {}",
                r.source,
                r.usable_after_secs.unwrap_or(r.done_after_secs),
                if r.within_rto {
                    "inside the"
                } else {
                    "OVER the"
                },
                human(r.rto_target_secs),
                r.detail
            );
        } else {
            println!(
                "  FAILED  {}: {}",
                r.source,
                r.error.as_deref().unwrap_or("?")
            );
        }
    }
    println!(
        "recovered {} of {} in {:.1} s{}{}",
        o.results.iter().filter(|r| r.ok).count(),
        o.results.len(),
        o.total_secs,
        if o.rto_recorded {
            "; the times were recorded in the repository"
        } else {
            ""
        },
        o.config_written.as_ref().map_or(String::new(), |p| format!(
            "; config written to {}",
            p.display()
        ))
    );
}

/// `1h`, `15m`, `90s`: an RTO target as the config writes it.
fn human(secs: f64) -> String {
    crate::config::HumanDuration(std::time::Duration::from_secs(secs.round() as u64)).to_string()
}
