//! `dxbackup restore-db SOURCE --into DB [--until T | --until-gtid G | --until-position F:P]`

use clap::Args;

use super::{bytes, count, print_json, Ctx, Exit};
use crate::job::restore_db::{self, parse_until, RestoreDbRequest};
use crate::source::mysql::chain::local;
use crate::source::mysql::replay::{Chain, Until};

#[derive(Debug, Args)]
pub struct RestoreDbArgs {
    /// The mysql source to restore from
    pub source: String,
    /// Database to restore into (created; an existing non-empty one needs --force)
    #[arg(long)]
    pub into: String,
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
    /// Replace a non-empty target database
    #[arg(long)]
    pub force: bool,
    /// Print the chain, change nothing
    #[arg(long)]
    pub dry_run: bool,
}

pub fn run(ctx: &Ctx, args: &RestoreDbArgs) -> anyhow::Result<Exit> {
    let req = RestoreDbRequest {
        source: args.source.clone(),
        into: args.into.clone(),
        database: args.database.clone(),
        until: parse_until(
            args.until.as_deref(),
            args.until_gtid.as_deref(),
            args.until_position.as_deref(),
        )?,
        server: args.server.clone(),
        force: args.force,
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
    } else {
        for (t, n) in &o.tables {
            println!("  {t}: {n} rows");
        }
        println!(
            "restored `{}` into `{}` on {} in {:.1} s ({})",
            o.source_database,
            o.database,
            o.server,
            o.duration_secs,
            count(o.tables.len(), "table", "tables")
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
