//! `dxbackup backup [SOURCE...]`

use clap::Args;

use super::{bytes, exit_of, mb_per_s, print_json, Ctx, Exit};
use crate::job::backup::{backup, backups_level, SourceOutcome};

#[derive(Debug, Args)]
pub struct BackupArgs {
    /// Sources to back up [default: all]
    pub sources: Vec<String>,
}

pub fn run(ctx: &Ctx, args: &BackupArgs) -> anyhow::Result<Exit> {
    let outcomes = backup(ctx, &args.sources)?;
    if ctx.global.json {
        print_json(&outcomes)?;
    } else {
        outcomes.iter().for_each(print);
    }
    Ok(exit_of(backups_level(&outcomes)))
}

pub fn print(o: &SourceOutcome) {
    let Some(m) = &o.metrics else {
        println!(
            "{}: FAILED: {}",
            o.source,
            o.error.as_deref().unwrap_or("unknown error")
        );
        return;
    };
    println!(
        "{}: snapshot {}  files new {}, changed {}, unchanged {}; read {}, added {} ({} packed) in {:.1} s, {:.1} MB/s",
        o.source,
        o.snapshot.as_deref().map_or("-", |s| &s[..8.min(s.len())]),
        m.files_new,
        m.files_changed,
        m.files_unmodified,
        bytes(m.bytes_read),
        bytes(m.bytes_added),
        bytes(m.bytes_added_packed),
        o.duration_secs,
        mb_per_s(m.bytes_read, o.duration_secs),
    );
    for w in &o.warnings {
        println!("  warning: {w}");
    }
}
