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
        let rows: Vec<Vec<String>> = runs
            .iter()
            .map(|r| {
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
                vec![
                    r.started_at
                        .to_zoned(jiff::tz::TimeZone::system())
                        .strftime("%Y-%m-%d %H:%M:%S")
                        .to_string(),
                    r.source.clone().unwrap_or_else(|| "-".into()),
                    format!("{:?}", r.status).to_lowercase(),
                    r.mode.clone().unwrap_or_else(|| "-".into()),
                    format!("{secs:.1} s"),
                    read,
                    added,
                    speed,
                ]
            })
            .collect();
        super::table::print(
            &[
                "started", "source", "status", "duration", "read", "added", "MB/s",
            ],
            &[false, false, false, true, true, true, true],
            &rows,
        );
        let fmt = |v: Option<f64>, unit: &str| v.map_or("-".into(), |v| format!("{v:.1}{unit}"));
        println!(
            "{} ({} ok, {} failed); average duration {}, average speed {}, average added {}",
            super::count(report.runs, "run", "runs"),
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
