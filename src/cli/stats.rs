//! `dxbackup stats [--source S] [--last N]`

use clap::Args;

use super::{bytes, mb_per_s, print_json, Ctx, Exit};
use crate::stats::summarize;

#[derive(Debug, Args)]
pub struct StatsArgs {
    /// Only runs of this source
    #[arg(long)]
    pub source: Option<String>,
    /// How many recent runs to consider
    #[arg(long, default_value_t = 50)]
    pub last: usize,
}

pub fn run(ctx: &Ctx, args: &StatsArgs) -> anyhow::Result<Exit> {
    let runs = ctx
        .catalog()?
        .runs(Some("backup"), args.source.as_deref(), args.last)?;
    let report = summarize(&runs, &ctx.config.stats);
    if ctx.global.json {
        print_json(&serde_json::json!({ "runs": runs, "summary": report }))?;
    } else {
        println!(
            "{:<20}  {:<12}  {:<11}  {:>9}  {:>10}  {:>10}  {:>9}",
            "started", "source", "status", "duration", "read", "added", "MB/s"
        );
        for r in &runs {
            let secs = r.duration().map_or(0.0, |d| d.as_secs_f64());
            let (read, added, speed) =
                r.metrics
                    .as_ref()
                    .map_or((String::new(), String::new(), String::new()), |m| {
                        (
                            bytes(m.bytes_read),
                            bytes(m.bytes_added),
                            format!("{:.1}", mb_per_s(m.bytes_read, secs)),
                        )
                    });
            println!(
                "{:<20}  {:<12}  {:<11}  {:>8.1}s  {:>10}  {:>10}  {:>9}",
                r.started_at.strftime("%Y-%m-%d %H:%M:%S"),
                r.source.as_deref().unwrap_or("-"),
                format!("{:?}", r.status).to_lowercase(),
                secs,
                read,
                added,
                speed
            );
        }
        let fmt = |v: Option<f64>, unit: &str| v.map_or("-".into(), |v| format!("{v:.1}{unit}"));
        println!(
            "{} runs ({} ok, {} failed); average duration {}, average speed {}, average added {}",
            report.runs,
            report.succeeded,
            report.failed,
            fmt(report.avg_duration_secs, " s"),
            fmt(report.avg_mb_per_s, " MB/s"),
            report
                .avg_bytes_added
                .map_or("-".into(), |b| bytes(b as u64)),
        );
        for w in &report.warnings {
            println!("warning: {w}");
        }
    }
    Ok(if report.warnings.is_empty() {
        Exit::Ok
    } else {
        Exit::Warning
    })
}
