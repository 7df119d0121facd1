//! `dxbackup metrics`: the Prometheus text exposition, from the catalog only (for
//! node_exporter's textfile collector, or a scrape through the daemon's `/metrics`).

use std::io::Write;

use clap::Args;

use super::{Ctx, Exit};

#[derive(Debug, Args)]
pub struct MetricsArgs {}

pub fn run(ctx: &Ctx, _args: &MetricsArgs) -> anyhow::Result<Exit> {
    let text = crate::metrics::render(ctx, jiff::Timestamp::now())?;
    std::io::stdout().lock().write_all(text.as_bytes())?;
    Ok(Exit::Ok)
}
