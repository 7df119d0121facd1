//! `dxbackup report --html FILE | --markdown FILE [--since 7d]`

use std::path::PathBuf;
use std::time::Duration;

use clap::{ArgGroup, Args};

use super::{bytes, print_json, Ctx, Exit};
use crate::report::{self, Format};

#[derive(Debug, Args)]
#[command(group(ArgGroup::new("out").required(true).args(["html", "markdown"])))]
pub struct ReportArgs {
    /// Write the report as one self-contained HTML file (inline CSS and SVG charts)
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// Write it as Markdown
    #[arg(long, value_name = "FILE")]
    pub markdown: Option<PathBuf>,
    /// The period it covers, back from now
    #[arg(long, value_name = "DURATION", default_value = "7d", value_parser = humantime::parse_duration)]
    pub since: Duration,
    /// Use the repositories as last observed (by the daemon's dashboard) instead of looking
    #[arg(long)]
    pub no_observe: bool,
}

pub fn run(ctx: &Ctx, args: &ReportArgs) -> anyhow::Result<Exit> {
    let (path, format) = match (&args.html, &args.markdown) {
        (Some(p), _) => (p, Format::Html),
        (None, Some(p)) => (p, Format::Markdown),
        (None, None) => unreachable!("clap requires one"),
    };
    let (w, _) = report::write(ctx, path, format, args.since, !args.no_observe)?;
    if ctx.global.json {
        print_json(&w)?;
    } else {
        println!(
            "wrote the {} report of {} sources since {} to {} ({})",
            w.format,
            w.sources,
            crate::web::views::local(w.since),
            w.path.display(),
            bytes(w.bytes as u64)
        );
    }
    Ok(Exit::Ok)
}
