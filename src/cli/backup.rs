//! `dxbackup backup [SOURCE...]`

use clap::Args;

use super::{bytes, exit_of, mb_per_s, print_json, Ctx, Exit};
use crate::job::backup::{backup, backups_level, BackupOptions, SourceOutcome};
use crate::schedule::ModeSetting;

#[derive(Debug, Args)]
pub struct BackupArgs {
    /// Sources to back up [default: all]
    pub sources: Vec<String>,
    /// How much to back up: normal (as configured), light (database fulls put off up to
    /// [load] max-defer), minimal (conf/ and job/ of the files sources), auto (by the load
    /// average per core, as the daemon does)
    #[arg(long, value_enum, default_value_t = ModeArg::Normal)]
    pub mode: ModeArg,
}

/// `--mode` of `backup` and `run`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ModeArg {
    Auto,
    Normal,
    Light,
    Minimal,
}

impl ModeArg {
    pub fn options(self, ctx: &Ctx) -> BackupOptions {
        let setting = match self {
            Self::Auto => ModeSetting::Auto,
            Self::Normal => return BackupOptions::default(),
            Self::Light => ModeSetting::Light,
            Self::Minimal => ModeSetting::Minimal,
        };
        BackupOptions::for_setting(ctx, setting)
    }
}

pub fn run(ctx: &Ctx, args: &BackupArgs) -> anyhow::Result<Exit> {
    let outcomes = backup(ctx, &args.sources, &args.mode.options(ctx))?;
    if ctx.global.json {
        print_json(&outcomes)?;
    } else {
        outcomes.iter().for_each(print);
    }
    Ok(exit_of(backups_level(&outcomes)))
}

pub fn print(o: &SourceOutcome) {
    if o.status == crate::catalog::RunStatus::Skipped {
        println!(
            "{}: skipped: {}",
            o.source,
            o.note.as_deref().unwrap_or("put off")
        );
        return;
    }
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
    if o.mode != crate::schedule::Mode::Normal {
        println!("  mode {}: {}", o.mode, o.note.as_deref().unwrap_or(""));
    } else if let Some(n) = &o.note {
        println!("  {n}");
    }
    for w in &o.warnings {
        println!("  warning: {w}");
    }
}
