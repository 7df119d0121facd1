//! `dxbackup status`: per source, its RPO exposure and last drill against its tier
//! (`sources`), then the state of every repository and the 3-2-1 line; rendering only (the
//! job is `job::status`).
//! Exit 0 all good, 1 a warning, 2 critical.

mod sources;

use clap::Args;

use super::{bytes, exit_of, print_json, Ctx, Exit};
use crate::config::Medium;
use crate::job::status::{status, TargetsReport};
use crate::targets::{human_age, Severity, Verdict};

#[derive(Debug, Args)]
pub struct StatusArgs {}

pub fn run(ctx: &Ctx, _args: &StatusArgs) -> anyhow::Result<Exit> {
    let report = status(ctx)?;
    if ctx.global.json {
        print_json(&report)?;
    } else {
        sources::print_sources(&report.sources);
        print_targets(&report.targets);
        match (&report.daemon.note, &report.daemon.heartbeat) {
            (Some(n), _) => println!("WARNING  daemon: {n}"),
            (None, Some(hb)) => println!("daemon: running, pid {} on {}", hb.pid, hb.host),
            (None, None) => {}
        }
        if !report.findings.is_empty() {
            println!("findings");
            super::monitor::print_findings(&report.findings);
        }
    }
    Ok(exit_of(report.level()))
}

fn medium(m: Medium) -> &'static str {
    match m {
        Medium::Disk => "disk",
        Medium::Nas => "nas",
        Medium::Cloud => "cloud",
    }
}

pub fn print_targets(r: &TargetsReport) {
    let now = jiff::Timestamp::now();
    let ago = |t: jiff::Timestamp| human_age(now.duration_since(t).as_secs().max(0) as u64);
    println!("repositories");
    for s in &r.repositories {
        let role = if s.primary { "primary" } else { "target" };
        let kind = format!(
            "{}{}",
            medium(s.medium),
            if s.offsite { ", off-site" } else { "" }
        );
        let mut parts = Vec::new();
        match &s.unreachable {
            Some(e) => parts.push(format!("UNREACHABLE ({e})")),
            None => {
                let newest = s
                    .newest
                    .map_or("none".into(), |t| format!("{} ago", ago(t)));
                parts.push(format!(
                    "{}, newest {newest}",
                    super::count(s.snapshots.unwrap_or(0), "snapshot", "snapshots")
                ));
            }
        }
        if let Some(b) = s.behind {
            parts.push(format!("{b} behind"));
        }
        if !s.primary {
            parts.push(s.last_copy.map_or("never copied".into(), |t| {
                format!("last copy {} ago", ago(t))
            }));
        }
        parts.push(match s.space {
            Some(sp) => format!(
                "{} free of {} ({:.0} % used)",
                bytes(sp.free),
                bytes(sp.total),
                sp.used_pct()
            ),
            None => "free space unknown".into(),
        });
        println!(
            "  {:<12} {:<7} {:<16} {}",
            s.name,
            role,
            kind,
            parts.join("; ")
        );
    }
    println!("{}", rule_line(&r.verdict));
    for f in &r.verdict.findings {
        let level = match f.severity {
            Severity::Critical => "CRITICAL",
            Severity::Warning => "warning",
            Severity::Ok => "ok",
        };
        println!("  {level}: {}: {}", f.subject, f.message);
    }
}

/// `3-2-1 holds: 4 copies (source live, local 5m, nas 5m, cloud 6m), 3 media (...), off-site cloud 6m`
fn rule_line(v: &Verdict) -> String {
    let age = |a: Option<u64>| a.map_or("live".into(), human_age);
    let copies: Vec<String> = v
        .rule
        .copies
        .iter()
        .map(|c| format!("{} {}", c.name, age(c.age_secs)))
        .collect();
    let media: Vec<String> = v
        .rule
        .media
        .iter()
        .map(|(m, a)| format!("{} {}", medium(*m), human_age(*a)))
        .collect();
    let offsite = v
        .rule
        .offsite
        .as_ref()
        .map_or("none".into(), |c| format!("{} {}", c.name, age(c.age_secs)));
    format!(
        "3-2-1 {}: {} ({}), {} ({}), off-site: {offsite}",
        if v.rule.holds { "holds" } else { "BROKEN" },
        super::count(copies.len(), "copy", "copies"),
        copies.join(", "),
        super::count(media.len(), "medium", "media"),
        media.join(", "),
    )
}
