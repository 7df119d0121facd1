//! The sources part of `status`: per source, last backup, RPO exposure now and last drill
//! against the tier.

use crate::source::mysql::chain;
use crate::status::{human, Verdict};

/// Prints the sources part.
pub fn print_sources(verdicts: &[Verdict]) {
    for v in verdicts {
        let f = &v.facts;
        let ago = |t: Option<jiff::Timestamp>| {
            t.map_or("never".to_string(), |t| {
                let d = jiff::Timestamp::now().as_second() - t.as_second();
                format!(
                    "{} ago",
                    human(std::time::Duration::from_secs(d.max(0) as u64))
                )
            })
        };
        let drill = f.last_drill.as_ref().map_or("never".to_string(), |d| {
            format!(
                "{} in {}, {}",
                if d.ok { "passed" } else { "FAILED" },
                human(d.rto),
                ago(Some(d.at))
            )
        });
        println!(
            "{:<8} {} ({}, tier {}: RPO {}, RTO {}): last backup {}{}; exposure {}; drill {}",
            format!("{:?}", v.level).to_uppercase(),
            f.source,
            f.kind,
            f.tier,
            v.rpo,
            v.rto,
            ago(f.last_backup),
            f.archive_current.map_or(String::new(), |t| format!(
                ", binlogs current {}",
                ago(Some(t))
            )),
            v.exposure_secs
                .map_or("unknown".into(), |s| human(std::time::Duration::from_secs(
                    s
                ))),
            drill
        );
        if let Some((from, to)) = f.window {
            println!(
                "         restorable from {} to {}",
                chain::local(from.as_second()),
                chain::local(to.as_second())
            );
        }
        for n in &v.notes {
            println!("         - {n}");
        }
    }
}
