//! `dxbackup monitor [--no-alert]`: every check, the findings printed as `status` prints
//! them, the alerts due sent (and recorded); exit 0/1/2 as a Nagios plugin.

use clap::Args;

use super::{exit_of, print_json, Ctx, Exit};
use crate::job::monitor::{monitor, MonitorOptions, MonitorOutcome};
use crate::monitor::Finding;
use crate::status::{human, Level};

#[derive(Debug, Args)]
pub struct MonitorArgs {
    /// Evaluate and record, but send no alert
    #[arg(long)]
    pub no_alert: bool,
}

pub fn run(ctx: &Ctx, args: &MonitorArgs) -> anyhow::Result<Exit> {
    let out = monitor(
        ctx,
        &MonitorOptions {
            no_alert: args.no_alert,
        },
    )?;
    if ctx.global.json {
        print_json(&out)?;
    } else {
        print(&out);
    }
    Ok(exit_of(out.level))
}

/// `CRITICAL freshness:shop: RPO exceeded ... (since 3h 2m)`, one per finding.
pub fn print_findings(findings: &[Finding]) {
    let now = jiff::Timestamp::now();
    for f in findings {
        let tag = match f.severity {
            Level::Critical => "CRITICAL",
            Level::Warning => "WARNING ",
            Level::Ok => "OK      ",
        };
        let since = f.since.map_or(String::new(), |t| {
            let secs = (now.as_second() - t.as_second()).max(0) as u64;
            format!(" (for {})", human(std::time::Duration::from_secs(secs)))
        });
        println!("{tag} {}: {}{since}", f.key, f.message);
    }
}

fn print(o: &MonitorOutcome) {
    if o.findings.is_empty() {
        println!("OK       {}: nothing to report", o.host);
    }
    print_findings(&o.findings);
    for e in &o.channel_errors {
        println!("alert channel not usable: {e}");
    }
    for d in &o.deliveries {
        let n = o.notices.iter().filter(|n| n.channel == d.channel).count();
        match &d.error {
            None => println!(
                "alerted {}: {} ({} attempt(s))",
                d.channel,
                super::count(n, "notice", "notices"),
                d.attempts
            ),
            Some(e) => println!(
                "alert to {} FAILED after {} attempt(s): {e}",
                d.channel, d.attempts
            ),
        }
    }
    if o.deliveries.is_empty() && !o.notices.is_empty() {
        println!(
            "{} due, not sent (--no-alert)",
            super::count(o.notices.len(), "notice", "notices")
        );
    }
}
