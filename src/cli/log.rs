//! `dxbackup log PATH [--show SNAP]`: the history of one file.

use std::io::Write;

use clap::Args;

use super::{bytes, print_json, Ctx, Exit};
use crate::job::log;

#[derive(Debug, Args)]
pub struct LogArgs {
    /// Path relative to the source root, e.g. job/mysql2mysql_orders.json
    pub path: String,
    /// Print the file as it was in this snapshot (JSON secrets masked)
    #[arg(long, value_name = "SNAP")]
    pub show: Option<String>,
    /// Only snapshots of this source
    #[arg(long)]
    pub source: Option<String>,
}

pub fn run(ctx: &Ctx, args: &LogArgs) -> anyhow::Result<Exit> {
    if let Some(spec) = &args.show {
        let (snap, data) = log::show(ctx, &args.path, spec, args.source.as_deref())?;
        if ctx.global.json {
            // One document: the content as text (it is JSON, a script or a config file).
            print_json(&serde_json::json!({
                "snapshot": snap.id,
                "path": args.path,
                "content": String::from_utf8_lossy(&data),
            }))?;
        } else {
            std::io::stdout().lock().write_all(&data)?;
        }
        return Ok(Exit::Ok);
    }
    let versions = log::history(ctx, &args.path, args.source.as_deref())?;
    if ctx.global.json {
        print_json(&versions)?;
    } else {
        for v in &versions {
            println!(
                "{}  {}  {:>10}  {}",
                &v.snapshot[..8],
                v.time
                    .to_zoned(jiff::tz::TimeZone::system())
                    .strftime("%Y-%m-%d %H:%M:%S"),
                v.size.map(bytes).unwrap_or_default(),
                v.state
            );
        }
        let changes = versions.iter().filter(|v| v.state != "unchanged").count();
        println!(
            "{}: {}, {}",
            args.path,
            super::count(versions.len(), "snapshot", "snapshots"),
            super::count(changes, "version", "versions")
        );
    }
    Ok(Exit::Ok)
}
