//! `dxbackup status`: per source, its RPO exposure and last drill against its tier
//! (`sources`), then the state of every repository and the 3-2-1 line ([`targets_section`]).
//! Exit 0 all good, 1 a warning, 2 critical.

mod sources;

use std::path::Path;

use clap::Args;
use serde::Serialize;

use super::{bytes, print_json, Ctx, Exit};
use crate::catalog::Catalog;
use crate::config::Medium;
use crate::repo::Repo;
use crate::targets::{self, human_age, RepoState, Severity, Space, Verdict};

#[derive(Debug, Args)]
pub struct StatusArgs {}

/// The repositories part of `status`.
#[derive(Debug, Serialize)]
pub struct TargetsReport {
    pub repositories: Vec<RepoState>,
    #[serde(rename = "rule_3_2_1")]
    pub verdict: Verdict,
}

pub fn run(ctx: &Ctx, _args: &StatusArgs) -> anyhow::Result<Exit> {
    let verdicts = sources::sources(ctx)?;
    let report = targets_section(ctx)?;
    if ctx.global.json {
        print_json(&serde_json::json!({ "sources": verdicts, "targets": report }))?;
    } else {
        sources::print_sources(&verdicts);
        print_targets(&report);
    }
    Ok(sources::sources_exit(&verdicts).max(exit_of(report.verdict.severity)))
}

pub fn exit_of(s: Severity) -> Exit {
    match s {
        Severity::Ok => Exit::Ok,
        Severity::Warning => Exit::Warning,
        Severity::Critical => Exit::Error,
    }
}

/// Opens every repository (an unreachable one is a finding, not an error), counts what each
/// target lacks of the primary, and judges the lot.
pub fn targets_section(ctx: &Ctx) -> anyhow::Result<TargetsReport> {
    let catalog = ctx.catalog()?;
    let now = jiff::Zoned::now();
    let (primary_name, _) = ctx.primary();
    let primary = Repo::open(&ctx.spec(primary_name)?);
    let mut repositories = Vec::new();
    for (name, cfg) in &ctx.config.repository {
        let is_primary = name == primary_name;
        let mut state = RepoState {
            name: name.clone(),
            primary: is_primary,
            medium: cfg.medium,
            offsite: cfg.offsite,
            ..RepoState::default()
        };
        let opened = if is_primary {
            primary
                .as_ref()
                .map(|_| None)
                .map_err(|e| anyhow::anyhow!("{e}"))
        } else {
            ctx.spec(name).and_then(|s| Ok(Repo::open(&s)?)).map(Some)
        };
        match opened {
            Err(e) => state.unreachable = Some(format!("{e:#}")),
            Ok(target) => {
                let repo = target.as_ref().or(primary.as_ref().ok());
                if let Some(repo) = repo {
                    fill(&mut state, repo);
                }
                if let Ok(crate::config::Location::Local(p)) = cfg.location() {
                    state.space = disk_space(&ctx.resolve(Path::new(&p)));
                }
                if let (Some(t), Ok(p)) = (&target, &primary) {
                    let rules = ctx.retention_of(name);
                    let policy = crate::repo::Policy {
                        rules: &rules,
                        dependents: &crate::source::mysql::chain::BinlogChains,
                    };
                    match p.missing_in(t, policy, &now) {
                        Ok(m) => state.behind = Some(m.len()),
                        Err(e) => state.unreachable = Some(e.to_string()),
                    }
                }
            }
        }
        if !is_primary {
            copy_history(&mut state, &catalog, name)?;
        }
        repositories.push(state);
    }
    let rpo = ctx
        .config
        .source
        .values()
        .filter_map(|s| ctx.config.tier.get(&s.tier))
        .map(|t| t.rpo.0)
        .min();
    let verdict = targets::evaluate(&repositories, rpo, now.timestamp());
    Ok(TargetsReport {
        repositories,
        verdict,
    })
}

fn fill(state: &mut RepoState, repo: &Repo) {
    match repo.snapshots() {
        Ok(snaps) => {
            state.snapshots = Some(snaps.len());
            state.newest = snaps.iter().map(|s| s.time).max();
        }
        Err(e) => state.unreachable = Some(e.to_string()),
    }
}

fn copy_history(state: &mut RepoState, catalog: &Catalog, name: &str) -> anyhow::Result<()> {
    state.last_copy = catalog.last_copy(name, true)?.map(|c| c.finished_at);
    if catalog.copy_broken_since_success(name)? {
        state.copy_failing = Some(
            catalog
                .last_copy(name, false)?
                .and_then(|c| c.error)
                .unwrap_or_else(|| "interrupted".into()),
        );
    }
    Ok(())
}

/// Free and total bytes of the file system holding `path` (statvfs).
fn disk_space(path: &Path) -> Option<Space> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes()).ok()?;
    let mut s: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: `c` is a valid NUL-terminated path and `s` a writable statvfs.
    if unsafe { libc::statvfs(c.as_ptr(), &mut s) } != 0 {
        return None;
    }
    let frsize = s.f_frsize as u64;
    Some(Space {
        free: s.f_bavail as u64 * frsize,
        total: s.f_blocks as u64 * frsize,
    })
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
