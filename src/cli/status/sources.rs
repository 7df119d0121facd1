//! The sources part of `status`: per source, last backup, RPO exposure now and last drill
//! against the tier.

use super::super::dbarchive;
use super::super::{Ctx, Exit};
use crate::catalog::Catalog;
use crate::config::{SourceConfig, SourceKind};
use crate::repo::Snapshot;
use crate::source::mysql::chain;
use crate::status::{evaluate, human, Drill, Facts, Level, Verdict};

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

/// The exit code the sources part asks for.
pub fn sources_exit(verdicts: &[Verdict]) -> Exit {
    match verdicts.iter().map(|v| v.level).max().unwrap_or(Level::Ok) {
        Level::Ok => Exit::Ok,
        Level::Warning => Exit::Warning,
        Level::Critical => Exit::Error,
    }
}

/// The verdict of every configured source.
pub fn sources(ctx: &Ctx) -> anyhow::Result<Vec<Verdict>> {
    let repo = ctx.open_primary()?;
    let snaps = repo.snapshots()?;
    let catalog = ctx.catalog()?;
    let now = jiff::Timestamp::now();
    let mut out = Vec::new();
    for (name, src) in &ctx.config.source {
        let (kind, last_backup, archive) = match src.kind {
            SourceKind::Files => {
                let t = snaps
                    .iter()
                    .rev()
                    .find(|s| {
                        s.source.as_deref() == Some(name) && s.kind.as_deref() == Some("files")
                    })
                    .map(|s| s.time);
                ("files", t, Archive::default())
            }
            SourceKind::Mysql => {
                let full = super::super::dbarchive::fulls(&snaps, name)
                    .last()
                    .and_then(|f| jiff::Timestamp::from_second(f.at).ok());
                ("mysql", full, archive(&catalog, &snaps, name, src)?)
            }
        };
        let last_drill = catalog.last_drill(name)?.map(|d| Drill {
            at: d.at,
            ok: d.ok,
            rto: std::time::Duration::from_millis(d.rto_ms),
        });
        let facts = Facts {
            source: name.clone(),
            kind: kind.into(),
            tier: src.tier.clone(),
            last_backup,
            archive_current: archive.heartbeat,
            last_binlog_event: archive.last_event,
            window: archive.window,
            holes: archive.holes,
            binlog_flush: archive.flush,
            last_drill,
        };
        let tier = ctx
            .config
            .tier
            .get(&src.tier)
            .cloned()
            .unwrap_or_else(|| crate::config::default_tiers()["important"].clone());
        out.push(evaluate(facts, &tier, now));
    }
    Ok(out)
}

/// What status knows of a mysql source's binlog archive.
#[derive(Default)]
struct Archive {
    /// The archiver's last report (every flush).
    heartbeat: Option<jiff::Timestamp>,
    last_event: Option<jiff::Timestamp>,
    window: Option<(jiff::Timestamp, jiff::Timestamp)>,
    holes: Vec<String>,
    /// Set when an archiver is expected: `binlog = true`, or unset and one has reported.
    flush: Option<std::time::Duration>,
}

fn archive(
    catalog: &Catalog,
    snaps: &[Snapshot],
    name: &str,
    src: &SourceConfig,
) -> anyhow::Result<Archive> {
    let heartbeat = catalog
        .meta(&format!("binlog-current:{name}"))?
        .and_then(|t| t.parse::<jiff::Timestamp>().ok());
    // What a restore can reach, proven as the planner proves it: past no hole.
    let health = chain::health(
        &dbarchive::fulls(snaps, name),
        &dbarchive::coverage(snaps, name),
    );
    let ts = |t: i64| jiff::Timestamp::from_second(t).ok();
    let window = health.window.and_then(|(a, b)| Some((ts(a)?, ts(b)?)));
    let last_event = window.map(|w| w.1);
    let holes = health.holes.iter().map(ToString::to_string).collect();
    let expected = match src.binlog {
        Some(on) => on,
        None => heartbeat.is_some(),
    };
    Ok(Archive {
        heartbeat,
        last_event,
        window,
        holes,
        flush: expected.then(|| src.binlog_flush()),
    })
}
