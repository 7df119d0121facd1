//! `dxbackup restore-db SOURCE --into DB [--until T | --until-gtid G | --until-position F:P]`

use clap::Args;

use super::{bytes, count, print_json, Ctx, Exit};
use crate::job::restore_db::{self, parse_until, RestoreDbRequest};
use crate::source::mysql::chain::local;
use crate::source::mysql::replay::parallel::default_jobs;
use crate::source::mysql::replay::{Chain, Until};

#[derive(Debug, Args)]
pub struct RestoreDbArgs {
    /// The mysql source to restore from
    pub source: String,
    /// Database to restore into (created; an existing non-empty one needs --force)
    #[arg(long, required_unless_present = "datadir", conflicts_with = "datadir")]
    pub into: Option<String>,
    /// Physical fulls (driver = "mariabackup"): the data directory to restore the whole
    /// server into, with --serve (a new directory, a throwaway server on a free port) or
    /// --force (a stopped server's directory; its old contents are moved aside)
    #[arg(long, value_name = "DIR")]
    pub datadir: Option<std::path::PathBuf>,
    /// With --datadir: start a throwaway mariadbd on the restored directory and leave it
    /// running (prints how to connect)
    #[arg(long, requires = "datadir")]
    pub serve: bool,
    /// Which database of the backup, when the source holds several
    #[arg(long)]
    pub database: Option<String>,
    /// Restore to this local time, every transaction of that second included
    #[arg(long, value_name = "YYYY-MM-DD HH:MM:SS", conflicts_with_all = ["until_gtid", "until_position"])]
    pub until: Option<String>,
    /// Restore up to and including this GTID (MariaDB), e.g. 0-1-1234
    #[arg(long, value_name = "GTID", conflicts_with = "until_position")]
    pub until_gtid: Option<String>,
    /// Restore up to this binlog position, e.g. mysql-bin.000042:1337
    #[arg(long, value_name = "FILE:POS")]
    pub until_position: Option<String>,
    /// Restore into another server than the source's, HOST:PORT or a socket path
    #[arg(long)]
    pub server: Option<String>,
    /// Replace a non-empty target database (with --datadir: replace a stopped server's
    /// data directory)
    #[arg(long)]
    pub force: bool,
    /// Connections that load the full at once [default: one per core]; 1 loads the dump in
    /// one session, as `mariadb < dump` does
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub jobs: Option<u16>,
    /// Print the chain, change nothing
    #[arg(long)]
    pub dry_run: bool,
}

pub fn run(ctx: &Ctx, args: &RestoreDbArgs) -> anyhow::Result<Exit> {
    let jobs = args.jobs.map_or_else(default_jobs, usize::from);
    let req = RestoreDbRequest {
        source: args.source.clone(),
        into: args.into.clone().unwrap_or_default(),
        database: args.database.clone(),
        until: parse_until(
            args.until.as_deref(),
            args.until_gtid.as_deref(),
            args.until_position.as_deref(),
        )?,
        server: args.server.clone(),
        force: args.force,
        datadir: args.datadir.clone(),
        serve: args.serve,
        jobs: Some(jobs),
    };
    // Proven or refused: a chain that cannot reach the target is an error naming what is
    // missing and the latest time that can be restored exactly.
    let plan = restore_db::plan(ctx, &req)?;
    if args.dry_run {
        if ctx.global.json {
            print_json(&plan.chain)?;
        } else {
            print_chain(&plan.chain);
        }
        return Ok(Exit::Ok);
    }
    if !ctx.global.json {
        print_chain(&plan.chain);
    }
    let o = restore_db::restore(ctx, &req, &plan)?;
    if ctx.global.json {
        print_json(&o)?;
    } else if let Some(p) = &o.physical {
        for (t, n) in &o.tables {
            println!("  {t}: {n} rows");
        }
        match (p.port, p.pid) {
            (Some(port), Some(pid)) => println!(
                "restored the server into {} in {:.1} s; a throwaway mariadbd (pid {pid}) serves it on 127.0.0.1:{port}\n  connect: mariadb -h 127.0.0.1 -P {port} -u USER -p   (the source server's own users)\n  stop:    kill {pid}",
                p.datadir.display(),
                o.duration_secs
            ),
            _ => println!(
                "restored the server into {} in {:.1} s (stopped; start your server on it){}",
                p.datadir.display(),
                o.duration_secs,
                p.moved_aside.as_ref().map_or(String::new(), |a| format!(
                    "; its previous contents are in {}",
                    a.display()
                ))
            ),
        }
    } else {
        for (t, n) in &o.tables {
            println!("  {t}: {n} rows");
        }
        println!(
            "restored `{}` into `{}` on {} in {:.1} s ({}, loaded on {})",
            o.source_database,
            o.database,
            o.server,
            o.duration_secs,
            count(o.tables.len(), "table", "tables"),
            count(o.connections.unwrap_or(jobs), "connection", "connections")
        );
        if o.row_counts_checked {
            println!("row counts match the backup's manifest");
        }
    }
    Ok(Exit::Ok)
}

pub fn print_chain(c: &Chain) {
    let coords = c
        .full
        .binlog
        .as_ref()
        .map_or("no binlog coordinates".into(), |b| {
            format!("{}:{}", b.file, b.position)
        });
    println!(
        "full {} taken {} ({coords}, GTID {})",
        c.full.short(),
        local(c.full.at),
        c.full.gtid.as_deref().unwrap_or("-")
    );
    for b in &c.binlogs {
        println!(
            "  + {} ({} in {}, events {} .. {}{})",
            b.file,
            bytes(b.size),
            super::count(b.parts.len(), "part", "parts"),
            b.first_event.map(local).unwrap_or_default(),
            b.last_event.map(local).unwrap_or_default(),
            if b.closed { "" } else { ", the archive's end" }
        );
    }
    let stop = match &c.until {
        Until::Latest => format!("the last archived event, {}", local(c.reaches)),
        Until::Time(t) => format!("{} (inclusive)", local(*t)),
        Until::Gtid(g) => format!("GTID {g} (inclusive)"),
        Until::Position(p) => format!("{}:{}", p.file, p.position),
    };
    println!("stops at {stop}");
}
