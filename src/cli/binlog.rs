//! `dxbackup binlog SOURCE`: the continuous binlog archiver, in the foreground. It starts
//! whether or not the server is up (it waits for it), stops cleanly on SIGTERM/SIGINT (a final
//! flush, then the reader is stopped) and prints one line per stored part: on stdout, or on
//! stderr with `--json`, whose one document on stdout is the summary at the end.

use std::io::Write;
use std::time::Duration;

use clap::Args;

use super::{bytes, count, print_json, signals, Ctx, Exit};
use crate::job::binlog::{archive, StoredPart};

#[derive(Debug, Args)]
pub struct BinlogArgs {
    /// The mysql source whose binlogs to archive
    pub source: String,
    /// Stop after this long (e.g. `10m`) instead of running until interrupted
    #[arg(long, value_parser = humantime::parse_duration)]
    pub duration: Option<Duration>,
}

pub fn run(ctx: &Ctx, args: &BinlogArgs) -> anyhow::Result<Exit> {
    let stop = signals::cooperative_stop();
    if let Some(d) = args.duration {
        let stop = stop.clone();
        std::thread::spawn(move || {
            std::thread::sleep(d);
            stop.cancel();
        });
    }
    let (quiet, json) = (ctx.global.quiet, ctx.global.json);
    let (summary, result) = archive(ctx, &args.source, &stop, &mut |p| {
        if !quiet {
            report(p, json);
        }
    })?;
    if json {
        // The error goes into the one document (and on stderr), not into a second one.
        print_json(&summary)?;
        if let Some(e) = &summary.error {
            eprintln!("error: {e}");
            return Ok(Exit::Error);
        }
        return Ok(Exit::Ok);
    }
    if !quiet {
        println!(
            "{}: stored {}, {}",
            summary.source,
            count(summary.parts, "binlog part", "binlog parts"),
            bytes(summary.bytes)
        );
    }
    result.map(|()| Exit::Ok)
}

/// One line per stored part, so that a user sees the archiver working: on stdout, or on
/// stderr under `--json` (stdout holds nothing but the one document then).
fn report(p: &StoredPart, json: bool) {
    let line = format!(
        "{}: {} {}..{} ({}{}), last event {}, snapshot {}",
        p.source,
        p.file,
        p.offset,
        p.offset + p.len,
        bytes(p.len),
        if p.closed { ", closed" } else { "" },
        p.last_event.map_or("none".into(), |t| t
            .to_zoned(jiff::tz::TimeZone::system())
            .strftime("%Y-%m-%d %H:%M:%S")
            .to_string()),
        p.snapshot,
    );
    // A closed stdout or stderr must not stop the archiving (no `println!` panic).
    let _ = if json {
        writeln!(std::io::stderr(), "{line}")
    } else {
        writeln!(std::io::stdout(), "{line}")
    };
}
