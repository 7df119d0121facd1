//! Builds the repository `scripts/bench binlog-open` measures: a full and a busy day of binlog
//! flushes of one mysql source, each flush its own snapshot as the archiver stores it, without a
//! server (see `dxbackup::job::binlog::store_day`).
//!
//! Examples:
//!   cargo run --release --example binlog_day -- --config c.toml --state-dir s --source db \
//!       --flushes 20000 --flush-kb 32 --file-mb 64

use std::path::PathBuf;

use clap::Parser;
use dxbackup::job::binlog::{store_day, DayOptions};
use dxbackup::job::Site;

#[derive(Parser)]
struct Args {
    #[arg(long)]
    config: PathBuf,
    #[arg(long)]
    state_dir: PathBuf,
    #[arg(long)]
    source: String,
    #[arg(long, default_value_t = 20_000)]
    flushes: usize,
    /// Bytes of binlog events per flush, in KiB.
    #[arg(long, default_value_t = 32)]
    flush_kb: usize,
    /// Binlog files rotate at this size, in MiB.
    #[arg(long, default_value_t = 64)]
    file_mb: u64,
    /// Flushes stored under one lock and one read of the index.
    #[arg(long, default_value_t = 500)]
    batch: usize,
    #[arg(long, default_value_t = 42)]
    seed: u64,
}

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    let site = Site::load(&args.config, args.state_dir)?;
    let now = jiff::Timestamp::now().as_second();
    let opts = DayOptions {
        flushes: args.flushes,
        flush_bytes: args.flush_kb * 1024,
        file_bytes: args.file_mb << 20,
        // The day ends now: the last flush is a second old.
        start: now - args.flushes as i64,
        batch: args.batch,
        seed: args.seed,
    };
    let summary = store_day(&site, &args.source, &opts)?;
    println!("{}", serde_json::to_string(&summary)?);
    Ok(())
}
